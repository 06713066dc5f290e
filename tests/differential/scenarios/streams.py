"""Stream queues over AMQP 0-9-1 (``x-queue-type: stream``): declare rules, where a
consumer starts (``x-stream-offset``), the ``x-stream-offset`` header, credit, what
streams refuse, and retention.

Streams are durable by rule, so every scenario deletes the ones it made.
"""

# Expected texts are RabbitMQ's exact reply texts; splitting them would hide them.
# ruff: noqa: E501

from __future__ import annotations

import datetime
import time
from typing import Any

import pika
import pika.exceptions as pe

from ._base import Observation, Run, effects, publish, pump, scenario

STREAM = {"x-queue-type": "stream"}


def _declare(run: Run, short: str, **kw: Any) -> Any:
    arguments = {**STREAM, **kw.pop("arguments", {})}
    durable = kw.pop("durable", True)
    name = run.name(short)
    result = run.attempt(
        lambda ch: ch.queue_declare(name, durable=durable, arguments=arguments, **kw).method.queue
    )
    if result == name:
        run.attempt(lambda ch: ch.queue_delete(name))
        return "declared"
    return result


def _take(
    run: Run, queue: str, offset: Any = None, count: int = 10, prefetch: int = 10, ack: bool = True
) -> Any:
    """Consume from ``queue`` with ``x-stream-offset: offset`` until ``count`` arrive or
    the stream goes quiet; [body, delivery tag, redelivered, headers] each."""
    conn = run.connect()
    ch = conn.channel()
    ch.basic_qos(prefetch_count=prefetch)
    got: list[Any] = []
    args = {} if offset is None else {"x-stream-offset": offset}
    try:
        ch.basic_consume(
            queue,
            lambda _c, m, p, b: got.append(
                [b, m.delivery_tag, m.redelivered, dict(p.headers or {}), m.routing_key]
            ),
            arguments=args,
        )
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline and len(got) < count:
            conn.process_data_events(time_limit=0.02)
    except pe.ChannelClosedByBroker as exc:
        return {"channel_close": [exc.reply_code, exc.reply_text]}
    except pe.ConnectionClosedByBroker as exc:
        return {"connection_close": [exc.reply_code, exc.reply_text]}
    if ack and got:
        ch.basic_ack(got[-1][1], multiple=True)
    conn.close()
    return got


