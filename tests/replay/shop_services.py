"""A FastStream order service and a Celery stock worker, recorded against a real RabbitMQ
and replayed offline (issue 18): what their tests look like, how they are recorded with
the remote services in their own processes, how they are replayed, and what a mutant of
a service is. Used by test_faststream_service.py and test_celery_worker.py.

A flow's test (written into a folder of its own) runs the service in-process, connected
to `amqp_url`; while recording, the remote parties run in their own processes: the
inventory RPC service (FastStream only) and an outside feed that publishes three
`stock.changed` events to `shop.events` once the test writes the file `trigger`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVICES = Path(__file__).parent / "services"
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
STOCK_EVENTS = 3

FASTSTREAM_TEST = """
import asyncio
import json
from pathlib import Path

import aio_pika
import pytest

from order_service import make_broker

TRIGGER = Path("trigger")
ORDERS = [{"order_id": n, "sku": f"S-{n}", "qty": n} for n in (1, 2, 3)]
STOCK = {"S-1": 99, "S-2": 98, "S-3": 97}


async def until(predicate, timeout=3):
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


@pytest.mark.amqp_cassette("orders.yaml")
@pytest.mark.parametrize("run", range(RUNS))
async def test_orders_are_accepted_and_stock_followed(amqp_url, run):
    levels = {}
    broker = make_broker(amqp_url, levels)
    async with broker:
        await broker.start()
        listener = await aio_pika.connect(amqp_url)
        async with listener:
            channel = await listener.channel()
            accepted = await channel.declare_queue(exclusive=True)
            await accepted.bind("shop.events", "order.accepted")
            got = []

            async def on_accepted(message):
                async with message.process():
                    got.append(json.loads(message.body))

            await accepted.consume(on_accepted)
            # the stock levels first, then the orders: replay does not yet inject an
            # outside event that the recording saw after a direct reply-to consume
            TRIGGER.write_text("go")  # while recording, the outside stock feed starts now
            await until(lambda: levels == STOCK)
            for order in ORDERS:
                await broker.publish(order, queue="orders")
            await until(lambda: len(got) == len(ORDERS))
        assert sorted(event["order_id"] for event in got) == [1, 2, 3]
        assert all(event["reserved"] == event["order_id"] for event in got)
"""

CELERY_TEST = """
import signal
import time
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker

from stock_worker import make_app

TRIGGER = Path("trigger")
ORDERS = [{"order_id": n, "sku": f"S-{n}", "qty": n} for n in (1, 2, 3)]
STOCK = {"S-1": 99, "S-2": 98, "S-3": 97}


def until(predicate, timeout=3):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def expired(signum, frame):
    raise TimeoutError("the test ran out of time")


@pytest.fixture(autouse=True)
def deadline():
    # start_worker waits for the worker's consumer without a timeout: a worker that
    # cannot start (a declare or a bind refused) would hang the test
    signal.signal(signal.SIGALRM, expired)
    signal.alarm(5)
    yield
    signal.alarm(0)


# what differs every run in Celery's own messages: the sender's node name in a task's
# headers (gen<pid>@host) and the time a result was stored
@pytest.mark.amqp_cassette("stock.yaml", ignore_fields=["headers.origin", "date_done"])
@pytest.mark.parametrize("run", range(RUNS))
def test_the_worker_reserves_stock_and_follows_it(amqp_url, run):
    levels = {}
    worker = make_app(amqp_url, levels)
    client = make_app(amqp_url)  # the code that sends the tasks, as a web service would
    reserve = client.tasks["stock.reserve"]
    # a fixed node name: Celery's default (gen<pid>@host) names its queues anew every run
    with start_worker(worker, hostname="stock-worker@test", perform_ping_check=False):
        signal.alarm(20)  # started: the rest of the test has 20 s
        TRIGGER.write_text("go")  # while recording, the outside stock feed starts now
        until(lambda: levels == STOCK)
        # one producer for the batch: kombu declares a task's queue once per connection,
        # and its pool (one per broker URL, shared with the worker's thread) would hand
        # out whichever connection is free
        with client.producer_or_acquire() as producer:
            results = [reserve.apply_async((order,), producer=producer) for order in ORDERS]
        got = [r.get(timeout=3) for r in results]
    assert [g["reserved"] for g in got] == [1, 2, 3]
