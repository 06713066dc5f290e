"""AsyncAPI messages (``components.messages``) from the messages seen: which kind a
message is, and what is known of each kind (content type, headers and payload
schemas, correlation id, AMQP message binding, an example).

Rules this module keeps:
- A kind is one channel the message went through and one name: oslo.messaging's
  ``method`` (or ``reply`` for its answers), else AMQP's ``type`` property, else
  ``message``. So a topic that carries several RPC methods has a message for each.
- Schemas describe every sample of a kind (genson): a field is ``required`` when every
  sample had it. Headers are the AMQP headers table; AMQP properties go where AsyncAPI
  has a place for them (``contentType``, the binding's ``contentEncoding`` and
  ``messageType``, ``correlationId``).
- One example per kind, the first sample, if it is small.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from amqpmock.contracts._channels import BINDING_VERSION, ChannelKey
from amqpmock.contracts._payload import Body, SchemaSketch, json_value
from amqpmock.contracts._traffic import Seen

__all__ = ["AMQP_CORRELATION", "OSLO_CORRELATION", "MessageSpec", "kind_of"]

AMQP_CORRELATION = "$message.header#/correlation_id"
OSLO_CORRELATION = "$message.payload#/_msg_id"
EXAMPLE_LIMIT = 2048  # characters of JSON: bigger samples are left out of examples


def kind_of(seen: Seen, body: Body) -> str:
    value = body.value
    if body.oslo_version is not None and isinstance(value, dict):
        if isinstance(value.get("method"), str):
            return str(value["method"])
        if {"result", "failure", "ending"} & value.keys():
            return "reply"
    message_type = seen.properties.get("message_type")
    if isinstance(message_type, str) and message_type:
        return message_type
    return "message"


@dataclass
class MessageSpec:
    """One message kind being made."""

    id: str
    name: str
    channel: ChannelKey
    payload: SchemaSketch = field(default_factory=SchemaSketch)
    headers: SchemaSketch = field(default_factory=SchemaSketch)
    has_headers: bool = False
    content_types: Counter[str] = field(default_factory=Counter)
    encodings: Counter[str] = field(default_factory=Counter)
    types: Counter[str] = field(default_factory=Counter)
    correlated: bool = False
    oslo_version: str | None = None
    example: dict[str, Any] | None = None
    reply: bool = False  # a reply to a request: its correlation id is the request's
    sent: int = 0  # publishes seen
    received: int = 0  # deliveries seen (often of those same publishes)

    @property
    def samples(self) -> int:
        """How many messages: the publishes, or the deliveries when no publish was seen
        (a publish and its delivery are one message, not two)."""
        return self.sent or self.received

    def add(self, seen: Seen, body: Body) -> None:
        if seen.action == "send":
            self.sent += 1
        else:
            self.received += 1
        self.payload.add_body(body)
        headers = json_value(seen.headers)
        self.headers.add(headers)
        self.has_headers = self.has_headers or bool(headers)
        props = seen.properties
        for counter, name in (
            (self.content_types, "content_type"),
            (self.encodings, "content_encoding"),
            (self.types, "message_type"),
        ):
            value = props.get(name)
            if isinstance(value, str) and value:
                counter[value] += 1
        if props.get("correlation_id"):
            self.correlated = True
        if body.oslo_version is not None:
            self.oslo_version = body.oslo_version
        if self.example is None:
            self.example = _example(body, headers)

    def to_asyncapi(self) -> dict[str, Any]:
        message: dict[str, Any] = {"name": self.name}
        if self.content_types:
            message["contentType"] = self.content_types.most_common(1)[0][0]
        if self.has_headers:
            message["headers"] = self.headers.schema()
        message["payload"] = self.payload.schema()
        if self.oslo_version is not None and self.reply:
            message["correlationId"] = {
                "description": "oslo.messaging's _msg_id: the call's, in each of its replies",
                "location": OSLO_CORRELATION,
            }
        elif self.correlated:
            message["correlationId"] = {
                "description": "the AMQP property correlation_id"
                + (": the request's, in its reply" if self.reply else ""),
                "location": AMQP_CORRELATION,
            }
        binding: dict[str, Any] = {}
        if self.encodings:
            binding["contentEncoding"] = self.encodings.most_common(1)[0][0]
        if len(self.types) == 1:
            binding["messageType"] = next(iter(self.types))
        binding["bindingVersion"] = BINDING_VERSION
        message["bindings"] = {"amqp": binding}
        if self.oslo_version is not None:
            message["description"] = (
                "An oslo.messaging message: the payload described is the JSON inside the "
                "envelope's `oslo.message` string."
            )
            message["x-oslo-envelope"] = self.oslo_version
        if self.example is not None:
            message["examples"] = [self.example]
        message["x-samples"] = self.samples
        return message


def _example(body: Body, headers: dict[str, Any]) -> dict[str, Any] | None:
    import json

    example: dict[str, Any] = {"name": "recorded"}
    if headers:
        example["headers"] = headers
    example["payload"] = body.value
    if len(json.dumps(example, default=str)) > EXAMPLE_LIMIT:
        return None
    return example
