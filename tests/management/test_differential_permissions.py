"""Permissions on AMQP resources, differential (RabbitMQ 3.10.8 and the fake): a
permission's regular expression is searched for in the name, not matched whole; the
default exchange is checked under the name ``amq.default``; the refusal is
``ACCESS_REFUSED - access to <resource> refused for user '<u>'``, without saying which
of configure, write or read it was. Found with rabbitmqadmin
(``test_rabbitmqadmin.py``), whose publish goes through the same check."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pika
import pika.exceptions as pe
import pytest

from .conftest import Target


@pytest.fixture
def restricted(target: Target) -> Iterator[tuple[str, str]]:
    """A vhost with a queue ``jobs``, and a user with permissions to be set in it."""
    vhost, user = f"pm{uuid.uuid4().hex[:8]}.vh", f"pm{uuid.uuid4().hex[:8]}.user"
    assert target.call("PUT", f"/api/vhosts/{quote(vhost, safe='')}", {}).status == 201
    assert target.call("PUT", f"/api/queues/{quote(vhost, safe='')}/jobs", {}).status == 201
    assert (
        target.call(
            "PUT", f"/api/users/{quote(user, safe='')}", {"password": "pw", "tags": ""}
        ).status
        == 201
    )
    yield vhost, user
    target.call("DELETE", f"/api/users/{quote(user, safe='')}")
    target.call("DELETE", f"/api/vhosts/{quote(vhost, safe='')}")


def attempt(target: Target, vhost: str, user: str, action: Callable[[Any], Any]) -> str:
    """``action(channel)`` as ``user``: ``ok`` or the broker's refusal."""
    params = pika.URLParameters(target.amqp_url)
    params.virtual_host = vhost
    params.credentials = pika.PlainCredentials(user, "pw")
    conn = pika.BlockingConnection(params)
    try:
        channel = conn.channel()
        channel.confirm_delivery()
        action(channel)
        return "ok"
    except pe.ChannelClosedByBroker as exc:
        return f"{exc.reply_code} {exc.reply_text}"
    finally:
        if conn.is_open:
            conn.close()


def test_permissions_are_searched_and_the_default_exchange_is_amq_default(
    target: Target, restricted: tuple[str, str]
) -> None:
    vhost, user = restricted

    def allow(configure: str, write: str, read: str) -> None:
        path = f"/api/permissions/{quote(vhost, safe='')}/{quote(user, safe='')}"
        perms = {"configure": configure, "write": write, "read": read}
        assert target.call("PUT", path, perms).status in (201, 204)

    def refused(kind: str, name: str) -> str:
        where = f"{kind} '{name}' in vhost '{vhost}'"
        return f"403 ACCESS_REFUSED - access to {where} refused for user '{user}'"

    def default(ch: Any) -> None:
        ch.basic_publish("", "jobs", b"x")

    def direct(ch: Any) -> None:
        ch.basic_publish("amq.direct", "jobs", b"x")

    def get(ch: Any) -> None:
        ch.basic_get("jobs")

    def declare(ch: Any) -> None:
        ch.queue_declare("jobs")

    allow("^$", "^$", "ob")  # "ob" is in "jobs"
    assert attempt(target, vhost, user, default) == refused("exchange", "amq.default")
    assert attempt(target, vhost, user, direct) == refused("exchange", "amq.direct")
    assert attempt(target, vhost, user, get) == "ok"
    assert attempt(target, vhost, user, declare) == refused("queue", "jobs")
    allow("job", "direct", "^$")
    assert attempt(target, vhost, user, default) == refused("exchange", "amq.default")
    assert attempt(target, vhost, user, direct) == "ok"
    assert attempt(target, vhost, user, get) == refused("queue", "jobs")
    assert attempt(target, vhost, user, declare) == "ok"
    allow("", r"^amq\.default$", "")  # an empty pattern is ^$, not one found in every name
    assert attempt(target, vhost, user, default) == "ok"
    assert attempt(target, vhost, user, direct) == refused("exchange", "amq.direct")
    assert attempt(target, vhost, user, get) == refused("queue", "jobs")
    assert attempt(target, vhost, user, declare) == refused("queue", "jobs")
