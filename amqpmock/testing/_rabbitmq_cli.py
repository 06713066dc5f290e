"""``amqpmock rabbitmq``: a throwaway real RabbitMQ to record against, until Ctrl-C.

Rules this module keeps:
- It is ``RabbitMQNode`` on the command line: Debian's ``rabbitmq-server`` as the
  current user, no root, every listener on loopback; its data directory is temporary
  and removed at stop unless ``--data-dir`` names one (then it is kept).
- The first line it prints is the AMQP URL alone (for ``read URL`` in scripts); then
  the user, the ports, where the data lives and how to stop it.
- SIGINT and SIGTERM end it the same way: the node is stopped, exit status 0, no
  traceback. A node that dies on its own exits 1 with the end of its log.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType

from amqpmock.testing.rabbitmq import RabbitMQNode, RabbitMQUnavailable

HOST = "127.0.0.1"
MANAGEMENT = "rabbitmq_management"


class _Stop(Exception):
    """SIGINT or SIGTERM arrived."""


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number (0-65535), got {port}")
    return port


def add_rabbitmq_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = RabbitMQNode()
    parser.add_argument(
        "--port", type=_port, default=0, help="AMQP port on 127.0.0.1 (default 0: a free port)"
    )
    parser.add_argument(
        "--user", default=defaults.user, help=f"the node's user (default {defaults.user})"
    )
    parser.add_argument(
        "--password",
        default=defaults.password,
        help=f"the user's password (default {defaults.password})",
    )
    parser.add_argument(
        "--management",
        action="store_true",
        help="enable the management plugin (HTTP API and UI on 127.0.0.1)",
    )
    parser.add_argument(
        "--management-port",
        type=_port,
        default=0,
        help="the management plugin's HTTP port (implies --management; default: a free port)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="keep the node's files (data, logs, config) here; default: a temporary "
        "directory removed at stop. The node is named after its AMQP port, so pass "
        "the same --port to come back to the same durable queues",
    )
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=defaults.startup_timeout,
        metavar="SECONDS",
        help=f"how long to wait for the node to answer (default {defaults.startup_timeout:g})",
    )


def _taken(port: int) -> bool:
    if not port:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


def _describe(node: RabbitMQNode, data_dir: Path | None) -> str:
    lines = [
        node.url,
        f"user: {node.user}  password: {node.password}",
        f"AMQP port: {node.port} (on {node.host})",
    ]
    if node.management_url is not None:
        lines.append(f"management HTTP port: {node.management_port} ({node.management_url}/)")
    if data_dir is None:
        lines.append(f"data: {node.workdir} (temporary, removed at stop)")
    else:
        lines.append(f"data: {data_dir} (kept)")
    lines.append(f"stop: Ctrl-C, or kill -TERM {os.getpid()}")
    return "\n".join(lines)


def run_rabbitmq(args: argparse.Namespace) -> int:
    for name, port in (("--port", args.port), ("--management-port", args.management_port)):
        if _taken(port):
            print(f"amqpmock rabbitmq: {name} {port} is in use on {HOST}", file=sys.stderr)
            return 1
    data_dir: Path | None = args.data_dir
    if data_dir is not None:
        data_dir = data_dir.resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
    node = RabbitMQNode(
        user=args.user,
        password=args.password,
        host=HOST,
        port=args.port,
        startup_timeout=args.startup_timeout,
        workdir=data_dir,
        plugins=(MANAGEMENT,) if args.management or args.management_port else (),
        management_port=args.management_port,
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Stop

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        print("amqpmock rabbitmq: starting RabbitMQ ...", file=sys.stderr, flush=True)
        node.start()
        print(_describe(node, data_dir), flush=True)
        while node.running:
            time.sleep(0.5)
        log = ""
        if node.workdir is not None:
            with contextlib.suppress(OSError):
                log = (node.workdir / "stdout.log").read_text(errors="replace")[-2000:]
        print(f"amqpmock rabbitmq: the node exited on its own\n{log}", file=sys.stderr)
        status = 1
    except _Stop:
        pass
    except RabbitMQUnavailable as exc:
        print(f"amqpmock rabbitmq: {exc}", file=sys.stderr)
        status = 1
    finally:
        for sig in previous:  # a second Ctrl-C must not cut the stop short
            signal.signal(sig, signal.SIG_IGN)
        if node.running:
            print("amqpmock rabbitmq: stopping ...", file=sys.stderr, flush=True)
        node.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
