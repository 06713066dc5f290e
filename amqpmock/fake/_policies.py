"""Policies and operator policies, as RabbitMQ 3.10.8 applies them (observed; scenarios
in ``tests/management/test_policies.py``):

- A policy matches an object when its ``apply-to`` covers the object's kind
  (``queues``, ``exchanges`` or ``all``) and its pattern is found in the name (a
  regular expression, not anchored). Of the matching ones the highest ``priority``
  applies, one per object. At equal priority RabbitMQ's pick depends on its table's
  order (undefined, and it differed between runs of the same names); the fake takes
  the name that sorts last, so that its pick is at least stable.
- An operator policy is picked the same way; for each key it shares with the policy,
  the lower value applies.
- A queue's own ``x-`` argument and the policy: the lower value for ``expires``,
  ``message-ttl``, ``max-length``, ``max-length-bytes`` and ``delivery-limit``; the
  argument for everything else (``dead-letter-exchange``, ``overflow``, an exchange's
  ``alternate-exchange`` ...).
- Policies apply to existing objects when they are set or cleared, and to new ones when
  they are declared. A shorter length limit drops (and dead-letters) from the head at
  once; a new TTL applies to messages published afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from amqpmock.fake.model import Exchange, Queue

if TYPE_CHECKING:
    from amqpmock.fake._broker import Broker

# keys where a queue argument and a policy (or a policy and an operator policy) meet
# at the lower value
LOWER_WINS = frozenset(
    {
        "expires",
        "message-ttl",
        "max-length",
        "max-length-bytes",
        "max-in-memory-length",
        "max-in-memory-bytes",
        "delivery-limit",
    }
)


@dataclass
class Policy:
    vhost: str
    name: str
    pattern: str
    definition: dict[str, Any] = field(default_factory=dict)
    priority: int = 0
    apply_to: str = "all"  # "queues" | "exchanges" | "all"

    def matches(self, kind: str, name: str) -> bool:
        if self.apply_to not in ("all", kind):
            return False
        try:
            return re.search(self.pattern, name) is not None
        except re.error:
            return False

    def as_data(self) -> dict[str, Any]:
        """As the management API lists it."""
        return {
            "vhost": self.vhost,
            "name": self.name,
            "pattern": self.pattern,
            "apply-to": self.apply_to,
            "definition": dict(self.definition),
            "priority": self.priority,
        }


def pick(
    policies: dict[tuple[str, str], Policy], vhost: str, kind: str, name: str
) -> Policy | None:
    """The policy that applies: highest priority, then the name that sorts last."""
    best: Policy | None = None
    for policy in policies.values():
        if policy.vhost != vhost or not policy.matches(kind, name):
            continue
        if best is None or (policy.priority, policy.name) > (best.priority, best.name):
            best = policy
    return best


def merged(policy: Policy | None, operator: Policy | None) -> dict[str, Any]:
    """The definition that applies: the policy's, with the operator policy's values
    where it is stricter (or where the policy says nothing)."""
    definition = dict(policy.definition) if policy is not None else {}
    if operator is not None:
        for key, value in operator.definition.items():
            mine = definition.get(key)
            if isinstance(mine, int) and isinstance(value, int) and key in LOWER_WINS:
                definition[key] = min(mine, value)
            else:
                definition[key] = value
    return definition


def effective_arguments(arguments: dict[str, Any], definition: dict[str, Any]) -> dict[str, Any]:
    """An object's ``x-`` arguments with the policy's definition merged in."""
    out = dict(arguments)
    for key, value in definition.items():
        name = f"x-{key}"
        own = out.get(name)
        if own is None:
            out[name] = value
        elif key in LOWER_WINS and isinstance(own, int) and isinstance(value, int):
            out[name] = min(own, value)
    return out


def apply_to_queue(b: Broker, queue: Queue) -> None:
    policy = pick(b.policies, queue.vhost, "queues", queue.name)
    operator = pick(b.operator_policies, queue.vhost, "queues", queue.name)
    definition = merged(policy, operator)
    queue.policy = policy.name if policy is not None else None
    queue.operator_policy = operator.name if operator is not None else None
    queue.policy_definition = definition
    queue.configure(effective_arguments(queue.arguments, definition))
    if queue.expires is not None or queue.message_ttl is not None or queue.timed_entries:
        b._timed[queue] = None
    if queue.overflow == "drop-head" and queue.log is None:
        b._drop_over_limit(queue)


def apply_to_exchange(b: Broker, vhost: str, exchange: Exchange) -> None:
    policy = pick(b.policies, vhost, "exchanges", exchange.name)
    exchange.policy = policy.name if policy is not None else None
    ae = policy.definition.get("alternate-exchange") if policy is not None else None
    exchange.policy_ae = ae if isinstance(ae, str) else None


def reapply(b: Broker, vhost: str) -> None:
    """After a policy changed: every queue and exchange of the vhost again."""
    target = b.vhosts.get(vhost)
    if target is None:
        return
    for queue in list(target.queues.values()):
        apply_to_queue(b, queue)
    for exchange in target.exchanges.values():
        apply_to_exchange(b, vhost, exchange)
    b._run_dispatch()


def set_policy(b: Broker, policy: Policy, *, operator: bool = False) -> bool:
    """Add or replace a policy (validated by the caller); True when it is new."""
    table = b.operator_policies if operator else b.policies
    key = (policy.vhost, policy.name)
    new = key not in table
    table[key] = policy
    reapply(b, policy.vhost)
    return new


def clear_policy(b: Broker, vhost: str, name: str, *, operator: bool = False) -> bool:
    table = b.operator_policies if operator else b.policies
    if table.pop((vhost, name), None) is None:
        return False
    reapply(b, vhost)
    return True
