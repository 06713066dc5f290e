"""A Celery stock worker (services/celery_stock_worker.py), end to end (issue 18): its
test runs the worker in-process (celery.contrib.testing.worker.start_worker) on
`amqp_url`, sends it tasks and reads their results (`rpc://`); recorded once against a
real RabbitMQ with an outside stock feed in its own process, then replayed offline with
the feed gone, ten times in a row; and mutants of the worker's code, each replayed
against the cassette of the unmutated code, must fail with the difference named in the
test's own report (README, "What replay catches").
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from amqpmock.cassette import loads
from amqpmock.testing.rabbitmq import RabbitMQNode

from .shop_services import CELERY, STOCK_EVENTS, Mutant, assert_caught, record, replay

pytest_plugins = ["pytester"]

PUBLISH = """        with app.producer_pool.acquire(block=True) as producer:
            producer.publish(
                reserved,
                exchange=shop_events,
                routing_key="stock.reserved",
                headers={"x-event": "stock.reserved", "x-source": "stock-worker"},
                serializer="json",
                retry=True,
            )
"""
RETURN = "        return reserved\n"

MUTANTS = [
    # kombu's Message has no nack: reject is what a consumer says instead of ack
    Mutant(
        "reject-instead-of-ack",
        "message.ack()",
        "message.reject(requeue=False)",
        (
            "live Basic.Reject(message=<message exchange='shop.events' "
            "routing_key='stock.changed'",
            "method: Basic.Reject != Basic.Ack",
        ),
    ),
    Mutant(
        "missing-ack",
        "            message.ack()\n",
        "",
        (
            "recorded Basic.Ack of messages exchange='shop.events' routing_key='stock.changed' "
            "never replayed (x3",
        ),
    ),
    Mutant(
        "durable-false",
        'Exchange("shop.events", type="topic", durable=True)',
        'Exchange("shop.events", type="topic", durable=False)',
        ("live Exchange.Declare(exchange='shop.events'", "durable: False != True"),
    ),
    Mutant(
        "binding-key",
        'routing_key="stock.changed"',
        'routing_key="stock.change"',
        (
            "live Queue.Bind(queue='stock-worker.stock', exchange='shop.events', "
            "routing_key='stock.change'",
            "routing_key: 'stock.change' != 'stock.changed'",
        ),
    ),
    Mutant(
        "routing-key-typo",
        'routing_key="stock.reserved",',
        'routing_key="stock.reservd",',
        (
            "no recorded publish matches live publish: exchange='shop.events' "
            "routing_key='stock.reservd'",
            "routing_key: 'stock.reservd' != 'stock.reserved'",
        ),
    ),
    Mutant(
        "extra-publish",
        RETURN,
        PUBLISH + RETURN,
        ("the test publishes it more often than the recording did",),
    ),
    Mutant(
        "missing-publish",
        PUBLISH,
        "",
        ("publish never replayed: exchange='shop.events' routing_key='stock.reserved'",),
    ),
    Mutant(
        "body-field",
        '"status": "reserved"',
        '"status": "ok"',
        ("body: /status: 'ok' != 'reserved'",),
    ),
    Mutant(
        "header",
        '"x-source": "stock-worker"',
        '"x-source": "stock"',
        ("headers.x-source: 'stock' != 'stock-worker'",),
    ),
    Mutant(
        "prefetch",
        "worker_prefetch_multiplier=1",
        "worker_prefetch_multiplier=4",
        ("live Basic.Qos(prefetch_size=0, prefetch_count=4", "prefetch_count: 4 != 1"),
    ),
]
# acked on receipt instead of once the task ran: the same acks of the same messages, in
# another place among the worker's publishes; replay compares settlements by message
# and kind, not their order, so it passes this one
ACKS_EARLY = Mutant(
    "acks-early",
    "task_acks_late=True",
    "task_acks_late=False",
    ("Basic.Ack",),
)


@pytest.fixture(scope="module")
def recorded(
    rabbitmq_node: RabbitMQNode, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """The cassette of the unmutated worker, recorded once for the module."""
    yield record(CELERY, rabbitmq_node.url, tmp_path_factory.mktemp("celery"))


def test_the_recording_has_the_events_tasks_and_results(recorded: Path) -> None:
    data = loads(recorded.read_text())
    interactions = [i for c in data["connections"] for i in c["interactions"]]
    outside = [i for i in interactions if i.get("origin") == "outside"]
    # only the feed's events came from outside: the worker ran in the test's process
    assert [i["args"]["routing_key"] for i in outside] == ["stock.changed"] * STOCK_EVENTS
    publishes = [i for i in interactions if i["method"] == "Basic.Publish"]
    tasks = [i for i in publishes if i["args"]["routing_key"] == "stock.reservations"]
    events = [i for i in publishes if i["args"]["routing_key"] == "stock.reserved"]
    reply_to = {t["properties"]["reply_to"] for t in tasks}
    results = [i for i in publishes if i["args"]["routing_key"] in reply_to]
    assert len(tasks) == len(events) == len(results) == 3
    assert all(i["body"]["json"]["status"] == "SUCCESS" for i in results)


def test_it_replays_offline_ten_times_in_a_row(pytester: pytest.Pytester, recorded: Path) -> None:
    replay(pytester, CELERY, recorded, runs=10).assert_outcomes(passed=10)


@pytest.mark.parametrize(
    "mutant",
    [
        *MUTANTS,
        pytest.param(
            ACKS_EARLY,
            marks=pytest.mark.xfail(
                strict=True, reason="replay does not compare where an ack falls"
            ),
        ),
    ],
    ids=str,
)
def test_replay_fails_a_mutant_of_the_worker(
    pytester: pytest.Pytester, recorded: Path, mutant: Mutant
) -> None:
    assert_caught(replay(pytester, CELERY, recorded, mutant=mutant), CELERY, mutant)
