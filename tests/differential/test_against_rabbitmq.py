"""Run every differential scenario against each broker and compare with the expectation.

The expected observations were recorded from real RabbitMQ 3.10.8, so against the
``rabbitmq`` broker this suite documents RabbitMQ's behaviour and fails if a RabbitMQ
release disagrees. To check the fake broker the same way, add one entry to ``BROKERS``
naming a fixture that yields an AMQP URL (e.g. the wire server in ``amqpmock.wire.server``).
"""

from __future__ import annotations

import json

import pytest
from routing_cases import ROUTING_CASES

from amqpmock.testing.harness import BrokerFixture
from amqpmock.testing.rabbitmq import RabbitMQNode

from .compare import assert_equal
from .scenarios import SCENARIOS, Scenario


@pytest.fixture
def rabbitmq_url(rabbitmq_node: RabbitMQNode) -> str:
    return rabbitmq_node.url


@pytest.fixture
def amqpmock_url(amqp_broker: BrokerFixture) -> str:
    return amqp_broker.url


# broker id -> (name of a fixture returning an AMQP URL, marks)
BROKERS = {
    "rabbitmq": ("rabbitmq_url", [pytest.mark.rabbitmq]),
    "amqpmock": ("amqpmock_url", []),
}


@pytest.fixture(params=[pytest.param(b, id=b, marks=marks) for b, (_, marks) in BROKERS.items()])
def amqp_url(request: pytest.FixtureRequest) -> str:
    fixture_name = BROKERS[request.param][0]
    url: str = request.getfixturevalue(fixture_name)
    return url


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(sc: Scenario, amqp_url: str) -> None:
    observed = sc.observe(amqp_url)
    json.dumps(observed)  # observations must stay JSON-able
    assert_equal(sc.expected, observed, sc.name)


def test_routing_table_is_large_and_covers_every_exchange_type() -> None:
    kinds = {case.exchange_type for case in ROUTING_CASES}
    assert kinds == {"direct", "fanout", "topic", "headers"}
    assert len(ROUTING_CASES) >= 60
