"""A test in Node drives the control API (``/amqpmock/...``) of the test's broker:
stubs an RPC, injects a message, and asserts on what its amqplib worker published."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from amqpmock.testing.harness import BrokerFixture


def test_node_drives_the_control_api(
    node_dir: Path,
    amqp_broker: BrokerFixture,
    amqp_management_url: str,
) -> None:
    proc = subprocess.run(
        ["node", str(node_dir / "control_api.js"), amqp_broker.url, amqp_management_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out == {
        "quote": {"price": 42},
        "published": [{"routing_key": "order.priced", "json": {"id": 7, "price": 42}}],
        "stub": {"call_count": 1, "payload": {"sku": "ABC"}},
        "acked": 1,
    }
    # the Python side sees the same broker
    assert amqp_broker.exchange("events").published.last.json() == {"id": 7, "price": 42}
