"""The AsyncAPI document made from cassettes: what it says about the traffic (no node
needed here; test_asyncapi_tools.py checks documents with AsyncAPI's own tools)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from amqpmock.cassette import loads
from amqpmock.contracts import build_document, load_traffic

from .cassettes import DIRECT_REPLY_TO
from .conftest import REPO

PROXY = REPO / "cassettes" / "proxy"


def document(*paths: Path) -> dict[str, Any]:
    return build_document(load_traffic(paths))


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def channel_of(doc: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    channel: dict[str, Any] = resolve(doc, operation["channel"]["$ref"])
    return channel


def message_of(doc: dict[str, Any], ref: dict[str, str]) -> dict[str, Any]:
    target = resolve(doc, ref["$ref"])  # the channel's entry, itself a $ref
    message: dict[str, Any] = resolve(doc, target["$ref"])
    return message


@pytest.fixture
def direct_reply_to(tmp_path: Path) -> Path:
    path = tmp_path / "direct_reply_to.yaml"
    path.write_text(DIRECT_REPLY_TO)
    return path


def test_oslo_messaging_calls_casts_and_fanout_casts() -> None:
    doc = document(PROXY / "oslo_messaging_rpc.yaml")
    ops = doc["operations"]
    call = ops["send.neutron.dhcp_agent.node-1"]
    channel = channel_of(doc, call)
    assert channel["address"] == "dhcp_agent.node-1"
    assert channel["bindings"]["amqp"]["is"] == "routingKey"
    assert channel["bindings"]["amqp"]["exchange"] == {
        "name": "neutron",
        "type": "topic",
        "durable": False,
        "autoDelete": False,
        "vhost": "/",
    }
    # the envelope unwrapped: the schema describes the method and its arguments
    request = message_of(doc, call["messages"][0])
    payload = request["payload"]
    assert payload["properties"]["method"] == {"type": "string"}
    assert payload["properties"]["args"]["properties"] == {"host": {"type": "string"}}
    assert {"method", "args", "_msg_id", "_reply_q"} <= set(payload["required"])
    assert request["name"] == "get_active_networks"
    assert request["x-oslo-envelope"] == "2.0"
    assert request["examples"][0]["payload"]["args"] == {"host": "node-1"}
    # its reply: the reply queue (a name made every run), oslo's _msg_id correlates
    reply = call["reply"]
    assert reply["address"]["location"] == "$message.payload#/_reply_q"
    reply_channel = resolve(doc, reply["channel"]["$ref"])
    # known at runtime: AsyncAPI 3.0's null address; its queue keeps the name's pattern
    assert reply_channel["address"] is None
    assert "parameters" not in reply_channel
    assert reply_channel["bindings"]["amqp"]["queue"]["name"] == "reply_{id}"
    assert reply_channel["bindings"]["amqp"]["x-arguments"] == {"x-expires": 1800000}
    answer = message_of(doc, reply["messages"][0])
    assert answer["correlationId"]["location"] == "$message.payload#/_msg_id"
    assert answer["payload"]["properties"]["result"] == {
        "type": "array",
        "items": {"type": "string"},
    }
    # the reply is part of the call, not an operation of its own
    assert not any(channel_of(doc, op) is reply_channel for op in ops.values()), sorted(ops)
    # cast and fanout cast: sends without a reply
    cast = ops["send.neutron.dhcp_agent"]
    assert "reply" not in cast
    assert message_of(doc, cast["messages"][0])["payload"]["properties"]["args"] == {
        "type": "object",
        "properties": {
            "port": {
                "type": "object",
                "properties": {"id": {"type": "string"}},
                "required": ["id"],
            }
        },
        "required": ["port"],
    }
    fanout = channel_of(doc, ops["send.dhcp_agent_fanout"])
    assert fanout["bindings"]["amqp"]["exchange"]["type"] == "fanout"
    assert fanout["bindings"]["amqp"]["exchange"]["autoDelete"] is True
    assert call["bindings"]["amqp"]["deliveryMode"] == 2


def test_aio_pika_rpc_request_and_reply() -> None:
    doc = document(PROXY / "aio_pika_rpc.yaml")
    call = doc["operations"]["send.multiply"]
    channel = channel_of(doc, call)
    assert channel["bindings"]["amqp"]["is"] == "queue"  # the default exchange
    assert channel["address"] == "multiply"
    request = message_of(doc, call["messages"][0])
    assert request["payload"]["properties"] == {"x": {"type": "integer"}, "y": {"type": "integer"}}
    assert request["headers"]["properties"] == {"From": {"type": "string"}}
    assert request["contentType"] == "application/json"
    assert request["bindings"]["amqp"]["messageType"] == "call"
    assert request["correlationId"]["location"] == "$message.header#/correlation_id"
    reply = call["reply"]
    assert reply["address"]["location"] == "$message.header#/reply_to"
    result = message_of(doc, reply["messages"][0])
    assert result["payload"] == {"type": "integer"}
    assert result["x-samples"] == 2
    reply_queue = resolve(doc, reply["channel"]["$ref"])
    assert reply_queue["address"] is None
    assert reply_queue["bindings"]["amqp"]["queue"]["name"] == "amq.gen-{id}"
    assert reply_queue["bindings"]["amqp"]["queue"]["autoDelete"] is True
    assert reply_queue["bindings"]["amqp"]["x-bindings"][0]["exchange"] == "rpc.dlx"
    # a call nobody answered (returned 312): a send, and no reply
    assert "reply" not in doc["operations"]["send.nobody_serves_this"]
    assert call["bindings"]["amqp"] == {
        "deliveryMode": 1,
        "mandatory": True,
        "bindingVersion": "0.3.0",
    }


def test_direct_reply_to_is_one_reply_channel(direct_reply_to: Path) -> None:
    doc = document(direct_reply_to)
    call = doc["operations"]["send.inventory"]
    reply_channel = resolve(doc, call["reply"]["channel"]["$ref"])
    assert reply_channel["address"] is None
    assert reply_channel["bindings"]["amqp"]["queue"]["name"] == "amq.rabbitmq.reply-to"
    assert reply_channel["bindings"]["amqp"]["queue"]["vhost"] == "shop"
    reply = message_of(doc, call["reply"]["messages"][0])
    assert reply["payload"]["properties"]["reserved"] == {"type": "integer"}
    assert reply["x-samples"] == 2  # both replies, from two reply-to names
    # the server as recorded, no credentials; the vhost in the bindings
    assert doc["servers"] == {
        "rabbitmq": {
            "host": "rabbit.internal:5672",
            "protocol": "amqp",
            "protocolVersion": "0.9.1",
            "description": "RabbitMQ 3.10.8, as recorded.",
        }
    }
    # a consumer of a queue bound to a topic exchange: receive on the queue; the
    # message also on the exchange's routing-key channel it came through
    receive = doc["operations"]["receive.order-service.stock"]
    queue = channel_of(doc, receive)["bindings"]["amqp"]
    assert queue["queue"] == {
        "name": "order-service.stock",
        "durable": False,
        "exclusive": False,
        "autoDelete": True,
        "vhost": "shop",
    }
    assert queue["x-arguments"] == {"x-max-length": 100}
    assert queue["x-bindings"] == [{"exchange": "shop.events", "routingKey": "stock.changed"}]
    assert receive["bindings"]["amqp"]["ack"] is True
    event = message_of(doc, receive["messages"][0])
    assert event["headers"]["required"] == ["n", "x-event"]
    assert event["headers"]["properties"]["n"] == {"type": "integer"}
    through = doc["channels"]["shop.events.stock.changed"]
    assert through["bindings"]["amqp"]["exchange"]["durable"] is True
    assert set(through["messages"]) == {"shop.events.stock.changed.message"}


def test_several_cassettes_merge_and_a_repeat_adds_no_channel(direct_reply_to: Path) -> None:
    one = document(PROXY / "aio_pika_rpc.yaml")
    merged = document(
        PROXY / "aio_pika_rpc.yaml", PROXY / "oslo_messaging_rpc.yaml", direct_reply_to
    )
    assert set(one["channels"]) < set(merged["channels"])
    assert {"send.multiply", "send.neutron.dhcp_agent.node-1", "send.inventory"} <= set(
        merged["operations"]
    )
    assert len(merged["servers"]) == 2  # two recorded hosts
    twice = document(PROXY / "aio_pika_rpc.yaml", PROXY / "aio_pika_rpc.yaml")
    assert set(twice["channels"]) == set(one["channels"])
    assert set(twice["components"]["messages"]) == set(one["components"]["messages"])
    assert twice["components"]["messages"]["multiply.call"]["x-samples"] == 4


def test_two_server_named_queues_of_different_kinds_stay_apart() -> None:
    doc = document(PROXY / "aio_pika_rpc.yaml", PROXY / "pika_publish_consume.yaml")
    gen = [
        c
        for c in doc["channels"].values()
        if c["bindings"]["amqp"].get("queue", {}).get("name") == "amq.gen-{id}"
    ]
    flags = sorted(
        (c["bindings"]["amqp"]["queue"]["exclusive"], c["bindings"]["amqp"]["queue"]["autoDelete"])
        for c in gen
    )
    assert flags == [(False, True), (True, False)]


def test_no_credentials_in_the_document() -> None:
    from amqpmock.contracts import document_text

    text = document_text(document(*sorted(PROXY.glob("*.yaml"))))
    data = loads((PROXY / "aio_pika_rpc.yaml").read_text())
    assert "recorder" in data["upstream"]["url"]  # the user the cassette names
    assert "recorder" not in text
    assert "redacted" not in text
    assert "&" not in text.split("\n", 1)[0] and "*id" not in text  # no YAML aliases
