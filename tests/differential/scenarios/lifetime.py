"""How messages leave a queue other than by delivery: TTL and per-message expiry,
dead-lettering (x-death headers, reasons, cycles), overflow and length limits; and
message priorities.
"""

from __future__ import annotations

import time
from typing import Any

import pika.exceptions as pe

from ._base import (
    Observation,
    Run,
    get_all,
    publish,
    pump,
    scenario,
    settle,
    sync,
    table_types,
    wait_ready,
)


def _dead(ch: Any, queue: str, count: int) -> list[Any]:
    """Wait for ``count`` messages in ``queue``; return them with x-death details."""
    wait_ready(ch, queue, count)
    out = []
    for m in get_all(ch, queue, props=True):
        headers = m["properties"].get("headers") or {}
        m["header_types"] = table_types({k: v for k, v in headers.items() if k == "x-death"})
        m["x_death_key_order"] = [list(d) for d in headers.get("x-death", [])]
        out.append(m)
    return out


_XD = {
    "count": "long",
    "reason": "str",
    "queue": "str",
    "time": "timestamp",
    "exchange": "str",
    "routing-keys": ["str"],
}
_XD_ORDER = ["count", "reason", "queue", "time", "exchange", "routing-keys"]
_XD_SORTED = ["count", "exchange", "queue", "reason", "routing-keys", "time"]


def _death(
    reason: str, queue: str, *, count: int = 1, exchange: str = "", keys: Any = None
) -> Any:
    return {
        "count": count,
        "reason": reason,
        "queue": queue,
        "time": "<timestamp>",
        "exchange": exchange,
        "routing-keys": keys if keys is not None else [queue],
    }


def _first(queue: str, reason: str) -> dict[str, str]:
    return {
        "x-first-death-exchange": "",
        "x-first-death-queue": queue,
        "x-first-death-reason": reason,
    }


@scenario(
    expected={
        "ttl": [
            {
                "body": "hello",
                "redelivered": False,
                "exchange": "~dlx",
                "routing_key": "~src",
                "properties": {
                    "content_type": "text/plain",
                    "headers": {
                        "h": "v",
                        "x-death": [_death("expired", "~src")],
                        **_first("~src", "expired"),
                    },
                    "delivery_mode": 2,
                    "priority": 3,
                    "correlation_id": "cid",
                    "reply_to": "rt",
                    "message_id": "mid",
                    "timestamp": 123,
                },
                "header_types": {"x-death": [_XD]},
                "x_death_key_order": [_XD_ORDER],
            }
        ],
        "per_message_expiration": [
            {
                "body": "exp",
                "redelivered": False,
                "exchange": "~dlx2",
                "routing_key": "newkey",
                "properties": {
                    "headers": {
                        "x-death": [{**_death("expired", "~src2"), "original-expiration": "40"}],
                        **_first("~src2", "expired"),
                    }
                },
                "header_types": {"x-death": [{**_XD, "original-expiration": "str"}]},
                "x_death_key_order": [[*_XD_ORDER, "original-expiration"]],
            }
        ],
    }
)
def ttl_dead_letter(run: Run) -> Observation:
    ch = run.channel()
    ch.confirm_delivery()
    src, dq, dlx = run.name("src"), run.name("dq"), run.name("dlx")
    ch.exchange_declare(dlx, "fanout")
    ch.queue_declare(dq, exclusive=True)
    ch.queue_bind(dq, dlx)
    ch.queue_declare(
        src, exclusive=True, arguments={"x-message-ttl": 40, "x-dead-letter-exchange": dlx}
    )
    publish(
        ch,
        "",
        src,
        "hello",
        content_type="text/plain",
        headers={"h": "v"},
        message_id="mid",
        delivery_mode=2,
        priority=3,
        correlation_id="cid",
        reply_to="rt",
        timestamp=123,
    )
    ttl = _dead(ch, dq, 1)

    src2, dq2, dlx2 = run.name("src2"), run.name("dq2"), run.name("dlx2")
    ch.exchange_declare(dlx2, "fanout")
    ch.queue_declare(dq2, exclusive=True)
    ch.queue_bind(dq2, dlx2)
    ch.queue_declare(
        src2,
        exclusive=True,
        arguments={"x-dead-letter-exchange": dlx2, "x-dead-letter-routing-key": "newkey"},
    )
    publish(ch, "", src2, "exp", expiration="40")
    time.sleep(0.1)
    ch.basic_get(src2, auto_ack=True)  # expiry of a head message is seen by a get at the latest
    expired = _dead(ch, dq2, 1)
    ch.exchange_delete(dlx)
    ch.exchange_delete(dlx2)
    return {"ttl": ttl, "per_message_expiration": expired}


