"""Where a recorded publish went, as inspection while recording reads it
(``records_from_cassette``): the recorded connections' confirmed declares and binds,
deliveries to recorded connections, and an outside consumer when RabbitMQ routed or an
outside party answered what no recorded connection received."""

from __future__ import annotations

import json
from typing import Any

from amqpmock.cassette import Cassette, CassetteConnection, Interaction
from amqpmock.cassette._model import Outcome
from amqpmock.testing.inspection import Record
from amqpmock.testing.recorded import records_from_cassette


def c2s(method: str, channel: int = 1, **args: Any) -> Interaction:
    return Interaction("c2s", channel, method, args)


def s2c(method: str, channel: int = 1, **args: Any) -> Interaction:
    return Interaction("s2c", channel, method, args)


def publish(
    exchange: str,
    key: str,
    outcome: Outcome = "unknown",
    body: bytes = b"x",
    channel: int = 1,
    **properties: Any,
) -> Interaction:
    i = Interaction(
        "c2s",
        channel,
        "Basic.Publish",
        {"exchange": exchange, "routing_key": key},
        properties or None,
        body,
    )
    i.outcome = outcome
    return i


def outside_delivery(key: str, body: bytes, channel: int = 1, **properties: Any) -> Interaction:
    i = Interaction(
        "s2c",
        channel,
        "Basic.GetOk",
        {"exchange": "", "routing_key": key, "delivery_tag": 1},
        properties or None,
        body,
    )
    i.origin = "outside"
    return i


def published(*connections: list[Interaction]) -> list[Record]:
    cassette = Cassette(
        connections=[
            CassetteConnection(id=n + 1, interactions=items) for n, items in enumerate(connections)
        ]
    )
    return list(records_from_cassette(cassette).filter(where=lambda r: r.event == "published"))


def test_a_routed_publish_nobody_recorded_received_went_to_an_outside_consumer() -> None:
    (record,) = published([publish("", "inventory.reserve", "routed")])
    assert record.queues == [] and record.outside
    assert record.describe() == (
        "published: exchange='' routing_key='inventory.reserve' -> [outside consumer] body='x'"
    )


def test_returned_nacked_and_unknown_publishes_are_no_outside_consumers() -> None:
    records = published(
        [publish("", "a", "returned"), publish("", "b", "nacked"), publish("", "c")]
    )
    assert [(r.queues, r.outside) for r in records] == [([], False)] * 3
    assert records[0].describe().endswith("-> [] body='x'")


def test_an_outside_reply_shows_a_plain_request_reached_an_outside_consumer() -> None:
    request = publish("", "calc", reply_to="amq.gen-1", correlation_id="7")
    other = publish("", "calc", body=b"y", reply_to="amq.gen-1", correlation_id="8")
    wrong_queue = publish("", "calc", body=b"z", reply_to="amq.gen-2", correlation_id="9")
    records = published(
        [
            request,
            other,
            wrong_queue,
            c2s("Basic.Get", queue="amq.gen-1"),
            outside_delivery("amq.gen-1", b"3", correlation_id="7"),
            c2s("Basic.Get", queue="amq.gen-1"),
            outside_delivery("amq.gen-1", b"4", correlation_id="9"),
        ]
    )
    assert [r.outside for r in records] == [True, False, False]


def test_direct_reply_to_and_oslo_replies_count_as_answers() -> None:
    direct = publish("", "calc", reply_to="amq.rabbitmq.reply-to", correlation_id="1")
    call = json.dumps({"method": "m", "args": {}, "_msg_id": "m-1", "_reply_q": "reply_q"})
    oslo = publish("neutron", "agent", body=json.dumps({"oslo.message": call}).encode())
    reply = json.dumps({"result": 1, "ending": True, "_msg_id": "m-1"})
    records = published(
        [
            direct,
            s2c("Exchange.Declare", exchange="neutron", exchange_type="topic"),
            oslo,
            outside_delivery("amq.rabbitmq.reply-to.g2dk", b"1", correlation_id="1"),
            outside_delivery("reply_q", json.dumps({"oslo.message": reply}).encode()),
        ]
    )
    assert [r.outside for r in records] == [True, True]


