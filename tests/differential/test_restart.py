"""A restart against RabbitMQ 3.10.8 (its own node, stopped and started with
``rabbitmqctl stop_app`` / ``start_app``) and against the fake (``amqp_broker.restart``
with ``down_for=None``, then ``come_up()``): the client story of ``restart_story`` gives
what RabbitMQ gave, recorded below (``EXPECTED``), on both.

RabbitMQ facts this pins (docs/rabbitmq-facts.md, "Restart"): every connection is told
``320 CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'``; a
new connection is refused while the application is stopped; an unacked persistent
message comes back redelivered, one never delivered does not; a quorum queue keeps its
transient messages too and counts the return in ``x-delivery-count``; a durable
auto-delete queue that had a consumer is gone, one that never had one stays; a durable
auto-delete exchange whose only binding was to a transient queue stays.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from amqpmock.testing.harness import BrokerFixture
from amqpmock.testing.rabbitmq import RabbitMQNode

from .compare import assert_equal
from .restart_story import Observation, await_stream, story

EXPECTED: Observation = {
    "after": {
        "exchanges": {
            "ad_to_durable": "exists",
            "ad_to_transient": "exists",
            "durable": "exists",
            "durable2": "exists",
            "transient": [404, "NOT_FOUND - no exchange 'rs.transient' in vhost '/'"],
        },
        "messages": {
            "ad_idle": [
                {"body": "ad_idle-p", "delivery_mode": 2, "headers": {}, "redelivered": False}
            ],
            "durable": [
                {"body": "p2", "delivery_mode": 2, "headers": {"n": "p2"}, "redelivered": True},
                {"body": "p3", "delivery_mode": 2, "headers": {"n": "p3"}, "redelivered": False},
                {"body": "routed-p", "delivery_mode": 2, "headers": {}, "redelivered": False},
            ],
            "orphan": [
                {"body": "orphan-p", "delivery_mode": 2, "headers": {}, "redelivered": False}
            ],
            "quorum": [
                {
                    "body": "qp1",
                    "delivery_mode": 2,
                    "headers": {"x-delivery-count": 1},
                    "redelivered": True,
                },
                {
                    "body": "qt1",
                    "delivery_mode": 1,
                    "headers": {"x-delivery-count": 0},
                    "redelivered": False,
                },
                {
                    "body": "qt2",
                    "delivery_mode": 1,
                    "headers": {"x-delivery-count": 0},
                    "redelivered": False,
                },
            ],
            "stream": ["st1", "sp1"],
        },
        "queues": {
            "ad_idle": {"consumers": 0, "messages": 1},
            "ad_used": [404, "NOT_FOUND - no queue 'rs.ad_used' in vhost '/'"],
            "durable": {"consumers": 0, "messages": 3},
            "exclusive": [404, "NOT_FOUND - no queue 'rs.exclusive' in vhost '/'"],
            "orphan": {"consumers": 0, "messages": 1},
            "quorum": {"consumers": 0, "messages": 3},
            "stream": {"consumers": 0, "messages": 0},
            "transient": [404, "NOT_FOUND - no queue 'rs.transient' in vhost '/'"],
        },
        "queues_after_routing": {
            "durable": {"consumers": 0, "messages": 2},
            "orphan": {"consumers": 0, "messages": 0},
            "quorum": {"consumers": 0, "messages": 1},
        },
        "routed": {"ad_to_durable/": "routed", "durable/e2e": "routed", "durable/k": "routed"},
    },
    "consumer_told": {
        "connection_close": [
            320,
            "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'",
        ]
    },
    "publisher_told": {
        "connection_close": [
            320,
            "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'",
        ]
    },
    "while_down": "refused",
}


@pytest.fixture(scope="module")
def restartable_node() -> Iterator[RabbitMQNode]:
    """A node of its own: restarting the session's node would cut other tests off."""
    node = RabbitMQNode().start()
    try:
        yield node
    finally:
        node.stop()


@pytest.mark.rabbitmq
def test_restart_on_rabbitmq(restartable_node: RabbitMQNode) -> None:
    node = restartable_node

    def up() -> None:
        node.start_app()
        await_stream(node.url)

    observed = story(node.url, node.stop_app, up)
    assert_equal(EXPECTED, observed)


def test_restart_on_the_fake(amqp_broker: BrokerFixture) -> None:
    observed = story(
        amqp_broker.url, lambda: amqp_broker.restart(down_for=None), amqp_broker.come_up
    )
    assert_equal(EXPECTED, observed)
