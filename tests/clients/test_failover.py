"""Real clients' own failover when a node of a fake cluster stops (``stop_app``).

oslo.messaging with a transport_url of two hosts, pika with a list of connection
parameters, kombu's failover URL, and aio-pika's robust connection (which only retries
its one URL, so its node comes back). Queues that must outlive the node are quorum
queues, as on a real cluster; oslo's own queues are transient and re-declared by oslo
on the node it fails over to.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import aio_pika
import kombu
import oslo_messaging as messaging
import pika
import pika.exceptions
from oslo_config import cfg
from oslo_messaging import conffixture

from amqpmock.testing.cluster import FakeCluster, fake_cluster

QUORUM = {"x-queue-type": "quorum"}


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)
    return value


def connection_nodes(cluster: FakeCluster) -> list[str]:
    """The node of every open client connection, as the fake sees them."""
    return cluster.server.call(
        lambda: sorted(c.node for c in cluster.server.broker.connections.values())
    )


def queue_node(cluster: FakeCluster, name: str) -> str:
    return cluster.server.call(lambda: cluster.server.broker.vhosts["/"].queues[name].node)


def listening_on(cluster: FakeCluster, name: str, node: str) -> bool:
    """Queue ``name`` is declared on ``node`` and has a consumer."""

    def check() -> bool:
        q = cluster.server.broker.vhosts["/"].queues.get(name)
        return q is not None and q.node == node and bool(q.consumers)

    return cluster.server.call(check)


def queues_on(cluster: FakeCluster, node: str) -> list[str]:
    """The queues on ``node`` that have a consumer."""
    return cluster.server.call(
        lambda: [
            q.name
            for q in cluster.server.broker.vhosts["/"].queues.values()
            if q.node == node and q.consumers
        ]
    )


# -- 1. oslo.messaging: a transport_url of two hosts ---------------------------------------


class Endpoint:
    def __init__(self) -> None:
        self.calls = 0

    def ping(self, ctxt: dict[str, Any], n: int) -> str:
        self.calls += 1
        return f"pong-{n}"


def oslo_transport(url: str) -> Any:
    conf = cfg.ConfigOpts()
    conf([], project="amqpmock-test")
    fixture = conffixture.ConfFixture(conf)
    fixture.setUp()
    conf.set_override("control_exchange", "failover")
    group = "oslo_messaging_rabbit"
    conf.set_override("heartbeat_timeout_threshold", 0, group=group)
    conf.set_override("rabbit_retry_interval", 1, group=group)  # its minimum
    conf.set_override("rabbit_retry_backoff", 0, group=group)
    conf.set_override("rabbit_interval_max", 1, group=group)
    conf.set_override("kombu_reconnect_delay", 0.1, group=group)
    return messaging.get_rpc_transport(conf, url=url)


def test_oslo_messaging_rpc_fails_over_to_the_second_host() -> None:
    with fake_cluster(3, management=False) as cluster:
        hosts = ",".join(url.removeprefix("amqp://").rstrip("/") for url in cluster.urls[:2])
        transport = oslo_transport(f"rabbit://{hosts}/")
        endpoint = Endpoint()
        server = messaging.get_rpc_server(
            transport,
            messaging.Target(topic="agent", server="host-a"),
            [endpoint],
            executor="threading",
        )
        server.start()
        try:
            client = messaging.get_rpc_client(
                transport, messaging.Target(topic="agent", server="host-a"), timeout=15
            )
            assert client.call({}, "ping", n=1) == "pong-1"
            # oslo shuffles the hosts for each connection: stop the node that holds the
            # server's topic queue (the node of the server's listening connection)
            node = queue_node(cluster, "agent.host-a")
            index = cluster.node_names.index(node)
            assert index in (0, 1)
            other = cluster.node_names[1 - index]
            cluster.stop_node(index)
            # oslo's listeners reconnect to the other host by themselves and declare
            # their queues there again (transient: gone with their node); a call sent
            # before the server's queue is back would be unroutable, as on RabbitMQ
            wait_for(lambda: listening_on(cluster, "agent.host-a", other), timeout=10)
            wait_for(lambda: any(q.startswith("reply_") for q in queues_on(cluster, other)))
            assert client.call({}, "ping", n=2) == "pong-2"
            assert endpoint.calls == 2
            # every connection is now on the other host of the URL; the topic queue
            # (transient, gone with its node) was declared again there by oslo
            assert set(connection_nodes(cluster)) == {other}
            assert queue_node(cluster, "agent.host-a") == other
        finally:
            server.stop()
            server.wait()
            transport.cleanup()


# -- 2. pika: a list of connection parameters ----------------------------------------------


def test_pika_reconnect_loop_moves_to_the_next_parameters() -> None:
    with fake_cluster(3, management=False) as cluster:
        params = []
        for url in cluster.urls[:2]:
            p = pika.URLParameters(url)
            p.connection_attempts = 1
            p.retry_delay = 0.1
            p.socket_timeout = 2
            params.append(p)
        published = False
        received: list[bytes] = []
        connected_to: list[str] = []
        closed_by_broker: list[tuple[int, str]] = []
        deadline = time.monotonic() + 10
        # the reconnect loop of pika's documentation, with the same list each time
        while not received:
            assert time.monotonic() < deadline, "never consumed"
            try:
                connection = pika.BlockingConnection(params)
                connected_to.extend(connection_nodes(cluster))  # its only connection
                channel = connection.channel()
                channel.queue_declare("work", durable=True, arguments=QUORUM)
                if not published:
                    channel.confirm_delivery()
                    channel.basic_publish(
                        "", "work", b"before-loss", pika.BasicProperties(delivery_mode=2)
                    )
                    published = True
                    cluster.stop_node(0)  # while this application is connected to it
                    while time.monotonic() < deadline:  # until pika sees the close
                        connection.process_data_events(time_limit=0.05)

                def on_message(ch: Any, method: Any, props: Any, body: bytes) -> None:
                    received.append(body)
                    ch.basic_ack(method.delivery_tag)
                    ch.stop_consuming()

                channel.basic_consume("work", on_message)
                channel.start_consuming()
                connection.close()
            except pika.exceptions.ConnectionClosedByBroker as err:
                closed_by_broker.append((err.reply_code, err.reply_text))
                continue
            except pika.exceptions.AMQPConnectionError:
                continue
        assert connected_to == cluster.node_names[:2]
        assert closed_by_broker == [
            (320, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'")
        ]
        assert received == [b"before-loss"]


# -- 3. kombu: a failover URL, ensure() ---------------------------------------------------


def test_kombu_failover_round_robin_keeps_publishing() -> None:
    with fake_cluster(3, management=False) as cluster:
        url = ";".join(cluster.urls[:2])
        queue = kombu.Queue(
            "jobs",
            kombu.Exchange("jobs", "direct", durable=True),
            routing_key="jobs",
            durable=True,
            queue_arguments=QUORUM,
        )
        errors: list[Exception] = []
        with kombu.Connection(
            url,
            failover_strategy="round-robin",
            transport_options={"confirm_publish": True},
        ) as conn:
            conn.ensure_connection(max_retries=3, interval_start=0.1, interval_step=0.1)
            assert conn.info()["port"] == int(cluster.urls[0].rsplit(":", 1)[1].strip("/"))
            producer = conn.Producer()
            publish = conn.ensure(
                producer,
                producer.publish,
                errback=lambda exc, interval: errors.append(exc),
                max_retries=5,
                interval_start=0.1,
                interval_step=0.1,
                interval_max=0.2,
            )
            for n in range(5):
                publish({"n": n}, exchange=queue.exchange, routing_key="jobs", declare=[queue])
            cluster.stop_node(0)
            for n in range(5, 10):
                publish({"n": n}, exchange=queue.exchange, routing_key="jobs", declare=[queue])
            assert conn.info()["port"] == int(cluster.urls[1].rsplit(":", 1)[1].strip("/"))
        assert errors, "the loss was not seen"
        got: list[int] = []
        with kombu.Connection(url, failover_strategy="round-robin") as consumer_conn:

            def on_message(body: dict[str, int], message: Any) -> None:
                got.append(body["n"])
                message.ack()

            with consumer_conn.Consumer(queue, callbacks=[on_message]):
                deadline = time.monotonic() + 5
                while len(got) < 10 and time.monotonic() < deadline:
                    with contextlib.suppress(TimeoutError):
                        consumer_conn.drain_events(timeout=0.2)
        assert got == list(range(10))


# -- 4. aio-pika: connect_robust to one node that comes back ------------------------------


async def test_aio_pika_robust_consumer_is_restored_on_its_node() -> None:
    with fake_cluster(3, management=False) as cluster:
        connection = await aio_pika.connect_robust(cluster.urls[1], reconnect_interval=0.1)
        reconnected = asyncio.Event()
        connection.reconnect_callbacks.add(lambda *_: reconnected.set())
        received: asyncio.Queue[bytes] = asyncio.Queue()
        try:
            channel = await connection.channel()
            queue = await channel.declare_queue("events", durable=True, arguments=QUORUM)

            async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                await message.ack()
                await received.put(message.body)

            await queue.consume(on_message)
            await asyncio.to_thread(cluster.stop_node, 1)
            await asyncio.sleep(0.3)  # refused a few times meanwhile
            assert not reconnected.is_set()
            await asyncio.to_thread(cluster.start_node, 1)
            await asyncio.wait_for(reconnected.wait(), 10)
            assert connection_nodes(cluster) == [cluster.node_names[1]]

            def consumers() -> int:
                q = cluster.server.broker.vhosts["/"].queues["events"]
                return len(q.consumers)

            deadline = time.monotonic() + 5
            while not await asyncio.to_thread(cluster.server.call, consumers):
                assert time.monotonic() < deadline, "consumer not restored"
                await asyncio.sleep(0.02)
            publisher = await aio_pika.connect(cluster.urls[0])
            async with publisher:
                ch = await publisher.channel(publisher_confirms=True)
                await ch.default_exchange.publish(
                    aio_pika.Message(b"after-restart"), routing_key="events"
                )
            assert await asyncio.wait_for(received.get(), 5) == b"after-restart"
        finally:
            await connection.close()
