"""AMQP 0-9-1 frames <-> bytes, on pamqp, with RabbitMQ 3.10's framing errors.

Rules this module keeps:
- pamqp does the encoding and decoding of frames, methods, content headers and field
  tables; this module only cuts the byte stream into frames (using pamqp's
  ``frame_parts``), checks what RabbitMQ checks before it decodes (frame size against
  the negotiated frame_max, the frame-end octet, the frame type) and assembles content.
- Errors are values, not exceptions, when they describe the input: the reader hands out
  ``BadFrame`` (with the AMQP error RabbitMQ would send and whether the byte stream is
  still in sync) and ``UnknownMethod``; the protocol layer decides what to do with them.
  Content assembly errors are ``AMQPError``s (505 UNEXPECTED_FRAME) because they always
  close the connection the same way.
- Reply texts are RabbitMQ's, including its Erlang term formatting (``<<"abc">>``,
  ``<<0,1,2>>``, the ``~p`` line wrapping of the reason and the 255-octet cap), checked
  against a real RabbitMQ 3.10.8 node.
- No I/O and no clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pamqp import base, body, commands, constants, frame, header, heartbeat
from pamqp.commands import Basic

from amqpmock.errors import (
    FRAME_ERROR,
    UNEXPECTED_FRAME,
    AMQPError,
    amqp_error,
)

__all__ = [
    "FRAME_MAX",
    "FRAME_MIN_SIZE",
    "FRAME_OVERHEAD",
    "PROTOCOL_HEADER",
    "AssembledMethod",
    "BadFrame",
    "BodyFrame",
    "ContentAssembler",
    "FrameReader",
    "HeaderFrame",
    "HeartbeatFrame",
    "InboundFrame",
    "MethodFrame",
    "UnknownMethod",
    "capped_error",
    "encode_content",
    "encode_heartbeat",
    "encode_method",
    "erlang_binary_p",
    "erlang_binary_w",
    "truncate_reply_text",
    "unexpected_frame_for",
]

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
FRAME_HEADER_SIZE = constants.FRAME_HEADER_SIZE  # type, channel, size: 7 octets
FRAME_OVERHEAD = FRAME_HEADER_SIZE + 1  # plus the frame-end octet
FRAME_MIN_SIZE = constants.FRAME_MIN_SIZE  # 4096: frame_max before Tune/TuneOk
FRAME_MAX = constants.FRAME_MAX_SIZE  # 131072: RabbitMQ's default frame_max
FRAME_END = constants.FRAME_END

# Methods that carry content (a header frame and body frames follow them).
CONTENT_METHODS: frozenset[type[base.Frame]] = frozenset(
    {Basic.Publish, Basic.Return, Basic.Deliver, Basic.GetOk}
)


# -- frames handed out by the reader ----------------------------------------------


@dataclass(frozen=True, slots=True)
class MethodFrame:
    channel: int
    method: base.Frame


@dataclass(frozen=True, slots=True)
class HeaderFrame:
    channel: int
    header: header.ContentHeader
    payload: bytes  # the raw frame payload, for RabbitMQ's error texts


@dataclass(frozen=True, slots=True)
class BodyFrame:
    channel: int
    data: bytes


@dataclass(frozen=True, slots=True)
class HeartbeatFrame:
    channel: int


@dataclass(frozen=True, slots=True)
class UnknownMethod:
    """A method frame whose class/method id pamqp does not know.

    RabbitMQ 3.10.8 does not answer these with a Connection.Close: its reader process
    crashes (``unknown_method_id``) and the socket is dropped.
    """

    channel: int
    class_id: int
    method_id: int


@dataclass(frozen=True, slots=True)
class BadFrame:
    """A frame RabbitMQ rejects with a connection error.

    ``in_sync`` is False when the byte stream can no longer be cut into frames (frame
    too large, wrong frame-end octet): RabbitMQ then stops reading and drops the socket
    shortly after sending Connection.Close.
    """

    channel: int
    error: AMQPError
    in_sync: bool


InboundFrame = MethodFrame | HeaderFrame | BodyFrame | HeartbeatFrame | UnknownMethod | BadFrame


# -- Erlang formatting, as RabbitMQ prints terms into reply texts -------------------

_ERLANG_ESCAPES = {
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    0x0B: "\\v",
    0x08: "\\b",
    0x0C: "\\f",
    0x1B: "\\e",
    ord('"'): '\\"',
    ord("\\"): "\\\\",
}
# io_lib_pretty wraps a term that would end past this column (measured on a real node).
_ERLANG_LINE_FIT = 78


def _latin1_printable(data: bytes) -> bool:
    return all(32 <= b <= 126 or b >= 160 or b in _ERLANG_ESCAPES for b in data)


def erlang_binary_w(data: bytes) -> str:
    """``io_lib:format("~w", [Bin])``: always the octets as integers."""
    return "<<" + ",".join(str(b) for b in data) + ">>"


def erlang_binary_p(data: bytes) -> str:
    """``io_lib:format("~p", [Bin])`` with the default latin1 printable range."""
    if data and _latin1_printable(data):
        text = "".join(_ERLANG_ESCAPES.get(b, chr(b)) for b in data)
        return f'<<"{text}">>'
    return erlang_binary_w(data)


def _erlang_tuple_p(items: tuple[str | int, ...], column: int) -> str:
    """``~p`` of a flat tuple of atoms and integers starting at ``column``."""
    parts = [str(item) for item in items]
    flat = "{" + ",".join(parts) + "}"
    if column + len(flat) <= _ERLANG_LINE_FIT:
        return flat
    indent = ",\n" + " " * (column + 1)
    return "{" + indent.join(parts) + "}"


def truncate_reply_text(text: str) -> str:
    """RabbitMQ cuts reply texts longer than 255 octets to 252 octets plus '...'."""
    raw = text.encode("utf-8")
    if len(raw) <= 255:
        return text
    return raw[:252].decode("utf-8", errors="ignore") + "..."


def capped_error(code: int, text: str, class_id: int = 0, method_id: int = 0) -> AMQPError:
    """``amqp_error`` whose full reply text (``"NAME - text"``) is cut as RabbitMQ cuts it."""
    error = amqp_error(code, text, class_id, method_id)
    full = error.reply_text
    capped = truncate_reply_text(full)
    if capped != full:
        error = amqp_error(code, capped[len(full) - len(text) :], class_id, method_id)
    return error


def _frame_error(
    frame_type: int, payload: bytes, reason: str | tuple[str | int, ...]
) -> AMQPError:
    """RabbitMQ's ``"type ~p, ~s octets = ~p: ~p"`` frame error (501)."""
    if len(payload) <= 16:
        prefix = f"type {frame_type}, all octets = {erlang_binary_p(payload)}: "
    else:
        prefix = f"type {frame_type}, first 16 octets = {erlang_binary_p(payload[:16])}: "
    reason_text = reason if isinstance(reason, str) else _erlang_tuple_p(reason, len(prefix))
    return capped_error(FRAME_ERROR, prefix + reason_text)


