"""A remote service for record/replay tests: a JSON RPC server on the queue `pricing`
(AMQP-native: reply_to + correlation_id), in its own process.
Usage: python pricing_service.py AMQP_URL READY_FILE"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pika


def main(url: str, ready: Path) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.queue_declare("pricing")

    def on_request(ch, method, properties, body):  # type: ignore[no-untyped-def]
        order = json.loads(body)
        price = {"sku": order["sku"], "price": 10 * order["qty"]}
        ch.basic_publish(
            "",
            properties.reply_to,
            json.dumps(price),
            pika.BasicProperties(
                correlation_id=properties.correlation_id, content_type="application/json"
            ),
        )
        ch.basic_ack(method.delivery_tag)

    channel.basic_consume("pricing", on_request)
    ready.write_text("ready")
    channel.start_consuming()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
