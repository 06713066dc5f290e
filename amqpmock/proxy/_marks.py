"""Decoding a recording's log and marking what it shows. Sans-IO.

Rules this module keeps:
- ``Decoding`` turns chunks of (connection, direction) bytes, fed in the order the
  proxy saw them, into numbered interactions; it counts heartbeats and notes where a
  direction stopped decoding. Fed the same chunks twice it numbers them the same way,
  which is what lets a cassette be written in two passes over a journal.
- ``Marker`` reads the interactions in that order and remembers, in a few bytes per
  interaction, what the cassette says about each:
  * each delivery (``Basic.Deliver``, ``Basic.GetOk``): ``origin: recorded`` with the
    ``source`` publish when a recorded connection published the same message (same
    exchange, routing key and body; or, after dead-lettering, the same body),
    ``origin: outside`` otherwise;
  * each publish: ``returned`` (a ``Basic.Return`` came back for it), ``nacked`` (a
    confirm nack), ``routed`` (delivered to a recorded client, or mandatory and neither
    returned before its confirm nor before the channel or connection closed cleanly),
    else ``unknown`` (RabbitMQ says nothing about a non-mandatory publish).
  It keeps no interaction and no body: messages are matched by a 16-byte digest, kept
  in a dict, or with ``index_dir`` in an SQLite file there (then memory holds 9 bytes
  per interaction, however many messages a session has).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import tempfile
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from amqpmock.cassette._model import (
    CassetteConnection,
    Direction,
    Interaction,
    Origin,
    Outcome,
)
from amqpmock.cassette._redact import start_ok_credentials
from amqpmock.proxy._frames import DecodeError, HeartbeatSeen, StreamDecoder

C2S: Direction = "c2s"
S2C: Direction = "s2c"
NAMES = {C2S: "client->server", S2C: "server->client"}

Ref = tuple[int, int]  # (connection id, interaction index)

_OUTCOMES: tuple[Outcome | None, ...] = (None, "unknown", "routed", "returned", "nacked")
_CODE = {name: code for code, name in enumerate(_OUTCOMES)}
_NO_ORIGIN, _OUTSIDE = -2, -1


def _pack(ref: Ref) -> int:
    return ref[0] << 32 | ref[1]


def _unpack(packed: int) -> Ref:
    return packed >> 32, packed & 0xFFFFFFFF


def _digest(*parts: bytes) -> bytes:
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        hasher.update(len(part).to_bytes(8, "big"))
        hasher.update(part)
    return hasher.digest()


def _message_key(i: Interaction) -> bytes:
    return _digest(
        str(i.args.get("exchange", "")).encode(),
        str(i.args.get("routing_key", "")).encode(),
        i.body or b"",
    )


class Decoding:
    """Decodes each (connection, direction) stream into numbered interactions.

    ``connections`` are the cassette's connections (id, upstream, ending, error) with no
    interactions yet; heartbeats are counted into them and a decode error is written to
    their ``error``. With ``keep`` the interactions are appended to them as well.
    """

    def __init__(self, connections: list[CassetteConnection], keep: bool = False) -> None:
        self.connections = {c.id: c for c in connections}
        self._keep = keep
        self._decoders: dict[tuple[int, Direction], StreamDecoder | None] = {}
        self._counts: dict[int, int] = {}

    def feed(
        self, conn_id: int, direction: Direction, chunk: bytes, at: float | None = None
    ) -> Iterator[tuple[Ref, Interaction]]:
        key = (conn_id, direction)
        if key in self._decoders:
            decoder = self._decoders[key]
            if decoder is None:
                return  # this direction stopped decoding after an error
        else:
            decoder = self._decoders[key] = StreamDecoder()
        conn = self.connections[conn_id]
        try:
            for item in decoder.feed(chunk):
                if isinstance(item, HeartbeatSeen):
                    if direction == C2S:
                        conn.heartbeats.c2s += 1
                    else:
                        conn.heartbeats.s2c += 1
                    continue
                interaction = Interaction(
                    dir=direction,
                    channel=item.channel,
                    method=item.method,
                    args=item.args,
                    properties=item.properties,
                    body=item.body,
                    at=at,
                )
                index = self._counts.get(conn_id, 0)
                self._counts[conn_id] = index + 1
                if self._keep:
                    conn.interactions.append(interaction)
                yield (conn_id, index), interaction
        except DecodeError as exc:
            self._decoders[key] = None
            if conn.error is None:
                conn.error = f"could not decode {NAMES[direction]} frames {exc}"

    def finish(self) -> None:
        """Note content a stream stopped in the middle of."""
        for (conn_id, direction), decoder in self._decoders.items():
            conn = self.connections[conn_id]
            if decoder is not None and decoder.partial_content and conn.error is None:
                names = ", ".join(decoder.partial_content)
                conn.error = f"{NAMES[direction]} content cut off: {names}"

    def count(self, conn_id: int) -> int:
        return self._counts.get(conn_id, 0)


class _MemoryIndex:
    """Digest -> packed reference, first one kept."""

    def __init__(self) -> None:
        self._refs: dict[bytes, int] = {}

    def add(self, key: bytes, ref: int) -> None:
        self._refs.setdefault(key, ref)

    def get(self, key: bytes) -> int | None:
        return self._refs.get(key)

    def close(self) -> None:
        self._refs.clear()


class _DiskIndex:
    """The same in an SQLite file (removed on ``close``): no journal, no fsync, a small
    page cache; it lives as long as one write of a cassette."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        fd, self._path = tempfile.mkstemp(prefix=".amqpmock-index.", dir=directory)
        os.close(fd)
        self._db = sqlite3.connect(self._path, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-4096"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("CREATE TABLE refs (k BLOB PRIMARY KEY, r INTEGER) WITHOUT ROWID")
        self._db.execute("BEGIN")

    def add(self, key: bytes, ref: int) -> None:
        self._db.execute("INSERT OR IGNORE INTO refs VALUES (?, ?)", (key, ref))

    def get(self, key: bytes) -> int | None:
        row = self._db.execute("SELECT r FROM refs WHERE k = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def close(self) -> None:
        self._db.close()
        with contextlib.suppress(OSError):
            os.unlink(self._path)


@dataclass
class _ChannelState:
    confirming: bool = False
    published: int = 0  # publishes since Confirm.Select: the confirm delivery tag
    unconfirmed: dict[int, tuple[int, bool]] = field(default_factory=dict)  # (ref, mandatory)
    awaiting_return: list[tuple[int, bytes]] = field(default_factory=list)  # (ref, message)


class Marker:
    """Outcomes of publishes and origins of deliveries (see the module doc)."""

    def __init__(self, index_dir: str | os.PathLike[str] | None = None) -> None:
        self.product: str | None = None
        self.version: str | None = None
        self.passwords: set[str] = set()
        self._outcomes: dict[int, bytearray] = {}  # per connection, one byte each
        self._origins: dict[int, array[int]] = {}  # per connection: source, or a flag
        self._channels: dict[tuple[int, int], _ChannelState] = {}
        # a publish by its message (exchange, routing key, body) and by its body alone
        self._index = _MemoryIndex() if index_dir is None else _DiskIndex(index_dir)

    def see(self, ref: Ref, i: Interaction) -> None:
        conn_id, index = ref
        outcomes = self._outcomes.setdefault(conn_id, bytearray())
        origins = self._origins.setdefault(conn_id, array("q"))
        if len(outcomes) != index:
            raise ValueError(f"interaction {ref} seen out of order")
        outcomes.append(0)
        origins.append(_NO_ORIGIN)
        handler = _HANDLERS.get((i.dir, i.method))
        if handler is not None:
            handler(self, _pack(ref), i)

    def finish(self, connections: list[CassetteConnection]) -> None:
        """After the last interaction: the marks are final."""
        for conn in connections:
            if conn.ending == "clean":
                self._settle_mandatory(conn.id, None)

    def close(self) -> None:
        """Let the message index go (the marks stay readable). Idempotent."""
        self._channels.clear()
        self._index.close()

    def outcome(self, ref: Ref) -> Outcome | None:
        return _OUTCOMES[self._outcomes[ref[0]][ref[1]]]

    def origin(self, ref: Ref) -> tuple[Origin | None, Ref | None]:
        packed = self._origins[ref[0]][ref[1]]
        if packed == _NO_ORIGIN:
            return None, None
        if packed == _OUTSIDE:
            return "outside", None
        return "recorded", _unpack(packed)

    def apply(self, ref: Ref, i: Interaction) -> None:
        """Write the marks of ``ref`` onto its interaction."""
        i.outcome = self.outcome(ref)
        i.origin, i.source = self.origin(ref)

    # -- the compact state ----------------------------------------------------------

    def _get(self, packed: int) -> Outcome | None:
        conn_id, index = _unpack(packed)
        return _OUTCOMES[self._outcomes[conn_id][index]]

    def _set(self, packed: int, outcome: Outcome) -> None:
        conn_id, index = _unpack(packed)
        self._outcomes[conn_id][index] = _CODE[outcome]

    def _set_origin(self, packed: int, source: int) -> None:
        conn_id, index = _unpack(packed)
        self._origins[conn_id][index] = source

    def _channel(self, conn_id: int, channel: int) -> _ChannelState:
        return self._channels.setdefault((conn_id, channel), _ChannelState())

    # -- handlers, by (direction, method) -------------------------------------------

    def _start(self, ref: int, i: Interaction) -> None:
        if self.product is None:
            props = i.args.get("server_properties") or {}
            self.product = _text(props.get("product"))
            self.version = _text(props.get("version"))

    def _start_ok(self, ref: int, i: Interaction) -> None:
        _, password = start_ok_credentials(i.args)
        if password:
            self.passwords.add(password)

    def _confirm_select_ok(self, ref: int, i: Interaction) -> None:
        self._channel(_unpack(ref)[0], i.channel).confirming = True

    def _publish(self, ref: int, i: Interaction) -> None:
        self._set(ref, "unknown")
        state = self._channel(_unpack(ref)[0], i.channel)
        mandatory = bool(i.args.get("mandatory"))
        message = _message_key(i)
        if state.confirming:
            state.published += 1
            state.unconfirmed[state.published] = (ref, mandatory)
        if mandatory:
            state.awaiting_return.append((ref, message))
        self._index.add(b"m" + message, ref)
        self._index.add(b"b" + _digest(i.body or b""), ref)

    def _return(self, ref: int, i: Interaction) -> None:
        state = self._channel(_unpack(ref)[0], i.channel)
        message = _message_key(i)
        for n, (candidate, published) in enumerate(state.awaiting_return):
            if published == message:
                del state.awaiting_return[n]
                self._set(candidate, "returned")
                self._set_origin(ref, candidate)
                return
        self._set_origin(ref, _OUTSIDE)

    def _ack(self, ref: int, i: Interaction) -> None:
        self._confirmed(ref, i, "routed")

    def _nack(self, ref: int, i: Interaction) -> None:
        self._confirmed(ref, i, "nacked")

    def _confirmed(self, ref: int, i: Interaction, outcome: Outcome) -> None:
        state = self._channel(_unpack(ref)[0], i.channel)
        tag = int(i.args.get("delivery_tag", 0))
        if i.args.get("multiple"):
            tags = [t for t in state.unconfirmed if t <= tag]
        else:
            tags = [tag] if tag in state.unconfirmed else []
        for t in tags:
            published, mandatory = state.unconfirmed.pop(t)
            if outcome == "nacked":
                self._set(published, "nacked")
            elif mandatory and self._get(published) == "unknown":
                # RabbitMQ sends Basic.Return before the confirm of the same message.
                self._set(published, "routed")
            if mandatory:
                state.awaiting_return = [
                    entry for entry in state.awaiting_return if entry[0] != published
                ]

    def _delivery(self, ref: int, i: Interaction) -> None:
        source = self._index.get(b"m" + _message_key(i))
        if source is not None:
            if self._get(source) == "unknown":
                self._set(source, "routed")
        else:
            source = self._index.get(b"b" + _digest(i.body or b""))
        self._set_origin(ref, _OUTSIDE if source is None else source)

    def _channel_close_ok(self, ref: int, i: Interaction) -> None:
        # The broker handles a channel's commands in order: once it confirms the close
        # the client asked for, every mandatory publish before it was returned or routed.
        conn_id = _unpack(ref)[0]
        self._settle_mandatory(conn_id, i.channel)
        self._channels.pop((conn_id, i.channel), None)

    def _channel_close_by_server(self, ref: int, i: Interaction) -> None:
        self._channels.pop((_unpack(ref)[0], i.channel), None)

    def _connection_close_ok(self, ref: int, i: Interaction) -> None:
        self._settle_mandatory(_unpack(ref)[0], None)

    def _settle_mandatory(self, conn_id: int, channel: int | None) -> None:
        for (cid, ch), state in self._channels.items():
            if cid != conn_id or (channel is not None and ch != channel):
                continue
            for published, _ in state.awaiting_return:
                if self._get(published) == "unknown":
                    self._set(published, "routed")
            state.awaiting_return.clear()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


_HANDLERS: dict[tuple[str, str], Callable[[Marker, int, Interaction], None]] = {
    (S2C, "Connection.Start"): Marker._start,
    (C2S, "Connection.StartOk"): Marker._start_ok,
    (S2C, "Confirm.SelectOk"): Marker._confirm_select_ok,
    (C2S, "Basic.Publish"): Marker._publish,
    (S2C, "Basic.Return"): Marker._return,
    (S2C, "Basic.Ack"): Marker._ack,
    (S2C, "Basic.Nack"): Marker._nack,
    (S2C, "Basic.Deliver"): Marker._delivery,
    (S2C, "Basic.GetOk"): Marker._delivery,
    (S2C, "Channel.CloseOk"): Marker._channel_close_ok,
    (S2C, "Channel.Close"): Marker._channel_close_by_server,
    (S2C, "Connection.CloseOk"): Marker._connection_close_ok,
    (C2S, "Connection.CloseOk"): Marker._connection_close_ok,
}
