"""AMQP field-table values that remember their wire type.

RabbitMQ passes header tables on as it got them, so an integer or float that arrived as
``b``, ``B``, ``s``, ``u``, ``I``, ``i`` or ``f`` must go out with that type again. These
``int`` / ``float`` subclasses carry it. Both the wire codec and the cassette format use
them, so they live here, below both; this module imports nothing of amqpmock.
"""

from __future__ import annotations

import struct
from typing import ClassVar

__all__ = [
    "FieldInt",
    "Float32",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "UInt8",
    "UInt16",
    "UInt32",
]


class FieldInt(int):
    field_type: ClassVar[bytes]
    _pack: ClassVar[struct.Struct]

    def __repr__(self) -> str:
        return int.__repr__(self)


class Int8(FieldInt):
    """An integer that arrived as a ``b`` (signed 8-bit) table field."""

    field_type = b"b"
    _pack = struct.Struct(">b")


class UInt8(FieldInt):
    field_type = b"B"
    _pack = struct.Struct(">B")


class Int16(FieldInt):
    field_type = b"s"
    _pack = struct.Struct(">h")


class UInt16(FieldInt):
    field_type = b"u"
    _pack = struct.Struct(">H")


class Int32(FieldInt):
    """An integer that arrived as an ``I`` (signed 32-bit) table field, as pika sends."""

    field_type = b"I"
    _pack = struct.Struct(">i")


class UInt32(FieldInt):
    field_type = b"i"
    _pack = struct.Struct(">I")


class Int64(FieldInt):
    """An integer RabbitMQ holds as a ``long`` (``l``, signed 64-bit) whatever its size:
    what the management API makes of a JSON integer. A plain ``int`` is named by its
    size (pika sends a small one as ``I``)."""

    field_type = b"l"
    _pack = struct.Struct(">q")


class Float32(float):
    """A float that arrived as an ``f`` (32-bit) table field."""

    field_type: ClassVar[bytes] = b"f"

    def __repr__(self) -> str:
        return float.__repr__(self)
