// libe2e/mqtt's own behaviours, through a real mosquitto (test/broker.js),
// as e2e-sub has them (cli/e2e-sub.1): the subscribed-filter check, QoS 1
// redeliveries (DUP) of accepted messages dropped as duplicates, the
// replay state saved within a second and on close, loaded at start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { ERR, Guard, Keyring, Sender, StateFileError } from '../src/index.js';
import { E2EPublisher, E2ESubscriber } from '../src/mqtt.js';
import { stateFile } from '../src/node.js';
import { skipOrFail } from './helpers.js';
import { MOSQUITTO, TOOLS, run, startBroker, waitFor } from './broker.js';

let dir;
let broker = null;
const missing = [MOSQUITTO, TOOLS.mosquittoPub].every(existsSync) ? null : 'mosquitto and its clients are needed';
const keyring = new Keyring();
keyring.generate();
const text = (b) => new TextDecoder().decode(b);

before(async () => {
  if (missing) return;
  dir = mkdtempSync(join(tmpdir(), 'e2e-js-helper-'));
  broker = await startBroker(dir);
});

after(async () => {
  if (broker) await broker.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function connect(opts = {}) {
  return mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 10000, ...opts });
}

function collector(client, opts = {}) {
  const got = { accepted: [], rejected: [], duplicates: [], errors: [] };
  const sub = new E2ESubscriber(client, {
    keyring, ...opts,
    onMessage: (m, p) => got.accepted.push({ m, p }),
    onRejected: (e, p) => got.rejected.push({ e, p }),
    onDuplicate: (i, p) => got.duplicates.push({ i, p }),
    onError: (e) => got.errors.push(e),
  });
  return { sub, got };
}

async function publishRaw(topic, env) {
  const p = join(dir, 'raw.env');
  writeFileSync(p, env);
  const r = await run(TOOLS.mosquittoPub, ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-t', topic, '-f', p]);
  assert.equal(r.code, 0, r.stderr);
}

test('a genuine envelope on a topic the wrapper did not subscribe to is refused as not-subscribed', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const client = await connect();
  try {
    const { sub, got } = collector(client);
    await sub.subscribe('helper/a/#', { qos: 1 });
    // Another part of the application subscribed to more on the same client.
    await client.subscribeAsync('helper/b/#', { qos: 1 });
    const pub = new E2EPublisher(client, { keyring });
    await pub.publish('helper/b/x', 'for b');
    await pub.publish('helper/a/x', 'for a');
    await waitFor(() => got.accepted.length + got.rejected.length === 2, 10000, 'both');
    assert.equal(text(got.accepted[0].m.payload), 'for a');
    assert.equal(got.rejected[0].e.reason, 'not-subscribed');
    assert.equal(got.rejected[0].e.topic, 'helper/b/x');
    assert.deepEqual(sub.filters, ['helper/a/#']);
    sub.close();
  } finally {
    await client.endAsync();
  }
});

test('a QoS 1 redelivery (DUP) of an accepted message is a duplicate, not a rejection', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const guard = new Guard();
  const clientId = `js-dup-${process.pid}`;
  // MQTT 5 (MQTT.js lets an application hold back acknowledgements only
  // there), a session that outlives the connection.
  const session = { clientId, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 300 } };
  // First connection: takes the message but never acknowledges it.
  const first = await connect({
    ...session,
    customHandleAcks: (topic, message, packet) => first.emit('message', topic, message, packet),
  });
  const a = collector(first, { guard });
  await a.sub.subscribe('helper/dup/#', { qos: 1 });
  const sender = new Sender();
  const env = sender.seal(keyring, 'helper/dup/x', 'once');
  await publishRaw('helper/dup/x', env);
  await waitFor(() => a.got.accepted.length === 1, 10000, 'the first delivery');
  a.sub.close();
  await first.endAsync(true);
  // Second connection, same session: mosquitto sends it again, with DUP.
  const second = mqtt.connect(broker.url, { ...session, reconnectPeriod: 0 });
  const b = collector(second, { guard, filters: ['helper/dup/#'] });
  try {
    await waitFor(() => b.got.duplicates.length + b.got.rejected.length + b.got.accepted.length > 0, 10000,
      'the redelivery');
    assert.equal(b.got.duplicates.length, 1);
    assert.equal(b.got.duplicates[0].p.dup, true);
    assert.equal(b.got.duplicates[0].i.seq, sender.nextSeq - 1n);
    assert.deepEqual(b.got.rejected, []);
    assert.equal(b.sub.duplicates, 1);
    // The same envelope again without DUP (a replay by someone) is one.
    await publishRaw('helper/dup/x', env);
    await waitFor(() => b.got.rejected.length === 1, 10000, 'the replay');
    assert.equal(b.got.rejected[0].e.reason, 'replay');
    assert.equal(b.got.rejected[0].p.dup, false);
    b.sub.close();
  } finally {
    await second.endAsync();
  }
});

