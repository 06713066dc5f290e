"""The frame codec: cutting, size limits, RabbitMQ's error texts, content assembly."""

from __future__ import annotations

import datetime
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pamqp import body, frame, header
from pamqp.commands import Basic, Channel, Queue

from amqpmock.errors import AMQPError
from amqpmock.fake import copy_properties
from amqpmock.wire.codec import (
    AssembledMethod,
    BadFrame,
    BodyFrame,
    ContentAssembler,
    Float32,
    FrameReader,
    HeaderFrame,
    HeartbeatFrame,
    Int8,
    Int16,
    Int32,
    MethodFrame,
    UInt8,
    UInt16,
    UInt32,
    UnknownMethod,
    encode_content,
    encode_heartbeat,
    encode_method,
    encode_table,
    erlang_binary_p,
    erlang_binary_w,
    truncate_reply_text,
)


def raw_frame(frame_type: int, channel: int, payload: bytes, end: int = 0xCE) -> bytes:
    return struct.pack(">BHI", frame_type, channel, len(payload)) + payload + bytes([end])


def read_all(data: bytes, frame_max: int = 131072) -> list[object]:
    reader = FrameReader(frame_max=frame_max)
    reader.feed(data)
    return list(reader)


# -- cutting the stream ----------------------------------------------------------------


def test_frames_come_out_whole_however_the_bytes_are_split() -> None:
    stream = (
        encode_method(1, Queue.Declare(queue="q1", durable=True))
        + encode_heartbeat()
        + encode_content(1, Basic.Publish(routing_key="q1"), Basic.Properties(), b"x" * 10)
    )
    reader = FrameReader(frame_max=131072)
    got = []
    for i in range(len(stream)):  # one byte at a time
        reader.feed(stream[i : i + 1])
        got.extend(reader)
    assert [type(f) for f in got] == [
        MethodFrame,
        HeartbeatFrame,
        MethodFrame,
        HeaderFrame,
        BodyFrame,
    ]
    declare = got[0]
    assert isinstance(declare, MethodFrame) and declare.channel == 1
    assert isinstance(declare.method, Queue.Declare)
    assert declare.method.queue == "q1" and declare.method.durable is True
    assert got[-1] == BodyFrame(1, b"x" * 10)
    assert reader.buffered == 0


def test_partial_frame_waits_for_the_rest() -> None:
    data = encode_method(3, Channel.Open())
    reader = FrameReader()
    reader.feed(data[:-1])
    assert reader.read_frame() is None
    reader.feed(data[-1:])
    item = reader.read_frame()
    assert isinstance(item, MethodFrame) and item.channel == 3
    assert isinstance(item.method, Channel.Open)
    assert reader.read_frame() is None


def test_protocol_header_needs_eight_octets() -> None:
    reader = FrameReader()
    reader.feed(b"AMQP\x00\x00")
    assert reader.read_protocol_header() is None
    reader.feed(b"\x09\x01" + encode_heartbeat())
    assert reader.read_protocol_header() == b"AMQP\x00\x00\x09\x01"
    assert reader.read_frame() == HeartbeatFrame(0)


# -- frame_max ------------------------------------------------------------------------


def test_payload_up_to_frame_max_is_accepted_as_rabbitmq_does() -> None:
    # RabbitMQ allows 8 octets of slack: a payload of exactly frame_max is fine
    got = read_all(raw_frame(3, 1, b"a" * 4096), frame_max=4096)
    assert got == [BodyFrame(1, b"a" * 4096)]


def test_frame_larger_than_frame_max_is_501_and_stops_the_reader() -> None:
    reader = FrameReader(frame_max=131072)
    # only the frame header has arrived: RabbitMQ refuses it before reading the payload
    reader.feed(struct.pack(">BHI", 1, 0, 200000) + b"x" * 100)
    bad = reader.read_frame()
    assert isinstance(bad, BadFrame) and not bad.in_sync
    assert bad.error.reply_code == 501
    assert bad.error.reply_text == (
        "FRAME_ERROR - type 1, all octets = <<>>: {frame_too_large,200000,131064}"
    )
    reader.feed(encode_heartbeat())
    assert reader.read_frame() is None  # out of sync for good


