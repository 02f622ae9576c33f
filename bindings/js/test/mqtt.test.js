// Interop through a real mosquitto (test/broker.js: its own config, a free
// loopback port, stopped by PID), both ways: e2e-pub publishes and the JS
// subscriber (libe2e/mqtt over MQTT.js) opens; the JS publisher publishes
// and e2e-sub and the Python binding (libe2e.mqtt over paho, through
// test/c_peer.py) open. Every mode, signed, retained, keys rotated by
// e2e-keygen, and a replay-state file handed from a JS subscriber to
// e2e-sub and back without a replay getting through.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { Guard, toHex } from '../src/index.js';
import { E2EPublisher, E2ESubscriber } from '../src/mqtt.js';
import { loadKeyring, loadSigner, loadTrust, saveKeyring, stateFile } from '../src/node.js';
import { BUILDDIR, HERE, SRCDIR, skipOrFail } from './helpers.js';
import { PYTHON, TOOLS, missingTools, run, startBroker, waitFor } from './broker.js';

const text = (b) => new TextDecoder().decode(b);
let dir;
let broker = null;
let missing = missingTools();
let f = null;
let macId = 0;

const kg = async (...a) => {
  const r = await run(TOOLS.keygen, a);
  assert.equal(r.code, 0, `e2e-keygen ${a.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};

before(async () => {
  if (missing) return;
  dir = mkdtempSync(join(tmpdir(), 'e2e-js-mqtt-'));
  broker = await startBroker(dir);
  f = {
    ring: join(dir, 'ring'), macRing: join(dir, 'mac.ring'), secret: join(dir, 'signer.key'),
    pub: join(dir, 'signer.pub'), trust: join(dir, 'trust'),
  };
  await kg('keyring', 'init', '-K', f.ring);
  await kg('keyring', 'add', '-K', f.ring, '--suite', 'mac');
  await kg('signer', 'new', '-s', f.secret, '-p', f.pub, '--no-passphrase');
  await kg('trust', 'add', '--trust', f.trust, '-p', f.pub, '--topics', 'js/#');
  // The same keys with the mac key primary, written by JS, for mac mode.
  const ring = loadKeyring(f.ring);
  macId = ring.list().find((k) => k.suite === 'mac').id;
  ring.setState(macId, 'primary');
  saveKeyring(ring, f.macRing);
});

after(async () => {
  if (broker) await broker.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A connected MQTT.js client (closed by the caller). */
async function connect(opts = {}) {
  return mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 10000, ...opts });
}

/** A JS subscriber on filter collecting accepted and rejected messages. */
async function jsSubscriber(filter, opts = {}) {
  const client = await connect();
  const got = { accepted: [], rejected: [], duplicates: [] };
  const sub = new E2ESubscriber(client, {
    keyring: loadKeyring(f.ring), trust: loadTrust(f.trust), ...opts,
    onMessage: (m) => got.accepted.push(m),
    onRejected: (e) => got.rejected.push(e),
    onDuplicate: (i) => got.duplicates.push(i),
  });
  await sub.subscribe(filter, { qos: 1 });
  return { client, sub, got, close: async () => { sub.close(); await client.endAsync(); } };
}

// [name, e2e-pub arguments, suite, signed]
const MODES = () => [
  ['aead', ['-K', f.ring], 'aead', false],
  ['mac', ['-K', f.macRing], 'mac', false],
  ['aead-signed', ['-K', f.ring, '--sign', f.secret], 'aead', true],
  ['mac-signed', ['-K', f.macRing, '--sign', f.secret], 'mac', true],
  ['none-signed', ['--sign', f.secret], 'none', true],
];

function e2ePub(topic, message, args, extra = []) {
  // --state in the test's directory: a signer's epoch file goes nowhere else.
  return run(TOOLS.pub, ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-t', topic, '-m', message,
    '--state', join(dir, `pub-${topic.replace(/\//g, '_')}.state`), ...args, ...extra]);
}

/** e2e-sub running until it exits; resolves once it has subscribed. */
async function e2eSub(args) {
  const child = spawn(TOOLS.sub, ['-h', '127.0.0.1', '-p', String(broker.port), '-d', '-F', '%t %p', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => { out.stdout += d; });
  child.stderr.on('data', (d) => { out.stderr += d; });
  const exited = new Promise((r) => child.on('exit', (code) => r(code)));
  await waitFor(() => /subscribed/.test(out.stderr) || child.exitCode !== null, 10000, 'e2e-sub to subscribe');
  return { out, exited };
}

/** test/c_peer.py mqtt_sub: the Python binding's subscriber; resolves once subscribed. */
async function pythonSubscriber(req) {
  const child = spawn(PYTHON, ['-B', join(HERE, 'c_peer.py')], {
    stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, top_srcdir: SRCDIR, LIBE2E_BUILDDIR: BUILDDIR },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => child.on('exit', (code) => r(code)));
  child.stdin.end(JSON.stringify({ op: 'mqtt_sub', port: broker.port, ...req }));
  await waitFor(() => /ready/.test(stderr) || child.exitCode !== null, 15000, 'the Python subscriber');
  return { result: async () => { const code = await exited; assert.equal(code, 0, stderr); return JSON.parse(stdout); } };
}

test('e2e-pub to the JS subscriber through mosquitto: every mode, signed and unsigned', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const s = await jsSubscriber('js/c2j/live/#');
  try {
    for (const [name, args] of MODES()) {
      const r = await e2ePub(`js/c2j/live/${name}`, `hello ${name}`, args);
      assert.equal(r.code, 0, r.stderr);
    }
    await waitFor(() => s.got.accepted.length === MODES().length, 10000, 'every mode');
    assert.deepEqual(s.got.rejected, []);
    for (const [name, , suite, signed] of MODES()) {
      const m = s.got.accepted.find((x) => x.topic === `js/c2j/live/${name}`);
      assert.ok(m, name);
      assert.equal(text(m.payload), `hello ${name}`);
      assert.equal(m.info.suite, suite, name);
      assert.equal(m.info.signed, signed, name);
      assert.equal(m.retained, false);
    }
  } finally {
    await s.close();
  }
});

test('e2e-pub retained to the JS subscriber: delivered as retained, opened on the retained path', async (t) => {
  if (missing) return skipOrFail(t, missing);
  for (const [name, args] of MODES()) {
    const r = await e2ePub(`js/c2j/ret/${name}`, `kept ${name}`, args, ['-r']);
    assert.equal(r.code, 0, r.stderr);
  }
  // Subscribed after publication: the broker delivers them retained.
  const s = await jsSubscriber('js/c2j/ret/#');
  try {
    await waitFor(() => s.got.accepted.length === MODES().length, 10000, 'every retained message');
    assert.deepEqual(s.got.rejected, []);
    for (const m of s.got.accepted) {
      assert.equal(m.retained, true);
      assert.equal(m.info.retained, true);
      assert.equal(text(m.payload), `kept ${m.topic.split('/').pop()}`);
    }
  } finally {
    await s.close();
  }
});

/** Seal every mode with the JS publisher on prefix/NAME. */
async function jsPublishEveryMode(prefix, opts = {}) {
  const client = await connect();
  try {
    const ring = loadKeyring(f.ring);
    const macRing = loadKeyring(f.macRing);
    const signer = loadSigner(f.secret);
    const pubs = {
      aead: new E2EPublisher(client, { keyring: ring }),
      mac: new E2EPublisher(client, { keyring: macRing }),
      'aead-signed': new E2EPublisher(client, { keyring: ring, signer }),
      'mac-signed': null,
      'none-signed': null,
    };
    // One Sender per signer: its sequence numbers must not repeat.
    pubs['mac-signed'] = new E2EPublisher(client, { keyring: macRing, sender: pubs['aead-signed'].sender });
    pubs['none-signed'] = new E2EPublisher(client, { keyring: null, sender: pubs['aead-signed'].sender });
    for (const [name, p] of Object.entries(pubs)) await p.publish(`${prefix}/${name}`, `from js ${name}`, { qos: 1, ...opts });
  } finally {
    await client.endAsync();
  }
}

test('the JS publisher to e2e-sub through mosquitto: every mode opened and printed', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const sub = await e2eSub(['-t', 'js/j2c/#', '-q', '1', '-K', f.ring, '--trust', f.trust, '-C', '5', '-W', '20']);
  await jsPublishEveryMode('js/j2c');
  const code = await sub.exited;
  assert.equal(code, 0, sub.out.stderr);
  assert.deepEqual(sub.out.stdout.trim().split('\n').sort(),
    MODES().map(([n]) => `js/j2c/${n} from js ${n}`).sort());
  assert.doesNotMatch(sub.out.stderr, /e2e-sub: rejected/);
});

test('the JS publisher to the Python binding through mosquitto: every mode', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const py = await pythonSubscriber({ filters: ['js/j2py/#'], keyring: f.ring, trust: f.trust, count: 5, timeout: 20 });
  await jsPublishEveryMode('js/j2py');
  const res = await py.result();
  assert.deepEqual(res.rejected, []);
  assert.deepEqual(res.accepted.map((m) => [m.topic, text(Buffer.from(m.payload, 'hex'))]).sort(),
    MODES().map(([n]) => [`js/j2py/${n}`, `from js ${n}`]).sort());
  for (const m of res.accepted) {
    const [, , suite, signed] = MODES().find(([n]) => m.topic.endsWith(`/${n}`));
    assert.equal(m.info.suite, suite);
    assert.equal(m.info.signed, signed);
  }
});

test('the JS publisher retained to e2e-sub: accepted on the retained path', async (t) => {
  if (missing) return skipOrFail(t, missing);
  await jsPublishEveryMode('js/j2c-ret', { retain: true });
  const sub = await e2eSub(['-t', 'js/j2c-ret/#', '-K', f.ring, '--trust', f.trust, '-C', '5', '-W', '20',
    '-F', '%r %t %p']);
  assert.equal(await sub.exited, 0, sub.out.stderr);
  assert.deepEqual(sub.out.stdout.trim().split('\n').sort(),
    MODES().map(([n]) => `1 js/j2c-ret/${n} from js ${n}`).sort());
});

test('keys rotated by e2e-keygen: the new primary seals in C and JS, the old key opens until disabled', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const ring = join(dir, 'rot.ring');
  await kg('keyring', 'init', '-K', ring);
  const oldId = loadKeyring(ring).primary().id;
  const s = await jsSubscriber('js/rot/#', { keyring: loadKeyring(ring), trust: null });
  try {
    assert.equal((await e2ePub('js/rot/old', 'sealed with the old key', ['-K', ring])).code, 0);
    await kg('keyring', 'rotate', '-K', ring);
    const rotated = loadKeyring(ring);
    const newId = rotated.primary().id;
    assert.notEqual(newId, oldId);
    assert.equal((await e2ePub('js/rot/new', 'sealed with the new key', ['-K', ring])).code, 0);
    await waitFor(() => s.got.accepted.length + s.got.rejected.length === 2, 10000, 'both');
    // The subscriber still has the keyring from before the rotation.
    assert.equal(text(s.got.accepted[0].payload), 'sealed with the old key');
    assert.equal(s.got.rejected[0].reason, 'unknown-key');
    // Reloaded (as e2e-sub on SIGHUP): both open.
    s.sub.receiver.keyring = rotated;
    assert.equal((await e2ePub('js/rot/new2', 'new key again', ['-K', ring])).code, 0);
    assert.equal((await e2ePub('js/rot/old2', 'old key', ['-K', f.ring])).code, 0); // another ring: unknown
    await waitFor(() => s.got.accepted.length + s.got.rejected.length === 4, 10000, 'after reload');
    assert.equal(text(s.got.accepted[1].payload), 'new key again');
    assert.equal(s.got.accepted[1].info.keyId, newId);
    // JS seals with the rotated keyring; e2e-sub, given the file, opens it.
    await kg('keyring', 'disable', '-K', ring, oldId.toString(16).padStart(8, '0'));
    const sub = await e2eSub(['-t', 'js/rot2/#', '-q', '1', '-K', ring, '-C', '1', '-W', '20']);
    const client = await connect();
    try {
      // An envelope under the disabled key (JS keeps a copy with it primary).
      const withOld = loadKeyring(ring);
      withOld.setState(oldId, 'primary');
      await new E2EPublisher(client, { keyring: withOld }).publish('js/rot2/disabled', 'old key', { qos: 1 });
      await new E2EPublisher(client, { keyring: loadKeyring(ring) }).publish('js/rot2/rotated', 'rotated', { qos: 1 });
    } finally {
      await client.endAsync();
    }
    assert.equal(await sub.exited, 0, sub.out.stderr);
    assert.equal(sub.out.stdout.trim(), 'js/rot2/rotated rotated');
    assert.match(sub.out.stderr, /rejected js\/rot2\/disabled: disabled-key/);
  } finally {
    await s.close();
  }
});

