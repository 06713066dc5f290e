"""RabbitMQ extensions recorded after the classic-queue scenarios: consumer priorities
and quorum queues.
"""

# Expected texts are RabbitMQ's exact reply texts; splitting them would hide them.
# ruff: noqa: E501

from __future__ import annotations

import time
from typing import Any

import pika.exceptions as pe

from ._base import (
    Observation,
    Run,
    effects,
    get_all,
    publish,
    pump,
    scenario,
    settle,
    table_types,
    wait_ready,
)


@scenario(
    expected={
        "deliveries": {
            "high": ["0", "2"],
            "high2": ["1", "3"],
            "mid": ["4", "5"],
            "low": ["6", "7"],
        },
        "still_ready": 2,
        "after_high_acks": {"high": ["8"]},
        "bad_priority": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-priority' for queue '~prio' in vhost '/': \"expected integer, got longstr\"",
            ]
        },
    }
)
def consumer_priorities(run: Run) -> Observation:
    conn = run.connect()
    q = run.name("prio")
    ch = conn.channel()
    ch.queue_declare(q)  # not exclusive: the bad consume below comes from another connection
    got: dict[str, list[str]] = {}
    channels: dict[str, Any] = {}
    for name, priority in (("low", 0), ("high", 10), ("mid", 5), ("high2", 10)):
        consumer_ch = conn.channel()
        consumer_ch.basic_qos(prefetch_count=2)
        consumer_ch.basic_consume(
            q,
            lambda _c, _m, _p, body, name=name: got.setdefault(name, []).append(body.decode()),
            arguments={"x-priority": priority} if priority else None,
        )
        channels[name] = consumer_ch
    ch.confirm_delivery()
    for i in range(10):
        publish(ch, "", q, str(i))
    pump(conn, lambda: sum(map(len, got.values())) >= 8)
    settle(conn, lambda: sum(map(len, got.values())))
    obs: Observation = {"deliveries": {k: got[k] for k in sorted(got)}}
    obs["still_ready"] = wait_ready(ch, q, 2)
    got.clear()
    channels["high"].basic_ack(1)
    pump(conn, lambda: bool(got))
    settle(conn, lambda: sum(map(len, got.values())))
    obs["after_high_acks"] = dict(got)
    obs["bad_priority"] = run.attempt(
        lambda c: c.basic_consume(q, lambda *a: None, arguments={"x-priority": "x"})
    )
    ch.queue_delete(q)
    return obs


QUORUM = {"x-queue-type": "quorum"}


def _headers_in_order(headers: dict[str, Any] | None) -> list[list[Any]]:
    """[key, value, type] in wire order (pika keeps it)."""
    return [
        [key, value.decode() if isinstance(value, bytes) else value, table_types(value)]
        for key, value in (headers or {}).items()
    ]


def _got(ch: Any, queue: str) -> Any:
    method, props, body = ch.basic_get(queue)
    if method is None:
        return None
    return method, [body.decode(), method.redelivered, _headers_in_order(props.headers)]


def _ready(ch: Any, queue: str, count: int) -> None:
    """Wait (at most 5 s) until the queue has `count` messages ready."""
    deadline = time.monotonic() + 5
    while ch.queue_declare(queue, passive=True).method.message_count < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{queue} never had {count} messages ready")
        time.sleep(0.01)


def _close(text: str) -> Observation:
    return {"channel_close": [406, f"PRECONDITION_FAILED - {text}"]}


_DC = "x-delivery-count"


