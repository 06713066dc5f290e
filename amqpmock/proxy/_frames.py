"""Frames on the side of a byte stream: boundary tracking (live) and decoding (later).

Rules this module keeps:
- Sans-IO: bytes in, bytes or decoded items out. No sockets, no loop, no clock.
- ``StreamTracker`` runs on the forwarding path, so it only reads the 7-byte frame
  headers (and the method id of channel-0 methods): it hands back the bytes up to the
  last complete frame, which lets the proxy always stop at a frame boundary and inject
  a clean ``Connection.Close`` if the upstream dies. Bytes are never changed.
- ``StreamDecoder`` does the full decoding with ``amqpmock.wire.codec`` (pamqp underneath,
  the same codec the server uses) and merges content header and body frames into the
  method they belong to. It runs when a cassette is built, off the forwarding path.
"""

from __future__ import annotations

import datetime
import decimal
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pamqp import base

from amqpmock.errors import AMQPError
from amqpmock.wire import codec

FRAME_METHOD = 1
FRAME_HEADER = 2
FRAME_BODY = 3
FRAME_HEARTBEAT = 8
FRAME_END = 0xCE
PROTOCOL_HEADER_SIZE = 8

CONNECTION_START = 0x000A000A
CONNECTION_CLOSE = 0x000A0032
CONNECTION_CLOSE_OK = 0x000A0033

# A frame claiming more than this is not AMQP traffic we can follow (RabbitMQ's own
# frame_max ceiling is far lower); the tracker then forwards raw bytes untracked.
MAX_TRACKED_FRAME = 64 * 1024 * 1024

# Fields AMQP 0-9-1 marks reserved or deprecated: always defaults, never informative.
DEPRECATED_ARGS = frozenset(
    {"ticket", "out_of_band", "channel_id", "capabilities", "insist", "known_hosts", "cluster_id"}
)

_HEADER = struct.Struct(">BHI")
_METHOD_ID = struct.Struct(">I")


class StreamTracker:
    """Follows frame boundaries of one direction without decoding the frames.

    ``feed(data)`` returns the bytes that end on a frame boundary (possibly empty) and
    keeps the rest for the next call. After bytes that do not look like AMQP it turns
    ``passthrough``: everything is returned at once and boundaries are unknown.
    """

    __slots__ = (
        "_at_start",
        "_pending",
        "close_ok_seen",
        "close_seen",
        "passthrough",
        "start_seen",
    )

    def __init__(self) -> None:
        self._pending = b""
        self._at_start = True
        self.passthrough = False
        self.start_seen = False
        self.close_seen = False
        self.close_ok_seen = False

    @property
    def at_boundary(self) -> bool:
        """True when everything returned so far ends exactly at a frame boundary."""
        return not self.passthrough

    @property
    def pending(self) -> int:
        """Bytes held back: the start of a frame not yet complete."""
        return len(self._pending)

    def feed(self, data: bytes) -> bytes:
        if self.passthrough:
            return data
        buf = self._pending + data if self._pending else data
        size = len(buf)
        pos = 0
        if self._at_start:
            if b"AMQP".startswith(buf[:4]) and size < PROTOCOL_HEADER_SIZE:
                self._pending = buf
                return b""
            if buf[:4] == b"AMQP":
                pos = PROTOCOL_HEADER_SIZE
            self._at_start = False
        unpack = _HEADER.unpack_from
        while size - pos >= 7:
            frame_type, channel, length = unpack(buf, pos)
            end = pos + 8 + length
            if end > size:
                if length > MAX_TRACKED_FRAME:
                    return self._give_up(buf)
                break
            if buf[end - 1] != FRAME_END:
                return self._give_up(buf)
            if frame_type == FRAME_METHOD and channel == 0 and length >= 4:
                self._control(_METHOD_ID.unpack_from(buf, pos + 7)[0])
            pos = end
        if pos == size:
            self._pending = b""
            return buf
        self._pending = buf[pos:]
        return buf[:pos]

    def _give_up(self, buf: bytes) -> bytes:
        self.passthrough = True
        self._pending = b""
        return buf

    def _control(self, method_id: int) -> None:
        if method_id == CONNECTION_START:
            self.start_seen = True
        elif method_id == CONNECTION_CLOSE:
            self.close_seen = True
        elif method_id == CONNECTION_CLOSE_OK:
            self.close_ok_seen = True