@scenario(
    expected={
        "non_durable": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid property 'non-durable' for queue '~s.nd' in vhost '/'",
            ]
        },
        "exclusive": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid property 'exclusive-owner' for queue '~s.ex' in vhost '/'",
            ]
        },
        "auto_delete": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid property 'auto-delete' for queue '~s.ad' in vhost '/'",
            ]
        },
        "server_named": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_stream_queue",
            ]
        },
        "arg_before_property": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-max-length' for queue '~s.both' in vhost '/' of queue type rabbit_stream_queue",
            ]
        },
        "x-max-length-bytes=100000": "declared",
        "x-max-age='7D'": "declared",
        "x-max-age='12h'": "declared",
        "x-max-age='1Y'": "declared",
        "x-max-age='1ms'": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-max-age' for queue '~s.arg9' in vhost '/': invalid_max_age",
            ]
        },
        "x-max-age='0s'": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-max-age' for queue '~s.arg10' in vhost '/': invalid_max_age",
            ]
        },
        "x-max-age=5": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-max-age' for queue '~s.arg11' in vhost '/': {unacceptable_type,signedint}",
            ]
        },
        "x-stream-max-segment-size-bytes=1000": "declared",
        "x-stream-max-segment-size-bytes=-5": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-stream-max-segment-size-bytes' for queue '~s.arg13' in vhost '/': {value_negative,-5}",
            ]
        },
        "x-initial-cluster-size='x'": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-initial-cluster-size' for queue '~s.arg14' in vhost '/': \"expected integer, got longstr\"",
            ]
        },
        "x-queue-leader-locator='balanced'": "declared",
        "x-queue-leader-locator='nope'": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-queue-leader-locator' for queue '~s.arg16' in vhost '/': invalid_queue_locator_arg",
            ]
        },
        "x-max-length=10": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-max-length' for queue '~s.arg17' in vhost '/' of queue type rabbit_stream_queue",
            ]
        },
        "x-message-ttl=1000": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue '~s.arg18' in vhost '/' of queue type rabbit_stream_queue",
            ]
        },
        "x-dead-letter-exchange='dlx'": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-dead-letter-exchange' for queue '~s.arg19' in vhost '/' of queue type rabbit_stream_queue",
            ]
        },
        "x-overflow='reject-publish'": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-overflow' for queue '~s.arg20' in vhost '/' of queue type rabbit_stream_queue",
            ]
        },
        "x-single-active-consumer=True": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-single-active-consumer' for queue '~s.arg21' in vhost '/' of queue type rabbit_stream_queue",
            ]
        },
        "x-expires=1000": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-expires' for queue '~s.arg22' in vhost '/' of queue type rabbit_stream_queue",
            ]
        },
        "x-max-priority=5": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue '~s.arg23' in vhost '/' of queue type rabbit_stream_queue",
            ]
        },
        "x-delivery-limit=3": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-delivery-limit' for queue '~s.arg24' in vhost '/' of queue type rabbit_stream_queue",
            ]
        },
        "x-queue-version=2": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-queue-version' for queue '~s.arg25' in vhost '/' of queue type rabbit_stream_queue",
            ]
        },
        "x-not-a-queue-arg=1": "declared",
        "x-max-age='bogus'": {"connection_close": [541, "INTERNAL_ERROR"]},
        "declare_ok": [0, 0],
        "redeclare_same": "~s.eq",
        "redeclare_other_age": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - inequivalent arg 'x-max-age' for queue '~s.eq' in vhost '/': received '2D' but current is '1D'",
            ]
        },
        "redeclare_other_bytes": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - inequivalent arg 'x-max-length-bytes' for queue '~s.eq' in vhost '/': received '2000' but current is '1000'",
            ]
        },
        "redeclare_no_args": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - inequivalent arg 'x-max-length-bytes' for queue '~s.eq' in vhost '/': received none but current is the value '1000' of type 'signedint'",
            ]
        },
        "redeclare_classic": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - inequivalent arg 'x-max-length-bytes' for queue '~s.eq' in vhost '/': received none but current is the value '1000' of type 'signedint'",
            ]
        },
    }
)
def stream_declare(run: Run) -> Observation:
    """What a stream declare may ask, and what RabbitMQ says to the rest."""
    obs: Observation = {
        "non_durable": _declare(run, "s.nd", durable=False),
        "exclusive": _declare(run, "s.ex", exclusive=True),
        "auto_delete": _declare(run, "s.ad", auto_delete=True),
        "server_named": run.attempt(
            lambda ch: ch.queue_declare("", durable=True, arguments=STREAM)
        ),
        "arg_before_property": _declare(
            run, "s.both", durable=False, arguments={"x-max-length": 1}
        ),
    }
    for arg, value in (
        ("x-max-length-bytes", 100000),
        ("x-max-age", "7D"),
        ("x-max-age", "12h"),
        ("x-max-age", "1Y"),
        ("x-max-age", "1ms"),
        ("x-max-age", "0s"),
        ("x-max-age", 5),
        ("x-stream-max-segment-size-bytes", 1000),
        ("x-stream-max-segment-size-bytes", -5),
        ("x-initial-cluster-size", "x"),
        ("x-queue-leader-locator", "balanced"),
        ("x-queue-leader-locator", "nope"),
        ("x-max-length", 10),
        ("x-message-ttl", 1000),
        ("x-dead-letter-exchange", "dlx"),
        ("x-overflow", "reject-publish"),
        ("x-single-active-consumer", True),
        ("x-expires", 1000),
        ("x-max-priority", 5),
        ("x-delivery-limit", 3),
        ("x-queue-version", 2),
        ("x-not-a-queue-arg", 1),
    ):
        obs[f"{arg}={value!r}"] = _declare(run, f"s.arg{len(obs)}", arguments={arg: value})
    obs["x-max-age='bogus'"] = _declare(run, "s.bogus", arguments={"x-max-age": "bogus"})
    name = run.name("s.eq")
    args = {**STREAM, "x-max-age": "1D", "x-max-length-bytes": 1000}
    ch = run.channel()
    ok = ch.queue_declare(name, durable=True, arguments=args).method
    obs["declare_ok"] = [ok.message_count, ok.consumer_count]
    for label, changed in (
        ("same", args),
        ("other_age", {**args, "x-max-age": "2D"}),
        ("other_bytes", {**args, "x-max-length-bytes": 2000}),
        ("no_args", STREAM),
        ("classic", {}),
    ):
        obs[f"redeclare_{label}"] = run.attempt(
            lambda ch, changed=changed: (
                ch.queue_declare(name, durable=True, arguments=changed).method.queue
            )
        )
    run.attempt(lambda ch: ch.queue_delete(name))
    return obs


