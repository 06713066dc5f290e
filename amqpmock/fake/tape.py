"""The broker's message events as a tape: one small tuple per event, appended where
the event happens, read later by whoever wants records (the test's inspection API, the
control API, the live page).

Why not ``Broker.listeners``: a listener is a call per event with a keyword dict, and
its records are objects made at once whether anybody reads them or not; on a busy
server that doubles the cost of a message and feeds the garbage collector. A tape
entry is a tuple of references, and records are made from it only when asked for.

Entries (``conn`` is the ``CoreConnection``, ``channel`` its channel number):

    ("published", message, queues, conn, channel)          queues: the Queue objects
    ("delivered", message, queue, consumer, delivery_tag, redelivered, channel)
        queue: the Queue, consumer: the Consumer (None for a Basic.Get), channel: the
        Channel (its ``conn`` and ``id``)
    ("acked", message, queue_name, delivery_tag)
    ("nacked", message, queue_name, delivery_tag, requeue)
    ("returned", message, conn)
    ("dead_lettered", message, queue_name, reason)

The broker appends an entry with the deque's own ``append`` (a C call, no method of
ours) and counts the body bytes it appended; a bounded tape's deque has a ``maxlen``, so
the oldest entries go in C as well. Only when the bytes counted pass the tape's budget
does Python walk the tape (``trim``). Readers keep a ``mark`` (the last entry they read)
and take what came ``since`` it.

Pure: no clocks, no I/O.
"""

from __future__ import annotations

from collections import deque
from itertools import islice
from typing import Any

Entry = tuple[Any, ...]


class Tape:
    """Entries in order; with ``bound(entries, body_bytes)`` only about the latest
    (past ``body_bytes`` the oldest go until three quarters are left)."""

    __slots__ = ("body_bytes", "entries", "max_bytes", "max_entries")

    def __init__(self) -> None:
        self.entries: deque[Entry] = deque()
        self.max_entries: int | None = None
        self.max_bytes: int | None = None
        self.body_bytes = 0  # of the entries' bodies, as of the last ``trim``

    def bound(self, entries: int, body_bytes: int) -> None:
        """Keep at most ``entries`` entries and about ``body_bytes`` of their bodies.
        The deque is a new one: whoever holds its ``append`` (the broker) takes it again
        (``Broker.retape``)."""
        self.max_entries, self.max_bytes = entries, body_bytes
        self.entries = deque(self.entries, maxlen=entries)
        self.trim()

    def add(self, entry: Entry) -> None:
        """Append one entry (the broker appends with ``entries.append`` itself)."""
        self.entries.append(entry)

    def trim(self) -> None:
        """Count the entries' bodies; past ``max_bytes`` the oldest go until three
        quarters of it are left (at least one entry stays)."""
        entries = self.entries
        total = sum(len(e[1].body) for e in entries)
        if self.max_bytes is not None and total > self.max_bytes:
            keep = self.max_bytes * 3 // 4
            while len(entries) > 1 and total > keep:
                total -= len(entries.popleft()[1].body)
        self.body_bytes = total

    def clear(self) -> None:
        self.entries.clear()
        self.body_bytes = 0

    def mark(self) -> Entry | None:
        """Where a reader is: the latest entry (None on an empty tape)."""
        entries = self.entries
        return entries[-1] if entries else None

    def since(self, mark: Entry | None) -> list[Entry]:
        """The entries after ``mark``, in order; all of them when ``mark`` is gone
        (let go as the oldest, or cleared) or None."""
        entries = self.entries
        if mark is None:
            return list(entries)
        if entries and entries[-1] is mark:
            return []
        new: list[Entry] = []
        for entry in reversed(entries):
            if entry is mark:
                new.reverse()
                return new
            new.append(entry)
        return list(entries)

    def latest(self, count: int) -> list[Entry]:
        entries = self.entries
        return list(islice(entries, max(0, len(entries) - count), None))