def test_garbage_reads_as_a_huge_frame_like_rabbitmq() -> None:
    (bad,) = read_all(b"\xde\xad\xbe\xef" * 20)
    assert isinstance(bad, BadFrame)
    assert bad.channel == 0xADBE
    assert bad.error.reply_text == (
        "FRAME_ERROR - type 222, all octets = <<>>: {frame_too_large,4024348094,131064}"
    )


# -- RabbitMQ's error texts ------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "end", "text"),
    [
        # every expected text below was returned by RabbitMQ 3.10.8
        (
            b"\x00\x0a\x00\x32",
            0,
            "type 1, all octets = <<0,10,0,50>>: {invalid_frame_end_marker,0}",
        ),
        (
            b"a" * 300,
            0,
            'type 1, first 16 octets = <<"aaaaaaaaaaaaaaaa">>: {invalid_frame_end_marker,0}',
        ),
        (
            bytes(12),
            0,
            "type 1, all octets = <<0,0,0,0,0,0,0,0,0,0,0,0>>: {invalid_frame_end_marker,0}",
        ),
        (
            bytes(12),
            10,
            "type 1, all octets = <<0,0,0,0,0,0,0,0,0,0,0,0>>: {invalid_frame_end_marker,\n"
            + " " * 51
            + "10}",
        ),
        (
            bytes(range(100)),
            0,
            "type 1, first 16 octets = <<0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15>>: "
            "{invalid_frame_end_marker,\n" + " " * 70 + "0}",
        ),
        (b'ab"\\c\n', 0, 'type 1, all octets = <<"ab\\"\\\\c\\n">>: {invalid_frame_end_marker,0}'),
        (
            b"\x08\x09\x0a\x0b\x0c\x0d\x1b",
            0,
            'type 1, all octets = <<"\\b\\t\\n\\v\\f\\r\\e">>: {invalid_frame_end_marker,0}',
        ),
        (b"a\x00b", 0, "type 1, all octets = <<97,0,98>>: {invalid_frame_end_marker,0}"),
    ],
)
def test_bad_frame_end_texts_match_rabbitmq(payload: bytes, end: int, text: str) -> None:
    (bad,) = read_all(raw_frame(1, 0, payload, end=end))
    assert isinstance(bad, BadFrame) and not bad.in_sync
    assert bad.error.reply_text == "FRAME_ERROR - " + text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "<<>>"),
        (b"abc", '<<"abc">>'),
        (b"\x7f", "<<127>>"),
        (b"\x07", "<<7>>"),
        (b"\xa0\x9f", "<<160,159>>"),
        (b"a\xe9", '<<"a\xe9">>'),  # latin1 printable, shown as a character
    ],
)
def test_erlang_p_formatting(data: bytes, expected: str) -> None:
    assert erlang_binary_p(data) == expected


def test_erlang_w_formatting_is_always_integers() -> None:
    assert erlang_binary_w(b"ab") == "<<97,98>>"
    assert erlang_binary_w(b"") == "<<>>"


def test_unknown_frame_type_keeps_the_stream_in_sync() -> None:
    got = read_all(raw_frame(5, 0, b"abc") + encode_heartbeat())
    bad = got[0]
    assert isinstance(bad, BadFrame) and bad.in_sync
    assert bad.error.reply_text == 'FRAME_ERROR - type 5, all octets = <<"abc">>: unknown_frame'
    assert got[1] == HeartbeatFrame(0)


def test_heartbeat_with_a_payload_and_short_frames_are_unknown_frames() -> None:
    hb, method, head = read_all(
        raw_frame(8, 0, b"x") + raw_frame(1, 0, b"\x00\x0a") + raw_frame(2, 1, b"\x00\x3c")
    )
    assert isinstance(hb, BadFrame) and hb.error.text.endswith("unknown_frame")
    assert (
        isinstance(method, BadFrame)
        and method.error.text == "type 1, all octets = <<0,10>>: unknown_frame"
    )
    assert (
        isinstance(head, BadFrame)
        and head.error.text == "type 2, all octets = <<0,60>>: unknown_frame"
    )


def test_unknown_method_is_reported_not_decoded() -> None:
    (item,) = read_all(raw_frame(1, 2, struct.pack(">HH", 99, 10)))
    assert item == UnknownMethod(2, 99, 10)


