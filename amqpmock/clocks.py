"""Clocks for the adapters: real time, and real time that a test can push forward.

The broker core reads time only from the clock it is given (``amqpmock.fake.clock``);
these are the clocks the socket adapters and the pytest plugin give it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SystemClock:
    """Seconds since the epoch, from the operating system."""

    def now(self) -> float:
        return time.time()


class AdjustableClock:
    """System time plus an offset that only grows: ``advance(30)`` makes 30 seconds pass
    for TTLs, queue expiry and delayed RPC replies, without sleeping.

    ``on_advance`` callbacks run after each advance (the server uses one to wake its
    loop, so that timers now due run at once)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self.on_advance: list[Callable[[], None]] = []

    def now(self) -> float:
        return time.time() + self._offset

    @property
    def offset(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards by {seconds}s")
        with self._lock:
            self._offset += seconds
        for callback in list(self.on_advance):
            callback()

    def reset(self) -> None:
        """Back to real time (for a fresh test); never moves time backwards mid-test."""
        with self._lock:
            self._offset = 0.0
