"""Message flows: what a cassette (or a test's broker traffic) did, as ordered events.

This is the model that ``amqpmock show`` (``amqpmock.view.timeline``) and
``amqpmock diagram`` (``amqpmock.view.diagram``) draw. Two front ends build it:
``flow_from_cassette`` from a recorded cassette and ``flow_from_records`` from the
``TrafficRecorder`` records of a test's fake broker.

Rules this module keeps:
- Pure functions of their inputs: no I/O, no clock. The same cassette gives the same
  flow, event for event.
- A *message* is one published message, whoever saw it: the publish of a recorded
  connection and every delivery of it (the cassette's ``source`` links them) are one
  message; a delivery with ``origin: outside`` is a message some unrecorded party
  published (an RPC server's reply, an event), drawn as published by an outside service.
- A cassette keeps each connection's frames in order but not the order across
  connections. Events are merged causally: a delivery comes after its publish, an RPC
  reply after its request; otherwise the lower-numbered connection goes first.
- The handshake (``Connection.Start`` .. ``OpenOk``) is one ``Connected`` event;
  declarations, bindings, consumes and other housekeeping become ``Setup`` events;
  replies that only confirm a request (``DeclareOk``, ``BindOk``...) fold into them.
- RPC requests are paired with their replies under both conventions: AMQP-native
  (``reply_to`` + ``correlation_id``, including direct reply-to) and oslo.messaging's
  envelope (``oslo.message`` JSON with ``_msg_id`` / ``_reply_q``; replies carry
  ``result`` / ``failure`` / ``ending``). oslo requests are ``call`` (a ``_msg_id``),
  ``cast``, or ``fanout_cast`` (to a fanout exchange).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from amqpmock.cassette import REDACTED, Cassette, Interaction

if TYPE_CHECKING:
    from amqpmock.testing.inspection import Record

__all__ = [
    "DEFAULT_EXCHANGE",
    "DIRECT_REPLY_TO",
    "INJECTED",
    "OUTSIDE",
    "Closed",
    "Connected",
    "ConnectionInfo",
    "DeadLettered",
    "Delivered",
    "Event",
    "Flavor",
    "Flow",
    "MessageInfo",
    "Notice",
    "Published",
    "Repeat",
    "Returned",
    "RpcCall",
    "Settled",
    "Setup",
    "Summary",
    "TrafficContext",
    "collapse_repeats",
    "connection_id",
    "exchange_id",
    "flow_from_cassette",
    "flow_from_records",
    "outside_id",
    "queue_id",
]

_T = TypeVar("_T")

Flavor = Literal["call", "reply", "cast", "fanout_cast", "publish"]
"""What a message is for: an RPC request, its reply, an oslo cast or fanout cast, or a
plain message."""

DEFAULT_EXCHANGE = ""
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
OUTSIDE = "outside"
"""The outside party when nothing better names it (unsolicited messages, callers)."""
INJECTED = "injected"
"""On a fake broker: messages published through the broker's Python API (a test's
``amqp_broker.publish``, a replayed cassette, an RPC stub's reply)."""

HANDSHAKE_METHODS = frozenset(
    {
        "Connection.Start",
        "Connection.StartOk",
        "Connection.Secure",
        "Connection.SecureOk",
        "Connection.Tune",
        "Connection.TuneOk",
        "Connection.Open",
        "Connection.OpenOk",
    }
)
# Server answers that say nothing the request did not (folded into the request's line).
_SILENT_REPLIES = frozenset(
    {
        "Channel.OpenOk",
        "Channel.CloseOk",
        "Channel.FlowOk",
        "Exchange.DeclareOk",
        "Exchange.DeleteOk",
        "Exchange.BindOk",
        "Exchange.UnbindOk",
        "Queue.BindOk",
        "Queue.UnbindOk",
        "Queue.PurgeOk",
        "Queue.DeleteOk",
        "Basic.QosOk",
        "Basic.CancelOk",
        "Basic.RecoverOk",
        "Confirm.SelectOk",
        "Tx.SelectOk",
        "Tx.CommitOk",
        "Tx.RollbackOk",
        "Connection.CloseOk",
    }
)


def connection_id(number: int | None) -> str:
    """The participant id of a client connection (``conn:?`` when unknown)."""
    return f"conn:{'?' if number is None else number}"


def exchange_id(name: str) -> str:
    return f"exchange:{name}"


def queue_id(name: str) -> str:
    return f"queue:{name}"


def outside_id(service: str) -> str:
    return f"outside:{service}"


# --- the model ------------------------------------------------------------------------


@dataclass
class ConnectionInfo:
    """A client connection: its number and what the client said about itself."""

    number: int
    client: str = ""
    vhost: str = ""
    user: str | None = None
    name: str | None = None
    ending: str = "clean"

    @property
    def label(self) -> str:
        return f"conn {self.number}" + (f" · {self.client}" if self.client else "")


@dataclass
class MessageInfo:
    """One message: what it is for, who published it and where it went."""

    number: int
    exchange: str
    routing_key: str
    flavor: Flavor
    summary: str
    body_preview: str
    publisher: str
    properties: dict[str, Any] = field(default_factory=dict)
    rpc: int | None = None
    failed: bool = False
    ending: bool = False
    connections: set[int] = field(default_factory=set)
    queues: set[str] = field(default_factory=set)

    @property
    def outside(self) -> bool:
        return self.publisher.startswith("outside:")


@dataclass
class RpcCall:
    """An RPC request and the replies paired with it."""

    number: int
    convention: Literal["amqp", "direct-reply-to", "oslo"]
    request: int
    method: str
    caller: str
    server: str
    replies: list[int] = field(default_factory=list)
    failed: bool = False
    returned: bool = False

    @property
    def status(self) -> str:
        if self.returned:
            return "returned"
        if not self.replies:
            return "no reply"
        return "failure" if self.failed else "answered"


@dataclass
class Connected:
    conn: int
    client: str
    vhost: str
    user: str | None
    frames: int


@dataclass
class Setup:
    """Housekeeping on one channel: declarations, bindings, consumes, qos..."""

    conn: int
    channel: int
    items: list[str]
    queues: set[str] = field(default_factory=set)
    exchanges: set[str] = field(default_factory=set)


@dataclass
class Published:
    """A message published, by a recorded connection or from outside (``conn`` None).

    ``queues`` are the queues it reached (as far as the recording shows), ``outside``
    the outside service it went to when no recorded queue had it."""

    message: int
    publisher: str
    exchange: str
    routing_key: str
    conn: int | None = None
    channel: int | None = None
    queues: list[str] = field(default_factory=list)
    outside: str | None = None
    outcome: str = "unknown"
    confirm: str | None = None
    mandatory: bool = False


@dataclass
class Delivered:
    message: int
    queue: str
    conn: int | None
    channel: int | None = None
    consumer: str | None = None
    delivery_tag: int | None = None
    redelivered: bool = False
    via_get: bool = False
    no_ack: bool = False


