"""``--amqp-asyncapi=FILE``: the AsyncAPI document of a test session's traffic on the
fake broker, run as users run it (pytest inside pytest), and checked with AsyncAPI's
own tools; a FastStream service's session among them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import Checker, problems

pytest_plugins = ["pytester"]

SERVICES = Path(__file__).parents[1] / "replay" / "services"

PIKA_TESTS = """
import json
import threading

import pika


def channel_of(url):
    connection = pika.BlockingConnection(pika.URLParameters(url))
    return connection, connection.channel()


def test_events_to_a_topic_exchange(amqp_url):
    connection, channel = channel_of(amqp_url)
    channel.exchange_declare("shop.events", "topic", durable=True)
    queue = channel.queue_declare("audit", arguments={"x-max-length": 10}).method.queue
    channel.queue_bind(queue, "shop.events", "order.*")
    for n in (1, 2):
        channel.basic_publish(
            "shop.events",
            "order.accepted",
            json.dumps({"order_id": n, "total": n * 1.5}),
            pika.BasicProperties(content_type="application/json", headers={"x-source": "shop"}),
        )
    got = []
    for _ in range(2):
        method, props, body = channel.basic_get(queue)
        got.append(json.loads(body))
        channel.basic_ack(method.delivery_tag)
    assert [g["order_id"] for g in got] == [1, 2]
    connection.close()


def test_rpc_through_direct_reply_to(amqp_url):
    server_conn, server = channel_of(amqp_url)
    server.queue_declare("prices")

    def answer(ch, method, props, body):
        ch.basic_publish(
            "",
            props.reply_to,
            json.dumps({"price": 10}),
            pika.BasicProperties(
                correlation_id=props.correlation_id, content_type="application/json"
            ),
        )
        ch.basic_ack(method.delivery_tag)

    server.basic_consume("prices", answer)
    client_conn, client = channel_of(amqp_url)
    replies = []
    client.basic_consume(
        "amq.rabbitmq.reply-to", lambda ch, m, p, b: replies.append(json.loads(b)), auto_ack=True
    )
    client.basic_publish(
        "",
        "prices",
        json.dumps({"sku": "S-1"}),
        pika.BasicProperties(reply_to="amq.rabbitmq.reply-to", correlation_id="c-1"),
    )
    while not replies:
        server_conn.process_data_events(time_limit=0.05)
        client_conn.process_data_events(time_limit=0.05)
    assert replies == [{"price": 10}]
    client_conn.close()
    server_conn.close()
"""

FASTSTREAM_TEST = """
import asyncio
import json

import aio_pika

from inventory_service import main as inventory
from order_service import make_broker

ORDERS = [{"order_id": n, "sku": f"S-{n}", "qty": n} for n in (1, 2, 3)]


async def until(predicate, timeout=5):
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_the_order_service(amqp_url, tmp_path):
    ready = tmp_path / "inventory.ready"
    remote = asyncio.create_task(inventory(amqp_url, ready))  # the RPC service, in-process
    await until(ready.exists)
    levels = {}
    broker = make_broker(amqp_url, levels)
    async with broker:
        await broker.start()
        feed = await aio_pika.connect(amqp_url)
        async with feed:
            channel = await feed.channel()
            events = await channel.declare_exchange("shop.events", "topic", durable=True)
            for n in (1, 2, 3):
                await events.publish(
                    aio_pika.Message(
                        json.dumps({"sku": f"S-{n}", "level": 100 - n}).encode(),
                        content_type="application/json",
                    ),
                    "stock.changed",
                )
            await until(lambda: len(levels) == 3)
            accepted = await channel.declare_queue(exclusive=True)
            await accepted.bind(events, "order.accepted")
            for order in ORDERS:
                await broker.publish(order, queue="orders")
            got = []
            async with accepted.iterator() as messages:
                async for message in messages:
                    async with message.process():
                        got.append(json.loads(message.body))
                    if len(got) == 3:
                        break
    remote.cancel()
    assert sorted(g["reserved"] for g in got) == [1, 2, 3]
