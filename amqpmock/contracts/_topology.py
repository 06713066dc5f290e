"""A document's topology from its channels' AMQP bindings: exchanges (name, type,
durable, autoDelete), queues (name, durable, autoDelete, x-arguments) and the
queues' ``x-bindings``. Default and ``amq.`` exchanges and names with address
parameters are left out (the broker has them, or they are made anew each run).
``declare_topology`` declares them on a fake broker, where it runs (its thread);
``keep_declared`` declares them now and again after every reset of the broker."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from amqpmock.contracts._check import Contract
from amqpmock.fake import Broker

__all__ = ["Topology", "declare_topology", "keep_declared", "topology"]


@dataclass
class Topology:
    exchanges: dict[str, dict[str, Any]] = field(default_factory=dict)
    queues: dict[str, dict[str, Any]] = field(default_factory=dict)
    bindings: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)


def _fixed(name: Any) -> bool:
    return isinstance(name, str) and bool(name) and "{" not in name


def topology(contract: Contract) -> Topology:
    out = Topology()
    for channel_id, raw in (contract.document.get("channels") or {}).items():
        channel = contract._resolve(raw)
        amqp = ((channel.get("bindings") or {}) if isinstance(channel, dict) else {}).get("amqp")
        if not isinstance(amqp, dict):
            continue
        if amqp.get("is", "routingKey") == "routingKey":
            exchange = amqp.get("exchange") or {}
            name = exchange.get("name")
            if _fixed(name) and not str(name).startswith("amq."):
                out.exchanges[str(name)] = {
                    "type": str(
                        exchange.get("x-exchangeType") or exchange.get("type") or "direct"
                    ),
                    "durable": bool(exchange.get("durable", False)),
                    "auto_delete": bool(exchange.get("autoDelete", False)),
                }
            continue
        queue = amqp.get("queue") or {}
        name = queue.get("name", channel.get("address", channel_id))
        if not _fixed(name):
            continue
        out.queues[str(name)] = {
            "durable": bool(queue.get("durable", False)),
            "auto_delete": bool(queue.get("autoDelete", False)),
            "arguments": dict(amqp.get("x-arguments") or {}) or None,
        }
        for binding in amqp.get("x-bindings") or []:
            exchange_name, key = binding.get("exchange"), binding.get("routingKey", "")
            if _fixed(exchange_name) and isinstance(key, str) and "{" not in key:
                out.bindings.append(
                    (str(name), str(exchange_name), key, dict(binding.get("arguments") or {}))
                )
    return out


def declare_topology(broker: Broker, wanted: Topology) -> None:
    """Declare ``wanted`` on the broker, as a client would (an exchange or queue that
    is there with other properties is the broker's ``ChannelError`` 406)."""
    for name, kw in wanted.exchanges.items():
        broker.declare_exchange(
            name, kw["type"], durable=kw["durable"], auto_delete=kw["auto_delete"]
        )
    for name, kw in wanted.queues.items():
        broker.declare_queue(name, **kw)
    for queue, exchange, key, arguments in wanted.bindings:
        broker.bind_queue(queue, exchange, key, arguments=arguments or None)


def keep_declared(broker: Broker, path: str | os.PathLike[str]) -> Topology:
    """Declare the document's topology now and after every reset (``amqpmock serve
    --asyncapi``: as a definitions file's queues, exchanges and bindings are); what
    was declared. Raises ``ContractError`` for a bad document, the broker's
    ``ChannelError`` for a declare it refuses."""
    wanted = topology(Contract.load(path))
    declare_topology(broker, wanted)
    broker.after_reset.append(lambda: declare_topology(broker, wanted))
    return wanted
