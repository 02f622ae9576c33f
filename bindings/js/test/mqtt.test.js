// Through a real mosquitto (its own config, a free loopback port, stopped
// by PID): envelopes published by e2e-pub reach JS as the broker delivers
// them (captured raw by mosquitto_sub) and open there; envelopes sealed by
// JS and published raw by mosquitto_pub are opened by e2e-sub, which also
// refuses a forged one with the reason JS gives. Retained publications make
// the order of publisher and subscriber irrelevant (no race to subscribe),
// and so exercise the retained path (retained intent, delivered retained).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Receiver, Rejected, Sender, fromHex, toHex } from '../src/index.js';
import { loadKeyring, loadSigner, loadTrust } from '../src/node.js';
import { BUILDDIR, skipOrFail } from './helpers.js';

const MOSQUITTO = process.env.MOSQUITTO || '/usr/sbin/mosquitto';
const TOOLS = { pub: '/usr/bin/mosquitto_pub', sub: '/usr/bin/mosquitto_sub' };
const KEYGEN = join(BUILDDIR, 'cli', 'e2e-keygen');
const E2E_PUB = join(BUILDDIR, 'cli', 'e2e-pub');
const E2E_SUB = join(BUILDDIR, 'cli', 'e2e-sub');
let dir;
let broker = null;
let port = 0;
let missing = null;
let f = null;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

function canConnect(p) {
  return new Promise((resolve) => {
    const c = createConnection({ port: p, host: '127.0.0.1' });
    c.on('connect', () => { c.destroy(); resolve(true); });
    c.on('error', () => resolve(false));
  });
}

function run(file, args, timeout = 20000) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

before(async () => {
  for (const p of [MOSQUITTO, TOOLS.pub, TOOLS.sub, KEYGEN, E2E_PUB, E2E_SUB]) {
    if (!existsSync(p)) { missing = `${p} is missing (build the tree; scripts/install-deps.sh test)`; return; }
  }
  dir = mkdtempSync(join(tmpdir(), 'e2e-js-mqtt-'));
  port = await freePort();
  writeFileSync(join(dir, 'mosquitto.conf'),
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n`);
  broker = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  broker.stderr.on('data', (d) => { log += d; });
  for (let i = 0; i < 100 && !(await canConnect(port)); i++) await new Promise((r) => setTimeout(r, 50));
  if (!(await canConnect(port))) { missing = `mosquitto did not start on port ${port}: ${log}`; return; }
  const kg = (...a) => execFileSync(KEYGEN, a, { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
  f = { ring: join(dir, 'ring'), secret: join(dir, 'signer.key'), pub: join(dir, 'signer.pub'), trust: join(dir, 'trust') };
  kg('keyring', 'init', '-K', f.ring);
  kg('signer', 'new', '-s', f.secret, '-p', f.pub, '--no-passphrase');
  kg('trust', 'add', '--trust', f.trust, '-p', f.pub, '--topics', 'js/#');
});

after(() => {
  if (broker && broker.exitCode === null) broker.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('e2e-pub through mosquitto to JS: aead, signed aead and signature-only, retained', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const cases = [
    ['js/c2j/aead', ['-K', f.ring], 'aead', false],
    ['js/c2j/signed', ['-K', f.ring, '--sign', f.secret], 'aead', true],
    ['js/c2j/none', ['--sign', f.secret], 'none', true],
  ];
  for (const [i, [topic, args]] of cases.entries()) {
    // --state in the test's directory: a signer's epoch file goes nowhere else.
    const r = await run(E2E_PUB, ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-r', '-m', `hello ${i}`,
      '--state', join(dir, `pub-${i}.state`), ...args]);
    assert.equal(r.code, 0, r.stderr);
  }
  const sub = await run(TOOLS.sub, ['-h', '127.0.0.1', '-p', String(port), '-t', 'js/c2j/#', '-C', String(cases.length),
    '-W', '10', '-F', '%r %t %x']);
  assert.equal(sub.code, 0, sub.stderr);
  const got = new Map(sub.stdout.trim().split('\n').map((l) => { const [ret, topic, hex] = l.split(' '); return [topic, { ret, hex }]; }));
  const receiver = new Receiver({ keyring: loadKeyring(f.ring), trust: loadTrust(f.trust), filters: ['js/#'] });
  cases.forEach(([topic, , suite, signed], i) => {
    const m = got.get(topic);
    assert.ok(m, `${topic} not delivered: ${sub.stdout}`);
    assert.equal(m.ret, '1');
    const msg = receiver.open(topic, fromHex(m.hex), { retained: true });
    assert.equal(new TextDecoder().decode(msg.payload), `hello ${i}`);
    assert.equal(msg.info.suite, suite);
    assert.equal(msg.info.signed, signed);
    assert.equal(msg.info.retained, true);
    assert.throws(() => receiver.open('js/c2j/moved', fromHex(m.hex), { retained: true }), (e) => e instanceof Rejected &&
      e.reason === (signed && suite === 'none' ? 'bad-signature' : 'bad-tag'));
  });
});

test('JS through mosquitto to e2e-sub: accepted ones printed, a forged one refused with the reason JS gives', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const kr = loadKeyring(f.ring);
  const signer = loadSigner(f.secret);
  const plain = new Sender();
  const signed = new Sender({ signer });
  const msgs = [
    ['js/j2c/aead', plain.seal(kr, 'js/j2c/aead', 'from js 0', { retained: true })],
    ['js/j2c/signed', signed.seal(kr, 'js/j2c/signed', 'from js 1', { retained: true })],
    ['js/j2c/none', signed.seal(null, 'js/j2c/none', 'from js 2', { retained: true })],
    // Sealed for another topic: the broker "moves" it.
    ['js/j2c/forged', plain.seal(kr, 'js/j2c/elsewhere', 'forged', { retained: true })],
  ];
  for (const [topic, env] of msgs) {
    const p = join(dir, topic.replace(/\//g, '_'));
    writeFileSync(p, env);
    const r = await run(TOOLS.pub, ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-r', '-f', p]);
    assert.equal(r.code, 0, r.stderr);
  }
  const sub = await run(E2E_SUB, ['-h', '127.0.0.1', '-p', String(port), '-t', 'js/j2c/#', '-K', f.ring, '--trust', f.trust,
    '-W', '2', '-F', '%t %p']);
  // No -C: the broker may deliver the retained messages in any order, so
  // e2e-sub runs until -W ends it (exit code 27) with every one seen.
  assert.equal(sub.code, 27, `${sub.stdout}\n${sub.stderr}`);
  const lines = sub.stdout.trim().split('\n').sort();
  assert.deepEqual(lines, ['js/j2c/aead from js 0', 'js/j2c/none from js 2', 'js/j2c/signed from js 1']);
  assert.match(sub.stderr, /e2e-sub: rejected js\/j2c\/forged: bad-tag/);
  const receiver = new Receiver({ keyring: kr, trust: loadTrust(f.trust) });
  assert.throws(() => receiver.open('js/j2c/forged', msgs[3][1], { retained: true }), (e) => e.reason === 'bad-tag');
  assert.equal(toHex(receiver.open('js/j2c/aead', msgs[0][1], { retained: true }).payload),
    toHex(new TextEncoder().encode('from js 0')));
});
