"""The same bytes to real RabbitMQ 3.10.8 and to the fake: the same answer.

Each case sends something after (or instead of) a handshake and records the first
thing the server does on channel 0. The expected values were observed on RabbitMQ
3.10.8; the ``rabbitmq`` runs check they still hold there, the ``amqpmock`` runs check
the fake's wire server gives the same.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pamqp import body, encode, header
from pamqp.commands import Basic, Channel, Connection, Queue

from amqpmock.testing.rabbitmq import RabbitMQNode
from amqpmock.wire.codec import PROTOCOL_HEADER, HeaderFrame, MethodFrame
from amqpmock.wire.server import ServerThread

from .rawclient import RawClient


@pytest.fixture(scope="module")
def amqpmock_server() -> Iterator[ServerThread]:
    with ServerThread() as srv:
        yield srv


@pytest.fixture
def url(request: pytest.FixtureRequest) -> str:
    if request.param == "rabbitmq":
        node: RabbitMQNode = request.getfixturevalue("rabbitmq_node")
        return node.url
    server: ServerThread = request.getfixturevalue("amqpmock_server")
    return server.url


def close(code: int, text: str, class_id: int = 0, method_id: int = 0) -> tuple[str, Any]:
    return (
        "Connection.Close",
        {"reply_code": code, "reply_text": text, "class_id": class_id, "method_id": method_id},
    )


def _method(method: Any) -> bytes:
    """A method frame's payload: class and method ids, then the arguments."""
    return struct.pack(">I", method.index) + bytes(method.marshal())


def opened(c: RawClient) -> None:
    c.handshake()
    c.open_channel(1)


def raw(frame_type: int, channel: int, payload: bytes, end: int = 0xCE) -> bytes:
    return struct.pack(">BHI", frame_type, channel, len(payload)) + payload + bytes([end])


def _start_ok(mechanism: str, response: str, caps: dict[str, Any]) -> Callable[[RawClient], None]:
    def run(c: RawClient) -> None:
        c.send_bytes(PROTOCOL_HEADER)
        c.expect(Connection.Start)
        c.send(
            0,
            Connection.StartOk(
                client_properties={"capabilities": caps},
                mechanism=mechanism,
                response=response,
                locale="en_US",
            ),
        )

    return run


def _tuned(c: RawClient) -> None:
    """The handshake up to TuneOk, without Connection.Open."""
    c.send_bytes(PROTOCOL_HEADER)
    c.expect(Connection.Start)
    c.send(
        0,
        Connection.StartOk(
            client_properties={}, mechanism="PLAIN", response="\0guest\0guest", locale="en_US"
        ),
    )
    c.expect(Connection.Tune)
    c.send(0, Connection.TuneOk(channel_max=2047, frame_max=131072, heartbeat=0))


def _open_vhost(vhost: str) -> Callable[[RawClient], None]:
    def run(c: RawClient) -> None:
        _tuned(c)
        c.send(0, Connection.Open(virtual_host=vhost))

    return run


def _channel_max_2(c: RawClient) -> None:
    c.handshake(channel_max=2)
    c.open_channel(1)
    c.open_channel(2)
    c.send(3, Channel.Open())


def _start_ok_string_past_its_table(c: RawClient) -> None:
    # client_properties declares 10 octets, but its longstr claims 100
    c.send_bytes(PROTOCOL_HEADER)
    c.expect(Connection.Start)
    table = b"\x01kS" + struct.pack(">I", 100) + b"abc"
    args = struct.pack(">I", len(table)) + table
    args += b"\x05PLAIN" + struct.pack(">I", 12) + b"\0guest\0guest" + b"\x05en_US"
    c.send_bytes(raw(1, 0, struct.pack(">HH", 10, 11) + args))


AUTH_CAP = {"authentication_failure_close": True}
REFUSED = (
    "ACCESS_REFUSED - Login was refused using authentication mechanism {}. "
    "For details see the broker logfile."
)

