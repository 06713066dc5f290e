"""The broker core: a pure, synchronous, deterministic fake of RabbitMQ (rules in ``_broker``).

Imports only ``amqpmock.errors``, ``amqpmock.fieldtypes`` (values that remember their
field type), pamqp and the standard library: no asyncio, sockets, threads or wall clocks,
and nothing of the adapters (wire, proxy, replay, view, testing).
"""

from amqpmock.fake._broker import NO_PASSWORD, Broker
from amqpmock.fake._connection import CoreConnection
from amqpmock.fake._state import DIRECT_REPLY_TO, Channel, VHost, copy_properties
from amqpmock.fake.client import (
    ChannelClosed,
    ConnectionClosed,
    Delivery,
    LocalChannel,
    LocalClient,
)
from amqpmock.fake.clock import Clock, VirtualClock
from amqpmock.fake.commands import CloseTransport, Command, SendContent, SendMethod
from amqpmock.fake.model import Consumer, Entry, Exchange, Message, Queue

__all__ = [
    "DIRECT_REPLY_TO",
    "NO_PASSWORD",
    "Broker",
    "Channel",
    "ChannelClosed",
    "Clock",
    "CloseTransport",
    "Command",
    "ConnectionClosed",
    "Consumer",
    "CoreConnection",
    "Delivery",
    "Entry",
    "Exchange",
    "LocalChannel",
    "LocalClient",
    "Message",
    "Queue",
    "SendContent",
    "SendMethod",
    "VHost",
    "VirtualClock",
    "copy_properties",
]
