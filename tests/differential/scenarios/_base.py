"""What every scenario module shares: ``Run`` (one run against one broker), ``Scenario``
and the ``scenario`` decorator that registers it, and the pika helpers the scenarios use.

The decorator files each scenario under the module that defines it; the package's
``__init__`` puts the modules in order to make ``SCENARIOS``.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pika
import pika.compat
import pika.exceptions as pe

Observation = dict[str, Any]

GEN_RE = re.compile(r"amq\.gen-[A-Za-z0-9_-]{22}")
CTAG_RE = re.compile(r"amq\.ctag-[A-Za-z0-9_-]{22}")
REPLY_RE = re.compile(r"amq\.rabbitmq\.reply-to\.[A-Za-z0-9+/=_-]+\.[A-Za-z0-9+/=_-]+")

# the start of RabbitMQ's text for a redeclare that differs from what exists
INEQ = "PRECONDITION_FAILED - inequivalent arg"


class Run:
    """One scenario run: URL, unique name prefix, and the connections to close."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"dt{uuid.uuid4().hex[:8]}."
        self._conns: list[pika.BlockingConnection] = []
        self._shared: pika.BlockingConnection | None = None

    def name(self, short: str) -> str:
        return self.prefix + short

    def connect(self) -> pika.BlockingConnection:
        params = pika.URLParameters(self.url)
        conn = pika.BlockingConnection(params)
        self._conns.append(conn)
        return conn

    @property
    def conn(self) -> pika.BlockingConnection:
        """A shared connection, reopened if a hard error closed it."""
        if self._shared is None or not self._shared.is_open:
            self._shared = self.connect()
        return self._shared

    def channel(self) -> Any:
        return self.conn.channel()

    def attempt(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(channel)`` on a fresh channel; return its value or the broker error.

        Returns ``"ok"`` when ``fn`` returns None, ``{"channel_close": [code, text]}`` or
        ``{"connection_close": [code, text]}`` when the broker closes.
        """
        ch = self.channel()
        try:
            value = fn(ch)
        except pe.ChannelClosedByBroker as exc:
            return {"channel_close": [exc.reply_code, exc.reply_text]}
        except pe.ConnectionClosedByBroker as exc:
            return {"connection_close": [exc.reply_code, exc.reply_text]}
        with contextlib.suppress(Exception):
            if ch.is_open:
                ch.close()
        return "ok" if value is None else value

    def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(Exception):
                if conn.is_open:
                    conn.close()

    def normalise(self, obj: Any) -> Any:
        if isinstance(obj, dict):
            return {self.normalise(k): self.normalise(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.normalise(v) for v in obj]
        if isinstance(obj, bytes):
            return self.normalise(obj.decode("utf-8", "replace"))
        if isinstance(obj, str):
            obj = obj.replace(self.prefix, "~")
            obj = GEN_RE.sub("amq.gen-<id>", obj)
            obj = CTAG_RE.sub("amq.ctag-<id>", obj)
            return REPLY_RE.sub("amq.rabbitmq.reply-to.<id>", obj)
        if isinstance(obj, datetime.datetime):
            return "<timestamp>"
        if isinstance(obj, bool | None | float):
            return obj
        if isinstance(obj, int):
            return int(obj)
        return repr(obj)


@dataclass(frozen=True)
class Scenario:
    name: str
    func: Callable[[Run], Observation]
    expected: Observation

    def observe(self, url: str) -> Observation:
        """Run against the broker at ``url``; the normalised observation."""
        run = Run(url)
        try:
            result: Observation = run.normalise(self.func(run))
            return result
        finally:
            run.close()


# defining module -> its scenarios, in definition order
REGISTRY: dict[str, list[Scenario]] = {}


def scenario(expected: Observation) -> Callable[[Callable[[Run], Observation]], Scenario]:
    def register(func: Callable[[Run], Observation]) -> Scenario:
        sc = Scenario(func.__name__, func, expected)
        REGISTRY.setdefault(func.__module__, []).append(sc)
        return sc

    return register


# -- helpers -------------------------------------------------------------------------


def effects(*_results: Any) -> None:
    """Evaluate the arguments (calls made for their effect) and return None ("ok")."""


def sync(ch: Any) -> None:
    """A round trip on ``ch``: surfaces an asynchronous channel close."""
    ch.basic_qos(prefetch_count=0)


def get_all(ch: Any, queue: str, *, props: bool = False) -> list[Any]:
    """basic.get (no-ack) until get-empty."""
    out: list[Any] = []
    while True:
        method, properties, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            return out
        item: dict[str, Any] = {"body": body, "redelivered": method.redelivered}
        if props:
            item.update(
                exchange=method.exchange,
                routing_key=method.routing_key,
                properties={k: v for k, v in vars(properties).items() if v is not None},
            )
        out.append(item)


def wait_ready(ch: Any, queue: str, count: int, timeout: float = 3.0) -> int:
    """Poll passive declare until ``queue`` has ``count`` ready messages (or timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        n: int = ch.queue_declare(queue, passive=True).method.message_count
        if n == count or time.monotonic() > deadline:
            return n
        time.sleep(0.01)


def consume(conn: Any, ch: Any, queue: str, count: int, **kw: Any) -> list[Any]:
    """Start a consumer; collect ``count`` deliveries as [body, redelivered, tag]."""
    got: list[Any] = []
    ch.basic_consume(
        queue, lambda _c, m, _p, b: got.append([b, m.redelivered, m.delivery_tag]), **kw
    )
    pump(conn, lambda: len(got) >= count)
    return got


def pump(conn: Any, done: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.01)


def settle(conn: Any, seen: Callable[[], int], quiet: float = 0.25) -> None:
    """Pump events until ``seen()`` stops changing for ``quiet`` seconds."""
    last, since = seen(), time.monotonic()
    deadline = since + 3.0
    while time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.02)
        now = seen()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


def publish(ch: Any, exchange: str, key: str, body: str | bytes, **props: Any) -> None:
    ch.basic_publish(exchange, key, body, pika.BasicProperties(**props) if props else None)


def table_types(value: Any) -> Any:
    """Field-table value types as pika decoded them (for x-death)."""
    if isinstance(value, dict):
        return {k: table_types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [table_types(v) for v in value]
    if isinstance(value, pika.compat.long):
        return "long"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, datetime.datetime):
        return "timestamp"
    return type(value).__name__
