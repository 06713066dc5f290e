"""exchange.declare and exchange.delete (types, redeclares, amq.* and the default
exchange, if_unused, auto-delete), then queue/exchange bind and unbind, queue.delete
and queue.purge.
"""

# Expected texts are RabbitMQ's exact reply texts; splitting them would hide them.
# ruff: noqa: E501

from __future__ import annotations

from typing import Any

from ._base import INEQ, Observation, Run, effects, get_all, publish, scenario


@scenario(
    expected={
        "unknown_type": {
            "connection_close": [503, "COMMAND_INVALID - unknown exchange type 'bogus'"]
        },
        "unknown_x_type": {
            "connection_close": [503, "COMMAND_INVALID - unknown exchange type 'x-foo'"]
        },
        "type_changed": {
            "channel_close": [
                406,
                f"{INEQ} 'type' for exchange '~x' in vhost '/': received 'topic' but current is 'direct'",
            ]
        },
        "durable_added": {
            "channel_close": [
                406,
                f"{INEQ} 'durable' for exchange '~x' in vhost '/': received 'true' but current is 'false'",
            ]
        },
        "durable_removed": {
            "channel_close": [
                406,
                f"{INEQ} 'durable' for exchange '~x' in vhost '/': received 'false' but current is 'true'",
            ]
        },
        "auto_delete_added": {
            "channel_close": [
                406,
                f"{INEQ} 'auto_delete' for exchange '~x' in vhost '/': received 'true' but current is 'false'",
            ]
        },
        "internal_added": {
            "channel_close": [
                406,
                f"{INEQ} 'internal' for exchange '~x' in vhost '/': received 'true' but current is 'false'",
            ]
        },
        "internal_removed": {
            "channel_close": [
                406,
                f"{INEQ} 'internal' for exchange '~x' in vhost '/': received 'false' but current is 'true'",
            ]
        },
        "alternate_exchange_added": {
            "channel_close": [
                406,
                f"{INEQ} 'alternate-exchange' for exchange '~x' in vhost '/': "
                "received the value 'ae' of type 'longstr' but current is none",
            ]
        },
        "alternate_exchange_changed": {
            "channel_close": [
                406,
                f"{INEQ} 'alternate-exchange' for exchange '~x' in vhost '/': received 'b' but current is 'a'",
            ]
        },
        "alternate_exchange_removed": {
            "channel_close": [
                406,
                f"{INEQ} 'alternate-exchange' for exchange '~x' in vhost '/': "
                "received none but current is the value 'a' of type 'longstr'",
            ]
        },
        "unknown_arg_added": "ok",
        "passive_missing": {
            "channel_close": [404, "NOT_FOUND - no exchange '~nope' in vhost '/'"]
        },
        "passive_other_type": "ok",
        "reserved_name": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - exchange name 'amq.foo' contains reserved prefix 'amq.*'",
            ]
        },
        "reserved_name_passive": {
            "channel_close": [404, "NOT_FOUND - no exchange 'amq.foo' in vhost '/'"]
        },
        "amq_direct_same": "ok",
        "amq_direct_topic": {
            "channel_close": [
                406,
                f"{INEQ} 'type' for exchange 'amq.direct' in vhost '/': received 'topic' but current is 'direct'",
            ]
        },
        "amq_direct_not_durable": {
            "channel_close": [
                406,
                f"{INEQ} 'durable' for exchange 'amq.direct' in vhost '/': received 'false' but current is 'true'",
            ]
        },
        "predeclared": "ok",
        "default_exchange": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - operation not permitted on the default exchange",
            ]
        },
        "default_exchange_passive": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - operation not permitted on the default exchange",
            ]
        },
        "delete_missing": "ok",
        "delete_missing_if_unused": "ok",
        "delete_amq_direct": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed",
            ]
        },
        "delete_reserved_missing": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - deletion of system exchange 'amq.foo' in vhost '/' not allowed",
            ]
        },
        "delete_default": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - operation not permitted on the default exchange",
            ]
        },
        "delete_if_unused_in_use": {
            "channel_close": [406, "PRECONDITION_FAILED - exchange '~x' in vhost '/' in use"]
        },
        # deleted (the passive declare after it fails): being a destination is not a use
        "delete_if_unused_only_destination": {
            "channel_close": [404, "NOT_FOUND - no exchange '~dest' in vhost '/'"]
        },
        "auto_delete_after_unbind": {
            "channel_close": [404, "NOT_FOUND - no exchange '~ad' in vhost '/'"]
        },
        "auto_delete_after_queue_delete": {
            "channel_close": [404, "NOT_FOUND - no exchange '~ad3' in vhost '/'"]
        },
        "auto_delete_never_bound": "ok",
    }
)
def exchange_declare(run: Run) -> Observation:
    x = run.name("x")

    def redeclare(before: dict[str, Any], after: dict[str, Any]) -> Any:
        def go(ch: Any) -> None:
            ch.exchange_declare(x, **before)
            ch.exchange_declare(x, **after)

        result = run.attempt(go)
        run.attempt(lambda ch: effects(ch.exchange_delete(x)))
        return result

    obs: Observation = {
        "unknown_type": run.attempt(lambda ch: ch.exchange_declare(run.name("bad"), "bogus")),
        "unknown_x_type": run.attempt(lambda ch: ch.exchange_declare(run.name("bad"), "x-foo")),
        "type_changed": redeclare({}, {"exchange_type": "topic"}),
        "durable_added": redeclare({}, {"durable": True}),
        "durable_removed": redeclare({"durable": True}, {}),
        "auto_delete_added": redeclare({}, {"auto_delete": True}),
        "internal_added": redeclare({}, {"internal": True}),
        "internal_removed": redeclare({"internal": True}, {}),
        "alternate_exchange_added": redeclare({}, {"arguments": {"alternate-exchange": "ae"}}),
        "alternate_exchange_changed": redeclare(
            {"arguments": {"alternate-exchange": "a"}}, {"arguments": {"alternate-exchange": "b"}}
        ),
        "alternate_exchange_removed": redeclare({"arguments": {"alternate-exchange": "a"}}, {}),
        "unknown_arg_added": redeclare({}, {"arguments": {"x-foo": "1"}}),
        "passive_missing": run.attempt(
            lambda ch: ch.exchange_declare(run.name("nope"), passive=True)
        ),
        "passive_other_type": run.attempt(
            lambda ch: effects(ch.exchange_declare("amq.direct", "topic", passive=True))
        ),
        "reserved_name": run.attempt(lambda ch: ch.exchange_declare("amq.foo")),
        "reserved_name_passive": run.attempt(
            lambda ch: ch.exchange_declare("amq.foo", passive=True)
        ),
        "amq_direct_same": run.attempt(
            lambda ch: effects(ch.exchange_declare("amq.direct", "direct", durable=True))
        ),
        "amq_direct_topic": run.attempt(
            lambda ch: ch.exchange_declare("amq.direct", "topic", durable=True)
        ),
        "amq_direct_not_durable": run.attempt(
            lambda ch: ch.exchange_declare("amq.direct", "direct")
        ),
    }

    def predeclared(ch: Any) -> None:
        for name, kind in [
            ("amq.direct", "direct"),
            ("amq.fanout", "fanout"),
            ("amq.topic", "topic"),
            ("amq.headers", "headers"),
            ("amq.match", "headers"),
        ]:
            ch.exchange_declare(name, kind, durable=True)
        ch.exchange_declare("amq.rabbitmq.trace", "topic", durable=True, internal=True)

    obs["predeclared"] = run.attempt(predeclared)
    obs["default_exchange"] = run.attempt(
        lambda ch: ch.exchange_declare("", "direct", durable=True)
    )
    obs["default_exchange_passive"] = run.attempt(lambda ch: ch.exchange_declare("", passive=True))
    obs["delete_missing"] = run.attempt(lambda ch: effects(ch.exchange_delete(run.name("nope"))))
    obs["delete_missing_if_unused"] = run.attempt(
        lambda ch: effects(ch.exchange_delete(run.name("nope"), if_unused=True))
    )
    obs["delete_amq_direct"] = run.attempt(lambda ch: ch.exchange_delete("amq.direct"))
    obs["delete_reserved_missing"] = run.attempt(lambda ch: ch.exchange_delete("amq.foo"))
    obs["delete_default"] = run.attempt(lambda ch: ch.exchange_delete(""))

    def in_use(ch: Any) -> None:
        q = run.name("inuse")
        ch.exchange_declare(x)
        ch.queue_declare(q, exclusive=True)
        ch.queue_bind(q, x, "k")
        ch.exchange_delete(x, if_unused=True)

    obs["delete_if_unused_in_use"] = run.attempt(in_use)
    run.attempt(lambda ch: effects(ch.exchange_delete(x)))

    dest = run.name("dest")

    def only_destination(ch: Any) -> None:
        # an exchange that is only the destination of a binding counts as unused
        ch.exchange_declare(x)
        ch.exchange_declare(dest)
        ch.exchange_bind(dest, x, "k")
        ch.exchange_delete(dest, if_unused=True)
        ch.exchange_declare(dest, passive=True)

    obs["delete_if_unused_only_destination"] = run.attempt(only_destination)
    run.attempt(lambda ch: effects(ch.exchange_delete(x)))

    ad, q = run.name("ad"), run.name("adq")

    def auto_delete(ch: Any) -> None:
        ch.exchange_declare(ad, auto_delete=True)
        ch.queue_declare(q, exclusive=True)
        ch.queue_bind(q, ad, "k")
        ch.queue_unbind(q, ad, "k")
        ch.exchange_declare(ad, passive=True)

    obs["auto_delete_after_unbind"] = run.attempt(auto_delete)
    ad3, q3 = run.name("ad3"), run.name("adq3")

    def auto_delete_queue_gone(ch: Any) -> None:
        ch.exchange_declare(ad3, auto_delete=True)
        ch.queue_declare(q3, exclusive=True)
        ch.queue_bind(q3, ad3, "k")
        ch.queue_delete(q3)
        ch.exchange_declare(ad3, passive=True)

    obs["auto_delete_after_queue_delete"] = run.attempt(auto_delete_queue_gone)
    ad2 = run.name("ad2")
    obs["auto_delete_never_bound"] = run.attempt(
        lambda ch: effects(
            ch.exchange_declare(ad2, auto_delete=True), ch.exchange_declare(ad2, passive=True)
        )
    )
    run.attempt(lambda ch: effects(ch.exchange_delete(ad2)))
    return obs


