"""amqpstorm's management client (``amqpstorm.management.ManagementApi``), unmodified,
against RabbitMQ 3.10.8 and against the fake: the same calls, the same results."""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any

import pika
import pytest
from amqpstorm.management import ApiError, ManagementApi

from .conftest import Target


def unique(short: str) -> str:
    return f"as{uuid.uuid4().hex[:8]}.{short}"


def api_for(target: Target, user: str = "guest", password: str = "guest") -> ManagementApi:
    return ManagementApi(target.http_url, user, password, timeout=10)


def test_the_operator_calls(target: Target) -> None:
    api = api_for(target)
    assert api.whoami() == {"name": "guest", "tags": ["administrator"]}
    assert api.aliveness_test("/") == {"status": "ok"}
    overview = api.overview()
    assert overview["product_name"] == "RabbitMQ" and overview["rabbitmq_version"] == "3.10.8"
    assert api.cluster_name()["name"]
    (node,) = api.nodes()
    assert node["running"] is True and node["name"]


def test_provisioning_a_tenant(target: Target) -> None:
    api = api_for(target)
    vhost, user = unique("tenant"), unique("svc")
    try:
        api.virtual_host.create(vhost)
        assert api.virtual_host.get(vhost)["name"] == vhost
        assert vhost in [v["name"] for v in api.virtual_host.list()]
        api.user.create(user, "s3cret", tags="management")
        assert api.user.get(user)["tags"] == ["management"]
        api.user.set_permission(
            user, vhost, configure_regex=".*", write_regex=".*", read_regex=".*"
        )
        assert api.user.get_permission(user, vhost) == {
            "user": user,
            "vhost": vhost,
            "configure": ".*",
            "write": ".*",
            "read": ".*",
        }
        assert [p["user"] for p in api.virtual_host.get_permissions(vhost)] == sorted(
            ["guest", user]
        )
        # the tenant's user sees its own vhost and may not manage users
        as_user = api_for(target, user, "s3cret")
        assert [v["name"] for v in as_user.virtual_host.list()] == [vhost]
        with pytest.raises(ApiError) as refused:
            as_user.user.list()
        assert refused.value.error_code == 401
        api.user.delete_permission(user, vhost)
        with pytest.raises(ApiError) as gone:
            api.user.get_permission(user, vhost)
        assert gone.value.error_code == 404
    finally:
        for cleanup in (lambda: api.user.delete(user), lambda: api.virtual_host.delete(vhost)):
            with contextlib.suppress(ApiError):
                cleanup()
    with pytest.raises(ApiError) as missing:
        api.virtual_host.get(vhost)
    assert missing.value.error_code == 404


def test_topology_and_messages(target: Target) -> None:
    api = api_for(target)
    vhost = unique("topo")
    api.virtual_host.create(vhost)
    try:
        api.queue.declare("jobs", vhost, durable=True, arguments={"x-max-length": 10})
        api.exchange.declare("events", "topic", vhost, durable=True)
        api.exchange.declare("audit", "fanout", vhost)
        api.queue.bind("jobs", "events", "job.*", vhost)
        api.exchange.bind("audit", "events", "#", vhost)
        assert [(b["source"], b["routing_key"]) for b in api.queue.bindings("jobs", vhost)] == [
            ("", "jobs"),
            ("events", "job.*"),
        ]
        assert [b["destination"] for b in api.exchange.bindings("events", vhost)] == [
            "audit",
            "jobs",
        ]
        assert {q["name"] for q in api.queue.list(vhost)} == {"jobs"}
        assert "events" in {e["name"] for e in api.exchange.list(vhost)}
        assert {q["name"] for q in api.queue.list(vhost, name="job")} == {"jobs"}
        assert api.basic.publish("one", "job.created", "events", vhost) == {"routed": True}
        assert api.basic.publish("two", "jobs", "amq.default", vhost) == {"routed": True}
        peeked = api.basic.get("jobs", vhost, requeue=True, to_dict=True)
        assert [(m["payload"], m["routing_key"]) for m in peeked] == [("one", "job.created")]
        taken = api.basic.get("jobs", vhost, requeue=False, to_dict=True)
        assert [(m["payload"], m["redelivered"]) for m in taken] == [("one", True)]
        api.queue.purge("jobs", vhost)
        assert api.basic.get("jobs", vhost, to_dict=True) == []
        api.queue.unbind("jobs", "events", "job.*", vhost)
        assert [b["source"] for b in api.queue.bindings("jobs", vhost)] == [""]
        api.exchange.unbind("audit", "events", "#", vhost, properties_key="%23")
        api.exchange.delete("audit", vhost)
        api.queue.delete("jobs", vhost)
        with pytest.raises(ApiError) as gone:
            api.queue.get("jobs", vhost)
        assert gone.value.error_code == 404
    finally:
        api.virtual_host.delete(vhost)


def test_connections_listed_and_closed(target: Target) -> None:
    api = api_for(target)
    name = unique("conn")
    params = pika.URLParameters(target.amqp_url)
    params.client_properties = {"connection_name": name}
    conn = pika.BlockingConnection(params)
    try:
        conn.channel()

        def mine() -> list[dict[str, Any]]:
            return [
                c
                for c in api.connection.list()
                if c["client_properties"].get("connection_name") == name
            ]

        deadline = time.monotonic() + 15
        while not mine() and time.monotonic() < deadline:
            time.sleep(0.25)
        (row,) = mine()
        api.connection.close(row["name"], reason="maintenance")
        with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as closed:
            for _ in range(300):  # up to 15 s: RabbitMQ under load
                conn.process_data_events(time_limit=0.05)
        assert closed.value.reply_text == "CONNECTION_FORCED - maintenance"
    finally:
        if conn.is_open:
            conn.close()
