"""Forced closes from the broker's side: a connection with a given code and text (by
default what RabbitMQ's management ``DELETE /api/connections/NAME`` sends), or one
channel of it; from the fixture and the control API; pika as the client."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pika
import pika.exceptions as pe
import pytest

from amqpmock.testing.harness import BrokerFixture


def _connect(url: str, name: str) -> pika.BlockingConnection:
    params = pika.URLParameters(url)
    params.client_properties = {"connection_name": name}
    return pika.BlockingConnection(params)


def test_a_connection_closed_with_the_management_plugins_text(amqp_broker: BrokerFixture) -> None:
    amqp_broker.declare_queue("jobs")
    amqp_broker.publish("", "jobs", b"job")
    victim, bystander = _connect(amqp_broker.url, "victim"), _connect(amqp_broker.url, "other")
    ch = victim.channel()
    assert ch.basic_get("jobs")[2] == b"job"  # held unacked
    assert amqp_broker.close_connection("victim") == 1
    with pytest.raises(pe.ConnectionClosedByBroker) as closed:
        victim.process_data_events(time_limit=1)
    assert (closed.value.reply_code, closed.value.reply_text) == (
        320,
        "CONNECTION_FORCED - Closed via management plugin",
    )
    assert bystander.channel().queue_declare("jobs", passive=True).method.message_count == 1
    bystander.close()


def test_a_channel_closed_with_a_given_code(amqp_broker: BrokerFixture) -> None:
    conn = _connect(amqp_broker.url, "worker")
    first, second = conn.channel(), conn.channel()
    hit = amqp_broker.close_connection(
        "worker", 406, "PRECONDITION_FAILED test", channel=first.channel_number
    )
    assert hit == 1
    with pytest.raises(pe.ChannelClosedByBroker) as closed:
        first.queue_declare("q")
    assert closed.value.reply_code == 406
    assert closed.value.reply_text == "PRECONDITION_FAILED - PRECONDITION_FAILED test"
    assert second.queue_declare("q").method.queue == "q"  # the rest goes on
    assert amqp_broker.close_connection("nobody") == 0
    with pytest.raises(ValueError, match="999 is not an AMQP reply code"):
        amqp_broker.close_connection("worker", 999, "x")
    conn.close()


def _post(base: str, path: str, body: object) -> tuple[int, object]:
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST")
    request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_control_api_closes_a_connection(
    amqp_broker: BrokerFixture, amqp_management_url: str
) -> None:
    base = "http://" + amqp_management_url.split("@", 1)[1]
    conn = _connect(amqp_broker.url, "api-victim")
    status, answer = _post(
        base, "/amqpmock/close", {"connection": "api-victim", "code": 541, "text": "boom"}
    )
    assert (status, answer) == (200, {"closed": 1})
    with pytest.raises(pe.ConnectionClosedByBroker) as closed:
        conn.process_data_events(time_limit=1)
    assert (closed.value.reply_code, closed.value.reply_text) == (541, "INTERNAL_ERROR - boom")
    status, answer = _post(base, "/amqpmock/close", {"code": "x"})
    assert status == 400 and "code: an AMQP reply code" in str(answer)
