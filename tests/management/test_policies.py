"""Policies and operator policies, differential: set over the management API, observed
over AMQP with pika, against RabbitMQ 3.10.8 and the fake with the same assertions.
Every name carries a per-test prefix, and the policies are cleared after (the RabbitMQ
node is shared by the session)."""

# Expected texts are RabbitMQ's exact ones; splitting them would hide them.
# ruff: noqa: E501

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest

from .conftest import Target

Setter = Callable[..., None]


@pytest.fixture
def prefix() -> str:
    return f"pp{uuid.uuid4().hex[:6]}"


@pytest.fixture
def policies(target: Target) -> Iterator[Setter]:
    """``put(name, pattern, definition, priority=0, apply_to="queues", operator=False)``;
    everything put is cleared after the test."""
    made: list[str] = []

    def put(
        name: str,
        pattern: str,
        definition: dict[str, Any],
        priority: int = 0,
        apply_to: str = "queues",
        operator: bool = False,
    ) -> None:
        path = f"/api/{'operator-policies' if operator else 'policies'}/%2F/{name}"
        body = {
            "pattern": pattern,
            "definition": definition,
            "priority": priority,
            "apply-to": apply_to,
        }
        answer = target.call("PUT", path, body)
        assert answer.status in (201, 204), answer
        made.append(path)

    yield put
    for path in made:
        target.call("DELETE", path)


