"""The management HTTP API, differential: every test runs against RabbitMQ 3.10.8 (with
``rabbitmq_management``) and against the fake, and asserts what RabbitMQ answered:
status codes, error bodies, and the JSON fields clients read.

RabbitMQ's counts come from statistics emitted every 5 s, so count checks poll until
they hold (the fake's are live)."""

# Expected texts are RabbitMQ's exact ones; splitting them would hide them.
# ruff: noqa: E501

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pika
import pika.exceptions as pe
import pytest

from .conftest import Answer, Target

NOT_FOUND = {"error": "Object Not Found", "reason": "Not Found"}


def unique(short: str) -> str:
    return f"mt{uuid.uuid4().hex[:8]}.{short}"


def q(name: str) -> str:
    return quote(name, safe="")


def poll(fetch: Callable[[], Any], want: Callable[[Any], bool], timeout: float = 15.0) -> Any:
    """``fetch()`` until ``want`` holds of it (statistics lag on RabbitMQ)."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while not want(value) and time.monotonic() < deadline:
        time.sleep(0.25)
        value = fetch()
    return value


@pytest.fixture
def vhost(target: Target) -> Iterator[str]:
    """A vhost of this test's own (made by guest, who may then use it)."""
    name = unique("vh")
    assert target.call("PUT", f"/api/vhosts/{q(name)}", {}).status == 201
    yield name
    target.call("DELETE", f"/api/vhosts/{q(name)}")


def test_login_and_whoami(target: Target) -> None:
    anonymous = target.call("GET", "/api/overview", auth=None)
    assert (anonymous.status, anonymous.body) == (401, None)
    assert anonymous.headers["www-authenticate"] == 'Basic realm="RabbitMQ Management"'
    wrong = target.call("GET", "/api/overview", auth=("guest", "nope"))
    assert (wrong.status, wrong.body) == (
        401,
        {"error": "not_authorized", "reason": "Login failed"},
    )
    me = target.call("GET", "/api/whoami")
    assert (me.status, me.body) == (200, {"name": "guest", "tags": ["administrator"]})
    overview = target.call("GET", "/api/overview").body
    assert overview["product_name"] == "RabbitMQ"
    assert overview["rabbitmq_version"] == overview["management_version"] == "3.10.8"
    assert {t["name"] for t in overview["exchange_types"]} >= {
        "direct",
        "fanout",
        "headers",
        "topic",
    }


def test_unknown_objects_and_paths(target: Target) -> None:
    for path in (
        "/api/queues/%2F/nope",
        "/api/vhosts/nope",
        "/api/nope",
        "/api/exchanges/%2F/nope",
    ):
        answer = target.call("GET", path)
        assert (answer.status, answer.body) == (404, NOT_FOUND), path
    assert target.call("DELETE", f"/api/queues/%2F/{unique('gone')}").status == 404