def _unexpected_frame(frame_type: int, payload: bytes) -> AMQPError:
    """RabbitMQ's 505 for a content or heartbeat frame where none can go."""
    if len(payload) <= 16:
        what = f"all octets = {erlang_binary_p(payload)}"
    else:
        what = f"first 16 octets = {erlang_binary_p(payload[:16])}"
    return capped_error(UNEXPECTED_FRAME, f"type {frame_type}, {what}")


def unexpected_frame_for(item: HeaderFrame | BodyFrame | HeartbeatFrame) -> AMQPError:
    """The 505 RabbitMQ sends for a content or heartbeat frame on the wrong channel."""
    if isinstance(item, HeaderFrame):
        return _unexpected_frame(constants.FRAME_HEADER, item.payload)
    if isinstance(item, BodyFrame):
        return _unexpected_frame(constants.FRAME_BODY, item.data)
    return _unexpected_frame(constants.FRAME_HEARTBEAT, b"")


# -- reading ------------------------------------------------------------------------


@dataclass
class FrameReader:
    """Cuts a byte stream into frames.

    Feed it bytes as they arrive (``feed``); take complete frames with ``read_frame``
    (None means more bytes are needed). ``frame_max`` is the negotiated maximum frame
    size, 4096 until the client's TuneOk. Like RabbitMQ, a frame is refused when its
    payload is larger than ``frame_max`` (RabbitMQ allows 8 octets of slack for
    clients that forget the frame overhead, and reports ``frame_max - 8``).
    """

    frame_max: int = FRAME_MIN_SIZE
    _buffer: bytearray = field(default_factory=bytearray)
    _broken: bool = False

    def feed(self, data: bytes) -> None:
        if not self._broken:
            self._buffer += data

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def read_protocol_header(self) -> bytes | None:
        """The 8 octets of the protocol header, once they are all here."""
        if len(self._buffer) < len(PROTOCOL_HEADER):
            return None
        head = bytes(self._buffer[: len(PROTOCOL_HEADER)])
        del self._buffer[: len(PROTOCOL_HEADER)]
        return head

    def __iter__(self) -> Iterator[InboundFrame]:
        while (item := self.read_frame()) is not None:
            yield item

    def read_frame(self) -> InboundFrame | None:
        if self._broken or len(self._buffer) < FRAME_HEADER_SIZE:
            return None
        frame_type, channel, size = frame.frame_parts(bytes(self._buffer[:FRAME_HEADER_SIZE]))
        assert size is not None  # seven octets are always enough for frame_parts
        if self.frame_max and size > self.frame_max:
            return self._break(
                channel,
                _frame_error(
                    frame_type,
                    b"",
                    ("frame_too_large", size, self.frame_max - FRAME_OVERHEAD),
                ),
            )
        end = FRAME_HEADER_SIZE + size + 1
        if len(self._buffer) < end:
            return None
        raw = bytes(self._buffer[:end])
        del self._buffer[:end]
        payload = raw[FRAME_HEADER_SIZE:-1]
        if raw[-1] != FRAME_END:
            return self._break(
                channel,
                _frame_error(frame_type, payload, ("invalid_frame_end_marker", raw[-1])),
            )
        return self._decode(frame_type, channel, raw, payload)

    def _break(self, channel: int, error: AMQPError) -> BadFrame:
        self._broken = True
        self._buffer.clear()
        return BadFrame(channel, error, in_sync=False)

    def _decode(self, frame_type: int, channel: int, raw: bytes, payload: bytes) -> InboundFrame:
        if frame_type == constants.FRAME_METHOD:
            return self._decode_method(channel, raw, payload)
        if frame_type == constants.FRAME_HEADER and len(payload) >= 12:
            try:
                _, _, value = frame.unmarshal(raw)
            except Exception:  # pamqp raises several types for malformed properties
                error = capped_error(FRAME_ERROR, f"cannot decode {erlang_binary_w(payload[12:])}")
                return BadFrame(channel, error, in_sync=True)
            assert isinstance(value, header.ContentHeader)
            return HeaderFrame(channel, value, payload)
        if frame_type == constants.FRAME_BODY:
            return BodyFrame(channel, payload)
        if frame_type == constants.FRAME_HEARTBEAT and not payload:
            return HeartbeatFrame(channel)
        return BadFrame(channel, _frame_error(frame_type, payload, "unknown_frame"), in_sync=True)

    def _decode_method(self, channel: int, raw: bytes, payload: bytes) -> InboundFrame:
        if len(payload) < 4:
            error = _frame_error(constants.FRAME_METHOD, payload, "unknown_frame")
            return BadFrame(channel, error, in_sync=True)
        class_id = int.from_bytes(payload[0:2], "big")
        method_id = int.from_bytes(payload[2:4], "big")
        if (class_id << 16 | method_id) not in commands.INDEX_MAPPING:
            return UnknownMethod(channel, class_id, method_id)
        try:
            _, _, value = frame.unmarshal(raw)
        except Exception:  # pamqp raises several types for malformed arguments
            text = f"cannot decode {erlang_binary_w(payload[4:])}"
            error = capped_error(FRAME_ERROR, text, class_id, method_id)
            return BadFrame(channel, error, in_sync=True)
        assert isinstance(value, base.Frame)
        return MethodFrame(channel, value)


