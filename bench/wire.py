"""The wire server against a real RabbitMQ: same workloads, same client, same run.

Measured, each repeated ``--repeat`` times (medians reported):

- cold start until a client can connect: for the fake, ``ServerThread`` start plus
  the first pika ``BlockingConnection`` (in-process, imports done: what a test pays),
  and ``amqpmock serve`` launched as a new process until pika connects; for RabbitMQ,
  a fresh node (``RabbitMQNode``, own data directory) launched until pika connects;
- aio-pika throughput: ``--messages`` messages of ``--size`` octets published on one
  channel (no confirms; the phase ends when a passive declare counts them all), then
  consumed with ``--prefetch`` and acked one by one on a second connection; msgs/s
  for each phase and overall;
- aio-pika RPC round trip: a responder and a caller on their own connections, direct
  reply-to, ``--calls`` sequential calls after a warm-up; p50 and p99. Both clients run
  in this process, so their own CPU is most of the round trip;
- the same RPC with Node's amqplib (``bench/node/rpc.js``, its own process, TCP_NODELAY
  on): a client that costs little per call, so the broker's share shows; and once more
  (at most 200 calls) with amqplib's defaults, Nagle on, as most Node services run it.
  Needs node and npm (amqplib is installed into tests/clients/node on first use);
  ``--no-node`` leaves it out.

The fake runs four ways: ``loop`` (``AMQPServer`` in the client's event loop, as an
async test uses it), ``thread`` (``ServerThread``, as the pytest plugin runs it),
``process`` (``amqpmock serve`` in its own process, as RabbitMQ is, and as users start
it: the default options, the HTTP side on, no HTTP client connected) and ``no-http``
(``amqpmock serve --no-http``: the broker alone). RabbitMQ is one node started for the
run (plus the ones the cold-start measurement starts). The first table has the
``loop``, ``thread`` and ``process`` columns, each against RabbitMQ; the second puts
``process`` beside ``no-http`` and RabbitMQ with plain ratios, process / RabbitMQ and
process / no-http.

    python bench/wire.py [--repeat 3] [--messages 20000] [--size 200] [--prefetch 100]
                         [--calls 2000] [--modes loop,thread,process,no-http]
                         [--json out.json] [--no-node] [--profile]

``--profile`` also runs each workload once against ``amqpmock serve`` (default options)
under cProfile in its own process, and against the ``loop`` fake under cProfile (client
and server share that thread, so both show), and prints where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import cProfile
import functools
import io
import json
import os
import platform
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import aio_pika
import pika
import pika.exceptions
from aio_pika.abc import AbstractIncomingMessage

from amqpmock.testing.rabbitmq import RabbitMQNode, free_port
from amqpmock.wire.server import AMQPServer, ServerThread

FAKE_MODES = ("loop", "thread", "process", "no-http")
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The targets, fake vs RabbitMQ.
TARGET_START_RATIO = 100.0  # start at least 100x faster
TARGET_THROUGHPUT_RATIO = 1.0  # at least RabbitMQ's throughput
TARGET_RPC_P50_RATIO = 0.5  # p50 at most half of RabbitMQ's


# -- servers ---------------------------------------------------------------------------


@dataclass
class Target:
    """Where the workload connects, and the server's process when it has its own."""

    url: str
    pid: int | None = None


