"""The client's side of the story beyond publishes: declares, binds, deletes, purges,
qos, confirm/tx selects, consumes, cancels and settlements, recorded and live.

Rules this module keeps:
- Every client method of a compared kind is a *step*: its method name and the fields
  that say what it does (``durable``, ``routing_key``, ``prefetch_count``...), never the
  fields that differ every run (consumer tags, delivery tags, ``nowait``).
- Settlements are steps per message: an ack with ``multiple`` (or a nack) settles every
  outstanding delivery up to its tag, and each settled message is one step naming the
  message (exchange, routing key, body) and how it was settled, so a client that
  batches acks differently from one run to the next still replays.
- A live step matches an unplayed recorded step with the same method and equal fields
  (names by shape, as publishes are matched); the replay engine decides what a miss
  does. Pure: no broker calls here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pamqp import commands as _pamqp_commands

from amqpmock.cassette import Cassette
from amqpmock.replay._values import body_key, redacted_match, shape

# The kinds users name in ``compare`` / ``ignore_args``, and the methods of each.
KINDS: dict[str, tuple[str, ...]] = {
    "declare": ("Exchange.Declare", "Queue.Declare"),
    "bind": ("Exchange.Bind", "Exchange.Unbind", "Queue.Bind", "Queue.Unbind"),
    "delete": ("Exchange.Delete", "Queue.Delete"),
    "purge": ("Queue.Purge",),
    "qos": ("Basic.Qos",),
    "confirm": ("Confirm.Select",),
    "tx": ("Tx.Select", "Tx.Commit", "Tx.Rollback"),
    "consume": ("Basic.Consume",),
    "cancel": ("Basic.Cancel",),
    "settle": ("Basic.Ack", "Basic.Nack", "Basic.Reject"),
}
ALL_KINDS: tuple[str, ...] = ("publish", *KINDS)
SETTLE_METHODS = frozenset(KINDS["settle"])

# What each method's step compares (pamqp's argument names).
FIELDS: dict[str, tuple[str, ...]] = {
    "Exchange.Declare": (
        "exchange",
        "exchange_type",
        "passive",
        "durable",
        "auto_delete",
        "internal",
        "arguments",
    ),
    "Queue.Declare": ("queue", "passive", "durable", "exclusive", "auto_delete", "arguments"),
    "Exchange.Bind": ("destination", "source", "routing_key", "arguments"),
    "Exchange.Unbind": ("destination", "source", "routing_key", "arguments"),
    "Queue.Bind": ("queue", "exchange", "routing_key", "arguments"),
    "Queue.Unbind": ("queue", "exchange", "routing_key", "arguments"),
    "Exchange.Delete": ("exchange", "if_unused"),
    "Queue.Delete": ("queue", "if_unused", "if_empty"),
    "Queue.Purge": ("queue",),
    "Basic.Qos": ("prefetch_size", "prefetch_count", "global_"),
    "Confirm.Select": (),
    "Tx.Select": (),
    "Tx.Commit": (),
    "Tx.Rollback": (),
    "Basic.Consume": ("queue", "no_local", "no_ack", "exclusive", "arguments"),
    # a cancel names its consumer by tag, which differs every run: the step says which
    # queue that consumer took from
    "Basic.Cancel": ("queue",),
    # settlements: per message (see the module's rules)
    "Basic.Ack": ("message",),
    "Basic.Nack": ("message", "requeue"),
    "Basic.Reject": ("message", "requeue"),
}
_DEFAULTS: dict[str, Any] = {"arguments": {}, "requeue": True}


def kind_of(method: str) -> str:
    for kind, methods in KINDS.items():
        if method in methods:
            return kind
    return "publish" if method == "Basic.Publish" else ""


def compare_kinds(given: Iterable[str]) -> tuple[str, ...]:
    """The kinds compared from what a user names: all by default (nothing named);
    ``-kind`` entries leave kinds out of all (``["-settle"]``)."""
    names = [str(n) for n in given]
    if not names:
        return ALL_KINDS
    dropped = {n[1:] for n in names if n.startswith("-")}
    kept = tuple(n for n in names if not n.startswith("-"))
    if dropped:
        return tuple(k for k in ALL_KINDS if k not in dropped) + kept
    return kept


def resolve_compare(
    compare: Iterable[str], ignore_args: Mapping[str, Iterable[str]]
) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """(the compared method names, ignored fields per method name), from what a user
    gives: kinds (``settle``) or method names (``Basic.Nack``) in both."""
    methods: set[str] = set()
    for name in compare:
        if name in KINDS:
            methods.update(KINDS[name])
        elif name in FIELDS:
            methods.add(name)
        elif name != "publish":
            raise ValueError(f"compare: unknown method kind {name!r}; known: {list(ALL_KINDS)}")
    ignored: dict[str, set[str]] = {}
    for name, fields in ignore_args.items():
        targets = KINDS.get(name) or ((name,) if name in FIELDS else ())
        if not targets:
            raise ValueError(f"ignore_args: unknown method kind {name!r}; known: {list(KINDS)}")
        for method in targets:
            unknown = [f for f in fields if f not in FIELDS[method]]
            if unknown and name == method:
                raise ValueError(
                    f"ignore_args: {method} has no field(s) {unknown}; "
                    f"it compares {list(FIELDS[method])}"
                )
            ignored.setdefault(method, set()).update(fields)
    return frozenset(methods), {m: frozenset(f) for m, f in ignored.items()}


@dataclass
class Step:
    """One thing the client did, recorded or live, in the form it is compared by."""

    method: str
    fields: dict[str, Any]
    connection: int = 0
    index: int = 0
    played: int = 0

    def describe(self) -> str:
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.fields.items())
        return f"{self.method}({shown})"

    def where(self) -> str:
        return f"connection {self.connection} #{self.index}"


def _show(value: Any) -> str:
    if isinstance(value, MessageKey):
        return value.describe()
    return repr(value)


@dataclass(frozen=True)
class MessageKey:
    """The message a settlement settles: where it was published and what it said."""

    exchange: str
    routing_key: str
    body: bytes

    def describe(self) -> str:
        text = self.body[:60].decode("utf-8", "replace")
        return (
            f"<message exchange={self.exchange!r} routing_key={self.routing_key!r} body={text!r}>"
        )


def _pamqp_defaults(method: str) -> dict[str, Any]:
    """What pamqp (so the client) sends for an argument left out of a hand-written
    cassette."""
    for frame in _pamqp_commands.INDEX_MAPPING.values():
        if getattr(frame, "name", None) == method:
            try:
                instance = frame()
            except (TypeError, ValueError):
                return {}
            return {name: getattr(instance, name, None) for name in FIELDS.get(method, ())}
    return {}


_DEFAULTS_BY_METHOD = {method: _pamqp_defaults(method) for method in FIELDS}


def step_fields(method: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """A method's compared fields from its arguments (cassette args or a pamqp method's
    attributes read into a mapping)."""
    out: dict[str, Any] = {}
    defaults = _DEFAULTS_BY_METHOD.get(method, {})
    for name in FIELDS.get(method, ()):
        value = args.get(name, defaults.get(name, _DEFAULTS.get(name)))
        if name == "arguments" and not value:
            value = {}
        out[name] = value
    return out


def pamqp_args(method: Any) -> dict[str, Any]:
    """A live pamqp method's arguments as a mapping (the names cassettes use)."""
    return {name: getattr(method, name, None) for name in FIELDS.get(method.name, ())}


