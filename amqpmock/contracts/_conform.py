"""Publishes checked against a document in one call: the lines a failure shows, one
per violation (``publish #N [rule] channel C: /pointer: problem``), or none."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from amqpmock.contracts._check import Contract, with_replies

__all__ = ["conformance_failure", "violation_lines"]


def violation_lines(contract: Contract, published: Iterable[Any]) -> list[str]:
    """One line per violation of the records' publishes (``exchange``, ``routing_key``,
    ``headers``, ``body``), numbered from 1 in publish order."""
    lines = []
    for n, (record, replies) in enumerate(with_replies(published), 1):
        for violation in contract.check(
            record.exchange, record.routing_key, record.headers, record.body, replies
        ):
            lines.append(f"  publish #{n} {violation}")
    return lines


def conformance_failure(
    document: Contract | str | os.PathLike[str], published: Iterable[Any]
) -> str | None:
    """The failure message for publishes that break the document, or None."""
    contract = document if isinstance(document, Contract) else Contract.load(document)
    lines = violation_lines(contract, published)
    if not lines:
        return None
    name = os.path.basename(contract.source)
    return f"publishes that break the contract {name}:\n" + "\n".join(lines)
