"""The HTTP side of ``amqpmock serve`` and ``amqpmock replay``: the management API, the
control API and the live page on the AMQP server's loop. Its arguments are defined once
here for both commands."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from amqpmock.wire.server import AMQPServer


# what the control API's records keep of a long-running server's traffic
RECORDS_KEPT = 100_000
BODY_BYTES_KEPT = 64 * 1024 * 1024


def add_http_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--http",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="the management API, the control API and the live page (default a free "
        "loopback port, printed after the AMQP URL)",
    )
    parser.add_argument("--no-http", action="store_true", help="no HTTP side")


def http_address(args: argparse.Namespace) -> tuple[str, int] | None:
    """Where to serve HTTP; None with --no-http. Raises ValueError for a bad --http."""
    if args.no_http:
        return None
    host, sep, port = str(args.http).rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--http needs HOST:PORT, got {args.http!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _import_http_side() -> None:
    with contextlib.suppress(ImportError):  # said below, on the loop
        import amqpmock.http
        import amqpmock.testing.control
        import amqpmock.view.live  # noqa: F401


async def start_http(
    srv: AMQPServer, host: str, port: int, *, contract_path: str | None = None
) -> None:
    """Serve it beside the AMQP listener and print its URL on the next line; a note
    instead when aiohttp (the ``http`` extra) is not installed. The broker's clock must
    be an ``AdjustableClock`` (the control API moves it). ``contract_path``: the
    AsyncAPI document of the control API's ``contract/...`` calls."""
    # The HTTP side's imports (aiohttp above all) take a few hundred milliseconds: done
    # on the loop, a client connecting right after the AMQP URL was printed would wait
    # that long for Connection.Start. In a worker thread the loop keeps answering.
    await asyncio.get_running_loop().run_in_executor(None, _import_http_side)
    try:
        from amqpmock.http import ManagementHTTP
        from amqpmock.testing.control import ControlAPI, OnLoop
        from amqpmock.testing.harness import BrokerFixture
        from amqpmock.view.live import LivePage
    except ImportError:
        print(
            "amqpmock: the HTTP side is off (it needs aiohttp: pip install 'amqpmock[http]')",
            file=sys.stderr,
        )
        return
    from amqpmock.clocks import AdjustableClock

    clock = srv.broker.clock
    assert isinstance(clock, AdjustableClock), "the control API needs an AdjustableClock"
    http = ManagementHTTP(srv)
    fixture = BrokerFixture(OnLoop(srv), clock)
    # a server runs as long as it is left running: its records are the latest ones
    fixture.recorder.bound(records=RECORDS_KEPT, body_bytes=BODY_BYTES_KEPT)
    fixture.contract_path = contract_path
    http.control = LivePage(ControlAPI(fixture), http.context)
    print(await http.start(host, port), flush=True)
