"""RPC stubs: answer requests published to an exchange and routing key.

Rules this module keeps:
- A stub is an outside consumer (``Broker.intercept``): requests to it count as routed,
  exactly as if the remote service's queue were bound, and never sit in a queue.
- What a request and a reply look like is a convention, chosen per request from the
  conventions registered through the ``amqpmock_rpc_conventions`` hook; the two built-in
  ones (oslo.messaging's envelope, and AMQP-native reply_to + correlation_id, which
  covers direct reply-to) register through the same hook.
- Request bodies are decoded only with safe decoders (JSON, text); pickled requests are
  handed to the stub as bytes, never unpickled.
"""

from __future__ import annotations

import json
import pickle
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pamqp.commands import Basic

from amqpmock.errors import AMQPError, AMQPMockError
from amqpmock.fake import Broker
from amqpmock.fake.model import Message
from amqpmock.hookspecs import RPCConvention, hookimpl

OSLO_VERSION_KEY = "oslo.version"
OSLO_MESSAGE_KEY = "oslo.message"
PICKLE_CONTENT_TYPE = "application/python-pickle"


def properties_dict(props: Basic.Properties) -> dict[str, Any]:
    return {
        name: getattr(props, name)
        for name in Basic.Properties.__slots__
        if getattr(props, name) is not None
    }


def _decode_body(body: bytes, content_type: str | None) -> Any:
    if content_type == "application/json" or (content_type is None and body[:1] in b"{["):
        try:
            return json.loads(body)
        except ValueError:
            return body
    if content_type and content_type.startswith("text/"):
        return body.decode("utf-8", "replace")
    return body


class OsloConvention:
    """oslo.messaging's rabbit driver: ``{"oslo.version": "2.0", "oslo.message": "<json>"}``
    with ``_msg_id`` and ``_reply_q`` in calls (none in casts); replies go to the default
    exchange with the reply queue as routing key and carry ``result``, ``failure``
    (a serialized remote exception) and ``ending``."""

    name = "oslo.messaging"

    def parse_request(
        self, exchange: str, routing_key: str, properties: Mapping[str, Any], body: bytes
    ) -> dict[str, Any] | None:
        try:
            outer = json.loads(body)
        except ValueError:
            return None
        if not isinstance(outer, dict):
            return None
        if OSLO_MESSAGE_KEY in outer:
            try:
                inner = json.loads(outer[OSLO_MESSAGE_KEY])
            except (TypeError, ValueError):
                return None
        elif "method" in outer and "args" in outer:
            inner = outer  # envelope 1.0: the message itself
        else:
            return None
        if not isinstance(inner, dict) or "method" not in inner:
            return None
        context = {k[len("_context_") :]: v for k, v in inner.items() if k.startswith("_context_")}
        return {
            "payload": {
                "method": inner.get("method"),
                "args": inner.get("args", {}),
                "namespace": inner.get("namespace"),
                "version": inner.get("version"),
            },
            "context": context,
            "msg_id": inner.get("_msg_id"),
            "reply_exchange": "",
            "reply_routing_key": inner.get("_reply_q"),
            "expects_reply": bool(inner.get("_msg_id") and inner.get("_reply_q")),
        }

    def build_replies(
        self, request: dict[str, Any], result: Any, error: BaseException | None
    ) -> list[tuple[str, str, dict[str, Any], bytes]]:
        if not request.get("expects_reply"):
            return []
        failure = None
        if error is not None:
            failure = json.dumps(serialize_oslo_failure(error))
        msg = {
            "result": None if error is not None else result,
            "failure": failure,
            "ending": True,
            "_msg_id": request["msg_id"],
            "_unique_id": uuid.uuid4().hex,
        }
        body = json.dumps({OSLO_VERSION_KEY: "2.0", OSLO_MESSAGE_KEY: json.dumps(msg)})
        props = {"content_type": "application/json", "content_encoding": "utf-8"}
        return [(request["reply_exchange"], request["reply_routing_key"], props, body.encode())]


