"""``amqpmock serve`` on its way to the first connection imports only what serving
needs (issue 21, faster start): not the other commands' modules (contracts, recorder,
viewers), not the cassette side (PyYAML), not the RPC stubs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.server.test_cli import ROOT

PROBE = """
import json, sys
from amqpmock.cli import build_parser, _command_of
from amqpmock.fake import Broker
from amqpmock.hookspecs import get_plugin_manager
from amqpmock.wire.server import AMQPServer
args = build_parser(_command_of(["serve", "--no-http"])).parse_args(["serve", "--no-http"])
plugins = get_plugin_manager()
broker = Broker(exchange_types=plugins.exchange_types())
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {"amqpmock", "yaml"})))
"""

NOT_ON_THE_WAY = (
    "yaml",
    "amqpmock.cassette",
    "amqpmock.contracts",
    "amqpmock.proxy",
    "amqpmock.replay",
    "amqpmock.view",
    "amqpmock.testing.rpc",
    "amqpmock.testing.rabbitmq",
)


def test_serve_leaves_the_other_commands_unimported() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    imported = json.loads(done.stdout)
    assert "amqpmock.wire.server" in imported
    assert [m for m in imported if m.startswith(NOT_ON_THE_WAY)] == []


def test_every_command_still_has_its_arguments() -> None:
    from amqpmock.cli import build_parser

    for argv in (["replay", "--cassette", "c.yaml"], ["asyncapi", "c.yaml"], ["control", "reset"]):
        args = build_parser(argv[0]).parse_args(argv)
        assert args.command == argv[0]
