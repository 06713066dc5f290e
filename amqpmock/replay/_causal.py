"""Causal replay of outside events: when a message that no recorded connection published,
and that answers no recorded request, is played into the live broker.

The rule (docs/cassettes.md says it for users):
- An outside event is due once the live session has done what the recorded session had
  done before it arrived, on every connection of the test: every publish made before
  it has been replayed, every bind made before it has been made live, and every queue
  consumed or polled before it is consumed or polled live. "Before" is the recording's
  clock (``at``, one clock for all connections, the proxy's); on the connection that
  received the event, the order of its interactions. A cassette without times (an
  older one) falls back to the receiving connection alone.
- It is then published through the exchange it came through, with its routing key, so
  every queue bound live at that moment gets it, as RabbitMQ routed it while recording:
  a listener bound late gets it after its bind, not before, and never loses it.
- One outside publish that several recorded queues received (a fanout, a topic with
  two listeners) is one event: injected once, when the conditions of all its deliveries
  hold. The same message arriving twice at one queue is two events.
- Where the recording cannot say how it was routed (its queue was not bound to its
  exchange before it, or it came through the default exchange), it goes straight into
  its queue once the same conditions hold.

Pure bookkeeping: no broker calls here; the engine asks ``ready()`` and injects.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from amqpmock.cassette import Cassette

Bind = tuple[str, str, str]  # (queue, exchange, routing key) as recorded


@dataclass
class Cause:
    """One thing a recorded client did that the events after it wait for."""

    kind: str  # "publish" | "bind" | "take" (a consume or a poll)
    connection: int
    index: int
    at: float | None
    publish: Any = None  # the RecordedPublish, for "publish"
    bind: Bind = ("", "", "")  # for "bind"
    queue: str = ""  # for "take" (and the bound queue of a "bind")

    def describe(self) -> str:
        where = f"(connection {self.connection} #{self.index})"
        if self.kind == "publish":
            return f"the publish {self.publish.record.describe()} {where}"
        if self.kind == "bind":
            queue, exchange, key = self.bind
            return f"the bind of queue {queue!r} to {exchange!r} with {key!r} {where}"
        return f"a consume (or get) on queue {self.queue!r} {where}"


@dataclass
class OutsideEvent:
    """One outside publish, as the recorded clients received it."""

    exchange: str
    routing_key: str
    properties: dict[str, Any]
    body: bytes
    via_exchange: bool
    deliveries: list[Any] = field(default_factory=list)  # OutsideMessage
    # what had to happen before it: the first ``limit`` causes of the session's
    # timeline, and ``own`` causes of the receiving connection not among them
    limit: int = 0
    own: list[Cause] = field(default_factory=list)
    checked: int = 0  # timeline[:checked] seen done live (done never undoes)
    injected: int = 0

    def key(self) -> tuple[str, str, bytes, str]:
        return (self.exchange, self.routing_key, self.body, repr(sorted(self.properties.items())))


@dataclass
class Events:
    """A cassette's outside events and the timeline of causes they wait on."""

    events: list[OutsideEvent] = field(default_factory=list)
    timeline: list[Cause] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.events)

    def __iter__(self) -> Any:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)


