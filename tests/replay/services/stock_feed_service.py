"""An outside event feed for record/replay tests, in its own process: once the file
TRIGGER exists, it publishes COUNT `stock.changed` events (each its own body) to the
durable topic exchange `shop.events`, then exits. Nothing the test does over AMQP
causes them: only the order of the recording (the test subscribes, then writes
TRIGGER) says when they came.
Usage: python stock_feed_service.py AMQP_URL READY_FILE TRIGGER COUNT"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pika


def main(url: str, ready: Path, trigger: Path, count: int) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.exchange_declare("shop.events", "topic", durable=True)
    ready.write_text("ready")
    while not trigger.exists():
        time.sleep(0.02)
    for n in range(1, count + 1):
        body = json.dumps({"sku": f"S-{n}", "level": 100 - n})
        channel.basic_publish(
            "shop.events",
            "stock.changed",
            body,
            pika.BasicProperties(content_type="application/json"),
        )
    connection.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
