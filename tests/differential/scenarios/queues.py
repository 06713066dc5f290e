"""queue.declare: reserved and missing names, redeclaring with other flags or arguments,
invalid arguments, server-named queues, declare-ok counts, another connection's
exclusive queue.
"""

# Expected texts are RabbitMQ's exact reply texts; splitting them would hide them.
# ruff: noqa: E501

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pika.exceptions as pe
import pika.spec as spec

from ._base import (
    GEN_RE,
    INEQ,
    Observation,
    Run,
    effects,
    get_all,
    publish,
    pump,
    scenario,
    sync,
)

_LOCKED = (
    "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '~q' in vhost '/'. "
    "It could be originally declared on another connection or the exclusive property value "
    "does not match that of the original declaration."
)


def _redeclare(run: Run, before: dict[str, Any], after: dict[str, Any]) -> Any:
    q = run.name("q")

    def go(ch: Any) -> None:
        ch.queue_declare(q, **before)
        ch.queue_declare(q, **after)

    result = run.attempt(go)
    run.attempt(lambda ch: effects(ch.queue_delete(q)))
    return result


_QUEUE_REDECLARES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "durable_added": ({}, {"durable": True}),
    "durable_removed": ({"durable": True}, {}),
    "auto_delete_added": ({}, {"auto_delete": True}),
    "auto_delete_removed": ({"auto_delete": True}, {}),
    "exclusive_added": ({}, {"exclusive": True}),
    "exclusive_removed": ({"exclusive": True}, {}),
    "ttl_added": ({}, {"arguments": {"x-message-ttl": 1000}}),
    "ttl_removed": ({"arguments": {"x-message-ttl": 1000}}, {}),
    "ttl_changed": (
        {"arguments": {"x-message-ttl": 1000}},
        {"arguments": {"x-message-ttl": 2000}},
    ),
    "ttl_same": ({"arguments": {"x-message-ttl": 1000}}, {"arguments": {"x-message-ttl": 1000}}),
    "ttl_int_vs_str": (
        {"arguments": {"x-message-ttl": 1000}},
        {"arguments": {"x-message-ttl": "1000"}},
    ),
    "max_length_added": ({}, {"arguments": {"x-max-length": 5}}),
    "max_length_changed": (
        {"arguments": {"x-max-length": 5}},
        {"arguments": {"x-max-length": 6}},
    ),
    "expires_added": ({}, {"arguments": {"x-expires": 10000}}),
    "max_priority_added": ({}, {"arguments": {"x-max-priority": 5}}),
    "overflow_added": ({}, {"arguments": {"x-overflow": "reject-publish"}}),
    "dlx_added": ({}, {"arguments": {"x-dead-letter-exchange": "dlx"}}),
    "dlx_changed": (
        {"arguments": {"x-dead-letter-exchange": "a"}},
        {"arguments": {"x-dead-letter-exchange": "b"}},
    ),
    "unknown_x_arg_added": ({}, {"arguments": {"x-foo": 1}}),
    "non_x_arg_added": ({}, {"arguments": {"foo": 1}}),
}


