"""``amqp_broker.assert_conforms(document=None)``: every publish so far checked against
the named document, or the marker's or ini's; an AssertionError names rule, channel and
JSON pointer of each violation, and nothing is raised when all conform."""

from __future__ import annotations

import pytest

from tests.contracts.test_checking import DOCUMENT

pytest_plugins = ["pytester"]

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


def test_named_document_passes(amqp_broker):
    publish(amqp_broker.url, "order.accepted", GOOD, SOURCE)
    amqp_broker.assert_conforms("shop.yaml")


def test_named_document_fails_mid_test(amqp_broker):
    publish(amqp_broker.url, "order.accepted", GOOD, SOURCE)
    publish(amqp_broker.url, "order.accepted", {"order_id": "1", "total": 1}, {})
    with pytest.raises(AssertionError) as failure:
        amqp_broker.assert_conforms("shop.yaml")
    text = str(failure.value)
    assert "publishes that break the contract shop.yaml:" in text
    assert "publish #2 [payload] channel orderAccepted: /order_id:" in text
    assert "publish #2 [headers] channel orderAccepted: /headers/x-source:" in text
    assert "publish #1" not in text


@pytest.mark.amqp_contract("shop.yaml")
def test_marker_document_by_default(amqp_broker):
    publish(amqp_broker.url, "order.acepted", GOOD, SOURCE)
    amqp_broker.assert_conforms()


def test_no_document(amqp_broker):
    amqp_broker.assert_conforms()


def test_bad_document(amqp_broker):
    amqp_broker.assert_conforms("nowhere.yaml")
"""


def test_assert_conforms(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", shop=DOCUMENT)
    pytester.makepyfile(test_service=SERVICE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=3)
    result.stdout.fnmatch_lines(["*test_service.py ..FFF*"])
    out = result.stdout.str()
    assert "AssertionError: publishes that break the contract shop.yaml:" in out
    assert (
        "publish #1 [unknown-channel] channel exchange='shop.events' "
        "routing_key='order.acepted'" in out
    )
    assert "assert_conforms: no document" in out
    assert "assert_conforms: nowhere.yaml: cannot read" in out


def test_ini_document_by_default(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", shop=DOCUMENT)
    pytester.makeini("[pytest]\namqp_asyncapi = shop.yaml\n")
    pytester.makepyfile(
        test_service=SERVICE.split("def test_named")[0]
        + """
def test_ini_passes(amqp_broker):
    publish(amqp_broker.url, "order.accepted", GOOD, SOURCE)
    amqp_broker.assert_conforms()


def test_ini_fails(amqp_broker):
    publish(amqp_broker.url, "order.accepted", {"order_id": 1}, SOURCE)
    amqp_broker.assert_conforms()
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    assert "publish #1 [payload] channel orderAccepted: /total: 'total' is a required" in (
        result.stdout.str()
    )