@dataclass
class Settled:
    """Ack, nack or reject of one or more deliveries (by the client; or the broker's
    requeue of unacked deliveries when their channel closes, then ``because`` says so)."""

    action: Literal["ack", "nack", "reject"]
    conn: int | None
    channel: int | None
    requeue: bool = False
    tags: list[int] = field(default_factory=list)
    messages: list[int] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    multiple: bool = False
    because: str = ""
    """Set when the broker requeued on its own: ``channel closed``, ``recover``..."""


@dataclass
class Returned:
    message: int
    conn: int | None
    channel: int | None
    exchange: str
    code: int = 312
    text: str = "NO_ROUTE"


@dataclass
class DeadLettered:
    """A message died in ``queue`` and went to ``exchange`` (its dead-letter exchange)
    as message ``message``; ``queues`` are where it went next."""

    message: int
    queue: str
    reason: str
    exchange: str
    queues: list[str] = field(default_factory=list)


@dataclass
class Notice:
    """Something worth a line that is not a message: a channel error, a lost frame."""

    conn: int | None
    channel: int | None
    text: str
    level: Literal["info", "error"] = "info"


@dataclass
class Closed:
    conn: int
    ending: str
    heartbeats: int = 0
    error: str | None = None


Event = (
    Connected | Setup | Published | Delivered | Settled | Returned | DeadLettered | Notice | Closed
)


@dataclass
class Summary:
    connections: int = 0
    channels: int = 0
    messages: int = 0
    published: int = 0
    from_outside: int = 0
    deliveries: int = 0
    rpc_calls: int = 0
    rpc_answered: int = 0
    casts: int = 0
    fanout_casts: int = 0
    acks: int = 0
    nacks: int = 0
    requeues: int = 0
    returns: int = 0
    dead_letters: int = 0
    redactions: int = 0
    heartbeats: int = 0

    def line(self) -> str:
        def n(count: int, word: str, plural: str | None = None) -> str:
            return f"{count} {word if count == 1 else (plural or word + 's')}"

        rpc = n(self.rpc_calls, "RPC call")
        if self.rpc_calls:
            rpc += f" ({self.rpc_answered} answered)"
        messages = n(self.messages, "message")
        if self.messages:
            messages += f" ({self.published} published, {self.from_outside} from outside)"
        parts = [
            n(self.connections, "connection"),
            n(self.channels, "channel"),
            messages,
            n(self.deliveries, "delivery", "deliveries"),
            rpc,
            n(self.casts, "cast"),
            n(self.fanout_casts, "fanout_cast"),
            n(self.acks, "ack"),
            n(self.nacks, "nack/reject", "nacks/rejects"),
            n(self.requeues, "requeue"),
            n(self.returns, "return"),
            n(self.dead_letters, "dead letter"),
            n(self.redactions, "redaction"),
        ]
        return ", ".join(parts)


@dataclass
class Flow:
    """Events in order, the messages and RPC calls they refer to, and a summary."""

    title: str
    events: list[Event]
    messages: dict[int, MessageInfo]
    rpc_calls: list[RpcCall]
    connections: dict[int, ConnectionInfo]
    exchange_types: dict[str, str]
    summary: Summary
    subtitle: str = ""
    notes: list[str] = field(default_factory=list)

    def rpc(self, number: int) -> RpcCall:
        for call in self.rpc_calls:
            if call.number == number:
                return call
        raise KeyError(number)

    def event_connections(self, event: Event) -> set[int]:
        """Connections an event involves: its own, and every connection that published
        or received one of its messages."""
        found: set[int] = set()
        own = getattr(event, "conn", None)
        if isinstance(own, int):
            found.add(own)
        for number in _event_messages(event):
            info = self.messages.get(number)
            if info is not None:
                found |= info.connections
        return found

    def event_queues(self, event: Event) -> set[str]:
        """Queues an event involves (directly, or through its messages)."""
        found: set[str] = set()
        if isinstance(event, Setup):
            found |= event.queues
        for name in ("queue",):
            value = getattr(event, name, None)
            if isinstance(value, str):
                found.add(value)
        for value in getattr(event, "queues", ()) or ():
            found.add(value)
        for number in _event_messages(event):
            info = self.messages.get(number)
            if info is not None:
                found |= info.queues
        return found

    def select(self, connection: int | None = None, queue: str | None = None) -> Flow:
        """The events involving ``connection`` and/or ``queue``; messages, RPC calls and
        the summary shrink with them. Raises ``KeyError`` naming what exists when the
        connection or queue never appears."""
        if connection is not None and connection not in self.connections:
            known = ", ".join(str(n) for n in sorted(self.connections)) or "none"
            raise KeyError(f"no connection {connection} (connections: {known})")
        if queue is not None:
            every = set().union(*(self.event_queues(e) for e in self.events))
            if queue not in every:
                known = ", ".join(sorted(every)) or "none"
                raise KeyError(f"no queue {queue!r} (queues: {known})")
        kept = [
            e
            for e in self.events
            if (connection is None or connection in self.event_connections(e))
            and (queue is None or queue in self.event_queues(e))
        ]
        numbers = {n for e in kept for n in _event_messages(e)}
        messages = {n: m for n, m in self.messages.items() if n in numbers}
        calls = [c for c in self.rpc_calls if c.request in numbers]
        conns = {
            n: c
            for n, c in self.connections.items()
            if any(n in self.event_connections(e) for e in kept)
        }
        where = []
        if connection is not None:
            where.append(f"connection {connection}")
        if queue is not None:
            where.append(f"queue {queue}")
        flow = Flow(
            title=self.title,
            events=kept,
            messages=messages,
            rpc_calls=calls,
            connections=conns,
            exchange_types=dict(self.exchange_types),
            summary=Summary(),
            subtitle=(self.subtitle + " · " if self.subtitle else "") + "only " + ", ".join(where),
            notes=list(self.notes),
        )
        flow.summary = _summarize(flow, redactions=self.summary.redactions)
        return flow


def _event_messages(event: Event) -> list[int]:
    if isinstance(event, Published | Delivered | Returned | DeadLettered):
        return [event.message]
    if isinstance(event, Settled):
        return list(event.messages)
    return []


# --- repeats ------------------------------------------------------------------------


@dataclass
class Repeat:
    """``events`` happened ``times`` times in a row (the first round is ``events``)."""

    events: list[Event]
    times: int
    rounds: list[list[Event]] = field(default_factory=list)


def event_signature(flow: Flow, event: Event) -> tuple[Any, ...]:
    """What an event looks like with its numbers (message, tag) left out."""
    if isinstance(event, Published):
        info = flow.messages.get(event.message)
        return (
            "pub",
            event.publisher,
            event.channel,
            event.exchange,
            event.routing_key,
            tuple(event.queues),
            event.outside,
            event.outcome,
            info.flavor if info else None,
            info.summary if info and info.flavor in ("call", "cast", "fanout_cast") else None,
        )
    if isinstance(event, Delivered):
        info = flow.messages.get(event.message)
        return (
            "dlv",
            event.conn,
            event.channel,
            event.queue,
            event.via_get,
            info.flavor if info else None,
        )
    if isinstance(event, Settled):
        return ("set", event.action, event.conn, event.channel, event.requeue, tuple(event.queues))
    if isinstance(event, Returned):
        return ("ret", event.conn, event.exchange, event.code)
    if isinstance(event, DeadLettered):
        return ("dlx", event.queue, event.reason, event.exchange, tuple(event.queues))
    if isinstance(event, Setup):
        return ("setup", event.conn, event.channel, tuple(event.items))
    return ("other", id(event))


