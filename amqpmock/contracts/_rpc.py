"""Request and reply pairs in traffic, as AsyncAPI's request-reply will show them.

Rules this module keeps:
- AMQP-native RPC: a request carries ``reply_to`` and ``correlation_id``; its reply is a
  message to that address (through the default exchange, or taken from that queue)
  with the same ``correlation_id``. Direct reply-to counts: ``amq.rabbitmq.reply-to``
  and the ``amq.rabbitmq.reply-to.<token>`` a reply goes to are one address.
- oslo.messaging's RPC: a request's (unwrapped) message has ``_reply_q`` and
  ``_msg_id``; its replies (``result``/``failure``/``ending``) carry the same ``_msg_id``.
- A request may have several replies (oslo's ending), and in a test session a request
  is seen twice (the client's publish, the server's delivery): each gets its replies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from amqpmock.contracts._names import address
from amqpmock.contracts._payload import Body
from amqpmock.contracts._traffic import Seen

__all__ = ["Pair", "Style", "find_pairs", "oslo_request"]

Style = Literal["amqp", "oslo"]


@dataclass(frozen=True)
class Pair:
    request: int  # indexes into the messages
    reply: int
    style: Style


def oslo_request(body: Body) -> bool:
    """An oslo.messaging call: a method, and where its reply goes."""
    value = body.value
    return (
        body.oslo_version is not None
        and isinstance(value, dict)
        and "method" in value
        and "_reply_q" in value
        and "_msg_id" in value
    )


def _oslo_reply_id(body: Body) -> str | None:
    value = body.value
    if body.oslo_version is None or not isinstance(value, dict) or "method" in value:
        return None
    if "_msg_id" in value and ("result" in value or "failure" in value or "ending" in value):
        return str(value["_msg_id"])
    return None


def _reply_address(seen: Seen) -> str:
    """Where a message went, as a reply address: its queue or default-exchange key."""
    if seen.exchange == "":
        return address(seen.routing_key)
    return address(seen.queue or seen.routing_key)


def find_pairs(messages: Sequence[Seen], bodies: Sequence[Body]) -> list[Pair]:
    by_correlation: dict[tuple[str, str], list[int]] = {}
    by_msg_id: dict[str, list[int]] = {}
    for n, (seen, body) in enumerate(zip(messages, bodies, strict=True)):
        correlation = seen.properties.get("correlation_id")
        if correlation:
            key = (_reply_address(seen), str(correlation))
            by_correlation.setdefault(key, []).append(n)
        msg_id = _oslo_reply_id(body)
        if msg_id is not None:
            by_msg_id.setdefault(msg_id, []).append(n)
    pairs: list[Pair] = []
    for n, (seen, body) in enumerate(zip(messages, bodies, strict=True)):
        reply_to, correlation = (
            seen.properties.get("reply_to"),
            seen.properties.get("correlation_id"),
        )
        if reply_to and correlation:
            for m in by_correlation.get((address(str(reply_to)), str(correlation)), ()):
                if m != n:
                    pairs.append(Pair(n, m, "amqp"))
        elif oslo_request(body):
            assert isinstance(body.value, dict)
            pairs.extend(Pair(n, m, "oslo") for m in by_msg_id.get(str(body.value["_msg_id"]), ()))
    return pairs
