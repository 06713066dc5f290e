"""The broker's objects over HTTP: ``queues``, ``exchanges``, ``bindings``,
``connections``, ``channels``, ``consumers``, and ``publish`` / ``get``. Declares,
deletes and binds run as AMQP methods of the HTTP user (``Context.run``), so they get
the broker's own checks, permissions and texts (a 406 becomes 400 ``bad_request`` with
the text after ``PRECONDITION_FAILED - ``)."""

from __future__ import annotations

import base64
import binascii
import datetime
import urllib.parse
from typing import TYPE_CHECKING, Any

from pamqp.commands import Basic, Exchange, Queue

from amqpmock.fake.commands import SendContent, build
from amqpmock.management import _values
from amqpmock.management._api import Request, Response, Router
from amqpmock.management._context import channel_closed, property_table
from amqpmock.management._errors import (
    ManagementError,
    bad_request,
    not_found,
    require,
    vhost_not_found,
    vhost_refused,
)
from amqpmock.management._listing import Whole
from amqpmock.management._views import (
    bindings,
    channel_view,
    connection_name,
    connection_view,
    consumer_view,
    down_queue_view,
    exchange_view,
    properties_key,
    queue_view,
)

if TYPE_CHECKING:
    from amqpmock.management._context import Context

FORCED_BY_API = "Closed via management plugin"


def _vhosts(ctx: Context, args: list[str]) -> list[str]:
    if args:
        ctx.vhost(args[0])
        return [args[0]]
    return ctx.visible_vhosts()


# --- queues ---------------------------------------------------------------------------


def list_queues(ctx: Context, req: Request, args: list[str]) -> Response:
    unacked = ctx.unacked_by_queue()
    down = ctx.broker.down_nodes
    rows = [
        down_queue_view(q) if q.node in down else queue_view(ctx, q, unacked.get(id(q), (0, 0)))
        for v in _vhosts(ctx, args)
        for q in sorted(ctx.broker.vhosts[v].queues.values(), key=lambda q: q.name)
    ]
    return Response(200, rows)


def _queue(ctx: Context, vhost: str, name: str) -> Any:
    queue = ctx.vhost(vhost).queues.get(name)
    if queue is None or queue.node in ctx.broker.down_nodes:
        raise not_found()  # RabbitMQ 3.10: a queue whose node is down is not found
    return queue


def get_queue(ctx: Context, req: Request, args: list[str]) -> Response:
    queue = _queue(ctx, *args)
    unacked = ctx.unacked_by_queue().get(id(queue), (0, 0))
    return Response(200, queue_view(ctx, queue, unacked, True))


def put_queue(ctx: Context, req: Request, args: list[str]) -> Response:
    """Flags as ``_values.flags`` reads them (absent: false, as RabbitMQ's record has
    it), arguments as ``_values.table`` (integers are ``long``)."""
    vhost, name = args
    body = req.json()
    if vhost not in ctx.broker.vhosts:
        raise vhost_not_found()
    flags = _values.flags(body, ("auto_delete", "durable"))
    arguments = _values.arguments(body)
    existed = name in ctx.vhost(vhost).queues
    ctx.run(vhost, req.user, build(Queue.Declare, queue=name, arguments=arguments, **flags))
    return Response(204 if existed else 201)


def delete_queue(ctx: Context, req: Request, args: list[str]) -> Response:
    vhost, name = args
    _queue(ctx, vhost, name)
    ctx.run(
        vhost,
        req.user,
        build(
            Queue.Delete,
            queue=name,
            if_unused=req.query.get("if-unused") == "true",
            if_empty=req.query.get("if-empty") == "true",
        ),
    )
    return Response(204)


def purge_queue(ctx: Context, req: Request, args: list[str]) -> Response:
    vhost, name = args
    _queue(ctx, vhost, name)
    ctx.run(vhost, req.user, build(Queue.Purge, queue=name))
    return Response(204)


ACKMODES = ("ack_requeue_true", "ack_requeue_false", "reject_requeue_true", "reject_requeue_false")
UNSUPPORTED_ENCODING = "Unsupported encoding. Please use auto or base64."


