"""Checking while recording: a test that records through the proxy against a real
RabbitMQ has its publishes checked against the document as in the fake and in replay;
a publish that breaks it fails the test with the pointer, a correct one passes (and its
cassette is written, the failing one's is not)."""

from __future__ import annotations

import pytest

from amqpmock.testing.rabbitmq import RabbitMQNode
from tests.contracts.test_checking import DOCUMENT

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.rabbitmq

TESTS = """
import json
import pika
import pytest


def publish(url, routing_key, body, headers):
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.exchange_declare("shop.events", "topic", auto_delete=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, "shop.events", "order.*")
    channel.basic_publish(
        "shop.events", routing_key, json.dumps(body), pika.BasicProperties(headers=headers)
    )
    for _ in range(250):  # it went through the real broker: read it back
        method, _props, got = channel.basic_get(queue, auto_ack=True)
        if method:
            break
        connection.sleep(0.02)
    connection.close()
    return json.loads(got)


@pytest.mark.amqp_cassette("good.yaml")
def test_correct(amqp_url, amqp_broker):
    assert amqp_url != amqp_broker.server.url  # the recording proxy, not the fake
    assert publish(amqp_url, "order.accepted", {"order_id": 1, "total": 9.5},
                   {"x-source": "shop"}) == {"order_id": 1, "total": 9.5}
    assert len(amqp_broker.published) == 1


@pytest.mark.amqp_cassette("bad.yaml")
def test_wrong_type(amqp_url):
    publish(amqp_url, "order.accepted", {"order_id": "1", "total": 9.5}, {"x-source": "shop"})
"""


def test_publishes_are_checked_while_recording(
    pytester: pytest.Pytester, rabbitmq_node: RabbitMQNode
) -> None:
    pytester.makefile(".yaml", shop=DOCUMENT)
    pytester.makeini("[pytest]\namqp_asyncapi = shop.yaml\n")
    pytester.makepyfile(test_service=TESTS)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--amqp-record-mode=all",
        f"--amqp-upstream={rabbitmq_node.url}",
    )
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "publishes that break the contract shop.yaml:" in out
    assert (
        "publish #1 [payload] channel orderAccepted: /order_id: '1' is not of type 'integer'"
        in out
    )
    result.stdout.fnmatch_lines(["*test_service.py .F*"])
    # a recording that failed the contract is a failed test's: its cassette is not kept
    written = sorted(p.name for p in pytester.path.rglob("*.yaml") if p.name != "shop.yaml")
    assert written == ["good.yaml"]
