"""The server's own thread runs on asyncio's loop or uvloop's; both serve clients alike."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import aio_pika
import pika
import pytest

from amqpmock.wire.loopthread import loop_factory
from amqpmock.wire.server import AMQPServer, ServerThread


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_blocking_client_round_trip_on_each_loop(loop: str) -> None:
    with ServerThread(loop=loop) as srv:
        conn = pika.BlockingConnection(pika.URLParameters(srv.url))
        channel = conn.channel()
        channel.queue_declare("q")
        channel.basic_publish("", "q", b"hello", pika.BasicProperties(message_id="m1"))
        method, props, body = channel.basic_get("q", auto_ack=True)
        conn.close()
        kind = srv.call(lambda: type(asyncio.get_running_loop()).__module__)
    assert (body, props.message_id, method.redelivered) == (b"hello", "m1", False)
    assert kind.startswith("uvloop" if loop == "uvloop" else "asyncio")


def test_auto_takes_uvloop_when_it_is_installed() -> None:
    import uvloop

    assert loop_factory("auto") is uvloop.new_event_loop
    assert loop_factory("asyncio") is asyncio.new_event_loop


def test_unknown_or_missing_loops_are_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="unknown event loop 'trio'; choose from auto"):
        ServerThread(loop="trio")
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if it were not installed
    with pytest.raises(
        RuntimeError, match=r"uvloop is not installed; pip install 'amqpmock\[fast\]'"
    ):
        loop_factory("uvloop")
    assert loop_factory("auto") is asyncio.new_event_loop


def test_an_async_test_on_uvloop_can_run_the_server_in_its_own_loop() -> None:
    # pytest-asyncio users may run their tests on uvloop: AMQPServer then lives there
    import uvloop

    async def main() -> bytes:
        async with AMQPServer() as srv:
            connection = await aio_pika.connect(srv.url)
            async with connection:
                channel = await connection.channel()
                queue = await channel.declare_queue("q")
                await channel.default_exchange.publish(aio_pika.Message(b"hi"), "q")
                message = await queue.get(timeout=5)
                await message.ack()
                return message.body

    assert uvloop.run(main()) == b"hi"


def test_serve_takes_a_loop_option() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "amqpmock.cli", "serve", "--port", "0", "--loop", "asyncio"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        conn = pika.BlockingConnection(pika.URLParameters(url))
        assert conn.is_open
        conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    bad = subprocess.run(
        [sys.executable, "-m", "amqpmock.cli", "serve", "--loop", "trio"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "invalid choice: 'trio'" in bad.stderr


def test_a_wake_up_already_due_on_uvloop() -> None:
    # uvloop's call_at hands back a plain Handle (no when()) for a time already past;
    # the server must still compare and replace its wake-up timer (this crashed
    # data_received once a heartbeat deadline was overdue under load)
    import uvloop

    ran: list[int] = []

    async def main() -> None:
        async with AMQPServer() as srv:
            srv.broker.call_later(0, lambda: ran.append(1))  # due at once
            srv._reschedule()
            srv._reschedule()  # compares against the first, still pending
            for _ in range(50):
                if ran:
                    break
                await asyncio.sleep(0.01)

    uvloop.run(main())
    assert ran == [1]


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_the_server_acknowledges_reads_at_once(loop: str) -> None:
    # clients that leave Nagle on (Node's amqplib by default) otherwise wait for the
    # kernel's delayed ACK, ~40 ms, in the middle of every publish. Linux forgets
    # TCP_QUICKACK after sending an ACK (getsockopt cannot show it), so what is checked
    # is that every read sets it again on the real socket
    import socket

    calls: list[tuple[int, int, int]] = []

    class Recording:
        def __init__(self, sock: Any) -> None:
            self.sock = sock

        def setsockopt(self, level: int, option: int, value: int) -> None:
            calls.append((level, option, value))
            self.sock.setsockopt(level, option, value)

    with ServerThread(loop=loop) as srv:
        conn = pika.BlockingConnection(pika.URLParameters(srv.url))
        channel = conn.channel()

        def record() -> None:
            for link in srv.server._links.values():
                assert link._quickack is not None
                link._quickack = Recording(link._quickack)

        srv.call(record)
        for i in range(3):
            channel.queue_declare(f"q{i}")
        conn.close()
    assert len(calls) >= 3
    assert set(calls) == {(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)}
