"""RPC stubs and the inspection API on the core (no sockets)."""

from __future__ import annotations

import json

import pytest

from amqpmock.fake import Broker, LocalClient
from amqpmock.hookspecs import get_plugin_manager
from amqpmock.testing.inspection import QueueView, TrafficRecorder, assert_published
from amqpmock.testing.rpc import RPCStub


def oslo_request(
    method: str, args: dict[str, object], msg_id: str | None, reply_q: str | None
) -> bytes:
    inner: dict[str, object] = {"method": method, "args": args, "version": "1.0"}
    if msg_id:
        inner.update(_msg_id=msg_id, _reply_q=reply_q, _unique_id="u1")
    return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(inner)}).encode()


def stub(broker: Broker, exchange: str, key: str) -> RPCStub:
    return RPCStub(broker, exchange, key, get_plugin_manager().rpc_conventions())


@pytest.fixture
def broker() -> Broker:
    return Broker()


def test_oslo_call_gets_result_and_failure(broker: Broker) -> None:
    client = LocalClient(broker).channel()
    client.exchange_declare("openstack", "topic")
    client.queue_declare("reply_abc")
    client.consume("reply_abc", no_ack=True)
    s = stub(broker, "openstack", "compute.*").returns({"ok": 1})
    client.publish(
        "openstack",
        "compute.host1",
        oslo_request("ping", {"x": 1}, "m1", "reply_abc"),
        mandatory=True,
    )
    assert client.returns == []  # the stub counts as a bound consumer
    (reply,) = client.deliveries
    msg = json.loads(json.loads(reply.body)["oslo.message"])
    assert msg["result"] == {"ok": 1} and msg["failure"] is None and msg["_msg_id"] == "m1"
    assert s.call_count == 1 and s.calls.last.method == "ping" and s.calls.last.args == {"x": 1}

    s.raises(ValueError("bad input"))
    client.publish("openstack", "compute.host1", oslo_request("ping", {}, "m2", "reply_abc"))
    failure = json.loads(
        json.loads(json.loads(client.deliveries[-1].body)["oslo.message"])["failure"]
    )
    assert failure["class"] == "ValueError" and failure["message"] == "bad input"


def test_oslo_cast_is_recorded_without_reply(broker: Broker) -> None:
    client = LocalClient(broker).channel()
    client.exchange_declare("openstack", "topic")
    s = stub(broker, "openstack", "compute")
    client.publish("openstack", "compute", oslo_request("update", {}, None, None))
    assert s.called and client.deliveries == []


def test_amqp_native_with_direct_reply_to_sequence_and_side_effect(broker: Broker) -> None:
    client = LocalClient(broker).channel()
    client.consume("amq.rabbitmq.reply-to", no_ack=True)
    s = stub(broker, "", "rpc_queue").sequence(1, 2)
    s.side_effect(lambda payload: {"echo": payload})
    for i in range(3):
        client.publish(
            "",
            "rpc_queue",
            json.dumps({"n": i}),
            content_type="application/json",
            reply_to="amq.rabbitmq.reply-to",
            correlation_id=f"c{i}",
        )
    replies = [(d.properties.correlation_id, json.loads(d.body)) for d in client.deliveries]
    assert replies == [("c0", 1), ("c1", 2), ("c2", {"echo": {"n": 2}})]


def test_delayed_reply_follows_the_virtual_clock(broker: Broker) -> None:
    client = LocalClient(broker).channel()
    client.queue_declare("replies")
    client.consume("replies", no_ack=True)
    stub(broker, "", "svc").returns("later").delay(5)
    client.publish("", "svc", b"x", reply_to="replies")
    assert client.deliveries == []
    broker.advance(4.9)
    assert client.deliveries == []
    broker.advance(0.2)
    assert [d.body for d in client.deliveries] == [b"later"]


def test_stub_stop_makes_publishes_unroutable_again(broker: Broker) -> None:
    s = stub(broker, "amq.direct", "k")
    ch = LocalClient(broker).channel()
    ch.publish("amq.direct", "k", "m", mandatory=True)
    assert ch.returns == []
    s.stop()
    ch.publish("amq.direct", "k", "m", mandatory=True)
    assert len(ch.returns) == 1


def test_recorder_sees_publish_delivery_ack_nack_dead_letter(broker: Broker) -> None:
    rec = TrafficRecorder(broker)
    ch = LocalClient(broker).channel()
    ch.queue_declare("dead")
    ch.queue_declare(
        "q", arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dead"}
    )
    ch.publish("", "q", json.dumps({"id": 1}), headers={"kind": "a"})
    ch.publish("", "q", json.dumps({"id": 2}), headers={"kind": "b"})
    ch.consume("q")
    ch.ack(1)
    ch.nack(2, requeue=False)
    view = QueueView(rec, "q")
    assert view.routed.call_count == 2
    assert view.acked.last.json() == {"id": 1}
    assert view.nacked.last.requeue is False
    assert view.dead_lettered.last.reason == "rejected"
    assert QueueView(rec, "dead").messages[0].body == b'{"id": 2}'
    assert rec.published.filter(headers={"kind": "b"}).last.json() == {"id": 2}
    assert_published(rec, routing_key="q", json={"id": 1}, times=1)
    with pytest.raises(AssertionError) as err:
        assert_published(rec, routing_key="other")
    text = str(err.value)
    assert "found 0" in text and "routing_key='q'" in text and '{"id": 1}' in text