def test_vhosts_users_and_permissions(target: Target) -> None:
    vhost, user = unique("vh"), unique("user")
    assert target.call("PUT", f"/api/vhosts/{q(vhost)}", {}).status == 201
    assert target.call("PUT", f"/api/vhosts/{q(vhost)}", {}).status == 204
    got = target.call("GET", f"/api/vhosts/{q(vhost)}").body
    assert (got["name"], got["tracing"], got["tags"]) == (vhost, False, [])
    assert (
        target.call(
            "PUT", f"/api/users/{q(user)}", {"password": "pw", "tags": "management"}
        ).status
        == 201
    )
    bad = target.call("PUT", f"/api/permissions/{q(vhost)}/{q(user)}", {"configure": ".*"})
    assert (bad.status, bad.body) == (
        400,
        {"error": "bad_request", "reason": "[{key_missing,write},{key_missing,read}]"},
    )
    perms = {"configure": "^a", "write": ".*", "read": ".*"}
    assert target.call("PUT", f"/api/permissions/{q(vhost)}/{q(user)}", perms).status == 201
    one = target.call("GET", f"/api/permissions/{q(vhost)}/{q(user)}").body
    assert one == {"user": user, "vhost": vhost, **perms}
    assert target.call("GET", f"/api/users/{q(user)}").body["tags"] == ["management"]
    # a management user: no user admin, and only the vhosts it may use
    as_user = {"auth": (user, "pw")}
    refused = target.call("GET", "/api/users", **as_user)  # type: ignore[arg-type]
    assert (refused.status, refused.body) == (
        401,
        {"error": "not_authorised", "reason": "Not administrator user"},
    )
    seen = target.call("GET", "/api/vhosts", **as_user)  # type: ignore[arg-type]
    assert [v["name"] for v in seen.body] == [vhost]
    assert target.call("GET", "/api/whoami", **as_user).body == {
        "name": user,
        "tags": ["management"],
    }  # type: ignore[arg-type]
    assert target.call("DELETE", f"/api/permissions/{q(vhost)}/{q(user)}").status == 204
    assert target.call("GET", f"/api/permissions/{q(vhost)}/{q(user)}").status == 404
    assert target.call("DELETE", f"/api/users/{q(user)}").status == 204
    assert target.call("GET", f"/api/users/{q(user)}").status == 404
    assert target.call("DELETE", f"/api/vhosts/{q(vhost)}").status == 204
    assert target.call("DELETE", f"/api/vhosts/{q(vhost)}").body == NOT_FOUND


def test_queues_exchanges_bindings_publish_and_get(target: Target, vhost: str) -> None:
    v = q(vhost)
    assert (
        target.call(
            "PUT", f"/api/queues/{v}/work", {"durable": True, "arguments": {"x-max-length": 5}}
        ).status
        == 201
    )
    assert (
        target.call(
            "PUT", f"/api/queues/{v}/work", {"durable": True, "arguments": {"x-max-length": 5}}
        ).status
        == 204
    )
    changed = target.call("PUT", f"/api/queues/{v}/work", {"durable": False})
    assert (changed.status, changed.body) == (
        400,
        {
            "error": "bad_request",
            "reason": f"inequivalent arg 'durable' for queue 'work' in vhost '{vhost}': received 'false' but current is 'true'",
        },
    )
    assert (
        target.call("PUT", f"/api/exchanges/{v}/events", {"type": "topic", "durable": True}).status
        == 201
    )
    exchange = target.call("GET", f"/api/exchanges/{v}/events").body
    assert {
        k: exchange[k]
        for k in ("name", "type", "durable", "auto_delete", "internal", "arguments", "vhost")
    } == {
        "name": "events",
        "type": "topic",
        "durable": True,
        "auto_delete": False,
        "internal": False,
        "arguments": {},
        "vhost": vhost,
    }
    bound = target.call(
        "POST", f"/api/bindings/{v}/e/events/q/work", {"routing_key": "order.#", "arguments": {}}
    )
    assert bound.status == 201
    between = target.call("GET", f"/api/bindings/{v}/e/events/q/work").body
    assert between == [
        {
            "source": "events",
            "vhost": vhost,
            "destination": "work",
            "destination_type": "queue",
            "routing_key": "order.#",
            "arguments": {},
            "properties_key": "order.%23",
        }
    ]
    everything = target.call("GET", f"/api/bindings/{v}").body
    assert [(b["source"], b["destination"], b["routing_key"]) for b in everything] == [
        ("", "work", "work"),
        ("events", "work", "order.#"),
    ]
    queue = target.call("GET", f"/api/queues/{v}/work").body
    assert {
        k: queue[k]
        for k in (
            "name",
            "durable",
            "auto_delete",
            "exclusive",
            "arguments",
            "type",
        )
    } == {
        "name": "work",
        "durable": True,
        "auto_delete": False,
        "exclusive": False,
        "arguments": {"x-max-length": 5},
        "type": "classic",
    }
    message = {
        "properties": {"content_type": "application/json"},
        "routing_key": "order.created",
        "payload": '{"id": 1}',
        "payload_encoding": "string",
    }
    assert target.call("POST", f"/api/exchanges/{v}/events/publish", message).body == {
        "routed": True
    }
    assert target.call(
        "POST", f"/api/exchanges/{v}/events/publish", {**message, "routing_key": "nobody"}
    ).body == {"routed": False}
    got = target.call(
        "POST",
        f"/api/queues/{v}/work/get",
        {"count": 5, "ackmode": "ack_requeue_true", "encoding": "auto"},
    )
    assert (got.status, got.body) == (
        200,
        [
            {
                "payload_bytes": 9,
                "redelivered": False,
                "exchange": "events",
                "routing_key": "order.created",
                "message_count": 0,
                "properties": {"content_type": "application/json"},
                "payload": '{"id": 1}',
                "payload_encoding": "string",
            }
        ],
    )
    again = target.call(
        "POST",
        f"/api/queues/{v}/work/get",
        {"count": 1, "ackmode": "ack_requeue_false", "encoding": "auto"},
    )
    assert [m["redelivered"] for m in again.body] == [True]  # the first get requeued it
    assert target.call("DELETE", f"/api/queues/{v}/work/contents").status == 204
    assert target.call("DELETE", f"/api/bindings/{v}/e/events/q/work/order.%23").status == 204
    assert target.call("GET", f"/api/bindings/{v}/e/events/q/work").body == []
    assert target.call("DELETE", f"/api/queues/{v}/work").status == 204
    assert target.call("DELETE", f"/api/queues/{v}/work").status == 404
    assert target.call("DELETE", f"/api/exchanges/{v}/events").status == 204


