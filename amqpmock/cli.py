"""The ``amqpmock`` command: ``amqpmock serve | ...`` (one subparser per command).

Rules this module keeps:
- argparse only; each command is a ``_cmd_<name>(args) -> int`` function registered
  with its subparser in ``build_parser``, so new commands (record, replay, show,
  diagram) add a function and a subparser and touch nothing else.
- ``main()`` returns the exit status: 0 on success, 2 on bad usage (argparse's).
"""

from __future__ import annotations

import argparse
import importlib
import ssl
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from amqpmock._http_cli import add_http_arguments, http_address, start_http
from amqpmock.clocks import AdjustableClock
from amqpmock.wire.loopthread import LOOP_KINDS, run_until_stopped

if TYPE_CHECKING:
    from amqpmock.fake import Broker

__all__ = ["build_parser", "main"]

Command = Callable[[argparse.Namespace], int]


def user_argument(value: str) -> tuple[str, str]:
    name, sep, password = value.partition(":")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME:PASSWORD, got {value!r}")
    return name, password


def _loopback_users(value: str) -> frozenset[str]:
    if value.strip().lower() == "none":
        return frozenset()
    return frozenset(name.strip() for name in value.split(",") if name.strip())


def _cmd_serve(args: argparse.Namespace) -> int:
    from amqpmock.fake import Broker
    from amqpmock.hookspecs import get_plugin_manager
    from amqpmock.wire.collector import IdleCollector
    from amqpmock.wire.protocol import ConnectionSettings
    from amqpmock.wire.server import AMQPServer

    users = dict(args.user) if args.user else None
    vhosts = ["/", *(v for v in args.vhost or () if v != "/")]
    settings = ConnectionSettings(loopback_users=args.loopback_users)
    tls = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            print("amqpmock serve: --tls-cert and --tls-key go together", file=sys.stderr)
            return 2
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            tls.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:
            print(f"amqpmock serve: cannot load the TLS certificate: {exc}", file=sys.stderr)
            return 2

    if args.nodes < 1 or args.nodes > 64:
        print(f"amqpmock serve: --nodes takes 1 to 64, not {args.nodes}", file=sys.stderr)
        return 2
    try:
        http = http_address(args)
    except ValueError as exc:
        print(f"amqpmock serve: {exc}", file=sys.stderr)
        return 2
    broker = Broker(
        AdjustableClock(),  # the control API's clock/advance moves it
        users=users,
        vhosts=vhosts,
        exchange_types=get_plugin_manager().exchange_types(),  # x-consistent-hash, plugins'
    )
    if args.definitions:
        from amqpmock.management import Context, load_definitions

        try:
            load_definitions(Context(broker), args.definitions)
        except ValueError as exc:
            print(f"amqpmock serve: --definitions {exc}", file=sys.stderr)
            return 2
    if args.asyncapi:
        problem = _declare_asyncapi(broker, args.asyncapi)
        if problem:
            print(f"amqpmock serve: --asyncapi {problem}", file=sys.stderr)
            return 2

    async def serve() -> None:
        async with AMQPServer(
            broker,
            host=args.host,
            port=args.port,
            settings=settings,
            tls=tls,
            tls_port=args.tls_port,
            nodes=args.nodes,
            node_ports=[args.port + n if args.port else 0 for n in range(1, args.nodes)],
        ) as srv:
            print(srv.url, flush=True)
            for url in srv.node_urls[1:]:
                print(url, flush=True)
            if srv.tls_url:
                print(srv.tls_url, flush=True)
            if http is not None:
                await start_http(srv, *http, contract_path=args.asyncapi)
            # this process is the server's own: full collections freeze, and thaw when
            # it is quiet (see IdleCollector)
            collector = IdleCollector(lambda: srv.octets_in).start()
            try:
                await srv.serve_forever()
            finally:
                collector.stop()

    run_until_stopped(serve(), args.loop)
    return 0


def _declare_asyncapi(broker: Broker, path: str) -> str | None:
    """Declare the AsyncAPI document's topology, now and after every reset; the
    problem, or None."""
    try:
        from amqpmock.contracts import ContractError, keep_declared
    except ImportError:
        return "needs the contracts extra: pip install 'amqpmock[contracts]'"
    from amqpmock.errors import AMQPError

    try:
        keep_declared(broker, path)
    except ContractError as exc:
        return str(exc)
    except AMQPError as exc:  # it disagrees with --definitions
        return f"{path}: {exc.reply_text}"
    return None


