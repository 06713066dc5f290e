"""What the broker core tells its adapter to do (imperative, as mitmproxy's commands).

The core never touches a socket. After any call into it, the adapter takes the pending
commands of every connection the call touched (``Broker.take_output()``) and carries
them out in order: encode a method, encode a method with content (split at the
connection's frame_max by the codec), or close the transport.
"""

from __future__ import annotations

from dataclasses import dataclass

from pamqp import base
from pamqp.commands import Basic


@dataclass(frozen=True, slots=True)
class SendMethod:
    """Send one method frame (no content) on ``channel``."""

    channel: int
    method: base.Frame


@dataclass(frozen=True, slots=True)
class SendContent:
    """Send a content-bearing method (Basic.Deliver, GetOk, Return) with its content."""

    channel: int
    method: base.Frame
    properties: Basic.Properties
    body: bytes


@dataclass(frozen=True, slots=True)
class CloseTransport:
    """The AMQP connection is over (CloseOk exchanged): close the socket."""


Command = SendMethod | SendContent | CloseTransport
