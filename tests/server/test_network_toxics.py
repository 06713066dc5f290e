"""The other network faults, with real clients on the wall clock: ``bandwidth`` (the
broker's bytes at a rate), ``slicer`` (in small pieces, a client's reader puts frames
together), ``half_open`` (the broker has lost the connection, the client's socket
swallows everything until its heartbeats tell) and faults for one node of a cluster."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pika
import pika.exceptions as pe
import pytest

from amqpmock.clocks import AdjustableClock
from amqpmock.testing.harness import BrokerFixture
from amqpmock.wire.codec import PROTOCOL_HEADER
from amqpmock.wire.server import ServerThread

from .test_faults import _params, _wait
from .test_restart import call


def test_bandwidth_paces_what_the_broker_sends(amqp_broker: BrokerFixture) -> None:
    amqp_broker.declare_queue("big")
    body = bytes(range(256)) * 160  # 40 KB
    amqp_broker.publish("", "big", body)
    amqp_broker.publish("", "big", body)
    conn = pika.BlockingConnection(_params(amqp_broker.url, "thin", heartbeat=0))
    ch = conn.channel()
    assert amqp_broker.fault("bandwidth", connection="thin", rate=40) == 1
    began = time.monotonic()
    assert ch.basic_get("big", auto_ack=True)[2] == body
    slow = time.monotonic() - began
    amqp_broker.clear_faults()
    began = time.monotonic()
    assert ch.basic_get("big", auto_ack=True)[2] == body
    fast = time.monotonic() - began
    assert 0.9 <= slow < 3.0 and fast < 0.3, (slow, fast)  # 40 KB at 40 KB/s: 1 s
    conn.close()


def _reads_of_the_handshake(url: str) -> list[int]:
    """The sizes of the reads a raw client makes of Connection.Start."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(PROTOCOL_HEADER)
        sizes: list[int] = []
        got = b""
        while len(got) < 7 or len(got) < 8 + int.from_bytes(got[3:7], "big"):
            piece = sock.recv(65536)
            assert piece, "closed before Connection.Start"
            sizes.append(len(piece))
            got += piece
        assert got[0] == 1 and got[-1] == 0xCE  # a whole method frame
        return sizes


def test_slicer_cuts_the_broker_s_bytes_and_clients_still_read_frames(
    amqp_broker: BrokerFixture,
) -> None:
    whole = _reads_of_the_handshake(amqp_broker.url)
    slicer = {"average_size": 4, "size_variation": 3, "delay": 0.002}
    assert amqp_broker.fault("slicer", new=True, **slicer) == 0
    sliced = _reads_of_the_handshake(amqp_broker.url)
    assert len(whole) <= 2 and len(sliced) >= sum(sliced) // 16, (whole, sliced)
    # pika through the slicer: a publish and its delivery, frames in many pieces
    conn = pika.BlockingConnection(_params(amqp_broker.url, "sliced", heartbeat=0))
    ch = conn.channel()
    ch.queue_declare("pieces")
    ch.basic_publish("", "pieces", b"x" * 300, pika.BasicProperties(content_type="text/plain"))
    method, props, body = ch.basic_get("pieces", auto_ack=True)
    assert method is not None and body == b"x" * 300 and props.content_type == "text/plain"
    conn.close()


def test_half_open_the_broker_forgets_the_client_swallows(amqp_broker: BrokerFixture) -> None:
    amqp_broker.declare_queue("jobs")
    amqp_broker.publish("", "jobs", b"job")
    conn = pika.BlockingConnection(_params(amqp_broker.url, "ghost", heartbeat=2))
    ch = conn.channel()
    mine = ch.queue_declare("", exclusive=True).method.queue
    assert ch.basic_get("jobs")[2] == b"job"  # taken, not acked
    assert amqp_broker.fault("half_open", connection="ghost") == 1
    # the broker lost it at once: unacked message back, exclusive queue gone
    assert amqp_broker.connections() == 0
    assert [m.body for m in amqp_broker.messages("jobs")] == [b"job"]
    assert mine not in amqp_broker.queues()
    # the client's writes go nowhere, and nothing comes back but its heartbeat check
    ch.basic_publish("", "jobs", b"lost")
    began = time.monotonic()
    with pytest.raises(pe.AMQPHeartbeatTimeout, match="missed heartbeats"):
        while time.monotonic() - began < 20:
            conn.process_data_events(time_limit=0.1)
    assert 2 <= time.monotonic() - began < 16
    assert [m.body for m in amqp_broker.messages("jobs")] == [b"job"]


def test_half_open_ends_in_a_reset(amqp_broker: BrokerFixture, amqp_management_url: str) -> None:
    conn = pika.BlockingConnection(_params(amqp_broker.url, "ghost", heartbeat=0))
    conn.channel()
    body = {"kind": "half_open", "connection": "ghost", "for": 0.3}
    assert call(amqp_management_url, "POST", "/amqpmock/faults", body) == (200, {"connections": 1})
    assert amqp_broker.connections() == 0
    with pytest.raises(pe.StreamLostError, match="reset by peer"):
        for _ in range(100):
            conn.process_data_events(time_limit=0.05)


@pytest.fixture
def two_nodes() -> Iterator[BrokerFixture]:
    clock = AdjustableClock()
    from amqpmock.fake import Broker

    with ServerThread(Broker(clock=clock), nodes=2) as server:
        yield BrokerFixture(server, clock)


def test_a_fault_for_one_node(two_nodes: BrokerFixture) -> None:
    first, second = (
        pika.BlockingConnection(_params(url, f"on-{i}", heartbeat=0))
        for i, url in enumerate(two_nodes.node_urls)
    )
    ch_first, ch_second = first.channel(), second.channel()
    assert two_nodes.fault("latency", latency=0.4, node="rabbit-2@localhost") == 1
    began = time.monotonic()
    ch_first.queue_declare("a")
    quick = time.monotonic() - began
    began = time.monotonic()
    ch_second.queue_declare("b")
    slow = time.monotonic() - began
    assert quick < 0.2 and 0.4 <= slow < 1.5, (quick, slow)
    # new connections to that node only: reset while it lasts
    assert two_nodes.fault("reset_peer", new=True, node=1, for_=30) == 1
    _wait(lambda: two_nodes.connections() == 1, 2)
    with pytest.raises(pe.AMQPConnectionError):
        pika.BlockingConnection(_params(two_nodes.node_urls[1], "again", heartbeat=0))
    other = pika.BlockingConnection(_params(two_nodes.node_urls[0], "fine", heartbeat=0))
    assert other.channel().queue_declare("b", passive=True).method.queue == "b"
    two_nodes.clear_faults()
    pika.BlockingConnection(_params(two_nodes.node_urls[1], "healed", heartbeat=0)).close()
    other.close()
    first.close()
