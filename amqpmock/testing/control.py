"""The control API: what the ``amqp_broker`` fixture offers Python tests, over HTTP for
tests in any language, under ``/amqpmock/`` beside the management API's ``/api/``.

Every call goes to a ``BrokerFixture`` (reset, the clock, injected messages, traffic
records, RPC stubs): the same implementation, not a second one. It runs on the
server's loop, where the fixture's calls run inline. Credentials: HTTP basic auth, as
for the management API, of a user tagged ``administrator`` or ``amqpmock`` (the control
API's own tag): it can publish anywhere, move the clock and answer RPCs, so the
management tags (``management``, ``monitoring``, ``policymaker``) are not enough. An
``amqpmock`` user who is not an administrator sees records and messages only of the
vhosts it has permissions on, and may not reset (a reset deletes users).

    POST   /amqpmock/reset
    POST   /amqpmock/clock/advance          {"seconds": 30}
    POST   /amqpmock/restart                {"down_for": 1.5, "crash": false}
           (both optional: back at once, with Connection.Close 320 to every client;
           "down_for": null stays down until POST /amqpmock/come-up)
    POST   /amqpmock/come-up                listen again now, after a restart
    GET    /amqpmock/nodes                  the cluster's nodes: index, name, url, running
    POST   /amqpmock/nodes/N/stop|start     node N (index or name) stops as with
                                            rabbitmqctl stop_app, or starts again
    POST   /amqpmock/alarms/memory|disk     raise a resource alarm (publishers blocked)
    DELETE /amqpmock/alarms/memory|disk     clear it
    GET    /amqpmock/alarms                 {"alarms": ["memory", ...]}
    POST   /amqpmock/faults                 {"kind": "timeout" | "reset_peer" | "latency"
                                             | "bandwidth" | "slicer" | "half_open",
                                             "connection": NAME or "host:port", "node":
                                             1, "for": 5, "new": false, "latency": 0.2,
                                             "jitter": 0, "rate": 64 (KB/s),
                                             "average_size": 8, "size_variation": 4,
                                             "delay": 0.001}
                                            (kind required; new: later connections too)
    DELETE /amqpmock/faults                 end every network fault
    POST   /amqpmock/close                  {"connection": NAME or "host:port", "code":
                                             320, "text": "...", "channel": 1} (all
                                            optional): close connections (or a channel
                                            of each) from the broker's side
    POST   /amqpmock/publish                {"exchange": "", "routing_key": "q",
                                             "body": "text" | {...}, "properties": {...}}
    GET    /amqpmock/records/EVENT          ?exchange=&routing_key=&queue=
           (EVENT: published, delivered, acked, nacked, returned, dead_lettered)
    GET    /amqpmock/queues/NAME/messages   ready messages, not taken
    POST   /amqpmock/stubs                  {"exchange": "x", "routing_key": "k",
                                             "returns": value | "raises": {"class": "E",
                                             "message": "..."} | "sequence": [...],
                                             "delay": 2.5}
    GET    /amqpmock/stubs/ID               the stub and the calls it answered
    DELETE /amqpmock/stubs/ID
    POST   /amqpmock/contract/examples/NAME publish the first example of the AsyncAPI
           document's message (or channel) NAME on its channel's exchange and routing key
    POST   /amqpmock/contract/declare       declare the document's exchanges, queues and
                                            bindings
           (the AsyncAPI document: see ``amqpmock.testing._control_contracts``)
"""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

from pamqp.commands import Basic

from amqpmock.fake import alarms
from amqpmock.fake.model import Message
from amqpmock.management import Context, Request, Response, Router, request_for
from amqpmock.management._api import API_TAGS, authenticate
from amqpmock.management._context import property_table
from amqpmock.management._errors import ManagementError, bad_request, not_found, require
from amqpmock.management._views import json_value
from amqpmock.testing import _control_contracts
from amqpmock.testing.harness import BrokerFixture
from amqpmock.testing.inspection import Record
from amqpmock.testing.rpc import RPCCall, RPCStub
from amqpmock.wire import faults

