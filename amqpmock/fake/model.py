"""Messages, queue entries, exchanges and queues: the broker's data, and the queue's
own bookkeeping (ready order, expiry, length limits).

Rules this module keeps:
- A queue holds ready entries in publication order (per priority level); a requeued
  entry goes back to the position it was published at, with ``redelivered`` set.
- Nothing here routes or delivers: queues only store and give up entries; the broker
  decides who gets them. Time arrives as arguments.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pamqp.commands import Basic

from amqpmock.fake.routing import ExchangeType
from amqpmock.fake.stream import StreamLog
from amqpmock.fake.stream import new_log as new_stream_log

if TYPE_CHECKING:
    from amqpmock.fake._connection import CoreConnection
    from amqpmock.fake._state import Channel


@dataclass(slots=True, eq=False)
class Message:
    """One published message: what the client sent, and where it was published."""

    exchange: str
    routing_key: str
    properties: Basic.Properties
    body: bytes
    published_at: float
    id: int = 0
    vhost: str = "/"  # where it was published (what the HTTP side may show a user)

    @property
    def headers(self) -> dict[str, Any]:
        return self.properties.headers or {}


@dataclass(slots=True, eq=False)
class Entry:
    """A message's place in one queue."""

    seq: int
    message: Message
    expires_at: float | None
    priority: int = 0
    redelivered: bool = False
    returns: int = 0  # times given back (quorum queues count them: x-delivery-count)

    @property
    def size(self) -> int:
        return len(self.message.body)


@dataclass(slots=True, eq=False)
class Exchange:
    name: str
    type: str
    routing: ExchangeType
    durable: bool = False
    auto_delete: bool = False
    internal: bool = False
    arguments: dict[str, Any] = field(default_factory=dict)
    # (destination, routing_key, args_key) -> arguments; destinations are Queue/Exchange
    bindings: dict[tuple[Any, str, str], dict[str, Any]] = field(default_factory=dict)
    predeclared: bool = False
    policy: str | None = None  # the policy that applies (set by the broker)
    policy_ae: str | None = None  # its alternate-exchange

    @property
    def alternate_exchange(self) -> str | None:
        """The argument's, else the policy's (RabbitMQ: the argument wins)."""
        ae = self.arguments.get("alternate-exchange")
        if isinstance(ae, bytes):
            ae = ae.decode()
        return ae if isinstance(ae, str) else self.policy_ae

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"<Exchange {self.name!r} {self.type}>"


@dataclass(slots=True, eq=False)
class Consumer:
    tag: str
    queue: Queue
    channel: Channel
    no_ack: bool
    exclusive: bool
    prefetch: int  # 0: unlimited
    arguments: dict[str, Any] = field(default_factory=dict)
    unacked: int = 0
    priority: int = 0  # x-priority: higher gets messages first while it can take them
    stream_offset: int = 0  # on a stream: the offset it reads next

    def has_capacity(self) -> bool:
        if not self.channel.flow_active:
            return False
        if self.no_ack:
            return True
        if self.prefetch and self.unacked >= self.prefetch:
            return False
        limit = self.channel.global_prefetch
        return not (limit and self.channel.unacked_count() >= limit)