@scenario(
    expected={
        "passive": [0, 0],
        "default": [],
        "first": [
            ["m0", 1, False, {"i": 0, "x-stream-offset": 0}, "~s.main"],
            ["m1", 2, False, {"i": 1, "x-stream-offset": 1}, "~s.main"],
            ["m2", 3, False, {"i": 2, "x-stream-offset": 2}, "~s.main"],
            ["m3", 4, False, {"i": 3, "x-stream-offset": 3}, "~s.main"],
            ["m4", 5, False, {"i": 4, "x-stream-offset": 4}, "~s.main"],
        ],
        "last": [["m4", 1, False, {"i": 4, "x-stream-offset": 4}, "~s.main"]],
        "next": [],
        "offset_2": [
            ["m2", 1, False, {"i": 2, "x-stream-offset": 2}, "~s.main"],
            ["m3", 2, False, {"i": 3, "x-stream-offset": 3}, "~s.main"],
            ["m4", 3, False, {"i": 4, "x-stream-offset": 4}, "~s.main"],
        ],
        "offset_past_end": [],
        "offset_negative": [
            ["m0", 1, False, {"i": 0, "x-stream-offset": 0}, "~s.main"],
            ["m1", 2, False, {"i": 1, "x-stream-offset": 1}, "~s.main"],
            ["m2", 3, False, {"i": 2, "x-stream-offset": 2}, "~s.main"],
            ["m3", 4, False, {"i": 3, "x-stream-offset": 3}, "~s.main"],
            ["m4", 5, False, {"i": 4, "x-stream-offset": 4}, "~s.main"],
        ],
        "interval_1h": [
            ["m0", 1, False, {"i": 0, "x-stream-offset": 0}, "~s.main"],
            ["m1", 2, False, {"i": 1, "x-stream-offset": 1}, "~s.main"],
            ["m2", 3, False, {"i": 2, "x-stream-offset": 2}, "~s.main"],
            ["m3", 4, False, {"i": 3, "x-stream-offset": 3}, "~s.main"],
            ["m4", 5, False, {"i": 4, "x-stream-offset": 4}, "~s.main"],
        ],
        "timestamp_before": [
            ["m0", 1, False, {"i": 0, "x-stream-offset": 0}, "~s.main"],
            ["m1", 2, False, {"i": 1, "x-stream-offset": 1}, "~s.main"],
            ["m2", 3, False, {"i": 2, "x-stream-offset": 2}, "~s.main"],
            ["m3", 4, False, {"i": 3, "x-stream-offset": 3}, "~s.main"],
            ["m4", 5, False, {"i": 4, "x-stream-offset": 4}, "~s.main"],
        ],
        "timestamp_future": [],
        "interval_bad_unit": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-stream-offset' for queue '~s.main' in vhost '/': {invalid_stream_offset_arg,{longstr,<<\"1q\">>}}",
            ]
        },
        "string_number": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-stream-offset' for queue '~s.main' in vhost '/': {invalid_stream_offset_arg,{longstr,<<\"3\">>}}",
            ]
        },
        "string_word": {"connection_close": [541, "INTERNAL_ERROR"]},
        "prefetch_2_unacked": [
            ["m0", 1, False, {"i": 0, "x-stream-offset": 0}, "~s.main"],
            ["m1", 2, False, {"i": 1, "x-stream-offset": 1}, "~s.main"],
        ],
        "live_next": [["live", 1, 5]],
        "credit_before_ack": [["m3", 1], ["m4", 2]],
        "credit_after_ack": [["m3", 1], ["m4", 2], ["live", 3]],
        "first_again": ["m0", "m1", "m2", "m3", "m4", "live"],
    }
)
def stream_consume(run: Run) -> Observation:
    """Five messages, then consumers from each kind of offset; a live one; credit."""
    name = run.name("s.main")
    ch = run.channel()
    ch.queue_declare(name, durable=True, arguments=STREAM)
    ch.confirm_delivery()
    for i in range(5):
        publish(ch, "", name, f"m{i}", headers={"i": i})
    obs: Observation = {
        "passive": list(
            (lambda m: (m.message_count, m.consumer_count))(
                ch.queue_declare(name, passive=True).method
            )
        )
    }
    for label, offset in (
        ("default", None),
        ("first", "first"),
        ("last", "last"),
        ("next", "next"),
        ("offset_2", 2),
        ("offset_past_end", 99),
        ("offset_negative", -1),
        ("interval_1h", "1h"),
        ("timestamp_before", datetime.datetime(2000, 1, 1)),
        ("timestamp_future", datetime.datetime(2100, 1, 1)),
        ("interval_bad_unit", "1q"),
        ("string_number", "3"),
        ("string_word", "bogus"),
    ):
        obs[label] = _take(run, name, offset)
    obs["prefetch_2_unacked"] = _take(run, name, "first", prefetch=2, ack=False)
    # a consumer at "next" gets what is published after it started
    conn = run.connect()
    live_ch = conn.channel()
    live_ch.basic_qos(prefetch_count=10)
    live: list[Any] = []
    live_ch.basic_consume(
        name,
        lambda _c, m, p, b: live.append([b, m.delivery_tag, p.headers.get("x-stream-offset")]),
        arguments={"x-stream-offset": "next"},
    )
    conn.process_data_events(time_limit=0.2)
    publish(ch, "", name, "live")
    pump(conn, lambda: bool(live))
    obs["live_next"] = live
    # credit: prefetch 2, ack one at a time
    credit_ch = conn.channel()
    credit_ch.basic_qos(prefetch_count=2)
    seen: list[Any] = []
    credit_ch.basic_consume(
        name,
        lambda _c, m, _p, b: seen.append([b, m.delivery_tag]),
        arguments={"x-stream-offset": 3},
    )
    pump(conn, lambda: len(seen) >= 2)
    conn.process_data_events(time_limit=0.2)
    obs["credit_before_ack"] = list(seen)
    credit_ch.basic_ack(seen[0][1])
    pump(conn, lambda: len(seen) >= 3)
    obs["credit_after_ack"] = list(seen)
    conn.close()
    # a new consumer from first still sees everything: acks removed nothing
    obs["first_again"] = [m[0] for m in _take(run, name, "first")]
    run.attempt(lambda ch: ch.queue_delete(name))
    return obs


