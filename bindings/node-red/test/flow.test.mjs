// examples/node-red/open-flow.json as shipped (only the broker port and the
// key file paths changed), on a real Node-RED runtime with the real mqtt in
// and debug nodes, against a real mosquitto, fed by the built e2e-pub.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TOOLS, missingTools, run, startBroker, waitFor } from '../../js/test/broker.js';
import { SRCDIR } from '../../js/test/paths.js';
import { NODES, debugNode, helper, keygen, mqttNode, skipOrFail, tempDir } from './common.mjs';

const FLOW = join(SRCDIR, 'examples', 'node-red', 'open-flow.json');
const missing = missingTools();
let dir;
let broker = null;
const f = {};
const got = { accepted: [], refused: [] };

before(async () => {
  if (missing) return;
  dir = tempDir('flow');
  for (const n of ['site.ring', 'other.ring', 'replay.state', 'pub.state']) f[n] = join(dir, n);
  await keygen('keyring', 'init', '-K', f['site.ring']);
  await keygen('keyring', 'init', '-K', f['other.ring']);
  broker = await startBroker(dir);
  await new Promise((r) => helper.startServer(r));
  const flow = JSON.parse(readFileSync(FLOW, 'utf8'));
  const byId = Object.fromEntries(flow.map((n) => [n.id, n]));
  byId['e2e.broker'].broker = '127.0.0.1';
  byId['e2e.broker'].port = String(broker.port);
  Object.assign(byId['e2e.keys'], { keyring: f['site.ring'], trust: '', state: f['replay.state'] });
  await helper.load([mqttNode, debugNode, ...NODES], flow);
  assert.equal(helper.getNode('e2e.keys').failure, null);
  helper.getNode('e2e.accepted').on('input', (m) => got.accepted.push(m));
  helper.getNode('e2e.refused').on('input', (m) => got.refused.push(m));
  // Subscribed once mosquitto has logged the SUBSCRIBE.
  await waitFor(() => /SUBSCRIBE[\s\S]*sensors\/#/.test(broker.log()), 15000, 'the flow\'s subscription');
});

after(async () => {
  if (!broker) return;
  await helper.unload();
  await new Promise((r) => helper.stopServer(r));
  await broker.stop();
  rmSync(dir, { recursive: true, force: true });
});

function e2ePub(ring, topic, message) {
  return run(TOOLS.pub, ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-K', ring, '--state', f['pub.state'],
    '-t', topic, '-m', message]);
}

test('the example flow opens an e2e-pub envelope from mosquitto onto the accepted debug output', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const r = await e2ePub(f['site.ring'], 'sensors/kitchen/temp', '21.5');
  assert.equal(r.code, 0, r.stderr);
  await waitFor(() => got.accepted.length === 1, 10000, 'the accepted message');
  assert.equal(got.accepted[0].payload, '21.5');
  assert.equal(got.accepted[0].topic, 'sensors/kitchen/temp');
  assert.equal(got.refused.length, 0);
});

test('the example flow shows an envelope sealed with another keyring on the refused output as unknown-key', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const before = got.accepted.length;
  const r = await e2ePub(f['other.ring'], 'sensors/door', 'open');
  assert.equal(r.code, 0, r.stderr);
  await waitFor(() => got.refused.length === 1, 10000, 'the refusal');
  assert.deepEqual({ ...got.refused[0].payload, message: undefined },
    { topic: 'sensors/door', reason: 'unknown-key', error: 'E2E_ERR_UNKNOWN_KEY', message: undefined });
  assert.equal(got.accepted.length, before);
});

test('the example flow shows a forged (plain MQTT) message on the refused output as not-e2e', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const n = got.refused.length;
  const r = await run(TOOLS.mosquittoPub, ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1',
    '-t', 'sensors/kitchen/temp', '-m', '99.9']);
  assert.equal(r.code, 0, r.stderr);
  await waitFor(() => got.refused.length === n + 1, 10000, 'the refusal');
  assert.equal(got.refused[n].payload.reason, 'not-e2e');
  assert.ok(got.accepted.every((m) => m.payload !== '99.9'));
});

test('the example flow wires the refusals to a debug node that shows the reason object', () => {
  const flow = JSON.parse(readFileSync(FLOW, 'utf8'));
  const open = flow.find((n) => n.type === 'e2e-open');
  const refused = flow.find((n) => n.id === open.wires[1][0]);
  assert.equal(refused.type, 'debug');
  assert.equal(refused.complete, 'payload');
  assert.equal(flow.find((n) => n.type === 'mqtt in').datatype, 'buffer');
});
