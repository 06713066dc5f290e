"""The asyncio adapter: sockets in, ``amqpmock.wire.protocol`` in the middle, sockets out.

Rules this module keeps:
- It is thin. Everything about AMQP is in the sans-IO protocol (``Switchboard`` and
  ``AMQPConnection``) and the broker core; this module only moves bytes, keeps time and
  wakes up for deadlines.
- Clocks live here: the wire protocol's deadlines (heartbeats, handshake and close
  timeouts) run on the loop's ``time()`` (``time.monotonic()`` on asyncio's loop, a
  virtual time on ``amqpmock.testing.virtual_loop``'s); the broker's timers (TTL,
  expiry) run on the broker's own clock. A broker on a ``VirtualClock`` is left to
  whoever moves that clock.
- One bad connection never takes the server down: an exception while serving a socket
  is logged and closes that socket only.
- Each socket is an ``asyncio.Protocol`` (``_Link``): bytes are handed to the protocol
  state machine in the same loop round that reads them, and answers are written
  straight after, without a task, a future or a stream buffer in between (half the
  loop rounds of asyncio streams per read, which is most of an RPC's server time).
- Backpressure: while a connection's write buffer is above asyncio's high-water mark,
  that connection's socket is not read and its consumers get no deliveries (the
  messages wait in their queues, as in RabbitMQ, not as bytes in our buffer).
- ``ServerThread`` runs the same server on a loop in a background thread for blocking
  clients; ``call(fn)`` runs ``fn`` on that thread, the only safe way to touch the
  broker while the server runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar, cast
from urllib.parse import quote

from amqpmock.fake import Broker
from amqpmock.fake.clock import VirtualClock
from amqpmock.wire import _nodes, _outage, faults
from amqpmock.wire.faults import LinkFault
from amqpmock.wire.loopthread import LoopThread
from amqpmock.wire.protocol import (
    BLOCKED_POLL_INTERVAL,
    AMQPConnection,
    ConnectionSettings,
    Switchboard,
)

__all__ = ["AMQPServer", "MonotonicClock", "ServerThread"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# The loop wakes at least this often, so that broker timers armed through the broker's
# Python API (which the server does not see) run without much delay.
MAX_SLEEP = 0.25
# How long a computed minimum of the connections' wire deadlines is reused.
WIRE_DEADLINE_TTL = 0.02
# On stop, how long clients get to answer the server's Connection.Close.
STOP_GRACE = 1.0
# Loop rounds ``ServerThread.call`` waits so that data already on the sockets is read
# and processed before it runs.
SETTLE_ROUNDS = 4
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only
# Deliveries per queue before the loop serves its other work (new clients, other
# connections, the writer's backpressure): a consumer draining a deep queue gets them in
# batches instead of one turn that stalls everyone.
DISPATCH_BUDGET = 256
# Octets of one connection's input handled per loop round. A publisher that keeps its
# socket full would otherwise hand over everything the loop can read at once (uvloop
# reads up to 32 buffers of 256 kB per wake-up: seconds of work) while new clients wait
# for their Connection.Start; the rest waits, read but unhandled, for the next round.
READ_SLICE = 64 * 1024


class MonotonicClock:
    """Seconds since the epoch that never go backwards (for the broker core).

    Wall time when the clock was made, moved on by ``time.monotonic()``: TTLs are immune
    to the system clock being set, and AMQP timestamps still look like dates.
    """

    def __init__(self) -> None:
        self._offset = time.time() - time.monotonic()

    def now(self) -> float:
        return time.monotonic() + self._offset


class AMQPServer:
    """An AMQP 0-9-1 server on ``host:port`` in front of a fake broker.

    ``async with AMQPServer() as srv: srv.url`` gives ``amqp://guest:guest@127.0.0.1:PORT/``.
    Without ``broker`` a new one is made on a ``MonotonicClock``; ``users`` (name ->
    password) and ``vhosts`` are added to it, each user with full permissions on each
    vhost. ``port=0`` picks a free port.
    """

    def __init__(
        self,
        broker: Broker | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        users: Mapping[str, str] | None = None,
        vhosts: Iterable[str] | None = None,
        settings: ConnectionSettings | None = None,
        tls: ssl.SSLContext | None = None,
        tls_port: int = 0,
        nodes: int = 1,
        node_ports: Iterable[int] = (),
    ) -> None:
        if broker is None:
            broker = Broker(
                clock=MonotonicClock(),
                users=dict(users) if users is not None else None,
                vhosts=tuple(vhosts) if vhosts is not None else ("/",),
            )
        else:
            _add_users_and_vhosts(broker, users, vhosts)
        self.broker = broker
        if nodes != len(broker.nodes):
            broker.set_nodes(nodes)
        # a cluster (amqpmock.wire._nodes): node 0 is this listener, the others their own
        self.node_ports: list[int] = [port, *node_ports][:nodes]
        self._node_servers: dict[int, asyncio.Server] = {}
        self._node_tasks: set[asyncio.Task[None]] = set()
        self.nodes_down: set[int] = set()
        if broker.dispatch_budget is None:
            broker.dispatch_budget = DISPATCH_BUDGET
        self.host = host
        self.port = port
        if len(broker.nodes) > 1:  # RabbitMQ's cluster name: its first node's
            settings = _cluster_settings(settings, broker.nodes[0])
        self.switchboard = Switchboard(broker, settings, on_pending=self._wake_writer)
        self._server: asyncio.Server | None = None
        # an amqps listener beside the plain one, serving the same broker
        self.tls = tls
        self.tls_port = tls_port
        self._tls_server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._links: dict[AMQPConnection, _Link] = {}
        # the wake-up timer and when it fires (uvloop's call_at can hand back a plain
        # Handle, which has no when())
        self._timer: asyncio.Handle | None = None
        self._timer_when = 0.0
        self._flush_scheduled = False
        self._dispatch_scheduled = False
        self._wire_deadline: float | None = None
        self._wire_deadline_at = float("-inf")
        self.octets_in = 0  # received from every client so far
        # services on this loop that stop with the server (the management HTTP API)
        self.on_stop: list[Callable[[], Awaitable[None]]] = []
        # a restart or crash (amqpmock.wire._outage): not listening while down
        self.down = False
        self._come_up_timer: asyncio.TimerHandle | None = None
        self._serving: asyncio.Task[None] | None = None
        self._stopped: asyncio.Event | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def _url(self, scheme: str, port: int) -> str:
        user, password = "guest", "guest"
        for name, (secret, _tags) in self.broker.users.items():
            # a user that takes any password, or has none we know, is not shown
            if secret is not None and not secret.startswith("\x00"):
                user, password = name, secret
                break
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/"

    @property
    def url(self) -> str:
        return self._url("amqp", self.port)

    @property
    def tls_url(self) -> str | None:
        """The ``amqps://`` URL of the TLS listener, when there is one."""
        return self._url("amqps", self.tls_port) if self._tls_server is not None else None

    async def start_tls(self, context: ssl.SSLContext, port: int = 0) -> str:
        """Open an amqps listener (on a running server); returns its URL."""
        if self._tls_server is None:
            loop = asyncio.get_running_loop()
            self._tls_server = await loop.create_server(
                lambda: _Link(self), self.host, port, ssl=context
            )
            self.tls, self.tls_port = context, self._tls_server.sockets[0].getsockname()[1]
        url = self.tls_url
        assert url is not None
        return url

    async def start(self) -> AMQPServer:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        loop = self._loop
        self._server = await loop.create_server(lambda: _Link(self), self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self.node_ports[0] = self.port
        await _nodes.listen(self)
        self._stopped = asyncio.Event()
        if self.tls is not None:
            await self.start_tls(self.tls, self.tls_port)
        on_advance = getattr(self.broker.clock, "on_advance", None)
        if isinstance(on_advance, list):  # an adjustable clock: wake up when it jumps
            on_advance.append(self._wake_timers)
        self._reschedule()
        log.info("amqpmock listening on %s (%s)", self.url, type(self._loop).__module__)
        return self

    async def stop(self) -> None:
        """Stop listening, close every connection (320 CONNECTION_FORCED), wait a moment."""
        if self._server is None:
            return
        _outage.cancel_come_up(self)
        if self._serving is not None and not self._serving.done():
            await self._serving  # coming back up: let it finish, then close it all
        await _nodes.settle(self)
        if self._stopped is not None:
            self._stopped.set()
        for stop_service in reversed(self.on_stop):
            await stop_service()
        self.on_stop.clear()
        server, self._server = self._server, None
        server.close()
        tls_server, self._tls_server = self._tls_server, None
        if tls_server is not None:
            tls_server.close()
        _nodes.close_listeners(self)
        on_advance = getattr(self.broker.clock, "on_advance", None)
        if isinstance(on_advance, list) and self._wake_timers in on_advance:
            on_advance.remove(self._wake_timers)
        self.switchboard.close_all(self._wire_now())
        self._flush()
        await self._links_gone(STOP_GRACE)
        for link in list(self._links.values()):
            link.transport.close()
        await self._links_gone(STOP_GRACE)
        for link in list(self._links.values()):
            link.transport.abort()
        await self._links_gone(STOP_GRACE)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await server.wait_closed()
        if tls_server is not None:
            await tls_server.wait_closed()

    async def __aenter__(self) -> AMQPServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        """Serve until ``stop()`` (or cancelled), through restarts."""
        assert self._stopped is not None, "start() the server first"
        await self._stopped.wait()

    # -- restart and crash (amqpmock.wire._outage) --------------------------------------

    def go_down(self, *, crash: bool = False, down_for: float | None = 0.0) -> None:
        """A node restart (every connection gets 320 CONNECTION_FORCED 'shutdown') or
        ``crash`` (sockets reset), durable state only left; new connections are refused
        for ``down_for`` seconds (0: listening again at once; None: until
        ``come_up()``). Call on the server's loop."""
        _outage.go_down(self, crash=crash, down_for=down_for)

    def come_up(self) -> None:
        """Listen again now after ``go_down`` (a no-op while up). On the server's loop."""
        _outage.come_up(self)

    # -- a cluster's nodes (amqpmock.wire._nodes) -----------------------------------------

    @property
    def node_urls(self) -> list[str]:
        """Each node's ``amqp://`` URL, node 0's (``url``) first."""
        return [self._url("amqp", port) for port in self.node_ports]

    def stop_node(self, index: int) -> None:
        """Node ``index`` stops, as with ``rabbitmqctl stop_app`` on it. On the loop."""
        _nodes.stop_node(self, index)

    def start_node(self, index: int) -> None:
        """Node ``index`` starts again (``rabbitmqctl start_app``). On the loop."""
        _nodes.start_node(self, index)

    async def _links_gone(self, timeout: float) -> None:
        waiting = [link.gone for link in self._links.values() if not link.gone.done()]
        if waiting:
            await asyncio.wait(waiting, timeout=timeout)

    # -- writing ---------------------------------------------------------------------

    def _wake_writer(self) -> None:
        """A connection has output (maybe caused off-loop, through the broker's API)."""
        if self._loop is None or self._flush_scheduled:
            return
        self._flush_scheduled = True
        if threading.get_ident() == self._loop_thread:
            self._loop.call_soon(self._flush)
        else:
            self._loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        try:
            for conn in self.switchboard.pending():
                data = conn.data_to_send()
                link = self._links.get(conn)
                if link is None:
                    continue
                if link.fault is not None:  # a network fault (amqpmock.wire.faults)
                    link.fault.send(data, conn.should_close)
                    continue
                transport = link.transport
                if transport.is_closing():
                    continue
                if data:
                    transport.write(data)
                if conn.should_close:
                    transport.close()
        except Exception:
            log.exception("error while writing")
        if self.broker.dispatch_pending and not self._dispatch_scheduled and self._loop:
            # more deliveries are due: after the loop has polled its sockets once
            self._dispatch_scheduled = True
            self._loop.call_soon(self._resume_dispatch)
        self._reschedule()

    def _resume_dispatch(self) -> None:
        self._dispatch_scheduled = False
        if self._server is None:
            return
        try:
            self.broker.resume_dispatch()
        except Exception:
            log.exception("error while delivering")
        self._flush()

    # -- time ---------------------------------------------------------------------------

    def _wire_now(self) -> float:
        """The wire deadlines' clock: the loop's time (on the loop)."""
        loop = self._loop
        return loop.time() if loop is not None else time.monotonic()

    def _wake_timers(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._on_timer)

    def _reschedule(self) -> None:
        loop = self._loop
        if loop is None or self._server is None:
            return
        delay = MAX_SLEEP
        # the wire deadlines (heartbeats, handshake and close timeouts) are coarse; taking
        # their minimum over every connection on each flush would make every message
        # cost O(connections), so it is refreshed at most every WIRE_DEADLINE_TTL
        mono = self._wire_now()
        if mono - self._wire_deadline_at > WIRE_DEADLINE_TTL:
            self._wire_deadline = self.switchboard.next_deadline()
            self._wire_deadline_at = mono
        wire = self._wire_deadline
        if wire is not None:
            delay = min(delay, wire - mono)
        if not isinstance(self.broker.clock, VirtualClock):
            broker_deadline = self.broker.next_deadline()
            if broker_deadline is not None:
                delay = min(delay, broker_deadline - self.broker.clock.now())
        when = loop.time() + max(0.0, delay)
        if self._timer is not None:
            if self._timer_when <= when:
                return
            self._timer.cancel()
        self._timer = loop.call_at(when, self._on_timer)
        self._timer_when = when

    def _on_timer(self) -> None:
        self._timer = None
        self._wire_deadline_at = float("-inf")  # recompute after handling timeouts
        if self._server is None:
            return
        try:
            self.switchboard.handle_timeout(self._wire_now())
            if not isinstance(self.broker.clock, VirtualClock):
                deadline = self.broker.next_deadline()
                if deadline is not None and deadline <= self.broker.clock.now():
                    self.broker.run_timers()
        except Exception:
            log.exception("error while running timers")
        self._flush()


class _Link(asyncio.Protocol):
    """One socket of an ``AMQPServer``: its bytes go to its ``AMQPConnection``."""

    def __init__(self, server: AMQPServer, node: int = 0) -> None:
        self.server = server
        self.node = node  # the index of the cluster node whose listener accepted it
        self.transport: asyncio.Transport
        self.conn: AMQPConnection | None = None
        self.peer = "?"
        self._quickack: Any = None  # the socket, where TCP_QUICKACK can be set
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # input read but not yet handled (see READ_SLICE), from this offset on
        self._backlog = b""
        self._backlog_at = 0
        self._write_paused = False
        self.fault: LinkFault | None = None  # a network fault (amqpmock.wire.faults)
        self._alarm_poll = False  # waiting for a resource alarm to end

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport (uvloop's are not asyncio.Transport subclasses)
        self.transport = cast(asyncio.Transport, transport)
        peername = transport.get_extra_info("peername")
        self.peer = (
            f"{peername[0]}:{peername[1]}" if isinstance(peername, tuple) else str(peername)
        )
        server = self.server
        if server._server is None:  # stopping: no new connections
            self.transport.abort()
            return
        self.conn = server.switchboard.connect(
            server._wire_now(), self.peer, server.broker.nodes[self.node]
        )
        server._links[self.conn] = self
        faults.connected(self)  # a network fault for new connections, if any
        server._reschedule()
        sock = transport.get_extra_info("socket")
        self._quickack = sock if _QUICKACK is not None and sock is not None else None
        self._ack_now()

    def _ack_now(self) -> None:
        """Acknowledge the peer's segments at once rather than up to 40 ms later.

        A client that leaves Nagle's algorithm on (Node's amqplib does by default) holds
        the rest of a message until its first frame is acknowledged; with the kernel's
        delayed ACKs every publish would then wait ~40 ms. Linux forgets TCP_QUICKACK
        after a while, so it is set again after each read.
        """
        sock = self._quickack
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            except OSError:
                self._quickack = None

    def data_received(self, data: bytes) -> None:
        if self.conn is None or (self.fault is not None and self.fault.received(data)):
            return
        self._ack_now()
        self.server.octets_in += len(data)
        if len(data) <= READ_SLICE and not self._backlog:
            self._handle(data)
            return
        self._backlog = self._backlog[self._backlog_at :] + data
        self._backlog_at = 0
        self.transport.pause_reading()  # until the backlog is handled
        self._handle_slice()

    def _handle_slice(self) -> None:
        """Handle the next READ_SLICE of the backlog; the rest in a later loop round."""
        if not self._backlog or self.conn is None or self._write_paused:
            return  # nothing left, gone, or resume_writing() goes on
        if self.transport.is_closing():
            self._backlog, self._backlog_at = b"", 0
            return
        at = self._backlog_at
        piece = self._backlog[at : at + READ_SLICE]
        self._backlog_at = at + len(piece)
        if self._backlog_at < len(self._backlog):
            asyncio.get_running_loop().call_soon(self._handle_slice)
        else:
            self._backlog, self._backlog_at = b"", 0
            if not self.transport.is_closing() and not self._alarm_poll:
                self.transport.resume_reading()
        self._handle(piece)

    def _handle(self, data: bytes) -> None:
        conn = self.conn
        if conn is None:
            return
        server = self.server
        # the flush below writes whatever this causes: no need to queue another one
        server._flush_scheduled = True
        try:
            conn.receive_data(data, server._wire_now())
        except Exception:
            log.exception("error serving %s; closing that connection", self.peer)
            self.transport.abort()
        finally:
            server._flush()
        if conn.reading_paused and not self._alarm_poll:
            self._read_after_alarm()

    def _read_after_alarm(self) -> None:
        """A resource alarm blocks this connection (amqpmock.fake.alarms): its socket is
        not read, as RabbitMQ's is not, until the protocol reads again."""
        conn = self.conn
        self._alarm_poll = False
        if conn is None or self.transport.is_closing():
            return
        if conn.reading_paused:
            self.transport.pause_reading()
            self._alarm_poll = True
            asyncio.get_running_loop().call_later(BLOCKED_POLL_INTERVAL, self._read_after_alarm)
        elif not self._write_paused and not self._backlog:
            self.transport.resume_reading()

    def eof_received(self) -> bool:
        if self._backlog:  # what came before the end is handled first
            data, self._backlog = self._backlog[self._backlog_at :], b""
            self._backlog_at = 0
            self._handle(data)
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.receive_data(b"", self.server._wire_now())
            self.server._flush()
        return False  # close our end too

    def connection_lost(self, exc: Exception | None) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            server = self.server
            server._links.pop(conn, None)
            try:
                server.switchboard.forget(conn)
                server._flush()
            except Exception:
                log.exception("error while closing %s", self.peer)
        if not self.gone.done():
            self.gone.set_result(None)

    # backpressure: a peer that does not read what we write is not read from, and its
    # consumers get nothing more (their messages stay ready in the queues) until it
    # has caught up
    def pause_writing(self) -> None:
        self._write_paused = True
        self.transport.pause_reading()
        if self.conn is not None:
            self.conn.set_writable(False)

    def resume_writing(self) -> None:
        self._write_paused = False
        if self.transport.is_closing():
            return
        if self._backlog:
            asyncio.get_running_loop().call_soon(self._handle_slice)  # then reads again
        elif not self._alarm_poll:
            self.transport.resume_reading()
        if self.conn is not None:
            self.conn.set_writable(True)  # what it delivers wakes the writer as any output


def _cluster_settings(settings: ConnectionSettings | None, first_node: str) -> ConnectionSettings:
    """The settings with RabbitMQ's cluster name, the first node's name, in the server
    properties every node sends."""
    settings = settings if settings is not None else ConnectionSettings()
    properties = dict(settings.server_properties)
    properties["cluster_name"] = first_node
    return dataclasses.replace(settings, server_properties=properties)


def _add_users_and_vhosts(
    broker: Broker, users: Mapping[str, str] | None, vhosts: Iterable[str] | None
) -> None:
    new_vhosts = list(vhosts or ())
    new_users = dict(users or {})
    for vhost in new_vhosts:
        broker.add_vhost(vhost)
    for name, password in new_users.items():
        broker.add_user(name, password)
    # full permissions for each new user everywhere, and for everyone on each new vhost
    for name in broker.users:
        for vhost in broker.vhosts:
            if name in new_users or vhost in new_vhosts:
                broker.set_permissions(name, vhost)
    if new_users or new_vhosts:
        broker.mark_baseline()


class ServerThread:
    """``AMQPServer`` on its own event loop in a daemon thread, for blocking clients.

    ``with ServerThread() as srv: srv.url``. The broker belongs to that thread while the
    server runs: touch it through ``srv.call(fn)``. ``loop``: ``"auto"`` (uvloop when it
    is installed, else asyncio's), ``"asyncio"`` or ``"uvloop"``.
    """

    def __init__(
        self,
        broker: Broker | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        users: Mapping[str, str] | None = None,
        vhosts: Iterable[str] | None = None,
        settings: ConnectionSettings | None = None,
        start_timeout: float = 10.0,
        loop: str = "auto",
        tls: ssl.SSLContext | None = None,
        tls_port: int = 0,
        nodes: int = 1,
    ) -> None:
        self.server = AMQPServer(
            broker, host, port, users, vhosts, settings, tls, tls_port, nodes=nodes
        )
        self._runner = LoopThread(
            self.server,
            "AMQP server",
            start_timeout=start_timeout,
            settle_rounds=SETTLE_ROUNDS,
            loop=loop,
        )

    @property
    def broker(self) -> Broker:
        return self.server.broker

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def tls_url(self) -> str | None:
        return self.server.tls_url

    def start_tls(self, context: ssl.SSLContext, port: int = 0) -> str:
        """Open an amqps listener beside the plain one; returns its URL."""
        return self._runner.run(self.server.start_tls(context, port))

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the server's loop (another service on the same loop, such
        as the management HTTP API) and return its result."""
        return self._runner.run(coroutine)

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> ServerThread:
        self._runner.start()
        return self

    def stop(self) -> None:
        self._runner.stop()

    def restart(self, down_for: float | None = 0.0, *, crash: bool = False) -> None:
        """Restart (or ``crash``) the node this server plays: see
        ``AMQPServer.go_down``. Returns once the connections are closed (or dropped) and
        the durable state is all that is left; with ``down_for=0`` the listeners are
        back too, else they come back by themselves ``down_for`` seconds later (None:
        at ``come_up()``)."""
        self._runner.call(lambda: self.server.go_down(crash=crash, down_for=down_for))

    def come_up(self) -> None:
        """Listen again now, after ``restart`` (a no-op while up)."""
        self._runner.call(self.server.come_up)

    @property
    def down(self) -> bool:
        return self.server.down

    @property
    def node_urls(self) -> list[str]:
        """Each cluster node's AMQP URL (one: ``[url]``)."""
        return self.server.node_urls

    def stop_node(self, index: int) -> None:
        """Node ``index`` stops (``rabbitmqctl stop_app``): see ``AMQPServer.stop_node``.
        Returns once its clients have been told and the cluster has lost it."""
        self._runner.call(lambda: self.server.stop_node(index))

    def start_node(self, index: int) -> None:
        """Node ``index`` is back; its port listens again when this returns."""
        self._runner.call(lambda: self.server.start_node(index))

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on the server's thread and return (or raise) what it does.

        Before ``fn`` runs, the loop goes round a few times so that bytes a client has
        already written (a publish from a blocking client that has just returned) are
        taken in first: a test then sees the broker as its clients left it.
        """
        return self._runner.call(fn)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
