"""Hand-written cassettes for what the committed ones do not show (tests/contracts)."""

from __future__ import annotations

# An aio-pika-style client calls an RPC server through direct reply-to; the reply comes
# from outside (the server is not recorded). Password redacted, as the recorder writes.
DIRECT_REPLY_TO = """
version: 1
amqpmock: 0.1.0
upstream: {product: RabbitMQ, version: 3.10.8, url: 'amqp://svc:<redacted>@rabbit.internal:5672/shop'}
connections:
- id: 1
  upstream: rabbit.internal:5672
  interactions:
  - {dir: c2s, channel: 0, method: Connection.Open, args: {virtual_host: shop}}
  - {dir: s2c, channel: 0, method: Connection.OpenOk}
  - {dir: c2s, channel: 1, method: Channel.Open}
  - {dir: s2c, channel: 1, method: Channel.OpenOk}
  - dir: c2s
    channel: 1
    method: Basic.Consume
    args: {queue: amq.rabbitmq.reply-to, consumer_tag: '', no_ack: true, exclusive: false}
  - {dir: s2c, channel: 1, method: Basic.ConsumeOk, args: {consumer_tag: amq.ctag-r1}}
  - dir: c2s
    channel: 1
    method: Basic.Publish
    args: {exchange: '', routing_key: inventory, mandatory: false}
    properties: {content_type: application/json, reply_to: amq.rabbitmq.reply-to, correlation_id: c-1}
    body: {json: {sku: S-1, qty: 1}}
  - dir: s2c
    channel: 1
    method: Basic.Deliver
    args: {consumer_tag: amq.ctag-r1, delivery_tag: 1, redelivered: false, exchange: '', routing_key: amq.rabbitmq.reply-to.g1hkABBhbXFwbW9jaw}
    properties: {content_type: application/json, correlation_id: c-1}
    body: {json: {sku: S-1, reserved: 1}}
    origin: outside
  - dir: c2s
    channel: 1
    method: Basic.Publish
    args: {exchange: '', routing_key: inventory, mandatory: false}
    properties: {content_type: application/json, reply_to: amq.rabbitmq.reply-to, correlation_id: c-2}
    body: {json: {sku: S-2, qty: 2}}
  - dir: s2c
    channel: 1
    method: Basic.Deliver
    args: {consumer_tag: amq.ctag-r1, delivery_tag: 2, redelivered: false, exchange: '', routing_key: amq.rabbitmq.reply-to.g1hkABBhbXFwbW9jaw}
    properties: {content_type: application/json, correlation_id: c-2}
    body: {json: {sku: S-2, reserved: 2}}
    origin: outside
  - dir: c2s
    channel: 1
    method: Exchange.Declare
    args: {exchange: shop.events, exchange_type: topic, durable: true, auto_delete: false}
  - {dir: s2c, channel: 1, method: Exchange.DeclareOk}
  - dir: c2s
    channel: 1
    method: Queue.Declare
    args: {queue: order-service.stock, durable: false, auto_delete: true, arguments: {x-max-length: 100}}
  - {dir: s2c, channel: 1, method: Queue.DeclareOk, args: {queue: order-service.stock}}
  - dir: c2s
    channel: 1
    method: Queue.Bind
    args: {queue: order-service.stock, exchange: shop.events, routing_key: stock.changed}
  - {dir: s2c, channel: 1, method: Queue.BindOk}
  - dir: c2s
    channel: 1
    method: Basic.Consume
    args: {queue: order-service.stock, consumer_tag: stock-1, no_ack: false}
  - {dir: s2c, channel: 1, method: Basic.ConsumeOk, args: {consumer_tag: stock-1}}
  - dir: s2c
    channel: 1
    method: Basic.Deliver
    args: {consumer_tag: stock-1, delivery_tag: 3, redelivered: false, exchange: shop.events, routing_key: stock.changed}
    properties: {content_type: application/json, headers: {x-event: stock.changed, n: !int32 1}}
    body: {json: {sku: S-1, level: 99}}
    origin: outside
  - {dir: c2s, channel: 1, method: Basic.Ack, args: {delivery_tag: 3}}
"""
