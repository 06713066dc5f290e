"""Real clients through the recording proxy against a real RabbitMQ.

Each scenario runs twice, directly and through the proxy, and the client must see the
same results. The cassette must then hold what happened, with no trace of the password.
The recorded side is the client under test; the other party (an RPC server) connects
directly, so its messages show up as ``origin: outside``, as they will for replay.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aio_pika
import pika
import pytest
from aio_pika.patterns import JsonRPC

from amqpmock.cassette import Cassette, Interaction, load_cassette
from amqpmock.proxy import RecordingProxy

from .conftest import Upstream, keep_cassette

pytestmark = pytest.mark.rabbitmq


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking client in a daemon thread (not the loop's executor, whose
    shutdown would wait for threads oslo.messaging leaves behind)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()

    def run() -> None:
        try:
            result = fn(*args)
        except BaseException as exc:
            loop.call_soon_threadsafe(done.set_exception, exc)
        else:
            loop.call_soon_threadsafe(done.set_result, result)

    threading.Thread(target=run, daemon=True).start()
    return await done


def record(proxy: RecordingProxy, upstream: Upstream, path: Path) -> Cassette:
    """Write the proxy's cassette (and to cassettes/proxy/ on request) and load it."""
    proxy.write(path)
    assert upstream.password not in path.read_text()
    keep_cassette(path)
    return load_cassette(path)


def deliveries(cassette: Cassette) -> list[Interaction]:
    return [i for _, _, i in cassette.interactions() if i.is_delivery]


def publishes(cassette: Cassette) -> list[Interaction]:
    return [i for _, _, i in cassette.interactions() if i.is_publish]


# -- aio-pika: a JSON RPC exchange -------------------------------------------------


async def multiply(*, x: int, y: int) -> int:
    return x * y


async def rpc_server(url: str) -> aio_pika.abc.AbstractConnection:
    connection = await aio_pika.connect(url)
    channel = await connection.channel()
    rpc = await JsonRPC.create(channel)
    await rpc.register("multiply", multiply, auto_delete=True)
    return connection


async def rpc_client(url: str) -> list[Any]:
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        rpc = await JsonRPC.create(channel)
        results: list[Any] = [await rpc.call("multiply", kwargs={"x": n, "y": 3}) for n in (1, 2)]
        try:
            await rpc.call("nobody_serves_this", kwargs={})
        except Exception as exc:  # the mandatory request comes back unroutable
            results.append(type(exc).__name__)
        return results
    finally:
        await connection.close()


async def test_aio_pika_rpc(upstream: Upstream, tmp_path: Path) -> None:
    server = await rpc_server(upstream.url)
    try:
        direct = await rpc_client(upstream.url)
        async with RecordingProxy(upstream.url) as proxy:
            proxied = await rpc_client(proxy.client_url())
    finally:
        await server.close()
    assert direct == proxied == [3, 6, "MessageProcessError"]

    cassette = record(proxy, upstream, tmp_path / "aio_pika_rpc.yaml")
    assert cassette.complete and cassette.header.upstream_product == "RabbitMQ"
    (conn,) = cassette.connections
    assert conn.ending == "clean"
    calls = publishes(cassette)
    assert [c.args["routing_key"] for c in calls] == ["multiply", "multiply", "nobody_serves_this"]
    assert [c.outcome for c in calls] == ["routed", "routed", "returned"]
    assert calls[0].body == b'{"x": 1, "y": 3}'
    assert calls[0].properties is not None and calls[0].properties["reply_to"].startswith(
        "amq.gen-"
    )
    replies = deliveries(cassette)
    assert [r.body for r in replies] == [b"3", b"6"]
    assert all(r.origin == "outside" for r in replies)  # the server was not recorded
    (returned,) = [i for i in conn if i.method == "Basic.Return"]
    assert returned.args["reply_code"] == 312 and returned.source is not None


# -- pika: publish, consume, ack and a requeue --------------------------------------


def pika_session(url: str) -> list[Any]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    seen: list[Any] = []
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        queue = channel.queue_declare("", exclusive=True).method.queue
        props = pika.BasicProperties(content_type="text/plain", delivery_mode=2)
        for body in (b"m1", b"m2", b"m3"):
            channel.basic_publish("", queue, body, props, mandatory=True)
        try:
            channel.basic_publish("", "no-such-queue", b"lost", props, mandatory=True)
        except pika.exceptions.UnroutableError:
            seen.append("unroutable")
        channel.basic_qos(prefetch_count=10)
        for method, _props, body in channel.consume(queue, inactivity_timeout=5):
            assert method is not None, "timed out waiting for a delivery"
            seen.append((body.decode(), method.redelivered))
            if body == b"m2" and not method.redelivered:
                channel.basic_nack(method.delivery_tag, requeue=True)
            else:
                channel.basic_ack(method.delivery_tag)
            if len(seen) == 5:
                break
        channel.cancel()
    finally:
        connection.close()
    return seen


