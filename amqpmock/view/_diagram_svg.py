"""Drawing a diagram: its layout (columns, the legend, row and loop-frame positions) and
the one SVG document ``render_svg`` returns (styles, arrowheads, participants, rows).

The rules are in ``amqpmock.view.diagram``.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

from amqpmock.view._diagram_model import (
    _FLAVOR_COLOURS,
    _FLAVOR_NAMES,
    _KIND_COLOURS,
    _KIND_NAMES,
    _NOTE_CHARS,
    BOX_H,
    CHAR,
    COLUMN,
    FLAVORS,
    FONT,
    LEFT,
    LEGEND_ROW,
    LINE,
    LOOP_HEAD,
    LOOP_TAIL,
    ROW,
    Arrow,
    Diagram,
    Note,
    Participant,
    Row,
    _end,
    _middle,
)


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
                + (f"<title>{_esc(block.detail)}</title>" if block.detail else "")
                + f"{_esc(block.label)}</text>"
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
