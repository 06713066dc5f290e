"""RabbitMQ's management HTTP API, answered from the fake broker. Sans-IO: requests in,
JSON answers out; ``amqpmock.http`` serves it over HTTP on the server's own loop.

Imports: the core (``amqpmock.fake``), and the wire's connection objects for what the
API shows of a connection and to close one; never sockets, loops or HTTP libraries.
Layout: ``_api`` (routing, auth, errors), ``_context`` (what handlers work on),
``_access`` (overview, vhosts, users, permissions, health), ``_objects`` (queues,
exchanges, bindings, connections, channels, consumers), ``_views`` (the JSON shapes).
"""

from __future__ import annotations

from amqpmock.management import _access, _objects, _policies
from amqpmock.management._api import Request, Response, Router, paginate, split_path
from amqpmock.management._context import Context, Listener
from amqpmock.management._errors import ManagementError


def make_router() -> Router:
    """Every path the fake serves."""
    router = Router()
    _access.register(router)
    _objects.register(router)
    _policies.register(router)
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
        segments = split_path(raw_path)
        if segments is None:
            return ManagementError(404, "Object Not Found", "Not Found").response()
        request = Request(
            method.upper(),
            segments,
            dict(query or {}),
            body,
            {k.lower(): v for k, v in (headers or {}).items()},
        )
        response = self.router.handle(self.context, request)
        if "page" in request.query and response.status == 200 and isinstance(response.body, list):
            return paginate(response, request.query)
        return response


__all__ = [
    "Context",
    "Listener",
    "ManagementAPI",
    "ManagementError",
    "Request",
    "Response",
    "make_router",
]
