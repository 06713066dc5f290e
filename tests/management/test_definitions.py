"""Definitions: an export from a real RabbitMQ 3.10.8 loads into the fake and exports
back equal; users keep their passwords (RabbitMQ's salted hashes are checked); and the
fake's export loads into RabbitMQ."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pika
import pytest

from amqpmock.fake import Broker
from amqpmock.management import Context, load_definitions

from .conftest import Target

pytest_plugins = ["pytester"]


def _sorted(items: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(i, sort_keys=True) for i in items)


def comparable(data: dict[str, Any], vhost: str) -> dict[str, Any]:
    """The parts of an export that are about ``vhost`` and its user, order-free."""
    out: dict[str, Any] = {
        "users": _sorted(
            [
                {k: u[k] for k in ("name", "password_hash", "hashing_algorithm", "tags")}
                for u in data.get("users", [])
                if u["name"].startswith(vhost)
            ]
        ),
        "vhosts": sorted(v["name"] for v in data.get("vhosts", []) if v["name"] == vhost),
        "permissions": _sorted([p for p in data.get("permissions", []) if p["vhost"] == vhost]),
    }
    for key in ("policies", "queues", "exchanges", "bindings"):
        out[key] = _sorted([i for i in data.get(key, []) if i.get("vhost", vhost) == vhost])
    return out


@pytest.fixture
def tenant(rabbitmq_target: Target) -> Iterator[str]:
    """A vhost on the RabbitMQ node with a user, permissions, a policy, queues,
    exchanges and bindings of each kind."""
    rabbit = rabbitmq_target
    vhost = f"df{uuid.uuid4().hex[:8]}"
    v = quote(vhost, safe="")
    calls: list[tuple[str, str, Any]] = [
        ("PUT", f"/api/vhosts/{v}", {}),
        ("PUT", f"/api/users/{vhost}.svc", {"password": "Sv(-pw-9", "tags": "management"}),
        (
            "PUT",
            f"/api/permissions/{v}/{vhost}.svc",
            {"configure": "^svc", "write": ".*", "read": ".*"},
        ),
        (
            "PUT",
            f"/api/policies/{v}/limits",
            {
                "pattern": "^work",
                "definition": {"max-length": 100, "dead-letter-exchange": "dlx"},
                "priority": 2,
                "apply-to": "queues",
            },
        ),
        ("PUT", f"/api/queues/{v}/work", {"durable": True, "arguments": {"x-message-ttl": 60000}}),
        ("PUT", f"/api/queues/{v}/scratch", {"durable": False, "auto_delete": False}),
        (
            "PUT",
            f"/api/queues/{v}/events.q",
            {"durable": True, "arguments": {"x-queue-type": "quorum"}},
        ),
        ("PUT", f"/api/exchanges/{v}/dlx", {"type": "fanout", "durable": True}),
        (
            "PUT",
            f"/api/exchanges/{v}/events",
            {"type": "topic", "durable": True, "arguments": {"alternate-exchange": "dlx"}},
        ),
        (
            "PUT",
            f"/api/exchanges/{v}/internal",
            {"type": "headers", "durable": False, "internal": True},
        ),
        (
            "POST",
            f"/api/bindings/{v}/e/events/q/events.q",
            {"routing_key": "order.*", "arguments": {}},
        ),
        (
            "POST",
            f"/api/bindings/{v}/e/events/q/work",
            {"routing_key": "", "arguments": {"x-match": "any", "k": "v"}},
        ),
        ("POST", f"/api/bindings/{v}/e/events/e/internal", {"routing_key": "#", "arguments": {}}),
    ]
    for method, path, body in calls:
        answer = rabbit.call(method, path, body)
        assert answer.status in (201, 204), (path, answer)
    yield vhost
    rabbit.call("DELETE", f"/api/vhosts/{v}")
    rabbit.call("DELETE", f"/api/users/{vhost}.svc")


@pytest.mark.rabbitmq
def test_an_export_from_rabbitmq_loads_and_exports_back_equal(
    rabbitmq_target: Target, fake_target: Target, tenant: str
) -> None:
    exported = rabbitmq_target.call("GET", "/api/definitions").body
    loaded = fake_target.call("POST", "/api/definitions", exported)
    assert loaded.status == 204, loaded
    again = fake_target.call("GET", "/api/definitions").body
    assert comparable(again, tenant) == comparable(exported, tenant)
    assert comparable(again, tenant)["queues"]  # not two empty exports that agree
    # the user logs in on the fake with the password RabbitMQ hashed
    url = fake_target.amqp_url.replace("guest:guest", f"{quote(tenant)}.svc:{quote('Sv(-pw-9')}")
    conn = pika.BlockingConnection(
        pika.URLParameters(url.rstrip("/") + f"/{quote(tenant, safe='')}")
    )
    ch = conn.channel()
    assert ch.queue_declare("work", passive=True).method.message_count == 0
    conn.close()
    # one vhost's export, as RabbitMQ gives it: its items without their vhost
    path = f"/api/definitions/{quote(tenant, safe='')}"
    one, theirs = fake_target.call("GET", path).body, rabbitmq_target.call("GET", path).body
    assert one.keys() == theirs.keys()
    for key in ("policies", "queues", "exchanges", "bindings"):
        assert _sorted(one[key]) == _sorted(theirs[key]), key


@pytest.mark.rabbitmq
def test_the_fakes_export_loads_into_rabbitmq(
    rabbitmq_target: Target, fake_target: Target
) -> None:
    vhost = f"fk{uuid.uuid4().hex[:8]}"
    v = quote(vhost, safe="")
    for method, path, body in (
        ("PUT", f"/api/vhosts/{v}", {}),
        ("PUT", f"/api/users/{vhost}.app", {"password": "app-Pw-42", "tags": ""}),
        (
            "PUT",
            f"/api/permissions/{v}/{vhost}.app",
            {"configure": ".*", "write": ".*", "read": ".*"},
        ),
        ("PUT", f"/api/queues/{v}/inbox", {"durable": True}),
    ):
        assert fake_target.call(method, path, body).status == 201
    exported = fake_target.call("GET", "/api/definitions").body
    mine = {
        **exported,
        "users": [u for u in exported["users"] if u["name"] == f"{vhost}.app"],
        "vhosts": [{"name": vhost}],
        "permissions": [p for p in exported["permissions"] if p["vhost"] == vhost],
    }
    try:
        assert rabbitmq_target.call("POST", "/api/definitions", mine).status in (201, 204)
        host = urlsplit(rabbitmq_target.amqp_url).netloc.rpartition("@")[2]
        conn = pika.BlockingConnection(
            pika.URLParameters(f"amqp://{vhost}.app:app-Pw-42@{host}/{v}")
        )
        assert conn.channel().queue_declare("inbox", passive=True).method.queue == "inbox"
        conn.close()
    finally:
        rabbitmq_target.call("DELETE", f"/api/vhosts/{v}")
        rabbitmq_target.call("DELETE", f"/api/users/{vhost}.app")


def test_a_definitions_file_is_there_before_the_first_connection(tmp_path: Path) -> None:
    path = tmp_path / "definitions.json"
    path.write_text(
        json.dumps(
            {
                "users": [{"name": "ops", "password": "ops-pw", "tags": ["administrator"]}],
                "vhosts": [{"name": "prod"}],
                "permissions": [
                    {
                        "user": "ops",
                        "vhost": "prod",
                        "configure": ".*",
                        "write": ".*",
                        "read": ".*",
                    }
                ],
                "queues": [
                    {
                        "name": "orders",
                        "vhost": "prod",
                        "durable": True,
                        "auto_delete": False,
                        "arguments": {},
                    }
                ],
                "exchanges": [
                    {
                        "name": "shop",
                        "vhost": "prod",
                        "type": "topic",
                        "durable": True,
                        "auto_delete": False,
                        "internal": False,
                        "arguments": {},
                    }
                ],
                "bindings": [
                    {
                        "source": "shop",
                        "vhost": "prod",
                        "destination": "orders",
                        "destination_type": "queue",
                        "routing_key": "order.#",
                        "arguments": {},
                    }
                ],
            }
        )
    )
    broker = Broker()
    load_definitions(Context(broker), path)
    assert broker.authenticate("ops", "ops-pw")
    prod = broker.vhosts["prod"]
    assert "orders" in prod.queues
    assert [key[1] for key in prod.exchanges["shop"].bindings] == ["order.#"]
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"definitions\.json: not valid JSON"):
        load_definitions(Context(Broker()), path)


DEFINITIONS = {
    "users": [{"name": "ops", "password": "ops-pw", "tags": ["administrator"]}],
    "vhosts": [{"name": "prod"}],
    "permissions": [
        {"user": "ops", "vhost": "prod", "configure": ".*", "write": ".*", "read": ".*"}
    ],
    "policies": [
        {
            "vhost": "prod",
            "name": "cap",
            "pattern": "^orders$",
            "apply-to": "queues",
            "definition": {"max-length": 1},
            "priority": 0,
        }
    ],
    "queues": [
        {"name": "orders", "vhost": "prod", "durable": True, "auto_delete": False, "arguments": {}}
    ],
}


def test_serve_loads_definitions_and_says_what_is_wrong_with_a_bad_file(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(DEFINITIONS))
    bad.write_text(
        json.dumps(
            {
                "permissions": [
                    {"user": "nobody", "vhost": "x", "configure": "", "write": "", "read": ""}
                ]
            }
        )
    )
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))
    command = [sys.executable, "-m", "amqpmock.cli", "serve", "--port", "0", "--no-http"]
    refused = subprocess.run(
        [*command, "--definitions", str(bad)], env=env, capture_output=True, text=True, timeout=30
    )
    assert refused.returncode == 2
    assert (
        refused.stderr.strip()
        == f"amqpmock serve: --definitions {bad}: permissions: no user nobody or vhost x"
    )
    proc = subprocess.Popen(
        [*command, "--definitions", str(good)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        host = urlsplit(url).netloc.rpartition("@")[2]
        conn = pika.BlockingConnection(pika.URLParameters(f"amqp://ops:ops-pw@{host}/prod"))
        ch = conn.channel()
        for body in (b"a", b"b"):
            ch.basic_publish("", "orders", body)
        assert ch.queue_declare("orders", passive=True).method.message_count == 1  # the policy
        conn.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_ini_setting_gives_every_test_the_topology(pytester: pytest.Pytester) -> None:
    pytester.makefile(".json", definitions=json.dumps(DEFINITIONS))
    pytester.makeini("[pytest]\namqpmock_definitions = definitions.json\n")
    pytester.makepyfile(
        """
        import pika
        from urllib.parse import urlsplit

        def connect(amqp_url):
            host = urlsplit(amqp_url).netloc.rpartition("@")[2]
            return pika.BlockingConnection(pika.URLParameters(f"amqp://ops:ops-pw@{host}/prod"))

        def test_first(amqp_url, amqp_broker):
            conn = connect(amqp_url)
            conn.channel().queue_declare("extra")
            conn.close()

        def test_second_starts_from_the_definitions_again(amqp_url, amqp_broker):
            conn = connect(amqp_url)
            ch = conn.channel()
            assert ch.queue_declare("orders", passive=True).method.queue == "orders"
            conn.close()
            assert "extra" not in amqp_broker.broker.vhosts["prod"].queues
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