def test_unknown_field_type_in_arguments_is_reported_like_an_unknown_method() -> None:
    # queue.declare whose arguments table holds a field of type 'Z'
    args = b"\x00\x00\x01q\x00" + struct.pack(">I", 3) + b"\x01aZ"
    (item,) = read_all(raw_frame(1, 1, struct.pack(">HH", 50, 10) + args))
    assert item == UnknownMethod(1, 50, 10, "unknown_field_type")


def test_undecodable_arguments_are_501_cannot_decode_with_the_method_ids() -> None:
    (bad,) = read_all(raw_frame(1, 1, struct.pack(">HH", 50, 10) + b"\x00\x00\x05ex"))
    assert isinstance(bad, BadFrame) and bad.in_sync
    assert bad.error.reply_text == "FRAME_ERROR - cannot decode <<0,0,5,101,120>>"
    assert (bad.error.class_id, bad.error.method_id) == (50, 10)


def test_long_texts_are_cut_at_255_octets_like_rabbitmq() -> None:
    (bad,) = read_all(raw_frame(1, 1, struct.pack(">HH", 50, 10) + b"\x00\x00\xff" + b"x" * 200))
    assert isinstance(bad, BadFrame)
    text = bad.error.reply_text
    assert len(text.encode()) == 255
    assert text.startswith("FRAME_ERROR - cannot decode <<0,0,255,120,120,")
    assert text.endswith(",12...")  # RabbitMQ: 252 octets and '...'
    assert truncate_reply_text("short") == "short"


# -- content assembly ------------------------------------------------------------------


def frames_of(data: bytes) -> list[MethodFrame | HeaderFrame | BodyFrame]:
    out = []
    for item in read_all(data):
        assert isinstance(item, MethodFrame | HeaderFrame | BodyFrame)
        out.append(item)
    return out


def assemble(data: bytes) -> list[AssembledMethod]:
    assembler = ContentAssembler()
    return [done for f in frames_of(data) if (done := assembler.push(f)) is not None]


def test_publish_with_body_split_over_frames_is_assembled() -> None:
    props = Basic.Properties(content_type="text/plain", headers={"a": 1})
    data = (
        frame.marshal(Basic.Publish(exchange="ex", routing_key="rk"), 1)
        + frame.marshal(header.ContentHeader(0, 6, props), 1)
        + frame.marshal(body.ContentBody(b"abc"), 1)
        + frame.marshal(Basic.Qos(prefetch_count=5), 2)  # other channels interleave freely
        + frame.marshal(body.ContentBody(b"def"), 1)
    )
    qos, publish = assemble(data)
    assert qos.channel == 2 and isinstance(qos.method, Basic.Qos) and qos.properties is None
    assert publish.channel == 1 and isinstance(publish.method, Basic.Publish)
    assert publish.body == b"abcdef"
    assert publish.properties is not None
    assert publish.properties.content_type == "text/plain"
    assert publish.properties.headers == {"a": 1}


def test_empty_body_completes_at_the_header() -> None:
    data = frame.marshal(Basic.Publish(), 1) + frame.marshal(header.ContentHeader(0, 0), 1)
    (done,) = assemble(data)
    assert done.body == b""


def push_all(data: bytes) -> None:
    assembler = ContentAssembler()
    for f in frames_of(data):
        assembler.push(f)


@pytest.mark.parametrize(
    ("data", "text", "ids"),
    [
        (
            frame.marshal(body.ContentBody(b"abc"), 1),
            "UNEXPECTED_FRAME - expected method frame, got non method frame instead",
            (0, 0),
        ),
        (
            frame.marshal(header.ContentHeader(0, 3), 1),
            "UNEXPECTED_FRAME - expected method frame, got non method frame instead",
            (0, 0),
        ),
        (
            frame.marshal(Basic.Publish(), 1) + frame.marshal(Basic.Qos(), 1),
            "UNEXPECTED_FRAME - expected content header for class 60, "
            "got non content header frame instead",
            (60, 40),
        ),
        (
            frame.marshal(Basic.Publish(), 1) + frame.marshal(body.ContentBody(b"x"), 1),
            "UNEXPECTED_FRAME - expected content header for class 60, "
            "got non content header frame instead",
            (60, 40),
        ),
        (
            frame.marshal(Basic.Publish(), 1)
            + frame.marshal(header.ContentHeader(0, 3), 1)
            + frame.marshal(Basic.Qos(), 1),
            "UNEXPECTED_FRAME - expected content body, got non content body frame instead",
            (60, 40),
        ),
        (
            # a body longer than body_size never completes (as in RabbitMQ)
            frame.marshal(Basic.Publish(), 1)
            + frame.marshal(header.ContentHeader(0, 3), 1)
            + frame.marshal(body.ContentBody(b"abcdef"), 1)
            + frame.marshal(Basic.Qos(), 1),
            "UNEXPECTED_FRAME - expected content body, got non content body frame instead",
            (60, 40),
        ),
    ],
)
def test_out_of_order_content_is_505(data: bytes, text: str, ids: tuple[int, int]) -> None:
    with pytest.raises(AMQPError) as caught:
        push_all(data)
    assert caught.value.reply_code == 505
    assert caught.value.reply_text == text
    assert (caught.value.class_id, caught.value.method_id) == ids