def _dl_msg(body: str, dq: str, deaths: list[Any], first: dict[str, str], order: list[Any]) -> Any:
    return {
        "body": body,
        "redelivered": False,
        "exchange": "",
        "routing_key": dq,
        "properties": {"headers": {"x-death": deaths, **first}},
        "header_types": {"x-death": [_XD for _ in deaths]},
        "x_death_key_order": order,
    }


@scenario(
    expected={
        "rejected": [
            _dl_msg(
                "r1", "~dq", [_death("rejected", "~q")], _first("~q", "rejected"), [_XD_ORDER]
            ),
            _dl_msg(
                "r2", "~dq", [_death("rejected", "~q")], _first("~q", "rejected"), [_XD_ORDER]
            ),
        ],
        "maxlen_kept": ["m3", "m4"],
        "maxlen_dead": [
            _dl_msg("m1", "~mdq", [_death("maxlen", "~mq")], _first("~mq", "maxlen"), [_XD_ORDER]),
            _dl_msg("m2", "~mdq", [_death("maxlen", "~mq")], _first("~mq", "maxlen"), [_XD_ORDER]),
        ],
        "double": [
            _dl_msg(
                "dd",
                "~ddq",
                [_death("expired", "~q2"), _death("expired", "~q1")],
                _first("~q1", "expired"),
                [_XD_SORTED, _XD_ORDER],
            )
        ],
        "cycle": [
            _dl_msg(
                "cyc",
                "~cdq",
                [_death("rejected", "~cq", count=2), _death("rejected", "~cdq")],
                _first("~cq", "rejected"),
                [_XD_SORTED, _XD_SORTED],
            )
        ],
        "ttl_self_cycle_dropped": 0,
        "missing_dlx_dropped": 0,
    }
)
def dead_letter_reasons(run: Run) -> Observation:
    ch = run.channel()
    ch.confirm_delivery()
    obs: Observation = {}

    q, dq = run.name("q"), run.name("dq")
    ch.queue_declare(dq, exclusive=True)
    dl_args = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dq}
    ch.queue_declare(q, exclusive=True, arguments=dl_args)
    publish(ch, "", q, "r1")
    publish(ch, "", q, "r2")
    ch.basic_nack(ch.basic_get(q)[0].delivery_tag, requeue=False)
    ch.basic_reject(ch.basic_get(q)[0].delivery_tag, requeue=False)
    obs["rejected"] = _dead(ch, dq, 2)

    mq, mdq = run.name("mq"), run.name("mdq")
    ch.queue_declare(mdq, exclusive=True)
    ch.queue_declare(
        mq,
        exclusive=True,
        arguments={
            "x-max-length": 2,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": mdq,
        },
    )
    for i in range(1, 5):
        publish(ch, "", mq, f"m{i}")
    obs["maxlen_kept"] = [m["body"] for m in get_all(ch, mq)]
    obs["maxlen_dead"] = _dead(ch, mdq, 2)

    q1, q2, ddq = run.name("q1"), run.name("q2"), run.name("ddq")
    ch.queue_declare(ddq, exclusive=True)
    ch.queue_declare(
        q2,
        exclusive=True,
        arguments={
            "x-message-ttl": 20,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": ddq,
        },
    )
    ch.queue_declare(
        q1,
        exclusive=True,
        arguments={
            "x-message-ttl": 20,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": q2,
        },
    )
    publish(ch, "", q1, "dd")
    obs["double"] = _dead(ch, ddq, 1)

    cq, cdq = run.name("cq"), run.name("cdq")
    ch.queue_declare(
        cdq,
        exclusive=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": cq},
    )
    ch.queue_declare(
        cq,
        exclusive=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": cdq},
    )
    publish(ch, "", cq, "cyc")
    for target in (cq, cdq, cq):
        wait_ready(ch, target, 1)
        ch.basic_reject(ch.basic_get(target)[0].delivery_tag, requeue=False)
    obs["cycle"] = _dead(ch, cdq, 1)

    sq = run.name("self")
    ch.queue_declare(
        sq,
        exclusive=True,
        arguments={
            "x-message-ttl": 20,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": sq,
        },
    )
    publish(ch, "", sq, "loop")
    time.sleep(0.2)
    obs["ttl_self_cycle_dropped"] = wait_ready(ch, sq, 0)

    mdl = run.name("mdl")
    ch.queue_declare(
        mdl,
        exclusive=True,
        arguments={"x-message-ttl": 20, "x-dead-letter-exchange": run.name("nope")},
    )
    publish(ch, "", mdl, "z")
    obs["missing_dlx_dropped"] = wait_ready(ch, mdl, 0)
    return obs


