"""Per-test cost of the pytest plugin's ``amqp_broker`` fixture, against the per-test
cleanup a fixture for a real RabbitMQ needs.

Three generated test files of ``--tests`` trivial tests each, every one run with
``pytest -p no:cacheprovider -q`` in a fresh subprocess (so pytest's start-up is in
all three, and the fake's session server start is in the second):

- ``plain``: the tests take no fixture (the baseline);
- ``amqp_broker``: each test takes the ``amqp_broker`` fixture (a fresh fake broker:
  reset before and after the test);
- ``rabbitmq cleanup``: each test takes a fixture that does what a per-test reset of a
  shared real RabbitMQ costs at least: connect with pika, declare a queue and an
  exchange, delete both, close. The node (``RabbitMQNode``) is started once by this
  script, outside the timing, and its URL passed in the environment.

Reported: wall time (median of ``--repeat`` runs), milliseconds per test, and the
overhead per test over the plain baseline.

    python bench/fixture_overhead.py [--tests 1000] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from amqpmock.testing.rabbitmq import RabbitMQNode

INI = """\
[pytest]
asyncio_default_fixture_loop_scope = function
"""

PLAIN = """\
import pytest


@pytest.mark.parametrize("i", range({n}))
def test_trivial(i):
    assert i >= 0
"""

FAKE = """\
import pytest


@pytest.mark.parametrize("i", range({n}))
def test_trivial(amqp_broker, i):
    assert amqp_broker.url.startswith("amqp://")
"""

RABBIT = """\
import os

import pika
import pytest

URL = os.environ["BENCH_RABBITMQ_URL"]


@pytest.fixture
def rabbitmq_clean():
    # what a per-test reset of a shared real broker needs, at the least
    connection = pika.BlockingConnection(pika.URLParameters(URL))
    try:
        channel = connection.channel()
        channel.queue_declare("bench.cleanup.q")
        channel.exchange_declare("bench.cleanup.x", "topic")
        channel.queue_delete("bench.cleanup.q")
        channel.exchange_delete("bench.cleanup.x")
    finally:
        connection.close()
    yield URL


@pytest.mark.parametrize("i", range({n}))
def test_trivial(rabbitmq_clean, i):
    assert rabbitmq_clean.startswith("amqp://")
"""

CASES = {"plain": PLAIN, "amqp_broker": FAKE, "rabbitmq cleanup": RABBIT}


def run_pytest(directory: Path, filename: str, env: dict[str, str], expected: int) -> float:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", filename],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - began
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0 or not re.search(rf"\b{expected} passed\b", summary):
        raise RuntimeError(
            f"pytest {filename} failed ({done.returncode}): {summary}\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)

    walls: dict[str, list[float]] = {name: [] for name in CASES}
    with tempfile.TemporaryDirectory(prefix="amqpmock-overhead-") as tmp, RabbitMQNode() as node:
        directory = Path(tmp)
        (directory / "pytest.ini").write_text(INI)
        files: dict[str, str] = {}
        for index, (name, template) in enumerate(CASES.items()):
            filename = f"test_case{index}.py"
            (directory / filename).write_text(textwrap.dedent(template.format(n=args.tests)))
            files[name] = filename
        env = dict(os.environ, BENCH_RABBITMQ_URL=node.url, PYTHONDONTWRITEBYTECODE="1")
        for _ in range(args.repeat):  # interleaved, so drifts hit all cases alike
            for name, filename in files.items():
                walls[name].append(run_pytest(directory, filename, env, args.tests))
                print(f"{name}: {walls[name][-1]:.2f} s", file=sys.stderr, flush=True)

    median = {name: statistics.median(values) for name, values in walls.items()}
    base = median["plain"]
    results: dict[str, dict[str, float]] = {}
    print(
        f"pytest per-test overhead: {args.tests} trivial tests per run, median of "
        f"{args.repeat} runs; Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    print(f"{'':<18} {'wall (s)':>9} {'ms/test':>9} {'overhead ms/test':>17}")
    for name, wall in median.items():
        per_test = wall / args.tests * 1000
        overhead = (wall - base) / args.tests * 1000
        results[name] = {"wall_s": wall, "ms_per_test": per_test, "overhead_ms_per_test": overhead}
        print(f"{name:<18} {wall:>9.2f} {per_test:>9.2f} {overhead:>17.2f}")
    fake = results["amqp_broker"]["overhead_ms_per_test"]
    rabbit = results["rabbitmq cleanup"]["overhead_ms_per_test"]
    if fake > 0:
        print(f"amqp_broker's overhead is {rabbit / fake:.1f}x smaller than a RabbitMQ cleanup's")
    if args.json:
        report: dict[str, Any] = {
            "parameters": {"tests": args.tests, "repeat": args.repeat},
            "environment": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "results": results,
            "raw_wall_s": walls,
        }
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
