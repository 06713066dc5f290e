"""The wire server's own cost per message, without sockets or an event loop.

The sans-IO protocol (``amqpmock.wire.protocol``) is fed the exact bytes a client sends and
its output is taken as bytes, so what is timed is the server's whole per-message path
(frame cutting, decoding, content assembly, the broker core, encoding) and nothing
else. Two workloads, each message with its own message_id as aio-pika sends:

- ``publish-deliver-ack``: a publisher's publish (method, header, body frames), the
  delivery to a consumer (prefetch 100), and the consumer's ack;
- ``rpc``: one call through direct reply-to: the request publish, its delivery, the
  reply publish, its delivery, the responder's ack.

    python bench/sansio.py [--messages 50000] [--size 200] [--profile]

This is the number to watch when changing the hot path; ``bench/wire.py`` has the
end-to-end figures against RabbitMQ.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
import uuid
from typing import Any

from pamqp import body, frame, header
from pamqp.commands import Basic, Channel, Connection, Queue

from amqpmock.fake import Broker
from amqpmock.wire.codec import PROTOCOL_HEADER, FrameReader, MethodFrame
from amqpmock.wire.protocol import AMQPConnection, Switchboard

NOW = 1000.0


def marshal(channel: int, *values: Any) -> bytes:
    return b"".join(frame.marshal(v, channel) for v in values)


class Peer:
    def __init__(self, board: Switchboard) -> None:
        self.conn: AMQPConnection = board.connect(NOW, "127.0.0.1:1")
        self.reader = FrameReader(frame_max=0)
        self.send(PROTOCOL_HEADER)
        self.send(
            marshal(
                0,
                Connection.StartOk(
                    client_properties={"capabilities": {"publisher_confirms": True}},
                    mechanism="PLAIN",
                    response="\0guest\0guest",
                    locale="en_US",
                ),
                Connection.TuneOk(channel_max=2047, frame_max=131072, heartbeat=0),
                Connection.Open(virtual_host="/"),
            )
            + marshal(1, Channel.Open())
        )
        self.take()

    def send(self, data: bytes) -> None:
        self.conn.receive_data(data, NOW)

    def take(self) -> bytes:
        return self.conn.data_to_send()

    def methods(self) -> list[Any]:
        self.reader.feed(self.take())
        return [f.method for f in self.reader if isinstance(f, MethodFrame)]


def publish_bytes(routing_key: str, payload: bytes, **props: Any) -> bytes:
    properties = Basic.Properties(headers={}, delivery_mode=1, priority=0, **props)
    return marshal(
        1,
        Basic.Publish(exchange="", routing_key=routing_key),
        header.ContentHeader(0, len(payload), properties),
        body.ContentBody(payload),
    )


def ack_bytes(tag: int) -> bytes:
    return marshal(1, Basic.Ack(delivery_tag=tag))


def publish_deliver_ack(
    messages: int, size: int, profiler: cProfile.Profile | None = None
) -> float:
    board = Switchboard(Broker())
    publisher, consumer = Peer(board), Peer(board)
    publisher.send(marshal(1, Queue.Declare(queue="q")))
    consumer.send(marshal(1, Basic.Qos(prefetch_count=100), Basic.Consume(queue="q")))
    publisher.take(), consumer.take()
    payload = b"x" * size
    # the client's bytes are made beforehand: only the server's work is timed
    publishes = [publish_bytes("q", payload, message_id=uuid.uuid4().hex) for _ in range(messages)]
    acks = [ack_bytes(tag) for tag in range(1, messages + 1)]
    out = 0
    if profiler is not None:
        profiler.enable()
    began = time.perf_counter()
    for i in range(messages):
        publisher.send(publishes[i])
        out += len(consumer.take())
        consumer.send(acks[i])
    elapsed = time.perf_counter() - began
    if profiler is not None:
        profiler.disable()
    assert out > messages * size, "the consumer did not get the messages"
    return elapsed / messages


def rpc(calls: int, size: int, profiler: cProfile.Profile | None = None) -> float:
    board = Switchboard(Broker())
    caller, responder = Peer(board), Peer(board)
    responder.send(marshal(1, Queue.Declare(queue="rpc"), Basic.Consume(queue="rpc")))
    caller.send(
        marshal(1, Basic.Consume(queue="amq.rabbitmq.reply-to", consumer_tag="r", no_ack=True))
    )
    responder.take(), caller.take()
    payload = b"x" * size
    requests = [
        publish_bytes(
            "rpc",
            payload,
            message_id=uuid.uuid4().hex,
            correlation_id=str(i),
            reply_to="amq.rabbitmq.reply-to",
        )
        for i in range(calls)
    ]
    # the reply goes to the name the responder sees in reply_to: learn it once
    caller.send(requests[0])
    reader = FrameReader(frame_max=0)
    reader.feed(responder.take())
    reply_to = next(f.header.properties.reply_to for f in reader if hasattr(f, "header"))
    responder.send(ack_bytes(1))
    replies = [
        publish_bytes(reply_to, payload, message_id=uuid.uuid4().hex, correlation_id=str(i))
        for i in range(calls)
    ]
    acks = [ack_bytes(tag) for tag in range(2, calls + 2)]
    out = 0
    if profiler is not None:
        profiler.enable()
    began = time.perf_counter()
    for i in range(1, calls):
        caller.send(requests[i])
        responder.take()
        responder.send(replies[i] + acks[i - 1])
        out += len(caller.take())
    elapsed = time.perf_counter() - began
    if profiler is not None:
        profiler.disable()
    assert out > (calls - 1) * size, "the caller did not get the replies"
    return elapsed / (calls - 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    for name, work in (("publish-deliver-ack", publish_deliver_ack), ("rpc", rpc)):
        runs = [work(args.messages, args.size) for _ in range(args.repeat)]
        print(f"{name:20} {min(runs) * 1e6:6.1f} us per message (best of {args.repeat})")
        if args.profile:
            profiler = cProfile.Profile()  # the timed part only
            work(args.messages, args.size, profiler)
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
