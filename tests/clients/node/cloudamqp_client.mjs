// @cloudamqp/amqp-client against a broker: publish, consume with nack/requeue and ack,
// RPC through direct reply-to, and an error; prints a JSON transcript with nothing
// that differs from run to run, so RabbitMQ's and the fake's can be compared.
// Driven by tests/clients/test_node_cloudamqp.py. Usage: node cloudamqp_client.mjs URL
import { AMQPClient } from "@cloudamqp/amqp-client"

const url = process.argv[2]
const out = {}
const conn = await new AMQPClient(url).connect()
const ch = await conn.channel()
out.channelId = ch.id
const q = await ch.queueDeclare("", { exclusive: true })
out.serverNamed = q.name.startsWith("amq.gen-")
out.declared = { messageCount: q.messageCount, consumerCount: q.consumerCount }
await ch.exchangeDeclare("cloud.events", "topic", { autoDelete: true })
await ch.queueBind(q.name, "cloud.events", "order.*")
await ch.confirmSelect()
out.confirmTag = await ch.basicPublish("cloud.events", "order.created", JSON.stringify({ id: 1 }), {
  contentType: "application/json",
  headers: { source: "node" },
})
out.unroutableTag = await ch.basicPublish("cloud.events", "nobody.listens", "x")

const seen = []
const consumer = await ch.basicConsume(q.name, { noAck: false }, async (msg) => {
  seen.push({
    body: msg.bodyToString(),
    key: msg.routingKey,
    exchange: msg.exchange,
    redelivered: msg.redelivered,
    deliveryTag: msg.deliveryTag,
    contentType: msg.properties.contentType,
    headers: msg.properties.headers,
  })
  if (seen.length === 1) {
    await msg.nack(true) // back to the queue: redelivered next
  } else {
    await msg.ack()
    await consumer.cancel()
  }
})
await consumer.wait(5000)
out.deliveries = seen

// RPC: a responder on one channel, a caller on another, through direct reply-to
const server = await conn.channel()
await server.queueDeclare("cloud.rpc", { autoDelete: true })
await server.basicConsume("cloud.rpc", { noAck: true }, async (msg) => {
  await server.basicPublish("", msg.properties.replyTo, "pong:" + msg.bodyToString(), {
    correlationId: msg.properties.correlationId,
  })
})
const caller = await conn.channel()
let gotReply
const reply = new Promise((resolve) => (gotReply = resolve))
await caller.basicConsume("amq.rabbitmq.reply-to", { noAck: true }, (msg) =>
  gotReply({ body: msg.bodyToString(), correlationId: msg.properties.correlationId }),
)
await caller.basicPublish("", "cloud.rpc", "ping", {
  replyTo: "amq.rabbitmq.reply-to",
  correlationId: "c-1",
})
out.rpc = await Promise.race([reply, new Promise((r) => setTimeout(() => r("timeout"), 5000))])

const bad = await conn.channel()
try {
  await bad.queueDeclare("cloud.missing", { passive: true })
  out.missing = "declared"
} catch (err) {
  out.missing = String(err.message)
}
out.badChannelClosed = bad.closed
await conn.close()
console.log(JSON.stringify(out))
