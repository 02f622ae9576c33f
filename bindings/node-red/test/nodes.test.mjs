// The e2e seal, e2e open and e2e keys nodes on a real Node-RED runtime
// (node-red-node-test-helper), with key files made by the built e2e-keygen.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Signer } from 'libe2e';
import { loadKeyring, saveSigner } from 'libe2e/node';
import { TOOLS } from '../../js/test/broker.js';
import { NODES, helper, keygen, nextMessage, skipOrFail, tempDir } from './common.mjs';

let dir;
const f = {};
const missing = existsSync(TOOLS.keygen) ? null : `${TOOLS.keygen} is missing (build the tree)`;

before(async () => {
  dir = tempDir('nodes');
  for (const n of ['ring', 'other.ring', 'signer.key', 'signer.pub', 'trust', 'state', 'enc.key']) f[n] = join(dir, n);
  if (!missing) {
    await keygen('keyring', 'init', '-K', f.ring);
    await keygen('keyring', 'init', '-K', f['other.ring']);
    await keygen('signer', 'new', '-s', f['signer.key'], '-p', f['signer.pub'], '--no-passphrase');
    await keygen('trust', 'add', '--trust', f.trust, '-p', f['signer.pub'], '--topics', 'site/#');
  }
  await new Promise((r) => helper.startServer(r));
});

afterEach(async () => { await helper.unload(); });

after(async () => {
  await new Promise((r) => helper.stopServer(r));
  rmSync(dir, { recursive: true, force: true });
});

/** keys (config node) -> seal -> out, and keys -> open -> ok / refused. */
function flow(keys, open = {}) {
  return [
    { id: 'keys', type: 'e2e-keys', name: 'k', ...keys },
    { id: 'seal', type: 'e2e-seal', keys: 'keys', wires: [['sealed']] },
    { id: 'open', type: 'e2e-open', keys: 'keys', output: 'string', ...open, wires: [['ok'], ['refused']] },
    { id: 'sealed', type: 'helper' },
    { id: 'ok', type: 'helper' },
    { id: 'refused', type: 'helper' },
  ];
}

/** Seal msg through the seal node; resolves with the envelope message. */
async function seal(msg) {
  const got = nextMessage(helper.getNode('sealed'));
  helper.getNode('seal').receive(msg);
  return got;
}

/** Feed open; resolves with [output, msg] for the first output that gets something. */
function open(msg) {
  const ok = helper.getNode('ok');
  const refused = helper.getNode('refused');
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('e2e open sent nothing')), 10000);
    const on = (which) => (m) => { clearTimeout(t); ok.removeAllListeners('input'); refused.removeAllListeners('input'); resolve([which, m]); };
    ok.once('input', on('accepted'));
    refused.once('input', on('refused'));
    helper.getNode('open').receive(msg);
  });
}

test('a payload sealed by e2e seal is opened by e2e open on the first output, with its header', async (t) => {
  if (missing) return skipOrFail(t, missing);
  await helper.load(NODES, flow({ keyring: f.ring }));
  const env = await seal({ topic: 'site/a', payload: 'hello' });
  assert.ok(Buffer.isBuffer(env.payload));
  assert.equal(env.e2e.suite, 'aead');
  assert.ok(!env.payload.includes('hello'), 'aead: the payload is encrypted');
  const [which, m] = await open({ topic: 'site/a', payload: env.payload });
  assert.equal(which, 'accepted');
  assert.equal(m.payload, 'hello');
  assert.equal(m.e2e.keyId, loadKeyring(f.ring).primary().id.toString(16).padStart(8, '0'));
  assert.equal(m.e2e.signed, false);
});

test('a tampered envelope goes to the second output as bad-tag, and nothing to the first', async (t) => {
  if (missing) return skipOrFail(t, missing);
  await helper.load(NODES, flow({ keyring: f.ring }));
  const env = await seal({ topic: 'site/a', payload: 'secret reading' });
  const bad = Buffer.from(env.payload);
  bad[bad.length - 1] ^= 1;
  const [which, m] = await open({ topic: 'site/a', payload: bad });
  assert.equal(which, 'refused');
  assert.deepEqual(m.payload, { topic: 'site/a', reason: 'bad-tag', error: 'E2E_ERR_BAD_TAG', message: m.payload.message });
  assert.ok(m.payload.message.length > 0);
});

test('a mac envelope with a forged payload is refused without its unverified payload on either output', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const mac = join(dir, 'mac.ring');
  await keygen('keyring', 'init', '-K', mac, '--suite', 'mac');
  await helper.load(NODES, flow({ keyring: mac }));
  const env = await seal({ topic: 'site/a', payload: 'open 1' });
  assert.ok(env.payload.includes('open 1'), 'mac: the payload is in clear');
  const forged = Buffer.from(env.payload.toString('latin1').replace('open 1', 'open 9'), 'latin1');
  const [which, m] = await open({ topic: 'site/a', payload: forged });
  assert.equal(which, 'refused');
  assert.equal(m.payload.reason, 'bad-tag');
  assert.ok(!JSON.stringify(m).includes('open 9'));
});

test('an envelope opened once is refused as replay the second time', async (t) => {
  if (missing) return skipOrFail(t, missing);
  await helper.load(NODES, flow({ keyring: f.ring }));
  const env = await seal({ topic: 'site/a', payload: 'once' });
  assert.equal((await open({ topic: 'site/a', payload: env.payload }))[0], 'accepted');
  const [which, m] = await open({ topic: 'site/a', payload: env.payload });
  assert.equal(which, 'refused');
  assert.equal(m.payload.reason, 'replay');
});

