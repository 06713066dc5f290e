"""Inspection while recording: the same ``Records`` the fake broker's listeners make,
built from what the recording proxy decoded, so ``amqp_broker.published``,
``assert_published`` and the queue and exchange views read the same in record, replay
and plain fake mode.

Rules this module keeps:
- A snapshot of the proxy's decoded traffic (unredacted: the test sees the values it
  sent, as it does against the fake) becomes records in the order the client saw them,
  connection by connection: publishes, deliveries (``Basic.Deliver`` with the queue of
  its consumer tag, ``Basic.GetOk`` with the queue it polled), acks and nacks (with
  ``multiple``), returns.
- What RabbitMQ does not tell a client is not made up. A publish's ``queues`` are the
  queues it was seen delivered from, and those the recorded connections' own declares
  and binds route it to (as the broker had confirmed them when it was published, on any
  recorded connection); none for a publish returned or nacked. Its ``outside`` says a
  consumer beyond the proxy has it: RabbitMQ routed it (``outcome: routed``, a
  mandatory publish not returned) or an outside party answered it (a reply with its
  correlation id to its ``reply_to``, or with its oslo.messaging ``_msg_id``), yet no
  recorded connection received it and no recorded binding names its queue. Bindings to
  an exchange the recording cannot route (its type unknown: declared by someone else,
  or a type the broker lacks) leave both unknown, so no ``outside``.
- Dead-lettering is invisible.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from pamqp.commands import Basic

from amqpmock.cassette import Cassette, CassetteConnection, Interaction
from amqpmock.fake import DIRECT_REPLY_TO, Broker
from amqpmock.fake._broker import PREDECLARED_EXCHANGES
from amqpmock.fake.model import Message
from amqpmock.fake.routing import EXCHANGE_TYPES, ExchangeType
from amqpmock.testing.inspection import Record, Records, TrafficRecorder

__all__ = ["RecordedTraffic", "records_from_cassette"]

Ref = tuple[int, int]  # (connection id, interaction index)
_Dest = tuple[str, str]  # ("queue" | "exchange", name)
_Binding = tuple[_Dest, str, dict[str, Any]]  # destination, key, arguments

# a synchronous request and the reply that makes it so on the broker
_REPLIES = {
    "Exchange.Declare": "Exchange.DeclareOk",
    "Exchange.Delete": "Exchange.DeleteOk",
    "Exchange.Bind": "Exchange.BindOk",
    "Exchange.Unbind": "Exchange.UnbindOk",
    "Queue.Declare": "Queue.DeclareOk",
    "Queue.Bind": "Queue.BindOk",
    "Queue.Unbind": "Queue.UnbindOk",
    "Queue.Delete": "Queue.DeleteOk",
}
_REQUESTS = {ok: request for request, ok in _REPLIES.items()}


def _message(item: Interaction, n: int) -> Message:
    props = {k: v for k, v in (item.properties or {}).items() if k in Basic.Properties.__slots__}
    exchange = str(item.args.get("exchange", ""))
    routing_key = str(item.args.get("routing_key", ""))
    return Message(exchange, routing_key, Basic.Properties(**props), item.body or b"", 0.0, n)


def _table(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


class _Topology:
    """The exchanges, queues and bindings the recorded connections made, as the broker
    holds them at one moment of the recording (fed every interaction in time order).
    A change counts once the broker confirmed it (its ``...Ok``; at once with nowait)."""

    def __init__(self, types: Mapping[str, type[ExchangeType]]) -> None:
        self.types = types
        self.exchanges: dict[str, tuple[str, dict[str, Any]]] = {
            name: (kind, {}) for name, kind in PREDECLARED_EXCHANGES
        }
        self.queues: set[str] = set()
        self.bindings: dict[str, list[_Binding]] = {}  # source exchange -> bindings
        self._exclusive: dict[int, set[str]] = {}  # connection -> its exclusive queues
        self._last_queue: dict[tuple[int, int], str] = {}  # channel -> last declared
        self._pending: dict[tuple[int, int, str], list[Interaction]] = {}

    def see(self, conn_id: int, i: Interaction) -> None:
        channel = (conn_id, i.channel)
        if i.dir == "c2s" and i.method in _REPLIES:
            if i.args.get("nowait"):
                self._apply(conn_id, i, i)
            else:
                self._pending.setdefault((*channel, i.method), []).append(i)
        elif i.dir == "s2c" and i.method in _REQUESTS:
            waiting = self._pending.get((*channel, _REQUESTS[i.method]))
            if waiting:
                self._apply(conn_id, waiting.pop(0), i)
        elif i.method == "Channel.Close" or i.method == "Channel.CloseOk":
            for key in [k for k in self._pending if k[:2] == channel]:
                del self._pending[key]  # what the closed channel asked for never happened
        elif i.method == "Connection.CloseOk":
            for key in [k for k in self._pending if k[0] == conn_id]:
                del self._pending[key]
            for queue in self._exclusive.pop(conn_id, set()):
                self._delete_queue(queue)
        elif i.dir == "c2s" and i.method in ("Basic.Consume", "Basic.Get"):
            queue = self._queue(conn_id, i)
            if queue and not queue.startswith(DIRECT_REPLY_TO):
                self.queues.add(queue)  # it exists: a client reads it

    def _queue(self, conn_id: int, i: Interaction) -> str:
        """The request's queue; an empty name is the channel's last declared queue."""
        return str(i.args.get("queue") or self._last_queue.get((conn_id, i.channel), ""))

    def _apply(self, conn_id: int, i: Interaction, ok: Interaction) -> None:
        args = i.args
        method = i.method
        if method == "Exchange.Declare":
            name = str(args.get("exchange", ""))
            if not args.get("passive"):
                kind = str(args.get("exchange_type") or "direct")
                self.exchanges.setdefault(name, (kind, _table(args.get("arguments"))))
        elif method == "Exchange.Delete":
            name = str(args.get("exchange", ""))
            self.exchanges.pop(name, None)
            self.bindings.pop(name, None)
            self._unbind_all(("exchange", name))
        elif method in ("Exchange.Bind", "Exchange.Unbind"):
            dest = ("exchange", str(args.get("destination", "")))
            self._bind(method == "Exchange.Bind", str(args.get("source", "")), dest, args)
        elif method == "Queue.Declare":
            name = str(ok.args.get("queue") or args.get("queue") or "")
            if name:
                self.queues.add(name)
                self._last_queue[(conn_id, i.channel)] = name
                if args.get("exclusive") and not args.get("passive"):
                    self._exclusive.setdefault(conn_id, set()).add(name)
        elif method in ("Queue.Bind", "Queue.Unbind"):
            queue = self._queue(conn_id, i)
            if queue:
                self.queues.add(queue)
                dest = ("queue", queue)
                self._bind(method == "Queue.Bind", str(args.get("exchange", "")), dest, args)
        elif method == "Queue.Delete":
            self._delete_queue(self._queue(conn_id, i))

    def _bind(self, bind: bool, source: str, dest: _Dest, args: Mapping[str, Any]) -> None:
        key = str(args.get("routing_key", ""))
        table = _table(args.get("arguments"))
        bound = self.bindings.setdefault(source, [])
        binding = (dest, key, table)
        if binding in bound:
            bound.remove(binding)
        if bind:
            bound.append(binding)

    def _unbind_all(self, dest: _Dest) -> None:
        for source, bound in self.bindings.items():
            self.bindings[source] = [b for b in bound if b[0] != dest]

    def _delete_queue(self, queue: str) -> None:
        self.queues.discard(queue)
        self._unbind_all(("queue", queue))
        for exclusive in self._exclusive.values():
            exclusive.discard(queue)

    def route(
        self, exchange: str, key: str, headers: Mapping[str, Any] | None
    ) -> list[str] | None:
        """The queues the recorded topology routes a publish to, or None when it cannot
        tell (an exchange of a type it cannot route, that recorded connections bound to)."""
        if exchange == "":
            return [key] if key in self.queues else []
        found: dict[str, None] = {}
        seen: set[str] = set()
        certain = True

        def walk(name: str) -> None:
            nonlocal certain
            if name in seen:
                return
            seen.add(name)
            kind, arguments = self.exchanges.get(name, ("", {}))
            matched: list[_Dest] = []
            bound = self.bindings.get(name)
            if bound:
                factory = self.types.get(kind)
                try:
                    if factory is None:
                        raise LookupError(kind)
                    if getattr(factory, "takes_arguments", False):
                        routing = factory(arguments)  # type: ignore[call-arg]
                    else:
                        routing = factory()
                    for dest, bkey, table in bound:
                        routing.bind(dest, bkey, table)
                    matched = [cast(_Dest, d) for d in routing.match(key, headers)]
                except Exception:  # a type the recording cannot route
                    certain = False
                    return
            for dest_kind, dest_name in matched:
                if dest_kind == "queue":
                    found[dest_name] = None
                else:
                    walk(dest_name)
            alternate = arguments.get("alternate-exchange")
            if not matched and alternate:
                walk(str(alternate))

        walk(exchange)
        return list(found) if certain else None


def _oslo_msg_id(body: bytes | None) -> str | None:
    """The ``_msg_id`` of an oslo.messaging envelope (a call or its reply)."""
    if not body or not body.lstrip().startswith(b"{"):
        return None
    try:
        outer = json.loads(body)
        inner = json.loads(outer["oslo.message"]) if "oslo.message" in outer else outer
        msg_id = inner.get("_msg_id")
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return str(msg_id) if msg_id else None


def _rpc_keys(i: Interaction) -> list[tuple[str, str]]:
    """The ids that pair an RPC request with its reply: the correlation id, the
    oslo.messaging ``_msg_id``."""
    correlation = (i.properties or {}).get("correlation_id")
    msg_id = _oslo_msg_id(i.body)
    keys = [("correlation_id", str(correlation))] if correlation else []
    return keys + ([("_msg_id", msg_id)] if msg_id is not None else [])


def _replies_to(request: Interaction, reply: Interaction) -> bool:
    """``reply`` (a delivery) answers ``request`` (an earlier publish) with the same id:
    a correlation id delivered to the request's ``reply_to`` (a direct reply-to one
    included), or an oslo.messaging ``_msg_id``."""
    msg_id = _oslo_msg_id(request.body)
    if msg_id is not None and _oslo_msg_id(reply.body) == msg_id:
        return True
    asked, answered = request.properties or {}, reply.properties or {}
    reply_to = str(asked.get("reply_to") or "")
    if not reply_to or answered.get("correlation_id") != asked.get("correlation_id"):
        return False
    key = str(reply.args.get("routing_key", ""))
    return key == reply_to or (
        reply_to.startswith(DIRECT_REPLY_TO) and key.startswith(DIRECT_REPLY_TO)
    )


def _in_time_order(cassette: Cassette) -> Iterator[tuple[float, int, int, Interaction]]:
    """Every interaction, in the order the proxy saw them (each connection's in its
    own order)."""

    def entries(conn: CassetteConnection) -> Iterator[tuple[float, int, int, Interaction]]:
        for index, i in enumerate(conn.interactions):
            yield i.at or 0.0, conn.id, index, i

    return heapq.merge(*map(entries, cassette.connections), key=lambda entry: entry[0])


def _where_published(
    cassette: Cassette, types: Mapping[str, type[ExchangeType]]
) -> tuple[dict[Ref, list[str] | None], set[Ref]]:
    """Each publish's queues as the recorded topology routes it (None: cannot tell),
    and the publishes an outside party answered."""
    topology = _Topology(types)
    routed: dict[Ref, list[str] | None] = {}
    requests: dict[tuple[str, str], list[tuple[Ref, Interaction]]] = {}  # by reply key
    answered: set[Ref] = set()
    for _, conn_id, index, i in _in_time_order(cassette):
        if i.method == "Basic.Publish" and i.dir == "c2s":
            headers = (i.properties or {}).get("headers")
            routed[(conn_id, index)] = topology.route(
                str(i.args.get("exchange", "")),
                str(i.args.get("routing_key", "")),
                headers if isinstance(headers, Mapping) else None,
            )
            for key in _rpc_keys(i):
                requests.setdefault(key, []).append(((conn_id, index), i))
        elif i.method in ("Basic.Deliver", "Basic.GetOk") and i.origin == "outside":
            for key in _rpc_keys(i):
                for ref, request in requests.get(key, ()):
                    if ref not in answered and _replies_to(request, i):
                        answered.add(ref)
        else:
            topology.see(conn_id, i)
    return routed, answered


def records_from_cassette(
    cassette: Cassette, exchange_types: Mapping[str, type[ExchangeType]] | None = None
) -> Records:
    """Records (``published``, ``delivered``, ``acked``, ``nacked``, ``returned``) of
    a recorded session. ``exchange_types`` route the recorded bindings (the broker's,
    with plugins' types; the built-in ones by default)."""
    routes, answered = _where_published(cassette, exchange_types or EXCHANGE_TYPES)
    records = Records()
    publishes: dict[Ref, tuple[Record, Interaction]] = {}
    received: set[Ref] = set()  # publishes a recorded connection was delivered
    n = 0
    for conn in cassette.connections:
        consumers: dict[str, str] = {}  # consumer tag -> queue
        asked: dict[int, str] = {}  # channel -> queue of its last basic.get
        consuming: dict[int, str] = {}  # channel -> queue of its pending basic.consume
        unacked: dict[int, dict[int, Record]] = {}  # channel -> tag -> delivered record
        for index, item in enumerate(conn.interactions):
            args = item.args
            method = item.method
            if method == "Basic.Consume" and item.dir == "c2s":
                consuming[item.channel] = str(args.get("queue", ""))
                if args.get("consumer_tag"):
                    consumers[str(args["consumer_tag"])] = consuming[item.channel]
            elif method == "Basic.ConsumeOk":
                consumers[str(args.get("consumer_tag", ""))] = consuming.get(item.channel, "")
            elif method == "Basic.Get":
                asked[item.channel] = str(args.get("queue", ""))
            elif method == "Basic.Publish":
                n += 1
                message = _message(item, n)
                record = Record("published", message)
                if item.outcome not in ("returned", "nacked"):
                    record.queues = list(routes.get((conn.id, index)) or [])
                publishes[(conn.id, index)] = (record, item)
                records.append(record)
            elif method in ("Basic.Deliver", "Basic.GetOk"):
                n += 1
                tag = int(args.get("delivery_tag", 0))
                consumer = str(args.get("consumer_tag", "")) if method == "Basic.Deliver" else None
                queue = (
                    consumers.get(consumer or "", "") if consumer else asked.get(item.channel, "")
                )
                message = _message(item, n)
                record = Record(
                    "delivered",
                    message,
                    queue=queue,
                    consumer=consumer,
                    delivery_tag=tag,
                    redelivered=bool(args.get("redelivered")),
                )
                records.append(record)
                unacked.setdefault(item.channel, {})[tag] = record
                found = publishes.get(item.source) if item.source is not None else None
                if found is not None and item.source is not None:
                    received.add(item.source)
                    source = found[0]
                    if queue and queue not in source.queues:
                        source.queues.append(queue)
            elif method in ("Basic.Ack", "Basic.Nack", "Basic.Reject") and item.dir == "c2s":
                pending = unacked.get(item.channel, {})
                tag = int(args.get("delivery_tag", 0))
                if args.get("multiple"):
                    tags = [t for t in pending if tag == 0 or t <= tag]
                else:
                    tags = [tag] if tag in pending else []
                event = "acked" if method == "Basic.Ack" else "nacked"
                requeue = None if event == "acked" else bool(args.get("requeue", True))
                for t in tags:
                    delivered = pending.pop(t)
                    records.append(
                        Record(
                            event,
                            delivered.message,
                            queue=delivered.queue,
                            delivery_tag=t,
                            requeue=requeue,
                        )
                    )
            elif method == "Basic.Return":
                n += 1
                message = _message(item, n)
                records.append(Record("returned", message))
    for ref, (record, item) in publishes.items():
        record.outside = (
            not record.queues
            and ref not in received
            and routes.get(ref) is not None
            and item.outcome not in ("returned", "nacked")
            and (item.outcome == "routed" or ref in answered)
        )
    return records


class RecordedTraffic(TrafficRecorder):
    """A ``TrafficRecorder`` whose records come from a recording proxy's snapshot
    (``snapshot`` returns the decoded session so far) instead of broker events."""

    def __init__(self, snapshot: Callable[[], Cassette], broker: Broker) -> None:
        self.broker = broker
        self._snapshot = snapshot
        self._types = dict(broker.exchange_types)
        self._cleared = 0  # records before the last clear() are not shown

    @property
    def records(self) -> Records:
        return Records(self._build()[self._cleared :])

    def _build(self) -> Records:
        return records_from_cassette(self._snapshot(), self._types)

    def clear(self) -> None:
        self._cleared = len(self._build())

    def latest(self, count: int) -> Records:
        return Records(self.records[-count:])

    def close(self) -> None:
        return None

    def _on_event(self, event: str, data: dict[str, Any]) -> None:
        return None