def test_content_header_of_another_class_is_505() -> None:
    head = header.ContentHeader(0, 3)
    raw = frame.marshal(head, 1)
    raw = raw[:7] + struct.pack(">H", 50) + raw[9:]  # class 50 instead of 60
    with pytest.raises(AMQPError) as caught:
        push_all(frame.marshal(Basic.Publish(), 1) + raw)
    assert (
        caught.value.text == "expected content header for class 60, got one for class 50 instead"
    )


# -- writing ---------------------------------------------------------------------------

DELIVER = Basic.Deliver(consumer_tag="ctag", delivery_tag=1, exchange="", routing_key="q")


def test_content_is_split_at_frame_max_minus_8() -> None:
    data = encode_content(7, DELIVER, Basic.Properties(), b"z" * 10000, 4096)
    items = read_all(data, frame_max=4096)
    bodies = [f for f in items if isinstance(f, BodyFrame)]
    assert [len(b.data) for b in bodies] == [4088, 4088, 1824]
    assert all(b.channel == 7 for b in bodies)
    head = items[1]
    assert isinstance(head, HeaderFrame) and head.header.body_size == 10000


def test_empty_content_has_no_body_frame() -> None:
    items = read_all(encode_content(1, DELIVER, Basic.Properties(), b""))
    assert [type(i) for i in items] == [MethodFrame, HeaderFrame]


@given(
    payload=st.binary(max_size=20000),
    frame_max=st.integers(min_value=4096, max_value=9000),
    cut=st.integers(min_value=1, max_value=5000),
)
def test_encode_then_read_and_assemble_round_trips(
    payload: bytes, frame_max: int, cut: int
) -> None:
    props = Basic.Properties(message_id="m", priority=3)
    data = encode_content(5, Basic.Publish(routing_key="r"), props, payload, frame_max)
    reader = FrameReader(frame_max=frame_max)
    assembler = ContentAssembler()
    done = []
    for start in range(0, len(data), cut):
        reader.feed(data[start : start + cut])
        for item in reader:
            assert isinstance(item, MethodFrame | HeaderFrame | BodyFrame)
            assert not isinstance(item, BodyFrame) or len(item.data) <= frame_max - 8
            if (out := assembler.push(item)) is not None:
                done.append(out)
    assert len(done) == 1
    assert done[0].body == payload
    assert done[0].properties == props


# -- header tables ---------------------------------------------------------------------------


def _field(code: bytes, packed: bytes) -> bytes:
    return code + packed


def _table(*items: tuple[str, bytes]) -> bytes:
    raw = b"".join(bytes([len(k)]) + k.encode() + v for k, v in items)
    return struct.pack(">I", len(raw)) + raw


# A table as a client might send it: keys out of order, every numeric width.
CLIENT_TABLE = _table(
    ("zeta", _field(b"b", struct.pack(">b", -5))),
    ("alpha", _field(b"B", struct.pack(">B", 200))),
    ("s16", _field(b"s", struct.pack(">h", -300))),
    ("u16", _field(b"u", struct.pack(">H", 60000))),
    ("i32", _field(b"I", struct.pack(">i", 7))),
    ("u32", _field(b"i", struct.pack(">I", 4000000000))),
    ("i64", _field(b"l", struct.pack(">q", 1))),
    ("f32", _field(b"f", struct.pack(">f", 0.5))),
    ("f64", _field(b"d", struct.pack(">d", 0.1))),
    ("str", _field(b"S", struct.pack(">I", 3) + b"abc")),
    ("raw", _field(b"x", struct.pack(">I", 2) + b"\xff\x00")),
    ("yes", _field(b"t", b"\x01")),
    ("nested", _field(b"F", _table(("b", b"V"), ("a", _field(b"I", struct.pack(">i", 1)))))),
    ("list", _field(b"A", struct.pack(">I", 10) + b"I\x00\x00\x00\x02S\x00\x00\x00\x00")),
)


