"""AsyncAPI channels for AMQP: one per exchange and routing key a message went
through, and one per queue a message went to or was taken from, with their AMQP
channel bindings (``bindings.amqp``, binding version 0.3.0).

Rules this module keeps:
- A publish to the default exchange is a publish to the queue its routing key names:
  its channel is the queue's (``is: queue``). Any other publish's channel is its
  exchange and routing key (``is: routingKey``, the address is the routing key).
- A queue whose name is made anew every run is one channel per kind of queue (its
  flags and what it is bound to), so a reply queue and a work queue that are both
  ``amq.gen-...`` stay apart, and two runs of one test give one channel.
- A reply channel whose name differs every run (``amq.gen-{id}``, ``reply_{id}``, direct
  reply-to) has a null address, as AsyncAPI 3.0 writes a channel known only at
  runtime; its queue binding keeps the name's pattern.
- What the AMQP binding has no field for goes in extensions: a queue's or exchange's
  ``x-arguments``, a queue's ``x-bindings`` (exchange, routing key, arguments), an
  exchange type outside AsyncAPI's enum (``x-exchangeType``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amqpmock.contracts._names import DIRECT_REPLY_TO, PARAMETER, Ids, address
from amqpmock.contracts._payload import json_value
from amqpmock.contracts._traffic import QueueFacts, Seen, Traffic

__all__ = ["BINDING_VERSION", "ChannelKey", "ChannelMap", "ChannelSpec"]

BINDING_VERSION = "0.3.0"
_EXCHANGE_TYPES = ("topic", "direct", "fanout", "default", "headers")
_PREDECLARED = {
    "amq.direct": "direct",
    "amq.fanout": "fanout",
    "amq.topic": "topic",
    "amq.headers": "headers",
    "amq.match": "headers",
}

ChannelKey = tuple[Any, ...]


@dataclass
class ChannelSpec:
    """One channel being made: its id, address, AMQP binding, and message ids."""

    id: str
    address: str
    binding: dict[str, Any]
    description: str
    messages: list[str] = field(default_factory=list)
    runtime: bool = False  # a reply channel whose address the request gives

    @property
    def dynamic(self) -> bool:
        """Its name differs every run (``{id}``) or is direct reply-to's."""
        return "{" + PARAMETER + "}" in self.address or self.address == DIRECT_REPLY_TO

    def add_message(self, message_id: str) -> None:
        if message_id not in self.messages:
            self.messages.append(message_id)

    def to_asyncapi(self) -> dict[str, Any]:
        if self.runtime:
            # AsyncAPI 3.0: a channel known only at runtime has a null address; the
            # request's operation says where its reply address is (reply.address)
            channel: dict[str, Any] = {"address": None, "description": self.description}
        else:
            channel = {"address": self.address, "description": self.description}
        if not self.runtime and "{" + PARAMETER + "}" in self.address:
            channel["parameters"] = {
                PARAMETER: {"description": "a name the broker or the client makes anew every run"}
            }
        channel["messages"] = {m: {"$ref": f"#/components/messages/{m}"} for m in self.messages}
        channel["bindings"] = {"amqp": self.binding}
        return channel


