"""The cassette front end: ``flow_from_cassette`` reads a recorded cassette into a flow.

The reader merges the connections' interactions in causal order
(``_flow_cassette_order``), then walks them once, handing each to its handler through
one dispatch table (``_CASSETTE_HANDLERS``, below): the handshake and housekeeping
handlers are in ``_flow_cassette_setup``, the message handlers in
``_flow_cassette_messages``, and the state they share in ``_flow_cassette_state``. The
rules are in ``amqpmock.view.flows``.
"""

from __future__ import annotations

from collections.abc import Mapping

from amqpmock.cassette import REDACTED, Cassette, Interaction
from amqpmock.view import _flow_cassette_messages as messages
from amqpmock.view import _flow_cassette_setup as setup
from amqpmock.view._flow_cassette_order import dependencies, merge_order, message_groups
from amqpmock.view._flow_cassette_state import Ref, _Handler, _ReaderState
from amqpmock.view._flow_classify import _text, short
from amqpmock.view._flow_model import (
    Closed,
    ConnectionInfo,
    Flow,
    Notice,
    Summary,
    _summarize,
)

HANDSHAKE_METHODS = frozenset(
    {
        "Connection.Start",
        "Connection.StartOk",
        "Connection.Secure",
        "Connection.SecureOk",
        "Connection.Tune",
        "Connection.TuneOk",
        "Connection.Open",
        "Connection.OpenOk",
    }
)
# Server answers that say nothing the request did not (folded into the request's line).
_SILENT_REPLIES = frozenset(
    {
        "Channel.OpenOk",
        "Channel.CloseOk",
        "Channel.FlowOk",
        "Exchange.DeclareOk",
        "Exchange.DeleteOk",
        "Exchange.BindOk",
        "Exchange.UnbindOk",
        "Queue.BindOk",
        "Queue.UnbindOk",
        "Queue.PurgeOk",
        "Queue.DeleteOk",
        "Basic.QosOk",
        "Basic.CancelOk",
        "Basic.RecoverOk",
        "Confirm.SelectOk",
        "Tx.SelectOk",
        "Tx.CommitOk",
        "Tx.RollbackOk",
        "Connection.CloseOk",
    }
)


def flow_from_cassette(cassette: Cassette) -> Flow:
    """The flow of a recorded cassette (see ``amqpmock.view.flows`` for how it reads)."""
    return _CassetteReader(cassette).read()


class _CassetteReader(_ReaderState):
    """One walk over a cassette's interactions, in causal order, building its flow."""

    def read(self) -> Flow:
        self.groups = message_groups(self.cassette)
        order = merge_order(self.cassette, dependencies(self.cassette, self.groups))
        for conn in self.cassette.connections:
            self.connections[conn.id] = ConnectionInfo(number=conn.id, ending=conn.ending)
        for ref in order:
            i = self.at(ref)
            try:
                self._interaction(ref, i)
            except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
                # a hand-edited cassette with values of the wrong type: say so, go on
                where = f"connection {ref[0]}, interaction {ref[1]}"
                self.events.append(
                    Notice(ref[0], i.channel, f"unreadable {i.method} ({where}): {exc}", "error")
                )
        for conn in self.cassette.connections:
            if conn.id in self.handshake:  # never finished the handshake
                setup.flush_handshake(self, conn.id)
            if conn.id not in self.closed:
                self.events.append(
                    Closed(
                        conn.id,
                        conn.ending,
                        conn.heartbeats.c2s + conn.heartbeats.s2c,
                        conn.error,
                    )
                )
        header = self.cassette.header
        title = self.cassette.path.name if self.cassette.path is not None else "cassette"
        bits = []
        if header.upstream_product:
            bits.append(f"{header.upstream_product} {header.upstream_version or ''}".strip())
        if header.recorded_at is not None:
            bits.append(f"recorded {header.recorded_at.isoformat(sep=' ')}")
        if not self.cassette.complete:
            bits.append("INCOMPLETE recording")
        flow = Flow(
            title=title,
            events=self.events,
            messages=self.book.messages,
            rpc_calls=self.book.calls,
            connections=self.connections,
            exchange_types=self.exchange_types,
            summary=Summary(),
            subtitle=" · ".join(bits),
            notes=self.notes,
        )
        flow.summary = _summarize(
            flow,
            redactions=_count_redactions(self.cassette),
            heartbeats=sum(c.heartbeats.c2s + c.heartbeats.s2c for c in self.cassette),
        )
        return flow

    def _interaction(self, ref: Ref, i: Interaction) -> None:
        conn = ref[0]
        if i.method in HANDSHAKE_METHODS:
            self.handshake.setdefault(conn, []).append(i)
            if i.method == "Connection.OpenOk":
                setup.flush_handshake(self, conn)
            return
        handler = _CASSETTE_HANDLERS.get((i.dir, i.method))
        if handler is not None:
            handler(self, ref, i)
        elif i.method in _SILENT_REPLIES:
            return
        else:
            args = ", ".join(f"{k}={short(_text(v), 30)}" for k, v in i.args.items())
            who = "client" if i.dir == "c2s" else "server"
            self.setup(conn, i.channel, f"{i.method} ({who}{': ' + args if args else ''})")


