"""Publishing: ``basic.publish`` (routing with CC/BCC, alternate and exchange-to-exchange
bindings, mandatory returns), publisher confirms, transactions and direct reply-to."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from pamqp.commands import Basic, Confirm, Tx

from amqpmock.errors import (
    ACCESS_REFUSED,
    NOT_IMPLEMENTED,
    PRECONDITION_FAILED,
    ChannelError,
    ConnectionError_,
)
from amqpmock.fake._delivery import settle
from amqpmock.fake._state import (
    DIRECT_REPLY_TO,
    OPEN,
    REPLY_PREFIX,
    Channel,
    TxOp,
    VHost,
    copy_properties,
    send_reply,
)
from amqpmock.fake.commands import SendContent, build
from amqpmock.fake.delayed import DELAYED_TYPE, delay_of
from amqpmock.fake.model import Exchange, Message, Queue

if TYPE_CHECKING:
    from amqpmock.fake._broker import Broker


def new_message(
    b: Broker,
    exchange: str,
    routing_key: str,
    props: Basic.Properties,
    body: bytes,
    vhost: str = "/",
) -> Message:
    b._next_message_id += 1
    now = b.clock.now()
    return Message(exchange, routing_key, props, body, now, b._next_message_id, vhost)


# --- routing ---------------------------------------------------------------------


def route(b: Broker, vhost: VHost, exchange: Exchange, message: Message) -> list[Queue]:
    headers = message.properties.headers
    found: dict[Queue, None] = {}
    b._route_key(vhost, exchange, message.routing_key, headers, found, None)
    if headers and ("CC" in headers or "BCC" in headers):
        # sender-selected distribution: more routing keys in CC / BCC headers
        for name in ("CC", "BCC"):
            extra = headers.get(name)
            if isinstance(extra, list):
                for k in extra:
                    key = k.decode() if isinstance(k, bytes) else str(k)
                    b._route_key(vhost, exchange, key, headers, found, None)
    return list(found)


def route_key(
    b: Broker,
    vhost: VHost,
    exchange: Exchange,
    key: str,
    headers: dict[str, Any] | None,
    found: dict[Queue, None],
    seen: set[Exchange] | None,
) -> None:
    # `seen` guards against exchange-binding cycles; it exists only once routing
    # leaves the first exchange, which keeps the common one-hop publish cheap
    if seen is not None:
        if exchange in seen:
            return
        seen.add(exchange)
    if exchange.name == "":
        queue = vhost.queues.get(key)
        if queue is not None:
            found[queue] = None
        return
    matched = False
    for dest in exchange.routing.match(key, headers):
        matched = True
        if isinstance(dest, Queue):
            found[dest] = None
        elif isinstance(dest, Exchange):
            if seen is None:
                seen = {exchange}
            b._route_key(vhost, dest, key, headers, found, seen)
    if not matched:
        ae_name = exchange.alternate_exchange
        if ae_name is not None:
            ae = vhost.exchanges.get(ae_name)
            if ae is not None:
                if seen is None:
                    seen = {exchange}
                b._route_key(vhost, ae, key, headers, found, seen)


def _check_expiration(expiration: str | None) -> None:
    if expiration is None:
        return
    try:
        value = int(expiration)
    except ValueError:
        value = -1
    if value < 0 or not expiration.isdigit():
        raise ChannelError(
            PRECONDITION_FAILED,
            f"invalid expiration '{expiration}': {{error,no_integer}}"
            if value == -1 and not expiration.lstrip("-").isdigit()
            else f"invalid expiration '{expiration}': {{value_negative,{value}}}",
        )


def basic_publish(
    b: Broker, ch: Channel, m: Basic.Publish, p: Basic.Properties | None, body: bytes
) -> None:
    conn = ch.conn
    props = p if p is not None else Basic.Properties()
    exchange = b._exchange(conn, m.exchange)
    if exchange.internal:
        raise ChannelError(
            ACCESS_REFUSED,
            f"cannot publish to internal exchange '{exchange.name}' in vhost '{conn.vhost_name}'",
        )
    b._check_perm(conn, 1, "exchange", exchange.name)
    if m.immediate:
        raise ConnectionError_(NOT_IMPLEMENTED, "immediate=true")
    if props.expiration is not None:
        _check_expiration(props.expiration)
    if props.reply_to == DIRECT_REPLY_TO:
        if ch.reply_consumer is None or ch.reply_token is None:
            raise ChannelError(PRECONDITION_FAILED, "fast reply consumer does not exist")
        props = copy_properties(props, reply_to=REPLY_PREFIX + ch.reply_token)
    if ch.tx:
        ch.tx_ops.append(TxOp("publish", m, props, body))
        return
    _do_publish(b, ch, m, props, body)


def _do_publish(
    b: Broker, ch: Channel, m: Basic.Publish, props: Basic.Properties, body: bytes
) -> None:
    conn = ch.conn
    if ch.confirm:
        ch.publish_seq += 1
    message = b._new_message(m.exchange, m.routing_key, props, body, conn.vhost_name)
    if not m.exchange and m.routing_key.startswith(REPLY_PREFIX):
        # RabbitMQ 3.10 delivers a direct reply but, as it reached no queue, also
        # returns it (312) when it was published mandatory (observed; aio-pika does so)
        _publish_direct_reply(b, m, message)
        routed = False
        queues: list[Queue] = []
    else:
        exchange = conn.vhost.exchanges.get(m.exchange)
        held = 0.0
        if exchange is not None and exchange.type == DELAYED_TYPE:
            held = delay_of(props.headers)
        if held and exchange is not None:
            # x-delayed-message: the exchange holds it, then routes it (counts as routed)
            b.call_later(held, partial(_release_delayed, b, conn.vhost, exchange, message))
            queues = []
        else:
            # the exchange can be gone when a transaction commits
            queues = b._route(conn.vhost, exchange, message) if exchange is not None else []
            if b.down_nodes and queues:  # a queue whose node is down gets nothing
                queues = [q for q in queues if q.node not in b.down_nodes]
        if b._interceptors and b._intercepted(conn.vhost_name, message):
            routed_outside = True
        else:
            routed_outside = False
        headers = props.headers
        if headers and "BCC" in headers:
            # BCC routes but is never shown to consumers
            visible = dict(headers)
            del visible["BCC"]
            message.properties = copy_properties(props, headers=visible)
        routed = bool(queues) or routed_outside or bool(held)
    if b.tapes:
        b._tape(("published", message, queues, conn, ch.id))
    if b.listeners:
        b._emit(
            "published", message=message, connection=conn, channel=ch.id, mandatory=m.mandatory
        )
        b._emit("routed", message=message, queues=queues)
    rejected = False
    for queue in queues:
        if not b._enqueue(queue, message):
            rejected = True
    if not routed and m.mandatory:
        if b.tapes:
            b._tape(("returned", message, conn))
        b._emit("returned", message=message, connection=conn)
        conn.send(
            SendContent(
                ch.id,
                build(
                    Basic.Return,
                    reply_code=312,
                    reply_text="NO_ROUTE",
                    exchange=m.exchange,
                    routing_key=m.routing_key,
                ),
                message.properties,
                body,
            )
        )
    if ch.confirm:
        if rejected:
            send_reply(ch, Basic.Nack(delivery_tag=ch.publish_seq, multiple=False, requeue=False))
        else:
            send_reply(ch, Basic.Ack(delivery_tag=ch.publish_seq, multiple=False))


def _release_delayed(b: Broker, vhost: VHost, exchange: Exchange, message: Message) -> None:
    """A held x-delayed-message publish is due: routed through the exchange's bindings
    as they are now (nowhere, if the exchange is gone)."""
    if vhost.exchanges.get(exchange.name) is not exchange:
        return
    queues = b._route(vhost, exchange, message)
    if b.listeners:
        b._emit("routed", message=message, queues=queues)
    for queue in queues:
        b._enqueue(queue, message)


def _publish_direct_reply(b: Broker, m: Basic.Publish, message: Message) -> bool:
    """A reply to a direct reply-to name goes straight to that channel's reply consumer."""
    target = b._reply_channels.get(m.routing_key[len(REPLY_PREFIX) :])
    if target is None or target.state != OPEN or target.reply_consumer is None:
        return False
    target.next_tag += 1
    target.conn.send(
        SendContent(
            target.id,
            build(
                Basic.Deliver,
                consumer_tag=target.reply_consumer,
                delivery_tag=target.next_tag,
                redelivered=False,
                exchange="",
                routing_key=m.routing_key,
            ),
            message.properties,
            message.body,
        )
    )
    return True