# name -> (what the client does, what RabbitMQ 3.10.8 answered first on channel 0)
CASES: dict[str, tuple[Callable[[RawClient], None], Any]] = {
    "wrong password, PLAIN": (
        _start_ok("PLAIN", "\0guest\0bad", AUTH_CAP),
        close(403, REFUSED.format("PLAIN")),
    ),
    "wrong password, AMQPLAIN": (
        _start_ok(
            "AMQPLAIN",
            encode.field_table({"LOGIN": "guest", "PASSWORD": "bad"})[4:].decode(),
            AUTH_CAP,
        ),
        close(403, REFUSED.format("AMQPLAIN")),
    ),
    "wrong password without the capability": (
        _start_ok("PLAIN", "\0guest\0bad", {}),
        "nothing",
    ),
    "unknown mechanism": (_start_ok("FOO", "", AUTH_CAP), "nothing"),
    "missing vhost": (
        _open_vhost("novhost"),
        close(530, "NOT_ALLOWED - vhost novhost not found", 10, 40),
    ),
    "client close": (
        lambda c: (
            c.handshake(),
            c.send(0, Connection.Close(reply_code=200, reply_text="bye", class_id=0, method_id=0)),
        ),
        ("Connection.CloseOk", {}),
    ),
    "update secret": (
        lambda c: (c.handshake(), c.send(0, Connection.UpdateSecret(new_secret="x", reason="r"))),
        ("Connection.UpdateSecretOk", {}),
    ),
    "oversized frame": (
        lambda c: (c.handshake(), c.send_bytes(struct.pack(">BHI", 1, 0, 200000) + b"x" * 10)),
        close(501, "FRAME_ERROR - type 1, all octets = <<>>: {frame_too_large,200000,131064}"),
    ),
    "body frame of exactly frame_max octets is accepted": (
        lambda c: (
            opened(c),
            c.send(1, Basic.Publish(routing_key="q"), header.ContentHeader(0, 131072)),
            c.send_bytes(raw(3, 1, b"x" * 131072)),
            c.send(0, Connection.Close(reply_code=200, reply_text="", class_id=0, method_id=0)),
        ),
        ("Connection.CloseOk", {}),
    ),
    "method on an unopened channel": (
        lambda c: (c.handshake(), c.send(3, Basic.Qos(prefetch_count=1))),
        close(504, "CHANNEL_ERROR - expected 'channel.open'", 60, 10),
    ),
    "second channel.open": (
        lambda c: (opened(c), c.send(1, Channel.Open())),
        close(504, "CHANNEL_ERROR - second 'channel.open' seen", 20, 10),
    ),
    "body on an unopened channel": (
        lambda c: (c.handshake(), c.send(3, body.ContentBody(b"abc"))),
        close(505, "UNEXPECTED_FRAME - expected method frame, got non method frame instead"),
    ),
    "header without publish": (
        lambda c: (opened(c), c.send(1, header.ContentHeader(0, 3, Basic.Properties()))),
        close(505, "UNEXPECTED_FRAME - expected method frame, got non method frame instead"),
    ),
    "publish then a method": (
        lambda c: (opened(c), c.send(1, Basic.Publish(routing_key="q"), Basic.Qos())),
        close(
            505,
            "UNEXPECTED_FRAME - expected content header for class 60, "
            "got non content header frame instead",
            60,
            40,
        ),
    ),
    "publish, header, then a method": (
        lambda c: (
            opened(c),
            c.send(
                1,
                Basic.Publish(routing_key="q"),
                header.ContentHeader(0, 3, Basic.Properties()),
                Basic.Qos(),
            ),
        ),
        close(
            505,
            "UNEXPECTED_FRAME - expected content body, got non content body frame instead",
            60,
            40,
        ),
    ),
    "heartbeat on channel 1": (
        lambda c: (c.handshake(), c.send_bytes(raw(8, 1, b""))),
        close(505, "UNEXPECTED_FRAME - type 8, all octets = <<>>"),
    ),
    "body on channel 0": (
        lambda c: (c.handshake(), c.send(0, body.ContentBody(b"abc"))),
        close(505, 'UNEXPECTED_FRAME - type 3, all octets = <<"abc">>'),
    ),
    "header on channel 0": (
        lambda c: (c.handshake(), c.send(0, header.ContentHeader(0, 3, Basic.Properties()))),
        close(505, "UNEXPECTED_FRAME - type 2, all octets = <<0,60,0,0,0,0,0,0,0,0,0,3,0,0>>"),
    ),
    "channel.open on channel 0": (
        lambda c: (c.handshake(), c.send(0, Channel.Open())),
        close(504, "CHANNEL_ERROR - unexpected method in connection state running", 20, 10),
    ),
    "tune-ok when running": (
        lambda c: (c.handshake(), c.send(0, Connection.TuneOk())),
        close(504, "CHANNEL_ERROR - unexpected method in connection state running", 10, 31),
    ),
    "bad frame end": (
        lambda c: (c.handshake(), c.send_bytes(raw(1, 0, b"\x00\x0a\x00\x32", end=0))),
        close(
            501, "FRAME_ERROR - type 1, all octets = <<0,10,0,50>>: {invalid_frame_end_marker,0}"
        ),
    ),
    "bad frame end, wrapped reason": (
        lambda c: (c.handshake(), c.send_bytes(raw(1, 0, bytes(12), end=10))),
        close(
            501,
            "FRAME_ERROR - type 1, all octets = <<0,0,0,0,0,0,0,0,0,0,0,0>>: "
            "{invalid_frame_end_marker,\n" + " " * 51 + "10}",
        ),
    ),
    "unknown frame type": (
        lambda c: (c.handshake(), c.send_bytes(raw(5, 0, b"abc"))),
        close(501, 'FRAME_ERROR - type 5, all octets = <<"abc">>: unknown_frame'),
    ),
    "garbage": (
        lambda c: (c.handshake(), c.send_bytes(b"\xde\xad\xbe\xef" * 20)),
        close(
            501, "FRAME_ERROR - type 222, all octets = <<>>: {frame_too_large,4024348094,131064}"
        ),
    ),
    "undecodable arguments": (
        lambda c: (
            opened(c),
            c.send_bytes(raw(1, 1, struct.pack(">HH", 50, 10) + b"\x00\x00\x05ex")),
        ),
        close(501, "FRAME_ERROR - cannot decode <<0,0,5,101,120>>", 50, 10),
    ),
    "arguments table longer than the frame": (
        lambda c: (
            opened(c),
            c.send_bytes(
                raw(
                    1,
                    1,
                    struct.pack(">HH", 50, 10)
                    + b"\x00\x00\x01q\x00"
                    + struct.pack(">I", 100)
                    + b"\x01aV",
                )
            ),
        ),
        close(501, "FRAME_ERROR - cannot decode <<0,0,1,113,0,0,0,0,100,1,97,86>>", 50, 10),
    ),
    "unknown field type in arguments": (
        lambda c: (
            opened(c),
            c.send_bytes(
                raw(
                    1,
                    1,
                    struct.pack(">HH", 50, 10)
                    + b"\x00\x00\x01q\x00"
                    + struct.pack(">I", 3)
                    + b"\x01aZ",
                )
            ),
        ),
        "hung up",
    ),
    "unknown method": (
        lambda c: (opened(c), c.send_bytes(raw(1, 1, struct.pack(">HH", 60, 99)))),
        "hung up",
    ),
    # RabbitMQ's decoders want the arguments to end where the frame ends
    "octets after a method's arguments": (
        lambda c: (
            opened(c),
            c.send_bytes(raw(1, 1, _method(Basic.Qos(prefetch_count=1)) + b"\0\0")),
        ),
        close(501, "FRAME_ERROR - cannot decode <<0,0,0,0,0,1,0,0,0>>", 60, 10),
    ),
    "an octet after an ack's arguments": (
        lambda c: (opened(c), c.send_bytes(raw(1, 1, _method(Basic.Ack(delivery_tag=0)) + b"\1"))),
        close(501, "FRAME_ERROR - cannot decode <<0,0,0,0,0,0,0,0,0,1>>", 60, 80),
    ),
    "octets after a declare's arguments table": (
        lambda c: (opened(c), c.send_bytes(raw(1, 1, _method(Queue.Declare(queue="q")) + b"abc"))),
        close(501, "FRAME_ERROR - cannot decode <<0,0,1,113,0,0,0,0,0,97,98,99>>", 50, 10),
    ),
    "an octet after a publish's arguments": (
        lambda c: (
            opened(c),
            c.send_bytes(raw(1, 1, _method(Basic.Publish(routing_key="nq")) + b"\7")),
            c.send(1, header.ContentHeader(0, 0, Basic.Properties())),
        ),
        close(501, "FRAME_ERROR - cannot decode <<0,0,0,2,110,113,0,7>>", 60, 40),
    ),
    "octets after a content header's properties": (
        lambda c: (
            opened(c),
            c.send(1, Basic.Publish(routing_key="nq")),
            c.send_bytes(raw(2, 1, struct.pack(">HHQH", 60, 0, 0, 0) + b"\1\2")),
        ),
        close(541, "INTERNAL_ERROR"),
    ),
    # after TuneOk and before Connection.Open, errors get Connection.Close (issue #13)
    "bad frame end after tune-ok": (
        lambda c: (_tuned(c), c.send_bytes(raw(1, 0, b"\x00\x0a\x00\x32", end=0))),
        close(
            501, "FRAME_ERROR - type 1, all octets = <<0,10,0,50>>: {invalid_frame_end_marker,0}"
        ),
    ),
    "garbage after tune-ok": (
        lambda c: (_tuned(c), c.send_bytes(b"\xde\xad\xbe\xef" * 20)),
        close(
            501, "FRAME_ERROR - type 222, all octets = <<>>: {frame_too_large,4024348094,131064}"
        ),
    ),
    "channel.open before connection.open": (
        lambda c: (_tuned(c), c.send(1, Channel.Open())),
        close(505, "UNEXPECTED_FRAME - type 1, all octets = <<0,20,0,10,1,48>>"),
    ),
    "heartbeat on channel 1 after tune-ok": (
        lambda c: (_tuned(c), c.send_bytes(raw(8, 1, b""))),
        close(505, "UNEXPECTED_FRAME - type 8, all octets = <<>>"),
    ),
    "body on channel 0 after tune-ok": (
        lambda c: (_tuned(c), c.send_bytes(raw(3, 0, b"abc"))),
        close(505, 'UNEXPECTED_FRAME - type 3, all octets = <<"abc">>'),
    ),
    "tune-ok twice": (
        lambda c: (
            _tuned(c),
            c.send(0, Connection.TuneOk(channel_max=2047, frame_max=131072, heartbeat=0)),
        ),
        close(504, "CHANNEL_ERROR - unexpected method in connection state opening", 10, 31),
    ),
    # refused silently (the socket closes a while later): no Tune, unlike before
    "start-ok with a string running past its table": (_start_ok_string_past_its_table, "nothing"),
    "channel_max reached": (
        _channel_max_2,
        close(
            530,
            "NOT_ALLOWED - number of channels opened (2) has reached "
            "the negotiated channel_max (2)",
        ),
    ),
}