def get_messages(ctx: Context, req: Request, args: list[str]) -> Response:
    """``POST queues/{vhost}/{name}/get``: ``count`` and ``truncate`` (integers or their
    strings), ``ackmode`` (``ack_requeue_true``, ``ack_requeue_false``,
    ``reject_requeue_true``, ``reject_requeue_false``; another crashes RabbitMQ: 500)
    and ``encoding`` (``auto`` or ``base64``), as RabbitMQ reads them. A missing queue
    is the 404 of its basic.get, ``NOT_FOUND - no queue ...``."""
    vhost, name = args
    if vhost not in ctx.broker.vhosts:
        raise vhost_refused()
    body = req.json()
    require(body, ("ackmode", "count", "encoding"))
    count = _values.integer(body["count"])
    encoding = body["encoding"]
    if encoding not in ("auto", "base64"):
        raise bad_request(UNSUPPORTED_ENCODING)
    truncate = _values.integer(body["truncate"]) if "truncate" in body else None
    if body["ackmode"] not in ACKMODES:
        raise _values.crashed()
    requeue = str(body["ackmode"]).endswith("requeue_true")
    out: list[dict[str, Any]] = []
    with ctx.session(vhost, req.user) as call:
        for _ in range(count):
            try:
                commands = call(build(Basic.Get, queue=name, no_ack=not requeue))
            except ManagementError as exc:
                if exc.status == 404:
                    raise ManagementError(404, "not_found", f"NOT_FOUND - {exc.reason}") from None
                raise
            reply = next((c for c in commands if isinstance(c, SendContent)), None)
            if reply is None:
                break
            method = reply.method
            assert isinstance(method, Basic.GetOk)
            out.append(_message(reply, method, encoding, truncate))
    return Response(200, out)


def _message(
    reply: SendContent, method: Basic.GetOk, encoding: str, truncate: int | None
) -> dict[str, Any]:
    payload = reply.body
    shown = payload if truncate is None else payload[: max(0, truncate)]
    text: str | None = None
    if encoding == "auto":
        try:
            text = shown.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    # RabbitMQ lists the properties last to first (cluster_id ... content_type), and
    # holds the headers as a map
    table = dict(reversed(property_table(reply.properties).items()))
    stamp = table.get("timestamp")
    if isinstance(stamp, datetime.datetime):  # seconds since the epoch, as RabbitMQ
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=datetime.UTC)
        table["timestamp"] = int(stamp.timestamp())
    if isinstance(table.get("headers"), dict):
        table["headers"] = Whole(table["headers"])
    return {
        "payload_bytes": len(payload),
        "redelivered": bool(method.redelivered),
        "exchange": method.exchange,
        "routing_key": method.routing_key,
        "message_count": method.message_count,
        # an empty Erlang proplist is written as a JSON list
        "properties": table or [],
        "payload": text if text is not None else base64.b64encode(shown).decode(),
        "payload_encoding": "string" if text is not None else "base64",
    }


# --- exchanges ------------------------------------------------------------------------


def list_exchanges(ctx: Context, req: Request, args: list[str]) -> Response:
    rows = [
        exchange_view(v, e)
        for v in _vhosts(ctx, args)
        for e in sorted(ctx.broker.vhosts[v].exchanges.values(), key=lambda e: e.name)
    ]
    return Response(200, rows)


DEFAULT_EXCHANGE = "amq.default"  # the default exchange's name in management paths


def _exchange(ctx: Context, vhost: str, name: str) -> Any:
    exchange = ctx.vhost(vhost).exchanges.get("" if name == DEFAULT_EXCHANGE else name)
    if exchange is None:
        raise not_found()
    return exchange


def get_exchange(ctx: Context, req: Request, args: list[str]) -> Response:
    vhost, name = args
    view = exchange_view(vhost, _exchange(ctx, vhost, name))
    view.update(incoming=[], outgoing=[])  # message rates by peer: not kept
    return Response(200, view)


def put_exchange(ctx: Context, req: Request, args: list[str]) -> Response:
    """As ``put_queue``; ``type`` defaults to ``direct``."""
    vhost, name = args
    body = req.json()
    if vhost not in ctx.broker.vhosts:
        raise vhost_not_found()
    flags = _values.flags(body, ("auto_delete", "durable", "internal"))
    arguments = _values.arguments(body)
    existed = name in ctx.vhost(vhost).exchanges
    ctx.run(
        vhost,
        req.user,
        build(
            Exchange.Declare,
            exchange=name,
            exchange_type=str(body.get("type", "direct")),
            arguments=arguments,
            **flags,
        ),
    )
    return Response(204 if existed else 201)


