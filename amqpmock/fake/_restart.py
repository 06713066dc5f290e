"""A node restart (or crash) and what survives it, by RabbitMQ 3.10.8's durability rules.

Observed on a real node stopped and started with ``rabbitmqctl stop_app`` /
``start_app`` (differential test ``tests/differential/test_restart.py``):
- Every connection is told ``320 CONNECTION_FORCED - broker forced connection closure
  with reason 'shutdown'`` (a crash tells nobody anything), so channels close first:
  unacknowledged messages go back to their queues (marked redelivered, and a quorum
  queue counts the return in ``x-delivery-count``), consumers go, an auto-delete queue
  that had consumers is deleted with them, exclusive queues are deleted.
- Then what was not durable is gone: non-durable queues and exchanges, and the bindings
  to and from them (without deleting an auto-delete exchange that loses its last
  binding that way: it survives, unbound). Durable exchanges, queues and the bindings
  between them stay.
- A crash (observed by SIGKILL of the node and a boot from its data) is the same,
  except that nobody is told and nothing is cancelled: an auto-delete queue with
  consumers survives it. (Acks not yet written to disk may be lost in a real crash, so
  acknowledged messages can come back there; here every ack counts.)
- A durable classic queue keeps its persistent messages (``delivery_mode`` 2) in their
  order, with the redelivered flag they had; transient ones are gone. A quorum queue
  keeps every message (they are always persistent), a stream its whole log.
- Users, vhosts, permissions, policies and parameters are kept. So are the outside
  world's parts (interceptors such as RPC stubs, and timers): they are not the node's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amqpmock.errors import CONNECTION_FORCED, ConnectionError_
from amqpmock.fake._state import OPEN, VHost
from amqpmock.fake.model import Exchange, Queue

if TYPE_CHECKING:
    from amqpmock.fake._broker import Broker
    from amqpmock.fake._connection import CoreConnection

SHUTDOWN_TEXT = "broker forced connection closure with reason 'shutdown'"


def restart(b: Broker, *, crash: bool = False) -> None:
    """The node stops and starts again: every connection goes (with Connection.Close
    320 for a restart, without a word for a crash), then only the durable state is left.

    An adapter with sockets closes its connections itself first (and keeps new ones out
    while it is down); any connection still open here is closed as above."""
    for conn in list(b.connections.values()):
        if crash:
            _drop_consumers(conn)
        else:
            conn.connection_error(ConnectionError_(CONNECTION_FORCED, SHUTDOWN_TEXT))
        conn.close()
    system = b._system
    if system is not None:  # the Python API's own channel: what it holds goes back too
        for ch in system.channels.values():
            if ch.state == OPEN:
                b._close_channel(ch)
        b._system = None
    now = b.clock.now()
    for vhost in b.vhosts.values():
        for queue in list(vhost.queues.values()):
            if not queue.durable or queue.exclusive:
                unbind_quietly(vhost, queue)
                b._delete_queue(queue)
        for exchange in list(vhost.exchanges.values()):
            if not exchange.durable:
                unbind_quietly(vhost, exchange)
                b._delete_exchange(vhost, exchange)
        for queue in vhost.queues.values():
            recover(b, queue, now)
    b._to_dispatch.clear()
    b._dispatch_later.clear()
    b._reply_channels.clear()
    b._perm_cache.clear()
    b._emit("restarted", crash=crash)


def _drop_consumers(conn: CoreConnection) -> None:
    """A crash cancels nobody: the consumers just vanish, so an auto-delete queue is
    not deleted for losing them (RabbitMQ 3.10.8 boots with it, messages and all)."""
    for ch in conn.channels.values():
        for consumer in ch.consumers.values():
            if consumer in consumer.queue.consumers:
                consumer.queue.remove_consumer(consumer)
        ch.consumers.clear()


def unbind_quietly(vhost: VHost, destination: Queue | Exchange) -> None:
    """Drop the bindings to ``destination`` without the auto-delete they would cause on
    a running node: on recovery RabbitMQ just does not bring them back."""
    for exchange in vhost.exchanges.values():
        for key in [k for k in exchange.bindings if k[0] is destination]:
            exchange.routing.unbind(key[0], key[1], exchange.bindings.pop(key))


def recover(b: Broker, queue: Queue, now: float) -> None:
    """A durable queue as it comes back: a classic queue with its persistent messages
    only, a new life (no consumers yet, idle from now on)."""
    if queue.log is None and not queue.quorum:
        for entry in queue.purge():
            if entry.message.properties.delivery_mode == 2:
                queue.push(entry)
    queue.had_consumers = False
    queue.last_used = now
    if queue.expires is not None or queue.message_ttl is not None or queue.timed_entries:
        b._timed[queue] = None
