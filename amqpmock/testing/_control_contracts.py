"""The control API's part for message contracts: the fixture's AsyncAPI document, its
examples published and its topology declared on demand, as Microcks does for a mock.

    POST /amqpmock/contract/examples/NAME   publish the first ``examples`` entry of the
         message (or channel) NAME on its channel's exchange and routing key:
         {"exchange": "shop.events", "routing_key": "order.accepted", "queues": [...]}
    POST /amqpmock/contract/declare         declare its exchanges, queues and bindings:
         {"exchanges": [...], "queues": [...], "bindings": [{"queue", "exchange",
         "routing_key", "arguments"}]}

Rules this module keeps:
- The document is the fixture's ``contract_path``: ``amqpmock serve --asyncapi FILE``,
  or in pytest the test's ``amqp_contract`` marker or the ``amqp_asyncapi`` ini. Each
  call reads it, and runs the fixture's own ``example`` / ``declare_contract``.
- Administrators only: they publish and declare whatever the document says.
- 400 with the reason when there is no document, when it cannot be read, when the
  message has no examples or no fixed routing key, and when the broker refuses a
  declare (an inequivalent exchange or queue); 404 for a name the document lacks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from amqpmock.errors import AMQPError
from amqpmock.management import Context, Request, Response
from amqpmock.management._errors import ManagementError, bad_request

if TYPE_CHECKING:
    from amqpmock.testing.control import ControlAPI

__all__ = ["register"]

T = TypeVar("T")

NO_DOCUMENT = (
    "no AsyncAPI document: start amqpmock serve with --asyncapi FILE (in pytest: the "
    "amqp_contract marker or the amqp_asyncapi ini setting)"
)


def register(api: ControlAPI) -> None:
    api.router.add(
        "POST",
        "contract/examples/*",
        lambda ctx, req, args: publish_example(api, ctx, req, args[0]),
    )
    api.router.add("POST", "contract/declare", lambda ctx, req, args: declare(api, ctx, req))


def _document_call(api: ControlAPI, fn: Callable[[], T]) -> T:
    """``fn()``, with the document's problems as the API's errors."""
    if api.visible is not None:
        raise ManagementError(401, "not_authorised", "Not administrator user")
    if api.fixture.contract_path is None:
        raise bad_request(NO_DOCUMENT)
    try:
        from amqpmock.contracts import ContractError, UnknownMessage
    except ImportError:  # jsonschema and genson: the contracts extra
        raise bad_request(
            "contracts need the contracts extra: pip install 'amqpmock[contracts]'"
        ) from None
    try:
        return fn()
    except UnknownMessage as exc:
        raise ManagementError(404, "not_found", str(exc)) from None
    except ContractError as exc:
        raise bad_request(str(exc)) from None
    except AMQPError as exc:  # a declare the broker refuses: 406 inequivalent arg
        raise bad_request(exc.reply_text) from None


def publish_example(api: ControlAPI, ctx: Context, req: Request, name: str) -> Response:
    def publish() -> dict[str, Any]:
        example = api.fixture.example(name)
        queues = api.fixture.publish(
            example.exchange, example.routing_key, example.body, headers=example.headers
        )
        return {"exchange": example.exchange, "routing_key": example.routing_key, "queues": queues}

    return Response(200, _document_call(api, publish))


def declare(api: ControlAPI, ctx: Context, req: Request) -> Response:
    wanted = _document_call(api, api.fixture.declare_contract)
    return Response(
        200,
        {
            "exchanges": sorted(wanted.exchanges),
            "queues": sorted(wanted.queues),
            "bindings": [
                {"queue": q, "exchange": x, "routing_key": k, "arguments": a}
                for q, x, k, a in wanted.bindings
            ],
        },
    )