@contextlib.contextmanager
def serve_process(profile_to: str | None = None, http: bool = True) -> Iterator[Target]:
    """``amqpmock serve`` in a new process, with its default options (the HTTP side on)
    or with ``--no-http`` (``http`` false); under cProfile writing to ``profile_to``."""
    port = free_port()
    command = [sys.executable]
    if profile_to:
        command += ["-m", "cProfile", "-o", profile_to]
    command += ["-m", "amqpmock.cli", "serve", "--port", str(port)]
    if not http:
        command.append("--no-http")
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("amqp://"):
            raise RuntimeError(f"amqpmock serve printed {url!r}")
        yield Target(url, proc.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def process_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) used so far by ``pid``; this process for None."""
    if pid is None:
        return time.process_time()
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def pika_connect(url: str, retry_for: float = 0.0) -> None:
    """One pika connection opened and closed; retried until ``retry_for`` seconds pass."""
    deadline = time.perf_counter() + retry_for
    params = pika.URLParameters(url)
    params.connection_attempts = 1
    params.socket_timeout = 5
    while True:
        try:
            pika.BlockingConnection(params).close()
            return
        except pika.exceptions.AMQPConnectionError:
            if time.perf_counter() > deadline:
                raise
            time.sleep(0.01)


# -- (a) cold start -----------------------------------------------------------------


def cold_start_thread() -> float:
    began = time.perf_counter()
    with ServerThread() as srv:
        pika_connect(srv.url)
        return time.perf_counter() - began


def cold_start_process(http: bool = True) -> float:
    began = time.perf_counter()
    with serve_process(http=http) as target:
        pika_connect(target.url, retry_for=10)
        return time.perf_counter() - began


def cold_start_rabbitmq() -> float:
    began = time.perf_counter()
    node = RabbitMQNode()
    try:
        node.start()
        pika_connect(node.url, retry_for=30)
        return time.perf_counter() - began
    finally:
        node.stop()


# -- (b) throughput ------------------------------------------------------------------


@dataclass
class Throughput:
    publish: float  # msgs/s
    consume: float
    overall: float


async def throughput(url: str, messages: int, size: int, prefetch: int) -> Throughput:
    name = f"bench.tp.{uuid.uuid4().hex[:8]}"
    body = b"x" * size
    publisher = await aio_pika.connect(url)
    consumer = await aio_pika.connect(url)
    try:
        pub_channel = await publisher.channel(publisher_confirms=False)
        await pub_channel.declare_queue(name)
        exchange = pub_channel.default_exchange

        began = time.perf_counter()
        for _ in range(messages):
            await exchange.publish(aio_pika.Message(body), routing_key=name)
        while True:  # a passive declare on the same channel comes after the publishes
            declared = await pub_channel.declare_queue(name, passive=True)
            if declared.declaration_result.message_count == messages:
                break
            await asyncio.sleep(0.001)
        published = time.perf_counter()

        channel = await consumer.channel()
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.declare_queue(name, passive=True)
        done = asyncio.Event()
        received = 0

        async def on_message(message: AbstractIncomingMessage) -> None:
            nonlocal received
            await message.ack()
            received += 1
            if received == messages:
                done.set()

        consumed_from = time.perf_counter()
        tag = await queue.consume(on_message)
        await done.wait()
        consumed = time.perf_counter()
        await queue.cancel(tag)
        await pub_channel.queue_delete(name)
    finally:
        await consumer.close()
        await publisher.close()
    return Throughput(
        publish=messages / (published - began),
        consume=messages / (consumed - consumed_from),
        overall=messages / ((published - began) + (consumed - consumed_from)),
    )


# -- (c) RPC ---------------------------------------------------------------------------


@dataclass
class Rpc:
    p50: float  # seconds
    p99: float


async def rpc(url: str, calls: int, warmup: int = 100) -> Rpc:
    name = f"bench.rpc.{uuid.uuid4().hex[:8]}"
    responder = await aio_pika.connect(url)
    caller = await aio_pika.connect(url)
    try:
        r_channel = await responder.channel(publisher_confirms=False)
        requests = await r_channel.declare_queue(name, exclusive=True)

        async def answer(message: AbstractIncomingMessage) -> None:
            assert message.reply_to is not None
            # not mandatory: RabbitMQ 3.10.8 would also return every direct reply (312)
            await r_channel.default_exchange.publish(
                aio_pika.Message(message.body, correlation_id=message.correlation_id),
                routing_key=message.reply_to,
                mandatory=False,
            )
            await message.ack()

        await requests.consume(answer)

        c_channel = await caller.channel(publisher_confirms=False)
        replies = await c_channel.get_queue("amq.rabbitmq.reply-to", ensure=False)
        waiting: dict[str, asyncio.Future[bytes]] = {}

        async def on_reply(message: AbstractIncomingMessage) -> None:
            assert message.correlation_id is not None
            waiting.pop(message.correlation_id).set_result(message.body)

        await replies.consume(on_reply, no_ack=True)
        loop = asyncio.get_running_loop()
        exchange = c_channel.default_exchange
        latencies: list[float] = []
        for i in range(warmup + calls):
            cid = str(i)
            future: asyncio.Future[bytes] = loop.create_future()
            waiting[cid] = future
            began = time.perf_counter()
            await exchange.publish(
                aio_pika.Message(
                    b"ping %d" % i, correlation_id=cid, reply_to="amq.rabbitmq.reply-to"
                ),
                routing_key=name,
            )
            assert await future == b"ping %d" % i
            if i >= warmup:
                latencies.append(time.perf_counter() - began)
    finally:
        await caller.close()
        await responder.close()
    latencies.sort()
    return Rpc(p50=statistics.median(latencies), p99=latencies[int(len(latencies) * 0.99) - 1])


NODE_CLIENT_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "clients", "node"
)
NODE_RPC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node", "rpc.js")


def ensure_node() -> str:
    """The node binary, with amqplib installed; a clear error when they cannot be had."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise SystemExit(
            "the Node RPC workload needs node and npm (Debian: apt-get install -y nodejs "
            "npm); --no-node leaves it out"
        )
    if not os.path.isdir(os.path.join(NODE_CLIENT_DIR, "node_modules", "amqplib")):
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"], cwd=NODE_CLIENT_DIR, check=True
        )
    return node