def _header_frame_with(table: bytes, channel: int = 1) -> bytes:
    # content_type 'a/b' then headers: flags 0x8000 | 0x2000
    props = struct.pack(">H", 0xA000) + b"\x03a/b" + table
    payload = struct.pack(">HHQ", 60, 0, 0) + props
    return struct.pack(">BHI", 2, channel, len(payload)) + payload + b"\xce"


def test_header_tables_pass_through_byte_for_byte() -> None:
    (item,) = read_all(_header_frame_with(CLIENT_TABLE))
    assert isinstance(item, HeaderFrame)
    headers = item.header.properties.headers
    assert list(headers) == [
        "zeta", "alpha", "s16", "u16", "i32", "u32", "i64", "f32", "f64", "str", "raw", "yes",
        "nested", "list",
    ]  # fmt: skip
    assert type(headers["zeta"]) is Int8 and headers["zeta"] == -5
    assert type(headers["i32"]) is Int32 and headers["i32"] == 7
    assert type(headers["i64"]) is int and type(headers["f64"]) is float
    assert type(headers["f32"]) is Float32
    assert list(headers["nested"]) == ["b", "a"]
    # what goes out again carries the very same table: as it came (unchanged), and
    # when the broker re-encodes a copy (as it does for a changed message)
    out = encode_content(1, Basic.Publish(), item.header.properties, b"")
    assert _header_frame_with(CLIENT_TABLE) in out
    copied = copy_properties(item.header.properties)
    assert _header_frame_with(CLIENT_TABLE) in encode_content(1, Basic.Publish(), copied, b"")


def test_values_the_broker_makes_get_rabbitmqs_types() -> None:
    death = {"count": 1, "reason": "expired", "ratio": 0.25}
    table = encode_table({"x-death": [death], "b": True})
    entry = _field(
        b"F",
        _table(
            ("count", _field(b"l", struct.pack(">q", 1))),
            ("reason", _field(b"S", struct.pack(">I", 7) + b"expired")),
            ("ratio", _field(b"d", struct.pack(">d", 0.25))),
        ),
    )
    array = _field(b"A", struct.pack(">I", len(entry)) + entry)
    assert table == _table(("x-death", array), ("b", b"t\x01"))
    assert [type(Int16(3)), repr(Int16(3)), repr(Float32(0.5))] == [Int16, "3", "0.5"]
    assert [UInt8(1), UInt16(2), UInt32(3)] == [1, 2, 3]


def test_methods_pamqp_would_refuse_are_still_sent() -> None:
    ok = Queue.DeclareOk(queue="q", message_count=0, consumer_count=0)
    ok.queue = "amq.rabbitmq.reply-to.g1h2AA==.abc="  # RabbitMQ's names carry '='
    (item,) = read_all(encode_method(1, ok))
    assert isinstance(item, MethodFrame) and item.method.queue == ok.queue


# -- fast paths, against pamqp ------------------------------------------------------------


# pamqp reads a delivery tag as signed; the tag is unsigned in the spec and RabbitMQ
@given(tag=st.integers(min_value=0, max_value=2**63 - 1), bits=st.integers(0, 255))
def test_ack_fast_path_reads_what_pamqp_reads(tag: int, bits: int) -> None:
    payload = struct.pack(">HHQB", 60, 80, tag, bits)
    (item,) = read_all(raw_frame(1, 3, payload))
    _, channel, expected = frame.unmarshal(raw_frame(1, 3, payload))
    assert isinstance(item, MethodFrame) and isinstance(item.method, Basic.Ack)
    assert isinstance(expected, Basic.Ack)
    assert (item.channel, item.method.delivery_tag, item.method.multiple) == (
        channel,
        expected.delivery_tag,
        expected.multiple,
    )


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
exchange_names = st.from_regex(r"[a-zA-Z0-9_.:-]{0,40}", fullmatch=True)


