"""A blocking raw-socket AMQP client that can send anything, for bad-input tests.

Works the same against the fake's server and a real RabbitMQ node, so differential
tests compare what both answer to the same bytes.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pamqp import frame
from pamqp.commands import Channel, Connection

from amqpmock.wire.codec import PROTOCOL_HEADER, FrameReader, InboundFrame, MethodFrame

CAPABILITIES = {"authentication_failure_close": True, "connection.blocked": True}


@dataclass(frozen=True)
class Outcome:
    """What the server did: the Close it sent (if any) and whether it hung up."""

    close: tuple[int, str, int, int] | None
    hung_up: bool


class RawClient:
    def __init__(self, url: str, timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        self.reader = FrameReader(frame_max=0)
        self.raw = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, channel: int, *values: Any) -> None:
        self.send_bytes(b"".join(frame.marshal(v, channel) for v in values))

    def recv_raw(self, wait: float) -> tuple[bytes, bool]:
        """Bytes received within ``wait`` seconds, and whether the peer hung up."""
        data = b""
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                return data, True
            if not chunk:
                return data, True
            data += chunk
        return data, False

    def frames(self, wait: float = 1.0) -> tuple[list[InboundFrame], bool]:
        data, hung_up = self.recv_raw(wait)
        self.reader.feed(data)
        return list(self.reader), hung_up

    def expect(self, cls: type[Any], channel: int = 0, wait: float = 2.0) -> Any:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            got, hung_up = self.frames(0.05)
            for item in got:
                if isinstance(item, MethodFrame):
                    assert item.channel == channel and isinstance(item.method, cls), item
                    return item.method
            assert not hung_up, f"connection closed while waiting for {cls.__name__}"
        raise AssertionError(f"no {cls.__name__} within {wait}s")

    def handshake(
        self, heartbeat: int = 0, frame_max: int = 131072, channel_max: int = 2047
    ) -> None:
        self.send_bytes(PROTOCOL_HEADER)
        self.expect(Connection.Start)
        self.send(
            0,
            Connection.StartOk(
                client_properties={"capabilities": CAPABILITIES},
                mechanism="PLAIN",
                response="\0guest\0guest",
                locale="en_US",
            ),
        )
        self.expect(Connection.Tune)
        self.send(
            0,
            Connection.TuneOk(channel_max=channel_max, frame_max=frame_max, heartbeat=heartbeat),
            Connection.Open(virtual_host="/"),
        )
        self.expect(Connection.OpenOk)

    def open_channel(self, channel: int = 1) -> None:
        self.send(channel, Channel.Open())
        self.expect(Channel.OpenOk, channel)

    def first_reply(self, wait: float = 1.0) -> tuple[str, dict[str, Any]] | str:
        """The first method on channel 0 within ``wait``: (name, arguments); or
        'hung up' / 'nothing' when the server closed the socket or stayed silent."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            got, hung_up = self.frames(0.05)
            for item in got:
                if isinstance(item, MethodFrame) and item.channel == 0:
                    return item.method.name, dict(item.method)
            if hung_up:
                return "hung up"
        return "nothing"

    def outcome(self, wait: float = 1.0) -> Outcome:
        """The first Connection.Close within ``wait`` (other frames are skipped)."""
        close = None
        hung_up = False
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and close is None and not hung_up:
            got, hung_up = self.frames(0.05)
            for item in got:
                if isinstance(item, MethodFrame) and isinstance(item.method, Connection.Close):
                    m = item.method
                    close = (m.reply_code, m.reply_text, m.class_id, m.method_id)
                    break
        return Outcome(close, hung_up)
