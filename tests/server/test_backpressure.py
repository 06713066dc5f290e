"""A consumer that stops reading: its messages wait in the queue, not in our buffers.

RabbitMQ stops sending to a client whose socket is backed up (its writer blocks, and
credit flow stops the queue from handing it more); the messages stay ready in their
queue. The fake does the same: while a connection's write buffer is over asyncio's
high-water mark its consumers get nothing, and once it catches up every message
arrives, in order, exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pika
import pytest
from pamqp.commands import Basic

from amqpmock.wire.codec import BodyFrame, HeaderFrame, MethodFrame
from amqpmock.wire.server import ServerThread

from .rawclient import RawClient

MESSAGES = 300
SIZE = 256 * 1024  # 75 MB in all: far more than the kernel's socket buffers hold


@pytest.fixture(params=["asyncio", "uvloop"])
def server(request: pytest.FixtureRequest) -> Iterator[ServerThread]:
    # the transports of both loops must pause and resume the same way
    with ServerThread(loop=request.param) as srv:
        yield srv


def _body(i: int) -> bytes:
    return f"{i:08d}".encode() + bytes([i % 251]) * (SIZE - 8)


def _largest_write_buffer(srv: ServerThread) -> int:
    return srv.call(
        lambda: max(
            (link.transport.get_write_buffer_size() for link in srv.server._links.values()),
            default=0,
        )
    )


def test_a_stalled_consumer_leaves_its_messages_ready_in_the_queue(server: ServerThread) -> None:
    consumer = RawClient(server.url, timeout=10)
    consumer.handshake()
    consumer.open_channel(1)
    consumer.send(1, Basic.Qos(prefetch_count=0))
    consumer.expect(Basic.QosOk, 1)
    publisher = pika.BlockingConnection(pika.URLParameters(server.url))
    try:
        channel = publisher.channel()
        channel.queue_declare("slow")
        consumer.send(1, Basic.Consume(queue="slow", consumer_tag="c", no_ack=True))
        consumer.expect(Basic.ConsumeOk, 1)
        channel.confirm_delivery()
        # the consumer reads nothing from here on
        for i in range(MESSAGES):
            channel.basic_publish("", "slow", _body(i))

        ready = server.call(lambda: server.broker.messages("slow"))
        buffered = _largest_write_buffer(server)
        # without backpressure all 75 MB would sit in the consumer's write buffer
        assert buffered < 4 * SIZE, f"{buffered} octets buffered for a stalled consumer"
        assert len(ready) > MESSAGES // 2, f"only {len(ready)} of {MESSAGES} still ready"

        # the consumer catches up: everything arrives, in order, once
        seen: list[int] = []
        sizes: dict[int, int] = {}
        deadline = time.monotonic() + 60
        current = -1
        while len(seen) < MESSAGES or sizes.get(current, 0) < SIZE:
            assert time.monotonic() < deadline, f"{len(seen)} of {MESSAGES} delivered"
            frames, hung_up = consumer.frames(0.05)
            assert not hung_up
            for item in frames:
                if isinstance(item, MethodFrame):
                    assert isinstance(item.method, Basic.Deliver), item.method
                elif isinstance(item, BodyFrame):
                    if current < 0 or sizes[current] == SIZE:
                        current = int(item.data[:8])
                        seen.append(current)
                        sizes[current] = 0
                    sizes[current] += len(item.data)
                else:
                    assert isinstance(item, HeaderFrame)
        assert seen == list(range(MESSAGES))
        assert server.call(lambda: server.broker.messages("slow")) == []
    finally:
        publisher.close()
        consumer.close()
