"""Broker.restart: RabbitMQ 3.10.8's durability rules on a node restart or crash (the
same story runs against a real node in tests/differential/test_restart.py)."""

from __future__ import annotations

from typing import Any

import pytest

from amqpmock.fake import Broker, ConnectionClosed, LocalClient, VirtualClock
from amqpmock.fake._policies import Policy
from amqpmock.fake._restart import SHUTDOWN_TEXT


@pytest.fixture
def broker() -> Broker:
    return Broker(VirtualClock())


def _bodies(ch: Any, queue: str) -> list[tuple[str, bool, Any]]:
    out = []
    while (d := ch.get(queue, no_ack=True)) is not None:
        out.append((d.body.decode(), d.redelivered, d.headers.get("x-delivery-count")))
    return out


def test_connections_get_320_shutdown_and_are_gone(broker: Broker) -> None:
    client = LocalClient(broker)
    ch = client.channel()
    broker.restart()
    assert isinstance(client.closed, ConnectionClosed)
    assert client.closed.reply_code == 320
    assert client.closed.reply_text == f"CONNECTION_FORCED - {SHUTDOWN_TEXT}"
    assert broker.connections == {}
    with pytest.raises(ConnectionClosed):
        ch.queue_declare("q")


def test_a_crash_tells_nobody(broker: Broker) -> None:
    client = LocalClient(broker)
    client.channel()
    told: list[Any] = []
    client.conn.sink = told.append
    broker.restart(crash=True)
    assert told == []
    assert broker.connections == {}


def test_durable_state_survives_and_transient_state_does_not(broker: Broker) -> None:
    ch = LocalClient(broker).channel()
    ch.exchange_declare("dx", "direct", durable=True)
    ch.exchange_declare("tx", "direct")
    ch.exchange_declare("ad", "fanout", durable=True, auto_delete=True)
    ch.queue_declare("dq", durable=True)
    ch.queue_declare("tq")
    ch.queue_declare("xq", durable=True, exclusive=True)
    ch.queue_declare("orphan", durable=True)
    ch.queue_bind("dq", "dx", "k")
    ch.queue_bind("tq", "dx", "k")
    ch.queue_bind("orphan", "tx", "k")
    ch.queue_bind("tq", "ad")
    broker.restart()
    assert "dx" in broker.exchanges() and "tx" not in broker.exchanges()
    # an auto-delete exchange that loses its bindings in a restart is not deleted
    assert "ad" in broker.exchanges() and broker.exchange("ad").bindings == {}
    assert sorted(q for q in broker.queues()) == ["dq", "orphan"]
    assert [(b[0], b[1], b[2]) for b in broker.bindings() if b[0] == "dx"] == [("dx", "dq", "k")]
    assert not any(b[0] == "tx" for b in broker.bindings())
    assert "amq.topic" in broker.exchanges()


def test_persistent_messages_stay_in_durable_queues_with_their_flags(broker: Broker) -> None:
    client = LocalClient(broker)
    ch = client.channel()
    ch.queue_declare("dq", durable=True)
    for body, mode in (("p1", 2), ("t1", 1), ("p2", 2), ("t2", None), ("p3", 2)):
        ch.publish("", "dq", body, delivery_mode=mode, headers={"n": body})
    taker = LocalClient(broker).channel()
    tags = [taker.get("dq").delivery_tag for _ in range(3)]  # type: ignore[union-attr]
    taker.ack(tags[0])
    broker.restart()
    after = LocalClient(broker).channel()
    # p2 was taken and not acked: back, redelivered; p3 never was delivered
    assert _bodies(after, "dq") == [("p2", True, None), ("p3", False, None)]


