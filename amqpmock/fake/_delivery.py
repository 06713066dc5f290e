"""Consuming and settling: ``basic.qos``, ``consume``, ``cancel``, ``get``,
``ack`` / ``nack`` / ``reject``, ``recover``; delivery to consumers (prefetch, flow),
dispatch after each method, and requeueing to the original place."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from pamqp.commands import Basic

from amqpmock.errors import (
    ACCESS_REFUSED,
    INTERNAL_ERROR,
    NOT_ALLOWED,
    NOT_IMPLEMENTED,
    PRECONDITION_FAILED,
    ChannelError,
    ConnectionError_,
)
from amqpmock.fake._args import (
    field_type,
)
from amqpmock.fake._state import (
    DIRECT_REPLY_TO,
    Channel,
    TxOp,
    Unacked,
    copy_properties,
    send_reply,
)
from amqpmock.fake._streams import (
    check_stream_consume,
    dispatch_stream,
    parse_offset,
    refuse,
    start_offset,
)
from amqpmock.fake.commands import SendContent, build
from amqpmock.fake.model import Consumer, Entry, Queue

if TYPE_CHECKING:
    from amqpmock.fake._broker import Broker


def _delivered_properties(queue: Queue, entry: Entry) -> Basic.Properties:
    """A message's properties as its queue hands it out: a quorum queue adds
    x-delivery-count (the times it was returned, 0 at first)."""
    props = entry.message.properties
    if queue.log is not None:  # a stream: its offset, a long, after the message's own
        return copy_properties(
            props, headers={**(props.headers or {}), "x-stream-offset": entry.seq}
        )
    if not queue.quorum:
        return props
    headers = dict(props.headers or {})
    headers["x-delivery-count"] = entry.returns
    return copy_properties(props, headers=headers)


def deliver(b: Broker, consumer: Consumer, entry: Entry) -> None:
    ch = consumer.channel
    ch.next_tag += 1
    tag = ch.next_tag
    if not consumer.no_ack:
        ch.unacked[tag] = Unacked(entry, consumer.queue, consumer)
        consumer.unacked += 1
    message = entry.message
    ch.conn.send(
        SendContent(
            ch.id,
            build(
                Basic.Deliver,
                consumer_tag=consumer.tag,
                delivery_tag=tag,
                redelivered=entry.redelivered,
                exchange=message.exchange,
                routing_key=message.routing_key,
            ),
            _delivered_properties(consumer.queue, entry),
            message.body,
        )
    )
    appends = b._tape_appends
    if appends:  # Broker._tape, inline: a delivery is the busiest event
        event = ("delivered", message, consumer.queue, consumer, tag, entry.redelivered, ch)
        for append in appends:
            append(event)
        b._tape_bytes += len(message.body)
        if b._tape_bytes > b._tape_budget:
            b._trim_tapes()
    if b.listeners:
        b._emit(
            "delivered",
            queue=consumer.queue,
            message=message,
            consumer=consumer.tag,
            delivery_tag=tag,
            redelivered=entry.redelivered,
            connection=ch.conn,
        )


def dispatch(b: Broker, queue: Queue) -> None:
    if queue.deleted or not queue.consumers:
        return
    if queue.log is not None:
        dispatch_stream(b, queue)
        return
    now = b.clock.now()
    if queue.timed_entries:
        b._expire(queue, now)
    budget = b.dispatch_budget
    delivered = 0
    while queue.message_count:
        consumer = queue.next_consumer()
        if consumer is None:
            return
        entry = queue.pop()
        assert entry is not None
        if entry.expires_at is not None and entry.expires_at <= now:
            b._dead_letter(queue, entry.message, "expired")
            continue
        b._deliver(consumer, entry)
        if budget is not None:
            delivered += 1
            if delivered >= budget and queue.message_count:
                # bounded work per turn: the adapter resumes it (resume_dispatch) after
                # it has served its other connections, as RabbitMQ's credit flow bounds
                # what one queue process sends before others get a turn
                b._dispatch_later[queue] = None
                return


def run_dispatch(b: Broker) -> None:
    while b._to_dispatch:
        queue = next(iter(b._to_dispatch))
        del b._to_dispatch[queue]
        b._dispatch(queue)


def pop_ready(b: Broker, queue: Queue) -> Entry | None:
    """The next unexpired ready entry (expired ones are dead-lettered on the way)."""
    now = b.clock.now()
    queue.last_used = now
    b._expire(queue, now)
    entry = queue.pop()
    while entry is not None and entry.expires_at is not None and entry.expires_at <= now:
        b._dead_letter(queue, entry.message, "expired")
        entry = queue.pop()
    return entry


def requeue(b: Broker, record: Unacked, *, rejected: bool = False) -> None:
    queue = record.queue
    if queue.deleted or queue.log is not None:  # a stream keeps it anyway
        return
    if queue.quorum:
        record.entry.returns += 1
        limit = queue.delivery_limit
        if limit is not None and record.entry.returns > limit:
            b._dead_letter(queue, record.entry.message, "delivery_limit")
            return
    queue.requeue(record.entry, rejected=rejected)
    if record.entry.expires_at is not None:
        b._timed[queue] = None
    b._to_dispatch[queue] = None


def requeue_all(b: Broker, ch: Channel) -> None:
    unacked, ch.unacked = ch.unacked, {}
    # newest first: a quorum queue puts each at its front, so they end up in order
    # (a classic queue puts each back at its own place, whatever the order)
    for record in reversed(unacked.values()):
        if record.consumer is not None:
            record.consumer.unacked -= 1
        b._requeue(record)


def close_channel(b: Broker, ch: Channel) -> None:
    """Cancel the channel's consumers and requeue its unacknowledged messages."""
    for consumer in list(ch.consumers.values()):
        b._remove_consumer(consumer)
    ch.consumers.clear()
    b._requeue_all(ch)
    if ch.reply_token is not None:
        b._reply_channels.pop(ch.reply_token, None)
    ch.tx_ops.clear()


