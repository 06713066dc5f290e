"""Node loss in a three-node cluster, against RabbitMQ 3.10.8 (its own cluster on
loopback: three nodes, each its own name, data dir and ports, joined with
``join_cluster``; node 2 stopped and started with ``rabbitmqctl stop_app`` /
``start_app``) and against the fake (``fake_cluster(3)``): the client story of
``cluster_story`` gives what RabbitMQ gave, recorded below (``EXPECTED``), on both.

RabbitMQ facts this pins (docs/rabbitmq-facts.md, "Cluster"): the stopped node's
connections get 320 with the shutdown text and its port refuses; a consumer elsewhere of
a classic queue on it gets Basic.Cancel, a quorum queue's consumer goes on; every
operation on a durable classic queue whose home node is down is a 404 naming the node;
its transient and exclusive queues are gone; a mandatory publish routed only to it is
returned (312) and confirmed; the quorum queue keeps working with two of three nodes;
the durable queue comes back with its persistent messages only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from amqpmock.testing.cluster import FakeCluster, fake_cluster
from amqpmock.testing.rabbitmq_cluster import RabbitMQCluster

from .cluster_story import Observation, story
from .compare import assert_equal

EXPECTED: Observation = {
    "cluster_name": [200, {"name": "node-1"}],
    "consume_before": ["consume-ok", "consume-ok"],
    "durable_back": {
        "declare_passive": {"consumers": 0, "messages": 1},
        "messages": [["dp", True]],
    },
    "durable_consumer_told": {"cancelled": ["durable-consumer"], "closed": None},
    "durable_node_down": {
        "bind": [
            404,
            "NOT_FOUND - home node 'node-2' of durable queue "
            "'cl.durable' in vhost '/' is down or inaccessible",
        ],
        "consume": [
            404,
            "NOT_FOUND - home node 'node-2' of durable queue "
            "'cl.durable' in vhost '/' is down or inaccessible",
        ],
        "declare": [
            404,
            "NOT_FOUND - home node 'node-2' of durable queue "
            "'cl.durable' in vhost '/' is down or inaccessible",
        ],
        "declare_passive": [
            404,
            "NOT_FOUND - home node 'node-2' of durable "
            "queue 'cl.durable' in vhost '/' is down or "
            "inaccessible",
        ],
        "delete": [
            404,
            "NOT_FOUND - home node 'node-2' of durable queue "
            "'cl.durable' in vhost '/' is down or inaccessible",
        ],
        "get": [
            404,
            "NOT_FOUND - home node 'node-2' of durable queue "
            "'cl.durable' in vhost '/' is down or inaccessible",
        ],
        "purge": [
            404,
            "NOT_FOUND - home node 'node-2' of durable queue "
            "'cl.durable' in vhost '/' is down or inaccessible",
        ],
    },
    "gone_with_node": {
        "exclusive": [404, "NOT_FOUND - no queue 'cl.exclusive' in vhost '/'"],
        "transient": [404, "NOT_FOUND - no queue 'cl.transient' in vhost '/'"],
    },
    "held_before": [[["dp", False]], [["q1", False]]],
    "management_back": {"node-1": True, "node-2": True, "node-3": True},
    "management_node_down": {
        "durable_queue": [404, {"error": "Object Not Found", "reason": "Not Found"}],
        "nodes": {"node-1": True, "node-2": False, "node-3": True},
        "queues_listed": {
            "cl.durable": {"messages": None, "node": "node-2", "state": "down", "type": "classic"}
        },
    },
    "node2_connection_told": {
        "connection_close": [
            320,
            "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'",
        ]
    },
    "node2_new_connection": "refused",
    "publish_to_durable_node_down": {
        "confirm": "ack",
        "returned": [[312, "NO_ROUTE", "while-down"]],
    },
    "quorum_back": {"consumers": 0, "messages": 1},
    "quorum_consumer": {
        "after_ack": [["q1", False], ["q2", False]],
        "cancelled": [],
        "closed": None,
    },
    "quorum_majority": {
        "declare_passive": {"consumers": 0, "messages": 1},
        "get": {"body": "q3", "redelivered": False},
        "publish": {"confirm": "ack"},
    },
}


@pytest.fixture(scope="module")
def rabbitmq_cluster() -> Iterator[RabbitMQCluster]:
    cluster = RabbitMQCluster(size=3).start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _story_on(cluster: RabbitMQCluster | FakeCluster) -> Observation:
    return story(
        cluster.urls,
        cluster.stop_node,
        cluster.start_node,
        cluster.management_urls,
        cluster.node_names,
    )


@pytest.mark.rabbitmq
def test_cluster_on_rabbitmq(rabbitmq_cluster: RabbitMQCluster) -> None:
    assert_equal(EXPECTED, _story_on(rabbitmq_cluster))


def test_cluster_on_the_fake() -> None:
    with fake_cluster(3) as cluster:
        observed = _story_on(cluster)
    assert_equal(EXPECTED, observed)
