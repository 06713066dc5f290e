"""The replay engine on the core, with hand-written cassettes (no sockets)."""

from __future__ import annotations

import json

import pytest

from amqpmock.cassette import Cassette, loads
from amqpmock.fake import Broker, ChannelClosed, LocalChannel, LocalClient
from amqpmock.replay import ReplayEngine, ReplayError

REC_REPLY_Q = "reply_0123456789abcdef0123456789abcdef"
REC_MSG_ID = "fedcba9876543210fedcba9876543210"


def oslo(inner: dict[str, object]) -> str:
    return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(inner)})


CASSETTE = f"""
version: 1
amqpmock: "0.1.0"
upstream: {{product: RabbitMQ, version: 3.10.8}}
connections:
- id: 1
  interactions:
  - {{dir: c2s, channel: 1, method: Queue.Declare, args: {{queue: {REC_REPLY_Q}}}}}
  - {{dir: s2c, channel: 1, method: Queue.DeclareOk, args: {{queue: {REC_REPLY_Q}, message_count: 0, consumer_count: 0}}}}
  - {{dir: c2s, channel: 1, method: Basic.Consume, args: {{queue: {REC_REPLY_Q}, consumer_tag: c1, no_ack: true}}}}
  - {{dir: s2c, channel: 1, method: Basic.ConsumeOk, args: {{consumer_tag: c1}}}}
  - {{dir: c2s, channel: 1, method: Exchange.Declare, args: {{exchange: neutron, exchange_type: topic}}}}
  - {{dir: s2c, channel: 1, method: Exchange.DeclareOk}}
  - dir: c2s
    channel: 1
    method: Basic.Publish
    args: {{exchange: neutron, routing_key: dhcp_agent.node-1, mandatory: true}}
    properties: {{content_type: application/json}}
    body: {json.dumps(oslo({"method": "get_networks", "args": {"host": "h1"}, "_msg_id": REC_MSG_ID, "_reply_q": REC_REPLY_Q, "_unique_id": "aaaabbbbccccddddaaaabbbbccccdddd"}))}
    outcome: routed
  - dir: s2c
    channel: 1
    method: Basic.Deliver
    args: {{consumer_tag: c1, delivery_tag: 1, redelivered: false, exchange: "", routing_key: {REC_REPLY_Q}}}
    properties: {{content_type: application/json}}
    body: {json.dumps(oslo({"result": ["net-1"], "failure": None, "ending": True, "_msg_id": REC_MSG_ID}))}
    origin: outside
  - {{dir: c2s, channel: 1, method: Queue.Declare, args: {{queue: events}}}}
  - {{dir: s2c, channel: 1, method: Queue.DeclareOk, args: {{queue: events, message_count: 0, consumer_count: 0}}}}
  - {{dir: c2s, channel: 1, method: Basic.Consume, args: {{queue: events, consumer_tag: c2}}}}
  - {{dir: s2c, channel: 1, method: Basic.ConsumeOk, args: {{consumer_tag: c2}}}}
  - dir: s2c
    channel: 1
    method: Basic.Deliver
    args: {{consumer_tag: c2, delivery_tag: 2, redelivered: false, exchange: amq.topic, routing_key: user.created}}
    body: '{{"id": 42}}'
    origin: outside
"""


def CASSETTE_MODEL() -> Cassette:
    return Cassette.from_data(loads(CASSETTE))


def run_client(broker: Broker, body_method: str = "get_networks"):  # type: ignore[no-untyped-def]
    ch = LocalClient(broker).channel()
    live_q = "reply_" + "5" * 32
    ch.queue_declare(live_q)
    ch.consume(live_q, no_ack=True)
    ch.exchange_declare("neutron", "topic")
    ch.publish(
        "neutron",
        "dhcp_agent.node-1",
        oslo(
            {
                "method": body_method,
                "args": {"host": "h1"},
                "_msg_id": "1" * 32,
                "_reply_q": live_q,
                "_unique_id": "2" * 32,
            }
        ),
        mandatory=True,
        content_type="application/json",
    )
    return ch, live_q


