"""The recording side of the proxy: bytes seen in, a cassette out. Sans-IO.

Rules this module keeps:
- ``data()`` is on the forwarding path, so it only appends the bytes to one log shared
  by all connections; the log's order is the order the proxy saw things happen, across
  connections and directions. Decoding waits for ``build()``.
- ``build()`` decodes every (connection, direction) stream with pamqp, merges content,
  counts heartbeats, and marks in that global order:
  * each delivery (``Basic.Deliver``, ``Basic.GetOk``): ``origin: recorded`` with the
    ``source`` publish when a recorded connection published the same message (same
    exchange, routing key and body; or, after dead-lettering, the same body),
    ``origin: outside`` otherwise;
  * each publish: ``returned`` (a ``Basic.Return`` came back for it), ``nacked`` (a
    confirm nack), ``routed`` (delivered to a recorded client, or mandatory and neither
    returned before its confirm nor before the channel or connection closed cleanly),
    else ``unknown`` (RabbitMQ says nothing about a non-mandatory publish).
- Redaction and the secret check run on what ``build()`` made, never on the log.
- With a ``journal`` the log lives on disk, not in memory (``_journal``): appended as
  it passes, it survives the recorder's death, and ``Recorder.recover`` turns it into a
  cassette afterwards, marked incomplete.
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import amqpmock
from amqpmock.cassette._model import (
    Cassette,
    CassetteConnection,
    CassetteHeader,
    Direction,
    Ending,
    Interaction,
)
from amqpmock.cassette._redact import default_redactors, redact_cassette, start_ok_credentials
from amqpmock.cassette._yaml import write_cassette
from amqpmock.hookspecs import Redactor
from amqpmock.proxy._frames import DecodedMethod, DecodeError, HeartbeatSeen, StreamDecoder
from amqpmock.proxy._journal import CLOSE, DATA, OPEN, UPSTREAM, Journal, read_journal

C2S: Direction = "c2s"
S2C: Direction = "s2c"
_NAMES = {C2S: "client->server", S2C: "server->client"}

Ref = tuple[int, int]  # (connection id, interaction index)


@dataclass
class _ConnectionLog:
    id: int
    upstream: str | None = None
    ending: Ending = "open"
    error: str | None = None


@dataclass
class _ChannelState:
    confirming: bool = False
    published: int = 0  # publishes since Confirm.Select: the confirm delivery tag
    unconfirmed: dict[int, Ref] = field(default_factory=dict)
    awaiting_return: list[Ref] = field(default_factory=list)  # mandatory, in order


class Recorder:
    """Collects what a proxy forwards and turns it into a cassette.

    ``open_connection`` numbers connections in open order; ``data`` records bytes as
    forwarded (``c2s`` or ``s2c``); ``close_connection`` says how it ended.
    """

    def __init__(
        self,
        upstream_url: str | None = None,
        passwords: Iterable[str] = (),
        now: Callable[[], datetime.datetime] | None = None,
        elapsed: Callable[[], float] = time.monotonic,
        journal: str | os.PathLike[str] | None = None,
    ) -> None:
        self.upstream_url = upstream_url
        self._passwords = {p for p in passwords if p}
        self._now = now or (lambda: datetime.datetime.now(datetime.UTC).replace(microsecond=0))
        self._started = self._now()
        self._elapsed = elapsed
        self._t0 = elapsed()
        self._connections: list[_ConnectionLog] = []
        # (connection, direction, bytes, seconds after the start when they passed): in
        # memory, or appended to the journal file when there is one
        self._log: list[tuple[int, Direction, bytes, float]] = []
        self._journal = Journal(journal) if journal is not None else None
        self._bytes = 0

    # -- the forwarding path -------------------------------------------------------

    def _seconds(self) -> float:
        return round(self._elapsed() - self._t0, 3)

    def open_connection(self, upstream: str | None = None) -> int:
        conn = _ConnectionLog(id=len(self._connections) + 1, upstream=upstream)
        self._connections.append(conn)
        if self._journal is not None:
            self._journal.write(OPEN, conn.id, self._seconds(), (upstream or "").encode())
        return conn.id

    def upstream_connected(self, conn_id: int, address: str) -> None:
        self._connections[conn_id - 1].upstream = address
        if self._journal is not None:
            self._journal.write(UPSTREAM, conn_id, self._seconds(), address.encode())

    def data(self, conn_id: int, direction: Direction, data: bytes) -> None:
        if data:
            self._bytes += len(data)
            if self._journal is not None:
                way = 0 if direction == C2S else 1
                self._journal.write(DATA, conn_id, self._seconds(), data, way)
            else:
                self._log.append((conn_id, direction, data, self._seconds()))

    def close_connection(self, conn_id: int, ending: Ending, error: str | None = None) -> None:
        conn = self._connections[conn_id - 1]
        if conn.ending == "open":
            conn.ending = ending
            conn.error = error
            if self._journal is not None:
                self._journal.close_connection(conn_id, self._seconds(), ending, error)

    @property
    def journal_path(self) -> Path | None:
        return self._journal.path if self._journal is not None else None

    def remove_journal(self) -> None:
        """Once the cassette is written (or deliberately not), the raw traffic goes."""
        if self._journal is not None:
            self._journal.remove()

    @classmethod
    def recover(cls, journal: str | os.PathLike[str]) -> Recorder:
        """A recorder holding what a journal kept of a recorder that died: connections
        it never saw end are marked ``proxy-stopped`` with the reason, so the cassette
        says it is incomplete."""
        rec = cls()
        for entry in read_journal(journal):
            if entry.kind == OPEN:
                rec._connections.append(
                    _ConnectionLog(id=entry.connection, upstream=entry.payload.decode() or None)
                )
            elif entry.kind == UPSTREAM:
                rec._connections[entry.connection - 1].upstream = entry.payload.decode()
            elif entry.kind == DATA:
                rec._log.append(
                    (entry.connection, cast(Direction, entry.direction), entry.payload, entry.at)
                )
                rec._bytes += len(entry.payload)
            elif entry.kind == CLOSE:
                ending, error = entry.close_reason()
                rec.close_connection(entry.connection, cast(Ending, ending), error)
        for conn in rec._connections:
            if conn.ending == "open":
                conn.ending = "proxy-stopped"
                conn.error = (
                    f"recovered from {journal}: the recorder stopped before it wrote the cassette"
                )
        return rec

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    @property
    def bytes_recorded(self) -> int:
        return self._bytes

    # -- building ------------------------------------------------------------------

    def build(self) -> Cassette:
        """The cassette of everything so far, unredacted. Can be called repeatedly."""
        builder = _Builder(self._connections)
        for conn_id, direction, chunk, at in self._chunks():
            builder.feed(conn_id, direction, chunk, at)
        connections = builder.finish()
        header = CassetteHeader(
            amqpmock=amqpmock.__version__,
            upstream_product=builder.product,
            upstream_version=builder.version,
            upstream_url=self.upstream_url,
            recorded_at=self._started,
        )
        self._passwords |= builder.passwords
        return Cassette(header=header, connections=connections)

    def _chunks(self) -> Iterable[tuple[int, Direction, bytes, float]]:
        if self._journal is None:
            yield from self._log
            return
        for entry in read_journal(self._journal.path):
            if entry.kind == DATA:
                yield entry.connection, cast(Direction, entry.direction), entry.payload, entry.at

    @property
    def secrets(self) -> set[str]:
        """Passwords that must never be written: the upstream URL's and every one a
        client sent in Connection.StartOk (known after ``build``)."""
        return set(self._passwords)

    def cassette(self, redactors: Iterable[Redactor] | None = None) -> Cassette:
        """Built and redacted (by default with every ``amqpmock_redactors`` hook)."""
        chain = default_redactors() if redactors is None else list(redactors)
        return redact_cassette(self.build(), chain)

    def write(
        self, path: str | os.PathLike[str], redactors: Iterable[Redactor] | None = None
    ) -> Path:
        """Build, redact, check for passwords and write atomically."""
        cassette = self.cassette(redactors)
        return write_cassette(cassette, path, self.secrets)


class _Builder:
    """Decodes the log in order and marks publishes and deliveries (see module doc)."""

    def __init__(self, connections: list[_ConnectionLog]) -> None:
        self.product: str | None = None
        self.version: str | None = None
        self.passwords: set[str] = set()
        self._conns = {
            c.id: CassetteConnection(id=c.id, upstream=c.upstream, ending=c.ending, error=c.error)
            for c in connections
        }
        self._decoders: dict[tuple[int, Direction], StreamDecoder | None] = {}
        self._channels: dict[tuple[int, int], _ChannelState] = {}
        self._by_message: dict[tuple[str, str, bytes], Ref] = {}
        self._by_body: dict[bytes, Ref] = {}

    def feed(
        self, conn_id: int, direction: Direction, chunk: bytes, at: float | None = None
    ) -> None:
        key = (conn_id, direction)
        if key in self._decoders:
            decoder = self._decoders[key]
            if decoder is None:
                return  # this direction stopped decoding after an error
        else:
            decoder = self._decoders[key] = StreamDecoder()
        conn = self._conns[conn_id]
        try:
            for item in decoder.feed(chunk):
                if isinstance(item, HeartbeatSeen):
                    if direction == C2S:
                        conn.heartbeats.c2s += 1
                    else:
                        conn.heartbeats.s2c += 1
                else:
                    self._method(conn, direction, item, at)
        except DecodeError as exc:
            self._decoders[key] = None
            if conn.error is None:
                conn.error = f"could not decode {_NAMES[direction]} frames {exc}"

    def finish(self) -> list[CassetteConnection]:
        for conn in self._conns.values():
            if conn.ending == "clean":
                self._settle_mandatory(conn.id, None)
        for (conn_id, direction), decoder in self._decoders.items():
            conn = self._conns[conn_id]
            if decoder is not None and decoder.partial_content and conn.error is None:
                names = ", ".join(decoder.partial_content)
                conn.error = f"{_NAMES[direction]} content cut off: {names}"
        return list(self._conns.values())

    def _method(
        self,
        conn: CassetteConnection,
        direction: Direction,
        m: DecodedMethod,
        at: float | None = None,
    ) -> None:
        interaction = Interaction(
            dir=direction,
            channel=m.channel,
            method=m.method,
            args=m.args,
            properties=m.properties,
            body=m.body,
            at=at,
        )
        ref: Ref = (conn.id, len(conn.interactions))
        conn.interactions.append(interaction)
        handler = _HANDLERS.get((direction, m.method))
        if handler is not None:
            handler(self, ref, interaction)

    def _at(self, ref: Ref) -> Interaction:
        return self._conns[ref[0]].interactions[ref[1]]

    def _channel(self, conn_id: int, channel: int) -> _ChannelState:
        return self._channels.setdefault((conn_id, channel), _ChannelState())

    # -- handlers, by (direction, method) -------------------------------------------

    def _start(self, ref: Ref, i: Interaction) -> None:
        if self.product is None:
            props = i.args.get("server_properties") or {}
            self.product = _text(props.get("product"))
            self.version = _text(props.get("version"))

    def _start_ok(self, ref: Ref, i: Interaction) -> None:
        _, password = start_ok_credentials(i.args)
        if password:
            self.passwords.add(password)

    def _confirm_select_ok(self, ref: Ref, i: Interaction) -> None:
        self._channel(ref[0], i.channel).confirming = True

    def _publish(self, ref: Ref, i: Interaction) -> None:
        i.outcome = "unknown"
        state = self._channel(ref[0], i.channel)
        if state.confirming:
            state.published += 1
            state.unconfirmed[state.published] = ref
        if i.args.get("mandatory"):
            state.awaiting_return.append(ref)
        body = i.body or b""
        key = (str(i.args.get("exchange", "")), str(i.args.get("routing_key", "")), body)
        self._by_message.setdefault(key, ref)
        self._by_body.setdefault(body, ref)

    def _return(self, ref: Ref, i: Interaction) -> None:
        state = self._channel(ref[0], i.channel)
        for n, candidate in enumerate(state.awaiting_return):
            published = self._at(candidate)
            if (
                published.args.get("exchange") == i.args.get("exchange")
                and published.args.get("routing_key") == i.args.get("routing_key")
                and published.body == i.body
            ):
                del state.awaiting_return[n]
                published.outcome = "returned"
                i.origin = "recorded"
                i.source = candidate
                return
        i.origin = "outside"

    def _ack(self, ref: Ref, i: Interaction) -> None:
        self._confirmed(ref, i, "routed")

    def _nack(self, ref: Ref, i: Interaction) -> None:
        self._confirmed(ref, i, "nacked")

    def _confirmed(self, ref: Ref, i: Interaction, outcome: str) -> None:
        state = self._channel(ref[0], i.channel)
        tag = int(i.args.get("delivery_tag", 0))
        if i.args.get("multiple"):
            tags = [t for t in state.unconfirmed if t <= tag]
        else:
            tags = [tag] if tag in state.unconfirmed else []
        for t in tags:
            published_ref = state.unconfirmed.pop(t)
            published = self._at(published_ref)
            if outcome == "nacked":
                published.outcome = "nacked"
            elif published.args.get("mandatory") and published.outcome == "unknown":
                # RabbitMQ sends Basic.Return before the confirm of the same message.
                published.outcome = "routed"
            if published_ref in state.awaiting_return:
                state.awaiting_return.remove(published_ref)

    def _delivery(self, ref: Ref, i: Interaction) -> None:
        body = i.body or b""
        key = (str(i.args.get("exchange", "")), str(i.args.get("routing_key", "")), body)
        source = self._by_message.get(key)
        if source is not None:
            published = self._at(source)
            if published.outcome == "unknown":
                published.outcome = "routed"
        else:
            source = self._by_body.get(body)
        if source is None:
            i.origin = "outside"
        else:
            i.origin = "recorded"
            i.source = source

    def _channel_close_ok(self, ref: Ref, i: Interaction) -> None:
        # The broker handles a channel's commands in order: once it confirms the close
        # the client asked for, every mandatory publish before it was returned or routed.
        self._settle_mandatory(ref[0], i.channel)
        self._channels.pop((ref[0], i.channel), None)

    def _channel_close_by_server(self, ref: Ref, i: Interaction) -> None:
        self._channels.pop((ref[0], i.channel), None)

    def _connection_close_ok(self, ref: Ref, i: Interaction) -> None:
        self._settle_mandatory(ref[0], None)

    def _settle_mandatory(self, conn_id: int, channel: int | None) -> None:
        for (cid, ch), state in self._channels.items():
            if cid != conn_id or (channel is not None and ch != channel):
                continue
            for published_ref in state.awaiting_return:
                published = self._at(published_ref)
                if published.outcome == "unknown":
                    published.outcome = "routed"
            state.awaiting_return.clear()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


_HANDLERS: dict[tuple[Direction, str], Callable[[_Builder, Ref, Interaction], None]] = {
    (S2C, "Connection.Start"): _Builder._start,
    (C2S, "Connection.StartOk"): _Builder._start_ok,
    (S2C, "Confirm.SelectOk"): _Builder._confirm_select_ok,
    (C2S, "Basic.Publish"): _Builder._publish,
    (S2C, "Basic.Return"): _Builder._return,
    (S2C, "Basic.Ack"): _Builder._ack,
    (S2C, "Basic.Nack"): _Builder._nack,
    (S2C, "Basic.Deliver"): _Builder._delivery,
    (S2C, "Basic.GetOk"): _Builder._delivery,
    (S2C, "Channel.CloseOk"): _Builder._channel_close_ok,
    (S2C, "Channel.Close"): _Builder._channel_close_by_server,
    (S2C, "Connection.CloseOk"): _Builder._connection_close_ok,
    (C2S, "Connection.CloseOk"): _Builder._connection_close_ok,
}
