"""One client connection, sans-IO: ``AMQPConnection``, the state machine behind
``amqpmock.wire.protocol`` (whose docstring has the rules it keeps), and the table of the
channel-0 methods each state accepts (``CHANNEL0_METHODS``).

Private to ``amqpmock.wire``: ``protocol`` re-exports the public names.
"""

from __future__ import annotations

import ipaddress
import logging
import struct
from collections.abc import Callable
from typing import Any

from pamqp import base
from pamqp.commands import Basic
from pamqp.commands import Connection as ConnectionMethods

from amqpmock.errors import (
    ACCESS_REFUSED,
    CHANNEL_ERROR,
    CONNECTION_FORCED,
    INTERNAL_ERROR,
    NOT_ALLOWED,
    AMQPError,
    ConnectionError_,
)
from amqpmock.fake import Broker, CoreConnection, alarms
from amqpmock.fake.commands import CloseTransport, Command, SendContent, SendMethod
from amqpmock.wire._replytext import _ids, _unexpected_frame
from amqpmock.wire._sasl import Challenge, SaslSession
from amqpmock.wire._settings import ConnectionSettings, _negotiation_problem
from amqpmock.wire._states import HANDSHAKE_STATES, SILENT_STATES, TRANSITIONS, State
from amqpmock.wire.codec import (
    FRAME_MIN_SIZE,
    PROTOCOL_HEADER,
    AssembledMethod,
    BadFrame,
    BodyFrame,
    ContentAssembler,
    FrameReader,
    HeaderFrame,
    HeartbeatFrame,
    InboundFrame,
    MethodFrame,
    UnknownMethod,
    capped_error,
    encode_content,
    encode_heartbeat,
    encode_method,
    truncate_reply_text,
    unexpected_frame_for,
)

log = logging.getLogger("amqpmock.wire.protocol")  # the public module's name, as before

# Both accepted protocol headers: 0-9-1, and the legacy 0-9 one RabbitMQ treats as 0-9-1.
ACCEPTED_HEADERS = frozenset({PROTOCOL_HEADER, b"AMQP\x01\x01\x00\x09"})
SHUTDOWN_TEXT = "broker forced connection closure with reason 'shutdown'"
# How often a connection paused by a resource alarm looks whether the alarm is over.
BLOCKED_POLL_INTERVAL = 0.05


Handler = Callable[["AMQPConnection", Any, float], None]


class _Clock:
    """The latest time the adapter told us about, shared by the connections of a server.

    Output produced on behalf of another connection (a delivery caused by someone
    else's publish) is stamped with it for heartbeat bookkeeping.
    """

    __slots__ = ("now",)

    def __init__(self, now: float = 0.0) -> None:
        self.now = now


