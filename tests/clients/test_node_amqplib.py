"""A client from another language: Node's amqplib against the fake broker."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from amqpmock.testing.harness import BrokerFixture

NODE_DIR = Path(__file__).parent / "node"


@pytest.fixture(scope="module")
def node_client() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise RuntimeError(
            "node and npm are needed for this test (Debian: apt-get install nodejs npm)"
        )
    if not (NODE_DIR / "node_modules" / "amqplib").exists():
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=300
        )
    return NODE_DIR / "client.js"


def test_amqplib_publish_consume_requeue_rpc_and_errors(
    node_client: Path, amqp_broker: BrokerFixture
) -> None:
    proc = subprocess.run(
        ["node", str(node_client), amqp_broker.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["serverProduct"] == "RabbitMQ"
    assert out["serverNamed"] is True
    assert out["deliveries"] == [
        {"body": '{"id":1}', "key": "order.created", "redelivered": False},
        {"body": '{"id":1}', "key": "order.created", "redelivered": True},
    ]
    assert out["rpc"] == {"body": "pong:ping", "correlationId": "n-1"}
    assert out["missing"]["code"] == 404
    assert "NOT_FOUND - no queue 'node.missing' in vhost '/'" in out["missing"]["message"]
    # the broker saw the unroutable publish too
    assert (
        amqp_broker.exchange("node.events")
        .published.filter(routing_key="order.created.late")
        .last.queues
        == []
    )
