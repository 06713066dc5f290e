"""Inspection while recording: the same ``Records`` the fake broker's listeners make,
built from what the recording proxy decoded, so ``amqp_broker.published``,
``assert_published`` and the queue and exchange views read the same in record, replay
and plain fake mode.

Rules this module keeps:
- A snapshot of the proxy's decoded traffic (unredacted: the test sees the values it
  sent, as it does against the fake) becomes records in the order the client saw them,
  connection by connection: publishes, deliveries (``Basic.Deliver`` with the queue of
  its consumer tag, ``Basic.GetOk`` with the queue it polled), acks and nacks (with
  ``multiple``), returns.
- What RabbitMQ does not tell a client is not made up: a publish's ``queues`` lists the
  queues it was seen delivered from, and dead-lettering is invisible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pamqp.commands import Basic

from amqpmock.cassette import Cassette, Interaction
from amqpmock.fake import Broker
from amqpmock.fake.model import Message
from amqpmock.testing.inspection import Record, Records, TrafficRecorder

__all__ = ["RecordedTraffic", "records_from_cassette"]


def _message(item: Interaction, n: int) -> Message:
    props = {k: v for k, v in (item.properties or {}).items() if k in Basic.Properties.__slots__}
    exchange = str(item.args.get("exchange", ""))
    routing_key = str(item.args.get("routing_key", ""))
    return Message(exchange, routing_key, Basic.Properties(**props), item.body or b"", 0.0, n)


def records_from_cassette(cassette: Cassette) -> Records:
    """Records (``published``, ``delivered``, ``acked``, ``nacked``, ``returned``) of
    a recorded session."""
    records = Records()
    publishes: dict[tuple[int, int], Record] = {}
    n = 0
    for conn in cassette.connections:
        consumers: dict[str, str] = {}  # consumer tag -> queue
        asked: dict[int, str] = {}  # channel -> queue of its last basic.get
        consuming: dict[int, str] = {}  # channel -> queue of its pending basic.consume
        unacked: dict[int, dict[int, Record]] = {}  # channel -> tag -> delivered record
        for index, item in enumerate(conn.interactions):
            args = item.args
            method = item.method
            if method == "Basic.Consume" and item.dir == "c2s":
                consuming[item.channel] = str(args.get("queue", ""))
                if args.get("consumer_tag"):
                    consumers[str(args["consumer_tag"])] = consuming[item.channel]
            elif method == "Basic.ConsumeOk":
                consumers[str(args.get("consumer_tag", ""))] = consuming.get(item.channel, "")
            elif method == "Basic.Get":
                asked[item.channel] = str(args.get("queue", ""))
            elif method == "Basic.Publish":
                n += 1
                message = _message(item, n)
                record = Record("published", message)
                publishes[(conn.id, index)] = record
                records.append(record)
            elif method in ("Basic.Deliver", "Basic.GetOk"):
                n += 1
                tag = int(args.get("delivery_tag", 0))
                consumer = str(args.get("consumer_tag", "")) if method == "Basic.Deliver" else None
                queue = (
                    consumers.get(consumer or "", "") if consumer else asked.get(item.channel, "")
                )
                message = _message(item, n)
                record = Record(
                    "delivered",
                    message,
                    queue=queue,
                    consumer=consumer,
                    delivery_tag=tag,
                    redelivered=bool(args.get("redelivered")),
                )
                records.append(record)
                unacked.setdefault(item.channel, {})[tag] = record
                source = publishes.get(item.source) if item.source is not None else None
                if source is not None and queue and queue not in source.queues:
                    source.queues.append(queue)
            elif method in ("Basic.Ack", "Basic.Nack", "Basic.Reject") and item.dir == "c2s":
                pending = unacked.get(item.channel, {})
                tag = int(args.get("delivery_tag", 0))
                if args.get("multiple"):
                    tags = [t for t in pending if tag == 0 or t <= tag]
                else:
                    tags = [tag] if tag in pending else []
                event = "acked" if method == "Basic.Ack" else "nacked"
                requeue = None if event == "acked" else bool(args.get("requeue", True))
                for t in tags:
                    delivered = pending.pop(t)
                    records.append(
                        Record(
                            event,
                            delivered.message,
                            queue=delivered.queue,
                            delivery_tag=t,
                            requeue=requeue,
                        )
                    )
            elif method == "Basic.Return":
                n += 1
                message = _message(item, n)
                records.append(Record("returned", message))
    return records


class RecordedTraffic(TrafficRecorder):
    """A ``TrafficRecorder`` whose records come from a recording proxy's snapshot
    (``snapshot`` returns the decoded session so far) instead of broker events."""

    def __init__(self, snapshot: Callable[[], Cassette], broker: Broker) -> None:
        self.broker = broker
        self._snapshot = snapshot
        self._cleared = 0  # records before the last clear() are not shown

    @property
    def records(self) -> Records:  # type: ignore[override]
        return Records(records_from_cassette(self._snapshot())[self._cleared :])

    def clear(self) -> None:
        self._cleared = len(records_from_cassette(self._snapshot()))

    def close(self) -> None:
        return None

    def _on_event(self, event: str, data: dict[str, Any]) -> None:
        return None
