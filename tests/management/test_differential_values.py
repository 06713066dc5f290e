"""Request values as management clients send them (issue 19), differential: each test
runs against RabbitMQ 3.10.8 (with ``rabbitmq_management``) and against the fake and
asserts what RabbitMQ answered. Booleans and numbers come as strings the way
rabbitmqadmin and hand-written clients send them; integers in arguments are ``long``
over HTTP; redeclare texts name the first difference RabbitMQ checks."""

# Expected texts are RabbitMQ's exact ones; splitting them would hide them.
# ruff: noqa: E501

from __future__ import annotations

from collections.abc import Iterator

import pika
import pika.exceptions as pe
import pytest

from .conftest import Target
from .test_differential import q, unique


@pytest.fixture
def vhost(target: Target) -> Iterator[str]:
    name = unique("vh")
    assert target.call("PUT", f"/api/vhosts/{q(name)}", {}).status == 201
    yield name
    target.call("DELETE", f"/api/vhosts/{q(name)}")


def flags_of(target: Target, path: str) -> dict[str, object]:
    body = target.call("GET", f"{path}?columns=durable,auto_delete,internal,type").body
    assert isinstance(body, dict), body
    return body


def test_string_booleans_and_absent_flags(target: Target, vhost: str) -> None:
    """``"false"`` is false (the fake read any non-empty string as true: an internal,
    auto-delete, durable exchange that refused publishes), ``"true"`` is true, and an
    absent flag is false, for queues and exchanges alike."""
    v = q(vhost)
    declared = target.call(
        "PUT",
        f"/api/exchanges/{v}/events",
        {"type": "topic", "durable": "false", "auto_delete": "false", "internal": "false"},
    )
    assert declared.status == 201
    assert flags_of(target, f"/api/exchanges/{v}/events") == {
        "durable": False,
        "auto_delete": False,
        "internal": False,
        "type": "topic",
    }
    published = target.call(
        "POST",
        f"/api/exchanges/{v}/events/publish",
        {"routing_key": "k", "payload": "p", "payload_encoding": "string", "properties": {}},
    )
    assert (published.status, published.body) == (200, {"routed": False})
    assert target.call("PUT", f"/api/exchanges/{v}/plain", {}).status == 201
    assert flags_of(target, f"/api/exchanges/{v}/plain") == {
        "durable": False,
        "auto_delete": False,
        "internal": False,
        "type": "direct",
    }
    assert target.call("PUT", f"/api/exchanges/{v}/kept", {"durable": "true"}).status == 201
    assert flags_of(target, f"/api/exchanges/{v}/kept")["durable"] is True
    assert target.call("PUT", f"/api/queues/{v}/transient", {"durable": "false"}).status == 201
    assert target.call("PUT", f"/api/queues/{v}/bare", {}).status == 201
    assert target.call("PUT", f"/api/queues/{v}/kept", {"durable": "true"}).status == 201
    assert {
        name: flags_of(target, f"/api/queues/{v}/{name}") for name in ("transient", "bare", "kept")
    } == {
        "transient": {"durable": False, "auto_delete": False, "type": "classic"},
        "bare": {"durable": False, "auto_delete": False, "type": "classic"},
        "kept": {"durable": True, "auto_delete": False, "type": "classic"},
    }
    # JSON null, true and false bodies are taken as {}
    for body in (b"null", b"true", b"false"):
        assert target.call("PUT", f"/api/queues/{v}/bare", body).status == 204