class Queue:
    """A queue's state: ready entries, consumers, arguments and limits."""

    def __init__(
        self,
        name: str,
        vhost: str,
        *,
        durable: bool = False,
        exclusive_owner: CoreConnection | None = None,
        auto_delete: bool = False,
        arguments: dict[str, Any] | None = None,
        now: float = 0.0,
    ) -> None:
        self.name = name
        self.vhost = vhost
        self.durable = durable
        self.exclusive_owner = exclusive_owner
        self.exclusive = exclusive_owner is not None
        self.auto_delete = auto_delete
        self.arguments: dict[str, Any] = dict(arguments or {})
        self.consumers: list[Consumer] = []
        self._rr = 0
        self.consumer_priorities = False  # set once a consumer has a non-zero x-priority
        self.had_consumers = False
        self.deleted = False
        self.last_used = now
        self.node = ""  # the node it lives on (a quorum queue's or stream's leader)
        args = self.arguments
        max_priority = _int_arg(args, "x-max-priority")
        self.max_priority: int | None = min(max_priority, 255) if max_priority else None
        self.single_active = bool(args.get("x-single-active-consumer", False))
        # quorum queues: returned messages go to the back, deliveries carry
        # x-delivery-count, and x-delivery-limit dead-letters a message returned too often
        self.quorum = str_arg(args, "x-queue-type") == "quorum"
        # streams keep every message in a log that each consumer reads on its own
        self.log: StreamLog | None = (
            new_stream_log(args) if str_arg(args, "x-queue-type") == "stream" else None
        )
        # the policy that applies (set by the broker), and what it changes
        self.policy: str | None = None
        self.operator_policy: str | None = None
        self.policy_definition: dict[str, Any] = {}
        self.configure(args)
        levels = (self.max_priority or 0) + 1
        self._levels: list[deque[Entry]] = [deque() for _ in range(levels)]
        self._ready_count = 0
        self._ready_bytes = 0
        self._next_seq = 0
        # number of entries with an expiry, so the broker can skip queues without TTLs
        self.timed_entries = 0

    def configure(self, effective: dict[str, Any]) -> None:
        """The limits a queue works by, from its arguments merged with its policy
        (``effective``, ``x-`` names): TTL, expiry, length limits and overflow,
        dead-lettering, the delivery limit."""
        self.message_ttl: int | None = _int_arg(effective, "x-message-ttl")
        self.expires: int | None = _int_arg(effective, "x-expires")
        self.max_length: int | None = _int_arg(effective, "x-max-length")
        self.max_length_bytes: int | None = _int_arg(effective, "x-max-length-bytes")
        self.overflow: str = str_arg(effective, "x-overflow") or "drop-head"
        self.dlx: str | None = str_arg(effective, "x-dead-letter-exchange")
        self.dlrk: str | None = str_arg(effective, "x-dead-letter-routing-key")
        self.delivery_limit: int | None = (
            _int_arg(effective, "x-delivery-limit") if self.quorum else None
        )
        # no TTL, expiry, length limit or priorities: publishes take the short path
        self.plain = (
            self.message_ttl is None
            and self.expires is None
            and self.max_length is None
            and self.max_length_bytes is None
            and self.max_priority is None
            and self.log is None
        )

    def __repr__(self) -> str:
        return f"<Queue {self.name!r} ready={self._ready_count} consumers={len(self.consumers)}>"

    def __hash__(self) -> int:
        return id(self)

    # --- ready entries ---------------------------------------------------------

    @property
    def message_count(self) -> int:
        return self._ready_count

    @property
    def ready_bytes(self) -> int:
        return self._ready_bytes

    def entries(self) -> Iterator[Entry]:
        """Ready entries in delivery order (highest priority first, then FIFO)."""
        for level in reversed(self._levels):
            yield from level

    def new_entry(self, message: Message, now: float) -> Entry:
        self._next_seq += 1
        expires_at = None
        ttl = self.message_ttl
        per_message = _message_ttl(message.properties.expiration)
        if per_message is not None:
            ttl = per_message if ttl is None else min(ttl, per_message)
        if ttl is not None:
            expires_at = now + ttl / 1000.0
        priority = 0
        if self.max_priority is not None:
            priority = min(message.properties.priority or 0, self.max_priority)
        return Entry(self._next_seq, message, expires_at, priority)

    def push_plain(self, message: Message) -> Entry:
        """Append a message that has no expiry to a plain queue; the hot path."""
        self._next_seq += 1
        entry = Entry(self._next_seq, message, None)
        self._levels[0].append(entry)
        self._ready_count += 1
        self._ready_bytes += len(message.body)
        return entry

    def push(self, entry: Entry) -> None:
        """Append at the tail (a new publish)."""
        self._levels[entry.priority].append(entry)
        self._count_in(entry)

    def requeue(self, entry: Entry, *, rejected: bool = False) -> None:
        """Put back, marked redelivered: at the entry's original position; in a quorum
        queue (RabbitMQ 3.10) at the back when the client rejected it with requeue, and at
        the front when it came back otherwise (its channel closed, basic.recover).

        A quorum queue's entries get new sequence numbers for their new places, so each
        level stays in sequence order."""
        entry.redelivered = True
        level = self._levels[entry.priority]
        if self.quorum:
            if rejected or not level:
                self._next_seq += 1
                entry.seq = self._next_seq
                level.append(entry)
            else:
                entry.seq = level[0].seq - 1
                level.appendleft(entry)
            self._count_in(entry)
            return
        if not level or level[-1].seq < entry.seq:
            level.append(entry)
        elif level[0].seq > entry.seq:
            level.appendleft(entry)
        else:
            at = bisect.bisect_left(level, entry.seq, key=_seq)
            level.insert(at, entry)
        self._count_in(entry)

    def head(self) -> Entry | None:
        for level in reversed(self._levels):
            if level:
                return level[0]
        return None

    def pop(self) -> Entry | None:
        for level in reversed(self._levels):
            if level:
                entry = level.popleft()
                self._count_out(entry)
                return entry
        return None

    def purge(self) -> list[Entry]:
        out = [e for level in reversed(self._levels) for e in level]
        for level in self._levels:
            level.clear()
        self._ready_count = 0
        self._ready_bytes = 0
        self.timed_entries = 0
        return out

    def _count_in(self, entry: Entry) -> None:
        self._ready_count += 1
        self._ready_bytes += entry.size
        if entry.expires_at is not None:
            self.timed_entries += 1

    def _count_out(self, entry: Entry) -> None:
        self._ready_count -= 1
        self._ready_bytes -= entry.size
        if entry.expires_at is not None:
            self.timed_entries -= 1

    def over_limit(self, extra: Entry | None = None) -> bool:
        """True when the ready messages (plus ``extra``) exceed a length limit."""
        count = self._ready_count + (1 if extra else 0)
        size = self._ready_bytes + (extra.size if extra else 0)
        if self.max_length is not None and count > self.max_length:
            return True
        return self.max_length_bytes is not None and size > self.max_length_bytes

    def next_expiry(self) -> float | None:
        """When the head of any priority level expires (RabbitMQ expires at the head)."""
        soonest: float | None = None
        for level in self._levels:
            if level and level[0].expires_at is not None:
                when = level[0].expires_at
                if soonest is None or when < soonest:
                    soonest = when
        return soonest

    def pop_expired(self, now: float) -> list[Entry]:
        """Remove entries that are expired and at the head of their priority level."""
        out: list[Entry] = []
        if not self.timed_entries:
            return out
        for level in reversed(self._levels):
            while level and level[0].expires_at is not None and level[0].expires_at <= now:
                entry = level.popleft()
                self._count_out(entry)
                out.append(entry)
        return out

    # --- consumers ---------------------------------------------------------------

    def active_consumers(self) -> list[Consumer]:
        if self.single_active and self.consumers:
            return self.consumers[:1]
        return self.consumers

    def next_consumer(self) -> Consumer | None:
        """Round-robin over the consumers that can take a message now, among those of
        the highest x-priority (RabbitMQ's consumer priorities)."""
        consumers = self.active_consumers()
        n = len(consumers)
        best: Consumer | None = None
        best_idx = 0
        for i in range(n):
            idx = (self._rr + i) % n
            consumer = consumers[idx]
            if (best is None or consumer.priority > best.priority) and consumer.has_capacity():
                best, best_idx = consumer, idx
                if not self.consumer_priorities:
                    break  # all of priority 0: the first that can take it
        if best is not None:
            self._rr = best_idx + 1
        return best

    def remove_consumer(self, consumer: Consumer) -> None:
        idx = self.consumers.index(consumer)
        del self.consumers[idx]
        if idx < self._rr:
            self._rr -= 1


def _seq(entry: Entry) -> int:
    return entry.seq


def _int_arg(args: dict[str, Any], name: str) -> int | None:
    value = args.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def str_arg(args: dict[str, Any] | None, name: str) -> str | None:
    """A string argument (pamqp hands longstr values out as str or bytes), else None."""
    value = (args or {}).get(name)
    if isinstance(value, bytes):
        value = value.decode()
    return value if isinstance(value, str) else None


def _message_ttl(expiration: str | None) -> int | None:
    if expiration is None or expiration == "":
        return None
    try:
        ttl = int(expiration)
    except ValueError:
        return None
    return ttl if ttl >= 0 else None
