"""Channels, consumers, acks, requeue, prefetch, confirms, transactions: no sockets."""

from __future__ import annotations

import pytest
from pamqp.commands import Basic

from amqpmock.fake import Broker, ChannelClosed, ConnectionClosed, LocalClient


@pytest.fixture
def broker() -> Broker:
    return Broker()


@pytest.fixture
def client(broker: Broker) -> LocalClient:
    return LocalClient(broker)


def bodies(deliveries: list) -> list[bytes]:  # type: ignore[type-arg]
    return [d.body for d in deliveries]


def test_delivery_tags_are_per_channel(client: LocalClient) -> None:
    ch1, ch2 = client.channel(), client.channel()
    ch1.queue_declare("q")
    for i in range(4):
        ch1.publish("", "q", f"m{i}")
    ch1.consume("q", "c1")
    ch2.consume("q", "c2")
    # c1 took everything that was ready when it subscribed; tags restart on ch2
    assert [d.delivery_tag for d in ch1.deliveries] == [1, 2, 3, 4]
    ch1.publish("", "q", "m4")
    ch1.publish("", "q", "m5")
    # round robin: next goes to c2 (its first tag is 1), then c1
    assert [d.delivery_tag for d in ch2.deliveries] == [1]
    assert [d.delivery_tag for d in ch1.deliveries][-1] == 5


def test_requeue_keeps_original_position_and_sets_redelivered(client: LocalClient) -> None:
    ch = client.channel()
    ch.queue_declare("q")
    for i in range(1, 6):
        ch.publish("", "q", f"m{i}")
    got = [ch.get("q") for _ in range(5)]
    assert [g.body for g in got if g] == [b"m1", b"m2", b"m3", b"m4", b"m5"]
    ch.nack(4, requeue=True)
    ch.nack(2, requeue=True)
    ch.ack(5)
    ch.reject(1, requeue=True)
    again = [ch.get("q", no_ack=True) for _ in range(3)]
    assert [(g.body, g.redelivered) for g in again if g] == [
        (b"m1", True),
        (b"m2", True),
        (b"m4", True),
    ]
    assert ch.get("q") is None


def test_ack_multiple_and_nack_multiple(client: LocalClient) -> None:
    ch = client.channel()
    ch.queue_declare("q")
    for i in range(5):
        ch.publish("", "q", f"m{i}")
    ch.consume("q")
    ch.ack(2, multiple=True)
    assert client.broker.queue("q").message_count == 0
    ch.nack(4, multiple=True, requeue=True)  # tags 3 and 4 back, redelivered at once
    redelivered = [d for d in ch.deliveries if d.redelivered]
    assert bodies(redelivered) == [b"m2", b"m3"]
    ch.ack(0, multiple=True)  # everything outstanding
    assert ch.client.conn.channels[ch.id].unacked == {}


def test_unknown_and_double_ack_close_the_channel_with_406(client: LocalClient) -> None:
    ch = client.channel()
    ch.queue_declare("q")
    ch.publish("", "q", "m")
    d = ch.get("q")
    assert d is not None
    ch.ack(d.delivery_tag)
    with pytest.raises(ChannelClosed) as err:
        ch.ack(d.delivery_tag)
    assert err.value.reply_code == 406
    assert err.value.reply_text == "PRECONDITION_FAILED - unknown delivery tag 1"
    # the connection is fine: a new channel works
    assert client.channel().queue_declare("q").message_count == 0


def test_unacked_requeued_on_channel_close_and_connection_close(broker: Broker) -> None:
    c1 = LocalClient(broker)
    ch = c1.channel()
    ch.queue_declare("q")
    for i in range(3):
        ch.publish("", "q", f"m{i}")
    ch.consume("q")
    ch.ack(2)
    ch.close()
    assert [(m.body) for m in broker.messages("q")] == [b"m0", b"m2"]
    ch2 = c1.channel()
    ch2.consume("q")
    assert [(d.body, d.redelivered) for d in ch2.deliveries] == [(b"m0", True), (b"m2", True)]
    c1.close()
    c2 = LocalClient(broker)
    got = c2.channel().get("q", no_ack=True)
    assert got is not None and got.body == b"m0" and got.redelivered


def test_cancel_keeps_unacked_until_ack_or_close(client: LocalClient) -> None:
    # RabbitMQ: basic.cancel does not requeue what the consumer still holds
    ch = client.channel()
    ch.queue_declare("q")
    ch.publish("", "q", "m")
    tag = ch.consume("q")
    ch.cancel(tag)
    assert client.broker.queue("q").message_count == 0
    ch.ack(1)
    assert client.broker.queue("q").message_count == 0


def test_prefetch_per_consumer(client: LocalClient) -> None:
    ch = client.channel()
    ch.queue_declare("q")
    for i in range(5):
        ch.publish("", "q", f"m{i}")
    ch.qos(2)
    ch.consume("q")
    assert bodies(ch.deliveries) == [b"m0", b"m1"]
    ch.ack(1)
    assert bodies(ch.deliveries) == [b"m0", b"m1", b"m2"]