async def test_pika_publish_consume_ack_requeue(upstream: Upstream, tmp_path: Path) -> None:
    direct = await in_thread(pika_session, upstream.url)
    async with RecordingProxy(upstream.url) as proxy:
        proxied = await in_thread(pika_session, proxy.client_url())
    expected = ["unroutable", ("m1", False), ("m2", False), ("m3", False), ("m2", True)]
    assert direct == proxied == expected

    cassette = record(proxy, upstream, tmp_path / "pika_publish_consume.yaml")
    assert cassette.complete
    (conn,) = cassette.connections
    assert [p.outcome for p in publishes(cassette)] == ["routed", "routed", "routed", "returned"]
    got = deliveries(cassette)
    assert [(d.body, d.args["redelivered"]) for d in got] == [
        (b"m1", False),
        (b"m2", False),
        (b"m3", False),
        (b"m2", True),
    ]
    assert all(d.origin == "recorded" and d.source is not None for d in got)
    assert conn.interactions[got[1].source[1]].body == b"m2"  # type: ignore[index]
    methods = conn.methods("c2s")
    assert methods.count("Basic.Ack") == 3 and methods.count("Basic.Nack") == 1
    nack = next(i for i in conn if i.method == "Basic.Nack")
    assert nack.args["requeue"] is True
    assert got[0].properties == {"content_type": "text/plain", "delivery_mode": 2}
    start_ok = next(i for i in conn if i.method == "Connection.StartOk")
    assert start_ok.args["response"] == "\0recorder\0<redacted>"


# -- oslo.messaging: the seed's call, cast and fanout_cast ---------------------------

TOPIC, HOST, CONTROL = "dhcp_agent", "node-1", "neutron"


class DhcpEndpoint:
    def __init__(self) -> None:
        self.casts: list[tuple[str, Any]] = []
        self.lock = threading.Lock()

    def get_active_networks(self, ctxt: dict[str, Any], host: str) -> list[str]:
        return [f"net-for-{host}"]

    def port_update(self, ctxt: dict[str, Any], port: dict[str, Any]) -> None:
        with self.lock:
            self.casts.append(("port_update", port))

    def network_delete(self, ctxt: dict[str, Any], network_id: str) -> None:
        with self.lock:
            self.casts.append(("network_delete", network_id))


def oslo_transport(conf: Any, url: str) -> Any:
    import oslo_messaging as messaging

    messaging.set_transport_defaults(control_exchange=CONTROL)
    transport = messaging.get_rpc_transport(conf, url=url.replace("amqp://", "rabbit://", 1))
    conf.set_override("heartbeat_timeout_threshold", 0, group="oslo_messaging_rabbit")
    return transport


def oslo_flows(server_url: str, client_url: str) -> list[Any]:
    """An RPC server (not recorded) and a client doing the seed's three flows."""
    import oslo_messaging as messaging
    from oslo_config import cfg
    from oslo_messaging._metrics.client import oslo_messaging_metrics
    from oslo_messaging._tracing.client import oslo_messaging_tracing

    conf = cfg.ConfigOpts()
    conf([], project="amqpmock-record")
    # The RPC client reads these, which oslo.messaging registers on cfg.CONF only.
    conf.register_opts(oslo_messaging_tracing, group="oslo_messaging_tracing")
    conf.register_opts(oslo_messaging_metrics, group="oslo_messaging_metrics")
    endpoint = DhcpEndpoint()
    server_transport = oslo_transport(conf, server_url)
    client_transport = oslo_transport(conf, client_url)
    server = messaging.get_rpc_server(
        server_transport,
        messaging.Target(topic=TOPIC, server=HOST),
        [endpoint],
        executor="threading",
    )
    server.start()
    try:
        client = messaging.get_rpc_client(
            client_transport, messaging.Target(topic=TOPIC), timeout=20
        )
        result = client.prepare(server=HOST).call({}, "get_active_networks", host=HOST)
        client.cast({}, "port_update", port={"id": "p1"})
        client.prepare(fanout=True).cast({}, "network_delete", network_id="n1")
        deadline = time.monotonic() + 20
        while len(endpoint.casts) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        return [result, sorted(endpoint.casts, key=repr)]
    finally:
        server.stop()
        server.wait()
        client_transport.cleanup()
        server_transport.cleanup()
        messaging.set_transport_defaults(control_exchange="openstack")


async def test_oslo_messaging_call_cast_fanout_cast(upstream: Upstream, tmp_path: Path) -> None:
    direct = await in_thread(oslo_flows, upstream.url, upstream.url)
    async with RecordingProxy(upstream.url) as proxy:
        proxied = await in_thread(oslo_flows, upstream.url, proxy.client_url())
    expected = [["net-for-node-1"], [("network_delete", "n1"), ("port_update", {"id": "p1"})]]
    assert direct == proxied == expected

    cassette = record(proxy, upstream, tmp_path / "oslo_messaging_rpc.yaml")
    assert cassette.connections and cassette.header.upstream_version
    sent = {p.args["exchange"]: p for p in publishes(cassette)}
    call = sent[CONTROL]  # call and cast both go to the control exchange
    envelope = [p for p in publishes(cassette) if p.args["exchange"] == CONTROL]
    keys = sorted(p.args["routing_key"] for p in envelope)
    assert keys == [TOPIC, f"{TOPIC}.{HOST}"]
    assert call.body is not None and b"oslo.message" in call.body
    fanout = sent[f"{TOPIC}_fanout"]
    assert fanout.body is not None and b"network_delete" in fanout.body
    replies = deliveries(cassette)
    assert replies and all(r.origin == "outside" for r in replies)
    assert any(b"net-for-node-1" in (r.body or b"") for r in replies)
    declared = {i.args.get("queue") for _, _, i in cassette.interactions()}
    assert any(str(q).startswith("reply_") for q in declared)
