"""``amqpmock show``: a cassette (or a test's broker traffic) as a terminal timeline.

Rules this module keeps:
- Pure: ``render_timeline(flow)`` returns text; only the CLI prints it.
- ASCII only (``->``, ``=>``), so the output survives any terminal and CI log.
- One event per line (a publish takes two: what was sent, then where it went), a
  ``where`` column (``c2.1`` is connection 2, channel 1; ``out`` an outside service),
  RPC calls listed with their replies after the timeline, then one summary line.
- Runs of the same event pattern print once, inside ``repeat xN { ... }``; when the
  folded messages differ, the header says how (``52 different bodies``) and a
  ``bodies`` list inside the frame shows them (the first and last few of a long list).
- An outside party is named once: ``(from outside multiply)``, or ``(from outside)``
  when the recording cannot name it.
"""

from __future__ import annotations

from collections.abc import Iterable

from amqpmock.cassette import Cassette
from amqpmock.view.flows import (
    DIRECT_REPLY_TO,
    OUTSIDE,
    Closed,
    Connected,
    DeadLettered,
    Delivered,
    Event,
    Flow,
    MessageInfo,
    Notice,
    Published,
    Repeat,
    Returned,
    Settled,
    Setup,
    collapse_repeats,
    flow_from_cassette,
    sample,
    variation_label,
    variation_text,
)

__all__ = ["ORDER_NOTE", "render_cassette", "render_timeline"]

ORDER_NOTE = (
    "order across connections is causal (each connection in order, a delivery after "
    "its publish, a reply after its request), not timed"
)


def render_cassette(cassette: Cassette, collapse: bool = True) -> str:
    """The timeline of a loaded cassette."""
    return render_timeline(flow_from_cassette(cassette), collapse=collapse)


def _ascii(text: str) -> str:
    return text.replace("…", "...").replace("·", "-")


def _exchange(name: str) -> str:
    return name if name else "(default)"


def _where(conn: int | None, channel: int | None = None) -> str:
    if conn is None:
        return "out"
    return f"c{conn}" + (f".{channel}" if channel else "")


def _outside(pid: str) -> str:
    """An outside party, named once: ``outside multiply``, or ``outside`` when the
    recording cannot name it."""
    service = pid.split(":", 1)[1] if ":" in pid else pid
    return "outside" if service in ("", OUTSIDE) else f"outside {service}"


def _tags(tags: list[int]) -> str:
    if len(tags) == 1:
        return f"tag {tags[0]}"
    if tags == list(range(tags[0], tags[-1] + 1)):
        return f"tags {tags[0]}-{tags[-1]}"
    return "tags " + ",".join(str(t) for t in tags)


def _messages(numbers: Iterable[int]) -> str:
    return ", ".join(f"#{n}" for n in numbers)


def _what(info: MessageInfo | None, flow: Flow) -> str:
    if info is None:
        return "?"
    kind = info.flavor
    if kind == "reply" and info.rpc is not None:
        text = f"reply to rpc {info.rpc}: {info.summary}"
        return text + (" [FAILED]" if info.failed else "")
    if kind == "call":
        rpc = f" [rpc {info.rpc}]" if info.rpc is not None else ""
        method = flow.rpc(info.rpc).method if info.rpc is not None else ""
        shown = info.summary if info.summary.startswith(method) else f"{method} {info.summary}"
        return f"call {shown.strip()}{rpc}"
    if kind in ("cast", "fanout_cast"):
        return f"{kind} {info.summary}"
    return f"message {info.summary}"


def _line(where: str, verb: str, text: str, indent: str) -> str:
    return _ascii(f"{indent}{where:<7} {verb:<8} {text}").rstrip()


