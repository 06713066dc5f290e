"""A deep queue drained by one no-ack consumer must not stall everyone: the fake
(``amqpmock serve``, own process) against a real RabbitMQ node, in the same run.

For each broker, fresh:

- fill: ``--depth`` publishes of 64 octets to the queue ``deep``, pipelined as raw frames
  on one socket in batches of 10,000, until a passive Queue.Declare counts them all.
  Should RabbitMQ block publishing (memory alarm: Connection.Blocked) or take nothing in
  for ``--stall-after`` s, the output says so and both run at ``--fallback-depth``;
- drain: a consumer in its own process sends a no-ack Basic.Consume on ``deep`` and
  reads the socket as fast as it can, unparsed. The first delivery's frames give one
  delivery's size; drain time is from sending Basic.Consume until exactly ConsumeOk +
  depth x that many octets have arrived: the last message is in the consumer;
- probes while filling: a fresh connection every 20 ms until the fill ends, each timed
  from connect + protocol header until the first octets of Connection.Start;
- probes: 50 ms into the drain, this process opens ``--probes`` TCP connections one
  after another, each timed from connect + protocol header until the first octets of
  Connection.Start; then a passive declare counts what is still ready, and the probes
  that ended before the drain did are counted (later ones met an idle broker).

p95 is nearest-rank. The fake runs twice, as users start it (the HTTP side on) and with
``--no-http``; ratios are fake / RabbitMQ and fake / --no-http (below 1: faster).

    python bench/stall.py [--depth 1000000] [--fallback-depth 300000] [--probes 20]
                          [--stall-after 60] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from subprocess import PIPE
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pamqp.commands import Connection, Queue  # noqa: E402

from amqpmock.testing.rabbitmq import RabbitMQNode  # noqa: E402
from amqpmock.wire.codec import PROTOCOL_HEADER, MethodFrame  # noqa: E402
from tests.server.rawclient import RawClient  # noqa: E402
from tests.server.test_fair_dispatch import (  # noqa: E402
    publish_frames,
    time_to_connection_start,
)

ENV = dict(os.environ, PYTHONPATH=str(ROOT))
BATCH = 10_000

CONSUMER = """
import json, struct, sys, time
from pamqp.commands import Basic
from tests.server.rawclient import RawClient

url, depth = sys.argv[1], int(sys.argv[2])
with RawClient(url, timeout=30) as c:
    c.handshake()
    c.open_channel()
    c.sock.settimeout(300)
    began = time.monotonic()
    c.send(1, Basic.Consume(queue="deep", no_ack=True))
    print("consuming", flush=True)
    head, ends = b"", [0]
    while len(ends) < 5:  # ConsumeOk, then the first delivery: method, header, body
        head += c.sock.recv(1 << 16) or sys.exit("hung up before the first delivery")
        ends = [0]
        while len(ends) < 5 and ends[-1] + 7 <= len(head):
            ends.append(ends[-1] + 8 + struct.unpack_from(">I", head, ends[-1] + 3)[0])
        if ends[-1] > len(head):
            ends.pop()
    if head[7:11] + head[ends[1] + 7 : ends[1] + 11] != struct.pack(">4H", 60, 21, 60, 60):
        sys.exit(f"expected ConsumeOk and Basic.Deliver, got {head[:64]!r}")
    per_message = ends[4] - ends[1]
    expected, received, last = ends[1] + depth * per_message, len(head), head[-1]
    buf = bytearray(1 << 20)
    while received < expected and (n := c.sock.recv_into(buf)):
        received, last = received + n, buf[n - 1]
    done = time.monotonic()
print(json.dumps(dict(began=began, done=done, received=received, expected=expected,
                      per_message=per_message, last=last)))
"""


class Blocked(Exception):
    """The broker stopped taking messages in: say why, and fall back."""


def spawn(*args: str) -> subprocess.Popen[str]:
    """``python *args`` in the checkout, its stdout piped, in a session of its own."""
    command = [sys.executable, *args]
    return subprocess.Popen(
        command, cwd=ROOT, env=ENV, stdout=PIPE, text=True, start_new_session=True
    )


@contextlib.contextmanager
def broker(name: str) -> Iterator[str]:
    """The URL of a fresh broker: ``amqpmock serve`` in its own process as users start
    it (``fake``: the default options, the HTTP side on) or with ``--no-http``
    (``fake-no-http``), or RabbitMQ."""
    if name == "rabbitmq":
        with RabbitMQNode() as node:
            yield node.url
        return
    extra = ["--no-http"] if name == "fake-no-http" else []
    proc = spawn("-m", "amqpmock.cli", "serve", "--port", "0", *extra)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def product(url: str) -> str:
    """The server's product and version, as its Connection.Start gives them."""
    with RawClient(url, timeout=10) as c:
        c.send_bytes(PROTOCOL_HEADER)
        props = c.expect(Connection.Start, wait=10).server_properties
        return f"{props.get('product', '?')} {props.get('version', '?')}"