@scenario(
    expected={
        "non_durable": _close(
            "invalid property 'non-durable' for queue '~qq_non_durable' in vhost '/'"
        ),
        "exclusive": _close(
            "invalid property 'exclusive-owner' for queue '~qq_exclusive' in vhost '/'"
        ),
        "auto_delete": _close(
            "invalid property 'auto-delete' for queue '~qq_auto_delete' in vhost '/'"
        ),
        "server_named": _close("Cannot declare a server-named queue for type rabbit_quorum_queue"),
        "max_priority": _close(
            "invalid arg 'x-max-priority' for queue '~qq_args' in vhost '/' of queue type rabbit_quorum_queue"
        ),
        "queue_mode": _close(
            "invalid arg 'x-queue-mode' for queue '~qq_args' in vhost '/' of queue type rabbit_quorum_queue"
        ),
        # every delivery carries x-delivery-count (0 at first), after the message's own
        # headers; a rejected message goes to the back
        "returns": [
            ["a", False, [["app", "x", "str"], ["n", 1, "int"], [_DC, 0, "long"]]],
            ["b", False, [[_DC, 0, "long"]]],
            ["c", False, [[_DC, 0, "long"]]],
            ["a", True, [["app", "x", "str"], ["n", 1, "int"], [_DC, 1, "long"]]],
        ],
        # one returned by its channel closing goes to the front, and counts as a return
        "after_channel_close": [
            ["b", True, [[_DC, 2, "long"]]],
            ["c", True, [[_DC, 1, "long"]]],
            ["a", True, [["app", "x", "str"], ["n", 1, "int"], [_DC, 2, "long"]]],
        ],
        "redeclare_classic_as_quorum": _close(
            "inequivalent arg 'x-queue-type' for queue '~qq_cl' in vhost '/': received the value 'quorum' of type 'longstr' but current is none"
        ),
        "redeclare_quorum_without_type": _close(
            "inequivalent arg 'x-queue-type' for queue '~qq_eq' in vhost '/': received none but current is the value 'quorum' of type 'longstr'"
        ),
        "redeclare_quorum_as_classic": _close(
            "inequivalent arg 'x-queue-type' for queue '~qq_eq' in vhost '/': received 'classic' but current is 'quorum'"
        ),
        "redeclare_plain_as_classic": "ok",
        "redeclare_other_delivery_limit": _close(
            "inequivalent arg 'x-delivery-limit' for queue '~qq_eq' in vhost '/': received '5' but current is '3'"
        ),
        "delivery_limit_counts": [0, 1, None],
        "dead_lettered": {"body": "z", "reason": "delivery_limit", "has_delivery_count": False},
    }
)
def quorum_queues(run: Run) -> Observation:
    obs: Observation = {}
    for what, kwargs in (
        ("non_durable", {"durable": False}),
        ("exclusive", {"durable": True, "exclusive": True}),
        ("auto_delete", {"durable": True, "auto_delete": True}),
    ):
        q = run.name(f"qq_{what}")
        obs[what] = run.attempt(
            lambda c, q=q, kw=kwargs: c.queue_declare(q, arguments=QUORUM, **kw)
        )
    obs["server_named"] = run.attempt(
        lambda c: c.queue_declare("", durable=True, arguments=QUORUM)
    )
    for what, extra in (
        ("max_priority", {"x-max-priority": 5}),
        ("queue_mode", {"x-queue-mode": "lazy"}),
    ):
        obs[what] = run.attempt(
            lambda c, extra=extra: c.queue_declare(
                run.name("qq_args"), durable=True, arguments={**QUORUM, **extra}
            )
        )

    # redeclaring: x-queue-type must match, where absent and 'classic' are the same
    eq, cl = run.name("qq_eq"), run.name("qq_cl")
    setup = run.connect().channel()
    setup.queue_declare(eq, durable=True, arguments={**QUORUM, "x-delivery-limit": 3})
    setup.queue_declare(cl, durable=True)
    for what, queue, arguments in (
        ("redeclare_classic_as_quorum", cl, QUORUM),
        ("redeclare_quorum_without_type", eq, None),
        ("redeclare_quorum_as_classic", eq, {"x-queue-type": "classic"}),
        ("redeclare_plain_as_classic", cl, {"x-queue-type": "classic"}),
        ("redeclare_other_delivery_limit", eq, {**QUORUM, "x-delivery-limit": 5}),
    ):
        obs[what] = run.attempt(
            lambda c, queue=queue, arguments=arguments: effects(
                c.queue_declare(queue, durable=True, arguments=arguments)
            )
        )
    setup.queue_delete(eq)
    setup.queue_delete(cl)

    conn = run.connect()
    ch = conn.channel()
    q = run.name("qq")
    ch.queue_declare(q, durable=True, arguments=QUORUM)
    ch.confirm_delivery()
    publish(ch, "", q, "a", headers={"app": "x", "n": 1})
    publish(ch, "", q, "b")
    publish(ch, "", q, "c")
    seen = []
    method, item = _got(ch, q)
    seen.append(item)
    ch.basic_nack(method.delivery_tag, requeue=True)  # a goes back: to the end
    for _ in range(3):
        method, item = _got(ch, q)
        seen.append(item)
        ch.basic_reject(method.delivery_tag, requeue=True)
    obs["returns"] = seen
    # a return by closing the channel counts too
    other = conn.channel()
    _got(other, q)
    other.close()
    # the queue takes the closed channel's message back after close-ok:
    # wait for it, or the next get races the return
    _ready(ch, q, 3)
    obs["after_channel_close"] = [_got(ch, q)[1] for _ in range(3)]
    ch.queue_delete(q)

    dlq, limited = run.name("qq_dead"), run.name("qq_limited")
    ch.queue_declare(dlq, durable=True)
    ch.queue_declare(
        limited,
        durable=True,
        arguments={
            **QUORUM,
            "x-delivery-limit": 1,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": dlq,
        },
    )
    publish(ch, "", limited, "z")
    counts = []
    for _ in range(3):
        got = _got(ch, limited)
        if got is None:
            counts.append(None)
            break
        counts.append(dict((k, v) for k, v, _ in got[1][2]).get("x-delivery-count"))
        ch.basic_nack(got[0].delivery_tag, requeue=True)
    obs["delivery_limit_counts"] = counts
    wait_ready(ch, dlq, 1)
    method, props, body = ch.basic_get(dlq, auto_ack=True)
    headers = dict(props.headers or {}) if method else {}
    obs["dead_lettered"] = {
        "body": body.decode() if method else None,
        "reason": headers.get("x-first-death-reason"),
        "has_delivery_count": "x-delivery-count" in headers,
    }
    ch.queue_delete(limited)
    ch.queue_delete(dlq)
    return obs


