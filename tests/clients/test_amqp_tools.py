"""A client in C: Debian's ``amqp-tools`` (librabbitmq's command-line tools), the same
session against RabbitMQ 3.10.8 and the fake, compared output for output."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from typing import Any

import pytest

from amqpmock.testing.harness import BrokerFixture
from amqpmock.testing.rabbitmq import RabbitMQNode

TOOLS = ("amqp-declare-queue", "amqp-publish", "amqp-get", "amqp-consume", "amqp-delete-queue")


@pytest.fixture(scope="module")
def tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: this test needs Debian's amqp-tools "
            "(apt-get install -y amqp-tools; .ci/run installs it)"
        )


def session(url: str) -> list[dict[str, Any]]:
    """The tools' outputs and exit codes for one scripted session on ``url``."""
    queue = f"tools.{uuid.uuid4().hex[:8]}"
    bad = url.replace("guest:guest", "guest:wrong")
    steps: list[list[str]] = [
        ["amqp-declare-queue", "-u", url, "-q", queue, "-d"],
        ["amqp-publish", "-u", url, "-r", queue, "-b", "hello from C"],
        ["amqp-publish", "-u", url, "-r", queue, "-p", "-C", "text/plain", "-b", "second"],
        ["amqp-get", "-u", url, "-q", queue],
        ["amqp-consume", "-u", url, "-q", queue, "-c", "1", "cat"],
        ["amqp-get", "-u", url, "-q", queue],
        ["amqp-get", "-u", url, "-q", f"{queue}.missing"],
        ["amqp-declare-queue", "-u", url, "-q", queue],
        ["amqp-publish", "-u", url, "-e", "no.such.exchange", "-r", "k", "-b", "x"],
        ["amqp-get", "-u", bad, "-q", queue],
        ["amqp-delete-queue", "-u", url, "-q", queue],
    ]
    out = []
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=30)
        out.append(
            {
                "tool": step[0],
                "code": done.returncode,
                "stdout": done.stdout.replace(queue, "<queue>"),
                "stderr": done.stderr.replace(queue, "<queue>"),
            }
        )
    return out


def test_amqp_tools_see_the_same_broker(
    tools: None, rabbitmq_node: RabbitMQNode, amqp_broker: BrokerFixture
) -> None:
    on_rabbitmq = session(rabbitmq_node.url)
    on_fake = session(amqp_broker.url.rstrip("/") + "/%2F")
    assert on_fake == on_rabbitmq
    # and the session did something: the messages came back, the errors were errors
    bodies = [
        step["stdout"] for step in on_rabbitmq if step["tool"] in ("amqp-get", "amqp-consume")
    ]
    assert bodies[:2] == ["hello from C", "second"]
    assert [step["code"] for step in on_rabbitmq][-5:-1] != [0, 0, 0, 0]