def _broker_params() -> list[Any]:
    return [
        pytest.param("rabbitmq", marks=pytest.mark.rabbitmq),
        pytest.param("amqpmock"),
    ]


@pytest.mark.parametrize("url", _broker_params(), indirect=True)
@pytest.mark.parametrize("case", list(CASES))
def test_first_reply_matches_rabbitmq(url: str, case: str) -> None:
    action, expected = CASES[case]
    with RawClient(url) as c:
        action(c)
        got = c.first_reply(1.0)
    assert got == expected


@pytest.mark.parametrize("url", _broker_params(), indirect=True)
@pytest.mark.parametrize(
    "head", [b"AMQP\x00\x00\x09\x00", b"AMQP\x00\x01\x00\x00", b"GET / HTTP/1.1\r\n\r\n"]
)
def test_wrong_header_gets_the_server_header_and_a_hang_up(url: str, head: bytes) -> None:
    with RawClient(url) as c:
        c.send_bytes(head)
        data, hung_up = c.recv_raw(2)
    assert data == PROTOCOL_HEADER
    assert hung_up


@pytest.mark.parametrize("url", _broker_params(), indirect=True)
def test_start_matches_rabbitmq(url: str) -> None:
    with RawClient(url) as c:
        c.send_bytes(PROTOCOL_HEADER)
        start = c.expect(Connection.Start)
    props = dict(start.server_properties)
    props.pop("cluster_name")  # the node's name
    assert props == {
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
        "copyright": "Copyright (c) 2007-2022 VMware, Inc. or its affiliates.",
        "information": "Licensed under the MPL 2.0. Website: https://rabbitmq.com",
        "platform": "Erlang/OTP 25.2.3",
        "product": "RabbitMQ",
        "version": "3.10.8",
    }
    assert list(start.server_properties) == [
        "capabilities",
        "cluster_name",
        "copyright",
        "information",
        "platform",
        "product",
        "version",
    ]
    assert (start.mechanisms, start.locales) == ("PLAIN AMQPLAIN", "en_US")


