"""Queue declaration, arguments, TTL, length limits, dead-lettering, priorities."""

from __future__ import annotations

import datetime
import re

import pytest

from amqpmock.errors import ChannelError
from amqpmock.fake import Broker, ChannelClosed, ConnectionClosed, LocalClient, VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def broker(clock: VirtualClock) -> Broker:
    return Broker(clock)


@pytest.fixture
def ch(broker: Broker):  # type: ignore[no-untyped-def]
    return LocalClient(broker).channel()


def test_server_named_queue(ch) -> None:  # type: ignore[no-untyped-def]
    ok = ch.queue_declare("", exclusive=True)
    assert re.fullmatch(r"amq\.gen-[A-Za-z0-9_-]{22}", ok.queue)


def test_server_names_are_deterministic_per_seed() -> None:
    names = [LocalClient(Broker(seed=7)).channel().queue_declare("").queue for _ in range(2)]
    assert names[0] == names[1]


def test_declare_ok_counts_and_passive(ch, broker: Broker) -> None:  # type: ignore[no-untyped-def]
    ch.queue_declare("q")
    ch.publish("", "q", "m")
    ch.consume("q")
    ch.publish("", "q", "m2")  # delivered straight away
    ch2 = LocalClient(broker).channel()
    ch2.queue_declare("q2")
    ch2.publish("", "q2", "x")
    ok = ch2.queue_declare("q2", passive=True)
    assert (ok.message_count, ok.consumer_count) == (1, 0)
    assert ch.queue_declare("q", passive=True).consumer_count == 1
    with pytest.raises(ChannelClosed) as err:
        ch2.queue_declare("missing", passive=True)
    assert err.value.reply_text == "NOT_FOUND - no queue 'missing' in vhost '/'"


def test_reserved_names_403(ch) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ChannelClosed) as err:
        ch.queue_declare("amq.mine")
    assert err.value.reply_text == (
        "ACCESS_REFUSED - queue name 'amq.mine' contains reserved prefix 'amq.*'"
    )


def test_queue_equivalence_406(broker: Broker) -> None:
    client = LocalClient(broker)
    client.channel().queue_declare("q", durable=True, arguments={"x-message-ttl": 100})
    with pytest.raises(ChannelClosed) as err:
        client.channel().queue_declare("q", durable=False, arguments={"x-message-ttl": 100})
    assert err.value.reply_text == (
        "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': "
        "received 'false' but current is 'true'"
    )
    with pytest.raises(ChannelClosed) as err:
        client.channel().queue_declare("q", durable=True, arguments={"x-message-ttl": 200})
    assert err.value.reply_code == 406
    assert "x-message-ttl" in err.value.reply_text
    # same declaration again is fine
    client.channel().queue_declare("q", durable=True, arguments={"x-message-ttl": 100})


def test_exchange_equivalence_and_unknown_type(broker: Broker) -> None:
    client = LocalClient(broker)
    client.channel().exchange_declare("e", "direct")
    with pytest.raises(ChannelClosed) as err:
        client.channel().exchange_declare("e", "fanout")
    assert err.value.reply_text == (
        "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'e' in vhost '/': "
        "received 'fanout' but current is 'direct'"
    )
    with pytest.raises(ConnectionClosed) as cerr:
        client.channel().exchange_declare("z", "nonsense")
    assert cerr.value.reply_code == 503


def test_delete_if_unused_if_empty_and_purge(ch, broker: Broker) -> None:  # type: ignore[no-untyped-def]
    ch.queue_declare("q")
    ch.publish("", "q", "m")
    with pytest.raises(ChannelClosed) as err:
        ch.queue_delete("q", if_empty=True)
    assert err.value.reply_text == "PRECONDITION_FAILED - queue 'q' in vhost '/' not empty"
    ch2 = LocalClient(broker).channel()
    assert ch2.queue_purge("q").message_count == 1
    ch2.consume("q")
    with pytest.raises(ChannelClosed) as err:
        LocalClient(broker).channel().queue_delete("q", if_unused=True)
    assert err.value.reply_text == "PRECONDITION_FAILED - queue 'q' in vhost '/' in use"


def test_bind_errors(ch) -> None:  # type: ignore[no-untyped-def]
    ch.queue_declare("q")
    with pytest.raises(ChannelClosed) as err:
        ch.queue_bind("q", "nope", "k")
    assert err.value.reply_text == "NOT_FOUND - no exchange 'nope' in vhost '/'"


def test_auto_delete_queue_goes_with_its_last_consumer(ch, broker: Broker) -> None:  # type: ignore[no-untyped-def]
    ch.queue_declare("ad", auto_delete=True)
    t1 = ch.consume("ad")
    t2 = ch.consume("ad")
    ch.cancel(t1)
    assert "ad" in broker.queues()
    ch.cancel(t2)
    assert "ad" not in broker.queues()


def test_auto_delete_exchange_goes_with_its_last_binding(broker: Broker) -> None:
    broker.declare_exchange("ax", "fanout", auto_delete=True)
    broker.declare_queue("q")
    broker.bind_queue("q", "ax")
    broker.unbind_queue("q", "ax")
    assert "ax" not in broker.exchanges()


