"""Channels and the connection: channel.open and channel.flow, odd client methods,
channel numbers, tune values, protocol headers, server properties, login and vhost
failures.
"""

# Expected texts are RabbitMQ's exact reply texts; splitting them would hide them.
# ruff: noqa: E501

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Callable
from typing import Any

import pamqp.exceptions
import pamqp.frame
import pika
import pika.exceptions as pe
import pika.spec as spec

from ._base import Observation, Run, scenario, sync


@scenario(
    expected={
        "second_channel_open": {
            "connection_close": [504, "CHANNEL_ERROR - second 'channel.open' seen"]
        },
        "flow_inactive": {"connection_close": [540, "NOT_IMPLEMENTED - active=false"]},
        "flow_active": "ok",
        # basic.deliver carries content: the method after it is not the content header
        "client_sends_deliver": {
            "connection_close": [
                505,
                "UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead",
            ]
        },
        "channel_number_above_channel_max": [True, True],
        "tune": [2047, 131072, 60],
        "legacy_protocol_header": ["Connection.Start", [0, 9]],
        "server_properties": {
            "capabilities": {
                "publisher_confirms": True,
                "exchange_exchange_bindings": True,
                "basic.nack": True,
                "consumer_cancel_notify": True,
                "connection.blocked": True,
                "consumer_priorities": True,
                "authentication_failure_close": True,
                "per_consumer_qos": True,
                "direct_reply_to": True,
            },
            "keys": [
                "capabilities",
                "cluster_name",
                "copyright",
                "information",
                "platform",
                "product",
                "version",
            ],
            "product": "RabbitMQ",
            "version": "3.10.8",
        },
        "wrong_password": "ProbableAuthenticationError/AuthenticationError: 403 ACCESS_REFUSED - Login was "
        "refused using authentication mechanism PLAIN. For details see the broker logfile.",
        "missing_vhost": "ProbableAccessDeniedError: 530 NOT_ALLOWED - vhost ~novhost not found",
        "unknown_user": "ProbableAuthenticationError: 403 ACCESS_REFUSED - Login was refused using "
        "authentication mechanism PLAIN. For details see the broker logfile.",
    }
)
def channels_and_connection(run: Run) -> Observation:
    def second_open(ch: Any) -> None:
        ch._impl._send_method(spec.Channel.Open())
        sync(ch)

    def flow(active: bool) -> Callable[[Any], None]:
        def go(ch: Any) -> None:
            ch._impl._send_method(spec.Channel.Flow(active=active))
            sync(ch)

        return go

    def client_deliver(ch: Any) -> None:
        ch._impl._send_method(
            spec.Basic.Deliver(consumer_tag="x", delivery_tag=1, exchange="", routing_key="x")
        )
        sync(ch)

    obs: Observation = {
        "second_channel_open": run.attempt(second_open),
        "flow_inactive": run.attempt(flow(False)),
        "flow_active": run.attempt(flow(True)),
        "client_sends_deliver": run.attempt(client_deliver),
    }
    conn = run.connect()
    above = conn.channel(channel_number=4464)  # above channel_max 2047: not enforced
    obs["channel_number_above_channel_max"] = [above.is_open, conn.is_open]
    tuned = conn._impl.params  # pika takes the server's values (heartbeat) or the lower one
    obs["tune"] = [tuned.channel_max, tuned.frame_max, tuned.heartbeat]
    conn.close()
    obs["legacy_protocol_header"] = _first_frame(run.url, b"AMQP\x01\x01\x00\x09")
    props = dict(run.conn._impl.server_properties)
    obs["server_properties"] = {
        "capabilities": props["capabilities"],
        "keys": list(props),
        "product": props["product"],
        "version": props["version"],
    }
    params = pika.URLParameters(run.url)
    bad = pika.ConnectionParameters(
        host=params.host,
        port=params.port,
        credentials=pika.PlainCredentials(params.credentials.username, "wrong-password"),
        connection_attempts=1,
    )
    try:
        pika.BlockingConnection(bad).close()
        obs["wrong_password"] = "connected"
    except pe.ProbableAuthenticationError as exc:
        obs["wrong_password"] = f"ProbableAuthenticationError/AuthenticationError: {_reason(exc)}"
    except pe.AuthenticationError as exc:
        obs["wrong_password"] = f"ProbableAuthenticationError/AuthenticationError: {_reason(exc)}"
    unknown_user = pika.ConnectionParameters(
        host=params.host,
        port=params.port,
        credentials=pika.PlainCredentials("nobody", "x"),
        connection_attempts=1,
    )
    try:
        pika.BlockingConnection(unknown_user).close()
        obs["unknown_user"] = "connected"
    except pe.AMQPConnectionError as exc:
        obs["unknown_user"] = f"{type(exc).__name__}: {_reason(exc)}"
    novhost = pika.ConnectionParameters(
        host=params.host,
        port=params.port,
        virtual_host=run.name("novhost"),
        credentials=params.credentials,
        connection_attempts=1,
    )
    try:
        pika.BlockingConnection(novhost).close()
        obs["missing_vhost"] = "connected"
    except pe.ProbableAccessDeniedError as exc:
        obs["missing_vhost"] = f"ProbableAccessDeniedError: {_reason(exc)}"
    except pe.AMQPConnectionError as exc:
        obs["missing_vhost"] = f"{type(exc).__name__}: {_reason(exc)}"
    return obs


def _first_frame(url: str, protocol_header: bytes) -> Any:
    """Send ``protocol_header`` on a raw socket; the first frame back, as [name, fields]."""
    params = pika.URLParameters(url)
    data = b""
    with socket.create_connection((params.host, params.port), timeout=2) as sock:
        sock.sendall(protocol_header)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return ["hung up", data.decode("latin-1")]
            data += chunk
            with contextlib.suppress(pamqp.exceptions.UnmarshalingException):
                _n, _channel, frame = pamqp.frame.unmarshal(data)
                return [frame.name, [frame.version_major, frame.version_minor]]


_CLOSED_RE = re.compile(r"\((\d+)\) (['\"])(.*)\2$")


def _reason(exc: BaseException) -> str:
    """'<code> <text>' from a pika connection error (pika wraps the close as a string)."""
    code = getattr(exc, "reply_code", None)
    if code is not None:
        return f"{code} {getattr(exc, 'reply_text', '')}"
    for arg in exc.args:
        if isinstance(arg, BaseException):
            return _reason(arg)
        if isinstance(arg, str) and (m := _CLOSED_RE.search(arg)):
            return f"{m.group(1)} {m.group(3)}"
    return f"{type(exc).__name__}: {exc}"
