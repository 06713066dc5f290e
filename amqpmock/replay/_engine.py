"""The replay engine: plays a cassette's outside world into a live fake broker.

Rules this module keeps:
- The fake broker does protocol, routing, tags and names live; the engine only supplies
  what other parties did while recording: messages that reached the recorded clients
  but were published by none of them (RPC replies, events, fanout casts).
- Each such message is injected when its cause recurs: a reply when the live client
  publishes the matching request; any other outside event once the live session has
  done what the recorded client had done before it arrived, through the exchange it
  came through (``_causal`` has the rule).
- Live values replace recorded ones symbolically (queue names, correlation ids,
  reply-to names, oslo ``_msg_id``...), learned when a live value meets its recorded
  twin.
- A live publish that matches nothing is an error that names the nearest recorded
  candidates and the fields that differ; its channel is closed with 406 so the client
  fails fast. Recorded publishes never replayed are reported at the end.
- The engine runs on the broker's thread, driven by broker events (listener), and
  changes the broker only through ``Broker.defer`` / ``inject`` / ``publish``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pamqp.commands import Basic

from amqpmock.cassette import REDACTED, Cassette, Interaction
from amqpmock.errors import PRECONDITION_FAILED, AMQPMockError, ChannelError
from amqpmock.fake import DIRECT_REPLY_TO, Broker, CoreConnection
from amqpmock.fake.model import Message
from amqpmock.replay._causal import LiveProgress, build_events
from amqpmock.replay._methods import (
    ALL_KINDS,
    SETTLE_METHODS,
    MessageKey,
    Step,
    field_problems,
    pamqp_args,
    recorded_steps,
    resolve_compare,
    settled,
    step_fields,
)
from amqpmock.replay._report import StepMismatch, fold_mismatches, unused_lines
from amqpmock.replay._values import (
    VOLATILE_PROPERTIES,
    body_key,
    learn_pairs,
    parse_json,
    redacted_match,
    shape,
    substitute,
)

# A matcher compares a live publish with a recorded one and raises AssertionError
# (``"routing_key: 'a' != 'b'"``) when they differ.
Matcher = Callable[["PublishRecord", "PublishRecord"], None]


class ReplayError(AMQPMockError):
    """A replay problem: an unmatched publish, or recorded interactions never replayed."""


@dataclass
class PublishRecord:
    """A publish, live or recorded, in the form matchers compare."""

    exchange: str
    routing_key: str
    properties: dict[str, Any]
    body: bytes
    ignore_fields: frozenset[str] = frozenset()
    where: str = ""

    @property
    def headers(self) -> dict[str, Any]:
        headers = self.properties.get("headers") or {}
        return dict(headers) if isinstance(headers, dict) else {}

    def describe(self) -> str:
        body = self.body[:100].decode("utf-8", "replace")
        return (
            f"{self.where}exchange={self.exchange!r} routing_key={self.routing_key!r} "
            f"body={body!r}"
        )


def match_exchange(live: PublishRecord, rec: PublishRecord) -> None:
    if live.exchange != rec.exchange and shape(live.exchange) != shape(rec.exchange):
        raise AssertionError(f"exchange: {live.exchange!r} != {rec.exchange!r}")


def match_routing_key(live: PublishRecord, rec: PublishRecord) -> None:
    if shape(live.routing_key) != shape(rec.routing_key):
        raise AssertionError(f"routing_key: {live.routing_key!r} != {rec.routing_key!r}")


def match_properties(live: PublishRecord, rec: PublishRecord) -> None:
    ignore = live.ignore_fields | rec.ignore_fields
    for name in sorted(set(live.properties) | set(rec.properties)):
        if name in VOLATILE_PROPERTIES or name == "headers" or f"properties.{name}" in ignore:
            continue
        a, b = live.properties.get(name), rec.properties.get(name)
        if a in (None, "") and b in (None, ""):
            continue  # an empty short string is how some clients send "absent"
        if not redacted_match(a, b):
            raise AssertionError(f"properties.{name}: {a!r} != {b!r}")


def match_headers(live: PublishRecord, rec: PublishRecord) -> None:
    a, b = live.headers, rec.headers
    ignore = live.ignore_fields | rec.ignore_fields
    for name in sorted(set(a) | set(b)):
        if f"headers.{name}" in ignore:
            continue
        x, y = a.get(name), b.get(name)
        if isinstance(x, str) and isinstance(y, str) and REDACTED not in y:
            x, y = shape(x), shape(y)
        if not redacted_match(x, y):
            raise AssertionError(f"headers.{name}: {a.get(name)!r} != {b.get(name)!r}")


def match_body(live: PublishRecord, rec: PublishRecord) -> None:
    ignore = live.ignore_fields | rec.ignore_fields
    a, b = body_key(live.body, ignore), body_key(rec.body, ignore)
    if not redacted_match(a, b):
        raise AssertionError(f"body: {_diff_text(a, b)}")


def _diff_text(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a:
                return f"{path}/{key} missing (recorded {b[key]!r})"
            if key not in b:
                return f"{path}/{key} unexpected ({a[key]!r})"
            if not redacted_match(a[key], b[key]):
                return _diff_text(a[key], b[key], f"{path}/{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if not redacted_match(x, y):
                return _diff_text(x, y, f"{path}[{i}]")
    return f"{path or 'value'}: {a!r} != {b!r}"


BUILTIN_MATCHERS: dict[str, Matcher] = {
    "exchange": match_exchange,
    "routing_key": match_routing_key,
    "properties": match_properties,
    "headers": match_headers,
    "body": match_body,
}
# strict: a changed header or content type is a changed message (relax a header with
# ignore_fields=["headers.NAME"], or match_on without "headers")
DEFAULT_MATCH_ON = ("exchange", "routing_key", "properties", "headers", "body")


@dataclass
class OutsideMessage:
    """A message a recorded client received that no recorded connection published."""

    connection: int
    index: int
    queue: str  # the recorded queue it was delivered from ('amq.rabbitmq.reply-to' too)
    exchange: str
    routing_key: str
    properties: dict[str, Any]
    body: bytes
    injected: int = 0
    cause_count: int = 0  # causes its connection had recorded before it (``_causal``)


@dataclass
class RecordedPublish:
    connection: int
    index: int
    record: PublishRecord
    replies: list[OutsideMessage] = field(default_factory=list)
    replayed: int = 0


@dataclass
class Plan:
    """What the engine reads off a cassette."""

    publishes: list[RecordedPublish] = field(default_factory=list)
    unsolicited: dict[str, list[OutsideMessage]] = field(default_factory=dict)
    declared_queues: list[str] = field(default_factory=list)

    @property
    def outside_count(self) -> int:
        return sum(len(p.replies) for p in self.publishes) + sum(
            len(v) for v in self.unsolicited.values()
        )


def _correlates(request: RecordedPublish, reply: OutsideMessage) -> bool:
    """Is ``reply`` the answer to ``request``? (AMQP-native or oslo.messaging)"""
    props = request.record.properties
    reply_to = props.get("reply_to")
    cid = props.get("correlation_id")
    addressed = bool(reply_to) and (
        reply.queue in (reply_to, DIRECT_REPLY_TO) or reply.routing_key == reply_to
    )
    if addressed and (cid is None or reply.properties.get("correlation_id") == cid):
        return True
    req, rep = parse_json(request.record.body), parse_json(reply.body)
    if isinstance(req, dict) and isinstance(rep, dict):
        req_msg, rep_msg = req.get("oslo.message", req), rep.get("oslo.message", rep)
        if isinstance(req_msg, dict) and isinstance(rep_msg, dict):
            msg_id = req_msg.get("_msg_id")
            return msg_id is not None and rep_msg.get("_msg_id") == msg_id
    return False


def build_plan(cassette: Cassette, ignore_fields: frozenset[str] = frozenset()) -> Plan:
    plan = Plan()
    outside: list[OutsideMessage] = []
    for conn in cassette.connections:
        consumers: dict[str, str] = {}  # consumer tag -> queue
        pending_consume: dict[int, list[str]] = {}  # channel -> queues awaiting ConsumeOk
        pending_get: dict[int, list[str]] = {}
        for index, item in enumerate(conn.interactions):
            args = item.args
            if item.dir == "c2s":
                if item.method == "Basic.Consume":
                    tag = str(args.get("consumer_tag") or "")
                    queue = str(args.get("queue", ""))
                    if tag:
                        consumers[tag] = queue
                    pending_consume.setdefault(item.channel, []).append(queue)
                elif item.method == "Basic.Get":
                    pending_get.setdefault(item.channel, []).append(str(args.get("queue", "")))
                elif item.method == "Basic.Publish":
                    plan.publishes.append(
                        RecordedPublish(
                            conn.id,
                            index,
                            PublishRecord(
                                str(args.get("exchange", "")),
                                str(args.get("routing_key", "")),
                                dict(item.properties or {}),
                                item.body or b"",
                                ignore_fields,
                                f"connection {conn.id} #{index}: ",
                            ),
                        )
                    )
                continue
            if item.method == "Basic.ConsumeOk":
                queues = pending_consume.get(item.channel) or [""]
                consumers[str(args.get("consumer_tag", ""))] = queues.pop(0) if queues else ""
            elif item.method == "Queue.DeclareOk":
                plan.declared_queues.append(str(args.get("queue", "")))
            elif item.method in ("Basic.Deliver", "Basic.GetOk", "Basic.GetEmpty"):
                if item.method in ("Basic.GetOk", "Basic.GetEmpty"):
                    gets = pending_get.get(item.channel) or [""]
                    queue = gets.pop(0) if gets else ""
                else:
                    queue = consumers.get(str(args.get("consumer_tag", "")), "")
                if item.method != "Basic.GetEmpty" and item.origin == "outside":
                    outside.append(_outside(conn.id, index, queue, item))
    for message in outside:
        for request in reversed(plan.publishes):
            if _correlates(request, message):
                request.replies.append(message)
                break
        else:
            plan.unsolicited.setdefault(message.queue, []).append(message)
    return plan


def _outside(conn_id: int, index: int, queue: str, item: Interaction) -> OutsideMessage:
    return OutsideMessage(
        conn_id,
        index,
        queue,
        str(item.args.get("exchange", "")),
        str(item.args.get("routing_key", "")),
        dict(item.properties or {}),
        item.body or b"",
    )


@dataclass
class Mismatch:
    live: PublishRecord
    candidates: list[tuple[RecordedPublish, list[str]]]
    recorded: int = 0  # publishes in the cassette
    used_up: list[RecordedPublish] = field(default_factory=list)  # would match, played

    def explain(self) -> str:
        lines = [f"no recorded publish matches {self.live.describe()}"]
        if self.used_up:
            first = self.used_up[0].record.describe()
            lines.append(
                f"  it matches {len(self.used_up)} recorded publish(es) already replayed, "
                f"e.g. {first}: the test publishes it more often than the recording did "
                "(allow_playback_repeats=True lets a recorded publish answer again)"
            )
        elif self.recorded == 0:
            lines.append("  the cassette has no publishes")
        elif not self.candidates:
            lines.append(f"  all {self.recorded} recorded publishes were already replayed")
        for rec, problems in self.candidates:
            lines.append(f"  nearest: {rec.record.describe()}")
            lines.extend(f"    - {p}" for p in problems)
        return "\n".join(lines)


class ReplayEngine:
    """Attach to a broker; ``report()`` at the end says what did not replay."""

    def __init__(
        self,
        broker: Broker,
        cassette: Cassette,
        *,
        match_on: Sequence[str] = DEFAULT_MATCH_ON,
        matchers: Mapping[str, Matcher] | None = None,
        ignore_fields: Sequence[str] = (),
        allow_playback_repeats: bool = False,
        vhost: str = "/",
        compare: Sequence[str] = ALL_KINDS,
        ignore_args: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.broker = broker
        self.cassette = cassette
        self.ignore_fields = frozenset(ignore_fields)
        self.plan = build_plan(cassette, self.ignore_fields)
        available = dict(BUILTIN_MATCHERS)
        available.update(matchers or {})
        unknown = [name for name in match_on if name not in available]
        if unknown:
            raise ReplayError(f"unknown matcher(s) {unknown}; known: {sorted(available)}")
        self.matchers = [(name, available[name]) for name in match_on]
        try:
            methods, self.ignore_args = resolve_compare(compare, ignore_args or {})
        except ValueError as exc:
            raise ReplayError(str(exc)) from None
        self.compare_publishes = "publish" in compare
        self.steps = recorded_steps(cassette, methods)
        self._steps_by_method: dict[str, list[Step]] = {}
        for step in self.steps:
            pool = "settle" if step.method in SETTLE_METHODS else step.method
            self._steps_by_method.setdefault(pool, []).append(step)
        self._compared = methods
        self.allow_playback_repeats = allow_playback_repeats
        self.vhost = vhost
        self.mapping: dict[str, str] = {}
        self.mismatches: list[Mismatch | StepMismatch] = []
        self._declared = list(self.plan.declared_queues)
        unsolicited = [m for queue in self.plan.unsolicited.values() for m in queue]
        self.events = build_events(cassette, unsolicited, self.plan.publishes)
        self._progress = LiveProgress()
        self._interceptors = []
        # publishes that reached consumers outside the recording count as routed
        for exchange, pattern in sorted(self._outside_targets()):
            self._interceptors.append(broker.intercept(exchange, pattern, _ignore, vhost))
        broker.listeners.append(self._on_event)
        broker.method_observers.append(self._on_method)

    def close(self) -> None:
        if self._on_event in self.broker.listeners:
            self.broker.listeners.remove(self._on_event)
        if self._on_method in self.broker.method_observers:
            self.broker.method_observers.remove(self._on_method)
        for interceptor in self._interceptors:
            interceptor.remove()

    def _outside_targets(self) -> set[tuple[str, str]]:
        targets: set[tuple[str, str]] = set()
        delivered: set[tuple[int, int]] = set()
        for _conn, _index, item in self.cassette.interactions():
            if item.source is not None and item.method in ("Basic.Deliver", "Basic.GetOk"):
                delivered.add(item.source)
        for pub in self.plan.publishes:
            item = self.cassette.connection(pub.connection).interactions[pub.index]
            routed = item.outcome in ("routed", None, "unknown")
            if pub.replies or (routed and (pub.connection, pub.index) not in delivered):
                targets.add((pub.record.exchange, _pattern(pub.record.routing_key)))
        return targets

    # --- events from the live broker ---------------------------------------------------

    def _on_event(self, event: str, data: dict[str, Any]) -> None:
        if event == "queue_declared":
            self._learn_queue(data["queue"].name)
        elif event == "published":
            conn = data.get("connection")
            if isinstance(conn, CoreConnection) and conn is not self.broker._system:
                self._on_publish(data["message"], conn, int(data.get("channel", 0)))
        elif event == "queue_bound":
            bind = (data["queue"].name, data["exchange"].name, str(data["routing_key"]))
            self._progress.binds.append(bind)
            self.broker.defer(self._release)
        elif event == "consumer_added":
            self._progress.takes.add(data["queue"].name)
            self.broker.defer(self._release)
        elif event == "get_requested":
            # a polling client (basic.get) finds what the recording's outside world had
            # put in that queue; at once, as the get reads the queue next
            self._progress.takes.add(data["queue"].name)
            self._release()

    def _on_method(self, conn: CoreConnection, ch: Any, method: Any) -> None:
        """A client method other than a publish, before the broker handles it: it must
        be one the recording has. A declare, bind, qos... that is not is refused with
        406 (the client fails fast, as for a publish); a settlement that is not is
        noted and let through (refusing it would only redeliver the message)."""
        name = method.name
        if name == "Basic.Consume" and method.queue == DIRECT_REPLY_TO:
            # the channel's own reply consumer: no queue, so no consumer_added event;
            # outside events recorded after it wait for it
            self._progress.takes.add(DIRECT_REPLY_TO)
            self.broker.defer(self._release)
        if name not in self._compared or conn is self.broker._system:
            return
        if name in SETTLE_METHODS:
            tag = int(method.delivery_tag)
            multiple = name != "Basic.Reject" and bool(method.multiple)
            if multiple:
                by_tag = {t: _message_key(u) for t, u in ch.unacked.items()}
            else:
                record = ch.unacked.get(tag)
                by_tag = {tag: _message_key(record)} if record is not None else {}
            for message in settled(by_tag, tag, multiple):
                fields: dict[str, Any] = {"message": message}
                if name != "Basic.Ack":
                    fields["requeue"] = bool(method.requeue)
                self._match_step(Step(name, fields, conn.number), "settle")
            return
        if name == "Basic.Cancel":
            consumer = ch.consumers.get(method.consumer_tag)
            if consumer is not None:
                fields = {"queue": consumer.queue.name}
            elif method.consumer_tag and method.consumer_tag == ch.reply_consumer:
                fields = {"queue": DIRECT_REPLY_TO}  # its consumer is the channel's own
            else:
                fields = {"queue": ""}
        else:
            fields = step_fields(name, pamqp_args(method))
        if not self._match_step(Step(name, fields, conn.number), name):
            raise ChannelError(
                PRECONDITION_FAILED,
                f"amqpmock replay: this {name} is not in the recording "
                f"({Step(name, fields).describe()})"[:250],
            )

    def _match_step(self, live: Step, pool_name: str) -> bool:
        pool = self._steps_by_method.get(pool_name, [])
        candidates: list[tuple[Step, list[str]]] = []
        for rec in pool:
            if rec.played and not self.allow_playback_repeats:
                continue
            problems = self._step_problems(live, rec)
            if not problems:
                rec.played += 1
                if rec.method == "Queue.Declare":
                    self._learn_names(rec, live)
                return True
            candidates.append((rec, problems))

        def nearness(pair: tuple[Step, list[str]]) -> tuple[int, int]:
            # a settlement's nearest is one of a message from the same place
            a, b = live.fields.get("message"), pair[0].fields.get("message")
            same_place = not isinstance(a, MessageKey) or (
                isinstance(b, MessageKey)
                and shape(a.exchange) == shape(b.exchange)
                and shape(a.routing_key) == shape(b.routing_key)
            )
            return (0 if same_place else 1, len(pair[1]))

        candidates.sort(key=nearness)
        # the nearest only: those as near as the best one
        candidates = [c for c in candidates if nearness(c) == nearness(candidates[0])]
        used_up = [rec for rec in pool if rec.played and not self._step_problems(live, rec)]
        self.mismatches.append(StepMismatch(live, candidates[:2], used_up, len(pool)))
        return False

    def _step_problems(self, live: Step, rec: Step) -> list[str]:
        ignore = self.ignore_args.get(rec.method, frozenset())
        return field_problems(live, rec, self._same, ignore, self.ignore_fields)

    def _learn_names(self, rec: Step, live: Step) -> None:
        a, b = rec.fields.get("queue"), live.fields.get("queue")
        if isinstance(a, str) and isinstance(b, str) and a and b and a != b:
            self.mapping.setdefault(a, b)

    def _learn_queue(self, live: str) -> None:
        for i, recorded in enumerate(self._declared):
            if recorded == live:
                del self._declared[i]
                return
            if shape(recorded) == shape(live) and recorded != shape(recorded):
                del self._declared[i]
                self.mapping.setdefault(recorded, live)
                return

    def _on_publish(self, message: Message, conn: CoreConnection, channel: int) -> None:
        live = PublishRecord(
            message.exchange,
            message.routing_key,
            _props(message.properties),
            message.body,
            self.ignore_fields,
            "live publish: ",
        )
        best: list[tuple[RecordedPublish, list[str]]] = []
        for rec in self.plan.publishes:
            if rec.replayed and not self.allow_playback_repeats:
                continue
            problems = self._compare(live, rec.record)
            if not problems:
                rec.replayed += 1
                pairs = self._learn(live, rec.record)
                self.broker.defer(partial(self._inject_replies, rec.replies, live, pairs))
                if self.events:
                    self.broker.defer(self._release)
                return
            best.append((rec, problems))
        if not self.compare_publishes:
            return

        def nearness(pair: tuple[RecordedPublish, list[str]]) -> tuple[int, int]:
            rec = pair[0].record
            same_place = shape(rec.exchange) == shape(live.exchange) and shape(
                rec.routing_key
            ) == shape(live.routing_key)
            return (0 if same_place else 1, len(pair[1]))

        best.sort(key=nearness)
        best = [pair for pair in best if nearness(pair) == nearness(best[0])] if best else []
        used_up = [
            rec
            for rec in self.plan.publishes
            if rec.replayed
            and not self.allow_playback_repeats
            and not self._compare(live, rec.record)
        ]
        mismatch = Mismatch(live, best[:3], len(self.plan.publishes), used_up)
        self.mismatches.append(mismatch)
        error = ChannelError(
            PRECONDITION_FAILED,
            "amqpmock replay: no recorded publish matches "
            f"exchange={message.exchange!r} routing_key={message.routing_key!r}"[:200],
        )
        self.broker.defer(lambda: conn._channel_error(channel, error, Basic.Publish()))

    def _compare(self, live: PublishRecord, rec: PublishRecord) -> list[str]:
        problems = []
        for _name, matcher in self.matchers:
            try:
                matcher(live, rec)
            except AssertionError as exc:
                problems.append(str(exc))
        return problems

    def _learn(self, live: PublishRecord, rec: PublishRecord) -> dict[str, str]:
        """Pair this publish's recorded volatile values with its live ones; the pairs
        also join the session's mapping (first seen wins there), and are returned so
        that this request's replies carry this request's values (a repeat included)."""
        pairs: dict[str, str] = {}
        for name in VOLATILE_PROPERTIES:
            a, b = rec.properties.get(name), live.properties.get(name)
            if isinstance(a, str) and isinstance(b, str) and a != b:
                pairs.setdefault(a, b)
        learn_pairs(rec.routing_key, live.routing_key, pairs)
        learn_pairs(parse_json(rec.body), parse_json(live.body), pairs)
        for old, new in pairs.items():
            self.mapping.setdefault(old, new)
        return pairs

    # --- injection -----------------------------------------------------------------------

    def _inject_replies(
        self, replies: list[OutsideMessage], live: PublishRecord, pairs: dict[str, str]
    ) -> None:
        mapping = {**self.mapping, **pairs}  # this request's ids win over earlier ones
        for message in replies:
            message.injected += 1
            self._inject(message, live.properties.get("reply_to"), mapping)

    def _same(self, recorded: str, live: str) -> bool:
        """Does a live name stand for a recorded one? (learned, or of the same shape)"""
        if live == self.mapping.get(recorded, recorded):
            return True
        return recorded != shape(recorded) and shape(recorded) == shape(live)

    def _release(self) -> None:
        """Inject the outside events whose recorded causes have all happened live."""
        for event in self.events:
            if event.injected or not self._progress.ready(event, self.events.timeline, self._same):
                continue
            event.injected += 1
            for delivery in event.deliveries:
                delivery.injected += 1
            if not event.via_exchange:
                for delivery in event.deliveries:
                    self._inject(delivery, None)
                continue
            mapping = self.mapping
            props = substitute(event.properties, mapping)
            self.broker.publish(
                substitute(event.exchange, mapping),
                substitute(event.routing_key, mapping),
                substitute(event.body, mapping),
                Basic.Properties(**_pamqp_props(props)),
            )

    def _inject(
        self, message: OutsideMessage, live_reply_to: Any, mapping: dict[str, str] | None = None
    ) -> None:
        mapping = self.mapping if mapping is None else mapping
        props = substitute(message.properties, mapping)
        body = substitute(message.body, mapping)
        routing_key = substitute(message.routing_key, mapping)
        exchange = substitute(message.exchange, mapping)
        properties = Basic.Properties(**_pamqp_props(props))
        if message.queue == DIRECT_REPLY_TO and isinstance(live_reply_to, str):
            # direct reply-to: deliver through the live pseudo-queue name
            self.broker.publish("", live_reply_to, body, properties)
            return
        queue = substitute(message.queue, mapping)
        self.broker.inject(queue, exchange, routing_key, body, properties, self.vhost)

    # --- the end ----------------------------------------------------------------------

    def unused(self) -> list[str]:
        """Recorded interactions that were never replayed, folded, each with why."""
        return unused_lines(self)

    def report(self, allow_unused: bool = False, skip_mismatches: int = 0) -> str | None:
        """A failure text, or None when the replay went as recorded (``skip_mismatches``:
        the first ones were reported already)."""
        parts = fold_mismatches(self.mismatches[skip_mismatches:])
        unused = self.unused()
        if unused and not allow_unused:
            parts.append(
                "recorded interactions never replayed:\n"
                + "\n".join(f"  {line}" for line in unused)
            )
        if not parts:
            return None
        where = f" ({self.cassette.path})" if self.cassette.path else ""
        return f"cassette replay{where} failed:\n" + "\n".join(parts)


def _message_key(record: Any) -> MessageKey:
    message = record.entry.message
    return MessageKey(message.exchange, message.routing_key, message.body)


def _ignore(message: Message) -> None:
    """Interceptor handler for outside consumers: the engine reacts to the publish
    through its listener, so nothing to do here."""


def _pattern(routing_key: str) -> str:
    """A topic pattern that matches the routing key's shape (volatile words wildcarded)."""
    words = routing_key.split(".") if routing_key else []
    if not words:
        return ""
    out = []
    for word in words:
        out.append("*" if shape(word) != word else word)
    pattern = ".".join(out)
    # a volatile token may itself contain dots (reply-to names): fall back to '#'
    return "#" if shape(routing_key) != routing_key and "*" not in pattern else pattern


def _props(props: Basic.Properties) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in Basic.Properties.__slots__:
        value = getattr(props, name)
        if value is not None:
            out[name] = value
    return out


def _pamqp_props(props: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in props.items():
        if name in Basic.Properties.__slots__:
            out[name] = value
    return out