test('a replay-state file handed from a JS subscriber to e2e-sub and back lets no replay through', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const state = join(dir, 'handover.state');
  // A raw client keeps every envelope as the broker delivered it.
  const raw = await connect();
  const captured = [];
  raw.on('message', (topic, payload) => captured.push({ topic, payload: Buffer.from(payload) }));
  await raw.subscribeAsync('js/hand/#', { qos: 1 });
  const replayAll = async () => {
    for (const m of captured.slice()) {
      const p = join(dir, 'replayed.env');
      writeFileSync(p, m.payload);
      const r = await run(TOOLS.mosquittoPub, ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-t', m.topic, '-f', p]);
      assert.equal(r.code, 0, r.stderr);
    }
  };
  try {
    // 1. JS accepts three messages and saves its state on close.
    const js1 = await jsSubscriber('js/hand/#', { state: stateFile(state), guard: new Guard() });
    for (let i = 1; i <= 3; i++) {
      assert.equal((await e2ePub(`js/hand/${i}`, `message ${i}`, ['-K', f.ring, ...(i === 2 ? ['--sign', f.secret] : [])])).code, 0);
    }
    await waitFor(() => js1.got.accepted.length === 3 && captured.length === 3, 10000, 'three messages');
    await js1.close();
    // 2. e2e-sub starts from the JS state: the three replayed are refused,
    //    a fourth message is printed, and its state is saved at exit.
    const c = await e2eSub(['-t', 'js/hand/#', '-q', '1', '-K', f.ring, '--trust', f.trust, '--state', state, '-C', '1', '-W', '20']);
    await replayAll();
    assert.equal((await e2ePub('js/hand/4', 'message 4', ['-K', f.ring])).code, 0);
    assert.equal(await c.exited, 0, c.out.stderr);
    assert.equal(c.out.stdout.trim(), 'js/hand/4 message 4');
    assert.equal((c.out.stderr.match(/rejected js\/hand\/[123]: replay/g) || []).length, 3, c.out.stderr);
    await waitFor(() => captured.length === 7, 10000, 'the replays and the fourth');
    // 3. JS starts from the state e2e-sub saved: all four replayed are
    //    refused, a fifth is accepted.
    const js2 = await jsSubscriber('js/hand/#', { state: stateFile(state), guard: new Guard() });
    try {
      const seen = captured.filter((m, i) => captured.findIndex((x) => toHex(x.payload) === toHex(m.payload)) === i);
      captured.length = 0;
      captured.push(...seen);
      assert.equal(captured.length, 4);
      await replayAll();
      assert.equal((await e2ePub('js/hand/5', 'message 5', ['-K', f.ring])).code, 0);
      await waitFor(() => js2.got.accepted.length === 1 && js2.got.rejected.length === 4, 10000, 'the replays refused');
      assert.equal(text(js2.got.accepted[0].payload), 'message 5');
      assert.deepEqual(js2.got.rejected.map((e) => e.reason), ['replay', 'replay', 'replay', 'replay']);
    } finally {
      await js2.close();
    }
  } finally {
    await raw.endAsync();
  }
});