def _properties(flags: int, *values: bytes) -> bytes:
    return struct.pack(">H", flags) + b"".join(values)


def _short(text: bytes) -> bytes:
    return bytes([len(text)]) + text


def _table_octets(*items: tuple[bytes, bytes]) -> bytes:
    raw = b"".join(_short(key) + value for key, value in items)
    return struct.pack(">I", len(raw)) + raw


# Property lists as clients may encode them; RabbitMQ hands each on octet for octet.
PROPERTY_OCTETS = {
    "an empty content_type with its flag set": _properties(
        0x8000 | 0x0080, _short(b""), _short(b"m")
    ),
    "header keys out of order, narrow integer types": _properties(
        0x2000 | 0x1000,
        _table_octets(
            (b"zeta", b"b" + struct.pack(">b", -5)),
            (b"alpha", b"s" + struct.pack(">h", 300)),
            (b"mid", b"I" + struct.pack(">i", 7)),
        ),
        b"\x02",
    ),
    "timestamp, priority, ids": _properties(
        0x0800 | 0x0400 | 0x0100 | 0x0040 | 0x0008,
        b"\x09",
        _short(b"corr-1"),
        _short(b"60000"),
        struct.pack(">Q", 1_700_000_000),
        _short(b"app"),
    ),
}


@pytest.mark.parametrize("url", _broker_params(), indirect=True)
@pytest.mark.parametrize("case", list(PROPERTY_OCTETS))
def test_message_properties_are_passed_on_octet_for_octet(url: str, case: str) -> None:
    wire = PROPERTY_OCTETS[case]
    with RawClient(url) as c:
        opened(c)
        c.send(1, Queue.Declare(queue="", exclusive=True))
        queue = c.expect(Queue.DeclareOk, 1).queue
        c.send(1, Basic.Publish(routing_key=queue))
        c.send_bytes(raw(2, 1, struct.pack(">HHQ", 60, 0, 3) + wire) + raw(3, 1, b"abc"))
        c.send(1, Basic.Get(queue=queue, no_ack=True))
        seen: list[Any] = []
        for _ in range(40):
            frames, hung_up = c.frames(0.05)
            seen += frames
            if any(isinstance(f, HeaderFrame) for f in seen) or hung_up:
                break
    methods = [type(f.method).__name__ for f in seen if isinstance(f, MethodFrame)]
    (head,) = [f for f in seen if isinstance(f, HeaderFrame)]
    assert methods == ["GetOk"]
    assert head.payload[12:] == wire


