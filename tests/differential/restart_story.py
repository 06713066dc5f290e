"""One client's story around a broker restart, observed the same way on RabbitMQ and
on the fake (``test_restart.py`` compares them).

Before: durable and transient exchanges (one auto-delete, one exchange-to-exchange
binding), durable, transient, exclusive and auto-delete queues, a quorum queue and a
stream, persistent and transient messages (published with confirms), some taken and
left unacknowledged on a second connection that also has consumers. Then the broker
goes down (``down()``): what each connection is told, whether a new connection is
refused while it is down; then it comes back (``up()``): which exchanges and queues
exist and with how many messages, what the messages are (bodies, redelivered, quorum's
x-delivery-count), and where the surviving bindings route.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pika
import pika.exceptions as pe

Observation = dict[str, Any]

P = "rs."
PERSISTENT = pika.BasicProperties(delivery_mode=2)

EXCHANGES = {
    # name: (type, durable, auto_delete)
    "durable": ("direct", True, False),
    "durable2": ("topic", True, False),
    "transient": ("direct", False, False),
    "ad_to_transient": ("fanout", True, True),
    "ad_to_durable": ("fanout", True, True),
}
QUEUES = {
    # name: (durable, exclusive, auto_delete, arguments)
    "durable": (True, False, False, {}),
    "transient": (False, False, False, {}),
    "exclusive": (True, True, False, {}),
    "ad_used": (True, False, True, {}),
    "ad_idle": (True, False, True, {}),
    "orphan": (True, False, False, {}),
    "quorum": (True, False, False, {"x-queue-type": "quorum"}),
    "stream": (True, False, False, {"x-queue-type": "stream"}),
}
BINDINGS = (
    # (exchange, queue, routing key)
    ("durable", "durable", "k"),
    ("durable", "transient", "k"),
    ("durable2", "quorum", "#"),
    ("transient", "orphan", "k"),
    ("ad_to_transient", "transient", ""),
    ("ad_to_durable", "durable", ""),
)


def _props(delivery_mode: int, **kw: Any) -> pika.BasicProperties:
    return pika.BasicProperties(delivery_mode=delivery_mode, **kw)


def _close_seen(conn: pika.BlockingConnection, timeout: float = 15.0) -> Any:
    """What the client is told when the broker goes: the Connection.Close it gets, or
    "lost" when the socket just goes."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.1)
    except pe.ConnectionClosedByBroker as exc:
        return {"connection_close": [exc.reply_code, exc.reply_text]}
    except (pe.StreamLostError, pe.AMQPConnectionError) as exc:
        return {"lost": type(exc).__name__}
    return "still open"


def _refused(url: str) -> Any:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 5672), timeout=3):
            return "accepted"
    except ConnectionRefusedError:
        return "refused"
    except OSError as exc:
        return type(exc).__name__


def _passive(conn: pika.BlockingConnection, kind: str, name: str) -> Any:
    ch = conn.channel()
    try:
        if kind == "queue":
            ok = ch.queue_declare(name, passive=True).method
            return {"messages": ok.message_count, "consumers": ok.consumer_count}
        ch.exchange_declare(name, passive=True)
        return "exists"
    except pe.ChannelClosedByBroker as exc:
        return [exc.reply_code, exc.reply_text]
    finally:
        with contextlib.suppress(Exception):
            if ch.is_open:
                ch.close()


def _drain(conn: pika.BlockingConnection, queue: str) -> list[Any]:
    ch = conn.channel()
    out: list[Any] = []
    while True:
        method, props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            break
        headers = dict(props.headers or {})
        out.append(
            {
                "body": body.decode(),
                "redelivered": method.redelivered,
                "delivery_mode": props.delivery_mode,
                "headers": {k: v for k, v in sorted(headers.items()) if k != "x-stream-offset"},
            }
        )
    ch.close()
    return out


def _read_stream(conn: pika.BlockingConnection, queue: str) -> list[str]:
    ch = conn.channel()
    ch.basic_qos(prefetch_count=100)
    bodies: list[str] = []

    def on_message(ch_: Any, method: Any, props: Any, body: bytes) -> None:
        bodies.append(body.decode())
        ch_.basic_ack(method.delivery_tag)

    ch.basic_consume(queue, on_message, arguments={"x-stream-offset": "first"})
    deadline = time.monotonic() + 5
    seen = -1
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)
        if len(bodies) != seen:
            seen, quiet_since = len(bodies), time.monotonic()
        elif time.monotonic() - quiet_since > 0.5:
            break
    ch.close()
    return bodies


def await_stream(url: str, timeout: float = 30.0) -> None:
    """Wait until the stream can be read again: for a moment after ``start_app`` RabbitMQ
    answers a consume with ``404 NOT_FOUND - home node '...' of durable queue 'rs.stream'
    in vhost '/' is down or inaccessible`` while the stream's member starts. (Reading
    from "next" and cancelling changes nothing the story observes.)"""
    deadline = time.monotonic() + timeout
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        while True:
            ch = conn.channel()
            ch.basic_qos(prefetch_count=1)
            try:
                tag = ch.basic_consume(
                    P + "stream", lambda *a: None, arguments={"x-stream-offset": "next"}
                )
            except pe.ChannelClosedByBroker as exc:
                if exc.reply_code != 404 or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
                continue
            ch.basic_cancel(tag)
            ch.close()
            return
    finally:
        conn.close()


