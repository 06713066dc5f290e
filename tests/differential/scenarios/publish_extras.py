"""Publishing with more than basic.publish: transactions, publisher confirms and direct
reply-to.
"""

from __future__ import annotations

from typing import Any

import pika.exceptions as pe
import pika.spec as spec

from ._base import (
    CTAG_RE,
    REPLY_RE,
    Observation,
    Run,
    effects,
    publish,
    pump,
    scenario,
    sync,
    wait_ready,
)


@scenario(
    expected={
        "commit_without_select": {
            "channel_close": [406, "PRECONDITION_FAILED - channel is not transactional"]
        },
        "rollback_without_select": {
            "channel_close": [406, "PRECONDITION_FAILED - channel is not transactional"]
        },
        "confirm_after_tx": {
            "channel_close": [406, "PRECONDITION_FAILED - cannot switch from tx to confirm mode"]
        },
        "tx_after_confirm": {
            "channel_close": [406, "PRECONDITION_FAILED - cannot switch from confirm to tx mode"]
        },
        "publish_rollback_commit": [0, 1],
        "ack_rollback_reack": "ok",
        "select_twice": "ok",
        "confirm_select_twice": 2,
        "return_at_commit": [[], [[312, "NO_ROUTE"]]],
        "confirm_tags": {"highest": 3, "all_in_1_to_3": True},
    }
)
def tx_and_confirms(run: Run) -> Observation:
    obs: Observation = {
        "commit_without_select": run.attempt(lambda ch: ch.tx_commit()),
        "rollback_without_select": run.attempt(lambda ch: ch.tx_rollback()),
        "confirm_after_tx": run.attempt(lambda ch: effects(ch.tx_select(), ch.confirm_delivery())),
        "tx_after_confirm": run.attempt(lambda ch: effects(ch.confirm_delivery(), ch.tx_select())),
    }
    ch = run.channel()
    q = run.name("tx")
    ch.queue_declare(q, exclusive=True)
    ch.tx_select()
    publish(ch, "", q, "a")
    ch.tx_rollback()
    n1 = ch.queue_declare(q, passive=True).method.message_count
    publish(ch, "", q, "b")
    ch.tx_commit()
    n2 = ch.queue_declare(q, passive=True).method.message_count
    obs["publish_rollback_commit"] = [n1, n2]

    def ack_rollback(c: Any) -> None:
        c.tx_select()
        tag = c.basic_get(q)[0].delivery_tag
        c.basic_ack(tag)
        c.tx_rollback()
        c.basic_ack(tag)
        c.tx_commit()

    obs["ack_rollback_reack"] = run.attempt(ack_rollback)
    obs["select_twice"] = run.attempt(lambda c: effects(c.tx_select(), c.tx_select()))

    def confirm_select_twice(c: Any) -> int:
        oks: list[Any] = []
        c._impl.add_callback(lambda frame: oks.append(1), [spec.Confirm.SelectOk], one_shot=False)
        c._impl._send_method(spec.Confirm.Select(nowait=False))
        c._impl._send_method(spec.Confirm.Select(nowait=False))
        sync(c)
        pump(run.conn, lambda: len(oks) >= 2, timeout=1)
        return len(oks)

    obs["confirm_select_twice"] = run.attempt(confirm_select_twice)

    ch = run.channel()
    returns: list[Any] = []
    ch.add_on_return_callback(lambda _c, m, _p, _b: returns.append([m.reply_code, m.reply_text]))
    ch.tx_select()
    ch.basic_publish("amq.direct", run.name("nowhere"), b"x", mandatory=True)
    ch.queue_declare(q, passive=True)
    before = list(returns)
    ch.tx_commit()
    pump(run.conn, lambda: bool(returns))
    obs["return_at_commit"] = [before, returns]

    ch = run.channel()
    acked: list[int] = []
    ch._impl.add_callback(
        lambda frame: acked.append(frame.method.delivery_tag), [spec.Basic.Ack], one_shot=False
    )
    ch._impl._send_method(spec.Confirm.Select(nowait=False))
    ch.queue_declare(q, passive=True)
    for _ in range(3):
        ch._impl._send_method(
            spec.Basic.Publish(exchange="", routing_key=q), (spec.BasicProperties(), b"c")
        )
    ch.queue_declare(q, passive=True)
    pump(run.conn, lambda: bool(acked) and max(acked) >= 3)
    # acks may be coalesced with multiple=True: observe the highest tag and the tag range
    obs["confirm_tags"] = {"highest": max(acked), "all_in_1_to_3": all(1 <= t <= 3 for t in acked)}
    return obs