def field_problems(
    live: Step,
    recorded: Step,
    same: Callable[[str, str], bool],
    ignore: frozenset[str] = frozenset(),
    ignore_fields: frozenset[str] = frozenset(),
) -> list[str]:
    """How a live step differs from a recorded one (empty: they match)."""
    problems = []
    if live.method != recorded.method:
        problems.append(f"method: {live.method} != {recorded.method}")
    for name, rec in recorded.fields.items():
        if name in ignore or (name not in live.fields and live.method != recorded.method):
            continue
        value = live.fields.get(name)
        if not _equal(value, rec, same, ignore_fields):
            problems.append(f"{name}: {_show(value)} != {_show(rec)}")
    return problems


def _equal(live: Any, rec: Any, same: Callable[[str, str], bool], ignore: frozenset[str]) -> bool:
    if isinstance(live, MessageKey) and isinstance(rec, MessageKey):
        return (
            same(rec.exchange, live.exchange)
            and shape(live.routing_key) == shape(rec.routing_key)
            and redacted_match(body_key(live.body, ignore), body_key(rec.body, ignore))
        )
    if isinstance(live, str) and isinstance(rec, str):
        return live == rec or same(rec, live) or shape(live) == shape(rec)
    if isinstance(live, dict) and isinstance(rec, dict):
        return live.keys() == rec.keys() and all(
            _equal(live[k], rec[k], same, ignore) for k in rec
        )
    if isinstance(live, bool) or isinstance(rec, bool):
        return bool(live) == bool(rec) and type(live) is type(rec)
    return redacted_match(live, rec)


@dataclass
class _Outstanding:
    """A recorded channel's deliveries not yet settled: tag -> message."""

    by_tag: dict[int, MessageKey] = field(default_factory=dict)


