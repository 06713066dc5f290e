"""Inspection while recording says where a publish went as far as the proxy can tell
(issue #18): a request that an inventory service outside the proxy (connected straight
to RabbitMQ) consumed reads ``-> [outside consumer]``, not ``-> []``; a publish into a
queue the test bound reads that queue; a returned publish and one that went nowhere are
not taken for an outside consumer's."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pika
import pytest

from amqpmock.testing.rabbitmq import RabbitMQNode

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.rabbitmq

TEST = """
import pika, pytest

@pytest.mark.amqp_cassette("inventory.yaml")
def test_inventory(amqp_url, amqp_broker):
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    reply_q = ch.queue_declare("", exclusive=True).method.queue
    # an RPC request, published the plain way (not mandatory, no confirms)
    props = pika.BasicProperties(reply_to=reply_q, correlation_id="c-1")
    ch.basic_publish("", "inventory.reserve", b'{"sku": "x"}', properties=props)
    reply = None
    for _ in range(250):
        method, _props, body = ch.basic_get(reply_q, auto_ack=True)
        if method:
            reply = body
            break
        conn.sleep(0.02)
    assert reply == b'{"reserved": "x"}'
    # mandatory and confirmed: RabbitMQ says it routed it, nobody recorded received it
    confirmed = conn.channel()
    confirmed.confirm_delivery()
    confirmed.basic_publish("", "inventory.reserve", b'{"sku": "y"}', mandatory=True)
    with pytest.raises(pika.exceptions.UnroutableError):
        confirmed.basic_publish("", "nowhere", b"lost", mandatory=True)
    ch.basic_publish("", "nobody.listens", b"dropped")
    ch.exchange_declare("orders", "topic", auto_delete=True)
    audit = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(audit, "orders", "order.*")
    ch.basic_publish("orders", "order.placed", b'{"id": 7}')
    conn.close()

    reserve, reserve_y, lost, dropped, placed = amqp_broker.published
    print(amqp_broker.published.describe())
    assert "exchange='' routing_key='inventory.reserve' -> [outside consumer]" in (
        reserve.describe()
    )
    assert reserve.queues == [] and reserve.outside
    assert reserve_y.queues == [] and reserve_y.outside
    assert lost.queues == [] and not lost.outside
    assert "routing_key='nowhere' -> []" in lost.describe()
    assert [r.routing_key for r in amqp_broker.returned] == ["nowhere"]
    assert dropped.queues == [] and not dropped.outside
    assert "routing_key='nobody.listens' -> []" in dropped.describe()
    assert placed.queues == [audit] and not placed.outside
    assert amqp_broker.queue(audit).routed.bodies == [b'{"id": 7}']
"""


@pytest.fixture
def inventory_service(rabbitmq_node: RabbitMQNode) -> Iterator[None]:
    """An RPC service connected to RabbitMQ itself, not through the proxy: it consumes
    ``inventory.reserve`` and answers requests that name a ``reply_to``."""
    conn = pika.BlockingConnection(pika.URLParameters(rabbitmq_node.url))
    ch = conn.channel()
    ch.queue_declare("inventory.reserve", auto_delete=True)

    def serve(
        channel: pika.adapters.blocking_connection.BlockingChannel,
        method: pika.spec.Basic.Deliver,
        props: pika.BasicProperties,
        body: bytes,
    ) -> None:
        if props.reply_to:
            answer = pika.BasicProperties(correlation_id=props.correlation_id)
            channel.basic_publish("", props.reply_to, b'{"reserved": "x"}', properties=answer)
        channel.basic_ack(method.delivery_tag)

    ch.basic_consume("inventory.reserve", serve)
    thread = threading.Thread(target=ch.start_consuming, daemon=True)
    thread.start()
    try:
        yield
    finally:
        conn.add_callback_threadsafe(ch.stop_consuming)
        thread.join(10)
        conn.close()


@pytest.mark.usefixtures("inventory_service")
def test_inspection_while_recording_says_where_each_publish_went(
    pytester: pytest.Pytester, rabbitmq_node: RabbitMQNode
) -> None:
    pytester.makepyfile(test_inventory=TEST)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--amqp-record-mode=all", f"--amqp-upstream={rabbitmq_node.url}"
    )
    result.assert_outcomes(passed=1)