test('the replay state is saved within a second of an accepted message, then loaded by the next subscriber', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const path = join(dir, 'saved.state');
  const client = await connect();
  const env = new Sender().seal(keyring, 'helper/state/x', 'kept');
  try {
    const { sub, got } = collector(client, { state: stateFile(path) });
    assert.equal(existsSync(path), false); // a first start: no file yet
    await sub.subscribe('helper/state/#', { qos: 1 });
    await publishRaw('helper/state/x', env);
    await waitFor(() => got.accepted.length === 1, 10000, 'the message');
    // Before close: the periodic save (at most once a second).
    await waitFor(() => existsSync(path), 3000, 'the state file');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    sub.close();
    const again = collector(client, { state: stateFile(path) });
    await again.sub.subscribe('helper/state/#', { qos: 1 });
    await publishRaw('helper/state/x', env);
    await waitFor(() => again.got.rejected.length === 1, 10000, 'the replay');
    assert.equal(again.got.rejected[0].e.reason, 'replay');
    again.sub.close();
  } finally {
    await client.endAsync();
  }
});

test('a corrupt state file stops the subscriber from starting, naming the line', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const path = join(dir, 'corrupt.state');
  writeFileSync(path, '# libe2e replay state\nlibe2e-replay-state 9\n', { mode: 0o600 });
  const client = await connect();
  try {
    assert.throws(() => collector(client, { state: stateFile(path) }),
      (e) => e instanceof StateFileError && e.code === ERR.STATE_CORRUPT && e.line === 2);
    assert.equal(client.listenerCount('message'), 0);
  } finally {
    await client.endAsync();
  }
});

test('a state file others may write is refused', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const path = join(dir, 'writable.state');
  writeFileSync(path, new Guard().serialize());
  chmodSync(path, 0o622);
  const client = await connect();
  try {
    assert.throws(() => collector(client, { state: stateFile(path) }), (e) => e.code === ERR.WRITABLE);
  } finally {
    await client.endAsync();
  }
});

test('the publisher seals with retained intent exactly when retain is set', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const client = await connect();
  try {
    const { sub, got } = collector(client);
    await sub.subscribe('helper/ret/#', { qos: 1 });
    const pub = new E2EPublisher(client, { keyring });
    await pub.publish('helper/ret/plain', 'plain', { qos: 1 });
    await pub.publish('helper/ret/kept', 'kept', { qos: 1, retain: true });
    await waitFor(() => got.accepted.length === 2, 10000, 'both');
    const byTopic = Object.fromEntries(got.accepted.map(({ m }) => [m.topic, m]));
    assert.equal(byTopic['helper/ret/plain'].info.retained, false);
    assert.equal(byTopic['helper/ret/kept'].info.retained, true);
    // A later subscriber gets the retained one delivered retained.
    const late = collector(client);
    await late.sub.subscribe('helper/ret/kept', { qos: 1 });
    await waitFor(() => late.got.accepted.length === 1, 10000, 'the retained delivery');
    assert.equal(late.got.accepted[0].m.retained, true);
    sub.close();
    late.sub.close();
  } finally {
    await client.endAsync();
  }
});