@scenario(
    expected={
        "no_prefetch": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - consumer prefetch count is not set for 'queue '~s.ref' in vhost '/''",
            ]
        },
        "no_prefetch_and_no_ack": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - consumer prefetch count is not set for 'queue '~s.ref' in vhost '/''",
            ]
        },
        "auto_ack": {
            "connection_close": [
                540,
                "NOT_IMPLEMENTED - automatic acknowledgement not supported by stream queues queue '~s.ref' in vhost '/'",
            ]
        },
        "global_prefetch_only": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - consumer prefetch count is not set for 'queue '~s.ref' in vhost '/''",
            ]
        },
        "exclusive_then_another": "ok",
        "basic_get": {
            "connection_close": [
                540,
                "NOT_IMPLEMENTED - basic.get not supported by stream queues queue '~s.ref' in vhost '/'",
            ]
        },
        "purge": {
            "connection_close": [
                540,
                "NOT_IMPLEMENTED - queue.purge not supported by stream queues queue '~s.ref' in vhost '/'",
            ]
        },
        "nack": {
            "connection_close": [
                540,
                "NOT_IMPLEMENTED - basic.nack and basic.reject not supported by stream queues queue '~s.ref' in vhost '/'",
            ]
        },
        "reject": {
            "connection_close": [
                540,
                "NOT_IMPLEMENTED - basic.nack and basic.reject not supported by stream queues queue '~s.ref' in vhost '/'",
            ]
        },
        "recover": {"connection_close": [541, "INTERNAL_ERROR"]},
        "mandatory_publish": "ok",
        "bind": "ok",
        "delete_while_consumed": [0, ["cancelled"]],
    }
)
def stream_refusals(run: Run) -> Observation:
    """What a stream will not do, and how the connection or channel ends."""
    name = run.name("s.ref")
    ch = run.channel()
    ch.queue_declare(name, durable=True, arguments=STREAM)
    ch.confirm_delivery()
    for i in range(3):
        publish(ch, "", name, f"r{i}")
    obs: Observation = {}

    def consuming(prefetch: int, **kw: Any) -> Any:
        def fn(c: Any) -> None:
            if prefetch:
                c.basic_qos(prefetch_count=prefetch)
            c.basic_consume(name, lambda *_: None, **kw)

        return run.attempt(fn)

    obs["no_prefetch"] = consuming(0)
    obs["no_prefetch_and_no_ack"] = consuming(0, auto_ack=True)
    obs["auto_ack"] = consuming(5, auto_ack=True)
    obs["global_prefetch_only"] = run.attempt(
        lambda c: effects(
            c.basic_qos(prefetch_count=5, global_qos=True),
            c.basic_consume(name, lambda *_: None),
        )
    )
    obs["exclusive_then_another"] = run.attempt(
        lambda c: effects(
            c.basic_qos(prefetch_count=5),
            c.basic_consume(name, lambda *_: None, exclusive=True),
            c.basic_consume(name, lambda *_: None),
        )
    )
    obs["basic_get"] = run.attempt(lambda c: c.basic_get(name))
    obs["purge"] = run.attempt(lambda c: c.queue_purge(name))

    def settle_with(how: str) -> Any:
        def fn(c: Any) -> Any:
            c.basic_qos(prefetch_count=5)
            tags: list[int] = []
            c.basic_consume(
                name,
                lambda _c, m, _p, _b: tags.append(m.delivery_tag),
                arguments={"x-stream-offset": "first"},
            )
            pump(c.connection, lambda: len(tags) >= 3)
            if how == "nack":
                c.basic_nack(tags[0], requeue=True)
            elif how == "reject":
                c.basic_reject(tags[0], requeue=False)
            elif how == "recover":
                c.basic_recover(requeue=True)
            c.connection.process_data_events(time_limit=0.3)
            return len(tags)

        return run.attempt(fn)

    for how in ("nack", "reject", "recover"):
        obs[how] = settle_with(how)
    obs["mandatory_publish"] = run.attempt(
        lambda c: effects(c.confirm_delivery(), c.basic_publish("", name, b"m", mandatory=True))
    )
    obs["bind"] = run.attempt(lambda c: effects(c.queue_bind(name, "amq.direct", "k")))

    def delete_while_consumed(c: Any) -> Any:
        c.basic_qos(prefetch_count=5)
        cancelled: list[str] = []
        c.add_on_cancel_callback(lambda frame: cancelled.append("cancelled"))
        c.basic_consume(name, lambda *_: None, arguments={"x-stream-offset": "next"})
        count = run.channel().queue_delete(name).method.message_count
        pump(c.connection, lambda: bool(cancelled), timeout=1.0)
        return [count, cancelled]

    obs["delete_while_consumed"] = run.attempt(delete_while_consumed)
    return obs