# --- confirms and transactions ---


def confirm_select(b: Broker, ch: Channel, m: Confirm.Select, p: Any, body: bytes) -> None:
    if ch.tx:
        raise ChannelError(PRECONDITION_FAILED, "cannot switch from tx to confirm mode")
    ch.confirm = True
    if not m.nowait:
        send_reply(ch, Confirm.SelectOk())


def tx_select(b: Broker, ch: Channel, m: Tx.Select, p: Any, body: bytes) -> None:
    if ch.confirm:
        raise ChannelError(PRECONDITION_FAILED, "cannot switch from confirm to tx mode")
    ch.tx = True
    send_reply(ch, Tx.SelectOk())


def tx_commit(b: Broker, ch: Channel, m: Tx.Commit, p: Any, body: bytes) -> None:
    if not ch.tx:
        raise ChannelError(PRECONDITION_FAILED, "channel is not transactional")
    ops, ch.tx_ops = ch.tx_ops, []
    for op in ops:
        if op.kind == "publish":
            assert op.properties is not None
            assert isinstance(op.method, Basic.Publish)
            _do_publish(b, ch, op.method, op.properties, op.body)
        else:
            settle(b, ch, op.kind, op.method)
    send_reply(ch, Tx.CommitOk())


def tx_rollback(b: Broker, ch: Channel, m: Tx.Rollback, p: Any, body: bytes) -> None:
    if not ch.tx:
        raise ChannelError(PRECONDITION_FAILED, "channel is not transactional")
    ch.tx_ops.clear()
    send_reply(ch, Tx.RollbackOk())
