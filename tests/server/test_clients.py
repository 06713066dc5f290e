"""Real, unmodified client libraries against the fake over loopback."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aio_pika
import aiormq
import amqp
import kombu
import pika
import pika.exceptions
import pytest
from aio_pika.patterns import RPC

from amqpmock.wire.server import AMQPServer, ServerThread


@pytest.fixture
async def server() -> AsyncIterator[AMQPServer]:
    async with AMQPServer() as srv:
        yield srv


@pytest.fixture
def server_thread() -> Iterator[ServerThread]:
    with ServerThread() as srv:
        yield srv


# -- aio-pika -------------------------------------------------------------------------


async def test_url_names_the_default_user_and_vhost(server: AMQPServer) -> None:
    assert server.url == f"amqp://guest:guest@127.0.0.1:{server.port}/"
    assert server.port > 0


async def test_aio_pika_publish_consume_ack(server: AMQPServer) -> None:
    connection = await aio_pika.connect(server.url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=2)
        queue = await channel.declare_queue("work", durable=True)
        for i in range(5):
            await channel.default_exchange.publish(
                aio_pika.Message(f"job {i}".encode(), headers={"n": i}), routing_key="work"
            )
        got = []
        async with queue.iterator() as messages:
            async for message in messages:
                got.append((message.body, message.headers["n"]))
                await message.ack()
                if len(got) == 5:
                    break
        assert got == [(f"job {i}".encode(), i) for i in range(5)]
    assert server.broker.messages("work") == []
    assert server.broker.connections == {}


async def test_aio_pika_large_message_crosses_frame_boundaries(server: AMQPServer) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB: eight frames at frame_max 131072
    async with await aio_pika.connect(server.url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue("", exclusive=True)
        await channel.default_exchange.publish(aio_pika.Message(payload), routing_key=queue.name)
        message = await queue.get(timeout=5)
        assert message is not None
        assert message.body == payload
        await message.ack()


async def test_aio_pika_publisher_confirms_and_mandatory_return(server: AMQPServer) -> None:
    async with await aio_pika.connect(server.url) as connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        with pytest.raises(aio_pika.exceptions.DeliveryError) as caught:
            await channel.default_exchange.publish(
                aio_pika.Message(b"lost"), routing_key="nobody-home", mandatory=True
            )
        assert caught.value.message.body == b"lost"


async def test_aio_pika_channel_error_keeps_the_connection(server: AMQPServer) -> None:
    async with await aio_pika.connect(server.url) as connection:
        channel = await connection.channel()
        with pytest.raises(aio_pika.exceptions.ChannelNotFoundEntity) as caught:
            await channel.declare_queue("missing", passive=True)
        assert "NOT_FOUND - no queue 'missing' in vhost '/'" in str(caught.value)
        channel = await connection.channel()
        queue = await channel.declare_queue("", exclusive=True)
        assert queue.name.startswith("amq.gen-")


async def test_aio_pika_rpc_pattern(server: AMQPServer) -> None:
    async def multiply(*, x: int, y: int) -> int:
        return x * y

    async with (
        await aio_pika.connect(server.url) as server_conn,
        await aio_pika.connect(server.url) as client_conn,
    ):
        server_rpc = await RPC.create(await server_conn.channel())
        await server_rpc.register("multiply", multiply, auto_delete=True)
        client_rpc = await RPC.create(await client_conn.channel())
        results = await asyncio.gather(*(client_rpc.proxy.multiply(x=i, y=7) for i in range(10)))
        assert results == [i * 7 for i in range(10)]
        await client_rpc.close()
        await server_rpc.close()


async def test_aio_pika_robust_connection_survives_a_server_restart() -> None:
    first = await AMQPServer().start()
    port = first.port
    connection = await aio_pika.connect_robust(first.url, reconnect_interval=0.1)
    reconnected = asyncio.Event()
    connection.reconnect_callbacks.add(lambda *_: reconnected.set())
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue("survivor", auto_delete=False)
        received: asyncio.Queue[bytes] = asyncio.Queue()

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await message.ack()
            await received.put(message.body)

        await queue.consume(on_message)
        await first.stop()
        second = await AMQPServer(port=port).start()
        try:
            await asyncio.wait_for(reconnected.wait(), 10)
            # the robust connection declared its queue and consumer again on the new broker
            publisher = await aio_pika.connect(second.url)
            async with publisher:
                pub_channel = await publisher.channel()
                await pub_channel.default_exchange.publish(
                    aio_pika.Message(b"after restart"), routing_key="survivor"
                )
                assert await asyncio.wait_for(received.get(), 5) == b"after restart"
            assert "survivor" in second.broker.queues()
        finally:
            await connection.close()
            await second.stop()
    finally:
        await first.stop()


async def test_aio_pika_sees_the_shutdown_close(server: AMQPServer) -> None:
    connection = await aio_pika.connect(server.url)
    closed: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
    connection.close_callbacks.add(lambda _conn, exc: closed.set_result(exc))
    await server.stop()
    exc = await asyncio.wait_for(closed, 5)
    assert "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'" in str(
        exc
    )


# -- aiormq ---------------------------------------------------------------------------


async def test_aiormq_publish_get_and_consume(server: AMQPServer) -> None:
    connection = await aiormq.connect(server.url)
    try:
        channel = await connection.channel()
        declare = await channel.queue_declare("aiormq-q")
        assert declare.queue == "aiormq-q"
        await channel.basic_publish(b"one", routing_key="aiormq-q")
        await channel.basic_publish(b"two", routing_key="aiormq-q")
        got = await channel.basic_get("aiormq-q", no_ack=True)
        assert got.body == b"one"
        consumed: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        async def on_message(message: aiormq.abc.DeliveredMessage) -> None:
            await message.channel.basic_ack(message.delivery.delivery_tag)
            consumed.set_result(message.body)

        await channel.basic_consume("aiormq-q", on_message)
        assert await asyncio.wait_for(consumed, 5) == b"two"
    finally:
        await connection.close()
    assert server.broker.messages("aiormq-q") == []


# -- pika -----------------------------------------------------------------------------


def test_pika_blocking_connection(server_thread: ServerThread) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(server_thread.url))
    try:
        ch = conn.channel()
        ch.exchange_declare("logs", exchange_type="topic")
        q = ch.queue_declare("", exclusive=True).method.queue
        ch.queue_bind(q, "logs", routing_key="app.*.error")
        ch.basic_publish("logs", "app.web.error", b"boom", pika.BasicProperties(priority=2))
        ch.basic_publish("logs", "app.web.info", b"meh")
        method, props, body = ch.basic_get(q)
        assert method is not None and body == b"boom" and props.priority == 2
        ch.basic_ack(method.delivery_tag)
        method, _, _ = ch.basic_get(q)
        assert method is None  # the info message matched nothing
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as caught:
            ch.queue_declare("missing", passive=True)
        assert caught.value.reply_code == 404
        assert conn.is_open
    finally:
        conn.close()


def test_pika_headers_keep_order_and_types(server_thread: ServerThread) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(server_thread.url))
    try:
        ch = conn.channel()
        ch.queue_declare("dead")
        ch.queue_declare(
            "src", arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dead"}
        )
        headers = {"zeta": 1, "alpha": 2**40, "mid": "text", "raw": b"\xff"}
        ch.basic_publish("", "src", b"m", pika.BasicProperties(headers=headers))
        method, props, _ = ch.basic_get("src")
        assert method is not None
        assert list(props.headers) == ["zeta", "alpha", "mid", "raw"]  # not sorted
        assert props.headers == headers
        assert type(props.headers["zeta"]) is int  # sent as I, passed on as I
        assert type(props.headers["alpha"]) is pika.compat.long  # sent as l
        ch.basic_reject(method.delivery_tag, requeue=False)
        method, props, _ = ch.basic_get("dead", auto_ack=True)
        assert method is not None
        (death,) = props.headers["x-death"]
        # RabbitMQ sends the count as a 64-bit long (Java clients cast it to Long)
        assert death["count"] == 1 and type(death["count"]) is pika.compat.long
    finally:
        conn.close()


def test_pika_blocking_consume_and_heartbeats(server_thread: ServerThread) -> None:
    params = pika.URLParameters(server_thread.url + "?heartbeat=1")
    conn = pika.BlockingConnection(params)
    try:
        ch = conn.channel()
        ch.queue_declare("hb")
        conn.sleep(3.5)  # three heartbeat intervals: both sides must keep it alive
        assert conn.is_open
        ch.basic_publish("", "hb", b"x" * 300_000)
        for method, _props, body in ch.consume("hb", inactivity_timeout=5):
            assert method is not None
            assert body == b"x" * 300_000
            ch.basic_ack(method.delivery_tag)
            break
        ch.cancel()
    finally:
        conn.close()


def test_pika_connection_blocked_notification(server_thread: ServerThread) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(server_thread.url))
    events: list[str] = []
    conn.add_on_connection_blocked_callback(lambda _c, m: events.append(m.method.reason))
    conn.add_on_connection_unblocked_callback(lambda _c, _m: events.append("unblocked"))
    try:
        ch = conn.channel()
        ch.queue_declare("b")
        server_thread.call(lambda: server_thread.broker.block("low on memory"))
        ch.basic_publish("", "b", b"1")
        conn.process_data_events(time_limit=0.5)
        assert events == ["low on memory"]
        server_thread.call(server_thread.broker.unblock)
        deadline = time.monotonic() + 5
        while "unblocked" not in events and time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.1)
        assert events == ["low on memory", "unblocked"]
        assert ch.queue_declare("b", passive=True).method.message_count == 1
    finally:
        conn.close()


def test_pika_wrong_password_is_refused(server_thread: ServerThread) -> None:
    url = server_thread.url.replace("guest:guest", "guest:nope")
    with pytest.raises(pika.exceptions.ProbableAuthenticationError) as caught:
        pika.BlockingConnection(pika.URLParameters(url))
    assert "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN" in str(
        caught.value
    )


def test_pika_select_connection(server_thread: ServerThread) -> None:
    result: dict[str, Any] = {}

    def on_open(conn: pika.SelectConnection) -> None:
        conn.channel(on_open_callback=on_channel)

    def on_channel(ch: Any) -> None:
        ch.queue_declare("select-q", callback=lambda _f: on_declared(ch))

    def on_declared(ch: Any) -> None:
        ch.basic_consume("select-q", lambda c, m, p, b: on_message(c, m, b))
        ch.basic_publish("", "select-q", b"via select")

    def on_message(ch: Any, method: Any, body: bytes) -> None:
        result["body"] = body
        ch.basic_ack(method.delivery_tag)
        ch.connection.close()

    def on_closed(conn: pika.SelectConnection, reason: Exception) -> None:
        result["closed"] = reason
        conn.ioloop.stop()

    conn = pika.SelectConnection(
        pika.URLParameters(server_thread.url),
        on_open_callback=on_open,
        on_open_error_callback=lambda c, e: on_closed(c, e),
        on_close_callback=on_closed,
    )
    conn.ioloop.call_later(10, conn.ioloop.stop)
    conn.ioloop.start()
    assert result["body"] == b"via select"
    assert isinstance(result["closed"], pika.exceptions.ConnectionClosedByClient)
    assert server_thread.call(lambda: server_thread.broker.messages("select-q")) == []


# -- kombu over py-amqp ---------------------------------------------------------------


def test_kombu_simple_queue_and_producer_consumer(server_thread: ServerThread) -> None:
    url = server_thread.url.replace("amqp://", "pyamqp://")
    with kombu.Connection(url) as conn:
        simple = conn.SimpleQueue("kombu-simple")
        simple.put({"hello": "world"})
        message = simple.get(block=True, timeout=5)
        assert message.payload == {"hello": "world"}
        message.ack()
        simple.close()

        exchange = kombu.Exchange("tasks", type="direct")
        queue = kombu.Queue("tasks-q", exchange, routing_key="t")
        producer = conn.Producer()
        producer.publish(
            {"n": 1}, exchange=exchange, routing_key="t", declare=[queue], serializer="json"
        )
        got: list[Any] = []

        def on_message(body: Any, message: Any) -> None:
            got.append(body)
            message.ack()

        with conn.Consumer(queue, callbacks=[on_message]):
            conn.drain_events(timeout=5)
        assert got == [{"n": 1}]


def test_py_amqp_logs_in_with_amqplain(server_thread: ServerThread) -> None:
    # kombu asks for PLAIN; py-amqp on its own prefers AMQPLAIN when the server offers it
    conn = amqp.Connection(f"{server_thread.host}:{server_thread.port}", "guest", "guest")
    conn.connect()
    try:
        wire = server_thread.server.switchboard
        assert server_thread.call(lambda: [c.mechanism for c in wire.connections]) == ["AMQPLAIN"]
        ch = conn.channel()
        ch.queue_declare("py-amqp-q")
        ch.basic_publish(amqp.Message("hi"), routing_key="py-amqp-q")
        got = ch.basic_get("py-amqp-q", no_ack=True)
        assert got is not None and got.body == "hi"
    finally:
        conn.close()


def test_many_clients_at_once(server_thread: ServerThread) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            conn = pika.BlockingConnection(pika.URLParameters(server_thread.url))
            ch = conn.channel()
            q = ch.queue_declare("", exclusive=True).method.queue
            for i in range(20):
                ch.basic_publish("", q, f"{n}-{i}".encode())
            bodies = []
            for _ in range(20):
                _, _, body = ch.basic_get(q, auto_ack=True)
                bodies.append(body)
            assert bodies == [f"{n}-{i}".encode() for i in range(20)]
            conn.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
