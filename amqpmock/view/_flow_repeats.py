"""Runs of repeated events (``collapse_repeats``), and what the folded messages do not
share (``repeat_variations``), so that a fold never shows one body for many.

A run folds in two passes. First, runs whose messages are the same in every round
(``message_content``: exchange, routing key, body and the properties that matter) fold;
between them, runs of the same shape whose messages differ fold too, and their
``Repeat`` says how they differ (``Variation``), for the timeline and the diagram to
tell. The rules are in ``amqpmock.view.flows``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from amqpmock.view._flow_classify import short
from amqpmock.view._flow_model import (
    DeadLettered,
    Delivered,
    Event,
    Flow,
    MessageInfo,
    Published,
    Returned,
    Settled,
    Setup,
    event_messages,
)

_T = TypeVar("_T")

PER_MESSAGE_PROPERTIES = frozenset({"message_id", "correlation_id", "timestamp"})
"""Properties that name one message rather than say what it is: two messages that differ
only in them are the same message sent again (an RPC's correlation id is shown by its
pairing)."""


@dataclass
class Repeat:
    """``events`` happened ``times`` times in a row (the first round is ``events``).

    ``variations`` are the messages of a round that are not the same in every round;
    empty when every round sent the same messages."""

    events: list[Event]
    times: int
    rounds: list[list[Event]] = field(default_factory=list)
    variations: list[Variation] = field(default_factory=list)


@dataclass
class Variation:
    """One message of a folded round that differs between rounds.

    ``numbers`` is that message in each round; ``kinds`` is, for each distinct content in
    the order they first appear, its first message and how many messages carry it;
    ``bodies`` the number of distinct bodies; ``differs`` what differs (``body``,
    ``exchange``, ``routing key``, property names)."""

    numbers: list[int]
    kinds: list[tuple[int, int]]
    bodies: int
    differs: list[str]


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


def _properties(info: MessageInfo) -> dict[str, str]:
    return {
        name: repr(value)
        for name, value in info.properties.items()
        if name not in PER_MESSAGE_PROPERTIES and value is not None
    }


def message_content(info: MessageInfo) -> tuple[Any, ...]:
    """What makes two messages the same: exchange, routing key, body and the properties
    that matter (all but ``PER_MESSAGE_PROPERTIES``)."""
    return (
        info.exchange,
        info.routing_key,
        info.body_digest,
        tuple(sorted(_properties(info).items())),
    )


def _content(flow: Flow, number: int) -> tuple[Any, ...]:
    info = flow.messages.get(number)
    return ("?", number) if info is None else message_content(info)


def _strict_signature(flow: Flow, event: Event) -> tuple[Any, ...]:
    contents = tuple(_content(flow, n) for n in event_messages(event))
    return (event_signature(flow, event), contents)


def _runs(sigs: Sequence[Hashable], max_period: int, min_times: int) -> list[tuple[int, int, int]]:
    """``(start, period, times)`` of each run, left to right, each the one covering the
    most events where it starts."""
    runs: list[tuple[int, int, int]] = []
    i = 0
    while i < len(sigs):
        best_period, best_times = 0, 1
        for period in range(1, max_period + 1):
            if i + 2 * period > len(sigs):
                break
            times = 1
            while (
                i + (times + 1) * period <= len(sigs)
                and sigs[i + times * period : i + (times + 1) * period] == sigs[i : i + period]
            ):
                times += 1
            if times >= min_times and period * times > best_period * best_times:
                best_period, best_times = period, times
        if best_period:
            runs.append((i, best_period, best_times))
            i += best_period * best_times
        else:
            i += 1
    return runs


def _fold(
    flow: Flow, items: list[Event], sigs: Sequence[Hashable], max_period: int, min_times: int
) -> list[Event | Repeat]:
    out: list[Event | Repeat] = []
    done = 0
    for start, period, times in _runs(sigs, max_period, min_times):
        out.extend(items[done:start])
        rounds = [items[start + r * period : start + (r + 1) * period] for r in range(times)]
        repeat = Repeat(events=rounds[0], times=times, rounds=rounds)
        repeat.variations = repeat_variations(flow, repeat)
        out.append(repeat)
        done = start + period * times
    out.extend(items[done:])
    return out


def collapse_repeats(
    flow: Flow, events: Sequence[Event] | None = None, max_period: int = 8, min_times: int = 4
) -> list[Event | Repeat]:
    """Runs of the same event pattern (up to ``max_period`` events long, repeated at
    least ``min_times`` times) become one ``Repeat``: first the runs whose messages are
    the same in every round, then, between those, runs whose messages differ (their
    ``variations`` say how)."""
    items = list(flow.events if events is None else events)
    strict = [_strict_signature(flow, e) for e in items]
    out: list[Event | Repeat] = []
    gap: list[Event] = []
    for item in _fold(flow, items, strict, max_period, min_times):
        if isinstance(item, Repeat):
            loose = [event_signature(flow, e) for e in gap]
            out.extend(_fold(flow, gap, loose, max_period, min_times))
            gap = []
            out.append(item)
        else:
            gap.append(item)
    loose = [event_signature(flow, e) for e in gap]
    out.extend(_fold(flow, gap, loose, max_period, min_times))
    return out


def _round_messages(events: list[Event]) -> list[int]:
    seen: list[int] = []
    for event in events:
        for number in event_messages(event):
            if number not in seen:
                seen.append(number)
    return seen


def _differs(infos: list[MessageInfo]) -> list[str]:
    found: list[str] = []
    if len({i.body_digest for i in infos}) > 1:
        found.append("body")
    if len({i.exchange for i in infos}) > 1:
        found.append("exchange")
    if len({i.routing_key for i in infos}) > 1:
        found.append("routing key")
    props = [_properties(i) for i in infos]
    names = sorted({name for p in props for name in p})
    found += [name for name in names if len({p.get(name) for p in props}) > 1]
    return found


def repeat_variations(flow: Flow, repeat: Repeat) -> list[Variation]:
    """The messages of a round that are not the same in every round (the n-th message
    of each round compared with the n-th of the others)."""
    per_round = [_round_messages(r) for r in repeat.rounds or [repeat.events]]
    found: list[Variation] = []
    for slot in range(min(len(r) for r in per_round)):
        numbers = [r[slot] for r in per_round]
        counts: dict[tuple[Any, ...], list[int]] = {}
        for number in numbers:
            counts.setdefault(_content(flow, number), []).append(number)
        if len(counts) < 2:
            continue
        infos = [flow.messages[n] for n in numbers if n in flow.messages]
        found.append(
            Variation(
                numbers=numbers,
                kinds=[(same[0], len(same)) for same in counts.values()],
                bodies=len({i.body_digest for i in infos}),
                differs=_differs(infos) or ["messages"],
            )
        )
    return found


def variation_label(variations: list[Variation]) -> str:
    """How the messages of a fold differ, for its header (``52 different bodies``;
    empty when they are all the same)."""
    if not variations:
        return ""
    bodies = sum(v.bodies for v in variations if "body" in v.differs)
    others = ", ".join(sorted({d for v in variations for d in v.differs if d != "body"}))
    if bodies and others:
        return f"{bodies} different bodies, different {others}"
    if bodies:
        return f"{bodies} different bodies"
    return f"same bodies, different {others}"


def sample(items: list[_T], limit: int = 7) -> tuple[list[_T], int, list[_T]]:
    """``items`` as head, how many are left out, tail: all of them when there are at
    most ``limit``, else the first and last few."""
    if len(items) <= limit:
        return list(items), 0, []
    head = (limit - 1) // 2 + (limit - 1) % 2
    tail = limit - 1 - head
    return items[:head], len(items) - head - tail, items[len(items) - tail :]


def variation_text(flow: Flow, variation: Variation, number: int, what: str) -> str:
    """One content of a variation: ``what`` (the renderer's text for the message's
    body) and the values of the properties that differ."""
    info = flow.messages.get(number)
    parts = [what] if "body" in variation.differs else []
    if info is not None:
        for name in variation.differs:
            if name == "exchange":
                parts.append(f"exchange {info.exchange or '(default)'}")
            elif name == "routing key":
                parts.append(f"key {info.routing_key}")
            elif name not in ("body", "messages"):
                parts.append(short(f"{name}={info.properties.get(name)!s}", 60))
    text = "; ".join(parts) or what
    count = dict(variation.kinds).get(number, 1)
    return f"#{number} {text}" + (f" (x{count})" if count > 1 else "")
