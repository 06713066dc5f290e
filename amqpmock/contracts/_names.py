"""Names in a document: addresses that stay the same from run to run, and ids that
AsyncAPI accepts.

Rules this module keeps:
- A name the broker or a client makes anew every run (``amq.gen-...`` server-named
  queues, UUIDs and 32-hex-digit ids such as oslo.messaging's ``reply_<hex>``) is
  written as an address expression with a parameter, ``amq.gen-{id}``, so two runs, or
  two cassettes, give the same channel.
- Direct reply-to (``amq.rabbitmq.reply-to`` and the ``amq.rabbitmq.reply-to.<token>``
  names a reply is published to) is one channel, ``amq.rabbitmq.reply-to``.
- Ids (the keys of channels, operations and messages) match ``^[\\w.-]+$``, the pattern
  of AsyncAPI's components, and are unique within their map.
"""

from __future__ import annotations

import re

__all__ = ["DIRECT_REPLY_TO", "PARAMETER", "Ids", "address", "ident"]

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
PARAMETER = "id"  # the one address parameter: "a name made anew every run"

_DYNAMIC = (
    re.compile(r"(?<=^amq\.gen-)[A-Za-z0-9_-]+$"),
    re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
    re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])"),
)
_UNSAFE = re.compile(r"[^\w.-]+")


def address(name: str) -> str:
    """The run-independent address of a queue name or routing key."""
    if name == DIRECT_REPLY_TO or name.startswith(DIRECT_REPLY_TO + "."):
        return DIRECT_REPLY_TO
    for pattern in _DYNAMIC:
        name = pattern.sub("{" + PARAMETER + "}", name)
    return name


def ident(text: str) -> str:
    """``text`` made into an id: anything but letters, digits, ``_ . -`` becomes ``_``."""
    return _UNSAFE.sub("_", text).strip("_") or "default"


class Ids:
    """Unique ids in one map: the same key gets the same id, another key that would
    read the same gets a numbered one (``orders``, ``orders-2``)."""

    def __init__(self) -> None:
        self._by_key: dict[object, str] = {}
        self._taken: set[str] = set()

    def __call__(self, key: object, wanted: str) -> str:
        if key in self._by_key:
            return self._by_key[key]
        base = ident(wanted)
        name, n = base, 1
        while name in self._taken:
            n += 1
            name = f"{base}-{n}"
        self._taken.add(name)
        self._by_key[key] = name
        return name
