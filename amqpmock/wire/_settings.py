"""What the server offers in the connection handshake and how long it waits: RabbitMQ
3.10.8's server properties and defaults, and its checks of what a client negotiates.

Private to ``amqpmock.wire``: ``protocol`` re-exports the public names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from amqpmock.wire._sasl import MECHANISMS, SaslSession
from amqpmock.wire.codec import FRAME_MAX

# What RabbitMQ 3.10.8 advertises in Connection.Start, in its wire order.
SERVER_PROPERTIES: dict[str, Any] = {
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
    "cluster_name": "rabbit@localhost",
    "copyright": "Copyright (c) 2007-2022 VMware, Inc. or its affiliates.",
    "information": "Licensed under the MPL 2.0. Website: https://rabbitmq.com",
    "platform": "Erlang/OTP 25.2.3",
    "product": "RabbitMQ",
    "version": "3.10.8",
}


@dataclass(frozen=True)
class ConnectionSettings:
    """What the server offers and how long it waits; RabbitMQ 3.10.8's defaults."""

    channel_max: int = 2047
    frame_max: int = FRAME_MAX
    heartbeat: int = 60
    server_properties: Mapping[str, Any] = field(default_factory=lambda: dict(SERVER_PROPERTIES))
    mechanisms: Mapping[str, Callable[[], SaslSession]] = field(
        default_factory=lambda: dict(MECHANISMS)
    )
    locales: str = "en_US"
    # RabbitMQ's ?SILENT_CLOSE_DELAY: a failed handshake or a broken frame stream gets the
    # socket closed this long after (so a client cannot hammer logins).
    silent_close_delay: float = 3.0
    # RabbitMQ's handshake_timeout (10 s): the connection must be open by then.
    handshake_timeout: float = 10.0
    # RabbitMQ's ?CLOSING_TIMEOUT: how long to wait for Connection.CloseOk at most.
    closing_timeout: float = 30.0
    # RabbitMQ's loopback_users: these users may log in only from a loopback address
    # (refused as a wrong password is, elsewhere). Empty: anyone from anywhere.
    loopback_users: frozenset[str] = frozenset({"guest"})


def _negotiation_problem(name: str, value: int, maximum: int, minimum: int) -> str:
    """RabbitMQ refuses a TuneOk value above the server's (0 means unlimited) or too low."""
    if maximum and (value == 0 or value > maximum):
        shown = f"{value} (no limit)" if value == 0 else str(value)
        return f"negotiated {name} = {shown} is higher than the maximum allowed value ({maximum})"
    if value < minimum:
        return f"negotiated {name} = {value} is lower than the minimum allowed value ({minimum})"
    return ""
