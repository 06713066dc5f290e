"""The new user's flow, end to end (issue #12): an aio-pika order service that asks a
real pricing service (another process) for a price over RPC, recorded against a real
RabbitMQ, then replayed offline, with the cases that went wrong on the first try:

- case 5: a repeated identical request (allow_playback_repeats) gets its own reply;
- case 7: a field redacted with redact_body_fields matches on replay, no ignore_fields;
- case 9: a cassette edited with a misspelt method is refused naming file and line;
- case 11: a hard-coded URL to the real RabbitMQ is blocked during replay, named;
- case 12: `amqpmock replay` lets the recorded user in with any password and reports.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest

from amqpmock.testing.rabbitmq import RabbitMQNode

from .test_record_replay import start_service

pytest_plugins = ["pytester"]

PASSWORD = "n3w-us3r-s3cret"
AMQPMOCK_REPLAY = [sys.executable, "-m", "amqpmock.cli", "replay"]
PIKA_IN_PLACE_OF_AIO_PIKA = [
    "--compare",
    "publish",
    "--match-on",
    "exchange,routing_key,headers,body",
]


@pytest.fixture(scope="module")
def rabbit() -> Iterator[RabbitMQNode]:
    node = RabbitMQNode(user="recorder", password=PASSWORD).start()
    try:
        yield node
    finally:
        node.stop()


CONFTEST = """
from amqpmock.cassette import redact_body_fields
from amqpmock.hookspecs import get_plugin_manager, hookimpl


class Redactors:
    @hookimpl
    def amqpmock_redactors(self):
        return [redact_body_fields("customer_email")]


get_plugin_manager().register(Redactors())
"""

CLIENT = """
import asyncio
import json
import socket
import uuid

import aio_pika
import pytest

async def price(channel, callback_queue, replies, order):
    correlation_id = str(uuid.uuid4())
    replies[correlation_id] = asyncio.get_running_loop().create_future()
    await channel.default_exchange.publish(
        aio_pika.Message(
            json.dumps(order).encode(),
            content_type="application/json",
            correlation_id=correlation_id,
            reply_to=callback_queue.name,
        ),
        routing_key="pricing",
    )
    return json.loads(await asyncio.wait_for(replies[correlation_id], 5))

async def order_flow(url, calls):
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        callback_queue = await channel.declare_queue(exclusive=True)
        replies = {}

        async def on_reply(message):
            async with message.process():
                future = replies.get(message.correlation_id)
                if future is not None and not future.done():
                    future.set_result(message.body)

        await callback_queue.consume(on_reply)
        order = {"sku": "A-1", "qty": 3, "customer_email": "alice@example.com"}
        return [await price(channel, callback_queue, replies, order) for _ in range(calls)]

@pytest.mark.amqp_cassette("orders.yaml", allow_playback_repeats=True)
async def test_order_is_priced(amqp_url, amqp_broker):
    prices = await order_flow(amqp_url, CALLS)
    assert prices == [{"sku": "A-1", "price": 30}] * CALLS
    published = amqp_broker.assert_published(routing_key="pricing", times=CALLS)
    assert published.last.json()["customer_email"] == "alice@example.com"

@pytest.mark.amqp_cassette("orders.yaml", allow_unused=True)
def test_a_hard_coded_url_is_blocked(amqp_url):
    try:
        socket.create_connection(("127.0.0.1", REAL_PORT), timeout=2).close()
    except ConnectionRefusedError as exc:
        assert "network blocked during cassette replay" in str(exc)
        return
    raise AssertionError("the real RabbitMQ was reachable during replay")
"""


def test_a_new_users_order_service_records_and_replays(
    pytester: pytest.Pytester, rabbit: RabbitMQNode, tmp_path: Path
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    client = CLIENT.replace("REAL_PORT", str(rabbit.port))
    pytester.makepyfile(test_orders=client.replace("CALLS", "1"))
    service = start_service("pricing_service.py", rabbit.url, tmp_path)
    try:
        recorded = pytester.runpytest_subprocess(
            "-p",
            "no:cacheprovider",
            "--amqp-record-mode=once",
            f"--amqp-upstream={rabbit.url}",
            "-k",
            "priced",
        )
        recorded.assert_outcomes(passed=1)
    finally:
        service.kill()
        service.wait()
    path = pytester.path / "cassettes" / "orders.yaml"
    text = path.read_text()
    # case 7: the field is redacted in the file, and the password never written
    assert "alice@example.com" not in text and "customer_email: <redacted>" in text
    assert rabbit.password not in text

    # replay offline (the service is gone): the recorded run itself, then case 5, two
    # identical requests answered each with its own correlation id, and case 11
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "priced").assert_outcomes(
        passed=1
    )
    pytester.makepyfile(test_orders=client.replace("CALLS", "2"))
    replayed = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    # the blocked connection fails its test loudly at teardown, naming the address,
    # even though the test caught the error itself
    replayed.assert_outcomes(passed=2, errors=1)
    replayed.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_a_hard_coded_url_is_blocked*",
            f"*network blocked during cassette replay: the test tried to connect to "
            f"127.0.0.1:{rabbit.port}*",
        ]
    )

    # case 12: amqpmock replay for clients in any language, the recorded user name with
    # a password the cassette never saw
    proc = subprocess.Popen(
        # a pika client in place of the recorded aio-pika one: its publishes say the
        # same, with other library defaults (aio-pika sets delivery_mode), and its
        # consume (auto-ack) differs: only publishes are compared, without properties
        [*AMQPMOCK_REPLAY, "--cassette", str(path), *PIKA_IN_PLACE_OF_AIO_PIKA],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip().rsplit(":", 1)[1].rstrip("/")
        conn = pika.BlockingConnection(
            pika.URLParameters(f"amqp://recorder:not-the-password@127.0.0.1:{port}/")
        )
        ch = conn.channel()
        reply_q = ch.queue_declare("", exclusive=True).method.queue
        got: list[bytes] = []
        ch.basic_consume(reply_q, lambda c, m, p, body: got.append(body), auto_ack=True)
        order = {"sku": "A-1", "qty": 3, "customer_email": "bob@example.com"}
        ch.basic_publish(
            "",
            "pricing",
            json.dumps(order),
            pika.BasicProperties(
                reply_to=reply_q, correlation_id="cli-1", content_type="application/json"
            ),
        )
        for _ in range(100):
            if got:
                break
            conn.process_data_events(time_limit=0.05)
        assert [json.loads(b) for b in got] == [{"sku": "A-1", "price": 30}]
        conn.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0, proc.stderr.read() if proc.stderr else ""
        assert proc.stderr is not None
        assert "1 of 1 recorded publishes replayed" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    # case 9: a misspelt method in an edited cassette is refused, naming file and line
    path.write_text(text.replace("method: Basic.Publish", "method: Basic.Pubish", 1))
    edited = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "priced")
    edited.assert_outcomes(errors=1)
    edited.stdout.fnmatch_lines(
        ["*orders.yaml: line *: connections*method: unknown AMQP method 'Basic.Pubish'*"]
    )
