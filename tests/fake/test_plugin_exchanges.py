"""Exchange types of RabbitMQ's plugins, registered through the exchange-type hook:
x-delayed-message (the community plugin: no RabbitMQ to compare with here, so its
documented behaviour) and x-consistent-hash (also in the differential scenarios)."""

from __future__ import annotations

import pytest

from amqpmock.fake import Broker, ChannelClosed, LocalChannel, LocalClient, VirtualClock
from amqpmock.hookspecs import get_plugin_manager


@pytest.fixture
def broker() -> Broker:
    return Broker(VirtualClock(), exchange_types=get_plugin_manager().exchange_types())


@pytest.fixture
def ch(broker: Broker) -> LocalChannel:
    return LocalClient(broker).channel()


def test_a_delayed_exchange_needs_its_delayed_type(ch: LocalChannel) -> None:
    with pytest.raises(ChannelClosed) as closed:
        ch.exchange_declare("later", "x-delayed-message")
    assert closed.value.reply_code == 406
    assert "'x-delayed-type' must be an existing exchange type" in closed.value.reply_text


def test_x_delay_holds_a_message_until_the_clock_gets_there(
    broker: Broker, ch: LocalChannel
) -> None:
    ch.exchange_declare("later", "x-delayed-message", arguments={"x-delayed-type": "topic"})
    ch.queue_declare("jobs")
    ch.queue_bind("jobs", "later", "job.*")
    ch.publish("later", "job.resize", "held", headers={"x-delay": 5000}, mandatory=True)
    ch.publish("later", "job.now", "at once")
    assert [m.body for m in broker.messages("jobs")] == [b"at once"]
    assert ch.returns == []  # held counts as routed: nothing comes back
    broker.advance(4.9)
    assert [m.body for m in broker.messages("jobs")] == [b"at once"]
    broker.advance(0.2)
    assert [m.body for m in broker.messages("jobs")] == [b"at once", b"held"]


def test_a_held_message_takes_the_bindings_it_finds_when_it_is_due(
    broker: Broker, ch: LocalChannel
) -> None:
    ch.exchange_declare("later", "x-delayed-message", arguments={"x-delayed-type": "fanout"})
    ch.publish("later", "", "early", headers={"x-delay": 1000})
    ch.queue_declare("late-listener")
    ch.queue_bind("late-listener", "later")
    broker.advance(1)
    assert [m.body for m in broker.messages("late-listener")] == [b"early"]


def test_consistent_hash_weights_and_stickiness(broker: Broker, ch: LocalChannel) -> None:
    ch.exchange_declare("chx", "x-consistent-hash")
    for name, weight in (("a", "1"), ("b", "3")):
        ch.queue_declare(name)
        ch.queue_bind(name, "chx", weight)
    for n in range(400):
        ch.publish("chx", f"key-{n}", str(n))
    a, b = broker.messages("a"), broker.messages("b")
    assert len(a) + len(b) == 400 and len(b) > len(a)  # 1:3 weights
    sticky = {m.routing_key for m in a}
    for n in range(400):
        ch.publish("chx", f"key-{n}", "again")
    assert {m.routing_key for m in broker.messages("a")[len(a) :]} == sticky


def test_a_real_client_and_advance(amqp_url: str, amqp_broker: object) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = conn.channel()
    channel.exchange_declare("later", "x-delayed-message", arguments={"x-delayed-type": "direct"})
    channel.queue_declare("reminders")
    channel.queue_bind("reminders", "later", "remind")
    channel.basic_publish(
        "later", "remind", b"in an hour", pika.BasicProperties(headers={"x-delay": 3_600_000})
    )
    conn.process_data_events(time_limit=0.1)
    assert channel.basic_get("reminders", auto_ack=True)[0] is None
    amqp_broker.advance(3600)  # type: ignore[attr-defined]
    method, _props, body = channel.basic_get("reminders", auto_ack=True)
    assert method is not None and body == b"in an hour"
    conn.close()
