"""``amqpmock.view.flows`` on hand-built cassettes (the cases the committed recordings do not
hold: direct reply-to, a recorded RPC server, oslo failures, dead letters, multiple
acks, broker errors, long repetitive sessions) and on a fake broker's records."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amqpmock.cassette import Cassette, CassetteConnection, Interaction, load_cassette
from amqpmock.fake import Broker, LocalClient
from amqpmock.testing.inspection import TrafficRecorder
from amqpmock.view.diagram import build_diagram, render_svg
from amqpmock.view.flows import (
    DIRECT_REPLY_TO,
    Closed,
    Connected,
    DeadLettered,
    Delivered,
    Flow,
    Notice,
    Published,
    Repeat,
    Settled,
    Setup,
    TrafficContext,
    collapse_repeats,
    flow_from_cassette,
    flow_from_records,
)
from amqpmock.view.timeline import render_timeline

from .conftest import all_committed


def c2s(channel: int, method: str, **args: Any) -> Interaction:
    return Interaction("c2s", channel, method, args)


def s2c(channel: int, method: str, **args: Any) -> Interaction:
    return Interaction("s2c", channel, method, args)


def publish(
    channel: int,
    exchange: str,
    key: str,
    body: bytes,
    outcome: str = "routed",
    **props: Any,
) -> Interaction:
    return Interaction(
        "c2s",
        channel,
        "Basic.Publish",
        {"exchange": exchange, "routing_key": key, "mandatory": False},
        properties=props,
        body=body,
        outcome=outcome,  # type: ignore[arg-type]
    )


def deliver(
    channel: int,
    tag: int,
    ctag: str,
    exchange: str,
    key: str,
    body: bytes,
    source: tuple[int, int] | None = None,
    redelivered: bool = False,
    **props: Any,
) -> Interaction:
    return Interaction(
        "s2c",
        channel,
        "Basic.Deliver",
        {
            "consumer_tag": ctag,
            "delivery_tag": tag,
            "redelivered": redelivered,
            "exchange": exchange,
            "routing_key": key,
        },
        properties=props,
        body=body,
        origin="recorded" if source else "outside",
        source=source,
    )


def opened(product: str = "pika") -> list[Interaction]:
    return [
        s2c(0, "Connection.Start", server_properties={"product": "RabbitMQ"}),
        c2s(
            0,
            "Connection.StartOk",
            client_properties={"product": product, "version": "1.0"},
            mechanism="PLAIN",
            response="\x00guest\x00<redacted>",
        ),
        s2c(0, "Connection.Tune", heartbeat=60),
        c2s(0, "Connection.TuneOk", heartbeat=60),
        c2s(0, "Connection.Open", virtual_host="/"),
        s2c(0, "Connection.OpenOk"),
        c2s(1, "Channel.Open"),
        s2c(1, "Channel.OpenOk"),
    ]


def closed() -> list[Interaction]:
    return [c2s(0, "Connection.Close", reply_code=200), s2c(0, "Connection.CloseOk")]


def consume(queue: str, ctag: str, no_ack: bool = False) -> list[Interaction]:
    return [
        c2s(1, "Basic.Consume", queue=queue, consumer_tag="", no_ack=no_ack),
        s2c(1, "Basic.ConsumeOk", consumer_tag=ctag),
    ]


def cassette(*connections: list[Interaction]) -> Cassette:
    return Cassette(
        connections=[
            CassetteConnection(id=n + 1, interactions=list(items))
            for n, items in enumerate(connections)
        ]
    )


def oslo(inner: dict[str, Any]) -> bytes:
    return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(inner)}).encode()


def kinds(flow: Flow) -> list[str]:
    return [type(e).__name__ for e in flow.events]


def test_direct_reply_to_is_paired() -> None:
    conn = [
        *opened(),
        *consume(DIRECT_REPLY_TO, "ctag-r", no_ack=True),
        publish(1, "", "rpc_queue", b'{"n": 2}', reply_to=DIRECT_REPLY_TO, correlation_id="c-1"),
        deliver(1, 1, "ctag-r", "", DIRECT_REPLY_TO + ".g1h2AA", b"4", correlation_id="c-1"),
        *closed(),
    ]
    flow = flow_from_cassette(cassette(conn))
    (call,) = flow.rpc_calls
    assert (call.convention, call.method, call.request, call.replies) == (
        "direct-reply-to",
        "rpc_queue",
        1,
        [2],
    )
    assert call.caller == "conn:1" and call.server == "rpc_queue" and call.status == "answered"
    reply = flow.messages[2]
    assert reply.flavor == "reply" and reply.publisher == "outside:rpc_queue"
    delivered = [e for e in flow.events if isinstance(e, Delivered)]
    assert [(d.queue, d.no_ack) for d in delivered] == [(DIRECT_REPLY_TO, True)]
    diagram = build_diagram(flow)
    ids = [p.id for p in diagram.participants]
    assert ids == ["conn:1", "exchange:", f"queue:{DIRECT_REPLY_TO}", "outside:rpc_queue"]
    roles = [(a.kind, a.rpc_role) for a in diagram.arrows() if a.rpc == 1]
    assert roles == [
        ("publish", "request"),
        ("route", "request"),
        ("publish", "reply"),
        ("route", "reply"),
        ("deliver", "reply"),
    ]


def test_recorded_rpc_server_answers_an_outside_caller() -> None:
    conn = [
        *opened(),
        *consume("rpc_queue", "ctag-s"),
        deliver(
            1, 1, "ctag-s", "", "rpc_queue", b"ping", reply_to="amq.gen-X", correlation_id="k"
        ),
        publish(1, "", "amq.gen-X", b"pong", outcome="unknown", correlation_id="k"),
        c2s(1, "Basic.Ack", delivery_tag=1, multiple=False),
        *closed(),
    ]
    flow = flow_from_cassette(cassette(conn))
    (call,) = flow.rpc_calls
    assert call.caller == "outside:outside" and call.replies == [2]
    request, reply = flow.messages[1], flow.messages[2]
    assert (request.flavor, request.outside) == ("call", True)
    assert (reply.flavor, reply.publisher) == ("reply", "conn:1")
    answer = next(e for e in flow.events if isinstance(e, Published) and e.message == 2)
    assert answer.outside == "outside:outside" and answer.queues == []
    text = render_timeline(flow)
    # the unnamed outside party is named once, not "outside outside"
    assert "=> outside (not seen by a recorded client)" in text
    assert "rpc 1   amqp            outside -> outside: #1 rpc_queue ping => answered" in text
    assert "outside outside" not in text


def test_oslo_failure_and_old_style_ending() -> None:
    request = {"method": "boom", "args": {}, "_msg_id": "m1", "_reply_q": "reply_q"}
    failure = json.dumps({"class": "ValueError", "message": "bad input"})
    caller = [
        *opened("py-amqp"),
        c2s(1, "Queue.Declare", queue="reply_q"),
        s2c(1, "Queue.DeclareOk", queue="reply_q"),
        *consume("reply_q", "1"),
        publish(1, "nova", "compute.host1", oslo(request), outcome="unknown"),
        deliver(
            1, 1, "1", "", "reply_q", oslo({"result": None, "failure": failure, "_msg_id": "m1"})
        ),
        deliver(1, 2, "1", "", "reply_q", oslo({"result": None, "ending": True, "_msg_id": "m1"})),
        c2s(1, "Basic.Ack", delivery_tag=2, multiple=True),
        *closed(),
    ]
    flow = flow_from_cassette(cassette(caller))
    (call,) = flow.rpc_calls
    assert (call.convention, call.method, call.server) == ("oslo", "boom", "compute")
    assert call.replies == [2, 3] and call.failed and call.status == "failure"
    assert flow.messages[2].summary == "failure: ValueError: bad input"
    assert flow.messages[3].summary == "result=null (ending)"
    (ack,) = [e for e in flow.events if isinstance(e, Settled)]
    assert (ack.tags, ack.messages, ack.multiple) == ([1, 2], [2, 3], True)
    assert "[FAILED]" in render_timeline(flow)


def test_dead_letter_from_x_death() -> None:
    conn = [
        *opened(),
        c2s(1, "Exchange.Declare", exchange="dlx", exchange_type="fanout"),
        s2c(1, "Exchange.DeclareOk"),
        c2s(1, "Queue.Declare", queue="work", arguments={"x-dead-letter-exchange": "dlx"}),
        s2c(1, "Queue.DeclareOk", queue="work"),
        c2s(1, "Queue.Declare", queue="dead"),
        s2c(1, "Queue.DeclareOk", queue="dead"),
        c2s(1, "Queue.Bind", queue="dead", exchange="dlx", routing_key=""),
        s2c(1, "Queue.BindOk"),
        publish(1, "", "work", b"job"),  # 16
        *consume("work", "ctag-w"),
        deliver(1, 1, "ctag-w", "", "work", b"job", source=(1, 16)),
        c2s(1, "Basic.Reject", delivery_tag=1, requeue=False),
        *consume("dead", "ctag-d"),
        deliver(
            1,
            2,
            "ctag-d",
            "dlx",
            "work",
            b"job",
            source=(1, 16),
            headers={"x-death": [{"queue": "work", "reason": "rejected", "count": 1}]},
        ),
        *closed(),
    ]
    assert conn[16].method == "Basic.Publish"
    flow = flow_from_cassette(cassette(conn))
    (dead,) = [e for e in flow.events if isinstance(e, DeadLettered)]
    assert (dead.message, dead.queue, dead.reason, dead.exchange, dead.queues) == (
        1,
        "work",
        "rejected",
        "dlx",
        ["dead"],
    )
    (published,) = [e for e in flow.events if isinstance(e, Published)]
    assert published.queues == ["work"]  # routed to work; the dead letter went on to dead
    reject = next(e for e in flow.events if isinstance(e, Settled))
    assert (reject.action, reject.requeue) == ("reject", False)
    assert flow.summary.dead_letters == 1 and flow.summary.nacks == 1
    # the dead letter was never acked: closing the connection requeued it
    assert flow.summary.requeues == 1
    assert flow.events[-2] == Settled(
        "nack",
        1,
        1,
        requeue=True,
        tags=[2],
        messages=[1],
        queues=["dead"],
        because="connection closed",
    )
    kinds_in_diagram = [a.kind for a in build_diagram(flow).arrows()]
    assert kinds_in_diagram == [
        "publish",
        "route",
        "deliver",
        "reject",
        "dead-letter",
        "route",
        "deliver",
        "requeue",
    ]
    assert "#1 dead-lettered from work (rejected) -> dlx => dead" in render_timeline(flow)


def test_get_broker_errors_and_unacked_requeued_on_close() -> None:
    conn = [
        *opened(),
        c2s(1, "Basic.Get", queue="jobs", no_ack=False),
        Interaction(
            "s2c",
            1,
            "Basic.GetOk",
            {"delivery_tag": 1, "redelivered": False, "exchange": "", "routing_key": "jobs"},
            properties={},
            body=b"j1",
            origin="outside",
        ),
        c2s(1, "Basic.Get", queue="jobs", no_ack=False),
        s2c(1, "Basic.GetEmpty"),
        c2s(1, "Queue.Declare", queue="nope", passive=True),
        s2c(1, "Channel.Close", reply_code=404, reply_text="NOT_FOUND - no queue 'nope'"),
        c2s(1, "Channel.CloseOk"),
        *closed(),
    ]
    flow = flow_from_cassette(cassette(conn))
    assert kinds(flow) == [
        "Connected",
        "Setup",
        "Published",
        "Delivered",
        "Setup",
        "Notice",
        "Settled",
        "Closed",
    ]
    got = next(e for e in flow.events if isinstance(e, Delivered))
    assert (got.via_get, got.queue, got.delivery_tag) == (True, "jobs", 1)
    empty = [e for e in flow.events if isinstance(e, Setup)][1]
    assert "get jobs: empty" in empty.items
    notice = next(e for e in flow.events if isinstance(e, Notice))
    assert notice.level == "error" and "404 NOT_FOUND - no queue 'nope'" in notice.text
    requeued = next(e for e in flow.events if isinstance(e, Settled))
    assert (requeued.requeue, requeued.messages, requeued.because) == (
        True,
        [1],
        "channel closed",
    )
    assert flow.summary.nacks == 0 and flow.summary.requeues == 1
    assert "c1.1    requeue  tag 1 (#1) unacked, channel closed" in render_timeline(flow)
    assert flow.summary.redactions == 1


def test_reply_from_another_connection_comes_after_its_request() -> None:
    """Connection 1 holds the reply queue; connection 2 sends the call later. The
    reply's delivery is placed after the request, whatever the connection order."""
    request = {"method": "ping", "args": {}, "_msg_id": "m9", "_reply_q": "reply_x"}
    listener = [
        *opened("py-amqp"),
        *consume("reply_x", "1"),
        deliver(
            1, 1, "1", "", "reply_x", oslo({"result": "pong", "ending": True, "_msg_id": "m9"})
        ),
        *closed(),
    ]
    caller = [*opened("py-amqp"), publish(1, "openstack", "svc", oslo(request)), *closed()]
    flow = flow_from_cassette(cassette(listener, caller))
    order = [
        (type(e).__name__, getattr(e, "conn", None))
        for e in flow.events
        if isinstance(e, Published | Delivered | Connected | Closed)
    ]
    assert order == [
        ("Connected", 1),
        ("Connected", 2),
        ("Published", 2),
        ("Published", None),
        ("Delivered", 1),
        ("Closed", 1),
        ("Closed", 2),
    ]


