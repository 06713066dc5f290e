"""Definitions: the broker's topology as RabbitMQ's JSON export (users, vhosts,
permissions, policies, queues, exchanges, bindings), and the import of one.

- Export leaves out what RabbitMQ leaves out: the predeclared ``amq.*`` exchanges and
  the default one, exclusive queues, the default exchange's implicit bindings. Users
  are exported with a ``rabbit_password_hashing_sha256`` hash RabbitMQ can import; the
  global parameters hold the broker's ``internal_cluster_id``. One vhost's export has
  RabbitMQ's keys for it: ``rabbit_version``, ``parameters``, ``policies``, ``queues``,
  ``exchanges``, ``bindings``, its queues, exchanges and bindings without their
  ``vhost`` (its policies keep it). Bindings come in RabbitMQ's routing-table order
  (``_route_order``); queues and exchanges in the order they were made (RabbitMQ's are
  in its tables' hash order, which the fake does not reproduce).
- Import takes an export from RabbitMQ 3.10 (``password_hash`` with its algorithm, or
  a plain ``password``), in the order RabbitMQ imports: users, vhosts, permissions,
  policies, queues, exchanges, bindings. Something that does not fit is a 400 naming it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pamqp.commands import Exchange as ExchangeMethods
from pamqp.commands import Queue as QueueMethods

from amqpmock.fake import passwords
from amqpmock.fake.commands import build
from amqpmock.fake.model import Queue
from amqpmock.management._access import user_view
from amqpmock.management._api import Request, Response, Router
from amqpmock.management._errors import ManagementError, bad_request, vhost_not_found
from amqpmock.management._listing import Whole
from amqpmock.management._policies import validate
from amqpmock.management._values import table
from amqpmock.management._views import VERSION

if TYPE_CHECKING:
    from amqpmock.management._context import Context


def export(ctx: Context, only: str | None = None) -> dict[str, Any]:
    b = ctx.broker
    vhosts = [only] if only is not None else sorted(b.vhosts)
    data: dict[str, Any] = {"rabbit_version": VERSION}
    if only is None:
        data.update(rabbitmq_version=VERSION, product_name="RabbitMQ", product_version=VERSION)
        data["users"] = [user_view(ctx, name) for name in sorted(b.users)]
        data["vhosts"] = [{"name": name} for name in vhosts]
        data["permissions"] = [
            {"user": u, "vhost": v, "configure": p[0], "write": p[1], "read": p[2]}
            for (u, v), p in sorted(b.permissions.items())
        ]
        data["topic_permissions"] = []
    data["parameters"] = []
    if only is None:
        data["global_parameters"] = [{"name": "internal_cluster_id", "value": ctx.cluster_id}]
    policies = [p for (v, _), p in sorted(b.policies.items()) if v in vhosts]
    data["policies"] = [p.as_data() for p in policies]
    queues: list[dict[str, Any]] = []
    exchanges: list[dict[str, Any]] = []
    bindings: list[dict[str, Any]] = []
    for name in vhosts:
        vhost = b.vhosts[name]
        found: list[dict[str, Any]] = []
        for queue in vhost.queues.values():
            if not queue.exclusive:
                queues.append(
                    {
                        "name": queue.name,
                        "vhost": name,
                        "durable": queue.durable,
                        "auto_delete": queue.auto_delete,
                        "arguments": Whole(queue.arguments),
                    }
                )
        for exchange in vhost.exchanges.values():
            if not exchange.predeclared:
                exchanges.append(
                    {
                        "name": exchange.name,
                        "vhost": name,
                        "type": exchange.type,
                        "durable": exchange.durable,
                        "auto_delete": exchange.auto_delete,
                        "internal": exchange.internal,
                        "arguments": Whole(exchange.arguments),
                    }
                )
            for (dest, key, _), arguments in exchange.bindings.items():
                if exchange.name == "" or (isinstance(dest, Queue) and dest.exclusive):
                    continue
                found.append(
                    {
                        "source": exchange.name,
                        "vhost": name,
                        "destination": dest.name,
                        "destination_type": "queue" if isinstance(dest, Queue) else "exchange",
                        "routing_key": key,
                        "arguments": Whole(arguments),
                    }
                )
        bindings.extend(sorted(found, key=_route_order))
    data["queues"] = queues
    data["exchanges"] = exchanges
    data["bindings"] = bindings
    if only is not None:  # RabbitMQ strips the vhost off one vhost's objects (not policies)
        for key in ("queues", "exchanges", "bindings"):
            data[key] = [{k: v for k, v in item.items() if k != "vhost"} for item in data[key]]
    return data


def _route_order(binding: dict[str, Any]) -> tuple[Any, ...]:
    """A vhost's bindings in the order of RabbitMQ's ``rabbit_route`` table (an ordered
    set of #binding{source, key, destination, args}): by source, routing key,
    destination (exchanges before queues, then by name) and arguments."""
    return (
        binding["source"].encode(),
        str(binding["routing_key"]).encode(),
        binding["destination_type"],  # the atoms 'exchange' < 'queue'
        binding["destination"].encode(),
        sorted((str(k).encode(), repr(v)) for k, v in binding["arguments"].items()),
    )


def _items(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = data.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise bad_request(f"{key}: expected a list of objects")
    return items


def load(
    ctx: Context, data: dict[str, Any], only: str | None = None, topology: bool = False
) -> None:
    """Import ``data`` (a definitions export); ``only``: into that vhost alone;
    ``topology``: queues, exchanges and bindings only (after a reset)."""
    b = ctx.broker
    if only is None and not topology:
        for entry in _items(data, "users"):
            name = str(entry.get("name", ""))
            tags = entry.get("tags", [])
            tag_list = tags if isinstance(tags, list) else str(tags).split(",")
            if "password" in entry:
                secret = str(entry["password"])
            else:
                algorithm = str(entry.get("hashing_algorithm") or passwords.DEFAULT)
                if algorithm not in passwords.ALGORITHMS:
                    raise bad_request(f"user {name}: unknown hashing algorithm {algorithm}")
                secret = passwords.stored(str(entry.get("password_hash", "")), algorithm)
            tag_names = tuple(str(t).strip() for t in tag_list if str(t).strip())
            b.add_user(name, secret, tags=tag_names)
        for entry in _items(data, "vhosts"):
            b.add_vhost(str(entry.get("name", "")))
        for perm in _items(data, "permissions"):
            user, vhost = str(perm.get("user")), str(perm.get("vhost"))
            if user not in b.users or vhost not in b.vhosts:
                raise bad_request(f"permissions: no user {user} or vhost {vhost}")
            b.set_permissions(
                user, vhost, str(perm["configure"]), str(perm["write"]), str(perm["read"])
            )

    def vhost_of(item: dict[str, Any]) -> str:
        return only if only is not None else str(item.get("vhost"))

    for item in [] if topology else _items(data, "policies"):
        policy = validate(
            {
                "pattern": item.get("pattern"),
                "definition": item.get("definition"),
                "priority": item.get("priority", 0),
                "apply-to": item.get("apply-to", "all"),
            },
            operator=False,
        )
        policy.vhost, policy.name = vhost_of(item), str(item.get("name"))
        if policy.vhost not in b.vhosts:
            raise bad_request(f"policy {policy.name}: no vhost {policy.vhost}")
        b.set_policy(policy)
    for item in _items(data, "queues"):
        _run(
            ctx,
            vhost_of(item),
            build(
                QueueMethods.Declare,
                queue=str(item.get("name")),
                durable=bool(item.get("durable", True)),
                auto_delete=bool(item.get("auto_delete", False)),
                arguments=_arguments(item),
            ),
        )
    for item in _items(data, "exchanges"):
        _run(
            ctx,
            vhost_of(item),
            build(
                ExchangeMethods.Declare,
                exchange=str(item.get("name")),
                exchange_type=str(item.get("type", "direct")),
                durable=bool(item.get("durable", True)),
                auto_delete=bool(item.get("auto_delete", False)),
                internal=bool(item.get("internal", False)),
                arguments=_arguments(item),
            ),
        )
    for item in _items(data, "bindings"):
        key, arguments = str(item.get("routing_key", "")), _arguments(item)
        method: Any = (
            build(
                QueueMethods.Bind,
                queue=str(item.get("destination")),
                exchange=str(item.get("source")),
                routing_key=key,
                arguments=arguments,
            )
            if item.get("destination_type", "queue") == "queue"
            else build(
                ExchangeMethods.Bind,
                destination=str(item.get("destination")),
                source=str(item.get("source")),
                routing_key=key,
                arguments=arguments,
            )
        )
        _run(ctx, vhost_of(item), method)


def _arguments(item: dict[str, Any]) -> dict[str, Any]:
    """An item's ``arguments`` as RabbitMQ imports them: integers are ``long``."""
    return table(item.get("arguments") or {}, nulls=True)


def _run(ctx: Context, vhost: str, method: Any) -> None:
    """As the broker itself: permissions do not limit an import."""
    if vhost not in ctx.broker.vhosts:
        raise bad_request(f"no vhost {vhost}")
    saved, ctx.user = ctx.user, None  # and every vhost is visible
    try:
        ctx.run_as_system(vhost, method)
    finally:
        ctx.user = saved


def get_definitions(ctx: Context, req: Request, args: list[str]) -> Response:
    if args and args[0] not in ctx.broker.vhosts:
        raise bad_request("vhost_not_found")  # a 400 here, a 404 for the import
    if args:
        ctx.vhost(args[0])
    return Response(200, export(ctx, args[0] if args else None))


def post_definitions(ctx: Context, req: Request, args: list[str]) -> Response:
    if args and args[0] not in ctx.broker.vhosts:
        raise vhost_not_found()
    if args:
        ctx.vhost(args[0])
    try:
        load(ctx, req.json(), args[0] if args else None)
    except ManagementError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise bad_request(f"definitions: {exc}") from None
    return Response(204)


def register(router: Router) -> None:
    router.add("GET", "definitions", get_definitions, admin=True)
    router.add("GET", "definitions/*", get_definitions, admin=True)
    router.add("POST", "definitions", post_definitions, admin=True)
    router.add("POST", "definitions/*", post_definitions, admin=True)
