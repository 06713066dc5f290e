"""RabbitMQ's management HTTP API, answered from the fake broker. Sans-IO: requests in,
JSON answers out; ``amqpmock.http`` serves it over HTTP on the server's own loop.

Imports: the core (``amqpmock.fake``), and the wire's connection objects for what the
API shows of a connection and to close one; never sockets, loops or HTTP libraries.
Layout: ``_api`` (routing, auth, errors), ``_values`` (request bodies and values as
RabbitMQ reads them), ``_listing`` (``columns``, ``sort``, pages), ``_context`` (what
handlers work on), ``_access`` (vhosts, users, permissions, health), ``_node``
(overview and nodes), ``_objects`` (queues, exchanges, bindings, connections,
channels, consumers), ``_views`` (the JSON shapes).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from amqpmock.management import _access, _definitions, _node, _objects, _policies
from amqpmock.management._api import (
    Request,
    Response,
    Router,
    request_for,
    split_path,
)
from amqpmock.management._context import Context, Listener
from amqpmock.management._errors import ManagementError, not_found
from amqpmock.management._listing import shape


def load_definitions(context: Context, path: str | os.PathLike[str]) -> None:
    """Load a RabbitMQ definitions export (a JSON file) into the broker: what
    ``amqpmock serve --definitions`` and the ``amqpmock_definitions`` ini setting do
    before the first connection. Raises ValueError naming the file and the problem."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{file}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ValueError(f"{file}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{file}: not a definitions export (a JSON object)")
    try:
        _definitions.load(context, data)
    except ManagementError as exc:
        raise ValueError(f"{file}: {exc.reason}") from None
    # a reset keeps them: they are the broker's own from the start
    context.broker.mark_baseline()
    topology = {key: data.get(key) or [] for key in ("queues", "exchanges", "bindings")}
    context.broker.after_reset.append(lambda: _definitions.load(context, topology, topology=True))


def make_router() -> Router:
    """Every path the fake serves."""
    router = Router()
    _access.register(router)
    _node.register(router)
    _objects.register(router)
    _policies.register(router)
    _definitions.register(router)
    return router


class ManagementAPI:
    """``api.handle(method, raw_path, query, body, headers)`` -> ``Response``."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.router = make_router()

    def handle(
        self,
        method: str,
        raw_path: str,
        query: dict[str, str] | None = None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> Response:
        response = self._answer(method, raw_path, query, body, headers)
        response.as_rabbitmq = True  # written as RabbitMQ writes JSON (``_json``)
        return response

    def _answer(
        self,
        method: str,
        raw_path: str,
        query: dict[str, str] | None,
        body: bytes,
        headers: dict[str, str] | None,
    ) -> Response:
        request = request_for(method, raw_path, query, body, headers)
        if request is None:
            return not_found().response()
        response = self.router.handle(self.context, request)
        if request.method == "GET" and response.status == 200:
            try:
                return shape(response, request.query)
            except ManagementError as exc:
                return exc.response()
        return response


__all__ = [
    "Context",
    "Listener",
    "ManagementAPI",
    "ManagementError",
    "Request",
    "Response",
    "Router",
    "load_definitions",
    "make_router",
    "request_for",
    "split_path",
]