def long_session(rounds: int) -> Cassette:
    conn = [*opened(), c2s(1, "Queue.Declare", queue="q"), s2c(1, "Queue.DeclareOk", queue="q")]
    conn += consume("q", "ctag")
    for n in range(rounds):
        index = len(conn)
        conn.append(publish(1, "", "q", f"m{n}".encode()))
        conn.append(deliver(1, n + 1, "ctag", "", "q", f"m{n}".encode(), source=(1, index)))
        conn.append(c2s(1, "Basic.Ack", delivery_tag=n + 1, multiple=False))
    return cassette(conn + closed())


def test_long_sessions_fold_repeats() -> None:
    flow = flow_from_cassette(long_session(50))
    items = collapse_repeats(flow)
    (repeat,) = [i for i in items if isinstance(i, Repeat)]
    assert repeat.times == 50 and len(repeat.events) == 3
    text = render_timeline(flow)
    # the fold says its 50 messages differ, and shows the first and last bodies
    assert "repeat x50 (messages #1..#50, 50 different bodies) {" in text
    assert text.count("publish  #") == 1
    assert "bodies   #1 message m0" in text and "#50 message m49" in text
    assert len(render_timeline(flow, collapse=False).splitlines()) > 150
    diagram = build_diagram(flow)
    (loop,) = [b for b in diagram.blocks if b.times > 1]
    assert loop.label == "loop x50 #1..#50, 50 different bodies"
    assert [r.kind for r in loop.rows] == ["publish", "route", "deliver", "ack"]  # type: ignore[union-attr]
    svg = render_svg(diagram)
    assert svg.count('data-row-kind="arrow"') == 4 and 'data-times="50"' in svg


