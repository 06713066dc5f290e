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
- Message header tables keep what RabbitMQ keeps: the order of their keys and the
  field type of every integer and float (pamqp would sort the keys and pick the
  smallest integer type). Integers and floats that arrived with a narrower type than
  ``l`` / ``d`` are decoded as ``int`` / ``float`` subclasses (``Int8`` ... ``Float32``)
  that remember it; plain ``int`` and ``float`` go out as ``l`` and ``d``, the types
  RabbitMQ gives the values it makes itself (``x-death`` counts).
- No I/O and no clock.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pamqp import base, commands, constants, decode, frame, header, heartbeat
from pamqp.commands import Basic

from amqpmock.errors import (
    FRAME_ERROR,
    INTERNAL_ERROR,
    UNEXPECTED_FRAME,
    AMQPError,
    amqp_error,
)
from amqpmock.fake.commands import build
from amqpmock.fieldtypes import Float32, Int8, Int16, Int32, UInt8, UInt16, UInt32
from amqpmock.wire._replytext import (
    _frame_error,
    _ids,
    _unexpected_frame,
    capped_error,
    erlang_binary_p,
    erlang_binary_w,
    truncate_reply_text,
)
from amqpmock.wire._tables import (
    _decode_table,
    _property_flags,
    _typed_headers,
    _TypedContentHeader,
    encode_table,
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
    "Float32",
    "FrameReader",
    "HeaderFrame",
    "HeartbeatFrame",
    "InboundFrame",
    "Int8",
    "Int16",
    "Int32",
    "MethodFrame",
    "UInt8",
    "UInt16",
    "UInt32",
    "UnknownMethod",
    "capped_error",
    "encode_content",
    "encode_heartbeat",
    "encode_method",
    "encode_table",
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
_FRAME_END_OCTET = bytes([FRAME_END])

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
    """A method frame RabbitMQ's reader cannot even fail to decode properly.

    ``reason`` is ``unknown_method_id`` (a class/method id pamqp does not know) or
    ``unknown_field_type`` (a field table with a type octet nobody knows). RabbitMQ
    3.10.8 answers neither with a Connection.Close: its reader process crashes and the
    socket is dropped.
    """

    channel: int
    class_id: int
    method_id: int
    reason: str = "unknown_method_id"


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


# -- errors about frames (the reply texts are made in _replytext) -----------------


def unexpected_frame_for(item: HeaderFrame | BodyFrame | HeartbeatFrame) -> AMQPError:
    """The 505 RabbitMQ sends for a content or heartbeat frame on the wrong channel."""
    if isinstance(item, HeaderFrame):
        return _unexpected_frame(constants.FRAME_HEADER, item.payload)
    if isinstance(item, BodyFrame):
        return _unexpected_frame(constants.FRAME_BODY, item.data)
    return _unexpected_frame(constants.FRAME_HEARTBEAT, b"")


# -- reading ------------------------------------------------------------------------


_CACHE_SIZE = 256
K = TypeVar("K")
V = TypeVar("V")
_BASIC_CLASS = (60).to_bytes(2, "big")
_FRAME_HEAD = struct.Struct(">BHI")  # frame type, channel, payload size
_ACK_IDS = struct.pack(">HH", 60, 80)  # Basic.Ack's class and method ids
_ACK_SIZE = 4 + 8 + 1  # ids, delivery-tag, the multiple bit's octet


def _argument_octets(method: base.Frame, payload: bytes, offset: int) -> int:
    """Where ``method``'s arguments end in ``payload`` (they start at ``offset``), the
    walk pamqp's ``Frame.unmarshal`` makes, keeping count: bits share octets, eight to
    an octet, and any other type ends a run of bits."""
    in_bits, bits = False, 0
    for name in method.__slots__:
        data_type = method.amqp_type(name)
        if data_type == "bit":
            if not in_bits or bits == 8:
                offset += in_bits  # a full octet of bits is behind us
                in_bits, bits = True, 0
            bits += 1
            continue
        if in_bits:
            offset, in_bits = offset + 1, False
        if data_type == "table":
            # strictly, as RabbitMQ's decoder: no value may run past its table's end
            # (pamqp would read on into the next argument)
            consumed, _ = _decode_table(payload[offset:])
        else:
            consumed, _ = decode.by_type(payload[offset:], data_type)
        offset += consumed
    return offset + in_bits


def _property_octets(properties: Basic.Properties, wire: bytes) -> int:
    """How many octets of ``wire`` (flag words, then values) the properties take."""
    flags, offset = _property_flags(wire)
    for name in properties.__slots__:
        if flags & properties.flags[name]:
            consumed, _ = decode.by_type(wire[offset:], properties.amqp_type(name))
            offset += consumed
    return offset


# Basic.Properties in wire order: (attribute, flag, decoder of its type).
_PROPERTY_READERS: list[tuple[str, int, Callable[[bytes], tuple[int, Any]]]] = [
    (
        name,
        Basic.Properties.flags[name],
        {
            "shortstr": decode.short_str,
            "octet": decode.octet,
            "timestamp": decode.timestamp,
            "table": _decode_table,
        }[Basic.Properties.amqp_type(name)],
    )
    for name in Basic.Properties.__slots__
]


def _basic_properties(wire: bytes) -> Basic.Properties | None:
    """Basic.Properties from a content header's property octets, in one pass.

    The values are pamqp's (its decoders, plus the typed header tables), as its
    ``ContentHeader.unmarshal`` would set them; None when the octets need the general
    path (a second flag word, malformed or left-over octets), which then gives the
    error RabbitMQ gives.
    """
    try:
        flags, offset = _property_flags(wire)
        if flags >> 16:
            return None
        properties = Basic.Properties()
        for name, flag, read in _PROPERTY_READERS:
            if flags & flag:
                consumed, value = read(wire[offset:])
                setattr(properties, name, value)
                offset += consumed
    except Exception:  # malformed: the general path says how
        return None
    if offset != len(wire):
        return None
    _remember_wire(properties, wire)
    return properties


def _cache(cache: dict[K, V], key: K, value: V, size: int = _CACHE_SIZE) -> V:
    """Remember ``value`` under ``key``; a full cache is emptied first."""
    if len(cache) >= size:
        cache.clear()
    cache[key] = value
    return value


def _raw_frame(frame_type: int, channel: int, payload: bytes) -> bytes:
    """The whole frame again, for pamqp's ``frame.unmarshal``."""
    return _FRAME_HEAD.pack(frame_type, channel, len(payload)) + payload + _FRAME_END_OCTET


# The property octets a Basic.Properties object was decoded from. RabbitMQ passes a
# message's encoded properties on untouched unless it changes them; so does the
# encoder here, for any decoded object (the core copies properties it changes, and
# decoded objects are read-only everywhere downstream).
_WIRE = "_amqpmock_wire"


def _remember_wire(properties: Basic.Properties, wire: bytes) -> None:
    properties.__dict__[_WIRE] = wire


def _wire_of(properties: Basic.Properties) -> bytes | None:
    return properties.__dict__.get(_WIRE)


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
    _pos: int = 0  # where the next frame starts in _buffer (consumed octets before it)
    _broken: bool = False
    # A publisher usually repeats the same Basic.Publish arguments and the same message
    # properties: decoding each distinct payload once per connection saves most of the
    # decode cost. Decoded objects are treated as read-only everywhere downstream.
    _publish_cache: dict[bytes, base.Frame] = field(default_factory=dict)
    _properties_cache: dict[bytes, Basic.Properties] = field(default_factory=dict)

    def feed(self, data: bytes) -> None:
        if self._broken:
            return
        if self._pos:
            del self._buffer[: self._pos]
            self._pos = 0
        self._buffer += data

    @property
    def buffered(self) -> int:
        return len(self._buffer) - self._pos

    def read_protocol_header(self) -> bytes | None:
        """The 8 octets of the protocol header, once they are all here."""
        start = self._pos
        if len(self._buffer) - start < len(PROTOCOL_HEADER):
            return None
        self._pos = start + len(PROTOCOL_HEADER)
        return bytes(self._buffer[start : self._pos])

    def __iter__(self) -> Iterator[InboundFrame]:
        while (item := self.read_frame()) is not None:
            yield item

    def read_frame(self) -> InboundFrame | None:
        buffer, start = self._buffer, self._pos
        if self._broken or len(buffer) - start < FRAME_HEADER_SIZE:
            return None
        frame_type, channel, size = _FRAME_HEAD.unpack_from(buffer, start)
        if self.frame_max and size > self.frame_max:
            return self._break(
                channel,
                _frame_error(
                    frame_type,
                    b"",
                    ("frame_too_large", size, self.frame_max - FRAME_OVERHEAD),
                ),
            )
        end = start + FRAME_HEADER_SIZE + size + 1
        if len(buffer) < end:
            return None
        payload = bytes(buffer[start + FRAME_HEADER_SIZE : end - 1])
        end_octet = buffer[end - 1]
        self._pos = end
        if end_octet != FRAME_END:
            return self._break(
                channel,
                _frame_error(frame_type, payload, ("invalid_frame_end_marker", end_octet)),
            )
        return self._decode(frame_type, channel, payload)

    def _break(self, channel: int, error: AMQPError) -> BadFrame:
        self._broken = True
        self._buffer.clear()
        self._pos = 0
        return BadFrame(channel, error, in_sync=False)

    def _decode(self, frame_type: int, channel: int, payload: bytes) -> InboundFrame:
        if frame_type == constants.FRAME_BODY:
            return BodyFrame(channel, payload)
        if frame_type == constants.FRAME_METHOD:
            return self._decode_method(channel, payload)
        if frame_type == constants.FRAME_HEADER and len(payload) >= 12:
            wire = payload[12:]
            if payload[0:2] == _BASIC_CLASS:
                properties = self._properties_cache.get(wire)
                if properties is None:
                    properties = _basic_properties(wire)
                    if properties is not None:
                        _cache(self._properties_cache, wire, properties)
                if properties is not None:
                    content = header.ContentHeader(
                        int.from_bytes(payload[2:4], "big"),
                        int.from_bytes(payload[4:12], "big"),
                        properties,
                    )
                    content.class_id = 60  # type: ignore[assignment]
                    return HeaderFrame(channel, content, payload)
            # anything the one-pass reader cannot take: pamqp's reading, and the errors
            try:
                _, _, value = frame.unmarshal(_raw_frame(frame_type, channel, payload))
            except Exception:  # pamqp raises several types for malformed properties
                error = capped_error(FRAME_ERROR, f"cannot decode {erlang_binary_w(payload[12:])}")
                return BadFrame(channel, error, in_sync=True)
            assert isinstance(value, header.ContentHeader)
            if _property_octets(value.properties, wire) != len(wire):
                # octets past the last property: RabbitMQ's channel crashes decoding
                # them (observed: Connection.Close 541 INTERNAL_ERROR, no class/method)
                return BadFrame(channel, amqp_error(INTERNAL_ERROR, ""), in_sync=True)
            if value.properties.headers is not None:
                with contextlib.suppress(Exception):  # else keep pamqp's reading
                    value.properties.headers = _typed_headers(payload)
            if payload[0:2] == _BASIC_CLASS:
                _remember_wire(value.properties, wire)
            _cache(self._properties_cache, wire, value.properties)
            return HeaderFrame(channel, value, payload)
        if frame_type == constants.FRAME_HEARTBEAT and not payload:
            return HeartbeatFrame(channel)
        return BadFrame(channel, _frame_error(frame_type, payload, "unknown_frame"), in_sync=True)

    def _decode_method(self, channel: int, payload: bytes) -> InboundFrame:
        cached = self._publish_cache.get(payload)
        if cached is not None:
            return MethodFrame(channel, cached)
        if len(payload) == _ACK_SIZE and payload[0:4] == _ACK_IDS:
            # the commonest method after publish; its layout is fixed (a long long and
            # one bit), checked against pamqp's unmarshal in tests/server/test_codec.py
            return MethodFrame(
                channel,
                Basic.Ack(int.from_bytes(payload[4:12], "big"), bool(payload[12] & 1)),
            )
        if len(payload) < 4:
            error = _frame_error(constants.FRAME_METHOD, payload, "unknown_frame")
            return BadFrame(channel, error, in_sync=True)
        class_id = int.from_bytes(payload[0:2], "big")
        method_id = int.from_bytes(payload[2:4], "big")
        if (class_id << 16 | method_id) not in commands.INDEX_MAPPING:
            return UnknownMethod(channel, class_id, method_id)
        try:
            _, _, value = frame.unmarshal(_raw_frame(constants.FRAME_METHOD, channel, payload))
        except Exception as exc:  # pamqp raises several types for malformed arguments
            cause = exc.args[1] if len(exc.args) > 1 else exc.__cause__
            if isinstance(cause, ValueError) and str(cause).startswith("Unknown type"):
                return UnknownMethod(channel, class_id, method_id, "unknown_field_type")
            text = f"cannot decode {erlang_binary_w(payload[4:])}"
            error = capped_error(FRAME_ERROR, text, class_id, method_id)
            return BadFrame(channel, error, in_sync=True)
        assert isinstance(value, base.Frame)
        try:
            end = _argument_octets(value, payload, 4)
        except (ValueError, struct.error, IndexError, UnicodeDecodeError):
            end = -1  # a malformed table
        if end != len(payload):
            # RabbitMQ's decoder wants the arguments to end exactly where the frame does
            text = f"cannot decode {erlang_binary_w(payload[4:])}"
            error = capped_error(FRAME_ERROR, text, class_id, method_id)
            return BadFrame(channel, error, in_sync=True)
        if isinstance(value, Basic.Publish):
            _cache(self._publish_cache, payload, value)
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
        if isinstance(state, _AwaitingHeader):
            if not (isinstance(item, HeaderFrame) and item.header.weight == 0):
                raise _header_expected(state.method, "got non content header frame instead")
            if item.header.class_id != 60:  # every content method is Basic's
                raise _header_expected(
                    state.method, f"got one for class {item.header.class_id} instead"
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
                *_ids(state.method),
            )
        remaining = state.remaining - len(item.data)
        if remaining == 0 and not state.parts:  # the whole body in one frame
            del self._pending[item.channel]
            return AssembledMethod(item.channel, state.method, state.properties, item.data)
        state.parts.append(item.data)
        state.remaining = remaining
        if remaining != 0:
            return None
        del self._pending[item.channel]
        return AssembledMethod(item.channel, state.method, state.properties, b"".join(state.parts))

    def forget(self, channel: int) -> None:
        self._pending.pop(channel, None)


def _header_expected(method: base.Frame, got: str) -> AMQPError:
    class_id, method_id = _ids(method)
    return amqp_error(
        UNEXPECTED_FRAME,
        f"expected content header for class {class_id}, {got}",
        class_id,
        method_id,
    )


# -- writing ----------------------------------------------------------------------------


# Channel.OpenOk's reserved longstr is empty on RabbitMQ; pamqp's OpenOk() writes "0" and
# refuses "" (@cloudamqp/amqp-client skips exactly four octets there and fails on five).
_CHANNEL_OPEN_OK_ARGS = struct.pack(">HHI", 20, 11, 0)


def encode_method(channel: int, method: base.Frame) -> bytes:
    if type(method) is commands.Channel.OpenOk:
        return _raw_frame(constants.FRAME_METHOD, channel, _CHANNEL_OPEN_OK_ARGS)
    try:
        return frame.marshal(method, channel)
    except ValueError:
        # pamqp refuses names RabbitMQ allows (say '=' in a direct reply-to queue name,
        # or any UTF-8 queue name); RabbitMQ sends them, so we do, minus the check
        return frame.marshal(_unchecked(method), channel)


_UNCHECKED: dict[type[base.Frame], type[base.Frame]] = {}


def _no_validation(self: base.Frame) -> None:
    return None


def _unchecked(method: base.Frame) -> base.Frame:
    """A copy of ``method`` whose ``validate`` accepts anything."""
    cls = type(method)
    sub = _UNCHECKED.get(cls)
    if sub is None:
        # no __slots__ of its own: marshal() then walks the parent's argument list
        sub = _UNCHECKED[cls] = type(cls.__name__, (cls,), {"validate": _no_validation})
    clone = sub.__new__(sub)
    for attribute in cls.__slots__:
        setattr(clone, attribute, getattr(method, attribute))
    return clone


def encode_heartbeat() -> bytes:
    return frame.marshal(heartbeat.Heartbeat(), 0)


# Encoded content-header frames by (properties object, body size, channel), for
# properties the broker built itself (decoded ones carry their wire octets). A consumer
# usually receives many messages that share one properties object, so most deliveries
# skip pamqp's marshalling. Properties objects are never changed in place once decoded
# or built by the broker.
_HEADER_CACHE: dict[tuple[int, int, int], tuple[Basic.Properties | None, bytes]] = {}
_HEADER_PREFIX = struct.Struct(">BHIHHQ")  # frame head; class, weight, body size


def _header_frame(channel: int, properties: Basic.Properties | None, size: int) -> bytes:
    if properties is not None:
        wire = _wire_of(properties)
        if wire is not None:
            return (
                _HEADER_PREFIX.pack(constants.FRAME_HEADER, channel, 12 + len(wire), 60, 0, size)
                + wire
                + _FRAME_END_OCTET
            )
    key = (id(properties), size, channel)
    hit = _HEADER_CACHE.get(key)
    if hit is not None and hit[0] is properties:
        return hit[1]
    encoded = frame.marshal(_TypedContentHeader(0, size, properties), channel)
    _cache(_HEADER_CACHE, key, (properties, encoded), 4096)
    return encoded


# Encoded Basic.Deliver method frames, split around their delivery tag, by everything
# else in them: a consumer's deliveries differ in the tag alone. pamqp encodes each
# distinct prefix and suffix once; the tag is spliced in.
_DELIVER_CACHE: dict[tuple[int, str | None, bool, str, str | None], tuple[bytes, bytes]] = {}


def _deliver_frame(channel: int, method: Basic.Deliver, tag: int) -> bytes:
    key = (channel, method.consumer_tag, method.redelivered, method.exchange, method.routing_key)
    parts = _DELIVER_CACHE.get(key)
    if parts is None:
        template = encode_method(
            channel,
            build(
                Basic.Deliver,
                consumer_tag=method.consumer_tag,
                delivery_tag=0,
                redelivered=method.redelivered,
                exchange=method.exchange,
                routing_key=method.routing_key,
            ),
        )
        # frame head (7), class and method ids (4), consumer-tag (1 + length), then the
        # delivery tag's eight octets
        at = FRAME_HEADER_SIZE + 4 + 1 + template[FRAME_HEADER_SIZE + 4]
        parts = _cache(_DELIVER_CACHE, key, (template[:at], template[at + 8 :]), 4096)
    return parts[0] + tag.to_bytes(8, "big") + parts[1]


def encode_content(
    channel: int,
    method: base.Frame,
    properties: Basic.Properties | None,
    payload: bytes,
    frame_max: int = FRAME_MAX,
) -> bytes:
    """A content-bearing method: method, header, and body frames of at most frame_max."""
    if type(method) is Basic.Deliver and method.delivery_tag is not None:
        first = _deliver_frame(channel, method, method.delivery_tag)
    else:
        first = encode_method(channel, method)
    size = len(payload)
    parts: list[bytes | memoryview] = [first, _header_frame(channel, properties, size)]
    chunk = (frame_max - FRAME_OVERHEAD) if frame_max else size or 1
    if size <= chunk:  # the common case: one body frame (none for an empty body)
        pieces: Iterable[bytes | memoryview] = (payload,) if size else ()
    else:
        view = memoryview(payload)
        pieces = (view[start : start + chunk] for start in range(0, size, chunk))
    for piece in pieces:
        parts += (
            _FRAME_HEAD.pack(constants.FRAME_BODY, channel, len(piece)),
            piece,
            _FRAME_END_OCTET,
        )
    return b"".join(parts)
