"""A FastStream order service for record/replay tests, run in-process by the test
(`make_broker(url)`), or on its own: `python faststream_order_service.py AMQP_URL`.

- a subscriber on the durable queue `orders` asks the remote inventory service for
  stock by RPC (`broker.request`, RabbitMQ's direct reply-to), then publishes
  `order.accepted` to the durable topic exchange `shop.events` and acks the order
  (manual acks: an order is settled only once its event is out);
- a subscriber bound to `shop.events` with `stock.changed` keeps the stock levels that
  outside events announce (FastStream's default ack policy: acked once handled).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from faststream import FastStream
from faststream.middlewares import AckPolicy
from faststream.rabbit import (
    ExchangeType,
    RabbitBroker,
    RabbitExchange,
    RabbitMessage,
    RabbitQueue,
)
from faststream.rabbit.schemas import Channel

SHOP_EVENTS = RabbitExchange("shop.events", type=ExchangeType.TOPIC, durable=True)
ORDERS = RabbitQueue("orders", durable=True)
# one subscription per service instance: gone with its connection, so outside events
# published while no order service runs do not pile up
STOCK_CHANGES = RabbitQueue("order-service.stock", auto_delete=True, routing_key="stock.changed")


def make_broker(url: str, stock_levels: dict[str, int] | None = None) -> RabbitBroker:
    """The service's broker, its subscribers registered; `stock_levels` is filled in
    by the stock subscriber."""
    levels = {} if stock_levels is None else stock_levels
    broker = RabbitBroker(url, default_channel=Channel(prefetch_count=10))

    @broker.subscriber(ORDERS, ack_policy=AckPolicy.MANUAL)
    async def on_order(order: dict[str, Any], message: RabbitMessage) -> None:
        reply = await broker.request(
            {"sku": order["sku"], "qty": order["qty"]}, queue="inventory", timeout=5
        )
        stock = await reply.decode()
        assert isinstance(stock, dict)
        accepted = {
            "order_id": order["order_id"],
            "sku": order["sku"],
            "reserved": stock["reserved"],
            "status": "accepted",
        }
        await broker.publish(
            accepted,
            exchange=SHOP_EVENTS,
            routing_key="order.accepted",
            headers={"x-event": "order.accepted", "x-source": "order-service"},
        )
        await message.ack()

    @broker.subscriber(STOCK_CHANGES, SHOP_EVENTS)
    async def on_stock_changed(event: dict[str, Any]) -> None:
        levels[event["sku"]] = event["level"]

    return broker


if __name__ == "__main__":
    asyncio.run(FastStream(make_broker(sys.argv[1])).run())
