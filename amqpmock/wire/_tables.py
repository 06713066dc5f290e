"""Header tables as RabbitMQ passes them on: the order of their keys and the field type
of every integer and float kept (pamqp would sort the keys and pick the smallest integer
type), and where they sit in a content header's property list.

Integers and floats that arrived with a narrower type than ``l`` / ``d`` are decoded as
the ``amqpmock.fieldtypes`` subclasses (``Int8`` ... ``Float32``) that remember it; plain
``int`` and ``float`` go out as ``l`` and ``d``.

Private to ``amqpmock.wire``: ``codec`` re-exports the public names.
"""

from __future__ import annotations

import datetime
import decimal as _decimal
import struct
from typing import Any

from pamqp import commands, decode, encode, header

from amqpmock.fieldtypes import FieldInt, Float32, Int8, Int16, Int32, UInt8, UInt16, UInt32

# The types that remember their field type octet, by that octet.
_TYPED_VALUES: dict[bytes, type[FieldInt] | type[Float32]] = {
    cls.field_type: cls for cls in (Int8, UInt8, Int16, UInt16, Int32, UInt32, Float32)
}

_HEADERS_FLAG = 0x2000  # Basic.Properties: content_type 0x8000, content_encoding 0x4000


def _decode_value(data: bytes) -> tuple[int, Any]:
    code = data[0:1]
    if code == b"F":
        consumed, table = _decode_table(data[1:])
        return consumed + 1, table
    if code == b"A":
        consumed, array = _decode_array(data[1:])
        return consumed + 1, array
    consumed, value = decode.embedded_value(data)
    if code in _TYPED_VALUES and isinstance(value, (int, float)):
        return consumed, _TYPED_VALUES[code](value)
    return consumed, value


def _decode_table(data: bytes) -> tuple[int, dict[str, Any]]:
    (length,) = struct.unpack_from(">I", data)
    end = 4 + length
    if end > len(data):
        raise ValueError("field table longer than its frame")
    table: dict[str, Any] = {}
    offset = 4
    while offset < end:
        key_length = data[offset]
        key = data[offset + 1 : offset + 1 + key_length].decode("utf-8")
        offset += 1 + key_length
        consumed, table[key] = _decode_value(data[offset:end])
        offset += consumed
    if offset != end:
        raise ValueError("a field table value runs past the end of its table")
    return end, table


def _decode_array(data: bytes) -> tuple[int, list[Any]]:
    (length,) = struct.unpack_from(">I", data)
    end = 4 + length
    if end > len(data):
        raise ValueError("field array longer than its frame")
    items: list[Any] = []
    offset = 4
    while offset < end:
        consumed, item = _decode_value(data[offset:end])
        items.append(item)
        offset += consumed
    if offset != end:
        raise ValueError("a field array value runs past the end of its array")
    return end, items


def _property_flags(data: bytes) -> tuple[int, int]:
    """(flags, offset past the flag words) of a content header's property list; the
    continuation bits are left out of the flags."""
    flags, offset, word_index = 0, 0, 0
    while True:
        (word,) = struct.unpack_from(">H", data, offset)
        offset += 2
        flags |= (word & 0xFFFE) << (16 * word_index)
        word_index += 1
        if not word & 1:
            return flags, offset


def _property_offsets(data: bytes) -> tuple[int, int]:
    """(flags, offset of the headers table) in a content header's property list."""
    flags, offset = _property_flags(data)
    for flag in (0x8000, 0x4000):  # content_type, content_encoding: short strings
        if flags & flag:
            offset += 1 + data[offset]
    return flags, offset


def _typed_headers(payload: bytes) -> dict[str, Any]:
    """The headers table of a content header frame payload, keeping order and types."""
    properties = payload[12:]
    flags, offset = _property_offsets(properties)
    if not flags & _HEADERS_FLAG:
        raise ValueError("no headers")
    return _decode_table(properties[offset:])[1]


def _encode_value(value: Any) -> bytes:
    if isinstance(value, bool):
        return b"t" + encode.boolean(value)
    if isinstance(value, FieldInt):
        return value.field_type + value._pack.pack(value)
    if isinstance(value, int):
        return b"l" + encode.long_long_int(value)
    if isinstance(value, Float32):
        return b"f" + encode.floating_point(value)
    if isinstance(value, float):
        return b"d" + encode.double(value)
    if isinstance(value, str):
        return b"S" + encode.long_string(value)
    if isinstance(value, bytes):
        return b"S" + struct.pack(">I", len(value)) + value
    if isinstance(value, bytearray):
        return b"x" + encode.byte_array(value)
    if isinstance(value, dict):
        return b"F" + encode_table(value)
    if isinstance(value, list | tuple):
        items = b"".join(_encode_value(item) for item in value)
        return b"A" + struct.pack(">I", len(items)) + items
    if isinstance(value, _decimal.Decimal):
        return b"D" + encode.decimal(value)
    if isinstance(value, datetime.datetime):
        return b"T" + encode.timestamp(value)
    if value is None:
        return b"V"
    raise TypeError(f"cannot put {type(value).__name__} {value!r} in a field table")


def encode_table(table: dict[str, Any]) -> bytes:
    """A field table in the order of ``table``, each value with its field type."""
    items = b"".join(
        encode.short_string(key) + _encode_value(value) for key, value in table.items()
    )
    return struct.pack(">I", len(items)) + items


class _TypedContentHeader(header.ContentHeader):
    """pamqp's content header with RabbitMQ's header tables (order and types kept)."""

    def marshal(self) -> bytes:
        properties = self.properties
        headers = properties.headers
        if headers is None:
            return super().marshal()
        properties.headers = None
        try:
            plain = properties.marshal()
        finally:
            properties.headers = headers
        flags, offset = _property_offsets(plain)
        if flags >> 16:  # a second flag word never happens for Basic; keep pamqp's way
            return super().marshal()
        return (
            struct.pack(">HxxQ", commands.Basic.frame_id, self.body_size)
            + struct.pack(">H", flags | _HEADERS_FLAG)
            + plain[2:offset]
            + encode_table(headers)
            + plain[offset:]
        )
