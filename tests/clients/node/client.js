// Drives a broker with Node's amqplib and prints what it observed as JSON.
// Usage: node client.js AMQP_URL
'use strict';
const amqp = require('amqplib');

async function main(url) {
  const out = {};
  const conn = await amqp.connect(url);
  out.serverProduct = conn.connection.serverProperties.product;
  const ch = await conn.createChannel();
  await ch.assertExchange('node.events', 'topic', { durable: false });
  const q = await ch.assertQueue('', { exclusive: true });
  out.serverNamed = /^amq\.gen-/.test(q.queue);
  await ch.bindQueue(q.queue, 'node.events', 'order.*');
  ch.publish('node.events', 'order.created', Buffer.from('{"id":1}'), { contentType: 'application/json' });
  ch.publish('node.events', 'order.created.late', Buffer.from('nope'));
  const got = [];
  await new Promise((resolve) => {
    ch.consume(q.queue, (msg) => {
      got.push({ body: msg.content.toString(), key: msg.fields.routingKey, redelivered: msg.fields.redelivered });
      if (!msg.fields.redelivered) {
        ch.nack(msg, false, true);  // requeue once
      } else {
        ch.ack(msg);
        resolve();
      }
    });
  });
  out.deliveries = got;

  // RPC over direct reply-to against a responder on another channel
  const server = await conn.createChannel();
  await server.assertQueue('node.rpc', { durable: false });
  await server.consume('node.rpc', (msg) => {
    server.sendToQueue(msg.properties.replyTo, Buffer.from('pong:' + msg.content.toString()),
      { correlationId: msg.properties.correlationId });
    server.ack(msg);
  });
  const client = await conn.createChannel();
  const reply = new Promise((resolve) => {
    client.consume('amq.rabbitmq.reply-to', (msg) => resolve({
      body: msg.content.toString(), correlationId: msg.properties.correlationId }), { noAck: true });
  });
  // give the consume-ok a moment before publishing with reply_to
  await new Promise((r) => setTimeout(r, 50));
  client.sendToQueue('node.rpc', Buffer.from('ping'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'n-1' });
  out.rpc = await reply;

  // a channel error: passive declare of a missing queue
  const bad = await conn.createChannel();
  bad.on('error', () => {});
  try {
    await bad.checkQueue('node.missing');
    out.missing = 'no error';
  } catch (err) {
    out.missing = { code: err.code, message: err.message };
  }
  await conn.close();
  return out;
}

main(process.argv[2]).then((out) => {
  console.log(JSON.stringify(out));
}, (err) => {
  console.error(err);
  process.exit(1);
});
