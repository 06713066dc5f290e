"""Reading messages, for both front ends: what a message is for (``classify``: oslo
envelopes, AMQP-native RPC), the message table that numbers messages and pairs RPC
requests with their replies (``_Book``), and readers of loosely typed cassette values.

The rules are in ``amqpmock.view.flows``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from amqpmock.view._flow_model import (
    DIRECT_REPLY_TO,
    OUTSIDE,
    Flavor,
    MessageInfo,
    RpcCall,
    outside_id,
)

_T = TypeVar("_T")

# --- reading messages ---------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def body_preview(body: bytes, limit: int = 60) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(body)} bytes>"
    return short(text, limit) if text else "<empty>"


OSLO_IDS = ("_msg_id", "_unique_id")
"""Per-message ids in an oslo.messaging message: two messages that differ only in them
carry the same request or reply."""


def body_digest(body: bytes, oslo: Mapping[str, Any] | None = None) -> str:
    """What tells bodies apart: a digest of the bytes, or of an oslo.messaging message
    with its per-message ids (``OSLO_IDS``) left out."""
    if oslo is not None:
        kept = {k: v for k, v in oslo.items() if k not in OSLO_IDS}
        body = b"oslo:" + json.dumps(kept, sort_keys=True, default=str).encode()
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def oslo_payload(body: bytes) -> dict[str, Any] | None:
    """The inner message of an oslo.messaging envelope (or an unversioned oslo message)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    inner: Any = data
    if "oslo.message" in data:
        raw = data["oslo.message"]
        if not isinstance(raw, str):
            return None
        try:
            inner = json.loads(raw)
        except ValueError:
            return None
        return inner if isinstance(inner, dict) else None
    if "_msg_id" in data or ("method" in data and "args" in data and "_unique_id" in data):
        return data
    return None


def _call_text(method: str, args: object) -> str:
    if isinstance(args, dict) and args:
        inner = ", ".join(f"{k}={json.dumps(v, sort_keys=True)}" for k, v in args.items())
        return f"{method}({inner})"
    return f"{method}()"


@dataclass
class _Classified:
    flavor: Flavor
    summary: str
    oslo: dict[str, Any] | None
    failed: bool = False
    ending: bool = False


def classify(
    exchange: str, properties: Mapping[str, Any], body: bytes, exchange_type: str | None
) -> _Classified:
    """What a message is for, from its envelope and properties (replies to AMQP-native
    requests are only known once paired; they start as ``publish``)."""
    oslo = oslo_payload(body)
    if oslo is not None:
        if "method" in oslo:
            method = _text(oslo["method"])
            summary = _call_text(method, oslo.get("args"))
            if "_msg_id" in oslo:
                return _Classified("call", summary, oslo)
            fanout = exchange_type == "fanout" or (
                exchange_type is None and exchange.endswith("_fanout")
            )
            return _Classified("fanout_cast" if fanout else "cast", summary, oslo)
        if "_msg_id" in oslo:
            failure = oslo.get("failure")
            ending = bool(oslo.get("ending"))
            if failure:
                text = _failure_text(failure)
                return _Classified("reply", f"failure: {text}", oslo, failed=True, ending=ending)
            if "result" in oslo:
                result = json.dumps(oslo.get("result"), sort_keys=True)
                summary = f"result={short(result, 50)}" + (" (ending)" if ending else "")
            else:
                summary = "ending" if ending else "reply"
            return _Classified("reply", summary, oslo, ending=ending)
        if "event_type" in oslo:
            return _Classified("publish", f"notification {_text(oslo['event_type'])}", oslo)
    preview = body_preview(body, 50)
    if properties.get("reply_to"):
        return _Classified("call", preview, None)
    return _Classified("publish", preview, None)


def _failure_text(failure: object) -> str:
    if isinstance(failure, str):
        try:
            data = json.loads(failure)
        except ValueError:
            return short(failure, 50)
        if isinstance(data, dict):
            cls = _text(data.get("class"))
            message = _text(data.get("message"))
            return short(f"{cls}: {message}" if cls else message, 50)
    return short(_text(failure), 50)


def _num(value: object, default: _T) -> int | _T:
    """An integer argument of a (possibly hand-edited) cassette, or ``default``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return default


def _table(value: object) -> dict[str, Any]:
    """A field-table argument (client properties, queue arguments), or an empty one."""
    return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}


def _properties(value: object) -> dict[str, Any]:
    """Cassette properties are a dict already; pamqp ``Basic.Properties`` become one."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    names = getattr(value, "__slots__", None) or list(getattr(value, "__dict__", {}))
    out: dict[str, Any] = {}
    for name in names:
        if name.startswith("_"):
            continue
        item = getattr(value, name, None)
        if item is not None:
            out[name] = item
    return out