"""


@dataclass(frozen=True)
class Flow:
    """A service under test: its source, the name its test imports it by, its test."""

    service: str  # file in services/
    module: str  # the import name in the test's folder
    test: str  # the test function
    source: str  # the test file, RUNS to fill in
    cassette: str  # under cassettes/
    remotes: tuple[str, ...]  # RPC services that run in their own processes when recording


FASTSTREAM = Flow(
    "faststream_order_service.py",
    "order_service",
    "test_orders_are_accepted_and_stock_followed",
    FASTSTREAM_TEST,
    "orders.yaml",
    ("inventory_rpc_service.py",),
)
CELERY = Flow(
    "celery_stock_worker.py",
    "stock_worker",
    "test_the_worker_reserves_stock_and_follows_it",
    CELERY_TEST,
    "stock.yaml",
    (),
)


@dataclass(frozen=True)
class Mutant:
    """A change to the service's code, and what replay must say about it."""

    name: str
    old: str
    new: str
    expect: tuple[str, ...]  # each in the test's own report

    def __str__(self) -> str:
        return self.name


def write_project(folder: Path, flow: Flow, runs: int = 1, mutant: Mutant | None = None) -> None:
    service = (SERVICES / flow.service).read_text()
    if mutant is not None:
        assert service.count(mutant.old) == 1, f"{mutant.name}: {mutant.old!r} is not unique"
        service = service.replace(mutant.old, mutant.new)
    (folder / f"{flow.module}.py").write_text(service)
    (folder / "test_flow.py").write_text(flow.source.replace("RUNS", str(runs)))
    (folder / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )


def start(script: str, url: str, folder: Path, *args: str) -> subprocess.Popen[bytes]:
    """A remote party in its own process, once it says it is ready."""
    ready = folder / f"{script}.ready"
    proc = subprocess.Popen(
        [sys.executable, str(SERVICES / script), url, str(ready), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{script} did not start")
        time.sleep(0.05)
    return proc


# What the shop's services declare. The session's RabbitMQ node is shared with other
# tests (one declares a non-durable `orders`), and a durable queue keeps what an earlier
# recording left: each recording starts from a clean state (README, "Recording from a
# clean state").
SHOP_QUEUES = ("orders", "inventory", "order-service.stock", "stock.reservations")
SHOP_EXCHANGES = ("shop.events", "stock")


def clean_slate(url: str) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        for queue in SHOP_QUEUES:
            connection.channel().queue_delete(queue)
        for exchange in SHOP_EXCHANGES:
            connection.channel().exchange_delete(exchange)
    finally:
        connection.close()


def record(flow: Flow, url: str, folder: Path) -> Path:
    """Record the flow's test once against RabbitMQ at `url`, the remote parties in
    their own processes (killed afterwards); the cassette's path."""
    write_project(folder, flow)
    clean_slate(url)
    remotes = [start(script, url, folder) for script in flow.remotes]
    remotes.append(
        start("stock_feed_service.py", url, folder, str(folder / "trigger"), str(STOCK_EVENTS))
    )
    try:
        result = subprocess.run(
            [*PYTEST, "--amqp-record-mode=once", f"--amqp-upstream={url}"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        for proc in remotes:
            proc.kill()
            proc.wait()
    return folder / "cassettes" / flow.cassette


def replay(
    pytester: pytest.Pytester,
    flow: Flow,
    cassette: Path,
    runs: int = 1,
    mutant: Mutant | None = None,
) -> pytest.RunResult:
    """Replay the cassette offline (the remote parties are gone, the network blocked)
    into the flow's test, `runs` times in one session, the service mutated or not."""
    (pytester.path / "cassettes").mkdir(exist_ok=True)
    (pytester.path / "cassettes" / flow.cassette).write_bytes(cassette.read_bytes())
    write_project(pytester.path, flow, runs, mutant)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider")


_HEADER = re.compile(r"^_{3,} (.+?) _{3,}$")


def own_report(result: pytest.RunResult, test: str) -> str:
    """The sections of pytest's report about `test`: its failure, and its error at
    teardown if any (not the short summary)."""
    lines: list[str] = []
    keep = False
    for line in result.outlines:
        header = _HEADER.match(line)
        if header or line.startswith("====="):
            keep = header is not None and test in header.group(1)
        if keep:
            lines.append(line)
    return "\n".join(lines)


def assert_caught(result: pytest.RunResult, flow: Flow, mutant: Mutant) -> None:
    """Replay failed the mutant, and the test's own report names the difference: its
    failure, or (what the code no longer does, in a test that passed) its error at
    teardown."""
    out = result.stdout.str()
    assert result.ret != 0, f"replay passed the mutant {mutant.name}:\n{out}"
    report = own_report(result, flow.test)
    for text in mutant.expect:
        assert text in report, f"{mutant.name}: {text!r} is not in the report:\n{out}"
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1 or outcomes.get("errors") == 1, out
