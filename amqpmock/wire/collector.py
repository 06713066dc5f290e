"""Garbage collection for a server process of its own (``amqpmock serve``).

CPython's collector scans every tracked object of the oldest generation on each full
collection. A broker holding a million queued messages holds two million such objects
(each message and its queue entry), so a full collection stops the loop for a third of a
second, and one comes every time the heap has grown by a quarter: while a deep queue
fills, new clients wait that long for their Connection.Start (RabbitMQ collects per
Erlang process and never stops everyone).

``IdleCollector`` keeps full collections short while the server is busy and does the
whole work when it is quiet:

- after each full collection, what survived it is frozen (``gc.freeze()``): the next one
  scans only what was made since, tens of thousands of objects, not millions;
- frozen objects are still freed when their last reference goes (a consumed message);
  only a reference cycle that dies after being frozen waits, and it waits for the
  server to be quiet (less than ``QUIET_OCTETS`` of input over ``quiet_after`` seconds:
  a health check now and then is quiet), then everything is thawed, collected in full
  once, and frozen again.

It is for a process the server owns: the pytest plugin's broker shares the test's
process, and its collector is left alone.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["IdleCollector"]

# The server is quiet when less than QUIET_OCTETS came in over QUIET_AFTER seconds.
QUIET_AFTER = 2.0
QUIET_OCTETS = 64 * 1024
# How often the loop looks whether it is quiet.
CHECK_EVERY = 0.5


class IdleCollector:
    """Freeze what full collections leave; collect everything when the server is quiet.

    ``octets_in`` returns how many octets the server has received so far.
    """

    def __init__(
        self,
        octets_in: Callable[[], int],
        quiet_after: float = QUIET_AFTER,
        check_every: float = CHECK_EVERY,
        quiet_octets: int = QUIET_OCTETS,
    ) -> None:
        self._octets_in = octets_in
        self.quiet_after = quiet_after
        self.check_every = check_every
        self.quiet_octets = quiet_octets
        # (time.monotonic(), octets_in) samples over the last quiet_after seconds
        self._samples: deque[tuple[float, int]] = deque()
        self._thawing = False
        self._dirty = False  # frozen since the last full thawed collection
        self._handle: asyncio.TimerHandle | None = None
        self.full_collections = 0  # thawed ones, for tests and benchmarks

    def start(self) -> IdleCollector:
        """Freeze what start-up made (collected once the server is first quiet: not
        now, when a client may be connecting), then watch (on the running loop)."""
        gc.freeze()
        self._dirty = True
        gc.callbacks.append(self._on_gc)
        self._schedule()
        return self

    def stop(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        gc.unfreeze()

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info.get("generation") == 2 and not self._thawing:
            gc.freeze()
            self._dirty = True

    def _schedule(self) -> None:
        self._handle = asyncio.get_running_loop().call_later(self.check_every, self._check)

    def _check(self) -> None:
        now, octets = time.monotonic(), self._octets_in()
        samples = self._samples
        samples.append((now, octets))
        while len(samples) > 1 and now - samples[1][0] >= self.quiet_after:
            samples.popleft()
        first_at, first_octets = samples[0]
        quiet = now - first_at >= self.quiet_after and octets - first_octets < self.quiet_octets
        if self._dirty and quiet:
            self.collect_all()
        self._schedule()

    def collect_all(self) -> None:
        """Thaw, collect in full, freeze again."""
        self._thawing = True
        try:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
        finally:
            self._thawing = False
        self._dirty = False
        self.full_collections += 1
