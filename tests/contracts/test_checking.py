"""Publishes checked against a hand-written AsyncAPI document (ini ``amqp_asyncapi``,
marker ``amqp_contract``): the correct code passes; a wrong field type, a missing
required field, an unknown routing key and a missing header each fail the test with
the rule, the channel and the JSON pointer."""

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
    parameters: {region: {}}
    messages:
      invoice: {payload: {type: object}}
    bindings:
      amqp: {is: routingKey, exchange: {name: shop.events, type: topic}}
components:
  messages:
    accepted:
      headers:
        type: object
        properties: {x-source: {type: string}}
        required: [x-source]
      payload:
        type: object
        properties:
          order_id: {type: integer}
          total: {type: number}
        required: [order_id, total]
"""

SERVICE = """
import json
import pika
import pytest


def publish(url, routing_key, body, headers):
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.exchange_declare("shop.events", "topic")
    channel.basic_publish(
        "shop.events", routing_key, json.dumps(body), pika.BasicProperties(headers=headers)
    )
    connection.close()


GOOD = {"order_id": 1, "total": 9.5}
SOURCE = {"x-source": "shop"}


def test_correct(amqp_url):
    publish(amqp_url, "order.accepted", GOOD, SOURCE)
    publish(amqp_url, "invoice.eu", {"n": 1}, {})


def test_wrong_type(amqp_url):
    publish(amqp_url, "order.accepted", {"order_id": "1", "total": 9.5}, SOURCE)


def test_missing_field(amqp_url):
    publish(amqp_url, "order.accepted", {"order_id": 1}, SOURCE)


def test_unknown_routing_key(amqp_url):
    publish(amqp_url, "order.acepted", GOOD, SOURCE)


def test_missing_header(amqp_url):
    publish(amqp_url, "order.accepted", GOOD, {})


@pytest.mark.amqp_contract("other.yaml")
def test_marker_names_another_document(amqp_url):
    publish(amqp_url, "order.accepted", GOOD, SOURCE)
"""


def test_violations_fail_the_test_with_the_pointer(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", shop=DOCUMENT, other=DOCUMENT.replace("order.accepted", "x.y"))
    pytester.makeini("[pytest]\namqp_asyncapi = shop.yaml\n")
    pytester.makepyfile(test_service=SERVICE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=5)
    out = result.stdout.str()
    for line in (
        "publishes that break the contract shop.yaml:",
        "publish #1 [payload] channel orderAccepted: /order_id: '1' is not of type 'integer'",
        "publish #1 [payload] channel orderAccepted: /total: 'total' is a required property",
        "publish #1 [unknown-channel] channel exchange='shop.events' routing_key='order.acepted'",
        "publish #1 [headers] channel orderAccepted: /headers/x-source: 'x-source' is a required",
        "publishes that break the contract other.yaml:",
    ):
        assert line in out, line
    result.stdout.fnmatch_lines(["*test_service.py .FFFFF*"])  # test_correct passed


def test_a_missing_document_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\namqp_asyncapi = nowhere.yaml\n")
    pytester.makepyfile(test_service=SERVICE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "correct")
    assert result.ret != 0
    assert "nowhere.yaml: cannot read" in result.stdout.str() + result.stderr.str()


def test_an_asyncapi_2_6_document() -> None:
    import json

    import yaml

    from amqpmock.contracts import Contract

    document = yaml.safe_load(
        """
asyncapi: 2.6.0
info: {title: Shop, version: 1.0.0}
channels:
  orders:
    bindings: {amqp: {is: queue, queue: {name: orders}}}
    publish:
      message:
        oneOf:
          - payload: {type: object, required: [order_id], properties: {order_id: {type: integer}}}
"""
    )
    contract = Contract(document, "shop-2.6.yaml")
    assert contract.check("", "orders", {}, json.dumps({"order_id": 1}).encode()) == []
    (wrong,) = contract.check("", "orders", {}, json.dumps({"order_id": "x"}).encode())
    assert (wrong.rule, wrong.channel, wrong.pointer) == ("payload", "orders", "/order_id")
    (unknown,) = contract.check("", "invoices", {}, b"{}")
    assert unknown.rule == "unknown-channel"


def test_a_generated_document_accepts_the_traffic_it_was_made_from() -> None:
    from amqpmock.contracts import Contract, build_document, load_traffic

    from .conftest import COMMITTED

    traffic = load_traffic(COMMITTED)
    contract = Contract(build_document(traffic))
    sends = [m for m in traffic.messages if m.action == "send"]
    assert sends
    for seen in sends:
        assert contract.check(seen.exchange, seen.routing_key, seen.headers, seen.body) == [], seen
    # and refuses a changed one: the oslo call without its arguments
    call = next(s for s in sends if s.routing_key == "dhcp_agent.node-1")
    body = call.body.replace(b'\\"args\\": {\\"host\\": \\"node-1\\"}, ', b"")
    assert body != call.body
    (violation,) = contract.check(call.exchange, call.routing_key, call.headers, body)
    assert violation.rule == "payload" and violation.pointer == "/args"
