"""In-memory routing throughput of the broker core (no sockets, no codec).

Publishes through ``CoreConnection.handle`` (the path the wire server takes after
decoding) into direct, fanout and topic exchanges with 10, 1,000 and 10,000 bindings,
and prints messages per second. Each binding has its own queue; direct and topic
publishes match exactly one binding, fanout ones match all of them (so fanout also
reports deliveries per second). Queues are purged between rounds, outside the timing.

    python bench/routing.py [--seconds 1.0] [--json out.json]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--json", help="write the results to this file")
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
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"results": results, "topic_10_over_10000": ratio}, fh, indent=2)


if __name__ == "__main__":
    main()
