"""amqp_broker.alarm / clear_alarm and the control API's /amqpmock/alarms with real
clients: who is told what, that a blocked publisher's messages wait while a consumer
keeps working, the management API's view, and who may raise an alarm. RabbitMQ's side
of these is pinned by tests/differential/test_alarms.py."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import pika
import pytest

from amqpmock.testing.harness import BrokerFixture

from .test_restart import call

PASSWORD = "s3cret-pw"


def as_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    return f"http://{user}:{PASSWORD}@{parts.hostname}:{parts.port}"


def _pump(conn: pika.BlockingConnection, until: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)


def _watched(url: str) -> tuple[pika.BlockingConnection, list[Any]]:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    events: list[Any] = []
    conn.add_on_connection_blocked_callback(lambda _c, f: events.append(f.method.reason))
    conn.add_on_connection_unblocked_callback(lambda _c, _f: events.append("unblocked"))
    return conn, events


def test_a_publisher_waits_out_a_disk_alarm_while_a_consumer_works(
    amqp_broker: BrokerFixture,
) -> None:
    amqp_broker.declare_queue("work")
    amqp_broker.declare_queue("jobs")
    amqp_broker.publish("", "jobs", b"job")
    consumer, consumer_told = _watched(amqp_broker.url)
    publisher, publisher_told = _watched(amqp_broker.url)
    pub = publisher.channel()
    amqp_broker.alarm("disk")
    assert amqp_broker.alarms == frozenset({"disk"})
    got: list[bytes] = []

    def on_message(channel: Any, method: Any, _props: Any, body: bytes) -> None:
        got.append(body)
        channel.basic_ack(method.delivery_tag)

    consumer.channel().basic_consume("jobs", on_message)
    _pump(consumer, lambda: got)
    assert got == [b"job"]
    assert len(amqp_broker.messages("jobs")) == 0  # the ack was read

    pub.basic_publish("", "work", b"during")
    _pump(publisher, lambda: publisher_told)
    assert publisher_told == ["low on disk"]
    time.sleep(0.3)
    assert amqp_broker.messages("work") == []  # not read, so not routed
    assert consumer_told == []

    amqp_broker.clear_alarm("disk")
    _pump(publisher, lambda: "unblocked" in publisher_told)
    assert publisher_told == ["low on disk", "unblocked"]
    _pump(publisher, lambda: len(amqp_broker.messages("work")) == 1)
    assert [m.body for m in amqp_broker.messages("work")] == [b"during"]
    assert consumer_told == []
    consumer.close()
    publisher.close()


def test_both_alarms_block_until_both_are_cleared(amqp_broker: BrokerFixture) -> None:
    amqp_broker.declare_queue("work")
    publisher, told = _watched(amqp_broker.url)
    amqp_broker.alarm("memory")
    amqp_broker.alarm("disk")
    publisher.channel().basic_publish("", "work", b"x")
    _pump(publisher, lambda: told)
    assert told == ["low on disk & memory"]
    amqp_broker.clear_alarm("memory")
    _pump(publisher, lambda: len(told) > 1, timeout=0.5)
    assert told == ["low on disk & memory"] and len(amqp_broker.messages("work")) == 0
    amqp_broker.clear_alarm("disk")
    # the held publish is routed and Unblocked sent in one turn; the client may read
    # the frame a pump after the queue has the message: wait for both
    _pump(publisher, lambda: len(amqp_broker.messages("work")) == 1 and "unblocked" in told)
    assert told == ["low on disk & memory", "unblocked"]
    publisher.close()


def test_aio_pika_publish_completes_after_the_memory_alarm(amqp_broker: BrokerFixture) -> None:
    amqp_broker.declare_queue("work")

    async def main() -> list[str]:
        connection = await aio_pika.connect(amqp_broker.url)
        channel = await connection.channel()  # publisher confirms
        amqp_broker.alarm("memory")
        publish = asyncio.ensure_future(
            channel.default_exchange.publish(aio_pika.Message(b"m"), routing_key="work")
        )
        await asyncio.sleep(0.5)
        seen = ["pending" if not publish.done() else "done"]
        seen.append(f"queued {len(amqp_broker.messages('work'))}")
        amqp_broker.clear_alarm("memory")
        await asyncio.wait_for(publish, 5)
        seen.append(f"confirmed, queued {len(amqp_broker.messages('work'))}")
        await connection.close()
        return seen

    assert asyncio.run(main()) == ["pending", "queued 0", "confirmed, queued 1"]


def test_the_management_api_shows_blocking_and_blocked(
    amqp_broker: BrokerFixture, amqp_management_url: str
) -> None:
    amqp_broker.declare_queue("work")
    idle, _ = _watched(amqp_broker.url)
    publisher, told = _watched(amqp_broker.url)

    def view() -> tuple[list[str], dict[str, bool]]:
        states = sorted(
            c["state"] for c in call(amqp_management_url, "GET", "/api/connections")[1]
        )
        node = call(amqp_management_url, "GET", "/api/nodes")[1][0]
        return states, {k: node[k] for k in ("mem_alarm", "disk_free_alarm")}

    assert view() == (["running", "running"], {"mem_alarm": False, "disk_free_alarm": False})
    amqp_broker.alarm("memory")
    assert view() == (["blocking", "blocking"], {"mem_alarm": True, "disk_free_alarm": False})
    publisher.channel().basic_publish("", "work", b"x")
    _pump(publisher, lambda: told)
    assert view() == (["blocked", "blocking"], {"mem_alarm": True, "disk_free_alarm": False})
    amqp_broker.clear_alarm("memory")
    _pump(publisher, lambda: "unblocked" in told)
    assert view() == (["running", "running"], {"mem_alarm": False, "disk_free_alarm": False})
    idle.close()
    publisher.close()


def test_control_api_alarms(amqp_broker: BrokerFixture, amqp_management_url: str) -> None:
    amqp_broker.declare_queue("work")
    publisher, told = _watched(amqp_broker.url)
    assert call(amqp_management_url, "GET", "/amqpmock/alarms") == (200, {"alarms": []})
    assert call(amqp_management_url, "POST", "/amqpmock/alarms/memory") == (
        200,
        {"alarms": ["memory"]},
    )
    assert call(amqp_management_url, "POST", "/amqpmock/alarms/disk") == (
        200,
        {"alarms": ["disk", "memory"]},
    )
    publisher.channel().basic_publish("", "work", b"x")
    _pump(publisher, lambda: told)
    assert told == ["low on disk & memory"]
    assert call(amqp_management_url, "DELETE", "/amqpmock/alarms/memory") == (
        200,
        {"alarms": ["disk"]},
    )
    assert call(amqp_management_url, "DELETE", "/amqpmock/alarms/disk") == (200, {"alarms": []})
    # the held publish is routed and Unblocked sent in one turn; the client may read
    # the frame a pump after the queue has the message: wait for both
    _pump(publisher, lambda: len(amqp_broker.messages("work")) == 1 and "unblocked" in told)
    assert told == ["low on disk & memory", "unblocked"]
    assert call(amqp_management_url, "POST", "/amqpmock/alarms/cpu")[0] == 404
    publisher.close()


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_only_administrators_raise_or_clear_alarms(
    amqp_broker: BrokerFixture, amqp_management_url: str, method: str
) -> None:
    body = {"password": PASSWORD, "tags": "amqpmock"}
    assert call(amqp_management_url, "PUT", "/api/users/tester", body)[0] in (201, 204)
    url = as_user(amqp_management_url, "tester")
    assert call(url, method, "/amqpmock/alarms/memory") == (
        401,
        {"error": "not_authorised", "reason": "Not administrator user"},
    )
    assert amqp_broker.alarms == frozenset()


def test_the_next_test_starts_without_the_alarm(amqp_broker: BrokerFixture) -> None:
    amqp_broker.alarm("memory")
    amqp_broker.reset()
    assert amqp_broker.alarms == frozenset()
    with pytest.raises(ValueError, match="'cpu' is not one of memory, disk"):
        amqp_broker.alarm("cpu")


def test_a_blocked_publishers_socket_is_not_read(amqp_broker: BrokerFixture) -> None:
    """RabbitMQ stops reading a blocked connection: what it sends after the publish
    stays in the kernel's buffers (the client's writes stall), not in the broker."""
    amqp_broker.declare_queue("big")
    server = amqp_broker.server.server  # type: ignore[attr-defined]
    body = b"x" * 1_000_000

    async def main() -> tuple[int, int]:
        connection = await aio_pika.connect(amqp_broker.url)
        channel = await connection.channel(publisher_confirms=False)
        amqp_broker.alarm("memory")
        before = amqp_broker.call(lambda b: server.octets_in)

        async def flood() -> None:
            for _ in range(40):
                await channel.default_exchange.publish(aio_pika.Message(body), "big")

        task = asyncio.ensure_future(flood())
        await asyncio.sleep(1.0)
        during = amqp_broker.call(lambda b: server.octets_in) - before
        amqp_broker.clear_alarm("memory")
        await asyncio.wait_for(task, 20)
        deadline = time.monotonic() + 10
        while len(amqp_broker.messages("big")) < 40 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        after = amqp_broker.call(lambda b: server.octets_in) - before
        await connection.close()
        return during, after

    during, after = asyncio.run(main())
    assert during < 8_000_000, during  # 40 MB were written; the rest waits in TCP
    assert after >= 40_000_000
    assert len(amqp_broker.messages("big")) == 40


def test_pika_blocked_connection_timeout_fires_during_an_alarm(
    amqp_broker: BrokerFixture,
) -> None:
    """pika's own answer to a long alarm: blocked_connection_timeout closes the
    connection it was told is blocked (so it only works with Connection.Blocked)."""
    amqp_broker.declare_queue("work")
    params = pika.URLParameters(amqp_broker.url)
    params.blocked_connection_timeout = 1.0
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    amqp_broker.alarm("disk")
    ch.basic_publish("", "work", b"x")
    began = time.monotonic()
    with pytest.raises(pika.exceptions.ConnectionBlockedTimeout):
        while time.monotonic() - began < 5:
            conn.process_data_events(time_limit=0.05)
    assert 1.0 <= time.monotonic() - began < 3
    amqp_broker.clear_alarm("disk")
    assert amqp_broker.messages("work") == []  # its body was never read: never routed


def test_the_local_alarms_health_check(
    amqp_broker: BrokerFixture, amqp_management_url: str
) -> None:
    """As RabbitMQ 3.10.8 answered it (docs/rabbitmq-facts.md, Resource alarms)."""
    path = "/api/health/checks/local-alarms"
    assert call(amqp_management_url, "GET", path) == (200, {"status": "ok"})
    amqp_broker.alarm("memory")
    amqp_broker.alarm("disk")
    status, body = call(amqp_management_url, "GET", path)
    assert (status, body["status"], body["reason"]) == (
        503,
        "failed",
        "There are alarms in effect on the node",
    )
    assert [a["resource"] for a in body["alarms"]] == ["disk space", "memory"]
    assert all("@" in a["node"] for a in body["alarms"])
