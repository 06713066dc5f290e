"""The AMQP 0-9-1 connection, sans-IO: bytes in, bytes out, time passed in.

Rules this module keeps:
- No sockets, no event loop, no clock. ``AMQPConnection.receive_data(data, now)`` takes
  what the peer sent, ``data_to_send()`` gives what to write, ``next_deadline()`` says
  when ``handle_timeout(now)`` must be called next, ``should_close`` says when the
  transport is over. Tests wire two in-memory peers together (as h11's tests do).
- The connection-level protocol (protocol header, Start/StartOk, Secure/SecureOk,
  Tune/TuneOk, Open, heartbeats, Close/CloseOk, Blocked/Unblocked, UpdateSecret) is
  ``AMQPConnection`` (in ``_connection``, with its settings, SASL mechanisms and states in
  ``_settings``, ``_sasl`` and ``_states``; all re-exported here), with RabbitMQ 3.10.8's
  behaviour as observed on a real node: a failed handshake gets no frame at all and the
  socket is closed 3 s later, except a refused login for a client advertising
  ``authentication_failure_close``; frame errors, channel_max and heartbeat timeouts
  behave as RabbitMQ's reader does.
- Everything on channels >= 1 goes to the broker core (``CoreConnection.handle``), with
  content already assembled by the codec. The core's output arrives through the sink
  given to ``Broker.open_connection`` at the moment it is produced, so frames leave in
  exactly the order the broker produced them, whichever connection caused them.
- Which methods are legal in which state, and which state changes are legal, are
  tables (``CHANNEL0_METHODS``, ``TRANSITIONS``), as h11 keeps its rules as data.
"""

from __future__ import annotations

from collections.abc import Callable

from amqpmock.fake import Broker
from amqpmock.wire._connection import ACCEPTED_HEADERS as ACCEPTED_HEADERS
from amqpmock.wire._connection import BLOCKED_POLL_INTERVAL as BLOCKED_POLL_INTERVAL
from amqpmock.wire._connection import CHANNEL0_METHODS, AMQPConnection, _Clock, loopback_address
from amqpmock.wire._connection import SHUTDOWN_TEXT as SHUTDOWN_TEXT
from amqpmock.wire._sasl import MECHANISMS as MECHANISMS
from amqpmock.wire._sasl import AMQPlainSession as AMQPlainSession
from amqpmock.wire._sasl import Challenge, Credentials, SaslSession
from amqpmock.wire._sasl import PlainSession as PlainSession
from amqpmock.wire._settings import SERVER_PROPERTIES, ConnectionSettings
from amqpmock.wire._states import HANDSHAKE_STATES as HANDSHAKE_STATES
from amqpmock.wire._states import TRANSITIONS, State

__all__ = [
    "CHANNEL0_METHODS",
    "SERVER_PROPERTIES",
    "TRANSITIONS",
    "AMQPConnection",
    "Challenge",
    "ConnectionSettings",
    "Credentials",
    "SaslSession",
    "State",
    "Switchboard",
    "loopback_address",
]


# -- many connections on one broker ------------------------------------------------------


class Switchboard:
    """The sans-IO server: one broker and its wire connections.

    The adapter calls ``connect`` per accepted socket, feeds each connection its bytes,
    writes the data of the ``pending()`` connections, and sleeps until
    ``next_deadline()`` before calling ``handle_timeout(now)``. ``on_pending`` is called
    when a connection gets output while none was pending, whoever caused it (a publish
    through the broker's Python API, a broker timer): the adapter's cue to write.
    The broker's own timers run on the broker's clock and are the adapter's business.
    """

    def __init__(
        self,
        broker: Broker,
        settings: ConnectionSettings | None = None,
        on_pending: Callable[[], None] | None = None,
    ) -> None:
        self.broker = broker
        self.settings = settings if settings is not None else ConnectionSettings()
        self.connections: list[AMQPConnection] = []
        self.on_pending = on_pending
        self._pending: dict[AMQPConnection, None] = {}
        self._closing: dict[AMQPConnection, None] = {}
        self._clock = _Clock()

    def connect(self, now: float, peer: str = "", node: str | None = None) -> AMQPConnection:
        """A new client connection (on ``node`` of a cluster; None: the first)."""
        conn = AMQPConnection(
            self.broker,
            now,
            peer=peer,
            settings=self.settings,
            on_output=self._mark_pending,
            clock=self._clock,
            node=node,
        )
        self.connections.append(conn)
        return conn

    def forget(self, conn: AMQPConnection) -> None:
        """The transport of ``conn`` is closed: drop it."""
        conn.connection_lost(self._clock.now)
        self._pending.pop(conn, None)
        self._closing.pop(conn, None)
        if conn in self.connections:
            self.connections.remove(conn)

    def _mark_pending(self, conn: AMQPConnection) -> None:
        if conn.should_close:
            self._closing[conn] = None  # listed by pending() until forgotten
        first = not self._pending
        self._pending[conn] = None
        if first and self.on_pending is not None:
            self.on_pending()

    def pending(self) -> list[AMQPConnection]:
        """Connections with data to write or a transport to close, oldest first."""
        # a connection that must close reports itself like one with output (see _end),
        # so there is no scan of every connection here: a flush costs O(pending)
        out = list(self._pending)
        self._pending.clear()
        out.extend(c for c in self._closing if c not in out)
        return out

    def next_deadline(self) -> float | None:
        deadlines = [d for c in self.connections if (d := c.next_deadline()) is not None]
        return min(deadlines) if deadlines else None

    def handle_timeout(self, now: float) -> None:
        self._clock.now = now
        for conn in list(self.connections):
            deadline = conn.next_deadline()
            if deadline is not None and deadline <= now:
                conn.handle_timeout(now)

    def close_all(self, now: float) -> None:
        """Broker shutdown: every running connection gets 320 CONNECTION_FORCED."""
        self._clock.now = now
        for conn in list(self.connections):
            conn.force_close(now)
