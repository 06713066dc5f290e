"""A Celery stock worker for record/replay tests: `make_app(url, levels)` gives the
Celery app, whose worker the test runs in-process (celery.contrib.testing.worker's
start_worker).

- the task `stock.reserve` (routed to the durable queue `stock.reservations`, acked
  late: once done) reserves an order's stock, publishes `stock.reserved` to the
  durable topic exchange `shop.events` and returns what it reserved;
- a consumer bootstep bound to `shop.events` with `stock.changed` keeps the stock
  levels that outside events announce, and acks each.

The result backend is `rpc://`: results come back as AMQP messages over the same
broker, so they are recorded and replayed with the rest of the conversation. A Redis or
database backend would be a second server that the cassette does not hold (and replay
blocks the network); Celery 5 has no `amqp` backend any more.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, bootsteps
from kombu import Consumer, Exchange, Message, Queue


def make_app(url: str, levels: dict[str, int] | None = None) -> Celery:
    """The app; `levels` is filled in by the stock consumer. Its kombu entities are its
    own (kombu binds an entity to the channel it was first declared on)."""
    stock_levels = {} if levels is None else levels
    shop_events = Exchange("shop.events", type="topic", durable=True)
    stock = Exchange("stock", type="direct", durable=True)
    reservations = Queue("stock.reservations", stock, routing_key="stock.reserve", durable=True)
    # one subscription per worker: gone with its connection, so outside events
    # published while no worker runs do not pile up
    stock_changes = Queue(
        "stock-worker.stock", shop_events, routing_key="stock.changed", auto_delete=True
    )
    app = Celery("stock", broker=url, backend="rpc://")
    app.conf.update(
        task_queues=[reservations],
        task_routes={"stock.reserve": {"queue": "stock.reservations"}},
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # the worker's event loop sleeps until its next timer, up to 10 s, even when
        # py-amqp already holds the next frame or the worker was told to stop; checking
        # the (10 s) heartbeat 20 times per interval wakes it every half second
        broker_heartbeat=10,
        broker_heartbeat_checkrate=20,
    )

    class StockChanges(bootsteps.ConsumerStep):  # type: ignore[misc]
        def get_consumers(self, channel: Any) -> list[Consumer]:
            return [
                Consumer(
                    channel,
                    queues=[stock_changes],
                    callbacks=[self.on_stock_changed],
                    accept=["json"],
                )
            ]

        def on_stock_changed(self, body: dict[str, Any], message: Message) -> None:
            stock_levels[body["sku"]] = body["level"]
            message.ack()

    app.steps["consumer"].add(StockChanges)

    @app.task(name="stock.reserve", shared=False)  # this app's own, not every app's
    def reserve(order: dict[str, Any]) -> dict[str, Any]:
        reserved = {
            "order_id": order["order_id"],
            "sku": order["sku"],
            "reserved": order["qty"],
            "status": "reserved",
        }
        # the exchange is declared once, by the stock consumer when the worker starts;
        # not here: kombu remembers what it declared per connection, and which of its
        # pool's connections (one pool per broker URL in the process, the client's
        # included) a publish gets depends on timing
        with app.producer_pool.acquire(block=True) as producer:
            producer.publish(
                reserved,
                exchange=shop_events,
                routing_key="stock.reserved",
                headers={"x-event": "stock.reserved", "x-source": "stock-worker"},
                serializer="json",
                retry=True,
            )
        return reserved

    return app