def before(url: str) -> tuple[pika.BlockingConnection, pika.BlockingConnection]:
    """Declare, bind, publish, take some and leave them unacknowledged; the two
    connections stay open."""
    a = pika.BlockingConnection(pika.URLParameters(url))
    ch = a.channel()
    ch.confirm_delivery()
    for name, (kind, durable, auto_delete) in EXCHANGES.items():
        ch.exchange_declare(P + name, kind, durable=durable, auto_delete=auto_delete)
    for name, (durable, exclusive, auto_delete, arguments) in QUEUES.items():
        ch.queue_declare(
            P + name,
            durable=durable,
            exclusive=exclusive,
            auto_delete=auto_delete,
            arguments=arguments or None,
        )
    for exchange, queue, key in BINDINGS:
        ch.queue_bind(P + queue, P + exchange, key)
    ch.exchange_bind(P + "durable2", P + "durable", "e2e")

    def publish(exchange: str, key: str, body: str, mode: int, **kw: Any) -> None:
        ch.basic_publish(exchange, key, body.encode(), _props(mode, **kw))

    for body, mode in (("p1", 2), ("t1", 1), ("p2", 2), ("t2", 1), ("p3", 2)):
        publish("", P + "durable", body, mode, headers={"n": body}, content_type="text/plain")
    publish(P + "durable", "k", "routed-p", 2)  # to durable and transient
    publish(P + "durable", "k", "routed-t", 1)
    for queue in ("transient", "exclusive", "ad_used", "ad_idle", "orphan"):
        publish("", P + queue, f"{queue}-p", 2)
    publish("", P + "quorum", "qp1", 2)
    publish("", P + "quorum", "qt1", 1)
    publish(P + "durable", "e2e", "qt2", 1)  # through durable2 to the quorum queue
    publish("", P + "stream", "st1", 1)
    publish("", P + "stream", "sp1", 2)

    b = pika.BlockingConnection(pika.URLParameters(url))
    bch = b.channel()
    # three taken from the durable queue with basic.get, the first acked
    tags = []
    for _ in range(3):
        method = bch.basic_get(P + "durable", auto_ack=False)[0]
        assert method is not None
        tags.append(method.delivery_tag)
    bch.basic_ack(tags[0])
    # one taken from the quorum queue by a consumer, left unacked
    qch = b.channel()
    qch.basic_qos(prefetch_count=1)
    got: list[bytes] = []
    qch.basic_consume(P + "quorum", lambda c, m, p, body: got.append(body))
    # a consumer on the auto-delete queue, which takes its message and leaves it unacked
    qch.basic_consume(P + "ad_used", lambda c, m, p, body: got.append(body))
    deadline = time.monotonic() + 5
    while len(got) < 2 and time.monotonic() < deadline:
        b.process_data_events(time_limit=0.05)
    assert sorted(got) == [b"ad_used-p", b"qp1"], got
    return a, b


def after(url: str) -> Observation:
    """What a new client finds once the broker is back."""
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        seen: Observation = {
            "exchanges": {n: _passive(conn, "exchange", P + n) for n in EXCHANGES},
            "queues": {n: _passive(conn, "queue", P + n) for n in QUEUES},
        }
        messages: Observation = {}
        for name in QUEUES:
            if name != "stream" and isinstance(seen["queues"][name], dict):
                messages[name] = _drain(conn, P + name)
        messages["stream"] = _read_stream(conn, P + "stream")
        seen["messages"] = messages
        # where the bindings that are left route now
        ch = conn.channel()
        ch.confirm_delivery()
        routed: Observation = {}
        for exchange, key in (("durable", "k"), ("durable", "e2e"), ("ad_to_durable", "")):
            body = f"after-{exchange}-{key}"
            try:
                ch.basic_publish(P + exchange, key, body.encode(), PERSISTENT, mandatory=True)
                routed[f"{exchange}/{key}"] = "routed"
            except pe.UnroutableError:
                routed[f"{exchange}/{key}"] = "returned"
            except pe.ChannelClosedByBroker as exc:
                routed[f"{exchange}/{key}"] = [exc.reply_code, exc.reply_text]
                ch = conn.channel()
                ch.confirm_delivery()
        seen["routed"] = routed
        seen["queues_after_routing"] = {
            n: _passive(conn, "queue", P + n) for n in ("durable", "quorum", "orphan")
        }
        # clean up, so that the fake's session server and the node stay tidy
        cleanup = conn.channel()
        for name in QUEUES:
            cleanup.queue_delete(P + name)
        for name in EXCHANGES:
            cleanup.exchange_delete(P + name)
        return seen
    finally:
        with contextlib.suppress(Exception):
            conn.close()


def story(url: str, down: Callable[[], None], up: Callable[[], None]) -> Observation:
    a, b = before(url)
    down()
    observed: Observation = {
        "publisher_told": _close_seen(a),
        "consumer_told": _close_seen(b),
        "while_down": _refused(url),
    }
    up()
    observed["after"] = after(url)
    return observed