@scenario(
    expected={
        "oldest_gone": True,
        "some_kept_not_all": True,
        "newest_kept": True,
        "in_order": True,
        "contiguous_bodies": True,
    }
)
def stream_retention(run: Run) -> Observation:
    """x-max-length-bytes with small segments: the oldest messages go, whole segments
    at a time, once a segment is full; the newest stay. How many stay depends on how a
    broker counts a message's bytes (RabbitMQ counts its stored form), so only the
    shape is compared."""
    name = run.name("s.ret")
    ch = run.channel()
    ch.queue_declare(
        name,
        durable=True,
        arguments={**STREAM, "x-max-length-bytes": 2000, "x-stream-max-segment-size-bytes": 500},
    )
    ch.confirm_delivery()
    for i in range(100):
        ch.basic_publish("", name, (f"r{i:03d}" + "x" * 96).encode(), pika.BasicProperties())
    got = _take(run, name, "first", count=100, prefetch=200)
    bodies = [m[0][:4].decode() for m in got]
    offsets = [m[3]["x-stream-offset"] for m in got]
    run.attempt(lambda ch: ch.queue_delete(name))
    return {
        "oldest_gone": bool(bodies) and bodies[0] != "r000",
        "some_kept_not_all": 0 < len(bodies) < 100,
        "newest_kept": bodies[-1:] == ["r099"],
        "in_order": offsets == sorted(offsets) and bodies == sorted(bodies),
        "contiguous_bodies": bodies == [f"r{i:03d}" for i in range(100 - len(bodies), 100)],
    }
