"""The basic class: publish errors and returns, ack/nack/reject errors, consume and
cancel, qos and get, and the order in which requeued messages come back.
"""

# Expected texts are RabbitMQ's exact reply texts; splitting them would hide them.
# ruff: noqa: E501

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pika.exceptions as pe
import pika.spec as spec

from ._base import (
    CTAG_RE,
    Observation,
    Run,
    consume,
    effects,
    get_all,
    publish,
    pump,
    scenario,
    settle,
    sync,
    wait_ready,
)


@scenario(
    expected={
        "missing_exchange": {
            "channel_close": [404, "NOT_FOUND - no exchange '~nope' in vhost '/'"]
        },
        "missing_exchange_mandatory": {
            "channel_close": [404, "NOT_FOUND - no exchange '~nope' in vhost '/'"]
        },
        "internal_exchange": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - cannot publish to internal exchange '~int' in vhost '/'",
            ]
        },
        "trace_exchange": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - cannot publish to internal exchange 'amq.rabbitmq.trace' in vhost '/'",
            ]
        },
        "mandatory_returns": [
            [312, "NO_ROUTE", "amq.direct", "~nowhere", "b1"],
            [312, "NO_ROUTE", "", "~noqueue", "b2"],
        ],
        "immediate": {"connection_close": [540, "NOT_IMPLEMENTED - immediate=true"]},
        "confirm_mandatory_unroutable": "UnroutableError: [[312, 'NO_ROUTE']]",
    }
)
def publish_errors(run: Run) -> Observation:
    nope, internal = run.name("nope"), run.name("int")

    def to_missing(ch: Any) -> None:
        publish(ch, nope, "k", "x")
        sync(ch)

    def to_internal(ch: Any) -> None:
        ch.exchange_declare(internal, internal=True)
        publish(ch, internal, "k", "x")
        sync(ch)

    def to_missing_mandatory(ch: Any) -> None:
        ch.basic_publish(nope, "k", b"x", mandatory=True)
        sync(ch)

    def to_trace(ch: Any) -> None:
        publish(ch, "amq.rabbitmq.trace", "k", "x")
        sync(ch)

    obs: Observation = {
        "missing_exchange": run.attempt(to_missing),
        "missing_exchange_mandatory": run.attempt(to_missing_mandatory),
        "internal_exchange": run.attempt(to_internal),
        "trace_exchange": run.attempt(to_trace),
    }
    run.attempt(lambda ch: effects(ch.exchange_delete(internal)))
    ch = run.channel()
    returns: list[Any] = []
    ch.add_on_return_callback(
        lambda _c, m, _p, b: returns.append(
            [m.reply_code, m.reply_text, m.exchange, m.routing_key, b]
        )
    )
    ch.basic_publish("amq.direct", run.name("nowhere"), b"b1", mandatory=True)
    ch.basic_publish("", run.name("noqueue"), b"b2", mandatory=True)
    pump(run.conn, lambda: len(returns) >= 2)
    obs["mandatory_returns"] = returns

    def immediate(chan: Any) -> None:
        chan._impl._send_method(
            spec.Basic.Publish(exchange="amq.direct", routing_key="k", immediate=True),
            (spec.BasicProperties(), b"x"),
        )
        sync(chan)

    obs["immediate"] = run.attempt(immediate)

    ch = run.channel()
    ch.confirm_delivery()
    try:
        ch.basic_publish("amq.direct", run.name("nowhere"), b"x", mandatory=True)
        obs["confirm_mandatory_unroutable"] = "acked"
    except pe.UnroutableError as exc:
        codes = [[m.method.reply_code, m.method.reply_text] for m in exc.messages]
        obs["confirm_mandatory_unroutable"] = f"UnroutableError: {codes}"
    return obs