def test_quorum_queues_keep_every_message_and_count_the_return(broker: Broker) -> None:
    ch = LocalClient(broker).channel()
    ch.queue_declare("qq", durable=True, arguments={"x-queue-type": "quorum"})
    ch.publish("", "qq", "qp1", delivery_mode=2)
    ch.publish("", "qq", "qt1", delivery_mode=1)
    consumer = LocalClient(broker).channel()
    consumer.qos(1)
    consumer.consume("qq")
    assert [d.body for d in consumer.take_deliveries()] == [b"qp1"]
    broker.restart()
    after = LocalClient(broker).channel()
    assert _bodies(after, "qq") == [("qp1", True, 1), ("qt1", False, 0)]


def test_streams_keep_their_whole_log(broker: Broker) -> None:
    ch = LocalClient(broker).channel()
    ch.queue_declare("s", durable=True, arguments={"x-queue-type": "stream"})
    ch.publish("", "s", "st1", delivery_mode=1)
    ch.publish("", "s", "sp1", delivery_mode=2)
    broker.restart()
    reader = LocalClient(broker).channel()
    reader.qos(10)
    reader.consume("s", arguments={"x-stream-offset": "first"})
    assert [d.body for d in reader.take_deliveries()] == [b"st1", b"sp1"]


def test_auto_delete_queues_go_with_their_consumers_idle_ones_stay(broker: Broker) -> None:
    ch = LocalClient(broker).channel()
    ch.queue_declare("used", durable=True, auto_delete=True)
    ch.queue_declare("idle", durable=True, auto_delete=True)
    ch.publish("", "idle", "m", delivery_mode=2)
    ch.consume("used")
    broker.restart()
    assert sorted(broker.queues()) == ["idle"]
    # a new life: the idle queue is deleted only once a consumer has come and gone
    after = LocalClient(broker).channel()
    assert after.queue_declare("idle", durable=True, auto_delete=True).message_count == 1
    tag = after.consume("idle", no_ack=True)
    after.cancel(tag)
    assert "idle" not in broker.queues()


def test_users_vhosts_permissions_and_policies_stay(broker: Broker) -> None:
    broker.add_vhost("other")
    broker.add_user("alice", "secret", tags=("management",))
    broker.set_permissions("alice", "other", "^a", "^b", "^c")
    broker.set_policy(Policy("/", "ttl", "^p\\.", {"message-ttl": 1000}, apply_to="queues"))
    ch = LocalClient(broker).channel()
    ch.queue_declare("p.q", durable=True)
    broker.restart()
    assert "other" in broker.vhosts
    assert broker.users["alice"][1] == ("management",)
    assert broker.permissions[("alice", "other")] == ("^a", "^b", "^c")
    assert ("/", "ttl") in broker.policies
    assert broker.queue("p.q").message_ttl == 1000
    LocalClient(broker, vhost="other", user="alice")  # can still log in there


def test_messages_taken_by_the_python_api_go_back_too(broker: Broker) -> None:
    broker.declare_queue("dq", durable=True)
    broker.publish("", "dq", b"m", {"delivery_mode": 2})
    broker.restart()
    assert [m.body for m in broker.messages("dq")] == [b"m"]
    assert broker.get("dq") is not None


def test_the_broker_works_as_before_after_a_restart(broker: Broker) -> None:
    ch = LocalClient(broker).channel()
    ch.exchange_declare("dx", "topic", durable=True)
    ch.queue_declare("dq", durable=True)
    ch.queue_bind("dq", "dx", "a.#")
    broker.restart()
    ch = LocalClient(broker).channel()
    ch.consume("dq", no_ack=True)
    ch.publish("dx", "a.b", "after")
    assert [d.body for d in ch.take_deliveries()] == [b"after"]


def test_a_crash_cancels_nobody_so_auto_delete_queues_stay(broker: Broker) -> None:
    ch = LocalClient(broker).channel()
    ch.queue_declare("used", durable=True, auto_delete=True)
    ch.publish("", "used", "m", delivery_mode=2)
    ch.qos(1)
    ch.consume("used")
    assert len(ch.take_deliveries()) == 1
    broker.restart(crash=True)
    assert broker.queue("used").consumers == []
    after = LocalClient(broker).channel()
    assert _bodies(after, "used") == [("m", True, None)]
