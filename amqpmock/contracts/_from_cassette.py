"""Traffic read from cassettes (``amqpmock.cassette``'s loader, never the YAML itself).

Rules this module keeps:
- Only what the recorded clients did counts: their ``Basic.Publish`` (send) and the
  ``Basic.Deliver`` / ``Basic.GetOk`` they were given (receive), and the declares and
  binds they made, as the channel state of AMQP gives them meaning (a server-named
  queue's name comes from its ``DeclareOk``, a delivery's queue from its consumer).
- The server is the host the cassette recorded, without user or password.
- A cassette that cannot be read is a ``ContractError`` naming the file and the place.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from amqpmock.cassette import Cassette, CassetteConnection, CassetteError, load_cassette
from amqpmock.contracts._errors import ContractError
from amqpmock.contracts._traffic import (
    BindingFacts,
    ExchangeFacts,
    QueueFacts,
    Seen,
    Server,
    Traffic,
)

__all__ = ["load_traffic", "traffic_from_cassette"]


def load_traffic(paths: Iterable[str | os.PathLike[str]]) -> Traffic:
    """The traffic of every cassette, merged (in the order given)."""
    traffic = Traffic()
    for path in paths:
        try:
            cassette = load_cassette(path)
        except CassetteError as exc:
            raise ContractError(str(exc)) from None
        except OSError as exc:  # a folder, a file we may not read
            raise ContractError(f"{path}: cannot read: {exc.strerror or exc}") from None
        traffic.merge(traffic_from_cassette(cassette))
    return traffic


def traffic_from_cassette(cassette: Cassette) -> Traffic:
    traffic = Traffic()
    traffic.sources.append(f"`{cassette.path}`" if cassette.path else "a cassette")
    server = _server(cassette)
    if server is not None:
        traffic.add_server(server)
    for connection in cassette.connections:
        _read_connection(traffic, connection)
    return traffic


def _server(cassette: Cassette) -> Server | None:
    header = cassette.header
    host: str | None = None
    protocol = "amqp"
    if header.upstream_url:
        parts = urlsplit(header.upstream_url)
        protocol = "amqps" if parts.scheme in ("amqps", "rabbits") else "amqp"
        try:
            if parts.hostname:
                host = parts.hostname + (f":{parts.port}" if parts.port else "")
        except ValueError:  # a port that is not a number
            host = None
    if host is None:
        host = next((c.upstream for c in cassette.connections if c.upstream), None)
    if host is None and header.upstream_product is None:
        return None
    return Server(host, protocol, header.upstream_product, header.upstream_version)


@dataclass
class _Channel:
    """What AMQP's channel state says about the methods that follow."""

    last_queue: str = ""  # the last queue declared: what '' means in a later method
    declaring: list[QueueFacts] = field(default_factory=list)  # waiting for DeclareOk
    consuming: list[tuple[str, str, bool]] = field(default_factory=list)  # (tag, queue, no_ack)
    consumers: dict[str, tuple[str, bool]] = field(default_factory=dict)  # tag -> (queue, no_ack)
    getting: list[tuple[str, bool]] = field(default_factory=list)  # basic.get: (queue, no_ack)


def _read_connection(traffic: Traffic, connection: CassetteConnection) -> None:
    vhost = "/"
    channels: dict[int, _Channel] = {}
    for item in connection.interactions:
        ch = channels.setdefault(item.channel, _Channel())
        args = item.args
        method = item.method
        if method == "Connection.Open" and item.dir == "c2s":
            vhost = str(args.get("virtual_host") or "/")
        elif method == "Exchange.Declare" and item.dir == "c2s":
            name = str(args.get("exchange", ""))
            if args.get("passive"):
                traffic.exchange(vhost, name)
            else:
                traffic.declare_exchange(
                    ExchangeFacts(
                        vhost,
                        name,
                        type=str(args.get("exchange_type") or "direct"),
                        durable=bool(args.get("durable")),
                        auto_delete=bool(args.get("auto_delete")),
                        internal=bool(args.get("internal")),
                        arguments=dict(args.get("arguments") or {}),
                    )
                )
        elif method == "Queue.Declare" and item.dir == "c2s":
            facts = QueueFacts(
                vhost,
                str(args.get("queue", "")),
                durable=bool(args.get("durable")),
                exclusive=bool(args.get("exclusive")),
                auto_delete=bool(args.get("auto_delete")),
                arguments=dict(args.get("arguments") or {}),
            )
            if args.get("passive"):
                facts = QueueFacts(vhost, facts.name)
            if args.get("nowait") or facts.name:
                ch.last_queue = facts.name or ch.last_queue
            if args.get("nowait"):
                if facts.name:
                    traffic.declare_queue(facts)
            else:
                ch.declaring.append(facts)
        elif method == "Queue.DeclareOk" and ch.declaring:
            facts = ch.declaring.pop(0)
            facts.name = str(args.get("queue") or facts.name)
            ch.last_queue = facts.name
            traffic.declare_queue(facts)
        elif method == "Queue.Bind" and item.dir == "c2s":
            queue = str(args.get("queue") or ch.last_queue)
            arguments = tuple(sorted((args.get("arguments") or {}).items()))
            binding = BindingFacts(
                str(args.get("exchange", "")), str(args.get("routing_key", "")), arguments
            )
            traffic.queue(vhost, queue).bind(binding)
            traffic.exchange(vhost, binding.exchange)
        elif method == "Basic.Consume" and item.dir == "c2s":
            queue = str(args.get("queue") or ch.last_queue)
            tag, no_ack = str(args.get("consumer_tag") or ""), bool(args.get("no_ack"))
            if args.get("nowait"):
                ch.consumers[tag] = (queue, no_ack)
            else:
                ch.consuming.append((tag, queue, no_ack))
        elif method == "Basic.ConsumeOk" and ch.consuming:
            _, queue, no_ack = ch.consuming.pop(0)
            ch.consumers[str(args.get("consumer_tag", ""))] = (queue, no_ack)
        elif method == "Basic.Get" and item.dir == "c2s":
            ch.getting.append((str(args.get("queue") or ch.last_queue), bool(args.get("no_ack"))))
        elif method == "Basic.GetEmpty" and ch.getting:
            ch.getting.pop(0)
        elif method == "Basic.Publish" and item.dir == "c2s":
            exchange = str(args.get("exchange", ""))
            if exchange:
                traffic.exchange(vhost, exchange)
            traffic.messages.append(
                Seen(
                    "send",
                    vhost,
                    exchange,
                    str(args.get("routing_key", "")),
                    dict(item.properties or {}),
                    item.body or b"",
                    mandatory=bool(args.get("mandatory")),
                )
            )
        elif method in ("Basic.Deliver", "Basic.GetOk") and item.dir == "s2c":
            if method == "Basic.Deliver":
                queue, no_ack = ch.consumers.get(str(args.get("consumer_tag", "")), ("", True))
            else:
                queue, no_ack = ch.getting.pop(0) if ch.getting else ("", True)
            traffic.messages.append(
                Seen(
                    "receive",
                    vhost,
                    str(args.get("exchange", "")),
                    str(args.get("routing_key", "")),
                    dict(item.properties or {}),
                    item.body or b"",
                    queue=queue or None,
                    ack=not no_ack,
                )
            )