EVENTS = ("published", "delivered", "acked", "nacked", "returned", "dead_lettered")
PREFIX = "/amqpmock"
CONTROL_TAGS = frozenset({"administrator", "amqpmock"})
# a fault's numbers (amqpmock.wire.faults.Toxic), 0 by default
FAULT_NUMBERS = {
    "latency": "seconds",
    "jitter": "seconds",
    "rate": "KB/s",
    "average_size": "bytes",
    "size_variation": "bytes",
    "delay": "seconds",
}


def control_user(context: Context, headers: dict[str, str]) -> tuple[str, set[str] | None]:
    """The user of a request to the control API or the live page, and the vhosts it
    may see there (None: all, an administrator); the 401 RabbitMQ answers a user
    without the right tag otherwise."""
    lowered = {k.lower(): v for k, v in headers.items()}
    user = authenticate(context, lowered.get("authorization", ""), API_TAGS | CONTROL_TAGS)
    tags = set(context.tags(user))
    if not CONTROL_TAGS & tags:
        raise ManagementError(401, "not_authorised", "Not administrator user")
    if "administrator" in tags:
        return user, None
    return user, {vhost for (who, vhost) in context.broker.permissions if who == user}


def message_data(message: Message) -> dict[str, Any]:
    """A message as JSON: its body as text (and parsed, when it is JSON) or base64."""
    data: dict[str, Any] = {
        "exchange": message.exchange,
        "routing_key": message.routing_key,
        "properties": json_value(property_table(message.properties)),
    }
    try:
        text = message.body.decode("utf-8")
    except UnicodeDecodeError:
        data["body_base64"] = base64.b64encode(message.body).decode()
        return data
    data["body"] = text
    with contextlib.suppress(ValueError):
        data["json"] = json.loads(text)
    return data


def record_data(record: Record) -> dict[str, Any]:
    data = message_data(record.message)
    data["event"] = record.event
    for key in ("queues", "queue", "consumer", "delivery_tag", "redelivered", "requeue", "reason"):
        value = getattr(record, key)
        if value not in (None, []) or (key == "queues" and record.event == "published"):
            data[key] = value
    return data


def _error(spec: Any) -> BaseException:
    """``{"class": "ValueError", "message": "..."}`` -> an exception of that name (RPC
    conventions send the class name and message to the caller)."""
    if not isinstance(spec, dict) or "class" not in spec:
        raise bad_request('"raises" needs {"class": NAME, "message": TEXT}')
    cls: type[Exception] = type(str(spec["class"]), (Exception,), {})
    return cls(str(spec.get("message", "")))


def _call_data(call: RPCCall) -> dict[str, Any]:
    return {
        "exchange": call.exchange,
        "routing_key": call.routing_key,
        "payload": json_value(call.payload),
        "method": call.method,
        "args": json_value(call.args),
        "result": json_value(call.result),
        "error": None if call.error is None else f"{type(call.error).__name__}: {call.error}",
    }