# Commands whose code lives with the part they drive, imported only when one runs (so
# ``amqpmock serve`` does not pay for the proxy, cassette and viewer code): name, help,
# description, module, its argument adder and its runner.
_DELEGATED = (
    (
        "replay",
        "serve a cassette to any client until Ctrl-C or SIGTERM",
        "Run the fake broker with a cassette's outside world replayed into it (RPC "
        "replies, events); print the AMQP URL; on exit, report what was played, what "
        "was not, and publishes that matched nothing.",
        "amqpmock._replay_cli",
        "add_replay_arguments",
        "run_replay",
    ),
    (
        "record",
        "record a real RabbitMQ session into a cassette until Ctrl-C",
        "Run the recording proxy in front of a real broker, print the URL clients use, "
        "record until Ctrl-C, then write the cassette.",
        "amqpmock.proxy._cli",
        "add_record_arguments",
        "run_record",
    ),
    (
        "rabbitmq",
        "run a throwaway real RabbitMQ on loopback to record against, until Ctrl-C",
        "Start Debian's rabbitmq-server as the current user on 127.0.0.1 (a free port "
        "unless --port), with its own temporary data directory; print its AMQP URL, user "
        "and ports; on Ctrl-C or SIGTERM stop it (and remove that directory).",
        "amqpmock.testing._rabbitmq_cli",
        "add_rabbitmq_arguments",
        "run_rabbitmq",
    ),
    (
        "show",
        "print a cassette as a readable timeline",
        "Print a cassette's connections, publishes (and where they went), deliveries and "
        "acks, RPC calls with their replies, and a summary.",
        "amqpmock.view._cli",
        "add_show_arguments",
        "run_show",
    ),
    (
        "diagram",
        "draw a cassette as a sequence diagram (HTML or SVG)",
        "Write a self-contained sequence diagram of a cassette: -o FILE.html (with filters) "
        "or -o FILE.svg.",
        "amqpmock.view._cli",
        "add_diagram_arguments",
        "run_diagram",
    ),
    (
        "control",
        "restart, alarm or cut a running amqpmock serve (its control API)",
        "Send one request to a running amqpmock serve's control API (--http URL, as serve "
        "prints it): restart (optionally down for a while, or as a crash), come-up, a "
        "memory or disk alarm and its clearing, a network fault (timeout, reset_peer, "
        "latency) and its clearing, reset. The answer is printed as JSON.",
        "amqpmock._control_cli",
        "add_control_arguments",
        "run_control",
    ),
    (
        "asyncapi",
        "write the AsyncAPI 3.0 document of cassettes' traffic",
        "Make an AsyncAPI 3.0 document from one or more cassettes: the server, channels "
        "for exchanges (with their routing keys) and queues with their AMQP bindings, "
        "send/receive operations with request-reply pairs, and messages with payload "
        "schemas inferred from the recorded bodies. Several cassettes merge into one.",
        "amqpmock.contracts._cli",
        "add_asyncapi_arguments",
        "run_asyncapi",
    ),
)


def _delegate(module: str, runner: str) -> Command:
    def run(args: argparse.Namespace) -> int:
        return int(getattr(importlib.import_module(module), runner)(args))

    return run


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``command`` (the one being run) the other delegated
    commands get their name and help only, so their modules are not imported on the
    way to running this one (``serve`` starts without the contracts', the recorder's
    and the viewers' imports)."""
    parser = argparse.ArgumentParser(
        prog="amqpmock",
        description="A fake AMQP 0-9-1 broker with RabbitMQ's semantics, for tests.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve",
        help="run the fake broker on a TCP port until Ctrl-C",
        description="Run the fake broker and print its AMQP URL; stop with Ctrl-C.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=5672, help="port (0: any free port)")
    serve.add_argument(
        "--nodes",
        type=int,
        default=1,
        metavar="N",
        help="a cluster of N nodes (rabbit-1@localhost ...), node i on port PORT+i-1 "
        "(free ports with --port 0); each node's URL is printed after the first",
    )
    serve.add_argument(
        "--user",
        type=user_argument,
        action="append",
        metavar="NAME:PASSWORD",
        help="a user (repeatable; default guest:guest)",
    )
    serve.add_argument(
        "--vhost", action="append", metavar="V", help="another virtual host (repeatable; / exists)"
    )
    serve.add_argument("--tls-cert", metavar="PEM", help="certificate chain: also serve amqps")
    serve.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    serve.add_argument(
        "--tls-port", type=int, default=5671, help="amqps port (default 5671; 0: any free port)"
    )
    add_http_arguments(serve)
    serve.add_argument(
        "--definitions",
        metavar="JSON",
        help="a RabbitMQ definitions export loaded before the first connection (users, "
        "vhosts, permissions, policies, queues, exchanges, bindings)",
    )
    serve.add_argument(
        "--asyncapi",
        metavar="FILE",
        help="an AsyncAPI document (2.6 or 3.0): its exchanges, queues and bindings are "
        "declared at start and after every reset, and the control API publishes its "
        "messages' examples (POST /amqpmock/contract/examples/NAME)",
    )
    serve.add_argument(
        "--loopback-users",
        type=_loopback_users,
        default=frozenset({"guest"}),
        metavar="U1,U2|none",
        help="users who may log in from loopback addresses only, as RabbitMQ's "
        "loopback_users (default guest; none: anyone from anywhere)",
    )
    serve.add_argument(
        "--loop",
        choices=LOOP_KINDS,
        default="auto",
        help="event loop (auto: uvloop when installed, else asyncio)",
    )
    serve.set_defaults(handler=_cmd_serve)

    for name, help_, description, module, add_arguments, runner in _DELEGATED:
        sub = commands.add_parser(name, help=help_, description=description)
        if command is None or command == name:
            getattr(importlib.import_module(module), add_arguments)(sub)
        sub.set_defaults(handler=_delegate(module, runner))
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The command named in ``argv`` when it is one of ours, else None (all of them:
    a usage error or --help lists every command with its arguments)."""
    known = {"serve", *(entry[0] for entry in _DELEGATED)}
    return argv[0] if argv and argv[0] in known else None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(_command_of(argv)).parse_args(argv)
    handler: Command = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
