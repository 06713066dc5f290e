"""A document's topology from its channels' AMQP bindings: exchanges (name, type,
durable, autoDelete), queues (name, durable, autoDelete, x-arguments) and the
queues' ``x-bindings``. Default and ``amq.`` exchanges and names with address
parameters are left out (the broker has them, or they are made anew each run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amqpmock.contracts._check import Contract

__all__ = ["Topology", "topology"]


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
