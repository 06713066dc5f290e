"""Traffic of a fake broker, as it happens: a listener on ``Broker.listeners``.

Rules this module keeps:
- It only listens; it never changes the broker. It runs where the broker runs (the
  server's thread), and copies what it keeps (properties, flags) at the moment of the
  event, so later changes to the broker (a reset between tests) do not change it.
- A client's publish is a send; what the broker itself publishes for the test or for
  replay (its system connection: ``amqp_broker.publish``, injected outside messages) is
  not a client's and is left out; a delivery to a client is a receive, whoever
  published it.
- Exchanges and queues are described as they were when first used.
"""

from __future__ import annotations

from typing import Any

from amqpmock.contracts._traffic import BindingFacts, ExchangeFacts, QueueFacts, Seen, Traffic
from amqpmock.fake import Broker
from amqpmock.fake.model import Exchange, Message, Queue

__all__ = ["BrokerTraffic"]


class BrokerTraffic:
    """Collects a broker's traffic into ``traffic`` while attached (``attach()``,
    ``detach()``: call them where the broker runs)."""

    def __init__(self, broker: Broker, source: str = "the fake broker") -> None:
        self.broker = broker
        self.traffic = Traffic()
        self.traffic.sources.append(source)

    def attach(self) -> None:
        if self.listener not in self.broker.listeners:
            self.broker.listeners.append(self.listener)

    def detach(self) -> None:
        if self.listener in self.broker.listeners:
            self.broker.listeners.remove(self.listener)

    def listener(self, event: str, data: dict[str, Any]) -> None:
        if event == "published":
            self._published(data["message"], data.get("connection"), data.get("mandatory"))
        elif event == "delivered":
            self._delivered(
                data["queue"], data["message"], data.get("consumer"), data.get("no_ack")
            )
        elif event == "queue_declared":
            self._queue(data["queue"])
        elif event == "exchange_declared":
            self._exchange(data["exchange"])
        elif event == "queue_bound":
            self._bound(data["queue"], data["exchange"], str(data.get("routing_key") or ""))

    def _published(self, message: Message, connection: object, mandatory: bool | None) -> None:
        if connection is None or connection is self.broker._system:
            return
        vhost = self.broker.vhosts.get(message.vhost)
        if message.exchange and vhost is not None:
            exchange = vhost.exchanges.get(message.exchange)
            if exchange is not None:
                self._exchange(exchange, message.vhost)
        self.traffic.messages.append(
            Seen(
                "send",
                message.vhost,
                message.exchange,
                message.routing_key,
                _properties(message),
                bytes(message.body),
                mandatory=mandatory,
            )
        )

    def _delivered(
        self, queue: Queue, message: Message, consumer: str | None, no_ack: bool | None
    ) -> None:
        self._queue(queue)
        ack = None if no_ack is None else not no_ack  # basic.get says; a consumer's tag:
        if consumer is not None:
            for each in queue.consumers:
                if each.tag == consumer:
                    ack = not each.no_ack
        self.traffic.messages.append(
            Seen(
                "receive",
                queue.vhost,
                message.exchange,
                message.routing_key,
                _properties(message),
                bytes(message.body),
                queue=queue.name,
                ack=ack,
            )
        )

    def _queue(self, queue: Queue) -> None:
        if (queue.vhost, queue.name) in self.traffic.queues:
            return
        self.traffic.declare_queue(
            QueueFacts(
                queue.vhost,
                queue.name,
                durable=queue.durable,
                exclusive=queue.exclusive,
                auto_delete=queue.auto_delete,
                arguments=dict(queue.arguments),
            )
        )

    def _exchange(self, exchange: Exchange, vhost: str | None = None) -> None:
        if vhost is None:  # a declare: which vhost has it
            vhost = "/"
            for name, each in self.broker.vhosts.items():
                if each.exchanges.get(exchange.name) is exchange:
                    vhost = name
        if (vhost, exchange.name) in self.traffic.exchanges:
            return
        self.traffic.declare_exchange(
            ExchangeFacts(
                vhost,
                exchange.name,
                type=exchange.type,
                durable=exchange.durable,
                auto_delete=exchange.auto_delete,
                internal=exchange.internal,
                arguments=dict(exchange.arguments),
            )
        )

    def _bound(self, queue: Queue, exchange: Exchange, routing_key: str) -> None:
        self._queue(queue)
        self._exchange(exchange, queue.vhost)
        arguments: dict[str, Any] = {}
        for (destination, key, _), args in exchange.bindings.items():
            if destination is queue and key == routing_key:
                arguments = dict(args)
        self.traffic.queue(queue.vhost, queue.name).bind(
            BindingFacts(exchange.name, routing_key, tuple(sorted(arguments.items())))
        )


def _properties(message: Message) -> dict[str, Any]:
    """The properties that are set, by pamqp's names, copied."""
    out: dict[str, Any] = {}
    for name, value in message.properties:
        if value is None or (name == "cluster_id" and value == ""):
            continue
        out[name] = dict(value) if isinstance(value, dict) else value
    return out
