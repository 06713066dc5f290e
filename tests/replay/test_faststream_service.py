"""A FastStream order service (services/faststream_order_service.py), end to end
(issue 18): its test runs the service in-process on `amqp_url`; recorded once against a
real RabbitMQ with the inventory RPC service and an outside stock feed in their own
processes, then replayed offline with both gone, ten times in a row; and mutants of the
service's code, each replayed against the cassette of the unmutated code, must fail
with the difference named in the test's own report (README, "What replay catches").
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from amqpmock.cassette import loads
from amqpmock.testing.rabbitmq import RabbitMQNode

from .shop_services import FASTSTREAM, STOCK_EVENTS, Mutant, assert_caught, record, replay

pytest_plugins = ["pytester"]

PUBLISH = """        await broker.publish(
            accepted,
            exchange=SHOP_EVENTS,
            routing_key="order.accepted",
            headers={"x-event": "order.accepted", "x-source": "order-service"},
        )
"""
ACK = "        await message.ack()\n"

MUTANTS = [
    Mutant(
        "nack-instead-of-ack",
        "await message.ack()",
        "await message.nack(requeue=False)",
        (
            "live Basic.Nack(message=<message exchange='' routing_key='orders'",
            "method: Basic.Nack != Basic.Ack",
        ),
    ),
    Mutant(
        "missing-ack",
        ACK,
        "",
        ("recorded Basic.Ack of messages exchange='' routing_key='orders' never replayed (x3",),
    ),
    Mutant(
        "durable-false",
        "type=ExchangeType.TOPIC, durable=True",
        "type=ExchangeType.TOPIC, durable=False",
        ("live Exchange.Declare(exchange='shop.events'", "durable: False != True"),
    ),
    Mutant(
        "binding-key",
        'routing_key="stock.changed"',
        'routing_key="stock.change"',
        (
            "live Queue.Bind(queue='order-service.stock', exchange='shop.events', "
            "routing_key='stock.change'",
            "routing_key: 'stock.change' != 'stock.changed'",
        ),
    ),
    Mutant(
        "routing-key-typo",
        'routing_key="order.accepted",',
        'routing_key="order.acepted",',
        (
            "no recorded publish matches live publish: exchange='shop.events' "
            "routing_key='order.acepted'",
            "routing_key: 'order.acepted' != 'order.accepted'",
        ),
    ),
    Mutant(
        "extra-publish",
        ACK,
        PUBLISH + ACK,
        ("the test publishes it more often than the recording did",),
    ),
    Mutant(
        "missing-publish",
        PUBLISH,
        "",
        ("publish never replayed: exchange='shop.events' routing_key='order.accepted'",),
    ),
    Mutant(
        "body-field",
        '"status": "accepted"',
        '"status": "ok"',
        ("body: /status: 'ok' != 'accepted'",),
    ),
    Mutant(
        "header",
        '"x-source": "order-service"',
        '"x-source": "orders"',
        ("headers.x-source: 'orders' != 'order-service'",),
    ),
    Mutant(
        "prefetch",
        "prefetch_count=10",
        "prefetch_count=20",
        ("live Basic.Qos(prefetch_size=0, prefetch_count=20", "prefetch_count: 20 != 10"),
    ),
    # FastStream's own error handling: a handler that raises has its message rejected
    Mutant(
        "handler-raises",
        'levels[event["sku"]] = event["level"]',
        'raise ValueError(event["sku"])',
        (
            "live Basic.Reject(message=<message exchange='shop.events' "
            "routing_key='stock.changed'",
            "method: Basic.Reject != Basic.Ack",
        ),
    ),
]


@pytest.fixture(scope="module")
def recorded(
    rabbitmq_node: RabbitMQNode, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """The cassette of the unmutated service, recorded once for the module."""
    yield record(FASTSTREAM, rabbitmq_node.url, tmp_path_factory.mktemp("faststream"))


def test_the_recording_has_the_remote_parties_answers_and_events(recorded: Path) -> None:
    data = loads(recorded.read_text())
    interactions = [i for c in data["connections"] for i in c["interactions"]]
    outside = [i for i in interactions if i.get("origin") == "outside"]
    replies = [i for i in outside if i["args"]["routing_key"].startswith("amq.rabbitmq.reply-to")]
    events = [i for i in outside if i["args"]["routing_key"] == "stock.changed"]
    # the inventory service's direct reply-to answers, one per order, and the feed's
    # events; the service handles its orders concurrently (prefetch 10), so the answers
    # come in no fixed order, by connection or by time (each order N reserves N)
    assert sorted(i["body"]["json"]["reserved"] for i in replies) == [1, 2, 3]
    assert len(events) == STOCK_EVENTS
    accepted = [
        i
        for i in interactions
        if i["method"] == "Basic.Publish" and i["args"]["routing_key"] == "order.accepted"
    ]
    assert len(accepted) == 3
    assert all(i["properties"]["headers"]["x-source"] == "order-service" for i in accepted)


def test_it_replays_offline_ten_times_in_a_row(pytester: pytest.Pytester, recorded: Path) -> None:
    replay(pytester, FASTSTREAM, recorded, runs=10).assert_outcomes(passed=10)


@pytest.mark.parametrize("mutant", MUTANTS, ids=str)
def test_replay_fails_a_mutant_of_the_service(
    pytester: pytest.Pytester, recorded: Path, mutant: Mutant
) -> None:
    assert_caught(replay(pytester, FASTSTREAM, recorded, mutant=mutant), FASTSTREAM, mutant)
