"""Per-test cost of cassette replay against the plain fake broker, for the same test.

The test module is a small aio-pika order service's test, run ``--tests`` times in one
pytest session (a parametrized test, so pytest's start-up is paid once and what is
measured is per test): connect, qos, declare a durable topic exchange and a
server-named queue bound to it, consume; three RPC calls to an ``inventory`` service
over direct reply-to; publish an ``order.accepted`` event per reply, consume and ack
each; close. The inventory service is the outside world:

- ``plain``: the fake broker with markers off (``--amqp-disable-recording``), the
  inventory answered by an ``amqp_broker.rpc_stub`` (what a plain-fake suite does);
- ``replay``: the same tests offline (record mode ``none``, network blocked), each from
  its own cassette, the inventory's replies played from it;
- ``replay, shared``: the same, all tests replaying one cassette (a test repeated, or
  parametrized over one recording, as tests/replay does);
- ``record``: for reference, each test through the recording proxy to a real RabbitMQ
  3.10.8 (``RabbitMQNode``, started by this script and stopped after the recording),
  the inventory service (tests/replay/services/inventory_rpc_service.py) in its own
  process. This run makes the cassettes the replays use.

The per-test cost is the sum of pytest's own report durations (setup + call +
teardown) of each test, median over the tests of a run; the median of ``--repeat``
interleaved runs is printed, with the phases, and the ratio replay / plain.

    python bench/replay_overhead.py [--tests 30] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from amqpmock.testing.rabbitmq import RabbitMQNode  # noqa: E402
from tests.replay.shop_services import start  # noqa: E402

INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""

# Each test's report durations into $BENCH_TIMINGS (one JSON line per report), and the
# inventory service stubbed on the plain fake.
CONFTEST = """\
import json
import os

import pytest

TIMINGS = os.environ.get("BENCH_TIMINGS")


def pytest_runtest_logreport(report):
    if TIMINGS:
        with open(TIMINGS, "a") as out:
            out.write(json.dumps([report.nodeid, report.when, report.duration]) + "\\n")


@pytest.fixture(autouse=True)
def inventory(request):
    if request.config.getoption("--amqp-disable-recording"):
        broker = request.getfixturevalue("amqp_broker")
        stub = broker.rpc_stub("", "inventory")
        stub.side_effect(lambda order: {"sku": order["sku"], "reserved": order["qty"]})
"""

TEST_MODULE = """\
import asyncio
import json
import os
import uuid

import aio_pika
import pytest

ORDERS = [{"order_id": n, "sku": f"S-{n}", "qty": n} for n in (1, 2, 3)]
SHARED = os.environ.get("BENCH_SHARED_CASSETTE")
cassette = pytest.mark.amqp_cassette(SHARED) if SHARED else pytest.mark.amqp_cassette


@cassette
@pytest.mark.parametrize("run", range(RUNS))
async def test_orders_are_reserved_and_announced(amqp_url, run):
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=10)
        events = await channel.declare_exchange(
            "bench.events", aio_pika.ExchangeType.TOPIC, durable=True
        )
        accepted = await channel.declare_queue(exclusive=True)
        await accepted.bind(events, "order.*")
        got = []
        all_in = asyncio.Event()

        async def on_accepted(message):
            async with message.process():
                got.append(json.loads(message.body))
                if len(got) == len(ORDERS):
                    all_in.set()

        await accepted.consume(on_accepted)
        replies = await channel.get_queue("amq.rabbitmq.reply-to", ensure=False)
        waiting = {}

        async def on_reply(message):
            waiting.pop(message.correlation_id).set_result(json.loads(message.body))

        await replies.consume(on_reply, no_ack=True)
        for order in ORDERS:
            correlation_id = uuid.uuid4().hex
            waiting[correlation_id] = asyncio.get_running_loop().create_future()
            await channel.default_exchange.publish(
                aio_pika.Message(
                    json.dumps(order).encode(),
                    content_type="application/json",
                    correlation_id=correlation_id,
                    reply_to="amq.rabbitmq.reply-to",
                ),
                routing_key="inventory",
            )
            reply = await asyncio.wait_for(waiting[correlation_id], 5)
            await events.publish(
                aio_pika.Message(
                    json.dumps({**order, "reserved": reply["reserved"]}).encode(),
                    content_type="application/json",
                ),
                routing_key="order.accepted",
            )
        await asyncio.wait_for(all_in.wait(), 5)
    assert [event["reserved"] for event in got] == [1, 2, 3]
