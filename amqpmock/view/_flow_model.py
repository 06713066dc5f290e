"""The flow model: events, messages, RPC calls, ``Flow`` and its ``Summary``, and
participant ids (runs of repeated events are ``_flow_repeats``).

Built by the two front ends (``_flow_cassette``, ``_flow_records``); drawn by
``timeline`` and ``diagram``. The rules are in ``amqpmock.view.flows``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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
    body_digest: str = ""
    """Equal for equal bodies (see ``_flow_classify.body_digest``)."""
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
        for number in event_messages(event):
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
        for number in event_messages(event):
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
        numbers = {n for e in kept for n in event_messages(e)}
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


def event_messages(event: Event) -> list[int]:
    if isinstance(event, Published | Delivered | Returned | DeadLettered):
        return [event.message]
    if isinstance(event, Settled):
        return list(event.messages)
    return []


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