def test_binding_location_and_properties_key(target: Target, vhost: str) -> None:
    """A new binding's Location (what nameko's ``rabbit_manager.create_queue_binding``
    gets back): its URL relative to the request's path, the destination and the
    properties key quoted once more. The properties key is RabbitMQ's quote_plus (a
    space is "+", "~" is "%7E"), and a path's segment is read as RabbitMQ reads it."""
    v = q(vhost)
    for queue in ("inbox", "my q"):
        assert target.call("PUT", f"/api/queues/{v}/{q(queue)}", {}).status == 201
    made = {}
    for queue, key in (
        ("inbox", "k"),
        ("inbox", "order.#"),
        ("inbox", "a b"),
        ("inbox", "x+y"),
        ("inbox", "p~q"),
        ("inbox", ""),
        ("my q", "p"),
    ):
        bound = target.call(
            "POST", f"/api/bindings/{v}/e/amq.topic/q/{q(queue)}", {"routing_key": key}
        )
        made[queue, key] = (bound.status, bound.headers.get("location"))
    assert made == {
        ("inbox", "k"): (201, "inbox/k"),
        ("inbox", "order.#"): (201, "inbox/order.%2523"),
        ("inbox", "a b"): (201, "inbox/a%2Bb"),
        ("inbox", "x+y"): (201, "inbox/x%252By"),
        ("inbox", "p~q"): (201, "inbox/p%257Eq"),
        ("inbox", ""): (201, "inbox/~"),
        ("my q", "p"): (201, "my+q/p"),
    }
    listed = {
        (b["source"], b["destination"], b["routing_key"]): b["properties_key"]
        for b in target.call("GET", f"/api/bindings/{v}").body
    }
    assert listed == {
        ("", "inbox", "inbox"): "inbox",
        ("", "my q", "my q"): "my+q",
        ("amq.topic", "inbox", "k"): "k",
        ("amq.topic", "inbox", "order.#"): "order.%23",
        ("amq.topic", "inbox", "a b"): "a+b",
        ("amq.topic", "inbox", "x+y"): "x%2By",
        ("amq.topic", "inbox", "p~q"): "p%7Eq",
        ("amq.topic", "inbox", ""): "~",
        ("amq.topic", "my q", "p"): "p",
    }
    found = {
        segment: target.call("GET", f"/api/bindings/{v}/e/amq.topic/q/inbox/{segment}").status
        for segment in (
            "a+b",
            "a%20b",
            "a%2Bb",
            "x%2By",
            "x%252By",
            "order.%23",
            "order.%2523",
            "p~q",
            "p%7Eq",
            "p%257Eq",
            "~",
        )
    }
    assert found == {
        "a+b": 200,
        "a%20b": 200,
        "a%2Bb": 200,
        "x%2By": 404,
        "x%252By": 200,
        "order.%23": 200,
        "order.%2523": 200,
        "p~q": 404,
        "p%7Eq": 404,
        "p%257Eq": 200,
        "~": 200,
    }