def passive_count(c: RawClient, wait: float = 30.0) -> int:
    """Messages ready in ``deep`` (Connection.Blocked on channel 0 raises Blocked)."""
    c.send(1, Queue.Declare(queue="deep", passive=True))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        got, hung_up = c.frames(0.05)
        for item in got:
            if isinstance(item, MethodFrame) and isinstance(item.method, Connection.Blocked):
                raise Blocked(f"Connection.Blocked: {item.method.reason}")
            if isinstance(item, MethodFrame) and isinstance(item.method, Queue.DeclareOk):
                return item.method.message_count or 0
        if hung_up:
            raise RuntimeError("hung up during a passive declare")
    raise RuntimeError(f"no Queue.DeclareOk within {wait}s")


def fill(url: str, depth: int, stall_after: float) -> float:
    """``depth`` publishes to ``deep``, pipelined; seconds until all are counted."""
    one = publish_frames("deep", b"x" * 64)
    batch = one * BATCH
    began = time.perf_counter()
    with RawClient(url, timeout=30) as c:
        c.handshake()
        c.open_channel()
        c.send(1, Queue.Declare(queue="deep"))
        c.expect(Queue.DeclareOk, 1)
        c.sock.settimeout(stall_after)
        sent = 0
        while sent < depth:
            n = min(BATCH, depth - sent)
            try:
                c.send_bytes(batch if n == BATCH else one * n)
            except TimeoutError:
                got = [repr(f) for f in c.frames(1.0)[0]]
                raise Blocked(
                    f"no send for {stall_after:.0f}s at {sent} sent, got {got}"
                ) from None
            sent += n
        last, since = -1, time.monotonic()
        while (count := passive_count(c)) != depth:
            if count != last:
                last, since = count, time.monotonic()
            elif time.monotonic() - since > stall_after:
                raise Blocked(f"stuck at {count} of {depth} messages for {stall_after:.0f}s")
            time.sleep(0.05)
    return time.perf_counter() - began


def fill_probed(
    url: str, host: str, port: int, depth: int, stall_after: float
) -> tuple[float, list[float]]:
    """``fill`` in a thread while this one opens a fresh connection every 20 ms and
    times its Connection.Start; the fill's seconds and the probes' waits."""
    result: list[float] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fill(url, depth, stall_after))
        except BaseException as exc:  # raised below, in this thread
            failed.append(exc)

    thread = threading.Thread(target=run, name="fill", daemon=True)
    thread.start()
    waits: list[float] = []
    while thread.is_alive():
        waits.append(time_to_connection_start(host, port))
        time.sleep(0.02)
    thread.join()
    if failed:
        raise failed[0]
    return result[0], waits


def measure(name: str, depth: int, probes: int, stall_after: float) -> dict[str, Any]:
    with broker(name) as url:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        server = product(url)
        fill_s, fill_waits = fill_probed(url, parts.hostname, parts.port, depth, stall_after)
        consumer = spawn("-c", CONSUMER, url, str(depth))
        try:
            assert consumer.stdout is not None
            if consumer.stdout.readline().strip() != "consuming":
                raise RuntimeError("the consumer did not start")
            time.sleep(0.05)  # the drain is under way
            ended, waits = [], []
            for _ in range(probes):
                waits.append(time_to_connection_start(parts.hostname, parts.port))
                ended.append(time.monotonic())
            with RawClient(url, timeout=30) as c:
                c.handshake()
                c.open_channel()
                left = passive_count(c)
            out, _ = consumer.communicate(timeout=900)
        finally:
            if consumer.poll() is None:
                consumer.kill()
                consumer.wait()
        if consumer.returncode != 0:
            raise RuntimeError(f"the consumer failed ({consumer.returncode})")
        got = json.loads(out)
    if got["received"] != got["expected"] or got["last"] != 0xCE:
        raise RuntimeError(f"{name}'s consumer did not get exactly the deliveries: {got}")
    drain = got["done"] - got["began"]
    return {
        "server": server,
        "depth": depth,
        "fill_s": fill_s,
        "drain_s": drain,
        "drain_msgs_per_s": depth / drain,
        "probe_p50_ms": statistics.median(waits) * 1000,
        "probe_p95_ms": sorted(waits)[math.ceil(0.95 * len(waits)) - 1] * 1000,
        "probe_max_ms": max(waits) * 1000,
        "probes_during_drain": sum(t < got["done"] for t in ended),
        "fill_probes": len(fill_waits),
        "fill_probe_p50_ms": statistics.median(fill_waits) * 1000,
        "fill_probe_max_ms": max(fill_waits) * 1000,
        "probes_over_50ms": sum(w > 0.05 for w in fill_waits + waits),
        "ready_after_probes": left,
        "octets_per_delivery": got["per_message"],
        "probes_ms": [w * 1000 for w in waits],
        "fill_probes_ms": [w * 1000 for w in fill_waits],
    }


