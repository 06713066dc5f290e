"""amqp_broker sees the traffic in every mode (issue #12 case 3): the same test, with the
same assertions on what was published, delivered and acked, passes while recording
against RabbitMQ, in replay, and on the plain fake."""

from __future__ import annotations

import pytest

from amqpmock.testing.rabbitmq import RabbitMQNode

pytest_plugins = ["pytester"]

TEST = """
import pika, pytest

def flow(amqp_url, amqp_broker):
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    ch.exchange_declare("orders", "topic", auto_delete=True)
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, "orders", "order.*")
    ch.basic_publish("orders", "order.priced", b'{"id": 7, "price": 12}')
    ch.basic_publish("orders", "order.lost", b"nobody", mandatory=True)
    got = []
    for _ in range(100):
        method, props, body = ch.basic_get(q)
        if method:
            got.append(body)
            ch.basic_ack(method.delivery_tag)
            break
        conn.sleep(0.02)
    conn.process_data_events(time_limit=0.2)
    conn.close()
    assert got == [b'{"id": 7, "price": 12}']

    published = amqp_broker.assert_published(exchange="orders", routing_key="order.priced")
    assert published.last.json() == {"id": 7, "price": 12}
    assert amqp_broker.published.call_count == 2
    assert amqp_broker.exchange("orders").call_count == 2
    (delivered,) = amqp_broker.delivered
    assert delivered.queue == q and delivered.body == b'{"id": 7, "price": 12}'
    assert [r.body for r in amqp_broker.acked] == [b'{"id": 7, "price": 12}']
    assert amqp_broker.queue(q).delivered.call_count == 1
    assert published.last.queues == [q]

@pytest.mark.amqp_cassette("flow.yaml")
def test_recorded_or_replayed(amqp_url, amqp_broker):
    flow(amqp_url, amqp_broker)

def test_plain_fake(amqp_url, amqp_broker):
    flow(amqp_url, amqp_broker)
"""


def test_the_same_assertions_pass_recording_replaying_and_on_the_fake(
    pytester: pytest.Pytester, rabbitmq_node: RabbitMQNode
) -> None:
    pytester.makepyfile(test_flow=TEST)
    args = ("-p", "no:cacheprovider")
    recorded = pytester.runpytest_subprocess(
        *args, "--amqp-record-mode=once", f"--amqp-upstream={rabbitmq_node.url}"
    )
    recorded.assert_outcomes(passed=2)
    assert (pytester.path / "cassettes" / "flow.yaml").exists()
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=2)
