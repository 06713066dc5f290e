"""``@pytest.mark.amqp_contract(path, declare=True)``: the document's exchanges, queues
and queue bindings (the channels' AMQP bindings, ``x-bindings``) are on the fake
before the test; a pika client publishes through them without declaring anything."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

DOCUMENT = """
asyncapi: 3.0.0
info: {title: Shop, version: 1.0.0}
channels:
  orderAccepted:
    address: order.accepted
    messages: {accepted: {payload: {type: object}}}
    bindings:
      amqp: {is: routingKey, exchange: {name: shop.events, type: topic, durable: true}}
  orders:
    address: orders
    messages: {accepted: {payload: {type: object}}}
    bindings:
      amqp:
        is: queue
        queue: {name: orders, durable: true}
        x-arguments: {x-max-length: 10}
        x-bindings: [{exchange: shop.events, routingKey: 'order.*'}]
  replies:
    address: 'amq.gen-{id}'
    bindings: {amqp: {is: queue, queue: {name: 'amq.gen-{id}'}}}
"""

TESTS = """
import pika
import pytest


@pytest.mark.amqp_contract("shop.yaml", declare=True)
def test_declared(amqp_broker):
    assert "shop.events" in amqp_broker.exchanges()
    assert amqp_broker.queues() == ["orders"]
    connection = pika.BlockingConnection(pika.URLParameters(amqp_broker.url))
    channel = connection.channel()
    channel.queue_declare("orders", passive=True)
    channel.exchange_declare("shop.events", passive=True)
    channel.basic_publish("shop.events", "order.accepted", b"{}")
    method, _, body = channel.basic_get("orders", auto_ack=True)
    assert (method.routing_key, body) == ("order.accepted", b"{}")
    connection.close()


@pytest.mark.amqp_contract("shop.yaml")
def test_not_declared_without_the_flag(amqp_broker):
    assert amqp_broker.queues() == []
    assert "shop.events" not in amqp_broker.exchanges()
"""


def test_declare_from_the_document(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", shop=DOCUMENT)
    pytester.makepyfile(test_service=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