@scenario(
    expected={
        "ack_unknown": {"channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 99"]},
        "nack_unknown": {"channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 99"]},
        "reject_unknown": {
            "channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 99"]
        },
        "ack_unknown_multiple": {
            "channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 99"]
        },
        "double_ack": {"channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 1"]},
        "ack_zero_multiple_nothing_outstanding": "ok",
        "ack_zero_multiple_acks_all": 0,
        "ack_zero_single": {
            "channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 0"]
        },
        "nack_zero_multiple_requeues_all": 2,
        "ack_no_ack_get": {"channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 1"]},
        "ack_no_ack_consumer": {
            "channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 1"]
        },
        "ack_multiple_beyond": {
            "channel_close": [406, "PRECONDITION_FAILED - unknown delivery tag 6"]
        },
        "ack_after_cancel": "ok",
    }
)
def ack_errors(run: Run) -> Observation:
    def with_two(fn: Callable[[Any, str], Any]) -> Callable[[Any], Any]:
        def go(ch: Any) -> Any:
            q = run.name(f"ack{uuid.uuid4().hex[:6]}")
            ch.queue_declare(q, exclusive=True)
            ch.confirm_delivery()
            publish(ch, "", q, "m1")
            publish(ch, "", q, "m2")
            value = fn(ch, q)
            sync(ch)
            return value

        return go

    def double(ch: Any, q: str) -> None:
        tag = ch.basic_get(q)[0].delivery_tag
        ch.basic_ack(tag)
        ch.basic_ack(tag)

    def zero_all(ch: Any, q: str) -> int:
        ch.basic_get(q)
        ch.basic_get(q)
        ch.basic_ack(0, multiple=True)
        ch.basic_recover(requeue=True)
        return int(ch.queue_declare(q, passive=True).method.message_count)

    def zero_nack(ch: Any, q: str) -> int:
        ch.basic_get(q)
        ch.basic_get(q)
        ch.basic_nack(0, multiple=True, requeue=True)
        return wait_ready(ch, q, 2)

    def no_ack_consumer(ch: Any, q: str) -> None:
        got = consume(run.conn, ch, q, 2, auto_ack=True)
        ch.basic_ack(got[0][2])

    def beyond(ch: Any, q: str) -> None:
        tag = ch.basic_get(q)[0].delivery_tag
        ch.basic_ack(tag + 5, multiple=True)

    def after_cancel(ch: Any, q: str) -> None:
        got: list[Any] = []
        tag = ch.basic_consume(q, lambda _c, m, _p, _b: got.append(m.delivery_tag))
        pump(run.conn, lambda: len(got) >= 2)
        ch.basic_cancel(tag)
        ch.basic_ack(got[0])
        ch.basic_ack(got[1])

    return {
        "ack_unknown": run.attempt(with_two(lambda ch, q: ch.basic_ack(99))),
        "nack_unknown": run.attempt(with_two(lambda ch, q: ch.basic_nack(99))),
        "reject_unknown": run.attempt(with_two(lambda ch, q: ch.basic_reject(99))),
        "ack_unknown_multiple": run.attempt(
            with_two(lambda ch, q: ch.basic_ack(99, multiple=True))
        ),
        "double_ack": run.attempt(with_two(double)),
        "ack_zero_multiple_nothing_outstanding": run.attempt(
            with_two(lambda ch, q: ch.basic_ack(0, multiple=True))
        ),
        "ack_zero_multiple_acks_all": run.attempt(with_two(zero_all)),
        "ack_zero_single": run.attempt(
            with_two(lambda ch, q: effects(ch.basic_get(q), ch.basic_ack(0)))
        ),
        "nack_zero_multiple_requeues_all": run.attempt(with_two(zero_nack)),
        "ack_no_ack_get": run.attempt(
            with_two(lambda ch, q: ch.basic_ack(ch.basic_get(q, auto_ack=True)[0].delivery_tag))
        ),
        "ack_no_ack_consumer": run.attempt(with_two(no_ack_consumer)),
        "ack_multiple_beyond": run.attempt(with_two(beyond)),
        "ack_after_cancel": run.attempt(with_two(after_cancel)),
    }


