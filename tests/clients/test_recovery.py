"""Real clients' own recovery across amqp_broker.restart / crash: aio-pika's robust
connection reconnects once the broker is back and declares its topology and consumers
again; kombu's ensure() retries a publish through the outage."""

from __future__ import annotations

import asyncio
import time

import aio_pika
import kombu

from amqpmock.testing.harness import BrokerFixture


async def _robust_consumer(
    url: str,
) -> tuple[aio_pika.abc.AbstractRobustConnection, asyncio.Queue[bytes], asyncio.Event]:
    connection = await aio_pika.connect_robust(url, reconnect_interval=0.1)
    reconnected = asyncio.Event()
    connection.reconnect_callbacks.add(lambda *_: reconnected.set())
    channel = await connection.channel()
    exchange = await channel.declare_exchange("orders", "topic", durable=True)
    # transient and auto-delete: gone in the restart, so only a re-declare brings it back
    queue = await channel.declare_queue("order-worker", auto_delete=True)
    await queue.bind(exchange, "order.*")
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await message.ack()
        await received.put(message.body)

    await queue.consume(on_message)
    return connection, received, reconnected


async def _restored(amqp_broker: BrokerFixture, crash: bool) -> float:
    connection, received, reconnected = await _robust_consumer(amqp_broker.url)
    try:
        began = time.monotonic()
        amqp_broker.restart(down_for=0.5, crash=crash)
        assert "order-worker" not in amqp_broker.queues()
        assert amqp_broker.down
        await asyncio.wait_for(reconnected.wait(), 10)
        took = time.monotonic() - began
        # exchange, queue, binding and consumer declared again on the restarted broker
        assert await asyncio.to_thread(amqp_broker.consumers, "order-worker")
        await asyncio.to_thread(amqp_broker.publish, "orders", "order.created", b"after")
        assert await asyncio.wait_for(received.get(), 5) == b"after"
        return took
    finally:
        await connection.close()


async def test_aio_pika_robust_connection_is_restored_after_a_restart(
    amqp_broker: BrokerFixture,
) -> None:
    took = await _restored(amqp_broker, crash=False)
    assert took >= 0.4  # it was refused while the broker was down


async def test_aio_pika_robust_connection_is_restored_after_a_crash(
    amqp_broker: BrokerFixture,
) -> None:
    took = await _restored(amqp_broker, crash=True)
    assert took >= 0.4


def test_kombu_ensure_retries_a_publish_through_a_restart(amqp_broker: BrokerFixture) -> None:
    queue = kombu.Queue("invoices", kombu.Exchange("billing", "direct"), "invoice")
    with kombu.Connection(amqp_broker.url) as conn:
        producer = conn.Producer()
        publish = conn.ensure(producer, producer.publish, max_retries=20, interval_start=0.1)
        declare = {"exchange": queue.exchange, "routing_key": "invoice", "declare": [queue]}
        publish({"n": 1}, delivery_mode=1, **declare)  # transient
        publish({"n": 2}, **declare)  # kombu's default: persistent
        amqp_broker.restart(down_for=0.5)
        # the first attempt finds the connection closed (320), then the broker refused
        # while down; ensure() reconnects and declares the queue again
        publish({"n": 3}, **declare)
    # the queue is durable (kombu's default): the persistent message survived
    assert [m.body for m in amqp_broker.messages("invoices")] == [b'{"n": 2}', b'{"n": 3}']
