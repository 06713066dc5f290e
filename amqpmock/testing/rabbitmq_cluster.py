"""A throwaway three-node (``size``) RabbitMQ cluster on loopback, for differential tests.

Rules this module keeps:
- Each node is a ``RabbitMQNode`` (its own HOME, data directory, node name
  ``amqpmock{port}@localhost``, AMQP, distribution and management ports, watchdog);
  all share one fresh Erlang cookie, written to each HOME as ``.erlang.cookie`` (0400),
  which ``rabbitmqctl`` reads from there too.
- Nodes 2..n join node 1 (``stop_app``, ``join_cluster NODE1``, ``start_app``); the
  cluster is ready when node 1's ``cluster_status`` lists every node as running.
- ``stop_node(i)`` / ``start_node(i)`` are ``rabbitmqctl stop_app`` / ``start_app`` on
  node ``i`` (0-based): the Erlang node stays up, the RabbitMQ application goes.
- When the server binary is missing, ``RabbitMQUnavailable`` (callers fail, not skip).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from types import TracebackType

from amqpmock.testing.rabbitmq import (
    INSTALL_HINT,
    SERVER_BINARY,
    RabbitMQNode,
    RabbitMQUnavailable,
)


class RabbitMQCluster:
    """``size`` RabbitMQ nodes clustered on loopback. Use as a context manager."""

    def __init__(
        self,
        size: int = 3,
        plugins: tuple[str, ...] = ("rabbitmq_management",),
        startup_timeout: float = 90.0,
    ) -> None:
        if size < 1:
            raise ValueError("a cluster has at least one node")
        self.size = size
        self.plugins = tuple(plugins)
        self.startup_timeout = startup_timeout
        self.cookie = secrets.token_hex(16).upper()
        self.nodes: list[RabbitMQNode] = []

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def node_names(self) -> list[str]:
        return [node.node_name for node in self.nodes]

    @property
    def management_urls(self) -> list[str]:
        return [node.management_url for node in self.nodes if node.management_url]

    def start(self) -> RabbitMQCluster:
        if not os.path.exists(SERVER_BINARY):
            raise RabbitMQUnavailable(
                f"{SERVER_BINARY} not found; install it with: {INSTALL_HINT}"
            )
        self.nodes = [
            RabbitMQNode(
                plugins=self.plugins, cookie=self.cookie, startup_timeout=self.startup_timeout
            )
            for _ in range(self.size)
        ]
        try:
            self._start_all()
            first = self.nodes[0]
            for node in self.nodes[1:]:
                node.rabbitmqctl("stop_app")
                node.rabbitmqctl("join_cluster", first.node_name)
                node.start_app()
            self._wait_running(self.node_names)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_all(self) -> None:
        """Boot every node at once (each waits for its own ports)."""
        errors: list[BaseException] = []

        def boot(node: RabbitMQNode) -> None:
            try:
                node.start()
            except BaseException as exc:  # reported below, in this thread
                errors.append(exc)

        threads = [threading.Thread(target=boot, args=(node,)) for node in self.nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def running_nodes(self, via: int | None = None) -> list[str]:
        """The cluster's running nodes as ``cluster_status`` on node ``via`` (default:
        the first node whose application answers) lists them."""
        candidates = [via] if via is not None else range(self.size)
        last: Exception | None = None
        for i in candidates:
            try:
                out = self.nodes[i].rabbitmqctl("cluster_status", "--formatter", "json")
            except RuntimeError as exc:
                last = exc
                continue
            running: list[str] = json.loads(out).get("running_nodes", [])
            return running
        raise RuntimeError(f"no node answers cluster_status: {last}")

    def _wait_running(self, names: list[str], via: int | None = None) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                running = self.running_nodes(via)
            except RuntimeError:
                running = []
            if set(names) <= set(running):
                return
            if time.monotonic() > deadline:
                raise RabbitMQUnavailable(
                    f"cluster not running within {self.startup_timeout}s: "
                    f"running {running}, expected {names}"
                )
            time.sleep(0.2)

    def stop_node(self, i: int) -> None:
        """``rabbitmqctl stop_app`` on node ``i`` (0-based)."""
        self.nodes[i].stop_app()

    def start_node(self, i: int) -> None:
        """``rabbitmqctl start_app`` on node ``i``; returns once its AMQP port answers
        and the cluster (as that node sees it) lists it as running."""
        node = self.nodes[i]
        node.start_app()
        self._wait_running([node.node_name], via=i)

    def stop(self) -> None:
        """Every node down, its directories removed."""
        nodes, self.nodes = self.nodes, []
        threads = [threading.Thread(target=node.stop) for node in nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def __enter__(self) -> RabbitMQCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