class AMQPConnection:
    """One client connection: protocol header to socket close."""

    def __init__(
        self,
        broker: Broker,
        now: float,
        *,
        peer: str = "",
        settings: ConnectionSettings | None = None,
        on_output: Callable[[AMQPConnection], None] | None = None,
        clock: _Clock | None = None,
        node: str | None = None,
    ) -> None:
        self.broker = broker
        self.peer = peer
        self.node = node if node is not None else broker.nodes[0]
        self.settings = settings if settings is not None else ConnectionSettings()
        self._on_output = on_output
        self._clock = clock if clock is not None else _Clock(now)
        self._clock.now = now
        self.state = State.HANDSHAKE
        self._reader = FrameReader(frame_max=FRAME_MIN_SIZE)
        self._assembler = ContentAssembler()
        self._out = bytearray()
        self.core: CoreConnection | None = None
        self.client_properties: dict[str, Any] = {}
        self.user: str | None = None
        self.vhost: str | None = None
        self.mechanism = ""
        self._sasl: SaslSession | None = None
        self.channel_max = self.settings.channel_max
        self.frame_max = FRAME_MIN_SIZE
        self.heartbeat = 0
        self._last_received = now
        self._last_sent = now
        # RabbitMQ's heartbeat receiver: a check every heartbeat interval from TuneOk on;
        # the second check in a row that finds no byte received closes the connection
        self._hb_check_at = 0.0
        self._hb_seen = now  # _last_received at the previous check
        self._hb_misses = 0
        self._handshake_deadline = now + self.settings.handshake_timeout
        self._close_deadline: float | None = None
        # A resource alarm pauses reading after a publish, as RabbitMQ does.
        self._paused_by: str | None = None
        self._blocked_sent = False
        self._block_check_at: float | None = None
        self._held: AssembledMethod | None = None  # the publish whose body was not read
        self.close_reason: str = ""

    # -- the adapter's side ----------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes from the peer; ``b""`` means the peer closed its end."""
        self._clock.now = now
        if self.state in (State.LINGERING, State.DONE):
            return
        if not data:
            self._end("peer closed the connection")
            return
        self._last_received = now
        self._reader.feed(data)
        self._process(now)

    def set_writable(self, writable: bool) -> None:
        """The adapter's word on the peer keeping up: False while the socket's write
        buffer is over its high-water mark. Deliveries to this connection's consumers
        wait meanwhile (see ``CoreConnection.set_writable``)."""
        if self.core is not None and self.state is State.RUNNING:
            self.core.set_writable(writable)

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    @property
    def should_close(self) -> bool:
        """True once the transport must be closed (after writing ``data_to_send()``)."""
        return self.state is State.DONE

    @property
    def reading_paused(self) -> bool:
        """True while a resource alarm keeps this connection's input unread."""
        return self._paused_by is not None

    @property
    def blocking_state(self) -> str:
        """``running``, ``blocking`` (an alarm is on) or ``blocked`` (it published
        during one), as RabbitMQ's management API shows a connection."""
        return alarms.connection_state(self.broker, blocked=self._paused_by is not None)

    def connection_lost(self, now: float) -> None:
        """The transport is gone (reset, or closed by us)."""
        self._clock.now = now
        self._end("connection lost")
        # Nothing more will be read or written: give back what is buffered now (a
        # half-sent message's body parts can be hundreds of MB) instead of leaving it
        # to the cycle collector, which an idle server may not run for a long time.
        self._reader = FrameReader(frame_max=FRAME_MIN_SIZE)
        self._assembler = ContentAssembler()
        self._out = bytearray()
        if self.core is not None:
            self.core.sink = None  # the core's link back to this adapter

    def next_deadline(self) -> float | None:
        """When ``handle_timeout`` has work next (None: nothing scheduled)."""
        candidates: list[float] = []
        if self.state is State.DONE:
            return None
        if self.state is State.HANDSHAKE or self.state in HANDSHAKE_STATES:
            candidates.append(self._handshake_deadline)
        if self._close_deadline is not None:
            candidates.append(self._close_deadline)
        if self._block_check_at is not None:
            candidates.append(self._block_check_at)
        if self.heartbeat and self.state in (State.OPENING, State.RUNNING, State.CLOSED):
            candidates.append(self._last_sent + self.heartbeat / 2)
            if self._paused_by is None:
                candidates.append(self._hb_check_at)
        return min(candidates) if candidates else None

    def handle_timeout(self, now: float) -> None:
        self._clock.now = now
        if self.state is State.DONE:
            return
        if self._close_deadline is not None and now >= self._close_deadline:
            self._end("closing timed out")
            return
        if (
            self.state is State.HANDSHAKE or self.state in HANDSHAKE_STATES
        ) and now >= self._handshake_deadline:
            self._end("handshake timeout")
            return
        if self.heartbeat and self.state in (State.OPENING, State.RUNNING, State.CLOSED):
            if self._paused_by is None and now >= self._hb_check_at and self._missed_twice(now):
                # RabbitMQ sends nothing: "missed heartbeats from client", socket closed
                self._end(f"missed heartbeats from client, timeout: {self.heartbeat}s")
                return
            if now >= self._last_sent + self.heartbeat / 2:
                self._write(encode_heartbeat())
        if self._block_check_at is not None and now >= self._block_check_at:
            self._check_unblocked(now)

    def _missed_twice(self, now: float) -> bool:
        """One heartbeat check: True at the second in a row with nothing received
        (so a client falls silent for between two and three intervals before it goes,
        as on RabbitMQ 3.10.8: tests/server/test_heartbeat_timeout.py)."""
        self._hb_misses = 0 if self._last_received > self._hb_seen else self._hb_misses + 1
        self._hb_seen = self._last_received
        following = self._hb_check_at + self.heartbeat
        self._hb_check_at = following if following > now else now + self.heartbeat
        return self._hb_misses >= 2

    def _restart_heartbeat_checks(self, now: float) -> None:
        self._hb_check_at = now + self.heartbeat
        self._hb_seen = self._last_received
        self._hb_misses = 0

    def force_close(self, now: float, text: str = SHUTDOWN_TEXT) -> None:
        """Close from the server side (320 CONNECTION_FORCED), as a broker shutdown does."""
        self._clock.now = now
        if self.state is State.RUNNING:
            self._connection_error(ConnectionError_(CONNECTION_FORCED, text), now)
        elif self.state is not State.CLOSED:
            self._end("server closed the connection")

    # -- reading ------------------------------------------------------------------------

    def _process(self, now: float) -> None:
        if self.state is State.HANDSHAKE:
            header = self._reader.read_protocol_header()
            if header is None:
                return
            if header not in ACCEPTED_HEADERS:
                self._write(PROTOCOL_HEADER)
                self._end(f"bad protocol header {header!r}")
                return
            self._send_start()
        reader = self._reader
        while self._paused_by is None and self.state not in (State.LINGERING, State.DONE):
            item = reader.read_frame()
            if item is None:
                return
            if self.state is State.RUNNING and isinstance(item, _CHANNEL_FRAMES) and item.channel:
                self._on_channel_frame(item, now)  # the common case, as _on_frame routes it
            else:
                self._on_frame(item, now)

    def _on_frame(self, item: InboundFrame, now: float) -> None:
        if isinstance(item, UnknownMethod):
            # RabbitMQ's reader crashes on these: no Close, the socket is gone
            self._end(f"{item.reason} in {item.class_id},{item.method_id}")
            return
        if self.state is State.CLOSED:
            self._on_frame_while_closed(item)
            return
        if isinstance(item, BadFrame):
            if self.state in SILENT_STATES:
                self._handshake_failed(now, item.error.reply_text)
            elif item.in_sync:
                self._connection_error(item.error, now)
            else:
                self._connection_error(item.error, now)
                self._linger(now, "fatal frame error")
            return
        if isinstance(item, HeartbeatFrame):
            if item.channel != 0:
                self._fail(unexpected_frame_for(item), now)
            return
        if item.channel == 0:
            self._on_channel0(item, now)
            return
        if self.state is not State.RUNNING:
            if self.state is State.OPENING:
                # after TuneOk RabbitMQ answers: 505 with the frame's octets
                if isinstance(item, MethodFrame):
                    payload = struct.pack(">I", item.method.index) + bytes(item.method.marshal())
                    self._fail(_unexpected_frame(1, payload), now)
                else:
                    self._fail(unexpected_frame_for(item), now)
                return
            self._handshake_failed(now, f"frame on channel {item.channel} before open")
            return
        self._on_channel_frame(item, now)

    def _on_frame_while_closed(self, item: InboundFrame) -> None:
        # RabbitMQ's 'closed' state: everything but Connection.CloseOk is ignored
        if isinstance(item, BadFrame) and not item.in_sync:
            self._linger_keep_deadline()
        elif isinstance(item, MethodFrame) and item.channel == 0:
            if isinstance(item.method, ConnectionMethods.CloseOk):
                self._end("connection closed")
            elif isinstance(item.method, ConnectionMethods.Close):
                # the closes crossed: RabbitMQ answers the client's Close with CloseOk
                self._send_method(0, ConnectionMethods.CloseOk())
                self._end("connection closed")

    def _on_channel0(self, item: MethodFrame | HeaderFrame | BodyFrame, now: float) -> None:
        if not isinstance(item, MethodFrame):
            self._fail(unexpected_frame_for(item), now)
            return
        handler = CHANNEL0_METHODS.get(self.state, {}).get(type(item.method))
        if handler is None:
            self._fail(
                capped_error(
                    CHANNEL_ERROR,
                    f"unexpected method in connection state {self.state.value}",
                    *_ids(item.method),
                ),
                now,
            )
            return
        handler(self, item.method, now)

    def _on_channel_frame(self, item: MethodFrame | HeaderFrame | BodyFrame, now: float) -> None:
        core = self.core
        assert core is not None
        if (
            isinstance(item, MethodFrame)
            and item.channel not in core.channels
            and len(core.channels) >= self.channel_max
        ):
            self._fail(
                capped_error(
                    NOT_ALLOWED,
                    f"number of channels opened ({len(core.channels)}) has reached "
                    f"the negotiated channel_max ({self.channel_max})",
                ),
                now,
            )
            return
        try:
            complete = self._assembler.push(item)
        except AMQPError as error:
            self._fail(error, now)
            return
        if complete is not None:
            self._dispatch(complete, now)

    def _dispatch(self, complete: AssembledMethod, now: float) -> None:
        core = self.core
        assert core is not None
        reason = self.broker.blocked_reason
        if reason and complete.body and isinstance(complete.method, Basic.Publish):
            # RabbitMQ stops reading after the content header: the body, and with it
            # the message, waits unread until the alarm is over
            self._held = complete
            self._pause_for_alarm(reason, now)
            return
        core.handle(complete.channel, complete.method, complete.properties, complete.body)
        if self.state is not State.RUNNING:
            return  # the core found a connection error; its Close went out through the sink
        if core.closing:  # closed without telling us: wait for CloseOk all the same
            self._to(State.CLOSED)
            self._close_deadline = now + self._closing_timeout()
        elif isinstance(complete.method, Basic.Publish) and self.broker.blocked_reason:
            self._pause_for_alarm(self.broker.blocked_reason, now)

    # -- channel 0 handlers (see CHANNEL0_METHODS) ---------------------------------------

    def _send_start(self) -> None:
        self._to(State.STARTING)
        self._send_method(
            0,
            ConnectionMethods.Start(
                version_major=0,
                version_minor=9,
                server_properties=dict(self.settings.server_properties),
                mechanisms=" ".join(self.settings.mechanisms),
                locales=self.settings.locales,
            ),
        )

    def _on_start_ok(self, method: ConnectionMethods.StartOk, now: float) -> None:
        props = method.client_properties
        self.client_properties = dict(props) if isinstance(props, dict) else {}
        factory = self.settings.mechanisms.get(method.mechanism)
        if factory is None:
            self._handshake_failed(now, f"unknown authentication mechanism {method.mechanism!r}")
            return
        self.mechanism = method.mechanism
        self._sasl = factory()
        self._sasl_step(method.response, now)

    def _on_secure_ok(self, method: ConnectionMethods.SecureOk, now: float) -> None:
        self._sasl_step(method.response, now)

    def _sasl_step(self, response: str | bytes | None, now: float) -> None:
        assert self._sasl is not None
        # pamqp hands a longstr out as str when it is valid UTF-8, else as bytes
        raw = response.encode("utf-8") if isinstance(response, str) else bytes(response or b"")
        try:
            outcome = self._sasl.step(raw)
        except Exception as exc:  # any malformed response fails the handshake, silently
            self._handshake_failed(now, f"malformed {self.mechanism} response: {exc}")
            return
        if isinstance(outcome, Challenge):
            self._to(State.SECURING)
            self._send_method(0, ConnectionMethods.Secure(challenge=outcome.challenge))
            return
        if not self.broker.authenticate(outcome.user, outcome.password) or (
            outcome.user in self.settings.loopback_users and not _loopback(self.peer)
        ):
            self._login_refused(now)
            return
        self.user = outcome.user
        self._to(State.TUNING)
        self._send_method(
            0,
            ConnectionMethods.Tune(
                channel_max=self.settings.channel_max,
                frame_max=self.settings.frame_max,
                heartbeat=self.settings.heartbeat,
            ),
        )

    def _login_refused(self, now: float) -> None:
        caps = self.client_properties.get("capabilities")
        if isinstance(caps, dict) and caps.get("authentication_failure_close") is True:
            error = capped_error(
                ACCESS_REFUSED,
                f"Login was refused using authentication mechanism {self.mechanism}. "
                "For details see the broker logfile.",
            )
            self._send_close(error)
            self._to(State.CLOSED)
            self._close_deadline = now + self.settings.silent_close_delay
        else:
            self._handshake_failed(now, "login refused")

    def _on_tune_ok(self, method: ConnectionMethods.TuneOk, now: float) -> None:
        problem = _negotiation_problem(
            "channel_max", method.channel_max, self.settings.channel_max, 0
        ) or _negotiation_problem(
            "frame_max", method.frame_max, self.settings.frame_max, FRAME_MIN_SIZE
        )
        if problem:
            self._handshake_failed(now, problem)
            return
        self.channel_max = method.channel_max
        self.frame_max = method.frame_max
        self._reader.frame_max = method.frame_max
        self.heartbeat = method.heartbeat
        self._last_received = self._last_sent = now
        self._restart_heartbeat_checks(now)
        self._to(State.OPENING)

    def _on_open(self, method: ConnectionMethods.Open, now: float) -> None:
        assert self.user is not None
        # the Open counts for the first heartbeat check even when it came in the same
        # segment as TuneOk (RabbitMQ's receiver starts on TuneOk, then reads the Open)
        self._hb_seen = float("-inf")
        self.vhost = method.virtual_host
        try:
            self.core = self.broker.open_connection(
                vhost=method.virtual_host,
                user=self.user,
                client_properties=self.client_properties,
                peer=self.peer,
                sink=self._on_core_command,
                node=self.node,
            )
        except AMQPError as error:
            # RabbitMQ answers a refused vhost on the Open (class 10, method 40)
            ids = (error.class_id, error.method_id) if error.class_id else _ids(method)
            self._send_close(capped_error(error.reply_code, error.text, *ids))
            self._to(State.CLOSED)
            self._close_deadline = now + self._closing_timeout()
            return
        self._to(State.RUNNING)
        self._send_method(0, ConnectionMethods.OpenOk())

    def _on_close(self, method: ConnectionMethods.Close, now: float) -> None:
        if self.core is not None:
            self.core.close()
        self._send_method(0, ConnectionMethods.CloseOk())
        self._end("client closed the connection")

    def _on_update_secret(self, method: ConnectionMethods.UpdateSecret, now: float) -> None:
        # RabbitMQ's internal auth backend accepts any new secret
        self._send_method(0, ConnectionMethods.UpdateSecretOk())

    def _on_close_ok(self, method: ConnectionMethods.CloseOk, now: float) -> None:
        self._end("connection closed")

    # -- output from the broker core ----------------------------------------------------

    def _on_core_command(self, command: Command) -> None:
        if self.state in (State.LINGERING, State.DONE):
            return
        try:
            if isinstance(command, SendMethod):
                method = command.method
                if command.channel == 0 and isinstance(method, ConnectionMethods.Close):
                    method.reply_text = truncate_reply_text(method.reply_text)
                    self._send_method(0, method)
                    if self.state is State.RUNNING:
                        self._to(State.CLOSED)
                        self._close_deadline = self._clock.now + self._closing_timeout()
                    return
                if hasattr(method, "reply_text"):
                    method.reply_text = truncate_reply_text(method.reply_text)
                self._send_method(command.channel, method)
            elif isinstance(command, SendContent):
                self._write(
                    encode_content(
                        command.channel,
                        command.method,
                        command.properties,
                        command.body,
                        self.frame_max,
                    )
                )
            elif isinstance(command, CloseTransport):
                self._end("broker closed the transport")
            else:
                raise RuntimeError(f"Unexpected command: {command}")
        except Exception:  # a value pamqp cannot encode must not take the server down
            log.exception("cannot send %r to %s", command, self.peer)
            if self.state is State.RUNNING:
                self._connection_error(
                    ConnectionError_(INTERNAL_ERROR, "internal error encoding a frame"),
                    self._clock.now,
                )

    # -- blocking (resource alarms) -----------------------------------------------------

    def _pause_for_alarm(self, reason: str, now: float) -> None:
        """RabbitMQ blocks a publishing connection: it stops reading until the alarm ends."""
        self._paused_by = reason
        self._block_check_at = now + BLOCKED_POLL_INTERVAL
        caps = self.client_properties.get("capabilities")
        if isinstance(caps, dict) and caps.get("connection.blocked") is True:
            self._send_method(0, ConnectionMethods.Blocked(reason=reason))
            self._blocked_sent = True

    def _check_unblocked(self, now: float) -> None:
        if self.broker.blocked_reason is not None and self.state is State.RUNNING:
            self._block_check_at = now + BLOCKED_POLL_INTERVAL
            return
        self._block_check_at = None
        self._paused_by = None
        self._last_received = now  # the heartbeat monitor was paused too
        self._restart_heartbeat_checks(now)
        if self._blocked_sent and self.state is State.RUNNING:
            self._send_method(0, ConnectionMethods.Unblocked())
        self._blocked_sent = False
        held, self._held = self._held, None
        if held is not None and self.state is State.RUNNING:
            self._dispatch(held, now)
        self._process(now)

    # -- closing ---------------------------------------------------------------------------

    def _fail(self, error: AMQPError, now: float) -> None:
        """A connection error: Connection.Close once tuned (as RabbitMQ, from TuneOk on),
        a silent close before."""
        if self.state in SILENT_STATES:
            self._handshake_failed(now, error.reply_text)
        else:
            self._connection_error(error, now)

    def close_with(self, error: AMQPError, now: float) -> None:
        """Close the connection from the broker's side with ``error``'s code and text
        (a forced close; 320 is ``force_close``'s)."""
        self._clock.now = now
        if self.state is State.RUNNING:
            self._connection_error(error, now)

    def _connection_error(self, error: AMQPError, now: float) -> None:
        """RabbitMQ closes the channels, sends Connection.Close and waits for CloseOk."""
        if self.core is not None and not self.core.closing:
            # the core closes its channels and sends the Close through the sink, where
            # the state changes to CLOSED; it also tells the broker's listeners
            self.core.connection_error(error)
        if self.state in (State.RUNNING, State.OPENING):
            self._send_close(error)
            self._to(State.CLOSED)
            self._close_deadline = now + self._closing_timeout()

    def _handshake_failed(self, now: float, reason: str) -> None:
        """RabbitMQ sends nothing and closes the socket ?SILENT_CLOSE_DELAY later."""
        self._linger(now, f"handshake failed: {reason}")

    def _linger(self, now: float, reason: str) -> None:
        self.close_reason = reason
        self._to(State.LINGERING)
        self._close_deadline = now + self.settings.silent_close_delay

    def _linger_keep_deadline(self) -> None:
        self._to(State.LINGERING)

    def _closing_timeout(self) -> float:
        # RabbitMQ waits the heartbeat timeout for CloseOk when shorter than ?CLOSING_TIMEOUT
        if 0 < self.heartbeat < self.settings.closing_timeout:
            return float(self.heartbeat)
        return self.settings.closing_timeout

    def _send_close(self, error: AMQPError) -> None:
        self._send_method(
            0,
            ConnectionMethods.Close(
                reply_code=error.reply_code,
                reply_text=truncate_reply_text(error.reply_text),
                class_id=error.class_id,
                method_id=error.method_id,
            ),
        )

    def _end(self, reason: str) -> None:
        if self.state is State.DONE:
            return
        if not self.close_reason:
            self.close_reason = reason
        if self.core is not None:
            self.core.close()
        self._to(State.DONE)
        self._close_deadline = None
        self._block_check_at = None
        # the adapter must close the transport: tell it, as for output
        if self._on_output is not None:
            self._on_output(self)

    # -- plumbing --------------------------------------------------------------------------

    def _to(self, state: State) -> None:
        if state is not self.state:
            assert state in TRANSITIONS[self.state], f"{self.state} -> {state}"
            self.state = state

    def _send_method(self, channel: int, method: base.Frame) -> None:
        self._write(encode_method(channel, method))

    def _write(self, data: bytes) -> None:
        was_empty = not self._out
        self._out += data
        self._last_sent = self._clock.now
        if was_empty and self._on_output is not None:
            self._on_output(self)

    def __repr__(self) -> str:
        return f"<AMQPConnection {self.peer or '?'} {self.state.value}>"


