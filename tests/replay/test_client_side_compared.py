"""Replay fails code that would not have made the same recording (issue 18, cases 1, 2,
3 and 5), with an aio-pika pricing service of the kind people write, recorded once
against a real RabbitMQ with an outside order feed running in its own process, then
replayed offline with the feed gone:

- case 3: the service consumes at once, the test binds a listener on another connection
  a second later, and only then does the outside feed publish `order.created`; the
  service prices each order and publishes `order.priced` to the listener. Replay must
  wait for the listener's bind on the *other* connection (the recording's clock), not
  inject as soon as the service consumes (the old rule: `order.priced` went nowhere);
- case 1: the service nacks where the recording acked: its test passes on its own, and
  replay fails it, naming the settlement;
- case 2: the service declares its exchange `durable=False` where the recording has
  `durable=True`: the declare is refused and the report names the flag;
- case 5: a changed binding key: the bind is refused, and what never replayed is folded
  into one line that says what it waited for.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from amqpmock.testing.rabbitmq import RabbitMQNode

from .shop_services import own_report, start

pytest_plugins = ["pytester"]

COUNT = 3
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]

SERVICE_TEST = """
import asyncio
import json
from pathlib import Path

import aio_pika
import pytest

TRIGGER = Path(TRIGGER_PATH)
COUNT = COUNT_VALUE