def collapse_repeats(
    flow: Flow, events: Sequence[Event] | None = None, max_period: int = 8, min_times: int = 4
) -> list[Event | Repeat]:
    """Runs of the same event pattern (up to ``max_period`` events long, repeated at
    least ``min_times`` times) become one ``Repeat``."""
    items = list(flow.events if events is None else events)
    sigs = [event_signature(flow, e) for e in items]
    out: list[Event | Repeat] = []
    i = 0
    while i < len(items):
        best_period, best_times = 0, 1
        for period in range(1, max_period + 1):
            if i + 2 * period > len(items):
                break
            times = 1
            while (
                i + (times + 1) * period <= len(items)
                and sigs[i + times * period : i + (times + 1) * period] == sigs[i : i + period]
            ):
                times += 1
            needed = min_times
            if times >= needed and period * times > best_period * best_times:
                best_period, best_times = period, times
        if best_period:
            rounds = [
                items[i + r * best_period : i + (r + 1) * best_period] for r in range(best_times)
            ]
            out.append(Repeat(events=rounds[0], times=best_times, rounds=rounds))
            i += best_period * best_times
        else:
            out.append(items[i])
            i += 1
    return out


# --- reading messages ---------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def body_preview(body: bytes, limit: int = 60) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(body)} bytes>"
    return short(text, limit) if text else "<empty>"


def oslo_payload(body: bytes) -> dict[str, Any] | None:
    """The inner message of an oslo.messaging envelope (or an unversioned oslo message)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    inner: Any = data
    if "oslo.message" in data:
        raw = data["oslo.message"]
        if not isinstance(raw, str):
            return None
        try:
            inner = json.loads(raw)
        except ValueError:
            return None
        return inner if isinstance(inner, dict) else None
    if "_msg_id" in data or ("method" in data and "args" in data and "_unique_id" in data):
        return data
    return None


def _call_text(method: str, args: object) -> str:
    if isinstance(args, dict) and args:
        inner = ", ".join(f"{k}={json.dumps(v, sort_keys=True)}" for k, v in args.items())
        return f"{method}({inner})"
    return f"{method}()"


@dataclass
class _Classified:
    flavor: Flavor
    summary: str
    oslo: dict[str, Any] | None
    failed: bool = False
    ending: bool = False


def classify(
    exchange: str, properties: Mapping[str, Any], body: bytes, exchange_type: str | None
) -> _Classified:
    """What a message is for, from its envelope and properties (replies to AMQP-native
    requests are only known once paired; they start as ``publish``)."""
    oslo = oslo_payload(body)
    if oslo is not None:
        if "method" in oslo:
            method = _text(oslo["method"])
            summary = _call_text(method, oslo.get("args"))
            if "_msg_id" in oslo:
                return _Classified("call", summary, oslo)
            fanout = exchange_type == "fanout" or (
                exchange_type is None and exchange.endswith("_fanout")
            )
            return _Classified("fanout_cast" if fanout else "cast", summary, oslo)
        if "_msg_id" in oslo:
            failure = oslo.get("failure")
            ending = bool(oslo.get("ending"))
            if failure:
                text = _failure_text(failure)
                return _Classified("reply", f"failure: {text}", oslo, failed=True, ending=ending)
            if "result" in oslo:
                result = json.dumps(oslo.get("result"), sort_keys=True)
                summary = f"result={short(result, 50)}" + (" (ending)" if ending else "")
            else:
                summary = "ending" if ending else "reply"
            return _Classified("reply", summary, oslo, ending=ending)
        if "event_type" in oslo:
            return _Classified("publish", f"notification {_text(oslo['event_type'])}", oslo)
    preview = body_preview(body, 50)
    if properties.get("reply_to"):
        return _Classified("call", preview, None)
    return _Classified("publish", preview, None)


def _failure_text(failure: object) -> str:
    if isinstance(failure, str):
        try:
            data = json.loads(failure)
        except ValueError:
            return short(failure, 50)
        if isinstance(data, dict):
            cls = _text(data.get("class"))
            message = _text(data.get("message"))
            return short(f"{cls}: {message}" if cls else message, 50)
    return short(_text(failure), 50)


def _num(value: object, default: _T) -> int | _T:
    """An integer argument of a (possibly hand-edited) cassette, or ``default``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return default


def _table(value: object) -> dict[str, Any]:
    """A field-table argument (client properties, queue arguments), or an empty one."""
    return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}


