"""Values that change every run, and how to compare and substitute them.

Rules this module keeps:
- A *shape* replaces each volatile token in a string (server-named queues, UUIDs, hex
  ids, consumer tags, direct reply-to names) by a placeholder, so ``reply_5f3a...`` and
  ``reply_9bc2...`` have the same shape. Matching compares shapes; replay substitutes
  the live values for the recorded ones, learned when a live value meets its recorded
  twin.
- Bodies: JSON is compared as data (with oslo.messaging's envelope unwrapped and its
  per-call fields ignored); anything else byte for byte after shaping.
"""

from __future__ import annotations

import json
import re
from typing import Any

from amqpmock.cassette import REDACTED

_TOKENS = [
    (re.compile(r"amq\.rabbitmq\.reply-to\.[A-Za-z0-9+/=_.\-]+"), "amq.rabbitmq.reply-to.<id>"),
    (re.compile(r"amq\.gen-[A-Za-z0-9_\-]{22}"), "amq.gen-<id>"),
    (re.compile(r"amq\.ctag-[A-Za-z0-9_\-]{22}"), "amq.ctag-<id>"),
    (
        re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
        "<uuid>",
    ),
    (re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])"), "<hex>"),
    (re.compile(r"ctag1\.[0-9a-f]{32}"), "ctag1.<hex>"),
]

# Fields of an oslo.messaging message that differ on every call.
OSLO_VOLATILE = frozenset(
    {
        "_msg_id",
        "_reply_q",
        "_unique_id",
        "_timeout",
        "_context_request_id",
        "_context_global_request_id",
        "_context_timestamp",
    }
)

# Message properties whose values are per-run.
VOLATILE_PROPERTIES = ("reply_to", "correlation_id", "message_id", "timestamp")


def shape(value: str) -> str:
    for pattern, placeholder in _TOKENS:
        value = pattern.sub(placeholder, value)
    return value


def volatile_tokens(value: str) -> list[str]:
    """The volatile tokens inside a string, in order."""
    found: list[str] = []
    for pattern, _ in _TOKENS:
        found.extend(m.group(0) for m in pattern.finditer(value))
    return found


def parse_json(body: bytes) -> Any:
    """Body as data: JSON (oslo envelope unwrapped), or None when it is not JSON."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, dict) and "oslo.message" in data:
        try:
            inner = json.loads(data["oslo.message"])
        except (TypeError, ValueError):
            return data
        return {"oslo.version": data.get("oslo.version"), "oslo.message": inner}
    return data


def normalize(data: Any, ignore: frozenset[str] = frozenset(), path: str = "") -> Any:
    """JSON-like data with volatile and ignored fields dropped and strings shaped. An
    ignored field is a key (dropped at any depth) or a dotted path from the top
    (``meta.id``; an oslo body's top is ``oslo.message``: ``oslo.message.args.host``)."""
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            where = f"{path}.{k}" if path else str(k)
            if k in ignore or where in ignore or k in OSLO_VOLATILE:
                continue
            out[k] = normalize(v, ignore, where)
        return out
    if isinstance(data, list):
        return [normalize(v, ignore, path) for v in data]
    if isinstance(data, str):
        return shape(data)
    return data


def redacted_match(live: Any, recorded: Any) -> bool:
    """Equal, where a redacted recorded value matches anything: redaction and matching
    are one decision, so a field redacted when recording never fails a replay. A text
    with a redacted part (``amqp://u:<redacted>@h``) matches any text around it."""
    if isinstance(recorded, str) and REDACTED in recorded:
        if recorded == REDACTED:
            return True
        if not isinstance(live, str):
            return False
        parts = [re.escape(p) for p in recorded.split(REDACTED)]
        return re.fullmatch(".*?".join(parts), live, re.S) is not None
    if isinstance(recorded, dict) and isinstance(live, dict):
        return live.keys() == recorded.keys() and all(
            redacted_match(live[k], recorded[k]) for k in recorded
        )
    if isinstance(recorded, list) and isinstance(live, list):
        return len(live) == len(recorded) and all(
            redacted_match(a, b) for a, b in zip(live, recorded, strict=True)
        )
    return bool(live == recorded)


def body_key(body: bytes, ignore: frozenset[str] = frozenset()) -> Any:
    """What a body is compared by."""
    data = parse_json(body)
    if data is not None:
        return normalize(data, ignore)
    try:
        return shape(body.decode("utf-8"))
    except UnicodeDecodeError:
        return body


def learn_pairs(recorded: Any, live: Any, out: dict[str, str]) -> None:
    """Walk two structures of the same shape and pair volatile strings rec -> live."""
    if isinstance(recorded, dict) and isinstance(live, dict):
        for key, value in recorded.items():
            if key in live:
                learn_pairs(value, live[key], out)
    elif isinstance(recorded, list) and isinstance(live, list):
        for a, b in zip(recorded, live, strict=False):
            learn_pairs(a, b, out)
    elif isinstance(recorded, str) and isinstance(live, str) and recorded != live:
        rec_tokens, live_tokens = volatile_tokens(recorded), volatile_tokens(live)
        if rec_tokens and len(rec_tokens) == len(live_tokens):
            for a, b in zip(rec_tokens, live_tokens, strict=True):
                out.setdefault(a, b)
        elif shape(recorded) == shape(live) or not rec_tokens:
            out.setdefault(recorded, live)


def substitute_text(value: str, mapping: dict[str, str]) -> str:
    # longest first, so a reply queue name is replaced before a hex id inside it
    for old in sorted(mapping, key=len, reverse=True):
        if old in value:
            value = value.replace(old, mapping[old])
    return value


def substitute(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, str):
        return substitute_text(value, mapping)
    if isinstance(value, bytes):
        try:
            return substitute_text(value.decode("utf-8"), mapping).encode("utf-8")
        except UnicodeDecodeError:
            return value
    if isinstance(value, dict):
        return {k: substitute(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, mapping) for v in value]
    return value
