"""Who may use the control API and the live page (issue 19's hole): they show message
bodies of every vhost, publish, move the clock, answer RPCs and reset the broker (a
reset deletes the users made since), so a management tag is not enough. Administrators
may do everything; a user tagged ``amqpmock`` (the control API's own tag) may use it
but sees only the vhosts it has permissions on and may not reset; ``management``,
``monitoring`` and ``policymaker`` users get RabbitMQ's 401 "Not administrator user"."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pika
import pytest

from amqpmock.testing.harness import BrokerFixture

from .test_control_api import call

PASSWORD = "s3cret-pw"


def as_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    return f"http://{user}:{PASSWORD}@{parts.hostname}:{parts.port}"


@pytest.fixture
def users(amqp_management_url: str, amqp_broker: BrokerFixture) -> dict[str, str]:
    """A user per tag, each with permissions on the vhost `team` only, and traffic in
    two vhosts: `/` (a secret body) and `team`."""
    assert call(amqp_management_url, "PUT", "/api/vhosts/team")[0] in (201, 204)
    urls = {}
    for tag in ("administrator", "amqpmock", "management", "monitoring", "policymaker"):
        name = f"u-{tag}"
        body = {"password": PASSWORD, "tags": tag}
        assert call(amqp_management_url, "PUT", f"/api/users/{name}", body)[0] in (201, 204)
        perms = {"configure": ".*", "write": ".*", "read": ".*"}
        assert call(amqp_management_url, "PUT", f"/api/permissions/team/{name}", perms)[0] in (
            201,
            204,
        )
        urls[tag] = as_user(amqp_management_url, name)
    for vhost, body in (("%2F", b"secret of /"), ("team", b"team news")):
        conn = pika.BlockingConnection(pika.URLParameters(f"{amqp_broker.url}{vhost}"))
        ch = conn.channel()
        ch.queue_declare("q")
        ch.basic_publish("", "q", body)
        conn.close()
    return urls


def bodies(answer: Any) -> set[str]:
    return {r.get("body") for r in answer}


@pytest.mark.parametrize("tag", ["management", "monitoring", "policymaker"])
def test_management_tags_are_not_enough(users: dict[str, str], tag: str) -> None:
    url = users[tag]
    refused = {"error": "not_authorised", "reason": "Not administrator user"}
    for method, path, body in [
        ("GET", "/amqpmock/records/published", None),
        ("GET", "/amqpmock/queues/q/messages", None),
        ("GET", "/amqpmock/state", None),
        ("GET", "/amqpmock/diagram", None),
        ("GET", "/", None),
        ("POST", "/amqpmock/publish", {"routing_key": "q", "body": "x"}),
        ("POST", "/amqpmock/clock/advance", {"seconds": 5}),
        ("POST", "/amqpmock/stubs", {"exchange": "", "routing_key": "rpc", "returns": 1}),
        ("POST", "/amqpmock/reset", None),
    ]:
        status, answer = call(url, method, path, body)
        assert (status, answer) == (401, refused), (method, path)
    # the management API itself still answers them, as RabbitMQ's does
    assert call(url, "GET", "/api/overview")[0] == 200


def test_an_administrator_sees_and_does_everything(
    users: dict[str, str], amqp_broker: BrokerFixture
) -> None:
    url = users["administrator"]
    status, published = call(url, "GET", "/amqpmock/records/published")
    assert status == 200 and bodies(published) == {"secret of /", "team news"}
    status, state = call(url, "GET", "/amqpmock/state")
    assert status == 200
    assert {m["body"] for m in state["messages"]} == {"secret of /", "team news"}
    assert call(url, "POST", "/amqpmock/reset")[0] == 204


def test_an_amqpmock_user_sees_only_its_vhosts_and_may_not_reset(
    users: dict[str, str], amqp_broker: BrokerFixture
) -> None:
    url = users["amqpmock"]
    status, published = call(url, "GET", "/amqpmock/records/published")
    assert status == 200 and bodies(published) == {"team news"}
    status, state = call(url, "GET", "/amqpmock/state")
    assert status == 200
    assert {m["body"] for m in state["messages"]} == {"team news"}
    assert {q["vhost"] for q in state["queues"]} == {"team"}
    assert {c["vhost"] for c in state["connections"]} <= {"team"}
    # `/` is not its vhost: no messages read, no publishing into it
    assert call(url, "GET", "/amqpmock/queues/q/messages")[0] == 404
    assert call(url, "POST", "/amqpmock/publish", {"routing_key": "q", "body": "x"}) == (
        401,
        {"error": "not_authorised", "reason": "access to vhost '/' refused"},
    )
    # the clock and stubs are its to use; a reset is not (it deletes users)
    assert call(url, "POST", "/amqpmock/clock/advance", {"seconds": 1})[0] == 200
    assert call(url, "POST", "/amqpmock/reset") == (
        401,
        {"error": "not_authorised", "reason": "Not administrator user"},
    )
    assert "u-management" in amqp_broker.call(lambda b: set(b.users))