@scenario(
    expected={
        "duplicate_tag": {
            "connection_close": [530, "NOT_ALLOWED - attempt to reuse consumer tag 't1'"]
        },
        "exclusive_when_consumers": {
            "channel_close": [403, "ACCESS_REFUSED - queue '~q' in vhost '/' in exclusive use"]
        },
        "consumer_when_exclusive": {
            "channel_close": [403, "ACCESS_REFUSED - queue '~q' in vhost '/' in exclusive use"]
        },
        "exclusive_when_exclusive": {
            "channel_close": [403, "ACCESS_REFUSED - queue '~q' in vhost '/' in exclusive use"]
        },
        "missing_queue": {"channel_close": [404, "NOT_FOUND - no queue '~nope' in vhost '/'"]},
        "empty_name_nothing_declared": {
            "channel_close": [404, "NOT_FOUND - no previously declared queue"]
        },
        "empty_name_after_declare": ["to-last-declared"],
        "server_tag": "amq.ctag-<id>",
        "cancel_unknown_tag": "ok",
        "cancel_notify_on_queue_delete": ["t-cancel"],
    }
)
def consume_errors(run: Run) -> Observation:
    q = run.name("q")
    base = run.channel()
    base.queue_declare(q)

    def duplicate(ch: Any) -> None:
        ch.basic_consume(q, lambda *a: None, consumer_tag="t1")
        ch._impl._send_method(spec.Basic.Consume(queue=q, consumer_tag="t1"))
        sync(ch)

    def exclusive_when_consumers(ch: Any) -> None:
        ch.basic_consume(q, lambda *a: None)
        run.channel().basic_consume(q, lambda *a: None, exclusive=True)

    def consumer_when_exclusive(ch: Any) -> None:
        ch.basic_consume(q, lambda *a: None, exclusive=True)
        run.channel().basic_consume(q, lambda *a: None)

    def exclusive_when_exclusive(ch: Any) -> None:
        ch.basic_consume(q, lambda *a: None, exclusive=True)
        run.channel().basic_consume(q, lambda *a: None, exclusive=True)

    obs: Observation = {
        "duplicate_tag": run.attempt(duplicate),
        "exclusive_when_consumers": run.attempt(exclusive_when_consumers),
        "exclusive_when_exclusive": run.attempt(exclusive_when_exclusive),
    }
    # the first run.attempt closed the shared connection (530); channels of the second died
    # with their connection only if it was the same one, so use fresh connections
    obs["consumer_when_exclusive"] = run.attempt(consumer_when_exclusive)
    obs["missing_queue"] = run.attempt(
        lambda ch: ch.basic_consume(run.name("nope"), lambda *a: None)
    )
    obs["empty_name_nothing_declared"] = run.attempt(
        lambda ch: ch.basic_consume("", lambda *a: None)
    )

    def empty_name_after_declare(ch: Any) -> list[Any]:
        # '' names the queue last declared on the channel
        declared = ch.queue_declare("", exclusive=True).method.queue
        ch.confirm_delivery()
        publish(ch, "", declared, "to-last-declared")
        return [body for body, _r, _t in consume(run.conn, ch, "", 1, auto_ack=True)]

    obs["empty_name_after_declare"] = run.attempt(empty_name_after_declare)

    # a consumer pika does not know about: own connection, closed before anything else
    tag_conn = run.connect()
    ch = tag_conn.channel()
    tq = run.name("tagq")
    ch.queue_declare(tq, exclusive=True)
    tags: list[str] = []
    ch._impl.add_callback(
        lambda frame: tags.append(frame.method.consumer_tag), [spec.Basic.ConsumeOk], one_shot=True
    )
    ch._impl._send_method(spec.Basic.Consume(queue=tq, consumer_tag=""))
    pump(tag_conn, lambda: bool(tags))
    tag_conn.close()
    assert tags and CTAG_RE.fullmatch(tags[0]), tags
    obs["server_tag"] = tags[0]
    obs["cancel_unknown_tag"] = run.attempt(lambda c: c.basic_cancel("no-such-tag") or None)

    cancelled: list[str] = []
    ch2 = run.channel()
    ch2.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
    q2 = run.name("cancelme")
    ch2.queue_declare(q2)
    ch2.basic_consume(q2, lambda *a: None, consumer_tag="t-cancel")
    run.channel().queue_delete(q2)
    pump(run.conn, lambda: bool(cancelled))
    obs["cancel_notify_on_queue_delete"] = cancelled
    run.channel().queue_delete(q)
    return obs


def _prefetch(
    run: Run, qos: list[tuple[int, bool]], *, after_first_consumer: bool = False
) -> list[int]:
    """Two consumers on queues of 5 messages each: how many each gets under ``qos``
    (set before both consumers, or between them with ``after_first_consumer``)."""
    conn = run.connect()
    ch = conn.channel()
    queues = [run.name(f"pf{uuid.uuid4().hex[:6]}") for _ in range(2)]
    ch.confirm_delivery()
    for q in queues:
        ch.queue_declare(q, exclusive=True)
        for i in range(5):
            publish(ch, "", q, f"m{i}")

    def set_qos() -> None:
        for count, is_global in qos:
            ch.basic_qos(prefetch_count=count, global_qos=is_global)

    if not after_first_consumer:
        set_qos()
    got = [0, 0]
    for i, q in enumerate(queues):
        ch.basic_consume(q, lambda *a, i=i: got.__setitem__(i, got[i] + 1))
        if after_first_consumer and i == 0:
            set_qos()
    settle(conn, lambda: sum(got))
    conn.close()
    return got