def test_redeclare_texts_over_http(target: Target, vhost: str) -> None:
    """The first difference RabbitMQ checks is reported: with ``"durable": "false"``
    read as false, a durable redeclare is told about ``durable`` (the fake, reading it
    as true, named ``x-message-ttl``); JSON integers are ``long`` over HTTP, also in
    the AMQP side's texts about that queue, and equal to pika's ``signedint``."""
    v = q(vhost)
    path = f"/api/queues/{v}/orders"
    first = {"durable": "false", "arguments": {"x-message-ttl": 1000}}
    assert target.call("PUT", path, first).status == 201
    changed = target.call("PUT", path, {"durable": "true", "arguments": {"x-message-ttl": 2000}})
    assert (changed.status, changed.body) == (
        400,
        {
            "error": "bad_request",
            "reason": f"inequivalent arg 'durable' for queue 'orders' in vhost '{vhost}': received 'true' but current is 'false'",
        },
    )
    removed = target.call("PUT", path, {"durable": "false"})
    assert (removed.status, removed.body) == (
        400,
        {
            "error": "bad_request",
            "reason": f"inequivalent arg 'x-message-ttl' for queue 'orders' in vhost '{vhost}': received none but current is the value '1000' of type 'long'",
        },
    )
    added = target.call("PUT", path, {"arguments": {"x-message-ttl": 1000, "x-max-length": 5}})
    assert (added.status, added.body) == (
        400,
        {
            "error": "bad_request",
            "reason": f"inequivalent arg 'x-max-length' for queue 'orders' in vhost '{vhost}': received the value '5' of type 'long' but current is none",
        },
    )
    as_text = target.call("PUT", path, {"arguments": {"x-message-ttl": "1000"}})
    assert (as_text.status, as_text.body) == (
        400,
        {
            "error": "bad_request",
            "reason": f"inequivalent arg 'x-message-ttl' for queue 'orders' in vhost '{vhost}': received '1000' but current is '1000'",
        },
    )
    assert target.call("PUT", path, first).status == 204
    url = target.amqp_url.rsplit("/", 1)[0] + "/" + v
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        ch = conn.channel()
        ch.queue_declare("orders", arguments={"x-message-ttl": 1000})  # signedint: the same
        with pytest.raises(pe.ChannelClosedByBroker) as caught:
            ch.queue_declare("orders")
        assert (caught.value.reply_code, caught.value.reply_text) == (
            406,
            f"PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'orders' in vhost '{vhost}': received none but current is the value '1000' of type 'long'",
        )
        ch = conn.channel()
        ch.queue_declare("from-amqp", arguments={"x-max-length": 7})
    finally:
        conn.close()
    pika_typed = target.call("PUT", f"/api/queues/{v}/from-amqp", {})
    assert (pika_typed.status, pika_typed.body) == (
        400,
        {
            "error": "bad_request",
            "reason": f"inequivalent arg 'x-max-length' for queue 'from-amqp' in vhost '{vhost}': received none but current is the value '7' of type 'signedint'",
        },
    )
    assert (
        target.call("PUT", f"/api/queues/{v}/from-amqp", {"arguments": {"x-max-length": 7}}).status
        == 204
    )


def test_arguments_as_json_gives_them(target: Target, vhost: str) -> None:
    """Integers past 64 bits, floats, ``[]`` for no arguments; the order RabbitMQ reads
    a body in: flags (by name), then the arguments' nulls, then the declare."""
    v = q(vhost)
    big = {"x-big": 2**64, "x-float": 1.5, "x-list": [1, "a"], "x-table": {"k": 1}}
    assert target.call("PUT", f"/api/queues/{v}/odd", {"arguments": big}).status == 201
    assert target.call("GET", f"/api/queues/{v}/odd?columns=arguments").body == {"arguments": big}
    assert target.call("PUT", f"/api/queues/{v}/none", {"arguments": []}).status == 201
    assert target.call("GET", f"/api/queues/{v}/none?columns=arguments").body == {"arguments": {}}
    first_flag = target.call(
        "PUT", f"/api/queues/{v}/late", {"durable": "d", "arguments": {"x": None}}
    )
    assert (first_flag.status, first_flag.body) == (
        400,
        {"error": "bad_request", "reason": ["not_boolean", "d"]},
    )
    nulls_first = target.call(
        "PUT", f"/api/exchanges/{v}/late", {"type": "bogus", "arguments": {"x": [None]}}
    )
    assert (nulls_first.status, nulls_first.body) == (
        400,
        {"error": "bad_request", "reason": "null_not_allowed"},
    )


