"""The diagram model: participants, rows (arrows and notes), blocks and the ``Diagram``;
the arrow kinds and flavours with their colours and legend names, the layout's sizes,
and the text fitting both building and drawing use.

The rules are in ``amqpmock.view.diagram``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from amqpmock.view.flows import Flavor

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
    """Rows drawn once; ``times`` > 1 puts them in a ``loop xN`` frame (``detail``: its
    tooltip, listing the messages that differ between rounds)."""

    rows: list[Row]
    times: int = 1
    label: str = ""
    detail: str = ""


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


# --- fitting text -------------------------------------------------------------------


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
