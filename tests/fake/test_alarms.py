"""amqpmock.fake.alarms: the alarms a broker has, their Connection.Blocked reason and
the management state they give a connection (RabbitMQ's side: tests/differential/
test_alarms.py)."""

from __future__ import annotations

from typing import Any

import pytest

from amqpmock.fake import Broker, VirtualClock, alarms


@pytest.fixture
def broker() -> Broker:
    return Broker(VirtualClock())


def test_alarms_add_up_and_clear_one_at_a_time(broker: Broker) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    broker.listeners.append(lambda event, data: events.append((event, data)))
    assert alarms.active(broker) == frozenset() and broker.blocked_reason is None
    alarms.set_alarm(broker, "memory")
    assert broker.blocked_reason == "low on memory"
    alarms.set_alarm(broker, "disk")
    assert alarms.active(broker) == {"memory", "disk"}
    assert broker.blocked_reason == "low on disk & memory"
    alarms.clear_alarm(broker, "memory")
    assert broker.blocked_reason == "low on disk"
    alarms.clear_alarm(broker, "disk")
    assert broker.blocked_reason is None
    alarms.clear_alarm(broker, "disk")  # clearing what is not on is no error
    assert [(e, d["resource"], d["on"]) for e, d in events] == [
        ("alarm", "memory", True),
        ("alarm", "disk", True),
        ("alarm", "memory", False),
        ("alarm", "disk", False),
        ("alarm", "disk", False),
    ]


def test_an_unknown_resource_is_refused(broker: Broker) -> None:
    with pytest.raises(ValueError, match="'cpu' is not one of memory, disk"):
        alarms.set_alarm(broker, "cpu")
    with pytest.raises(ValueError, match="'cpu'"):
        alarms.clear_alarm(broker, "cpu")
    assert broker.blocked_reason is None


def test_block_with_its_own_text_counts_as_a_memory_alarm(broker: Broker) -> None:
    broker.block("custom reason")
    assert alarms.active(broker) == {"memory"}
    alarms.clear_alarm(broker, "memory")
    assert broker.blocked_reason is None


def test_connection_states(broker: Broker) -> None:
    assert alarms.connection_state(broker, blocked=False) == "running"
    alarms.set_alarm(broker, "disk")
    assert alarms.connection_state(broker, blocked=False) == "blocking"
    assert alarms.connection_state(broker, blocked=True) == "blocked"
    assert alarms.reason(frozenset()) is None
