// Rascal (unmodified) against a broker and its management API: a vhost it asserts
// (PUT /api/vhosts/V) and checks (GET), an exchange, a queue and a binding in it, one
// message published and received through a subscription, then nuke() (DELETE). Also
// what Rascal reports when the management API refuses it. Prints a JSON transcript.
//
// usage: node rascal_client.js AMQP_URL MANAGEMENT_URL VHOST
//   AMQP_URL        amqp://user:password@host:port/ (its vhost is replaced by VHOST)
//   MANAGEMENT_URL  http://user:password@host:port
'use strict';

const { BrokerAsPromised: Broker } = require('rascal');

const [amqpUrl, managementUrl, vhost] = process.argv.slice(2);
const transcript = { steps: [] };
const step = (name, value) => transcript.steps.push(value === undefined ? [name] : [name, value]);

function amqpUrlFor(name) {
  const url = new URL(amqpUrl);
  url.pathname = '/' + encodeURIComponent(name);
  return url.toString();
}

// GET /api/vhosts/NAME with the management URL's credentials: the status only
async function vhostStatus(name) {
  const url = new URL(managementUrl);
  const auth = Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`);
  const res = await fetch(`${url.origin}/api/vhosts/${encodeURIComponent(name)}`, {
    headers: { Authorization: `Basic ${auth.toString('base64')}` },
  });
  await res.arrayBuffer();
  return res.status;
}

function configFor(name, management, extra) {
  return {
    vhosts: {
      [name]: {
        assert: true,
        check: true,
        connection: { url: amqpUrlFor(name), management, retry: { min: 50, max: 50 } },
        ...extra,
      },
    },
  };
}

// the error Rascal's broker creation ends with, the management URL's port masked
async function creationError(config) {
  try {
    const broker = await Broker.create(config);
    await broker.nuke();
    return null;
  } catch (err) {
    return err.message.replace(/:\d+\b/g, ':PORT');
  }
}

async function main() {
  step('vhost before', await vhostStatus(vhost));

  const broker = await Broker.create(
    configFor(vhost, managementUrl, {
      exchanges: { events: { type: 'topic' } },
      queues: { inbox: {} },
      bindings: { route: { source: 'events', destination: 'inbox', bindingKey: 'order.#' } },
      publications: { created: { exchange: 'events', routingKey: 'order.created' } },
      subscriptions: { inbox: { queue: 'inbox', prefetch: 1 } },
    }),
  );
  broker.on('error', (err) => step('broker error', err.message));
  step('created');
  step('vhost after create', await vhostStatus(vhost));

  const subscription = await broker.subscribe('inbox');
  const received = new Promise((resolve, reject) => {
    subscription.on('message', (message, content, ackOrNack) => {
      ackOrNack();
      resolve({
        content,
        routingKey: message.fields.routingKey,
        exchange: message.fields.exchange,
        redelivered: message.fields.redelivered,
        contentType: message.properties.contentType,
      });
    });
    subscription.on('error', reject);
    subscription.on('invalid_content', reject);
  });
  const publication = await broker.publish('created', { id: 1, what: 'order' });
  const published = new Promise((resolve, reject) => {
    publication.on('success', (messageId) => resolve(typeof messageId));
    publication.on('return', () => reject(new Error('returned')));
    publication.on('error', reject);
  });
  step('published', await published);
  step('received', await received);
  await subscription.cancel();

  // a second create on the same vhost: the PUT answers 204 now, still fine for Rascal
  const again = await Broker.create(configFor(vhost, managementUrl, {}));
  step('asserted again');
  await again.shutdown();

  await broker.nuke();
  step('nuked');
  step('vhost after nuke', await vhostStatus(vhost));

  // what Rascal says when the management API refuses it
  const wrong = new URL(managementUrl);
  wrong.password = 'wrong';
  step('wrong password', await creationError(configFor(`${vhost}-x`, wrong.toString(), {})));
  step('vhost never made', await vhostStatus(`${vhost}-x`));
  const checkOnly = configFor(`${vhost}-y`, managementUrl, {});
  checkOnly.vhosts[`${vhost}-y`].assert = false;
  step('check of a missing vhost', await creationError(checkOnly));

  process.stdout.write(JSON.stringify(transcript) + '\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err.stack}\n${JSON.stringify(transcript)}\n`);
    process.exit(1);
  },
);