@scenario(
    expected={
        "prefetch_size": {"connection_close": [540, "NOT_IMPLEMENTED - prefetch_size!=0 (10)"]},
        "per_consumer_2": [2, 2],
        "global_3": [3, 0],
        "per_consumer_2_and_global_3": [2, 1],
        # the consumer started before qos(1) is not limited by it
        "per_consumer_1_after_first_consumer": [5, 1],
        "get_empty": None,
        "get_ok": {
            "message_count": 2,
            "delivery_tag": 1,
            "redelivered": False,
            "exchange": "",
            "routing_key": "~get",
            "body": "a",
        },
        "get_missing": {"channel_close": [404, "NOT_FOUND - no queue '~nope' in vhost '/'"]},
    }
)
def qos_and_get(run: Run) -> Observation:
    obs: Observation = {
        "prefetch_size": run.attempt(lambda ch: ch.basic_qos(prefetch_size=10)),
        "per_consumer_2": _prefetch(run, [(2, False)]),
        "global_3": _prefetch(run, [(3, True)]),
        "per_consumer_2_and_global_3": _prefetch(run, [(2, False), (3, True)]),
        "per_consumer_1_after_first_consumer": _prefetch(
            run, [(1, False)], after_first_consumer=True
        ),
    }
    ch = run.channel()
    q = run.name("get")
    ch.queue_declare(q, exclusive=True)
    ch.confirm_delivery()
    obs["get_empty"] = ch.basic_get(q)[0]
    for body in ("a", "b", "c"):
        publish(ch, "", q, body)
    method, _props, body = ch.basic_get(q)
    obs["get_ok"] = {
        "message_count": method.message_count,
        "delivery_tag": method.delivery_tag,
        "redelivered": method.redelivered,
        "exchange": method.exchange,
        "routing_key": method.routing_key,
        "body": body,
    }
    obs["get_missing"] = run.attempt(lambda c: c.basic_get(run.name("nope")))
    return obs


# -- requeue order ---------------------------------------------------------------------


def _five(run: Run) -> tuple[Any, Any, str]:
    conn = run.connect()
    ch = conn.channel()
    q = run.name(f"rq{uuid.uuid4().hex[:6]}")
    ch.queue_declare(q, exclusive=True)
    ch.confirm_delivery()
    for i in range(1, 6):
        publish(ch, "", q, f"m{i}")
    return conn, ch, q