def test_select_by_connection_and_queue() -> None:
    a = [*opened(), publish(1, "", "qa", b"to a"), *closed()]
    b = [
        *opened(),
        *consume("qa", "t"),
        deliver(1, 1, "t", "", "qa", b"to a", source=(1, 8)),
        *closed(),
    ]
    c = [*opened(), publish(1, "", "qb", b"to b", outcome="unknown"), *closed()]
    flow = flow_from_cassette(cassette(a, b, c))
    only_b = flow.select(connection=2)
    assert sorted(only_b.messages) == [1]  # the message connection 2 received
    assert {getattr(e, "conn", None) for e in only_b.events} == {1, 2}
    only_qb = flow.select(queue="qb")
    assert [e.message for e in only_qb.events if isinstance(e, Published)] == [2]
    assert only_qb.subtitle.endswith("only queue qb")
    with pytest.raises(KeyError, match=r"no connection 9 \(connections: 1, 2, 3\)"):
        flow.select(connection=9)
    with pytest.raises(KeyError, match="no queue 'zz'"):
        flow.select(queue="zz")


def test_records_of_a_fake_broker() -> None:
    """The failing-test picture: records plus the context that names connections."""
    broker = Broker()
    recorder = TrafficRecorder(broker)
    context = TrafficContext()
    broker.listeners.append(context.listener)
    client = LocalClient(broker)
    ch = client.channel()
    ch.exchange_declare("dlx", "fanout")
    ch.queue_declare("work", arguments={"x-dead-letter-exchange": "dlx"})
    ch.queue_declare("dead")
    ch.queue_bind("dead", "dlx")
    ch.publish("", "work", b"job")
    ch.publish("", "nowhere", b"lost", mandatory=True)
    got = ch.get("work")
    assert got is not None
    ch.reject(got.delivery_tag, requeue=False)
    broker.publish("", "dead", b"from a test")
    flow = flow_from_records(recorder.records, context, title="t")
    assert list(flow.connections) == [client.conn.number]
    assert flow.connections[client.conn.number].client == "amqpmock.LocalClient"
    published = [e for e in flow.events if isinstance(e, Published)]
    assert [(p.publisher, p.routing_key, p.queues, p.outcome) for p in published] == [
        (f"conn:{client.conn.number}", "work", ["work"], "routed"),
        (f"conn:{client.conn.number}", "nowhere", [], "returned"),
        ("outside:injected", "dead", ["dead"], "routed"),
    ]
    (dead,) = [e for e in flow.events if isinstance(e, DeadLettered)]
    assert (dead.message, dead.queue, dead.reason, dead.exchange) == (1, "work", "rejected", "dlx")
    assert sorted(flow.messages) == [1, 2, 3]  # the dead letter is message 1, not a new one
    diagram = build_diagram(flow)
    number = client.conn.number
    assert [p.id for p in diagram.participants] == [
        f"conn:{number}",
        "exchange:",
        "exchange:dlx",
        "queue:work",
        "queue:dead",
        "outside:injected",
    ]
    assert [(a.kind, a.source, a.target) for a in diagram.arrows()] == [
        ("publish", f"conn:{number}", "exchange:"),
        ("route", "exchange:", "queue:work"),
        ("publish", f"conn:{number}", "exchange:"),
        ("return", "exchange:", f"conn:{number}"),
        ("deliver", "queue:work", f"conn:{number}"),
        ("nack", f"conn:{number}", "queue:work"),
        ("dead-letter", "queue:work", "exchange:dlx"),
        ("publish", "outside:injected", "exchange:"),
        ("route", "exchange:", "queue:dead"),
    ]
    text = render_timeline(flow)
    assert f"c{number}      nack     tag 1 (#1) on work -> discarded (or dead-lettered)" in text
    assert "#1 dead-lettered from work (rejected) -> dlx" in text
    assert "out     publish  #3 message from a test (from outside injected)" in text
    # without a context every client is one participant
    anonymous = build_diagram(flow_from_records(recorder.records))
    assert anonymous.participants[0].id == "conn:?"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rnd=st.randoms(use_true_random=False), which=st.sampled_from(all_committed()))
