"""The Python-level broker API for tests: declare, bind, publish, get, inspect and reset
without speaking AMQP (each call runs as a handler on a system channel), plus
interceptors (outside consumers such as RPC stubs) and injected messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from pamqp import base
from pamqp.commands import Basic
from pamqp.commands import Exchange as ExchangeMethods
from pamqp.commands import Queue as QueueMethods

from amqpmock.errors import (
    NOT_FOUND,
    ChannelError,
    ConnectionError_,
)
from amqpmock.fake._connection import CoreConnection
from amqpmock.fake._state import (
    OPEN,
    Channel,
    Interceptor,
)
from amqpmock.fake.commands import Command, SendMethod, build
from amqpmock.fake.model import Exchange, Message, Queue

if TYPE_CHECKING:
    from amqpmock.fake._broker import Broker


# --- the Python API for tests -----------------------------------------------------


def system_channel(b: Broker) -> Channel:
    conn = b._system
    if conn is None or conn.closed:
        b._next_conn += 1
        conn = CoreConnection(b, b._next_conn, "/", "", {}, "system", lambda c: None)
        b._system = conn
    ch = conn.channels.get(1)
    if ch is None or ch.state != OPEN:
        ch = conn.channels[1] = Channel(1, conn)
    return ch


def call(
    b: Broker, method: base.Frame, properties: Basic.Properties | None = None, body: bytes = b""
) -> list[Command]:
    ch = b._system_channel()
    captured: list[Command] = []
    previous, ch.conn.sink = ch.conn.sink, captured.append
    b._in_method += 1
    try:
        handler = b.handlers[type(method)]
        handler(b, ch, method, properties, body)
    finally:
        b._in_method -= 1
        ch.conn.sink = previous
        b._run_dispatch()
        if not b._in_method:
            b._run_deferred()
    return captured


# --- interception: outside consumers (RPC stubs, replayed services) -------------


def intercept(
    b: Broker,
    exchange: str,
    routing_key: str,
    handler: Callable[[Message], None],
    vhost: str = "/",
) -> Interceptor:
    """Let ``handler`` see every message published to ``exchange`` whose routing key
    matches ``routing_key`` (a topic pattern: ``*`` and ``#`` work for any exchange
    type). Such a publish counts as routed, as if a remote consumer's queue were
    bound; the handler runs after the publishing method is done, so it can publish
    replies through the broker."""
    interceptor = Interceptor(b, vhost, exchange, routing_key, handler)
    b._interceptors.setdefault((vhost, exchange), []).append(interceptor)
    return interceptor


def intercepted(b: Broker, vhost: str, message: Message) -> bool:
    found = False
    for interceptor in b._interceptors.get((vhost, message.exchange), ()):
        if interceptor.matches(message.routing_key):
            b._deferred.append(partial(interceptor.run, message))
            found = True
    return found


def inject(
    b: Broker,
    queue: str,
    exchange: str,
    routing_key: str,
    body: bytes,
    properties: Basic.Properties | None = None,
    vhost: str = "/",
) -> bool:
    """Put a message straight into ``queue`` as if ``exchange`` had routed it there
    with ``routing_key`` (replayed outside traffic). False if the queue is gone or
    refuses it."""
    target = b.vhosts[vhost].queues.get(queue)
    if target is None:
        return False
    message = b._new_message(exchange, routing_key, properties or Basic.Properties(), body, vhost)
    if b.listeners:
        b._emit("injected", message=message, queue=target)
    accepted = b._enqueue(target, message)
    b._run_dispatch()
    return accepted


def declare_exchange(
    b: Broker,
    name: str,
    type: str = "direct",
    *,
    durable: bool = False,
    auto_delete: bool = False,
    internal: bool = False,
    arguments: dict[str, Any] | None = None,
    passive: bool = False,
) -> Exchange:
    b._call(
        build(
            ExchangeMethods.Declare,
            exchange=name,
            exchange_type=type,
            passive=passive,
            durable=durable,
            auto_delete=auto_delete,
            internal=internal,
            arguments=arguments or {},
        )
    )
    return b.vhosts["/"].exchanges[name]


def declare_queue(
    b: Broker,
    name: str = "",
    *,
    durable: bool = False,
    exclusive: bool = False,
    auto_delete: bool = False,
    arguments: dict[str, Any] | None = None,
    passive: bool = False,
) -> Queue:
    out = b._call(
        build(
            QueueMethods.Declare,
            queue=name,
            passive=passive,
            durable=durable,
            exclusive=exclusive,
            auto_delete=auto_delete,
            arguments=arguments or {},
        )
    )
    reply = out[-1]
    assert isinstance(reply, SendMethod) and isinstance(reply.method, QueueMethods.DeclareOk)
    return b.vhosts["/"].queues[str(reply.method.queue)]


def bind_queue(
    b: Broker,
    queue: str,
    exchange: str,
    routing_key: str = "",
    arguments: dict[str, Any] | None = None,
) -> None:
    b._call(
        build(
            QueueMethods.Bind,
            queue=queue,
            exchange=exchange,
            routing_key=routing_key,
            arguments=arguments or {},
        )
    )


def unbind_queue(
    b: Broker,
    queue: str,
    exchange: str,
    routing_key: str = "",
    arguments: dict[str, Any] | None = None,
) -> None:
    b._call(
        build(
            QueueMethods.Unbind,
            queue=queue,
            exchange=exchange,
            routing_key=routing_key,
            arguments=arguments or {},
        )
    )


def bind_exchange(
    b: Broker,
    destination: str,
    source: str,
    routing_key: str = "",
    arguments: dict[str, Any] | None = None,
) -> None:
    b._call(
        build(
            ExchangeMethods.Bind,
            destination=destination,
            source=source,
            routing_key=routing_key,
            arguments=arguments or {},
        )
    )


def delete_queue(b: Broker, name: str, *, if_unused: bool = False, if_empty: bool = False) -> int:
    out = b._call(build(QueueMethods.Delete, queue=name, if_unused=if_unused, if_empty=if_empty))
    reply = out[-1]
    assert isinstance(reply, SendMethod) and isinstance(reply.method, QueueMethods.DeleteOk)
    return int(reply.method.message_count or 0)


def delete_exchange(b: Broker, name: str, *, if_unused: bool = False) -> None:
    b._call(build(ExchangeMethods.Delete, exchange=name, if_unused=if_unused))


def purge_queue(b: Broker, name: str) -> int:
    out = b._call(build(QueueMethods.Purge, queue=name))
    reply = out[-1]
    assert isinstance(reply, SendMethod) and isinstance(reply.method, QueueMethods.PurgeOk)
    return int(reply.method.message_count or 0)


def publish(
    b: Broker,
    exchange: str,
    routing_key: str,
    body: bytes | str = b"",
    properties: Basic.Properties | dict[str, Any] | None = None,
    *,
    mandatory: bool = False,
) -> list[str]:
    """Publish as a client would; returns the names of the queues it reached."""
    if isinstance(body, str):
        body = body.encode()
    if properties is None:
        properties = Basic.Properties()
    elif isinstance(properties, dict):
        properties = Basic.Properties(**properties)
    routed: list[str] = []

    def record(event: str, data: dict[str, Any]) -> None:
        if event == "routed":
            routed.extend(q.name for q in data["queues"])

    b.listeners.append(record)
    try:
        b._call(
            build(Basic.Publish, exchange=exchange, routing_key=routing_key, mandatory=mandatory),
            properties,
            body,
        )
    finally:
        b.listeners.remove(record)
    return routed


def get(b: Broker, queue: str) -> Message | None:
    """Take the next ready message off a queue (auto-ack), or None."""
    entry = b._pop_ready(b.queue(queue))
    return entry.message if entry is not None else None


def queue(b: Broker, name: str, vhost: str = "/") -> Queue:
    queue = b.vhosts[vhost].queues.get(name)
    if queue is None:
        raise ChannelError(NOT_FOUND, f"no queue '{name}' in vhost '{vhost}'")
    return queue


def exchange(b: Broker, name: str, vhost: str = "/") -> Exchange:
    exchange = b.vhosts[vhost].exchanges.get(name)
    if exchange is None:
        raise ChannelError(NOT_FOUND, f"no exchange '{name}' in vhost '{vhost}'")
    return exchange


def queues(b: Broker, vhost: str = "/") -> dict[str, Queue]:
    return dict(b.vhosts[vhost].queues)


def exchanges(b: Broker, vhost: str = "/") -> dict[str, Exchange]:
    return dict(b.vhosts[vhost].exchanges)


def messages(b: Broker, queue: str, vhost: str = "/") -> list[Message]:
    """The ready messages of a queue, in delivery order, without taking them."""
    return [entry.message for entry in b.queue(queue, vhost).entries()]


def bindings(b: Broker, vhost: str = "/") -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(source exchange, destination name, routing key, arguments) of every binding."""
    for exchange in b.vhosts[vhost].exchanges.values():
        for (dest, key, _), args in exchange.bindings.items():
            yield exchange.name, dest.name, key, dict(args)


def reset(b: Broker) -> None:
    """Back to a fresh broker: close every connection, drop all queues and exchanges;
    the vhosts, users and permissions are those of ``mark_baseline``."""
    for conn in list(b.connections.values()):
        conn.connection_error(ConnectionError_(320, "broker reset"))
    users, permissions, names, policies, operator_policies = b._baseline
    b.users = dict(users)
    b.permissions = dict(permissions)
    b.policies = dict(policies)
    b.operator_policies = dict(operator_policies)
    b._perm_cache.clear()
    b.vhosts.clear()
    for name in names:
        b.add_vhost(name)
    b._timed.clear()
    b._to_dispatch.clear()
    b._dispatch_later.clear()
    b._reply_channels.clear()
    b._system = None
    b._timers.clear()
    b._deferred.clear()
    for interceptors in list(b._interceptors.values()):
        for interceptor in list(interceptors):
            interceptor.remove()
    for restore in list(b.after_reset):  # e.g. the queues of loaded definitions
        restore()
