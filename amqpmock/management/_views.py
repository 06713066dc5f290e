"""Broker objects as the management API shows them: the JSON field names and values
RabbitMQ 3.10.8 gives, for the fields clients and test tools read. Counts are live
(RabbitMQ's lag up to 5 s behind, as its statistics are emitted); rates and Erlang
process details are left out of queues and channels. A connection has RabbitMQ's keys:
octet and packet counts are 0 (the wire does not count them), TLS fields null, Erlang
process figures plausible constants. Objects RabbitMQ holds as maps are ``Whole``
(``columns=`` does not look inside them).
"""

from __future__ import annotations

import base64
import hashlib
import time
import urllib.parse
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from amqpmock.fake._args import args_key
from amqpmock.fake.model import Consumer, Exchange, Queue
from amqpmock.management._listing import Whole

if TYPE_CHECKING:
    from amqpmock.fake._connection import CoreConnection
    from amqpmock.fake._state import Channel, VHost
    from amqpmock.management._context import Context
    from amqpmock.wire._connection import AMQPConnection

VERSION = "3.10.8"
ERLANG = "25.2.3"
EXCHANGE_TYPE_TEXTS = {
    "direct": "AMQP direct exchange, as per the AMQP specification",
    "fanout": "AMQP fanout exchange, as per the AMQP specification",
    "headers": "AMQP headers exchange, as per the AMQP specification",
    "topic": "AMQP topic exchange, as per the AMQP specification",
}


def _quote(text: str) -> str:
    # RabbitMQ's quote_plus (a space is "+"), then "~" as "%7E"
    return urllib.parse.quote_plus(text, safe="").replace("~", "%7E")


def properties_key(routing_key: str, arguments: dict[str, Any]) -> str:
    """How a binding is named in a path. Without arguments, RabbitMQ's (the quoted
    key, ``~`` for an empty one); with them, the key and a digest of the arguments
    (RabbitMQ hashes its Erlang terms; this digest is the fake's own)."""
    if not arguments:
        return _quote(routing_key) if routing_key else "~"
    digest = hashlib.sha256(args_key(arguments).encode()).digest()[:16]
    return f"{_quote(routing_key)}~{base64.urlsafe_b64encode(digest).decode().rstrip('=')}"


def queue_type(queue: Queue) -> str:
    if queue.log is not None:
        return "stream"
    return "quorum" if queue.quorum else "classic"


def down_queue_view(queue: Queue) -> dict[str, Any]:
    """A queue whose node is down, as RabbitMQ 3.10 lists it: its declaration, its
    node, ``state: down``, and no statistics."""
    return {
        "arguments": Whole(queue.arguments),
        "auto_delete": queue.auto_delete,
        "durable": queue.durable,
        "exclusive": queue.exclusive,
        "name": queue.name,
        "node": queue.node,
        "state": "down",
        "type": "quorum" if queue.quorum else "stream" if queue.log is not None else "classic",
        "vhost": queue.vhost,
    }


def queue_view(
    ctx: Context, queue: Queue, unacked: tuple[int, int], details: bool = False
) -> dict[str, Any]:
    waiting, waiting_bytes = unacked
    ready = len(queue.log) if queue.log is not None else queue.message_count
    view: dict[str, Any] = {
        "arguments": Whole(queue.arguments),
        "auto_delete": queue.auto_delete,
        "consumers": len(queue.consumers),
        "durable": queue.durable,
        "effective_policy_definition": Whole(queue.policy_definition),
        "exclusive": queue.exclusive,
        "exclusive_consumer_tag": next((c.tag for c in queue.consumers if c.exclusive), None),
        "message_bytes": queue.ready_bytes + waiting_bytes,
        "message_bytes_ready": queue.ready_bytes,
        "message_bytes_unacknowledged": waiting_bytes,
        "messages": ready + waiting,
        "messages_ready": ready,
        "messages_unacknowledged": waiting,
        "name": queue.name,
        "node": queue.node or ctx.node,
        "operator_policy": queue.operator_policy,
        "policy": queue.policy,
        "state": "running",
        "type": queue_type(queue),
        "vhost": queue.vhost,
    }
    if details:
        view["consumer_details"] = [consumer_view(ctx, c) for c in queue.consumers]
        view["incoming"] = []
        view["deliveries"] = []
    return view


def exchange_view(vhost: str, exchange: Exchange) -> dict[str, Any]:
    return {
        "arguments": Whole(exchange.arguments),
        "auto_delete": exchange.auto_delete,
        "durable": exchange.durable,
        "internal": exchange.internal,
        "name": exchange.name,
        "type": exchange.type,
        "vhost": vhost,
    }


def _binding(
    vhost: str, source: str, dest: str, kind: str, key: str, arguments: dict[str, Any]
) -> dict[str, Any]:
    return {
        "source": source,
        "vhost": vhost,
        "destination": dest,
        "destination_type": kind,
        "routing_key": key,
        "arguments": Whole(arguments),
        "properties_key": properties_key(key, arguments),
    }


