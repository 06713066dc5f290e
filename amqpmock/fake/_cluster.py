"""A cluster of nodes sharing one broker's metadata, and what a node's loss does, by
RabbitMQ 3.10.8's rules (differential test ``tests/differential/test_cluster.py`` on a
three-node cluster on loopback; docs/rabbitmq-facts.md, "Cluster").

Rules this module keeps:
- Every node sees the same users, vhosts, exchanges, bindings and queues (RabbitMQ's
  metadata is cluster-wide). A connection is on the node it connected to; a classic
  queue lives on the node of the connection that declared it (``client-local``, the
  default leader locator); a quorum queue or a stream has a member on every node, its
  leader first on the declaring node.
- A node stopping (``rabbitmqctl stop_app``) tells its own connections ``320
  CONNECTION_FORCED`` with the shutdown text, as a restart does. Its transient and
  exclusive classic queues are deleted; its durable classic queues stay declared but
  are unavailable until it is back: their consumers elsewhere are cancelled, any
  operation on them is a ``404 NOT_FOUND`` naming the home node, and messages routed
  to them are dropped for them. A quorum queue's leader moves to a node that is up,
  and it goes on while a majority of its members is.
- A node starting again brings its durable classic queues back with what a restart
  leaves (persistent messages only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amqpmock.errors import CONNECTION_FORCED, NOT_FOUND, ChannelError, ConnectionError_
from amqpmock.fake import _queues
from amqpmock.fake._restart import SHUTDOWN_TEXT, recover, unbind_quietly
from amqpmock.fake._state import Unacked
from amqpmock.fake.model import Queue

if TYPE_CHECKING:
    from amqpmock.fake._broker import Broker

__all__ = ["node_down", "node_names", "node_up", "set_nodes", "unavailable"]

SINGLE_NODE = "rabbit@localhost"


def node_names(count: int) -> list[str]:
    """RabbitMQ's names for ``count`` nodes on one host: ``rabbit@localhost`` alone,
    else ``rabbit-1@localhost``, ``rabbit-2@localhost`` ..."""
    if count <= 1:
        return [SINGLE_NODE]
    return [f"rabbit-{n}@localhost" for n in range(1, count + 1)]


def set_nodes(b: Broker, count: int) -> None:
    """Make the broker a cluster of ``count`` nodes (all up)."""
    if count < 1:
        raise ValueError(f"a cluster has at least one node, not {count}")
    b.nodes = node_names(count)
    b.down_nodes.clear()


def majority_up(b: Broker) -> bool:
    """More than half of the nodes are up: a quorum queue (a member on each) goes on."""
    return 2 * (len(b.nodes) - len(b.down_nodes)) > len(b.nodes)


def unavailable(b: Broker, queue: Queue) -> ChannelError | None:
    """The error an operation on ``queue`` gets while it cannot be reached, or None."""
    if queue.node not in b.down_nodes:
        return None
    return ChannelError(
        NOT_FOUND,
        f"home node '{queue.node}' of durable queue '{queue.name}' in vhost "
        f"'{queue.vhost}' is down or inaccessible",
    )


def replicated(queue: Queue) -> bool:
    return queue.quorum or queue.log is not None


def node_down(b: Broker, node: str) -> None:
    """``node`` stops: its connections are closed (320, shutdown), its queues follow the
    rules above. The adapter closes the node's sockets itself first."""
    if node not in b.nodes:
        raise ValueError(f"no node {node!r} (nodes: {', '.join(b.nodes)})")
    if node in b.down_nodes:
        return
    for conn in list(b.connections.values()):
        if getattr(conn, "node", None) == node:
            conn.connection_error(ConnectionError_(CONNECTION_FORCED, SHUTDOWN_TEXT))
            conn.close()
    b.down_nodes.add(node)
    up = [n for n in b.nodes if n not in b.down_nodes]
    for vhost in b.vhosts.values():
        for queue in list(vhost.queues.values()):
            if queue.node != node:
                continue
            if replicated(queue):
                if up:
                    queue.node = up[0]  # a new leader
                continue
            if not queue.durable or queue.exclusive:
                unbind_quietly(vhost, queue)
                b._delete_queue(queue)
                continue
            _queues.cancel_consumers(queue)
            _take_back_unacked(b, queue)


def _take_back_unacked(b: Broker, queue: Queue) -> None:
    """What channels elsewhere hold unacknowledged from a queue whose node went is the
    queue's again (redelivered; a restart keeps the persistent ones). The channels keep
    the delivery tags: an ack or nack of one later does nothing, as RabbitMQ's channel
    settles with a queue process that is gone (no unknown-tag error)."""
    gone = Queue(queue.name, queue.vhost)
    gone.deleted = True
    held = []
    for conn in b.connections.values():
        for ch in conn.channels.values():
            for tag, record in ch.unacked.items():
                if record.queue is queue:
                    held.append(record.entry)
                    if record.consumer is not None:
                        record.consumer.unacked -= 1
                    ch.unacked[tag] = Unacked(record.entry, gone, None)
    for entry in reversed(held):
        queue.requeue(entry)


def node_up(b: Broker, node: str) -> None:
    """``node`` starts again: its durable classic queues are back, with what a restart
    leaves of their messages."""
    if node not in b.down_nodes:
        return
    b.down_nodes.discard(node)
    now = b.clock.now()
    for vhost in b.vhosts.values():
        for queue in vhost.queues.values():
            if queue.node == node and not replicated(queue):
                recover(b, queue, now)
