"""The management API under test: the fake's (``ManagementHTTP`` on a ``ServerThread``)
and RabbitMQ 3.10.8's (the session node, with ``rabbitmq_management`` enabled)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from amqpmock.http import ManagementHTTP
from amqpmock.testing.rabbitmq import RabbitMQNode
from amqpmock.wire.server import ServerThread


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class Target:
    """One broker: its AMQP URL and its management API."""

    name: str
    amqp_url: str
    http_url: str

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        auth: tuple[str, str] | None = ("guest", "guest"),
        headers: dict[str, str] | None = None,
    ) -> Answer:
        request = urllib.request.Request(self.http_url + path, method=method)
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, data, timeout=10) as response:
                return _answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            return _answer(exc.code, dict(exc.headers), exc.read())


def _answer(status: int, headers: dict[str, str], raw: bytes) -> Answer:
    lowered = {k.lower(): v for k, v in headers.items()}
    if not raw:
        return Answer(status, lowered, None)
    try:
        return Answer(status, lowered, json.loads(raw))
    except ValueError:
        return Answer(status, lowered, raw.decode("utf-8", "replace"))


@pytest.fixture
def fake_target() -> Iterator[Target]:
    with ServerThread() as server:
        http = ManagementHTTP(server.server)
        url = server.run(http.start())
        yield Target("amqpmock", server.url, url)


@pytest.fixture
def rabbitmq_target(rabbitmq_node: RabbitMQNode) -> Target:
    assert rabbitmq_node.management_url is not None
    return Target("rabbitmq", rabbitmq_node.url, rabbitmq_node.management_url)


@pytest.fixture(params=["rabbitmq", "amqpmock"])
def target(request: pytest.FixtureRequest) -> Target:
    """Each test runs against both; the differential tests compare with what RabbitMQ
    3.10.8 answered (the expectations in the test)."""
    if request.param == "rabbitmq":
        request.applymarker(pytest.mark.rabbitmq)
        value: Target = request.getfixturevalue("rabbitmq_target")
    else:
        value = request.getfixturevalue("fake_target")
    return value
