"""No publisher starves the others while a deep queue fills (issue 23): a client that
pipelines publishes as fast as its socket takes them keeps the server's socket full,
and a new client must still get its Connection.Start at once. Was, with the default
``amqpmock serve`` and 200,000 publishes: one to two seconds (uvloop hands a protocol
everything it can read in one wake-up, up to 32 buffers of 256 kB, seconds of work),
then pauses of a third of a second from full garbage collections of the queued
messages. Now a connection's input is handled READ_SLICE at a time, one slice per loop
round, and ``serve`` freezes what full collections leave (``IdleCollector``).

The server runs as users start it (default options, HTTP side on) in a process of its
own, and the publisher in a thread of this one: they must not share a GIL."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from pamqp.commands import Channel, Connection, Queue

from amqpmock.wire._connection import AMQPConnection
from amqpmock.wire.server import READ_SLICE, AMQPServer

from .rawclient import RawClient
from .test_cli import serving
from .test_fair_dispatch import fill, publish_frames, time_to_connection_start

DEPTH = 200_000


def test_a_new_client_is_answered_while_a_publisher_fills_a_deep_queue() -> None:
    with serving() as (_, url):
        port = int(url.rsplit(":", 1)[1].strip("/"))
        time_to_connection_start("127.0.0.1", port)  # up and answering
        filled = threading.Event()
        failed: list[BaseException] = []

        def publisher() -> None:
            try:
                fill(url, DEPTH)
            except BaseException as exc:  # reported below
                failed.append(exc)
            finally:
                filled.set()

        thread = threading.Thread(target=publisher, daemon=True)
        thread.start()
        waits: list[float] = []
        while not filled.is_set():
            waits.append(time_to_connection_start("127.0.0.1", port))
            time.sleep(0.02)
        thread.join(30)
    assert not failed, failed
    assert len(waits) >= 10, f"the fill took {len(waits)} probes only: raise DEPTH"
    shown = [f"{w * 1000:.0f} ms" for w in sorted(waits)[-5:]]
    # tens of milliseconds here; room for a loaded CI machine, far below the old seconds
    assert max(waits) < 0.4, f"slowest Connection.Start of {len(waits)}: {shown}"


async def test_a_connection_s_input_is_handled_a_slice_at_a_time_and_all_of_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Four megabytes of publishes in one write reach the connection in slices of at
    most READ_SLICE, and not one publish is lost, also when the client closes right
    after its last one."""
    sizes: list[int] = []
    original = AMQPConnection.receive_data

    def counting(self: AMQPConnection, data: bytes, now: float) -> None:
        sizes.append(len(data))
        original(self, data, now)

    monkeypatch.setattr(AMQPConnection, "receive_data", counting)
    one = publish_frames("deep", b"x" * 64)
    count = (4 << 20) // len(one)
    async with AMQPServer() as srv:

        def client() -> int:
            with RawClient(srv.url, timeout=30) as c:
                c.handshake()
                c.open_channel()
                c.send(1, Queue.Declare(queue="deep"))
                c.expect(Queue.DeclareOk, 1)
                c.sock.settimeout(30)  # expect() leaves a short one
                c.send_bytes(one * count)
                c.send(1, Channel.Close(0, "", 0, 0))
                c.expect(Channel.CloseOk, 1, wait=30)
                c.send(0, Connection.Close(200, "bye", 0, 0))
                c.expect(Connection.CloseOk, 0, wait=30)
            with RawClient(srv.url, timeout=30) as c:
                c.handshake()
                c.open_channel()
                c.send(1, Queue.Declare(queue="deep", passive=True))
                return int(c.expect(Queue.DeclareOk, 1, wait=30).message_count)

        assert await asyncio.to_thread(client) == count
    assert max(sizes) <= READ_SLICE
    assert sum(sizes) > 4 << 20  # all of it went through, in many slices
    assert sizes.count(READ_SLICE) >= (4 << 20) // READ_SLICE // 2