def serialize_oslo_failure(error: BaseException) -> dict[str, Any]:
    """The dict oslo.messaging's ``serialize_remote_exception`` builds for an exception."""
    tb = traceback.format_exception(type(error), error, error.__traceback__)
    return {
        "class": type(error).__name__,
        "module": type(error).__module__,
        "message": str(error),
        "tb": tb,
        "args": list(error.args),
        "kwargs": getattr(error, "kwargs", {}),
    }


class AMQPNativeConvention:
    """Plain AMQP RPC: the request has ``reply_to`` (a queue name, or a direct reply-to
    name) and usually ``correlation_id``; the reply goes to the default exchange with
    ``reply_to`` as routing key and the same ``correlation_id``. JSON requests get JSON
    replies; aio-pika's pickle-based RPC pattern gets a pickled reply (``type`` is
    ``result`` or ``error``, as aio-pika expects)."""

    name = "amqp"

    def parse_request(
        self, exchange: str, routing_key: str, properties: Mapping[str, Any], body: bytes
    ) -> dict[str, Any] | None:
        reply_to = properties.get("reply_to")
        content_type = properties.get("content_type")
        return {
            "payload": _decode_body(body, content_type),
            "content_type": content_type,
            "correlation_id": properties.get("correlation_id"),
            "reply_exchange": "",
            "reply_routing_key": reply_to,
            "expects_reply": bool(reply_to),
        }

    def build_replies(
        self, request: dict[str, Any], result: Any, error: BaseException | None
    ) -> list[tuple[str, str, dict[str, Any], bytes]]:
        if not request.get("expects_reply"):
            return []
        content_type = request.get("content_type")
        props: dict[str, Any] = {}
        if request.get("correlation_id") is not None:
            props["correlation_id"] = request["correlation_id"]
        if content_type == PICKLE_CONTENT_TYPE:
            # aio-pika's RPC pattern: a pickled result or exception, told apart by type
            props.update(content_type=PICKLE_CONTENT_TYPE, message_type="result")
            if error is not None:
                props["message_type"] = "error"
                body = pickle.dumps(error)
            else:
                body = pickle.dumps(result)
        elif isinstance(result, bytes) and error is None:
            body = result
            if content_type:
                props["content_type"] = content_type
        elif isinstance(result, str) and error is None and content_type != "application/json":
            body = result.encode()
            props["content_type"] = content_type or "text/plain"
        else:
            props["content_type"] = "application/json"
            if error is not None:
                props["headers"] = {"x-error": type(error).__name__}
                body = json.dumps({"error": type(error).__name__, "message": str(error)}).encode()
            else:
                body = json.dumps(result).encode()
        return [(request["reply_exchange"], request["reply_routing_key"], props, body)]


class BuiltinConventions:
    @hookimpl
    def amqpmock_rpc_conventions(self) -> Sequence[RPCConvention]:
        # oslo first: its requests also carry no reply_to, so AMQP-native would not
        # claim them, but being explicit keeps the order meaningful
        return [OsloConvention(), AMQPNativeConvention()]


@dataclass
class RPCCall:
    """One request a stub received."""

    exchange: str
    routing_key: str
    payload: Any
    message: Message
    convention: str
    request: dict[str, Any]
    result: Any = None
    error: BaseException | None = None

    @property
    def method(self) -> Any:
        """oslo.messaging's method name (None for other conventions)."""
        payload = self.payload
        return payload.get("method") if isinstance(payload, dict) else None

    @property
    def args(self) -> Any:
        payload = self.payload
        return payload.get("args") if isinstance(payload, dict) else None


class CallList(list[RPCCall]):
    @property
    def last(self) -> RPCCall:
        if not self:
            raise AssertionError("no calls were made")
        return self[-1]