@scenario(
    expected={
        "reject_publish": {
            "confirms": ["ack", "ack", "nack", "nack"],
            "kept": ["m1", "m2"],
            "dead": [],
        },
        "reject_publish_dlx": {
            "confirms": ["ack", "ack", "nack", "nack"],
            "kept": ["m1", "m2"],
            "dead": [["m3", "maxlen"], ["m4", "maxlen"]],
        },
        "fanout_one_full": ["nack", 1],
        "max_length_bytes": ["12345", "123"],
        "max_length_zero": 0,
        "reject_publish_without_confirms": 1,
    }
)
def overflow(run: Run) -> Observation:
    obs: Observation = {}
    for mode in ("reject-publish", "reject-publish-dlx"):
        ch = run.channel()
        ch.confirm_delivery()
        q, dq = run.name(f"ov.{mode}"), run.name(f"ovd.{mode}")
        ch.queue_declare(dq, exclusive=True)
        ch.queue_declare(
            q,
            exclusive=True,
            arguments={
                "x-max-length": 2,
                "x-overflow": mode,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": dq,
            },
        )
        confirms = []
        for i in range(1, 5):
            try:
                publish(ch, "", q, f"m{i}")
                confirms.append("ack")
            except pe.NackError:
                confirms.append("nack")
        kept = [m["body"] for m in get_all(ch, q)]
        expect_dead = 2 if mode.endswith("dlx") else 0
        wait_ready(ch, dq, expect_dead, timeout=1.0)
        dead = [
            [m["body"], m["properties"]["headers"]["x-death"][0]["reason"]]
            for m in get_all(ch, dq, props=True)
        ]
        obs[mode.replace("-", "_")] = {"confirms": confirms, "kept": kept, "dead": dead}

    ch = run.channel()
    ch.confirm_delivery()
    x, full, normal = run.name("fx"), run.name("full"), run.name("normal")
    ch.exchange_declare(x, "fanout")
    ch.queue_declare(
        full, exclusive=True, arguments={"x-max-length": 0, "x-overflow": "reject-publish"}
    )
    ch.queue_declare(normal, exclusive=True)
    ch.queue_bind(full, x)
    ch.queue_bind(normal, x)
    try:
        publish(ch, x, "", "x")
        result = "ack"
    except pe.NackError:
        result = "nack"
    obs["fanout_one_full"] = [result, ch.queue_declare(normal, passive=True).method.message_count]
    ch.exchange_delete(x)

    def reject_publish_without_confirms(c: Any) -> int:
        # the excess is dropped without a word; the channel stays open
        rp = run.name("rp")
        c.queue_declare(
            rp, exclusive=True, arguments={"x-max-length": 1, "x-overflow": "reject-publish"}
        )
        for body in ("a", "b", "c"):
            publish(c, "", rp, body)
        sync(c)
        return len(get_all(c, rp))

    obs["reject_publish_without_confirms"] = run.attempt(reject_publish_without_confirms)

    mb = run.name("mb")
    ch.queue_declare(mb, exclusive=True, arguments={"x-max-length-bytes": 10})
    for body in ("12345", "12345", "123"):
        publish(ch, "", mb, body)
    obs["max_length_bytes"] = [m["body"] for m in get_all(ch, mb)]
    m0 = run.name("m0")
    ch.queue_declare(m0, exclusive=True, arguments={"x-max-length": 0})
    publish(ch, "", m0, "a")
    obs["max_length_zero"] = ch.queue_declare(m0, passive=True).method.message_count
    return obs


