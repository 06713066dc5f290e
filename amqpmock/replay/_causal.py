"""Causal replay of outside events: when a message that no recorded connection published,
and that answers no recorded request, is played into the live broker.

The rule (docs/cassettes.md says it for users):
- An outside event is due once the live session has done what the recorded client had
  done, on the connection that received it, before it arrived: every publish of that
  connection before it has been replayed; every bind of its queue made on that
  connection before it has been made live; and its queue is consumed or polled live.
- It is then published through the exchange it came through, with its routing key, so
  every queue bound live at that moment gets it, as RabbitMQ routed it while recording:
  a listener bound late gets it after its bind, not before, and never loses it.
- One outside publish that several recorded queues received (a fanout, a topic with
  two listeners) is one event: injected once, when the conditions of all its deliveries
  hold. The same message arriving twice at one queue is two events.
- Where the recording cannot say how it was routed (its queue was not bound to its
  exchange on that connection, or it came through the default exchange), it goes
  straight into its queue once the same conditions hold: for a queue that is consumed
  or polled, the moment it is (the trigger before causal replay).

Pure bookkeeping: no broker calls here; the engine asks ``due()`` and injects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from amqpmock.cassette import Cassette

Bind = tuple[str, str, str]  # (queue, exchange, routing key) as recorded


@dataclass
class OutsideEvent:
    """One outside publish, as the recorded clients received it."""

    exchange: str
    routing_key: str
    properties: dict[str, Any]
    body: bytes
    via_exchange: bool
    deliveries: list[Any] = field(default_factory=list)  # OutsideMessage
    publishes: list[Any] = field(default_factory=list)  # RecordedPublish that came before
    binds: list[Bind] = field(default_factory=list)
    takes: list[str] = field(default_factory=list)  # queues consumed or polled before
    injected: int = 0

    def key(self) -> tuple[str, str, bytes, str]:
        return (self.exchange, self.routing_key, self.body, repr(sorted(self.properties.items())))


def build_events(cassette: Cassette, unsolicited: list[Any], publishes: list[Any]) -> list[Any]:
    """The outside events of a cassette, each with what had to happen before it.

    ``unsolicited`` are the plan's ``OutsideMessage``s that answer no request;
    ``publishes`` the plan's ``RecordedPublish``es."""
    wanted = {(m.connection, m.index): m for m in unsolicited}
    by_place = {(p.connection, p.index): p for p in publishes}
    events: list[OutsideEvent] = []
    for conn in cassette.connections:
        done_publishes: list[Any] = []
        binds: list[Bind] = []
        takes: list[str] = []
        declared: dict[int, str] = {}  # channel -> the last queue declared on it
        for index, item in enumerate(conn.interactions):
            args = item.args
            if item.dir == "s2c":
                if item.method == "Queue.DeclareOk":
                    declared[item.channel] = str(args.get("queue", ""))
                message = wanted.get((conn.id, index))
                if message is not None:
                    _place(events, message, done_publishes, binds, takes)
                continue
            if item.method == "Basic.Publish" and (conn.id, index) in by_place:
                done_publishes.append(by_place[(conn.id, index)])
            elif item.method == "Queue.Bind":
                queue = str(args.get("queue", "")) or declared.get(item.channel, "")
                binds.append(
                    (queue, str(args.get("exchange", "")), str(args.get("routing_key", "")))
                )
            elif item.method in ("Basic.Consume", "Basic.Get"):
                queue = str(args.get("queue", "")) or declared.get(item.channel, "")
                takes.append(queue)
    return events


def _place(
    events: list[OutsideEvent],
    message: Any,
    publishes: list[Any],
    binds: list[Bind],
    takes: list[str],
) -> None:
    own_binds = [b for b in binds if b[0] == message.queue]
    via = bool(message.exchange) and any(b[1] == message.exchange for b in own_binds)
    event = OutsideEvent(
        message.exchange,
        message.routing_key,
        message.properties,
        message.body,
        via,
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
    event.publishes.extend(p for p in publishes if p not in event.publishes)
    event.binds.extend(b for b in own_binds if b not in event.binds)
    if message.queue in takes and message.queue not in event.takes:
        event.takes.append(message.queue)


@dataclass
class LiveProgress:
    """What the live session has done that events wait for."""

    binds: list[Bind] = field(default_factory=list)
    takes: set[str] = field(default_factory=set)

    def ready(self, event: OutsideEvent, same: Callable[[str, str], bool]) -> bool:
        """``same(recorded, live)``: does a live name stand for a recorded one?"""
        if any(not p.replayed for p in event.publishes):
            return False
        for queue, exchange, key in event.binds:
            if not any(
                same(queue, q) and same(exchange, e) and same(key, k) for q, e, k in self.binds
            ):
                return False
        return all(any(same(queue, live) for live in self.takes) for queue in event.takes)
