"""Resource alarms against RabbitMQ 3.10.8 (its own node with the management plugin:
``rabbitmqctl set_vm_memory_high_watermark 0`` and ``set_disk_free_limit`` beyond the
disk) and against the fake (``amqp_broker.alarm`` / ``clear_alarm``): the client story
of ``alarm_story`` gives what RabbitMQ gave, recorded below (``expected``), on both.

RabbitMQ facts this pins (docs/rabbitmq-facts.md, "Alarms"): an alarm tells nobody
anything and blocks nobody by itself, every connection shows ``blocking`` (a new one
too) and a consumer keeps getting and acking; a connection that publishes is
``blocked`` (with or without the capability) and its message waits unread, except one
without a body, which is routed; only a blocked client with the ``connection.blocked``
capability gets Connection.Blocked (``low on memory``, ``low on disk``, ``low on disk &
memory``), and Connection.Unblocked once no alarm is left (clearing one of two changes
nothing); then the waiting messages are routed. ``mem_alarm`` / ``disk_free_alarm`` on
the node follow the alarms.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from amqpmock.testing.harness import BrokerFixture
from amqpmock.testing.rabbitmq import RabbitMQNode

from .alarm_story import Management, Observation, story
from .compare import assert_equal

KINDS = ("memory", "disk", "both")
FIVE = ("consumer", "idle", "pub_cap", "pub_empty", "pub_nocap")


def _states(state: str, late: str | None = None, **others: str) -> dict[str, str]:
    states = dict.fromkeys(FIVE, state) | others
    return states | ({"late": late} if late else {})


def expected(kind: str) -> Observation:
    """What RabbitMQ 3.10.8 gave (AMQPMOCK_RECORD_OBSERVED=FILE writes it again)."""
    reason = {"memory": "low on memory", "disk": "low on disk"}.get(kind, "low on disk & memory")
    node = {"mem_alarm": kind != "disk", "disk_free_alarm": kind != "memory"}
    no_alarm = {"mem_alarm": False, "disk_free_alarm": False}
    nothing: dict[str, list[Any]] = {name: [] for name in FIVE}
    blocked = nothing | {"pub_cap": [["blocked", reason]], "pub_empty": [["blocked", reason]]}
    unblocked = {name: [*told, ["unblocked"]] if told else [] for name, told in blocked.items()}
    out: Observation = {
        "before": {"node": no_alarm, "states": _states("running")},
        "told_on_alarm": nothing,
        "on_alarm": {"node": node, "states": _states("blocking")},
        "consumer_got_during_alarm": ["pre0", "pre1", "pre2"],
        "pre_left": 0,
        "told_on_publish": blocked,
        # the message without a body was routed; the three others wait unread
        "work_during_alarm": 1,
        "on_publish": {
            "node": node,
            "states": _states(
                "blocking", "blocking", pub_cap="blocked", pub_empty="blocked", pub_nocap="blocked"
            ),
        },
        "told_on_clear": unblocked | {"late": []},
        "work_after_clear": 4,
        "after_clear": {"node": no_alarm, "states": _states("running", "running")},
    }
    resources = {"memory": ["memory"], "disk": ["disk space"]}.get(kind, ["disk space", "memory"])
    out["health_on_alarm"] = [503, "There are alarms in effect in the cluster", resources]
    out["health_after_clear"] = [200, None, []]
    if kind == "both":  # memory cleared first: still blocked, nothing said, nothing read
        out["told_after_first_clear"] = blocked | {"late": []}
        out["work_after_first_clear"] = 1
    return out


@pytest.fixture(scope="module")
def alarm_node() -> Iterator[RabbitMQNode]:
    """A node of its own: an alarm on the session's node would block other tests."""
    node = RabbitMQNode(plugins=("rabbitmq_management",)).start()
    try:
        yield node
    finally:
        node.stop()


def _resources(kind: str) -> tuple[str, ...]:
    return ("memory", "disk") if kind == "both" else (kind,)


def _check(kind: str, observed: Observation) -> None:
    record = os.environ.get("AMQPMOCK_RECORD_OBSERVED")  # a file: how EXPECTED was made
    if record:
        with open(record, "a") as out:
            out.write(json.dumps({kind: observed}, sort_keys=True) + "\n")
    assert_equal(expected(kind), observed)


@pytest.mark.rabbitmq
@pytest.mark.parametrize("kind", KINDS)
def test_alarm_on_rabbitmq(alarm_node: RabbitMQNode, kind: str) -> None:
    node = alarm_node
    on = {
        "memory": ("set_vm_memory_high_watermark", "0"),
        "disk": ("set_disk_free_limit", "100000GB"),
    }
    off = {
        "memory": ("set_vm_memory_high_watermark", "0.4"),
        "disk": ("set_disk_free_limit", "50MB"),
    }

    def raise_alarm() -> None:
        for resource in _resources(kind):
            node.rabbitmqctl(*on[resource])

    def clear(between: Callable[[], None]) -> None:
        for n, resource in enumerate(_resources(kind)):
            if n:
                between()
            node.rabbitmqctl(*off[resource])

    assert node.management_url is not None
    url = node.management_url.replace("http://", f"http://{node.user}:{node.password}@")
    _check(kind, story(node.url, Management(url), raise_alarm, clear))


@pytest.mark.parametrize("kind", KINDS)
def test_alarm_on_the_fake(
    amqp_broker: BrokerFixture, amqp_management_url: str, kind: str
) -> None:
    def raise_alarm() -> None:
        for resource in _resources(kind):
            amqp_broker.alarm(resource)

    def clear(between: Callable[[], None]) -> None:
        for n, resource in enumerate(_resources(kind)):
            if n:
                between()
            amqp_broker.clear_alarm(resource)

    _check(kind, story(amqp_broker.url, Management(amqp_management_url), raise_alarm, clear))