# -- content assembly -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssembledMethod:
    """A complete method: alone, or with its content header and body."""

    channel: int
    method: base.Frame
    properties: Basic.Properties | None = None
    body: bytes = b""


@dataclass
class _AwaitingHeader:
    method: base.Frame


@dataclass
class _AwaitingBody:
    method: base.Frame
    properties: Basic.Properties
    remaining: int
    parts: list[bytes]


@dataclass
class ContentAssembler:
    """Per-channel assembly of content-bearing methods, as RabbitMQ's assembler.

    ``push`` returns the complete method once its content is in, None while content
    frames are still expected, and raises 505 UNEXPECTED_FRAME with RabbitMQ's text for
    a frame out of order. As in RabbitMQ, a body that overshoots ``body_size`` never
    completes, and the next method frame on that channel is the error.
    """

    _pending: dict[int, _AwaitingHeader | _AwaitingBody] = field(default_factory=dict)

    def push(self, item: MethodFrame | HeaderFrame | BodyFrame) -> AssembledMethod | None:
        state = self._pending.get(item.channel)
        if state is None:
            if not isinstance(item, MethodFrame):
                raise amqp_error(
                    UNEXPECTED_FRAME, "expected method frame, got non method frame instead"
                )
            if type(item.method) in CONTENT_METHODS:
                self._pending[item.channel] = _AwaitingHeader(item.method)
                return None
            return AssembledMethod(item.channel, item.method)
        class_id, method_id = _ids(state.method)
        if isinstance(state, _AwaitingHeader):
            if not isinstance(item, HeaderFrame) or item.header.weight != 0:
                raise amqp_error(
                    UNEXPECTED_FRAME,
                    f"expected content header for class {class_id}, "
                    "got non content header frame instead",
                    class_id,
                    method_id,
                )
            if item.header.class_id != class_id:
                raise amqp_error(
                    UNEXPECTED_FRAME,
                    f"expected content header for class {class_id}, "
                    f"got one for class {item.header.class_id} instead",
                    class_id,
                    method_id,
                )
            properties = item.header.properties
            if item.header.body_size == 0:
                del self._pending[item.channel]
                return AssembledMethod(item.channel, state.method, properties, b"")
            self._pending[item.channel] = _AwaitingBody(
                state.method, properties, item.header.body_size, []
            )
            return None
        if not isinstance(item, BodyFrame):
            raise amqp_error(
                UNEXPECTED_FRAME,
                "expected content body, got non content body frame instead",
                class_id,
                method_id,
            )
        state.parts.append(item.data)
        state.remaining -= len(item.data)
        if state.remaining != 0:
            return None
        del self._pending[item.channel]
        return AssembledMethod(item.channel, state.method, state.properties, b"".join(state.parts))

    def forget(self, channel: int) -> None:
        self._pending.pop(channel, None)


def _ids(method: base.Frame) -> tuple[int, int]:
    return method.index >> 16, method.index & 0xFFFF


# -- writing ----------------------------------------------------------------------------


def encode_method(channel: int, method: base.Frame) -> bytes:
    return frame.marshal(method, channel)


def encode_heartbeat() -> bytes:
    return frame.marshal(heartbeat.Heartbeat(), 0)


def encode_content(
    channel: int,
    method: base.Frame,
    properties: Basic.Properties | None,
    payload: bytes,
    frame_max: int = FRAME_MAX,
) -> bytes:
    """A content-bearing method: method, header, and body frames of at most frame_max."""
    parts = [
        frame.marshal(method, channel),
        frame.marshal(header.ContentHeader(0, len(payload), properties), channel),
    ]
    chunk = (frame_max - FRAME_OVERHEAD) if frame_max else len(payload) or 1
    view = memoryview(payload)
    for start in range(0, len(payload), chunk):
        parts.append(frame.marshal(body.ContentBody(bytes(view[start : start + chunk])), channel))
    return b"".join(parts)