def bindings(vhost: VHost) -> Iterator[dict[str, Any]]:
    """Every binding of a vhost: the default exchange's implicit one per queue first,
    then the declared ones by source, destination and key."""
    for name in sorted(vhost.queues):
        yield _binding(vhost.name, "", name, "queue", name, {})
    declared = []
    for exchange in vhost.exchanges.values():
        for (dest, key, _), arguments in exchange.bindings.items():
            kind = "queue" if isinstance(dest, Queue) else "exchange"
            declared.append(_binding(vhost.name, exchange.name, dest.name, kind, key, arguments))
    declared.sort(
        key=lambda b: (b["source"], b["destination_type"], b["destination"], b["routing_key"])
    )
    yield from declared


def connection_name(ctx: Context, conn: AMQPConnection) -> str:
    return f"{conn.peer} -> {_host_port(ctx)}"


def _host_port(ctx: Context) -> str:
    for listener in ctx.listeners:
        if listener.protocol == "amqp":
            return f"{listener.host}:{listener.port}"
    return "127.0.0.1:5672"


def _split_peer(peer: str) -> tuple[str, int]:
    host, _, port = peer.rpartition(":")
    return host.strip("[]"), int(port) if port.isdigit() else 0


GARBAGE_COLLECTION = {
    "fullsweep_after": 65535,
    "max_heap_size": 0,
    "min_bin_vheap_size": 46422,
    "min_heap_size": 233,
    "minor_gcs": 9,
}


def connected_at(conn: AMQPConnection) -> int:
    """When the connection was made, in ms since the epoch (the wire stamps it with
    ``time.monotonic()``)."""
    opened = conn._handshake_deadline - conn.settings.handshake_timeout
    return int((time.time() - time.monotonic() + opened) * 1000)


def connection_view(ctx: Context, conn: AMQPConnection) -> dict[str, Any]:
    core = conn.core
    assert core is not None
    peer_host, peer_port = _split_peer(conn.peer)
    local_host, _, local_port = _host_port(ctx).rpartition(":")
    view: dict[str, Any] = {
        "auth_mechanism": conn.mechanism,
        "channel_max": conn.channel_max,
        "channels": len(core.channels),
        "client_properties": Whole(json_value(core.client_properties)),
        "connected_at": connected_at(conn),
        "frame_max": conn.frame_max,
        "garbage_collection": dict(GARBAGE_COLLECTION),
        "host": local_host,
        "name": connection_name(ctx, conn),
        "node": getattr(conn, "node", ctx.node),
        "peer_cert_issuer": None,
        "peer_cert_subject": None,
        "peer_cert_validity": None,
        "peer_host": peer_host,
        "peer_port": peer_port,
        "port": int(local_port or 0),
        "protocol": "AMQP 0-9-1",
        "recv_cnt": 0,
        "recv_oct": 0,
        "recv_oct_details": {"rate": 0.0},
        "reductions": 0,
        "reductions_details": {"rate": 0.0},
        "send_cnt": 0,
        "send_oct": 0,
        "send_oct_details": {"rate": 0.0},
        "send_pend": 0,
        "ssl": False,
        "ssl_cipher": None,
        "ssl_hash": None,
        "ssl_key_exchange": None,
        "ssl_protocol": None,
        "state": conn.blocking_state,
        "timeout": conn.heartbeat,
        "type": "network",
        "user": core.user,
        "user_who_performed_action": core.user,
        "vhost": core.vhost_name,
    }
    name = core.client_properties.get("connection_name")
    if name is not None:  # RabbitMQ has the key only when the client named itself
        view["user_provided_name"] = json_value(name)
    return view


def channel_view(ctx: Context, conn: AMQPConnection, ch: Channel) -> dict[str, Any]:
    core = conn.core
    assert core is not None
    peer_host, peer_port = _split_peer(conn.peer)
    name = connection_name(ctx, conn)
    return {
        "confirm": ch.confirm,
        "connection_details": {"name": name, "peer_host": peer_host, "peer_port": peer_port},
        "consumer_count": len(ch.consumers),
        "global_prefetch_count": ch.global_prefetch,
        "messages_unacknowledged": len(ch.unacked),
        "name": f"{name} ({ch.id})",
        "node": ch.conn.node,
        "number": ch.id,
        "prefetch_count": ch.consumer_prefetch,
        "state": "running" if ch.flow_active else "flow",
        "transactional": ch.tx,
        "user": core.user,
        "user_who_performed_action": core.user,
        "vhost": core.vhost_name,
    }


def consumer_view(ctx: Context, consumer: Consumer) -> dict[str, Any]:
    ch = consumer.channel
    core: CoreConnection = ch.conn
    wire = next((c for c in ctx.wire_connections() if c.core is core), None)
    name = connection_name(ctx, wire) if wire is not None else core.peer
    peer_host, peer_port = _split_peer(wire.peer if wire is not None else "")
    return {
        "arguments": Whole(consumer.arguments),
        "ack_required": not consumer.no_ack,
        "active": True,
        "activity_status": "up",
        "channel_details": {
            "connection_name": name,
            "name": f"{name} ({ch.id})",
            "node": ch.conn.node,
            "number": ch.id,
            "peer_host": peer_host,
            "peer_port": peer_port,
            "user": core.user,
        },
        "consumer_tag": consumer.tag,
        "exclusive": consumer.exclusive,
        "prefetch_count": consumer.prefetch,
        "queue": {"name": consumer.queue.name, "vhost": consumer.queue.vhost},
    }


def json_value(value: Any) -> Any:
    """A value of the broker (field tables, bytes, decimals, timestamps) as JSON can
    hold it: bytes as text, other types by their ``str``."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
