"""What happened on the broker, for assertions: published, routed, delivered, acked,
nacked, returned and dead-lettered messages, read the way ``unittest.mock`` and respx
read calls (``.called``, ``.call_count``, ``.last``, filters).

Rules this module keeps:
- It only listens (``Broker.listeners``); it never changes broker state.
- Failure messages show what did happen, so a failing assertion explains itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from amqpmock.fake import Broker
from amqpmock.fake.model import Message
from amqpmock.fake.tape import Entry, Tape

_MISSING: Any = object()


@dataclass
class Record:
    """One message event: the message, and where it was seen."""

    event: str
    message: Message
    queues: list[str] = field(default_factory=list)
    queue: str | None = None
    consumer: str | None = None
    delivery_tag: int | None = None
    redelivered: bool = False
    requeue: bool | None = None
    reason: str | None = None
    # while recording: RabbitMQ routed the publish past what the proxy sees (no recorded
    # connection received it, no recorded binding names its queue): an outside consumer
    outside: bool = False

    @property
    def exchange(self) -> str:
        return self.message.exchange

    @property
    def routing_key(self) -> str:
        return self.message.routing_key

    @property
    def body(self) -> bytes:
        return self.message.body

    @property
    def properties(self) -> Any:
        return self.message.properties

    @property
    def headers(self) -> dict[str, Any]:
        return dict(self.message.properties.headers or {})

    @property
    def text(self) -> str:
        return self.message.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON; an oslo.messaging envelope is unwrapped."""
        data = json.loads(self.message.body)
        if isinstance(data, dict) and "oslo.message" in data:
            return json.loads(data["oslo.message"])
        return data

    def describe(self) -> str:
        where = ""
        if self.event == "published":
            went = [repr(q) for q in self.queues] + (["outside consumer"] if self.outside else [])
            where = f" -> [{', '.join(went)}]"
        if self.queue:
            where = f" in {self.queue!r}"
        body = self.message.body
        shown = body[:80].decode("utf-8", "replace") + ("..." if len(body) > 80 else "")
        return (
            f"{self.event}: exchange={self.exchange!r} routing_key={self.routing_key!r}"
            f"{where} body={shown!r}"
        )


def _matches(record: Record, criteria: Mapping[str, Any]) -> bool:
    for key, want in criteria.items():
        if want is _MISSING:
            continue
        if key == "headers":
            have = record.headers
            if any(have.get(k, _MISSING) != v for k, v in want.items()):
                return False
        elif key == "json":
            try:
                if record.json() != want:
                    return False
            except ValueError:
                return False
        elif key == "body":
            body = want.encode() if isinstance(want, str) else want
            if record.body != body:
                return False
        elif key == "where":
            if not want(record):
                return False
        elif getattr(record, key) != want:
            return False
    return True


class Records(list[Record]):
    """A list of records with mock-style helpers."""

    @property
    def called(self) -> bool:
        return bool(self)

    @property
    def call_count(self) -> int:
        return len(self)

    @property
    def last(self) -> Record:
        if not self:
            raise AssertionError("nothing was recorded")
        return self[-1]

    @property
    def bodies(self) -> list[bytes]:
        return [r.body for r in self]

    def json(self) -> list[Any]:
        return [r.json() for r in self]

    def filter(
        self,
        *,
        exchange: str = _MISSING,
        routing_key: str = _MISSING,
        headers: Mapping[str, Any] = _MISSING,
        body: bytes | str = _MISSING,
        json: Any = _MISSING,
        queue: str = _MISSING,
        where: Callable[[Record], bool] = _MISSING,
    ) -> Records:
        criteria = {
            "exchange": exchange,
            "routing_key": routing_key,
            "headers": headers,
            "body": body,
            "json": json,
            "queue": queue,
            "where": where,
        }
        return Records(r for r in self if _matches(r, criteria))

    def describe(self) -> str:
        if not self:
            return "  (nothing)"
        return "\n".join(f"  {i + 1}. {r.describe()}" for i, r in enumerate(self))


def record_of(entry: tuple[Any, ...]) -> Record:
    """A tape entry (``amqpmock.fake.tape``) as a record."""
    event, message = entry[0], entry[1]
    if event == "published":
        return Record("published", message, [q.name for q in entry[2]])
    if event == "delivered":
        _, _, queue, consumer, tag, redelivered, _channel = entry
        return Record(
            "delivered",
            message,
            queue=queue.name,
            consumer=None if consumer is None else consumer.tag,
            delivery_tag=tag,
            redelivered=bool(redelivered),
        )
    if event == "acked":
        return Record("acked", message, queue=entry[2], delivery_tag=entry[3])
    if event == "nacked":
        return Record("nacked", message, queue=entry[2], delivery_tag=entry[3], requeue=entry[4])
    if event == "dead_lettered":
        return Record("dead_lettered", message, queue=entry[2], reason=entry[3])
    return Record(event, message)