def _seconds(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and value >= 0


class OnLoop:
    """A server seen from its own loop (``amqpmock serve``): the fixture's calls run
    inline, as they do when the HTTP handler is already on the server's thread."""

    def __init__(self, server: Any) -> None:
        self.url: str = server.url
        self.broker = server.broker
        self._server = server

    def call(self, fn: Any) -> Any:
        return fn()

    def restart(self, down_for: float | None = 0.0, *, crash: bool = False) -> None:
        self._server.go_down(crash=crash, down_for=down_for)

    def come_up(self) -> None:
        self._server.come_up()

    @property
    def down(self) -> bool:
        return bool(self._server.down)

    @property
    def node_urls(self) -> list[str]:
        return list(self._server.node_urls)

    def stop_node(self, index: int) -> None:
        self._server.stop_node(index)

    def start_node(self, index: int) -> None:
        self._server.start_node(index)


class ControlAPI:
    """``handle(method, raw_path, query, body, headers)`` for ``/amqpmock/...``.
    ``fixture`` may be swapped (the pytest plugin points it at each test's own)."""

    def __init__(self, fixture: BrokerFixture) -> None:
        self.fixture = fixture
        self.context = Context(fixture.broker)
        self.stubs: dict[int, RPCStub] = {}
        self.visible: set[str] | None = None  # the vhosts this request's user may see
        self._next_stub = 0
        self.router = Router(API_TAGS | CONTROL_TAGS)
        add = self.router.add
        add("POST", "reset", self._reset)
        add("POST", "clock/advance", self._advance)
        add("POST", "restart", self._restart)
        add("POST", "come-up", self._come_up)
        add("GET", "nodes", self._nodes)
        add("POST", "nodes/*/stop", self._stop_node)
        add("POST", "nodes/*/start", self._start_node)
        add("GET", "alarms", self._alarms)
        add("POST", "alarms/*", self._set_alarm)
        add("DELETE", "alarms/*", self._clear_alarm)
        add("POST", "faults", self._add_fault)
        add("DELETE", "faults", self._clear_faults)
        add("POST", "close", self._close)
        add("POST", "publish", self._publish)
        add("GET", "records/*", self._records)
        add("GET", "queues/*/messages", self._messages)
        add("POST", "stubs", self._add_stub)
        add("GET", "stubs/*", self._stub)
        add("DELETE", "stubs/*", self._remove_stub)
        _control_contracts.register(self)

    def handle(
        self,
        method: str,
        raw_path: str,
        query: dict[str, str] | None = None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> Response:
        request = request_for(method, raw_path, query, body, headers, PREFIX)
        if request is None:
            return not_found().response()
        try:
            _user, self.visible = control_user(self.context, headers or {})
        except ManagementError as exc:
            return exc.response()
        return self.router.handle(self.context, request)

    def _sees(self, vhost: str) -> bool:
        return self.visible is None or vhost in self.visible

    # --- handlers ----------------------------------------------------------------

    def _reset(self, ctx: Context, req: Request, args: list[str]) -> Response:
        if self.visible is not None:
            raise ManagementError(401, "not_authorised", "Not administrator user")
        for stub in self.stubs.values():
            stub.stop()
        self.stubs.clear()
        self.fixture.reset()
        return Response(204)

    def _advance(self, ctx: Context, req: Request, args: list[str]) -> Response:
        body = req.json()
        require(body, ("seconds",))
        seconds = body["seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise bad_request("seconds: a number of seconds, 0 or more")
        self.fixture.advance(float(seconds))
        return Response(200, {"offset": self.fixture.clock.offset})

    def _restart(self, ctx: Context, req: Request, args: list[str]) -> Response:
        if self.visible is not None:  # it closes every user's connections
            raise ManagementError(401, "not_authorised", "Not administrator user")
        body = req.json()
        unknown = sorted(set(body) - {"down_for", "crash"})
        if unknown:
            raise bad_request(f"unknown field(s) {', '.join(unknown)}: expected down_for, crash")
        down_for = body.get("down_for", 0)
        if down_for is not None and (
            isinstance(down_for, bool) or not isinstance(down_for, int | float) or down_for < 0
        ):
            raise bad_request("down_for: a number of seconds, 0 or more, or null")
        crash = body.get("crash", False)
        if not isinstance(crash, bool):
            raise bad_request("crash: true or false")
        self.fixture.restart(None if down_for is None else float(down_for), crash=crash)
        return Response(200, {"down": self.fixture.down, "down_for": down_for, "crash": crash})

    def _come_up(self, ctx: Context, req: Request, args: list[str]) -> Response:
        if self.visible is not None:
            raise ManagementError(401, "not_authorised", "Not administrator user")
        self.fixture.come_up()
        return Response(200, {"down": self.fixture.down})

    def _nodes(self, ctx: Context, req: Request, args: list[str]) -> Response:
        return Response(200, self._node_list())

    def _node_list(self) -> list[dict[str, Any]]:
        broker = self.fixture.broker
        urls = self.fixture.node_urls
        return [
            {"index": n, "name": name, "url": urls[n], "running": name not in broker.down_nodes}
            for n, name in enumerate(broker.nodes)
        ]

    def _node_of(self, args: list[str]) -> int:
        if self.visible is not None:  # it closes every user's connections on that node
            raise ManagementError(401, "not_authorised", "Not administrator user")
        names = self.fixture.broker.nodes
        given = args[0]
        if given.isdigit() and int(given) < len(names):
            return int(given)
        if given in names:
            return names.index(given)
        raise ManagementError(
            404,
            "not_found",
            f"no node {given!r}: nodes are 0 to {len(names) - 1} or {', '.join(names)}",
        )

    def _stop_node(self, ctx: Context, req: Request, args: list[str]) -> Response:
        self.fixture.stop_node(self._node_of(args))
        return Response(200, self._node_list())

    def _start_node(self, ctx: Context, req: Request, args: list[str]) -> Response:
        self.fixture.start_node(self._node_of(args))
        return Response(200, self._node_list())

    def _alarms(self, ctx: Context, req: Request, args: list[str]) -> Response:
        return Response(200, {"alarms": sorted(alarms.active(ctx.broker))})

    def _alarm_of(self, args: list[str]) -> str:
        if self.visible is not None:  # it blocks every user's publishers
            raise ManagementError(401, "not_authorised", "Not administrator user")
        if args[0] not in alarms.RESOURCES:
            raise not_found()
        return args[0]

    def _set_alarm(self, ctx: Context, req: Request, args: list[str]) -> Response:
        self.fixture.alarm(self._alarm_of(args))
        return self._alarms(ctx, req, args)

    def _clear_alarm(self, ctx: Context, req: Request, args: list[str]) -> Response:
        self.fixture.clear_alarm(self._alarm_of(args))
        return self._alarms(ctx, req, args)

    def _close(self, ctx: Context, req: Request, args: list[str]) -> Response:
        if self.visible is not None:  # it closes any user's connections
            raise ManagementError(401, "not_authorised", "Not administrator user")
        body = req.json()
        fields = ("connection", "channel", "code", "text")
        unknown = sorted(set(body) - set(fields))
        if unknown:
            raise bad_request(
                f"unknown field(s) {', '.join(unknown)}: expected {', '.join(fields)}"
            )
        code, text = body.get("code", 320), body.get("text", faults.FORCED_TEXT)
        channel, connection = body.get("channel"), body.get("connection")
        if isinstance(code, bool) or not isinstance(code, int):
            raise bad_request("code: an AMQP reply code, such as 320 or 406")
        if not isinstance(text, str):
            raise bad_request("text: the reply text after the code's name")
        if channel is not None and (
            isinstance(channel, bool) or not isinstance(channel, int) or channel < 1
        ):
            raise bad_request("channel: a channel number, 1 or more")
        try:
            closed = self.fixture.close_connection(
                None if connection is None else str(connection), code, text, channel=channel
            )
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        return Response(200, {"closed": closed})

    def _add_fault(self, ctx: Context, req: Request, args: list[str]) -> Response:
        if self.visible is not None:  # it cuts every user's connections
            raise ManagementError(401, "not_authorised", "Not administrator user")
        body = req.json()
        fields = ("kind", "connection", "for", "new", "node", *FAULT_NUMBERS)
        unknown = sorted(set(body) - set(fields))
        if unknown:
            raise bad_request(
                f"unknown field(s) {', '.join(unknown)}: expected {', '.join(fields)}"
            )
        require(body, ("kind",))
        for_ = body.get("for")
        if for_ is not None and not _seconds(for_):
            raise bad_request("for: a number of seconds, 0 or more, or null")
        for name, unit in FAULT_NUMBERS.items():
            value = body.get(name, 0)
            if not _seconds(value) or (unit == "bytes" and not float(value).is_integer()):
                whole = "a whole" if unit == "bytes" else "a"
                raise bad_request(f"{name}: {whole} number of {unit}, 0 or more")
        connection = body.get("connection")
        new = body.get("new", False)
        if not isinstance(new, bool):
            raise bad_request("new: true or false")
        node = body.get("node")
        if node is not None and (isinstance(node, bool) or not isinstance(node, (int, str))):
            raise bad_request("node: a node's index or name")
        try:
            hit = self.fixture.fault(
                str(body["kind"]),
                None if connection is None else str(connection),
                None if for_ is None else float(for_),
                latency=float(body.get("latency", 0)),
                jitter=float(body.get("jitter", 0)),
                rate=float(body.get("rate", 0)),
                average_size=int(body.get("average_size", 0)),
                size_variation=int(body.get("size_variation", 0)),
                delay=float(body.get("delay", 0)),
                new=new,
                node=node,
            )
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        return Response(200, {"connections": hit})

    def _clear_faults(self, ctx: Context, req: Request, args: list[str]) -> Response:
        if self.visible is not None:
            raise ManagementError(401, "not_authorised", "Not administrator user")
        self.fixture.clear_faults()
        return Response(204)

    def _publish(self, ctx: Context, req: Request, args: list[str]) -> Response:
        body = req.json()
        require(body, ("routing_key",))
        properties = body.get("properties") or {}
        if not isinstance(properties, dict):
            raise bad_request("properties: expected an object")
        if "type" in properties:
            properties["message_type"] = properties.pop("type")
        try:
            props = Basic.Properties(**properties) if properties else None
        except TypeError as exc:
            raise bad_request(f"properties: {exc}") from None
        if not self._sees("/"):
            raise ManagementError(401, "not_authorised", "access to vhost '/' refused")
        payload = body.get("body", "")
        if "body_base64" in body:
            payload = base64.b64decode(str(body["body_base64"]))
        queues = self.fixture.publish(
            str(body.get("exchange", "")), str(body["routing_key"]), payload, props
        )
        return Response(200, {"queues": queues})

    def _records(self, ctx: Context, req: Request, args: list[str]) -> Response:
        event = args[0]
        if event not in EVENTS:
            raise not_found()
        records = getattr(self.fixture, event)
        criteria = {
            k: v for k, v in req.query.items() if k in ("exchange", "routing_key", "queue")
        }
        if criteria:
            records = records.filter(**criteria)
        return Response(200, [record_data(r) for r in records if self._sees(r.message.vhost)])

    def _messages(self, ctx: Context, req: Request, args: list[str]) -> Response:
        queue = ctx.broker.vhosts["/"].queues.get(args[0])
        if queue is None or not self._sees("/"):
            raise not_found()
        return Response(200, [message_data(m) for m in self.fixture.messages(args[0])])

    def _add_stub(self, ctx: Context, req: Request, args: list[str]) -> Response:
        body = req.json()
        require(body, ("exchange", "routing_key"))
        stub = self.fixture.rpc_stub(str(body["exchange"]), str(body["routing_key"]))
        if "delay" in body:
            stub.delay(float(body["delay"]))
        if "sequence" in body:
            values = body["sequence"]
            if not isinstance(values, list):
                raise bad_request("sequence: expected a list")
            stub.sequence(
                *(
                    _error(v["raises"]) if isinstance(v, dict) and set(v) == {"raises"} else v
                    for v in values
                )
            )
        if "raises" in body:
            stub.raises(_error(body["raises"]))
        elif "returns" in body:
            stub.returns(body["returns"])
        self._next_stub += 1
        self.stubs[self._next_stub] = stub
        return Response(201, {"id": self._next_stub})

    def _stub_of(self, text: str) -> tuple[int, RPCStub]:
        if not text.isdigit() or int(text) not in self.stubs:
            raise not_found()
        return int(text), self.stubs[int(text)]

    def _stub(self, ctx: Context, req: Request, args: list[str]) -> Response:
        number, stub = self._stub_of(args[0])
        return Response(
            200,
            {
                "id": number,
                "exchange": stub.exchange,
                "routing_key": stub.routing_key,
                "call_count": stub.call_count,
                "calls": [_call_data(c) for c in stub.calls],
            },
        )

    def _remove_stub(self, ctx: Context, req: Request, args: list[str]) -> Response:
        number, stub = self._stub_of(args[0])
        stub.stop()
        del self.stubs[number]
        return Response(204)