def delete_exchange(ctx: Context, req: Request, args: list[str]) -> Response:
    vhost, name = args
    _exchange(ctx, vhost, name)
    ctx.run(
        vhost,
        req.user,
        build(Exchange.Delete, exchange=name, if_unused=req.query.get("if-unused") == "true"),
    )
    return Response(204)


_STRING_PROPERTIES = (
    "app_id",
    "cluster_id",
    "content_encoding",
    "content_type",
    "correlation_id",
    "expiration",
    "message_id",
    "reply_to",
    "type",
    "user_id",
)
_INT_PROPERTIES = ("delivery_mode", "priority", "timestamp")


def basic_properties(value: Any) -> Basic.Properties:
    """A publish's ``properties`` as rabbit_mgmt_format:to_basic_properties reads them:
    strings must be strings (400 ``["not_string", key]``), integers integers (``["not_int",
    key]``), ``headers`` a field table; other keys are ignored; a non-object crashes
    RabbitMQ (500)."""
    if not isinstance(value, dict):
        raise _values.crashed()
    # set one by one: pamqp's constructor refuses a cluster_id, RabbitMQ keeps it
    props = Basic.Properties()
    for key in sorted(value):
        item = value[key]
        if key in _STRING_PROPERTIES:
            if not isinstance(item, str):
                raise ManagementError(400, "bad_request", ["not_string", key])
            setattr(props, "message_type" if key == "type" else key, item)
        elif key in _INT_PROPERTIES:
            if isinstance(item, bool) or not isinstance(item, int):
                raise ManagementError(400, "bad_request", ["not_int", key])
            if key == "timestamp":
                try:
                    item = datetime.datetime.fromtimestamp(item, datetime.UTC)
                except (OverflowError, OSError, ValueError):
                    raise _values.crashed() from None
            setattr(props, key, item)
        elif key == "headers":
            props.headers = _values.table(item)
    return props


def publish(ctx: Context, req: Request, args: list[str]) -> Response:
    """In RabbitMQ's order: the keys, a string payload (400 ``payload_not_string``), the
    properties, the encoding (``["unsupported_encoding", e]``, ``["not_base64", p]``),
    then the publish (a delivery mode other than 1 or 2, a missing or internal exchange,
    a refused write: 400 with the channel's code and text)."""
    vhost, name = args
    if vhost not in ctx.broker.vhosts:
        raise vhost_refused()
    body = req.json()
    require(body, ("routing_key", "properties", "payload", "payload_encoding"))
    ctx.vhost(vhost)  # the exchange is the publish's to find (below)
    name = "" if name == DEFAULT_EXCHANGE else name
    payload = body["payload"]
    if not isinstance(payload, str):
        raise bad_request("payload_not_string")
    props = basic_properties(body["properties"])
    encoding = body["payload_encoding"]
    if encoding == "string":
        data = payload.encode()
    elif encoding == "base64":
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise ManagementError(400, "bad_request", ["not_base64", payload]) from None
    else:
        raise ManagementError(400, "bad_request", ["unsupported_encoding", encoding])
    if props.delivery_mode not in (None, 1, 2):
        raise bad_request(
            "406 PRECONDITION_FAILED - invalid message: "
            f"{{delivery_mode_unknown,{props.delivery_mode}}}"
        )
    commands = ctx.run(
        vhost,
        req.user,
        build(Basic.Publish, exchange=name, routing_key=str(body["routing_key"]), mandatory=True),
        props,
        data,
        # a missing or internal exchange, a refused write close the publishing
        # channel: 400 with its code and text ("404 NOT_FOUND - no exchange 'x' ...")
        errors=channel_closed,
    )
    returned = any(
        isinstance(c, SendContent) and isinstance(c.method, Basic.Return) for c in commands
    )
    return Response(200, {"routed": not returned})


# --- bindings -------------------------------------------------------------------------

# rabbit_mgmt_wm_bindings' default sort (no binding has a "type": it counts as 0)
BINDING_SORT = ("vhost", "source", "type", "destination", "routing_key", "properties_key")


