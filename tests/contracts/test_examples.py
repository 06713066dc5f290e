"""``amqp_broker.publish_example(name)``: a message's first ``examples`` entry published
on its channel's exchange and routing key, read back by a pika client; a message
without examples, an unknown name and a parameterised address are clear errors."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

DOCUMENT = """
asyncapi: 3.0.0
info: {title: Shop, version: 1.0.0}
channels:
  orderAccepted:
    address: order.accepted
    messages:
      accepted: {$ref: '#/components/messages/accepted'}
    bindings:
      amqp: {is: routingKey, exchange: {name: shop.events, type: topic}}
  invoices:
    address: 'invoice.{region}'
    messages:
      invoice:
        payload: {type: object}
        examples: [{payload: {n: 1}}]
    bindings:
      amqp: {is: routingKey, exchange: {name: shop.events, type: topic}}
  audit:
    address: audit
    messages:
      entry: {payload: {type: object}}
components:
  messages:
    accepted:
      payload: {type: object}
      examples:
        - {payload: {order_id: 7, total: 9.5}, headers: {x-source: shop}}
"""

TESTS = """
import json
import pika
import pytest


@pytest.fixture
def channel(amqp_broker):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_broker.url))
    channel = connection.channel()
    channel.exchange_declare("shop.events", "topic")
    channel.queue_declare("orders")
    channel.queue_bind("orders", "shop.events", "order.*")
    yield channel
    connection.close()


@pytest.mark.parametrize("name", ["accepted", "orderAccepted"])
@pytest.mark.amqp_contract("shop.yaml")
def test_example_reaches_the_client(amqp_broker, channel, name):
    assert amqp_broker.publish_example(name) == ["orders"]
    method, properties, body = channel.basic_get("orders", auto_ack=True)
    assert method.routing_key == "order.accepted"
    assert json.loads(body) == {"order_id": 7, "total": 9.5}
    assert properties.headers == {"x-source": "shop"}


@pytest.mark.parametrize("name", ["entry", "nothing", "invoice"])
@pytest.mark.amqp_contract("shop.yaml")
def test_errors(amqp_broker, name):
    amqp_broker.publish_example(name)
"""


def test_publish_example(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", shop=DOCUMENT)
    pytester.makepyfile(test_service=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--tb=line")
    result.assert_outcomes(passed=2, failed=3)
    out = result.stdout.str()
    assert "ContractError: " in out
    assert "shop.yaml: message 'entry' has no examples" in out
    assert "shop.yaml: no message or channel 'nothing' with examples (known: " in out
    assert "shop.yaml: channel 'invoices' has no fixed routing key ('invoice.{region}')" in out
