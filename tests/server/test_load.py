"""Load: 1,000 concurrent aiormq connections publishing, consuming and acking, some of
them dropped mid-flight with unacked messages; afterwards every message is accounted for.

The roles, all connected at the same time before any work starts:
- publishers publish with publisher confirms, each message carrying a unique message id;
- consumers ack what they receive until most messages are acked, then cancel and close
  cleanly (what they hold unacked at that moment goes back, redelivered);
- early droppers take a prefetch's worth of messages and abort their socket (RST) while
  the others are still publishing and consuming: their messages must come back, marked
  redelivered, and be consumed by someone else;
- late droppers do the same after the consumers stopped, so some of what stays queued
  at the end is redelivered.

Accounting, by message id: every confirmed message is either acked exactly once, or
still queued exactly once; a queued message is marked ``redelivered`` exactly when some
client had been given it; a delivery marked ``redelivered`` went to someone before.

A second test checks that the server's cost per message does not grow with the number
of open connections (1,000 idle ones): each socket event once scanned them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import struct
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiormq
import aiormq.abc
import pytest
from aiormq.connection import TransportFactory
from pamqp import frame
from pamqp.commands import Basic, Connection
from yarl import URL

from amqpmock.wire.codec import PROTOCOL_HEADER
from amqpmock.wire.server import AMQPServer

QUEUES = [f"load.{i}" for i in range(10)]
PUBLISHERS = 480
CONSUMERS = 400
EARLY_DROPPERS = 90
LATE_DROPPERS = 30
CLIENTS = PUBLISHERS + CONSUMERS + EARLY_DROPPERS + LATE_DROPPERS
PER_PUBLISHER = 8
TOTAL = PUBLISHERS * PER_PUBLISHER
PER_QUEUE = TOTAL // len(QUEUES)
# The consumers of a queue stop once all but this many of its messages are acked.
LEAVE_PER_QUEUE = 60
CONSUMER_PREFETCH = 4
DROPPER_PREFETCH = 5
# Concurrent handshakes (the listen backlog is 100: more would cost SYN retries).
CONNECT_CONCURRENCY = 64
# The run must finish well within this (it takes seconds), never hang.
DEADLINE = 60.0
# File descriptors: the server's and the clients' ends of each socket, plus slack.
FDS_NEEDED = 2 * (CLIENTS + 1) + 256


def raise_open_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.fail(
                f"the load test needs {needed} open files but the hard limit is {hard}: "
                f"raise it (ulimit -Hn {needed}) and run again"
            )
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        except (ValueError, OSError) as exc:
            pytest.fail(f"cannot raise the open-file limit to {needed} (hard {hard}): {exc}")


class AbortableTCP(TransportFactory):
    """aiormq's plain TCP transport, keeping the writer so the test can abort it."""

    def __init__(self) -> None:
        self.writer: asyncio.StreamWriter | None = None

    async def create(
        self, url: URL, **kwargs: Any
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        kwargs.pop("ssl_context_provider", None)
        reader, writer = await asyncio.open_connection(host=url.host, port=url.port, **kwargs)
        self.writer = writer
        return reader, writer

    def abort(self) -> None:
        """Drop the socket the hard way: linger 0, so the kernel sends a RST."""
        assert self.writer is not None
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


@dataclass
class Ledger:
    """What the clients saw, by message id."""

    confirmed: set[str] = field(default_factory=set)
    acked: list[tuple[str, bool]] = field(default_factory=list)  # (id, redelivered)
    acked_per_queue: Counter[str] = field(default_factory=Counter)
    # ids that some client was given and then gave back without acking
    given_back: set[str] = field(default_factory=set)
    redelivered_seen: set[str] = field(default_factory=set)
    deliveries: int = 0


@dataclass
class Client:
    role: str
    queue: str
    transport: AbortableTCP
    connection: aiormq.abc.AbstractConnection
    channel: aiormq.abc.AbstractChannel


@pytest.fixture
async def server() -> AsyncIterator[AMQPServer]:
    raise_open_file_limit(FDS_NEEDED)
    # aiormq logs a traceback for each connection the test aborts on purpose
    aiormq_log = logging.getLogger("aiormq")
    level = aiormq_log.level
    aiormq_log.setLevel(logging.CRITICAL)
    try:
        async with AMQPServer() as srv:
            yield srv
    finally:
        aiormq_log.setLevel(level)


async def open_client(url: str, role: str, queue: str, gate: asyncio.Semaphore) -> Client:
    transport = AbortableTCP()
    async with gate:
        # heartbeat 0: a loaded loop must not make anyone miss heartbeats
        connection = await aiormq.connect(f"{url}?heartbeat=0", transport_factory=transport)
        channel = await connection.channel(publisher_confirms=role == "publisher")
    return Client(role, queue, transport, connection, channel)


async def publish(client: Client, index: int, ledger: Ledger) -> None:
    async def one(n: int) -> None:
        message_id = f"m{index}-{n}"
        confirmation = await client.channel.basic_publish(
            message_id.encode().ljust(64, b"."),
            routing_key=client.queue,
            properties=Basic.Properties(message_id=message_id, delivery_mode=1),
        )
        assert isinstance(confirmation, Basic.Ack), confirmation
        ledger.confirmed.add(message_id)

    await asyncio.gather(*(one(n) for n in range(PER_PUBLISHER)))


async def consume_until(client: Client, ledger: Ledger, stop: asyncio.Event) -> None:
    """Ack everything until ``stop`` (its queue is nearly done); then cancel and close,
    handing back what is held."""
    held: dict[int, str] = {}

    async def on_message(message: aiormq.abc.DeliveredMessage) -> None:
        assert isinstance(message.delivery, Basic.Deliver)
        message_id = message.header.properties.message_id
        assert message_id is not None
        redelivered = bool(message.delivery.redelivered)
        ledger.deliveries += 1
        if redelivered:
            ledger.redelivered_seen.add(message_id)
        tag = message.delivery.delivery_tag
        assert tag is not None
        if stop.is_set():
            held[tag] = message_id  # too late: it goes back when the channel closes
            return
        # decide before awaiting: callbacks run concurrently, the quota must hold
        ledger.acked_per_queue[client.queue] += 1
        if ledger.acked_per_queue[client.queue] >= PER_QUEUE - LEAVE_PER_QUEUE:
            stop.set()
        await client.channel.basic_ack(tag)
        ledger.acked.append((message_id, redelivered))

    await client.channel.basic_qos(prefetch_count=CONSUMER_PREFETCH)
    consume_ok = await client.channel.basic_consume(client.queue, on_message, no_ack=False)
    await stop.wait()
    assert consume_ok.consumer_tag is not None
    await client.channel.basic_cancel(consume_ok.consumer_tag)
    await client.connection.close()  # CloseOk: every ack before it was processed
    ledger.given_back.update(held.values())


async def take_and_drop(client: Client, ledger: Ledger, pause: float) -> int:
    """Consume a prefetch's worth without acking, then abort the socket."""
    held: list[str] = []
    full = asyncio.Event()

    async def on_message(message: aiormq.abc.DeliveredMessage) -> None:
        assert isinstance(message.delivery, Basic.Deliver)
        message_id = message.header.properties.message_id
        assert message_id is not None
        ledger.deliveries += 1
        if message.delivery.redelivered:
            ledger.redelivered_seen.add(message_id)
        held.append(message_id)
        if len(held) >= DROPPER_PREFETCH:
            full.set()

    await client.channel.basic_qos(prefetch_count=DROPPER_PREFETCH)
    await client.channel.basic_consume(client.queue, on_message, no_ack=False)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(full.wait(), 10.0)
    await asyncio.sleep(pause)
    # Whatever arrived is unacked: the broker must take it all back.
    ledger.given_back.update(held)
    client.transport.abort()
    with contextlib.suppress(Exception):
        await client.connection.close()
    return len(held)


async def drain(url: str) -> dict[str, list[tuple[str, bool]]]:
    """Everything still queued, by basic.get over the wire: (id, redelivered) in order."""
    queued: dict[str, list[tuple[str, bool]]] = {}
    connection = await aiormq.connect(url)
    try:
        channel = await connection.channel()
        for queue in QUEUES:
            got = queued.setdefault(queue, [])
            while True:
                message = await channel.basic_get(queue, no_ack=True)
                if not isinstance(message.delivery, Basic.GetOk):
                    break
                message_id = message.header.properties.message_id
                assert message_id is not None
                got.append((message_id, bool(message.delivery.redelivered)))
    finally:
        await connection.close()
    return queued


async def wait_for_connections(server: AMQPServer, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(server.switchboard.connections) != count:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{len(server.switchboard.connections)} connections still open, "
                f"expected {count} after {timeout}s"
            )
        await asyncio.sleep(0.05)


async def run_load(server: AMQPServer) -> None:
    ledger = Ledger()
    setup = await aiormq.connect(server.url)
    setup_channel = await setup.channel()
    for queue in QUEUES:
        await setup_channel.queue_declare(queue)
    await setup.close()

    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    roles = (
        ["publisher"] * PUBLISHERS
        + ["consumer"] * CONSUMERS
        + ["early dropper"] * EARLY_DROPPERS
        + ["late dropper"] * LATE_DROPPERS
    )
    clients = await asyncio.gather(
        *(
            open_client(server.url, role, QUEUES[i % len(QUEUES)], gate)
            for i, role in enumerate(roles)
        )
    )
    # All of them at once, on the server's side too.
    assert len(server.switchboard.connections) == CLIENTS
    assert len(server.broker.connections) == CLIENTS

    stops = {queue: asyncio.Event() for queue in QUEUES}
    by_role: dict[str, list[Client]] = {}
    for client in clients:
        by_role.setdefault(client.role, []).append(client)
    # The early droppers subscribe first, so round-robin gives each a prefetch's worth.
    early = [
        asyncio.create_task(take_and_drop(c, ledger, pause=0.01 * (i % 20)))
        for i, c in enumerate(by_role["early dropper"])
    ]
    await asyncio.sleep(0)
    consumers = [
        asyncio.create_task(consume_until(c, ledger, stops[c.queue])) for c in by_role["consumer"]
    ]
    await asyncio.gather(*(publish(c, i, ledger) for i, c in enumerate(by_role["publisher"])))
    assert len(ledger.confirmed) == TOTAL
    early_held = await asyncio.gather(*early)
    await asyncio.gather(*consumers)
    late_held = await asyncio.gather(
        *(take_and_drop(c, ledger, pause=0.0) for c in by_role["late dropper"])
    )
    await asyncio.gather(*(c.connection.close() for c in by_role["publisher"]))
    await wait_for_connections(server, 0, timeout=10.0)

    # The broker's own view, before draining: nothing unacked, nobody consuming.
    in_broker: dict[str, bool] = {}
    for queue in QUEUES:
        q = server.broker.queue(queue)
        assert q.consumers == []
        for entry in q.entries():
            message_id = entry.message.properties.message_id
            assert message_id is not None and message_id not in in_broker
            in_broker[message_id] = entry.redelivered

    queued_lists = await drain(server.url)
    queued: dict[str, bool] = {}
    for queue, items in queued_lists.items():
        for message_id, redelivered in items:
            assert message_id not in queued, f"{message_id} queued twice"
            assert message_id.startswith("m")
            queued[message_id] = redelivered
        publisher_of = {m: int(m[1:].split("-")[0]) for m, _ in items}
        assert all(QUEUES[p % len(QUEUES)] == queue for p in publisher_of.values())
    assert queued == in_broker, "basic.get disagrees with the broker's queues"

    # -- accounting -------------------------------------------------------------------
    acked_counts = Counter(message_id for message_id, _ in ledger.acked)
    twice = sorted(m for m, n in acked_counts.items() if n > 1)
    assert not twice, f"acked more than once: {twice[:10]}"
    both = sorted(set(acked_counts) & set(queued))
    assert not both, f"acked and still queued: {both[:10]}"
    lost = sorted(ledger.confirmed - set(acked_counts) - set(queued))
    assert not lost, f"{len(lost)} confirmed messages lost: {lost[:10]}"
    invented = sorted((set(acked_counts) | set(queued)) - ledger.confirmed)
    assert not invented, f"never published: {invented[:10]}"

    # redelivered exactly when some client had been given it before
    wrong_flag = sorted(
        m for m, redelivered in queued.items() if redelivered != (m in ledger.given_back)
    )
    assert not wrong_flag, f"queued with the wrong redelivered flag: {wrong_flag[:10]}"
    assert ledger.redelivered_seen <= ledger.given_back, sorted(
        ledger.redelivered_seen - ledger.given_back
    )[:10]

    # The scenario did what it says: drops with messages in flight, redeliveries
    # consumed mid-run, and redelivered messages still queued at the end.
    assert sum(early_held) > 0 and sum(late_held) > 0, (early_held, late_held)
    assert all(early_held), f"an early dropper got nothing: {early_held}"
    assert any(redelivered for _, redelivered in ledger.acked)
    assert any(queued.values())
    assert len(acked_counts) >= TOTAL - LEAVE_PER_QUEUE * len(QUEUES)
    assert server.broker.connections == {}


async def test_thousand_connections_every_message_accounted_for(server: AMQPServer) -> None:
    began = time.monotonic()
    await asyncio.wait_for(run_load(server), DEADLINE)
    elapsed = time.monotonic() - began
    print(f"load test: {CLIENTS} connections, {TOTAL} messages in {elapsed:.1f}s")


# -- the server's cost per event must not grow with the number of connections ----------

IDLE_CONNECTIONS = 1000
ROUND_TRIPS = 300


def pipelined_handshake() -> bytes:
    """Header, StartOk, TuneOk and Open in one write: an idle, open connection."""
    return PROTOCOL_HEADER + b"".join(
        frame.marshal(method, 0)
        for method in (
            Connection.StartOk(
                client_properties={}, mechanism="PLAIN", response="\0guest\0guest", locale="en_US"
            ),
            Connection.TuneOk(channel_max=2047, frame_max=131072, heartbeat=0),
            Connection.Open(virtual_host="/"),
        )
    )


async def open_idle(url: str, count: int) -> list[asyncio.StreamWriter]:
    """``count`` open connections that then say nothing (heartbeats off)."""
    parts = URL(url)
    assert parts.host is not None and parts.port is not None
    handshake = pipelined_handshake()
    writers: list[asyncio.StreamWriter] = []

    async def one() -> None:
        reader, writer = await asyncio.open_connection(parts.host, parts.port)
        writer.write(handshake)
        received = b""
        open_ok = frame.marshal(Connection.OpenOk(), 0)
        while not received.endswith(open_ok):
            chunk = await reader.read(65536)
            assert chunk, "the server hung up on an idle connection's handshake"
            received += chunk
        writers.append(writer)

    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def gated() -> None:
        async with gate:
            await one()

    await asyncio.gather(*(gated() for _ in range(count)))
    return writers


async def confirmed_round_trips(url: str, count: int) -> float:
    """Seconds for ``count`` sequential confirmed publishes on one aiormq channel."""
    connection = await aiormq.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        declared = await channel.queue_declare("", exclusive=True)
        assert declared.queue is not None
        began = time.perf_counter()
        for _ in range(count):
            confirmation = await channel.basic_publish(b"x" * 200, routing_key=declared.queue)
            assert isinstance(confirmation, Basic.Ack)
        return time.perf_counter() - began
    finally:
        await connection.close()


async def test_round_trip_cost_does_not_grow_with_idle_connections(server: AMQPServer) -> None:
    await confirmed_round_trips(server.url, 50)  # warm up
    alone = min([await confirmed_round_trips(server.url, ROUND_TRIPS) for _ in range(3)])
    writers = await open_idle(server.url, IDLE_CONNECTIONS)
    try:
        assert len(server.switchboard.connections) == IDLE_CONNECTIONS
        crowded = min([await confirmed_round_trips(server.url, ROUND_TRIPS) for _ in range(3)])
    finally:
        for writer in writers:
            writer.transport.abort()
    # RabbitMQ's cost per message does not depend on idle connections; allow 3x noise.
    assert crowded < 3 * alone, (
        f"{ROUND_TRIPS} confirmed publishes took {alone * 1000:.0f} ms alone and "
        f"{crowded * 1000:.0f} ms with {IDLE_CONNECTIONS} idle connections open "
        f"({crowded / alone:.1f}x)"
    )
