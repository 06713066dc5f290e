"""The broker's message events as a tape: one small tuple per event, appended where
the event happens, read later by whoever wants records (the test's inspection API, the
control API, the live page).

Why not ``Broker.listeners``: a listener is a call per event with a keyword dict, and
its records are objects made at once whether anybody reads them or not; on a busy
server that doubles the cost of a message and feeds the garbage collector. A tape
entry is a tuple of references, and records are made from it only when asked for.

Entries (``conn`` is the ``CoreConnection``, ``channel`` its channel number):

    ("published", message, queues, conn, channel)          queues: the Queue objects
    ("delivered", message, queue_name, consumer_tag, delivery_tag, redelivered, conn, channel)
    ("acked", message, queue_name, delivery_tag)
    ("nacked", message, queue_name, delivery_tag, requeue)
    ("returned", message, conn)
    ("dead_lettered", message, queue_name, reason)

Pure: no clocks, no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from itertools import islice
from typing import Any

Entry = tuple[Any, ...]


class Tape:
    """Entries in order; with ``bound(entries, body_bytes)`` only about the latest
    (the oldest go, a quarter at a time)."""

    __slots__ = ("_bytes", "added", "entries", "max_bytes", "max_entries")

    def __init__(self) -> None:
        self.entries: deque[Entry] = deque()
        self.added = 0  # entries ever added (the oldest may be gone)
        self.max_entries: int | None = None
        self.max_bytes: int | None = None
        self._bytes = 0

    def bound(self, entries: int, body_bytes: int) -> None:
        self.max_entries, self.max_bytes = entries, body_bytes
        self._bytes = sum(len(e[1].body) for e in self.entries)
        self._trim()

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self.added += 1
        if self.max_entries is not None:
            self._bytes += len(entry[1].body)
            if len(self.entries) > self.max_entries or self._bytes > (self.max_bytes or 0):
                self._trim()

    def _trim(self) -> None:
        if self.max_entries is None or self.max_bytes is None:
            return
        entries = self.entries
        if len(entries) <= self.max_entries and self._bytes <= self.max_bytes:
            return
        keep, keep_bytes = self.max_entries * 3 // 4, self.max_bytes * 3 // 4
        while len(entries) > 1 and (len(entries) > keep or self._bytes > keep_bytes):
            self._bytes -= len(entries.popleft()[1].body)

    def clear(self) -> None:
        self.entries.clear()
        self._bytes = 0

    def since(self, added: int) -> Iterator[Entry]:
        """The entries added after the first ``added`` (those still kept)."""
        new = self.added - added
        if new <= 0:
            return iter(())
        entries = self.entries
        return islice(entries, max(0, len(entries) - new), None)

    def latest(self, count: int) -> list[Entry]:
        entries = self.entries
        return list(islice(entries, max(0, len(entries) - count), None))
