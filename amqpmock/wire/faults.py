"""Network faults on a server's client connections, in Toxiproxy's vocabulary.

- ``timeout``: the network stalls. Nothing the client sends is read, nothing the
  broker sends reaches it (it waits, as TCP keeps what it cannot deliver). The client's
  heartbeat check fires; the broker stops hearing the client's heartbeats and, after
  two heartbeat intervals, closes the connection as RabbitMQ does (no Close frame,
  "missed heartbeats from client"), but the client cannot see that close either: the
  socket stays a black hole until the fault ends (then what waited is delivered and
  read, and a connection the broker gave up is closed) or the client goes.
- ``reset_peer``: the connection is reset at once (TCP RST, no Connection.Close); the
  broker sees a client that vanished.
- ``latency``: what the broker sends reaches the client ``latency`` seconds later
  (plus up to ``jitter``; order kept), Toxiproxy's default downstream direction.
- ``bandwidth``: what the broker sends reaches the client at ``rate`` KB/s at most.
- ``slicer``: what the broker sends is cut into pieces of ``average_size`` bytes (give
  or take ``size_variation``), written ``delay`` seconds apart: a client's reader has to
  put its frames together from small reads.
- ``half_open``: the broker's side of the connection is gone (it sees a client that
  vanished: its exclusive queues are deleted, its unacked messages requeued) while the
  client's socket stays open and swallows everything, as after a peer's crash or a
  NAT's silent drop; only the client's heartbeats can tell. When the fault ends the
  socket is reset, as a peer that knows nothing of the connection answers.

A fault holds the connections open when it is added (not later ones: a client that
reconnects gets a healthy connection) or, ``new=True``, the connections made while it
lasts too (a node behind a broken network: connects stall, are reset or are slow), for
``for_`` seconds of wall time or until cleared; ``node``: only the connections to that
node of a cluster (``AMQPServer(nodes=N)``). One fault per connection: a new one
replaces the one it has. Everything here runs on the server's loop; the server calls
``received`` and ``send`` of a connection's fault instead of handling or writing the
bytes itself, and ``connected`` for each new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from amqpmock.wire.server import AMQPServer, _Link

KINDS = ("timeout", "reset_peer", "latency", "bandwidth", "slicer", "half_open")
_PACED = ("latency", "bandwidth", "slicer")  # kinds that write later, in order
_TICK = 0.01  # bandwidth: a piece every 10 ms at most


@dataclass(frozen=True)
class Toxic:
    """What a fault does, with its parameters (Toxiproxy's names, seconds for times)."""

    kind: str
    latency: float = 0.0
    jitter: float = 0.0
    rate: float = 0.0  # bandwidth, KB/s
    average_size: int = 0  # slicer, bytes
    size_variation: int = 0
    delay: float = 0.0  # slicer, seconds between pieces

    def check(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"fault: {self.kind!r} is not one of {', '.join(KINDS)}")
        for name in ("latency", "jitter", "rate", "delay", "average_size", "size_variation"):
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"fault: {name} is a number, 0 or more")
        if self.kind == "bandwidth" and not self.rate > 0:
            raise ValueError("fault: bandwidth needs rate, in KB/s, more than 0")
        if self.kind == "slicer":
            if self.average_size < 1:
                raise ValueError("fault: slicer needs average_size, in bytes, 1 or more")
            if self.size_variation >= self.average_size:
                raise ValueError("fault: slicer's size_variation is less than average_size")


@dataclass(frozen=True)
class _ForNew:
    """A fault for the connections still to come (until ``until``, loop time)."""

    toxic: Toxic
    node: int | None
    until: float | None


_FOR_NEW: weakref.WeakKeyDictionary[AMQPServer, list[_ForNew]] = weakref.WeakKeyDictionary()


@dataclass
class _Swallowing:
    """A server's half-open sockets: gone from the broker, still open to the client."""

    links: set[_Link] = field(default_factory=set)


_HALF_OPEN: weakref.WeakKeyDictionary[AMQPServer, _Swallowing] = weakref.WeakKeyDictionary()