def test_publish_and_get_with_values_as_sent(target: Target, vhost: str) -> None:
    """Properties keep their JSON types (headers as a table, a timestamp in seconds, a
    cluster_id), unknown ones are ignored; ``count`` and ``truncate`` may be strings;
    an unknown ackmode or a null in a binding's arguments crashes RabbitMQ (500)."""
    v = q(vhost)
    assert target.call("PUT", f"/api/queues/{v}/inbox", {}).status == 201
    message = {"routing_key": "inbox", "payload": "hello", "payload_encoding": "string"}
    headers = {"n": 5, "f": 1.5, "b": True, "s": "x", "l": [1, "a"], "t": {"k": 1}}
    props = {
        "headers": headers,
        "timestamp": 1700000000,
        "cluster_id": "c1",
        "type": "t",
        "priority": 3,
        "bogus": 1,
    }
    for properties in ({"headers": []}, props):
        sent = target.call(
            "POST",
            f"/api/exchanges/{v}/amq.default/publish",
            {**message, "properties": properties},
        )
        assert (sent.status, sent.body) == (200, {"routed": True})
    got = target.call(
        "POST",
        f"/api/queues/{v}/inbox/get",
        {"count": "5", "ackmode": "ack_requeue_true", "encoding": "auto", "truncate": "3"},
    )
    assert got.status == 200
    assert [(m["properties"], m["payload"], m["payload_bytes"]) for m in got.body] == [
        ({"headers": {}}, "hel", 5),
        (
            {
                "headers": headers,
                "timestamp": 1700000000,
                "cluster_id": "c1",
                "type": "t",
                "priority": 3,
            },
            "hel",
            5,
        ),
    ]
    unknown = target.call(
        "POST",
        f"/api/queues/{v}/inbox/get",
        {"count": 1, "ackmode": "ack_maybe", "encoding": "auto"},
    )
    assert (unknown.status, unknown.body) == (500, None)
    for arguments in ({"x": None}, "x", None):
        bound = target.call(
            "POST", f"/api/bindings/{v}/e/amq.direct/q/inbox", {"arguments": arguments}
        )
        assert (bound.status, bound.body) == (500, None), arguments
    assert (
        target.call(
            "POST", f"/api/bindings/{v}/e/amq.direct/q/inbox", {"arguments": {"n": 5}}
        ).status
        == 201
    )
    listed = target.call("GET", f"/api/queues/{v}/inbox/bindings?columns=source,arguments")
    assert sorted(listed.body, key=lambda b: b["source"]) == [
        {"source": "", "arguments": {}},
        {"source": "amq.direct", "arguments": {"n": 5}},
    ]


def test_a_vhost_keeps_what_its_put_said(target: Target) -> None:
    name = unique("meta")
    path = f"/api/vhosts/{q(name)}"
    try:
        made = target.call("PUT", path, {"description": "d", "tags": "a, b,,c", "tracing": True})
        assert made.status == 201
        shown = "?columns=description,tags,metadata,tracing"
        assert target.call("GET", path + shown).body == {
            "description": "d",
            "tags": ["a", "b", "", "c"],
            "metadata": {"description": "d", "tags": ["a", "b", "", "c"]},
            "tracing": True,
        }
        assert target.call("PUT", path, {"tags": ["x"]}).status == 204
        assert target.call("GET", path + shown).body == {
            "description": "",
            "tags": ["x"],
            "metadata": {"description": "", "tags": ["x"]},
            "tracing": True,  # kept until a PUT gives it
        }
        assert target.call("GET", "/api/vhosts/%2F?columns=description").body == {
            "description": "Default virtual host"
        }
    finally:
        target.call("DELETE", path)
