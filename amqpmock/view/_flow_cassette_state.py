"""The cassette reader's state, which its frame handlers share: the flow being built
(events, the message table, connections), message identity, and the broker's state as
the recording shows it (queues, bindings, channels, consumers); and the few helpers
every handler uses (the channel's state, the current ``Setup`` note, requeues).

The handlers are in ``_flow_cassette_setup`` and ``_flow_cassette_messages``; the walk
that calls them in ``_flow_cassette``. The rules are in ``amqpmock.view.flows``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from amqpmock.cassette import Cassette, Interaction
from amqpmock.view._flow_classify import _Book, _text
from amqpmock.view._flow_model import ConnectionInfo, Event, Published, Settled, Setup

Ref = tuple[int, int]
"""An interaction: (connection id, index in that connection's interactions)."""


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


class _ReaderState:
    """Everything the cassette reader builds and remembers while it walks a cassette."""

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
        # which interactions carry the same message (see ``_flow_cassette_order``)
        self.groups: dict[Ref, Ref] = {}
        # handshake frames of each connection, until its Connection.OpenOk
        self.handshake: dict[int, list[Interaction]] = {}

    def at(self, ref: Ref) -> Interaction:
        return self.cassette.connection(ref[0]).interactions[ref[1]]

    def channel(self, conn: int, channel: int) -> _Channel:
        return self.channels.setdefault((conn, channel), _Channel())

    def setup(
        self,
        conn: int,
        channel: int,
        item: str,
        queue: str | None = None,
        exchange: str | None = None,
    ) -> Setup:
        """Add ``item`` to the channel's setup note: the last event when that is one for
        this channel, else a new one."""
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

    def queue_name(self, ref: Ref, i: Interaction) -> str:
        name = _text(i.args.get("queue"))
        if not name:
            name = self.channel(ref[0], i.channel).last_queue or ""
        return name

    def requeue_unacked(self, conn: int, channel: int, because: str) -> None:
        """The broker requeues a channel's unacked deliveries (it closed, or recovered)."""
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


_Handler = Callable[[_ReaderState, Ref, Interaction], None]
"""What the reader calls for one interaction (see its dispatch table)."""