def test_counts_consumers_and_connections(target: Target) -> None:
    name = unique("counted")
    params = pika.URLParameters(target.amqp_url)
    params.client_properties = {"connection_name": name}
    conn = pika.BlockingConnection(params)
    try:
        ch = conn.channel()
        ch.queue_declare(name, exclusive=True)
        ch.basic_publish("", name, b"one")
        ch.basic_publish("", name, b"two")
        consumer = conn.channel()
        consumer.basic_qos(prefetch_count=1)
        consumer.basic_consume(name, lambda *_: None)
        conn.process_data_events(time_limit=0.3)
        fields = ("messages", "messages_ready", "messages_unacknowledged", "consumers")
        queue = poll(
            lambda: target.call("GET", f"/api/queues/%2F/{q(name)}").body,
            lambda body: tuple(body.get(f) for f in fields) == (2, 1, 1, 1),
        )
        assert tuple(queue.get(f) for f in fields) == (2, 1, 1, 1)
        assert queue["exclusive"] is True
        (detail,) = queue["consumer_details"]
        assert (detail["ack_required"], detail["prefetch_count"], detail["exclusive"]) == (
            True,
            1,
            False,
        )
        mine = poll(
            lambda: [
                c
                for c in target.call("GET", "/api/connections").body
                if c["client_properties"].get("connection_name") == name
            ],
            lambda rows: len(rows) == 1,
        )
        (row,) = mine
        assert (row["user"], row["vhost"], row["protocol"], row["auth_mechanism"]) == (
            "guest",
            "/",
            "AMQP 0-9-1",
            "PLAIN",
        )
        assert (row["frame_max"], row["channel_max"]) == (131072, 2047)
        # DELETE closes it with 320 and the X-Reason text, as RabbitMQ does
        closed = target.call(
            "DELETE", f"/api/connections/{q(row['name'])}", headers={"X-Reason": "bye now"}
        )
        assert closed.status == 204
        with pytest.raises(pe.ConnectionClosedByBroker) as caught:
            for _ in range(300):  # up to 15 s: RabbitMQ under load
                conn.process_data_events(time_limit=0.05)
        assert (caught.value.reply_code, caught.value.reply_text) == (
            320,
            "CONNECTION_FORCED - bye now",
        )
    finally:
        if conn.is_open:
            conn.close()


def test_deleting_a_vhost_closes_its_connections(target: Target) -> None:
    vhost = unique("doomed")
    assert target.call("PUT", f"/api/vhosts/{q(vhost)}", {}).status == 201
    url = target.amqp_url.rsplit("/", 1)[0] + "/" + q(vhost)
    conn = pika.BlockingConnection(pika.URLParameters(url))
    conn.channel().queue_declare("inside")
    assert target.call("DELETE", f"/api/vhosts/{q(vhost)}").status == 204
    with pytest.raises(pe.ConnectionClosedByBroker) as caught:
        for _ in range(300):  # up to 15 s: RabbitMQ under load
            conn.process_data_events(time_limit=0.05)
    assert caught.value.reply_code == 320
    observed: Answer = target.call("GET", f"/api/vhosts/{q(vhost)}")
    assert observed.status == 404
    # RabbitMQ's text depends on which of its processes closes the connection first
    # ("is down" when the vhost's supervisor goes before the deletion is tracked); the
    # fake always says "is deleted"
    assert caught.value.reply_text in (
        f"CONNECTION_FORCED - vhost '{vhost}' is deleted",
        f"CONNECTION_FORCED - vhost '{vhost}' is down",
    )