async def rpc_node(node: str, url: str, calls: int, nagle: bool = False) -> Rpc:
    extra = ["nagle"] if nagle else []
    proc = await asyncio.create_subprocess_exec(
        node,
        NODE_RPC,
        url,
        str(calls),
        *extra,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bench/node/rpc.js failed: {err.decode(errors='replace')[-2000:]}")
    got = json.loads(out)
    return Rpc(p50=got["p50"] / 1000, p99=got["p99"] / 1000)


# -- running the workloads against each target ----------------------------------------


@contextlib.asynccontextmanager
async def fake_target(mode: str) -> AsyncIterator[Target]:
    if mode == "loop":
        async with AMQPServer() as srv:
            yield Target(srv.url)
    elif mode == "thread":
        thread = ServerThread().start()
        try:
            yield Target(thread.url)
        finally:
            thread.stop()
    else:
        with serve_process(http=mode == "process") as target:
            yield target


@dataclass
class Cpu:
    """CPU microseconds per message (per call for RPC): the client's process, and the
    server's when it runs in its own process (else the server is in the client's)."""

    client: float
    server: float | None


async def measured(target: Target, work: Awaitable[Any], units: int) -> tuple[Any, Cpu]:
    client0, server0 = process_cpu(None), process_cpu(target.pid) if target.pid else 0.0
    result = await work
    client = (process_cpu(None) - client0) / units * 1e6
    server = (process_cpu(target.pid) - server0) / units * 1e6 if target.pid else None
    return result, Cpu(client, server)


@dataclass
class Runs:
    throughput: list[Throughput]
    rpc: list[Rpc]
    throughput_cpu: list[Cpu]
    rpc_cpu: list[Cpu]
    rpc_node: list[Rpc]
    rpc_node_nagle: list[Rpc]


async def one_round(
    target_of: Callable[[], contextlib.AbstractAsyncContextManager[Target]],
    args: argparse.Namespace,
    runs: Runs,
) -> None:
    """Each workload once, on a fresh server each (for the fake)."""
    async with target_of() as target:
        work = throughput(target.url, args.messages, args.size, args.prefetch)
        tp, cpu = await measured(target, work, args.messages)
        runs.throughput.append(tp)
        runs.throughput_cpu.append(cpu)
    async with target_of() as target:
        result, cpu = await measured(target, rpc(target.url, args.calls), args.calls)
        runs.rpc.append(result)
        runs.rpc_cpu.append(cpu)
    if args.node:
        async with target_of() as target:
            runs.rpc_node.append(await rpc_node(args.node, target.url, args.calls))
        async with target_of() as target:  # amqplib's defaults; ~40 ms a call on RabbitMQ
            calls = min(args.calls, 200)
            runs.rpc_node_nagle.append(await rpc_node(args.node, target.url, calls, nagle=True))


def summarize(runs: Runs) -> dict[str, float]:
    tps, rpcs = runs.throughput, runs.rpc
    out = {
        "publish_msgs_per_s": statistics.median(t.publish for t in tps),
        "consume_msgs_per_s": statistics.median(t.consume for t in tps),
        "overall_msgs_per_s": statistics.median(t.overall for t in tps),
        "rpc_p50_ms": statistics.median(r.p50 for r in rpcs) * 1000,
        "rpc_p99_ms": statistics.median(r.p99 for r in rpcs) * 1000,
        "tp_client_cpu_us": statistics.median(c.client for c in runs.throughput_cpu),
        "rpc_client_cpu_us": statistics.median(c.client for c in runs.rpc_cpu),
    }
    if runs.rpc_node:
        out["rpc_node_p50_ms"] = statistics.median(r.p50 for r in runs.rpc_node) * 1000
        out["rpc_node_p99_ms"] = statistics.median(r.p99 for r in runs.rpc_node) * 1000
    if runs.rpc_node_nagle:
        nagle = runs.rpc_node_nagle
        out["rpc_node_nagle_p50_ms"] = statistics.median(r.p50 for r in nagle) * 1000
    servers = [c.server for c in runs.throughput_cpu if c.server is not None]
    if servers:
        out["tp_server_cpu_us"] = statistics.median(servers)
    servers = [c.server for c in runs.rpc_cpu if c.server is not None]
    if servers:
        out["rpc_server_cpu_us"] = statistics.median(servers)
    return out


PACKAGES = ("amqpmock", "aio_pika", "aiormq", "pamqp", "asyncio", "pika")


def by_package(stats: pstats.Stats) -> str:
    """Own time summed per package: where a profile's time goes, in one line each."""
    totals: dict[str, float] = {}
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _, _), (_, _, own, _, _) in raw.items():
        package = next((p for p in PACKAGES if f"/{p}/" in filename), "other")
        if filename == "~":
            package = "builtins (C)"
        totals[package] = totals.get(package, 0.0) + own
    whole = sum(totals.values()) or 1.0
    return "\n".join(
        f"  {name:<14} {seconds:7.2f} s  {100 * seconds / whole:5.1f} %"
        for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1])
    )


