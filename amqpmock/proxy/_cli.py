"""``amqpmock record``: run the recording proxy until interrupted, then write the cassette.

The argument set is defined once here (``add_record_arguments``) so that the main
``amqpmock`` command and ``python -m amqpmock.proxy`` read the same options.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO


def add_record_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--upstream",
        help="the real broker: amqp[s]://user:pass@host1:5672[,host2:5672]/vhost "
        "(hosts tried in order)",
    )
    parser.add_argument(
        "--cassette",
        required=True,
        help="YAML file to write; the traffic is journaled to PATH.journal as it passes",
    )
    parser.add_argument(
        "--recover",
        metavar="JOURNAL",
        help="turn the journal of a recording that died into the cassette (marked "
        "incomplete), instead of recording",
    )
    parser.add_argument(
        "--listen",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="where clients connect (default 127.0.0.1 on a free port)",
    )


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--listen needs HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def journal_of(cassette: str | Path) -> Path:
    return Path(f"{cassette}.journal")


def recover(journal: Path, cassette: Path, out: TextIO) -> int:
    """Write what a dead recording's journal holds as a cassette, marked incomplete. A
    cassette already at ``cassette`` is never replaced by it: the recovered one goes
    beside it, as ``<name>.recovered.yaml``."""
    from amqpmock.cassette._errors import CassetteError
    from amqpmock.proxy._journal import JournalError
    from amqpmock.proxy._recorder import Recorder

    target = cassette
    if target.exists():
        target = cassette.with_name(f"{cassette.stem}.recovered{cassette.suffix or '.yaml'}")
    try:
        recorder = Recorder.recover(journal)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            recorder.write(target)
    except (CassetteError, JournalError, OSError) as exc:
        print(f"amqpmock record: cannot recover {journal}: {exc}", file=sys.stderr)
        return 1
    for warning in caught:
        print(f"amqpmock record: warning: {warning.message}", file=sys.stderr)
    journal.unlink()
    print(
        f"amqpmock: recovered {journal} into {target}: {recorder.connection_count} "
        "connection(s), marked incomplete",
        file=out,
        flush=True,
    )
    return 0


async def record(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Record until SIGINT/SIGTERM, then write the cassette. Returns the exit code."""
    # here, not at the top: ``amqpmock serve`` imports this module for the arguments only
    from amqpmock.cassette._errors import CassetteError
    from amqpmock.proxy._server import RecordingProxy
    from amqpmock.proxy._url import UpstreamURLError, parse_upstream_url

    cassette_path = Path(args.cassette)
    if args.recover:
        return recover(Path(args.recover), cassette_path, out)
    if not args.upstream:
        print("amqpmock record: --upstream is required (unless --recover)", file=sys.stderr)
        return 2
    stale = journal_of(cassette_path)
    # an earlier recording died: keep what it had first
    if stale.exists() and recover(stale, cassette_path, out):
        return 1
    try:
        upstream = parse_upstream_url(args.upstream)
        host, port = _listen(args.listen)
    except (UpstreamURLError, ValueError) as exc:
        print(f"amqpmock record: {exc}", file=sys.stderr)
        return 2
    proxy = RecordingProxy(upstream, host=host, port=port, journal=journal_of(cassette_path))
    await proxy.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"amqpmock: recording {upstream.redacted()} into {args.cassette}", file=out)
    print(
        f"amqpmock: clients connect to {proxy.client_url(show_password=False)} "
        "(with the upstream's password); Ctrl-C to stop and write",
        file=out,
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await proxy.stop()
    if proxy.recorder.connection_count == 0 and cassette_path.exists():
        proxy.recorder.remove_journal()
        print(
            f"amqpmock: nothing was recorded (no client connected); {cassette_path} is "
            "left as it was",
            file=out,
            flush=True,
        )
        return 0
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            written = proxy.recorder.write_streaming(cassette_path)
        for warning in caught:
            print(f"amqpmock record: warning: {warning.message}", file=sys.stderr)
        proxy.recorder.remove_journal()
    except CassetteError as exc:
        print(f"amqpmock record: {exc}", file=sys.stderr)
        return 1
    state = "complete" if written.complete else "INCOMPLETE (see the connections' error)"
    print(
        f"amqpmock: wrote {written.path}: {written.connections} connection(s), "
        f"{written.interactions} interaction(s), {state}",
        file=out,
        flush=True,
    )
    return 0


def run_record(args: argparse.Namespace) -> int:
    return asyncio.run(record(args))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m amqpmock.proxy",
        description="Record real RabbitMQ traffic into a YAML cassette.",
    )
    add_record_arguments(parser)
    return run_record(parser.parse_args(argv))