EDGES: list[tuple[str, str, str, Any, tuple[int, Any]]] = [
    # (label, method, path, body, (status, body) RabbitMQ answered)
    (
        "bad json",
        "PUT",
        "/api/vhosts/{x}",
        b"{nope",
        (400, {"error": "bad_request", "reason": "not_json"}),
    ),
    (
        "json list",
        "PUT",
        "/api/vhosts/{x}",
        [1],
        (400, {"error": "bad_request", "reason": "not_json"}),
    ),
    ("wrong method", "POST", "/api/overview", {}, (405, None)),
    ("wrong method 2", "DELETE", "/api/whoami", None, (405, None)),
    ("queues of no vhost", "GET", "/api/queues/{x}", None, (404, NOT_FOUND)),
    (
        "queue in no vhost",
        "PUT",
        "/api/queues/{x}/q",
        {},
        (404, {"error": "not_found", "reason": "vhost_not_found"}),
    ),
    (
        "bad exchange type",
        "PUT",
        "/api/exchanges/%2F/{x}",
        {"type": "nope"},
        (400, {"error": "bad_request", "reason": "unknown exchange type 'nope'"}),
    ),
    (
        "bind to no queue",
        "POST",
        "/api/bindings/%2F/e/amq.direct/q/{x}",
        {"routing_key": "k"},
        (404, {"error": "not_found", "reason": "no queue '{x}' in vhost '/'"}),
    ),
    (
        "publish without keys",
        "POST",
        "/api/exchanges/%2F/amq.direct/publish",
        {"routing_key": "k"},
        (
            400,
            {
                "error": "bad_request",
                "reason": "[{key_missing,properties},\n {key_missing,payload},\n {key_missing,payload_encoding}]",
            },
        ),
    ),
    (
        "get without keys",
        "POST",
        "/api/queues/%2F/{x}/get",
        {},
        (
            400,
            {
                "error": "bad_request",
                "reason": "[{key_missing,ackmode},{key_missing,count},{key_missing,encoding}]",
            },
        ),
    ),
    (
        "user without tags",
        "PUT",
        "/api/users/{x}",
        {"password": "x"},
        (400, {"error": "bad_request", "reason": "tags_not_present"}),
    ),
    (
        "permission of no user",
        "PUT",
        "/api/permissions/%2F/{x}",
        {"configure": ".*", "write": ".*", "read": ".*"},
        (400, {"error": "bad_request", "reason": "vhost_or_user_not_found"}),
    ),
    (
        "permission on no vhost",
        "PUT",
        "/api/permissions/{x}/guest",
        {"configure": ".*", "write": ".*", "read": ".*"},
        (400, {"error": "bad_request", "reason": "vhost_or_user_not_found"}),
    ),
    # request values as RabbitMQ parses them (issue 19)
    (
        "durable yes",
        "PUT",
        "/api/queues/%2F/{x}",
        {"durable": "yes"},
        (400, {"error": "bad_request", "reason": ["not_boolean", "yes"]}),
    ),
    (
        "flags read by name",
        "PUT",
        "/api/exchanges/%2F/{x}",
        {"type": "bogus", "internal": "i", "durable": "d", "auto_delete": "a"},
        (400, {"error": "bad_request", "reason": ["not_boolean", "a"]}),
    ),
    (
        "flag not a string",
        "PUT",
        "/api/queues/%2F/{x}",
        {"auto_delete": 1},
        (400, {"error": "bad_request", "reason": ["not_boolean", 1]}),
    ),
    (
        "tracing yes",
        "PUT",
        "/api/vhosts/{x}",
        {"tracing": "yes"},
        (400, {"error": "bad_request", "reason": ["not_boolean", "yes"]}),
    ),
    (
        "number past a double",
        "PUT",
        "/api/queues/%2F/{x}",
        b'{"a": 1e999999}',
        (400, {"error": "bad_request", "reason": "not_json"}),
    ),
    (
        "array 100000 deep",
        "PUT",
        "/api/queues/%2F/{x}",
        b"[" * 100_000 + b"]" * 100_000,
        (400, {"error": "bad_request", "reason": "not_json"}),
    ),
    (
        "whitespace body",
        "PUT",
        "/api/queues/%2F/{x}",
        b"  ",
        (400, {"error": "bad_request", "reason": "not_json"}),
    ),
    (
        "doubly encoded",
        "PUT",
        "/api/queues/%2F/{x}",
        b'"{}"',
        (
            400,
            {
                "error": "bad_request",
                "reason": "invalid payload: the request body JSON-decoded to a string. Is the input doubly-JSON-encoded?",
            },
        ),
    ),
    (
        "body over 8 MB",
        "PUT",
        "/api/queues/%2F/{x}",
        b'{"a": "' + b"x" * 9_000_000 + b'"}',
        (500, None),
    ),
    (
        "null in arguments",
        "PUT",
        "/api/queues/%2F/{x}",
        {"arguments": {"x-dead-letter-exchange": None}},
        (400, {"error": "bad_request", "reason": "null_not_allowed"}),
    ),
    ("arguments not an object", "PUT", "/api/queues/%2F/{x}", {"arguments": "x"}, (500, None)),
    (
        "ttl as a string",
        "PUT",
        "/api/queues/%2F/{x}",
        {"arguments": {"x-message-ttl": "1000"}},
        (
            400,
            {
                "error": "bad_request",
                "reason": "invalid arg 'x-message-ttl' for queue '{x}' in vhost '/': \"expected integer, got longstr\"",
            },
        ),
    ),
    (
        "publish delivery_mode as a string",
        "POST",
        "/api/exchanges/%2F/amq.default/publish",
        {
            "routing_key": "k",
            "payload": "p",
            "payload_encoding": "string",
            "properties": {"delivery_mode": "2"},
        },
        (400, {"error": "bad_request", "reason": ["not_int", "delivery_mode"]}),
    ),
    (
        "publish a number as payload",
        "POST",
        "/api/exchanges/%2F/amq.default/publish",
        {"routing_key": "k", "payload": 5, "payload_encoding": "string", "properties": {}},
        (400, {"error": "bad_request", "reason": "payload_not_string"}),
    ),
    (
        "publish in no known encoding",
        "POST",
        "/api/exchanges/%2F/amq.default/publish",
        {"routing_key": "k", "payload": "p", "payload_encoding": "hex", "properties": {}},
        (400, {"error": "bad_request", "reason": ["unsupported_encoding", "hex"]}),
    ),
    (
        "publish bad base64",
        "POST",
        "/api/exchanges/%2F/amq.default/publish",
        {"routing_key": "k", "payload": "!!!", "payload_encoding": "base64", "properties": {}},
        (400, {"error": "bad_request", "reason": ["not_base64", "!!!"]}),
    ),
    (
        "publish delivery_mode 3",
        "POST",
        "/api/exchanges/%2F/amq.default/publish",
        {
            "routing_key": "k",
            "payload": "p",
            "payload_encoding": "string",
            "properties": {"delivery_mode": 3},
        },
        (
            400,
            {
                "error": "bad_request",
                "reason": "406 PRECONDITION_FAILED - invalid message: {delivery_mode_unknown,3}",
            },
        ),
    ),
    (
        "publish a null header",
        "POST",
        "/api/exchanges/%2F/amq.default/publish",
        {
            "routing_key": "k",
            "payload": "p",
            "payload_encoding": "string",
            "properties": {"headers": {"h": None}},
        },
        (400, {"error": "bad_request", "reason": "null_not_allowed"}),
    ),
    (
        "get a count that is no integer",
        "POST",
        "/api/queues/%2F/{x}/get",
        {"count": "x", "ackmode": "ack_requeue_true", "encoding": "auto"},
        (400, {"error": "bad_request", "reason": ["not_integer", "x"]}),
    ),
    (
        "get in no known encoding",
        "POST",
        "/api/queues/%2F/{x}/get",
        {"count": 1, "ackmode": "ack_requeue_true", "encoding": "hex"},
        (
            400,
            {"error": "bad_request", "reason": "Unsupported encoding. Please use auto or base64."},
        ),
    ),
    (
        "get from no queue",
        "POST",
        "/api/queues/%2F/{x}/get",
        {"count": "1", "ackmode": "ack_requeue_true", "encoding": "auto"},
        (404, {"error": "not_found", "reason": "NOT_FOUND - no queue '{x}' in vhost '/'"}),
    ),
    (
        "password not a string",
        "PUT",
        "/api/users/{x}",
        {"password": 5, "tags": ""},
        (500, None),
    ),
    (
        "permission not a string",
        "PUT",
        "/api/permissions/%2F/guest",
        {"configure": 5, "write": ".*", "read": ".*"},
        (500, None),
    ),
    ("node nobody knows", "GET", "/api/nodes/{x}", None, (500, None)),
    ("sort_reverse yes", "GET", "/api/vhosts?sort_reverse=yes", None, (500, None)),
]


