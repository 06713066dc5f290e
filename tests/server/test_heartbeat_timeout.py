"""A client whose heartbeats stop, against RabbitMQ 3.10.8 (a node of its own) and the
fake: a raw client negotiates a 2 s heartbeat and then sends nothing. Both keep sending
heartbeats, then close the socket without a Connection.Close about 6 s after the
client's Connection.Open: RabbitMQ's receiver checks every heartbeat interval from
TuneOk on, and gives up at the second check in a row that found no byte (the first
check still saw the Open), "missed heartbeats from client, timeout: 2s" in its log.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from amqpmock.testing.harness import BrokerFixture
from amqpmock.testing.rabbitmq import RabbitMQNode
from amqpmock.wire.codec import HeartbeatFrame, MethodFrame

from .rawclient import RawClient

EXPECTED = {"closed_after": "5-7 s", "close_frame": None, "heartbeats_seen": True}


@pytest.fixture(scope="module")
def node() -> Iterator[RabbitMQNode]:
    node = RabbitMQNode().start()
    try:
        yield node
    finally:
        node.stop()


def _silent_client(url: str) -> dict[str, Any]:
    with RawClient(url, timeout=30) as client:
        client.handshake(heartbeat=2)
        began = time.monotonic()
        heartbeats, close = 0, None
        hung_up = False
        while not hung_up and time.monotonic() - began < 20:
            frames, hung_up = client.frames(0.1)
            for item in frames:
                if isinstance(item, HeartbeatFrame):
                    heartbeats += 1
                elif isinstance(item, MethodFrame):
                    close = item.method.name
        took = time.monotonic() - began
    observed = {
        "closed_after": "5-7 s" if 5 <= took < 7 else f"{took:.1f} s",
        "close_frame": close,
        "heartbeats_seen": heartbeats > 0,
    }
    record = os.environ.get("AMQPMOCK_RECORD_OBSERVED")
    if record:
        with open(record, "a") as out:
            out.write(json.dumps({"heartbeat": observed, "took": took}) + "\n")
    return observed


@pytest.mark.rabbitmq
def test_silent_client_on_rabbitmq(node: RabbitMQNode) -> None:
    assert _silent_client(node.url) == EXPECTED


def test_silent_client_on_the_fake(amqp_broker: BrokerFixture) -> None:
    assert _silent_client(amqp_broker.url) == EXPECTED
