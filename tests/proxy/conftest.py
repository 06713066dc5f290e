"""Fixtures for the live proxy tests: a user with a password worth hiding, on the
session's RabbitMQ node (``rabbitmq_node`` from tests/conftest.py), and where committed
cassettes go.

Set ``AMQPMOCK_UPDATE_CASSETTES=1`` to have the live tests also write their cassettes
under ``cassettes/proxy/`` (the committed ones); otherwise they write to tmp_path only.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from amqpmock.testing.rabbitmq import RabbitMQNode

CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "proxy"


def rabbitmqctl(node: RabbitMQNode, *args: str) -> None:
    env = dict(os.environ, HOME=str(node.workdir), ERL_EPMD_ADDRESS="127.0.0.1")
    done = subprocess.run(
        [CTL, "-n", f"amqpmock{node.port}@localhost", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr or done.stdout}")


@dataclass(frozen=True)
class Upstream:
    node: RabbitMQNode
    user: str
    password: str

    @property
    def url(self) -> str:
        return f"amqp://{self.user}:{self.password}@{self.node.host}:{self.node.port}/%2F"


def add_recording_user(node: RabbitMQNode) -> Upstream:
    password = "pw-" + secrets.token_hex(12)
    rabbitmqctl(node, "add_user", "recorder", password)
    rabbitmqctl(node, "set_permissions", "-p", "/", "recorder", ".*", ".*", ".*")
    return Upstream(node, "recorder", password)


@pytest.fixture(scope="session")
def upstream(rabbitmq_node: RabbitMQNode) -> Upstream:
    """The session node, reached as a user whose password must never be recorded."""
    return add_recording_user(rabbitmq_node)


def keep_cassette(path: Path) -> None:
    """Copy a recorded cassette to cassettes/proxy/ when AMQPMOCK_UPDATE_CASSETTES is set."""
    if os.environ.get("AMQPMOCK_UPDATE_CASSETTES"):
        CASSETTES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, CASSETTES / path.name)
