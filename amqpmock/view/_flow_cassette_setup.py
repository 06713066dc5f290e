"""The cassette reader's handlers for everything but messages: the handshake (one
``Connected`` event), channels and connections opening and closing, declarations,
bindings, consumers, qos and the other housekeeping that becomes ``Setup`` notes.

Each handler takes the reader's state, the interaction's ``Ref`` and the interaction;
``_flow_cassette`` holds the table that dispatches to them. The rules are in
``amqpmock.view.flows``.
"""

from __future__ import annotations

from collections.abc import Mapping

from amqpmock.cassette import Interaction
from amqpmock.view._flow_cassette_state import Ref, _Handler, _ReaderState
from amqpmock.view._flow_classify import _num, _table, _text, short
from amqpmock.view._flow_model import (
    DIRECT_REPLY_TO,
    Closed,
    Connected,
    ConnectionInfo,
    Notice,
)


def simple(text: str) -> _Handler:
    """A handler that only notes ``text`` on the channel's setup line."""

    def handler(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
        reader.setup(ref[0], i.channel, text)

    return handler


# -- the handshake, channels and connections -------------------------------------------


def flush_handshake(reader: _ReaderState, conn: int) -> None:
    """The connection's handshake frames, held back until ``Connection.OpenOk`` (or the
    end of the cassette), become one ``Connected`` event."""
    frames = reader.handshake.pop(conn, [])
    client, user, vhost, name = "", None, "", None
    for i in frames:
        if i.method == "Connection.StartOk":
            props = _table(i.args.get("client_properties"))
            product = _text(props.get("product"))
            version = _text(props.get("version") or props.get("product_version"))
            client = f"{product} {version}".strip()
            name = _text(props.get("connection_name")) or None
            response = i.args.get("response")
            if isinstance(response, Mapping):
                user = _text(response.get("LOGIN")) or None
            elif isinstance(response, str) and response.count("\x00") == 2:
                user = response.split("\x00")[1] or None
        elif i.method == "Connection.Open":
            vhost = _text(i.args.get("virtual_host"))
    info = reader.connections.setdefault(conn, ConnectionInfo(number=conn))
    info.client, info.user, info.vhost, info.name = client, user, vhost, name
    reader.events.append(Connected(conn, client, vhost, user, len(frames)))


def channel_open(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    reader.setup(ref[0], i.channel, "channel open")


def channel_close(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    code = _num(i.args.get("reply_code"), 0)
    text = _text(i.args.get("reply_text"))
    if i.dir == "s2c" or code >= 300:
        who = "broker" if i.dir == "s2c" else "client"
        reader.events.append(
            Notice(ref[0], i.channel, f"{who} closed the channel: {code} {text}", "error")
        )
    else:
        reader.setup(ref[0], i.channel, "channel close")
    reader.requeue_unacked(ref[0], i.channel, "channel closed")


def connection_close(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    code = _num(i.args.get("reply_code"), 0)
    if i.dir == "s2c" or code >= 300:
        who = "broker" if i.dir == "s2c" else "client"
        reader.events.append(
            Notice(
                ref[0],
                0,
                f"{who} closed the connection: {code} {_text(i.args.get('reply_text'))}",
                "error",
            )
        )
    for conn, channel in list(reader.channels):
        if conn == ref[0]:
            reader.requeue_unacked(conn, channel, "connection closed")
    c = reader.cassette.connection(ref[0])
    if ref[0] in reader.closed:
        return
    reader.closed.add(ref[0])
    reader.events.append(Closed(ref[0], c.ending, c.heartbeats.c2s + c.heartbeats.s2c, c.error))


# -- declarations, bindings, consumers and other housekeeping -----------------------------


def exchange_declare(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    name = _text(i.args.get("exchange"))
    kind = _text(i.args.get("exchange_type")) or "direct"
    flags = [f for f in ("durable", "auto_delete", "internal", "passive") if i.args.get(f)]
    extra = f", {', '.join(flags)}" if flags else ""
    args = _table(i.args.get("arguments"))
    if args:
        extra += ", " + ", ".join(f"{k}={short(_text(v), 24)}" for k, v in args.items())
    reader.setup(ref[0], i.channel, f"declare exchange {name} ({kind}{extra})", exchange=name)


def queue_declare(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    name = _text(i.args.get("queue"))
    flags = [f for f in ("durable", "exclusive", "auto_delete", "passive") if i.args.get(f)]
    args = _table(i.args.get("arguments"))
    detail = flags + [f"{k}={short(_text(v), 24)}" for k, v in args.items()]
    text = f"declare queue {name or '(server-named)'}" + (
        f" ({', '.join(detail)})" if detail else ""
    )
    setup = reader.setup(ref[0], i.channel, text, queue=name or None)
    state = reader.channel(ref[0], i.channel)
    if name:
        reader.known_queues.add(name)
        reader.queue_args[name] = args
        state.last_queue = name
    if not i.args.get("nowait"):
        state.pending_declare.append((setup, len(setup.items) - 1, args))


def queue_declare_ok(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    name = _text(i.args.get("queue"))
    state = reader.channel(ref[0], i.channel)
    state.last_queue = name
    reader.known_queues.add(name)
    if state.pending_declare:
        setup, index, args = state.pending_declare.pop(0)
        if "(server-named)" in setup.items[index]:
            setup.items[index] = setup.items[index].replace(
                "(server-named)", f"{name} (server-named)"
            )
            setup.queues.add(name)
            reader.queue_args.setdefault(name, args)


def queue_bind(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    queue = reader.queue_name(ref, i)
    exchange = _text(i.args.get("exchange"))
    key = _text(i.args.get("routing_key"))
    args = _table(i.args.get("arguments"))
    if i.method == "Queue.Bind":
        reader.bindings.append((exchange, queue, key, args))
        verb = "bind"
    else:
        reader.bindings = [b for b in reader.bindings if b[:3] != (exchange, queue, key)]
        verb = "unbind"
    reader.known_queues.add(queue)
    shown = f" {key!r}" if key else ""
    reader.setup(
        ref[0],
        i.channel,
        f"{verb} {queue} to {exchange or '(default)'}{shown}",
        queue=queue,
        exchange=exchange,
    )


def exchange_bind(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    verb = "bind" if i.method == "Exchange.Bind" else "unbind"
    reader.setup(
        ref[0],
        i.channel,
        f"{verb} exchange {_text(i.args.get('destination'))} to "
        f"{_text(i.args.get('source'))} {_text(i.args.get('routing_key'))!r}",
    )


def consume(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    queue = reader.queue_name(ref, i)
    tag = _text(i.args.get("consumer_tag"))
    no_ack = bool(i.args.get("no_ack"))
    if queue == DIRECT_REPLY_TO or queue.startswith(DIRECT_REPLY_TO):
        queue = DIRECT_REPLY_TO
    else:
        reader.known_queues.add(queue)
    if tag:
        reader.consumers[(ref[0], tag)] = (queue, no_ack)
    if not i.args.get("nowait"):
        reader.channel(ref[0], i.channel).pending_consume.append((queue, no_ack))
    flags = " (no-ack)" if no_ack else ""
    reader.setup(ref[0], i.channel, f"consume {queue}{flags}", queue=queue)


def consume_ok(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    state = reader.channel(ref[0], i.channel)
    if state.pending_consume:
        queue, no_ack = state.pending_consume.pop(0)
        reader.consumers[(ref[0], _text(i.args.get("consumer_tag")))] = (queue, no_ack)


def cancel(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    tag = _text(i.args.get("consumer_tag"))
    queue = reader.consumers.get((ref[0], tag), ("?", False))[0]
    who = "" if i.dir == "c2s" else " (by the broker)"
    reader.setup(ref[0], i.channel, f"cancel consumer on {queue}{who}", queue=queue)


def qos(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    scope = " global" if i.args.get("global_") or i.args.get("global") else ""
    reader.setup(ref[0], i.channel, f"qos prefetch={i.args.get('prefetch_count', 0)}{scope}")


def confirm_select(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    reader.channel(ref[0], i.channel).confirming = True
    reader.setup(ref[0], i.channel, "confirm.select")


def purge_delete(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    if i.method.startswith("Queue."):
        queue = reader.queue_name(ref, i)
        verb = "purge" if i.method == "Queue.Purge" else "delete"
        reader.setup(ref[0], i.channel, f"{verb} queue {queue}", queue=queue)
    else:
        name = _text(i.args.get("exchange"))
        reader.setup(ref[0], i.channel, f"delete exchange {name}", exchange=name)