class ChannelMap:
    """The channels of one document, made as messages are placed on them."""

    def __init__(self, traffic: Traffic) -> None:
        self.traffic = traffic
        self.channels: dict[ChannelKey, ChannelSpec] = {}
        self._ids = Ids()

    # --- where a message goes -------------------------------------------------------

    def through(self, seen: Seen) -> ChannelKey:
        """The channel a message was published to (for a delivery: as it was routed)."""
        if seen.exchange == "":
            return self.queue(seen.vhost, seen.routing_key)
        return self.exchange(seen.vhost, seen.exchange, seen.routing_key)

    def operated(self, seen: Seen) -> ChannelKey:
        """The channel of the client's operation: where it published, or the queue it
        took the message from."""
        if seen.action == "receive" and seen.queue:
            return self.queue(seen.vhost, seen.queue)
        return self.through(seen)

    # --- the channels ---------------------------------------------------------------

    def exchange(self, vhost: str, name: str, routing_key: str) -> ChannelKey:
        where = address(routing_key)
        key: ChannelKey = ("exchange", vhost, name, where)
        if key not in self.channels:
            label = f"{name}.{where}" if where else name
            self.channels[key] = ChannelSpec(
                self._ids(key, label.replace("{" + PARAMETER + "}", PARAMETER)),
                where,
                self._exchange_binding(vhost, name),
                f"Exchange `{name}`"
                + (f", routing key `{where}`" if where else "")
                + _vhost_note(vhost),
            )
        return key

    def queue(self, vhost: str, name: str) -> ChannelKey:
        where = address(name)
        facts = self.traffic.queues.get((vhost, name))
        key: ChannelKey = ("queue", vhost, where)
        if where != name and where != DIRECT_REPLY_TO and facts is not None:
            key = (*key, *_shape(facts))
        if key not in self.channels:
            self.channels[key] = ChannelSpec(
                self._ids(key, where.replace("{" + PARAMETER + "}", PARAMETER)),
                where,
                self._queue_binding(vhost, where, facts),
                _queue_description(where, facts) + _vhost_note(vhost),
            )
        return key

    def _exchange_binding(self, vhost: str, name: str) -> dict[str, Any]:
        facts = self.traffic.exchanges.get((vhost, name))
        exchange: dict[str, Any] = {"name": name}
        kind = facts.type if facts is not None else None
        kind = kind or _PREDECLARED.get(name)
        binding: dict[str, Any] = {"is": "routingKey", "exchange": exchange}
        if kind in _EXCHANGE_TYPES:
            exchange["type"] = kind
        elif kind:
            binding["x-exchangeType"] = kind
        if facts is not None:
            _flags(exchange, durable=facts.durable, autoDelete=facts.auto_delete)
        exchange["vhost"] = vhost
        if facts is not None and facts.arguments:
            binding["x-arguments"] = json_value(facts.arguments)
        binding["bindingVersion"] = BINDING_VERSION
        return binding

    def _queue_binding(self, vhost: str, where: str, facts: QueueFacts | None) -> dict[str, Any]:
        queue: dict[str, Any] = {"name": where}
        if facts is not None:
            _flags(
                queue,
                durable=facts.durable,
                exclusive=facts.exclusive,
                autoDelete=facts.auto_delete,
            )
        queue["vhost"] = vhost
        binding: dict[str, Any] = {"is": "queue", "queue": queue}
        if facts is not None and facts.arguments:
            binding["x-arguments"] = json_value(facts.arguments)
        if facts is not None and facts.bindings:
            binding["x-bindings"] = [
                {"exchange": b.exchange, "routingKey": address(b.routing_key)}
                | ({"arguments": json_value(dict(b.arguments))} if b.arguments else {})
                for b in facts.bindings
            ]
        binding["bindingVersion"] = BINDING_VERSION
        return binding


def _shape(facts: QueueFacts) -> tuple[Any, ...]:
    bindings = tuple(sorted((b.exchange, address(b.routing_key)) for b in facts.bindings))
    return (facts.durable, facts.exclusive, facts.auto_delete, bindings)


def _flags(target: dict[str, Any], **flags: bool | None) -> None:
    for name, value in flags.items():
        if value is not None:
            target[name] = value


def _vhost_note(vhost: str) -> str:
    return "" if vhost == "/" else f" (virtual host `{vhost}`)"


def _queue_description(where: str, facts: QueueFacts | None) -> str:
    if where == DIRECT_REPLY_TO:
        return "Direct reply-to (`amq.rabbitmq.reply-to`): replies go straight to the caller"
    text = f"Queue `{where}`"
    if "{" + PARAMETER + "}" in where:
        text += " (its name differs every run)"
    if facts is not None and facts.bindings:
        bound = ", ".join(
            f"`{b.exchange}`" + (f" `{address(b.routing_key)}`" if b.routing_key else "")
            for b in facts.bindings
        )
        text += f", bound to {bound}"
    return text