def profile_report(args: argparse.Namespace, top: int = 25) -> str:
    """Where the time goes, each workload once: the fake's server alone (``amqpmock
    serve`` under cProfile in its own process), and client plus server sharing one
    loop (the ``loop`` mode) under cProfile."""
    out = io.StringIO()
    for kind in ("throughput", "rpc"):

        async def run(url: str, kind: str = kind) -> None:
            if kind == "throughput":
                await throughput(url, args.messages, args.size, args.prefetch)
            else:
                await rpc(url, args.calls)

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "server.prof")
            with serve_process(profile_to=path) as target:
                asyncio.run(run(target.url))
            stats = pstats.Stats(path, stream=out)
            out.write(f"\n== {kind}: amqpmock serve (default options), by package ==\n")
            out.write(by_package(stats) + "\n")
            out.write(f"\n== {kind}: the fake server alone, top {top} by own time ==\n")
            stats.sort_stats("tottime").print_stats(top)
            out.write(f"\n== {kind}: the fake server alone, top {top} cumulative ==\n")
            stats.sort_stats("cumulative").print_stats(top)

        async def in_loop(kind: str = kind) -> None:
            async with AMQPServer() as srv:
                await run(srv.url, kind)

        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(in_loop())
        profiler.disable()
        stats = pstats.Stats(profiler, stream=out)
        out.write(f"\n== {kind}: client and server in one loop, by package ==\n")
        out.write(by_package(stats) + "\n")
    return out.getvalue()


# -- report ---------------------------------------------------------------------------

ROWS: list[tuple[str, str, str, bool]] = [
    # key, label, format, higher is better
    ("start_ms", "cold start until connect (ms)", "{:.1f}", False),
    ("publish_msgs_per_s", "aio-pika publish (msgs/s)", "{:.0f}", True),
    ("consume_msgs_per_s", "aio-pika consume+ack (msgs/s)", "{:.0f}", True),
    ("overall_msgs_per_s", "publish-then-consume overall (msgs/s)", "{:.0f}", True),
    ("rpc_p50_ms", "RPC round trip p50 (ms)", "{:.3f}", False),
    ("rpc_p99_ms", "RPC round trip p99 (ms)", "{:.3f}", False),
    ("rpc_node_p50_ms", "RPC p50, Node amqplib (ms)", "{:.3f}", False),
    ("rpc_node_p99_ms", "RPC p99, Node amqplib (ms)", "{:.3f}", False),
    ("rpc_node_nagle_p50_ms", "RPC p50, amqplib defaults (Nagle on) (ms)", "{:.3f}", False),
    # CPU: "bench process" holds the clients, and the server too in the loop and
    # thread modes; "server process" is amqpmock serve's or RabbitMQ's (beam.smp)
    ("tp_client_cpu_us", "throughput CPU/msg, bench process (us)", "{:.0f}", False),
    ("tp_server_cpu_us", "throughput CPU/msg, server process (us)", "{:.0f}", False),
    ("rpc_client_cpu_us", "RPC CPU/call, bench process (us)", "{:.0f}", False),
    ("rpc_server_cpu_us", "RPC CPU/call, server process (us)", "{:.0f}", False),
]


