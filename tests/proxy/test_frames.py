"""StreamTracker and StreamDecoder, fed bytes in every possible split."""

from __future__ import annotations

import pytest
from pamqp import commands

from amqpmock.proxy import DecodedMethod, DecodeError, StreamDecoder, StreamTracker
from amqpmock.proxy._frames import HeartbeatSeen

from .wire import PROTOCOL_HEADER, beat, client_hello, close_c2s, close_ok, content, method

PUBLISH = commands.Basic.Publish(exchange="x", routing_key="k")


def stream() -> bytes:
    return (
        client_hello()
        + method(1, commands.Channel.Open())
        + content(1, PUBLISH, b"hello world" * 20, frame_max=64, content_type="text/plain")
        + beat()
        + close_c2s()
    )


def test_tracker_forwards_everything_when_fed_whole() -> None:
    data = stream()
    tracker = StreamTracker()
    assert tracker.feed(data) == data
    assert tracker.pending == 0
    assert tracker.close_seen and not tracker.close_ok_seen


@pytest.mark.parametrize("split", range(1, 60))
def test_tracker_only_forwards_whole_frames(split: int) -> None:
    data = stream()
    tracker = StreamTracker()
    forwarded = b""
    for start in range(0, len(data), split):
        out = tracker.feed(data[start : start + split])
        forwarded += out
        # what went out is the protocol header plus whole frames: it decodes cleanly
        decoder = StreamDecoder()
        list(decoder.feed(forwarded))
        assert decoder.buffered == 0
    assert forwarded == data
    assert tracker.at_boundary


def test_tracker_holds_a_partial_protocol_header() -> None:
    tracker = StreamTracker()
    assert tracker.feed(b"AM") == b""
    assert tracker.feed(b"QP\x00\x00\x09") == b""
    assert tracker.feed(b"\x01") == PROTOCOL_HEADER


def test_tracker_sees_start_and_close_ok() -> None:
    tracker = StreamTracker()
    tracker.feed(method(0, commands.Connection.Start()) + close_ok())
    assert tracker.start_seen and tracker.close_ok_seen and not tracker.close_seen


def test_tracker_turns_passthrough_on_garbage() -> None:
    tracker = StreamTracker()
    good = method(1, commands.Channel.Open())
    bad = b"\x01\x00\x01\x00\x00\x00\x02xx\x00"  # frame end byte is not 0xCE
    assert tracker.feed(good + bad) == good + bad
    assert tracker.passthrough and not tracker.at_boundary
    assert tracker.feed(b"anything") == b"anything"


def test_tracker_gives_up_on_absurd_frame_sizes() -> None:
    tracker = StreamTracker()
    data = b"\x03\x00\x01\x7f\xff\xff\xff" + b"x" * 10
    assert tracker.feed(data) == data
    assert tracker.passthrough


@pytest.mark.parametrize("split", [1, 3, 7, 8, 13, 64, 1000])
def test_decoder_merges_content_across_chunks(split: int) -> None:
    data = stream()
    decoder = StreamDecoder()
    items: list[DecodedMethod | HeartbeatSeen] = []
    for start in range(0, len(data), split):
        items.extend(decoder.feed(data[start : start + split]))
    methods = [i for i in items if isinstance(i, DecodedMethod)]
    assert [m.method for m in methods] == [
        "Connection.StartOk",
        "Connection.TuneOk",
        "Connection.Open",
        "Channel.Open",
        "Basic.Publish",
        "Connection.Close",
    ]
    publish = methods[4]
    assert publish.channel == 1
    assert publish.body == b"hello world" * 20
    assert publish.properties == {"content_type": "text/plain"}
    assert publish.args == {
        "exchange": "x",
        "routing_key": "k",
        "mandatory": False,
        "immediate": False,
    }
    assert sum(isinstance(i, HeartbeatSeen) for i in items) == 1
    assert decoder.partial_content == []


def test_decoder_leaves_out_deprecated_fields() -> None:
    items = list(StreamDecoder().feed(method(0, commands.Connection.Open(virtual_host="v"))))
    assert isinstance(items[0], DecodedMethod)
    assert items[0].args == {"virtual_host": "v"}


def test_decoder_empty_body_completes_on_header() -> None:
    data = content(1, PUBLISH, b"")
    (item,) = list(StreamDecoder().feed(data))
    assert isinstance(item, DecodedMethod)
    assert item.body == b""


def test_decoder_reports_partial_content() -> None:
    decoder = StreamDecoder()
    assert list(decoder.feed(method(1, PUBLISH))) == []
    assert decoder.partial_content == ["Basic.Publish"]


def test_decoder_error_names_the_offset() -> None:
    data = method(1, commands.Channel.Open())
    bad = b"\x01\x00\x01\x00\x00\x00\x04\xff\xff\xff\xff\xce"  # unknown method id
    with pytest.raises(DecodeError) as info:
        list(StreamDecoder().feed(data + bad))
    assert info.value.offset == len(data)
    assert "at byte" in str(info.value)


def test_decoder_rejects_body_without_method() -> None:
    body_frame = content(1, PUBLISH, b"abc")[len(method(1, PUBLISH)) :]
    with pytest.raises(DecodeError, match="expected method frame, got non method frame"):
        list(StreamDecoder().feed(body_frame))


def test_decoder_rejects_method_inside_content() -> None:
    data = method(1, PUBLISH) + method(
        1, commands.Channel.Close(reply_code=200, reply_text="", class_id=0, method_id=0)
    )
    with pytest.raises(DecodeError, match="expected content header"):
        list(StreamDecoder().feed(data))
