"""A message's first ``examples`` entry, and where to publish it: the exchange and the
routing key of the channel the message is on (a channel's address with parameters is
no routing key: a ``ContractError``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from amqpmock.contracts._check import Contract
from amqpmock.contracts._errors import ContractError, UnknownMessage

__all__ = ["Example", "find_example"]


@dataclass(frozen=True)
class Example:
    exchange: str
    routing_key: str
    payload: Any
    headers: dict[str, Any]

    @property
    def body(self) -> bytes | str | dict[str, Any] | list[Any]:
        """The payload as published: an object or a list as JSON (and so with the
        content type application/json), text as it is, no payload as an empty body."""
        if isinstance(self.payload, dict | list | str | bytes):
            return self.payload
        return b"" if self.payload is None else json.dumps(self.payload)


def find_example(contract: Contract, name: str) -> Example:
    """The example of the message called name (its key in a channel's or the
    components' messages), or of the first message with examples of channel name."""
    document = contract.document
    components = (document.get("components") or {}).get("messages") or {}
    for channel in contract.channels:
        raw = contract._resolve((document.get("channels") or {}).get(channel.id) or {})
        messages = (raw.get("messages") or {}) if isinstance(raw, dict) else {}
        for key, message in messages.items():
            ref = message.get("$ref", "") if isinstance(message, dict) else ""
            named = key == name or ref == f"#/components/messages/{name}"
            if not (named or channel.id == name):
                continue
            examples = contract._resolve(message).get("examples") or []
            if not examples:
                if named:
                    raise ContractError(f"{contract.source}: message {name!r} has no examples")
                continue
            if channel.address is None or "{" in channel.address:
                raise ContractError(
                    f"{contract.source}: channel {channel.id!r} has no fixed routing key "
                    f"({channel.address!r})"
                )
            first = examples[0] if isinstance(examples[0], dict) else {}
            return Example(
                channel.exchange,
                channel.address,
                first.get("payload"),
                dict(first.get("headers") or {}),
            )
    if any(channel.id == name for channel in contract.channels):
        raise ContractError(f"{contract.source}: channel {name!r} has no message with examples")
    known = sorted({c.id for c in contract.channels} | set(components))
    raise UnknownMessage(
        f"{contract.source}: no message or channel {name!r} with examples (known: "
        + ", ".join(known)
        + ")"
    )