def until(fetch: Callable[[], Any], want: Any, timeout: float = 10.0) -> Any:
    """Poll ``fetch()`` until it gives ``want``: RabbitMQ applies a policy to existing
    objects asynchronously (the fake at once)."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while value != want and time.monotonic() < deadline:
        time.sleep(0.05)
        value = fetch()
    return value


class Amqp:
    def __init__(self, url: str) -> None:
        self.conn = pika.BlockingConnection(pika.URLParameters(url))
        self.ch = self.conn.channel()
        self.ch.confirm_delivery()

    def declare(self, queue: str, **arguments: Any) -> None:
        self.ch.queue_declare(queue, auto_delete=False, arguments=arguments or None)

    def publish(self, queue: str, count: int, exchange: str = "") -> None:
        for n in range(count):
            self.ch.basic_publish(exchange, queue, f"m{n}".encode())

    def drain(self, queue: str) -> list[str]:
        out = []
        while True:
            method, _, body = self.ch.basic_get(queue, auto_ack=True)
            if method is None:
                return out
            out.append(body.decode())

    def count(self, queue: str) -> int:
        return int(self.ch.queue_declare(queue, passive=True).method.message_count)

    def close(self, *queues: str) -> None:
        for queue in queues:
            self.ch.queue_delete(queue)
        self.conn.close()


@pytest.fixture
def amqp(target: Target) -> Iterator[Amqp]:
    client = Amqp(target.amqp_url)
    yield client
    if client.conn.is_open:
        client.conn.close()


def test_a_length_policy_on_new_and_existing_queues(
    target: Target, policies: Setter, amqp: Amqp, prefix: str
) -> None:
    late, new = f"{prefix}.late", f"{prefix}.new"
    amqp.declare(late)
    amqp.publish(late, 5)
    policies(f"{prefix}-len", f"^{prefix}\\.", {"max-length": 2})
    assert until(lambda: amqp.count(late), 2) == 2
    assert amqp.drain(late) == ["m3", "m4"]  # trimmed from the head when it applied
    amqp.declare(new)
    amqp.publish(new, 5)
    assert amqp.drain(new) == ["m3", "m4"]
    amqp.close(late, new)


def test_argument_and_policy_meet_at_the_lower_length(
    target: Target, policies: Setter, amqp: Amqp, prefix: str
) -> None:
    policies(f"{prefix}-len", f"^{prefix}\\.", {"max-length": 2})
    bigger, smaller = f"{prefix}.bigger", f"{prefix}.smaller"
    amqp.declare(bigger, **{"x-max-length": 3})
    amqp.declare(smaller, **{"x-max-length": 1})
    amqp.publish(bigger, 5)
    amqp.publish(smaller, 5)
    assert (amqp.drain(bigger), amqp.drain(smaller)) == (["m3", "m4"], ["m4"])
    amqp.close(bigger, smaller)


def test_argument_and_policy_meet_at_the_lower_ttl(
    target: Target, policies: Setter, amqp: Amqp, prefix: str
) -> None:
    policies(f"{prefix}-ttl", f"^{prefix}\\.", {"message-ttl": 0})
    queue = f"{prefix}.q"
    amqp.declare(queue, **{"x-message-ttl": 60000})
    amqp.publish(queue, 3)
    assert until(lambda: amqp.count(queue), 0) == 0  # the policy's 0, not the 60 s
    amqp.close(queue)


def test_priority(target: Target, policies: Setter, amqp: Amqp, prefix: str) -> None:
    queue = f"{prefix}.q"
    policies(f"{prefix}-low", f"^{prefix}\\.", {"max-length": 1}, priority=1)
    policies(f"{prefix}-high", f"^{prefix}\\.", {"max-length": 4}, priority=5)
    amqp.declare(queue)
    amqp.publish(queue, 6)
    assert len(amqp.drain(queue)) == 4
    # a higher priority set later takes over at once (equal priorities are left out:
    # which one RabbitMQ picks then depends on its table's order, undefined)
    amqp.publish(queue, 6)
    policies(f"{prefix}-top", f"^{prefix}\\.", {"max-length": 2}, priority=9)
    assert until(lambda: amqp.count(queue), 2) == 2
    amqp.publish(queue, 6)
    assert len(amqp.drain(queue)) == 2
    amqp.close(queue)


def test_the_argument_wins_for_dead_lettering(
    target: Target, policies: Setter, amqp: Amqp, prefix: str
) -> None:
    by_arg, by_policy, source = f"{prefix}.by-arg", f"{prefix}.by-policy", f"{prefix}-dl.src"
    amqp.declare(by_arg)
    amqp.declare(by_policy)
    policies(
        f"{prefix}-dlx",
        f"^{prefix}-dl\\.",
        {"dead-letter-exchange": "", "dead-letter-routing-key": by_policy, "message-ttl": 0},
    )
    amqp.declare(source, **{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": by_arg})
    amqp.publish(source, 1)
    deadline = time.monotonic() + 3
    while amqp.count(by_arg) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (amqp.count(by_arg), amqp.count(by_policy)) == (1, 0)
    amqp.close(by_arg, by_policy, source)


def test_an_alternate_exchange_by_policy(
    target: Target, policies: Setter, amqp: Amqp, prefix: str
) -> None:
    target_ex, collected, source = f"{prefix}.ae", f"{prefix}.collected", f"{prefix}-x.src"
    amqp.ch.exchange_declare(target_ex, "fanout")
    amqp.declare(collected)
    amqp.ch.queue_bind(collected, target_ex)
    amqp.ch.exchange_declare(source, "direct")
    policies(
        f"{prefix}-ae", f"^{prefix}-x\\.", {"alternate-exchange": target_ex}, apply_to="exchanges"
    )

    def probe() -> bool:  # a mandatory publish comes back until the policy applies
        try:
            amqp.ch.basic_publish(source, "nobody", b"probe", mandatory=True)
        except pika.exceptions.UnroutableError:
            return False
        return amqp.drain(collected) == ["probe"]

    assert until(probe, True) is True
    for n in range(2):
        amqp.ch.basic_publish(source, "nobody", f"u{n}".encode(), mandatory=True)
    assert amqp.drain(collected) == ["u0", "u1"]
    amqp.ch.exchange_delete(source)
    amqp.ch.exchange_delete(target_ex)
    amqp.close(collected)


def test_operator_policy_caps_the_policy(
    target: Target, policies: Setter, amqp: Amqp, prefix: str
) -> None:
    queue = f"{prefix}.q"
    policies(f"{prefix}-user", f"^{prefix}\\.", {"max-length": 3})
    policies(f"{prefix}-op", f"^{prefix}\\.", {"max-length": 1}, operator=True)
    amqp.declare(queue)
    amqp.publish(queue, 5)
    assert amqp.drain(queue) == ["m4"]
    fields = ("policy", "operator_policy", "effective_policy_definition")
    shown = target.call("GET", f"/api/queues/%2F/{queue}").body
    deadline = time.monotonic() + 15  # RabbitMQ shows them once its statistics catch up
    while shown.get("policy") is None and time.monotonic() < deadline:
        time.sleep(0.25)
        shown = target.call("GET", f"/api/queues/%2F/{queue}").body
    assert {f: shown[f] for f in fields} == {
        "policy": f"{prefix}-user",
        "operator_policy": f"{prefix}-op",
        "effective_policy_definition": {"max-length": 1},
    }
    amqp.close(queue)


def test_clearing_a_policy_gives_the_queue_its_own_arguments_back(
    target: Target, policies: Setter, amqp: Amqp, prefix: str
) -> None:
    queue = f"{prefix}.q"
    policies(f"{prefix}-len", f"^{prefix}\\.", {"max-length": 1})
    amqp.declare(queue, **{"x-max-length": 3})
    assert target.call("DELETE", f"/api/policies/%2F/{prefix}-len").status == 204
    assert target.call("DELETE", f"/api/policies/%2F/{prefix}-len").status == 404
    amqp.publish(queue, 5)
    assert amqp.drain(queue) == ["m2", "m3", "m4"]
    amqp.close(queue)


def test_listing_one_and_all(target: Target, policies: Setter, prefix: str) -> None:
    policies(f"{prefix}-a", f"^{prefix}", {"max-length": 2}, priority=1)
    assert target.call("GET", f"/api/policies/%2F/{prefix}-a").body == {
        "vhost": "/",
        "name": f"{prefix}-a",
        "pattern": f"^{prefix}",
        "apply-to": "queues",
        "definition": {"max-length": 2},
        "priority": 1,
    }
    again = target.call(
        "PUT",
        f"/api/policies/%2F/{prefix}-a",
        {"pattern": f"^{prefix}", "definition": {"max-length": 2}},
    )
    assert again.status == 204
    names = [p["name"] for p in target.call("GET", "/api/policies/%2F").body]
    assert f"{prefix}-a" in names
    assert target.call("GET", f"/api/policies/%2F/{prefix}-none").status == 404


BAD: list[tuple[str, bool, dict[str, Any], str]] = [
    (
        "unknown key",
        False,
        {"pattern": ".*", "definition": {"foo": 1}},
        'Validation failed\n\n[{&lt;&lt;"foo"&gt;&gt;,1}] are not recognised policy settings\n',
    ),
    ("no pattern", False, {"definition": {"max-length": 1}}, "[{key_missing,pattern}]"),
    ("no definition", False, {"pattern": ".*"}, "[{key_missing,definition}]"),
    (
        "bad regex",
        False,
        {"pattern": "(", "definition": {"max-length": 1}},
        'Validation failed\n\npattern should be regular expression but is invalid: {"missing )",1}\n',
    ),
    (
        "bad apply-to",
        False,
        {"pattern": ".*", "definition": {"max-length": 1}, "apply-to": "nope"},
        "Validation failed\n\napply-to 'nope' unrecognised; should be 'queues', 'exchanges' or 'all'\n",
    ),
    (
        "bad value",
        False,
        {"pattern": ".*", "definition": {"max-length": "x"}},
        'Validation failed\n\n&lt;&lt;"x"&gt;&gt; is not a valid maximum length\n',
    ),
    (
        "priority as text",
        False,
        {"pattern": "^zz", "definition": {"max-length": 1}, "priority": "2"},
        'Validation failed\n\npriority should be a number, actually was &lt;&lt;"2"&gt;&gt;\n',
    ),
    (
        "empty definition",
        False,
        {"pattern": "^zz", "definition": {}},
        "Validation failed\n\nno policy provided\n",
    ),
    (
        "operator: not its key",
        True,
        {"pattern": ".*", "definition": {"dead-letter-exchange": "x"}},
        'Validation failed\n\n[{<<"dead-letter-exchange">>,<<"x">>}] are not recognised policy settings\n',
    ),
    (
        "operator: overflow",
        True,
        {"pattern": ".*", "definition": {"overflow": "reject-publish"}},
        'Validation failed\n\n[{<<"overflow">>,<<"reject-publish">>}] are not recognised policy settings\n',
    ),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_what_a_bad_policy_gets(
    target: Target, case: tuple[str, bool, dict[str, Any], str], prefix: str
) -> None:
    _, operator, body, reason = case
    path = f"/api/{'operator-policies' if operator else 'policies'}/%2F/{prefix}-bad"
    answer = target.call("PUT", path, body)
    assert (answer.status, answer.body) == (400, {"error": "bad_request", "reason": reason})


def test_overflow_and_expires_by_policy(
    target: Target, policies: Setter, amqp: Amqp, prefix: str
) -> None:
    capped, by_arg, idle = f"{prefix}.capped", f"{prefix}.by-arg", f"{prefix}.idle"
    policies(f"{prefix}-cap", f"^{prefix}\\.", {"max-length": 1, "overflow": "reject-publish"})
    amqp.declare(capped)
    amqp.declare(by_arg, **{"x-overflow": "drop-head"})  # the argument wins
    outcomes = []
    for queue in (capped, capped, by_arg, by_arg):
        try:
            amqp.ch.basic_publish("", queue, queue.encode())
            outcomes.append("acked")
        except pika.exceptions.NackError:
            outcomes.append("nacked")
    assert outcomes == ["acked", "nacked", "acked", "acked"]
    assert (amqp.count(capped), amqp.count(by_arg)) == (1, 1)
    policies(f"{prefix}-idle", f"^{prefix}\\.idle$", {"expires": 1000}, priority=1)
    amqp.declare(idle)

    def idle_exists() -> bool:
        return target.call("GET", f"/api/queues/%2F/{idle}").status == 200

    assert idle_exists()
    assert until(idle_exists, False) is False  # unused for a second: gone
    amqp.close(capped, by_arg)
