"""A message's life in a queue: entering it under max-length / max-length-bytes and
their overflow modes, TTL and per-message expiry, and dead-lettering with ``x-death``."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from amqpmock.fake._state import (
    copy_properties,
)
from amqpmock.fake._streams import append as append_to_stream
from amqpmock.fake.model import Message, Queue

if TYPE_CHECKING:
    from amqpmock.fake._broker import Broker


def enqueue(b: Broker, queue: Queue, message: Message) -> bool:
    """Put a routed message into a queue. False when the queue rejects it."""
    if queue.log is not None:
        append_to_stream(b, queue, message)
        return True
    if queue.plain and not queue.consumers and message.properties.expiration is None:
        queue.push_plain(message)
        return True
    now = b.clock.now()
    entry = queue.new_entry(message, now)
    if queue.overflow != "drop-head" and queue.over_limit(entry):
        if queue.overflow == "reject-publish-dlx":
            b._dead_letter(queue, message, "maxlen")
        return False
    if entry.expires_at is not None or queue.expires is not None:
        b._timed[queue] = None
    if queue.message_count == 0 and queue.consumers:
        consumer = queue.next_consumer()
        if consumer is not None:
            b._deliver(consumer, entry)
            return True
    queue.push(entry)
    if queue.overflow == "drop-head":
        drop_over_limit(b, queue)
    if entry.expires_at is not None and entry.expires_at <= now:
        b._expire(queue, now)
    if queue.consumers:
        b._to_dispatch[queue] = None
    return True


def drop_over_limit(b: Broker, queue: Queue) -> None:
    """drop-head: messages go from the head, dead-lettered (maxlen), while the queue is
    over its length limits (after a publish, or a policy that shortened them)."""
    while queue.over_limit():
        dropped = queue.pop()
        if dropped is None:
            break
        b._emit("dropped", queue=queue, message=dropped.message)
        b._dead_letter(queue, dropped.message, "maxlen")


def expire(b: Broker, queue: Queue, now: float) -> None:
    for entry in queue.pop_expired(now):
        b._emit("expired", queue=queue, message=entry.message)
        b._dead_letter(queue, entry.message, "expired")


# --- dead lettering ------------------------------------------------------------


def dead_letter(b: Broker, queue: Queue, message: Message, reason: str) -> None:
    if queue.dlx is None:
        return
    vhost = b.vhosts.get(queue.vhost)
    exchange = vhost.exchanges.get(queue.dlx) if vhost else None
    if vhost is None or exchange is None:
        return
    props = message.properties
    headers = dict(props.headers or {})
    old_deaths = headers.get("x-death")
    deaths: list[dict[str, Any]] = [
        dict(d)
        for d in (old_deaths if isinstance(old_deaths, list) else [])
        if isinstance(d, dict)
    ]
    routing_keys: list[str] = [message.routing_key]
    cc = headers.get("CC")
    if isinstance(cc, list):
        routing_keys.extend(k.decode() if isinstance(k, bytes) else str(k) for k in cc)
    now = b.clock.now()
    existing = next(
        (d for d in deaths if d.get("queue") == queue.name and d.get("reason") == reason),
        None,
    )
    if existing is not None:
        deaths.remove(existing)
        existing["count"] = int(existing.get("count", 0)) + 1
        death = dict(sorted(existing.items()))
    else:
        death = {
            "count": 1,
            "reason": reason,
            "queue": queue.name,
            "time": datetime.datetime.fromtimestamp(int(now), tz=datetime.UTC),
            "exchange": message.exchange,
            "routing-keys": routing_keys,
        }
        if props.expiration is not None:
            death["original-expiration"] = props.expiration
        if deaths:
            # RabbitMQ 3.10 builds the first x-death entry in this order; an entry
            # added to (or updated in) an existing x-death comes out key-sorted
            death = dict(sorted(death.items()))
    deaths.insert(0, death)
    headers["x-death"] = deaths  # type: ignore[assignment]
    headers.setdefault("x-first-death-reason", reason)
    headers.setdefault("x-first-death-queue", queue.name)
    headers.setdefault("x-first-death-exchange", message.exchange)
    # and it sorts the headers table it rewrites
    headers = dict(sorted(headers.items()))
    new_props = copy_properties(props, headers=headers, expiration=None)
    keys = [queue.dlrk] if queue.dlrk is not None else routing_keys
    dead = b._new_message(queue.dlx, keys[0], new_props, message.body, message.vhost)
    found: dict[Queue, None] = {}
    for key in keys:
        b._route_key(vhost, exchange, key, new_props.headers, found, None)
    rejected = any(d.get("reason") == "rejected" for d in deaths)
    if b.tapes:
        b._tape(("dead_lettered", dead, queue.name, reason))
    b._emit("dead_lettered", queue=queue, message=dead, reason=reason)
    for target in found:
        # a dead-letter cycle without any rejection drops the message (RabbitMQ)
        if not rejected and any(d.get("queue") == target.name for d in deaths):
            continue
        b._enqueue(target, dead)
