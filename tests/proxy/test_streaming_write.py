"""``Recorder.write`` streams: the same cassette as building it whole, in memory that
does not grow with the traffic's size."""

from __future__ import annotations

import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import pytest
from pamqp import commands

from amqpmock.cassette import SecretWarning, load_cassette, write_cassette
from amqpmock.cassette._redact import default_redactors
from amqpmock.hookspecs import Redactor
from amqpmock.proxy import Recorder

from .test_recorder import close_conn, deliver, open_conn, publish, recorder
from .wire import beat, content, method

MULTILINE = b"line one\n  indented: two\n\nafter a blank line\n"


def busy_session(rec: Recorder) -> None:
    """Interleaved connections with every mark the recorder makes, and the odd ends."""
    producer = open_conn(rec)
    consumer = open_conn(rec, password="guest")
    rec.data(producer, "c2s", method(1, commands.Confirm.Select()))
    rec.data(producer, "s2c", method(1, commands.Confirm.SelectOk()))
    publish(rec, producer, b'{"role": "guest", "n": 1}', mandatory=True)
    publish(rec, producer, b"nowhere", rk="nowhere", mandatory=True)
    publish(rec, producer, MULTILINE, rk="text")
    publish(rec, producer, bytes(range(256)), rk="binary")
    returned = commands.Basic.Return(
        reply_code=312, reply_text="NO_ROUTE", exchange="", routing_key="nowhere"
    )
    rec.data(producer, "s2c", content(1, returned, b"nowhere"))
    rec.data(producer, "s2c", method(1, commands.Basic.Ack(delivery_tag=3, multiple=True)))
    rec.data(producer, "s2c", method(1, commands.Basic.Nack(delivery_tag=4)))
    deliver(rec, consumer, b'{"role": "guest", "n": 1}')
    deliver(rec, consumer, MULTILINE, rk="text", tag=2)
    deliver(rec, consumer, b"from elsewhere", tag=3)
    deliver(rec, consumer, bytes(range(256)), rk="dead-letters", tag=4)
    rec.data(consumer, "c2s", beat())
    rec.data(producer, "s2c", beat() + beat())
    broken = open_conn(rec)
    rec.data(broken, "c2s", b"\x01\x00\x01\x00\x00\x00\x04\xff\xff\xff\xff\xce")
    rec.close_connection(broken, "clean")
    cut = open_conn(rec)
    rec.data(cut, "c2s", method(1, commands.Basic.Publish(routing_key="q")))
    rec.close_connection(cut, "upstream-gone")
    close_conn(rec, consumer)
    close_conn(rec, producer)
    open_conn(rec)  # still open at the end


def whole_and_streamed(
    rec: Recorder, tmp_path: Path, redactors: list[Redactor] | None = None
) -> tuple[Path, Path, list[str], list[str]]:
    whole, streamed = tmp_path / "whole.yaml", tmp_path / "streamed.yaml"
    with warnings.catch_warnings(record=True) as said_whole:
        warnings.simplefilter("always")
        write_cassette(rec.cassette(redactors), whole, rec.secrets)
    with warnings.catch_warnings(record=True) as said_streamed:
        warnings.simplefilter("always")
        rec.write(streamed, redactors)
    # only what the writers said: in a full run, another test's leftovers (an unclosed
    # socket's ResourceWarning) can be collected, and warn, while they write
    return (
        whole,
        streamed,
        [str(w.message) for w in said_whole if issubclass(w.category, SecretWarning)],
        [str(w.message) for w in said_streamed if issubclass(w.category, SecretWarning)],
    )


def places(said: list[str]) -> list[str]:
    """The places one SecretWarning names, in any order."""
    (message,) = said
    return sorted(message.split("): ", 1)[1].split("; "))


def test_the_streamed_cassette_is_the_built_one(tmp_path: Path) -> None:
    rec = recorder()
    busy_session(rec)
    whole, streamed, said_whole, said_streamed = whole_and_streamed(rec, tmp_path)
    expected = load_cassette(whole)
    got = load_cassette(streamed)
    assert got.to_data() == expected.to_data()
    # the marks made it (not two empty cassettes that agree)
    outcomes = [i.outcome for i in got.connection(1) if i.is_publish]
    assert outcomes == ["routed", "returned", "routed", "nacked"]
    origins = [(i.origin, i.source) for i in got.connection(2) if i.is_delivery]
    assert [o for o, _ in origins] == ["recorded", "recorded", "outside", "recorded"]
    assert not got.complete and got.connection(3).error and got.connection(4).error
    assert (got.connection(1).heartbeats.s2c, got.connection(2).heartbeats.c2s) == (2, 1)
    # the ordinary-word password ("guest") is reported, in the same places, not redacted
    assert places(said_streamed) == places(said_whole)
    assert "connections[1].interactions[8].body.json.role: left as it is" in places(said_whole)
    assert got.connection(2).interactions[8].body == b'{"role": "guest", "n": 1}'


