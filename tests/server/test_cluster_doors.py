"""A cluster from every door: ``amqpmock serve --nodes 3`` with ``amqpmock control
stop-node/start-node`` (the control API) and the management API, and the pytest
plugin's ``--amqpmock-nodes`` with ``amqp_broker.stop_node``; pika as the client. What
a node's loss does is pinned against RabbitMQ in tests/differential/test_cluster.py."""

from __future__ import annotations

import base64
import json
import urllib.request

import pika
import pika.exceptions
import pytest

from tests.server.test_cli import serving
from tests.server.test_control_cli import control

pytest_plugins = ["pytester"]

DOWN = "NOT_FOUND - home node 'rabbit-2@localhost' of durable queue 'orders' in vhost '/' is down"


def _get(http: str, path: str) -> object:
    request = urllib.request.Request(http + path)
    request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_serve_nodes_and_control_stop_node_start_node() -> None:
    with serving("--nodes", "3") as (proc, url):
        assert proc.stdout is not None
        urls = [url, proc.stdout.readline().strip(), proc.stdout.readline().strip()]
        http = proc.stdout.readline().strip()
        assert len(set(urls)) == 3 and all(u.startswith("amqp://") for u in urls)
        assert http.startswith("http://")
        on_node2 = pika.BlockingConnection(pika.URLParameters(urls[1]))
        assert on_node2._impl.server_properties["cluster_name"] == "rabbit-1@localhost"
        ch = on_node2.channel()
        ch.queue_declare("orders", durable=True)
        ch.basic_publish("", "orders", b"kept", pika.BasicProperties(delivery_mode=2))
        nodes = json.loads(control(http, "nodes").stdout)
        assert [(n["name"], n["running"]) for n in nodes] == [
            ("rabbit-1@localhost", True),
            ("rabbit-2@localhost", True),
            ("rabbit-3@localhost", True),
        ]
        assert [n["url"] for n in nodes] == urls

        stopped = control(http, "stop-node", "rabbit-2@localhost")
        assert stopped.returncode == 0, stopped.stderr
        assert [n["running"] for n in json.loads(stopped.stdout)] == [True, False, True]
        with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as closed:
            ch.queue_declare("orders", passive=True)
        assert closed.value.reply_code == 320
        with pytest.raises(pika.exceptions.AMQPConnectionError):
            pika.BlockingConnection(pika.URLParameters(urls[1]))
        listed = _get(http, "/api/nodes")
        assert isinstance(listed, list)
        assert {n["name"]: n["running"] for n in listed} == {
            "rabbit-1@localhost": True,
            "rabbit-2@localhost": False,
            "rabbit-3@localhost": True,
        }
        on_node1 = pika.BlockingConnection(pika.URLParameters(urls[0]))
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as unavailable:
            on_node1.channel().queue_declare("orders", passive=True)
        assert unavailable.value.reply_code == 404
        assert unavailable.value.reply_text.startswith(DOWN)

        assert control(http, "start-node", "1").returncode == 0
        again = pika.BlockingConnection(pika.URLParameters(urls[1])).channel()
        _, _, body = again.basic_get("orders", auto_ack=True)
        assert body == b"kept"
        unknown = control(http, "stop-node", "rabbit-9@localhost")
        assert unknown.returncode == 1 and "no node 'rabbit-9@localhost'" in unknown.stderr
        on_node1.close()


def test_serve_refuses_a_cluster_of_no_nodes() -> None:
    with serving("--nodes", "0") as (proc, _url):
        assert proc.wait(10) == 2
        assert proc.stderr is not None
        assert "--nodes takes 1 to 64, not 0" in proc.stderr.read()


CLUSTER_TESTS = """
import pika
import pika.exceptions
import pytest


def test_a_node_of_the_session_cluster_stops(amqp_broker):
    assert amqp_broker.node_names == [
        "rabbit-1@localhost", "rabbit-2@localhost", "rabbit-3@localhost"
    ]
    urls = amqp_broker.node_urls
    assert urls[0] == amqp_broker.url and len(set(urls)) == 3
    conn = pika.BlockingConnection(pika.URLParameters(urls[2]))
    ch = conn.channel()
    ch.queue_declare("work", durable=True, arguments={"x-queue-type": "quorum"})
    ch.queue_declare("scratch")
    ch.basic_publish("", "work", b"job")
    amqp_broker.stop_node(2)
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker):
        ch.queue_declare("work", passive=True)
    other = pika.BlockingConnection(pika.URLParameters(urls[0])).channel()
    _, _, body = other.basic_get("work", auto_ack=True)  # a quorum queue goes on
    assert body == b"job"
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as gone:
        other.queue_declare("scratch", passive=True)
    assert gone.value.reply_code == 404


def test_the_next_test_has_every_node_up(amqp_broker):
    conn = pika.BlockingConnection(pika.URLParameters(amqp_broker.node_urls[2]))
    assert conn.is_open
    conn.close()
"""


def test_the_plugin_option_makes_the_session_broker_a_cluster(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_cluster=CLUSTER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--amqpmock-nodes", "3")
    result.assert_outcomes(passed=2)


def test_a_bad_node_count_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_one="def test_it(amqp_broker):\n    pass\n")
    pytester.makeini("[pytest]\namqpmock_nodes = three\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*UsageError: amqpmock_nodes: a number of nodes, 1 or more*"])
