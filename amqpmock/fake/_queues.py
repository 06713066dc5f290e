"""Queues: ``queue.declare`` (argument validation, quorum rules, equivalence checks),
``bind`` / ``unbind``, ``purge`` and ``delete`` (consumers told with basic.cancel)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pamqp.commands import Basic
from pamqp.commands import Queue as QueueMethods

from amqpmock.errors import (
    ACCESS_REFUSED,
    NOT_FOUND,
    PRECONDITION_FAILED,
    RESOURCE_LOCKED,
    ChannelError,
)
from amqpmock.fake import _cluster
from amqpmock.fake._args import (
    EQUIVALENCE_CHECKED_ARGS,
    NOT_FOR_QUORUM,
    OVERFLOW_MODES,
    args_key,
    check_reserved,
    erl_bool,
    field_type,
    inequivalent_values,
    refuse_args,
    refuse_properties,
    same_arg,
)
from amqpmock.fake._state import (
    DIRECT_REPLY_TO,
    OPEN,
    REPLY_PREFIX,
    Channel,
    send_reply,
)
from amqpmock.fake._streams import STREAM_ARGS, check_stream_args, check_stream_declare, refuse
from amqpmock.fake.commands import SendMethod, build
from amqpmock.fake.model import Queue, str_arg

if TYPE_CHECKING:
    from amqpmock.fake._broker import Broker


# --- deletion --------------------------------------------------------------------


def delete_queue(b: Broker, queue: Queue) -> int:
    if queue.deleted:
        return 0
    queue.deleted = True
    vhost = b.vhosts[queue.vhost]
    vhost.queues.pop(queue.name, None)
    b._timed.pop(queue, None)
    b._to_dispatch.pop(queue, None)
    b._dispatch_later.pop(queue, None)
    count = queue.message_count
    queue.purge()
    cancel_consumers(queue)
    for exchange in list(vhost.exchanges.values()):
        for key in [k for k in exchange.bindings if k[0] is queue]:
            b._remove_binding(vhost, exchange, key)
    b._emit("queue_deleted", queue=queue)
    return count


def cancel_consumers(queue: Queue) -> None:
    """The queue's consumers are gone, each told so (Basic.Cancel) where its client
    announced ``consumer_cancel_notify``: its queue was deleted, or its node went."""
    for consumer in list(queue.consumers):
        ch = consumer.channel
        ch.consumers.pop(consumer.tag, None)
        if ch.conn.capabilities.get("consumer_cancel_notify") and ch.state == OPEN:
            ch.conn.send(SendMethod(ch.id, Basic.Cancel(consumer_tag=consumer.tag)))
    queue.consumers.clear()


# --- handlers ---


def _validate_queue_args(args: dict[str, Any], name: str, vhost: str) -> None:
    def invalid(arg: str, reason: str) -> None:
        raise ChannelError(
            PRECONDITION_FAILED,
            f"invalid arg '{arg}' for queue '{name}' in vhost '{vhost}': {reason}",
        )

    for arg in (
        "x-message-ttl",
        "x-expires",
        "x-max-length",
        "x-max-length-bytes",
        "x-max-priority",
    ):
        if arg not in args:
            continue
        value = args[arg]
        if isinstance(value, bool) or not isinstance(value, int):
            invalid(arg, f'"expected integer, got {field_type(value)}"')
        elif arg == "x-max-priority" and value > 255:
            invalid(arg, f"{{max_value_exceeded,{value}}}")
        elif arg == "x-expires" and value <= 0:
            invalid(
                arg, f"{{value_zero,{value}}}" if value == 0 else f"{{value_negative,{value}}}"
            )
        elif value < 0:
            invalid(arg, f"{{value_negative,{value}}}")
    overflow = args.get("x-overflow")
    if overflow is not None:
        text = overflow.decode() if isinstance(overflow, bytes) else overflow
        if text not in OVERFLOW_MODES:
            invalid("x-overflow", "invalid_overflow")
    queue_type = args.get("x-queue-type")
    if queue_type is not None:
        qtype = queue_type.decode() if isinstance(queue_type, bytes) else str(queue_type)
        if qtype not in ("classic", "quorum", "stream"):
            invalid("x-queue-type", f"\"unsupported queue type '{qtype}'\"")


def queue_declare(b: Broker, ch: Channel, m: QueueMethods.Declare, p: Any, body: bytes) -> None:
    conn = ch.conn
    vhost = conn.vhost
    name = m.queue
    now = b.clock.now()
    if m.passive:
        if name == "" and ch.last_queue is not None:
            name = ch.last_queue
        if name == DIRECT_REPLY_TO or (
            name.startswith(REPLY_PREFIX) and name[len(REPLY_PREFIX) :] in b._reply_channels
        ):
            # RabbitMQ answers for the pseudo-queue as if it had one consumer
            if not m.nowait:
                send_reply(
                    ch,
                    build(QueueMethods.DeclareOk, queue=name, message_count=0, consumer_count=1),
                )
            return
        queue = b._queue(conn, name)
    else:
        queue_type = str_arg(m.arguments, "x-queue-type")
        quorum = queue_type == "quorum"
        if name == "":
            if queue_type in ("quorum", "stream"):
                raise ChannelError(
                    PRECONDITION_FAILED,
                    f"Cannot declare a server-named queue for type rabbit_{queue_type}_queue",
                )
            name = b._server_name("amq.gen")
        else:
            check_reserved(name, "queue")
        b._check_perm(conn, 0, "queue", name)
        queue_or_none = vhost.queues.get(name)
        arguments = dict(m.arguments or {})
        if queue_or_none is None:
            _validate_queue_args(arguments, name, vhost.name)
            check_stream_args(arguments, name, vhost.name)
            if queue_type == "stream":
                check_stream_declare(m, arguments, name, vhost.name)
            if quorum:
                refuse_properties(m, name, vhost.name)
                refuse_args(arguments, NOT_FOR_QUORUM, name, vhost.name, "quorum")
            queue = Queue(
                name,
                vhost.name,
                durable=bool(m.durable),
                exclusive_owner=conn if m.exclusive else None,
                auto_delete=bool(m.auto_delete),
                arguments=arguments,
                now=now,
            )
            queue.node = conn.node  # RabbitMQ's default leader locator: client-local
            vhost.queues[name] = queue
            if b.policies or b.operator_policies:
                b._apply_queue_policy(queue)
            if queue.expires is not None or queue.message_ttl is not None:
                b._timed[queue] = None
            b._emit("queue_declared", queue=queue)
        else:
            queue = queue_or_none
            if b.down_nodes and (error := _cluster.unavailable(b, queue)) is not None:
                raise error
            b._check_exclusive(conn, queue)
            _queue_equivalent(queue, m, arguments, vhost.name)
    queue.last_used = now
    ch.last_queue = queue.name
    if not m.nowait:
        send_reply(
            ch,
            build(
                QueueMethods.DeclareOk,
                queue=queue.name,
                message_count=queue.message_count,
                # a stream answers from its statistics: no consumers, ever
                consumer_count=0 if queue.log is not None else len(queue.consumers),
            ),
        )


def _queue_equivalent(
    queue: Queue, m: QueueMethods.Declare, arguments: dict[str, Any], vhost: str
) -> None:
    def fail(arg: str, received: str, current: str) -> None:
        raise ChannelError(
            PRECONDITION_FAILED,
            f"inequivalent arg '{arg}' for queue '{queue.name}' in vhost '{vhost}': "
            f"received {received} but current is {current}",
        )

    if bool(m.durable) != queue.durable:
        fail("durable", f"'{erl_bool(m.durable)}'", f"'{erl_bool(queue.durable)}'")
    if bool(m.exclusive) != queue.exclusive:
        raise ChannelError(
            RESOURCE_LOCKED,
            f"cannot obtain exclusive access to locked queue '{queue.name}' in vhost "
            f"'{vhost}'. It could be originally declared on another connection or the "
            "exclusive property value does not match that of the original declaration.",
        )
    if bool(m.auto_delete) != queue.auto_delete:
        fail("auto_delete", f"'{erl_bool(m.auto_delete)}'", f"'{erl_bool(queue.auto_delete)}'")
    for key in STREAM_ARGS if queue.log is not None else EQUIVALENCE_CHECKED_ARGS:
        new, old = arguments.get(key), queue.arguments.get(key)
        if new is None and old is None:
            continue
        if key == "x-queue-type" and {
            str_arg(arguments, key),
            str_arg(queue.arguments, key),
        } <= {None, "classic"}:
            continue
        if new is None or old is None or not same_arg(new, old):
            fail(key, *inequivalent_values(new, old))


def queue_bind(b: Broker, ch: Channel, m: Any, p: Any, body: bytes) -> None:
    conn = ch.conn
    vhost = conn.vhost
    unbinding = isinstance(m, QueueMethods.Unbind)
    if m.exchange == "":
        raise ChannelError(ACCESS_REFUSED, "operation not permitted on the default exchange")
    name = b._queue_name(ch, m.queue)
    queue = vhost.queues.get(name)
    exchange = vhost.exchanges.get(m.exchange)
    if unbinding and (queue is None or exchange is None):
        send_reply(ch, QueueMethods.UnbindOk())
        return
    if exchange is None:
        raise ChannelError(NOT_FOUND, f"no exchange '{m.exchange}' in vhost '{vhost.name}'")
    if queue is None:
        raise ChannelError(NOT_FOUND, f"no queue '{name}' in vhost '{vhost.name}'")
    if b.down_nodes and (error := _cluster.unavailable(b, queue)) is not None:
        raise error
    b._check_exclusive(conn, queue)
    b._check_perm(conn, 1, "queue", name)
    b._check_perm(conn, 2, "exchange", m.exchange)
    arguments = dict(m.arguments or {})
    if unbinding:
        key = (queue, m.routing_key, args_key(arguments))
        if key in exchange.bindings:
            b._remove_binding(vhost, exchange, key)
        send_reply(ch, QueueMethods.UnbindOk())
    else:
        b._add_binding(vhost, exchange, queue, m.routing_key, arguments)
        if not m.nowait:
            send_reply(ch, QueueMethods.BindOk())
        if b.listeners:
            b._emit("queue_bound", queue=queue, exchange=exchange, routing_key=m.routing_key)


def queue_purge(b: Broker, ch: Channel, m: QueueMethods.Purge, p: Any, body: bytes) -> None:
    queue = b._queue(ch.conn, b._queue_name(ch, m.queue))
    b._check_perm(ch.conn, 2, "queue", queue.name)
    if queue.log is not None:
        raise refuse("queue.purge", queue)
    count = len(queue.purge())
    if not m.nowait:
        send_reply(ch, QueueMethods.PurgeOk(message_count=count))


def queue_delete(b: Broker, ch: Channel, m: QueueMethods.Delete, p: Any, body: bytes) -> None:
    conn = ch.conn
    name = b._queue_name(ch, m.queue)
    queue = conn.vhost.queues.get(name)
    count = 0
    if queue is not None:
        if b.down_nodes and (error := _cluster.unavailable(b, queue)) is not None:
            raise error
        b._check_exclusive(conn, queue)
        b._check_perm(conn, 0, "queue", name)
        if m.if_unused and queue.consumers:
            raise ChannelError(
                PRECONDITION_FAILED, f"queue '{name}' in vhost '{conn.vhost_name}' in use"
            )
        if m.if_empty and queue.message_count:
            raise ChannelError(
                PRECONDITION_FAILED, f"queue '{name}' in vhost '{conn.vhost_name}' not empty"
            )
        count = b._delete_queue(queue)
    if not m.nowait:
        send_reply(ch, QueueMethods.DeleteOk(message_count=count))