@scenario(
    expected={
        "consume_with_ack": {
            "channel_close": [406, "PRECONDITION_FAILED - reply consumer cannot acknowledge"]
        },
        "consume_twice": {
            "channel_close": [406, "PRECONDITION_FAILED - reply consumer already set"]
        },
        "publish_without_consumer": {
            "channel_close": [406, "PRECONDITION_FAILED - fast reply consumer does not exist"]
        },
        "consumer_on_other_channel": {
            "channel_close": [406, "PRECONDITION_FAILED - fast reply consumer does not exist"]
        },
        "request_reply_to": "amq.rabbitmq.reply-to.<id>",
        "reply": {
            "body": "resp",
            "exchange": "",
            "routing_key": "amq.rabbitmq.reply-to.<id>",
            "redelivered": False,
            "delivery_tag": 1,
            "correlation_id": "c1",
        },
        "passive_declare_reply_name": [0, 1],
        "publish_bogus_reply_name": "acked",
        "passive_declare_base_name": ["amq.rabbitmq.reply-to", 0, 1],
        "publish_bogus_reply_name_mandatory": ["UnroutableError", [[312, "NO_ROUTE"]]],
        "publish_to_base_name": "acked",
        "server_tag": "amq.ctag-<id>",
    }
)
def direct_reply_to(run: Run) -> Observation:
    drt = "amq.rabbitmq.reply-to"

    def consume_twice(ch: Any) -> None:
        ch.basic_consume(drt, lambda *a: None, auto_ack=True)
        ch.basic_consume(drt, lambda *a: None, auto_ack=True)

    def publish_no_consumer(ch: Any) -> None:
        publish(ch, "", run.name("rpc"), "x", reply_to=drt)
        sync(ch)

    def other_channel(ch: Any) -> None:
        run.channel().basic_consume(drt, lambda *a: None, auto_ack=True)
        publish(ch, "", run.name("rpc"), "x", reply_to=drt)
        sync(ch)

    def server_tag(ch: Any) -> Any:
        tags: list[str] = []
        ch._impl.add_callback(
            lambda frame: tags.append(frame.method.consumer_tag),
            [spec.Basic.ConsumeOk],
            one_shot=True,
        )
        ch._impl._send_method(spec.Basic.Consume(queue=drt, consumer_tag="", no_ack=True))
        pump(run.conn, lambda: bool(tags))
        assert tags and CTAG_RE.fullmatch(tags[0]), tags
        return tags[0]

    obs: Observation = {
        "consume_with_ack": run.attempt(lambda ch: ch.basic_consume(drt, lambda *a: None)),
        "consume_twice": run.attempt(consume_twice),
        "publish_without_consumer": run.attempt(publish_no_consumer),
        "consumer_on_other_channel": run.attempt(other_channel),
        "server_tag": run.attempt(server_tag),
    }
    conn = run.connect()
    client, server = conn.channel(), conn.channel()
    rpcq = run.name("rpcq")
    server.queue_declare(rpcq, exclusive=True)
    replies: list[Any] = []
    client.basic_consume(
        drt,
        lambda _c, m, p, b: replies.append(
            {
                "body": b,
                "exchange": m.exchange,
                "routing_key": m.routing_key,
                "redelivered": m.redelivered,
                "delivery_tag": m.delivery_tag,
                "correlation_id": p.correlation_id,
            }
        ),
        auto_ack=True,
    )
    publish(client, "", rpcq, "req", reply_to=drt, correlation_id="c1")
    server.confirm_delivery()
    wait_ready(server, rpcq, 1)
    _m, props, _b = server.basic_get(rpcq, auto_ack=True)
    reply_to = props.reply_to
    assert REPLY_RE.fullmatch(reply_to), reply_to
    obs["request_reply_to"] = reply_to
    publish(server, "", reply_to, "resp", correlation_id=props.correlation_id)
    pump(conn, lambda: bool(replies))
    obs["reply"] = replies[0] if replies else None
    ok = server.queue_declare(reply_to, passive=True).method
    obs["passive_declare_reply_name"] = [ok.message_count, ok.consumer_count]
    ok = server.queue_declare(drt, passive=True).method
    obs["passive_declare_base_name"] = [ok.queue, ok.message_count, ok.consumer_count]
    returned: list[Any] = []
    server.add_on_return_callback(
        lambda _c, m, _p, _b: returned.append([m.reply_code, m.reply_text, m.routing_key])
    )
    try:
        server.basic_publish("", f"{drt}.bogus", b"x", mandatory=True)
        obs["publish_bogus_reply_name_mandatory"] = ["acked", returned]
    except pe.UnroutableError as exc:
        codes = [[m.method.reply_code, m.method.reply_text] for m in exc.messages]
        obs["publish_bogus_reply_name_mandatory"] = ["UnroutableError", codes]
    try:
        publish(server, "", drt, "x")
        obs["publish_to_base_name"] = "acked"
    except pe.NackError:
        obs["publish_to_base_name"] = "nacked"
    try:
        publish(server, "", f"{drt}.bogus", "x")
        obs["publish_bogus_reply_name"] = "acked"
    except pe.NackError:
        obs["publish_bogus_reply_name"] = "nacked"
    return obs
