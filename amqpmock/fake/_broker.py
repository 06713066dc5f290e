"""The broker: vhosts, users and permissions, connections and their output, timers and
generated names; its operations live in the seam modules and are attached here.

Rules the core keeps (every module of ``amqpmock.fake``):
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

The parts, along AMQP's own seams: ``_connection`` (connection and channel state),
``_exchanges`` (declare/delete/bind), ``_queues`` (declare/equivalence/delete/purge),
``_delivery`` (consume, deliver, settle, requeue, get), ``_publish`` (publish, confirms,
transactions, direct reply-to), ``_lifetime`` (enqueue limits, TTL, expiry,
dead-lettering), ``_restart`` (a node restart or crash and what survives it), ``_api``
(the Python-level API for tests); ``_handlers`` is the one table from AMQP method to
handler. A seam's broker operations are functions taking the broker first and are bound
here as its methods, so ``b._enqueue(...)`` reads the same everywhere.
"""

from __future__ import annotations

import base64
import heapq
import math
import random
import re
from collections.abc import Callable, Iterable
from typing import Any

from amqpmock.errors import (
    ACCESS_REFUSED,
    NOT_ALLOWED,
    NOT_FOUND,
    RESOURCE_LOCKED,
    AMQPError,
    ChannelError,
    ConnectionError_,
)
from amqpmock.fake import (
    _api,
    _cluster,
    _connection,
    _delivery,
    _exchanges,
    _lifetime,
    _policies,
    _publish,
    _queues,
    _restart,
    passwords,
)
from amqpmock.fake._connection import CoreConnection
from amqpmock.fake._handlers import HANDLERS
from amqpmock.fake._state import (
    Channel,
    Interceptor,
    Timer,
    VHost,
)
from amqpmock.fake.clock import Clock, VirtualClock
from amqpmock.fake.commands import Command
from amqpmock.fake.model import Exchange, Queue
from amqpmock.fake.routing import EXCHANGE_TYPES, ExchangeType
from amqpmock.fake.tape import Tape

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


# a user made without a password (the management API's PUT without one): no password
# logs it in, as in RabbitMQ
NO_PASSWORD = "\x00no password"