"""


def run_with_option(pytester: pytest.Pytester, name: str, passed: int) -> dict[str, Any]:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--amqp-asyncapi={name}")
    result.assert_outcomes(passed=passed)
    result.stdout.fnmatch_lines(
        [f"amqpmock: AsyncAPI document *{name} (* channels, * operations)"]
    )
    path = pytester.path / name
    data: dict[str, Any] = (
        json.loads(path.read_text())
        if name.endswith(".json")
        else yaml.safe_load(path.read_text())
    )
    return data


def test_a_pika_session(pytester: pytest.Pytester, check_asyncapi: Checker) -> None:
    pytester.makepyfile(test_shop=PIKA_TESTS)
    doc = run_with_option(pytester, "api.yaml", passed=2)
    ops = doc["operations"]
    assert ops["send.shop.events.order.accepted"]["action"] == "send"
    channel = doc["channels"]["shop.events.order.accepted"]
    assert channel["bindings"]["amqp"]["exchange"] == {
        "name": "shop.events",
        "type": "topic",
        "durable": True,
        "autoDelete": False,
        "vhost": "/",
    }
    event = doc["components"]["messages"]["shop.events.order.accepted.message"]
    assert event["payload"]["properties"] == {
        "order_id": {"type": "integer"},
        "total": {"type": "number"},
    }
    assert event["headers"]["required"] == ["x-source"]
    assert event["x-samples"] == 2  # two publishes (each also taken with basic.get: one message)
    audit = doc["channels"]["audit"]["bindings"]["amqp"]
    assert audit["x-bindings"] == [{"exchange": "shop.events", "routingKey": "order.*"}]
    assert audit["x-arguments"] == {"x-max-length": 10}
    assert "receive.audit" in ops
    # the AMQP operation bindings, as a cassette's document has them
    assert ops["send.shop.events.order.accepted"]["bindings"]["amqp"]["mandatory"] is False
    assert ops["receive.audit"]["bindings"]["amqp"]["ack"] is True  # basic.get, acked
    # the RPC: the client's send and the server's receive both have the reply
    for name in ("send.prices", "receive.prices"):
        reply = ops[name]["reply"]
        assert reply["channel"] == {"$ref": "#/channels/amq.rabbitmq.reply-to"}, name
        assert len(reply["messages"]) == 1
    assert not any(op["channel"]["$ref"].endswith("reply-to") for op in ops.values())
    # the reply channel is known at runtime: AsyncAPI 3.0's null address, and the request
    # says where its address is
    assert doc["channels"]["amq.rabbitmq.reply-to"]["address"] is None
    assert ops["send.prices"]["reply"]["address"]["location"] == "$message.header#/reply_to"
    # the session's broker address is not a contract: a placeholder
    assert doc["servers"]["rabbitmq"]["host"] == "{host}:{port}"
    (result,) = check_asyncapi(pytester.path / "api.yaml")
    assert problems(result) == [], result
    # and the same session checked against its own document passes, replies included
    pytester.makeini("[pytest]\namqp_asyncapi = api.yaml\n")
    again = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    again.assert_outcomes(passed=2)
    # while a publish on no channel of it fails
    pytester.makepyfile(test_more=UNKNOWN_KEY_TEST)
    wrong = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_more.py")
    wrong.assert_outcomes(failed=1)
    wrong.stdout.fnmatch_lines(["*unknown-channel*order.cancelled*"])


UNKNOWN_KEY_TEST = """
import json

import pika


def test_a_routing_key_the_document_does_not_have(amqp_url):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.exchange_declare("shop.events", "topic", durable=True)
    channel.basic_publish("shop.events", "order.cancelled", json.dumps({"order_id": 1}))
    connection.close()
"""


def test_a_faststream_service(pytester: pytest.Pytester, check_asyncapi: Checker) -> None:
    shutil.copy(SERVICES / "faststream_order_service.py", pytester.path / "order_service.py")
    shutil.copy(SERVICES / "inventory_rpc_service.py", pytester.path / "inventory_service.py")
    pytester.makepyfile(test_orders=FASTSTREAM_TEST)
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    doc = run_with_option(pytester, "orders.json", passed=1)
    ops = doc["operations"]
    # FastStream's broker.request: direct reply-to, answered by the inventory service
    request = ops["send.inventory"]
    assert request["reply"]["channel"] == {"$ref": "#/channels/amq.rabbitmq.reply-to"}
    answer = doc["components"]["messages"][
        request["reply"]["messages"][0]["$ref"].rsplit("/", 1)[1]
    ]
    assert answer["payload"]["properties"] == {
        "sku": {"type": "string"},
        "reserved": {"type": "integer"},
    }
    assert answer["correlationId"]["location"] == "$message.header#/correlation_id"
    assert "reply" in ops["receive.inventory"]
    # what the service publishes, with its headers, and the queues it consumes
    accepted = doc["components"]["messages"]["shop.events.order.accepted.message"]
    assert set(accepted["payload"]["required"]) == {"order_id", "sku", "reserved", "status"}
    assert {"x-event", "x-source"} <= set(accepted["headers"]["required"])
    orders = doc["channels"]["orders"]["bindings"]["amqp"]["queue"]
    assert orders["durable"] is True
    assert ops["receive.orders"]["bindings"]["amqp"]["ack"] is True
    stock = doc["channels"]["order-service.stock"]["bindings"]["amqp"]
    assert stock["x-bindings"] == [{"exchange": "shop.events", "routingKey": "stock.changed"}]
    (result,) = check_asyncapi(pytester.path / "orders.json")
    assert problems(result) == [], result


def test_off_unless_asked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shop=PIKA_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert "AsyncAPI" not in result.stdout.str()
    assert not list(pytester.path.glob("*.yaml"))


def test_a_document_that_cannot_be_written_fails_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shop=PIKA_TESTS)
    (pytester.path / "blocker").write_text("")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--amqp-asyncapi=blocker/api.yaml"
    )
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["amqpmock: no AsyncAPI document: *blocker/api.yaml: cannot write*"]
    )
