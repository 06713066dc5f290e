"""Which of a document's channels a test session's publishes and deliveries
exercised, and the lines of a report of those never exercised (with their send
operations)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from amqpmock.contracts._check import Contract, with_replies

__all__ = ["Coverage"]


class Coverage:
    """The channels of one document that publishes have been seen on."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.exercised: set[str] = set()
        self._replies: frozenset[str] = frozenset()  # every reply_to published

    def record(self, published: Iterable[Any]) -> None:
        for record, replies in with_replies(published):
            self.exercised.update(
                self.contract.matching(record.exchange, record.routing_key, replies)
            )
            reply_to = getattr(getattr(record, "properties", None), "reply_to", None)
            self._replies = replies | ({str(reply_to)} if reply_to else set())

    def record_deliveries(self, delivered: Iterable[Any]) -> None:
        """Deliveries exercise their queue's channel (``is: queue``, or the queue's
        name on the default exchange) and the channel their message was published on; a
        reply queue (a ``reply_to`` published) is a null-address channel's."""
        replies = self._replies
        for record in delivered:
            queue = getattr(record, "queue", None)
            if queue:
                self.exercised.update(self.contract.matching("", str(queue), replies))
            self.exercised.update(
                self.contract.matching(record.exchange, record.routing_key, replies)
            )

    def never_exercised(self) -> list[str]:
        """One line per channel no publish was on (``id (address on exchange)``, then
        its send operations), in the document's order; empty when all were."""
        sends = _send_operations(self.contract.document)
        lines = []
        for channel in self.contract.channels:
            if channel.id in self.exercised:
                continue
            key = repr(channel.address) if channel.address is not None else "given at runtime"
            line = f"{channel.id} (routing key {key}"
            line += f" on exchange {channel.exchange!r})" if channel.exchange else ")"
            if sends.get(channel.id):
                line += ": send operations " + ", ".join(sends[channel.id])
            lines.append(line)
        return lines


def _send_operations(document: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if str(document.get("asyncapi", "")).startswith("2."):
        for channel_id, channel in (document.get("channels") or {}).items():
            operation = channel.get("publish") if isinstance(channel, dict) else None
            if isinstance(operation, dict):
                out.setdefault(str(channel_id), []).append(
                    str(operation.get("operationId", "publish"))
                )
        return out
    for name, operation in (document.get("operations") or {}).items():
        if not isinstance(operation, dict) or operation.get("action") != "send":
            continue
        ref = (operation.get("channel") or {}).get("$ref", "")
        if isinstance(ref, str) and ref.startswith("#/channels/"):
            channel_id = ref[len("#/channels/") :].replace("~1", "/").replace("~0", "~")
            out.setdefault(channel_id, []).append(str(name))
    return out
