"""An AsyncAPI 3.0 document from traffic: servers, channels, operations and messages.

Rules this module keeps:
- Operations are the clients' own: ``send`` on the channel they published to,
  ``receive`` on the queue they took messages from; one per action and channel, with
  every message kind seen there.
- A request whose reply was seen (``_rpc``) gets AsyncAPI's ``reply``: the reply's
  channel, its messages and where the request names its reply address (``reply_to``,
  or oslo.messaging's ``_reply_q``). A reply is part of its request's operation, not an
  operation of its own.
- The server is the recorded host without credentials, or a placeholder with server
  variables when it is not known. Deterministic: the same traffic gives the same
  document, in the order things were first seen.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from amqpmock.contracts._channels import BINDING_VERSION, ChannelKey, ChannelMap
from amqpmock.contracts._messages import MessageSpec, kind_of
from amqpmock.contracts._names import Ids
from amqpmock.contracts._payload import read_body
from amqpmock.contracts._rpc import Style, find_pairs
from amqpmock.contracts._traffic import Action, Seen, Server, Traffic

__all__ = ["ASYNCAPI_VERSION", "build_document"]

ASYNCAPI_VERSION = "3.0.0"
_REPLY_LOCATION: dict[Style, tuple[str, str]] = {
    "amqp": ("$message.header#/reply_to", "the AMQP property reply_to of the request"),
    "oslo": ("$message.payload#/_reply_q", "oslo.messaging's _reply_q in the request"),
}


@dataclass
class _Operation:
    action: Action
    channel: ChannelKey
    messages: list[str] = field(default_factory=list)
    samples: list[Seen] = field(default_factory=list)
    reply_channels: Counter[ChannelKey] = field(default_factory=Counter)
    reply_messages: list[str] = field(default_factory=list)
    reply_style: Style | None = None


def build_document(
    traffic: Traffic,
    *,
    title: str = "AMQP traffic",
    version: str = "1.0.0",
    description: str | None = None,
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document (plain data, ready for YAML or JSON) of ``traffic``."""
    channels = ChannelMap(traffic)
    bodies = [read_body(seen.body) for seen in traffic.messages]
    pairs = find_pairs(traffic.messages, bodies)
    replies = {pair.reply for pair in pairs}

    message_ids = Ids()
    messages: dict[tuple[ChannelKey, str], MessageSpec] = {}
    message_of: list[MessageSpec] = []
    for n, (seen, body) in enumerate(zip(traffic.messages, bodies, strict=True)):
        through = channels.through(seen)
        kind = kind_of(seen, body)
        key = (through, kind)
        if key not in messages:
            label = f"{channels.channels[through].id}.{kind}"
            messages[key] = MessageSpec(message_ids(key, label), kind, through)
        spec = messages[key]
        spec.add(seen, body)
        spec.reply = spec.reply or n in replies
        message_of.append(spec)
        channels.channels[through].add_message(spec.id)
        channels.channels[channels.operated(seen)].add_message(spec.id)

    operations: dict[tuple[Action, ChannelKey], _Operation] = {}
    for n, seen in enumerate(traffic.messages):
        if n in replies:
            continue
        where = channels.operated(seen)
        op = operations.setdefault((seen.action, where), _Operation(seen.action, where))
        if message_of[n].id not in op.messages:
            op.messages.append(message_of[n].id)
        op.samples.append(seen)
    for pair in pairs:
        if pair.request in replies:
            continue
        request = traffic.messages[pair.request]
        op = operations[(request.action, channels.operated(request))]
        reply = traffic.messages[pair.reply]
        op.reply_channels[channels.operated(reply)] += 1
        reply_id = message_of[pair.reply].id
        if reply_id not in op.reply_messages:
            op.reply_messages.append(reply_id)
        op.reply_style = op.reply_style or pair.style

    document: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": _info(traffic, title, version, description),
        "defaultContentType": "application/json",
        "servers": _servers(traffic.servers),
        "channels": {},
        "operations": {},
        "components": {"messages": {}},
    }
    op_ids = Ids()
    for op in operations.values():  # first: they mark the reply channels
        channel = channels.channels[op.channel]
        op_id = op_ids((op.action, op.channel), f"{op.action}.{channel.id}")
        document["operations"][op_id] = _operation(op, channels)
    for channel_spec in channels.channels.values():
        document["channels"][channel_spec.id] = channel_spec.to_asyncapi()
    for spec in messages.values():
        document["components"]["messages"][spec.id] = spec.to_asyncapi()
    return document


def _info(traffic: Traffic, title: str, version: str, description: str | None) -> dict[str, Any]:
    if description is None:
        sources = ", ".join(traffic.sources) or "nothing"
        description = (
            f"Made by amqpmock from the AMQP traffic of {sources}: what the clients "
            "published (send) and consumed (receive), request-reply pairs, and payload "
            "schemas inferred from the messages seen."
        )
    return {"title": title, "version": version, "description": description}


def _servers(servers: list[Server]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ids = Ids()
    for server in servers or [Server(None)]:
        entry: dict[str, Any]
        if server.host is None:
            entry = {
                "host": "{host}:{port}",
                "protocol": server.protocol,
                "protocolVersion": "0.9.1",
                "description": "The broker's address was not recorded: fill it in.",
                "variables": {
                    "host": {"default": "localhost"},
                    "port": {"default": "5671" if server.protocol == "amqps" else "5672"},
                },
            }
        else:
            entry = {"host": server.host, "protocol": server.protocol, "protocolVersion": "0.9.1"}
            if server.product:
                seen = " ".join(p for p in (server.product, server.version) if p)
                entry["description"] = f"{seen}, as recorded."
        out[ids(server.host or "", "rabbitmq")] = entry
    return out


def _operation(op: _Operation, channels: ChannelMap) -> dict[str, Any]:
    channel = channels.channels[op.channel]
    verb = "publishes to" if op.action == "send" else "consumes from"
    out: dict[str, Any] = {
        "action": op.action,
        "channel": {"$ref": f"#/channels/{channel.id}"},
        "summary": f"The client {verb} {channel.description[0].lower()}{channel.description[1:]}.",
        "messages": [{"$ref": f"#/channels/{channel.id}/messages/{m}"} for m in op.messages],
    }
    binding: dict[str, Any] = {}
    if op.action == "send":
        modes = {s.properties.get("delivery_mode") for s in op.samples}
        if len(modes) == 1 and (mode := modes.pop()) in (1, 2):
            binding["deliveryMode"] = mode
        mandatory = {s.mandatory for s in op.samples}
        if len(mandatory) == 1 and (flag := mandatory.pop()) is not None:
            binding["mandatory"] = flag
    else:
        acks = {s.ack for s in op.samples}
        if len(acks) == 1 and (ack := acks.pop()) is not None:
            binding["ack"] = ack
    binding["bindingVersion"] = BINDING_VERSION
    out["bindings"] = {"amqp": binding}
    if op.reply_channels and op.reply_style is not None:
        reply_key = op.reply_channels.most_common(1)[0][0]
        reply_channel = channels.channels[reply_key]
        reply_channel.runtime = reply_channel.runtime or reply_channel.dynamic
        location, description = _REPLY_LOCATION[op.reply_style]
        out["reply"] = {
            "address": {"location": location, "description": description},
            "channel": {"$ref": f"#/channels/{reply_channel.id}"},
            "messages": [
                {"$ref": f"#/channels/{reply_channel.id}/messages/{m}"}
                for m in op.reply_messages
                if m in reply_channel.messages
            ],
        }
    return out