def speedup(fake: float, rabbit: float, higher_is_better: bool) -> float:
    """How many times better the fake is (>1: better than RabbitMQ)."""
    return fake / rabbit if higher_is_better else rabbit / fake


def targets(results: dict[str, dict[str, float]], mode: str) -> list[tuple[str, bool, str]]:
    fake, rabbit = results[mode], results["rabbitmq"]
    start = rabbit["start_ms"] / fake["start_ms"]
    tp = fake["overall_msgs_per_s"] / rabbit["overall_msgs_per_s"]
    p50 = fake["rpc_p50_ms"] / rabbit["rpc_p50_ms"]
    verdicts = [
        (
            f"start >= {TARGET_START_RATIO:.0f}x faster",
            start >= TARGET_START_RATIO,
            f"{start:.0f}x",
        ),
        (
            "throughput >= RabbitMQ's",
            tp >= TARGET_THROUGHPUT_RATIO,
            f"{tp:.2f}x RabbitMQ's",
        ),
        ("RPC p50 <= half of RabbitMQ's", p50 <= TARGET_RPC_P50_RATIO, f"{p50:.2f}x RabbitMQ's"),
    ]
    if "rpc_node_p50_ms" in fake:
        node_p50 = fake["rpc_node_p50_ms"] / rabbit["rpc_node_p50_ms"]
        verdicts.append(
            (
                "RPC p50 <= half of RabbitMQ's, Node amqplib",
                node_p50 <= TARGET_RPC_P50_RATIO,
                f"{node_p50:.2f}x RabbitMQ's",
            )
        )
    return verdicts


def serve_table(results: dict[str, dict[str, float]]) -> str:
    """``amqpmock serve`` as users start it beside ``--no-http`` and RabbitMQ; plain
    ratios (value / value), as bench/stall.py and bench/memory.py print them."""
    heads = ["process", "no-http", "rabbitmq", "proc/rabbit", "proc/no-http"]
    width = max(len(label) for _, label, _, _ in ROWS)
    lines = [
        f"{'amqpmock serve, default options':<{width}}  " + "  ".join(f"{h:>12}" for h in heads)
    ]
    for key, label, fmt, _ in ROWS:
        values = [results[name].get(key) for name in ("process", "no-http", "rabbitmq")]
        cells = [fmt.format(v) if v is not None else "-" for v in values]
        fake, bare, rabbit = values
        cells += [f"{fake / other:.2f}x" if fake and other else "-" for other in (rabbit, bare)]
        lines.append(f"{label:<{width}}  " + "  ".join(f"{c:>12}" for c in cells))
    lines.append("(process: amqpmock serve as users start it, the HTTP side on, no HTTP client;")
    lines.append(" x: plain ratios, process / RabbitMQ and process / --no-http; for msgs/s above")
    lines.append(" 1 the first is better, for times below 1)")
    return "\n".join(lines)


