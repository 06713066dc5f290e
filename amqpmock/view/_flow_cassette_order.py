"""The cassette reader's identity and order: which interactions carry the same message,
what must come before what (a delivery after its publish, a return after its publish,
an RPC reply after its request, under both RPC conventions), and the causal merge of the
connections' interactions into one sequence.

A cassette keeps each connection's frames in order but not the order across
connections; the rules are in ``amqpmock.view.flows``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from amqpmock.cassette import Cassette, Interaction
from amqpmock.view._flow_cassette_state import Ref
from amqpmock.view._flow_classify import _correlation, _reply_to, _text, oslo_payload


def message_groups(cassette: Cassette) -> dict[Ref, Ref]:
    """Which interactions carry the same message: each publish and delivery, mapped to the
    first interaction of its message (a delivery's ``source`` publish; for a message from
    outside, its first delivery, which its redeliveries share)."""
    groups: dict[Ref, Ref] = {}  # interaction -> first interaction of its message
    first_outside: dict[tuple[Any, ...], Ref] = {}
    for conn, index, i in cassette.interactions():
        ref = (conn.id, index)
        if i.is_publish:
            groups[ref] = ref
        elif i.is_delivery:
            if i.source is not None and _is_publish(cassette, i.source):
                groups[ref] = i.source
            else:
                same = _outside_key(i)
                first = first_outside.get(same)
                if first is not None and i.args.get("redelivered"):
                    groups[ref] = first
                else:
                    groups[ref] = ref
                    first_outside.setdefault(same, ref)
    return groups


def dependencies(cassette: Cassette, groups: Mapping[Ref, Ref]) -> dict[Ref, set[Ref]]:
    """What must come first: each interaction -> the interactions it comes after."""
    after: dict[Ref, set[Ref]] = {}
    for ref, first in groups.items():
        if first != ref:
            after.setdefault(ref, set()).add(first)
    for conn, index, i in cassette.interactions():
        if i.method == "Basic.Return" and i.source is not None:
            after.setdefault((conn.id, index), set()).add(i.source)
    _replies_after_requests(cassette, groups, after)
    return after


def _replies_after_requests(
    cassette: Cassette, groups: Mapping[Ref, Ref], after: dict[Ref, set[Ref]]
) -> None:
    """An RPC reply comes after its request: oslo.messaging's ``_msg_id``, or AMQP's
    ``correlation_id`` (a request has a ``reply_to``, its reply does not)."""
    requests: dict[str, Ref] = {}
    replies: list[tuple[str, Ref]] = []
    for ref, first in groups.items():
        if ref != first:
            continue
        i = _at(cassette, ref)
        props = i.properties or {}
        oslo = oslo_payload(i.body or b"")
        if oslo is not None and "_msg_id" in oslo:
            key = "oslo:" + _text(oslo["_msg_id"])
            if "method" in oslo:
                requests.setdefault(key, ref)
            else:
                replies.append((key, ref))
        elif oslo is None and _correlation(props):
            key = "amqp:" + _correlation(props)
            if _reply_to(props):
                requests.setdefault(key, ref)
            else:
                replies.append((key, ref))
    for key, ref in replies:
        request = requests.get(key)
        if request is not None and request != ref:
            after.setdefault(ref, set()).add(request)


def _outside_key(i: Interaction) -> tuple[Any, ...]:
    props = i.properties or {}
    return (
        _text(i.args.get("exchange")),
        _text(i.args.get("routing_key")),
        i.body,
        _correlation(props),
        _text(props.get("message_id")),
    )


def _is_publish(cassette: Cassette, ref: Ref) -> bool:
    try:
        return _at(cassette, ref).is_publish
    except (KeyError, IndexError):
        return False


def _at(cassette: Cassette, ref: Ref) -> Interaction:
    return cassette.connection(ref[0]).interactions[ref[1]]


def merge_order(cassette: Cassette, after: Mapping[Ref, set[Ref]]) -> list[Ref]:
    """Every interaction once, each connection's in order, each after what it depends on;
    among the ready ones the lowest connection first. A dependency cycle (a broken
    cassette) is broken by taking the lowest connection's next interaction."""
    pending = {c.id: 0 for c in cassette.connections}
    sizes = {c.id: len(c.interactions) for c in cassette.connections}
    done: set[Ref] = set()
    order: list[Ref] = []
    total = sum(sizes.values())
    while len(order) < total:
        chosen: int | None = None
        ready = [
            c
            for c in sorted(pending)
            if pending[c] < sizes[c] and after.get((c, pending[c]), set()) <= done
        ]
        # a client closing its channel or connection usually does so when its work is
        # done: let the other connections catch up first
        busy = [c for c in ready if not _closing(cassette, c, pending[c])]
        if busy or ready:
            chosen = (busy or ready)[0]
        if chosen is None:
            chosen = min(c for c in pending if pending[c] < sizes[c])
        ref = (chosen, pending[chosen])
        pending[chosen] += 1
        done.add(ref)
        order.append(ref)
    return order


def _closing(cassette: Cassette, conn_id: int, index: int) -> bool:
    i = cassette.connection(conn_id).interactions[index]
    return i.dir == "c2s" and i.method in ("Channel.Close", "Connection.Close")