@scenario(
    expected={
        "reserved_name": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - queue name 'amq.foo' contains reserved prefix 'amq.*'",
            ]
        },
        "reserved_name_passive": {
            "channel_close": [404, "NOT_FOUND - no queue 'amq.foo' in vhost '/'"]
        },
        "passive_missing": {"channel_close": [404, "NOT_FOUND - no queue '~nope' in vhost '/'"]},
        "durable_added": {
            "channel_close": [
                406,
                f"{INEQ} 'durable' for queue '~q' in vhost '/': received 'true' but current is 'false'",
            ]
        },
        "durable_removed": {
            "channel_close": [
                406,
                f"{INEQ} 'durable' for queue '~q' in vhost '/': received 'false' but current is 'true'",
            ]
        },
        "auto_delete_added": {
            "channel_close": [
                406,
                f"{INEQ} 'auto_delete' for queue '~q' in vhost '/': received 'true' but current is 'false'",
            ]
        },
        "auto_delete_removed": {
            "channel_close": [
                406,
                f"{INEQ} 'auto_delete' for queue '~q' in vhost '/': received 'false' but current is 'true'",
            ]
        },
        "exclusive_added": {"channel_close": [405, _LOCKED]},
        "exclusive_removed": {"channel_close": [405, _LOCKED]},
        "ttl_added": {
            "channel_close": [
                406,
                f"{INEQ} 'x-message-ttl' for queue '~q' in vhost '/': "
                "received the value '1000' of type 'signedint' but current is none",
            ]
        },
        "ttl_removed": {
            "channel_close": [
                406,
                f"{INEQ} 'x-message-ttl' for queue '~q' in vhost '/': "
                "received none but current is the value '1000' of type 'signedint'",
            ]
        },
        "ttl_changed": {
            "channel_close": [
                406,
                f"{INEQ} 'x-message-ttl' for queue '~q' in vhost '/': received '2000' but current is '1000'",
            ]
        },
        "ttl_same": "ok",
        "ttl_int_vs_str": {
            "channel_close": [
                406,
                f"{INEQ} 'x-message-ttl' for queue '~q' in vhost '/': received '1000' but current is '1000'",
            ]
        },
        "max_length_added": {
            "channel_close": [
                406,
                f"{INEQ} 'x-max-length' for queue '~q' in vhost '/': "
                "received the value '5' of type 'signedint' but current is none",
            ]
        },
        "dlx_added": {
            "channel_close": [
                406,
                f"{INEQ} 'x-dead-letter-exchange' for queue '~q' in vhost '/': "
                "received the value 'dlx' of type 'longstr' but current is none",
            ]
        },
        "dlx_changed": {
            "channel_close": [
                406,
                f"{INEQ} 'x-dead-letter-exchange' for queue '~q' in vhost '/': received 'b' but current is 'a'",
            ]
        },
        "max_length_changed": {
            "channel_close": [
                406,
                f"{INEQ} 'x-max-length' for queue '~q' in vhost '/': received '6' but current is '5'",
            ]
        },
        "expires_added": {
            "channel_close": [
                406,
                f"{INEQ} 'x-expires' for queue '~q' in vhost '/': "
                "received the value '10000' of type 'signedint' but current is none",
            ]
        },
        "max_priority_added": {
            "channel_close": [
                406,
                f"{INEQ} 'x-max-priority' for queue '~q' in vhost '/': "
                "received the value '5' of type 'signedint' but current is none",
            ]
        },
        "overflow_added": {
            "channel_close": [
                406,
                f"{INEQ} 'x-overflow' for queue '~q' in vhost '/': "
                "received the value 'reject-publish' of type 'longstr' but current is none",
            ]
        },
        "unknown_x_arg_added": "ok",
        "non_x_arg_added": "ok",
        "invalid_ttl": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue '~bad' in vhost '/': "
                "{value_negative,-1}",
            ]
        },
        "invalid_ttl_type": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue '~bad' in vhost '/': "
                '"expected integer, got longstr"',
            ]
        },
        "invalid_max_length": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-max-length' for queue '~bad' in vhost '/': "
                "{value_negative,-1}",
            ]
        },
        "invalid_overflow": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-overflow' for queue '~bad' in vhost '/': invalid_overflow",
            ]
        },
        "invalid_expires": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-expires' for queue '~bad' in vhost '/': {value_zero,0}",
            ]
        },
        "invalid_max_priority": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue '~bad' in vhost '/': "
                "{max_value_exceeded,300}",
            ]
        },
        "invalid_queue_type": {
            "channel_close": [
                406,
                "PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue '~bad' in vhost '/': "
                "\"unsupported queue type 'bogus'\"",
            ]
        },
        # nowait asks for no declare-ok, not for no error
        "reserved_name_nowait": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - queue name 'amq.bad' contains reserved prefix 'amq.*'",
            ]
        },
        "server_named": ["amq.gen-<id>", 30],
        "declare_ok_counts": [[3, 0], [0, 2], [0, 2]],
        "other_connection_exclusive": {
            "declare": {"channel_close": [405, _LOCKED]},
            "passive": {"channel_close": [405, _LOCKED]},
            "bind": {"channel_close": [405, _LOCKED]},
            "consume": {"channel_close": [405, _LOCKED]},
            "get": {"channel_close": [405, _LOCKED]},
            "purge": {"channel_close": [405, _LOCKED]},
            "delete": {"channel_close": [405, _LOCKED]},
            "publish": "ok",
        },
    }
)
def queue_declare(run: Run) -> Observation:
    obs: Observation = {
        "reserved_name": run.attempt(lambda ch: ch.queue_declare("amq.foo")),
        "reserved_name_passive": run.attempt(lambda ch: ch.queue_declare("amq.foo", passive=True)),
        "passive_missing": run.attempt(
            lambda ch: ch.queue_declare(run.name("nope"), passive=True)
        ),
    }
    for key, (before, after) in _QUEUE_REDECLARES.items():
        obs[key] = _redeclare(run, before, after)
    bad = run.name("bad")
    for key, args in {
        "invalid_ttl": {"x-message-ttl": -1},
        "invalid_ttl_type": {"x-message-ttl": "abc"},
        "invalid_max_length": {"x-max-length": -1},
        "invalid_overflow": {"x-overflow": "nope"},
        "invalid_expires": {"x-expires": 0},
        "invalid_max_priority": {"x-max-priority": 300},
        "invalid_queue_type": {"x-queue-type": "bogus"},
    }.items():
        obs[key] = run.attempt(lambda ch, a=args: ch.queue_declare(bad, arguments=a))  # type: ignore[misc]

    def nowait_reserved(ch: Any) -> None:
        ch._impl._send_method(spec.Queue.Declare(queue="amq.bad", nowait=True))
        sync(ch)

    obs["reserved_name_nowait"] = run.attempt(nowait_reserved)

    name = run.channel().queue_declare("", exclusive=True).method.queue
    assert GEN_RE.fullmatch(name), name
    obs["server_named"] = [name, len(name)]

    ch = run.channel()
    q = run.name("counts")
    ch.queue_declare(q, exclusive=True)
    ch.confirm_delivery()
    for i in range(3):
        publish(ch, "", q, f"m{i}")
    counts = [[ch.queue_declare(q, passive=True).method.message_count, 0]]
    got: list[Any] = []
    ch.basic_consume(q, lambda *a: got.append(1))
    ch2 = run.channel()
    ch2.basic_consume(q, lambda *a: got.append(1))
    pump(run.conn, lambda: len(got) >= 3)
    ok = ch.queue_declare(q, passive=True).method
    ok2 = ch.queue_declare(q, exclusive=True).method
    counts = [
        [counts[0][0], 0],
        [ok.message_count, ok.consumer_count],
        [ok2.message_count, ok2.consumer_count],
    ]
    obs["declare_ok_counts"] = counts

    owner = run.connect().channel()
    exq = run.name("q")
    owner.queue_declare(exq, exclusive=True)
    other = run.connect()

    def on_other(fn: Callable[[Any], Any]) -> Any:
        chan = other.channel()
        try:
            fn(chan)
        except pe.ChannelClosedByBroker as exc:
            return {"channel_close": [exc.reply_code, exc.reply_text]}
        return "ok"

    def publish_confirmed(chan: Any) -> None:
        chan.confirm_delivery()
        publish(chan, "", exq, "x")

    obs["other_connection_exclusive"] = {
        "declare": on_other(lambda c: c.queue_declare(exq)),
        "passive": on_other(lambda c: c.queue_declare(exq, passive=True)),
        "bind": on_other(lambda c: c.queue_bind(exq, "amq.direct", "k")),
        "consume": on_other(lambda c: c.basic_consume(exq, lambda *a: None)),
        "get": on_other(lambda c: c.basic_get(exq)),
        "purge": on_other(lambda c: c.queue_purge(exq)),
        "delete": on_other(lambda c: c.queue_delete(exq)),
        "publish": on_other(publish_confirmed),
    }
    return obs


@scenario(
    expected={
        "declare_ok": ["~a.b~c!é", 0],
        "got": [
            {
                "body": "odd",
                "redelivered": False,
                "exchange": "~x~y",
                "routing_key": "k",
                "properties": {},
            }
        ],
        "purged": 0,
    }
)
def names_pamqp_would_refuse(run: Run) -> Observation:
    """Queue and exchange names outside pamqp's client-side pattern (``~``, ``é``, ``!``):
    RabbitMQ takes any short string, and so must the broker's answers."""
    ch = run.channel()
    queue, exchange = run.name("a.b~c!é"), run.name("x~y")
    ok = ch.queue_declare(queue, exclusive=True).method
    ch.exchange_declare(exchange, "fanout", auto_delete=True)
    ch.queue_bind(queue, exchange)
    ch.basic_publish(exchange, "k", b"odd")
    got = get_all(ch, queue, props=True)
    ch.queue_unbind(queue, exchange)
    return {
        "declare_ok": [ok.queue, ok.message_count],
        "got": got,
        "purged": ch.queue_purge(queue).method.message_count,
    }
