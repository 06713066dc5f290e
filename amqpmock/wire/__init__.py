"""The AMQP adapter: bytes <-> frames (``codec``), the sans-IO connection state machine
(``protocol``), and the asyncio server and its loop thread (``server``, ``loopthread``).

May import the core (``amqpmock.fake``), ``errors``, ``fieldtypes`` and ``clocks``;
never ``proxy``, ``cassette``, ``replay``, ``view`` or ``testing``.
"""

from amqpmock.wire.protocol import AMQPConnection, ConnectionSettings, Switchboard
from amqpmock.wire.server import AMQPServer, MonotonicClock, ServerThread

__all__ = [
    "AMQPConnection",
    "AMQPServer",
    "ConnectionSettings",
    "MonotonicClock",
    "ServerThread",
    "Switchboard",
]