def test_queue_ttl_expires_and_dead_letters(broker: Broker, clock: VirtualClock) -> None:
    broker.declare_exchange("dlx", "fanout")
    broker.declare_queue("dead")
    broker.bind_queue("dead", "dlx")
    broker.declare_queue(
        "q",
        arguments={"x-message-ttl": 1000, "x-dead-letter-exchange": "dlx"},
    )
    broker.publish("", "q", "m", {"message_id": "id1"})
    broker.advance(0.5)
    assert broker.queue("q").message_count == 1
    broker.advance(0.6)
    assert broker.queue("q").message_count == 0
    (dead,) = broker.messages("dead")
    assert dead.body == b"m" and dead.properties.message_id == "id1"
    (death,) = dead.headers["x-death"]
    assert death["reason"] == "expired"
    assert death["queue"] == "q"
    assert death["count"] == 1
    assert death["exchange"] == ""
    assert death["routing-keys"] == ["q"]
    assert isinstance(death["time"], datetime.datetime)
    assert dead.headers["x-first-death-reason"] == "expired"
    assert dead.headers["x-first-death-queue"] == "q"


def test_per_message_expiration_at_head_and_original_expiration(broker: Broker) -> None:
    broker.declare_queue("dead")
    broker.declare_queue(
        "q", arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dead"}
    )
    broker.publish("", "q", "slow", {"expiration": "5000"})
    broker.publish("", "q", "fast", {"expiration": "100"})
    broker.advance(1)
    # RabbitMQ only expires at the head: 'fast' waits behind 'slow'
    assert [m.body for m in broker.messages("q")] == [b"slow", b"fast"]
    broker.advance(5)
    assert broker.messages("q") == []
    dead = broker.messages("dead")
    assert [m.body for m in dead] == [b"slow", b"fast"]
    assert dead[0].properties.expiration is None
    assert dead[0].headers["x-death"][0]["original-expiration"] == "5000"
    assert dead[0].routing_key == "dead"


def test_ttl_zero_delivers_to_waiting_consumer_or_drops(broker: Broker) -> None:
    broker.declare_queue("q", arguments={"x-message-ttl": 0})
    broker.publish("", "q", "lost")
    assert broker.messages("q") == []
    ch = LocalClient(broker).channel()
    ch.consume("q")
    broker.publish("", "q", "kept")
    assert [d.body for d in ch.deliveries] == [b"kept"]


def test_reject_dead_letters_with_reason_rejected_and_counts(broker: Broker) -> None:
    broker.declare_exchange("dlx", "direct")
    broker.declare_queue(
        "retry", arguments={"x-message-ttl": 10, "x-dead-letter-exchange": "work-x"}
    )
    broker.declare_exchange("work-x", "direct")
    broker.declare_queue("work", arguments={"x-dead-letter-exchange": "dlx"})
    broker.bind_queue("work", "work-x", "job")
    broker.bind_queue("retry", "dlx", "job")
    ch = LocalClient(broker).channel()
    broker.publish("work-x", "job", "payload")
    for _ in range(2):
        got = ch.get("work")
        assert got is not None
        ch.reject(got.delivery_tag, requeue=False)
        broker.advance(0.02)
    got = ch.get("work")
    assert got is not None
    deaths = got.headers["x-death"]
    assert [(d["queue"], d["reason"], d["count"]) for d in deaths] == [
        ("retry", "expired", 2),
        ("work", "rejected", 2),
    ]
    assert got.headers["x-first-death-reason"] == "rejected"


def test_dead_letter_cycle_without_rejection_is_dropped(broker: Broker) -> None:
    broker.declare_queue(
        "loop",
        arguments={
            "x-message-ttl": 10,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": "loop",
        },
    )
    broker.publish("", "loop", "m")
    broker.advance(0.05)
    assert broker.messages("loop") == []


def test_max_length_drop_head_dead_letters_maxlen(broker: Broker) -> None:
    broker.declare_queue("dead")
    broker.declare_queue(
        "q",
        arguments={
            "x-max-length": 2,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": "dead",
        },
    )
    for i in range(4):
        broker.publish("", "q", f"m{i}")
    assert [m.body for m in broker.messages("q")] == [b"m2", b"m3"]
    dead = broker.messages("dead")
    assert [m.body for m in dead] == [b"m0", b"m1"]
    assert dead[0].headers["x-death"][0]["reason"] == "maxlen"


def test_max_length_bytes(broker: Broker) -> None:
    broker.declare_queue("q", arguments={"x-max-length-bytes": 10})
    for body in ("12345", "67890", "abc"):
        broker.publish("", "q", body)
    assert [m.body for m in broker.messages("q")] == [b"67890", b"abc"]


def test_reject_publish_dlx(broker: Broker) -> None:
    broker.declare_queue("dead")
    broker.declare_queue(
        "q",
        arguments={
            "x-max-length": 1,
            "x-overflow": "reject-publish-dlx",
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": "dead",
        },
    )
    broker.publish("", "q", "kept")
    broker.publish("", "q", "rejected")
    assert [m.body for m in broker.messages("q")] == [b"kept"]
    assert [m.body for m in broker.messages("dead")] == [b"rejected"]


