"""What the broker core tells its adapter to do (imperative, as mitmproxy's commands).

The core never touches a socket. After any call into it, the adapter takes the pending
commands of every connection the call touched (``Broker.take_output()``) and carries
them out in order: encode a method, encode a method with content (split at the
connection's frame_max by the codec), or close the transport.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pamqp import base
from pamqp.commands import Basic

F = TypeVar("F", bound=base.Frame)
_DEFAULTS: dict[type[base.Frame], base.Frame] = {}


def build(cls: type[F], **fields: Any) -> F:
    """``cls(**fields)``, even when pamqp's name check refuses a name RabbitMQ takes.

    pamqp checks exchange and queue names against ``^[a-zA-Z0-9-_.:@#,/+ ]*$`` (what a
    client should send); RabbitMQ takes any short string (``a.b~c``, ``é``). The broker
    must answer with whatever names it was given, so when the check fails the method is
    built without it (encoding does not check either)."""
    try:
        return cls(**fields)
    except ValueError:
        defaults = _DEFAULTS.get(cls)
        if defaults is None:
            defaults = _DEFAULTS[cls] = cls()
        value = cls.__new__(cls)
        for name in cls.__slots__:
            setattr(value, name, fields.get(name, getattr(defaults, name)))
        return value


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
