"""In-memory client peers for the sans-IO protocol (as h11's ConnectionPair): no sockets.

A ``Wire`` is one ``Switchboard`` with a hand-moved clock; ``wire.client()`` accepts a
connection and returns the client end, which sends pamqp frames (or raw bytes) and
decodes what the server wrote with the same codec.
"""

from __future__ import annotations

from typing import Any

from pamqp import body, frame, header
from pamqp.commands import Basic, Channel, Connection

from amqpmock.fake import Broker
from amqpmock.wire.codec import (
    PROTOCOL_HEADER,
    BodyFrame,
    FrameReader,
    HeaderFrame,
    HeartbeatFrame,
    InboundFrame,
    MethodFrame,
)
from amqpmock.wire.protocol import AMQPConnection, ConnectionSettings, Switchboard

CAPABILITIES = {
    "authentication_failure_close": True,
    "connection.blocked": True,
    "consumer_cancel_notify": True,
    "publisher_confirms": True,
    "basic.nack": True,
}
START = 1_000.0


class Wire:
    def __init__(
        self, broker: Broker | None = None, settings: ConnectionSettings | None = None
    ) -> None:
        self.broker = broker if broker is not None else Broker()
        self.switchboard = Switchboard(self.broker, settings)
        self.now = START

    def client(self, host: str = "127.0.0.1") -> Client:
        conn = self.switchboard.connect(self.now, f"{host}:{len(self.switchboard.connections)}")
        return Client(self, conn)

    def advance(self, seconds: float) -> None:
        """Move time on, waking every deadline on the way as a real loop would."""
        target = self.now + seconds
        while True:
            deadline = self.switchboard.next_deadline()
            if deadline is None or deadline > target:
                break
            self.now = max(self.now, deadline)
            self.switchboard.handle_timeout(self.now)
        self.now = target
        self.switchboard.handle_timeout(self.now)


class Client:
    def __init__(self, wire: Wire, conn: AMQPConnection) -> None:
        self.wire = wire
        self.conn = conn
        self._reader = FrameReader(frame_max=0)  # 0: the client checks no size
        self._raw = b""

    # -- sending -----------------------------------------------------------------------

    def send_bytes(self, data: bytes) -> None:
        self.conn.receive_data(data, self.wire.now)

    def send(self, channel: int, *values: Any) -> None:
        self.send_bytes(b"".join(frame.marshal(v, channel) for v in values))

    def publish(
        self,
        channel: int,
        payload: bytes,
        routing_key: str = "q",
        exchange: str = "",
        properties: Basic.Properties | None = None,
        chunk: int = 0,
    ) -> None:
        parts = [
            frame.marshal(Basic.Publish(exchange=exchange, routing_key=routing_key), channel),
            frame.marshal(header.ContentHeader(0, len(payload), properties), channel),
        ]
        step = chunk or len(payload) or 1
        for start in range(0, len(payload), step):
            parts.append(frame.marshal(body.ContentBody(payload[start : start + step]), channel))
        self.send_bytes(b"".join(parts))

    # -- receiving ---------------------------------------------------------------------

    def raw(self) -> bytes:
        """Everything the server wrote since the last call, undecoded."""
        return self.conn.data_to_send()

    def frames(self) -> list[InboundFrame]:
        self._reader.feed(self.conn.data_to_send())
        return list(self._reader)

    def methods(self) -> list[tuple[int, Any]]:
        """(channel, pamqp method) for each method frame; content frames are skipped."""
        return [(f.channel, f.method) for f in self.frames() if isinstance(f, MethodFrame)]

    def one(self, cls: type[Any], channel: int = 0) -> Any:
        got = self.methods()
        assert len(got) == 1, f"expected one {cls.__name__}, got {got}"
        assert got[0][0] == channel and isinstance(got[0][1], cls), got
        return got[0][1]

    # -- the handshake ------------------------------------------------------------------

    def start(self, capabilities: dict[str, Any] | None = None) -> Connection.Start:
        self.send_bytes(PROTOCOL_HEADER)
        start: Connection.Start = self.one(Connection.Start)
        self.client_properties = {
            "capabilities": dict(CAPABILITIES if capabilities is None else capabilities)
        }
        return start

    def start_ok(self, response: str = "\0guest\0guest", mechanism: str = "PLAIN") -> None:
        self.send(
            0,
            Connection.StartOk(
                client_properties=self.client_properties,
                mechanism=mechanism,
                response=response,
                locale="en_US",
            ),
        )

    def open(
        self,
        *,
        heartbeat: int = 0,
        frame_max: int = 131072,
        channel_max: int = 2047,
        vhost: str = "/",
        capabilities: dict[str, Any] | None = None,
    ) -> Client:
        self.start(capabilities)
        self.start_ok()
        self.one(Connection.Tune)
        self.send(
            0,
            Connection.TuneOk(channel_max=channel_max, frame_max=frame_max, heartbeat=heartbeat),
            Connection.Open(virtual_host=vhost),
        )
        self.one(Connection.OpenOk)
        return self

    def open_channel(self, channel: int = 1) -> None:
        self.send(channel, Channel.Open())
        self.one(Channel.OpenOk, channel)


def content_frames(frames: list[InboundFrame]) -> list[HeaderFrame | BodyFrame]:
    return [f for f in frames if isinstance(f, HeaderFrame | BodyFrame)]


def heartbeats(frames: list[InboundFrame]) -> int:
    return sum(isinstance(f, HeartbeatFrame) for f in frames)
