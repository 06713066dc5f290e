"""The pytest plugin's ``amqp_management_url``: the management API of the test's own
fresh broker, used the way nameko's and rascal's test helpers use RabbitMQ's (a vhost
and a user per test, over HTTP), with a real AMQP client on the result."""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import urlsplit

import aiohttp
import pika
import pika.exceptions as pe
import pytest

from amqpmock.testing.harness import BrokerFixture


async def _session(url: str) -> tuple[aiohttp.ClientSession, str]:
    """A client with the URL's credentials (basic auth), and the URL without them."""
    parts = urlsplit(url)
    token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
    session = aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"})
    return session, f"{parts.scheme}://{parts.hostname}:{parts.port}"


def test_a_vhost_and_user_per_test_over_http(
    amqp_management_url: str, amqp_broker: BrokerFixture
) -> None:
    async def provision() -> list[str]:
        session, base = await _session(amqp_management_url)
        async with session:
            for method, path, body in (
                ("PUT", "/api/vhosts/tenant-1", {}),
                ("PUT", "/api/users/svc", {"password": "s3cret", "tags": "management"}),
                (
                    "PUT",
                    "/api/permissions/tenant-1/svc",
                    {"configure": ".*", "write": ".*", "read": ".*"},
                ),
            ):
                async with session.request(method, base + path, json=body) as answer:
                    assert answer.status == 201, await answer.text()
            async with session.get(base + "/api/vhosts") as answer:
                return [v["name"] for v in await answer.json()]

    assert asyncio.run(provision()) == ["/", "tenant-1"]
    port = urlsplit(amqp_broker.url).port
    conn = pika.BlockingConnection(
        pika.URLParameters(f"amqp://svc:s3cret@127.0.0.1:{port}/tenant-1")
    )
    conn.channel().queue_declare("inbox")
    conn.close()
    assert "inbox" in amqp_broker.broker.vhosts["tenant-1"].queues  # type: ignore[attr-defined]


def test_what_a_test_made_over_http_is_gone_for_the_next(
    amqp_management_url: str, amqp_broker: BrokerFixture
) -> None:
    async def make_then_list(reset_between: bool) -> tuple[int, list[str]]:
        session, base = await _session(amqp_management_url)
        async with session:
            async with session.put(base + "/api/vhosts/leftover", json={}) as answer:
                status = answer.status
            if reset_between:
                amqp_broker.reset()
            async with session.get(base + "/api/vhosts") as answer:
                return status, [v["name"] for v in await answer.json()]

    assert asyncio.run(make_then_list(reset_between=True)) == (201, ["/"])
    port = urlsplit(amqp_broker.url).port
    with pytest.raises(pe.ProbableAccessDeniedError):
        pika.BlockingConnection(
            pika.URLParameters(f"amqp://guest:guest@127.0.0.1:{port}/leftover")
        )