def _event_lines(flow: Flow, event: Event, indent: str) -> list[str]:
    if isinstance(event, Connected):
        who = event.client or "unknown client"
        extra = []
        if event.user:
            extra.append(f"user {event.user}")
        if event.vhost:
            extra.append(f"vhost {event.vhost}")
        conn_info = flow.connections.get(event.conn)
        if conn_info is not None and conn_info.name:
            extra.append(f"name {conn_info.name}")
        detail = f" ({', '.join(extra)})" if extra else ""
        return [
            _line(
                _where(event.conn),
                "connect",
                f"{who}{detail}; handshake: {event.frames} frames",
                indent,
            )
        ]
    if isinstance(event, Setup):
        return [_line(_where(event.conn, event.channel), "setup", "; ".join(event.items), indent)]
    if isinstance(event, Published):
        info = flow.messages.get(event.message)
        if event.conn is None:
            where, by = "out", f" (from {_outside(event.publisher)})"
        else:
            where, by = _where(event.conn, event.channel), ""
        first = _line(where, "publish", f"#{event.message} {_what(info, flow)}{by}", indent)
        kind = flow.exchange_types.get(event.exchange)
        target = _exchange(event.exchange) + (f" ({kind})" if kind and event.exchange else "")
        key = f" key {event.routing_key}" if event.routing_key else " (no key)"
        if event.outcome == "returned":
            went = "returned (no route)"
        elif event.queues:
            label = "queues" if len(event.queues) > 1 else "queue"
            went = f"{label} {', '.join(event.queues)}"
        elif event.outside is not None:
            went = _outside(event.outside)
            if event.outcome == "unknown":
                went += " (not seen by a recorded client)"
        elif event.outcome == "unroutable":
            went = "dropped: no queue bound"
        elif event.outcome == "nacked":
            went = "nacked by the broker"
        else:
            went = event.outcome
        marks: list[str] = []
        if event.mandatory:
            marks.append("mandatory")
        if event.confirm:
            marks.append(f"confirm {event.confirm}")
        flags = f" [{', '.join(marks)}]" if marks else ""
        second = _ascii(f"{indent}{'':<16} -> {target}{key} => {went}{flags}")
        return [first, second]
    if isinstance(event, Delivered):
        info = flow.messages.get(event.message)
        source = "get from" if event.via_get else "from"
        queue = event.queue if event.queue != DIRECT_REPLY_TO else f"{DIRECT_REPLY_TO} (direct)"
        notes: list[str] = []
        if event.delivery_tag is not None:
            notes.append(f"tag {event.delivery_tag}")
        if event.redelivered:
            notes.append("REDELIVERED")
        if event.no_ack:
            notes.append("no-ack")
        what = _what(info, flow)
        return [
            _line(
                _where(event.conn, event.channel),
                "deliver",
                f"#{event.message} {source} {queue} ({', '.join(notes)}): {what}",
                indent,
            )
        ]
    if isinstance(event, Settled) and event.because:
        text = f"{_tags(event.tags)} ({_messages(event.messages)}) unacked, {event.because}"
        return [_line(_where(event.conn, event.channel), "requeue", text, indent)]
    if isinstance(event, Settled):
        verb = event.action
        text = f"{_tags(event.tags)}"
        if event.messages:
            text += f" ({_messages(event.messages)})"
        if event.queues:
            text += f" on {', '.join(event.queues)}"
        if event.multiple:
            text += " multiple"
        if event.action != "ack":
            text += " -> REQUEUED" if event.requeue else " -> discarded (or dead-lettered)"
        return [_line(_where(event.conn, event.channel), verb, text, indent)]
    if isinstance(event, Returned):
        return [
            _line(
                _where(event.conn, event.channel),
                "return",
                f"#{event.message} returned by {_exchange(event.exchange)}: "
                f"{event.code} {event.text}",
                indent,
            )
        ]
    if isinstance(event, DeadLettered):
        went = ", ".join(event.queues) if event.queues else "(no queue seen)"
        return [
            _line(
                "broker",
                "dead",
                f"#{event.message} dead-lettered from {event.queue} ({event.reason}) "
                f"-> {_exchange(event.exchange)} => {went}",
                indent,
            )
        ]
    if isinstance(event, Notice):
        level = "ERROR" if event.level == "error" else "note"
        return [_line(_where(event.conn, event.channel), level, event.text, indent)]
    if isinstance(event, Closed):
        text = event.ending
        if event.heartbeats:
            text += f"; {event.heartbeats} heartbeats"
        if event.error:
            text += f"; {event.error}"
        return [_line(_where(event.conn), "close", text, indent)]
    raise RuntimeError(f"Unexpected event: {event!r}")  # pragma: no cover


def _rpc_lines(flow: Flow) -> list[str]:
    if not flow.rpc_calls:
        return []
    lines = ["", "RPC calls:"]
    for call in flow.rpc_calls:
        caller = call.caller.replace("conn:", "conn ")
        if caller.startswith("outside:"):
            caller = _outside(caller)
        request = flow.messages.get(call.request)
        replies = []
        for number in call.replies:
            reply = flow.messages.get(number)
            replies.append(f"#{number} {reply.summary if reply else '?'}")
        answer = f" <- {'; '.join(replies)}" if replies else ""
        what = request.summary if request is not None else "?"
        if not what.startswith(call.method):
            what = f"{call.method} {what}"
        lines.append(
            _ascii(
                f"  rpc {call.number:<3} {call.convention:<15} {caller} -> {call.server}: "
                f"#{call.request} {what} => {call.status}{answer}"
            )
        )
    return lines


def render_timeline(flow: Flow, collapse: bool = True) -> str:
    """The whole timeline: header, events, RPC calls and the summary line."""
    lines = [_ascii(flow.title + (f" - {flow.subtitle}" if flow.subtitle else ""))]
    if len(flow.connections) > 1:
        lines.append(f"({ORDER_NOTE})")
    lines.extend(_ascii(note) for note in flow.notes)
    lines.append("")
    items: list[Event | Repeat] = collapse_repeats(flow) if collapse else list(flow.events)
    for item in items:
        if isinstance(item, Repeat):
            numbers = sorted({n for rnd in item.rounds for e in rnd for n in _event_numbers(e)})
            label = variation_label(item.variations)
            about = [f"messages #{numbers[0]}..#{numbers[-1]}"] if numbers else []
            about += [label] if label else []
            span = f" ({', '.join(about)})" if about else ""
            lines.append(f"repeat x{item.times}{span} {{")
            for event in item.events:
                lines.extend(_event_lines(flow, event, "  "))
            lines.extend(_variation_lines(flow, item))
            lines.append("}")
        else:
            lines.extend(_event_lines(flow, item, ""))
    lines.extend(_rpc_lines(flow))
    lines.append("")
    lines.append("summary: " + flow.summary.line())
    return "\n".join(lines) + "\n"


def _variation_lines(flow: Flow, repeat: Repeat) -> list[str]:
    """Inside a fold of messages that differ: each different one, the first and last few
    of a long list."""
    lines: list[str] = []
    for variation in repeat.variations:
        verb = "bodies" if "body" in variation.differs else "differ"
        head, hidden, tail = sample(variation.kinds)
        texts = [
            variation_text(flow, variation, n, _what(flow.messages.get(n), flow)) for n, _ in head
        ]
        if hidden:
            texts.append(f"... {hidden} more ...")
        texts += [
            variation_text(flow, variation, n, _what(flow.messages.get(n), flow)) for n, _ in tail
        ]
        for k, line in enumerate(texts):
            lines.append(_line("", "" if k else verb, line, "  "))
    return lines


def _event_numbers(event: Event) -> list[int]:
    if isinstance(event, Published | Delivered | Returned | DeadLettered):
        return [event.message]
    if isinstance(event, Settled):
        return list(event.messages)
    return []