def _properties(value: object) -> dict[str, Any]:
    """Cassette properties are a dict already; pamqp ``Basic.Properties`` become one."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    names = getattr(value, "__slots__", None) or list(getattr(value, "__dict__", {}))
    out: dict[str, Any] = {}
    for name in names:
        if name.startswith("_"):
            continue
        item = getattr(value, name, None)
        if item is not None:
            out[name] = item
    return out


def _reply_to(props: Mapping[str, Any]) -> str:
    return _text(props.get("reply_to"))


def _correlation(props: Mapping[str, Any]) -> str:
    return _text(props.get("correlation_id"))


# --- the message table shared by both front ends ----------------------------------------


class _Book:
    """Messages and RPC calls, numbered in the order they first appear."""

    def __init__(self, exchange_types: Mapping[str, str]) -> None:
        self.exchange_types = exchange_types
        self.messages: dict[int, MessageInfo] = {}
        self.calls: list[RpcCall] = []
        self._oslo_requests: dict[str, RpcCall] = {}
        self._amqp_requests: dict[str, list[RpcCall]] = {}

    def add(
        self,
        exchange: str,
        routing_key: str,
        properties: Mapping[str, Any],
        body: bytes,
        publisher: str,
    ) -> MessageInfo:
        number = len(self.messages) + 1
        kind = classify(exchange, properties, body, self.exchange_types.get(exchange))
        info = MessageInfo(
            number=number,
            exchange=exchange,
            routing_key=routing_key,
            flavor=kind.flavor,
            summary=kind.summary,
            body_preview=body_preview(body),
            publisher=publisher,
            properties=dict(properties),
            failed=kind.failed,
            ending=kind.ending,
        )
        self.messages[number] = info
        self._pair(info, kind)
        return info

    def _pair(self, info: MessageInfo, kind: _Classified) -> None:
        props = info.properties
        if kind.oslo is not None:
            msg_id = _text(kind.oslo.get("_msg_id"))
            if kind.flavor == "call" and msg_id:
                method = _text(kind.oslo.get("method"))
                call = self._new_call("oslo", info, method, _service(info, self.exchange_types))
                self._oslo_requests.setdefault(msg_id, call)
            elif kind.flavor == "reply" and msg_id in self._oslo_requests:
                self._attach(self._oslo_requests[msg_id], info)
            return
        correlation = _correlation(props)
        reply_to = _reply_to(props)
        if reply_to:
            convention: Literal["amqp", "direct-reply-to"] = (
                "direct-reply-to" if reply_to.startswith(DIRECT_REPLY_TO) else "amqp"
            )
            label = info.routing_key or _text(props.get("message_type")) or "request"
            call = self._new_call(convention, info, label, _service(info, self.exchange_types))
            for key in {correlation, _text(props.get("message_id"))} - {""}:
                self._amqp_requests.setdefault(key, []).append(call)
            return
        for key in (correlation,):
            if not key:
                continue
            for call in self._amqp_requests.get(key, []):
                request = self.messages[call.request]
                want = _reply_to(request.properties)
                if (
                    info.routing_key == want
                    or (want.startswith(DIRECT_REPLY_TO) and info.routing_key.startswith(want))
                    or (info.exchange == "" and info.routing_key.startswith(DIRECT_REPLY_TO))
                    or info.outside
                ):
                    info.flavor = "reply"
                    info.summary = info.body_preview
                    if _text(props.get("type") or props.get("message_type")) == "error":
                        info.failed = True
                    self._attach(call, info)
                    return

    def _new_call(
        self,
        convention: Literal["amqp", "direct-reply-to", "oslo"],
        info: MessageInfo,
        method: str,
        server: str,
    ) -> RpcCall:
        call = RpcCall(
            number=len(self.calls) + 1,
            convention=convention,
            request=info.number,
            method=method,
            caller=info.publisher,
            server=server,
        )
        self.calls.append(call)
        info.rpc = call.number
        return call

    def _attach(self, call: RpcCall, reply: MessageInfo) -> None:
        reply.rpc = call.number
        call.replies.append(reply.number)
        if reply.failed:
            call.failed = True
        if reply.outside:
            # the outside party that answered is the service the request went to
            reply.publisher = outside_id(call.server)


def _service(info: MessageInfo, exchange_types: Mapping[str, str]) -> str:
    """The outside service a message is meant for, named the way its convention names
    services: an oslo topic, or the queue / routing key of an AMQP request."""
    if info.outside:
        return OUTSIDE
    oslo_like = info.flavor in ("cast", "fanout_cast") or (
        info.flavor == "call" and "oslo.message" in info.body_preview
    )
    if info.flavor == "fanout_cast" and info.exchange.endswith("_fanout"):
        return info.exchange[: -len("_fanout")]
    if oslo_like and exchange_types.get(info.exchange, "topic") == "topic" and info.exchange:
        return info.routing_key.split(".")[0] or info.exchange
    return info.routing_key or info.exchange or OUTSIDE


# --- from a cassette ----------------------------------------------------------------

Ref = tuple[int, int]


def _merge_order(cassette: Cassette, after: Mapping[Ref, set[Ref]]) -> list[Ref]:
    """Every interaction once, each connection's in order, each after what it depends on;
    among the ready ones the lowest connection first. A dependency cycle (a broken
    cassette) is broken by taking the lowest connection's next interaction."""
    pending = {c.id: 0 for c in cassette.connections}
    sizes = {c.id: len(c.interactions) for c in cassette.connections}
    done: set[Ref] = set()
    order: list[Ref] = []
    total = sum(sizes.values())
    while len(order) < total:
        chosen: int | None = None
        ready = [
            c
            for c in sorted(pending)
            if pending[c] < sizes[c] and after.get((c, pending[c]), set()) <= done
        ]
        # a client closing its channel or connection usually does so when its work is
        # done: let the other connections catch up first
        busy = [c for c in ready if not _closing(cassette, c, pending[c])]
        if busy or ready:
            chosen = (busy or ready)[0]
        if chosen is None:
            chosen = min(c for c in pending if pending[c] < sizes[c])
        ref = (chosen, pending[chosen])
        pending[chosen] += 1
        done.add(ref)
        order.append(ref)
    return order


def _closing(cassette: Cassette, conn_id: int, index: int) -> bool:
    i = cassette.connection(conn_id).interactions[index]
    return i.dir == "c2s" and i.method in ("Channel.Close", "Connection.Close")


@dataclass
class _Channel:
    last_queue: str | None = None
    # declares waiting for DeclareOk: (setup event, item index, arguments)
    pending_declare: list[tuple[Setup, int, dict[str, Any]]] = field(default_factory=list)
    pending_consume: list[tuple[str, bool]] = field(default_factory=list)
    pending_get: list[str] = field(default_factory=list)
    unacked: dict[int, tuple[int, str]] = field(default_factory=dict)  # tag -> (msg, queue)
    confirming: bool = False
    published: int = 0
    unconfirmed: dict[int, Published] = field(default_factory=dict)


def _count_redactions(cassette: Cassette) -> int:
    count = 0

    def walk(value: object) -> None:
        nonlocal count
        if isinstance(value, str):
            count += value.count(REDACTED)
        elif isinstance(value, bytes):
            count += value.count(REDACTED.encode())
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(cassette.header.upstream_url)
    for conn in cassette.connections:
        walk(conn.upstream)
        for interaction in conn.interactions:
            walk(interaction.args)
            walk(interaction.properties)
            walk(interaction.body)
    return count