class TrafficRecorder:
    """Every message event of a broker, in order; or, once ``bound`` (a long-running
    ``amqpmock serve``), the latest ones.

    The broker writes its events on a ``Tape`` (one tuple each, made where the event
    happens); records are made from it only when they are read, so a server that
    nobody inspects pays for a tuple per event and nothing more."""

    EVENTS = ("published", "delivered", "acked", "nacked", "returned", "dead_lettered")

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.tape = Tape()
        self._records = Records()
        self._taken: Entry | None = None  # the last tape entry made into a record
        broker.attach_tape(self.tape)

    def bound(self, records: int, body_bytes: int) -> None:
        """Keep at most about ``records`` records and ``body_bytes`` of their bodies:
        the oldest go, a quarter at a time."""
        self.tape.bound(records, body_bytes)
        self.broker.retape()

    @property
    def records(self) -> Records:
        tape = self.tape
        if tape.mark() is not self._taken:
            self._records.extend(record_of(entry) for entry in tape.since(self._taken))
            self._taken = tape.mark()
            extra = len(self._records) - len(tape.entries)
            if extra > 0:  # the tape let its oldest go
                del self._records[:extra]
        return self._records

    def latest(self, count: int) -> Records:
        """The latest ``count`` records, made from the tape without keeping them."""
        return Records(record_of(entry) for entry in self.tape.latest(count))

    def close(self) -> None:
        self.broker.detach_tape(self.tape)

    def clear(self) -> None:
        self.tape.clear()
        self._records = Records()
        self._taken = None

    def of(self, event: str) -> Records:
        return Records(r for r in self.records if r.event == event)

    @property
    def published(self) -> Records:
        return self.of("published")

    @property
    def delivered(self) -> Records:
        return self.of("delivered")

    @property
    def acked(self) -> Records:
        return self.of("acked")

    @property
    def nacked(self) -> Records:
        return self.of("nacked")

    @property
    def returned(self) -> Records:
        return self.of("returned")

    @property
    def dead_lettered(self) -> Records:
        return self.of("dead_lettered")


def _direct(fn: Callable[[], Any]) -> Any:
    return fn()


@dataclass
class ExchangeView:
    """What happened at one exchange. ``run`` executes reads where the broker lives
    (the server thread, for the pytest fixture)."""

    recorder: TrafficRecorder
    name: str
    run: Callable[[Callable[[], Any]], Any] = _direct

    @property
    def published(self) -> Records:
        result: Records = self.run(lambda: self.recorder.published.filter(exchange=self.name))
        return result

    @property
    def returned(self) -> Records:
        result: Records = self.run(lambda: self.recorder.returned.filter(exchange=self.name))
        return result

    @property
    def called(self) -> bool:
        return self.published.called

    @property
    def call_count(self) -> int:
        return self.published.call_count

    @property
    def last(self) -> Record:
        return self.published.last


@dataclass
class QueueView:
    """What happened at one queue, and what it holds now."""

    recorder: TrafficRecorder
    name: str
    run: Callable[[Callable[[], Any]], Any] = _direct

    def _of(self, event: str) -> Records:
        result: Records = self.run(lambda: self.recorder.of(event).filter(queue=self.name))
        return result

    @property
    def routed(self) -> Records:
        """Messages the broker routed into this queue."""
        result: Records = self.run(
            lambda: Records(r for r in self.recorder.published if self.name in r.queues)
        )
        return result

    @property
    def delivered(self) -> Records:
        return self._of("delivered")

    @property
    def acked(self) -> Records:
        return self._of("acked")

    @property
    def nacked(self) -> Records:
        return self._of("nacked")

    @property
    def dead_lettered(self) -> Records:
        """Messages that died in this queue (expired, rejected, maxlen)."""
        return self._of("dead_lettered")

    def _queue_state(self, fn: Callable[[Any], Any]) -> Any:
        def read() -> Any:
            queue = self.recorder.broker.vhosts["/"].queues.get(self.name)
            return fn(queue)

        return self.run(read)

    @property
    def messages(self) -> list[Message]:
        """What is ready in the queue right now."""
        result: list[Message] = self._queue_state(
            lambda q: [] if q is None else [e.message for e in q.entries()]
        )
        return result

    @property
    def consumers(self) -> list[str]:
        result: list[str] = self._queue_state(
            lambda q: [] if q is None else [c.tag for c in q.consumers]
        )
        return result

    @property
    def exists(self) -> bool:
        return bool(self._queue_state(lambda q: q is not None))


def assert_published(
    recorder: TrafficRecorder,
    *,
    times: int | None = None,
    **criteria: Any,
) -> Records:
    """Assert that matching messages were published (``times`` exactly, or at least
    once); the failure lists every publish that did happen."""
    __tracebackhide__ = True
    matched = recorder.published.filter(**criteria)
    ok = bool(matched) if times is None else len(matched) == times
    if not ok:
        wanted = ", ".join(f"{k}={v!r}" for k, v in criteria.items())
        count = "at least once" if times is None else f"{times} time(s)"
        raise AssertionError(
            f"expected a publish with {wanted or 'anything'} {count}, "
            f"found {len(matched)}.\nPublished:\n{recorder.published.describe()}"
        )
    return matched
