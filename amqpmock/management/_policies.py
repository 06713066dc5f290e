"""``policies`` and ``operator-policies`` over HTTP: list, one, set, clear; the checks
and texts RabbitMQ 3.10.8 gives a bad one (``Validation failed\\n\\n...\\n``, with
``<`` and ``>`` written as HTML entities for policies but not operator policies, as
observed). How a policy applies is the core's (``amqpmock.fake._policies``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from amqpmock.fake._policies import LOWER_WINS, Policy
from amqpmock.management._api import Request, Response, Router
from amqpmock.management._errors import ManagementError, bad_request, not_found, require

if TYPE_CHECKING:
    from amqpmock.management._context import Context

APPLY_TO = ("queues", "exchanges", "all")
# Python's words for a bad pattern -> PCRE's (RabbitMQ compiles with Erlang's re), and
# whether PCRE points at the pattern's end
_PCRE = {
    "missing ), unterminated subpattern": ("missing )", True),
    "unbalanced parenthesis": ("unmatched parentheses", False),
    "nothing to repeat": ("nothing to repeat", False),
    "unterminated character set": ("missing terminating ] for character class", True),
}
# what each key takes, and RabbitMQ's words for a value it does not (rabbit_policies)
_STRING = "string"
_NATURAL = "natural"  # an integer >= 0
_POSITIVE = "positive"  # an integer >= 1
KEYS: dict[str, tuple[Any, str]] = {
    "alternate-exchange": (_STRING, "is not a valid alternate exchange name"),
    "dead-letter-exchange": (_STRING, "is not a valid dead letter exchange name"),
    "dead-letter-routing-key": (_STRING, "is not a valid dead letter routing key"),
    "message-ttl": (_NATURAL, "is not a valid message TTL"),
    "expires": (_POSITIVE, "is not a valid queue expiry"),
    "max-length": (_NATURAL, "is not a valid maximum length"),
    "max-length-bytes": (_NATURAL, "is not a valid maximum length in bytes"),
    "max-in-memory-length": (_NATURAL, "is not a valid maximum memory in length"),
    "max-in-memory-bytes": (_NATURAL, "is not a valid maximum memory in bytes"),
    "delivery-limit": (_NATURAL, "is not a valid delivery limit"),
    "overflow": (
        ("drop-head", "reject-publish", "reject-publish-dlx"),
        "is not a valid overflow value",
    ),
    "queue-mode": (("default", "lazy"), "is not a valid queue-mode value"),
    "queue-version": ((1, 2), "is not a valid queue-version value"),
    "max-age": (_STRING, "is not a valid max age"),
    "stream-max-segment-size-bytes": (_NATURAL, "is not a valid segment size"),
    "queue-leader-locator": (_STRING, "is not a valid queue leader locator value"),
    "initial-cluster-size": (_POSITIVE, "is not a valid cluster size"),
}
# an operator policy takes exactly the keys it can cap: those met at the lower value
OPERATOR_KEYS = LOWER_WINS


def erl(value: Any) -> str:
    """A JSON value as Erlang's ``~p`` prints the term RabbitMQ made of it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '<<"' + value.replace("\\", "\\\\").replace('"', '\\"') + '">>'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ",".join(erl(v) for v in value) + "]"
    if isinstance(value, dict):
        return "[" + ",".join(f"{{{erl(k)},{erl(v)}}}" for k, v in value.items()) + "]"
    return "null"


def _fits(value: Any, kind: Any) -> bool:
    if kind == _STRING:
        return isinstance(value, str)
    if kind in (_NATURAL, _POSITIVE):
        least = 1 if kind == _POSITIVE else 0
        return isinstance(value, int) and not isinstance(value, bool) and value >= least
    return bool(value in kind)


def validate(body: dict[str, Any], operator: bool) -> Policy:
    """The policy a PUT asks for, or 400 with RabbitMQ's text."""
    require(body, ("pattern", "definition"))

    def failed(text: str) -> Exception:
        reason = f"Validation failed\n\n{text}\n"
        if not operator:
            reason = reason.replace("<", "&lt;").replace(">", "&gt;")
        return bad_request(reason)

    pattern, definition = body["pattern"], body["definition"]
    apply_to = body.get("apply-to", "all")
    priority = body.get("priority", 0)
    if not isinstance(pattern, str):
        raise failed(f"pattern should be a string, actually was {erl(pattern)}")
    try:
        re.compile(pattern)
    except re.error as exc:
        words, at_end = _PCRE.get(exc.msg, (exc.msg, False))
        where = len(pattern) if at_end else exc.pos or 0
        raise failed(
            f'pattern should be regular expression but is invalid: {{"{words}",{where}}}'
        ) from None
    if apply_to not in APPLY_TO:
        raise failed(
            f"apply-to '{apply_to}' unrecognised; should be 'queues', 'exchanges' or 'all'"
        )
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise failed(f"priority should be a number, actually was {erl(priority)}")
    if not isinstance(definition, dict) or not definition:
        raise failed("no policy provided")
    allowed = OPERATOR_KEYS if operator else KEYS
    unknown = {k: v for k, v in definition.items() if k not in allowed}
    if unknown:
        raise failed(f"{erl(unknown)} are not recognised policy settings")
    for key, value in definition.items():
        kind, words = KEYS[key]
        if not _fits(value, kind):
            raise failed(f"{erl(value)} {words}")
    return Policy("", "", pattern, dict(definition), priority, apply_to)


def _table(ctx: Context, operator: bool) -> dict[tuple[str, str], Policy]:
    return ctx.broker.operator_policies if operator else ctx.broker.policies


def _list(operator: bool) -> Any:
    def handler(ctx: Context, req: Request, args: list[str]) -> Response:
        if args:
            ctx.vhost(args[0])
        rows = [
            p.as_data()
            for (vhost, _), p in sorted(_table(ctx, operator).items())
            if (not args or vhost == args[0]) and vhost in ctx.visible_vhosts()
        ]
        return Response(200, rows)

    return handler


def _one(operator: bool) -> Any:
    def handler(ctx: Context, req: Request, args: list[str]) -> Response:
        vhost, name = args
        ctx.vhost(vhost)
        policy = _table(ctx, operator).get((vhost, name))
        if policy is None:
            raise not_found()
        return Response(200, policy.as_data())

    return handler


def _policymaker(ctx: Context, req: Request) -> None:
    if not {"policymaker", "administrator"} & set(ctx.tags(req.user)):
        raise ManagementError(401, "not_authorised", "Not policymaker user")


def _put(operator: bool) -> Any:
    def handler(ctx: Context, req: Request, args: list[str]) -> Response:
        vhost, name = args
        _policymaker(ctx, req)
        ctx.vhost(vhost)
        policy = validate(req.json(), operator)
        policy.vhost, policy.name = vhost, name
        new = ctx.broker.set_policy(policy, operator=operator)
        return Response(201 if new else 204)

    return handler


def _delete(operator: bool) -> Any:
    def handler(ctx: Context, req: Request, args: list[str]) -> Response:
        vhost, name = args
        _policymaker(ctx, req)
        ctx.vhost(vhost)
        if not ctx.broker.clear_policy(vhost, name, operator=operator):
            raise not_found()
        return Response(204)

    return handler


def register(router: Router) -> None:
    for path, operator in (("policies", False), ("operator-policies", True)):
        router.add("GET", path, _list(operator))
        router.add("GET", f"{path}/*", _list(operator))
        router.add("GET", f"{path}/*/*", _one(operator))
        router.add("PUT", f"{path}/*/*", _put(operator), admin=operator)
        router.add("DELETE", f"{path}/*/*", _delete(operator), admin=operator)