def test_dropped_records_renumber_sources_as_building_does(tmp_path: Path) -> None:
    rec = recorder()
    busy_session(rec)

    def drop_channel_open_and_text(record: dict[str, Any]) -> dict[str, Any] | None:
        if record["method"].startswith("Channel.Open"):
            return None
        if record.get("args", {}).get("routing_key") == "text" and record["dir"] == "c2s":
            return None  # a delivery's source goes: its source becomes None
        return record

    chain = [*default_redactors(), drop_channel_open_and_text]
    whole, streamed, _, _ = whole_and_streamed(rec, tmp_path, chain)
    got = load_cassette(streamed)
    assert got.to_data() == load_cassette(whole).to_data()
    deliveries = [i for i in got.connection(2) if i.is_delivery]
    assert deliveries[1].source is None and deliveries[1].origin == "recorded"
    first = deliveries[0].source
    assert first is not None and got.connection(1).interactions[first[1]].is_publish


def test_a_strong_password_anywhere_is_redacted_in_the_stream(tmp_path: Path) -> None:
    rec = Recorder(passwords=["url-Pass-99"])
    conn = open_conn(rec)
    publish(rec, conn, b"see url-Pass-99 and s3cret-pw")
    close_conn(rec, conn)
    with pytest.warns(SecretWarning, match=r"connections\[0\]\.interactions\[\d+\]\.body"):
        rec.write(tmp_path / "c.yaml")
    text = (tmp_path / "c.yaml").read_text()
    assert "url-Pass-99" not in text and "s3cret-pw" not in text


def test_a_failed_write_leaves_the_previous_cassette_and_no_spool(tmp_path: Path) -> None:
    rec = recorder()
    busy_session(rec)
    target = tmp_path / "c.yaml"
    target.write_text("the good one\n")

    def breaks(record: dict[str, Any]) -> dict[str, Any]:
        if record["method"] == "Basic.Deliver":
            record["channel"] = "not a number"
        return record

    with pytest.raises(Exception, match="a redactor broke a record") as caught:
        rec.write(target, [breaks])
    assert str(target) in str(caught.value)
    assert target.read_text() == "the good one\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


def test_writing_a_journaled_session_holds_no_bodies_in_memory(tmp_path: Path) -> None:
    """80 MB of traffic on disk; writing it must not hold more than a few messages."""
    rec = Recorder(journal=tmp_path / "c.yaml.journal")
    producer = open_conn(rec)
    consumer = open_conn(rec)
    body = b"x" * (64 * 1024 - 1) + b"\n"
    for n in range(640):
        numbered = b"%06d" % n + body
        publish(rec, producer, numbered)
        deliver(rec, consumer, numbered, tag=n + 1)
    close_conn(rec, producer)
    close_conn(rec, consumer)
    assert rec.bytes_recorded > 80_000_000
    tracemalloc.start()
    try:
        written = rec.write_streaming(tmp_path / "c.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written.interactions == 2 * (8 + 640 + 2)
    assert peak < 8_000_000, f"{peak / 1e6:.1f} MB traced while writing"
    loaded = load_cassette(tmp_path / "c.yaml")
    deliveries = [i for i in loaded.connection(consumer) if i.is_delivery]
    assert len(deliveries) == 640 and all(d.origin == "recorded" for d in deliveries)
    assert deliveries[-1].source == (producer, 8 + 639)
    assert deliveries[-1].body == b"000639" + body
    rec.remove_journal()


def test_more_connections_than_open_spools_and_nothing_left_behind(tmp_path: Path) -> None:
    rec = recorder()
    conns = [open_conn(rec) for _ in range(40)]  # more than the writer keeps open
    for round_ in range(3):
        for n, conn in enumerate(conns):
            body = b"message %d.%d" % (n, round_)
            publish(rec, conn, body)
            deliver(rec, conns[(n + 1) % len(conns)], body, tag=round_ + 1)
    for conn in conns:
        close_conn(rec, conn)
    whole, streamed, _, _ = whole_and_streamed(rec, tmp_path)
    got = load_cassette(streamed)
    assert got.to_data() == load_cassette(whole).to_data()
    assert len(got.connections) == 40
    last = got.connection(40)
    (first_delivery,) = [i for i in last if i.is_delivery and i.body == b"message 38.0"]
    assert first_delivery.source is not None and first_delivery.source[0] == 39
    # no spool folder, no message index, no temporary file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["streamed.yaml", "whole.yaml"]