class _CassetteReader:
    def __init__(self, cassette: Cassette) -> None:
        self.cassette = cassette
        self.exchange_types: dict[str, str] = {
            "": "direct",
            "amq.direct": "direct",
            "amq.fanout": "fanout",
            "amq.topic": "topic",
            "amq.headers": "headers",
            "amq.match": "headers",
        }
        for _, _, i in cassette.interactions():
            if i.dir == "c2s" and i.method == "Exchange.Declare":
                name = _text(i.args.get("exchange"))
                self.exchange_types.setdefault(
                    name, _text(i.args.get("exchange_type")) or "direct"
                )
        self.book = _Book(self.exchange_types)
        self.events: list[Event] = []
        self.connections: dict[int, ConnectionInfo] = {}
        self.notes: list[str] = []
        # message identity
        self.message_of: dict[Ref, int] = {}
        self.published_event: dict[int, Published] = {}
        # broker state as the recording shows it
        self.known_queues: set[str] = set()
        self.bindings: list[
            tuple[str, str, str, dict[str, Any]]
        ] = []  # (exchange, queue, key, args)
        self.queue_args: dict[str, dict[str, Any]] = {}
        self.channels: dict[tuple[int, int], _Channel] = {}
        self.consumers: dict[
            tuple[int, str], tuple[str, bool]
        ] = {}  # (conn, tag) -> queue, no_ack
        self.closed: set[int] = set()
        self.deaths: set[tuple[int, str, str, int]] = set()
        self.get_no_ack: dict[tuple[int, int], list[bool]] = {}
        self.groups: dict[Ref, Ref] = {}
        self._first_outside: dict[tuple[Any, ...], Ref] = {}
        self._handshake: dict[int, list[Interaction]] = {}

    # -- identity and order --------------------------------------------------------

    def _identify(self) -> dict[Ref, set[Ref]]:
        """Which interactions carry the same message, and what must come first."""
        groups: dict[Ref, Ref] = {}  # interaction -> first interaction of its message
        for conn, index, i in self.cassette.interactions():
            ref = (conn.id, index)
            if i.is_publish:
                groups[ref] = ref
            elif i.is_delivery:
                if i.source is not None and self._is_publish(i.source):
                    groups[ref] = i.source
                else:
                    same = self._outside_key(i)
                    first = self._first_outside.get(same)
                    if first is not None and i.args.get("redelivered"):
                        groups[ref] = first
                    else:
                        groups[ref] = ref
                        self._first_outside.setdefault(same, ref)
        self.groups = groups
        after: dict[Ref, set[Ref]] = {}
        for ref, first in groups.items():
            if first != ref:
                after.setdefault(ref, set()).add(first)
        for conn, index, i in self.cassette.interactions():
            if i.method == "Basic.Return" and i.source is not None:
                after.setdefault((conn.id, index), set()).add(i.source)
        # an RPC reply comes after its request
        requests: dict[str, Ref] = {}
        replies: list[tuple[str, Ref]] = []
        for ref, first in groups.items():
            if ref != first:
                continue
            i = self._at(ref)
            props = i.properties or {}
            oslo = oslo_payload(i.body or b"")
            if oslo is not None and "_msg_id" in oslo:
                key = "oslo:" + _text(oslo["_msg_id"])
                if "method" in oslo:
                    requests.setdefault(key, ref)
                else:
                    replies.append((key, ref))
            elif oslo is None and _correlation(props):
                key = "amqp:" + _correlation(props)
                if _reply_to(props):
                    requests.setdefault(key, ref)
                else:
                    replies.append((key, ref))
        for key, ref in replies:
            request = requests.get(key)
            if request is not None and request != ref:
                after.setdefault(ref, set()).add(request)
        return after

    def _outside_key(self, i: Interaction) -> tuple[Any, ...]:
        props = i.properties or {}
        return (
            _text(i.args.get("exchange")),
            _text(i.args.get("routing_key")),
            i.body,
            _correlation(props),
            _text(props.get("message_id")),
        )

    def _is_publish(self, ref: Ref) -> bool:
        try:
            return self._at(ref).is_publish
        except (KeyError, IndexError):
            return False

    def _at(self, ref: Ref) -> Interaction:
        return self.cassette.connection(ref[0]).interactions[ref[1]]

    # -- the walk ------------------------------------------------------------------

    def read(self) -> Flow:
        after = self._identify()
        order = _merge_order(self.cassette, after)
        for conn in self.cassette.connections:
            self.connections[conn.id] = ConnectionInfo(number=conn.id, ending=conn.ending)
        for ref in order:
            i = self._at(ref)
            try:
                self._interaction(ref, i)
            except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
                # a hand-edited cassette with values of the wrong type: say so, go on
                where = f"connection {ref[0]}, interaction {ref[1]}"
                self.events.append(
                    Notice(ref[0], i.channel, f"unreadable {i.method} ({where}): {exc}", "error")
                )
        for conn in self.cassette.connections:
            if conn.id in self._handshake:  # never finished the handshake
                self._flush_handshake(conn.id)
            if conn.id not in self.closed:
                self.events.append(
                    Closed(
                        conn.id,
                        conn.ending,
                        conn.heartbeats.c2s + conn.heartbeats.s2c,
                        conn.error,
                    )
                )
        header = self.cassette.header
        title = self.cassette.path.name if self.cassette.path is not None else "cassette"
        bits = []
        if header.upstream_product:
            bits.append(f"{header.upstream_product} {header.upstream_version or ''}".strip())
        if header.recorded_at is not None:
            bits.append(f"recorded {header.recorded_at.isoformat(sep=' ')}")
        if not self.cassette.complete:
            bits.append("INCOMPLETE recording")
        flow = Flow(
            title=title,
            events=self.events,
            messages=self.book.messages,
            rpc_calls=self.book.calls,
            connections=self.connections,
            exchange_types=self.exchange_types,
            summary=Summary(),
            subtitle=" · ".join(bits),
            notes=self.notes,
        )
        flow.summary = _summarize(
            flow,
            redactions=_count_redactions(self.cassette),
            heartbeats=sum(c.heartbeats.c2s + c.heartbeats.s2c for c in self.cassette),
        )
        return flow

    def _channel(self, conn: int, channel: int) -> _Channel:
        return self.channels.setdefault((conn, channel), _Channel())

    def _setup(
        self,
        conn: int,
        channel: int,
        item: str,
        queue: str | None = None,
        exchange: str | None = None,
    ) -> Setup:
        last = self.events[-1] if self.events else None
        if isinstance(last, Setup) and last.conn == conn and last.channel == channel:
            setup = last
        else:
            setup = Setup(conn, channel, [])
            self.events.append(setup)
        setup.items.append(item)
        if queue:
            setup.queues.add(queue)
        if exchange is not None:
            setup.exchanges.add(exchange)
        return setup

    def _interaction(self, ref: Ref, i: Interaction) -> None:
        conn = ref[0]
        if i.method in HANDSHAKE_METHODS:
            self._handshake.setdefault(conn, []).append(i)
            if i.method == "Connection.OpenOk":
                self._flush_handshake(conn)
            return
        handler = _CASSETTE_HANDLERS.get((i.dir, i.method))
        if handler is not None:
            handler(self, ref, i)
        elif i.method in _SILENT_REPLIES:
            return
        else:
            args = ", ".join(f"{k}={short(_text(v), 30)}" for k, v in i.args.items())
            who = "client" if i.dir == "c2s" else "server"
            self._setup(conn, i.channel, f"{i.method} ({who}{': ' + args if args else ''})")

    def _flush_handshake(self, conn: int) -> None:
        frames = self._handshake.pop(conn, [])
        client, user, vhost, name = "", None, "", None
        for i in frames:
            if i.method == "Connection.StartOk":
                props = _table(i.args.get("client_properties"))
                product = _text(props.get("product"))
                version = _text(props.get("version") or props.get("product_version"))
                client = f"{product} {version}".strip()
                name = _text(props.get("connection_name")) or None
                response = i.args.get("response")
                if isinstance(response, Mapping):
                    user = _text(response.get("LOGIN")) or None
                elif isinstance(response, str) and response.count("\x00") == 2:
                    user = response.split("\x00")[1] or None
            elif i.method == "Connection.Open":
                vhost = _text(i.args.get("virtual_host"))
        info = self.connections.setdefault(conn, ConnectionInfo(number=conn))
        info.client, info.user, info.vhost, info.name = client, user, vhost, name
        self.events.append(Connected(conn, client, vhost, user, len(frames)))

    # handlers -----------------------------------------------------------------------

    def _channel_open(self, ref: Ref, i: Interaction) -> None:
        self._setup(ref[0], i.channel, "channel open")

    def _channel_close(self, ref: Ref, i: Interaction) -> None:
        code = _num(i.args.get("reply_code"), 0)
        text = _text(i.args.get("reply_text"))
        if i.dir == "s2c" or code >= 300:
            who = "broker" if i.dir == "s2c" else "client"
            self.events.append(
                Notice(ref[0], i.channel, f"{who} closed the channel: {code} {text}", "error")
            )
        else:
            self._setup(ref[0], i.channel, "channel close")
        self._requeue_unacked(ref[0], i.channel, "channel closed")

    def _connection_close(self, ref: Ref, i: Interaction) -> None:
        code = _num(i.args.get("reply_code"), 0)
        if i.dir == "s2c" or code >= 300:
            who = "broker" if i.dir == "s2c" else "client"
            self.events.append(
                Notice(
                    ref[0],
                    0,
                    f"{who} closed the connection: {code} {_text(i.args.get('reply_text'))}",
                    "error",
                )
            )
        for conn, channel in list(self.channels):
            if conn == ref[0]:
                self._requeue_unacked(conn, channel, "connection closed")
        c = self.cassette.connection(ref[0])
        if ref[0] in self.closed:
            return
        self.closed.add(ref[0])
        self.events.append(Closed(ref[0], c.ending, c.heartbeats.c2s + c.heartbeats.s2c, c.error))

    def _requeue_unacked(self, conn: int, channel: int, because: str) -> None:
        state = self.channels.get((conn, channel))
        if state is None or not state.unacked:
            return
        tags = sorted(state.unacked)
        self.events.append(
            Settled(
                "nack",
                conn,
                channel,
                requeue=True,
                tags=tags,
                messages=[state.unacked[t][0] for t in tags],
                queues=sorted({state.unacked[t][1] for t in tags}),
                multiple=len(tags) > 1,
                because=because,
            )
        )
        state.unacked.clear()

    def _exchange_declare(self, ref: Ref, i: Interaction) -> None:
        name = _text(i.args.get("exchange"))
        kind = _text(i.args.get("exchange_type")) or "direct"
        flags = [f for f in ("durable", "auto_delete", "internal", "passive") if i.args.get(f)]
        extra = f", {', '.join(flags)}" if flags else ""
        args = _table(i.args.get("arguments"))
        if args:
            extra += ", " + ", ".join(f"{k}={short(_text(v), 24)}" for k, v in args.items())
        self._setup(ref[0], i.channel, f"declare exchange {name} ({kind}{extra})", exchange=name)

    def _queue_declare(self, ref: Ref, i: Interaction) -> None:
        name = _text(i.args.get("queue"))
        flags = [f for f in ("durable", "exclusive", "auto_delete", "passive") if i.args.get(f)]
        args = _table(i.args.get("arguments"))
        detail = flags + [f"{k}={short(_text(v), 24)}" for k, v in args.items()]
        text = f"declare queue {name or '(server-named)'}" + (
            f" ({', '.join(detail)})" if detail else ""
        )
        setup = self._setup(ref[0], i.channel, text, queue=name or None)
        state = self._channel(ref[0], i.channel)
        if name:
            self.known_queues.add(name)
            self.queue_args[name] = args
            state.last_queue = name
        if not i.args.get("nowait"):
            state.pending_declare.append((setup, len(setup.items) - 1, args))

    def _queue_declare_ok(self, ref: Ref, i: Interaction) -> None:
        name = _text(i.args.get("queue"))
        state = self._channel(ref[0], i.channel)
        state.last_queue = name
        self.known_queues.add(name)
        if state.pending_declare:
            setup, index, args = state.pending_declare.pop(0)
            if "(server-named)" in setup.items[index]:
                setup.items[index] = setup.items[index].replace(
                    "(server-named)", f"{name} (server-named)"
                )
                setup.queues.add(name)
                self.queue_args.setdefault(name, args)

    def _queue_name(self, ref: Ref, i: Interaction) -> str:
        name = _text(i.args.get("queue"))
        if not name:
            name = self._channel(ref[0], i.channel).last_queue or ""
        return name

    def _queue_bind(self, ref: Ref, i: Interaction) -> None:
        queue = self._queue_name(ref, i)
        exchange = _text(i.args.get("exchange"))
        key = _text(i.args.get("routing_key"))
        args = _table(i.args.get("arguments"))
        if i.method == "Queue.Bind":
            self.bindings.append((exchange, queue, key, args))
            verb = "bind"
        else:
            self.bindings = [b for b in self.bindings if b[:3] != (exchange, queue, key)]
            verb = "unbind"
        self.known_queues.add(queue)
        shown = f" {key!r}" if key else ""
        self._setup(
            ref[0],
            i.channel,
            f"{verb} {queue} to {exchange or '(default)'}{shown}",
            queue=queue,
            exchange=exchange,
        )

    def _exchange_bind(self, ref: Ref, i: Interaction) -> None:
        verb = "bind" if i.method == "Exchange.Bind" else "unbind"
        self._setup(
            ref[0],
            i.channel,
            f"{verb} exchange {_text(i.args.get('destination'))} to "
            f"{_text(i.args.get('source'))} {_text(i.args.get('routing_key'))!r}",
        )

    def _consume(self, ref: Ref, i: Interaction) -> None:
        queue = self._queue_name(ref, i)
        tag = _text(i.args.get("consumer_tag"))
        no_ack = bool(i.args.get("no_ack"))
        if queue == DIRECT_REPLY_TO or queue.startswith(DIRECT_REPLY_TO):
            queue = DIRECT_REPLY_TO
        else:
            self.known_queues.add(queue)
        if tag:
            self.consumers[(ref[0], tag)] = (queue, no_ack)
        if not i.args.get("nowait"):
            self._channel(ref[0], i.channel).pending_consume.append((queue, no_ack))
        flags = " (no-ack)" if no_ack else ""
        self._setup(ref[0], i.channel, f"consume {queue}{flags}", queue=queue)

    def _consume_ok(self, ref: Ref, i: Interaction) -> None:
        state = self._channel(ref[0], i.channel)
        if state.pending_consume:
            queue, no_ack = state.pending_consume.pop(0)
            self.consumers[(ref[0], _text(i.args.get("consumer_tag")))] = (queue, no_ack)

    def _cancel(self, ref: Ref, i: Interaction) -> None:
        tag = _text(i.args.get("consumer_tag"))
        queue = self.consumers.get((ref[0], tag), ("?", False))[0]
        who = "" if i.dir == "c2s" else " (by the broker)"
        self._setup(ref[0], i.channel, f"cancel consumer on {queue}{who}", queue=queue)

    def _qos(self, ref: Ref, i: Interaction) -> None:
        scope = " global" if i.args.get("global_") or i.args.get("global") else ""
        self._setup(ref[0], i.channel, f"qos prefetch={i.args.get('prefetch_count', 0)}{scope}")

    def _confirm_select(self, ref: Ref, i: Interaction) -> None:
        self._channel(ref[0], i.channel).confirming = True
        self._setup(ref[0], i.channel, "confirm.select")

    def _purge_delete(self, ref: Ref, i: Interaction) -> None:
        if i.method.startswith("Queue."):
            queue = self._queue_name(ref, i)
            verb = "purge" if i.method == "Queue.Purge" else "delete"
            self._setup(ref[0], i.channel, f"{verb} queue {queue}", queue=queue)
        else:
            name = _text(i.args.get("exchange"))
            self._setup(ref[0], i.channel, f"delete exchange {name}", exchange=name)

    def _predict(self, exchange: str, key: str, headers: Mapping[str, Any] | None) -> list[str]:
        """Queues the recorded bindings route to (the default exchange routes to the
        queue named by the key when the recording knows that queue)."""
        from amqpmock.fake.routing import EXCHANGE_TYPES

        if exchange == "":
            if key.startswith(DIRECT_REPLY_TO):
                return [DIRECT_REPLY_TO]
            return [key] if key in self.known_queues else []
        kind = self.exchange_types.get(exchange)
        factory = EXCHANGE_TYPES.get(kind or "")
        if factory is None:
            return []
        routing = factory()
        for source, queue, bkey, args in self.bindings:
            if source == exchange:
                routing.bind(queue, bkey, args)
        return sorted(str(q) for q in routing.match(key, headers))

    def _publish(self, ref: Ref, i: Interaction) -> None:
        conn = ref[0]
        exchange = _text(i.args.get("exchange"))
        key = _text(i.args.get("routing_key"))
        props = i.properties or {}
        info = self.book.add(exchange, key, props, i.body or b"", connection_id(conn))
        info.connections.add(conn)
        self.message_of[ref] = info.number
        headers = props.get("headers")
        queues = self._predict(exchange, key, headers if isinstance(headers, Mapping) else None)
        event = Published(
            message=info.number,
            publisher=info.publisher,
            exchange=exchange,
            routing_key=key,
            conn=conn,
            channel=i.channel,
            queues=queues,
            outcome=i.outcome or "unknown",
            mandatory=bool(i.args.get("mandatory")),
        )
        info.queues |= set(queues)
        if not queues and event.outcome in ("routed", "unknown"):
            event.outside = outside_id(_service(info, self.exchange_types))
            if exchange == "" and key and not key.startswith(DIRECT_REPLY_TO):
                info.queues.add(key)  # the default exchange names its queue
            if info.flavor == "reply" and info.rpc is not None:
                caller = self.book.calls[info.rpc - 1].caller
                if caller.startswith("outside:"):
                    event.outside = caller
        self.published_event[info.number] = event
        self.events.append(event)
        state = self._channel(conn, i.channel)
        if state.confirming:
            state.published += 1
            state.unconfirmed[state.published] = event

    def _confirm(self, ref: Ref, i: Interaction) -> None:
        state = self._channel(ref[0], i.channel)
        tag = _num(i.args.get("delivery_tag"), 0)
        if i.args.get("multiple"):
            tags = [t for t in state.unconfirmed if t <= tag]
        else:
            tags = [tag] if tag in state.unconfirmed else []
        for t in tags:
            state.unconfirmed.pop(t).confirm = "acked" if i.method == "Basic.Ack" else "nacked"

    def _return(self, ref: Ref, i: Interaction) -> None:
        number = self.message_of.get(i.source) if i.source is not None else None
        if number is None:
            info = self.book.add(
                _text(i.args.get("exchange")),
                _text(i.args.get("routing_key")),
                i.properties or {},
                i.body or b"",
                outside_id(OUTSIDE),
            )
            number = info.number
        info = self.book.messages[number]
        info.connections.add(ref[0])
        event = self.published_event.get(number)
        if event is not None:
            event.outcome = "returned"
            event.outside = None
        if info.rpc is not None and self.book.calls[info.rpc - 1].request == number:
            self.book.calls[info.rpc - 1].returned = True
        self.events.append(
            Returned(
                number,
                ref[0],
                i.channel,
                _text(i.args.get("exchange")),
                _num(i.args.get("reply_code"), 312),
                _text(i.args.get("reply_text")) or "NO_ROUTE",
            )
        )

    def _delivery_queue(self, ref: Ref, i: Interaction) -> tuple[str, bool]:
        state = self._channel(ref[0], i.channel)
        if i.method == "Basic.GetOk":
            return (state.pending_get.pop(0) if state.pending_get else "?"), False
        tag = _text(i.args.get("consumer_tag"))
        found = self.consumers.get((ref[0], tag))
        if found is not None:
            return found
        key = _text(i.args.get("routing_key"))
        if key.startswith(DIRECT_REPLY_TO):
            return DIRECT_REPLY_TO, True
        return "?", False

    def _get(self, ref: Ref, i: Interaction) -> None:
        queue = self._queue_name(ref, i)
        self._channel(ref[0], i.channel).pending_get.append(queue)
        self.get_no_ack.setdefault((ref[0], i.channel), []).append(bool(i.args.get("no_ack")))

    def _get_empty(self, ref: Ref, i: Interaction) -> None:
        state = self._channel(ref[0], i.channel)
        queue = state.pending_get.pop(0) if state.pending_get else "?"
        pending = self.get_no_ack.get((ref[0], i.channel))
        if pending:
            pending.pop(0)
        self._setup(ref[0], i.channel, f"get {queue}: empty", queue=queue)

    def _delivery(self, ref: Ref, i: Interaction) -> None:
        conn = ref[0]
        queue, no_ack = self._delivery_queue(ref, i)
        if i.method == "Basic.GetOk":
            pending = self.get_no_ack.get((ref[0], i.channel))
            no_ack = pending.pop(0) if pending else False
        first = self.groups.get(ref, ref)
        number = self.message_of.get(first)
        exchange = _text(i.args.get("exchange"))
        key = _text(i.args.get("routing_key"))
        props = i.properties or {}
        death = _first_death(props)
        if number is None:
            # published by nobody recorded: an outside service did
            info = self.book.add(exchange, key, props, i.body or b"", outside_id(OUTSIDE))
            number = info.number
            self.message_of[first] = number
            self.message_of[ref] = number
            published = Published(
                message=number,
                publisher=info.publisher,
                exchange=death[2] if death else exchange,
                routing_key=key,
                outcome="routed",
            )
            self.published_event[number] = published
            self.events.append(published)
        else:
            self.message_of[ref] = number
            info = self.book.messages[number]
            published = self.published_event[number]
        # where the publish went: the queue it died in, or this one
        reached = death[0] if death else queue
        if reached != "?" and reached not in published.queues:
            published.queues.append(reached)
            published.queues.sort()
        info.queues.add(reached)
        published.outside = None
        if published.outcome == "unknown":
            published.outcome = "routed"
        if death:
            self._dead_letter(info, death, queue)
        info.connections.add(conn)
        if queue != "?":
            info.queues.add(queue)
        tag = _num(i.args.get("delivery_tag"), None)
        self.events.append(
            Delivered(
                message=number,
                queue=queue,
                conn=conn,
                channel=i.channel,
                consumer=_text(i.args.get("consumer_tag")) or None,
                delivery_tag=tag,
                redelivered=bool(i.args.get("redelivered")),
                via_get=i.method == "Basic.GetOk",
                no_ack=no_ack,
            )
        )
        if tag is not None and not no_ack:
            self._channel(conn, i.channel).unacked[tag] = (number, queue)

    def _dead_letter(
        self, info: MessageInfo, death: tuple[str, str, str, int], queue: str
    ) -> None:
        """A delivery with ``x-death`` shows a dead-lettering: one event per death."""
        origin, reason, _, count = death
        key = (info.number, origin, reason, count)
        if key in self.deaths:
            return
        self.deaths.add(key)
        dlx = _text(self.queue_args.get(origin, {}).get("x-dead-letter-exchange"))
        self.events.append(
            DeadLettered(info.number, origin, reason, dlx or info.exchange, [queue])
        )

    def _settle(self, ref: Ref, i: Interaction) -> None:
        conn = ref[0]
        state = self._channel(conn, i.channel)
        action: Literal["ack", "nack", "reject"] = (
            "ack" if i.method == "Basic.Ack" else "nack" if i.method == "Basic.Nack" else "reject"
        )
        tag = _num(i.args.get("delivery_tag"), 0)
        multiple = bool(i.args.get("multiple")) and action != "reject"
        if multiple:
            tags = sorted(t for t in state.unacked if tag == 0 or t <= tag)
        else:
            tags = [tag] if tag in state.unacked else []
        found = [state.unacked.pop(t) for t in tags]
        if not tags:
            tags = [tag]
        requeue = action != "ack" and bool(i.args.get("requeue", True))
        self.events.append(
            Settled(
                action,
                conn,
                i.channel,
                requeue=requeue,
                tags=tags,
                messages=[m for m, _ in found],
                queues=sorted({q for _, q in found}),
                multiple=multiple,
            )
        )

    def _recover(self, ref: Ref, i: Interaction) -> None:
        if i.args.get("requeue", True):
            self._requeue_unacked(ref[0], i.channel, "recover")
        self._setup(ref[0], i.channel, "recover")