@given(
    ctag=names,
    tag=st.integers(min_value=1, max_value=2**63 - 1),  # pamqp encodes it signed
    redelivered=st.booleans(),
    exchange=exchange_names,
    routing_key=names,
    payload=st.binary(max_size=9000),
    frame_max=st.sampled_from([0, 4096, 5000, 131072]),
    channel=st.integers(1, 2047),
)
def test_deliver_frames_are_what_pamqp_encodes(
    ctag: str,
    tag: int,
    redelivered: bool,
    exchange: str,
    routing_key: str,
    payload: bytes,
    frame_max: int,
    channel: int,
) -> None:
    props = Basic.Properties(content_type="text/plain", delivery_mode=2, message_id=ctag)
    method = Basic.Deliver(ctag, tag, redelivered, exchange, routing_key)
    chunk = frame_max - 8 if frame_max else max(len(payload), 1)
    expected = (
        frame.marshal(method, channel)
        + frame.marshal(header.ContentHeader(0, len(payload), props), channel)
        + b"".join(
            frame.marshal(body.ContentBody(payload[i : i + chunk]), channel)
            for i in range(0, len(payload), chunk)
        )
    )
    # twice: the first fills the caches, the second is served from them
    assert encode_content(channel, method, props, payload, frame_max) == expected
    assert encode_content(channel, method, props, payload, frame_max) == expected


def test_decoded_properties_go_out_in_the_octets_they_came_in() -> None:
    # an empty content_type is sent with its flag set; pamqp would drop it on encoding,
    # RabbitMQ passes the octets on as they are
    props = struct.pack(">H", 0x8000 | 0x0080) + b"\x00" + b"\x02id"
    payload = struct.pack(">HHQ", 60, 0, 5) + props
    (item,) = read_all(raw_frame(2, 1, payload))
    assert isinstance(item, HeaderFrame)
    out = encode_content(9, DELIVER, item.header.properties, b"hello")
    assert raw_frame(2, 9, payload) in out
    # a copy is encoded afresh (the core copies the properties it changes)
    copied = copy_properties(item.header.properties, message_id="other")
    fresh = encode_content(9, DELIVER, copied, b"hello")
    assert raw_frame(2, 9, payload) not in fresh
    assert b"\x05other" in fresh


short = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30).filter(
    lambda t: len(t.encode()) < 256
)
header_values = st.one_of(
    st.integers(-(2**63), 2**63 - 1), st.booleans(), short, st.floats(-1e6, 1e6, width=32)
)


@given(
    values=st.fixed_dictionaries(
        {},
        optional={
            "content_type": short,
            "content_encoding": short,
            "headers": st.dictionaries(short, header_values, max_size=5),
            "delivery_mode": st.sampled_from([1, 2]),
            "priority": st.integers(0, 255),
            "correlation_id": short,
            "reply_to": short,
            "expiration": short,
            "message_id": short,
            "timestamp": st.datetimes(
                min_value=datetime.datetime(1970, 1, 2), max_value=datetime.datetime(2100, 1, 1)
            ).map(lambda d: d.replace(microsecond=0, tzinfo=datetime.UTC)),
            "message_type": short,
            "user_id": short,
            "app_id": short,
        },
    ),
    weight=st.sampled_from([0, 0, 7]),
)
def test_one_pass_property_reading_is_pamqps(values: dict[str, object], weight: int) -> None:
    props = Basic.Properties(**values)  # type: ignore[arg-type]
    data = frame.marshal(header.ContentHeader(0, 42, props), 3)
    data = data[:9] + struct.pack(">H", weight) + data[11:]  # pamqp always writes 0
    (item,) = read_all(data)
    _, _, expected = frame.unmarshal(data)
    assert isinstance(item, HeaderFrame) and isinstance(expected, header.ContentHeader)
    assert (item.header.weight, item.header.body_size, item.header.class_id) == (weight, 42, 60)
    for name in Basic.Properties.__slots__:
        assert getattr(item.header.properties, name) == getattr(expected.properties, name), name
    # and its properties go out again as they came in (with weight 0, always)
    wire = data[7 + 12 : -1]
    out = encode_content(3, DELIVER, item.header.properties, b"x" * 42)
    assert struct.pack(">HHQ", 60, 0, 42) + wire in out