@dataclass
class _Response:
    value: Any = None
    error: BaseException | None = None
    function: Callable[..., Any] | None = None
    delay: float = 0.0


class StubError(AMQPMockError):
    """An RPC stub could not deliver its reply (for example the reply queue is gone)."""


@dataclass
class RPCStub:
    """Answers requests published to ``exchange`` / ``routing_key`` (topic pattern).

    Configure with ``returns``, ``raises``, ``side_effect`` (a function of the payload,
    or of the RPCCall when it takes ``call=``), ``sequence`` and ``delay``; inspect with
    ``called``, ``call_count``, ``calls`` and ``calls.last``."""

    broker: Broker
    exchange: str
    routing_key: str
    conventions: list[RPCConvention]
    vhost: str = "/"
    calls: CallList = field(default_factory=CallList)
    reply_errors: list[AMQPError] = field(default_factory=list)
    _default: _Response = field(default_factory=_Response)
    _queue: list[_Response] = field(default_factory=list)
    _delay: float = 0.0

    def __post_init__(self) -> None:
        self._interceptor = self.broker.intercept(
            self.exchange, self.routing_key, self._on_request, self.vhost
        )

    # --- configuration ---------------------------------------------------------

    def returns(self, value: Any) -> RPCStub:
        self._default = _Response(value=value, delay=self._delay)
        return self

    def raises(self, error: BaseException) -> RPCStub:
        self._default = _Response(error=error, delay=self._delay)
        return self

    def side_effect(self, function: Callable[..., Any]) -> RPCStub:
        self._default = _Response(function=function, delay=self._delay)
        return self

    def sequence(self, *values: Any) -> RPCStub:
        """Answer successive calls with these values (exceptions are raised), then
        fall back to the default answer."""
        for value in values:
            if isinstance(value, BaseException):
                self._queue.append(_Response(error=value, delay=self._delay))
            else:
                self._queue.append(_Response(value=value, delay=self._delay))
        return self

    def delay(self, seconds: float) -> RPCStub:
        """Reply after ``seconds`` of broker clock time (virtual clocks advance it)."""
        self._delay = seconds
        self._default.delay = seconds
        for response in self._queue:
            response.delay = seconds
        return self

    def stop(self) -> None:
        self._interceptor.remove()

    # --- inspection -----------------------------------------------------------------

    @property
    def called(self) -> bool:
        return bool(self.calls)

    @property
    def call_count(self) -> int:
        return len(self.calls)

    def reset(self) -> None:
        self.calls.clear()

    # --- the outside service --------------------------------------------------------

    def _on_request(self, message: Message) -> None:
        props = properties_dict(message.properties)
        for convention in self.conventions:
            request = convention.parse_request(
                message.exchange, message.routing_key, props, message.body
            )
            if request is not None:
                break
        else:
            return
        call = RPCCall(
            message.exchange,
            message.routing_key,
            request.get("payload"),
            message,
            convention.name,
            request,
        )
        self.calls.append(call)
        response = self._queue.pop(0) if self._queue else self._default
        result: Any = None
        error: BaseException | None = response.error
        if response.function is not None:
            try:
                result = _call_function(response.function, call)
            except Exception as exc:
                error = exc
        elif error is None:
            result = response.value
        call.result, call.error = result, error
        replies = convention.build_replies(request, result, error)
        if response.delay > 0:
            self.broker.call_later(response.delay, lambda: self._publish(replies))
        else:
            self._publish(replies)

    def _publish(self, replies: Iterable[tuple[str, str, dict[str, Any], bytes]]) -> None:
        for exchange, routing_key, props, body in replies:
            try:
                self.broker.publish(exchange, routing_key, body, props)
            except AMQPError as exc:
                self.reply_errors.append(exc)


def _call_function(function: Callable[..., Any], call: RPCCall) -> Any:
    import inspect

    try:
        params = inspect.signature(function).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    if "call" in params:
        return function(call=call)
    return function(call.payload)
