"""A remote service for record/replay tests: takes orders from the queue `orders` and
publishes `order.created` to the topic exchange `events`, in its own process.
Usage: python order_events_service.py AMQP_URL READY_FILE"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pika


def main(url: str, ready: Path) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.exchange_declare("events", "topic")
    channel.queue_declare("orders")

    def on_order(ch, method, properties, body):  # type: ignore[no-untyped-def]
        order = json.loads(body)
        event = json.dumps({"created": order["id"]}).encode()
        ch.basic_publish("events", "order.created", event)
        ch.basic_ack(method.delivery_tag)

    channel.basic_consume("orders", on_order)
    ready.write_text("ready")
    channel.start_consuming()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