"""

PHASES = ("setup", "call", "teardown")


def run_pytest(
    directory: Path, args: list[str], expected: int, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """One pytest session; per test, its phases' durations (ms) and their sum."""
    timings = directory / "timings.jsonl"
    timings.unlink(missing_ok=True)
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=directory,
        env={**os.environ, **(env or {}), "BENCH_TIMINGS": str(timings)},
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - began
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0 or f"{expected} passed" not in last:
        raise SystemExit(
            f"pytest {' '.join(args)} failed ({done.returncode}): {last}\n"
            f"{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
        )
    per_test: dict[str, dict[str, float]] = {}
    for line in timings.read_text().splitlines():
        nodeid, when, duration = json.loads(line)
        per_test.setdefault(nodeid, {})[when] = duration * 1000
    tests = list(per_test.values())
    return {
        "wall_s": wall,
        "total_ms": statistics.median(sum(t.values()) for t in tests),
        **{f"{p}_ms": statistics.median(t.get(p, 0.0) for t in tests) for p in PHASES},
    }


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=30, help="tests per pytest session")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each replay case")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    load_before = load()
    n = args.tests
    with tempfile.TemporaryDirectory(prefix="amqpmock-replay-overhead-") as tmp:
        directory = Path(tmp)
        (directory / "pytest.ini").write_text(INI)
        (directory / "conftest.py").write_text(CONFTEST)
        (directory / "test_service.py").write_text(TEST_MODULE.replace("RUNS", str(n)))
        with RabbitMQNode() as node:
            inventory = start("inventory_rpc_service.py", node.url, directory)
            try:
                record = run_pytest(
                    directory, ["--amqp-record-mode=all", f"--amqp-upstream={node.url}"], n
                )
            finally:
                inventory.kill()
                inventory.wait()
        print(f"record: {record['total_ms']:.1f} ms/test", file=sys.stderr, flush=True)
        first = (
            directory
            / "cassettes"
            / "test_service"
            / ("test_orders_are_reserved_and_announced_0.yaml")
        )
        shutil.copy(first, directory / "cassettes" / "shared.yaml")
        cases: dict[str, tuple[list[str], dict[str, str]]] = {
            "plain": (["--amqp-disable-recording"], {}),
            "replay": ([], {}),
            "replay, shared": ([], {"BENCH_SHARED_CASSETTE": "shared.yaml"}),
        }
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in cases}
        for _ in range(args.repeat):  # interleaved, so drifts hit all cases alike
            for name, (extra, env) in cases.items():
                runs[name].append(run_pytest(directory, extra, n, env))
                print(f"{name}: {runs[name][-1]['total_ms']:.1f} ms/test", file=sys.stderr)
    load_after = load()

    results: dict[str, dict[str, float]] = {
        name: {key: statistics.median(r[key] for r in values) for key in values[0]}
        for name, values in runs.items()
    }
    results["record"] = record
    plain = results["plain"]["total_ms"]
    print(
        f"per-test cost of one aio-pika service test, {n} tests per pytest session, "
        f"median over the tests, median of {args.repeat} runs; Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{load_before} before, {load_after} after"
    )
    header = f"{'':<16} {'ms/test':>8} {'setup':>7} {'call':>7} {'teardown':>9} {'/ plain':>8}"
    print(header)
    for name in ("plain", "replay", "replay, shared", "record"):
        r = results[name]
        print(
            f"{name:<16} {r['total_ms']:>8.1f} {r['setup_ms']:>7.1f} {r['call_ms']:>7.1f} "
            f"{r['teardown_ms']:>9.1f} {r['total_ms'] / plain:>7.2f}x"
        )
    for name in ("replay", "replay, shared"):
        print(f"{name} / plain: {results[name]['total_ms'] / plain:.2f}x")
    if args.json:
        report = {
            "parameters": {"tests": n, "repeat": args.repeat},
            "environment": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_before": load_before,
                "load_after": load_after,
            },
            "results": results,
            "runs": runs,
        }
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
