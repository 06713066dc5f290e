"""A stalled network against aio-pika on a virtual clock: the fake server and the client
share one ``VirtualTimeLoop`` (amqpmock.testing.virtual_loop), whose time jumps to the
next timer whenever nothing is ready, so seconds of heartbeats take milliseconds.

The story of tests/server/test_faults.py's aio-pika test, with its times asserted:
``timeout`` stops reads on the client's connection; the fake, hearing nothing, closes it
"missed heartbeats from client, timeout: 2s" 6 s later, at its second heartbeat check in
a row that found nothing, as RabbitMQ 3.10.8 does (tests/server/test_heartbeat_timeout.py
measured a real node: ~5.95 s); the client, hearing nothing either (the fault holds what
the fake sends too), reports the connection stuck once nothing came for aiormq's grace
of (heartbeat + 1) * 3 = 9 s, checked at each of its 1 s heartbeat ticks, so at 10 s;
connect_robust reconnects (a fault holds only the connections open when it was added)
and the restored consumer gets a message.

pika and kombu stay on the wall clock (tests/server/test_faults.py): they are blocking
clients with their own sockets and timers on their own threads, so they need the server
in another thread (``ServerThread``), and a loop cannot tell whether I/O it cannot see
is under way: its time would jump while their bytes are in flight.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import aio_pika
import aio_pika.abc
import pytest

from amqpmock.testing import virtual_loop
from amqpmock.testing.virtual_loop import VirtualTimeLoop
from amqpmock.wire import faults
from amqpmock.wire.server import AMQPServer

WALL_BUDGET = 1.5  # seconds of wall time for what takes ~10 s of virtual time


class _Stamps(logging.Handler):
    """aiormq's log lines, each with the loop time it was written at."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.WARNING)
        self.loop = loop
        self.lines: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((self.loop.time(), record.getMessage()))


@dataclass
class _Seen:
    fake_closed_after: float  # virtual seconds after the fault was added
    fake_reason: str
    client_reported_after: float
    client_report: str
    client_closed_after: float
    client_close_error: str
    reconnected_after: float
    body: bytes
    open_after: int
    wall: float  # wall seconds, fault to message
    jumps: int


@contextlib.contextmanager
def _stamped(logger: str, loop: asyncio.AbstractEventLoop) -> Iterator[_Stamps]:
    stamps = _Stamps(loop)
    logging.getLogger(logger).addHandler(stamps)
    try:
        yield stamps
    finally:
        logging.getLogger(logger).removeHandler(stamps)


async def _stall_and_reconnect() -> _Seen:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeLoop)
    with _stamped("aiormq.connection", loop) as stamps:
        async with AMQPServer() as server:
            connection = await aio_pika.connect_robust(
                server.url + "?heartbeat=2&name=robust", reconnect_interval=0.5
            )
            async with connection:  # closed at the end, even when the test fails
                closed: list[tuple[float, BaseException | None]] = []
                connection.close_callbacks.add(lambda _c, exc: closed.append((loop.time(), exc)))
                reconnected = asyncio.Event()
                connection.reconnect_callbacks.add(lambda *_: reconnected.set())
                channel = await connection.channel()
                queue = await channel.declare_queue("events", auto_delete=True)
                got: asyncio.Queue[bytes] = asyncio.Queue()

                async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                    await message.ack()
                    await got.put(message.body)

                await queue.consume(on_message)
                [stalled] = [
                    conn
                    for conn in server._links
                    if conn.client_properties.get("connection_name") == "robust"
                ]

                async def fake_gives_up() -> float:
                    while not stalled.close_reason:
                        await asyncio.sleep(0.01)
                    return loop.time()

                began, wall_began = loop.time(), time.monotonic()
                assert faults.add(server, "timeout", connection="robust") == 1
                gave_up = asyncio.ensure_future(fake_gives_up())
                await asyncio.wait_for(reconnected.wait(), 30)
                reconnected_at = loop.time()
                closed_before = list(closed)  # not the close at the end
                await channel.default_exchange.publish(aio_pika.Message(b"after"), "events")
                body = await asyncio.wait_for(got.get(), 5)
                fake_closed_at = await asyncio.wait_for(gave_up, 30)
                wall = time.monotonic() - wall_began
                open_now = len(server.broker.connections)
    stuck = [(at, line) for at, line in stamps.lines if "was stuck" in line]
    assert stuck, stamps.lines
    [(client_closed_at, exc)] = closed_before
    return _Seen(
        fake_closed_after=fake_closed_at - began,
        fake_reason=stalled.close_reason,
        client_reported_after=stuck[0][0] - began,
        client_report=stuck[0][1].split(" was stuck. ")[1],
        client_closed_after=client_closed_at - began,
        client_close_error=type(exc).__name__,
        reconnected_after=reconnected_at - began,
        body=body,
        open_after=open_now,
        wall=wall,
        jumps=loop.jumps,
    )


def test_aio_pika_on_a_virtual_clock_reports_the_stall_and_reconnects() -> None:
    seen = virtual_loop.run(_stall_and_reconnect())
    # the fake: the second check in a row that found nothing, as RabbitMQ's (~5.95 s)
    assert 5 <= seen.fake_closed_after < 7, seen
    assert seen.fake_reason == "missed heartbeats from client, timeout: 2s"
    # the client: aiormq's grace is (2 + 1) * 3 = 9 s, looked at every 1 s
    assert 9 < seen.client_reported_after <= 11, seen
    assert seen.client_report == "No frames were received in 9 seconds.", seen
    # aiormq cancels its reader: connect_robust sees a CancelledError and reconnects
    assert seen.client_close_error == "CancelledError", seen
    assert seen.client_closed_after == seen.client_reported_after, seen
    assert 9 < seen.reconnected_after < 12, seen
    assert seen.body == b"after"
    assert seen.open_after == 1, seen  # the stalled one is gone, the new one is open
    # ~10 s of heartbeats, timers and a reconnect took next to no wall time
    assert seen.wall < WALL_BUDGET, seen
    assert seen.jumps > 10, seen


def test_the_virtual_loop_jumps_when_idle_and_waits_for_its_executor() -> None:
    async def main() -> tuple[float, float, float, float]:
        loop = asyncio.get_running_loop()
        began, wall = loop.time(), time.monotonic()
        await asyncio.sleep(3600)
        slept, slept_wall = loop.time() - began, time.monotonic() - wall
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            began, wall = loop.time(), time.monotonic()
            # a 0.2 s job in a thread while a 60 s timer waits: the timer must not win
            job = loop.run_in_executor(pool, time.sleep, 0.2)
            done, _ = await asyncio.wait([job], timeout=60)
            assert done == {job}
            held, held_wall = loop.time() - began, time.monotonic() - wall
        return slept, slept_wall, held, held_wall

    slept, slept_wall, held, held_wall = virtual_loop.run(main())
    assert slept == pytest.approx(3600) and slept_wall < 0.5
    assert held < 1 and 0.15 < held_wall < 5  # waited for the thread, for real
