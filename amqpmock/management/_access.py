"""Who may do what, and where: ``whoami``, ``vhosts``, ``users``, ``permissions``, and
the health checks. Statuses as RabbitMQ 3.10.8 answers: 201 for a created object, 204
for a changed or deleted one, 404 for an unknown one.

- A vhost's PUT keeps its ``description`` (any JSON value) and ``tags`` (a list, or a
  comma-separated string, each trimmed, empty ones kept) as given, and a ``tracing``
  flag (``_values.boolean``) until a later PUT gives one; a PUT without a description
  or tags clears them.
- A user's ``password_hash`` is RabbitMQ's ``rabbit_password_hashing_sha256`` of the
  password with a salt of the user's own, the same on every read.
- A password or permission that is not a string crashes RabbitMQ: 500, no body.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from pamqp.commands import Basic, Queue

from amqpmock.fake import NO_PASSWORD, passwords
from amqpmock.fake import alarms as alarm_rules
from amqpmock.fake.commands import SendContent, build
from amqpmock.management import _values
from amqpmock.management._api import Request, Response, Router
from amqpmock.management._errors import bad_request, not_found, require
from amqpmock.management._listing import Whole

if TYPE_CHECKING:
    from amqpmock.management._context import Context

VHOST_CLOSED = "vhost '{}' is deleted"


def whoami(ctx: Context, req: Request, _: list[str]) -> Response:
    return Response(200, {"name": req.user, "tags": list(ctx.tags(req.user))})


def _vhost_view(ctx: Context, name: str) -> dict[str, Any]:
    unacked = ctx.unacked_by_queue()
    queues = ctx.vhost(name).queues.values()
    ready = sum(q.message_count for q in queues)
    waiting = sum(unacked.get(id(q), (0, 0))[0] for q in queues)
    meta = ctx.vhost_metadata(name)
    view: dict[str, Any] = {
        "name": name,
        "description": meta.description,
        "tags": list(meta.tags),
        "default_queue_type": "undefined",
        "metadata": Whole({"description": meta.description, "tags": list(meta.tags)}),
        "tracing": meta.tracing,
        "cluster_state": {ctx.node: "running"},
    }
    if queues:  # RabbitMQ has none before a first queue (and keeps 0 after the last one)
        view.update(
            messages_ready=ready,
            messages_ready_details={"rate": 0.0},
            messages_unacknowledged=waiting,
            messages_unacknowledged_details={"rate": 0.0},
            messages=ready + waiting,
            messages_details={"rate": 0.0},
        )
    # the fake counts no octets
    view.update(
        recv_oct=0, recv_oct_details={"rate": 0.0}, send_oct=0, send_oct_details={"rate": 0.0}
    )
    return view


def list_vhosts(ctx: Context, req: Request, _: list[str]) -> Response:
    return Response(200, [_vhost_view(ctx, name) for name in ctx.visible_vhosts()])


def get_vhost(ctx: Context, req: Request, args: list[str]) -> Response:
    return Response(200, _vhost_view(ctx, args[0]))


def _vhost_tags(value: Any) -> list[Any]:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, str):
        return [tag.strip() for tag in value.split(",")] if value else []
    return []


def put_vhost(ctx: Context, req: Request, args: list[str]) -> Response:
    body = req.json()
    tracing = _values.boolean(body["tracing"]) if "tracing" in body else None
    existed = args[0] in ctx.broker.vhosts
    ctx.broker.add_vhost(args[0])
    if not existed:  # the user who made it may use it (RabbitMQ grants full permissions)
        ctx.broker.set_permissions(req.user, args[0])
    meta = ctx.vhost_metadata(args[0])
    meta.description = body.get("description", "")
    meta.tags = _vhost_tags(body.get("tags"))
    if tracing is not None:
        meta.tracing = tracing
    return Response(204 if existed else 201)


def delete_vhost(ctx: Context, req: Request, args: list[str]) -> Response:
    name = args[0]
    ctx.vhost(name)
    for conn in ctx.wire_connections():  # everyone's, whoever asks
        if conn.core is not None and conn.core.vhost_name == name:
            conn.force_close(conn._clock.now, VHOST_CLOSED.format(name))
    ctx.broker.delete_vhost(name)
    return Response(204)


def user_view(ctx: Context, name: str) -> dict[str, Any]:
    """A user as ``users`` and a definitions export show it."""
    secret, tags = ctx.broker.users[name]
    algorithm, password_hash = passwords.DEFAULT, ""
    if secret is not None and secret != NO_PASSWORD:
        kept = passwords.split_stored(secret)
        if kept is not None:
            algorithm, password_hash = kept
        else:  # a salt of its own, so that every read shows the same hash
            salt = random.Random(f"{name}\x00{secret}")
            password_hash = passwords.make_hash(secret, salt)
    return {
        "name": name,
        "password_hash": password_hash,
        "hashing_algorithm": algorithm,
        "tags": list(tags),
        "limits": Whole(),
    }


def list_users(ctx: Context, req: Request, _: list[str]) -> Response:
    return Response(200, [user_view(ctx, name) for name in sorted(ctx.broker.users)])


def get_user(ctx: Context, req: Request, args: list[str]) -> Response:
    if args[0] not in ctx.broker.users:
        raise not_found()
    return Response(200, user_view(ctx, args[0]))


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
        if not isinstance(body["password"], str):
            raise _values.crashed()
        password: str | None = body["password"]
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


# rabbit_mgmt_wm_permissions' (and _vhost's, _user's) default sort
PERMISSION_SORT = ("vhost", "user")


def list_permissions(ctx: Context, req: Request, _: list[str]) -> Response:
    rows = [_permission(u, v, p) for (u, v), p in sorted(ctx.broker.permissions.items())]
    return Response(200, rows, sort_keys=PERMISSION_SORT)


def vhost_permissions(ctx: Context, req: Request, args: list[str]) -> Response:
    ctx.vhost(args[0])
    rows = [
        _permission(u, v, p)
        for (u, v), p in sorted(ctx.broker.permissions.items())
        if v == args[0]
    ]
    return Response(200, rows, sort_keys=PERMISSION_SORT)


def user_permissions(ctx: Context, req: Request, args: list[str]) -> Response:
    if args[0] not in ctx.broker.users:
        raise not_found()
    rows = [
        _permission(u, v, p)
        for (u, v), p in sorted(ctx.broker.permissions.items())
        if u == args[0]
    ]
    return Response(200, rows, sort_keys=PERMISSION_SORT)


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
    if not all(isinstance(body[key], str) for key in ("configure", "write", "read")):
        raise _values.crashed()
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


# the resources as RabbitMQ 3.10.8's health checks name them, in its order
_ALARM_RESOURCES = (("disk", "disk space"), ("memory", "memory"))


def alarms(ctx: Context, req: Request, _: list[str], *, where: str = "in the cluster") -> Response:
    active = alarm_rules.active(ctx.broker)
    if not active:
        return Response(200, {"status": "ok"})
    listed = [
        {"node": ctx.node, "resource": name} for key, name in _ALARM_RESOURCES if key in active
    ]
    reason = f"There are alarms in effect {where}"
    return Response(503, {"status": "failed", "reason": reason, "alarms": listed})


def local_alarms(ctx: Context, req: Request, args: list[str]) -> Response:
    return alarms(ctx, req, args, where="on the node")


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
    router.add("GET", "whoami", whoami)
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
    router.add("GET", "health/checks/local-alarms", local_alarms)
    router.add("GET", "aliveness-test/*", aliveness)