def _first_death(props: Mapping[str, Any]) -> tuple[str, str, str, int] | None:
    """(queue, reason, original exchange, count) of the latest ``x-death`` entry."""
    headers = props.get("headers")
    if not isinstance(headers, Mapping):
        return None
    deaths = headers.get("x-death")
    if not isinstance(deaths, list) or not deaths or not isinstance(deaths[0], Mapping):
        return None
    death = deaths[0]
    count = death.get("count")
    return (
        _text(death.get("queue")),
        _text(death.get("reason")),
        _text(death.get("exchange")),
        int(count) if isinstance(count, int) else 1,
    )


def _reader_simple(text: str) -> Callable[[_CassetteReader, Ref, Interaction], None]:
    def handler(reader: _CassetteReader, ref: Ref, i: Interaction) -> None:
        reader._setup(ref[0], i.channel, text)

    return handler


_CASSETTE_HANDLERS: dict[tuple[str, str], Callable[[_CassetteReader, Ref, Interaction], None]] = {
    ("c2s", "Channel.Open"): _CassetteReader._channel_open,
    ("c2s", "Channel.Close"): _CassetteReader._channel_close,
    ("s2c", "Channel.Close"): _CassetteReader._channel_close,
    ("c2s", "Channel.Flow"): _reader_simple("flow (client)"),
    ("s2c", "Channel.Flow"): _reader_simple("flow (broker)"),
    ("c2s", "Connection.Close"): _CassetteReader._connection_close,
    ("s2c", "Connection.Close"): _CassetteReader._connection_close,
    ("s2c", "Connection.Blocked"): _reader_simple("connection blocked by the broker"),
    ("s2c", "Connection.Unblocked"): _reader_simple("connection unblocked"),
    ("c2s", "Exchange.Declare"): _CassetteReader._exchange_declare,
    ("c2s", "Exchange.Delete"): _CassetteReader._purge_delete,
    ("c2s", "Exchange.Bind"): _CassetteReader._exchange_bind,
    ("c2s", "Exchange.Unbind"): _CassetteReader._exchange_bind,
    ("c2s", "Queue.Declare"): _CassetteReader._queue_declare,
    ("s2c", "Queue.DeclareOk"): _CassetteReader._queue_declare_ok,
    ("c2s", "Queue.Bind"): _CassetteReader._queue_bind,
    ("c2s", "Queue.Unbind"): _CassetteReader._queue_bind,
    ("c2s", "Queue.Purge"): _CassetteReader._purge_delete,
    ("c2s", "Queue.Delete"): _CassetteReader._purge_delete,
    ("c2s", "Basic.Qos"): _CassetteReader._qos,
    ("c2s", "Basic.Consume"): _CassetteReader._consume,
    ("s2c", "Basic.ConsumeOk"): _CassetteReader._consume_ok,
    ("c2s", "Basic.Cancel"): _CassetteReader._cancel,
    ("s2c", "Basic.Cancel"): _CassetteReader._cancel,
    ("c2s", "Basic.Publish"): _CassetteReader._publish,
    ("s2c", "Basic.Return"): _CassetteReader._return,
    ("s2c", "Basic.Deliver"): _CassetteReader._delivery,
    ("c2s", "Basic.Get"): _CassetteReader._get,
    ("s2c", "Basic.GetOk"): _CassetteReader._delivery,
    ("s2c", "Basic.GetEmpty"): _CassetteReader._get_empty,
    ("s2c", "Basic.Ack"): _CassetteReader._confirm,
    ("s2c", "Basic.Nack"): _CassetteReader._confirm,
    ("c2s", "Basic.Ack"): _CassetteReader._settle,
    ("c2s", "Basic.Nack"): _CassetteReader._settle,
    ("c2s", "Basic.Reject"): _CassetteReader._settle,
    ("c2s", "Basic.Recover"): _CassetteReader._recover,
    ("c2s", "Basic.RecoverAsync"): _CassetteReader._recover,
    ("c2s", "Confirm.Select"): _CassetteReader._confirm_select,
    ("c2s", "Tx.Select"): _reader_simple("tx.select"),
    ("c2s", "Tx.Commit"): _reader_simple("tx.commit"),
    ("c2s", "Tx.Rollback"): _reader_simple("tx.rollback"),
}


