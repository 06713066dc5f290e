"""An asyncio loop whose time is virtual: it jumps to the next timer when the loop is idle.

``VirtualTimeLoop`` is a ``SelectorEventLoop`` whose ``time()`` is a number of its own.
When the loop would block in ``select`` with a timeout (a timer is due later), the
selector polls with a timeout of 0 instead; if a socket or the loop's self-pipe is
ready the loop runs as usual, and if nothing is, the virtual time moves on by the
timeout, at once, and the timer fires. A ``sleep(10)`` takes no wall time, and neither
do heartbeats, handshake timeouts or a client's reconnect interval, so long as
everything that makes progress runs on this loop: the fake server (``AMQPServer``,
which takes its wire clock from its loop) and an asyncio client (aio-pika, aiormq)
in the same loop, talking over loopback sockets (the kernel hands what one end writes
to the other before the write returns, so a poll with 0 sees it).

What does not run on the loop does not stop the jump: a server in another thread
(``ServerThread``) or a blocking client has I/O the loop cannot see, and time would
jump while it is under way. The one thread the loop knows about, its executor
(``run_in_executor``, e.g. ``getaddrinfo`` for a host name), holds the virtual time:
while a job runs, ``select`` waits for real.

``run(main())`` runs a coroutine on a new loop, as ``asyncio.run`` does. The virtual
time starts at ``time.monotonic()`` when the loop is made, so that a deadline someone
took from the wall clock is still about right.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import selectors
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol, TypeVar

__all__ = ["VirtualTimeLoop", "run"]

T = TypeVar("T")


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


_FileObject = int | _HasFileno  # what a selector watches (typeshed's private alias)


class _IdleSelector(selectors.BaseSelector):
    """A selector that, instead of waiting ``timeout`` seconds with nothing ready, moves
    its loop's virtual time on by ``timeout``."""

    def __init__(self, inner: selectors.BaseSelector) -> None:
        self._inner = inner
        self.advance: Callable[[float], None] = lambda _seconds: None
        self.hold = 0  # executor jobs running: wait for real

    def register(
        self, fileobj: _FileObject, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: _FileObject) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: _FileObject, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None or timeout <= 0 or self.hold:
            return self._inner.select(timeout)  # nothing to jump to, or a thread at work
        ready = self._inner.select(0)
        if not ready:
            self.advance(timeout)
        return ready

    def close(self) -> None:
        self._inner.close()

    def get_key(self, fileobj: _FileObject) -> selectors.SelectorKey:
        return self._inner.get_key(fileobj)

    def get_map(self) -> Mapping[_FileObject, selectors.SelectorKey]:
        return self._inner.get_map()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector loop on virtual time (see the module's docstring).

    ``jumps`` counts the times the loop was idle and moved its time on; ``skipped`` is
    the virtual time those jumps added up to.
    """

    def __init__(self, start: float | None = None) -> None:
        selector = _IdleSelector(selectors.DefaultSelector())
        super().__init__(selector)
        self._now = time.monotonic() if start is None else start
        self.jumps = 0
        self.skipped = 0.0
        self._idle_selector = selector
        selector.advance = self._advance

    def time(self) -> float:
        return self._now

    def _advance(self, seconds: float) -> None:
        self._now += seconds
        self.jumps += 1
        self.skipped += seconds

    def run_in_executor(  # type: ignore[override]
        self, executor: concurrent.futures.Executor | None, func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        future = super().run_in_executor(executor, func, *args)
        self._idle_selector.hold += 1

        def release(_: asyncio.Future[T]) -> None:
            self._idle_selector.hold -= 1

        future.add_done_callback(release)
        return future


def run(main: Coroutine[Any, Any, T], *, debug: bool | None = None) -> T:
    """Run ``main`` on a new ``VirtualTimeLoop`` and close it, as ``asyncio.run``."""
    with asyncio.Runner(debug=debug, loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main)
