"""Rascal (Node, 21.x) on the fake and on RabbitMQ 3.10.8: its broker asserts and checks
its vhost through the management API (``vhosts.V.assert``/``check``: PUT and GET
``/api/vhosts/V``), publishes and receives through a subscription in it, and ``nuke()``
deletes it (DELETE); what Rascal reports when the API refuses it (401, 404). The same
transcript on both."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

from amqpmock.testing.harness import BrokerFixture
from amqpmock.testing.rabbitmq import RabbitMQNode

NODE_DIR = Path(__file__).parent / "node"
SCRIPT = NODE_DIR / "rascal_client.js"


def transcript(amqp_url: str, management_url: str) -> Any:
    vhost = f"rascal-{uuid.uuid4().hex[:8]}"
    proc = subprocess.run(
        ["node", str(SCRIPT), amqp_url, management_url, vhost],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=NODE_DIR,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.replace(vhost, "{vhost}"))


def test_the_same_transcript_on_the_fake_and_on_rabbitmq(
    node_dir: Path,
    rabbitmq_node: RabbitMQNode,
    amqp_broker: BrokerFixture,
    amqp_management_url: str,
) -> None:
    assert rabbitmq_node.management_url is not None
    fake = transcript(amqp_broker.url, amqp_management_url)
    real = transcript(
        rabbitmq_node.url,
        rabbitmq_node.management_url.replace("://", "://guest:guest@", 1),
    )
    assert fake == real
    # and what that transcript says
    assert fake["steps"] == [
        ["vhost before", 404],
        ["created"],
        ["vhost after create", 200],
        ["published", "string"],
        [
            "received",
            {
                "content": {"id": 1, "what": "order"},
                "routingKey": "order.created",
                "exchange": "events",
                "redelivered": False,
                "contentType": "application/json",
            },
        ],
        ["asserted again"],
        ["nuked"],
        ["vhost after nuke", 404],
        [
            "wrong password",
            "Failed to assert vhost: {vhost}-x. http://guest:***@127.0.0.1:PORT"
            " returned status 401",
        ],
        ["vhost never made", 404],
        [
            "check of a missing vhost",
            "Failed to check vhost: {vhost}-y. http://guest:***@127.0.0.1:PORT"
            " returned status 404",
        ],
    ]