def build_events(cassette: Cassette, unsolicited: list[Any], publishes: list[Any]) -> Events:
    """The outside events of a cassette, each with what had to happen before it.

    ``unsolicited`` are the plan's ``OutsideMessage``s that answer no request;
    ``publishes`` the plan's ``RecordedPublish``es."""
    wanted = {(m.connection, m.index): m for m in unsolicited}
    by_place = {(p.connection, p.index): p for p in publishes}
    per_conn: dict[int, list[Cause]] = {}
    arrivals: list[tuple[Any, float | None]] = []  # (message, at) in connection order
    timed = True
    for conn in cassette.connections:
        causes = per_conn.setdefault(conn.id, [])
        declared: dict[int, str] = {}  # channel -> the last queue declared on it
        for index, item in enumerate(conn.interactions):
            args = item.args
            if item.dir == "s2c":
                if item.method == "Queue.DeclareOk":
                    declared[item.channel] = str(args.get("queue", ""))
                message = wanted.get((conn.id, index))
                if message is not None:
                    arrivals.append((message, item.at))
                    message.cause_count = len(causes)
                continue
            cause: Cause | None = None
            if item.method == "Basic.Publish" and (conn.id, index) in by_place:
                cause = Cause(
                    "publish", conn.id, index, item.at, publish=by_place[(conn.id, index)]
                )
            elif item.method == "Queue.Bind":
                queue = str(args.get("queue", "")) or declared.get(item.channel, "")
                bind = (queue, str(args.get("exchange", "")), str(args.get("routing_key", "")))
                cause = Cause("bind", conn.id, index, item.at, bind=bind, queue=queue)
            elif item.method in ("Basic.Consume", "Basic.Get"):
                queue = str(args.get("queue", "")) or declared.get(item.channel, "")
                cause = Cause("take", conn.id, index, item.at, queue=queue)
            if cause is not None:
                timed = timed and cause.at is not None
                causes.append(cause)
    timed = timed and all(at is not None for _, at in arrivals)
    out = Events()
    if timed:
        out.timeline = sorted(
            (c for causes in per_conn.values() for c in causes),
            key=lambda c: (c.at, c.connection, c.index),
        )
    times = [c.at or 0.0 for c in out.timeline]
    for message, at in arrivals:
        own_before = per_conn[message.connection][: message.cause_count]
        if timed and at is not None:
            limit = bisect_left(times, at)
            own = [c for c in own_before if c.at is not None and c.at >= at]
            prior = out.timeline[:limit]
        else:
            limit, own, prior = 0, own_before, own_before
        via = bool(message.exchange) and any(
            c.kind == "bind" and c.bind[0] == message.queue and c.bind[1] == message.exchange
            for c in (*own, *reversed(prior))
        )
        _place(out.events, message, via, limit, own)
    return out


def _place(
    events: list[OutsideEvent], message: Any, via: bool, limit: int, own: list[Cause]
) -> None:
    event = OutsideEvent(
        message.exchange, message.routing_key, message.properties, message.body, via
    )
    if via:
        # the same publish seen by another recorded queue is the same event
        for other in events:
            if (
                other.via_exchange
                and other.key() == event.key()
                and all(d.queue != message.queue for d in other.deliveries)
            ):
                event = other
                break
        else:
            events.append(event)
    else:
        events.append(event)
    event.deliveries.append(message)
    event.limit = max(event.limit, limit)
    event.own.extend(c for c in own if c not in event.own)


@dataclass
class LiveProgress:
    """What the live session has done that events wait for."""

    binds: list[Bind] = field(default_factory=list)
    takes: set[str] = field(default_factory=set)

    def done(self, cause: Cause, same: Callable[[str, str], bool]) -> bool:
        """``same(recorded, live)``: does a live name stand for a recorded one?"""
        if cause.kind == "publish":
            return bool(cause.publish.replayed)
        if cause.kind == "bind":
            queue, exchange, key = cause.bind
            return any(
                same(queue, q) and same(exchange, e) and same(key, k) for q, e, k in self.binds
            )
        return any(same(cause.queue, live) for live in self.takes)

    def ready(
        self, event: OutsideEvent, timeline: list[Cause], same: Callable[[str, str], bool]
    ) -> bool:
        while event.checked < event.limit and self.done(timeline[event.checked], same):
            event.checked += 1
        if event.checked < event.limit:
            return False
        return all(self.done(c, same) for c in event.own)

    def waiting(
        self, event: OutsideEvent, timeline: list[Cause], same: Callable[[str, str], bool]
    ) -> list[Cause]:
        """What the event still waits for (empty when it is due)."""
        causes = [*timeline[event.checked : event.limit], *event.own]
        return [c for c in causes if not self.done(c, same)]
