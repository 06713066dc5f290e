"""The consistent-hash exchange type (RabbitMQ's bundled ``rabbitmq_consistent_hash_
exchange`` plugin, ``x-consistent-hash``), registered through the exchange-type hook.

Rules this module keeps (the plugin's documented behaviour):
- A binding's key is its weight: a whole number as a string (anything else is 406,
  RabbitMQ's text); the queue takes that many points on a hash ring. A message goes to
  exactly one destination, the owner of the first point at or after the hash of its
  routing key (or of the header the exchange's ``hash-header`` argument names; a
  missing header hashes as empty), so the same key always goes to the same queue while
  the bindings stay, and the shares follow the weights.
- The ring is deterministic (CRC-32 of the destination's name and point number, and of
  the key): the same topology routes the same way in every run. Which queue a given
  key lands on is not RabbitMQ's (it hashes with Erlang's phash2); the properties above
  are, and the differential scenario checks those.
"""

from __future__ import annotations

import bisect
import zlib
from collections.abc import Iterable
from typing import Any

from amqpmock.errors import PRECONDITION_FAILED, ChannelError
from amqpmock.fake.routing import Destination, Headers

__all__ = ["ConsistentHashRouting"]


def _name(dest: Destination) -> str:
    return str(getattr(dest, "name", dest))


def _erlang_binary(text: str) -> str:
    """How RabbitMQ's 406 text shows the key: ``<<"abc">>``, or its octets."""
    data = text.encode("utf-8")
    if all(32 <= octet < 127 and octet not in (34, 92) for octet in data):
        return f'<<"{text}">>'
    return "<<" + ",".join(str(octet) for octet in data) + ">>"


def _hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


class ConsistentHashRouting:
    """``x-consistent-hash``: one destination per message, by weighted hash ring."""

    takes_arguments = True  # the broker passes the exchange's arguments

    def __init__(self, arguments: Headers | None = None) -> None:
        args = dict(arguments or {})
        header = args.get("hash-header")
        self.hash_header = header.decode() if isinstance(header, bytes) else header
        self._weights: dict[Destination, int] = {}
        self._ring: list[tuple[int, str, Destination]] = []

    def bind(self, dest: Destination, routing_key: str, arguments: Headers) -> None:
        if not routing_key.lstrip("-").isdigit():
            raise ChannelError(
                PRECONDITION_FAILED,
                f"The binding key must be an integer: {_erlang_binary(routing_key)}",
            )
        weight = int(routing_key)
        self._weights[dest] = self._weights.get(dest, 0) + max(weight, 0)
        self._rebuild()

    def unbind(self, dest: Destination, routing_key: str, arguments: Headers) -> None:
        self._weights.pop(dest, None)
        self._rebuild()

    def _rebuild(self) -> None:
        ring = []
        for dest, weight in self._weights.items():
            name = _name(dest)
            for point in range(weight):
                ring.append((_hash(f"{name}\x00{point}"), name, dest))
        ring.sort(key=lambda item: (item[0], item[1]))
        self._ring = ring

    def match(self, routing_key: str, headers: Headers | None) -> Iterable[Destination]:
        if not self._ring:
            return ()
        key: Any = routing_key
        if self.hash_header is not None:
            # a missing header hashes as an empty value: still one queue (observed)
            key = (headers or {}).get(self.hash_header, "")
        text = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
        index = bisect.bisect_left(self._ring, _hash(text), key=lambda item: item[0])
        return (self._ring[index % len(self._ring)][2],)
