"""The recording proxy's cost: throughput and added latency against a direct connection.

One real RabbitMQ node (Debian's rabbitmq-server) is started for the run. The proxy runs
in its own process, as ``amqpmock record`` would, recording everything it forwards
(the cassette is built at the end and its build time reported; the YAML is not
written, its cost is the size of the session, not of the forwarding). The same
workloads run directly and through the proxy, alternating, in the same run:

- throughput: one connection publishes N messages (no confirms) to a queue that a
  consumer on a second connection drains (no_ack); messages per second from the first
  publish to the last delivery;
- latency: one message at a time, publish then wait for its delivery on the same
  connection; the round trip crosses the proxy twice (publish in, delivery out).
  Reported p50 / p99, and the proxy's added p50.

    python bench/proxy.py [--messages 50000] [--size 100] [--pings 3000] [--rounds 3]
                          [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiormq

from amqpmock.testing.rabbitmq import RabbitMQNode, free_port

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


# -- the proxy process ------------------------------------------------------------------


def serve_proxy(upstream: str, port: int) -> None:
    """Run in the child: proxy until SIGTERM, then build the cassette and report."""
    from amqpmock.proxy import RecordingProxy

    async def run() -> None:
        proxy = RecordingProxy(upstream, port=port)
        await proxy.start()
        print("ready", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await proxy.stop()
        began = time.perf_counter()
        cassette = proxy.recorder.build()
        took = time.perf_counter() - began
        count = sum(len(c.interactions) for c in cassette.connections)
        report = {
            "build_seconds": took,
            "interactions": count,
            "bytes": proxy.recorder.bytes_recorded,
        }
        print(json.dumps(report), flush=True)

    asyncio.run(run())


# -- workloads ------------------------------------------------------------------------


async def throughput(url: str, messages: int, size: int) -> float:
    body = b"x" * size
    producer = await aiormq.connect(url)
    consumer = await aiormq.connect(url)
    try:
        pch = await producer.channel(publisher_confirms=False)
        cch = await consumer.channel()
        queue = (await cch.queue_declare("", exclusive=True)).queue
        assert queue is not None
        await cch.basic_qos(prefetch_count=1000)
        done = asyncio.Event()
        received = 0

        async def on_message(message: aiormq.abc.DeliveredMessage) -> None:
            nonlocal received
            received += 1
            if received == messages:
                done.set()

        await cch.basic_consume(queue, on_message, no_ack=True)
        began = time.perf_counter()
        for _ in range(messages):
            await pch.basic_publish(body, routing_key=queue)
        await asyncio.wait_for(done.wait(), 300)
        return messages / (time.perf_counter() - began)
    finally:
        await producer.close()
        await consumer.close()


async def latency(url: str, pings: int, size: int) -> list[float]:
    body = b"p" * size
    connection = await aiormq.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=False)
        queue = (await channel.queue_declare("", exclusive=True)).queue
        assert queue is not None
        arrived: asyncio.Queue[float] = asyncio.Queue()

        async def on_message(message: aiormq.abc.DeliveredMessage) -> None:
            arrived.put_nowait(time.perf_counter())

        await channel.basic_consume(queue, on_message, no_ack=True)
        samples = []
        for n in range(pings + 200):
            began = time.perf_counter()
            await channel.basic_publish(body, routing_key=queue)
            ended = await asyncio.wait_for(arrived.get(), 10)
            if n >= 200:  # warm-up
                samples.append(ended - began)
        return samples
    finally:
        await connection.close()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--pings", type=int, default=3_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--serve-proxy", nargs=2, metavar=("UPSTREAM", "PORT"), help="internal")
    args = parser.parse_args()
    if args.serve_proxy:
        serve_proxy(args.serve_proxy[0], int(args.serve_proxy[1]))
        return

    with RabbitMQNode() as node:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-proxy", node.url, str(port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            proxied_url = node.url.replace(f":{node.port}/", f":{port}/")
            results = asyncio.run(run_all(args, node.url, proxied_url, proc.pid))
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=600)
            results["cassette_build"] = json.loads(out.strip().splitlines()[-1])
        finally:
            if proc.poll() is None:
                proc.kill()
    print_results(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


async def run_all(
    args: argparse.Namespace, direct_url: str, proxied_url: str, proxy_pid: int
) -> dict[str, Any]:
    rates: dict[str, list[float]] = {"direct": [], "proxy": []}
    lat: dict[str, list[float]] = {"direct": [], "proxy": []}
    proxy_cpu = 0.0
    await throughput(direct_url, 2000, args.size)  # warm both paths
    await throughput(proxied_url, 2000, args.size)
    for _ in range(args.rounds):
        for name, url in (("direct", direct_url), ("proxy", proxied_url)):
            cpu_before = cpu_seconds(proxy_pid)
            rates[name].append(await throughput(url, args.messages, args.size))
            if name == "proxy":
                proxy_cpu += cpu_seconds(proxy_pid) - cpu_before
        for name, url in (("direct", direct_url), ("proxy", proxied_url)):
            lat[name].extend(await latency(url, args.pings // args.rounds, args.size))
    return {
        "messages": args.messages,
        "size": args.size,
        "rounds": args.rounds,
        "throughput": {k: statistics.median(v) for k, v in rates.items()},
        "throughput_all": rates,
        "latency_ms": {
            k: {
                "p50": percentile(v, 0.5) * 1000,
                "p99": percentile(v, 0.99) * 1000,
                "n": len(v),
            }
            for k, v in lat.items()
        },
        "proxy_cpu_us_per_message": proxy_cpu / (args.messages * args.rounds) * 1e6,
    }


def print_results(results: dict[str, Any], args: argparse.Namespace) -> None:
    direct, proxy = results["throughput"]["direct"], results["throughput"]["proxy"]
    ld, lp = results["latency_ms"]["direct"], results["latency_ms"]["proxy"]
    build = results["cassette_build"]
    print(f"proxy benchmark: {args.messages} messages of {args.size} B x {args.rounds} rounds")
    print(f"  throughput direct : {direct:10,.0f} msg/s (median)")
    print(f"  throughput proxy  : {proxy:10,.0f} msg/s (median)  = {proxy / direct:.1%} of direct")
    print(f"  round trip direct : p50 {ld['p50']:.3f} ms  p99 {ld['p99']:.3f} ms")
    print(f"  round trip proxy  : p50 {lp['p50']:.3f} ms  p99 {lp['p99']:.3f} ms")
    print(f"  added p50         : {lp['p50'] - ld['p50']:.3f} ms (two proxy hops)")
    print(f"  proxy CPU         : {results['proxy_cpu_us_per_message']:.1f} us per message")
    print(
        f"  cassette build    : {build['interactions']:,} interactions "
        f"({build['bytes'] / 1e6:.1f} MB) decoded in {build['build_seconds']:.1f} s"
    )


if __name__ == "__main__":
    main()
