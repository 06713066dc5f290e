"""A client from another language: Node's amqplib against the fake broker."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from amqpmock.testing.harness import BrokerFixture


def test_amqplib_publish_consume_requeue_rpc_and_errors(
    node_dir: Path, amqp_broker: BrokerFixture
) -> None:
    proc = subprocess.run(
        ["node", str(node_dir / "client.js"), amqp_broker.url],
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
