"""The broker core: a pure, synchronous fake of RabbitMQ (see broker.py's rules)."""

from amqpmock.fake._broker import DIRECT_REPLY_TO, Broker, Channel, CoreConnection, VHost, copy_properties
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
