"""A recording never makes a cassette worse (issue #12 case 2): an unreachable upstream
fails the test naming it and leaves the cassette as it was; a test that fails while
recording writes nothing unless record_on_exception; rewrite keeps the old cassette
until the new one is written."""

from __future__ import annotations

import pytest
import yaml

from amqpmock.testing.rabbitmq import RabbitMQNode

pytest_plugins = ["pytester"]

TEST = """
import pika, pytest

@pytest.mark.amqp_cassette("loop.yaml")
def test_loop(amqp_url):
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    ch.queue_declare("safety_q", auto_delete=True)
    ch.basic_publish("", "safety_q", b"BODY")
    for _ in range(50):
        method, props, body = ch.basic_get("safety_q", auto_ack=True)
        if method:
            break
        conn.sleep(0.02)
    conn.close()
    assert body == b"BODY"
    FAIL
"""


def write_test(pytester: pytest.Pytester, body: str = "BODY", fail: bool = False) -> None:
    text = TEST.replace("BODY", body).replace("FAIL", "assert False, 'boom'" if fail else "")
    pytester.makepyfile(test_shop=text)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def cassette_bytes(pytester: pytest.Pytester) -> bytes:
    return (pytester.path / "cassettes" / "loop.yaml").read_bytes()


@pytest.fixture
def recorded(pytester: pytest.Pytester, rabbitmq_node: RabbitMQNode) -> bytes:
    write_test(pytester, "first")
    result = run(pytester, "--amqp-record-mode=once", f"--amqp-upstream={rabbitmq_node.url}")
    result.assert_outcomes(passed=1)
    good = cassette_bytes(pytester)
    assert b"first" in good
    return good


@pytest.mark.parametrize("mode", ["all", "rewrite", "new_episodes"])
def test_an_unreachable_upstream_fails_the_test_and_keeps_the_cassette(
    pytester: pytest.Pytester, recorded: bytes, mode: str
) -> None:
    write_test(pytester, "second")
    result = run(
        pytester, f"--amqp-record-mode={mode}", "--amqp-upstream=amqp://guest:s3cret@127.0.0.1:1/"
    )
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "the upstream RabbitMQ amqp://guest:<redacted>@127.0.0.1:1/%2F is unreachable" in out
    assert "127.0.0.1:1" in out and "s3cret" not in out
    assert cassette_bytes(pytester) == recorded


def test_a_test_that_fails_while_recording_writes_nothing(
    pytester: pytest.Pytester, recorded: bytes, rabbitmq_node: RabbitMQNode
) -> None:
    write_test(pytester, "second", fail=True)
    result = run(pytester, "--amqp-record-mode=all", f"--amqp-upstream={rabbitmq_node.url}")
    result.assert_outcomes(failed=1)
    assert cassette_bytes(pytester) == recorded
    # unless asked to: record_on_exception=True writes what the failing test did
    pytester.makepyfile(
        test_shop=(pytester.path / "test_shop.py")
        .read_text()
        .replace('"loop.yaml")', '"loop.yaml", record_on_exception=True)')
    )
    result = run(pytester, "--amqp-record-mode=all", f"--amqp-upstream={rabbitmq_node.url}")
    result.assert_outcomes(failed=1)
    data = yaml.safe_load(cassette_bytes(pytester))
    bodies = [
        i.get("body")
        for c in data["connections"]
        for i in c["interactions"]
        if i.get("method") == "Basic.Publish"
    ]
    assert bodies == ["second"]