def test_reply_is_injected_with_live_ids_and_publish_counts_as_routed() -> None:
    broker = Broker()
    engine = ReplayEngine(broker, CASSETTE_MODEL())
    ch, live_q = run_client(broker)
    assert ch.returns == []
    (reply,) = ch.deliveries
    inner = json.loads(json.loads(reply.body)["oslo.message"])
    assert inner == {"result": ["net-1"], "failure": None, "ending": True, "_msg_id": "1" * 32}
    assert reply.routing_key == live_q
    ch.queue_declare("events")
    ch.consume("events")
    (event,) = ch.deliveries[1:]
    assert (event.exchange, event.routing_key, event.body) == (
        "amq.topic",
        "user.created",
        b'{"id": 42}',
    )
    assert engine.report() is None


def test_unmatched_publish_closes_channel_and_explains() -> None:
    broker = Broker()
    engine = ReplayEngine(broker, CASSETTE_MODEL())
    with pytest.raises(ChannelClosed) as err:
        run_client(broker, body_method="get_ports")
    assert err.value.reply_code == 406
    report = engine.report(allow_unused=True)
    assert report is not None
    assert "no recorded publish matches live publish: exchange='neutron'" in report
    assert "nearest: connection 1 #6" in report
    assert "body: /oslo.message/method: 'get_ports' != 'get_networks'" in report


def test_never_replayed_interactions_are_reported() -> None:
    broker = Broker()
    engine = ReplayEngine(broker, CASSETTE_MODEL())
    report = engine.report()
    assert report is not None and "publish never replayed" in report
    assert "outside delivery never injected: queue='events'" in report
    assert engine.report(allow_unused=True) is None


def test_repeats_follow_recorded_order_unless_allowed() -> None:
    broker = Broker()
    engine = ReplayEngine(broker, CASSETTE_MODEL(), compare=("publish",))
    run_client(broker)
    with pytest.raises(ChannelClosed):
        run_client(broker)
    assert len(engine.mismatches) == 1
    # the report says why (a repeat), not that the cassette had no publishes
    report = engine.report(allow_unused=True)
    assert report is not None
    assert "the cassette has no publishes" not in report
    assert "it matches 1 recorded publish(es) already replayed" in report
    assert "allow_playback_repeats=True" in report
    # every method is compared by default: the second run's declare is a repeat too
    broker = Broker()
    engine = ReplayEngine(broker, CASSETTE_MODEL())
    run_client(broker)
    with pytest.raises(ChannelClosed, match=r"this Queue\.Declare is not in the recording"):
        run_client(broker)
    report = engine.report(allow_unused=True)
    assert report is not None
    assert "it matches 1 recorded Queue.Declare already replayed" in report
    assert "allow_playback_repeats=True" in report
    broker2 = Broker()
    engine2 = ReplayEngine(broker2, CASSETTE_MODEL(), allow_playback_repeats=True)
    ch1, _ = run_client(broker2)
    ch2, _ = run_client(broker2)
    assert len(ch1.deliveries) == 1 and len(ch2.deliveries) == 1
    assert engine2.mismatches == []


def test_unknown_matcher_is_a_clear_error() -> None:
    with pytest.raises(ReplayError, match="unknown matcher"):
        ReplayEngine(Broker(), CASSETTE_MODEL(), match_on=["exchange", "colour"])


def test_json_fields_can_be_ignored() -> None:
    broker = Broker()
    engine = ReplayEngine(
        broker,
        CASSETTE_MODEL(),
        ignore_fields=["host"],
        match_on=("exchange", "routing_key", "body"),
    )
    ch = LocalClient(broker).channel()
    ch.queue_declare("reply_" + "5" * 32)
    ch.exchange_declare("neutron", "topic")
    ch.publish(
        "neutron",
        "dhcp_agent.node-1",
        oslo(
            {
                "method": "get_networks",
                "args": {"host": "other"},
                "_msg_id": "1" * 32,
                "_reply_q": "reply_" + "5" * 32,
            }
        ),
    )
    assert engine.mismatches == []


