"""An ``AMQPServer`` going down and coming back, as a RabbitMQ node does when it is
restarted (``rabbitmqctl stop_app`` / ``start_app``) or crashes.

Rules this module keeps:
- Going down is synchronous, on the server's loop, so whoever asks (the Python fixture
  through ``ServerThread.call``, the control API's handler on the loop) sees it done:
  the listeners are closed first (a new client is refused, as by a stopped node), then
  every connection gets Connection.Close 320 with RabbitMQ's shutdown text (the wire
  state machine waits for CloseOk and closes the socket, as on ``stop()``) or, for a
  crash, its socket is reset with no frame at all; then the broker core applies the
  durability rules (``Broker.restart``).
- Coming back binds the same ports synchronously too (a client that connects right
  after is queued by the kernel, not refused), then serves them; ``down_for`` seconds
  after going down it happens by itself, on the loop's timer (wall clock: the node's
  downtime is real time for the clients that retry).
- Only the AMQP listeners go; services on the same loop (the management HTTP API and
  the control API) stay up, so a test can still drive and inspect the broker.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import TYPE_CHECKING

from amqpmock.wire import _nodes

if TYPE_CHECKING:
    from amqpmock.wire.server import AMQPServer

log = logging.getLogger(__name__)


def go_down(server: AMQPServer, *, crash: bool = False, down_for: float | None = 0.0) -> None:
    """Stop listening, close (or, ``crash``, drop) every connection, restart the broker;
    listen again after ``down_for`` seconds (0: at once; None: when ``come_up`` is
    called)."""
    loop = server._loop
    if loop is None or server._server is None:
        raise RuntimeError("the server is not running")
    cancel_come_up(server)
    if not server.down:
        server.down = True
        server._server.close()
        if server._tls_server is not None:
            server._tls_server.close()
        _nodes.close_listeners(server)
    if crash:
        # the core first: it drops the connections as a crash does (no consumer is
        # cancelled, so no auto-delete queue goes); then the sockets are reset
        server.broker.restart(crash=True)
        for link in list(server._links.values()):
            link.transport.abort()
            # abort() reports the loss on the next loop round; the wire must forget it
            # now (connection_lost is idempotent: the second call finds nothing to do)
            link.connection_lost(None)
    else:
        server.switchboard.close_all(time.monotonic())
        server.broker.restart()
    server._flush()
    log.info("amqpmock %s; down for %s", "crashed" if crash else "restarted", down_for)
    if down_for == 0:
        come_up(server)
    elif down_for is not None:
        server._come_up_timer = loop.call_later(down_for, come_up, server)


def cancel_come_up(server: AMQPServer) -> None:
    timer, server._come_up_timer = server._come_up_timer, None
    if timer is not None:
        timer.cancel()


def come_up(server: AMQPServer) -> None:
    """Listen again on the same ports (a no-op while up)."""
    cancel_come_up(server)
    loop = server._loop
    if not server.down or loop is None:
        return
    server.down = False
    if 0 not in server.nodes_down:
        listen_again(server)
    _nodes.listen_again(server)


def listen_again(server: AMQPServer) -> None:
    """Node 0's listeners (plain, and TLS when there is one) on their ports again."""
    loop = server._loop
    assert loop is not None
    plain = bind(server.host, server.port)
    tls = bind(server.host, server.tls_port) if server._tls_server is not None else None
    server._serving = loop.create_task(_serve(server, plain, tls))


async def _serve(server: AMQPServer, plain: socket.socket, tls: socket.socket | None) -> None:
    from amqpmock.wire.server import _Link

    loop = asyncio.get_running_loop()
    server._server = await loop.create_server(lambda: _Link(server), sock=plain)
    if tls is not None:
        server._tls_server = await loop.create_server(
            lambda: _Link(server), sock=tls, ssl=server.tls
        )


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=100)
    sock.setblocking(False)
    return sock