def remove_consumer(b: Broker, consumer: Consumer) -> None:
    queue = consumer.queue
    if consumer in queue.consumers:
        queue.remove_consumer(consumer)
    queue.last_used = b.clock.now()
    consumer.channel.consumers.pop(consumer.tag, None)
    b._emit("consumer_cancelled", queue=queue, consumer=consumer.tag)
    if queue.auto_delete and queue.had_consumers and not queue.consumers:
        b._delete_queue(queue)
    else:
        b._to_dispatch[queue] = None


# --- handlers ---


def basic_qos(b: Broker, ch: Channel, m: Basic.Qos, p: Any, body: bytes) -> None:
    if m.prefetch_size:
        raise ConnectionError_(NOT_IMPLEMENTED, f"prefetch_size!=0 ({m.prefetch_size})")
    if m.global_:
        ch.global_prefetch = m.prefetch_count
    else:
        ch.consumer_prefetch = m.prefetch_count
    send_reply(ch, Basic.QosOk())
    for consumer in ch.consumers.values():
        b._to_dispatch[consumer.queue] = None


def basic_consume(b: Broker, ch: Channel, m: Basic.Consume, p: Any, body: bytes) -> None:
    conn = ch.conn
    tag = m.consumer_tag or b._server_name("amq.ctag")
    if m.queue == DIRECT_REPLY_TO:
        if not m.no_ack:
            raise ChannelError(PRECONDITION_FAILED, "reply consumer cannot acknowledge")
        if ch.reply_consumer is not None:
            raise ChannelError(PRECONDITION_FAILED, "reply consumer already set")
        if tag in ch.consumers:
            raise ConnectionError_(NOT_ALLOWED, f"attempt to reuse consumer tag '{tag}'")
        ch.reply_consumer = tag
        ch.reply_token = b._reply_token(ch)
        b._reply_channels[ch.reply_token] = ch
        if not m.nowait:
            send_reply(ch, Basic.ConsumeOk(consumer_tag=tag))
        return
    queue = b._queue(conn, b._queue_name(ch, m.queue))
    b._check_perm(conn, 2, "queue", queue.name)
    if tag in ch.consumers or tag == ch.reply_consumer:
        raise ConnectionError_(NOT_ALLOWED, f"attempt to reuse consumer tag '{tag}'")
    if (
        queue.log is None
        and queue.consumers
        and (m.exclusive or any(c.exclusive for c in queue.consumers))
    ):
        raise ChannelError(
            ACCESS_REFUSED, f"queue '{queue.name}' in vhost '{queue.vhost}' in exclusive use"
        )
    arguments = dict(m.arguments or {})
    priority = arguments.get("x-priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ChannelError(
            PRECONDITION_FAILED,
            f"invalid arg 'x-priority' for queue '{queue.name}' in vhost '{queue.vhost}': "
            f'"expected integer, got {field_type(priority)}"',
        )
    # checked on any queue, as RabbitMQ checks consumer arguments before the queue type
    offset = parse_offset(arguments.get("x-stream-offset"), queue.name, queue.vhost, b.clock.now())
    if queue.log is not None:
        check_stream_consume(ch, m, queue)
    consumer = Consumer(
        tag,
        queue,
        ch,
        no_ack=bool(m.no_ack),
        exclusive=bool(m.exclusive),
        prefetch=ch.consumer_prefetch,
        arguments=arguments,
        priority=priority,
    )
    if queue.log is not None:
        consumer.stream_offset = start_offset(queue.log, offset)
    if priority:
        queue.consumer_priorities = True
    queue.consumers.append(consumer)
    queue.had_consumers = True
    queue.last_used = b.clock.now()
    ch.consumers[tag] = consumer
    if not m.nowait:
        send_reply(ch, Basic.ConsumeOk(consumer_tag=tag))
    b._emit("consumer_added", queue=queue, consumer=tag)
    b._to_dispatch[queue] = None