def list_bindings(ctx: Context, req: Request, args: list[str]) -> Response:
    rows = [row for v in _vhosts(ctx, args) for row in bindings(ctx.broker.vhosts[v])]
    return Response(200, rows, sort_keys=BINDING_SORT)


def _between(ctx: Context, vhost: str, source: str, kind: str, dest: str) -> list[dict[str, Any]]:
    _exchange(ctx, vhost, source)  # the default exchange, "", is one of them
    if kind == "queue":
        _queue(ctx, vhost, dest)
    else:
        _exchange(ctx, vhost, dest)
    return [
        row
        for row in bindings(ctx.vhost(vhost))
        if row["source"] == source
        and row["destination"] == dest
        and row["destination_type"] == kind
    ]


def _kind(letter: str) -> str:
    if letter not in ("q", "e"):
        raise not_found()
    return "queue" if letter == "q" else "exchange"


def get_bindings_between(ctx: Context, req: Request, args: list[str]) -> Response:
    vhost, source, letter, dest = args
    return Response(200, _between(ctx, vhost, source, _kind(letter), dest), sort_keys=BINDING_SORT)


def post_binding(ctx: Context, req: Request, args: list[str]) -> Response:
    vhost, source, letter, dest = args
    kind = _kind(letter)
    if vhost not in ctx.broker.vhosts:
        raise vhost_not_found()
    ctx.vhost(vhost)  # the rest is the broker's to check (404 "no queue 'q' in vhost")
    body = req.json()
    key = str(body.get("routing_key", ""))
    try:
        arguments = _values.arguments(body)
    except ManagementError as exc:  # a null in a binding's arguments crashes RabbitMQ
        raise _values.crashed() if exc.status == 400 else exc from None
    method: Any = (
        build(Queue.Bind, queue=dest, exchange=source, routing_key=key, arguments=arguments)
        if kind == "queue"
        else build(
            Exchange.Bind, destination=dest, source=source, routing_key=key, arguments=arguments
        )
    )
    ctx.run(vhost, req.user, method)
    # RabbitMQ's Location: the new binding's URL relative to the request's path (the
    # destination's segment and the properties key, each quote_plus'ed again)
    location = "/".join(
        urllib.parse.quote_plus(part, safe="") for part in (dest, properties_key(key, arguments))
    )
    return Response(201, headers={"Location": location})


def _one_binding(ctx: Context, args: list[str]) -> dict[str, Any]:
    vhost, source, letter, dest, props = args
    # the segment (percent-decoded once) read as RabbitMQ reads it: "KEY" or
    # "KEY~ARGS-DIGEST", KEY unquoted with "+" as a space (rabbit_mgmt_wm_binding)
    tokens = props.split("~")
    if len(tokens) > 1 and tokens[-1] == "":
        tokens.pop()
    if len(tokens) > 2:
        raise not_found()
    key = urllib.parse.unquote_plus(tokens[0])
    digest = urllib.parse.unquote(tokens[1]) if len(tokens) == 2 else None
    for row in _between(ctx, vhost, source, _kind(letter), dest):
        row_digest = row["properties_key"].split("~", 1)[1] if row["arguments"] else None
        if row["routing_key"] == key and row_digest == digest:
            return row
    raise not_found()


def get_binding(ctx: Context, req: Request, args: list[str]) -> Response:
    return Response(200, _one_binding(ctx, args))


def delete_binding(ctx: Context, req: Request, args: list[str]) -> Response:
    row = _one_binding(ctx, args)
    vhost = args[0]
    method: Any = (
        build(
            Queue.Unbind,
            queue=row["destination"],
            exchange=row["source"],
            routing_key=row["routing_key"],
            arguments=row["arguments"],
        )
        if row["destination_type"] == "queue"
        else build(
            Exchange.Unbind,
            destination=row["destination"],
            source=row["source"],
            routing_key=row["routing_key"],
            arguments=row["arguments"],
        )
    )
    ctx.run(vhost, req.user, method)
    return Response(204)


def queue_bindings(ctx: Context, req: Request, args: list[str]) -> Response:
    vhost, name = args
    _queue(ctx, vhost, name)
    rows = [
        row
        for row in bindings(ctx.vhost(vhost))
        if row["destination"] == name and row["destination_type"] == "queue"
    ]
    return Response(200, rows, sort_keys=BINDING_SORT)


