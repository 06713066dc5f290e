"""JSON text as RabbitMQ 3.10.8's management plugin writes it (``rabbit_json``, jsx
3.1.0), for clients that show the answer as it came (``rabbitmqadmin -f raw_json``, an
export file written as received).

Rules (each observed on RabbitMQ 3.10.8):
- No whitespace: ``{"a":1,"b":[1,2]}``.
- Strings in UTF-8, not escaped; ``"``, ``\\`` and the control characters escaped
  (``\\n``, ``\\t`` ..., the others ``\\u0001``); ``/`` and DEL as they are;
  U+2028 and U+2029 escaped (``\\u2028``).
- Floats as Erlang writes them (``float_to_list(F, [short])``): the shortest digits
  that read back, in the shorter of the fixed and the exponent form (the fixed one
  when they are as long; the exponent form from 2^53 on): ``1.5``, ``100.0``,
  ``1.0e3``, ``6.0e4``, ``99999.0``, ``0.0001``, ``1.0e-5``, ``1.0e20``.
- Objects RabbitMQ holds as Erlang maps (``Whole``: arguments, headers, totals ...)
  have their keys in Erlang's term order (octet order), and so do the objects inside
  them; the others keep the order they are built in (RabbitMQ's proplists).
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from amqpmock.management._listing import Whole

_SEPARATORS = (",", ":")


def erlang_float(value: float) -> str:
    """``value`` as Erlang's ``float_to_list(value, [short])`` writes it."""
    if not math.isfinite(value):  # no JSON for these; RabbitMQ never has one to write
        return json.dumps(value)
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    # Python's repr is the shortest text that reads back, as Erlang's [short] is
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len("".join(map(str, digit_tuple))) - len(digits)
    length = len(digits)
    place = length + exponent  # value = 0.DIGITS x 10^place
    if 0 < place < length:
        return f"{sign}{digits[:place]}.{digits[place:]}"
    if place == 0:
        return f"{sign}0.{digits}"
    exp_text = str(place - 1)
    exp_cost = len(exp_text) + 1 + (2 if length == 1 else 1)
    if place < 0 and 2 - place <= exp_cost:
        return f"{sign}0.{'0' * -place}{digits}"
    # from 2^53 on always the exponent form
    if place >= length and place - length + 2 <= exp_cost and abs(value) < 2.0**53:
        return f"{sign}{digits}{'0' * (place - length)}.0"
    mantissa = f"{digits[0]}.{digits[1:] or '0'}"
    return f"{sign}{mantissa}e{exp_text}"


def _prepared(value: Any, floats: list[float], token: str, in_map: bool = False) -> Any:
    """``value`` with its maps' keys in order and each float a placeholder string."""
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
        in_map = in_map or isinstance(value, Whole)
        if in_map:
            items = sorted(items, key=lambda kv: str(kv[0]).encode("utf-8", "surrogatepass"))
        return {str(k): _prepared(v, floats, token, in_map) for k, v in items}
    if isinstance(value, list | tuple):
        return [_prepared(v, floats, token, in_map) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        floats.append(value)
        return f"{token}{len(floats) - 1}"
    if isinstance(value, bytes | bytearray | memoryview):  # a header's longstr
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def encode(value: Any) -> bytes:
    """``value`` as the JSON text RabbitMQ would write for it."""
    floats: list[float] = []
    token = f"\x00{secrets.token_hex(4)}:"
    text = json.dumps(_prepared(value, floats, token), ensure_ascii=False, separators=_SEPARATORS)
    if floats:
        quoted = re.escape(json.dumps(token)[:-1])  # the placeholder as json.dumps wrote it
        text = re.sub(quoted + r'(\d+)"', lambda m: erlang_float(floats[int(m[1])]), text)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    # a lone surrogate (from a \\ud800 escape in a request) written as its escape
    return text.encode("utf-8", "backslashreplace")