@dataclass
class DecodedMethod:
    """A method, with its content once the header and body frames are in."""

    channel: int
    method: str
    args: dict[str, Any]
    properties: dict[str, Any] | None = None
    body: bytes | None = None


@dataclass
class HeartbeatSeen:
    """A heartbeat frame (counted, not recorded)."""


class DecodeError(ValueError):
    """The stream is not decodable AMQP from ``offset`` on."""

    def __init__(self, offset: int, problem: str) -> None:
        self.offset = offset
        self.problem = problem
        super().__init__(f"at byte {offset}: {problem}")


def plain(value: Any) -> Any:
    """pamqp values as plain data YAML can hold: bytearray -> bytes, recursively."""
    if isinstance(value, str | int | float | bool | bytes | decimal.Decimal) or value is None:
        return value
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return str(value)


def method_args(method: base.Frame) -> dict[str, Any]:
    """The arguments of a pamqp method, reserved and deprecated fields left out."""
    return {name: plain(value) for name, value in method if name not in DEPRECATED_ARGS}


def property_values(props: base.BasicProperties) -> dict[str, Any]:
    """The properties that are set, by pamqp's names (``message_type`` is AMQP's type).

    pamqp gives the deprecated ``cluster_id`` the value ``''`` when it is absent."""
    return {
        name: plain(value)
        for name, value in props
        if value is not None and not (name == "cluster_id" and value == "")
    }


class StreamDecoder:
    """Decodes one direction of a connection into ``DecodedMethod`` / ``HeartbeatSeen``.

    A thin wrapper over the project's codec (``amqpmock.wire.codec``: ``FrameReader`` and
    ``ContentAssembler``), as a passive observer: no frame_max limit (the broker
    enforces its own), a protocol header at the start is skipped. Feed it the bytes in
    order; it keeps partial frames and content across calls. Raises ``DecodeError``
    with the stream offset when the bytes are not AMQP.
    """

    def __init__(self) -> None:
        self._reader = codec.FrameReader(frame_max=0)
        self._assembler = codec.ContentAssembler()
        self._start = b""  # the first bytes, until we know if they are a protocol header
        self._at_start = True
        self._fed = 0
        self._partial: dict[int, str] = {}

    def feed(self, data: bytes) -> Iterator[DecodedMethod | HeartbeatSeen]:
        if self._at_start:
            data = self._start + data
            if len(data) < 4 or (data[:4] == b"AMQP" and len(data) < PROTOCOL_HEADER_SIZE):
                self._start = data
                return
            self._at_start = False
            self._start = b""
            if data[:4] == b"AMQP":
                data = data[PROTOCOL_HEADER_SIZE:]
                self._fed += PROTOCOL_HEADER_SIZE
        reader = self._reader
        reader.feed(data)
        self._fed += len(data)
        while True:
            offset = self._fed - reader.buffered
            item = reader.read_frame()
            if item is None:
                return
            result = self._assemble(offset, item)
            if result is not None:
                yield result

    @property
    def buffered(self) -> int:
        """Bytes of a frame not yet complete."""
        return len(self._start) + self._reader.buffered

    @property
    def partial_content(self) -> list[str]:
        """Content methods whose header or body frames never arrived."""
        return list(self._partial.values())

    def _assemble(
        self, offset: int, item: codec.InboundFrame
    ) -> DecodedMethod | HeartbeatSeen | None:
        if isinstance(item, codec.HeartbeatFrame):
            return HeartbeatSeen()
        if isinstance(item, codec.BadFrame):
            raise DecodeError(offset, item.error.reply_text)
        if isinstance(item, codec.UnknownMethod):
            raise DecodeError(
                offset, f"unknown method {item.class_id}.{item.method_id} ({item.reason})"
            )
        try:
            done = self._assembler.push(item)
        except AMQPError as exc:
            raise DecodeError(offset, exc.reply_text) from None
        if done is None:
            if isinstance(item, codec.MethodFrame):
                self._partial[item.channel] = item.method.name
            return None
        self._partial.pop(done.channel, None)
        method = done.method
        if type(method) not in codec.CONTENT_METHODS:
            return DecodedMethod(done.channel, method.name, method_args(method))
        return DecodedMethod(
            done.channel,
            method.name,
            method_args(method),
            property_values(done.properties) if done.properties is not None else {},
            done.body,
        )
