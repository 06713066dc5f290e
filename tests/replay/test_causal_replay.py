"""Causal replay with a real service (issue #12 case 4): an outside event is played at
the point where it arrived in the recording, through the exchange it came through, not
when its queue is consumed. Recorded against RabbitMQ with the service in another
process; replayed with the service gone (and the network blocked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from amqpmock.testing.rabbitmq import RabbitMQNode

from .test_record_replay import start_service

pytest_plugins = ["pytester"]

CLIENT = """
import json
import pika
import pytest

def wait(conn, got, count):
    for _ in range(100):
        if len(got) >= count:
            return
        conn.process_data_events(time_limit=0.05)

@pytest.mark.amqp_cassette("events.yaml")
def test_a_late_listener_gets_the_event_its_order_caused(amqp_url):
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    ch.exchange_declare("events", "topic")
    ch.queue_declare("orders")
    queue = ch.queue_declare("", exclusive=True).method.queue
    got = []
    ch.basic_consume(queue, lambda c, m, p, body: got.append(json.loads(body)), auto_ack=True)
    conn.process_data_events(time_limit=0.3)
    assert got == []  # consuming causes nothing
    ch.basic_publish("", "orders", json.dumps({"id": 1}))
    conn.process_data_events(time_limit=0.5)
    assert got == []  # nobody listens to events yet: order 1's event goes nowhere
    ch.queue_bind(queue, "events", "order.*")  # the listener binds late
    conn.process_data_events(time_limit=0.3)
    assert got == []
    ch.basic_publish("", "orders", json.dumps({"id": 2}))
    wait(conn, got, 1)
    conn.process_data_events(time_limit=0.3)
    assert got == [{"created": 2}]
    conn.close()
"""


def test_an_event_is_replayed_at_its_causal_point(
    pytester: pytest.Pytester, rabbitmq_node: RabbitMQNode, tmp_path: Path
) -> None:
    pytester.makepyfile(test_events=CLIENT)
    service = start_service("order_events_service.py", rabbitmq_node.url, tmp_path)
    try:
        recorded = pytester.runpytest_subprocess(
            "-p",
            "no:cacheprovider",
            "--amqp-record-mode=once",
            f"--amqp-upstream={rabbitmq_node.url}",
        )
        recorded.assert_outcomes(passed=1)
    finally:
        service.kill()
        service.wait()
    text = (pytester.path / "cassettes" / "events.yaml").read_text()
    assert "origin: outside" in text and "order.created" in text
    replayed = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    replayed.assert_outcomes(passed=1)
