"""Stream queues over AMQP 0-9-1 (``x-queue-type: stream``): what a declare may ask,
where a consumer starts (``x-stream-offset``), delivering from the log, and what a
stream refuses. The log itself is ``amqpmock.fake.stream``.

Observed on RabbitMQ 3.10.8 (``docs/rabbitmq-facts.md``, differential scenario
``streams``):
- Declare: durable, not exclusive, not auto-delete, not server-named; only the stream
  arguments (``x-max-length-bytes``, ``x-max-age``, ``x-stream-max-segment-size-bytes``,
  ``x-initial-cluster-size``, ``x-queue-leader-locator``), checked before the
  properties. DeclareOk counts 0 messages and 0 consumers.
- Consume: a consumer prefetch (``basic.qos``) is required (406), then manual ack
  (540); ``exclusive`` does not keep other consumers away. Each delivery carries the
  header ``x-stream-offset`` (a long), is never redelivered, and an ack only gives the
  consumer credit for the next one.
- ``basic.get``, ``queue.purge``, ``basic.nack`` / ``basic.reject`` close the connection
  with 540; ``basic.recover`` with unacknowledged stream deliveries, 541.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from amqpmock.errors import (
    INTERNAL_ERROR,
    NOT_IMPLEMENTED,
    PRECONDITION_FAILED,
    ChannelError,
    ConnectionError_,
)
from amqpmock.fake._args import (
    EQUIVALENCE_CHECKED_ARGS,
    field_type,
    refuse_args,
    refuse_properties,
)
from amqpmock.fake.model import Entry, Message, Queue
from amqpmock.fake.stream import StreamLog, parse_age, text_of

if TYPE_CHECKING:
    from pamqp.commands import Basic

    from amqpmock.fake._broker import Broker
    from amqpmock.fake._state import Channel

# The arguments a stream takes (rabbit_stream_queue's capabilities), in the order
# RabbitMQ compares them on a redeclare.
STREAM_ARGS = (
    "x-max-length-bytes",
    "x-queue-type",
    "x-max-age",
    "x-stream-max-segment-size-bytes",
    "x-initial-cluster-size",
    "x-queue-leader-locator",
)
# Queue arguments RabbitMQ knows (rabbit_amqqueue:declare_args/0); the ones a stream
# does not take are refused, unknown ones are kept.
KNOWN_QUEUE_ARGS = frozenset(EQUIVALENCE_CHECKED_ARGS) | {
    "x-queue-version",
    "x-quorum-initial-group-size",
    *STREAM_ARGS,
}
# the known arguments a stream refuses
NOT_FOR_STREAMS = KNOWN_QUEUE_ARGS - set(STREAM_ARGS)
LEADER_LOCATORS = ("client-local", "balanced", "random", "least-leaders")


def _rs(queue: str, vhost: str) -> str:
    return f"queue '{queue}' in vhost '{vhost}'"


def _erlang_binary(text: str) -> str:
    return '<<"' + text.replace("\\", "\\\\").replace('"', '\\"') + '">>'


def check_stream_args(args: dict[str, Any], name: str, vhost: str) -> None:
    """The value checks RabbitMQ makes of the stream arguments on any declare."""

    def invalid(arg: str, reason: str) -> None:
        raise ChannelError(
            PRECONDITION_FAILED,
            f"invalid arg '{arg}' for queue '{name}' in vhost '{vhost}': {reason}",
        )

    for arg in ("x-stream-max-segment-size-bytes", "x-initial-cluster-size"):
        if arg in args:
            value = args[arg]
            if isinstance(value, bool) or not isinstance(value, int):
                invalid(arg, f'"expected integer, got {field_type(value)}"')
            elif value < 0:
                invalid(arg, f"{{value_negative,{value}}}")
    if "x-max-age" in args:
        text = text_of(args["x-max-age"])
        if text is None:
            invalid("x-max-age", f"{{unacceptable_type,{field_type(args['x-max-age'])}}}")
        else:
            try:
                seconds = parse_age(text)
            except ValueError:
                raise ConnectionError_(INTERNAL_ERROR, "") from None
            if seconds is None:
                invalid("x-max-age", "invalid_max_age")
    if "x-queue-leader-locator" in args:
        locator = args["x-queue-leader-locator"]
        text = text_of(locator)
        if text is None:
            invalid("x-queue-leader-locator", f"{{unacceptable_type,{field_type(locator)}}}")
        elif text not in LEADER_LOCATORS:
            invalid("x-queue-leader-locator", "invalid_queue_locator_arg")


def check_stream_declare(m: Any, args: dict[str, Any], name: str, vhost: str) -> None:
    """What only a stream refuses: other queue types' arguments, then (unlike a quorum
    queue, observed) the properties."""
    refuse_args(args, NOT_FOR_STREAMS, name, vhost, "stream")
    refuse_properties(m, name, vhost)


# --- consuming ------------------------------------------------------------------

OffsetSpec = tuple[str, Any]  # ("first" | "last" | "next" | "offset" | "time", value)


def parse_offset(value: Any, queue: str, vhost: str, now: float) -> OffsetSpec:
    """A consumer's ``x-stream-offset`` as rabbit_stream_queue:parse_offset_arg reads
    it; refused as RabbitMQ refuses it."""
    if value is None:
        return ("next", None)
    text = text_of(value)
    if text is not None:
        if text in ("first", "last", "next"):
            return (text, None)
        try:
            seconds = parse_age(text)
        except ValueError:
            raise ConnectionError_(INTERNAL_ERROR, "") from None
        if seconds is None:
            raise ChannelError(
                PRECONDITION_FAILED,
                f"invalid arg 'x-stream-offset' for queue '{queue}' in vhost '{vhost}': "
                f"{{invalid_stream_offset_arg,{{longstr,{_erlang_binary(text)}}}}}",
            )
        return ("time", now - seconds)
    if isinstance(value, datetime.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        return ("time", stamp.timestamp())
    if isinstance(value, int) and not isinstance(value, bool):
        return ("offset", value)
    raise ConnectionError_(INTERNAL_ERROR, "")  # osiris cannot read the term


def check_stream_consume(ch: Channel, m: Basic.Consume, queue: Queue) -> None:
    if not ch.consumer_prefetch:
        raise ChannelError(
            PRECONDITION_FAILED,
            f"consumer prefetch count is not set for '{_rs(queue.name, queue.vhost)}'",
        )
    if m.no_ack:
        raise ConnectionError_(
            NOT_IMPLEMENTED,
            "automatic acknowledgement not supported by stream queues "
            + _rs(queue.name, queue.vhost),
        )


def start_offset(log: StreamLog, spec: OffsetSpec) -> int:
    kind, value = spec
    if kind == "first":
        return log.first
    if kind == "last":
        return log.last()
    if kind == "next":
        return log.next
    if kind == "time":
        return log.at_time(float(value))
    return log.clamp(int(value))


def refuse(what: str, queue: Queue) -> ConnectionError_:
    """540 for what a stream does not do (``basic.get``, ``queue.purge``, ...)."""
    return ConnectionError_(
        NOT_IMPLEMENTED, f"{what} not supported by stream queues {_rs(queue.name, queue.vhost)}"
    )


def append(b: Broker, queue: Queue, message: Message) -> None:
    assert queue.log is not None
    queue.log.append(message, b.clock.now())
    if queue.consumers:
        b._to_dispatch[queue] = None


def dispatch_stream(b: Broker, queue: Queue) -> None:
    """Each consumer reads on from its own offset while it has credit."""
    log = queue.log
    assert log is not None
    budget = b.dispatch_budget
    delivered = 0
    for consumer in list(queue.consumers):
        while consumer.stream_offset < log.next and consumer.has_capacity():
            offset = max(consumer.stream_offset, log.first)
            consumer.stream_offset = offset + 1
            b._deliver(consumer, Entry(offset, log.get(offset), None))
            delivered += 1
            if budget is not None and delivered >= budget:
                b._dispatch_later[queue] = None
                return