@scenario(
    expected={
        "bad_weight": '406 PRECONDITION_FAILED - The binding key must be an integer: <<"abc">>',
        "each_message_reaches_one_queue": True,
        "same_key_same_queue": True,
        "no_bindings_mandatory": "returned",
        "hash_header": {"missing_header": "routed", "in_the_one_queue": 2},
    }
)
def consistent_hash(run: Run) -> Observation:
    """The bundled x-consistent-hash exchange (plugin enabled offline on the node): a
    binding key is a weight; each message reaches exactly one queue; a key keeps its
    queue. Which queue a key picks is not compared (RabbitMQ hashes with Erlang's
    phash2)."""
    conn = run.connect()
    ch = conn.channel()
    chx = run.name("chx")
    ch.exchange_declare(chx, "x-consistent-hash", auto_delete=True)
    queues = []
    for n, weight in enumerate(("1", "2", "3")):
        queue = run.name(f"chx.q{n}")
        ch.queue_declare(queue, exclusive=True)
        ch.queue_bind(queue, chx, weight)
        queues.append(queue)
    obs: Observation = {}
    bad = conn.channel()
    bad.queue_declare(run.name("chx.bad"), exclusive=True)
    try:
        bad.queue_bind(run.name("chx.bad"), chx, "abc")
        obs["bad_weight"] = "bound"
    except pe.ChannelClosedByBroker as exc:
        obs["bad_weight"] = f"{exc.reply_code} {exc.reply_text}"
    ch.confirm_delivery()
    for k in range(40):
        publish(ch, chx, f"k{k}", f"first-{k}")
    where: dict[str, list[str]] = {}
    for queue in queues:
        for m in get_all(ch, queue):
            where.setdefault(m["body"].decode().split("-", 1)[1], []).append(queue)
    obs["each_message_reaches_one_queue"] = len(where) == 40 and all(
        len(v) == 1 for v in where.values()
    )
    for k in range(40):
        publish(ch, chx, f"k{k}", f"again-{k}")
    again: dict[str, str] = {}
    for queue in queues:
        for m in get_all(ch, queue):
            again[m["body"].decode().split("-", 1)[1]] = queue
    obs["same_key_same_queue"] = all(again.get(k) == v[0] for k, v in where.items())
    empty = run.name("chx.empty")
    ch.exchange_declare(empty, "x-consistent-hash")
    try:
        ch.basic_publish(empty, "k", b"x", mandatory=True)
        obs["no_bindings_mandatory"] = "routed"
    except pe.UnroutableError:
        obs["no_bindings_mandatory"] = "returned"
    ch.exchange_delete(empty)
    hashed = run.name("chx.h")
    ch.exchange_declare(
        hashed, "x-consistent-hash", auto_delete=True, arguments={"hash-header": "on"}
    )
    one = run.name("chx.h.q")
    ch.queue_declare(one, exclusive=True)
    ch.queue_bind(one, hashed, "1")
    try:
        ch.basic_publish(hashed, "k", b"x", mandatory=True)
        missing = "routed"
    except pe.UnroutableError:
        missing = "returned"
    publish(ch, hashed, "k", "y", headers={"on": "abc"})
    count = ch.queue_declare(one, passive=True).method.message_count
    obs["hash_header"] = {"missing_header": missing, "in_the_one_queue": count}
    return obs
