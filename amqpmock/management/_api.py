"""The request in, the answer out: routing, HTTP basic auth with user tags, and
RabbitMQ's JSON errors. Sans-IO: the HTTP adapter hands over method, raw path, query,
body and the Authorization header, and writes back status, headers and JSON.

Rules this module keeps (RabbitMQ 3.10.8's management plugin, observed):
- Path segments are percent-decoded one by one (the default vhost is ``%2F``).
- No credentials: 401 with ``WWW-Authenticate: Basic realm="RabbitMQ Management"`` and
  an empty body; wrong ones: 401 ``{"error": "not_authorized", "reason": "Login
  failed"}``; a user without the ``management`` (or a higher) tag: 401 ``{"error":
  "not_authorised", "reason": "Not management user"}``; an administrator-only path
  for a user who is not one: 401 ``{"error": "not_authorised", "reason": "Not
  administrator user"}``.
- Unknown objects and paths: 404 ``{"error": "Object Not Found", "reason": "Not
  Found"}``; a request body that is not what the path needs: 400 ``bad_request``
  (bodies and values are read as ``_values`` says).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from amqpmock.management._errors import ManagementError, not_found
from amqpmock.management._values import parse_body

if TYPE_CHECKING:
    from amqpmock.management._context import Context

REALM = 'Basic realm="RabbitMQ Management"'
# tags that may use the API at all, and the ones that may also manage users and vhosts
API_TAGS = frozenset({"management", "policymaker", "monitoring", "administrator"})


@dataclass
class Request:
    method: str
    segments: list[str]  # the path after /api/, each segment percent-decoded
    query: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    user: str = ""

    def json(self) -> dict[str, Any]:
        """The body as the JSON object RabbitMQ reads (``_values.parse_body``: an empty
        body is ``{}``)."""
        return parse_body(self.body)


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-able, or None for no body
    headers: dict[str, str] = field(default_factory=dict)
    # the body's text as RabbitMQ writes it (``_json``): the management API's answers
    as_rabbitmq: bool = field(default=False, repr=False)
    # a list RabbitMQ answers with rabbit_mgmt_util:reply_list and these default sort
    # keys: ``columns=`` cuts it first, the sort then reads what is left (``_listing``)
    sort_keys: tuple[str, ...] | None = field(default=None, repr=False)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if self.as_rabbitmq:
            from amqpmock.management._json import encode  # _json needs _listing, _listing this

            return encode(self.body)
        return json.dumps(self.body).encode()


Handler = Callable[["Context", Request, list[str]], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    admin: bool = False


def split_path(raw_path: str, prefix: str = "/api") -> list[str] | None:
    """``/api/queues/%2F/q`` -> ``["queues", "/", "q"]``; None when not under
    ``prefix``."""
    path = raw_path.split("?", 1)[0]
    if path.rstrip("/") == prefix:
        return []
    if not path.startswith(prefix + "/"):
        return None
    return [urllib.parse.unquote(s) for s in path[len(prefix) + 1 :].rstrip("/").split("/")]


def request_for(
    method: str,
    raw_path: str,
    query: dict[str, str] | None,
    body: bytes,
    headers: dict[str, str] | None,
    prefix: str = "/api",
) -> Request | None:
    """What an HTTP adapter hands over, as a ``Request`` (header names in lower case);
    None when the path is not under ``prefix``."""
    segments = split_path(raw_path, prefix)
    if segments is None:
        return None
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    return Request(method.upper(), segments, dict(query or {}), body, lowered)


class Router:
    """Routes by method and the path's segments joined with ``\\x00`` (a segment may
    itself hold ``/``)."""

    def __init__(self, tags: frozenset[str] | None = None) -> None:
        self._routes: list[Route] = []
        self.tags = API_TAGS if tags is None else tags  # who may log in

    def add(self, method: str, shape: str, handler: Handler, *, admin: bool = False) -> None:
        """``shape``: segments with ``*`` for a captured one, e.g. ``queues/*/*``."""
        parts = ["([^\\x00]*)" if s == "*" else re.escape(s) for s in shape.split("/")]
        self._routes.append(Route(method, re.compile("\\x00".join(parts) + "$"), handler, admin))

    def handle(self, context: Context, request: Request) -> Response:
        try:
            return self._handle(context, request)
        except ManagementError as exc:
            return exc.response()

    def _handle(self, context: Context, request: Request) -> Response:
        user = authenticate(context, request.headers.get("authorization", ""), self.tags)
        request.user = user
        joined = "\x00".join(request.segments)
        allowed: list[str] = []
        for route in self._routes:
            match = route.pattern.match(joined)
            if match is None:
                continue
            allowed.append(route.method)
            if route.method != request.method:
                continue
            if route.admin and "administrator" not in context.tags(user):
                raise ManagementError(401, "not_authorised", "Not administrator user")
            context.user = user
            try:
                return route.handler(context, request, list(match.groups()))
            finally:
                context.user = None
        if allowed:
            raise ManagementError(405, None, None)
        raise not_found()


def authenticate(context: Context, header: str, tags: frozenset[str] | None = None) -> str:
    """The user of an ``Authorization`` header (HTTP basic auth with a user that has a
    management tag, or one of ``tags``), or the 401 RabbitMQ answers."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise ManagementError(401, None, None, {"WWW-Authenticate": REALM})
    try:
        user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise ManagementError(401, None, None, {"WWW-Authenticate": REALM}) from None
    if not context.broker.authenticate(user, password):
        raise ManagementError(401, "not_authorized", "Login failed", {"WWW-Authenticate": REALM})
    if not (API_TAGS if tags is None else tags) & set(context.tags(user)):
        raise ManagementError(
            401, "not_authorised", "Not management user", {"WWW-Authenticate": REALM}
        )
    return user