_CHANNEL_FRAMES = (MethodFrame, HeaderFrame, BodyFrame)

# Which channel-0 methods each state accepts, and who handles them. A method not listed
# for the state is an error: a silent close during the handshake, 504 once running.
CHANNEL0_METHODS: dict[State, dict[type[base.Frame], Handler]] = {
    State.STARTING: {ConnectionMethods.StartOk: AMQPConnection._on_start_ok},
    State.SECURING: {ConnectionMethods.SecureOk: AMQPConnection._on_secure_ok},
    State.TUNING: {ConnectionMethods.TuneOk: AMQPConnection._on_tune_ok},
    State.OPENING: {ConnectionMethods.Open: AMQPConnection._on_open},
    State.RUNNING: {
        ConnectionMethods.Close: AMQPConnection._on_close,
        ConnectionMethods.UpdateSecret: AMQPConnection._on_update_secret,
    },
    State.CLOSED: {ConnectionMethods.CloseOk: AMQPConnection._on_close_ok},
}


def loopback_address(host: str) -> bool | None:
    """Is ``host`` (an IP address, with or without a ``%zone``) a loopback address? An
    IPv4 address mapped into IPv6 (a dual-stack socket's IPv4 peer) counts by its IPv4
    form. None when ``host`` is not an IP address at all."""
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _loopback(peer: str) -> bool:
    """Is the peer (``host:port``, ``[v6]:port``, or an adapter's own name such as
    ``system`` or a Unix socket) on this machine? RabbitMQ's loopback check."""
    host = peer.rsplit(":", 1)[0].strip("[]") if ":" in peer else peer
    loopback = loopback_address(host)
    return True if loopback is None else loopback  # not an IP peer: nothing remote
