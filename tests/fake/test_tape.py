"""The broker's tape (``amqpmock.fake.tape``): what a bounded tape keeps while messages
are published, delivered and acked, and what its readers take from it."""

from __future__ import annotations

from amqpmock.fake import Broker, LocalClient
from amqpmock.fake.tape import Tape
from amqpmock.testing.inspection import TrafficRecorder


def test_deliveries_of_big_bodies_are_bounded_by_bytes_too() -> None:
    """Deliveries hold their message's body as a publish does: draining a queue of
    big messages must not keep more than the budget, although the publishes that
    brought them in have long gone from the tape."""
    broker = Broker()
    recorder = TrafficRecorder(broker)
    recorder.bound(records=1000, body_bytes=100_000)
    client = LocalClient(broker)
    ch = client.channel()
    ch.queue_declare("big")
    for n in range(200):
        ch.publish("", "big", b"%04d" % n + b"x" * 9_996)
    ch.consume("big", "c", no_ack=False)
    for delivery in ch.take_deliveries():
        ch.ack(delivery.delivery_tag)
    entries = list(recorder.tape.entries)
    assert sum(len(e[1].body) for e in entries) <= 100_000
    assert "published" not in {e[0] for e in entries}  # they went first
    # the newest are kept, in order
    records = recorder.records
    assert records[-1].event == "acked" and records[-1].body.startswith(b"0199")
    assert len(records) == len(entries)


def test_entries_are_bounded_by_count_and_readers_catch_up() -> None:
    broker = Broker()
    broker.declare_queue("q")
    recorder = TrafficRecorder(broker)
    recorder.bound(records=10, body_bytes=10**9)
    for n in range(5):
        broker.publish("", "q", b"%d" % n)
    assert [r.body for r in recorder.records] == [b"0", b"1", b"2", b"3", b"4"]
    for n in range(5, 30):
        broker.publish("", "q", b"%d" % n)
    # the reader's mark was let go: it takes what is left, the latest ten
    assert [r.body for r in recorder.records] == [b"%d" % n for n in range(20, 30)]
    broker.publish("", "q", b"30")
    assert [r.body for r in recorder.records][-2:] == [b"29", b"30"]
    assert len(recorder.records) == 10
    recorder.clear()
    assert list(recorder.records) == []
    broker.publish("", "q", b"31")
    assert [r.body for r in recorder.records] == [b"31"]


def test_an_unbounded_tape_keeps_everything_beside_a_bounded_one() -> None:
    broker = Broker()
    broker.declare_queue("q")
    everything = TrafficRecorder(broker)
    latest = TrafficRecorder(broker)
    latest.bound(records=100, body_bytes=2_000)
    for n in range(100):
        broker.publish("", "q", b"%03d" % n + b"y" * 97)
    assert len(everything.records) == 100
    assert sum(len(r.body) for r in latest.records) <= 2_000
    assert latest.records[-1].body.startswith(b"099")
    latest.close()
    assert broker.tapes == [everything.tape]
    broker.publish("", "q", b"after")
    assert everything.records[-1].body == b"after"


def test_since_a_mark() -> None:
    tape = Tape()
    assert tape.mark() is None and tape.since(None) == []
    first, second, third = ("a", None), ("b", None), ("c", None)
    tape.add(first)
    mark = tape.mark()
    tape.add(second)
    tape.add(third)
    assert tape.since(mark) == [second, third]
    assert tape.since(tape.mark()) == []
    assert tape.since(("gone", None)) == [first, second, third]
