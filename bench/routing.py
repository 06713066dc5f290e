"""In-memory routing throughput of the broker core (no sockets, no codec).

Publishes through ``CoreConnection.handle`` (the path the wire server takes after
decoding) into direct, fanout and topic exchanges with 10, 1,000 and 10,000 bindings,
and prints messages per second. Each binding has its own queue; direct and topic
publishes match exactly one binding, fanout ones match all of them (so fanout also
reports deliveries per second). Queues are purged between rounds, outside the timing.

    python bench/routing.py [--seconds 1.0] [--json out.json] [--wire]

With ``--wire`` it also runs the same topology and publishes through pika over TCP,
against amqpmock's server and against a real RabbitMQ started for the run (Debian's
rabbitmq-server), timing until a final sentinel message has been routed (a channel's
publishes are routed in order, so everything before it has been too). The fake runs
as ``amqpmock serve --no-http`` on purpose: this measures routing alone, so the HTTP
side is left out; bench/wire.py, bench/stall.py and bench/memory.py measure ``serve``
as users start it, beside ``--no-http``.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from pamqp.commands import Basic

from amqpmock.fake import Broker, LocalClient

BINDING_COUNTS = (10, 1_000, 10_000)


def setup(kind: str, n: int) -> tuple[Broker, LocalClient, list[Basic.Publish]]:
    broker = Broker()
    client = LocalClient(broker)
    ch = client.channel()
    ch.exchange_declare("x", kind)
    keys: list[str] = []
    for i in range(n):
        queue = f"q{i}"
        broker.declare_queue(queue)
        if kind == "direct":
            key = f"service.{i}"
            broker.bind_queue(queue, "x", key)
            keys.append(key)
        elif kind == "topic":
            # a realistic mix of wildcard shapes; each publish key matches one binding
            shape = i % 3
            if shape == 0:
                broker.bind_queue(queue, "x", f"svc{i}.*.event")
                keys.append(f"svc{i}.node.event")
            elif shape == 1:
                broker.bind_queue(queue, "x", f"svc{i}.#")
                keys.append(f"svc{i}.a.b.c")
            else:
                broker.bind_queue(queue, "x", f"*.tenant{i}.#")
                keys.append(f"any.tenant{i}.x")
        else:
            broker.bind_queue(queue, "x", "")
    if kind == "fanout":
        keys = ["anything"]
    methods = [Basic.Publish(exchange="x", routing_key=k) for k in keys[:1000]]
    return broker, client, methods


def run(kind: str, n: int, seconds: float) -> dict[str, Any]:
    broker, client, methods = setup(kind, n)
    props = Basic.Properties(content_type="application/json", delivery_mode=1)
    body = b'{"event": "created", "id": 1}'
    conn = client.conn
    handle = conn.handle
    queues = list(broker.queues().values())
    batch = 1000 if kind != "fanout" else max(1, 20_000 // n)
    sent = 0
    elapsed = 0.0
    nmethods = len(methods)
    while elapsed < seconds:
        start = time.perf_counter()
        for i in range(batch):
            handle(1, methods[i % nmethods], props, body)
        elapsed += time.perf_counter() - start
        sent += batch
        for q in queues:
            q.purge()
    copies = n if kind == "fanout" else 1
    return {
        "exchange": kind,
        "bindings": n,
        "messages": sent,
        "seconds": round(elapsed, 3),
        "msg_per_s": round(sent / elapsed),
        "deliveries_per_s": round(sent * copies / elapsed),
    }


def wire_setup(url: str, kind: str, n: int) -> tuple[object, list[str]]:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.exchange_declare("bx", kind, auto_delete=False)
    keys: list[str] = []
    for i in range(n):
        queue = f"bq{i}"
        ch.queue_declare(queue, auto_delete=False)
        if kind == "direct":
            ch.queue_bind(queue, "bx", f"service.{i}")
            keys.append(f"service.{i}")
        elif kind == "topic":
            binding, key = (
                (f"svc{i}.*.event", f"svc{i}.node.event"),
                (f"svc{i}.#", f"svc{i}.a.b.c"),
                (f"*.tenant{i}.#", f"any.tenant{i}.x"),
            )[i % 3]
            ch.queue_bind(queue, "bx", binding)
            keys.append(key)
        else:
            ch.queue_bind(queue, "bx", "")
    if kind == "fanout":
        keys = ["anything"]
    ch.queue_declare("sentinel", auto_delete=False)
    return conn, keys[:1000]


def wire_run(url: str, kind: str, n: int, messages: int) -> float:
    """msg/s routed over the wire with pika (publish without confirms, then a sentinel)."""
    import pika

    conn, keys = wire_setup(url, kind, n)
    ch = conn.channel()  # type: ignore[attr-defined]
    props = pika.BasicProperties(content_type="application/json", delivery_mode=1)
    body = b'{"event": "created", "id": 1}'
    nkeys = len(keys)
    start = time.perf_counter()
    for i in range(messages):
        ch.basic_publish("bx", keys[i % nkeys], body, props)
    ch.basic_publish("", "sentinel", b"done")
    while True:
        method, _p, _b = ch.basic_get("sentinel", auto_ack=True)
        if method:
            break
    elapsed = time.perf_counter() - start
    for i in range(n):
        ch.queue_delete(f"bq{i}")
    ch.exchange_delete("bx")
    conn.close()  # type: ignore[attr-defined]
    return messages / elapsed


def wire_compare(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import subprocess
    import sys

    from amqpmock.testing.rabbitmq import RabbitMQNode

    rows = []
    # the fake runs in its own process, as RabbitMQ does: no GIL shared with the client
    server = subprocess.Popen(
        [sys.executable, "-m", "amqpmock.cli", "serve", "--port", "0", "--no-http"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    fake_url = server.stdout.readline().strip()
    try:
        with RabbitMQNode() as rabbit:
            rows = _compare(fake_url, rabbit.url)
    finally:
        server.terminate()
        server.wait()
    return rows


def _compare(fake_url: str, rabbit_url: str) -> list[dict[str, Any]]:
    rows = []
    print(f"\nover the wire with pika ({'fake':>10} vs {'RabbitMQ':>10})")
    for kind in ("direct", "fanout", "topic"):
        for n in BINDING_COUNTS:
            messages = 20_000 if kind != "fanout" else max(20, 200_000 // n)
            fake_rate = wire_run(fake_url, kind, n, messages)
            rabbit_rate = wire_run(rabbit_url, kind, n, messages)
            row = {
                "exchange": kind,
                "bindings": n,
                "messages": messages,
                "fake_msg_per_s": round(fake_rate),
                "rabbitmq_msg_per_s": round(rabbit_rate),
                "ratio": round(fake_rate / rabbit_rate, 2),
            }
            rows.append(row)
            print(
                f"{kind:8} {n:>8} {row['fake_msg_per_s']:>12,} "
                f"{row['rabbitmq_msg_per_s']:>12,}   fake/RabbitMQ {row['ratio']:.2f}x",
                flush=True,
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--wire", action="store_true", help="also compare with RabbitMQ over TCP")
    args = parser.parse_args()
    results = []
    print(f"{'exchange':8} {'bindings':>8} {'msg/s':>12} {'enqueues/s':>12}")
    for kind in ("direct", "fanout", "topic"):
        for n in BINDING_COUNTS:
            r = run(kind, n, args.seconds)
            results.append(r)
            print(
                f"{kind:8} {n:>8} {r['msg_per_s']:>12,} {r['deliveries_per_s']:>12,}",
                flush=True,
            )
    topic = {r["bindings"]: r["msg_per_s"] for r in results if r["exchange"] == "topic"}
    ratio = topic[10] / topic[10_000]
    print(f"topic 10 vs 10,000 bindings: {ratio:.2f}x slower with 10,000")
    wire = wire_compare(results) if args.wire else []
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {"results": results, "topic_10_over_10000": ratio, "wire": wire}, fh, indent=2
            )


if __name__ == "__main__":
    main()
