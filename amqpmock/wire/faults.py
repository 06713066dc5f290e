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

A fault holds the connections open when it is added (not later ones: a client that
reconnects gets a healthy connection) or, ``new=True``, the connections made while it
lasts too (a node behind a broken network: connects stall, are reset or are slow), for
``for_`` seconds of wall time or until cleared. Everything here runs on the server's
loop; the server calls ``received`` and ``send`` of a connection's fault instead of
handling or writing the bytes itself, and ``connected`` for each new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from amqpmock.wire.server import AMQPServer, _Link

KINDS = ("timeout", "reset_peer", "latency")


@dataclass(frozen=True)
class _ForNew:
    """A fault for the connections still to come (until ``until``, loop time)."""

    kind: str
    latency: float
    jitter: float
    until: float | None


_FOR_NEW: weakref.WeakKeyDictionary[AMQPServer, _ForNew] = weakref.WeakKeyDictionary()


class LinkFault:
    """One fault on one connection (``_Link``)."""

    def __init__(self, link: _Link, kind: str, latency: float = 0.0, jitter: float = 0.0) -> None:
        self.link = link
        self.kind = kind
        self.latency = latency
        self.jitter = jitter
        self._input: list[bytes] = []  # read but held (timeout)
        self._output: list[bytes] = []  # to send when the stall ends (timeout)
        self._close = False
        self._last_at = 0.0  # when the last delayed write goes out (latency)
        self._timer: asyncio.TimerHandle | None = None

    def start(self, for_: float | None) -> None:
        if self.kind == "timeout":
            self.link.transport.pause_reading()
        if for_ is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(for_, self.clear)

    def received(self, data: bytes) -> bool:
        """Bytes from the client; True when the fault keeps them from the broker."""
        if self.kind == "timeout":
            self._input.append(data)
            return True
        return False

    def send(self, data: bytes, close: bool) -> None:
        """What the broker writes (and whether it closes the connection after)."""
        transport = self.link.transport
        if transport.is_closing():
            return
        if self.kind == "timeout":
            if data:
                self._output.append(data)
            self._close = self._close or close
            return
        # latency: later, in order
        loop = asyncio.get_running_loop()
        at = max(self._last_at, loop.time() + self.latency + random.uniform(0, self.jitter))
        self._last_at = at
        loop.call_at(at, _write, self.link, data, close)

    def clear(self) -> None:
        """The fault ends: what waited goes through, reading resumes."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        link = self.link
        if link.fault is not self:
            return
        link.fault = None
        transport = link.transport
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


def _write(link: _Link, data: bytes, close: bool) -> None:
    transport = link.transport
    if transport.is_closing():
        return
    if data:
        transport.write(data)
    if close:
        transport.close()


def _matches(link: _Link, connection: str | None) -> bool:
    if connection is None:
        return True
    conn = link.conn
    name = conn.client_properties.get("connection_name") if conn is not None else None
    return connection in (link.peer, name)


def reset(link: _Link) -> None:
    """A TCP RST: linger 0, then close."""
    sock = link.transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    link.transport.abort()


def add(
    server: AMQPServer,
    kind: str,
    connection: str | None = None,
    for_: float | None = None,
    *,
    latency: float = 0.0,
    jitter: float = 0.0,
    new: bool = False,
) -> int:
    """Put ``kind`` on the connections open now (``connection``: only the one whose
    client-provided ``connection_name`` or peer ``host:port`` it is) and, ``new``, on
    those made while it lasts; how many it hit now."""
    if kind not in KINDS:
        raise ValueError(f"fault: {kind!r} is not one of {', '.join(KINDS)}")
    if for_ is not None and for_ < 0:
        raise ValueError("fault: for_ is a number of seconds, 0 or more")
    if new:
        until = None if for_ is None else asyncio.get_running_loop().time() + for_
        _FOR_NEW[server] = _ForNew(kind, latency, jitter, until)
    links = [
        link
        for link in list(server._links.values())
        if _matches(link, connection) and not link.transport.is_closing()
    ]
    for link in links:
        _put(link, kind, for_, latency, jitter)
    return len(links)


def _put(link: _Link, kind: str, for_: float | None, latency: float, jitter: float) -> None:
    if kind == "reset_peer":
        reset(link)
        return
    if link.fault is not None:
        link.fault.clear()
    fault = LinkFault(link, kind, latency, jitter)
    link.fault = fault
    fault.start(for_)


def connected(link: _Link) -> None:
    """A new connection (the server calls this): a fault for new ones applies to it."""
    rule = _FOR_NEW.get(link.server)
    if rule is None:
        return
    left = None if rule.until is None else rule.until - asyncio.get_running_loop().time()
    if left is not None and left <= 0:
        del _FOR_NEW[link.server]
        return
    _put(link, rule.kind, left, rule.latency, rule.jitter)


def clear(server: AMQPServer) -> None:
    """End every fault now."""
    _FOR_NEW.pop(server, None)
    for link in list(server._links.values()):
        if link.fault is not None:
            link.fault.clear()


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
        if not _matches(link, connection) or link.transport.is_closing():
            continue
        if channel is None:
            conn.close_with(ConnectionError_(code, text), now)
            hit += 1
        elif conn.core.channel_is_open(channel):
            conn.core.close_channel(channel, ChannelError(code, text))
            hit += 1
    server._flush()
    return hit
