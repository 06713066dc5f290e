"""The broker core: vhosts, connections and channels, and every AMQP method on them.

Rules this module keeps:
- Sans-IO and synchronous: methods come in through ``CoreConnection.handle`` (pamqp
  command objects, content already assembled) and what must be sent goes out as
  commands (``amqpmock.fake.commands``), collected per connection. A publish on one
  connection may queue deliveries on others; ``Broker.take_output()`` gives the adapter
  everything pending. No sockets, threads or clocks: time comes from the given Clock.
- Deterministic: generated names come from a seeded RNG, deliveries from FIFO order and
  round-robin over consumers, processed when the current method is done.
- Errors are raised as ``AMQPError`` with RabbitMQ's code and text inside handlers;
  ``handle`` turns them into ``Channel.Close`` (soft) or ``Connection.Close`` (hard).
  Nothing a client sends can raise out of ``handle``.
"""

from __future__ import annotations

import base64
import datetime
import heapq
import random
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pamqp import base, commands
from pamqp.commands import Basic, Confirm, Tx
from pamqp.commands import Channel as ChannelMethods
from pamqp.commands import Connection as ConnectionMethods
from pamqp.commands import Exchange as ExchangeMethods
from pamqp.commands import Queue as QueueMethods

from amqpmock.errors import (
    ACCESS_REFUSED,
    CHANNEL_ERROR,
    COMMAND_INVALID,
    INTERNAL_ERROR,
    NOT_ALLOWED,
    NOT_FOUND,
    NOT_IMPLEMENTED,
    PRECONDITION_FAILED,
    RESOURCE_LOCKED,
    AMQPError,
    ChannelError,
    ConnectionError_,
)
from amqpmock.fake.clock import Clock, VirtualClock
from amqpmock.fake.commands import Command, SendContent, SendMethod
from amqpmock.fake.model import Consumer, Entry, Exchange, Message, Queue, str_arg
from amqpmock.fake.routing import EXCHANGE_TYPES, ExchangeType, TopicRouting

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
_REPLY_PREFIX = DIRECT_REPLY_TO + "."

# The exchanges every RabbitMQ vhost has from the start.
PREDECLARED_EXCHANGES: tuple[tuple[str, str], ...] = (
    ("", "direct"),
    ("amq.direct", "direct"),
    ("amq.fanout", "fanout"),
    ("amq.topic", "topic"),
    ("amq.headers", "headers"),
    ("amq.match", "headers"),
    ("amq.rabbitmq.trace", "topic"),
)

# Queue arguments RabbitMQ compares on redeclare (rabbit_amqqueue:declare_args/0).
EQUIVALENCE_CHECKED_ARGS = (
    "x-expires",
    "x-message-ttl",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-max-length",
    "x-max-length-bytes",
    "x-max-in-memory-length",
    "x-max-in-memory-bytes",
    "x-max-priority",
    "x-overflow",
    "x-queue-mode",
    "x-single-active-consumer",
    "x-queue-type",  # absent and 'classic' are the same (observed)
    "x-queue-master-locator",
    "x-delivery-limit",
)

_OVERFLOW_MODES = ("drop-head", "reject-publish", "reject-publish-dlx")
# Classic-queue arguments a quorum queue refuses (observed on RabbitMQ 3.10.8).
_NOT_FOR_QUORUM = frozenset(
    {"x-max-priority", "x-queue-mode", "x-queue-master-locator", "x-queue-version"}
)