def test_prefetch_global_is_shared_by_the_channels_consumers(client: LocalClient) -> None:
    ch = client.channel()
    for q in ("a", "b"):
        ch.queue_declare(q)
        for i in range(3):
            ch.publish("", q, f"{q}{i}")
    ch.qos(3, global_=True)
    ch.consume("a")
    ch.consume("b")
    assert bodies(ch.deliveries) == [b"a0", b"a1", b"a2"]
    ch.ack(3, multiple=True)
    assert len(ch.deliveries) == 6


def test_an_unwritable_connection_gets_no_deliveries_until_it_is_writable_again(
    broker: Broker, client: LocalClient
) -> None:
    ch = client.channel()
    ch.queue_declare("q")
    ch.consume("q", no_ack=True)
    other = LocalClient(broker).channel()
    other.queue_declare("q", passive=True)
    other.consume("q", no_ack=True)
    client.conn.set_writable(False)  # the adapter's socket for `client` is backed up
    late = client.channel()  # a channel opened meanwhile waits too
    late.consume("q", no_ack=True)
    for i in range(4):
        ch.publish("", "q", f"m{i}")
    assert bodies(ch.deliveries) == [] and bodies(late.deliveries) == []
    assert bodies(other.deliveries) == [b"m0", b"m1", b"m2", b"m3"]
    broker.declare_queue("r")
    ch.consume("r", no_ack=True)
    for i in range(3):
        ch.publish("", "r", f"r{i}")
    assert [m.body for m in broker.messages("r")] == [b"r0", b"r1", b"r2"]  # still ready
    client.conn.set_writable(True)
    assert bodies(ch.deliveries) == [b"r0", b"r1", b"r2"]
    assert broker.messages("r") == []


def test_qos_prefetch_size_not_implemented(client: LocalClient) -> None:
    ch = client.channel()
    with pytest.raises(ConnectionClosed) as err:
        ch.qos(1, prefetch_size=10)
    assert err.value.reply_code == 540


def test_basic_get_and_get_empty_counts(client: LocalClient) -> None:
    ch = client.channel()
    ch.queue_declare("q")
    assert ch.get("q") is None
    ch.publish("", "q", "1")
    ch.publish("", "q", "2")
    got = ch.get("q", no_ack=True)
    assert got is not None
    assert got.method.message_count == 1  # type: ignore[attr-defined]


def test_basic_recover_requeues(client: LocalClient) -> None:
    ch = client.channel()
    ch.queue_declare("q")
    ch.publish("", "q", "m")
    ch.consume("q")
    ch.recover(requeue=True)
    assert [(d.body, d.redelivered) for d in ch.deliveries] == [(b"m", False), (b"m", True)]


def test_exclusive_consumer_and_exclusive_queue(broker: Broker) -> None:
    c1, c2 = LocalClient(broker), LocalClient(broker)
    ch = c1.channel()
    ch.queue_declare("q")
    ch.consume("q", exclusive=True)
    with pytest.raises(ChannelClosed) as err:
        c2.channel().consume("q")
    assert err.value.reply_code == 403
    ch.queue_declare("mine", exclusive=True)
    with pytest.raises(ChannelClosed) as err:
        c2.channel().queue_declare("mine")
    assert err.value.reply_code == 405
    c1.close()
    assert "mine" not in broker.queues()


def test_consumer_cancel_notification_on_queue_delete(broker: Broker) -> None:
    c1, c2 = LocalClient(broker), LocalClient(broker)
    ch = c1.channel()
    ch.queue_declare("q")
    tag = ch.consume("q")
    c2.channel().queue_delete("q")
    assert ch.cancels == [tag]


def test_reused_consumer_tag_closes_connection_530(client: LocalClient) -> None:
    ch = client.channel()
    ch.queue_declare("q")
    ch.consume("q", "t")
    with pytest.raises(ConnectionClosed) as err:
        ch.consume("q", "t")
    assert err.value.reply_code == 530


def test_single_active_consumer(client: LocalClient) -> None:
    ch1, ch2 = client.channel(), client.channel()
    ch1.queue_declare("q", arguments={"x-single-active-consumer": True})
    t1 = ch1.consume("q")
    ch2.consume("q")
    for i in range(3):
        ch1.publish("", "q", f"m{i}")
    assert len(ch1.deliveries) == 3 and ch2.deliveries == []
    ch1.cancel(t1)
    ch1.publish("", "q", "after")
    assert bodies(ch2.deliveries) == [b"after"]


def test_mandatory_return_312(client: LocalClient) -> None:
    ch = client.channel()
    ch.publish("amq.direct", "nowhere", "m", mandatory=True)
    (ret,) = ch.returns
    assert ret.method.reply_code == 312  # type: ignore[attr-defined]
    assert ret.method.reply_text == "NO_ROUTE"  # type: ignore[attr-defined]
    assert ret.body == b"m"


