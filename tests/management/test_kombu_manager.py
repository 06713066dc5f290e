"""kombu's ``Connection.get_manager()`` (a pyrabbit client of the management API, as
Celery's integration tests use it), unmodified, against RabbitMQ 3.10.8 and the fake."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import pyrabbit.api
import pyrabbit.http
import pytest
from kombu import Connection

from .conftest import Target


def manager_for(target: Target) -> Any:
    parts = urlsplit(target.http_url)
    connection = Connection(
        target.amqp_url,
        transport_options={"manager_hostname": parts.hostname, "manager_port": parts.port},
    )
    manager = connection.get_manager()
    # pyrabbit's 5 s socket timeout: a loaded RabbitMQ with many vhosts behind it took
    # longer to grant a new vhost's permissions in a full run (both targets get 30 s)
    manager.http.client.timeout = 30
    return manager


def wait_for_depth(manager: Any, vhost: str, queue: str, want: int) -> Any:
    """RabbitMQ's depth comes from its 5 s statistics (absent at first: KeyError)."""
    deadline = time.monotonic() + 15
    depth: Any = None
    while depth != want and time.monotonic() < deadline:
        try:
            depth = manager.get_queue_depth(vhost, queue)
        except KeyError:
            depth = None
        if depth != want:
            time.sleep(0.25)
    return depth


def test_celery_style_management_calls(target: Target) -> None:
    manager = manager_for(target)
    vhost = f"km{uuid.uuid4().hex[:8]}"
    assert manager.get_whoami()["name"] == "guest"
    # pyrabbit 1.1 reads whoami's tags as a string; RabbitMQ 3.10 lists them, so its
    # admin-only calls refuse to run, on RabbitMQ as on the fake
    with pytest.raises(pyrabbit.api.PermissionError):
        manager.is_alive("%2F")
    assert manager.get_overview()["management_version"] == "3.10.8"
    manager.create_vhost(vhost)
    try:
        assert vhost in manager.get_vhost_names()
        manager.set_vhost_permissions(vhost, "guest", ".*", ".*", ".*")
        manager.create_exchange(vhost, "tasks", "direct", durable=True)
        manager.create_queue(vhost, "celery", durable=True)
        manager.create_binding(vhost, "tasks", "celery", "celery")
        assert [b["routing_key"] for b in manager.get_queue_bindings(vhost, "celery")] == [
            "celery",
            "celery",
        ]
        assert manager.publish(vhost, "tasks", "celery", "job-1") is True
        assert manager.publish(vhost, "tasks", "celery", "job-2") is True
        assert wait_for_depth(manager, vhost, "celery", 2) == 2
        # pyrabbit 1.1 sends the pre-3.7 "requeue" flag where RabbitMQ 3.10 wants
        # "ackmode": refused alike
        with pytest.raises(pyrabbit.http.HTTPError) as refused:
            manager.get_messages(vhost, "celery", count=5, requeue=False)
        assert refused.value.status == 400
        manager.purge_queue(vhost, "celery")
        assert wait_for_depth(manager, vhost, "celery", 0) == 0
        manager.delete_binding(vhost, "tasks", "celery", "celery")
        assert [b["source"] for b in manager.get_queue_bindings(vhost, "celery")] == [""]
        manager.delete_queue(vhost, "celery")
        manager.delete_exchange(vhost, "tasks")
        assert "celery" not in [q["name"] for q in manager.get_queues(vhost)]
    finally:
        manager.delete_vhost(vhost)
    assert vhost not in manager.get_vhost_names()
