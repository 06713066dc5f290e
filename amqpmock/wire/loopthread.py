"""An asyncio service on an event loop of its own, in a daemon thread.

``ServerThread`` (the fake broker) and ``ProxyThread`` (the recording proxy) are both
this: blocking code (a pika test, pytest fixtures) starts the service, hands work to
its loop with ``call(fn)`` and stops it. Rules this module keeps:

- The service belongs to the thread's loop while it runs: ``call`` is the only way in.
- A start that fails raises in ``start()`` with the cause; a failure after that is
  logged.
- The loop is uvloop's when uvloop is installed (``loop="auto"``, the default), else
  asyncio's: the thread's loop is ours, not the caller's, and uvloop takes about a third
  off the server's CPU per message (bench/wire.py). ``loop="asyncio"`` or ``"uvloop"``
  chooses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

__all__ = [
    "LOOP_KINDS",
    "STOP_SIGNALS",
    "LoopThread",
    "Service",
    "loop_factory",
    "run_on_loop",
    "run_until_stopped",
]

log = logging.getLogger(__name__)
T = TypeVar("T")


LOOP_KINDS = ("auto", "asyncio", "uvloop")


def loop_factory(kind: str = "auto") -> Callable[[], asyncio.AbstractEventLoop]:
    """How to make an event loop of ``kind`` (one of ``LOOP_KINDS``)."""
    if kind not in LOOP_KINDS:
        raise ValueError(f"unknown event loop {kind!r}; choose from {', '.join(LOOP_KINDS)}")
    if kind == "asyncio":
        return asyncio.new_event_loop
    try:
        import uvloop
    except ImportError:
        if kind == "uvloop":
            raise RuntimeError(
                "uvloop is not installed; pip install 'amqpmock[fast]' (or choose asyncio)"
            ) from None
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def run_on_loop(main: Coroutine[Any, Any, T], kind: str = "auto") -> T:
    """``asyncio.run(main)`` on a loop of ``kind``."""
    with asyncio.Runner(loop_factory=loop_factory(kind)) as runner:
        return runner.run(main)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_until_stopped(main: Coroutine[Any, Any, None], kind: str = "auto") -> bool:
    """Run a long-lived service until it ends or SIGINT / SIGTERM arrives; True if a
    signal stopped it.

    A signal cancels ``main``, so its ``async with`` blocks close what they opened
    (the AMQP server sends 320 CONNECTION_FORCED to every client, as RabbitMQ does on
    SIGTERM) before this returns; the caller then writes its report or cassette.
    """

    async def guarded() -> bool:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        stopped: list[int] = []

        def stop(signum: int) -> None:
            stopped.append(signum)
            task.cancel()

        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, stop, signum)
        try:
            await main
        except asyncio.CancelledError:
            if not stopped:
                raise
        finally:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)
        return bool(stopped)

    return run_on_loop(guarded(), kind)


class Service(Protocol):
    async def start(self) -> Any: ...

    async def stop(self) -> None: ...


class LoopThread:
    """Runs ``service`` (``await start()`` ... ``await stop()``) on a loop in a thread.

    ``what`` names the service in errors. ``settle_rounds``: loop rounds ``call`` lets
    pass before running its function, so that bytes already on the sockets are taken in
    first. ``call_timeout``: how long ``call`` waits (None: as long as it takes).
    """

    def __init__(
        self,
        service: Service,
        what: str,
        *,
        start_timeout: float = 10.0,
        settle_rounds: int = 0,
        call_timeout: float | None = None,
        loop: str = "auto",
    ) -> None:
        self._loop_factory = loop_factory(loop)  # an unknown kind fails here, at once
        self.service = service
        self.what = what
        self.start_timeout = start_timeout
        self.settle_rounds = settle_rounds
        self.call_timeout = call_timeout
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"the {self.what} is already running")
        self._ready.clear()
        self._error = None
        name = "amqpmock-" + self.what.split()[-1]
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        if not self._ready.wait(self.start_timeout):
            raise RuntimeError(f"the {self.what} did not start within {self.start_timeout}s")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"the {self.what} could not start: {self._error}") from self._error

    def stop(self, timeout: float | None = None) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop, stop_event = self._loop, self._stop_event
        if loop is not None and stop_event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended on its own meanwhile
                loop.call_soon_threadsafe(stop_event.set)
        thread.join(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on the service's thread and return (or raise) what it does."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return fn()  # not running: nobody else touches the service
        if threading.get_ident() == thread.ident:
            return fn()

        async def settle_then_run() -> T:
            for _ in range(self.settle_rounds):
                await asyncio.sleep(0)
            return fn()

        future = asyncio.run_coroutine_threadsafe(settle_then_run(), loop)
        return future.result(self.call_timeout)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the service's loop and return (or raise) its result."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            coroutine.close()
            raise RuntimeError(f"the {self.what} is not running")
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        return future.result(self.call_timeout)

    def _run(self) -> None:
        try:
            with asyncio.Runner(loop_factory=self._loop_factory) as runner:
                runner.run(self._main())
        except BaseException as exc:  # reported to start(), or logged if it came later
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()
            else:
                log.exception("the %s thread failed", self.what)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        await self.service.start()
        self._ready.set()
        try:
            await self._stop_event.wait()
        finally:
            await self.service.stop()
            self._loop = None