def test_confirmed_declares_and_binds_name_the_queues_across_connections() -> None:
    setup = [
        c2s("Exchange.Declare", exchange="orders", exchange_type="topic"),
        s2c("Exchange.DeclareOk"),
        c2s("Exchange.Declare", exchange="fan", exchange_type="fanout"),
        s2c("Exchange.DeclareOk"),
        c2s("Queue.Declare", queue="", exclusive=True),
        s2c("Queue.DeclareOk", queue="amq.gen-A"),
        c2s("Queue.Bind", queue="", exchange="orders", routing_key="order.*"),
        s2c("Queue.BindOk"),
        c2s("Exchange.Bind", destination="fan", source="orders", routing_key="#"),
        s2c("Exchange.BindOk"),
        c2s("Queue.Bind", queue="audit", exchange="fan", routing_key=""),
        s2c("Queue.BindOk"),
        # refused by the broker (the channel closes): never bound
        c2s("Queue.Bind", channel=2, queue="ghost", exchange="orders", routing_key="#"),
        s2c("Channel.Close", channel=2, reply_code=404),
    ]
    for n, i in enumerate(setup):
        i.at = n / 100
    later = publish("orders", "order.placed", "routed")
    later.at = 1.0
    default = publish("", "audit")
    default.at = 1.1
    records = published(setup, [later, default])
    assert [(r.queues, r.outside) for r in records] == [
        (["amq.gen-A", "audit"], False),
        (["audit"], False),
    ]


def test_deleted_unbound_and_closed_queues_route_no_longer() -> None:
    records = published(
        [
            c2s("Queue.Declare", queue="q", exclusive=True),
            s2c("Queue.DeclareOk", queue="q"),
            c2s("Queue.Bind", queue="q", exchange="amq.direct", routing_key="k"),
            s2c("Queue.BindOk"),
            c2s("Queue.Declare", queue="r"),
            s2c("Queue.DeclareOk", queue="r"),
            c2s("Queue.Bind", queue="r", exchange="amq.direct", routing_key="k"),
            s2c("Queue.BindOk"),
            publish("amq.direct", "k", "routed"),
            c2s("Queue.Unbind", queue="r", exchange="amq.direct", routing_key="k"),
            s2c("Queue.UnbindOk"),
            publish("amq.direct", "k", "routed"),
            c2s("Queue.Delete", queue="q"),
            s2c("Queue.DeleteOk"),
            publish("amq.direct", "k", "routed"),
            publish("", "r"),
            c2s("Connection.Close", channel=0),
            s2c("Connection.CloseOk", channel=0),
        ],
        [
            c2s("Queue.Declare", queue="x", exclusive=True),
            s2c("Queue.DeclareOk", queue="x"),
            c2s("Connection.Close", channel=0),
            s2c("Connection.CloseOk", channel=0),
            publish("", "x", "routed"),  # an exclusive queue goes with its connection
        ],
    )
    assert [(r.queues, r.outside) for r in records] == [
        (["q", "r"], False),
        (["q"], False),
        ([], True),
        (["r"], False),
        ([], True),
    ]


def test_an_exchange_the_recording_cannot_route_tells_nothing() -> None:
    records = published(
        [
            # declared elsewhere (type unknown), or of a type this broker has no router for
            c2s("Queue.Bind", queue="q", exchange="theirs", routing_key="k", nowait=True),
            c2s("Exchange.Declare", exchange="hash", exchange_type="x-unknown", nowait=True),
            c2s("Queue.Bind", queue="q", exchange="hash", routing_key="1", nowait=True),
            publish("theirs", "k", "routed"),
            publish("hash", "k", "routed"),
            publish("unbound", "k", "routed"),
        ]
    )
    assert [(r.queues, r.outside) for r in records] == [([], False), ([], False), ([], True)]


def test_an_alternate_exchange_takes_what_its_exchange_does_not_route() -> None:
    records = published(
        [
            c2s(
                "Exchange.Declare",
                exchange="main",
                exchange_type="direct",
                arguments={"alternate-exchange": "ae"},
                nowait=True,
            ),
            c2s("Exchange.Declare", exchange="ae", exchange_type="fanout", nowait=True),
            c2s("Queue.Bind", queue="leftovers", exchange="ae", nowait=True),
            c2s("Queue.Bind", queue="main-q", exchange="main", routing_key="a", nowait=True),
            publish("main", "a"),
            publish("main", "b"),
        ]
    )
    assert [r.queues for r in records] == [["main-q"], ["leftovers"]]


def test_a_delivery_to_a_recorded_connection_is_no_outside_consumer() -> None:
    sent = publish("", "q", "routed")
    got = Interaction(
        "s2c",
        1,
        "Basic.Deliver",
        {"consumer_tag": "unknown-tag", "delivery_tag": 1, "routing_key": "q"},
        None,
        b"x",
    )
    got.origin, got.source = "recorded", (1, 0)
    (record,) = published([sent, got])
    assert record.queues == [] and not record.outside
