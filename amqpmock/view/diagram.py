"""``amqpmock diagram``: a message flow as a self-contained sequence diagram.

``build_diagram(flow)`` turns a ``Flow`` into participants and rows (arrows and notes);
``render_svg`` draws it as one SVG document and ``render_html`` wraps that SVG in a page
with a legend, filters and the RPC table. The model is in ``_diagram_model``, the layout
and drawing in ``_diagram_svg``; the page's stylesheet and script are the files
``assets/diagram.css`` and ``assets/diagram.js``, inlined into every page.

Rules this module keeps:
- Pure: text in, text out; the CLI and the pytest plugin write the files.
- Self-contained: no network, no external fonts, scripts or styles; the HTML's only
  script is inline and the page reads fine without it.
- Participants are columns: client connections, then exchanges, queues, and outside
  services (parties the recording did not see). Each row is one arrow (publish to an
  exchange, routing to a queue, delivery, ack/nack/requeue, return, dead letter) or one
  note on a lifeline (handshake, setup, close, error). Handshakes are one note; runs of
  the same pattern are drawn once inside a ``loop xN`` frame. When the folded messages
  differ, the frame's label says how (``52 different bodies``) and its tooltip lists
  them; the publish shows the first and last body.
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

from collections.abc import Iterable
from functools import cache
from importlib.resources import files
from typing import Literal

from amqpmock.cassette import Cassette
from amqpmock.view._diagram_model import (
    _NOTE_CHARS,
    ARROW_KINDS,
    FLAVORS,
    Arrow,
    ArrowKind,
    Block,
    Diagram,
    Note,
    NoteKind,
    Participant,
    Row,
    _end,
    _middle,
)
from amqpmock.view._diagram_svg import _esc, render_svg
from amqpmock.view.flows import (
    DIRECT_REPLY_TO,
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
    Variation,
    collapse_repeats,
    connection_id,
    exchange_id,
    flow_from_cassette,
    queue_id,
    sample,
    variation_label,
    variation_text,
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

# --- building -----------------------------------------------------------------------


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
            label = variation_label(item.variations)
            if label:
                span += f", {label}" if numbers else f" {label}"
            lists = [_variation_list(flow, v) for v in item.variations]
            for variation, listed in zip(item.variations, lists, strict=True):
                _show_variation(flow, rows, variation, listed)
            detail = "\n\n".join("\n".join(listed) for listed in lists)
            blocks.append(Block(rows, item.times, f"loop x{item.times}{span}", detail))
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


def _variation_list(flow: Flow, variation: Variation) -> list[str]:
    """The different messages of a fold, one a line (the first and last few of many)."""
    head, hidden, tail = sample(variation.kinds)

    def line(number: int) -> str:
        what = _message_label(flow.messages.get(number), flow)
        return variation_text(flow, variation, number, what)

    lines = [f"{variation_label([variation])}:", *(line(n) for n, _ in head)]
    if hidden:
        lines.append(f"... {hidden} more ...")
    lines += [line(n) for n, _ in tail]
    return lines


def _show_variation(flow: Flow, rows: list[Row], variation: Variation, listed: list[str]) -> None:
    """Arrows of a message that differs between rounds: the publish shows the first and
    the last body (or names what differs when the bodies do not), and the details of its
    publish and delivery list them all."""
    first, last = variation.numbers[0], variation.numbers[-1]
    for row in rows:
        if not isinstance(row, Arrow) or row.message != first:
            continue
        if row.kind == "publish" and "body" in variation.differs:
            one = _middle(_message_label(flow.messages.get(first), flow), 26)
            other = _middle(_message_label(flow.messages.get(last), flow), 26)
            row.label = f"#{first} {one} … #{last} {other}"
        elif row.kind == "publish":
            row.label += f" ({', '.join(variation.differs)} differ)"
        if row.kind in ("publish", "deliver"):
            row.detail = (row.detail + "\n\n" if row.detail else "") + "\n".join(listed)


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


# --- the page -----------------------------------------------------------------------


@cache
def _asset(name: str) -> str:
    """A file of ``amqpmock/view/assets`` (the page's stylesheet and script), read once."""
    return (files("amqpmock.view") / "assets" / name).read_text(encoding="utf-8")


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
        f"<style>\n{_asset('diagram.css')}</style></head>"
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
        f"<script>\n{_asset('diagram.js')}</script>"
        "</body></html>\n"
    )