def _field_type(value: Any) -> str:
    """RabbitMQ's name for a field value's type, as it appears in 406 texts."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return "signedint"
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str | bytes):
        return "longstr"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, list):
        return "array"
    if isinstance(value, datetime.datetime):
        return "timestamp"
    return "void"


def _erl_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _describe_arg(value: Any) -> str:
    if value is None:
        return "none"
    return f"the value '{_erl_value(value)}' of type '{_field_type(value)}'"


def _inequivalent_values(new: Any, old: Any) -> tuple[str, str]:
    """How RabbitMQ words a changed argument: bare values when both are set."""
    if new is not None and old is not None:
        return f"'{_erl_value(new)}'", f"'{_erl_value(old)}'"
    return _describe_arg(new), _describe_arg(old)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _args_key(arguments: dict[str, Any]) -> str:
    return repr(sorted((k, repr(v)) for k, v in arguments.items()))


def _delivered_properties(queue: Queue, entry: Entry) -> Basic.Properties:
    """A message's properties as its queue hands it out: a quorum queue adds
    x-delivery-count (the times it was returned, 0 at first)."""
    props = entry.message.properties
    if not queue.quorum:
        return props
    headers = dict(props.headers or {})
    headers["x-delivery-count"] = entry.returns
    return copy_properties(props, headers=headers)


def copy_properties(props: Basic.Properties, **changes: Any) -> Basic.Properties:
    values = {name: getattr(props, name) for name in Basic.Properties.__slots__}
    if values.get("headers") is not None:
        values["headers"] = dict(values["headers"])
    values.update(changes)
    return Basic.Properties(**values)


@dataclass(slots=True, eq=False)
class Unacked:
    entry: Entry
    queue: Queue
    consumer: Consumer | None


@dataclass(eq=False)
class Timer:
    """A callback due at ``when`` (clock seconds); ``cancel()`` stops it."""

    when: float
    seq: int
    callback: Callable[[], None]
    cancelled: bool = False

    def __lt__(self, other: Timer) -> bool:
        return (self.when, self.seq) < (other.when, other.seq)

    def cancel(self) -> None:
        self.cancelled = True


class Interceptor:
    """An outside consumer of publishes to one exchange (see ``Broker.intercept``)."""

    def __init__(
        self,
        broker: Broker,
        vhost: str,
        exchange: str,
        pattern: str,
        handler: Callable[[Message], None],
    ) -> None:
        self.broker = broker
        self.vhost = vhost
        self.exchange = exchange
        self.pattern = pattern
        self.handler = handler
        self.active = True
        self.calls = 0
        self._routing = TopicRouting()
        self._routing.bind(self, pattern, {})

    def matches(self, routing_key: str) -> bool:
        return bool(self._routing.match(routing_key, None))

    def run(self, message: Message) -> None:
        if self.active:
            self.calls += 1
            self.handler(message)

    def remove(self) -> None:
        self.active = False
        entries = self.broker._interceptors.get((self.vhost, self.exchange), [])
        if self in entries:
            entries.remove(self)
            if not entries:
                del self.broker._interceptors[(self.vhost, self.exchange)]


@dataclass(slots=True, eq=False)
class _TxOp:
    kind: str  # "publish" | "ack" | "nack" | "reject"
    method: base.Frame
    properties: Basic.Properties | None = None
    body: bytes = b""


class VHost:
    def __init__(self, name: str) -> None:
        self.name = name
        self.exchanges: dict[str, Exchange] = {}
        self.queues: dict[str, Queue] = {}


# Channel states, and the methods each state accepts (everything else is ignored while
# closing, as RabbitMQ does after it has sent Channel.Close).
OPEN, CLOSING = "open", "closing"


@dataclass(eq=False)
class Channel:
    id: int
    conn: CoreConnection
    state: str = OPEN
    next_tag: int = 0
    unacked: dict[int, Unacked] = field(default_factory=dict)
    consumers: dict[str, Consumer] = field(default_factory=dict)
    consumer_prefetch: int = 0
    global_prefetch: int = 0
    # False while deliveries must wait: the connection's socket is backed up (see
    # CoreConnection.set_writable). A client's channel.flow(active=false) would set it
    # too, but RabbitMQ 3.x refuses that with 540, and so does the core.
    flow_active: bool = True
    confirm: bool = False
    publish_seq: int = 0
    tx: bool = False
    tx_ops: list[_TxOp] = field(default_factory=list)
    last_queue: str | None = None
    reply_consumer: str | None = None
    reply_token: str | None = None

    def unacked_count(self) -> int:
        return len(self.unacked)

    def __hash__(self) -> int:
        return id(self)


class CoreConnection:
    """One client connection inside the broker, after the AMQP handshake."""

    def __init__(
        self,
        broker: Broker,
        number: int,
        vhost: str,
        user: str,
        client_properties: dict[str, Any] | None,
        peer: str,
        sink: Callable[[Command], None] | None,
    ) -> None:
        self.broker = broker
        self.number = number
        self.vhost_name = vhost
        # a VHost object lives as long as the broker does not reset, and reset closes
        # every connection, so caching it here is safe
        self.vhost: VHost = broker.vhosts[vhost]
        self.user = user
        self.client_properties: dict[str, Any] = dict(client_properties or {})
        caps = self.client_properties.get("capabilities") or {}
        self.capabilities: dict[str, Any] = dict(caps) if isinstance(caps, dict) else {}
        self.peer = peer
        self.sink = sink
        self.outbox: list[Command] = []
        self.channels: dict[int, Channel] = {}
        self.writable = True
        self.closing = False
        self.closed = False

    def __repr__(self) -> str:
        return f"<CoreConnection #{self.number} {self.user}@{self.vhost_name} {self.peer}>"

    # --- output ------------------------------------------------------------------

    def send(self, command: Command) -> None:
        if self.closed:
            return
        if self.sink is not None:
            self.sink(command)
        else:
            self.outbox.append(command)
            self.broker._dirty[self] = None

    def take_output(self) -> list[Command]:
        out, self.outbox = self.outbox, []
        self.broker._dirty.pop(self, None)
        return out

    def set_writable(self, writable: bool) -> None:
        """Whether the client is keeping up with what is sent to it.

        An adapter calls this with False when the socket's write buffer is over its
        high-water mark: the connection's consumers then get no deliveries, and the
        messages stay ready in their queues (where RabbitMQ keeps them while its writer
        is blocked), instead of piling up as bytes in the adapter. True resumes them.
        """
        if writable == self.writable:
            return
        self.writable = writable
        broker = self.broker
        for ch in self.channels.values():
            ch.flow_active = writable
            if writable:
                for consumer in ch.consumers.values():
                    broker._to_dispatch[consumer.queue] = None
        if writable and broker._to_dispatch and not broker._in_method:
            broker._run_dispatch()

    # --- input -------------------------------------------------------------------

    def channel_is_open(self, channel_id: int) -> bool:
        ch = self.channels.get(channel_id)
        return ch is not None and ch.state == OPEN

    def handle(
        self,
        channel_id: int,
        method: base.Frame,
        properties: Basic.Properties | None = None,
        body: bytes = b"",
    ) -> None:
        """Process one method from the client. Never raises for anything the client sent."""
        if self.closed or self.closing:
            return
        broker = self.broker
        broker._in_method += 1
        try:
            self._handle(channel_id, method, properties, body)
        except ChannelError as exc:
            self._channel_error(channel_id, exc, method)
        except ConnectionError_ as exc:
            self.connection_error(exc, method)
        except Exception as exc:  # a bug of ours must not take the server down
            self.connection_error(
                ConnectionError_(INTERNAL_ERROR, f"internal error: {type(exc).__name__}: {exc}"),
                method,
            )
        finally:
            broker._in_method -= 1
            if broker._to_dispatch:
                broker._run_dispatch()
            if broker._deferred and not broker._in_method:
                broker._run_deferred()

    def _handle(
        self,
        channel_id: int,
        method: base.Frame,
        properties: Basic.Properties | None,
        body: bytes,
    ) -> None:
        if isinstance(method, ChannelMethods.Open):
            if channel_id in self.channels:
                raise ConnectionError_(CHANNEL_ERROR, "second 'channel.open' seen")
            if channel_id == 0:
                raise ConnectionError_(
                    CHANNEL_ERROR, "unexpected method in connection state running"
                )
            self.channels[channel_id] = Channel(channel_id, self, flow_active=self.writable)
            self.send(SendMethod(channel_id, ChannelMethods.OpenOk()))
            return
        ch = self.channels.get(channel_id)
        if ch is None:
            raise ConnectionError_(CHANNEL_ERROR, "expected 'channel.open'")
        if ch.state == CLOSING:
            # RabbitMQ drops everything but close/close-ok on a closing channel
            if isinstance(method, ChannelMethods.CloseOk):
                del self.channels[channel_id]
            elif isinstance(method, ChannelMethods.Close):
                self.send(SendMethod(channel_id, ChannelMethods.CloseOk()))
            return
        handler = _HANDLERS.get(type(method))
        if handler is None:
            if type(method).__qualname__.startswith("Connection."):
                # RabbitMQ's words for a connection method on a channel
                raise ConnectionError_(COMMAND_INVALID, "unimplemented method")
            raise ConnectionError_(
                NOT_IMPLEMENTED if _is_known(method) else COMMAND_INVALID,
                f"unexpected method {method.name} on channel {channel_id}",
            )
        handler(self.broker, ch, method, properties, body)

    def _channel_error(self, channel_id: int, exc: AMQPError, method: base.Frame) -> None:
        ch = self.channels.get(channel_id)
        if ch is None:
            self.connection_error(ConnectionError_(CHANNEL_ERROR, exc.text), method)
            return
        self.broker._close_channel(ch)
        ch.state = CLOSING
        self.send(
            SendMethod(
                channel_id,
                ChannelMethods.Close(
                    reply_code=exc.reply_code,
                    reply_text=exc.reply_text,
                    class_id=_class_id(method),
                    method_id=_method_id(method),
                ),
            )
        )
        self.broker._notify_error(self, exc)

    def connection_error(self, exc: AMQPError, method: base.Frame | None = None) -> None:
        """Close the whole connection with ``exc`` (Connection.Close on channel 0)."""
        if self.closing or self.closed:
            return
        self.broker._release_connection(self)
        self.closing = True
        self.send(
            SendMethod(
                0,
                ConnectionMethods.Close(
                    reply_code=exc.reply_code,
                    reply_text=exc.reply_text,
                    class_id=exc.class_id or (_class_id(method) if method else 0),
                    method_id=exc.method_id or (_method_id(method) if method else 0),
                ),
            )
        )
        self.broker._notify_error(self, exc)

    def close(self) -> None:
        """The connection is over (Close handled by the protocol, or the socket died)."""
        if self.closed:
            return
        self.broker._release_connection(self)
        self.closing = True
        self.closed = True
        self.outbox.clear()
        self.broker._dirty.pop(self, None)
        self.broker.connections.pop(self.number, None)
        self.broker._run_dispatch()


def _class_id(method: base.Frame) -> int:
    return (method.index >> 16) & 0xFFFF if hasattr(method, "index") else 0


def _method_id(method: base.Frame) -> int:
    return method.index & 0xFFFF if hasattr(method, "index") else 0


def _is_known(method: base.Frame) -> bool:
    return getattr(method, "index", None) in commands.INDEX_MAPPING


class Broker:
    """A fake RabbitMQ: vhosts, users, connections, and a Python API for tests."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        seed: int = 0,
        users: dict[str, str] | None = None,
        vhosts: Iterable[str] = ("/",),
        exchange_types: dict[str, type[ExchangeType]] | None = None,
    ) -> None:
        self.clock: Clock = clock if clock is not None else VirtualClock()
        self._rng = random.Random(seed)
        self.exchange_types: dict[str, type[ExchangeType]] = dict(EXCHANGE_TYPES)
        if exchange_types:
            self.exchange_types.update(exchange_types)
        self.users: dict[str, tuple[str, tuple[str, ...]]] = {}
        # (connection number, kind, resource name) -> allowed
        self._perm_cache: dict[tuple[int, int, str], bool] = {}
        self.permissions: dict[tuple[str, str], tuple[str, str, str]] = {}
        self.vhosts: dict[str, VHost] = {}
        for name in vhosts:
            self.add_vhost(name)
        for name, password in (users if users is not None else {"guest": "guest"}).items():
            self.add_user(name, password, tags=("administrator",))
            for vhost in self.vhosts:
                self.set_permissions(name, vhost)
        self.connections: dict[int, CoreConnection] = {}
        self._next_conn = 0
        self._next_message_id = 0
        self._dirty: dict[CoreConnection, None] = {}
        self._to_dispatch: dict[Queue, None] = {}
        self._timed: dict[Queue, None] = {}
        self._reply_channels: dict[str, Channel] = {}
        self.blocked_reason: str | None = None
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._system: CoreConnection | None = None
        self._timers: list[Timer] = []
        self._timer_seq = 0
        # (vhost, exchange) -> interceptors that take publishes as outside consumers would
        self._interceptors: dict[tuple[str, str], list[Interceptor]] = {}
        # work to run once the current method is done (interceptors, replay injections)
        self._deferred: list[Callable[[], None]] = []
        self._in_method = 0  # depth of methods being handled

    # --- users, vhosts, permissions ----------------------------------------------

    def add_vhost(self, name: str) -> VHost:
        vhost = self.vhosts.get(name)
        if vhost is None:
            vhost = self.vhosts[name] = VHost(name)
            for ex_name, ex_type in PREDECLARED_EXCHANGES:
                vhost.exchanges[ex_name] = Exchange(
                    ex_name,
                    ex_type,
                    self.exchange_types[ex_type](),
                    durable=True,
                    internal=ex_name == "amq.rabbitmq.trace",
                    predeclared=True,
                )
        return vhost

    def add_user(self, name: str, password: str, tags: Iterable[str] = ()) -> None:
        self.users[name] = (password, tuple(tags))

    def set_permissions(
        self,
        user: str,
        vhost: str,
        configure: str = ".*",
        write: str = ".*",
        read: str = ".*",
    ) -> None:
        self.permissions[(user, vhost)] = (configure, write, read)
        self._perm_cache.clear()

    def authenticate(self, user: str, password: str) -> bool:
        known = self.users.get(user)
        return known is not None and known[0] == password

    def check_vhost(self, user: str, vhost: str) -> None:
        if vhost not in self.vhosts:
            raise ConnectionError_(NOT_ALLOWED, f"vhost {vhost} not found")
        if (user, vhost) not in self.permissions:
            raise ConnectionError_(
                NOT_ALLOWED, f"access to vhost '{vhost}' refused for user '{user}'"
            )

    def _check_perm(self, conn: CoreConnection, kind: int, resource: str, name: str) -> None:
        key = (conn.number, kind, name)
        allowed = self._perm_cache.get(key)
        if allowed is None:
            perms = self.permissions.get((conn.user, conn.vhost_name))
            allowed = conn is self._system or (
                perms is not None and re.fullmatch(perms[kind], name) is not None
            )
            if len(self._perm_cache) > 10_000:
                self._perm_cache.clear()
            self._perm_cache[key] = allowed
        if not allowed:
            what = ("configure", "write", "read")[kind]
            raise ChannelError(
                ACCESS_REFUSED,
                f"{what} access to {resource} '{name}' in vhost '{conn.vhost_name}' "
                f"refused for user '{conn.user}'",
            )

    # --- connections and output ----------------------------------------------------

    def open_connection(
        self,
        vhost: str = "/",
        user: str = "guest",
        client_properties: dict[str, Any] | None = None,
        peer: str = "",
        sink: Callable[[Command], None] | None = None,
    ) -> CoreConnection:
        """A connection that has passed the handshake. ``sink`` receives its output at once
        (local clients); without one, output waits for ``take_output()``."""
        self.check_vhost(user, vhost)
        self._next_conn += 1
        conn = CoreConnection(self, self._next_conn, vhost, user, client_properties, peer, sink)
        self.connections[conn.number] = conn
        self._emit("connection_opened", connection=conn)
        return conn

    def take_output(self) -> list[tuple[CoreConnection, list[Command]]]:
        """Everything pending for every connection without a sink, in connection order."""
        pending = list(self._dirty)
        self._dirty.clear()
        out = []
        for conn in pending:
            commands_, conn.outbox = conn.outbox, []
            if commands_:
                out.append((conn, commands_))
        return out

    def block(self, reason: str = "low on memory") -> None:
        """Simulate a resource alarm: the protocol sends Connection.Blocked."""
        self.blocked_reason = reason

    def unblock(self) -> None:
        self.blocked_reason = None

    def _emit(self, event: str, **data: Any) -> None:
        for listener in self.listeners:
            listener(event, data)

    def _notify_error(self, conn: CoreConnection, exc: AMQPError) -> None:
        self._emit("error", connection=conn, error=exc)

    # --- timers ----------------------------------------------------------------------

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` once the clock has moved ``delay`` seconds on (via run_timers)."""
        self._timer_seq += 1
        timer = Timer(self.clock.now() + delay, self._timer_seq, callback)
        heapq.heappush(self._timers, timer)
        return timer

    def next_deadline(self) -> float | None:
        """The earliest time at which ``run_timers`` has work (TTL, queue expiry, timers)."""
        soonest: float | None = None
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        if self._timers:
            soonest = self._timers[0].when
        for queue in self._timed:
            when = queue.next_expiry()
            if queue.expires is not None and not queue.consumers:
                idle = queue.last_used + queue.expires / 1000.0
                when = idle if when is None else min(when, idle)
            if when is not None and (soonest is None or when < soonest):
                soonest = when
        return soonest

    def run_timers(self) -> None:
        """Expire messages and queues whose time has come (per the clock)."""
        now = self.clock.now()
        while self._timers and self._timers[0].when <= now:
            timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback()
        for queue in list(self._timed):
            if queue.deleted:
                self._timed.pop(queue, None)
                continue
            if (
                queue.expires is not None
                and not queue.consumers
                and now >= queue.last_used + queue.expires / 1000.0
            ):
                self._delete_queue(queue)
                continue
            self._expire(queue, now)
            if queue.timed_entries == 0 and queue.expires is None and queue.message_ttl is None:
                self._timed.pop(queue, None)
        self._run_dispatch()
        if not self._in_method:
            self._run_deferred()

    def advance(self, seconds: float) -> None:
        """Move a VirtualClock forward and run the timers that came due."""
        clock = self.clock
        if not isinstance(clock, VirtualClock):
            raise TypeError("advance() needs the broker to run on a VirtualClock")
        target = clock.now() + seconds
        while True:
            deadline = self.next_deadline()
            if deadline is None or deadline > target:
                break
            clock.set(max(deadline, clock.now()))
            self.run_timers()
        clock.set(target)
        self.run_timers()

    def _expire(self, queue: Queue, now: float) -> None:
        for entry in queue.pop_expired(now):
            self._emit("expired", queue=queue, message=entry.message)
            self._dead_letter(queue, entry.message, "expired")

    # --- names -----------------------------------------------------------------------

    def _token(self) -> str:
        raw = self._rng.getrandbits(128).to_bytes(16, "big")
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _reply_token(self, ch: Channel) -> str:
        # RabbitMQ: base64 of the channel's identity, '.', base64 of a 16-byte key. Its
        # padded standard base64 ('=', '+', '/') fails pamqp's queue-name check when
        # the name is echoed in Queue.DeclareOk, so the URL-safe unpadded form is used.
        ident = f"amqpmock@{ch.conn.number}.{ch.id}".encode()
        key = self._rng.getrandbits(128).to_bytes(16, "big")

        def b64(raw: bytes) -> str:
            return base64.urlsafe_b64encode(raw).decode().rstrip("=")

        return f"{b64(ident)}.{b64(key)}"

    def _server_name(self, prefix: str) -> str:
        return f"{prefix}-{self._token()}"

    # --- routing and enqueueing -------------------------------------------------------

    def _route(self, vhost: VHost, exchange: Exchange, message: Message) -> list[Queue]:
        headers = message.properties.headers
        found: dict[Queue, None] = {}
        self._route_key(vhost, exchange, message.routing_key, headers, found, None)
        if headers and ("CC" in headers or "BCC" in headers):
            # sender-selected distribution: more routing keys in CC / BCC headers
            for name in ("CC", "BCC"):
                extra = headers.get(name)
                if isinstance(extra, list):
                    for k in extra:
                        key = k.decode() if isinstance(k, bytes) else str(k)
                        self._route_key(vhost, exchange, key, headers, found, None)
        return list(found)

    def _route_key(
        self,
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
                self._route_key(vhost, dest, key, headers, found, seen)
        if not matched:
            ae_name = exchange.alternate_exchange
            if ae_name is not None:
                ae = vhost.exchanges.get(ae_name)
                if ae is not None:
                    if seen is None:
                        seen = {exchange}
                    self._route_key(vhost, ae, key, headers, found, seen)

    def _new_message(
        self, exchange: str, routing_key: str, props: Basic.Properties, body: bytes
    ) -> Message:
        self._next_message_id += 1
        return Message(exchange, routing_key, props, body, self.clock.now(), self._next_message_id)

    def _enqueue(self, queue: Queue, message: Message) -> bool:
        """Put a routed message into a queue. False when the queue rejects it."""
        if queue.plain and not queue.consumers and message.properties.expiration is None:
            queue.push_plain(message)
            return True
        now = self.clock.now()
        entry = queue.new_entry(message, now)
        if queue.overflow != "drop-head" and queue.over_limit(entry):
            if queue.overflow == "reject-publish-dlx":
                self._dead_letter(queue, message, "maxlen")
            return False
        if entry.expires_at is not None or queue.expires is not None:
            self._timed[queue] = None
        if queue.message_count == 0 and queue.consumers:
            consumer = queue.next_consumer()
            if consumer is not None:
                self._deliver(consumer, entry)
                return True
        queue.push(entry)
        if queue.overflow == "drop-head":
            while queue.over_limit():
                dropped = queue.pop()
                if dropped is None:
                    break
                self._emit("dropped", queue=queue, message=dropped.message)
                self._dead_letter(queue, dropped.message, "maxlen")
        if entry.expires_at is not None and entry.expires_at <= now:
            self._expire(queue, now)
        if queue.consumers:
            self._to_dispatch[queue] = None
        return True

    def _deliver(self, consumer: Consumer, entry: Entry) -> None:
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
                Basic.Deliver(
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
        if self.listeners:
            self._emit(
                "delivered",
                queue=consumer.queue,
                message=message,
                consumer=consumer.tag,
                delivery_tag=tag,
                redelivered=entry.redelivered,
                connection=ch.conn,
            )

    def _dispatch(self, queue: Queue) -> None:
        if queue.deleted or not queue.consumers:
            return
        now = self.clock.now()
        if queue.timed_entries:
            self._expire(queue, now)
        while queue.message_count:
            consumer = queue.next_consumer()
            if consumer is None:
                return
            entry = queue.pop()
            assert entry is not None
            if entry.expires_at is not None and entry.expires_at <= now:
                self._dead_letter(queue, entry.message, "expired")
                continue
            self._deliver(consumer, entry)

    def _run_dispatch(self) -> None:
        while self._to_dispatch:
            queue = next(iter(self._to_dispatch))
            del self._to_dispatch[queue]
            self._dispatch(queue)

    # --- dead lettering ------------------------------------------------------------

    def _dead_letter(self, queue: Queue, message: Message, reason: str) -> None:
        if queue.dlx is None:
            return
        vhost = self.vhosts.get(queue.vhost)
        exchange = vhost.exchanges.get(queue.dlx) if vhost else None
        if vhost is None or exchange is None:
            return
        props = message.properties
        headers = dict(props.headers or {})
        old_deaths = headers.get("x-death")
        deaths: list[dict[str, Any]] = [
            dict(d)
            for d in (old_deaths if isinstance(old_deaths, list) else [])
            if isinstance(d, dict)
        ]
        routing_keys: list[str] = [message.routing_key]
        cc = headers.get("CC")
        if isinstance(cc, list):
            routing_keys.extend(k.decode() if isinstance(k, bytes) else str(k) for k in cc)
        now = self.clock.now()
        existing = next(
            (d for d in deaths if d.get("queue") == queue.name and d.get("reason") == reason),
            None,
        )
        if existing is not None:
            deaths.remove(existing)
            existing["count"] = int(existing.get("count", 0)) + 1
            death = dict(sorted(existing.items()))
        else:
            death = {
                "count": 1,
                "reason": reason,
                "queue": queue.name,
                "time": datetime.datetime.fromtimestamp(int(now), tz=datetime.UTC),
                "exchange": message.exchange,
                "routing-keys": routing_keys,
            }
            if props.expiration is not None:
                death["original-expiration"] = props.expiration
            if deaths:
                # RabbitMQ 3.10 builds the first x-death entry in this order; an entry
                # added to (or updated in) an existing x-death comes out key-sorted
                death = dict(sorted(death.items()))
        deaths.insert(0, death)
        headers["x-death"] = deaths  # type: ignore[assignment]
        headers.setdefault("x-first-death-reason", reason)
        headers.setdefault("x-first-death-queue", queue.name)
        headers.setdefault("x-first-death-exchange", message.exchange)
        # and it sorts the headers table it rewrites
        headers = dict(sorted(headers.items()))
        new_props = copy_properties(props, headers=headers, expiration=None)
        keys = [queue.dlrk] if queue.dlrk is not None else routing_keys
        dead = self._new_message(queue.dlx, keys[0], new_props, message.body)
        found: dict[Queue, None] = {}
        for key in keys:
            self._route_key(vhost, exchange, key, new_props.headers, found, None)
        rejected = any(d.get("reason") == "rejected" for d in deaths)
        self._emit("dead_lettered", queue=queue, message=dead, reason=reason)
        for target in found:
            # a dead-letter cycle without any rejection drops the message (RabbitMQ)
            if not rejected and any(d.get("queue") == target.name for d in deaths):
                continue
            self._enqueue(target, dead)

    # --- queue and exchange lifecycle -------------------------------------------------

    def _delete_queue(self, queue: Queue) -> int:
        if queue.deleted:
            return 0
        queue.deleted = True
        vhost = self.vhosts[queue.vhost]
        vhost.queues.pop(queue.name, None)
        self._timed.pop(queue, None)
        self._to_dispatch.pop(queue, None)
        count = queue.message_count
        queue.purge()
        for consumer in list(queue.consumers):
            ch = consumer.channel
            ch.consumers.pop(consumer.tag, None)
            if ch.conn.capabilities.get("consumer_cancel_notify") and ch.state == OPEN:
                ch.conn.send(SendMethod(ch.id, Basic.Cancel(consumer_tag=consumer.tag)))
        queue.consumers.clear()
        for exchange in list(vhost.exchanges.values()):
            for key in [k for k in exchange.bindings if k[0] is queue]:
                self._remove_binding(vhost, exchange, key)
        self._emit("queue_deleted", queue=queue)
        return count

    def _remove_binding(self, vhost: VHost, exchange: Exchange, key: tuple[Any, str, str]) -> None:
        args = exchange.bindings.pop(key)
        exchange.routing.unbind(key[0], key[1], args)
        if exchange.auto_delete and not exchange.bindings:
            self._delete_exchange(vhost, exchange)

    def _delete_exchange(self, vhost: VHost, exchange: Exchange) -> None:
        if vhost.exchanges.get(exchange.name) is not exchange:
            return
        del vhost.exchanges[exchange.name]
        for key in list(exchange.bindings):
            exchange.routing.unbind(key[0], key[1], exchange.bindings.pop(key))
        # bindings in which this exchange is the destination
        for other in list(vhost.exchanges.values()):
            for key in [k for k in other.bindings if k[0] is exchange]:
                self._remove_binding(vhost, other, key)

    def _add_binding(
        self,
        vhost: VHost,
        source: Exchange,
        dest: Queue | Exchange,
        routing_key: str,
        arguments: dict[str, Any],
    ) -> None:
        key = (dest, routing_key, _args_key(arguments))
        if key not in source.bindings:
            source.bindings[key] = dict(arguments)
            source.routing.bind(dest, routing_key, arguments)

    def _release_connection(self, conn: CoreConnection) -> None:
        """Close every channel of a connection and delete its exclusive queues."""
        if conn.closing:
            return
        for ch in list(conn.channels.values()):
            if ch.state == OPEN:
                self._close_channel(ch)
        conn.channels.clear()
        for vhost in self.vhosts.values():
            for queue in [q for q in vhost.queues.values() if q.exclusive_owner is conn]:
                self._delete_queue(queue)
        self._emit("connection_closed", connection=conn)

    def _close_channel(self, ch: Channel) -> None:
        """Cancel the channel's consumers and requeue its unacknowledged messages."""
        for consumer in list(ch.consumers.values()):
            self._remove_consumer(consumer)
        ch.consumers.clear()
        self._requeue_all(ch)
        if ch.reply_token is not None:
            self._reply_channels.pop(ch.reply_token, None)
        ch.tx_ops.clear()

    def _requeue_all(self, ch: Channel) -> None:
        unacked, ch.unacked = ch.unacked, {}
        # newest first: a quorum queue puts each at its front, so they end up in order
        # (a classic queue puts each back at its own place, whatever the order)
        for record in reversed(unacked.values()):
            if record.consumer is not None:
                record.consumer.unacked -= 1
            self._requeue(record)

    def _requeue(self, record: Unacked, *, rejected: bool = False) -> None:
        queue = record.queue
        if queue.deleted:
            return
        if queue.quorum:
            record.entry.returns += 1
            limit = queue.delivery_limit
            if limit is not None and record.entry.returns > limit:
                self._dead_letter(queue, record.entry.message, "delivery_limit")
                return
        queue.requeue(record.entry, rejected=rejected)
        if record.entry.expires_at is not None:
            self._timed[queue] = None
        self._to_dispatch[queue] = None

    def _remove_consumer(self, consumer: Consumer) -> None:
        queue = consumer.queue
        if consumer in queue.consumers:
            queue.remove_consumer(consumer)
        queue.last_used = self.clock.now()
        consumer.channel.consumers.pop(consumer.tag, None)
        self._emit("consumer_cancelled", queue=queue, consumer=consumer.tag)
        if queue.auto_delete and queue.had_consumers and not queue.consumers:
            self._delete_queue(queue)
        else:
            self._to_dispatch[queue] = None

    # --- lookups with RabbitMQ's errors -------------------------------------------

    def _queue(self, conn: CoreConnection, name: str) -> Queue:
        queue = conn.vhost.queues.get(name)
        if queue is None:
            raise ChannelError(NOT_FOUND, f"no queue '{name}' in vhost '{conn.vhost_name}'")
        self._check_exclusive(conn, queue)
        return queue

    def _check_exclusive(self, conn: CoreConnection, queue: Queue) -> None:
        if queue.exclusive_owner is not None and queue.exclusive_owner is not conn:
            raise ChannelError(
                RESOURCE_LOCKED,
                f"cannot obtain exclusive access to locked queue '{queue.name}' in vhost "
                f"'{queue.vhost}'. It could be originally declared on another connection "
                "or the exclusive property value does not match that of the original "
                "declaration.",
            )

    def _exchange(self, conn: CoreConnection, name: str) -> Exchange:
        exchange = conn.vhost.exchanges.get(name)
        if exchange is None:
            raise ChannelError(NOT_FOUND, f"no exchange '{name}' in vhost '{conn.vhost_name}'")
        return exchange

    def _queue_name(self, ch: Channel, name: str) -> str:
        # AMQP's "current queue": an empty name means the last queue declared here
        if name == "":
            if ch.last_queue is None:
                raise ChannelError(NOT_FOUND, "no previously declared queue")
            return ch.last_queue
        return name

    # --- the Python API for tests -----------------------------------------------------

    def _system_channel(self) -> Channel:
        conn = self._system
        if conn is None or conn.closed:
            self._next_conn += 1
            conn = CoreConnection(self, self._next_conn, "/", "", {}, "system", lambda c: None)
            self._system = conn
        ch = conn.channels.get(1)
        if ch is None or ch.state != OPEN:
            ch = conn.channels[1] = Channel(1, conn)
        return ch

    def _call(
        self, method: base.Frame, properties: Basic.Properties | None = None, body: bytes = b""
    ) -> list[Command]:
        ch = self._system_channel()
        captured: list[Command] = []
        previous, ch.conn.sink = ch.conn.sink, captured.append
        self._in_method += 1
        try:
            handler = _HANDLERS[type(method)]
            handler(self, ch, method, properties, body)
        finally:
            self._in_method -= 1
            ch.conn.sink = previous
            self._run_dispatch()
            if not self._in_method:
                self._run_deferred()
        return captured

    # --- interception: outside consumers (RPC stubs, replayed services) -------------

    def intercept(
        self,
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
        interceptor = Interceptor(self, vhost, exchange, routing_key, handler)
        self._interceptors.setdefault((vhost, exchange), []).append(interceptor)
        return interceptor

    def _intercepted(self, vhost: str, message: Message) -> bool:
        found = False
        for interceptor in self._interceptors.get((vhost, message.exchange), ()):
            if interceptor.matches(message.routing_key):
                self._deferred.append(partial(interceptor.run, message))
                found = True
        return found

    def defer(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the method being handled is done (or now, if none is): how a
        listener reacts to an event by changing the broker, without re-entering it."""
        self._deferred.append(fn)
        if not self._in_method:
            self._run_deferred()

    def _run_deferred(self) -> None:
        while self._deferred:
            self._deferred.pop(0)()
            self._run_dispatch()

    def inject(
        self,
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
        target = self.vhosts[vhost].queues.get(queue)
        if target is None:
            return False
        message = self._new_message(exchange, routing_key, properties or Basic.Properties(), body)
        if self.listeners:
            self._emit("injected", message=message, queue=target)
        accepted = self._enqueue(target, message)
        self._run_dispatch()
        return accepted

    def declare_exchange(
        self,
        name: str,
        type: str = "direct",
        *,
        durable: bool = False,
        auto_delete: bool = False,
        internal: bool = False,
        arguments: dict[str, Any] | None = None,
        passive: bool = False,
    ) -> Exchange:
        self._call(
            ExchangeMethods.Declare(
                exchange=name,
                exchange_type=type,
                passive=passive,
                durable=durable,
                auto_delete=auto_delete,
                internal=internal,
                arguments=arguments or {},
            )
        )
        return self.vhosts["/"].exchanges[name]

    def declare_queue(
        self,
        name: str = "",
        *,
        durable: bool = False,
        exclusive: bool = False,
        auto_delete: bool = False,
        arguments: dict[str, Any] | None = None,
        passive: bool = False,
    ) -> Queue:
        out = self._call(
            QueueMethods.Declare(
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
        return self.vhosts["/"].queues[str(reply.method.queue)]

    def bind_queue(
        self,
        queue: str,
        exchange: str,
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
    ) -> None:
        self._call(
            QueueMethods.Bind(
                queue=queue, exchange=exchange, routing_key=routing_key, arguments=arguments or {}
            )
        )

    def unbind_queue(
        self,
        queue: str,
        exchange: str,
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
    ) -> None:
        self._call(
            QueueMethods.Unbind(
                queue=queue, exchange=exchange, routing_key=routing_key, arguments=arguments or {}
            )
        )

    def bind_exchange(
        self,
        destination: str,
        source: str,
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
    ) -> None:
        self._call(
            ExchangeMethods.Bind(
                destination=destination,
                source=source,
                routing_key=routing_key,
                arguments=arguments or {},
            )
        )

    def delete_queue(self, name: str, *, if_unused: bool = False, if_empty: bool = False) -> int:
        out = self._call(QueueMethods.Delete(queue=name, if_unused=if_unused, if_empty=if_empty))
        reply = out[-1]
        assert isinstance(reply, SendMethod) and isinstance(reply.method, QueueMethods.DeleteOk)
        return int(reply.method.message_count or 0)

    def delete_exchange(self, name: str, *, if_unused: bool = False) -> None:
        self._call(ExchangeMethods.Delete(exchange=name, if_unused=if_unused))

    def purge_queue(self, name: str) -> int:
        out = self._call(QueueMethods.Purge(queue=name))
        reply = out[-1]
        assert isinstance(reply, SendMethod) and isinstance(reply.method, QueueMethods.PurgeOk)
        return int(reply.method.message_count or 0)

    def publish(
        self,
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

        self.listeners.append(record)
        try:
            self._call(
                Basic.Publish(exchange=exchange, routing_key=routing_key, mandatory=mandatory),
                properties,
                body,
            )
        finally:
            self.listeners.remove(record)
        return routed

    def get(self, queue: str) -> Message | None:
        """Take the next ready message off a queue (auto-ack), or None."""
        entry = self._pop_ready(self.queue(queue))
        return entry.message if entry is not None else None

    def _pop_ready(self, queue: Queue) -> Entry | None:
        """The next unexpired ready entry (expired ones are dead-lettered on the way)."""
        now = self.clock.now()
        queue.last_used = now
        self._expire(queue, now)
        entry = queue.pop()
        while entry is not None and entry.expires_at is not None and entry.expires_at <= now:
            self._dead_letter(queue, entry.message, "expired")
            entry = queue.pop()
        return entry

    def queue(self, name: str, vhost: str = "/") -> Queue:
        queue = self.vhosts[vhost].queues.get(name)
        if queue is None:
            raise ChannelError(NOT_FOUND, f"no queue '{name}' in vhost '{vhost}'")
        return queue

    def exchange(self, name: str, vhost: str = "/") -> Exchange:
        exchange = self.vhosts[vhost].exchanges.get(name)
        if exchange is None:
            raise ChannelError(NOT_FOUND, f"no exchange '{name}' in vhost '{vhost}'")
        return exchange

    def queues(self, vhost: str = "/") -> dict[str, Queue]:
        return dict(self.vhosts[vhost].queues)

    def exchanges(self, vhost: str = "/") -> dict[str, Exchange]:
        return dict(self.vhosts[vhost].exchanges)

    def messages(self, queue: str, vhost: str = "/") -> list[Message]:
        """The ready messages of a queue, in delivery order, without taking them."""
        return [entry.message for entry in self.queue(queue, vhost).entries()]

    def bindings(self, vhost: str = "/") -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        """(source exchange, destination name, routing key, arguments) of every binding."""
        for exchange in self.vhosts[vhost].exchanges.values():
            for (dest, key, _), args in exchange.bindings.items():
                yield exchange.name, dest.name, key, dict(args)

    def reset(self) -> None:
        """Back to a fresh broker: close every connection, drop all queues and exchanges."""
        for conn in list(self.connections.values()):
            conn.connection_error(ConnectionError_(320, "broker reset"))
        names = list(self.vhosts)
        self.vhosts.clear()
        for name in names:
            self.add_vhost(name)
        self._timed.clear()
        self._to_dispatch.clear()
        self._reply_channels.clear()
        self._system = None
        self._timers.clear()
        self._deferred.clear()
        for interceptors in list(self._interceptors.values()):
            for interceptor in list(interceptors):
                interceptor.remove()


# --- method handlers ---------------------------------------------------------------
# Each takes (broker, channel, method, properties, body), raises AMQPError on failure,
# and sends its reply through the channel's connection.

Handler = Callable[[Broker, Channel, Any, "Basic.Properties | None", bytes], None]
_HANDLERS: dict[type[base.Frame], Handler] = {}


def _handles(*types: type[base.Frame]) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for t in types:
            _HANDLERS[t] = fn
        return fn

    return register


def _reply(ch: Channel, method: base.Frame) -> None:
    ch.conn.send(SendMethod(ch.id, method))


@_handles(ChannelMethods.Close)
def _channel_close(b: Broker, ch: Channel, m: ChannelMethods.Close, p: Any, body: bytes) -> None:
    b._close_channel(ch)
    del ch.conn.channels[ch.id]
    ch.state = CLOSING
    _reply(ch, ChannelMethods.CloseOk())


@_handles(ChannelMethods.CloseOk)
def _channel_close_ok(b: Broker, ch: Channel, m: Any, p: Any, body: bytes) -> None:
    # unsolicited close-ok on an open channel: RabbitMQ ignores it
    return


@_handles(ChannelMethods.Flow)
def _channel_flow(b: Broker, ch: Channel, m: ChannelMethods.Flow, p: Any, body: bytes) -> None:
    # RabbitMQ 3.x refuses to stop sending to a client: flow(active=false) is 540
    if not m.active:
        raise ConnectionError_(NOT_IMPLEMENTED, "active=false")
    ch.flow_active = ch.conn.writable
    _reply(ch, ChannelMethods.FlowOk(active=True))
    if ch.flow_active:
        for consumer in ch.consumers.values():
            b._to_dispatch[consumer.queue] = None


@_handles(ChannelMethods.FlowOk)
def _channel_flow_ok(b: Broker, ch: Channel, m: Any, p: Any, body: bytes) -> None:
    return


# --- exchanges ---


def _check_reserved(name: str, kind: str) -> None:
    if name.startswith("amq."):
        raise ChannelError(
            ACCESS_REFUSED, f"{kind} name '{name}' contains reserved prefix 'amq.*'"
        )


@_handles(ExchangeMethods.Declare)
def _exchange_declare(
    b: Broker, ch: Channel, m: ExchangeMethods.Declare, p: Any, body: bytes
) -> None:
    conn = ch.conn
    vhost = conn.vhost
    name = m.exchange
    existing = vhost.exchanges.get(name)
    if name == "":
        raise ChannelError(ACCESS_REFUSED, "operation not permitted on the default exchange")
    if m.passive:
        b._exchange(conn, name)
    else:
        if m.exchange_type not in b.exchange_types:
            raise ConnectionError_(COMMAND_INVALID, f"unknown exchange type '{m.exchange_type}'")
        if existing is None:
            _check_reserved(name, "exchange")
        b._check_perm(conn, 0, "exchange", name)
        arguments = dict(m.arguments or {})
        if existing is None:
            vhost.exchanges[name] = Exchange(
                name,
                m.exchange_type,
                b.exchange_types[m.exchange_type](),
                durable=bool(m.durable),
                auto_delete=bool(m.auto_delete),
                internal=bool(m.internal),
                arguments=arguments,
            )
            b._emit("exchange_declared", exchange=vhost.exchanges[name])
        else:
            _exchange_equivalent(existing, m, vhost.name)
    if not m.nowait:
        _reply(ch, ExchangeMethods.DeclareOk())


def _exchange_equivalent(ex: Exchange, m: ExchangeMethods.Declare, vhost: str) -> None:
    def fail(arg: str, received: str, current: str) -> None:
        raise ChannelError(
            PRECONDITION_FAILED,
            f"inequivalent arg '{arg}' for exchange '{ex.name}' in vhost '{vhost}': "
            f"received '{received}' but current is '{current}'",
        )

    if m.exchange_type != ex.type:
        fail("type", m.exchange_type, ex.type)
    if bool(m.durable) != ex.durable:
        fail("durable", _bool(m.durable), _bool(ex.durable))
    if bool(m.auto_delete) != ex.auto_delete:
        fail("auto_delete", _bool(m.auto_delete), _bool(ex.auto_delete))
    if bool(m.internal) != ex.internal:
        fail("internal", _bool(m.internal), _bool(ex.internal))
    new_args = dict(m.arguments or {})
    for key in ("alternate-exchange",):
        new, old = new_args.get(key), ex.arguments.get(key)
        if new != old or _field_type(new) != _field_type(old):
            received, current = _inequivalent_values(new, old)
            raise ChannelError(
                PRECONDITION_FAILED,
                f"inequivalent arg '{key}' for exchange '{ex.name}' in vhost '{vhost}': "
                f"received {received} but current is {current}",
            )


@_handles(ExchangeMethods.Delete)
def _exchange_delete(
    b: Broker, ch: Channel, m: ExchangeMethods.Delete, p: Any, body: bytes
) -> None:
    conn = ch.conn
    vhost = conn.vhost
    name = m.exchange
    if name == "":
        raise ChannelError(ACCESS_REFUSED, "operation not permitted on the default exchange")
    if name.startswith("amq."):
        raise ChannelError(
            ACCESS_REFUSED,
            f"deletion of system exchange '{name}' in vhost '{vhost.name}' not allowed",
        )
    b._check_perm(conn, 0, "exchange", name)
    exchange = vhost.exchanges.get(name)
    if exchange is not None:
        if m.if_unused and exchange.bindings:
            raise ChannelError(
                PRECONDITION_FAILED, f"exchange '{name}' in vhost '{vhost.name}' in use"
            )
        b._delete_exchange(vhost, exchange)
    if not m.nowait:
        _reply(ch, ExchangeMethods.DeleteOk())


@_handles(ExchangeMethods.Bind, ExchangeMethods.Unbind)
def _exchange_bind(b: Broker, ch: Channel, m: Any, p: Any, body: bytes) -> None:
    conn = ch.conn
    vhost = conn.vhost
    if m.source == "" or m.destination == "":
        raise ChannelError(ACCESS_REFUSED, "operation not permitted on the default exchange")
    unbinding = isinstance(m, ExchangeMethods.Unbind)
    dest = vhost.exchanges.get(m.destination)
    source = vhost.exchanges.get(m.source)
    if source is None or dest is None:
        if unbinding:
            _reply(ch, ExchangeMethods.UnbindOk())
            return
        missing = m.source if source is None else m.destination
        raise ChannelError(NOT_FOUND, f"no exchange '{missing}' in vhost '{vhost.name}'")
    b._check_perm(conn, 1, "exchange", m.destination)
    b._check_perm(conn, 2, "exchange", m.source)
    arguments = dict(m.arguments or {})
    if unbinding:
        key = (dest, m.routing_key, _args_key(arguments))
        if key in source.bindings:
            b._remove_binding(vhost, source, key)
        if not m.nowait:
            _reply(ch, ExchangeMethods.UnbindOk())
    else:
        b._add_binding(vhost, source, dest, m.routing_key, arguments)
        if not m.nowait:
            _reply(ch, ExchangeMethods.BindOk())


# --- queues ---


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
            invalid(arg, f'"expected integer, got {_field_type(value)}"')
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
        if text not in _OVERFLOW_MODES:
            invalid("x-overflow", "invalid_overflow")
    queue_type = args.get("x-queue-type")
    if queue_type is not None:
        qtype = queue_type.decode() if isinstance(queue_type, bytes) else str(queue_type)
        if qtype not in ("classic", "quorum", "stream"):
            invalid("x-queue-type", f"\"unsupported queue type '{qtype}'\"")


@_handles(QueueMethods.Declare)
def _queue_declare(b: Broker, ch: Channel, m: QueueMethods.Declare, p: Any, body: bytes) -> None:
    conn = ch.conn
    vhost = conn.vhost
    name = m.queue
    now = b.clock.now()
    if m.passive:
        if name == "" and ch.last_queue is not None:
            name = ch.last_queue
        if name == DIRECT_REPLY_TO or (
            name.startswith(_REPLY_PREFIX) and name[len(_REPLY_PREFIX) :] in b._reply_channels
        ):
            # RabbitMQ answers for the pseudo-queue as if it had one consumer
            if not m.nowait:
                _reply(ch, QueueMethods.DeclareOk(queue=name, message_count=0, consumer_count=1))
            return
        queue = b._queue(conn, name)
    else:
        quorum = str_arg(m.arguments, "x-queue-type") == "quorum"
        if name == "":
            if quorum:
                raise ChannelError(
                    PRECONDITION_FAILED,
                    "Cannot declare a server-named queue for type rabbit_quorum_queue",
                )
            name = b._server_name("amq.gen")
        else:
            _check_reserved(name, "queue")
        b._check_perm(conn, 0, "queue", name)
        queue_or_none = vhost.queues.get(name)
        arguments = dict(m.arguments or {})
        if queue_or_none is None:
            _validate_queue_args(arguments, name, vhost.name)
            if quorum:
                for flag, problem in (
                    (not m.durable, "non-durable"),
                    (m.exclusive, "exclusive-owner"),
                    (m.auto_delete, "auto-delete"),
                ):
                    if flag:
                        raise ChannelError(
                            PRECONDITION_FAILED,
                            f"invalid property '{problem}' for queue '{name}' "
                            f"in vhost '{vhost.name}'",
                        )
                for arg in arguments:
                    if arg in _NOT_FOR_QUORUM:
                        raise ChannelError(
                            PRECONDITION_FAILED,
                            f"invalid arg '{arg}' for queue '{name}' in vhost '{vhost.name}' "
                            "of queue type rabbit_quorum_queue",
                        )
            queue = Queue(
                name,
                vhost.name,
                durable=bool(m.durable),
                exclusive_owner=conn if m.exclusive else None,
                auto_delete=bool(m.auto_delete),
                arguments=arguments,
                now=now,
            )
            vhost.queues[name] = queue
            if queue.expires is not None or queue.message_ttl is not None:
                b._timed[queue] = None
            b._emit("queue_declared", queue=queue)
        else:
            queue = queue_or_none
            b._check_exclusive(conn, queue)
            _queue_equivalent(queue, m, arguments, vhost.name)
    queue.last_used = now
    ch.last_queue = queue.name
    if not m.nowait:
        _reply(
            ch,
            QueueMethods.DeclareOk(
                queue=queue.name,
                message_count=queue.message_count,
                consumer_count=len(queue.consumers),
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
        fail("durable", f"'{_bool(m.durable)}'", f"'{_bool(queue.durable)}'")
    if bool(m.exclusive) != queue.exclusive:
        raise ChannelError(
            RESOURCE_LOCKED,
            f"cannot obtain exclusive access to locked queue '{queue.name}' in vhost "
            f"'{vhost}'. It could be originally declared on another connection or the "
            "exclusive property value does not match that of the original declaration.",
        )
    if bool(m.auto_delete) != queue.auto_delete:
        fail("auto_delete", f"'{_bool(m.auto_delete)}'", f"'{_bool(queue.auto_delete)}'")
    for key in EQUIVALENCE_CHECKED_ARGS:
        new, old = arguments.get(key), queue.arguments.get(key)
        if new is None and old is None:
            continue
        if key == "x-queue-type" and {
            str_arg(arguments, key),
            str_arg(queue.arguments, key),
        } <= {None, "classic"}:
            continue
        if new is None or old is None or _field_type(new) != _field_type(old) or new != old:
            fail(key, *_inequivalent_values(new, old))


@_handles(QueueMethods.Bind, QueueMethods.Unbind)
def _queue_bind(b: Broker, ch: Channel, m: Any, p: Any, body: bytes) -> None:
    conn = ch.conn
    vhost = conn.vhost
    unbinding = isinstance(m, QueueMethods.Unbind)
    if m.exchange == "":
        raise ChannelError(ACCESS_REFUSED, "operation not permitted on the default exchange")
    name = b._queue_name(ch, m.queue)
    queue = vhost.queues.get(name)
    exchange = vhost.exchanges.get(m.exchange)
    if unbinding and (queue is None or exchange is None):
        _reply(ch, QueueMethods.UnbindOk())
        return
    if exchange is None:
        raise ChannelError(NOT_FOUND, f"no exchange '{m.exchange}' in vhost '{vhost.name}'")
    if queue is None:
        raise ChannelError(NOT_FOUND, f"no queue '{name}' in vhost '{vhost.name}'")
    b._check_exclusive(conn, queue)
    b._check_perm(conn, 1, "queue", name)
    b._check_perm(conn, 2, "exchange", m.exchange)
    arguments = dict(m.arguments or {})
    if unbinding:
        key = (queue, m.routing_key, _args_key(arguments))
        if key in exchange.bindings:
            b._remove_binding(vhost, exchange, key)
        _reply(ch, QueueMethods.UnbindOk())
    else:
        b._add_binding(vhost, exchange, queue, m.routing_key, arguments)
        if not m.nowait:
            _reply(ch, QueueMethods.BindOk())


@_handles(QueueMethods.Purge)
def _queue_purge(b: Broker, ch: Channel, m: QueueMethods.Purge, p: Any, body: bytes) -> None:
    queue = b._queue(ch.conn, b._queue_name(ch, m.queue))
    b._check_perm(ch.conn, 2, "queue", queue.name)
    count = len(queue.purge())
    if not m.nowait:
        _reply(ch, QueueMethods.PurgeOk(message_count=count))


@_handles(QueueMethods.Delete)
def _queue_delete(b: Broker, ch: Channel, m: QueueMethods.Delete, p: Any, body: bytes) -> None:
    conn = ch.conn
    name = b._queue_name(ch, m.queue)
    queue = conn.vhost.queues.get(name)
    count = 0
    if queue is not None:
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
        _reply(ch, QueueMethods.DeleteOk(message_count=count))


# --- basic ---


@_handles(Basic.Qos)
def _basic_qos(b: Broker, ch: Channel, m: Basic.Qos, p: Any, body: bytes) -> None:
    if m.prefetch_size:
        raise ConnectionError_(NOT_IMPLEMENTED, f"prefetch_size!=0 ({m.prefetch_size})")
    if m.global_:
        ch.global_prefetch = m.prefetch_count
    else:
        ch.consumer_prefetch = m.prefetch_count
    _reply(ch, Basic.QosOk())
    for consumer in ch.consumers.values():
        b._to_dispatch[consumer.queue] = None


@_handles(Basic.Consume)
def _basic_consume(b: Broker, ch: Channel, m: Basic.Consume, p: Any, body: bytes) -> None:
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
            _reply(ch, Basic.ConsumeOk(consumer_tag=tag))
        return
    queue = b._queue(conn, b._queue_name(ch, m.queue))
    b._check_perm(conn, 2, "queue", queue.name)
    if tag in ch.consumers or tag == ch.reply_consumer:
        raise ConnectionError_(NOT_ALLOWED, f"attempt to reuse consumer tag '{tag}'")
    if queue.consumers and (m.exclusive or any(c.exclusive for c in queue.consumers)):
        raise ChannelError(
            ACCESS_REFUSED, f"queue '{queue.name}' in vhost '{queue.vhost}' in exclusive use"
        )
    arguments = dict(m.arguments or {})
    priority = arguments.get("x-priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ChannelError(
            PRECONDITION_FAILED,
            f"invalid arg 'x-priority' for queue '{queue.name}' in vhost '{queue.vhost}': "
            f'"expected integer, got {_field_type(priority)}"',
        )
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
    if priority:
        queue.consumer_priorities = True
    queue.consumers.append(consumer)
    queue.had_consumers = True
    queue.last_used = b.clock.now()
    ch.consumers[tag] = consumer
    if not m.nowait:
        _reply(ch, Basic.ConsumeOk(consumer_tag=tag))
    b._emit("consumer_added", queue=queue, consumer=tag)
    b._to_dispatch[queue] = None


@_handles(Basic.Cancel)
def _basic_cancel(b: Broker, ch: Channel, m: Basic.Cancel, p: Any, body: bytes) -> None:
    consumer = ch.consumers.get(m.consumer_tag or "")
    if consumer is not None:
        b._remove_consumer(consumer)
    elif m.consumer_tag == ch.reply_consumer:
        ch.reply_consumer = None
        if ch.reply_token is not None:
            b._reply_channels.pop(ch.reply_token, None)
    if not m.nowait:
        _reply(ch, Basic.CancelOk(consumer_tag=m.consumer_tag))


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


@_handles(Basic.Publish)
def _basic_publish(
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
        props = copy_properties(props, reply_to=_REPLY_PREFIX + ch.reply_token)
    if ch.tx:
        ch.tx_ops.append(_TxOp("publish", m, props, body))
        return
    _do_publish(b, ch, m, props, body)


def _do_publish(
    b: Broker, ch: Channel, m: Basic.Publish, props: Basic.Properties, body: bytes
) -> None:
    conn = ch.conn
    if ch.confirm:
        ch.publish_seq += 1
    message = b._new_message(m.exchange, m.routing_key, props, body)
    if not m.exchange and m.routing_key.startswith(_REPLY_PREFIX):
        # RabbitMQ 3.10 delivers a direct reply but, as it reached no queue, also
        # returns it (312) when it was published mandatory (observed; aio-pika does so)
        _publish_direct_reply(b, m, message)
        routed = False
        queues: list[Queue] = []
    else:
        exchange = conn.vhost.exchanges.get(m.exchange)
        # the exchange can be gone when a transaction commits
        queues = b._route(conn.vhost, exchange, message) if exchange is not None else []
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
        routed = bool(queues) or routed_outside
    if b.listeners:
        b._emit("published", message=message, connection=conn, channel=ch.id)
        b._emit("routed", message=message, queues=queues)
    rejected = False
    for queue in queues:
        if not b._enqueue(queue, message):
            rejected = True
    if not routed and m.mandatory:
        b._emit("returned", message=message, connection=conn)
        conn.send(
            SendContent(
                ch.id,
                Basic.Return(312, "NO_ROUTE", m.exchange, m.routing_key),
                message.properties,
                body,
            )
        )
    if ch.confirm:
        if rejected:
            _reply(ch, Basic.Nack(delivery_tag=ch.publish_seq, multiple=False, requeue=False))
        else:
            _reply(ch, Basic.Ack(delivery_tag=ch.publish_seq, multiple=False))


def _publish_direct_reply(b: Broker, m: Basic.Publish, message: Message) -> bool:
    """A reply to a direct reply-to name goes straight to that channel's reply consumer."""
    target = b._reply_channels.get(m.routing_key[len(_REPLY_PREFIX) :])
    if target is None or target.state != OPEN or target.reply_consumer is None:
        return False
    target.next_tag += 1
    target.conn.send(
        SendContent(
            target.id,
            Basic.Deliver(
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


@_handles(Basic.Get)
def _basic_get(b: Broker, ch: Channel, m: Basic.Get, p: Any, body: bytes) -> None:
    conn = ch.conn
    queue = b._queue(conn, b._queue_name(ch, m.queue))
    b._check_perm(conn, 2, "queue", queue.name)
    if b.listeners:  # before the queue is read: replay puts outside messages in first
        b._emit("get_requested", queue=queue, connection=conn)
    entry = b._pop_ready(queue)
    if entry is None:
        _reply(ch, Basic.GetEmpty())
        return
    ch.next_tag += 1
    tag = ch.next_tag
    if not m.no_ack:
        ch.unacked[tag] = Unacked(entry, queue, None)
    message = entry.message
    conn.send(
        SendContent(
            ch.id,
            Basic.GetOk(
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
    b._emit(
        "delivered",
        queue=queue,
        message=message,
        consumer=None,
        delivery_tag=tag,
        redelivered=entry.redelivered,
        connection=conn,
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


def _settle(b: Broker, ch: Channel, kind: str, m: Any) -> None:
    if kind == "ack":
        taken = _take_unacked(ch, m.delivery_tag, bool(m.multiple))
        for tag, record in taken:
            if b.listeners:
                b._emit(
                    "acked", queue=record.queue, message=record.entry.message, delivery_tag=tag
                )
    else:
        multiple = bool(m.multiple) if kind == "nack" else False
        taken = _take_unacked(ch, m.delivery_tag, multiple)
        for tag, record in taken:
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
                b._dead_letter(record.queue, record.entry.message, "rejected")
    # capacity freed: the channel's consumers may take more
    for consumer in ch.consumers.values():
        b._to_dispatch[consumer.queue] = None


@_handles(Basic.Ack, Basic.Nack, Basic.Reject)
def _basic_settle(b: Broker, ch: Channel, m: Any, p: Any, body: bytes) -> None:
    kind = {Basic.Ack: "ack", Basic.Nack: "nack", Basic.Reject: "reject"}[type(m)]
    if ch.tx:
        # validate now, apply at commit (RabbitMQ checks tags at commit; unknown tags
        # inside a transaction fail the commit)
        ch.tx_ops.append(_TxOp(kind, m))
        return
    _settle(b, ch, kind, m)


@_handles(Basic.Recover, Basic.RecoverAsync)
def _basic_recover(b: Broker, ch: Channel, m: Any, p: Any, body: bytes) -> None:
    if not m.requeue:
        raise ConnectionError_(NOT_IMPLEMENTED, "requeue=false")
    b._requeue_all(ch)
    if isinstance(m, Basic.Recover):
        _reply(ch, Basic.RecoverOk())


# --- confirms and transactions ---


@_handles(Confirm.Select)
def _confirm_select(b: Broker, ch: Channel, m: Confirm.Select, p: Any, body: bytes) -> None:
    if ch.tx:
        raise ChannelError(PRECONDITION_FAILED, "cannot switch from tx to confirm mode")
    ch.confirm = True
    if not m.nowait:
        _reply(ch, Confirm.SelectOk())


@_handles(Tx.Select)
def _tx_select(b: Broker, ch: Channel, m: Tx.Select, p: Any, body: bytes) -> None:
    if ch.confirm:
        raise ChannelError(PRECONDITION_FAILED, "cannot switch from confirm to tx mode")
    ch.tx = True
    _reply(ch, Tx.SelectOk())


@_handles(Tx.Commit)
def _tx_commit(b: Broker, ch: Channel, m: Tx.Commit, p: Any, body: bytes) -> None:
    if not ch.tx:
        raise ChannelError(PRECONDITION_FAILED, "channel is not transactional")
    ops, ch.tx_ops = ch.tx_ops, []
    for op in ops:
        if op.kind == "publish":
            assert op.properties is not None
            assert isinstance(op.method, Basic.Publish)
            _do_publish(b, ch, op.method, op.properties, op.body)
        else:
            _settle(b, ch, op.kind, op.method)
    _reply(ch, Tx.CommitOk())


@_handles(Tx.Rollback)
def _tx_rollback(b: Broker, ch: Channel, m: Tx.Rollback, p: Any, body: bytes) -> None:
    if not ch.tx:
        raise ChannelError(PRECONDITION_FAILED, "channel is not transactional")
    ch.tx_ops.clear()
    _reply(ch, Tx.RollbackOk())


__all__ = [
    "DIRECT_REPLY_TO",
    "Broker",
    "Channel",
    "CoreConnection",
    "VHost",
]
