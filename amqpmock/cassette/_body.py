"""Message bodies as a person reads them, and back to the exact bytes.

Rules this module keeps:
- ``decode_body(encode_body(b)) == b`` for every ``b``: a cassette body is the wire
  body, byte for byte, whatever form it is shown in.
- JSON objects and arrays are shown as YAML structures (``{json: ...}``) only when
  ``json.dumps`` with a known style gives back the same bytes; the style is recorded.
- Other UTF-8 text is shown as a plain string when it holds only characters YAML keeps
  as they are; anything else is ``{base64: ...}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

# Style name -> json.dumps keyword arguments. "default" is json.dumps' own output,
# which is what kombu, oslo.messaging and most Python producers send.
JSON_STYLES: dict[str, dict[str, Any]] = {
    "default": {},
    "compact": {"separators": (",", ":")},
    "utf8": {"ensure_ascii": False},
    "compact-utf8": {"separators": (",", ":"), "ensure_ascii": False},
}

BodyValue = str | dict[str, Any]


# Characters YAML 1.1 does not read back unchanged in a quoted or block scalar: C0
# controls but \t and \n, DEL, C1 controls, the Unicode line separators and BOM (which
# YAML readers normalise) and lone surrogates.
_NOT_PLAIN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")


def _is_plain_text(text: str) -> bool:
    return _NOT_PLAIN.search(text) is None


def _json_form(raw: bytes, text: str) -> dict[str, Any] | None:
    stripped = text.lstrip()
    if not stripped or stripped[0] not in "[{":
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    for style, kwargs in JSON_STYLES.items():
        try:
            again = json.dumps(value, **kwargs).encode("utf-8")
        except (TypeError, ValueError):  # pragma: no cover - loads output always dumps
            return None
        if again == raw:
            return {"json": value} if style == "default" else {"json": value, "style": style}
    return None


def encode_body(raw: bytes) -> BodyValue:
    """The readable cassette form of a body: a string, ``{json: ...}`` or ``{base64: ...}``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode("ascii")}
    form = _json_form(raw, text)
    if form is not None:
        return form
    if _is_plain_text(text):
        return text
    return {"base64": base64.b64encode(raw).decode("ascii")}


def decode_body(value: object) -> bytes:
    """The exact bytes of a cassette body. Raises ``ValueError`` saying what is wrong."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):  # a YAML !!binary written by hand
        return value
    if isinstance(value, dict):
        if "base64" in value:
            encoded = value["base64"]
            if not isinstance(encoded, str):
                raise ValueError("body 'base64' must be a string")
            try:
                return base64.b64decode(encoded.encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError) as exc:
                raise ValueError(f"body 'base64' is not valid base64: {exc}") from None
        if "json" in value:
            style = value.get("style", "default")
            if style not in JSON_STYLES:
                raise ValueError(
                    f"unknown JSON body style {style!r} (known: {', '.join(JSON_STYLES)})"
                )
            try:
                return json.dumps(value["json"], **JSON_STYLES[style]).encode("utf-8")
            except (TypeError, ValueError) as exc:
                raise ValueError(f"body 'json' cannot be serialised: {exc}") from None
        raise ValueError(f"body mapping needs a 'json' or 'base64' key, got {sorted(value)}")
    raise ValueError(f"body must be a string or a mapping, got {type(value).__name__}")
