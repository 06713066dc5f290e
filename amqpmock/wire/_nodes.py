"""The nodes of a cluster played by one ``AMQPServer``: one listener per node, each on
its own port, all in front of one broker (RabbitMQ's metadata is cluster-wide; which
node a connection or queue is on is the core's business, ``amqpmock.fake._cluster``).

Rules this module keeps:
- Node 0 is the server's own listener (``port``, and ``tls_port`` when there is one);
  nodes 1.. listen on ports of their own, plain AMQP only.
- Stopping a node (``rabbitmqctl stop_app``) is synchronous, on the server's loop: its
  listener closes first (a new client is refused), each of its connections gets
  Connection.Close 320 with the shutdown text, then the core applies a node loss.
  Starting it binds the same port again before it returns.
- A restart of the whole server (``_outage``) takes every node's listener down and
  brings back those of the nodes that were up.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from amqpmock.wire.server import AMQPServer

__all__ = ["close_listeners", "listen", "listen_again", "settle", "start_node", "stop_node"]


async def listen(server: AMQPServer) -> None:
    """Open the listeners of nodes 1.. (at start; node 0's is the server's own)."""
    from amqpmock.wire.server import _Link

    loop = server._loop
    assert loop is not None
    for index in range(1, len(server.broker.nodes)):
        port = server.node_ports[index] if index < len(server.node_ports) else 0
        listener = await loop.create_server(partial(_Link, server, index), server.host, port)
        bound = listener.sockets[0].getsockname()[1]
        if index < len(server.node_ports):
            server.node_ports[index] = bound
        else:
            server.node_ports.append(bound)
        server._node_servers[index] = listener


def close_listeners(server: AMQPServer) -> None:
    """Stop listening on nodes 1.. (a restart, or the server's stop)."""
    for listener in server._node_servers.values():
        listener.close()
    server._node_servers.clear()


def _check(server: AMQPServer, index: int) -> str:
    nodes = server.broker.nodes
    if not 0 <= index < len(nodes):
        raise ValueError(f"no node {index}: the cluster has nodes 0 to {len(nodes) - 1}")
    if server._loop is None or server._server is None:
        raise RuntimeError("the server is not running")
    return nodes[index]


def stop_node(server: AMQPServer, index: int) -> None:
    """Node ``index`` stops: no listener, its connections told 320 shutdown, the core's
    node loss (queues on it unavailable or gone, quorum leaders moved)."""
    name = _check(server, index)
    if index in server.nodes_down:
        return
    server.nodes_down.add(index)
    if index == 0:
        if not server.down:
            server._server.close()  # type: ignore[union-attr]
            if server._tls_server is not None:
                server._tls_server.close()
    else:
        listener = server._node_servers.pop(index, None)
        if listener is not None:
            listener.close()
    now = time.monotonic()
    for conn in list(server._links):
        if conn.node == name:
            conn.force_close(now)
    server.broker.node_down(name)
    server._flush()


def start_node(server: AMQPServer, index: int) -> None:
    """Node ``index`` starts again: the core brings its queues back, its port listens."""
    name = _check(server, index)
    if index not in server.nodes_down:
        return
    server.nodes_down.discard(index)
    server.broker.node_up(name)
    if not server.down:
        _bind_node(server, index)
    server._reschedule()


def _bind_node(server: AMQPServer, index: int) -> None:
    from amqpmock.wire import _outage
    from amqpmock.wire.server import _Link

    loop = server._loop
    assert loop is not None
    if index == 0:
        _outage.listen_again(server)
        return
    sock = _outage.bind(server.host, server.node_ports[index])

    async def serve() -> None:
        server._node_servers[index] = await loop.create_server(
            partial(_Link, server, index), sock=sock
        )

    task = loop.create_task(serve())
    server._node_tasks.add(task)
    task.add_done_callback(server._node_tasks.discard)


async def settle(server: AMQPServer) -> None:
    """Wait for listeners being opened (before the server stops)."""
    if server._node_tasks:
        await asyncio.wait(list(server._node_tasks))


def listen_again(server: AMQPServer) -> None:
    """After a restart: the listeners of the nodes that are up (1..) again."""
    for index in range(1, len(server.broker.nodes)):
        if index not in server.nodes_down and index not in server._node_servers:
            _bind_node(server, index)
