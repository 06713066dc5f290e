"""``amqpmock diagram``: a message flow as a self-contained sequence diagram.

``build_diagram(flow)`` turns a ``Flow`` into participants and rows (arrows and notes);
``render_svg`` draws it as one SVG document and ``render_html`` wraps that SVG in a page
with a legend, filters and the RPC table.

Rules this module keeps:
- Pure: text in, text out; the CLI and the pytest plugin write the files.
- Self-contained: no network, no external fonts, scripts or styles; the HTML's only
  script is inline and the page reads fine without it.
- Participants are columns: client connections, then exchanges, queues, and outside
  services (parties the recording did not see). Each row is one arrow (publish to an
  exchange, routing to a queue, delivery, ack/nack/requeue, return, dead letter) or one
  note on a lifeline (handshake, setup, close, error). Handshakes are one note; runs of
  the same pattern are drawn once inside a ``loop xN`` frame.
- Colour tells what a message is for (call, reply, cast, fanout_cast, plain message);
  line style tells the arrow kind; the legend says both.
- Stable hooks for tests and tools: every participant has ``data-participant`` (its id,
  e.g. ``conn:1``, ``exchange:neutron``, ``queue:q``, ``outside:dhcp_agent``) and
  ``data-participant-kind``; every row has ``data-row-kind`` (``arrow`` / ``note``),
  arrows ``data-arrow-kind``, ``data-flavor``, ``data-source``, ``data-target``,
  ``data-message``, ``data-rpc`` and ``data-rpc-role`` (``request`` / ``reply``), and
  ``data-connections`` / ``data-queues`` for filtering. The page's script sets
  ``data-js-ok`` on ``<body>`` once it has run, and reads and writes its filters in the
  URL fragment (``page.html#connection=2&queue=q&setup=0``).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from amqpmock.cassette import Cassette
from amqpmock.view.flows import (
    DIRECT_REPLY_TO,
    Closed,
    Connected,
    DeadLettered,
    Delivered,
    Event,
    Flavor,
    Flow,
    MessageInfo,
    Notice,
    Published,
    Repeat,
    Returned,
    Settled,
    Setup,
    collapse_repeats,
    connection_id,
    exchange_id,
    flow_from_cassette,
    queue_id,
)

__all__ = [
    "ARROW_KINDS",
    "FLAVORS",
    "Arrow",
    "Block",
    "Diagram",
    "Note",
    "Participant",
    "build_diagram",
    "cassette_diagram",
    "render_html",
    "render_svg",
]

ArrowKind = Literal[
    "publish", "route", "deliver", "ack", "nack", "reject", "requeue", "return", "dead-letter"
]
NoteKind = Literal["handshake", "setup", "close", "error"]
ParticipantKind = Literal["connection", "exchange", "queue", "outside"]

ARROW_KINDS: tuple[str, ...] = (
    "publish",
    "route",
    "deliver",
    "ack",
    "nack",
    "reject",
    "requeue",
    "return",
    "dead-letter",
)
FLAVORS: tuple[str, ...] = ("call", "reply", "cast", "fanout_cast", "publish")

# colours (GitHub's palette, readable on white and in print)
_FLAVOR_COLOURS = {
    "call": "#0969da",
    "reply": "#1b7c83",
    "cast": "#1a7f37",
    "fanout_cast": "#bf3989",
    "publish": "#57606a",
}
_KIND_COLOURS = {
    "ack": "#8c959f",
    "nack": "#cf222e",
    "reject": "#cf222e",
    "requeue": "#bc4c00",
    "return": "#cf222e",
    "dead-letter": "#6e4c00",
}
_FLAVOR_NAMES = {
    "call": "call (RPC request)",
    "reply": "reply",
    "cast": "cast",
    "fanout_cast": "fanout_cast",
    "publish": "plain message",
}
_KIND_NAMES = {
    "publish": "publish to exchange",
    "route": "routed to queue (? = not seen by a recorded client)",
    "deliver": "delivery",
    "ack": "ack",
    "nack": "nack / reject",
    "requeue": "requeue",
    "return": "returned (no route)",
    "dead-letter": "dead-lettered",
}

# layout, in px
COLUMN = 176
LEFT = 44
LINE = 14  # a header text line
LEGEND_ROW = 20
BOX_H = 40
ROW = 26
LOOP_HEAD = 20
LOOP_TAIL = 8
CHAR = 6.7  # an 11px monospace character
_NOTE_CHARS = int((COLUMN - 28) / CHAR)
FONT = (
    'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", '
    "monospace"
)


@dataclass(frozen=True)
class Participant:
    id: str
    kind: ParticipantKind
    name: str
    detail: str = ""

    @property
    def caption(self) -> str:
        return {
            "connection": "client connection",
            "exchange": "exchange",
            "queue": "queue",
            "outside": "outside service",
        }[self.kind]


@dataclass
class Arrow:
    kind: ArrowKind
    source: str
    target: str
    label: str
    flavor: Flavor | None = None
    message: int | None = None
    rpc: int | None = None
    rpc_role: Literal["request", "reply"] | None = None
    detail: str = ""
    connections: set[int] = field(default_factory=set)
    queues: set[str] = field(default_factory=set)


@dataclass
class Note:
    kind: NoteKind
    participant: str
    text: str
    detail: str = ""
    connections: set[int] = field(default_factory=set)
    queues: set[str] = field(default_factory=set)


Row = Arrow | Note


@dataclass
class Block:
    """Rows drawn once; ``times`` > 1 puts them in a ``loop xN`` frame."""

    rows: list[Row]
    times: int = 1
    label: str = ""


@dataclass
class Diagram:
    title: str
    subtitle: str
    summary: str
    participants: list[Participant]
    blocks: list[Block]
    rpc: list[tuple[int, str, str, str]] = field(default_factory=list)  # n, conv, what, status
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[Row]:
        return [row for block in self.blocks for row in block.rows]

    def arrows(self, kind: str | None = None) -> list[Arrow]:
        return [r for r in self.rows if isinstance(r, Arrow) and (kind is None or r.kind == kind)]


# --- building -----------------------------------------------------------------------


def _middle(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    if limit < 5:
        return text[:limit]
    head = (limit - 1) // 2 + (limit - 1) % 2
    tail = limit - 1 - head
    return text[:head] + "…" + (text[-tail:] if tail else "")


def _end(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"


def _message_label(info: MessageInfo | None, flow: Flow) -> str:
    if info is None:
        return "?"
    if info.flavor == "call":
        method = flow.rpc(info.rpc).method if info.rpc is not None else ""
        body = info.summary if info.summary.startswith(method) else f"{method} {info.summary}"
        return f"call {body.strip()}"
    if info.flavor == "reply":
        return ("FAILED " if info.failed else "") + f"reply {info.summary}"
    if info.flavor in ("cast", "fanout_cast"):
        return f"{info.flavor} {info.summary}"
    return info.summary


def _message_detail(info: MessageInfo | None) -> str:
    if info is None:
        return ""
    lines = [
        f"message #{info.number} ({info.flavor})",
        f"exchange: {info.exchange or '(default)'}",
        f"routing key: {info.routing_key}",
        f"body: {info.body_preview}",
    ]
    for name in ("reply_to", "correlation_id", "message_id", "message_type", "content_type"):
        value = info.properties.get(name)
        if value:
            lines.append(f"{name}: {value}")
    if info.rpc is not None:
        lines.append(f"rpc call {info.rpc}")
    return "\n".join(lines)


class _Builder:
    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.seen: dict[str, Participant] = {}

    def participant(self, pid: str) -> str:
        if pid in self.seen:
            return pid
        kind, _, name = pid.partition(":")
        flow = self.flow
        if kind == "conn":
            number = int(name) if name.isdigit() else None
            info = flow.connections.get(number) if number is not None else None
            detail = ""
            if info is not None:
                bits = [info.client, f"user {info.user}" if info.user else "", info.vhost]
                detail = " · ".join(b for b in bits if b)
            shown = f"conn {name}" if number is not None else "clients"
            self.seen[pid] = Participant(pid, "connection", shown, detail)
        elif kind == "exchange":
            etype = flow.exchange_types.get(name, "")
            shown = name or "(default)"
            self.seen[pid] = Participant(pid, "exchange", shown, f"{etype} exchange".strip())
        elif kind == "queue":
            detail = "direct reply-to pseudo-queue" if name == DIRECT_REPLY_TO else ""
            self.seen[pid] = Participant(pid, "queue", name, detail)
        else:
            self.seen[pid] = Participant(pid, "outside", name, "not in the recording")
        return pid

    def rows(self, event: Event) -> list[Row]:
        flow = self.flow
        conns = flow.event_connections(event)
        queues = flow.event_queues(event)

        def arrow(kind: ArrowKind, source: str, target: str, label: str, **kw: object) -> Arrow:
            a = Arrow(
                kind,
                self.participant(source),
                self.participant(target),
                label,
                connections=set(conns),
                queues=set(queues),
            )
            for key, value in kw.items():
                setattr(a, key, value)
            return a

        def note(kind: NoteKind, pid: str, text: str, detail: str = "") -> Note:
            return Note(kind, self.participant(pid), text, detail or text, set(conns), set(queues))

        if isinstance(event, Connected):
            text = f"connect {event.client}".strip()
            detail = (
                f"{text}\nuser: {event.user or '?'}\nvhost: {event.vhost or '?'}\n"
                f"handshake: {event.frames} frames (collapsed)"
            )
            return [note("handshake", connection_id(event.conn), text, detail)]
        if isinstance(event, Setup):
            head = min(event.items, key=_setup_rank)
            if len(event.items) > 1:
                more = f" +{len(event.items) - 1}"
                head = _end(head, _NOTE_CHARS - len(more)) + more
            detail = f"channel {event.channel}:\n" + "\n".join(event.items)
            return [note("setup", connection_id(event.conn), head, detail)]
        if isinstance(event, Notice):
            return [
                note(
                    "error" if event.level == "error" else "setup",
                    connection_id(event.conn),
                    event.text,
                )
            ]
        if isinstance(event, Closed):
            text = f"close ({event.ending})"
            detail = text + (f"\n{event.error}" if event.error else "")
            return [note("close", connection_id(event.conn), text, detail)]
        if isinstance(event, Published):
            info = flow.messages.get(event.message)
            flavor = info.flavor if info else None
            role = _rpc_role(info)
            rpc = info.rpc if info else None
            detail = _message_detail(info)
            ex = exchange_id(event.exchange)
            out: list[Row] = [
                arrow(
                    "publish",
                    event.publisher,
                    ex,
                    f"#{event.message} {_message_label(info, flow)}",
                    flavor=flavor,
                    message=event.message,
                    rpc=rpc,
                    rpc_role=role,
                    detail=detail
                    + (f"\noutcome: {event.outcome}" if event.outcome != "routed" else ""),
                )
            ]
            key = event.routing_key or "(no key)"
            for name in event.queues:
                out.append(
                    arrow(
                        "route",
                        ex,
                        queue_id(name),
                        key,
                        flavor=flavor,
                        message=event.message,
                        rpc=rpc,
                        rpc_role=role,
                        detail=f"#{event.message} routed by key {key} to {name}",
                    )
                )
            if not event.queues and event.outside is not None:
                unseen = " ?" if event.outcome == "unknown" else ""
                out.append(
                    arrow(
                        "route",
                        ex,
                        event.outside,
                        key + unseen,
                        flavor=flavor,
                        message=event.message,
                        rpc=rpc,
                        rpc_role=role,
                        detail=f"#{event.message} routed by key {key} to queues outside the "
                        "recording" + (" (not seen by a recorded client)" if unseen else ""),
                    )
                )
            return out
        if isinstance(event, Delivered):
            info = flow.messages.get(event.message)
            tag = f" tag {event.delivery_tag}" if event.delivery_tag is not None else ""
            redelivered = " redelivered" if event.redelivered else ""
            verb = "get" if event.via_get else "deliver"
            return [
                arrow(
                    "deliver",
                    queue_id(event.queue),
                    connection_id(event.conn),
                    f"#{event.message} {verb}{tag}{redelivered}",
                    flavor=info.flavor if info else None,
                    message=event.message,
                    rpc=info.rpc if info else None,
                    rpc_role=_rpc_role(info),
                    detail=_message_detail(info),
                )
            ]
        if isinstance(event, Settled):
            kind: ArrowKind = (
                "ack" if event.action == "ack" else "requeue" if event.requeue else event.action
            )
            tags = ",".join(str(t) for t in event.tags)
            verb = event.action + (" requeue" if event.requeue else "")
            if event.because:
                verb = f"requeued ({event.because})"
            label = f"{verb} tag {tags}" + (" multiple" if event.multiple else "")
            targets = event.queues or ["?"]
            first = event.messages[0] if event.messages else None
            info = flow.messages.get(first) if first is not None else None
            return [
                arrow(
                    kind,
                    connection_id(event.conn),
                    queue_id(q),
                    label,
                    flavor=info.flavor if info else None,
                    message=first,
                    detail=label + " (" + ", ".join(f"#{m}" for m in event.messages) + ")",
                )
                for q in targets
            ]
        if isinstance(event, Returned):
            info = flow.messages.get(event.message)
            return [
                arrow(
                    "return",
                    exchange_id(event.exchange),
                    connection_id(event.conn),
                    f"#{event.message} {event.code} {event.text}",
                    flavor=info.flavor if info else None,
                    message=event.message,
                    rpc=info.rpc if info else None,
                    detail=_message_detail(info),
                )
            ]
        if isinstance(event, DeadLettered):
            info = flow.messages.get(event.message)
            flavor = info.flavor if info else None
            dlx = exchange_id(event.exchange)
            rows: list[Row] = [
                arrow(
                    "dead-letter",
                    queue_id(event.queue),
                    dlx,
                    f"#{event.message} {event.reason}",
                    flavor=flavor,
                    message=event.message,
                    detail=f"#{event.message} dead-lettered from {event.queue} ({event.reason})",
                )
            ]
            for name in event.queues:
                rows.append(
                    arrow(
                        "route",
                        dlx,
                        queue_id(name),
                        "dead letter",
                        flavor=flavor,
                        message=event.message,
                        detail=f"#{event.message} dead letter routed to {name}",
                    )
                )
            return rows
        raise RuntimeError(f"Unexpected event: {event!r}")  # pragma: no cover


_SETUP_ORDER = ("declare queue", "declare exchange", "bind", "consume", "get", "cancel")


def _setup_rank(item: str) -> int:
    """Which setup item names a setup note: declarations first, channel open/close last."""
    for rank, prefix in enumerate(_SETUP_ORDER):
        if item.startswith(prefix):
            return rank
    return len(_SETUP_ORDER) + (1 if item.startswith("channel ") else 0)


def _rpc_role(info: MessageInfo | None) -> Literal["request", "reply"] | None:
    if info is None or info.rpc is None:
        return None
    return "reply" if info.flavor == "reply" else "request"


_KIND_ORDER = {"connection": 0, "exchange": 1, "queue": 2, "outside": 3}


def build_diagram(flow: Flow, collapse: bool = True, setup: bool = True) -> Diagram:
    """Participants and rows of a flow. ``collapse`` draws runs of the same pattern once
    in a loop frame; ``setup=False`` leaves out handshake, setup and close notes."""
    builder = _Builder(flow)
    for number in sorted(flow.connections):
        builder.participant(connection_id(number))
    events = [e for e in flow.events if setup or not isinstance(e, Connected | Setup | Closed)]
    items: list[Event | Repeat] = (
        collapse_repeats(flow, events, min_times=4) if collapse else list(events)
    )
    blocks: list[Block] = []
    for item in items:
        if isinstance(item, Repeat):
            rows = [row for event in item.events for row in builder.rows(event)]
            # the frame stands for every round: filters must find all of them
            for rnd in item.rounds[1:]:
                for event in rnd:
                    conns, queues = flow.event_connections(event), flow.event_queues(event)
                    for row in rows:
                        row.connections |= conns
                        row.queues |= queues
            numbers = sorted({n for rnd in item.rounds for e in rnd for n in _numbers(e)})
            span = f" #{numbers[0]}..#{numbers[-1]}" if numbers else ""
            blocks.append(Block(rows, item.times, f"loop x{item.times}{span}"))
        else:
            rows = builder.rows(item)
            if blocks and blocks[-1].times == 1:
                blocks[-1].rows.extend(rows)
            else:
                blocks.append(Block(rows))
    participants = sorted(
        builder.seen.values(),
        key=lambda p: (_KIND_ORDER[p.kind], list(builder.seen).index(p.id)),
    )
    rpc: list[tuple[int, str, str, str]] = []
    for call in flow.rpc_calls:
        request = flow.messages.get(call.request)
        what = f"#{call.request} {_message_label(request, flow)}"
        replies = ", ".join(f"#{n}" for n in call.replies)
        status = call.status + (f" by {replies}" if replies else "")
        rpc.append((call.number, call.convention, what, status))
    return Diagram(
        title=flow.title,
        subtitle=flow.subtitle,
        summary=flow.summary.line(),
        participants=participants,
        blocks=blocks,
        rpc=rpc,
        notes=list(flow.notes),
    )


def _numbers(event: Event) -> list[int]:
    if isinstance(event, Published | Delivered | Returned | DeadLettered):
        return [event.message]
    if isinstance(event, Settled):
        return list(event.messages)
    return []


def cassette_diagram(
    cassette: Cassette,
    connection: int | None = None,
    queue: str | None = None,
    collapse: bool = True,
) -> Diagram:
    """The diagram of a cassette, optionally of one connection's or queue's traffic."""
    flow = flow_from_cassette(cassette)
    if connection is not None or queue is not None:
        flow = flow.select(connection=connection, queue=queue)
    return build_diagram(flow, collapse=collapse)


# --- drawing ------------------------------------------------------------------------


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _colour(row: Arrow) -> str:
    if row.kind in _KIND_COLOURS:
        return row.kind
    return row.flavor or "publish"


def _colour_value(name: str) -> str:
    return _FLAVOR_COLOURS.get(name) or _KIND_COLOURS.get(name) or "#57606a"


def _styles() -> str:
    rules = [
        f"svg.amqpmock-diagram {{ font-family: {FONT}; font-size: 11px; background: #fff; }}",
        ".title { font-size: 15px; font-weight: bold; fill: #1f2328; }",
        ".subtitle, .summary { fill: #59636e; }",
        ".box { fill: #f6f8fa; stroke: #8c959f; }",
        ".participant[data-participant-kind=connection] .box { fill: #ddf4ff; stroke: #0969da; }",
        ".participant[data-participant-kind=exchange] .box { fill: #fff8c5; stroke: #9a6700; }",
        ".participant[data-participant-kind=queue] .box { fill: #dafbe1; stroke: #1a7f37; }",
        ".participant[data-participant-kind=outside] .box "
        "{ fill: #f6f8fa; stroke: #8c959f; stroke-dasharray: 4 3; }",
        ".pname { font-weight: bold; fill: #1f2328; }",
        ".pcaption { fill: #59636e; font-size: 10px; }",
        ".lifeline { stroke: #d0d7de; stroke-dasharray: 3 4; }",
        ".arrow line, .arrow path, .legend line { fill: none; stroke-width: 1.6; }",
        ".arrow text { fill: #1f2328; }",
        "[data-arrow-kind=publish] line { stroke-width: 2.6; }",
        "[data-arrow-kind=route] line { stroke-dasharray: 6 3; stroke-width: 1.3; }",
        ".arrow[data-flavor=reply][data-arrow-kind=publish] line { stroke-dasharray: 8 3; }",
        "[data-arrow-kind=ack] line { stroke-width: 1; }",
        ".arrow[data-arrow-kind=ack] text { fill: #59636e; }",
        "[data-arrow-kind=requeue] line { stroke-dasharray: 3 2; }",
        "[data-arrow-kind=return] line { stroke-dasharray: 2 2; stroke-width: 2; }",
        "[data-arrow-kind=dead-letter] line { stroke-dasharray: 1 2; stroke-width: 2; }",
        ".note rect { stroke-width: 1; }",
        ".note[data-note-kind=handshake] rect { fill: #f6f8fa; stroke: #8c959f; }",
        ".note[data-note-kind=setup] rect { fill: #fff8c5; stroke: #d4a72c; }",
        ".note[data-note-kind=close] rect { fill: #f6f8fa; stroke: #d0d7de; }",
        ".note[data-note-kind=error] rect { fill: #ffebe9; stroke: #cf222e; }",
        ".note text { fill: #1f2328; }",
        ".rownum { fill: #8c959f; font-size: 9px; }",
        ".loop-frame { fill: none; stroke: #8250df; stroke-dasharray: 5 3; }",
        ".loop-label { fill: #8250df; font-weight: bold; }",
        ".legend text { fill: #1f2328; }",
        ".legend [data-legend-group=flavor] line { stroke-width: 5; }",
        ".hl line { stroke-width: 3.5 !important; }",
        ".hl text { font-weight: bold; }",
        ".idle { opacity: 0.3; }",
    ]
    for name, value in {**_FLAVOR_COLOURS, **_KIND_COLOURS}.items():
        rules.append(f".c-{name} line, .c-{name} path {{ stroke: {value}; }}")
        rules.append(f".c-{name} .mark {{ fill: {value}; }}")
    return "\n".join(rules)


def _markers() -> str:
    out = []
    for name in (*_FLAVOR_COLOURS, *_KIND_COLOURS):
        out.append(
            f'<marker id="ah-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
            f'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" '
            f'fill="{_colour_value(name)}"/></marker>'
        )
    return "<defs>" + "".join(out) + "</defs>"


@dataclass
class _Layout:
    x: dict[str, float]
    width: float
    summary: list[str]  # the summary, wrapped
    legend: list[tuple[str, str, str, float, float]]  # (group, key, label, x, y)
    box_y: float  # top of the participant boxes
    top: float  # y of the first row
    height: float
    row_y: list[float]  # y of each row's centre line, in document order
    frames: list[tuple[float, float]]  # (top, bottom) of each block frame (times > 1)


_LEGEND_KINDS = ("publish", "route", "deliver", "ack", "nack", "requeue", "return", "dead-letter")


def _wrap(text: str, width: float) -> list[str]:
    limit = max(20, int(width / CHAR))
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        if current and len(current) + 1 + len(word) > limit:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return [*lines, current] if current else lines


def _layout(diagram: Diagram) -> _Layout:
    x = {p.id: LEFT + COLUMN * i + COLUMN / 2 for i, p in enumerate(diagram.participants)}
    width = LEFT + COLUMN * max(1, len(diagram.participants)) + 16
    width = max(width, 720)
    usable = width - LEFT - 16
    summary = _wrap(diagram.summary, usable)
    y = 20 + LINE * (1 + len(summary)) + 24
    legend: list[tuple[str, str, str, float, float]] = []
    for group, keys, names in (
        ("flavor", FLAVORS, _FLAVOR_NAMES),
        ("kind", _LEGEND_KINDS, _KIND_NAMES),
    ):
        cx = 0.0
        for key in keys:
            label = names[key]
            size = 40 + len(label) * CHAR
            if cx and cx + size > usable:
                cx = 0.0
                y += LEGEND_ROW
            legend.append((group, key, label, cx, y))
            cx += size
        y += LEGEND_ROW
    box_y = y + 4
    top = box_y + BOX_H + 20
    y = top
    row_y: list[float] = []
    frames: list[tuple[float, float]] = []
    for block in diagram.blocks:
        if block.times > 1:
            start = y
            y += LOOP_HEAD
        for _ in block.rows:
            row_y.append(y + ROW / 2)
            y += ROW
        if block.times > 1:
            y += LOOP_TAIL
            frames.append((start, y))
            y += 4
    return _Layout(x, width, summary, legend, box_y, top, y + 24, row_y, frames)


def _legend(layout: _Layout) -> str:
    parts = ['<g class="legend" data-legend="">']
    for group, key, label, cx, cy in layout.legend:
        x, y = LEFT + cx, cy
        if group == "flavor":
            parts.append(
                f'<g class="c-{key}" data-legend-item="{key}" data-legend-group="flavor" '
                f'transform="translate({x},{y})"><line x1="0" y1="-4" x2="26" y2="-4" '
                f'stroke-width="4"/><text x="32" y="0">{_esc(label)}</text></g>'
            )
        else:
            colour = key if key in _KIND_COLOURS else "publish"
            parts.append(
                f'<g class="legend-arrow c-{colour}" data-legend-item="{key}" '
                f'data-legend-group="kind" data-arrow-kind="{key}" '
                f'transform="translate({x},{y})"><line x1="0" y1="-4" x2="26" y2="-4" '
                f'marker-end="url(#ah-{colour})"/><text x="32" y="0">{_esc(label)}</text></g>'
            )
    parts.append("</g>")
    return "".join(parts)


def _participant(p: Participant, x: float, y: float, bottom: float) -> str:
    limit = int((COLUMN - 14) / CHAR)
    title = f"{p.caption}: {p.name}" + (f"\n{p.detail}" if p.detail else "")
    caption = p.detail if p.kind in ("connection", "exchange") and p.detail else p.caption
    return (
        f'<g class="participant" data-participant="{_esc(p.id)}" '
        f'data-participant-kind="{p.kind}" data-participant-name="{_esc(p.name)}">'
        f"<title>{_esc(title)}</title>"
        f'<line class="lifeline" x1="{x}" y1="{y + BOX_H}" x2="{x}" y2="{bottom}"/>'
        f'<rect class="box" x="{x - COLUMN / 2 + 6}" y="{y}" width="{COLUMN - 12}" '
        f'height="{BOX_H}" rx="4"/>'
        f'<text class="pname" x="{x}" y="{y + 17}" text-anchor="middle">'
        f"{_esc(_middle(p.name, limit))}</text>"
        f'<text class="pcaption" x="{x}" y="{y + 31}" text-anchor="middle">'
        f"{_esc(_end(caption, limit + 2))}</text></g>"
    )


def _attrs(row: Row) -> str:
    conns = " ".join(str(c) for c in sorted(row.connections))
    queues = json.dumps(sorted(row.queues))
    return f'data-connections="{_esc(conns)}" data-queues="{_esc(queues)}"'


def _arrow(row: Arrow, index: int, layout: _Layout) -> str:
    x1, x2 = layout.x[row.source], layout.x[row.target]
    colour = _colour(row)
    attrs = [
        'class="row arrow c-' + colour + '"',
        'data-row-kind="arrow"',
        f'data-row="{index}"',
        f'data-arrow-kind="{row.kind}"',
        f'data-flavor="{row.flavor or ""}"',
        f'data-source="{_esc(row.source)}"',
        f'data-target="{_esc(row.target)}"',
        _attrs(row),
    ]
    if row.message is not None:
        attrs.append(f'data-message="{row.message}"')
    if row.rpc is not None:
        attrs.append(f'data-rpc="{row.rpc}"')
    if row.rpc_role is not None:
        attrs.append(f'data-rpc-role="{row.rpc_role}"')
    y = layout.row_y[index]
    head = f'<g {" ".join(attrs)} transform="translate(0,{y})">'
    title = f"<title>{_esc(row.label + (chr(10) + row.detail if row.detail else ''))}</title>"
    num = f'<text class="rownum" x="{LEFT - 8}" y="4" text-anchor="end">{index + 1}</text>'
    if x1 == x2:
        # to itself: a small loop on the lifeline
        path = (
            f'<path d="M{x1},-6 h28 v12 h-26" marker-end="url(#ah-{colour})"/>'
            f'<text x="{x1 + 34}" y="3">{_esc(_end(row.label, 30))}</text>'
        )
        return head + title + num + path + "</g>"
    # one arrow per row: a label longer than its arrow may run on along the row
    span = abs(x2 - x1)
    left = min(x1, x2)
    if len(row.label) * CHAR <= span - 12:
        text = f'<text x="{(x1 + x2) / 2}" y="-5" text-anchor="middle">{_esc(row.label)}</text>'
    else:
        room = max(span, layout.width - left - 16)
        label = _end(row.label, max(6, int((room - 10) / CHAR)))
        text = f'<text x="{left + 6}" y="-5">{_esc(label)}</text>'
    end = x2 - 2 if x2 > x1 else x2 + 2
    return (
        head
        + title
        + num
        + f'<line x1="{x1}" y1="0" x2="{end}" y2="0" marker-end="url(#ah-{colour})"/>'
        + text
        + "</g>"
    )


def _note(row: Note, index: int, layout: _Layout) -> str:
    x = layout.x[row.participant]
    width = COLUMN - 20
    limit = _NOTE_CHARS
    y = layout.row_y[index]
    title = f"<title>{_esc(row.detail or row.text)}</title>"
    return (
        f'<g class="row note" data-row-kind="note" data-row="{index}" '
        f'data-note-kind="{row.kind}" data-participant-ref="{_esc(row.participant)}" '
        f'{_attrs(row)} transform="translate(0,{y})">'
        + title
        + f'<text class="rownum" x="{LEFT - 8}" y="4" text-anchor="end">{index + 1}</text>'
        + f'<rect x="{x - width / 2}" y="-9" width="{width}" height="18" rx="3"/>'
        + f'<text x="{x}" y="4" text-anchor="middle">{_esc(_end(row.text, limit))}</text>'
        + "</g>"
    )


def render_svg(diagram: Diagram, standalone: bool = True) -> str:
    """The diagram as one SVG document (``standalone`` adds the XML declaration)."""
    layout = _layout(diagram)
    out: list[str] = []
    if standalone:
        out.append('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="amqpmock-diagram" '
        f'data-diagram="amqpmock" width="{layout.width:.0f}" height="{layout.height:.0f}" '
        f'viewBox="0 0 {layout.width:.0f} {layout.height:.0f}" '
        f'data-row-height="{ROW}" data-loop-head="{LOOP_HEAD}" data-loop-tail="{LOOP_TAIL}" '
        f'data-top="{layout.top}">'
    )
    out.append(f"<title>{_esc(diagram.title)}</title>")
    out.append(f"<style>{_styles()}</style>")
    out.append(_markers())
    out.append(f'<rect x="0" y="0" width="{layout.width:.0f}" height="100%" fill="#fff"/>')
    out.append(f'<text class="title" x="{LEFT}" y="20">{_esc(diagram.title)}</text>')
    sub = diagram.subtitle
    out.append(f'<text class="subtitle" x="{LEFT}" y="{20 + LINE}">{_esc(sub)}</text>')
    out.append(f'<text class="summary" data-summary="" x="{LEFT}" y="{20 + 2 * LINE}">')
    for n, line in enumerate(layout.summary):
        out.append(f'<tspan x="{LEFT}" dy="{LINE if n else 0}">{_esc(line)}</tspan>')
    out.append("</text>")
    out.append(_legend(layout))
    box_y = layout.box_y
    out.append('<g class="participants">')
    for p in diagram.participants:
        out.append(_participant(p, layout.x[p.id], box_y, layout.height - 10))
    out.append("</g>")
    out.append('<g class="rows">')
    index = 0
    frame = 0
    for block in diagram.blocks:
        attrs = f'class="block" data-times="{block.times}"'
        out.append(f"<g {attrs}>")
        if block.times > 1:
            top, bottom = layout.frames[frame]
            frame += 1
            out.append(
                f'<rect class="loop-frame" x="{LEFT - 4}" y="{top}" '
                f'width="{layout.width - LEFT - 8}" height="{bottom - top}" rx="4"/>'
                f'<text class="loop-label" x="{LEFT + 2}" y="{top + 13}">'
                f"{_esc(block.label)}</text>"
            )
        for row in block.rows:
            if isinstance(row, Arrow):
                out.append(_arrow(row, index, layout))
            else:
                out.append(_note(row, index, layout))
            index += 1
        out.append("</g>")
    out.append("</g></svg>\n")
    return "".join(out)


_PAGE_CSS = """
body { margin: 0; font: 13px system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       color: #1f2328; background: #f6f8fa; }
header { position: sticky; top: 0; z-index: 2; background: #fff; padding: 8px 16px;
         border-bottom: 1px solid #d0d7de; }
header h1 { font-size: 16px; margin: 0 0 4px; }
header p { margin: 2px 0; color: #59636e; }
form.filters { display: flex; gap: 16px; align-items: center; margin-top: 6px; }
main { padding: 12px 16px; overflow-x: auto; }
main svg { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; }
section.rpc { padding: 0 16px 24px; }
table { border-collapse: collapse; background: #fff; }
td, th { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left;
         font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace;
         font-size: 12px; }
tr.hl td { background: #ddf4ff; }
"""

_PAGE_JS = r"""
(function () {
  "use strict";
  var svg = document.querySelector("svg.amqpmock-diagram");
  var conn = document.getElementById("f-conn");
  var queue = document.getElementById("f-queue");
  var setup = document.getElementById("f-setup");
  var count = document.getElementById("f-count");
  var ROW = +svg.getAttribute("data-row-height");
  var HEAD = +svg.getAttribute("data-loop-head");
  var TAIL = +svg.getAttribute("data-loop-tail");
  var TOP = +svg.getAttribute("data-top");
  var rows = Array.prototype.slice.call(svg.querySelectorAll("g.row"));

  function wants(row) {
    var c = conn.value, q = queue.value;
    if (c && (" " + row.getAttribute("data-connections") + " ").indexOf(" " + c + " ") < 0) {
      return false;
    }
    if (q && JSON.parse(row.getAttribute("data-queues") || "[]").indexOf(q) < 0) {
      return false;
    }
    if (!setup.checked && row.getAttribute("data-row-kind") === "note") { return false; }
    return true;
  }

  function layout() {
    var y = TOP, shown = 0, used = {};
    Array.prototype.forEach.call(svg.querySelectorAll("g.block"), function (block) {
      var loop = +block.getAttribute("data-times") > 1;
      var mine = block.querySelectorAll("g.row");
      var visible = Array.prototype.filter.call(mine, wants);
      var frame = block.querySelector(".loop-frame");
      var label = block.querySelector(".loop-label");
      var start = y;
      if (loop && visible.length) { y += HEAD; }
      Array.prototype.forEach.call(mine, function (row) {
        if (visible.indexOf(row) < 0) { row.style.display = "none"; return; }
        row.style.display = "";
        row.setAttribute("transform", "translate(0," + (y + ROW / 2) + ")");
        y += ROW;
        shown += 1;
        ["data-source", "data-target", "data-participant-ref"].forEach(function (a) {
          var v = row.getAttribute(a);
          if (v) { used[v] = true; }
        });
      });
      if (frame) {
        if (visible.length) {
          y += TAIL;
          frame.style.display = label.style.display = "";
          frame.setAttribute("y", start);
          frame.setAttribute("height", y - start);
          label.setAttribute("y", start + 13);
          y += 4;
        } else {
          frame.style.display = label.style.display = "none";
        }
      }
    });
    var height = y + 24;
    svg.setAttribute("height", height);
    var box = svg.getAttribute("viewBox").split(" ");
    svg.setAttribute("viewBox", box[0] + " " + box[1] + " " + box[2] + " " + height);
    Array.prototype.forEach.call(svg.querySelectorAll("g.participant"), function (p) {
      p.querySelector(".lifeline").setAttribute("y2", height - 10);
      var id = p.getAttribute("data-participant");
      p.classList.toggle("idle", !used[id]);
    });
    count.textContent = shown + " of " + rows.length + " rows";
    count.setAttribute("data-visible-rows", String(shown));
  }

  function highlight(rpc, on) {
    Array.prototype.forEach.call(
      document.querySelectorAll('[data-rpc="' + rpc + '"]'),
      function (el) { el.classList.toggle("hl", on); }
    );
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-rpc]"), function (el) {
    var rpc = el.getAttribute("data-rpc");
    el.addEventListener("mouseenter", function () { highlight(rpc, true); });
    el.addEventListener("mouseleave", function () { highlight(rpc, false); });
  });
  // filters live in the URL's fragment too (#connection=2&queue=q&setup=0): shareable
  function fromHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    var has = function (select, value) {
      return Array.prototype.some.call(select.options, function (o) { return o.value === value; });
    };
    var c = params.get("connection"), q = params.get("queue");
    conn.value = c !== null && has(conn, c) ? c : "";
    queue.value = q !== null && has(queue, q) ? q : "";
    setup.checked = params.get("setup") !== "0";
  }
  function toHash() {
    var params = new URLSearchParams();
    if (conn.value) { params.set("connection", conn.value); }
    if (queue.value) { params.set("queue", queue.value); }
    if (!setup.checked) { params.set("setup", "0"); }
    var hash = params.toString();
    if (history.replaceState) {
      history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
    }
  }
  [conn, queue, setup].forEach(function (el) {
    el.addEventListener("change", function () { toHash(); layout(); });
  });
  window.addEventListener("hashchange", function () { fromHash(); layout(); });
  fromHash();
  layout();
  document.body.setAttribute("data-js-ok", "1");
})();
"""


def _options(values: Iterable[tuple[str, str]]) -> str:
    return "".join(f'<option value="{_esc(v)}">{_esc(label)}</option>' for v, label in values)


def render_html(diagram: Diagram) -> str:
    """A self-contained page: the SVG, filters by connection and queue, the RPC table."""
    conns = sorted(
        {c for row in diagram.rows for c in row.connections},
    )
    names = {p.id: p for p in diagram.participants}
    conn_options = [("", "all")] + [
        (
            str(c),
            f"conn {c}"
            + (f" · {names[connection_id(c)].detail}" if connection_id(c) in names else ""),
        )
        for c in conns
    ]
    queues = sorted({q for row in diagram.rows for q in row.queues})
    queue_options = [("", "all")] + [(q, q) for q in queues]
    rpc_rows = "".join(
        f'<tr data-rpc="{n}"><td>{n}</td><td>{_esc(conv)}</td><td>{_esc(what)}</td>'
        f"<td>{_esc(status)}</td></tr>"
        for n, conv, what, status in diagram.rpc
    )
    rpc = (
        '<section class="rpc"><h2>RPC calls</h2><table data-rpc-table="">'
        "<tr><th>#</th><th>convention</th><th>request</th><th>status</th></tr>"
        f"{rpc_rows}</table></section>"
        if diagram.rpc
        else ""
    )
    notes = "".join(f"<p>{_esc(n)}</p>" for n in diagram.notes)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(diagram.title)} - amqpmock</title>"
        f"<style>{_PAGE_CSS}</style></head>"
        '<body data-amqpmock-diagram="">'
        f"<header><h1>{_esc(diagram.title)}</h1>"
        f'<p class="subtitle">{_esc(diagram.subtitle)}</p>'
        f'<p class="summary" data-summary="">{_esc(diagram.summary)}</p>{notes}'
        '<form class="filters" onsubmit="return false">'
        '<label>connection <select id="f-conn" data-filter="connection">'
        f"{_options(conn_options)}</select></label>"
        '<label>queue <select id="f-queue" data-filter="queue">'
        f"{_options(queue_options)}</select></label>"
        '<label><input type="checkbox" id="f-setup" data-filter="setup" checked> '
        "handshakes, setup and closes</label>"
        f'<span id="f-count" data-visible-rows="{len(diagram.rows)}">'
        f"{len(diagram.rows)} rows</span>"
        "</form></header>"
        f"<main>{render_svg(diagram, standalone=False)}</main>"
        f"{rpc}"
        f"<script>{_PAGE_JS}</script>"
        "</body></html>\n"
    )
