// RPC round trips through direct reply-to with Node's amqplib, for bench/wire.py.
// usage: node rpc.js AMQP_URL CALLS [nagle]  ->  prints {"p50": ms, "p99": ms}
// amqplib leaves Nagle's algorithm on by default: a publish's later frames then wait
// for the broker to acknowledge the first, which a delayed ACK makes ~40 ms. The
// benchmark turns it off (noDelay), unless "nagle" asks for amqplib's defaults.
const path = require('path');
const amqp = require(path.join(__dirname, '..', '..', 'tests', 'clients', 'node', 'node_modules', 'amqplib'));

async function main() {
  const url = process.argv[2];
  const calls = Number(process.argv[3] || 2000);
  const warmup = 200;
  const options = {noDelay: process.argv[4] !== 'nagle'};
  const responder = await amqp.connect(url, options);
  const caller = await amqp.connect(url, options);
  const rch = await responder.createChannel();
  const queue = 'bench.rpc.node.' + process.pid;
  await rch.assertQueue(queue, {exclusive: true});
  await rch.consume(queue, (msg) => {
    rch.publish('', msg.properties.replyTo, msg.content, {correlationId: msg.properties.correlationId});
    rch.ack(msg);
  });
  const cch = await caller.createChannel();
  const waiting = new Map();
  await cch.consume('amq.rabbitmq.reply-to', (msg) => {
    const id = msg.properties.correlationId;
    const done = waiting.get(id);
    waiting.delete(id);
    done(msg.content.toString());
  }, {noAck: true});
  const latencies = [];
  for (let i = 0; i < warmup + calls; i++) {
    const began = process.hrtime.bigint();
    const body = await new Promise((resolve) => {
      waiting.set(String(i), resolve);
      cch.publish('', queue, Buffer.from('ping ' + i),
        {correlationId: String(i), replyTo: 'amq.rabbitmq.reply-to'});
    });
    if (body !== 'ping ' + i) throw new Error('wrong reply ' + body);
    if (i >= warmup) latencies.push(Number(process.hrtime.bigint() - began) / 1e6);
  }
  latencies.sort((a, b) => a - b);
  const p50 = latencies[Math.floor(latencies.length / 2)];
  const p99 = latencies[Math.floor(latencies.length * 0.99) - 1];
  console.log(JSON.stringify({p50, p99}));
  await caller.close();
  await responder.close();
}

main().catch((err) => { console.error(err); process.exit(1); });