def recorded_steps(cassette: Cassette, methods: frozenset[str]) -> list[Step]:
    """The cassette's client steps of the compared methods, in recording order per
    connection."""
    steps: list[Step] = []
    for conn in cassette.connections:
        consumers: dict[str, str] = {}  # consumer tag -> queue
        no_ack_tags: set[str] = set()
        pending: dict[int, list[tuple[str, bool]]] = {}  # channel -> (queue, no_ack) consumes
        gets: dict[int, list[bool]] = {}  # channel -> no_ack of gets awaiting an answer
        outstanding: dict[int, _Outstanding] = {}
        declared: dict[int, str] = {}  # channel -> last queue declared on it
        for index, item in enumerate(conn.interactions):
            args = item.args
            method = item.method
            if item.dir == "s2c":
                if method == "Queue.DeclareOk":
                    declared[item.channel] = str(args.get("queue", ""))
                elif method == "Basic.ConsumeOk":
                    queue, no_ack = (pending.get(item.channel) or [("", False)]).pop(0)
                    tag = str(args.get("consumer_tag", ""))
                    consumers[tag] = queue
                    if no_ack:
                        no_ack_tags.add(tag)
                elif method in ("Basic.Deliver", "Basic.GetOk"):
                    if method == "Basic.GetOk":
                        no_ack = (gets.get(item.channel) or [False]).pop(0)
                    else:
                        no_ack = str(args.get("consumer_tag", "")) in no_ack_tags
                    if not no_ack:
                        outstanding.setdefault(item.channel, _Outstanding()).by_tag[
                            int(args.get("delivery_tag", 0))
                        ] = MessageKey(
                            str(args.get("exchange", "")),
                            str(args.get("routing_key", "")),
                            item.body or b"",
                        )
                elif method == "Basic.GetEmpty":
                    (gets.get(item.channel) or [False]).pop(0)
                elif method in ("Channel.Close", "Channel.CloseOk"):
                    outstanding.pop(item.channel, None)  # requeued by the broker
                continue
            if method == "Basic.Consume":
                queue = str(args.get("queue", "")) or declared.get(item.channel, "")
                pending.setdefault(item.channel, []).append((queue, bool(args.get("no_ack"))))
                tag = str(args.get("consumer_tag") or "")
                if tag:
                    consumers[tag] = queue
                    if args.get("no_ack"):
                        no_ack_tags.add(tag)
            elif method == "Basic.Get":
                gets.setdefault(item.channel, []).append(bool(args.get("no_ack")))
            elif method in ("Channel.Close", "Basic.Recover", "Basic.RecoverAsync"):
                outstanding.pop(item.channel, None)
            if method not in methods:
                continue
            if method in SETTLE_METHODS:
                taken = settled(
                    outstanding.setdefault(item.channel, _Outstanding()).by_tag,
                    int(args.get("delivery_tag", 0)),
                    method != "Basic.Reject" and bool(args.get("multiple")),
                )
                for message in taken:
                    fields: dict[str, Any] = {"message": message}
                    if method != "Basic.Ack":
                        fields["requeue"] = bool(args.get("requeue", True))
                    steps.append(Step(method, fields, conn.id, index))
                continue
            if method == "Basic.Cancel":
                fields = {"queue": consumers.get(str(args.get("consumer_tag", "")), "")}
            else:
                fields = step_fields(method, args)
            steps.append(Step(method, fields, conn.id, index))
    return steps


def settled(by_tag: dict[Any, MessageKey], tag: int, multiple: bool) -> list[MessageKey]:
    """What a settlement with ``tag`` takes off ``by_tag`` (which it changes)."""
    if multiple:
        tags = [t for t in by_tag if tag == 0 or t <= tag]
    else:
        tags = [tag] if tag in by_tag else []
    return [by_tag.pop(t) for t in tags]


def explain_miss(
    live: Step, candidates: list[tuple[Step, list[str]]], used_up: list[Step], total: int
) -> str:
    """The failure text for a live step that matches no unplayed recorded step."""
    lines = [f"live {live.describe()} is not in the recording"]
    if used_up:
        lines.append(
            f"  it matches {len(used_up)} recorded {live.method} already replayed "
            f"({used_up[0].where()}): the test does it more often than the recording did "
            "(allow_playback_repeats=True lets a recorded step answer again)"
        )
    elif not candidates:
        lines.append(
            f"  the recording has no {live.method}"
            if total == 0
            else f"  every recorded {live.method} was already replayed"
        )
    for rec, problems in candidates:
        lines.append(f"  recorded ({rec.where()}): {rec.describe()}")
        lines.extend(f"    - {p}" for p in problems)
    return "\n".join(lines)
