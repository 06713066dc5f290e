"""Bad input over real sockets: each gets RabbitMQ's answer, and the server lives on."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pika
import pytest
from pamqp import body, frame
from pamqp.commands import Basic, Connection

from amqpmock.wire.codec import PROTOCOL_HEADER
from amqpmock.wire.protocol import ConnectionSettings
from amqpmock.wire.server import ServerThread

from .rawclient import RawClient

# RabbitMQ waits 3 s before hanging up on a failed handshake; the tests need not.
FAST = ConnectionSettings(silent_close_delay=0.2)


@pytest.fixture
def server() -> Iterator[ServerThread]:
    with ServerThread(settings=FAST) as srv:
        yield srv


def assert_server_still_works(server: ServerThread) -> None:
    """A well-behaved client (pika) can still connect and round-trip a message."""
    params = pika.URLParameters(server.url)
    conn = pika.BlockingConnection(params)
    try:
        ch = conn.channel()
        q = ch.queue_declare("", exclusive=True).method.queue
        ch.basic_publish("", q, b"still alive")
        _, _, got = ch.basic_get(q, auto_ack=True)
        assert got == b"still alive"
    finally:
        conn.close()


def test_wrong_protocol_header(server: ServerThread) -> None:
    with RawClient(server.url) as c:
        c.send_bytes(b"GET / HTTP/1.1\r\n\r\n")
        data, hung_up = c.recv_raw(2)
        assert data == PROTOCOL_HEADER
        assert hung_up
    assert_server_still_works(server)


def test_oversized_frame_is_501(server: ServerThread) -> None:
    with RawClient(server.url) as c:
        c.handshake()
        c.send_bytes(struct.pack(">BHI", 1, 0, 200000) + b"x" * 1000)
        out = c.outcome()
        assert out.close == (
            501,
            "FRAME_ERROR - type 1, all octets = <<>>: {frame_too_large,200000,131064}",
            0,
            0,
        )
        _, hung_up = c.recv_raw(2)  # hung up after the (shortened) grace period
        assert hung_up
    assert_server_still_works(server)


def test_method_on_an_unopened_channel_is_504(server: ServerThread) -> None:
    with RawClient(server.url) as c:
        c.handshake()
        c.send(3, Basic.Qos(prefetch_count=1))
        assert c.outcome().close == (504, "CHANNEL_ERROR - expected 'channel.open'", 60, 10)
        c.send(0, Connection.CloseOk())
        _, hung_up = c.recv_raw(2)
        assert hung_up
    assert_server_still_works(server)


def test_body_without_header_is_505(server: ServerThread) -> None:
    with RawClient(server.url) as c:
        c.handshake()
        c.open_channel()
        c.send(1, body.ContentBody(b"abc"))
        assert c.outcome().close == (
            505,
            "UNEXPECTED_FRAME - expected method frame, got non method frame instead",
            0,
            0,
        )
    assert_server_still_works(server)


def test_unknown_method_drops_the_connection(server: ServerThread) -> None:
    with RawClient(server.url) as c:
        c.handshake()
        c.open_channel()
        c.send_bytes(frame._marshal(1, 1, struct.pack(">HH", 60, 99)))
        out = c.outcome(2)
        assert out.close is None and out.hung_up  # as RabbitMQ 3.10.8: no Close, gone
    assert_server_still_works(server)


@pytest.mark.parametrize(
    ("garbage", "text"),
    [
        (
            b"\xde\xad\xbe\xef" * 20,
            "type 222, all octets = <<>>: {frame_too_large,4024348094,131064}",
        ),
        (b"\x00" * 64, "type 0, all octets = <<>>: {invalid_frame_end_marker,0}"),
        (bytes(range(256)), "type 0, all octets = <<>>: {frame_too_large,50595078,131064}"),
        (
            b"\x01\x00\x00\x00\x00\x00\x02\x00\x0a\xce",
            "type 1, all octets = <<0,10>>: unknown_frame",
        ),
    ],
)
def test_garbage_after_the_handshake_is_501(
    server: ServerThread, garbage: bytes, text: str
) -> None:
    with RawClient(server.url) as c:
        c.handshake()
        c.send_bytes(garbage)
        assert c.outcome().close == (501, "FRAME_ERROR - " + text, 0, 0)
    assert_server_still_works(server)


def test_garbage_during_the_handshake_closes_silently(server: ServerThread) -> None:
    with RawClient(server.url) as c:
        c.send_bytes(PROTOCOL_HEADER)
        c.expect(Connection.Start)
        c.send_bytes(b"\xff" * 100)
        data, hung_up = c.recv_raw(2)
        assert data == b"" and hung_up
    assert_server_still_works(server)


def test_peers_vanishing_mid_frame_do_not_hurt_the_server(server: ServerThread) -> None:
    def vanish() -> None:
        with RawClient(server.url) as c:
            c.handshake()
            c.open_channel()
            c.send_bytes(frame.marshal(Basic.Publish(routing_key="q"), 1)[:9])

    threads = [threading.Thread(target=vanish) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert_server_still_works(server)
    deadline = time.monotonic() + 5
    while server.call(lambda: len(server.broker.connections)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.call(lambda: len(server.broker.connections)) == 0


def test_a_failing_handler_closes_only_its_own_connection(
    server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amqpmock.wire.protocol import AMQPConnection

    original: Callable[..., None] = AMQPConnection.receive_data

    def explode(self: AMQPConnection, data: bytes, now: float) -> None:
        if b"boom" in data:
            raise RuntimeError("a bug")
        original(self, data, now)

    monkeypatch.setattr(AMQPConnection, "receive_data", explode)
    with RawClient(server.url) as c:
        c.handshake()
        c.send_bytes(b"boom")
        _, hung_up = c.recv_raw(2)
        assert hung_up
    assert_server_still_works(server)


def test_a_silent_peer_is_dropped_after_two_heartbeat_intervals(server: ServerThread) -> None:
    with RawClient(server.url) as c:
        c.handshake(heartbeat=1)
        began = time.monotonic()
        data, hung_up = c.recv_raw(4)
        assert hung_up
        assert 1.9 < time.monotonic() - began < 3.0
        assert data == b"\x08\x00\x00\x00\x00\x00\x00\xce" * (len(data) // 8)  # heartbeats only
        assert len(data) // 8 >= 3


def test_half_open_socket_does_not_block_others(server: ServerThread) -> None:
    sock = socket.create_connection((server.host, server.port))
    try:
        sock.sendall(b"AMQP")  # never finishes the header
        assert_server_still_works(server)
    finally:
        sock.close()
