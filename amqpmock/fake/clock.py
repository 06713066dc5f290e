"""Time for the broker core, passed in rather than read.

The core never reads a clock of its own: TTLs, queue expiry and x-death timestamps all
ask the ``Clock`` it was given. ``now()`` is seconds since the Unix epoch (a float), so
the same value serves timers and AMQP timestamps. Tests use ``VirtualClock`` and move
it by hand; the socket adapters pass a clock that reads the system time.
"""

from __future__ import annotations

from typing import Protocol

# 2024-01-01T00:00:00Z: a fixed, plausible start so virtual timestamps look real.
VIRTUAL_EPOCH = 1_704_067_200.0


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class VirtualClock:
    """A clock that moves only when told to. Deterministic."""

    def __init__(self, start: float = VIRTUAL_EPOCH) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards by {seconds}s")
        self._now += seconds
        return self._now

    def set(self, when: float) -> None:
        if when < self._now:
            raise ValueError(f"cannot move a clock backwards to {when}")
        self._now = when
