"""Message bodies and headers as JSON values, and JSON Schemas inferred from them with
genson.

Rules this module keeps:
- A body is JSON when it parses as JSON, text when it is UTF-8, else binary (a base64
  string in examples, ``contentEncoding: base64`` in its schema).
- oslo.messaging's envelope (``{"oslo.version": "2.0", "oslo.message": "<JSON>"}``) is
  unwrapped: the schema describes the message inside (``method``, ``args``, ...).
- AMQP field values (decimals, timestamps, byte strings, typed integers) become plain
  JSON values; nothing here raises on a value it does not know (it becomes a string).
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["OSLO_ENVELOPE", "Body", "SchemaSketch", "json_value", "read_body"]

OSLO_ENVELOPE = "oslo.message"
_BINARY = {"type": "string", "contentEncoding": "base64"}


@dataclass(frozen=True)
class Body:
    """A body read: ``kind`` json, text or binary; ``value`` its JSON value (binary:
    base64 text); ``oslo_version`` when it was an oslo.messaging envelope."""

    kind: str
    value: Any
    oslo_version: str | None = None


def read_body(raw: bytes) -> Body:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Body("binary", base64.b64encode(raw).decode("ascii"))
    try:
        value = json.loads(text)
    except ValueError:
        return Body("text", text)
    if isinstance(value, dict) and isinstance(value.get(OSLO_ENVELOPE), str):
        try:
            inner = json.loads(value[OSLO_ENVELOPE])
        except ValueError:
            return Body("json", value)
        return Body("json", inner, str(value.get("oslo.version", "")))
    return Body("json", value)


def json_value(value: Any) -> Any:
    """An AMQP field value (a header's, a property's) as plain JSON data."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(raw).decode("ascii")
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return str(value)


class SchemaSketch:
    """A JSON Schema that grows with every sample (genson's ``SchemaBuilder``)."""

    def __init__(self) -> None:
        from genson import SchemaBuilder

        self._builder = SchemaBuilder(schema_uri=False)
        self.samples = 0

    def add(self, value: Any) -> None:
        self._builder.add_object(value)
        self.samples += 1

    def add_body(self, body: Body) -> None:
        if body.kind == "binary":
            self._builder.add_schema(_BINARY)
            self.samples += 1
        else:
            self.add(body.value)

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = self._builder.to_schema()
        schema.pop("$schema", None)
        return schema