@scenario(
    expected={
        "nack_m2_m4_while_consuming": [
            ["m1", False, 1],
            ["m2", False, 2],
            ["m3", False, 3],
            ["m4", False, 4],
            ["m5", False, 5],
            ["m2", True, 6],
            ["m4", True, 7],
        ],
        "nack_m4_then_m2_then_get": [["m2", True], ["m4", True]],
        "nack_then_publish_m6": [["m2", True], ["m4", True], ["m6", False]],
        "requeue_goes_before_ready": [["m2", True], ["m4", False], ["m5", False]],
        "close_channel_requeues": [["m1", True], ["m2", True], ["m4", True], ["m5", True]],
        "close_with_prefetch_2": [
            ["m1", True],
            ["m2", True],
            ["m3", False],
            ["m4", False],
            ["m5", False],
        ],
        "nack_multiple_requeue": [
            ["m1", True],
            ["m2", True],
            ["m3", True],
            ["m4", True],
            ["m5", True],
        ],
        "nack_m5_m3_m1": [["m1", True], ["m3", True], ["m5", True]],
        "recover_requeue": [
            ["m1", False, 1],
            ["m2", False, 2],
            ["m3", False, 3],
            ["m4", False, 4],
            ["m5", False, 5],
            ["m2", True, 6],
            ["m3", True, 7],
            ["m4", True, 8],
            ["m5", True, 9],
        ],
        "recover_async_requeue": [
            ["m1", False, 1],
            ["m2", False, 2],
            ["m3", False, 3],
            ["m4", False, 4],
            ["m5", False, 5],
            ["m2", True, 6],
            ["m3", True, 7],
            ["m4", True, 8],
            ["m5", True, 9],
        ],
        "recover_no_requeue": {"connection_close": [540, "NOT_IMPLEMENTED - requeue=false"]},
        "reject_requeue_false_drops": 0,
    }
)
def requeue_order(run: Run) -> Observation:
    obs: Observation = {}

    conn, ch, q = _five(run)
    got = consume(conn, ch, q, 5)
    ch.basic_nack(got[1][2], requeue=True)
    ch.basic_nack(got[3][2], requeue=True)
    pump(conn, lambda: len(got) >= 7)
    obs["nack_m2_m4_while_consuming"] = got

    conn, ch, q = _five(run)
    tags = [ch.basic_get(q)[0].delivery_tag for _ in range(5)]
    ch.basic_nack(tags[3], requeue=True)
    ch.basic_nack(tags[1], requeue=True)
    obs["nack_m4_then_m2_then_get"] = [[m["body"], m["redelivered"]] for m in get_all(ch, q)]

    conn, ch, q = _five(run)
    tags = [ch.basic_get(q)[0].delivery_tag for _ in range(5)]
    ch.basic_nack(tags[1], requeue=True)
    ch.basic_nack(tags[3], requeue=True)
    publish(ch, "", q, "m6")
    obs["nack_then_publish_m6"] = [[m["body"], m["redelivered"]] for m in get_all(ch, q)]

    conn, ch, q = _five(run)
    tags = [ch.basic_get(q)[0].delivery_tag for _ in range(3)]
    ch.basic_nack(tags[1], requeue=True)
    ch.basic_ack(tags[0])
    ch.basic_ack(tags[2])
    obs["requeue_goes_before_ready"] = [[m["body"], m["redelivered"]] for m in get_all(ch, q)]

    conn, ch, q = _five(run)
    got = consume(conn, ch, q, 5)
    ch.basic_ack(got[2][2])
    ch.close()
    ch = conn.channel()
    obs["close_channel_requeues"] = [[m["body"], m["redelivered"]] for m in get_all(ch, q)]

    conn, ch, q = _five(run)
    ch.basic_qos(prefetch_count=2)
    got = consume(conn, ch, q, 2)
    ch.close()
    ch = conn.channel()
    obs["close_with_prefetch_2"] = [[m["body"], m["redelivered"]] for m in get_all(ch, q)]

    conn, ch, q = _five(run)
    ctag = None
    got = []
    ctag = ch.basic_consume(q, lambda _c, m, _p, b: got.append([b, m.redelivered, m.delivery_tag]))
    pump(conn, lambda: len(got) >= 5)
    ch.basic_cancel(ctag)
    ch.basic_nack(0, multiple=True, requeue=True)
    obs["nack_multiple_requeue"] = [[m["body"], m["redelivered"]] for m in get_all(ch, q)]

    conn, ch, q = _five(run)
    got = []
    ctag = ch.basic_consume(q, lambda _c, m, _p, b: got.append([b, m.redelivered, m.delivery_tag]))
    pump(conn, lambda: len(got) >= 5)
    ch.basic_cancel(ctag)
    for i in (4, 2, 0):
        ch.basic_nack(got[i][2], requeue=True)
    obs["nack_m5_m3_m1"] = [[m["body"], m["redelivered"]] for m in get_all(ch, q)]

    conn, ch, q = _five(run)
    got = consume(conn, ch, q, 5)
    ch.basic_ack(got[0][2])
    ch.basic_recover(requeue=True)
    pump(conn, lambda: len(got) >= 9)
    obs["recover_requeue"] = got

    conn, ch, q = _five(run)
    got = consume(conn, ch, q, 5)
    ch.basic_ack(got[0][2])
    ch._impl._send_method(spec.Basic.RecoverAsync(requeue=True))
    pump(conn, lambda: len(got) >= 9)
    settle(conn, lambda: len(got))
    obs["recover_async_requeue"] = got

    def recover_false(chan: Any) -> None:
        chan._impl._send_method(spec.Basic.Recover(requeue=False))
        sync(chan)

    obs["recover_no_requeue"] = run.attempt(recover_false)

    conn, ch, q = _five(run)
    for _ in range(5):
        ch.basic_reject(ch.basic_get(q)[0].delivery_tag, requeue=False)
    obs["reject_requeue_false_drops"] = ch.queue_declare(q, passive=True).method.message_count
    return obs