async def pricing_service(url):
    connection = await aio_pika.connect(url)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=10)
    shop = await channel.declare_exchange("shop", aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue("pricing_in", auto_delete=True)
    await queue.bind(shop, "order.created")

    async def on_order(message):
        order = json.loads(message.body)
        priced = {"id": order["id"], "price": 10 * order["qty"]}
        await shop.publish(
            aio_pika.Message(json.dumps(priced).encode(), content_type="application/json"),
            routing_key="order.priced",
        )
        await message.ack()

    await queue.consume(on_order)
    return connection


@pytest.mark.amqp_cassette("priced.yaml")
async def test_outside_orders_are_priced(amqp_url):
    service = await pricing_service(amqp_url)
    await asyncio.sleep(1)  # the service is up long before anybody listens
    listener = await aio_pika.connect(amqp_url)
    channel = await listener.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind("shop", "order.priced")
    TRIGGER.write_text("go")  # while recording, the outside feed starts now
    got = []

    async def take():
        async with queue.iterator() as messages:
            async for message in messages:
                async with message.process():
                    got.append(json.loads(message.body))
                if len(got) == COUNT:
                    return

    await asyncio.wait_for(take(), 5)
    assert got == [{"id": n, "price": 10 * (n + 1)} for n in range(1, COUNT + 1)]
    await listener.close()
    await service.close()
"""


@pytest.fixture(scope="module")
def recorded(
    rabbitmq_node: RabbitMQNode, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """The cassette, recorded once for the module: a pytester-free run of pytest in a
    folder of its own, with the feed in its own process."""
    import subprocess

    folder = tmp_path_factory.mktemp("priced")
    trigger = folder / "trigger"
    (folder / "test_priced.py").write_text(source(trigger))
    (folder / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    feed = start_feed(rabbitmq_node.url, folder, trigger)
    try:
        result = subprocess.run(
            [*PYTEST, "--amqp-record-mode=once", f"--amqp-upstream={rabbitmq_node.url}"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        feed.kill()
        feed.wait()
    yield folder / "cassettes" / "priced.yaml"


def source(trigger: Path, old: str = "", new: str = "") -> str:
    text = SERVICE_TEST.replace("TRIGGER_PATH", repr(str(trigger)))
    text = text.replace("COUNT_VALUE", str(COUNT))
    if old:
        assert old in text, old
        text = text.replace(old, new)
    return text


def start_feed(url: str, folder: Path, trigger: Path):  # type: ignore[no-untyped-def]
    return start("order_feed_service.py", url, folder, str(trigger), str(COUNT))


def replay(pytester: pytest.Pytester, cassette: Path, old: str = "", new: str = ""):  # type: ignore[no-untyped-def]
    (pytester.path / "cassettes").mkdir(exist_ok=True)
    (pytester.path / "cassettes" / "priced.yaml").write_bytes(cassette.read_bytes())
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    pytester.makepyfile(test_priced=source(pytester.path / "trigger", old, new))
    return pytester.runpytest_subprocess("-p", "no:cacheprovider")


def test_the_recording_has_the_outside_orders_after_the_listeners_bind(recorded: Path) -> None:
    import yaml

    data = yaml.safe_load(recorded.read_text())
    service, listener = data["connections"][:2]
    outside = [i for i in service["interactions"] if i.get("origin") == "outside"]
    assert [i["args"]["routing_key"] for i in outside] == ["order.created"] * COUNT
    bind = next(i for i in listener["interactions"] if i["method"] == "Queue.Bind")
    # the premise of case 3: the events came after the other connection's bind
    assert all(i["at"] > bind["at"] for i in outside)


def test_case3_outside_events_wait_for_what_other_connections_did(
    pytester: pytest.Pytester, recorded: Path
) -> None:
    result = replay(pytester, recorded)
    result.assert_outcomes(passed=1)


def test_case1_a_nack_where_the_recording_acked_fails(
    pytester: pytest.Pytester, recorded: Path
) -> None:
    result = replay(pytester, recorded, "await message.ack()", "await message.nack(requeue=False)")
    result.assert_outcomes(failed=1)  # its own assertions passed: the replay fails it
    result.stdout.fnmatch_lines(
        [
            "*the cassette replay went wrong*",
            "*live Basic.Nack(message=<message exchange='shop' routing_key='order.created'*"
            "requeue=False) is not in the recording*",
            "*method: Basic.Nack != Basic.Ack*",
        ]
    )
    # the three nacks differ from the recording the same way: one entry, not three
    out = result.stdout.str()
    # counted in the test's own report: pytest's short summary repeats the message in CI
    assert (
        own_report(result, "test_outside_orders_are_priced").count("is not in the recording") == 1
    )
    assert f"and {COUNT - 1} more message(s) settled the same way" in out
    assert (
        f"recorded Basic.Ack of messages exchange='shop' routing_key='order.created' "
        f"never replayed (x{COUNT}" in out
    )


def test_case2_a_changed_declare_flag_fails(pytester: pytest.Pytester, recorded: Path) -> None:
    result = replay(pytester, recorded, "TOPIC, durable=True", "TOPIC, durable=False")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*the cassette replay went wrong*",
            "*live Exchange.Declare(exchange='shop', exchange_type='topic', passive=False, "
            "durable=False*is not in the recording*",
            "*durable: False != True*",
        ]
    )
    assert "ERROR at teardown" not in out  # said once, in the test's own report
    assert out.index("the cassette replay went wrong") < out.index("and then the test failed")


def test_case5_a_changed_binding_key_is_named_and_what_waited_is_folded(
    pytester: pytest.Pytester, recorded: Path
) -> None:
    result = replay(
        pytester,
        recorded,
        'await queue.bind(shop, "order.created")',
        'await queue.bind(shop, "order.create")',
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*live Queue.Bind(queue='pricing_in', exchange='shop', routing_key='order.create'*",
            "*routing_key: 'order.create' != 'order.created'*",
            f"*{COUNT} outside deliveries never injected: queue='pricing_in' "
            "routing_key='order.created'*first, 3 different bodies*"
            "it waited for the bind of queue 'pricing_in' to 'shop' with 'order.created'*",
        ]
    )
    assert (
        own_report(result, "test_outside_orders_are_priced").count(
            "outside deliveries never injected"
        )
        == 1
    )


# The rest of issue 18's mutation table on this service: each mutant of the service's
# code replays against the recording of the unmutated one and fails, naming the
# difference in the test's own report (a missing ack: in its teardown report).
MUTANTS = {
    "missing ack": (
        "        await message.ack()\n",
        "        pass\n",
        [
            "*ERROR at teardown*",
            "*recorded Basic.Ack of messages exchange='shop' "
            "routing_key='order.created' never replayed (x3*",
        ],
    ),
    "routing-key typo": (
        'routing_key="order.priced"',
        'routing_key="order.prices"',
        [
            "*no recorded publish matches live publish: exchange='shop' "
            "routing_key='order.prices'*",
            "*routing_key: 'order.prices' != 'order.priced'*",
        ],
    ),
    "extra publish": (
        "        await message.ack()\n",
        "        await shop.publish(aio_pika.Message(b'x'), routing_key='order.audit')\n"
        "        await message.ack()\n",
        ["*no recorded publish matches live publish: exchange='shop' routing_key='order.audit'*"],
    ),
    "missing publish": (
        "        await shop.publish(",
        "        if False: await shop.publish(",
        [
            "*amqpmock: when the test failed, the cassette*had what this run did not do:*",
            "*publish never replayed: exchange='shop' routing_key='order.priced'*",
        ],
    ),
    "changed body field": (
        '"price": 10 * order["qty"]',
        '"price": 11 * order["qty"]',
        [
            "*no recorded publish matches live publish: exchange='shop'*",
            "*body: /price: 22 != 20*",
        ],
    ),
    "changed header": (
        'content_type="application/json"),',
        'content_type="application/json", headers={"v": 2}),',
        ["*no recorded publish matches*", "*headers.v: 2 != None*"],
    ),
    "changed prefetch": (
        "prefetch_count=10",
        "prefetch_count=5",
        [
            "*live Basic.Qos(prefetch_size=0, prefetch_count=5, global_=False) is not in the "
            "recording*",
            "*prefetch_count: 5 != 10*",
        ],
    ),
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_each_mutant_fails_replay_naming_the_difference(
    pytester: pytest.Pytester, recorded: Path, mutant: str
) -> None:
    old, new, expected = MUTANTS[mutant]
    result = replay(pytester, recorded, old, new)
    assert result.ret != 0, f"replay passed the mutant {mutant!r}"
    result.stdout.fnmatch_lines(expected)


def test_the_unmutated_service_replays_ten_times_in_a_row(
    pytester: pytest.Pytester, recorded: Path
) -> None:
    (pytester.path / "cassettes").mkdir(exist_ok=True)
    (pytester.path / "cassettes" / "priced.yaml").write_bytes(recorded.read_bytes())
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    text = source(pytester.path / "trigger").replace(
        "async def test_outside_orders_are_priced(amqp_url):",
        "@pytest.mark.parametrize('run', range(10))\n"
        "async def test_outside_orders_are_priced(amqp_url, run):",
    )
    pytester.makepyfile(test_priced=text)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=10)
