"""The delayed-message exchange type (the community ``rabbitmq_delayed_message_exchange``
plugin, ``x-delayed-message``), registered through the exchange-type hook.

Rules this module keeps (the plugin's documented behaviour):
- The exchange routes as the type its ``x-delayed-type`` argument names (direct,
  fanout, topic, headers); without a known one, declaring it is 406.
- A message with an ``x-delay`` header of N > 0 milliseconds is held by the exchange and
  routed N ms later, through the bindings it has then; without one (or N <= 0) it is
  routed at once. Held messages count as routed (no mandatory return), as the plugin
  does not return them.
- Time is the broker's clock: in tests, ``advance()`` releases held messages at once.

The holding itself is the publish path's (``_publish``); this module keeps the routing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from amqpmock.errors import PRECONDITION_FAILED, ChannelError
from amqpmock.fake.routing import EXCHANGE_TYPES, Destination, Headers

__all__ = ["DELAYED_TYPE", "DelayedMessageRouting", "delay_of"]

DELAYED_TYPE = "x-delayed-message"


def delay_of(headers: Headers | None) -> float:
    """The hold, in seconds, an ``x-delay`` header asks for (0 when none)."""
    value: Any = (headers or {}).get("x-delay")
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    try:
        milliseconds = int(value)
    except (TypeError, ValueError):
        return 0.0
    return max(milliseconds, 0) / 1000.0


class DelayedMessageRouting:
    """``x-delayed-message``: the routing of its ``x-delayed-type``."""

    takes_arguments = True

    def __init__(self, arguments: Headers | None = None) -> None:
        kind = (arguments or {}).get("x-delayed-type")
        if isinstance(kind, bytes):
            kind = kind.decode("utf-8", "replace")
        if kind not in EXCHANGE_TYPES:
            raise ChannelError(
                PRECONDITION_FAILED,
                "Invalid argument, 'x-delayed-type' must be an existing exchange type",
            )
        self.delayed_type = str(kind)
        self.inner = EXCHANGE_TYPES[self.delayed_type]()

    def bind(self, dest: Destination, routing_key: str, arguments: Headers) -> None:
        self.inner.bind(dest, routing_key, arguments)

    def unbind(self, dest: Destination, routing_key: str, arguments: Headers) -> None:
        self.inner.unbind(dest, routing_key, arguments)

    def match(self, routing_key: str, headers: Headers | None) -> Iterable[Destination]:
        return self.inner.match(routing_key, headers)