class LinkFault:
    """One fault on one connection (``_Link``)."""

    def __init__(self, link: _Link, toxic: Toxic) -> None:
        self.link = link
        self.toxic = toxic
        self.kind = toxic.kind
        self._input: list[bytes] = []  # read but held (timeout)
        self._output: list[bytes] = []  # to send when the stall ends (timeout)
        self._close = False
        self._last_at = 0.0  # when the last paced write goes out (latency, ...)
        self._timer: asyncio.TimerHandle | None = None

    def start(self, for_: float | None) -> None:
        if self.kind == "timeout":
            self.link.transport.pause_reading()
        elif self.kind == "half_open":
            _forget(self.link)
        if for_ is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(for_, self.clear)

    def received(self, data: bytes) -> bool:
        """Bytes from the client; True when the fault keeps them from the broker."""
        if self.kind == "timeout":
            self._input.append(data)
            return True
        return self.kind == "half_open"

    def send(self, data: bytes, close: bool) -> None:
        """What the broker writes (and whether it closes the connection after)."""
        transport = self.link.transport
        if transport.is_closing() or self.kind == "half_open":
            return
        if self.kind == "timeout":
            if data:
                self._output.append(data)
            self._close = self._close or close
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(self._last_at, now)
        toxic = self.toxic
        if self.kind in ("latency", "drain"):  # drain: behind what is on its way
            extra = toxic.latency + random.uniform(0, toxic.jitter)
            at = max(self._last_at, now + (extra if self.kind == "latency" else 0.0))
            self._last_at = at
            loop.call_at(at, _write, self.link, data, close)
            return
        pieces = _slices(data, toxic) if self.kind == "slicer" else _chunks(data, toxic)
        at = start
        for piece in pieces:
            loop.call_at(at, _write, self.link, piece, False)
            at += toxic.delay if self.kind == "slicer" else len(piece) / (toxic.rate * 1024)
        self._last_at = at
        if close:
            loop.call_at(at, _write, self.link, b"", True)

    def clear(self) -> None:
        """The fault ends: what waited goes through, reading resumes."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        link = self.link
        if link.fault is not self:
            return
        transport = link.transport
        if self.kind == "half_open":
            link.fault = None
            _HALF_OPEN.get(link.server, _Swallowing()).links.discard(link)
            reset(link)
            return
        if self.kind in _PACED:
            loop = asyncio.get_running_loop()
            if self._last_at > loop.time() and not transport.is_closing():
                # writes still on their way: later ones queue behind them, undelayed
                self.kind = "drain"
                self._timer = loop.call_at(self._last_at, self.clear)
                return
        link.fault = None
        if transport.is_closing():
            return
        held, self._input = self._input, []
        output, self._output = self._output, []
        if output:
            transport.write(b"".join(output))
        if self._close:
            transport.close()
            return
        if self.kind == "timeout":
            transport.resume_reading()
        if held:
            link.data_received(b"".join(held))


def _chunks(data: bytes, toxic: Toxic) -> list[bytes]:
    size = max(1, int(toxic.rate * 1024 * _TICK))
    return [data[at : at + size] for at in range(0, len(data), size)]


def _slices(data: bytes, toxic: Toxic) -> list[bytes]:
    pieces: list[bytes] = []
    at = 0
    while at < len(data):
        size = toxic.average_size + random.randint(-toxic.size_variation, toxic.size_variation)
        pieces.append(data[at : at + size])
        at += size
    return pieces


def _write(link: _Link, data: bytes, close: bool) -> None:
    transport = link.transport
    if transport.is_closing():
        return
    if data:
        transport.write(data)
    if close:
        transport.close()


def _forget(link: _Link) -> None:
    """Half-open: the broker loses the connection as when its client vanishes; the
    socket stays open, read and dropped, until the fault ends or the client goes."""
    server = link.server
    swallowing = _HALF_OPEN.get(server)
    if swallowing is None:
        swallowing = _HALF_OPEN[server] = _Swallowing()
    if not swallowing.links:

        async def reset_them() -> None:
            for each in list(swallowing.links):
                reset(each)
            swallowing.links.clear()

        server.on_stop.append(reset_them)
    swallowing.links.add(link)
    conn, link.conn = link.conn, None
    if conn is not None:
        server._links.pop(conn, None)
        server.switchboard.forget(conn)
        server._flush()


def _matches(link: _Link, connection: str | None, node: int | None) -> bool:
    if node is not None and link.node != node:
        return False
    if connection is None:
        return True
    conn = link.conn
    name = conn.client_properties.get("connection_name") if conn is not None else None
    return connection in (link.peer, name)


def reset(link: _Link) -> None:
    """A TCP RST: linger 0, then close."""
    if link.transport.is_closing():
        return
    sock = link.transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, ValueError):  # ValueError: closed meanwhile
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    link.transport.abort()


def add(
    server: AMQPServer,
    kind: str | Toxic,
    connection: str | None = None,
    for_: float | None = None,
    *,
    latency: float = 0.0,
    jitter: float = 0.0,
    new: bool = False,
    node: int | None = None,
) -> int:
    """Put ``kind`` (a name, or a ``Toxic`` with its parameters) on the connections open
    now (``connection``: only the one whose client-provided ``connection_name`` or peer
    ``host:port`` it is; ``node``: only those to that node) and, ``new``, on those made
    while it lasts; how many it hit now."""
    toxic = Toxic(kind, latency, jitter) if isinstance(kind, str) else kind
    toxic.check()
    if for_ is not None and not for_ >= 0:
        raise ValueError("fault: for_ is a number of seconds, 0 or more")
    if node is not None and not 0 <= node < len(server.node_ports):
        count = len(server.node_ports)
        raise ValueError(f"fault: node {node} is not one of this server's {count} nodes")
    if new:
        until = None if for_ is None else asyncio.get_running_loop().time() + for_
        rules = [rule for rule in _FOR_NEW.get(server, []) if rule.node != node]
        _FOR_NEW[server] = [_ForNew(toxic, node, until), *rules]
    links = [
        link
        for link in list(server._links.values())
        if _matches(link, connection, node) and not link.transport.is_closing()
    ]
    for link in links:
        _put(link, toxic, for_)
    return len(links)


def _put(link: _Link, toxic: Toxic, for_: float | None) -> None:
    if toxic.kind == "reset_peer":
        reset(link)
        return
    fault = LinkFault(link, toxic)
    old = link.fault
    if old is not None:
        old.clear()
        if link.conn is None:  # it was half-open: that reset it
            return
        fault._last_at = old._last_at  # what is still on its way stays first
    link.fault = fault
    fault.start(for_)


def connected(link: _Link) -> None:
    """A new connection (the server calls this): a fault for new ones applies to it."""
    rules = _FOR_NEW.get(link.server)
    if not rules:
        return
    now = asyncio.get_running_loop().time()
    live = [rule for rule in rules if rule.until is None or rule.until > now]
    _FOR_NEW[link.server] = live
    for rule in live:
        if rule.node is None or rule.node == link.node:
            _put(link, rule.toxic, None if rule.until is None else rule.until - now)
            return


def clear(server: AMQPServer) -> None:
    """End every fault now."""
    _FOR_NEW.pop(server, None)
    for link in list(server._links.values()):
        if link.fault is not None:
            link.fault.clear()
    swallowing = _HALF_OPEN.get(server)
    if swallowing is not None:
        for link in list(swallowing.links):
            if link.fault is not None:
                link.fault.clear()
        swallowing.links.clear()


# --- forced closes ------------------------------------------------------------------

FORCED_TEXT = "Closed via management plugin"  # RabbitMQ's, for a close without a reason


def close(
    server: AMQPServer,
    connection: str | None = None,
    code: int = 320,
    text: str = FORCED_TEXT,
    channel: int | None = None,
) -> int:
    """Close the open connections (``connection``: the one whose ``connection_name``
    or peer ``host:port`` it is) with Connection.Close ``code`` and ``text``, as the
    broker closes one for an error; with ``channel``, only that channel of each, with
    Channel.Close. The client answers CloseOk as to any close from the broker. How
    many it closed."""
    from amqpmock.errors import REPLY_NAMES, ChannelError, ConnectionError_

    if code not in REPLY_NAMES:
        raise ValueError(f"close: {code} is not an AMQP reply code ({sorted(REPLY_NAMES)})")
    now = time.monotonic()
    hit = 0
    for link in list(server._links.values()):
        conn = link.conn
        if conn is None or conn.core is None or conn.core.closing:
            continue
        if not _matches(link, connection, None) or link.transport.is_closing():
            continue
        if channel is None:
            conn.close_with(ConnectionError_(code, text), now)
            hit += 1
        elif conn.core.channel_is_open(channel):
            conn.core.close_channel(channel, ChannelError(code, text))
            hit += 1
    server._flush()
    return hit
