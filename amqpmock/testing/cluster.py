"""A fake RabbitMQ cluster for a test: one broker, N nodes each on its own port, with
the management API, and nodes that stop and start as ``rabbitmqctl stop_app`` /
``start_app`` make them (``amqpmock.fake._cluster`` has the rules).

    with fake_cluster(3) as cluster:
        connection = pika.BlockingConnection(pika.URLParameters(cluster.urls[1]))
        ...
        cluster.stop_node(1)   # its clients get 320, its queues become unavailable
        cluster.start_node(1)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from amqpmock.wire.server import ServerThread

__all__ = ["FakeCluster", "fake_cluster"]


class FakeCluster:
    """A running fake cluster (see ``fake_cluster``)."""

    def __init__(self, server: ServerThread, management_url: str | None) -> None:
        self.server = server
        self._management_url = management_url

    @property
    def urls(self) -> list[str]:
        """Each node's AMQP URL, node 0's first."""
        return self.server.node_urls

    @property
    def node_names(self) -> list[str]:
        """RabbitMQ's names of the nodes: ``rabbit-1@localhost`` ..."""
        return list(self.server.broker.nodes)

    @property
    def management_urls(self) -> list[str]:
        """The management API's URL for each node (one API serves the whole cluster,
        as every RabbitMQ node's shows the cluster); empty without aiohttp."""
        if self._management_url is None:
            return []
        return [self._management_url] * len(self.urls)

    def stop_node(self, index: int) -> None:
        """Node ``index`` (0-based) stops; returns once its clients have been told."""
        self.server.stop_node(index)

    def start_node(self, index: int) -> None:
        """Node ``index`` is back; its port listens when this returns."""
        self.server.start_node(index)


@contextmanager
def fake_cluster(nodes: int = 3, *, management: bool = True) -> Iterator[FakeCluster]:
    """A fake cluster of ``nodes`` nodes on loopback, stopped on exit. ``management``:
    also serve the management HTTP API (needs the ``http`` extra)."""
    with ServerThread(nodes=nodes) as server:
        url = None
        if management:
            from amqpmock.http import ManagementHTTP

            http = ManagementHTTP(server.server)
            url = server.run(http.start())
        yield FakeCluster(server, url)