# key, label, format, ratio shown (times only: fake / RabbitMQ)
ROWS: list[tuple[str, str, str, bool]] = [
    ("depth", "depth (messages)", "{:.0f}", False),
    ("fill_s", "fill, pipelined (s)", "{:.2f}", True),
    ("drain_s", "drain, Consume to last octet (s)", "{:.2f}", True),
    ("drain_msgs_per_s", "drain rate (msgs/s)", "{:.0f}", False),
    ("probe_p50_ms", "probe to Connection.Start p50 (ms)", "{:.2f}", True),
    ("probe_p95_ms", "probe to Connection.Start p95 (ms)", "{:.2f}", True),
    ("probe_max_ms", "probe to Connection.Start max (ms)", "{:.2f}", True),
    ("probes_during_drain", "probes ended before the drain did", "{:.0f}", False),
    ("fill_probes", "probes while filling (every 20 ms)", "{:.0f}", False),
    ("fill_probe_p50_ms", "  to Connection.Start p50 (ms)", "{:.2f}", True),
    ("fill_probe_max_ms", "  to Connection.Start max (ms)", "{:.2f}", True),
    ("probes_over_50ms", "probes over 50 ms, fill and drain", "{:.0f}", False),
    ("ready_after_probes", "messages still ready after probes", "{:.0f}", False),
    ("octets_per_delivery", "octets per delivery on the wire", "{:.0f}", False),
]


def table(results: dict[str, dict[str, Any]]) -> str:
    width = max(len(row[1]) for row in ROWS)
    heads = ["fake", "--no-http", "rabbitmq", "fake/rabbit", "fake/no-http"]
    lines = [f"{'':<{width}}  " + "  ".join(f"{h:>12}" for h in heads)]
    for key, label, fmt, ratio in ROWS:
        fake, bare = results["fake"][key], results["fake-no-http"][key]
        rabbit = results["rabbitmq"][key]
        cells = [fmt.format(fake), fmt.format(bare), fmt.format(rabbit)]
        cells += [f"{fake / rabbit:.2f}x", f"{fake / bare:.2f}x"] if ratio else ["", ""]
        lines.append(f"{label:<{width}}  " + "  ".join(f"{c:>12}" for c in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depth", type=int, default=1_000_000)
    parser.add_argument("--fallback-depth", type=int, default=300_000)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--stall-after", type=float, default=60.0)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    notes: list[str] = []
    results: dict[str, dict[str, Any]] = {}
    depth = args.depth
    # RabbitMQ first: if it cannot hold --depth, both run at --fallback-depth
    print(f"rabbitmq: fill {depth}, drain, probe ...", file=sys.stderr, flush=True)
    try:
        results["rabbitmq"] = measure("rabbitmq", depth, args.probes, args.stall_after)
    except Blocked as why:
        notes.append(
            f"RabbitMQ did not take {depth} messages in ({why}); both brokers run at "
            f"{args.fallback_depth} instead"
        )
        print(notes[-1], file=sys.stderr, flush=True)
        depth = args.fallback_depth
        results["rabbitmq"] = measure("rabbitmq", depth, args.probes, args.stall_after)
    for name in ("fake", "fake-no-http"):
        print(f"{name}: fill {depth}, drain, probe ...", file=sys.stderr, flush=True)
        results[name] = measure(name, depth, args.probes, args.stall_after)
    load_after = os.getloadavg()

    print(
        f"deep-queue stall: {depth} x 64 B, one no-ack consumer (own process), "
        f"{args.probes} probes; amqpmock serve (default options, and --no-http) vs "
        f"{results['rabbitmq']['server']}; Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    for note in notes:
        print(f"note: {note}")
    print(table(results))
    print("(fake: amqpmock serve as users start it, the HTTP side on; x: ratios, below 1 the")
    print(" first is faster)")
    if args.json:
        env: dict[str, Any] = {"python": platform.python_version(), "cpus": os.cpu_count()}
        env |= {"load_average_before": load_before, "load_average_after": load_after}
        parameters = {**vars(args), "depth_run": depth}
        with open(args.json, "w") as fh:
            json.dump(
                {"parameters": parameters, "environment": env, "notes": notes, "results": results},
                fh,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
