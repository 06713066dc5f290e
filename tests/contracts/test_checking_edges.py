"""What a new user's trial found in checking publishes against a document: header
names starting with ``x-``, reply channels with a null address, the pointer of each
missing required field, and schemas jsonschema cannot use."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from pamqp.commands import Basic

from amqpmock.contracts import ContractError
from amqpmock.contracts._check import Contract
from amqpmock.contracts._conform import violation_lines

ORDER = {
    "type": "object",
    "required": ["order_id", "customer", "items", "total"],
    "properties": {
        "order_id": {"type": "integer"},
        "customer": {"type": "string"},
        "items": {"type": "array"},
        "total": {"type": "number"},
        "x-trace": {"type": "string"},
    },
}


def document(payload: Any = ORDER, **extra: Any) -> dict[str, Any]:
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "shop", "version": "1"},
        "channels": {
            "created": {
                "address": "order.created",
                "bindings": {"amqp": {"is": "routingKey", "exchange": {"name": "shop"}}},
                "messages": {
                    "created": {
                        "payload": payload,
                        "headers": {
                            "type": "object",
                            "required": ["x-source"],
                            "properties": {
                                "x-source": {"type": "string", "const": "order-service"}
                            },
                        },
                    }
                },
            },
            "rpc": {
                "address": "orders.rpc",
                "bindings": {"amqp": {"is": "queue", "queue": {"name": "orders.rpc"}}},
                "messages": {"request": {"payload": {"type": "object"}}},
            },
            "replies": {"address": None, "messages": {"reply": {"payload": {"type": "object"}}}},
            **extra,
        },
    }


GOOD = {"order_id": 1, "customer": "ada", "items": [], "total": 2.5}


def check(contract: Contract, headers: dict[str, Any], body: Any) -> list[str]:
    return [
        str(v) for v in contract.check("shop", "order.created", headers, json.dumps(body).encode())
    ]


def test_x_headers_are_checked_by_type_and_const() -> None:
    contract = Contract(document())
    assert check(contract, {"x-source": "order-service"}, GOOD) == []
    wrong = check(contract, {"x-source": 42}, GOOD)
    assert all("/headers/x-source" in line for line in wrong)
    assert any("(type)" in line for line in wrong) and any("(const)" in line for line in wrong)
    (other,) = check(contract, {"x-source": "orders"}, GOOD)
    assert "/headers/x-source" in other and "(const)" in other
    (trace,) = check(contract, {"x-source": "order-service"}, {**GOOD, "x-trace": 7})
    assert "/x-trace" in trace


def test_each_missing_required_field_has_its_own_pointer() -> None:
    found = check(Contract(document()), {"x-source": "order-service"}, {"order_id": 1})
    assert [line.split(": ")[1] for line in found] == ["/customer", "/items", "/total"]


def record(routing_key: str, body: Any, reply_to: str | None = None) -> Any:
    return SimpleNamespace(
        exchange="",
        routing_key=routing_key,
        headers={},
        body=json.dumps(body).encode(),
        properties=Basic.Properties(reply_to=reply_to),
    )


def test_a_null_address_channel_takes_replies_only() -> None:
    contract = Contract(document())
    calls = [
        record("orders.rpc", {}, reply_to="amq.gen-abc"),
        record("amq.gen-abc", {}),  # the reply, to the request's reply_to
        record("amq.rabbitmq.reply-to.g1h2AA5yZXBseQ", {}),  # direct reply-to
    ]
    assert violation_lines(contract, calls) == []
    assert contract.matching("", "amq.gen-abc", {"amq.gen-abc"}) == ["replies"]
    typo = violation_lines(contract, [record("orders.rcp", {})])
    assert len(typo) == 1 and "[unknown-channel]" in typo[0]
    assert "no channel of document has it" in typo[0]
    # a reply to an address nobody asked for is on no channel
    assert "[unknown-channel]" in violation_lines(contract, [record("amq.gen-zzz", {})])[0]


def test_schemas_jsonschema_cannot_use_are_one_line() -> None:
    with pytest.raises(ContractError) as bad:
        Contract(document({"type": "nonsense"}), "shop.yaml")
    text = str(bad.value)
    assert "\n" not in text and "shop.yaml: message created payload: not a JSON Schema" in text
    avro = {
        "schemaFormat": "application/vnd.apache.avro;version=1.9.0",
        "schema": {"type": "record", "name": "Order", "fields": []},
    }
    with pytest.raises(ContractError, match=r"schemaFormat 'application/vnd\.apache\.avro"):
        Contract(document(avro), "shop.yaml")
    multi = {"schemaFormat": "application/schema+json;version=draft-07", "schema": ORDER}
    assert check(Contract(document(multi)), {"x-source": "order-service"}, GOOD) == []