def exchange_bindings(ctx: Context, req: Request, args: list[str]) -> Response:
    vhost, name, side = args
    ctx.vhost(vhost)  # a missing exchange has no bindings: [] (RabbitMQ)
    if side not in ("source", "destination"):
        raise not_found()
    rows = [
        row
        for row in bindings(ctx.vhost(vhost))
        if row[side] == name and (side == "source" or row["destination_type"] == "exchange")
    ]
    return Response(200, rows, sort_keys=BINDING_SORT)


# --- connections, channels, consumers ---------------------------------------------------


def list_connections(ctx: Context, req: Request, args: list[str]) -> Response:
    if args:
        ctx.vhost(args[0])
    rows = [
        connection_view(ctx, c)
        for c in ctx.visible_connections()
        if not args or (c.core is not None and c.core.vhost_name == args[0])
    ]
    return Response(200, rows)


def _connection(ctx: Context, name: str) -> Any:
    for conn in ctx.visible_connections():
        if connection_name(ctx, conn) == name:
            return conn
    raise not_found()


def get_connection(ctx: Context, req: Request, args: list[str]) -> Response:
    return Response(200, connection_view(ctx, _connection(ctx, args[0])))


def delete_connection(ctx: Context, req: Request, args: list[str]) -> Response:
    """Closed with 320 CONNECTION_FORCED and the ``X-Reason`` header's text."""
    conn = _connection(ctx, args[0])
    conn.force_close(conn._clock.now, req.headers.get("x-reason") or FORCED_BY_API)
    return Response(204)


def connection_channels(ctx: Context, req: Request, args: list[str]) -> Response:
    conn = _connection(ctx, args[0])
    assert conn.core is not None
    return Response(200, [channel_view(ctx, conn, ch) for ch in conn.core.channels.values()])


def list_channels(ctx: Context, req: Request, args: list[str]) -> Response:
    rows = [
        channel_view(ctx, conn, ch)
        for conn in ctx.visible_connections()
        if conn.core is not None
        for ch in conn.core.channels.values()
    ]
    return Response(200, rows)


def list_consumers(ctx: Context, req: Request, args: list[str]) -> Response:
    rows = [
        consumer_view(ctx, c)
        for v in _vhosts(ctx, args)
        for q in ctx.broker.vhosts[v].queues.values()
        for c in q.consumers
    ]
    return Response(200, rows)


def register(router: Router) -> None:
    router.add("GET", "queues", list_queues)
    router.add("GET", "queues/*", list_queues)
    router.add("GET", "queues/*/*", get_queue)
    router.add("PUT", "queues/*/*", put_queue)
    router.add("DELETE", "queues/*/*", delete_queue)
    router.add("DELETE", "queues/*/*/contents", purge_queue)
    router.add("POST", "queues/*/*/get", get_messages)
    router.add("GET", "queues/*/*/bindings", queue_bindings)
    router.add("GET", "exchanges", list_exchanges)
    router.add("GET", "exchanges/*", list_exchanges)
    router.add("GET", "exchanges/*/*", get_exchange)
    router.add("PUT", "exchanges/*/*", put_exchange)
    router.add("DELETE", "exchanges/*/*", delete_exchange)
    router.add("POST", "exchanges/*/*/publish", publish)
    router.add("GET", "exchanges/*/*/bindings/*", exchange_bindings)
    router.add("GET", "bindings", list_bindings)
    router.add("GET", "bindings/*", list_bindings)
    router.add("GET", "bindings/*/e/*/*/*", get_bindings_between)
    router.add("POST", "bindings/*/e/*/*/*", post_binding)
    router.add("GET", "bindings/*/e/*/*/*/*", get_binding)
    router.add("DELETE", "bindings/*/e/*/*/*/*", delete_binding)
    router.add("GET", "connections", list_connections)
    router.add("GET", "vhosts/*/connections", list_connections)
    router.add("GET", "connections/*", get_connection)
    router.add("DELETE", "connections/*", delete_connection)
    router.add("GET", "connections/*/channels", connection_channels)
    router.add("GET", "channels", list_channels)
    router.add("GET", "consumers", list_consumers)
    router.add("GET", "consumers/*", list_consumers)