_CASSETTE_HANDLERS: dict[tuple[str, str], _Handler] = {
    ("c2s", "Channel.Open"): setup.channel_open,
    ("c2s", "Channel.Close"): setup.channel_close,
    ("s2c", "Channel.Close"): setup.channel_close,
    ("c2s", "Channel.Flow"): setup.simple("flow (client)"),
    ("s2c", "Channel.Flow"): setup.simple("flow (broker)"),
    ("c2s", "Connection.Close"): setup.connection_close,
    ("s2c", "Connection.Close"): setup.connection_close,
    ("s2c", "Connection.Blocked"): setup.simple("connection blocked by the broker"),
    ("s2c", "Connection.Unblocked"): setup.simple("connection unblocked"),
    ("c2s", "Exchange.Declare"): setup.exchange_declare,
    ("c2s", "Exchange.Delete"): setup.purge_delete,
    ("c2s", "Exchange.Bind"): setup.exchange_bind,
    ("c2s", "Exchange.Unbind"): setup.exchange_bind,
    ("c2s", "Queue.Declare"): setup.queue_declare,
    ("s2c", "Queue.DeclareOk"): setup.queue_declare_ok,
    ("c2s", "Queue.Bind"): setup.queue_bind,
    ("c2s", "Queue.Unbind"): setup.queue_bind,
    ("c2s", "Queue.Purge"): setup.purge_delete,
    ("c2s", "Queue.Delete"): setup.purge_delete,
    ("c2s", "Basic.Qos"): setup.qos,
    ("c2s", "Basic.Consume"): setup.consume,
    ("s2c", "Basic.ConsumeOk"): setup.consume_ok,
    ("c2s", "Basic.Cancel"): setup.cancel,
    ("s2c", "Basic.Cancel"): setup.cancel,
    ("c2s", "Basic.Publish"): messages.publish,
    ("s2c", "Basic.Return"): messages.returned,
    ("s2c", "Basic.Deliver"): messages.delivery,
    ("c2s", "Basic.Get"): messages.get,
    ("s2c", "Basic.GetOk"): messages.delivery,
    ("s2c", "Basic.GetEmpty"): messages.get_empty,
    ("s2c", "Basic.Ack"): messages.confirm,
    ("s2c", "Basic.Nack"): messages.confirm,
    ("c2s", "Basic.Ack"): messages.settle,
    ("c2s", "Basic.Nack"): messages.settle,
    ("c2s", "Basic.Reject"): messages.settle,
    ("c2s", "Basic.Recover"): messages.recover,
    ("c2s", "Basic.RecoverAsync"): messages.recover,
    ("c2s", "Confirm.Select"): setup.confirm_select,
    ("c2s", "Tx.Select"): setup.simple("tx.select"),
    ("c2s", "Tx.Commit"): setup.simple("tx.commit"),
    ("c2s", "Tx.Rollback"): setup.simple("tx.rollback"),
}


def _count_redactions(cassette: Cassette) -> int:
    count = 0

    def walk(value: object) -> None:
        nonlocal count
        if isinstance(value, str):
            count += value.count(REDACTED)
        elif isinstance(value, bytes):
            count += value.count(REDACTED.encode())
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(cassette.header.upstream_url)
    for conn in cassette.connections:
        walk(conn.upstream)
        for interaction in conn.interactions:
            walk(interaction.args)
            walk(interaction.properties)
            walk(interaction.body)
    return count