def _reply_to(props: Mapping[str, Any]) -> str:
    return _text(props.get("reply_to"))


def _correlation(props: Mapping[str, Any]) -> str:
    return _text(props.get("correlation_id"))


# --- the message table shared by both front ends ----------------------------------------


class _Book:
    """Messages and RPC calls, numbered in the order they first appear."""

    def __init__(self, exchange_types: Mapping[str, str]) -> None:
        self.exchange_types = exchange_types
        self.messages: dict[int, MessageInfo] = {}
        self.calls: list[RpcCall] = []
        self._oslo_requests: dict[str, RpcCall] = {}
        self._amqp_requests: dict[str, list[RpcCall]] = {}

    def add(
        self,
        exchange: str,
        routing_key: str,
        properties: Mapping[str, Any],
        body: bytes,
        publisher: str,
    ) -> MessageInfo:
        number = len(self.messages) + 1
        kind = classify(exchange, properties, body, self.exchange_types.get(exchange))
        info = MessageInfo(
            number=number,
            exchange=exchange,
            routing_key=routing_key,
            flavor=kind.flavor,
            summary=kind.summary,
            body_preview=body_preview(body),
            body_digest=body_digest(body, kind.oslo),
            publisher=publisher,
            properties=dict(properties),
            failed=kind.failed,
            ending=kind.ending,
        )
        self.messages[number] = info
        self._pair(info, kind)
        return info

    def _pair(self, info: MessageInfo, kind: _Classified) -> None:
        props = info.properties
        if kind.oslo is not None:
            msg_id = _text(kind.oslo.get("_msg_id"))
            if kind.flavor == "call" and msg_id:
                method = _text(kind.oslo.get("method"))
                call = self._new_call("oslo", info, method, _service(info, self.exchange_types))
                self._oslo_requests.setdefault(msg_id, call)
            elif kind.flavor == "reply" and msg_id in self._oslo_requests:
                self._attach(self._oslo_requests[msg_id], info)
            return
        correlation = _correlation(props)
        reply_to = _reply_to(props)
        if reply_to:
            convention: Literal["amqp", "direct-reply-to"] = (
                "direct-reply-to" if reply_to.startswith(DIRECT_REPLY_TO) else "amqp"
            )
            label = info.routing_key or _text(props.get("message_type")) or "request"
            call = self._new_call(convention, info, label, _service(info, self.exchange_types))
            for key in {correlation, _text(props.get("message_id"))} - {""}:
                self._amqp_requests.setdefault(key, []).append(call)
            return
        for key in (correlation,):
            if not key:
                continue
            for call in self._amqp_requests.get(key, []):
                request = self.messages[call.request]
                want = _reply_to(request.properties)
                if (
                    info.routing_key == want
                    or (want.startswith(DIRECT_REPLY_TO) and info.routing_key.startswith(want))
                    or (info.exchange == "" and info.routing_key.startswith(DIRECT_REPLY_TO))
                    or info.outside
                ):
                    info.flavor = "reply"
                    info.summary = info.body_preview
                    if _text(props.get("type") or props.get("message_type")) == "error":
                        info.failed = True
                    self._attach(call, info)
                    return

    def _new_call(
        self,
        convention: Literal["amqp", "direct-reply-to", "oslo"],
        info: MessageInfo,
        method: str,
        server: str,
    ) -> RpcCall:
        call = RpcCall(
            number=len(self.calls) + 1,
            convention=convention,
            request=info.number,
            method=method,
            caller=info.publisher,
            server=server,
        )
        self.calls.append(call)
        info.rpc = call.number
        return call

    def _attach(self, call: RpcCall, reply: MessageInfo) -> None:
        reply.rpc = call.number
        call.replies.append(reply.number)
        if reply.failed:
            call.failed = True
        if reply.outside:
            # the outside party that answered is the service the request went to
            reply.publisher = outside_id(call.server)


def _service(info: MessageInfo, exchange_types: Mapping[str, str]) -> str:
    """The outside service a message is meant for, named the way its convention names
    services: an oslo topic, or the queue / routing key of an AMQP request."""
    if info.outside:
        return OUTSIDE
    oslo_like = info.flavor in ("cast", "fanout_cast") or (
        info.flavor == "call" and "oslo.message" in info.body_preview
    )
    if info.flavor == "fanout_cast" and info.exchange.endswith("_fanout"):
        return info.exchange[: -len("_fanout")]
    if oslo_like and exchange_types.get(info.exchange, "topic") == "topic" and info.exchange:
        return info.routing_key.split(".")[0] or info.exchange
    return info.routing_key or info.exchange or OUTSIDE
