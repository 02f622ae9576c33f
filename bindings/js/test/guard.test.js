// The JS replay guard beyond the shared cases (guard-cases.test.js): where
// it sits in Receiver.open (docs/ENVELOPE.md section 6, as
// tests/unit/test_envelope_guard.c checks for e2e_open), its options, its
// state files on disk, and state files exchanged with the C guard (through
// test/c_peer.py): the same history saved by both gives the same bytes,
// and each loads the other's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ERR, Guard, Keyring, Receiver, Rejected, Signer, StateFileError, Trust, reason, sealExplicit,
} from '../src/index.js';
import { loadGuard, saveGuard } from '../src/node.js';
import { BUILDDIR, peer, skipOrFail } from './helpers.js';

const TOPIC = 'guard/topic';
const NOW = 1700000000;
const SEQ = 0x0000000100000001n;
let dir;

before(() => { dir = mkdtempSync(join(tmpdir(), 'e2e-js-guard-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

// One receiver's keys: an aead and a mac key, a trusted signer.
const keyring = new Keyring();
keyring.add({ id: 0x11, suite: 'aead', state: 'primary', key: new Uint8Array(32).fill(1) });
keyring.add({ id: 0x22, suite: 'mac', state: 'enabled', key: new Uint8Array(32).fill(2) });
const signer = Signer.fromSeed(new Uint8Array(32).fill(3));
const trust = new Trust();
trust.add(signer.publicKey, 'guard/#');
const MODES = [
  ['aead', { suite: 'aead', keyId: 0x11, key: new Uint8Array(32).fill(1) }],
  ['mac', { suite: 'mac', keyId: 0x22, key: new Uint8Array(32).fill(2) }],
  ['aead signed', { suite: 'aead', keyId: 0x11, key: new Uint8Array(32).fill(1), signer }],
  ['mac signed', { suite: 'mac', keyId: 0x22, key: new Uint8Array(32).fill(2), signer }],
  ['none signed', { suite: 'none', signer }],
];

function seal(mode, { seq = SEQ, timestamp = NOW - 1, retained = false } = {}) {
  const p = MODES.find(([n]) => n === mode)[1];
  return sealExplicit({
    ...p, senderId: p.signer ? p.signer.id : 0x5e4de4n, seq, timestamp, retained,
    salt: p.suite === 'aead' ? new Uint8Array(8).fill(9) : undefined,
  }, TOPIC, 'hello');
}

function guarded(opts = {}) {
  return new Receiver({ keyring, trust, guard: new Guard(), now: NOW, ...opts });
}

function reasonOf(fn) {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (!(e instanceof Rejected)) throw e;
    return e.reason;
  }
}

// ---- in Receiver.open --------------------------------------------------------

test('open refuses a second delivery as replay, in every mode', () => {
  for (const [mode] of MODES) {
    const r = guarded();
    const env = seal(mode);
    assert.equal(reasonOf(() => r.open(TOPIC, env)), 'ok', mode);
    assert.equal(reasonOf(() => r.open(TOPIC, env)), 'replay', mode);
  }
});

test('a forged envelope leaves the guard unchanged and does not burn its sequence number', () => {
  for (const [mode, p] of MODES) {
    const r = guarded();
    const env = seal(mode);
    const bad = Uint8Array.from(env);
    bad[bad.length - 1] ^= 1;
    assert.equal(reasonOf(() => r.open(TOPIC, bad)), p.signer ? 'bad-signature' : 'bad-tag', mode);
    assert.equal(r.guard.senderCount, 0, mode);
    assert.equal(reasonOf(() => r.open(TOPIC, env)), 'ok', mode);
    assert.equal(r.guard.senderCount, 1, mode);
  }
});

test('a message refused by policy leaves the guard unchanged', () => {
  const r = guarded({ requireEncryption: true });
  const env = seal('mac');
  assert.equal(reasonOf(() => r.open(TOPIC, env)), 'unencrypted');
  assert.equal(r.guard.senderCount, 0);
  r.requireEncryption = false;
  assert.equal(reasonOf(() => r.open(TOPIC, env)), 'ok');
});

test('replay is reported before bad-tag, too-old before bad-tag, future before bad-signature', () => {
  const r = guarded();
  const env = seal('aead');
  r.open(TOPIC, env);
  const tampered = Uint8Array.from(env);
  tampered[40] ^= 1;
  assert.equal(reasonOf(() => r.open(TOPIC, tampered)), 'replay');
  const old = seal('aead', { seq: SEQ + 1n, timestamp: NOW - 301 });
  old[40] ^= 1;
  assert.equal(reasonOf(() => r.open(TOPIC, old)), 'too-old');
  const ahead = seal('none signed', { timestamp: NOW + 31 });
  ahead[ahead.length - 1] ^= 1;
  assert.equal(reasonOf(() => guarded().open(TOPIC, ahead)), 'future');
});

test('an untrusted signer is reported before replay', () => {
  const r = guarded();
  const env = seal('mac signed');
  r.open(TOPIC, env);
  r.trust = null;
  assert.equal(reasonOf(() => r.open(TOPIC, env)), 'untrusted-signer');
});

test('a retained delivery older than the max age is accepted once', () => {
  const r = guarded();
  const env = seal('aead', { timestamp: NOW - 3600, retained: true });
  assert.equal(reasonOf(() => r.open(TOPIC, env, { retained: true })), 'ok');
  assert.equal(reasonOf(() => r.open(TOPIC, env, { retained: true })), 'replay');
  assert.equal(reasonOf(() => guarded().open(TOPIC, seal('aead'), { retained: true })), 'not-retained');
});

test('open uses the system clock when no time is given', () => {
  const r = new Receiver({ keyring, guard: new Guard() });
  // NOW lies years before the system clock.
  assert.equal(reasonOf(() => r.open(TOPIC, seal('aead'))), 'too-old');
  assert.equal(reasonOf(() => r.open(TOPIC, seal('aead'), { now: NOW })), 'ok');
});

// ---- options -------------------------------------------------------------------

test('the guard refuses the options e2e_guard_new refuses', () => {
  for (const o of [{ window: 0 }, { window: 32 }, { window: 100 }, { window: 65600 }, { maxSenders: 0 },
    { maxRetainedTopics: 0 }, { maxSenders: 2 ** 24 + 1 }, { maxAge: -1 }, { window: 64.5 }, { flags: 1 }]) {
    assert.throws(() => new Guard(o), (e) => e.code === ERR.INVAL, JSON.stringify(o));
  }
  assert.throws(() => new Receiver({ guard: {} }), (e) => e.code === ERR.INVAL);
  assert.deepEqual(new Guard().options, {
    window: 256, maxSenders: 4096, maxRetainedTopics: 4096, maxAge: 300, maxSkew: 30,
    acceptNoClock: false, maxRetainedAge: 0,
  });
});

// ---- state files -----------------------------------------------------------------

function populated() {
  const g = new Guard({ maxSenders: 4 });
  const i = { senderId: 0xa11cen, seq: 100n, timestamp: NOW, signed: false, retained: true };
  g.commit(i, 'home/door', { now: NOW });
  g.commit({ ...i, seq: 98n, retained: false }, null, { now: NOW });
  return g;
}

test('saveGuard writes mode 0600 and loadGuard reads it back', () => {
  const path = join(dir, 'g.state');
  const g = populated();
  saveGuard(g, path);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const h = new Guard({ maxSenders: 4 });
  loadGuard(h, path);
  assert.equal(h.serialize(), g.serialize());
  assert.equal(h.check({ senderId: 0xa11cen, seq: 98n, timestamp: NOW, signed: false, retained: false }, 't', { now: NOW }),
    ERR.REPLAY);
});

test('loadGuard: a missing file is ERR.IO (ENOENT), an empty one corrupt at line 0, one others may write ERR.WRITABLE', () => {
  const g = populated();
  const before = g.serialize();
  assert.throws(() => loadGuard(g, join(dir, 'none.state')), (e) => e.code === ERR.IO && e.syscallCode === 'ENOENT');
  const empty = join(dir, 'empty.state');
  writeFileSync(empty, '', { mode: 0o600 });
  assert.throws(() => loadGuard(g, empty), (e) => e instanceof StateFileError && e.code === ERR.STATE_CORRUPT && e.line === 0);
  const open = join(dir, 'open.state');
  writeFileSync(open, new Guard().serialize());
  for (const mode of [0o666, 0o620, 0o602]) {
    chmodSync(open, mode);
    assert.throws(() => loadGuard(g, open), (e) => e.code === ERR.WRITABLE, mode.toString(8));
  }
  assert.equal(g.serialize(), before);
  chmodSync(open, 0o644); // readable by others is not the danger
  loadGuard(g, open);
  assert.equal(g.senderCount, 0);
});

test('every truncation and every flipped byte of a state file is refused, the guard unchanged', () => {
  const text = populated().serialize();
  const g = populated();
  const before = g.serialize();
  const bytes = new TextEncoder().encode(text);
  for (let cut = 0; cut < bytes.length; cut++) {
    assert.throws(() => g.load(bytes.subarray(0, cut)), (e) => e instanceof StateFileError, `cut ${cut}`);
  }
  for (let i = 0; i < bytes.length; i++) {
    const b = Uint8Array.from(bytes);
    b[i] ^= 1;
    assert.throws(() => g.load(b), (e) => e instanceof StateFileError && e.line >= 1, `byte ${i}`);
  }
  assert.equal(g.serialize(), before);
});

test('marks-lost other than 0 or 1 is refused (REPLAY-STATE.md section 2)', () => {
  // The C loader of this version takes "marks-lost 2" (its decimal parser
  // misses a bound when a digit exceeds the maximum): not a shared case.
  const body = '# s\nlibe2e-replay-state 2\nwindow 64\nfloor 0\nsigned-floor 0\nretained-floor 0\n' +
    'signed-retained-floor 0\nmarks-lost 2\n';
  assert.throws(() => new Guard().load(body), (e) => e instanceof StateFileError && e.line === 8);
});

// ---- with the C guard ---------------------------------------------------------------

// One entry per class in each table, so that any recency policy writes the
// same file: unsigned alice evicted by carol, signer bob by signer dave
// (a mark), an unsigned and a signed topic record, one evicted.
const HISTORY = (() => {
  const m = (op, sender, seq, ts, signed, retained, delivery, topic) => ({
    op, sender: sender.toString(16).padStart(16, '0'), seq: seq.toString(16).padStart(16, '0'), ts, signed,
    retained, delivery, topic, now: NOW,
  });
  return [
    m('deliver', 0xa11cen, 300n, NOW - 20, false, true, 'live', 'u/1'),
    m('deliver', 0xa11cen, 298n, NOW - 19, false, false, 'live', 't'),
    m('deliver', 0xb0bn, 0x500000007n, NOW - 10, true, true, 'retained', 's/1'),
    m('deliver', 0xca401n, 5n, NOW - 5, false, true, 'live', 'u/2'),
    m('deliver', 0xda7en, 9n, NOW - 1, true, false, 'live', 't'),
  ];
})();
const GUARD_OPTS = { window: 64, max_senders: 2, max_retained_topics: 2 };
const JS_OPTS = { window: 64, maxSenders: 2, maxRetainedTopics: 2 };

function cAvailable(t) {
  if (!existsSync(join(BUILDDIR, 'libe2e', '.libs'))) {
    skipOrFail(t, `the C library is not built in ${BUILDDIR}`);
    return false;
  }
  return true;
}

function jsRun(g, steps) {
  return steps.map((s) => {
    const info = { senderId: BigInt('0x' + s.sender), seq: BigInt('0x' + s.seq), timestamp: s.ts, signed: s.signed, retained: s.retained };
    const o = { retained: s.delivery === 'retained', now: s.now };
    const rc = g.check(info, s.topic, o);
    if (rc === ERR.OK && s.op === 'deliver') g.commit(info, s.topic, o);
    return reason(rc);
  });
}

test('the same history saved by the C guard and by the JS guard gives the same bytes', (t) => {
  if (!cAvailable(t)) return;
  const path = join(dir, 'c.state');
  const c = peer({ op: 'guard', options: GUARD_OPTS, steps: HISTORY, save: path });
  const g = new Guard(JS_OPTS);
  assert.deepEqual(jsRun(g, HISTORY), c.results);
  const text = g.serialize();
  assert.equal(text, readFileSync(path, 'utf8'));
  assert.match(text, /\nmarks 1\nm 0000000000000b0b /);
  assert.match(text, /\nsigned-floor [1-9]/);
});

test('the C guard loads a JS state file, and the JS guard a C one, with the same verdicts', (t) => {
  if (!cAvailable(t)) return;
  const probes = [
    ['check', 0xa11cen, 301n, NOW - 20, false], // evicted: the floor
    ['check', 0xa11cen, 301n, NOW - 18, false],
    ['check', 0xca401n, 5n, NOW, false], // in the window
    ['check', 0xb0bn, 0x500000007n, NOW, true], // the mark
    ['check', 0xb0bn, 0x500000008n, NOW, true],
    ['check', 0xda7en, 9n, NOW, true],
  ].map(([op, id, seq, ts, signed]) => ({
    op, sender: id.toString(16).padStart(16, '0'), seq: seq.toString(16).padStart(16, '0'), ts, signed,
    retained: false, delivery: 'live', topic: 't', now: NOW,
  }));
  const retainedProbe = { ...probes[0], sender: '0000000000000e11', seq: '0000000000000001', ts: NOW - 30,
    retained: true, delivery: 'retained', topic: 'u/1' }; // below the retained floor
  const all = [...probes, retainedProbe];
  const jsPath = join(dir, 'js.state');
  const g = new Guard(JS_OPTS);
  jsRun(g, HISTORY);
  saveGuard(g, jsPath);
  const fromJs = peer({ op: 'guard', options: GUARD_OPTS, load: jsPath, steps: all });
  const cPath = join(dir, 'c2.state');
  peer({ op: 'guard', options: GUARD_OPTS, steps: HISTORY, save: cPath });
  const h = new Guard(JS_OPTS);
  loadGuard(h, cPath);
  const fromC = jsRun(h, all);
  assert.deepEqual(fromJs.results, fromC);
  assert.deepEqual(fromC, ['too-old', 'ok', 'replay', 'replay', 'ok', 'replay', 'stale-retained']);
});