def flow_from_cassette(cassette: Cassette) -> Flow:
    """The flow of a recorded cassette (see the module docstring for how it reads)."""
    return _CassetteReader(cassette).read()


# --- from a test's broker traffic ------------------------------------------------------


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

    def listener(self, event: str, data: dict[str, Any]) -> None:
        conn = data.get("connection")
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


# --- summary ------------------------------------------------------------------------


def _summarize(flow: Flow, redactions: int = 0, heartbeats: int = 0) -> Summary:
    s = Summary(redactions=redactions, heartbeats=heartbeats)
    s.connections = len(flow.connections)
    channels: set[tuple[int, int]] = set()
    for event in flow.events:
        conn = getattr(event, "conn", None)
        channel = getattr(event, "channel", None)
        if isinstance(conn, int) and isinstance(channel, int) and channel > 0:
            channels.add((conn, channel))
        if isinstance(event, Delivered):
            s.deliveries += 1
        elif isinstance(event, Settled):
            count = max(1, len(event.messages))
            if event.action == "ack":
                s.acks += count
            else:
                if not event.because:
                    s.nacks += count
                if event.requeue:
                    s.requeues += count
        elif isinstance(event, Returned):
            s.returns += 1
        elif isinstance(event, DeadLettered):
            s.dead_letters += 1
    s.channels = len(channels)
    s.messages = len(flow.messages)
    s.from_outside = sum(1 for m in flow.messages.values() if m.outside)
    s.published = s.messages - s.from_outside
    s.rpc_calls = len(flow.rpc_calls)
    s.rpc_answered = sum(1 for c in flow.rpc_calls if c.replies)
    s.casts = sum(1 for m in flow.messages.values() if m.flavor == "cast")
    s.fanout_casts = sum(1 for m in flow.messages.values() if m.flavor == "fanout_cast")
    return s