class Broker:
    """A fake RabbitMQ: vhosts, users, connections, and a Python API for tests."""

    # the AMQP methods a client may send on an open channel, and their handlers
    handlers = HANDLERS

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
        self.users: dict[str, tuple[str | None, tuple[str, ...]]] = {}
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
        # policies and operator policies by (vhost, name)
        self.policies: dict[tuple[str, str], _policies.Policy] = {}
        self.operator_policies: dict[tuple[str, str], _policies.Policy] = {}
        self._baseline: tuple[Any, ...] = ()
        # run at the end of every reset: what a fresh broker has besides the baseline
        self.after_reset: list[Callable[[], None]] = []
        self.mark_baseline()
        self.connections: dict[int, CoreConnection] = {}
        # a cluster (_cluster): its nodes' names, and those that are down
        self.nodes: list[str] = _cluster.node_names(1)
        self.down_nodes: set[str] = set()
        self._next_conn = 0
        self._next_message_id = 0
        self._dirty: dict[CoreConnection, None] = {}
        self._to_dispatch: dict[Queue, None] = {}
        # Deliveries per queue per dispatch turn: None (the default) delivers all that
        # consumers can take at once; an adapter serving many clients sets a budget and
        # calls resume_dispatch() for what is left, between its other work.
        self.dispatch_budget: int | None = None
        self._dispatch_later: dict[Queue, None] = {}
        self._timed: dict[Queue, None] = {}
        self._reply_channels: dict[str, Channel] = {}
        self.blocked_reason: str | None = None
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        # called with (connection, channel, method) before a client's method on an open
        # channel is handled; raising ChannelError refuses it (replay compares methods)
        self.method_observers: list[Callable[[CoreConnection, Channel, Any], None]] = []
        # message events as tuples, for readers that make records only when asked:
        # attach_tape() / detach_tape(); _tape() appends with the deques' own append
        self.tapes: list[Tape] = []
        self._tape_appends: list[Callable[[tuple[Any, ...]], None]] = []
        self._tape_bytes = 0  # body bytes appended since the tapes were last trimmed
        self._tape_budget: float = math.inf  # the smallest bounded tape's max_bytes
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

    def add_user(self, name: str, password: str | None, tags: Iterable[str] = ()) -> None:
        """A user; ``password=None`` accepts any password (replay: the recorded
        password was never written to the cassette)."""
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

    def mark_baseline(self) -> None:
        """What ``reset`` goes back to: the users, their permissions and the vhosts as
        they are now (vhosts, users and permissions made later, e.g. over the
        management API, go at the next reset)."""
        self._baseline = (
            dict(self.users),
            dict(self.permissions),
            list(self.vhosts),
            dict(self.policies),
            dict(self.operator_policies),
        )

    def clear_permissions(self, user: str, vhost: str) -> bool:
        """Take ``user``'s permissions on ``vhost`` away; False if there were none."""
        self._perm_cache.clear()
        return self.permissions.pop((user, vhost), None) is not None

    def delete_user(self, name: str) -> None:
        """The user and its permissions go (its open connections stay, as in RabbitMQ)."""
        self.users.pop(name, None)
        for key in [k for k in self.permissions if k[0] == name]:
            del self.permissions[key]
        self._perm_cache.clear()

    def delete_vhost(self, name: str) -> None:
        """The vhost, its queues (consumers cancelled), exchanges and permissions go.
        Closing its connections is the adapter's part (320 CONNECTION_FORCED)."""
        vhost = self.vhosts.get(name)
        if vhost is None:
            return
        for queue in list(vhost.queues.values()):
            self._delete_queue(queue)
        del self.vhosts[name]
        for key in [k for k in self.permissions if k[1] == name]:
            del self.permissions[key]
        for table in (self.policies, self.operator_policies):
            for key in [k for k in table if k[0] == name]:
                del table[key]
        self._perm_cache.clear()

    def authenticate(self, user: str, password: str) -> bool:
        known = self.users.get(user)
        if known is None or known[0] == NO_PASSWORD:
            return False
        return known[0] is None or passwords.matches(known[0], password)

    def check_vhost(self, user: str, vhost: str) -> None:
        if vhost not in self.vhosts:
            raise ConnectionError_(NOT_ALLOWED, f"vhost {vhost} not found")
        if (user, vhost) not in self.permissions:
            raise ConnectionError_(
                NOT_ALLOWED, f"access to vhost '{vhost}' refused for user '{user}'"
            )

    def _check_perm(self, conn: CoreConnection, kind: int, resource: str, name: str) -> None:
        """``kind`` 0 configure, 1 write, 2 read, as RabbitMQ 3.10.8 checks them: the
        permission's regular expression is searched for in the name (not anchored; an
        empty one is ``^$``), the default exchange is named ``amq.default``, and the
        refusal does not say which permission it was."""
        if resource == "exchange" and name == "":
            name = "amq.default"
        key = (conn.number, kind, name)
        allowed = self._perm_cache.get(key)
        if allowed is None:
            perms = self.permissions.get((conn.user, conn.vhost_name))
            allowed = conn is self._system or (
                perms is not None and re.search(perms[kind] or "^$", name) is not None
            )
            if len(self._perm_cache) > 10_000:
                self._perm_cache.clear()
            self._perm_cache[key] = allowed
        if not allowed:
            raise ChannelError(
                ACCESS_REFUSED,
                f"access to {resource} '{name}' in vhost '{conn.vhost_name}' "
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
        node: str | None = None,
    ) -> CoreConnection:
        """A connection that has passed the handshake. ``sink`` receives its output at once
        (local clients); without one, output waits for ``take_output()``."""
        self.check_vhost(user, vhost)
        self._next_conn += 1
        conn = CoreConnection(self, self._next_conn, vhost, user, client_properties, peer, sink)
        if node is not None:
            conn.node = node
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

    def attach_tape(self, tape: Tape) -> None:
        """Write message events on ``tape`` from now on."""
        self.tapes.append(tape)
        self.retape()

    def detach_tape(self, tape: Tape) -> None:
        if tape in self.tapes:
            self.tapes.remove(tape)
        self.retape()

    def retape(self) -> None:
        """Take the tapes' appends and budgets again (after ``Tape.bound``)."""
        self._tape_appends = [tape.entries.append for tape in self.tapes]
        budgets = [tape.max_bytes for tape in self.tapes if tape.max_bytes is not None]
        self._tape_budget = min(budgets, default=math.inf)
        self._trim_tapes()

    def _tape(self, entry: tuple[Any, ...]) -> None:
        """Append an event (``entry[1]`` its message) to every tape: per event a C call
        per tape and a count of the body's bytes; the tapes are walked only when the
        count passes the smallest budget."""
        for append in self._tape_appends:
            append(entry)
        self._tape_bytes += len(entry[1].body)
        if self._tape_bytes > self._tape_budget:
            self._trim_tapes()

    def _trim_tapes(self) -> None:
        bounded = [tape for tape in self.tapes if tape.max_bytes is not None]
        for tape in bounded:
            tape.trim()
        self._tape_bytes = max((tape.body_bytes for tape in bounded), default=0)

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

    # --- lookups with RabbitMQ's errors -------------------------------------------

    def _queue(self, conn: CoreConnection, name: str) -> Queue:
        queue = conn.vhost.queues.get(name)
        if queue is None:
            raise ChannelError(NOT_FOUND, f"no queue '{name}' in vhost '{conn.vhost_name}'")
        if self.down_nodes and (error := _cluster.unavailable(self, queue)) is not None:
            raise error
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

    def defer(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the method being handled is done (or now, if none is): how a
        listener reacts to an event by changing the broker, without re-entering it."""
        self._deferred.append(fn)
        if not self._in_method:
            self._run_deferred()

    @property
    def dispatch_pending(self) -> bool:
        """Deliveries left for a later turn by ``dispatch_budget``."""
        return bool(self._dispatch_later)

    def resume_dispatch(self) -> bool:
        """Run one more turn of the deliveries the budget left; True if some remain."""
        later, self._dispatch_later = self._dispatch_later, {}
        for queue in later:
            self._to_dispatch[queue] = None
        self._run_dispatch()
        if not self._in_method:
            self._run_deferred()
        return bool(self._dispatch_later)

    def _run_deferred(self) -> None:
        while self._deferred:
            self._deferred.pop(0)()
            self._run_dispatch()

    # --- connection and channel state (_connection) ---
    _release_connection = _connection.release_connection

    # --- exchanges and bindings (_exchanges) ---
    _add_binding = _exchanges.add_binding
    _remove_binding = _exchanges.remove_binding
    _delete_exchange = _exchanges.delete_exchange

    # --- queues (_queues) ---
    _delete_queue = _queues.delete_queue

    # --- consume, deliver, settle, requeue, get (_delivery) ---
    _deliver = _delivery.deliver
    _dispatch = _delivery.dispatch
    _run_dispatch = _delivery.run_dispatch
    _pop_ready = _delivery.pop_ready
    _requeue = _delivery.requeue
    _requeue_all = _delivery.requeue_all
    _close_channel = _delivery.close_channel
    _remove_consumer = _delivery.remove_consumer

    # --- publish and routing (_publish) ---
    _new_message = _publish.new_message
    _route = _publish.route
    _route_key = _publish.route_key

    # --- policies (_policies) ---
    set_policy = _policies.set_policy
    clear_policy = _policies.clear_policy
    _apply_queue_policy = _policies.apply_to_queue
    _apply_exchange_policy = _policies.apply_to_exchange

    # --- message lifetime (_lifetime) ---
    _enqueue = _lifetime.enqueue
    _expire = _lifetime.expire
    _dead_letter = _lifetime.dead_letter
    _drop_over_limit = _lifetime.drop_over_limit

    # --- the Python-level API for tests (_api) ---
    _system_channel = _api.system_channel
    _call = _api.call
    intercept = _api.intercept
    _intercepted = _api.intercepted
    inject = _api.inject
    declare_exchange = _api.declare_exchange
    declare_queue = _api.declare_queue
    bind_queue = _api.bind_queue
    unbind_queue = _api.unbind_queue
    bind_exchange = _api.bind_exchange
    delete_queue = _api.delete_queue
    delete_exchange = _api.delete_exchange
    purge_queue = _api.purge_queue
    publish = _api.publish
    get = _api.get
    queue = _api.queue
    exchange = _api.exchange
    queues = _api.queues
    exchanges = _api.exchanges
    messages = _api.messages
    bindings = _api.bindings
    reset = _api.reset

    # --- a node restart or crash, and what survives it (_restart) ---
    restart = _restart.restart

    # --- a cluster's nodes going down and up (_cluster) ---
    set_nodes = _cluster.set_nodes
    node_down = _cluster.node_down
    node_up = _cluster.node_up
