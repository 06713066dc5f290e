"""The traffic-records front end: ``flow_from_records`` builds a flow from the
``TrafficRecorder`` records of a test's fake broker, with the ``TrafficContext`` that
says which connection did what.

The rules are in ``amqpmock.view.flows``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from amqpmock.view._flow_classify import _Book, _properties, _text
from amqpmock.view._flow_model import (
    DIRECT_REPLY_TO,
    INJECTED,
    ConnectionInfo,
    DeadLettered,
    Delivered,
    Event,
    Flow,
    MessageInfo,
    Published,
    Returned,
    Settled,
    Summary,
    _summarize,
    connection_id,
    outside_id,
    queue_id,
)

if TYPE_CHECKING:
    from amqpmock.testing.inspection import Record


@dataclass
class TrafficContext:
    """Who did what on a fake broker, which ``TrafficRecorder`` records do not keep: the
    connection and channel of each publish and delivery, client names, exchange types.

    Attach ``listener`` to ``Broker.listeners`` (on the broker's thread) next to the
    recorder; it only reads. Connections whose peer is ``system`` are the broker's own
    Python API (messages a test injected, RPC stub replies): they count as outside."""

    publishers: dict[int, tuple[int, int]] = field(default_factory=dict)
    receivers: dict[tuple[int, str, int], tuple[int, int]] = field(default_factory=dict)
    connections: dict[int, ConnectionInfo] = field(default_factory=dict)
    system: set[int] = field(default_factory=set)
    exchange_types: dict[str, str] = field(default_factory=dict)
    # at most this many publishes and deliveries remembered (None: all), the oldest
    # going first: a context that lives as long as a server (the live page)
    limit: int | None = None
    _read: Any = None  # the last tape entry read by ``catch_up``

    def catch_up(self, tape: Any, broker: Any = None) -> None:
        """Learn from a broker's ``Tape`` what happened since the last call: the same
        as ``listener`` learns, read when somebody looks instead of at every event.
        ``broker``: where exchange types are looked up."""
        for entry in tape.since(self._read):
            event, message = entry[0], entry[1]
            if event == "published":
                conn, channel = entry[3], entry[4]
                self._connection(conn)
                self.publishers[message.id] = (conn.number, int(channel or 0))
            elif event == "delivered":
                conn = entry[6].conn
                self._connection(conn)
                self.receivers[(message.id, entry[2].name, int(entry[4] or 0))] = (conn.number, 0)
            if broker is not None and message.exchange not in self.exchange_types:
                for vhost in broker.vhosts.values():
                    exchange = vhost.exchanges.get(message.exchange)
                    if exchange is not None:
                        self.exchange_types[message.exchange] = exchange.type
                        break
        self._read = tape.mark()
        if self.limit is not None:
            _forget_oldest(self.publishers, self.limit)
            _forget_oldest(self.receivers, self.limit)

    def listener(self, event: str, data: dict[str, Any]) -> None:
        conn = data.get("connection")
        if self.limit is not None:
            _forget_oldest(self.publishers, self.limit)
            _forget_oldest(self.receivers, self.limit)
        if event == "published" and conn is not None:
            self._connection(conn)
            self.publishers[data["message"].id] = (conn.number, int(data.get("channel") or 0))
        elif event == "delivered" and conn is not None:
            self._connection(conn)
            tag = data.get("delivery_tag")
            channel = 0
            key = (data["message"].id, data["queue"].name, int(tag or 0))
            self.receivers[key] = (conn.number, channel)
        elif event == "connection_opened" and conn is not None:
            self._connection(conn)
        elif event == "exchange_declared":
            exchange = data["exchange"]
            self.exchange_types[exchange.name] = exchange.type

    def _connection(self, conn: Any) -> None:
        number = int(conn.number)
        if getattr(conn, "peer", None) == "system":
            self.system.add(number)
            return
        if number in self.connections:
            return
        props = getattr(conn, "client_properties", {}) or {}
        product = _text(props.get("product"))
        version = _text(props.get("version") or props.get("product_version"))
        self.connections[number] = ConnectionInfo(
            number=number,
            client=f"{product} {version}".strip(),
            vhost=_text(getattr(conn, "vhost_name", "")),
            user=_text(getattr(conn, "user", "")) or None,
            name=_text(props.get("connection_name")) or None,
        )


def _forget_oldest(table: dict[Any, Any], limit: int) -> None:
    """Past ``limit`` entries, the oldest go until a quarter is free (dicts keep their
    insertion order)."""
    if len(table) > limit:
        for key in list(itertools.islice(table, len(table) - limit * 3 // 4)):
            del table[key]


def flow_from_records(
    records: Iterable[Record],
    context: TrafficContext | None = None,
    title: str = "broker traffic",
) -> Flow:
    """The flow of a fake broker's traffic, from a ``TrafficRecorder``'s records (and,
    when given, the ``TrafficContext`` that says which connection did what). Without a
    context every client is one participant, ``conn:?``."""
    ctx = context or TrafficContext()
    recs = list(records)
    types = {
        "": "direct",
        "amq.direct": "direct",
        "amq.fanout": "fanout",
        "amq.topic": "topic",
        "amq.headers": "headers",
        "amq.match": "headers",
        **ctx.exchange_types,
    }
    book = _Book(types)
    events: list[Event] = []
    number_of: dict[int, int] = {}  # broker message id -> flow message number
    bodies: dict[int, bytes] = {}
    published: dict[int, Published] = {}
    delivered_to: dict[tuple[int, str, int], int | None] = {}
    connections: dict[int, ConnectionInfo] = dict(ctx.connections)
    # where each message was delivered, so dead-letter arrows know where they went
    later_queues: dict[int, list[str]] = {}
    for r in recs:
        if r.event == "delivered" and r.queue:
            later_queues.setdefault(id(r.message), []).append(r.queue)

    def publisher_of(message_id: int) -> tuple[int | None, int | None, str]:
        who = ctx.publishers.get(message_id)
        if who is None or who[0] in ctx.system:
            return None, None, outside_id(INJECTED)
        if context is None:
            return None, None, connection_id(None)
        connections.setdefault(who[0], ConnectionInfo(number=who[0]))
        return who[0], who[1] or None, connection_id(who[0])

    def message_number(r: Record, publisher: str) -> MessageInfo:
        key = id(r.message)
        if key in number_of:
            return book.messages[number_of[key]]
        props = _properties(r.message.properties)
        info = book.add(r.exchange, r.routing_key, props, r.body, publisher)
        number_of[key] = info.number
        bodies[info.number] = r.body
        return info

    for r in recs:
        if r.event == "published":
            conn, channel, publisher = publisher_of(r.message.id)
            info = message_number(r, publisher)
            if conn is not None:
                info.connections.add(conn)
            queues = sorted(r.queues)
            info.queues |= set(queues)
            event = Published(
                message=info.number,
                publisher=info.publisher,
                exchange=r.exchange,
                routing_key=r.routing_key,
                conn=conn,
                channel=channel,
                queues=queues,
                outcome="routed" if queues else "unknown",
            )
            if r.routing_key.startswith(DIRECT_REPLY_TO) and r.exchange == "":
                event.queues = [DIRECT_REPLY_TO]
                event.outcome = "routed"
            published[info.number] = event
            events.append(event)
        elif r.event == "delivered":
            info = message_number(r, outside_id(INJECTED))
            queue = r.queue or "?"
            who = ctx.receivers.get((r.message.id, queue, int(r.delivery_tag or 0)))
            conn = who[0] if who is not None and context is not None else None
            if conn is not None:
                info.connections.add(conn)
                connections.setdefault(conn, ConnectionInfo(number=conn))
            info.queues.add(queue)
            delivered_to[(id(r.message), queue, int(r.delivery_tag or 0))] = conn
            events.append(
                Delivered(
                    message=info.number,
                    queue=queue,
                    conn=conn,
                    consumer=r.consumer,
                    delivery_tag=r.delivery_tag,
                    redelivered=r.redelivered,
                    via_get=r.consumer is None,
                )
            )
        elif r.event in ("acked", "nacked"):
            info = message_number(r, outside_id(INJECTED))
            queue = r.queue or "?"
            conn = delivered_to.get((id(r.message), queue, int(r.delivery_tag or 0)))
            events.append(
                Settled(
                    "ack" if r.event == "acked" else "nack",
                    conn,
                    None,
                    requeue=bool(r.requeue),
                    tags=[int(r.delivery_tag or 0)],
                    messages=[info.number],
                    queues=[queue],
                )
            )
        elif r.event == "returned":
            info = message_number(r, outside_id(INJECTED))
            event_p = published.get(info.number)
            if event_p is not None:
                event_p.outcome = "returned"
            if info.rpc is not None and book.calls[info.rpc - 1].request == info.number:
                book.calls[info.rpc - 1].returned = True
            events.append(
                Returned(info.number, event_p.conn if event_p else None, None, r.exchange)
            )
        elif r.event == "dead_lettered":
            queue = r.queue or "?"
            # the broker's dead letter is a copy of the message that died (the last one
            # seen in that queue with the same body): it keeps that message's number
            for number in sorted(book.messages, reverse=True):
                if queue in book.messages[number].queues and bodies.get(number) == r.body:
                    number_of[id(r.message)] = number
                    break
            dead = message_number(r, queue_id(queue))
            targets = sorted(set(later_queues.get(id(r.message), [])))
            dead.queues |= {queue, *targets}
            events.append(DeadLettered(dead.number, queue, r.reason or "?", r.exchange, targets))
    for number, event in published.items():
        info = book.messages[number]
        if event.outcome == "unknown" and info.rpc is not None:
            call = next(c for c in book.calls if c.number == info.rpc)
            if call.request == number and call.replies:
                event.outcome = "routed"
                event.outside = outside_id(call.server)
        if event.outcome == "unknown":
            event.outcome = "unroutable"
    flow = Flow(
        title=title,
        events=events,
        messages=book.messages,
        rpc_calls=book.calls,
        connections=connections,
        exchange_types=types,
        summary=Summary(),
        subtitle="fake broker traffic",
    )
    flow.summary = _summarize(flow)
    return flow
