"""Differential scenarios: AMQP URL in, JSON-able observation out.

Each scenario drives a broker with pika's ``BlockingConnection`` and returns a dict of
what it saw. The expected observation stored with each scenario was recorded from a real
RabbitMQ 3.10.8 node (see ``docs/rabbitmq-facts.md``); the test module runs every
scenario against each broker and compares.

Modules, in the order their scenarios run: ``routing``, ``queues`` (queue.declare),
``exchanges`` (exchange declare/delete, bindings, queue delete/purge), ``basic``
(publish, ack, consume, qos, requeue order), ``lifetime`` (TTL, dead-lettering,
overflow, priorities), ``publish_extras`` (tx, confirms, direct reply-to),
``connection`` (channels and the connection), ``extensions`` (consumer priorities,
quorum queues, plugin exchange types), ``streams`` (stream queues). ``_base`` holds
``Run``, ``Scenario``, the ``scenario`` decorator and
the helpers. A new module goes into ``_MODULES`` below (an unlisted one fails at import).

Determinism rules:
- every queue/exchange name gets a fresh per-run prefix; ``normalise`` turns that prefix
  into ``~`` (so ``dt1a2b3c4d.work`` reads ``~work``);
- server-generated names (``amq.gen-``, ``amq.ctag-``, direct reply-to names) and
  timestamps are replaced by placeholders, after checking their format;
- waits poll for an expected state with a deadline, they never sleep blindly for the
  result (except where "nothing more arrives" is the observation).
"""

from __future__ import annotations

from . import (
    basic,
    connection,
    exchanges,
    extensions,
    lifetime,
    publish_extras,
    queues,
    routing,
    streams,
)
from ._base import REGISTRY, Observation, Run, Scenario

_MODULES = [
    routing,
    queues,
    exchanges,
    basic,
    lifetime,
    publish_extras,
    connection,
    extensions,
    streams,
]

_unlisted = set(REGISTRY) - {m.__name__ for m in _MODULES}
if _unlisted:
    raise ImportError(f"scenario modules missing from _MODULES: {sorted(_unlisted)}")

SCENARIOS: list[Scenario] = [sc for m in _MODULES for sc in REGISTRY.get(m.__name__, [])]

__all__ = ["SCENARIOS", "Observation", "Run", "Scenario"]
