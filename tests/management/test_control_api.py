"""The control API's answers to what it does not take, and what it shares with the
Python fixture (the same broker, records and stubs)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import pika
import pytest

from amqpmock.testing.harness import BrokerFixture


def call(url: str, method: str, path: str, body: Any = None, auth: bool = True) -> tuple[int, Any]:
    parts = urlsplit(url)
    request = urllib.request.Request(f"http://{parts.hostname}:{parts.port}{path}", method=method)
    if auth:
        token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    data = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    try:
        with urllib.request.urlopen(request, data, timeout=10) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None


BAD: list[tuple[str, str, Any, int, Any]] = [
    (
        "POST",
        "/amqpmock/clock/advance",
        {"seconds": -1},
        400,
        {"error": "bad_request", "reason": "seconds: a number of seconds, 0 or more"},
    ),
    (
        "POST",
        "/amqpmock/clock/advance",
        {},
        400,
        {"error": "bad_request", "reason": "[{key_missing,seconds}]"},
    ),
    (
        "POST",
        "/amqpmock/publish",
        {"exchange": ""},
        400,
        {"error": "bad_request", "reason": "[{key_missing,routing_key}]"},
    ),
    (
        "POST",
        "/amqpmock/publish",
        {"routing_key": "q", "properties": {"colour": "red"}},
        400,
        None,
    ),
    ("POST", "/amqpmock/publish", b"{nope", 400, {"error": "bad_request", "reason": "not_json"}),
    (
        "GET",
        "/amqpmock/records/nonsense",
        None,
        404,
        {"error": "Object Not Found", "reason": "Not Found"},
    ),
    (
        "GET",
        "/amqpmock/stubs/999",
        None,
        404,
        {"error": "Object Not Found", "reason": "Not Found"},
    ),
    (
        "POST",
        "/amqpmock/stubs",
        {"exchange": "x", "routing_key": "k", "raises": "boom"},
        400,
        {"error": "bad_request", "reason": '"raises" needs {"class": NAME, "message": TEXT}'},
    ),
    ("DELETE", "/amqpmock/reset", None, 405, None),
    (
        "GET",
        "/amqpmock/queues/none/messages",
        None,
        404,
        {"error": "Object Not Found", "reason": "Not Found"},
    ),
]


@pytest.mark.parametrize("case", BAD, ids=[f"{c[0]} {c[1]} {c[3]}" for c in BAD])
def test_what_the_control_api_does_not_take(
    amqp_management_url: str, case: tuple[str, str, Any, int, Any]
) -> None:
    method, path, body, status, expected = case
    got_status, got = call(amqp_management_url, method, path, body)
    assert got_status == status
    if expected is not None:
        assert got == expected
    elif status == 400:
        assert got["error"] == "bad_request" and got["reason"].startswith("properties:")


def test_no_credentials_no_control(amqp_management_url: str) -> None:
    assert call(amqp_management_url, "POST", "/amqpmock/reset", auth=False) == (401, None)


def test_the_python_fixture_and_the_http_api_are_one(
    amqp_management_url: str, amqp_broker: BrokerFixture
) -> None:
    amqp_broker.declare_queue("shared")
    status, answer = call(
        amqp_management_url,
        "POST",
        "/amqpmock/publish",
        {"routing_key": "shared", "body": "from http", "properties": {"type": "note"}},
    )
    assert (status, answer) == (200, {"queues": ["shared"]})
    assert [m.body for m in amqp_broker.messages("shared")] == [b"from http"]
    assert amqp_broker.messages("shared")[0].properties.message_type == "note"
    stub = amqp_broker.rpc_stub("", "svc.add").returns(3)
    conn = pika.BlockingConnection(pika.URLParameters(amqp_broker.url))
    ch = conn.channel()
    ch.queue_declare("replies")
    ch.basic_publish(
        "", "svc.add", b'{"a": 1}', pika.BasicProperties(reply_to="replies", correlation_id="c1")
    )
    conn.close()
    assert stub.call_count == 1
    status, messages = call(amqp_management_url, "GET", "/amqpmock/queues/replies/messages")
    assert status == 200 and [m["json"] for m in messages] == [3]
    status, records = call(
        amqp_management_url, "GET", "/amqpmock/records/published?routing_key=svc.add"
    )
    assert [r["json"] for r in records] == [{"a": 1}]
    assert call(amqp_management_url, "POST", "/amqpmock/reset")[0] == 204
    assert amqp_broker.queues() == []


def test_a_long_running_servers_records_keep_the_latest() -> None:
    """``amqpmock serve`` bounds what its control API keeps (``TrafficRecorder.bound``):
    by count and by body bytes, the oldest going first."""
    from amqpmock.fake import Broker
    from amqpmock.testing.inspection import TrafficRecorder
    from amqpmock.view.flows import TrafficContext

    broker = Broker()
    broker.declare_queue("q")
    recorder = TrafficRecorder(broker)
    recorder.bound(records=8, body_bytes=1000)
    context = TrafficContext(limit=8)
    broker.listeners.append(context.listener)
    for n in range(50):
        broker.publish("", "q", b"%03d" % n)
    kept = [r.body for r in recorder.records]
    assert 6 <= len(kept) <= 8 and kept[-1] == b"049"
    assert kept == sorted(kept)  # the newest, in order
    for n in range(10):
        broker.publish("", "q", b"x" * 300 + b"%03d" % n)
    assert sum(len(r.body) for r in recorder.records) <= 1000
    assert recorder.records[-1].body.endswith(b"009")
    assert len(context.publishers) <= 8