# -- bind / unbind, queue delete / purge ---------------------------------------------


@scenario(
    expected={
        "bind_missing_queue": {
            "channel_close": [404, "NOT_FOUND - no queue '~nope' in vhost '/'"]
        },
        "bind_missing_exchange": {
            "channel_close": [404, "NOT_FOUND - no exchange '~nope' in vhost '/'"]
        },
        "bind_both_missing": {
            "channel_close": [404, "NOT_FOUND - no exchange '~nope' in vhost '/'"]
        },
        "bind_default_exchange": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - operation not permitted on the default exchange",
            ]
        },
        "unbind_default_exchange": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - operation not permitted on the default exchange",
            ]
        },
        "unbind_missing_queue": "ok",
        "unbind_missing_exchange": "ok",
        "unbind_missing_binding": "ok",
        "bind_twice_one_copy": 1,
        "e2e_missing_source": {
            "channel_close": [404, "NOT_FOUND - no exchange '~nope' in vhost '/'"]
        },
        "e2e_missing_destination": {
            "channel_close": [404, "NOT_FOUND - no exchange '~nope' in vhost '/'"]
        },
        "e2e_default_destination": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - operation not permitted on the default exchange",
            ]
        },
        "e2e_default_source": {
            "channel_close": [
                403,
                "ACCESS_REFUSED - operation not permitted on the default exchange",
            ]
        },
        "bind_internal_exchange": "ok",
        "bind_reserved_queue": {
            "channel_close": [404, "NOT_FOUND - no queue 'amq.foo' in vhost '/'"]
        },
        "delete_missing_queue": 0,
        "delete_missing_queue_if_unused_if_empty": 0,
        "delete_reserved_queue": 0,
        "delete_if_empty": {
            "channel_close": [406, "PRECONDITION_FAILED - queue '~q' in vhost '/' not empty"]
        },
        "delete_if_unused": {
            "channel_close": [406, "PRECONDITION_FAILED - queue '~q' in vhost '/' in use"]
        },
        "delete_count": 4,
        "purge_missing": {"channel_close": [404, "NOT_FOUND - no queue '~nope' in vhost '/'"]},
        "purge_count": 4,
    }
)
def bind_delete_purge(run: Run) -> Observation:
    q, nope = run.name("q"), run.name("nope")
    ch = run.channel()
    ch.queue_declare(q, exclusive=True)
    ch.confirm_delivery()
    obs: Observation = {
        "bind_missing_queue": run.attempt(lambda c: c.queue_bind(nope, "amq.direct", "k")),
        "bind_missing_exchange": run.attempt(lambda c: c.queue_bind(q, nope, "k")),
        "bind_both_missing": run.attempt(lambda c: c.queue_bind(nope, nope, "k")),
        "bind_default_exchange": run.attempt(lambda c: c.queue_bind(q, "", q)),
        "unbind_default_exchange": run.attempt(lambda c: c.queue_unbind(q, "", q)),
        "unbind_missing_queue": run.attempt(
            lambda c: effects(c.queue_unbind(nope, "amq.direct", "k"))
        ),
        "unbind_missing_exchange": run.attempt(lambda c: effects(c.queue_unbind(q, nope, "k"))),
        "unbind_missing_binding": run.attempt(
            lambda c: effects(c.queue_unbind(q, "amq.direct", "k"))
        ),
    }
    ch.queue_bind(q, "amq.direct", run.name("k"))
    ch.queue_bind(q, "amq.direct", run.name("k"))
    publish(ch, "amq.direct", run.name("k"), "x")
    obs["bind_twice_one_copy"] = len(get_all(ch, q))
    ch.queue_unbind(q, "amq.direct", run.name("k"))
    obs["e2e_missing_source"] = run.attempt(lambda c: c.exchange_bind("amq.direct", nope, "k"))
    obs["e2e_missing_destination"] = run.attempt(
        lambda c: c.exchange_bind(nope, "amq.direct", "k")
    )
    obs["e2e_default_destination"] = run.attempt(lambda c: c.exchange_bind("", "amq.direct", "k"))
    obs["e2e_default_source"] = run.attempt(lambda c: c.exchange_bind("amq.direct", "", "k"))
    internal = run.name("internal")
    obs["bind_internal_exchange"] = run.attempt(
        lambda c: effects(
            c.exchange_declare(internal, internal=True), c.queue_bind(q, internal, "k")
        )
    )
    run.attempt(lambda c: effects(c.exchange_delete(internal)))
    obs["bind_reserved_queue"] = run.attempt(lambda c: c.queue_bind("amq.foo", "amq.direct", "k"))
    obs["delete_missing_queue"] = ch.queue_delete(nope).method.message_count
    obs["delete_missing_queue_if_unused_if_empty"] = ch.queue_delete(
        nope, if_unused=True, if_empty=True
    ).method.message_count
    obs["delete_reserved_queue"] = ch.queue_delete("amq.foo").method.message_count

    def if_empty(c: Any) -> None:
        c.confirm_delivery()
        publish(c, "", q, "x")
        c.queue_delete(q, if_empty=True)

    obs["delete_if_empty"] = run.attempt(if_empty)
    ch.queue_purge(q)

    def if_unused(c: Any) -> None:
        c.basic_consume(q, lambda *a: None)
        c.queue_delete(q, if_unused=True)

    obs["delete_if_unused"] = run.attempt(if_unused)
    for _ in range(4):
        publish(ch, "", q, "x")
    obs["purge_count"] = ch.queue_purge(q).method.message_count
    for _ in range(4):
        publish(ch, "", q, "x")
    obs["delete_count"] = ch.queue_delete(q).method.message_count
    obs["purge_missing"] = run.attempt(lambda c: c.queue_purge(nope))
    return obs