def test_priorities(broker: Broker) -> None:
    broker.declare_queue("p", arguments={"x-max-priority": 5})
    for body, prio in (("low", 1), ("high", 5), ("none", None), ("over", 9), ("mid", 3)):
        broker.publish("", "p", body, {"priority": prio})
    assert [m.body for m in broker.messages("p")] == [b"high", b"over", b"mid", b"low", b"none"]


def test_x_expires_deletes_unused_queue(broker: Broker) -> None:
    broker.declare_queue("temp", arguments={"x-expires": 1000})
    broker.advance(0.9)
    broker.get("temp")  # use resets the timer
    broker.advance(0.9)
    assert "temp" in broker.queues()
    broker.advance(0.2)
    assert "temp" not in broker.queues()


def test_invalid_queue_arguments_406(ch) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ChannelClosed) as err:
        ch.queue_declare("q", arguments={"x-message-ttl": -1})
    assert err.value.reply_code == 406


def test_python_api_raises_amqp_errors(broker: Broker) -> None:
    with pytest.raises(ChannelError) as err:
        broker.bind_queue("nope", "amq.direct")
    assert err.value.reply_code == 404


def test_reset_drops_everything(broker: Broker) -> None:
    client = LocalClient(broker)
    client.channel().queue_declare("q")
    broker.declare_exchange("e", "topic")
    broker.reset()
    assert broker.queues() == {}
    assert "e" not in broker.exchanges()
    assert client.closed is not None and client.closed.reply_code == 320


@pytest.mark.parametrize(
    ("arguments", "detail"),
    [
        ({"x-message-ttl": -1}, "{value_negative,-1}"),
        ({"x-message-ttl": "abc"}, '"expected integer, got longstr"'),
        ({"x-overflow": "nope"}, "invalid_overflow"),
        ({"x-expires": 0}, "{value_zero,0}"),
        ({"x-max-priority": 300}, "{max_value_exceeded,300}"),
        ({"x-queue-type": "bogus"}, "\"unsupported queue type 'bogus'\""),
    ],
)
def test_invalid_argument_texts(ch, arguments: dict[str, object], detail: str) -> None:  # type: ignore[no-untyped-def]
    arg = next(iter(arguments))
    with pytest.raises(ChannelClosed) as err:
        ch.queue_declare("q", arguments=arguments)
    assert err.value.reply_text == (
        f"PRECONDITION_FAILED - invalid arg '{arg}' for queue 'q' in vhost '/': {detail}"
    )


@pytest.mark.parametrize(
    ("first", "second", "text"),
    [
        (None, 1000, "received the value '1000' of type 'signedint' but current is none"),
        (1000, None, "received none but current is the value '1000' of type 'signedint'"),
        (1000, 2000, "received '2000' but current is '1000'"),
        (1000, "1000", "received '1000' but current is '1000'"),
    ],
)
def test_argument_equivalence_texts(
    broker: Broker, first: object, second: object, text: str
) -> None:
    client = LocalClient(broker)
    args1 = {} if first is None else {"x-message-ttl": first}
    args2 = {} if second is None else {"x-message-ttl": second}
    client.channel().queue_declare("q", arguments=args1)
    with pytest.raises(ChannelClosed) as err:
        client.channel().queue_declare("q", arguments=args2)
    prefix = "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/'"
    assert err.value.reply_text == f"{prefix}: {text}"


def test_unchecked_arguments_may_change(broker: Broker) -> None:
    client = LocalClient(broker)
    client.channel().queue_declare("q")
    client.channel().queue_declare("q", arguments={"x-foo": 1, "x-queue-type": "classic"})


def test_exchange_delete_rules(broker: Broker) -> None:
    client = LocalClient(broker)
    client.channel().exchange_delete("never-declared")  # delete-ok, as RabbitMQ 3.10
    with pytest.raises(ChannelClosed) as err:
        client.channel().exchange_delete("amq.direct")
    assert err.value.reply_text == (
        "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed"
    )
    with pytest.raises(ChannelClosed) as err:
        client.channel().exchange_declare("", "direct", passive=True)
    assert err.value.reply_code == 403
    broker.declare_exchange("src", "fanout")
    broker.declare_exchange("dst", "fanout")
    broker.bind_exchange("dst", "src")
    client.channel().exchange_delete("dst", if_unused=True)  # only a destination: unused
    with pytest.raises(ChannelClosed) as err:
        broker.declare_exchange("src2", "fanout")
        broker.bind_exchange("src", "src2")
        client.channel().exchange_delete("src2", if_unused=True)
    assert err.value.reply_text == "PRECONDITION_FAILED - exchange 'src2' in vhost '/' in use"


def test_queue_delete_missing_is_ok_and_current_queue_rule(ch) -> None:  # type: ignore[no-untyped-def]
    assert ch.queue_delete("never").message_count == 0
    with pytest.raises(ChannelClosed) as err:
        ch.consume("")
    assert err.value.reply_text == "NOT_FOUND - no previously declared queue"