POLLING = """
version: 1
amqpmock: "0.1.0"
upstream: {product: RabbitMQ, version: 3.10.8}
connections:
- id: 1
  interactions:
  - {dir: c2s, channel: 1, method: Queue.Declare, args: {queue: jobs}}
  - {dir: s2c, channel: 1, method: Queue.DeclareOk, args: {queue: jobs, message_count: 0, consumer_count: 0}}
  - {dir: c2s, channel: 1, method: Basic.Get, args: {queue: jobs, no_ack: true}}
  - {dir: s2c, channel: 1, method: Basic.GetEmpty, args: {}}
  - {dir: c2s, channel: 1, method: Basic.Get, args: {queue: jobs, no_ack: true}}
  - dir: s2c
    channel: 1
    method: Basic.GetOk
    args: {delivery_tag: 1, redelivered: false, exchange: work, routing_key: jobs.resize, message_count: 0}
    body: '{"job": 7}'
    origin: outside
"""


def test_a_polling_client_gets_the_outside_message_on_basic_get() -> None:
    broker = Broker()
    engine = ReplayEngine(broker, Cassette.from_data(loads(POLLING)))
    ch = LocalClient(broker).channel()
    ch.queue_declare("jobs")
    got = ch.get("jobs", no_ack=True)
    assert got is not None
    assert (got.exchange, got.routing_key, got.body) == ("work", "jobs.resize", b'{"job": 7}')
    assert ch.get("jobs", no_ack=True) is None  # played once, as recorded
    assert engine.report() is None


ORDERS = """
version: 1
amqpmock: "0.1.0"
connections:
- id: 1
  interactions:
  - dir: c2s
    channel: 1
    method: Basic.Publish
    args: {exchange: "", routing_key: orders}
    properties: {headers: {Authorization: <redacted>, trace: "amqp://svc:<redacted>@db:5432/x"}}
    body: '{"customer_email": "<redacted>", "order": 1, "meta": {"id": "a1"}, "id": 5}'
    outcome: routed
"""


def publish_order(broker: Broker, body: dict[str, object], trace: str) -> None:
    ch = LocalClient(broker).channel()
    headers = {"Authorization": "Bearer t0ken", "trace": trace}
    ch.publish("", "orders", json.dumps(body), headers=headers)


def test_redacted_values_match_anything() -> None:
    # a field redacted while recording must not fail the replay: one decision
    broker = Broker()
    cassette = Cassette.from_data(loads(ORDERS))
    engine = ReplayEngine(
        broker, cassette, match_on=("exchange", "routing_key", "headers", "body")
    )
    body = {"customer_email": "alice@example.com", "order": 1, "meta": {"id": "a1"}, "id": 5}
    publish_order(broker, body, "amqp://svc:pa55@db:5432/x")
    assert engine.mismatches == []
    assert engine.report() is None


def test_a_redacted_field_does_not_hide_a_real_difference() -> None:
    broker = Broker()
    engine = ReplayEngine(broker, Cassette.from_data(loads(ORDERS)))
    body = {"customer_email": "alice@example.com", "order": 2, "meta": {"id": "a1"}, "id": 5}
    with pytest.raises(ChannelClosed):
        publish_order(broker, body, "amqp://svc:pa55@db:5432/x")
    report = engine.report(allow_unused=True)
    assert report is not None and "body: /order: 2 != 1" in report


def test_ignore_fields_take_dotted_json_paths() -> None:
    changed = {"customer_email": "x", "order": 1, "meta": {"id": "zz"}, "id": 5}
    broker = Broker()
    engine = ReplayEngine(broker, Cassette.from_data(loads(ORDERS)), ignore_fields=["meta.id"])
    publish_order(broker, changed, "amqp://svc:pw@db:5432/x")
    assert engine.mismatches == []
    # the path names meta.id only: the top-level id still counts
    broker = Broker()
    engine = ReplayEngine(broker, Cassette.from_data(loads(ORDERS)), ignore_fields=["meta.id"])
    with pytest.raises(ChannelClosed):
        publish_order(broker, {**changed, "id": 6}, "amqp://svc:pw@db:5432/x")
    report = engine.report(allow_unused=True)
    assert report is not None and "body: /id: 6 != 5" in report


