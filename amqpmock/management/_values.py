"""Request bodies and values as RabbitMQ 3.10.8's management plugin reads them.

Rules (each observed on RabbitMQ 3.10.8):
- The body: empty is ``{}``; JSON ``null``, ``true`` and ``false`` are ``{}`` too; a
  JSON string is 400 ``invalid payload: the request body JSON-decoded to a string. Is
  the input doubly-JSON-encoded?``; anything else that is not an object (a number, an
  array, whitespace, bad JSON, ``NaN``, a number past a double such as ``1e999999``,
  text after the value) is 400 ``not_json``. A body over ``MAX_BODY`` octets is a 500
  with no body (RabbitMQ: "Exceeded HTTP request body size limit" in its log, from
  about 8 MB). Nesting past ``MAX_DEPTH`` is ``not_json`` in the fake; RabbitMQ takes
  any depth inside an object (a known difference: Python's recursion limit).
- A flag (``durable``, ``auto_delete``, ``internal``, a vhost's ``tracing``) is JSON
  ``true``/``false`` or the strings ``"true"``/``"false"``; anything else is 400 with the
  reason ``["not_boolean", value]`` (a JSON array). An absent flag is false. Flags are
  read in the order of their names, before the arguments.
- ``arguments`` (and a message's ``headers``): an object whose integers are ``long``
  (``amqpmock.fieldtypes.Int64``), floats ``double``, strings ``longstr``; a ``null``
  anywhere in it is 400 ``null_not_allowed``; ``[]`` is ``{}``; any other non-object
  (a string, ``null``) is a 500 with no body.
- A count (``count``, ``truncate`` of a get) is an integer, a float (truncated) or a
  string of digits with an optional sign; else 400 ``["not_integer", value]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from amqpmock.fieldtypes import Int64
from amqpmock.management._errors import ManagementError, bad_request

MAX_BODY = 8_000_000  # cowboy's default read_body length, RabbitMQ's effective limit
MAX_DEPTH = 100
DOUBLY_ENCODED = (
    "invalid payload: the request body JSON-decoded to a string. Is the input doubly-JSON-encoded?"
)
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")  # what Erlang's list_to_integer takes
_INT64 = range(-(2**63), 2**63)


def crashed() -> ManagementError:
    """What RabbitMQ answers where its handler crashes: 500, no body."""
    return ManagementError(500, None, None)


def not_json() -> ManagementError:
    return bad_request("not_json")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is past a double")
    return value


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return False


def parse_body(body: bytes) -> dict[str, Any]:
    """A request body as the JSON object RabbitMQ reads, or its refusal."""
    if not body:
        return {}
    if len(body) > MAX_BODY:
        raise crashed()
    try:
        value = json.loads(
            body.decode("utf-8", "replace"), parse_float=_finite, parse_constant=_no_constant
        )
    except (ValueError, RecursionError):
        raise not_json() from None
    if value is None or isinstance(value, bool):
        return {}
    if isinstance(value, str):
        raise bad_request(DOUBLY_ENCODED)
    if not isinstance(value, dict) or _too_deep(value):
        raise not_json()
    return value


def boolean(value: Any) -> bool:
    if value is True or value == "true":
        return True
    if value is False or value == "false":
        return False
    raise ManagementError(400, "bad_request", ["not_boolean", value])


def flags(body: dict[str, Any], names: Iterable[str]) -> dict[str, bool]:
    """Each flag of ``names`` in ``body`` (false when absent), read in name order."""
    return {name: boolean(body[name]) if name in body else False for name in sorted(names)}


def integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and _INTEGER.match(value):
        return int(value)
    raise ManagementError(400, "bad_request", ["not_integer", value])


def field_value(value: Any, nulls: bool = False) -> Any:
    """A JSON value as the AMQP field value RabbitMQ makes of it; ``nulls``: keep a
    ``null`` (a definitions import) instead of refusing it."""
    if value is None:
        if nulls:
            return None
        raise bad_request("null_not_allowed")
    if isinstance(value, bool | float | str):
        return value
    if isinstance(value, int):
        return Int64(value) if value in _INT64 else value
    if isinstance(value, dict):
        return {str(k): field_value(v, nulls) for k, v in value.items()}
    return [field_value(v, nulls) for v in value]


def table(value: Any, nulls: bool = False) -> dict[str, Any]:
    """``arguments`` (or ``headers``) of a request: an AMQP field table."""
    if value == []:
        return {}
    if not isinstance(value, dict):
        raise crashed()
    return {str(k): field_value(v, nulls) for k, v in value.items()}


def arguments(body: dict[str, Any]) -> dict[str, Any]:
    return table(body["arguments"]) if "arguments" in body else {}
