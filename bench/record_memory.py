"""The recording proxy's memory over a long session: ``amqpmock record`` (its own
process) between pika and a real RabbitMQ node, ``--gb`` GB of traffic through it.

Workload: one pika connection through the proxy; a channel with publisher confirms
publishes ``--size`` KB text bodies (lines of JSON-ish text, each message numbered) to
a durable queue in batches of 100, waiting for the confirms; a second channel consumes
each batch (prefetch 100, one multiple ack). Half the traffic goes each way: 1 GB is
512 MB published and 512 MB delivered. The client closes; then SIGINT: the proxy
writes the cassette from its journal and exits.

Reported: the proxy's RSS (VmRSS of its process) every second while traffic flows;
its peak RSS over its whole life, traffic and cassette writing included (``ru_maxrss``
from ``wait4``, exact); traffic rate; cassette writing time and size; and RabbitMQ's
RSS (beam.smp) at the end of the traffic for scale. The cassette is checked by
streaming it: one ``Basic.Publish`` and one ``Basic.Deliver`` per message, the last
message's number present, no journal left behind.

    python bench/record_memory.py [--gb 1] [--size 64] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pika  # noqa: E402

from amqpmock.testing.rabbitmq import RabbitMQNode  # noqa: E402

MB = 1 << 20
BATCH = 100


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def body_of(n: int, size: int) -> bytes:
    line = b'{"order": %08d, "sku": "ABC-123", "qty": 3, "note": "abcdefghij"}\n' % n
    return (line * (size // len(line) + 1))[:size]


def start_proxy(upstream: str, cassette: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "amqpmock.cli",
            "record",
            "--upstream",
            upstream,
            "--cassette",
            str(cassette),
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for _ in range(2):
        line = proc.stdout.readline()
        found = re.search(r"clients connect to amqp://[^@]*@([\d.]+):(\d+)", line)
        if found:
            user_pass = upstream.split("//", 1)[1].split("@", 1)[0]
            return proc, f"amqp://{user_pass}@{found.group(1)}:{found.group(2)}/%2F"
    proc.kill()
    raise RuntimeError(f"the proxy did not say where to connect: {proc.communicate()}")


def traffic(url: str, messages: int, size: int, proxy_pid: int) -> dict[str, Any]:
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            with contextlib.suppress(OSError, RuntimeError):
                samples.append(rss_mb(proxy_pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    connection = pika.BlockingConnection(pika.URLParameters(url))
    publisher = connection.channel()
    publisher.confirm_delivery()
    publisher.queue_declare("bench.record", durable=True)
    consumer = connection.channel()
    consumer.basic_qos(prefetch_count=BATCH)
    started = time.perf_counter()
    sent = 0
    received = 0
    last = b""
    while sent < messages:
        batch = min(BATCH, messages - sent)
        for _ in range(batch):
            publisher.basic_publish("", "bench.record", body_of(sent, size))
            sent += 1
        tag = 0
        for method, _props, body in consumer.consume("bench.record", inactivity_timeout=30):
            if method is None:
                raise RuntimeError(f"no delivery within 30 s after {received} messages")
            received += 1
            tag = method.delivery_tag
            last = body
            if received == sent:
                break
        consumer.basic_ack(tag, multiple=True)
        if sent % (BATCH * 50) == 0:
            print(f"  {sent}/{messages} messages", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    consumer.cancel()
    connection.close()
    done.set()
    sampler.join()
    assert last == body_of(messages - 1, size), "the last delivery is not the last message"
    return {"seconds": seconds, "rss_samples_mb": samples}


def check_cassette(path: Path, messages: int) -> dict[str, int]:
    publishes = deliveries = 0
    last_number = b'"order": %08d' % (messages - 1)
    saw_last = False
    with path.open("rb") as handle:
        for line in handle:
            if b"method: Basic.Publish" in line:
                publishes += 1
            elif b"method: Basic.Deliver" in line:
                deliveries += 1
            elif last_number in line:
                saw_last = True
    assert publishes == messages, (publishes, messages)
    assert deliveries == messages, (deliveries, messages)
    assert saw_last, "the last message's body is not in the cassette"
    return {"publishes": publishes, "deliveries": deliveries}


def run(gb: float, size_kb: int) -> dict[str, Any]:
    size = size_kb * 1024
    messages = int(gb * 1024 * MB / 2 / size)
    with tempfile.TemporaryDirectory() as tmp, RabbitMQNode() as node:
        cassette = Path(tmp) / "long.yaml"
        proc, url = start_proxy(node.url, cassette)
        try:
            print(f"{messages} messages of {size_kb} KB each way", file=sys.stderr)
            result = traffic(url, messages, size, proc.pid)
            rabbit_rss = rss_mb(int(node.pid_file.read_text().strip()))
            proxy_rss_before_write = rss_mb(proc.pid)
            journal = cassette.with_name(cassette.name + ".journal")
            journal_mb = journal.stat().st_size / MB
            stopping = time.perf_counter()
            proc.send_signal(signal.SIGINT)
            _, status, usage = os.wait4(proc.pid, 0)
            write_seconds = time.perf_counter() - stopping
            proc.returncode = os.waitstatus_to_exitcode(status)
            out, err = proc.communicate()
        finally:
            if proc.returncode is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0 or "complete" not in out.split("interaction(s), ")[-1][:8]:
            raise RuntimeError(f"amqpmock record exited {proc.returncode}: {out} {err}")
        counts = check_cassette(cassette, messages)
        assert not journal.exists(), "the journal was left behind"
        return {
            "messages_each_way": messages,
            "body_kb": size_kb,
            "traffic_mb": round(journal_mb, 1),
            "traffic_seconds": round(result["seconds"], 1),
            "traffic_mb_per_s": round(journal_mb / result["seconds"], 1),
            "proxy_rss_mb_during_traffic_max": round(max(result["rss_samples_mb"] or [0]), 1),
            "proxy_rss_mb_before_write": round(proxy_rss_before_write, 1),
            "proxy_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "write_seconds": round(write_seconds, 1),
            "cassette_mb": round(cassette.stat().st_size / MB, 1),
            "rabbitmq_rss_mb": round(rabbit_rss, 1),
            "proxy_said": out.strip().splitlines()[-1],
            **counts,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=1.0, help="traffic, both ways (GB)")
    parser.add_argument("--size", type=int, default=64, help="body size (KB)")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    result = run(args.gb, args.size)
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version[:6]}"
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
