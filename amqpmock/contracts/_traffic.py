"""What a document is made from: the traffic a client library had with a broker, in one
shape whatever it was read from (a cassette, the fake broker during a test session).

Rules this module keeps:
- Plain data: names, flags, AMQP properties by pamqp's names, bodies as bytes. Nothing
  here knows AsyncAPI, YAML, cassettes or the broker core.
- ``send`` is what a client published; ``receive`` what a client was delivered (from
  a consumer or ``basic.get``). The queue a message was received from is kept.
- Merging keeps the first facts known about an exchange or a queue, and adds to them
  (a later declare never unsays an earlier one; a queue's bindings are a union).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Action", "BindingFacts", "ExchangeFacts", "QueueFacts", "Seen", "Server", "Traffic"]

Action = Literal["send", "receive"]


@dataclass
class Server:
    """A broker the traffic went to: ``host`` is ``name:port`` (never credentials),
    or None when it is not known (the fake broker of a test session)."""

    host: str | None
    protocol: str = "amqp"  # or amqps
    product: str | None = None
    version: str | None = None


@dataclass
class ExchangeFacts:
    vhost: str
    name: str
    type: str | None = None  # None: published to, never declared where we saw it
    durable: bool | None = None
    auto_delete: bool | None = None
    internal: bool | None = None
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BindingFacts:
    exchange: str
    routing_key: str
    arguments: tuple[tuple[str, Any], ...] = ()


@dataclass
class QueueFacts:
    vhost: str
    name: str
    durable: bool | None = None
    exclusive: bool | None = None
    auto_delete: bool | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    bindings: list[BindingFacts] = field(default_factory=list)

    def bind(self, binding: BindingFacts) -> None:
        if binding not in self.bindings:
            self.bindings.append(binding)


@dataclass
class Seen:
    """One message a client published (``send``) or was delivered (``receive``)."""

    action: Action
    vhost: str
    exchange: str
    routing_key: str
    properties: dict[str, Any]
    body: bytes
    queue: str | None = None  # receive: the queue it was taken from
    mandatory: bool | None = None  # send
    ack: bool | None = None  # receive: True when the client acknowledges (not no-ack)

    @property
    def headers(self) -> dict[str, Any]:
        headers = self.properties.get("headers")
        return dict(headers) if isinstance(headers, dict) else {}


@dataclass
class Traffic:
    """Everything seen, from one source or several merged."""

    servers: list[Server] = field(default_factory=list)
    exchanges: dict[tuple[str, str], ExchangeFacts] = field(default_factory=dict)
    queues: dict[tuple[str, str], QueueFacts] = field(default_factory=dict)
    messages: list[Seen] = field(default_factory=list)
    # what it was read from, for the reader: a file's path in backquotes, or a phrase
    sources: list[str] = field(default_factory=list)

    def add_server(self, server: Server) -> None:
        if server not in self.servers:
            self.servers.append(server)

    def exchange(self, vhost: str, name: str) -> ExchangeFacts:
        """The facts about an exchange, made empty on first mention."""
        key = (vhost, name)
        if key not in self.exchanges:
            self.exchanges[key] = ExchangeFacts(vhost, name)
        return self.exchanges[key]

    def declare_exchange(self, facts: ExchangeFacts) -> None:
        known = self.exchange(facts.vhost, facts.name)
        _fill(known, facts, ("type", "durable", "auto_delete", "internal"))
        for key, value in facts.arguments.items():
            known.arguments.setdefault(key, value)

    def queue(self, vhost: str, name: str) -> QueueFacts:
        key = (vhost, name)
        if key not in self.queues:
            self.queues[key] = QueueFacts(vhost, name)
        return self.queues[key]

    def declare_queue(self, facts: QueueFacts) -> None:
        known = self.queue(facts.vhost, facts.name)
        _fill(known, facts, ("durable", "exclusive", "auto_delete"))
        for key, value in facts.arguments.items():
            known.arguments.setdefault(key, value)
        for binding in facts.bindings:
            known.bind(binding)

    def merge(self, other: Traffic) -> None:
        for server in other.servers:
            self.add_server(server)
        for exchange in other.exchanges.values():
            self.declare_exchange(exchange)
        for queue in other.queues.values():
            self.declare_queue(queue)
        self.messages.extend(other.messages)
        # xdist workers' brokers are all "the pytest session's fake broker": named once
        self.sources.extend(s for s in other.sources if s not in self.sources)


def _fill(known: object, new: object, names: tuple[str, ...]) -> None:
    for name in names:
        if getattr(known, name) is None:
            setattr(known, name, getattr(new, name))
