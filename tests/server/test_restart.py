"""amqp_broker.restart / crash and POST /amqpmock/restart: what clients are told, that
new connections are refused while the broker is down, and that it comes back with the
durable state (the rules themselves: tests/fake/test_restart.py; against RabbitMQ:
tests/differential/test_restart.py)."""

from __future__ import annotations

import base64
import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import pika
import pika.exceptions as pe
import pytest

from amqpmock.testing.harness import BrokerFixture

SHUTDOWN = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"


def call(url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One control API request with the URL's credentials: (status, JSON answer)."""
    parts = urlsplit(url)
    request = urllib.request.Request(f"http://{parts.hostname}:{parts.port}{path}", method=method)
    token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(request, data, timeout=10) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None


def _told(conn: pika.BlockingConnection, rounds: int = 100) -> Any:
    try:
        for _ in range(rounds):
            conn.process_data_events(time_limit=0.05)
    except pe.ConnectionClosedByBroker as exc:
        return (exc.reply_code, exc.reply_text)
    except (pe.StreamLostError, pe.AMQPConnectionError) as exc:
        return type(exc).__name__
    return "still open"


def _connects(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=2):
            return True
    except ConnectionRefusedError:
        return False


def _durable_setup(url: str) -> pika.BlockingConnection:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.queue_declare("kept", durable=True)
    ch.queue_declare("lost")
    props = pika.BasicProperties(delivery_mode=2)
    ch.basic_publish("", "kept", b"persistent", props)
    ch.basic_publish("", "kept", b"transient")
    ch.basic_publish("", "lost", b"persistent", props)
    return conn


def _wait_up(url: str, timeout: float = 5.0) -> float:
    began = time.monotonic()
    while not _connects(url):
        assert time.monotonic() - began < timeout, "the broker did not come back"
        time.sleep(0.02)
    return time.monotonic() - began


def test_restart_tells_every_client_320_shutdown(amqp_broker: BrokerFixture) -> None:
    conns = [
        _durable_setup(amqp_broker.url),
        pika.BlockingConnection(pika.URLParameters(amqp_broker.url)),
    ]
    amqp_broker.restart()
    assert [_told(c) for c in conns] == [(320, SHUTDOWN)] * 2
    assert not amqp_broker.down
    assert amqp_broker.connections() == 0
    assert amqp_broker.queues() == ["kept"]
    assert [m.body for m in amqp_broker.messages("kept")] == [b"persistent"]
    # and it takes new clients at once
    conn = pika.BlockingConnection(pika.URLParameters(amqp_broker.url))
    assert conn.channel().queue_declare("kept", durable=True).method.message_count == 1
    conn.close()


def test_new_connections_are_refused_while_down(amqp_broker: BrokerFixture) -> None:
    _durable_setup(amqp_broker.url)
    amqp_broker.restart(down_for=0.6)
    assert amqp_broker.down
    assert not _connects(amqp_broker.url)
    waited = _wait_up(amqp_broker.url)
    assert 0.3 < waited < 3.0
    assert not amqp_broker.down
    conn = pika.BlockingConnection(pika.URLParameters(amqp_broker.url))
    method, _props, body = conn.channel().basic_get("kept", auto_ack=True)
    assert body == b"persistent" and method is not None and not method.redelivered
    conn.close()


def test_down_for_none_stays_down_until_come_up(amqp_broker: BrokerFixture) -> None:
    amqp_broker.restart(down_for=None)
    time.sleep(0.3)
    assert amqp_broker.down and not _connects(amqp_broker.url)
    amqp_broker.come_up()
    assert not amqp_broker.down and _connects(amqp_broker.url)
    amqp_broker.come_up()  # a no-op while up


def test_a_crash_drops_connections_without_a_close(amqp_broker: BrokerFixture) -> None:
    conn = _durable_setup(amqp_broker.url)
    ch = conn.channel()
    ch.basic_qos(prefetch_count=1)
    got: list[bytes] = []
    ch.basic_consume("kept", lambda c, m, p, body: got.append(body))
    conn.process_data_events(time_limit=0.2)
    assert got == [b"persistent"]
    amqp_broker.crash()
    assert _told(conn) == "StreamLostError"
    # the unacked message is back in its queue, marked redelivered
    after = pika.BlockingConnection(pika.URLParameters(amqp_broker.url))
    method, _props, body = after.channel().basic_get("kept", auto_ack=True)
    assert body == b"persistent" and method is not None and method.redelivered
    after.close()


def test_unacked_messages_come_back_redelivered(amqp_broker: BrokerFixture) -> None:
    conn = _durable_setup(amqp_broker.url)
    method, _props, _body = conn.channel().basic_get("kept", auto_ack=False)
    assert method is not None and not method.redelivered
    amqp_broker.restart()
    assert _told(conn) == (320, SHUTDOWN)
    after = pika.BlockingConnection(pika.URLParameters(amqp_broker.url))
    method, _props, body = after.channel().basic_get("kept", auto_ack=True)
    assert body == b"persistent" and method is not None and method.redelivered
    after.close()


def test_rpc_stubs_keep_answering_after_a_restart(amqp_broker: BrokerFixture) -> None:
    amqp_broker.rpc_stub("", "rpc").returns({"ok": True})
    amqp_broker.restart()
    conn = pika.BlockingConnection(pika.URLParameters(amqp_broker.url))
    ch = conn.channel()
    replies: list[bytes] = []
    ch.basic_consume("amq.rabbitmq.reply-to", lambda c, m, p, b: replies.append(b), True)
    ch.basic_publish("", "rpc", b"{}", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to"))
    for _ in range(40):
        if replies:
            break
        conn.process_data_events(time_limit=0.05)
    assert replies and b"ok" in replies[0]
    conn.close()


# --- the control API ---------------------------------------------------------------


def test_control_api_restart(amqp_broker: BrokerFixture, amqp_management_url: str) -> None:
    conn = _durable_setup(amqp_broker.url)
    status, body = call(amqp_management_url, "POST", "/amqpmock/restart", {"down_for": 0.5})
    assert (status, body) == (200, {"down": True, "down_for": 0.5, "crash": False})
    assert _told(conn) == (320, SHUTDOWN)
    assert not _connects(amqp_broker.url)
    _wait_up(amqp_broker.url)
    assert amqp_broker.queues() == ["kept"]


def test_control_api_crash_and_come_up(
    amqp_broker: BrokerFixture, amqp_management_url: str
) -> None:
    conn = _durable_setup(amqp_broker.url)
    status, body = call(
        amqp_management_url, "POST", "/amqpmock/restart", {"down_for": None, "crash": True}
    )
    assert (status, body) == (200, {"down": True, "down_for": None, "crash": True})
    assert _told(conn) == "StreamLostError"
    time.sleep(0.2)
    assert not _connects(amqp_broker.url)
    assert call(amqp_management_url, "POST", "/amqpmock/come-up") == (200, {"down": False})
    assert _connects(amqp_broker.url)
    # an empty body: a plain restart, back at once
    assert call(amqp_management_url, "POST", "/amqpmock/restart")[0] == 200
    assert _connects(amqp_broker.url)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"down_for": "1"}, "down_for: a number of seconds, 0 or more, or null"),
        ({"down_for": -1}, "down_for: a number of seconds, 0 or more, or null"),
        ({"down_for": True}, "down_for: a number of seconds, 0 or more, or null"),
        ({"crash": "yes"}, "crash: true or false"),
        ({"crash": 1}, "crash: true or false"),
        ({"for": 1}, "unknown field(s) for: expected down_for, crash"),
    ],
)
def test_control_api_restart_refuses_bad_input(
    amqp_broker: BrokerFixture, amqp_management_url: str, body: Any, reason: str
) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(amqp_broker.url))
    status, answer = call(amqp_management_url, "POST", "/amqpmock/restart", body)
    assert (status, answer) == (400, {"error": "bad_request", "reason": reason})
    assert _told(conn, rounds=4) == "still open"  # nothing happened
    conn.close()
