"""Session-wide fixtures shared by the test packages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from amqpmock.testing.rabbitmq import RabbitMQNode


@pytest.fixture(scope="session")
def rabbitmq_node() -> Iterator[RabbitMQNode]:
    """One throwaway real RabbitMQ node for the whole session.

    Fails (never skips) when Debian's rabbitmq-server is missing: ``RabbitMQNode.start``
    raises ``RabbitMQUnavailable`` with the install command.
    """
    # plugins enabled offline: the bundled consistent-hash exchange (a differential
    # scenario) and the management API (tests/management)
    node = RabbitMQNode(
        plugins=("rabbitmq_consistent_hash_exchange", "rabbitmq_management")
    ).start()
    try:
        yield node
    finally:
        node.stop()
