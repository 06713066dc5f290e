"""Memory of an abandoned partial message is given back when its connection dies
(issue #13 item 2): a client sends a content header and tens of MB of body frames, then
disconnects; repeated, the server's RSS must return near where it started, without
anyone calling gc.collect() (the server runs in its own process, idle between rounds)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pamqp import frame, header
from pamqp.body import ContentBody
from pamqp.commands import Basic, Queue

from .rawclient import RawClient

ROOT = Path(__file__).resolve().parents[2]
MB = 1 << 20
BODY_FRAME = 131072 - 8  # frame_max less the frame's own header and end octet
ROUNDS = 6
PER_ROUND = 48 * MB  # sent of a body announced as larger: never completes


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def abandon_a_partial_message(url: str) -> None:
    with RawClient(url, timeout=30) as c:
        c.handshake()
        c.open_channel()
        c.send(1, Queue.Declare(queue="abandoned"))
        c.expect(Queue.DeclareOk, 1)
        c.send_bytes(frame.marshal(Basic.Publish(exchange="", routing_key="abandoned"), 1))
        c.send_bytes(frame.marshal(header.ContentHeader(0, 2 * PER_ROUND), 1))
        chunk = os.urandom(BODY_FRAME)
        body_frame = frame.marshal(ContentBody(chunk), 1)
        for _ in range(PER_ROUND // BODY_FRAME):
            c.send_bytes(body_frame)
    # the socket is closed here, mid-message


def settled(url: str) -> None:
    # a fresh client is served only once the loop has handled what came before
    with RawClient(url, timeout=30) as c:
        c.handshake()


def test_abandoned_partial_bodies_do_not_accumulate() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "amqpmock.cli", "serve", "--port", "0"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        settled(url)
        abandon_a_partial_message(url)  # first round: warm-up (buffers, code paths)
        settled(url)
        time.sleep(0.2)
        start = rss(proc.pid)
        peaks = []
        for _ in range(ROUNDS):
            abandon_a_partial_message(url)
            settled(url)
            time.sleep(0.2)
            peaks.append(rss(proc.pid))
        grown = (peaks[-1] - start) / MB
        # leaked, each round would keep its ~48 MB: about 290 MB after six rounds
        assert grown < 60, f"RSS grew {grown:.0f} MB over {ROUNDS} abandoned bodies: " + ", ".join(
            f"{p / MB:.0f}" for p in peaks
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