def basic_cancel(b: Broker, ch: Channel, m: Basic.Cancel, p: Any, body: bytes) -> None:
    consumer = ch.consumers.get(m.consumer_tag or "")
    if consumer is not None:
        b._remove_consumer(consumer)
    elif m.consumer_tag == ch.reply_consumer:
        ch.reply_consumer = None
        if ch.reply_token is not None:
            b._reply_channels.pop(ch.reply_token, None)
    if not m.nowait:
        send_reply(ch, Basic.CancelOk(consumer_tag=m.consumer_tag))


def basic_get(b: Broker, ch: Channel, m: Basic.Get, p: Any, body: bytes) -> None:
    conn = ch.conn
    queue = b._queue(conn, b._queue_name(ch, m.queue))
    b._check_perm(conn, 2, "queue", queue.name)
    if queue.log is not None:
        raise refuse("basic.get", queue)
    if b.listeners:  # before the queue is read: replay puts outside messages in first
        b._emit("get_requested", queue=queue, connection=conn)
    entry = b._pop_ready(queue)
    if entry is None:
        send_reply(ch, Basic.GetEmpty())
        return
    ch.next_tag += 1
    tag = ch.next_tag
    if not m.no_ack:
        ch.unacked[tag] = Unacked(entry, queue, None)
    message = entry.message
    conn.send(
        SendContent(
            ch.id,
            build(
                Basic.GetOk,
                delivery_tag=tag,
                redelivered=entry.redelivered,
                exchange=message.exchange,
                routing_key=message.routing_key,
                message_count=queue.message_count,
            ),
            _delivered_properties(queue, entry),
            message.body,
        )
    )
    if b.tapes:
        b._tape(("delivered", message, queue, None, tag, entry.redelivered, ch))
    b._emit(
        "delivered",
        queue=queue,
        message=message,
        consumer=None,
        delivery_tag=tag,
        redelivered=entry.redelivered,
        connection=conn,
        no_ack=m.no_ack,
    )


def _take_unacked(ch: Channel, tag: int, multiple: bool) -> list[tuple[int, Unacked]]:
    if multiple:
        if tag == 0:
            taken = list(ch.unacked.items())
        else:
            # RabbitMQ walks the unacked list up to `tag`: it must be outstanding
            if tag not in ch.unacked:
                raise ChannelError(PRECONDITION_FAILED, f"unknown delivery tag {tag}")
            taken = [(t, r) for t, r in ch.unacked.items() if t <= tag]
    else:
        record = ch.unacked.get(tag)
        if record is None:
            raise ChannelError(PRECONDITION_FAILED, f"unknown delivery tag {tag}")
        taken = [(tag, record)]
    for t, record in taken:
        del ch.unacked[t]
        if record.consumer is not None:
            record.consumer.unacked -= 1
    return taken


def settle(b: Broker, ch: Channel, kind: str, m: Any) -> None:
    if kind == "ack":
        taken = _take_unacked(ch, m.delivery_tag, bool(m.multiple))
        for tag, record in taken:
            if b.tapes:
                b._tape(("acked", record.entry.message, record.queue.name, tag))
            if b.listeners:
                b._emit(
                    "acked", queue=record.queue, message=record.entry.message, delivery_tag=tag
                )
    else:
        multiple = bool(m.multiple) if kind == "nack" else False
        taken = _take_unacked(ch, m.delivery_tag, multiple)
        for _, record in taken:
            if record.queue.log is not None:
                raise refuse("basic.nack and basic.reject", record.queue)
        for tag, record in taken:
            if b.tapes:
                b._tape(("nacked", record.entry.message, record.queue.name, tag, bool(m.requeue)))
            b._emit(
                "nacked",
                queue=record.queue,
                message=record.entry.message,
                delivery_tag=tag,
                requeue=bool(m.requeue),
            )
            if m.requeue:
                b._requeue(record, rejected=True)
            elif not record.queue.deleted:
                # dead-lettering is a publish the queue makes after the settle: the
                # channel's freed capacity is filled first (RabbitMQ, observed)
                b.defer(partial(b._dead_letter, record.queue, record.entry.message, "rejected"))
    # capacity freed: the channel's consumers may take more
    for consumer in ch.consumers.values():
        b._to_dispatch[consumer.queue] = None


def basic_settle(b: Broker, ch: Channel, m: Any, p: Any, body: bytes) -> None:
    kind = {Basic.Ack: "ack", Basic.Nack: "nack", Basic.Reject: "reject"}[type(m)]
    if ch.tx:
        # validate now, apply at commit (RabbitMQ checks tags at commit; unknown tags
        # inside a transaction fail the commit)
        ch.tx_ops.append(TxOp(kind, m))
        return
    settle(b, ch, kind, m)


def basic_recover(b: Broker, ch: Channel, m: Any, p: Any, body: bytes) -> None:
    if not m.requeue:
        raise ConnectionError_(NOT_IMPLEMENTED, "requeue=false")
    if any(record.queue.log is not None for record in ch.unacked.values()):
        raise ConnectionError_(INTERNAL_ERROR, "")  # RabbitMQ's channel crashes
    b._requeue_all(ch)
    if isinstance(m, Basic.Recover):
        send_reply(ch, Basic.RecoverOk())
