"""Who may do what, and where: ``overview``, ``whoami``, ``vhosts``, ``users``,
``permissions``, and the health checks. Statuses as RabbitMQ 3.10.8 answers: 201 for
a created object, 204 for a changed or deleted one, 404 for an unknown one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pamqp.commands import Basic, Queue

from amqpmock.fake import NO_PASSWORD
from amqpmock.fake.commands import SendContent, build
from amqpmock.management._api import Request, Response, Router
from amqpmock.management._errors import ManagementError, bad_request, not_found, require
from amqpmock.management._views import ERLANG, EXCHANGE_TYPE_TEXTS, VERSION

if TYPE_CHECKING:
    from amqpmock.management._context import Context

VHOST_CLOSED = "vhost '{}' is deleted"


def overview(ctx: Context, req: Request, _: list[str]) -> Response:
    b = ctx.broker
    vhosts = [b.vhosts[name] for name in ctx.visible_vhosts()]
    queues = [q for v in vhosts for q in v.queues.values()]
    counts = ctx.unacked_by_queue()
    unacked = sum(counts.get(id(q), (0, 0))[0] for q in queues)
    ready = sum(q.message_count for q in queues if q.log is None)
    wire = list(ctx.visible_connections())
    return Response(
        200,
        {
            "management_version": VERSION,
            "rates_mode": "basic",
            "exchange_types": [
                {"name": name, "description": EXCHANGE_TYPE_TEXTS.get(name, ""), "enabled": True}
                for name in sorted(b.exchange_types)
            ],
            "product_version": VERSION,
            "product_name": "RabbitMQ",
            "rabbitmq_version": VERSION,
            "cluster_name": ctx.node,
            "erlang_version": ERLANG,
            "message_stats": {},
            "object_totals": {
                "channels": sum(len(c.core.channels) for c in wire if c.core is not None),
                "connections": len(wire),
                "consumers": sum(len(q.consumers) for q in queues),
                "exchanges": sum(len(v.exchanges) for v in vhosts),
                "queues": len(queues),
            },
            # RabbitMQ leaves the totals out when the user can see no queue
            "queue_totals": {
                "messages": ready + unacked,
                "messages_ready": ready,
                "messages_unacknowledged": unacked,
            }
            if queues
            else {},
            "node": ctx.node,
            "listeners": [
                {
                    "node": ctx.node,
                    "protocol": item.protocol,
                    "ip_address": item.host,
                    "port": item.port,
                }
                for item in ctx.listeners
            ],
        },
    )


def cluster_name(ctx: Context, req: Request, _: list[str]) -> Response:
    return Response(200, {"name": ctx.node})


def nodes(ctx: Context, req: Request, _: list[str]) -> Response:
    """The one node, with the fields monitoring tools check (alarms, running)."""
    if not ctx.sees_everything():
        raise ManagementError(401, "not_authorised", "Not monitor user")
    blocked = ctx.broker.blocked_reason is not None
    return Response(
        200,
        [
            {
                "name": ctx.node,
                "type": "disc",
                "running": True,
                "partitions": [],
                "mem_alarm": blocked,
                "disk_free_alarm": False,
                "rates_mode": "basic",
                "exchange_types": [
                    {"name": n, "description": EXCHANGE_TYPE_TEXTS.get(n, ""), "enabled": True}
                    for n in sorted(ctx.broker.exchange_types)
                ],
            }
        ],
    )


def whoami(ctx: Context, req: Request, _: list[str]) -> Response:
    return Response(200, {"name": req.user, "tags": list(ctx.tags(req.user))})


def _vhost_view(ctx: Context, name: str) -> dict[str, Any]:
    unacked = ctx.unacked_by_queue()
    queues = ctx.vhost(name).queues.values()
    ready = sum(q.message_count for q in queues)
    waiting = sum(unacked.get(id(q), (0, 0))[0] for q in queues)
    description = "Default virtual host" if name == "/" else ""
    return {
        "name": name,
        "description": description,
        "tags": [],
        "default_queue_type": "undefined",
        "metadata": {"description": description, "tags": []},
        "tracing": False,
        "cluster_state": {ctx.node: "running"},
        "messages": ready + waiting,
        "messages_ready": ready,
        "messages_unacknowledged": waiting,
    }


def list_vhosts(ctx: Context, req: Request, _: list[str]) -> Response:
    return Response(200, [_vhost_view(ctx, name) for name in ctx.visible_vhosts()])


def get_vhost(ctx: Context, req: Request, args: list[str]) -> Response:
    return Response(200, _vhost_view(ctx, args[0]))


def put_vhost(ctx: Context, req: Request, args: list[str]) -> Response:
    req.json()
    existed = args[0] in ctx.broker.vhosts
    ctx.broker.add_vhost(args[0])
    if not existed:  # the user who made it may use it (RabbitMQ grants full permissions)
        ctx.broker.set_permissions(req.user, args[0])
    return Response(204 if existed else 201)


def delete_vhost(ctx: Context, req: Request, args: list[str]) -> Response:
    name = args[0]
    ctx.vhost(name)
    for conn in ctx.wire_connections():  # everyone's, whoever asks
        if conn.core is not None and conn.core.vhost_name == name:
            conn.force_close(conn._clock.now, VHOST_CLOSED.format(name))
    ctx.broker.delete_vhost(name)
    return Response(204)


def _user_view(ctx: Context, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "password_hash": "",
        "hashing_algorithm": "rabbit_password_hashing_sha256",
        "tags": list(ctx.tags(name)),
        "limits": {},
    }


def list_users(ctx: Context, req: Request, _: list[str]) -> Response:
    return Response(200, [_user_view(ctx, name) for name in sorted(ctx.broker.users)])


def get_user(ctx: Context, req: Request, args: list[str]) -> Response:
    if args[0] not in ctx.broker.users:
        raise not_found()
    return Response(200, _user_view(ctx, args[0]))


def _tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(t) for t in value if str(t))
    return tuple(t.strip() for t in str(value or "").split(",") if t.strip())


def put_user(ctx: Context, req: Request, args: list[str]) -> Response:
    body = req.json()
    name = args[0]
    if "tags" not in body:
        raise bad_request("tags_not_present")
    existed = name in ctx.broker.users
    if "password" in body:
        password: str | None = str(body["password"])
    elif existed:
        password = ctx.broker.users[name][0]
    else:
        # no password (or only a hash, which the fake cannot check): no login with one
        password = NO_PASSWORD
    ctx.broker.add_user(name, password, tags=_tags(body["tags"]))
    return Response(204 if existed else 201)


def delete_user(ctx: Context, req: Request, args: list[str]) -> Response:
    if args[0] not in ctx.broker.users:
        raise not_found()
    ctx.broker.delete_user(args[0])
    return Response(204)


def _permission(user: str, vhost: str, perms: tuple[str, str, str]) -> dict[str, str]:
    return {
        "user": user,
        "vhost": vhost,
        "configure": perms[0],
        "write": perms[1],
        "read": perms[2],
    }


def list_permissions(ctx: Context, req: Request, _: list[str]) -> Response:
    rows = [_permission(u, v, p) for (u, v), p in sorted(ctx.broker.permissions.items())]
    return Response(200, rows)


def vhost_permissions(ctx: Context, req: Request, args: list[str]) -> Response:
    ctx.vhost(args[0])
    rows = [
        _permission(u, v, p)
        for (u, v), p in sorted(ctx.broker.permissions.items())
        if v == args[0]
    ]
    return Response(200, rows)


def user_permissions(ctx: Context, req: Request, args: list[str]) -> Response:
    if args[0] not in ctx.broker.users:
        raise not_found()
    rows = [
        _permission(u, v, p)
        for (u, v), p in sorted(ctx.broker.permissions.items())
        if u == args[0]
    ]
    return Response(200, rows)


def get_permission(ctx: Context, req: Request, args: list[str]) -> Response:
    vhost, user = args
    perms = ctx.broker.permissions.get((user, vhost))
    if perms is None:
        raise not_found()
    return Response(200, _permission(user, vhost, perms))


def put_permission(ctx: Context, req: Request, args: list[str]) -> Response:
    vhost, user = args
    body = req.json()
    require(body, ("configure", "write", "read"))
    if user not in ctx.broker.users or vhost not in ctx.broker.vhosts:
        raise bad_request("vhost_or_user_not_found")
    existed = (user, vhost) in ctx.broker.permissions
    ctx.broker.set_permissions(
        user, vhost, str(body["configure"]), str(body["write"]), str(body["read"])
    )
    return Response(204 if existed else 201)


def delete_permission(ctx: Context, req: Request, args: list[str]) -> Response:
    vhost, user = args
    if not ctx.broker.clear_permissions(user, vhost):
        raise not_found()
    return Response(204)


def alarms(ctx: Context, req: Request, _: list[str]) -> Response:
    if ctx.broker.blocked_reason is not None:
        return Response(503, {"status": "failed", "reason": ctx.broker.blocked_reason})
    return Response(200, {"status": "ok"})


def aliveness(ctx: Context, req: Request, args: list[str]) -> Response:
    """As RabbitMQ does it: declare the queue ``aliveness-test`` in the vhost (it stays),
    publish a message to it and get it back."""
    ctx.vhost(args[0])
    with ctx.session(args[0], "", system=True) as call:
        call(build(Queue.Declare, queue="aliveness-test"))
        call(
            build(Basic.Publish, exchange="", routing_key="aliveness-test"), None, b"test_message"
        )
        got = call(build(Basic.Get, queue="aliveness-test", no_ack=True))
    if not any(isinstance(c, SendContent) for c in got):
        return Response(200, {"status": "failed", "reason": "no message"})
    return Response(200, {"status": "ok"})


def register(router: Router) -> None:
    router.add("GET", "overview", overview)
    router.add("GET", "whoami", whoami)
    router.add("GET", "cluster-name", cluster_name)
    router.add("GET", "nodes", nodes)
    router.add("GET", "vhosts", list_vhosts)
    router.add("GET", "vhosts/*", get_vhost)
    router.add("PUT", "vhosts/*", put_vhost, admin=True)
    router.add("DELETE", "vhosts/*", delete_vhost, admin=True)
    router.add("GET", "vhosts/*/permissions", vhost_permissions, admin=True)
    router.add("GET", "users", list_users, admin=True)
    router.add("GET", "users/*", get_user, admin=True)
    router.add("PUT", "users/*", put_user, admin=True)
    router.add("DELETE", "users/*", delete_user, admin=True)
    router.add("GET", "users/*/permissions", user_permissions, admin=True)
    router.add("GET", "permissions", list_permissions, admin=True)
    router.add("GET", "permissions/*/*", get_permission, admin=True)
    router.add("PUT", "permissions/*/*", put_permission, admin=True)
    router.add("DELETE", "permissions/*/*", delete_permission, admin=True)
    router.add("GET", "health/checks/alarms", alarms)
    router.add("GET", "aliveness-test/*", aliveness)
