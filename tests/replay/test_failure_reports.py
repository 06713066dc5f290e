"""A replay mismatch reaches the failing test's own report (issue #12 case 8): with
aio-pika, the replay's 406 surfaces as some channel error in the test; the report of the
call phase must carry the mismatch and its diff, not only the teardown error."""

from __future__ import annotations

import pytest

from amqpmock.testing.rabbitmq import RabbitMQNode

pytest_plugins = ["pytester"]

TEST = """
import json
import aio_pika
import pytest

@pytest.mark.amqp_cassette("orders.yaml")
async def test_order(amqp_url):
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue("orders_q", auto_delete=True)
        await channel.default_exchange.publish(
            aio_pika.Message(json.dumps({"n": N}).encode()), routing_key="orders_q"
        )
        # the next call on the channel meets the replay's Channel.Close
        await channel.declare_queue("orders_done", auto_delete=True)
"""


def test_a_mismatch_is_in_the_call_report(
    pytester: pytest.Pytester, rabbitmq_node: RabbitMQNode
) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    pytester.makepyfile(test_orders=TEST.replace("N", "1"))
    recorded = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--amqp-record-mode=once", f"--amqp-upstream={rabbitmq_node.url}"
    )
    recorded.assert_outcomes(passed=1)
    pytester.makepyfile(test_orders=TEST.replace("N", "2"))
    replayed = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    # the mismatch is the test's own failure, said once: not again at teardown
    replayed.assert_outcomes(failed=1)
    out = replayed.stdout.str()
    failures = out[out.index("= FAILURES =") :]
    call_report = failures[: failures.index("short test summary")]
    assert "amqpmock: the cassette replay went wrong (" in call_report
    assert "no recorded publish matches live publish: exchange='' routing_key='orders_q'" in (
        call_report
    )
    assert "body: /n: 2 != 1" in call_report
    assert call_report.index("amqpmock: the cassette replay went wrong (") < call_report.index(
        "and then the test failed"
    )
    # (pytest's short summary repeats a failure's message in full when it runs in CI)
    assert call_report.count("no recorded publish matches live publish") == 1
    assert "Traceback" not in call_report
