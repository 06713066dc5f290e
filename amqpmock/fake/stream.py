"""A stream queue's log (``x-queue-type: stream``): an append-only sequence of messages
with offsets, read by each consumer from its own position, never consumed away.

Rules this module keeps (RabbitMQ 3.10.8 over AMQP 0-9-1, observed):
- Every published message gets the next offset, from 0; acks do not remove anything.
- The log is cut into segments of at most ``x-stream-max-segment-size-bytes`` (default
  500,000,000; a message's body counts, at least one message per segment). Retention
  runs only when a segment is full and a new one starts, and drops whole segments
  from the oldest, never the one being written: while the bytes kept exceed
  ``x-max-length-bytes``, or while the oldest segment's newest message is older than
  ``x-max-age``. So a stream can hold more than its limits until a segment rolls over.
- Time arrives as arguments (the broker's clock, seconds since the epoch).
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from amqpmock.fake.model import Message

DEFAULT_SEGMENT_BYTES = 500_000_000

# x-max-age and interval offsets: a count and one of these units (rabbit_amqqueue)
AGE_UNITS = {"Y": 365 * 86400, "M": 30 * 86400, "D": 86400, "h": 3600, "m": 60, "s": 1}


def parse_age(text: str) -> int | None:
    """Seconds of ``"7D"``-style text, or None when RabbitMQ calls it invalid_max_age.
    Raises ValueError where RabbitMQ crashes (no leading digits: its channel dies
    with 541 INTERNAL_ERROR)."""
    digits = len(text) - len(text.lstrip("0123456789"))
    if digits == 0:
        raise ValueError(f"no count in {text!r}")
    count, unit = int(text[:digits]), text[digits:]
    if count <= 0 or unit not in AGE_UNITS:
        return None
    return count * AGE_UNITS[unit]


def text_of(value: Any) -> str | None:
    """A longstr argument as text (None for any other type)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def new_log(args: dict[str, Any]) -> StreamLog:
    """The log of a stream declared with ``args`` (already validated)."""

    def integer(name: str) -> int | None:
        value = args.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    age = text_of(args.get("x-max-age"))
    return StreamLog(
        max_bytes=integer("x-max-length-bytes"),
        max_age=parse_age(age) if age else None,
        segment_bytes=integer("x-stream-max-segment-size-bytes"),
    )


@dataclass(slots=True)
class _Segment:
    first: int  # offset of its first message
    count: int = 0
    bytes: int = 0
    newest: float = 0.0  # when its last message was written


class StreamLog:
    """The messages of one stream, by offset."""

    def __init__(
        self,
        max_bytes: int | None = None,
        max_age: int | None = None,
        segment_bytes: int | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.segment_bytes = segment_bytes or DEFAULT_SEGMENT_BYTES
        self._messages: deque[Message] = deque()
        self._times: deque[float] = deque()
        self._segments: deque[_Segment] = deque([_Segment(0)])
        self.first = 0  # the oldest offset kept
        self.next = 0  # the offset the next message gets

    def __len__(self) -> int:
        return self.next - self.first

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self._segments)

    def append(self, message: Message, now: float) -> int:
        size = len(message.body)
        current = self._segments[-1]
        if current.count and current.bytes + size > self.segment_bytes:
            current = _Segment(self.next)
            self._segments.append(current)
            self._retain(now)
        offset = self.next
        self._messages.append(message)
        self._times.append(now)
        current.count += 1
        current.bytes += size
        current.newest = now
        self.next += 1
        return offset

    def _retain(self, now: float) -> None:
        total = self.bytes
        while len(self._segments) > 1:
            oldest = self._segments[0]
            too_big = self.max_bytes is not None and total > self.max_bytes
            too_old = self.max_age is not None and oldest.newest < now - self.max_age
            if not (too_big or too_old):
                return
            self._segments.popleft()
            total -= oldest.bytes
            for _ in range(oldest.count):
                self._messages.popleft()
                self._times.popleft()
            self.first += oldest.count

    def get(self, offset: int) -> Message:
        return self._messages[offset - self.first]

    def last(self) -> int:
        """Where ``x-stream-offset: last`` starts: the newest message (the next one
        when the stream is empty)."""
        return self.next - 1 if self.next > self.first else self.next

    def at_time(self, when: float) -> int:
        """The first offset written at or after ``when`` (the next one if none)."""
        return self.first + bisect.bisect_left(self._times, when)

    def clamp(self, offset: int) -> int:
        """An asked-for offset as a reader gets it: below the log, its start; past the
        end, the next message."""
        return min(max(offset, self.first), self.next)