def test_a_repeated_request_is_answered_with_its_own_ids() -> None:
    # issue #12 case 5: with allow_playback_repeats, the second identical call got the
    # first call's _msg_id (the caller dropped the reply and timed out)
    broker = Broker()
    engine = ReplayEngine(broker, CASSETTE_MODEL(), allow_playback_repeats=True)
    ch = LocalClient(broker).channel()
    live_q = "reply_" + "5" * 32
    ch.queue_declare(live_q)
    ch.consume(live_q, no_ack=True)
    ch.exchange_declare("neutron", "topic")
    for msg_id in ("a" * 32, "b" * 32, "c" * 32):
        request = {"method": "get_networks", "args": {"host": "h1"}}
        request |= {"_msg_id": msg_id, "_reply_q": live_q, "_unique_id": msg_id[::-1]}
        ch.publish(
            "neutron",
            "dhcp_agent.node-1",
            oslo(request),
            mandatory=True,
            content_type="application/json",
        )
    replies = [json.loads(json.loads(d.body)["oslo.message"])["_msg_id"] for d in ch.deliveries]
    assert replies == ["a" * 32, "b" * 32, "c" * 32]
    assert engine.mismatches == []


EVENTS = """
version: 1
amqpmock: "0.1.0"
connections:
- id: 1
  interactions:
  - {dir: c2s, channel: 1, method: Exchange.Declare, args: {exchange: events, exchange_type: topic}}
  - {dir: s2c, channel: 1, method: Exchange.DeclareOk}
  - {dir: c2s, channel: 1, method: Queue.Declare, args: {queue: "", exclusive: true}}
  - {dir: s2c, channel: 1, method: Queue.DeclareOk, args: {queue: amq.gen-AAAAAAAAAAAAAAAAAAAAAA, message_count: 0, consumer_count: 0}}
  - {dir: c2s, channel: 1, method: Basic.Consume, args: {queue: amq.gen-AAAAAAAAAAAAAAAAAAAAAA, consumer_tag: c1, no_ack: true}}
  - {dir: s2c, channel: 1, method: Basic.ConsumeOk, args: {consumer_tag: c1}}
  - {dir: c2s, channel: 1, method: Queue.Bind, args: {queue: amq.gen-AAAAAAAAAAAAAAAAAAAAAA, exchange: events, routing_key: order.*}}
  - {dir: s2c, channel: 1, method: Queue.BindOk}
  - {dir: c2s, channel: 1, method: Basic.Publish, args: {exchange: "", routing_key: orders}, body: '{"id": 1}', outcome: routed}
  - dir: s2c
    channel: 1
    method: Basic.Deliver
    args: {consumer_tag: c1, delivery_tag: 1, redelivered: false, exchange: events, routing_key: order.created}
    body: '{"created": 1}'
    origin: outside
- id: 2
  interactions:
  - {dir: c2s, channel: 1, method: Queue.Declare, args: {queue: audit}}
  - {dir: s2c, channel: 1, method: Queue.DeclareOk, args: {queue: audit, message_count: 0, consumer_count: 0}}
  - {dir: c2s, channel: 1, method: Queue.Bind, args: {queue: audit, exchange: events, routing_key: "#"}}
  - {dir: s2c, channel: 1, method: Queue.BindOk}
  - {dir: c2s, channel: 1, method: Basic.Get, args: {queue: audit, no_ack: true}}
  - dir: s2c
    channel: 1
    method: Basic.GetOk
    args: {delivery_tag: 1, redelivered: false, exchange: events, routing_key: order.created, message_count: 0}
    body: '{"created": 1}'
    origin: outside
"""


def events_client(broker: Broker) -> tuple[LocalChannel, str]:
    ch = LocalClient(broker).channel()
    ch.exchange_declare("events", "topic")
    queue = str(ch.queue_declare("", exclusive=True).queue)
    ch.consume(queue, no_ack=True)
    return ch, queue


def test_an_outside_event_arrives_when_its_recorded_causes_have_happened() -> None:
    # issue #12 case 4: injected at its causal point, through its exchange; not when its
    # queue is consumed (that was before the order that caused it was even placed)
    broker = Broker()
    engine = ReplayEngine(broker, Cassette.from_data(loads(EVENTS)))
    ch, queue = events_client(broker)
    assert ch.deliveries == []  # consumed, but nothing has caused the event yet
    ch.queue_bind(queue, "events", "order.*")
    assert ch.deliveries == []
    audit = LocalClient(broker).channel()
    audit.queue_declare("audit")
    audit.queue_bind("audit", "events", "#")
    ch.publish("", "orders", '{"id": 1}')
    assert ch.deliveries == []  # the audit queue was not polled yet: the event waits
    got = audit.get("audit", no_ack=True)
    assert got is not None and got.body == b'{"created": 1}'
    # one outside publish, seen by two recorded queues: injected once, routed to both
    (event,) = ch.deliveries
    assert (event.exchange, event.routing_key, event.body) == (
        "events",
        "order.created",
        b'{"created": 1}',
    )
    assert audit.get("audit", no_ack=True) is None
    assert engine.report() is None


