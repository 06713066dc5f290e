"""Stream queues on the fake, with pika, where the differential scenarios cannot go:
time-based retention and offsets on the broker's clock, and the log's own rules."""

from __future__ import annotations

import time
from typing import Any

import pika

from amqpmock.fake.model import Message
from amqpmock.fake.stream import StreamLog, parse_age
from amqpmock.testing.harness import BrokerFixture

STREAM = {"x-queue-type": "stream"}


def _message(body: bytes) -> Message:
    return Message("", "s", pika.spec.BasicProperties(), body, 0.0)  # type: ignore[arg-type]


def read(url: str, queue: str, offset: Any, expect: int) -> list[tuple[bytes, int]]:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=100)
    got: list[tuple[bytes, int]] = []
    ch.basic_consume(
        queue,
        lambda _c, m, p, b: got.append((b, p.headers["x-stream-offset"])),
        arguments={"x-stream-offset": offset},
    )
    deadline = time.monotonic() + 2
    while len(got) < expect and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.02)
    conn.process_data_events(time_limit=0.1)  # and nothing more
    conn.close()
    return got


def test_max_age_drops_old_segments_when_a_segment_rolls_over(
    amqp_broker: BrokerFixture, amqp_url: str
) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    args = {**STREAM, "x-max-age": "1h", "x-stream-max-segment-size-bytes": 10}
    ch.queue_declare("aged", durable=True, arguments=args)
    ch.confirm_delivery()
    for n in range(3):
        ch.basic_publish("", "aged", b"old-%d-xxxx" % n)  # 11 bytes: a segment each
    amqp_broker.advance(2 * 3600)
    # nothing is dropped until a segment rolls over
    assert len(read(amqp_url, "aged", "first", 3)) == 3
    ch.basic_publish("", "aged", b"new-0-xxxx")
    ch.basic_publish("", "aged", b"new-1-xxxx")
    conn.close()
    got = read(amqp_url, "aged", "first", 2)
    # the roll drops every full segment older than an hour; the new one stays
    assert got == [(b"new-0-xxxx", 3), (b"new-1-xxxx", 4)]


def test_interval_and_timestamp_offsets_use_the_broker_clock(
    amqp_broker: BrokerFixture, amqp_url: str
) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    ch.queue_declare("timed", durable=True, arguments=STREAM)
    ch.confirm_delivery()
    ch.basic_publish("", "timed", b"yesterday")
    amqp_broker.advance(86400)
    ch.basic_publish("", "timed", b"today")
    conn.close()
    assert [b for b, _ in read(amqp_url, "timed", "2h", 1)] == [b"today"]
    assert [b for b, _ in read(amqp_url, "timed", "2D", 2)] == [b"yesterday", b"today"]


def test_the_log_numbers_clamps_and_finds_by_time() -> None:
    log = StreamLog(max_bytes=25, segment_bytes=10)
    for n in range(6):
        log.append(_message(b"%010d" % n), now=100.0 + n)  # each fills a segment
    # bytes kept: the newest segments within 25 bytes, the one being written included
    assert (log.first, log.next, len(log)) == (3, 6, 3)
    assert log.get(3).body == b"0000000003"
    assert (log.clamp(-1), log.clamp(4), log.clamp(99)) == (3, 4, 6)
    assert (log.at_time(0), log.at_time(104.5), log.at_time(999)) == (3, 5, 6)
    assert log.last() == 5 and StreamLog().last() == 0


def test_age_text_is_read_as_rabbitmq_reads_it() -> None:
    assert parse_age("7D") == 7 * 86400 and parse_age("1Y") == 365 * 86400
    assert parse_age("0s") is None and parse_age("2d") is None and parse_age("5") is None
    for crash in ("bogus", "", "D7"):
        try:
            parse_age(crash)
        except ValueError:
            continue
        raise AssertionError(f"{crash!r} should crash the check as in RabbitMQ")
