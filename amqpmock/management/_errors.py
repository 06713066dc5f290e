"""The management API's errors, as RabbitMQ words them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from amqpmock.management._api import Response


class ManagementError(Exception):
    """An HTTP error answer: ``{"error": error, "reason": reason}`` (no body when both
    are None). ``reason`` is text, or a JSON value where RabbitMQ encodes an Erlang
    term (``["not_boolean", "yes"]``)."""

    def __init__(
        self,
        status: int,
        error: str | None,
        reason: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {error}: {reason}")
        self.status = status
        self.error = error
        self.reason = reason
        self.headers = dict(headers or {})

    def response(self) -> Response:
        from amqpmock.management._api import Response

        body = None if self.error is None else {"error": self.error, "reason": self.reason}
        return Response(self.status, body, self.headers)


def not_found() -> ManagementError:
    return ManagementError(404, "Object Not Found", "Not Found")


def bad_request(reason: str) -> ManagementError:
    return ManagementError(400, "bad_request", reason)


def require(body: dict[str, object], keys: tuple[str, ...]) -> None:
    """400 naming the missing keys, as RabbitMQ prints the Erlang list (``~p``: one
    element a line once it does not fit on one)."""
    missing = [f"{{key_missing,{key}}}" for key in keys if key not in body]
    if not missing:
        return
    one_line = "[" + ",".join(missing) + "]"
    raise bad_request(one_line if len(one_line) <= 78 else "[" + ",\n ".join(missing) + "]")


def vhost_not_found() -> ManagementError:
    return ManagementError(404, "not_found", "vhost_not_found")


def vhost_refused() -> ManagementError:
    """What RabbitMQ's ``get`` and ``publish`` answer for a vhost that does not exist
    (their authorisation asks for the vhost before anything else)."""
    return ManagementError(401, "not_authorised", "Access refused.")