def test_publisher_confirms_ack_and_nack(client: LocalClient) -> None:
    ch = client.channel()
    ch.confirm_select()
    ch.queue_declare("q", arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    ch.publish("", "q", "1")
    ch.publish("", "q", "2")
    ch.publish("", "none", "3")
    kinds = [(type(c).__name__, c.delivery_tag) for c in ch.confirms]  # type: ignore[attr-defined]
    assert kinds == [("Ack", 1), ("Nack", 2), ("Ack", 3)]


def test_transactions_commit_and_rollback(client: LocalClient) -> None:
    ch = client.channel()
    ch.queue_declare("q")
    ch.tx_select()
    ch.publish("", "q", "a")
    assert client.broker.queue("q").message_count == 0
    ch.tx_commit()
    assert client.broker.queue("q").message_count == 1
    ch.publish("", "q", "b")
    ch.tx_rollback()
    assert [m.body for m in client.broker.messages("q")] == [b"a"]
    d = ch.get("q")
    assert d is not None
    ch.ack(d.delivery_tag)
    ch.tx_rollback()  # the ack is undone: the message stays unacked
    assert client.conn.channels[ch.id].unacked
    ch.ack(d.delivery_tag)
    ch.tx_commit()
    assert not client.conn.channels[ch.id].unacked


def test_tx_and_confirm_are_exclusive(client: LocalClient) -> None:
    ch = client.channel()
    with pytest.raises(ChannelClosed) as err:
        ch.tx_commit()
    assert err.value.reply_code == 406
    ch = client.channel()
    ch.confirm_select()
    with pytest.raises(ChannelClosed) as err:
        ch.tx_select()
    assert err.value.reply_code == 406


def test_direct_reply_to_round_trip(broker: Broker) -> None:
    client, server = LocalClient(broker), LocalClient(broker)
    cch, sch = client.channel(), server.channel()
    sch.queue_declare("rpc")
    cch.consume("amq.rabbitmq.reply-to", no_ack=True)
    cch.publish("", "rpc", "ping", reply_to="amq.rabbitmq.reply-to", correlation_id="c1")
    req = sch.get("rpc", no_ack=True)
    assert req is not None
    reply_to = req.properties.reply_to
    assert reply_to is not None and reply_to.startswith("amq.rabbitmq.reply-to.")
    sch.publish("", reply_to, "pong", correlation_id="c1")
    (reply,) = cch.deliveries
    assert reply.body == b"pong" and reply.properties.correlation_id == "c1"


def test_direct_reply_to_needs_no_ack_and_a_consumer(client: LocalClient) -> None:
    ch = client.channel()
    with pytest.raises(ChannelClosed) as err:
        ch.consume("amq.rabbitmq.reply-to", no_ack=False)
    assert err.value.reply_code == 406
    ch = client.channel()
    with pytest.raises(ChannelClosed) as err:
        ch.publish("", "x", "m", reply_to="amq.rabbitmq.reply-to")
    assert err.value.reply_code == 406


def test_channel_flow_off_is_not_implemented_like_rabbitmq(client: LocalClient) -> None:
    ch = client.channel()
    assert ch.set_flow(True).active is True
    with pytest.raises(ConnectionClosed) as err:
        ch.set_flow(False)
    assert err.value.reply_text == "NOT_IMPLEMENTED - active=false"


def test_recover_without_requeue_is_not_implemented(client: LocalClient) -> None:
    with pytest.raises(ConnectionClosed) as err:
        client.channel().recover(requeue=False)
    assert err.value.reply_text == "NOT_IMPLEMENTED - requeue=false"


def test_multiple_ack_needs_an_outstanding_tag(client: LocalClient) -> None:
    ch = client.channel()
    ch.queue_declare("q")
    ch.publish("", "q", "m")
    ch.consume("q")
    with pytest.raises(ChannelClosed) as err:
        ch.ack(6, multiple=True)
    assert err.value.reply_text == "PRECONDITION_FAILED - unknown delivery tag 6"


def test_second_channel_open_is_504(client: LocalClient) -> None:
    ch = client.channel()
    with pytest.raises(ConnectionClosed) as err:
        client.channel(ch.id)
    assert err.value.reply_text == "CHANNEL_ERROR - second 'channel.open' seen"


def test_methods_on_unopened_channel_close_connection_504(broker: Broker) -> None:
    client = LocalClient(broker)
    client.conn.handle(7, Basic.Qos(prefetch_count=1))
    assert client.closed is not None and client.closed.reply_code == 504


def test_publish_to_missing_and_internal_exchange(client: LocalClient) -> None:
    ch = client.channel()
    with pytest.raises(ChannelClosed) as err:
        ch.publish("missing", "k", "m")
    assert err.value.reply_text == "NOT_FOUND - no exchange 'missing' in vhost '/'"
    ch = client.channel()
    ch.exchange_declare("int", "direct", internal=True)
    with pytest.raises(ChannelClosed) as err:
        ch.publish("int", "k", "m")
    assert err.value.reply_code == 403


def test_a_bug_in_a_handler_becomes_541_not_a_crash(
    client: LocalClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amqpmock.fake._handlers import HANDLERS

    def boom(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(HANDLERS, Basic.Qos, boom)
    ch = client.channel()
    with pytest.raises(ConnectionClosed) as err:
        ch.qos(1)
    assert err.value.reply_code == 541
