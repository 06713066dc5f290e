"""``amqpmock replay``: a cassette served to clients in any language, over TCP.

Rules this module keeps:
- The fake broker answers the protocol live; the cassette's outside world (RPC replies,
  events) is played into it by ``ReplayEngine``, with the same matching options as the
  pytest marker (``--match-on``, ``--ignore-fields``, ``--allow-repeats``).
- Clients log in as they did when recording: every user name the cassette's StartOk
  frames show is accepted with any password (the password was never recorded), and
  so are ``--user`` and guest:guest; the recorded vhosts exist.
- SIGINT and SIGTERM end it the same way: every client gets 320 CONNECTION_FORCED, then
  the report (played, unplayed, mismatches) goes to stderr; the exit status is 1 when
  a publish matched nothing, or something recorded was never played (unless
  ``--allow-unused``).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from amqpmock.wire.loopthread import run_until_stopped

if TYPE_CHECKING:
    from amqpmock.cassette import Cassette


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _names(value: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in value.split(",") if name.strip())


def add_replay_arguments(parser: argparse.ArgumentParser) -> None:
    from amqpmock._http_cli import add_http_arguments
    from amqpmock.cli import user_argument

    parser.add_argument("--cassette", required=True, metavar="PATH", help="the cassette file")
    parser.add_argument(
        "--listen",
        type=_listen,
        default=("127.0.0.1", 0),
        metavar="HOST:PORT",
        help="where to listen (default 127.0.0.1 and a free port)",
    )
    parser.add_argument(
        "--user",
        type=user_argument,
        action="append",
        metavar="NAME:PASSWORD",
        help="another user (repeatable); recorded user names log in with any password",
    )
    parser.add_argument(
        "--match-on",
        type=_names,
        metavar="M1,M2",
        help="matchers for publishes (default exchange,routing_key,body; also "
        "properties, headers, and plugin matchers)",
    )
    parser.add_argument(
        "--ignore-fields",
        type=_names,
        default=(),
        metavar="F1,F2",
        help="JSON body fields left out of matching: keys, or dotted paths like meta.id",
    )
    parser.add_argument(
        "--compare",
        type=_names,
        default=None,
        metavar="K1,K2",
        help="what the clients do that is compared with the recording (default: all of "
        "publish,declare,bind,delete,purge,qos,confirm,tx,consume,cancel,settle; "
        "-KIND leaves one out, e.g. --compare=-settle)",
    )
    parser.add_argument(
        "--allow-repeats",
        "--allow-playback-repeats",
        dest="allow_playback_repeats",
        action="store_true",
        help="let a recorded request be answered more than once",
    )
    parser.add_argument(
        "--allow-unused",
        action="store_true",
        help="exit 0 even when recorded interactions were never played",
    )
    add_http_arguments(parser)
    parser.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="replay a cassette whose recording stopped early (refused otherwise)",
    )


def recorded_logins(cassette: Cassette) -> tuple[set[str], set[str]]:
    """The user names and vhosts the recorded clients logged in with."""
    from amqpmock.cassette import REDACTED, start_ok_credentials

    users, vhosts = set(), set()
    for conn in cassette.connections:
        for item in conn.interactions:
            if item.method == "Connection.StartOk":
                user, _password = start_ok_credentials(item.args)
                response = item.args.get("response")
                if isinstance(response, dict):  # AMQPLAIN, written as a readable table
                    user = str(response.get("LOGIN")) if response.get("LOGIN") else None
                if user and user != REDACTED:
                    users.add(user)
            elif item.method == "Connection.Open":
                vhosts.add(str(item.args.get("virtual_host") or "/"))
    return users, vhosts


def run_replay(args: argparse.Namespace) -> int:
    from amqpmock._http_cli import http_address, start_http
    from amqpmock.cassette import CassetteError, incomplete_problem, load_cassette
    from amqpmock.clocks import AdjustableClock
    from amqpmock.fake import Broker
    from amqpmock.hookspecs import get_plugin_manager
    from amqpmock.replay import DEFAULT_MATCH_ON, ReplayEngine, ReplayError, compare_kinds
    from amqpmock.wire.server import AMQPServer

    try:
        cassette = load_cassette(args.cassette)
        problem = incomplete_problem(cassette)
        if problem is not None:
            if not args.allow_incomplete:
                print(
                    f"amqpmock replay: {args.cassette}: {problem}; re-record it, or pass "
                    "--allow-incomplete to replay it anyway",
                    file=sys.stderr,
                )
                return 1
            print(f"amqpmock replay: warning: {problem}; replaying it anyway", file=sys.stderr)
        users, vhosts = recorded_logins(cassette)
        broker = Broker(
            AdjustableClock(),  # the control API's clock/advance moves it
            vhosts=sorted(vhosts | {"/"}),
            exchange_types=get_plugin_manager().exchange_types(),
        )
        for name in sorted(users):
            broker.add_user(name, None, tags=("administrator",))
        for name, password in args.user or ():
            broker.add_user(name, password, tags=("administrator",))
        for name in sorted(users | {n for n, _ in args.user or ()}):
            for vhost in broker.vhosts:
                broker.set_permissions(name, vhost)
        broker.mark_baseline()
        engine = ReplayEngine(
            broker,
            cassette,
            match_on=args.match_on or DEFAULT_MATCH_ON,
            matchers=get_plugin_manager().matchers(),  # type: ignore[arg-type]
            ignore_fields=args.ignore_fields,
            allow_playback_repeats=args.allow_playback_repeats,
            compare=compare_kinds(args.compare or ()),
        )
    except (CassetteError, ReplayError) as exc:
        print(f"amqpmock replay: {exc}", file=sys.stderr)
        return 1
    host, port = args.listen
    try:
        http = http_address(args)
    except ValueError as exc:
        print(f"amqpmock replay: {exc}", file=sys.stderr)
        return 2

    async def serve() -> None:
        async with AMQPServer(broker, host=host, port=port) as srv:
            print(srv.url, flush=True)
            if http is not None:
                await start_http(srv, *http)
            await srv.serve_forever()

    run_until_stopped(serve())
    publishes = engine.plan.publishes
    played = sum(1 for p in publishes if p.replayed)
    print(
        f"amqpmock replay: {played} of {len(publishes)} recorded publishes replayed, "
        f"{len(engine.mismatches)} live publishes matched nothing",
        file=sys.stderr,
    )
    report = engine.report(allow_unused=args.allow_unused)
    if report:
        print(report, file=sys.stderr)
        return 1
    return 0
