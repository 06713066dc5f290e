"""No consumer starves the others (issue #13 item 1): while one no-ack consumer drains a
deep queue as fast as it can read, a new client is still answered at once. Was: with
300,000 ready messages, Connection.Start waited ~1.3 s (1,000,000: 6 s), because the
whole drain ran in one turn of the server's loop.

The server runs as ``amqpmock serve`` and the consumer in a process of its own, as the
issue measured: in one process they would share the GIL and measure that instead."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pamqp import frame, header
from pamqp.body import ContentBody
from pamqp.commands import Basic, Queue

from amqpmock.wire.codec import PROTOCOL_HEADER

from .rawclient import RawClient

ROOT = Path(__file__).resolve().parents[2]
DEPTH = 300_000
ENV = dict(os.environ, PYTHONPATH=str(ROOT))

DRAIN = """
import sys
from pamqp.commands import Basic, Channel
from tests.server.rawclient import RawClient

with RawClient(sys.argv[1], timeout=60) as c:
    c.handshake()
    c.send(1, Channel.Open())
    c.expect(Channel.OpenOk, 1)
    c.send(1, Basic.Consume(queue="deep", no_ack=True))
    print("consuming", flush=True)
    while c.sock.recv(1 << 20):
        pass
"""


def publish_frames(queue: str, body: bytes) -> bytes:
    """One Basic.Publish to ``queue`` on channel 1, its header and body, as frames."""
    return (
        frame.marshal(Basic.Publish(exchange="", routing_key=queue), 1)
        + frame.marshal(header.ContentHeader(0, len(body)), 1)
        + frame.marshal(ContentBody(body), 1)
    )


def fill(url: str, depth: int) -> None:
    """``depth`` publishes to the queue ``deep``, pipelined in one stream."""
    one = publish_frames("deep", b"x" * 64)
    with RawClient(url, timeout=120) as c:
        c.handshake()
        c.open_channel()
        c.send(1, Queue.Declare(queue="deep"))
        c.expect(Queue.DeclareOk, 1)
        batch = one * 10_000
        c.sock.settimeout(120)  # expect() leaves a short one
        for _ in range(depth // 10_000):
            c.send_bytes(batch)
        for _ in range(600):  # until the server has taken them all in
            c.send(1, Queue.Declare(queue="deep", passive=True))
            if c.expect(Queue.DeclareOk, 1, wait=30).message_count == depth:
                return
            time.sleep(0.05)
        raise AssertionError("the queue did not fill")


def ready_count(url: str) -> int:
    with RawClient(url, timeout=30) as c:
        c.handshake()
        c.open_channel()
        c.send(1, Queue.Declare(queue="deep", passive=True))
        return int(c.expect(Queue.DeclareOk, 1, wait=30).message_count)


def time_to_connection_start(host: str, port: int) -> float:
    started = time.perf_counter()
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(PROTOCOL_HEADER)
        got = b""
        while len(got) < 7:  # a frame header: Connection.Start has arrived
            chunk = s.recv(4096)
            assert chunk, "closed before Connection.Start"
            got += chunk
    return time.perf_counter() - started


def test_a_new_client_is_answered_while_a_deep_queue_drains() -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "amqpmock.cli", "serve", "--port", "0"],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    consumer = None
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        port = int(url.rsplit(":", 1)[1].strip("/"))
        fill(url, DEPTH)
        consumer = subprocess.Popen(
            [sys.executable, "-c", DRAIN, url],
            cwd=ROOT,
            env=ENV,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert consumer.stdout is not None
        assert consumer.stdout.readline().strip() == "consuming"
        time.sleep(0.05)  # the drain is under way
        waits = [time_to_connection_start("127.0.0.1", port) for _ in range(5)]
        left = ready_count(url)
    finally:
        for proc in (consumer, server):
            if proc is not None:
                proc.kill()
                proc.wait(30)
    shown = [f"{w * 1000:.1f} ms" for w in waits]
    # every probe is answered while the drain goes on (the first one used to wait for
    # all of it); 50 ms typical, with room for a busy CI machine's worst case
    assert statistics.median(waits) < 0.05, shown
    assert max(waits) < 0.25, shown
    assert left > 0, "the queue drained before the probes were done: raise DEPTH"