@pytest.mark.parametrize("edge", EDGES, ids=[e[0] for e in EDGES])
def test_what_a_bad_request_gets(
    target: Target, edge: tuple[str, str, str, Any, tuple[int, Any]]
) -> None:
    _, method, path, body, (status, expected) = edge
    name = unique("edge")
    answer = target.call(method, path.replace("{x}", q(name)), body)
    if isinstance(expected, dict):
        expected = {
            k: v.replace("{x}", name) if isinstance(v, str) else v for k, v in expected.items()
        }
    assert (answer.status, answer.body) == (status, expected)
    if method == "PUT" and path.startswith("/api/queues/") and status < 300:
        target.call("DELETE", path.replace("{x}", q(name)))


def test_who_may_log_in_and_see_what(target: Target) -> None:
    plain, monitor, nopass = unique("plain"), unique("mon"), unique("nopw")
    try:
        target.call("PUT", f"/api/users/{q(plain)}", {"password": "pw", "tags": ""})
        target.call("PUT", f"/api/users/{q(monitor)}", {"password": "pw", "tags": "monitoring"})
        target.call("PUT", f"/api/users/{q(nopass)}", {"tags": "administrator"})
        untagged = target.call("GET", "/api/overview", auth=(plain, "pw"))
        assert (untagged.status, untagged.body) == (
            401,
            {"error": "not_authorised", "reason": "Not management user"},
        )
        monitoring = target.call("GET", "/api/users", auth=(monitor, "pw"))
        assert (monitoring.status, monitoring.body) == (
            401,
            {"error": "not_authorised", "reason": "Not administrator user"},
        )
        # monitoring users see every vhost without permissions on any
        assert "/" in [
            v["name"] for v in target.call("GET", "/api/vhosts", auth=(monitor, "pw")).body
        ]
        # a user made without a password cannot log in with an empty one
        empty = target.call("GET", "/api/whoami", auth=(nopass, ""))
        assert (empty.status, empty.body) == (
            401,
            {"error": "not_authorized", "reason": "Login failed"},
        )
    finally:
        for user in (plain, monitor, nopass):
            target.call("DELETE", f"/api/users/{q(user)}")


def test_names_outside_pamqps_pattern(target: Target) -> None:
    name = unique("a.b~c!é")
    assert target.call("PUT", f"/api/queues/%2F/{q(name)}", {"durable": False}).status == 201
    bound = target.call(
        "POST", f"/api/bindings/%2F/e/amq.direct/q/{q(name)}", {"routing_key": "k~1"}
    )
    assert bound.status == 201
    assert [
        b["routing_key"] for b in target.call("GET", f"/api/queues/%2F/{q(name)}/bindings").body
    ] == [name, "k~1"]
    assert target.call("DELETE", f"/api/queues/%2F/{q(name)}").status == 204
