// JS and the C library on the same files and envelopes, both ways: key
// files made by the real e2e-keygen (and by the C library's savers) read by
// JS, files written by JS read by the C library, envelopes sealed by C
// (the Python binding over libe2e.so) opened by JS with the same verdicts,
// and envelopes sealed by JS opened by C.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Keyring, Receiver, Rejected, Sender, Signer, Trust, fromHex, parseSigner, serializeSigner, toHex,
} from '../src/index.js';
import {
  inspectSignerFile, loadKeyring, loadPublicKey, loadSigner, loadTrust, saveKeyring, savePublicKey,
  saveSigner, saveTrust,
} from '../src/node.js';
import { BUILDDIR, listed, peer, skipOrFail } from './helpers.js';

const KEYGEN = join(BUILDDIR, 'cli', 'e2e-keygen');
const PYTHON = '/usr/bin/python3';
const TOPIC = 'interop/line1/temp';
let dir;
let missing = null;

function keygen(...args) {
  return execFileSync(KEYGEN, args, { timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
}

function file(name) {
  return join(dir, name);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'e2e-js-interop-'));
  if (!existsSync(KEYGEN)) missing = `${KEYGEN} is not built (BUILD=$PWD/build sh scripts/build.sh)`;
  else if (!existsSync(PYTHON)) missing = `${PYTHON} is not installed`;
  else {
    try {
      peer({ op: 'describe' });
    } catch (e) {
      missing = `the Python binding cannot load libe2e from ${BUILDDIR}: ${e.stderr || e.message}`;
    }
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

// One key set for the envelope tests, made by e2e-keygen: an aead keyring
// (rotated once, so two keys), a mac keyring, an unencrypted signer, its
// public key and a trust file allowing it on interop/#.
let files = null;
function keys(t) {
  if (missing) { skipOrFail(t, missing); return null; }
  if (files) return files;
  const f = {
    aead: file('aead.ring'), mac: file('mac.ring'), secret: file('signer.key'), pub: file('signer.pub'),
    trust: file('trust'),
  };
  keygen('keyring', 'init', '-K', f.aead);
  f.rotated = keygen('keyring', 'rotate', '-K', f.aead);
  keygen('keyring', 'init', '-K', f.mac, '--suite', 'mac');
  keygen('signer', 'new', '-s', f.secret, '-p', f.pub, '--no-passphrase');
  keygen('trust', 'add', '--trust', f.trust, '-p', f.pub, '--topics', 'interop/#, other/+');
  files = f;
  return f;
}

test('JS reads an e2e-keygen keyring as the C library does', (t) => {
  const f = keys(t);
  if (!f) return;
  const c = peer({ op: 'describe', keyring: f.aead }).keyring;
  const js = listed(loadKeyring(f.aead));
  assert.deepEqual(js, c);
  assert.equal(js.length, 2);
  assert.equal(loadKeyring(f.aead).primary().id.toString(16).padStart(8, '0'), f.rotated);
});

test('JS reads an e2e-keygen signer, public key and trust file as the C library does', (t) => {
  const f = keys(t);
  if (!f) return;
  const c = peer({ op: 'describe', signer: f.secret, pubkey: f.pub, trust: f.trust });
  const s = loadSigner(f.secret);
  assert.equal(toHex(s.publicKey), c.signer.public_key);
  assert.equal(s.id.toString(16).padStart(16, '0'), c.signer.id);
  assert.equal(toHex(loadPublicKey(f.pub)), c.pubkey);
  const trust = loadTrust(f.trust).list().map((e) => ({ public_key: toHex(e.publicKey), filters: e.filters }));
  assert.deepEqual(trust, c.trust);
  assert.deepEqual(trust[0].filters, ['interop/#', 'other/+']);
});

test('files written by JS are read back by the C library unchanged', (t) => {
  if (missing) return skipOrFail(t, missing);
  const kr = new Keyring();
  kr.add({ id: 0x0a0b0c0d, suite: 'aead', state: 'primary', created: 1763764000, key: new Uint8Array(32).fill(7) });
  kr.add({ id: 0x01020304, suite: 'mac', state: 'disabled', created: 5, key: new Uint8Array(32).fill(9) });
  const signer = Signer.fromSeed(new Uint8Array(32).fill(3));
  const trust = new Trust();
  trust.add(signer.publicKey, 'room 1/light , alerts/#');
  saveKeyring(kr, file('js.ring'));
  saveSigner(signer, file('js.key'));
  savePublicKey(signer.publicKey, file('js.pub'));
  saveTrust(trust, file('js.trust'));
  const c = peer({ op: 'describe', keyring: file('js.ring'), signer: file('js.key'), pubkey: file('js.pub'), trust: file('js.trust') });
  assert.deepEqual(c.keyring, listed(kr));
  assert.equal(c.signer.public_key, toHex(signer.publicKey));
  assert.equal(c.pubkey, toHex(signer.publicKey));
  assert.deepEqual(c.trust, [{ public_key: toHex(signer.publicKey), filters: ['room 1/light', 'alerts/#'] }]);
});

test('an Argon2id-protected signer key saved by the C library opens in JS, and the reverse', (t) => {
  if (missing) return skipOrFail(t, missing);
  const seed = 'a5'.repeat(32);
  // An odd memory size checks libsodium's rounding (floor to KiB).
  peer({ op: 'save_signer', seed, path: file('c-enc.key'), passphrase: 'correct horse', opslimit: 2, memlimit: 65536 + 1500 });
  const s = loadSigner(file('c-enc.key'), 'correct horse');
  assert.equal(toHex(s.publicKey), toHex(Signer.fromSeed(fromHex(seed)).publicKey));
  assert.throws(() => loadSigner(file('c-enc.key'), 'wrong horse'), (e) => e.reason === 'passphrase' && e.errName === 'E2E_ERR_PASSPHRASE');
  assert.throws(() => loadSigner(file('c-enc.key')), (e) => e.errName === 'E2E_ERR_PASSPHRASE');
  saveSigner(s, file('js-enc.key'), 'pass phrase', { opslimit: 1, memlimit: 8192 });
  const c = peer({ op: 'describe', signer: file('js-enc.key'), passphrase: 'pass phrase' });
  assert.equal(c.signer.public_key, toHex(s.publicKey));
  const wrong = peer({ op: 'describe', signer: file('js-enc.key'), passphrase: 'pass phrasE' });
  assert.equal(wrong.load_error, 'E2E_ERR_PASSPHRASE');
});

test('an e2e-keygen signer key under its passphrase states libsodium MODERATE costs', (t) => {
  if (missing) return skipOrFail(t, missing);
  writeFileSync(file('pass'), 'hunter2 hunter2\n', { mode: 0o600 });
  keygen('signer', 'new', '-s', file('enc.key'), '-p', file('enc.pub'), '--passphrase-file', file('pass'));
  const i = inspectSignerFile(file('enc.key'));
  assert.equal(i.encrypted, true);
  assert.equal(i.opslimit, 3);
  assert.equal(i.memlimit, 268435456);
  assert.equal(toHex(i.publicKey), toHex(loadPublicKey(file('enc.pub'))));
  // Decrypting it here takes some 14 s of pure-JS Argon2id (256 MiB): the
  // same code path is covered above with weaker costs; LIBE2E_JS_SLOW=1 runs it.
  if (process.env.LIBE2E_JS_SLOW === '1') {
    assert.equal(toHex(loadSigner(file('enc.key'), 'hunter2 hunter2').publicKey), toHex(i.publicKey));
  }
});

test('the JS loaders refuse files with the permissions the C library refuses', (t) => {
  const f = keys(t);
  if (!f) return;
  writeFileSync(file('open.ring'), readFileSync(f.aead), { mode: 0o600 });
  chmodSync(file('open.ring'), 0o640);
  assert.throws(() => loadKeyring(file('open.ring')), (e) => e.errName === 'E2E_ERR_PERMISSIONS');
  assert.equal(peer({ op: 'describe', keyring: file('open.ring') }).load_error, 'E2E_ERR_PERMISSIONS');
  writeFileSync(file('open.trust'), readFileSync(f.trust));
  chmodSync(file('open.trust'), 0o664);
  assert.throws(() => loadTrust(file('open.trust')), (e) => e.errName === 'E2E_ERR_WRITABLE');
  assert.equal(peer({ op: 'describe', trust: file('open.trust') }).load_error, 'E2E_ERR_WRITABLE');
});

// The modes: [name, keyring file key or null, signed].
const MODES = [['aead', 'aead', false], ['mac', 'mac', false], ['aead signed', 'aead', true],
  ['mac signed', 'mac', true], ['none signed', null, true]];

function messages() {
  return [
    { topic: TOPIC, payload: toHex(new TextEncoder().encode('{"t":21.5}')), retained: false },
    { topic: 'interop/maison/température', payload: '', retained: true },
    { topic: TOPIC, payload: 'ab'.repeat(5000), retained: false },
  ];
}

for (const [name, ring, signed] of MODES) {
  test(`C seals, JS opens: ${name}`, (t) => {
    const f = keys(t);
    if (!f) return;
    const msgs = messages();
    const sealed = peer({ op: 'seal', keyring: ring && f[ring], signer: signed ? f.secret : undefined, messages: msgs });
    const r = new Receiver({
      keyring: ring ? loadKeyring(f[ring]) : null, trust: loadTrust(f.trust), requireSignature: signed,
      filters: ['interop/#'],
    });
    msgs.forEach((m, i) => {
      const env = fromHex(sealed.envelopes[i]);
      const got = r.open(m.topic, env, { retained: m.retained });
      assert.equal(toHex(got.payload), m.payload);
      assert.equal(got.info.suite, ring || 'none');
      assert.equal(got.info.signed, signed);
      assert.equal(got.info.retained, m.retained);
      assert.equal(got.info.senderId.toString(16).padStart(16, '0'), sealed.sender_id);
    });
  });

  test(`JS seals, C opens: ${name}`, (t) => {
    const f = keys(t);
    if (!f) return;
    const sender = new Sender({ signer: signed ? loadSigner(f.secret) : undefined });
    const kr = ring ? loadKeyring(f[ring]) : null;
    const msgs = messages().map((m) => ({
      topic: m.topic, retained: m.retained, payload: m.payload,
      envelope: toHex(sender.seal(kr, m.topic, fromHex(m.payload), { retained: m.retained })),
    }));
    const c = peer({
      op: 'open', keyring: ring && f[ring], trust: f.trust, require_signature: signed,
      filters: ['interop/#'], guard: true, messages: msgs,
    });
    msgs.forEach((m, i) => {
      assert.deepEqual(Object.keys(c.results[i]), ['payload', 'info'], JSON.stringify(c.results[i]));
      assert.equal(c.results[i].payload, m.payload);
      assert.equal(c.results[i].info.suite, ring || 'none');
      assert.equal(c.results[i].info.signed, signed);
      assert.equal(c.results[i].info.retained, m.retained);
      assert.equal(c.results[i].info.sender_id, sender.id.toString(16).padStart(16, '0'));
    });
    // The sequence numbers the C receiver saw are the Sender's, in order.
    const seqs = c.results.map((x) => BigInt('0x' + x.info.seq));
    assert.deepEqual(seqs.map((s) => s - seqs[0]), [0n, 1n, 2n]);
  });
}

// Forgeries: C and JS give the same reason for the same altered envelope.
test('JS and C refuse the same altered envelopes with the same reasons', (t) => {
  const f = keys(t);
  if (!f) return;
  const sealed = peer({
    op: 'seal', keyring: f.aead, signer: f.secret,
    messages: [{ topic: TOPIC, payload: '00112233', retained: false }],
  }).envelopes[0];
  const env = fromHex(sealed);
  const flip = (i) => { const e = Uint8Array.from(env); e[i] ^= 1; return e; };
  const cases = [
    ['moved topic', 'interop/line2/temp', env, false],
    ['not subscribed', 'elsewhere/x', env, false],
    ['tampered body', TOPIC, flip(40), false],
    ['tampered signature', TOPIC, flip(env.length - 1), false],
    ['cut by one byte', TOPIC, env.subarray(0, env.length - 1), false],
    ['delivered as retained', TOPIC, env, true],
    ['key id altered', TOPIC, flip(2), false],
    ['not an envelope', TOPIC, new TextEncoder().encode('{"t":1}'), false],
  ];
  const c = peer({
    op: 'open', keyring: f.aead, trust: f.trust, filters: ['interop/#'], guard: false,
    messages: cases.map(([, topic, e, retained]) => ({ topic, envelope: toHex(e), retained })),
  });
  const r = new Receiver({ keyring: loadKeyring(f.aead), trust: loadTrust(f.trust), filters: ['interop/#'] });
  cases.forEach(([what, topic, e, retained], i) => {
    let reason = 'accepted';
    try { r.open(topic, e, { retained }); } catch (err) {
      assert.ok(err instanceof Rejected, String(err));
      reason = err.reason;
    }
    assert.equal(reason, c.results[i].reason, what);
  });
  assert.deepEqual(c.results.map((x) => x.reason),
    ['bad-tag', 'not-subscribed', 'bad-tag', 'bad-signature', 'bad-tag', 'not-retained', 'unknown-key', 'not-e2e']);
});

test('a key rotated by e2e-keygen: the old key still opens in JS while enabled, then disabled-key', (t) => {
  const f = keys(t);
  if (!f) return;
  const ring = file('rot.ring');
  const old = keygen('keyring', 'init', '-K', ring);
  const env = fromHex(peer({ op: 'seal', keyring: ring, messages: [{ topic: TOPIC, payload: '01' }] }).envelopes[0]);
  keygen('keyring', 'rotate', '-K', ring);
  assert.equal(toHex(new Receiver({ keyring: loadKeyring(ring) }).open(TOPIC, env).payload), '01');
  keygen('keyring', 'disable', '-K', ring, old);
  assert.throws(() => new Receiver({ keyring: loadKeyring(ring) }).open(TOPIC, env), (e) => e.reason === 'disabled-key');
  keygen('keyring', 'delete', '-K', ring, old);
  assert.throws(() => new Receiver({ keyring: loadKeyring(ring) }).open(TOPIC, env), (e) => e.reason === 'unknown-key');
});

test('serializeSigner output parses back (browser-safe path)', () => {
  const s = Signer.fromSeed(new Uint8Array(32).fill(1));
  const text = serializeSigner(s, 'pw', { opslimit: 1, memlimit: 8192 });
  assert.equal(toHex(parseSigner(text, 'pw').publicKey), toHex(s.publicKey));
});