@scenario(
    expected={
        "max_priority_5": [
            "m2-p5",
            "m3-p9",
            "m6-p5",
            "m4-p3",
            "m1-p1",
            "m7-p1",
            "m0-pNone",
            "m5-p0",
        ],
        "no_max_priority": ["m0-p1", "m1-p5", "m2-p9"],
    }
)
def priorities(run: Run) -> Observation:
    ch = run.channel()
    ch.confirm_delivery()
    q = run.name("prio")
    ch.queue_declare(q, exclusive=True, arguments={"x-max-priority": 5})
    for i, p in enumerate([None, 1, 5, 9, 3, 0, 5, 1]):
        publish(ch, "", q, f"m{i}-p{p}", priority=p)
    q2 = run.name("noprio")
    ch.queue_declare(q2, exclusive=True)
    for i, p in enumerate([1, 5, 9]):
        publish(ch, "", q2, f"m{i}-p{p}", priority=p)
    return {
        "max_priority_5": [m["body"] for m in get_all(ch, q)],
        "no_max_priority": [m["body"] for m in get_all(ch, q2)],
    }


@scenario(expected={"order": ["src:m1", "src:m2", "dst:m1"]})
def dead_letter_order_with_prefetch(run: Run) -> Observation:
    """One channel consumes a queue (prefetch 1) and its dead-letter queue; m1 is nacked
    without requeue. Dead-lettering is a publish after the settle, so the freed prefetch
    slot takes m2 before the dead-lettered m1 arrives (20 of 20 runs on RabbitMQ)."""
    conn = run.connect()
    ch = conn.channel()
    dlx, src, dst = run.name("dlo.dlx"), run.name("dlo.src"), run.name("dlo.dst")
    ch.exchange_declare(dlx, "fanout", auto_delete=True)
    ch.queue_declare(dst, exclusive=True)
    ch.queue_bind(dst, dlx)
    ch.queue_declare(src, exclusive=True, arguments={"x-dead-letter-exchange": dlx})
    ch.confirm_delivery()
    publish(ch, "", src, "m1")
    publish(ch, "", src, "m2")
    ch.basic_qos(prefetch_count=1)
    order: list[str] = []

    def on_src(c: Any, m: Any, _p: Any, body: bytes) -> None:
        order.append(f"src:{body.decode()}")
        if body == b"m1":
            c.basic_nack(m.delivery_tag, requeue=False)
        else:
            c.basic_ack(m.delivery_tag)

    def on_dst(c: Any, m: Any, _p: Any, body: bytes) -> None:
        order.append(f"dst:{body.decode()}")
        c.basic_ack(m.delivery_tag)

    ch.basic_consume(dst, on_dst)
    ch.basic_consume(src, on_src)
    pump(conn, lambda: len(order) >= 3)
    settle(conn, lambda: len(order))
    return {"order": order}
