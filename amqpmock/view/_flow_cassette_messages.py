"""The cassette reader's handlers for messages: publishes (and where the recorded
bindings route them), publisher confirms, returns, deliveries and gets (which tie a
delivery to its publish, or make an outside publisher for it), dead letters seen in
``x-death``, and acks, nacks, rejects and recovers.

Each handler takes the reader's state, the interaction's ``Ref`` and the interaction;
``_flow_cassette`` holds the table that dispatches to them. The rules are in
``amqpmock.view.flows``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from amqpmock.cassette import Interaction
from amqpmock.view._flow_cassette_state import Ref, _ReaderState
from amqpmock.view._flow_classify import _num, _service, _text
from amqpmock.view._flow_model import (
    DIRECT_REPLY_TO,
    OUTSIDE,
    DeadLettered,
    Delivered,
    MessageInfo,
    Published,
    Returned,
    Settled,
    connection_id,
    outside_id,
)

# -- publishing -------------------------------------------------------------------------


def _predict(
    reader: _ReaderState, exchange: str, key: str, headers: Mapping[str, Any] | None
) -> list[str]:
    """Queues the recorded bindings route to (the default exchange routes to the
    queue named by the key when the recording knows that queue)."""
    from amqpmock.fake.routing import EXCHANGE_TYPES

    if exchange == "":
        if key.startswith(DIRECT_REPLY_TO):
            return [DIRECT_REPLY_TO]
        return [key] if key in reader.known_queues else []
    kind = reader.exchange_types.get(exchange)
    factory = EXCHANGE_TYPES.get(kind or "")
    if factory is None:
        return []
    routing = factory()
    for source, queue, bkey, args in reader.bindings:
        if source == exchange:
            routing.bind(queue, bkey, args)
    return sorted(str(q) for q in routing.match(key, headers))


def publish(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    conn = ref[0]
    exchange = _text(i.args.get("exchange"))
    key = _text(i.args.get("routing_key"))
    props = i.properties or {}
    info = reader.book.add(exchange, key, props, i.body or b"", connection_id(conn))
    info.connections.add(conn)
    reader.message_of[ref] = info.number
    headers = props.get("headers")
    queues = _predict(reader, exchange, key, headers if isinstance(headers, Mapping) else None)
    event = Published(
        message=info.number,
        publisher=info.publisher,
        exchange=exchange,
        routing_key=key,
        conn=conn,
        channel=i.channel,
        queues=queues,
        outcome=i.outcome or "unknown",
        mandatory=bool(i.args.get("mandatory")),
    )
    info.queues |= set(queues)
    if not queues and event.outcome in ("routed", "unknown"):
        event.outside = outside_id(_service(info, reader.exchange_types))
        if exchange == "" and key and not key.startswith(DIRECT_REPLY_TO):
            info.queues.add(key)  # the default exchange names its queue
        if info.flavor == "reply" and info.rpc is not None:
            caller = reader.book.calls[info.rpc - 1].caller
            if caller.startswith("outside:"):
                event.outside = caller
    reader.published_event[info.number] = event
    reader.events.append(event)
    state = reader.channel(conn, i.channel)
    if state.confirming:
        state.published += 1
        state.unconfirmed[state.published] = event


def confirm(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    state = reader.channel(ref[0], i.channel)
    tag = _num(i.args.get("delivery_tag"), 0)
    if i.args.get("multiple"):
        tags = [t for t in state.unconfirmed if t <= tag]
    else:
        tags = [tag] if tag in state.unconfirmed else []
    for t in tags:
        state.unconfirmed.pop(t).confirm = "acked" if i.method == "Basic.Ack" else "nacked"


def returned(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    number = reader.message_of.get(i.source) if i.source is not None else None
    if number is None:
        info = reader.book.add(
            _text(i.args.get("exchange")),
            _text(i.args.get("routing_key")),
            i.properties or {},
            i.body or b"",
            outside_id(OUTSIDE),
        )
        number = info.number
    info = reader.book.messages[number]
    info.connections.add(ref[0])
    event = reader.published_event.get(number)
    if event is not None:
        event.outcome = "returned"
        event.outside = None
    if info.rpc is not None and reader.book.calls[info.rpc - 1].request == number:
        reader.book.calls[info.rpc - 1].returned = True
    reader.events.append(
        Returned(
            number,
            ref[0],
            i.channel,
            _text(i.args.get("exchange")),
            _num(i.args.get("reply_code"), 312),
            _text(i.args.get("reply_text")) or "NO_ROUTE",
        )
    )


# -- deliveries -------------------------------------------------------------------------


def _delivery_queue(reader: _ReaderState, ref: Ref, i: Interaction) -> tuple[str, bool]:
    state = reader.channel(ref[0], i.channel)
    if i.method == "Basic.GetOk":
        return (state.pending_get.pop(0) if state.pending_get else "?"), False
    tag = _text(i.args.get("consumer_tag"))
    found = reader.consumers.get((ref[0], tag))
    if found is not None:
        return found
    key = _text(i.args.get("routing_key"))
    if key.startswith(DIRECT_REPLY_TO):
        return DIRECT_REPLY_TO, True
    return "?", False


def get(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    queue = reader.queue_name(ref, i)
    reader.channel(ref[0], i.channel).pending_get.append(queue)
    reader.get_no_ack.setdefault((ref[0], i.channel), []).append(bool(i.args.get("no_ack")))


def get_empty(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    state = reader.channel(ref[0], i.channel)
    queue = state.pending_get.pop(0) if state.pending_get else "?"
    pending = reader.get_no_ack.get((ref[0], i.channel))
    if pending:
        pending.pop(0)
    reader.setup(ref[0], i.channel, f"get {queue}: empty", queue=queue)


def delivery(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    conn = ref[0]
    queue, no_ack = _delivery_queue(reader, ref, i)
    if i.method == "Basic.GetOk":
        pending = reader.get_no_ack.get((ref[0], i.channel))
        no_ack = pending.pop(0) if pending else False
    first = reader.groups.get(ref, ref)
    number = reader.message_of.get(first)
    exchange = _text(i.args.get("exchange"))
    key = _text(i.args.get("routing_key"))
    props = i.properties or {}
    death = _first_death(props)
    if number is None:
        # published by nobody recorded: an outside service did
        info = reader.book.add(exchange, key, props, i.body or b"", outside_id(OUTSIDE))
        number = info.number
        reader.message_of[first] = number
        reader.message_of[ref] = number
        published = Published(
            message=number,
            publisher=info.publisher,
            exchange=death[2] if death else exchange,
            routing_key=key,
            outcome="routed",
        )
        reader.published_event[number] = published
        reader.events.append(published)
    else:
        reader.message_of[ref] = number
        info = reader.book.messages[number]
        published = reader.published_event[number]
    # where the publish went: the queue it died in, or this one
    reached = death[0] if death else queue
    if reached != "?" and reached not in published.queues:
        published.queues.append(reached)
        published.queues.sort()
    info.queues.add(reached)
    published.outside = None
    if published.outcome == "unknown":
        published.outcome = "routed"
    if death:
        _dead_letter(reader, info, death, queue)
    info.connections.add(conn)
    if queue != "?":
        info.queues.add(queue)
    tag = _num(i.args.get("delivery_tag"), None)
    reader.events.append(
        Delivered(
            message=number,
            queue=queue,
            conn=conn,
            channel=i.channel,
            consumer=_text(i.args.get("consumer_tag")) or None,
            delivery_tag=tag,
            redelivered=bool(i.args.get("redelivered")),
            via_get=i.method == "Basic.GetOk",
            no_ack=no_ack,
        )
    )
    if tag is not None and not no_ack:
        reader.channel(conn, i.channel).unacked[tag] = (number, queue)


def _dead_letter(
    reader: _ReaderState, info: MessageInfo, death: tuple[str, str, str, int], queue: str
) -> None:
    """A delivery with ``x-death`` shows a dead-lettering: one event per death."""
    origin, reason, _, count = death
    key = (info.number, origin, reason, count)
    if key in reader.deaths:
        return
    reader.deaths.add(key)
    dlx = _text(reader.queue_args.get(origin, {}).get("x-dead-letter-exchange"))
    reader.events.append(DeadLettered(info.number, origin, reason, dlx or info.exchange, [queue]))


def _first_death(props: Mapping[str, Any]) -> tuple[str, str, str, int] | None:
    """(queue, reason, original exchange, count) of the latest ``x-death`` entry."""
    headers = props.get("headers")
    if not isinstance(headers, Mapping):
        return None
    deaths = headers.get("x-death")
    if not isinstance(deaths, list) or not deaths or not isinstance(deaths[0], Mapping):
        return None
    death = deaths[0]
    count = death.get("count")
    return (
        _text(death.get("queue")),
        _text(death.get("reason")),
        _text(death.get("exchange")),
        int(count) if isinstance(count, int) else 1,
    )


# -- settling ---------------------------------------------------------------------------


def settle(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    conn = ref[0]
    state = reader.channel(conn, i.channel)
    action: Literal["ack", "nack", "reject"] = (
        "ack" if i.method == "Basic.Ack" else "nack" if i.method == "Basic.Nack" else "reject"
    )
    tag = _num(i.args.get("delivery_tag"), 0)
    multiple = bool(i.args.get("multiple")) and action != "reject"
    if multiple:
        tags = sorted(t for t in state.unacked if tag == 0 or t <= tag)
    else:
        tags = [tag] if tag in state.unacked else []
    found = [state.unacked.pop(t) for t in tags]
    if not tags:
        tags = [tag]
    requeue = action != "ack" and bool(i.args.get("requeue", True))
    reader.events.append(
        Settled(
            action,
            conn,
            i.channel,
            requeue=requeue,
            tags=tags,
            messages=[m for m, _ in found],
            queues=sorted({q for _, q in found}),
            multiple=multiple,
        )
    )


def recover(reader: _ReaderState, ref: Ref, i: Interaction) -> None:
    if i.args.get("requeue", True):
        reader.requeue_unacked(ref[0], i.channel, "recover")
    reader.setup(ref[0], i.channel, "recover")
