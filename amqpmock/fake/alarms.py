"""Resource alarms (memory, disk) and who they block, as RabbitMQ 3.10.8 does it.

Observed on a real node (``rabbitmqctl set_vm_memory_high_watermark 0`` and
``set_disk_free_limit`` beyond the disk's size; differential test
``tests/differential/test_alarms.py``):
- An alarm blocks no connection by itself. Every connection is ``blocking`` in the
  management API (new ones too) and keeps working: consumers get their deliveries,
  acks, declares and the rest are answered.
- A connection is ``blocked`` when it publishes while an alarm is on: RabbitMQ stops
  reading its socket after the publish's content header, so that message (unless it has
  no body) and whatever follows wait unread until every alarm is cleared; then they are
  read and routed.
- Only a blocked connection whose client announced the ``connection.blocked``
  capability gets Connection.Blocked, at that moment, with the reason ``low on memory``,
  ``low on disk`` or, both alarms on, ``low on disk & memory``; it gets
  Connection.Unblocked when the last alarm clears (one clearing while the other stays
  changes nothing on the wire). Others are blocked all the same, silently.
- The node shows ``mem_alarm`` / ``disk_free_alarm`` true while its alarm is on.

The alarms live on the broker as its ``blocked_reason`` (the text above, None without an
alarm), which the wire adapter reads on every publish; pausing the socket is its job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from amqpmock.fake._broker import Broker

RESOURCES = ("memory", "disk")
# RabbitMQ's texts (rabbit_reader's format of the alarms blocking it)
_REASONS = {
    frozenset({"memory"}): "low on memory",
    frozenset({"disk"}): "low on disk",
    frozenset({"memory", "disk"}): "low on disk & memory",
}
_ALARMS = {text: alarms for alarms, text in _REASONS.items()}


def _resource(resource: str) -> str:
    if resource not in RESOURCES:
        raise ValueError(f"alarm: {resource!r} is not one of {', '.join(RESOURCES)}")
    return resource


def active(b: Broker) -> frozenset[str]:
    """The resources in alarm now (``broker.block(reason)`` with another text counts as
    a memory alarm, as it was before alarms had names)."""
    reason = b.blocked_reason
    if reason is None:
        return frozenset()
    return _ALARMS.get(reason, frozenset({"memory"}))


def reason(alarms: frozenset[str]) -> str | None:
    """The text of Connection.Blocked for these alarms (None: no alarm)."""
    return _REASONS.get(alarms) if alarms else None


def set_alarm(b: Broker, resource: str) -> None:
    """The node is short of ``resource`` ("memory" or "disk"): publishing connections
    are blocked from their next publish on."""
    alarms = active(b) | {_resource(resource)}
    b.blocked_reason = reason(alarms)
    b._emit("alarm", resource=resource, on=True, reason=b.blocked_reason)


def clear_alarm(b: Broker, resource: str) -> None:
    """The ``resource`` alarm is over; connections are read again once no alarm is left."""
    alarms = active(b) - {_resource(resource)}
    b.blocked_reason = reason(alarms)
    b._emit("alarm", resource=resource, on=False, reason=b.blocked_reason)


def connection_state(b: Broker, *, blocked: bool) -> str:
    """The management API's ``state`` of a running connection: ``blocked`` once it has
    published during an alarm, ``blocking`` for any other while an alarm is on."""
    if blocked:
        return "blocked"
    return "blocking" if b.blocked_reason is not None else "running"
