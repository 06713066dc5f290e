"""The recording proxy on a thread of its own, for blocking test code (and pytest).

Rules this module keeps: the proxy and its recorder belong to the thread's loop while it
runs; ``cassette()`` and ``stop()`` hand work to that loop and wait for it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from amqpmock.cassette import Cassette
from amqpmock.proxy import RecordingProxy

T = TypeVar("T")


class ProxyThread:
    """``with ProxyThread(upstream_url) as proxy: proxy.client_url`` ... ``proxy.cassette()``"""

    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.proxy = RecordingProxy(upstream, host=host, port=port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def client_url(self) -> str:
        return self.proxy.client_url()

    def start(self) -> ProxyThread:
        self._thread = threading.Thread(target=self._run, name="amqpmock-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the recording proxy did not start within 10s")
        if self._error is not None:
            raise RuntimeError(f"the recording proxy could not start: {self._error}")
        return self

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await self.proxy.start()
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                await self.proxy.stop()

        try:
            asyncio.run(main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    def call(self, fn: Callable[[], T]) -> T:
        loop = self._loop
        if loop is None or self._thread is None or not self._thread.is_alive():
            return fn()

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=30)

    def cassette(self) -> Cassette:
        return self.call(self.proxy.cassette)

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)

    def __enter__(self) -> ProxyThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