test('an envelope sealed for another topic is refused as bad-tag', async (t) => {
  if (missing) return skipOrFail(t, missing);
  await helper.load(NODES, flow({ keyring: f.ring }));
  const env = await seal({ topic: 'site/a', payload: 'moved' });
  const [which, m] = await open({ topic: 'site/b', payload: env.payload });
  assert.equal(which, 'refused');
  assert.equal(m.payload.reason, 'bad-tag');
});

test('an envelope from another keyring is refused as unknown-key', async (t) => {
  if (missing) return skipOrFail(t, missing);
  await helper.load(NODES, [
    ...flow({ keyring: f.ring }),
    { id: 'keys2', type: 'e2e-keys', keyring: f['other.ring'] },
    { id: 'seal2', type: 'e2e-seal', keys: 'keys2', wires: [['sealed']] },
  ]);
  const got = nextMessage(helper.getNode('sealed'));
  helper.getNode('seal2').receive({ topic: 'site/a', payload: 'x' });
  const env = await got;
  const [which, m] = await open({ topic: 'site/a', payload: env.payload });
  assert.equal(which, 'refused');
  assert.equal(m.payload.reason, 'unknown-key');
});

test('a topic outside the subscribed filters is refused as not-subscribed', async (t) => {
  if (missing) return skipOrFail(t, missing);
  await helper.load(NODES, flow({ keyring: f.ring }, { filters: 'site/a/#, site/c' }));
  const env = await seal({ topic: 'site/b', payload: 'elsewhere' });
  const [which, m] = await open({ topic: 'site/b', payload: env.payload });
  assert.equal(which, 'refused');
  assert.equal(m.payload.reason, 'not-subscribed');
});

test('signed with the config node\'s signer: trusted for its topics, untrusted-signer elsewhere', async (t) => {
  if (missing) return skipOrFail(t, missing);
  await helper.load(NODES, flow({ keyring: f.ring, signer: f['signer.key'], trust: f.trust }, { requireSignature: true }));
  const env = await seal({ topic: 'site/a', payload: 'signed' });
  assert.equal(env.e2e.signed, true);
  const [which, m] = await open({ topic: 'site/a', payload: env.payload });
  assert.equal(which, 'accepted');
  assert.equal(m.payload, 'signed');
  const other = await seal({ topic: 'elsewhere/a', payload: 'signed' });
  const [which2, m2] = await open({ topic: 'elsewhere/a', payload: other.payload });
  assert.equal(which2, 'refused');
  assert.equal(m2.payload.reason, 'untrusted-signer');
});

test('require signature refuses an unsigned envelope as unsigned', async (t) => {
  if (missing) return skipOrFail(t, missing);
  await helper.load(NODES, flow({ keyring: f.ring, trust: f.trust }, { requireSignature: true }));
  const env = await seal({ topic: 'site/a', payload: 'plain' });
  const [which, m] = await open({ topic: 'site/a', payload: env.payload });
  assert.equal(which, 'refused');
  assert.equal(m.payload.reason, 'unsigned');
});

test('a signer key under a passphrase is opened with the passphrase from the credentials', async (t) => {
  if (missing) return skipOrFail(t, missing);
  // Low Argon2id costs: pure-JS Argon2id at e2e-keygen's costs takes seconds.
  saveSigner(Signer.generate(), f['enc.key'], 'correct horse', { opslimit: 1, memlimit: 8 * 1024 * 1024 });
  await helper.load(NODES, flow({ keyring: f.ring, signer: f['enc.key'] }), { keys: { passphrase: 'correct horse' } });
  assert.equal(helper.getNode('keys').failure, null);
  const env = await seal({ topic: 'site/a', payload: 'x' });
  assert.equal(env.e2e.signed, true);
});

test('a wrong passphrase leaves the keys unusable and the nodes saying so', async (t) => {
  if (missing) return skipOrFail(t, missing);
  await helper.load(NODES, flow({ keyring: f.ring, signer: f['enc.key'] }), { keys: { passphrase: 'wrong' } });
  assert.match(helper.getNode('keys').failure, /passphrase/i);
  const seal = helper.getNode('seal');
  const err = new Promise((resolve) => seal.on('call:error', (call) => resolve(call)));
  seal.receive({ topic: 'site/a', payload: 'x' });
  assert.match(String((await err).args[0]), /no usable e2e keys/);
});

test('a keyring that group or others can read is refused when the flow starts', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const loose = join(dir, 'loose.ring');
  await keygen('keyring', 'init', '-K', loose);
  chmodSync(loose, 0o644);
  await helper.load(NODES, flow({ keyring: loose }));
  assert.match(helper.getNode('keys').failure, /permission|access|group/i);
});

test('the replay state is saved when the flow stops and refuses a replay after a restart', async (t) => {
  if (missing) return skipOrFail(t, missing);
  await helper.load(NODES, flow({ keyring: f.ring, state: f.state }));
  const env = await seal({ topic: 'site/a', payload: 'kept' });
  assert.equal((await open({ topic: 'site/a', payload: env.payload }))[0], 'accepted');
  await helper.unload();
  assert.ok(existsSync(f.state), 'saved on stop');
  await helper.load(NODES, flow({ keyring: f.ring, state: f.state }));
  const [which, m] = await open({ topic: 'site/a', payload: env.payload });
  assert.equal(which, 'refused');
  assert.equal(m.payload.reason, 'replay');
});

test('a string payload (an mqtt in node not set to a Buffer) is an error, not a verdict', async (t) => {
  if (missing) return skipOrFail(t, missing);
  await helper.load(NODES, flow({ keyring: f.ring }));
  const node = helper.getNode('open');
  const err = new Promise((resolve) => node.on('call:error', (call) => resolve(call)));
  node.receive({ topic: 'site/a', payload: 'E2E...' });
  assert.match(String((await err).args[0]), /Buffer/);
});
