"""The recording proxy on a thread of its own, for blocking test code (and pytest).

Rules this module keeps: the proxy and its recorder belong to the thread's loop while it
runs; ``cassette()`` and ``stop()`` hand work to that loop and wait for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from amqpmock.cassette import Cassette
from amqpmock.proxy import RecordingProxy
from amqpmock.wire.loopthread import LoopThread

T = TypeVar("T")


class ProxyThread:
    """``with ProxyThread(upstream_url) as proxy: proxy.client_url`` ... ``proxy.cassette()``"""

    def __init__(
        self,
        upstream: str,
        host: str = "127.0.0.1",
        port: int = 0,
        journal: str | os.PathLike[str] | None = None,
    ) -> None:
        self.proxy = RecordingProxy(upstream, host=host, port=port, journal=journal)
        self._runner = LoopThread(self.proxy, "recording proxy", call_timeout=30)

    @property
    def client_url(self) -> str:
        return self.proxy.client_url()

    def start(self) -> ProxyThread:
        self._runner.start()
        return self

    def call(self, fn: Callable[[], T]) -> T:
        return self._runner.call(fn)

    def cassette(self) -> Cassette:
        return self.call(self.proxy.cassette)

    def stop(self) -> None:
        self._runner.stop(timeout=30)

    def __enter__(self) -> ProxyThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
