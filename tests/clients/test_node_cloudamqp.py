"""@cloudamqp/amqp-client (Node) on the fake and on RabbitMQ 3.10.8: the same transcript
(issue #14 item 1: it could not open a channel on the fake, whose Channel.OpenOk carried
a reserved "0" where RabbitMQ sends an empty string)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from amqpmock.testing.harness import BrokerFixture
from amqpmock.testing.rabbitmq import RabbitMQNode

NODE_DIR = Path(__file__).parent / "node"
SCRIPT = NODE_DIR / "cloudamqp_client.mjs"


def transcript(url: str) -> dict[str, Any]:
    proc = subprocess.run(
        ["node", str(SCRIPT), url], capture_output=True, text=True, timeout=60, cwd=NODE_DIR
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_the_same_transcript_on_the_fake_and_on_rabbitmq(
    node_dir: Path, rabbitmq_node: RabbitMQNode, amqp_broker: BrokerFixture
) -> None:
    fake = transcript(amqp_broker.url)
    real = transcript(rabbitmq_node.url)
    assert fake == real
    # and what that transcript says
    assert fake["serverNamed"] is True
    assert [d["redelivered"] for d in fake["deliveries"]] == [False, True]
    assert fake["deliveries"][0]["headers"] == {"source": "node"}
    assert fake["rpc"] == {"body": "pong:ping", "correlationId": "c-1"}
    assert "NOT_FOUND - no queue 'cloud.missing' in vhost '/'" in fake["missing"]