@pytest.mark.parametrize("url", _broker_params(), indirect=True)
def test_channel_open_ok_octets_match_rabbitmq(url: str) -> None:
    # issue #14 item 1: the fake wrote the reserved longstr as "0" (9 octets of payload);
    # RabbitMQ writes it empty, and @cloudamqp/amqp-client depends on exactly that
    with RawClient(url) as c:
        c.handshake()
        c.send(1, Channel.Open())
        data = b""
        for _ in range(40):
            chunk, hung_up = c.recv_raw(0.05)
            data += chunk
            if len(data) >= 16 or hung_up:
                break
    assert data.hex(" ") == "01 00 01 00 00 00 08 00 14 00 0b 00 00 00 00 ce"


@pytest.mark.parametrize("url", _broker_params(), indirect=True)
def test_crossing_closes_get_close_ok(url: str) -> None:
    # issue #14 item 3: the server has sent Connection.Close (504 here) and the client
    # answers with its own Close instead of CloseOk: RabbitMQ replies CloseOk
    with RawClient(url) as c:
        c.handshake()
        c.send(3, Basic.Qos(prefetch_count=1))
        first = c.first_reply(2.0)
        assert first == close(504, "CHANNEL_ERROR - expected 'channel.open'", 60, 10)
        c.send(0, Connection.Close(reply_code=200, reply_text="", class_id=0, method_id=0))
        assert c.first_reply(2.0) == ("Connection.CloseOk", {})
