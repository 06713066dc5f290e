// A Node test drives amqpmock's control API over HTTP (no Python in the test):
// it stubs an RPC server, injects a message as another service would, runs a small
// amqplib worker against the fake broker, and asserts on what the worker published.
// Usage: node control_api.js AMQP_URL HTTP_URL (HTTP_URL with credentials)
"use strict";
const amqp = require("amqplib");
const assert = require("node:assert/strict");

const [amqpUrl, httpUrl] = process.argv.slice(2);
const base = new URL(httpUrl);
const auth = "Basic " + Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString("base64");
const origin = `${base.protocol}//${base.host}`;

async function control(method, path, body) {
  const response = await fetch(origin + "/amqpmock/" + path, {
    method,
    headers: { Authorization: auth, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function main() {
  const out = {};
  // 1. a fresh broker, and an RPC stub for the pricing service
  assert.equal((await control("POST", "reset")).status, 204);
  const stub = await control("POST", "stubs", {
    exchange: "", routing_key: "pricing.quote", returns: { price: 42 },
  });
  assert.equal(stub.status, 201);

  // 2. the worker under test: takes orders, asks for a price, publishes the result
  const conn = await amqp.connect(amqpUrl);
  const ch = await conn.createChannel();
  await ch.assertQueue("orders");
  await ch.assertExchange("events", "topic");
  const replies = await ch.assertQueue("", { exclusive: true });
  const handled = new Promise((resolve) => {
    ch.consume("orders", async (msg) => {
      const order = JSON.parse(msg.content.toString());
      const quoted = new Promise((done) => {
        ch.consume(replies.queue, (reply) => done(JSON.parse(reply.content.toString())), { noAck: true });
      });
      ch.sendToQueue("pricing.quote", Buffer.from(JSON.stringify({ sku: order.sku })), {
        replyTo: replies.queue, correlationId: "q-1", contentType: "application/json",
      });
      const quote = await quoted;
      ch.publish("events", "order.priced", Buffer.from(JSON.stringify({ id: order.id, price: quote.price })));
      ch.ack(msg);
      resolve(quote);
    });
  });

  // 3. an order arrives from another service (injected through the control API)
  const injected = await control("POST", "publish", {
    exchange: "", routing_key: "orders", body: { id: 7, sku: "ABC" },
  });
  assert.deepEqual(injected.body, { queues: ["orders"] });
  out.quote = await handled;

  // 4. assertions on what the worker did, read back through the control API (amqplib
  // writes asynchronously: wait until the broker has seen the publish and the ack)
  const until = async (path, count) => {
    const deadline = Date.now() + 10000;
    for (;;) {
      const answer = await control("GET", path);
      if (answer.body.length >= count || Date.now() > deadline) return answer.body;
      await new Promise((wake) => setTimeout(wake, 50));
    }
  };
  const published = await until("records/published?exchange=events", 1);
  out.published = published.map((r) => ({ routing_key: r.routing_key, json: r.json }));
  const calls = await control("GET", `stubs/${stub.body.id}`);
  out.stub = { call_count: calls.body.call_count, payload: calls.body.calls[0].payload };
  out.acked = (await until("records/acked?queue=orders", 1)).length;
  await conn.close();
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack || error));
  process.exit(1);
});
