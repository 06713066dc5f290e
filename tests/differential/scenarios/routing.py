"""Routing: the table of tests/routing_cases.py through every exchange type, and
exchange-to-exchange bindings, alternate exchanges, unroutable returns.
"""

from __future__ import annotations

from typing import Any

import pika
import pika.compat
from routing_cases import ROUTING_CASES, LongInt, RoutingCase

from ._base import Observation, Run, effects, get_all, publish, pump, scenario, sync


def to_pika(value: Any) -> Any:
    if isinstance(value, LongInt):
        return pika.compat.long(value)
    if isinstance(value, dict):
        return {k: to_pika(v) for k, v in value.items()}
    return value


def routed_queues(run: Run, ch: Any, case: RoutingCase, index: int) -> list[str]:
    exchange = run.name(f"rx{index}")
    ch.exchange_declare(exchange, case.exchange_type, auto_delete=False)
    names = {q: run.name(f"r{index}.{q}") for q in case.queues}
    for real in names.values():
        ch.queue_declare(real, exclusive=True)
    for key_or_args, q in case.bindings:
        if isinstance(key_or_args, dict):
            ch.queue_bind(names[q], exchange, "", arguments=to_pika(key_or_args))
        else:
            ch.queue_bind(names[q], exchange, key_or_args)
    headers = to_pika(case.headers) if case.headers is not None else None
    ch.basic_publish(exchange, case.routing_key, b"m", pika.BasicProperties(headers=headers))
    got = sorted(q for q, real in names.items() if get_all(ch, real))
    for real in names.values():
        ch.queue_delete(real)
    ch.exchange_delete(exchange)
    return got


@scenario(expected={case.name: sorted(case.expected) for case in ROUTING_CASES})
def routing_table(run: Run) -> Observation:
    """Every case of tests/routing_cases.py: the set of queues the message reaches."""
    ch = run.channel()
    ch.confirm_delivery()
    return {case.name: routed_queues(run, ch, case, i) for i, case in enumerate(ROUTING_CASES)}


@scenario(
    expected={
        "e2e": [["~d1", "~q.dir", "~q.t"], ["~q.dir"]],
        "alternate": [["~q.main"], ["~q.alt"]],
        "alternate_missing": "ok",
        "unroutable_return": [[312, "NO_ROUTE", "~nomatch", "k"]],
        "amq_topic": ["~q.amqtopic"],
    }
)
def exchange_features(run: Run) -> Observation:
    """Exchange-to-exchange bindings, alternate-exchange, predeclared amq.topic."""
    ch = run.channel()
    ch.confirm_delivery()
    src, dst_t, dst_d = run.name("e2e.src"), run.name("e2e.t"), run.name("e2e.d")
    ch.exchange_declare(src, "fanout")
    ch.exchange_declare(dst_t, "topic")
    ch.exchange_declare(dst_d, "direct")
    ch.exchange_bind(dst_t, src)
    ch.exchange_bind(dst_d, src)
    qt, qd, q1 = run.name("q.t"), run.name("q.dir"), run.name("d1")
    for q in (qt, qd, q1):
        ch.queue_declare(q, exclusive=True)
    ch.queue_bind(qt, dst_t, "a.*")
    ch.queue_bind(q1, src)
    ch.queue_bind(qd, dst_d, "a.b")
    publish(ch, src, "a.b", "e2e")
    e2e_a = sorted(n for n in (q1, qt, qd) if get_all(ch, n))
    ch.exchange_unbind(dst_t, src)
    ch.queue_unbind(q1, src)
    publish(ch, src, "a.b", "e2e")
    e2e_b = sorted(n for n in (q1, qt, qd) if get_all(ch, n))

    alt, main = run.name("alt"), run.name("main")
    qa, qm = run.name("q.alt"), run.name("q.main")
    ch.exchange_declare(alt, "fanout")
    ch.exchange_declare(main, "direct", arguments={"alternate-exchange": alt})
    ch.queue_declare(qa, exclusive=True)
    ch.queue_declare(qm, exclusive=True)
    ch.queue_bind(qa, alt)
    ch.queue_bind(qm, main, "k")
    publish(ch, main, "k", "x")
    alt_a = sorted(n for n in (qa, qm) if get_all(ch, n))
    publish(ch, main, "other", "x")
    alt_b = sorted(n for n in (qa, qm) if get_all(ch, n))

    # alternate-exchange naming a missing exchange: message is just unroutable
    missing = run.name("ae.missing")
    ch.exchange_declare(missing, "direct", arguments={"alternate-exchange": run.name("nope")})
    alt_missing = run.attempt(
        lambda c: effects(c.confirm_delivery(), publish(c, missing, "k", "x"), sync(c))
    )

    returns: list[Any] = []
    ch2 = run.channel()
    ch2.add_on_return_callback(
        lambda _c, m, _p, _b: returns.append(
            [m.reply_code, m.reply_text, m.exchange, m.routing_key]
        )
    )
    nomatch = run.name("nomatch")
    ch2.exchange_declare(nomatch, "direct")
    ch2.basic_publish(nomatch, "k", b"x", mandatory=True)
    pump(run.conn, lambda: bool(returns), timeout=2)

    qtop = run.name("q.amqtopic")
    ch.queue_declare(qtop, exclusive=True)
    ch.queue_bind(qtop, "amq.topic", run.name("t.#"))
    publish(ch, "amq.topic", run.name("t.x.y"), "x")
    amq_topic = [qtop] if get_all(ch, qtop) else []
    for x in (src, dst_t, dst_d, alt, main, missing, nomatch):
        ch.exchange_delete(x)
    return {
        "e2e": [e2e_a, e2e_b],
        "alternate": [alt_a, alt_b],
        "alternate_missing": alt_missing,
        "unroutable_return": returns,
        "amq_topic": amq_topic,
    }