def test_hand_edited_cassettes_never_crash_the_views(rnd: random.Random, which: Path) -> None:
    """Cassettes are YAML people edit: frames dropped, duplicated or moved to another
    channel, arguments of the wrong type, odd bodies. The views still come out."""
    edited = copy.deepcopy(load_cassette(which))
    junk: list[Any] = [None, 0, "", "x", 5, True, {"k": "v"}, [1]]
    bodies = [b"", b"\xff\xfe", b'{"oslo.message": 5}', b'{"oslo.message": "{\\"_msg_id\\": 3}"}']
    for conn in edited.connections:
        items = conn.interactions
        for _ in range(rnd.randint(1, 6)):
            if not items:
                break
            k, op = rnd.randrange(len(items)), rnd.random()
            if op < 0.3:
                del items[k]
            elif op < 0.5:
                items.insert(rnd.randrange(len(items) + 1), copy.deepcopy(rnd.choice(items)))
            elif op < 0.6:
                items[k].channel = rnd.randint(0, 3)
            elif op < 0.7:
                items[k].source = (rnd.randint(0, 3), rnd.randint(0, 50))
            elif op < 0.8:
                items[k].body = rnd.choice(bodies)
            else:
                items[k].args = {key: rnd.choice(junk) for key in items[k].args}
    flow = flow_from_cassette(edited)
    assert render_timeline(flow).rstrip().splitlines()[-1].startswith("summary: ")
    diagram = build_diagram(flow)
    assert render_svg(diagram).startswith("<?xml")
    for number in flow.connections:
        flow.select(connection=number)