def table(results: dict[str, dict[str, float]], modes: list[str]) -> str:
    columns = [f"fake:{m}" for m in modes] + ["rabbitmq"] + [f"x ({m})" for m in modes]
    width = max(len(label) for _, label, _, _ in ROWS)
    lines = [f"{'':<{width}}  " + "  ".join(f"{c:>12}" for c in columns)]
    for key, label, fmt, higher in ROWS:
        rabbit = results["rabbitmq"].get(key)
        cells = [fmt.format(results[m][key]) if key in results[m] else "-" for m in modes]
        cells.append(fmt.format(rabbit) if rabbit is not None else "-")
        cells += [
            f"{speedup(results[m][key], rabbit, higher):.2f}x"
            if key in results[m] and rabbit
            else "-"
            for m in modes
        ]
        lines.append(f"{label:<{width}}  " + "  ".join(f"{c:>12}" for c in cells))
    lines.append("(x: how many times better than RabbitMQ: faster start, more msgs/s, lower ms)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--prefetch", type=int, default=100)
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--modes", default=",".join(FAKE_MODES))
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-node", dest="use_node", action="store_false")
    args = parser.parse_args(argv)
    args.node = ensure_node() if args.use_node else None
    modes = [m for m in args.modes.split(",") if m]
    unknown = set(modes) - set(FAKE_MODES)
    if unknown:
        parser.error(f"unknown modes {sorted(unknown)}; choose from {FAKE_MODES}")

    results: dict[str, dict[str, float]] = {}
    raw: dict[str, Any] = {}

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    load_before = os.getloadavg()
    # an installed package has its bytecode compiled (pip does it); an editable checkout
    # under PYTHONDONTWRITEBYTECODE=1 would compile the sources at every process start
    package = os.path.dirname(os.path.dirname(os.path.abspath(__import__("amqpmock").__file__)))
    compileall.compile_dir(os.path.join(package, "amqpmock"), quiet=1)
    # (a) cold starts
    log("cold start: fake (thread, process, no-http) ...")
    fake_start = [cold_start_thread() for _ in range(max(5, args.repeat))]
    process_start = [cold_start_process() for _ in range(args.repeat)]
    bare_start = [cold_start_process(http=False) for _ in range(args.repeat)]
    log("cold start: RabbitMQ ...")
    rabbit_start = [cold_start_rabbitmq() for _ in range(args.repeat)]
    raw["start_s"] = {"thread": fake_start, "process": process_start, "no-http": bare_start}
    raw["start_s"]["rabbitmq"] = rabbit_start
    start_ms = {
        "loop": statistics.median(fake_start) * 1000,  # same start path: AMQPServer.start
        "thread": statistics.median(fake_start) * 1000,
        "process": statistics.median(process_start) * 1000,
        "no-http": statistics.median(bare_start) * 1000,
        "rabbitmq": statistics.median(rabbit_start) * 1000,
    }

    # (b), (c): rounds interleaved across the targets, so that whatever else the
    # machine does in the meantime hits them all alike
    with RabbitMQNode() as node:
        beam = int(node.pid_file.read_text().strip())

        @contextlib.asynccontextmanager
        async def rabbit_target() -> AsyncIterator[Target]:
            yield Target(node.url, beam)

        target_of: dict[str, Callable[[], contextlib.AbstractAsyncContextManager[Target]]] = {
            mode: functools.partial(fake_target, mode) for mode in modes
        }
        target_of["rabbitmq"] = rabbit_target
        runs = {name: Runs([], [], [], [], [], []) for name in target_of}
        for round_ in range(args.repeat):
            for name, make in target_of.items():
                log(f"round {round_ + 1}/{args.repeat}: {name} ...")
                asyncio.run(one_round(make, args, runs[name]))
    for name, got in runs.items():
        results[name] = {"start_ms": start_ms[name], **summarize(got)}
        raw[name] = asdict(got)
    load_after = os.getloadavg()

    print(
        f"amqpmock wire benchmark: {args.messages} x {args.size} B messages, "
        f"prefetch {args.prefetch}, {args.calls} RPC calls, median of {args.repeat}; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"aio-pika {aio_pika.__version__}, pika {pika.__version__}; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    print(table(results, [m for m in modes if m != "no-http"]))
    if "process" in modes and "no-http" in modes:
        print(serve_table(results))
    verdicts: dict[str, list[dict[str, Any]]] = {}
    for mode in modes:
        print(f"targets, fake:{mode}:")
        verdicts[mode] = []
        for name, met, figure in targets(results, mode):
            print(f"  {'met   ' if met else 'MISSED'} {name}: {figure}")
            verdicts[mode].append({"target": name, "met": met, "figure": figure})

    if args.profile:
        print(profile_report(args))

    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "parameters": {
                        k: getattr(args, k)
                        for k in ("repeat", "messages", "size", "prefetch", "calls")
                    },
                    "environment": {
                        "python": platform.python_version(),
                        "cpus": os.cpu_count(),
                        "aio_pika": aio_pika.__version__,
                        "pika": pika.__version__,
                        "load_average_before": load_before,
                        "load_average_after": load_after,
                    },
                    "results": results,
                    "targets": verdicts,
                    "raw": raw,
                },
                fh,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