def test_a_listener_bound_late_still_gets_the_event_after_its_bind() -> None:
    cassette = Cassette.from_data(loads(EVENTS))
    cassette.connections = cassette.connections[:1]
    broker = Broker()
    engine = ReplayEngine(broker, cassette)
    ch, queue = events_client(broker)
    ch.publish("", "orders", '{"id": 1}')  # the order first, the listener's bind after
    assert ch.deliveries == []
    ch.queue_bind(queue, "events", "order.*")
    assert [d.body for d in ch.deliveries] == [b'{"created": 1}']
    assert engine.report() is None


REPLY_CANCEL = """
version: 1
amqpmock: "0.1.0"
connections:
- id: 1
  interactions:
  - {dir: c2s, channel: 1, method: Basic.Consume, args: {queue: amq.rabbitmq.reply-to, consumer_tag: r1, no_ack: true}}
  - {dir: s2c, channel: 1, method: Basic.ConsumeOk, args: {consumer_tag: r1}}
  - {dir: c2s, channel: 1, method: Basic.Cancel, args: {consumer_tag: r1}}
  - {dir: s2c, channel: 1, method: Basic.CancelOk, args: {consumer_tag: r1}}
"""


def test_a_direct_reply_to_consumers_cancel_matches_by_its_pseudo_queue() -> None:
    # FastStream's broker.request() cancels a direct reply-to consumer per request:
    # that consumer is the channel's own, not a queue's, and is matched as such
    from pamqp.commands import Basic

    broker = Broker()
    engine = ReplayEngine(broker, Cassette.from_data(loads(REPLY_CANCEL)))
    ch = LocalClient(broker).channel()
    tag = ch.consume("amq.rabbitmq.reply-to", no_ack=True)
    ch.call(Basic.Cancel(consumer_tag=str(tag)))
    assert engine.report() is None


REPLY_CONSUME_THEN_EVENT = """
version: 1
amqpmock: "0.1.0"
connections:
- id: 1
  interactions:
  - {dir: c2s, channel: 1, method: Basic.Consume, args: {queue: amq.rabbitmq.reply-to, consumer_tag: r1, no_ack: true}, at: 0.02}
  - {dir: s2c, channel: 1, method: Basic.ConsumeOk, args: {consumer_tag: r1}, at: 0.02}
  - {dir: c2s, channel: 1, method: Queue.Declare, args: {queue: events}, at: 0.03}
  - {dir: s2c, channel: 1, method: Queue.DeclareOk, args: {queue: events, message_count: 0, consumer_count: 0}, at: 0.03}
  - {dir: c2s, channel: 1, method: Basic.Consume, args: {queue: events, consumer_tag: c2, no_ack: true}, at: 0.04}
  - {dir: s2c, channel: 1, method: Basic.ConsumeOk, args: {consumer_tag: c2}, at: 0.04}
  - dir: s2c
    channel: 1
    method: Basic.Deliver
    args: {consumer_tag: c2, delivery_tag: 1, redelivered: false, exchange: '', routing_key: events}
    body: '{"id": 42}'
    origin: outside
    at: 0.05
"""


def test_an_event_recorded_after_a_direct_reply_to_consume_comes() -> None:
    # the live direct reply-to consume is a cause too (it has no queue, so no
    # consumer_added event): the event used to wait for it forever
    broker = Broker()
    engine = ReplayEngine(broker, Cassette.from_data(loads(REPLY_CONSUME_THEN_EVENT)))
    ch = LocalClient(broker).channel()
    ch.consume("amq.rabbitmq.reply-to", no_ack=True)
    ch.queue_declare("events")
    ch.consume("events", no_ack=True)
    assert [d.body for d in ch.deliveries] == [b'{"id": 42}']
    assert engine.report() is None
