// Key schedules, per-topic keys and key updates between JS and the C
// library (through test/c_peer.py and the Python binding): keyring files
// with schedules and filters written by one are read by the other byte for
// byte, and an update built by either opens and applies in the other to
// the same keyring.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Keyring, Member, Signer, buildUpdate, fromHex, openUpdate, sealExplicit, serializeKeyring, toHex,
} from '../src/index.js';
import { loadKeyring, saveKeyring } from '../src/node.js';
import { listed, peer, skipOrFail } from './helpers.js';

let dir;
let missing = null;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'e2e-js-keydist-'));
  if (!existsSync('/usr/bin/python3')) missing = '/usr/bin/python3 is not installed';
  else {
    try { peer({ op: 'describe' }); } catch (e) { missing = `the Python binding cannot load libe2e: ${e.stderr || e.message}`; }
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

const file = (name) => join(dir, name);
const key = (b) => new Uint8Array(32).fill(b);

const T = 1767312000;
// A site key until T (disabled an hour after), its successor from T, a
// tenant's key for its topics, and a retired mac key.
const KEYS = [
  { id: 0x0a0b0c0d, suite: 'aead', state: 'primary', created: 1763764000, key: key(1), activates: 0, disables: T + 3600, filters: '' },
  { id: 0x1f2e3d4c, suite: 'aead', state: 'enabled', created: 1767225600, key: key(2), activates: T, disables: 0, filters: '' },
  { id: 0x2a2a2a2a, suite: 'aead', state: 'primary', created: 1767225600, key: key(3), activates: 0, disables: 0, filters: 'tenant-a/#,+/status' },
  { id: 0x3b3b3b3b, suite: 'mac', state: 'disabled', created: 5, key: key(4), activates: 0, disables: 0, filters: '' },
];

test('a keyring with schedules and filters written by C loads in JS and is written back byte for byte', (t) => {
  if (missing) return skipOrFail(t, missing);
  peer({ op: 'keyring_build', keys: KEYS.map((k) => ({ ...k, key: toHex(k.key) })), save: file('c.ring') });
  const text = readFileSync(file('c.ring'), 'utf8');
  assert.match(text, / activates=1767312000\n/);
  assert.match(text, / topics=tenant-a\/#,\+\/status\n/);
  const kr = loadKeyring(file('c.ring'));
  assert.deepEqual(listed(kr), KEYS.map(({ key: _, ...k }) => ({
    ...k, created: String(k.created), activates: String(k.activates), disables: String(k.disables),
  })));
  assert.equal(serializeKeyring(kr), text);
});

test('a keyring with schedules and filters written by JS loads in C and is written back byte for byte', (t) => {
  if (missing) return skipOrFail(t, missing);
  const kr = new Keyring();
  for (const k of KEYS) kr.add(k);
  saveKeyring(kr, file('js.ring'));
  const c = peer({ op: 'describe', keyring: file('js.ring') });
  assert.deepEqual(c.keyring, listed(kr));
  peer({ op: 'keyring_copy', keyring: file('js.ring'), save: file('js-c.ring') });
  assert.equal(readFileSync(file('js-c.ring'), 'utf8'), readFileSync(file('js.ring'), 'utf8'));
});

// ---- updates ---------------------------------------------------------------

const admin = Signer.fromSeed(new Uint8Array(32).fill(0x21));
const alice = Member.generate();
const bob = Member.generate();
const carol = Member.generate();
const GROUP = 'plant-7';
const TOPIC = 'e2e/keys/plant-7';
const ISSUED = 1767225600;
const NOW = ISSUED + 60;
// The rotation plan, and carol's tenant key.
const TABLE = [
  { id: 0x1a2b3c4d, suite: 'aead', state: 'primary', activates: 0, disables: T + 3600, filters: '', key: key(5) },
  { id: 0x5e6f7081, suite: 'aead', state: 'primary', activates: T, disables: 0, filters: '', key: key(6) },
  { id: 0x00c0ffee, suite: 'mac', state: 'primary', activates: 0, disables: 0, filters: 'plant-7/meters/#', key: key(7) },
  { id: 0x7fffffff, suite: 'aead', state: 'disabled', activates: 0, disables: 0, filters: '', key: undefined },
];
const SLOTS = [[alice, [0x1a2b3c4d, 0x5e6f7081]], [bob, [0x5e6f7081]], [carol, [0x00c0ffee]]];

// What the C library gives member m for envelope env (applied at NOW to
// an empty keyring, saved when it has a primary).
function cOpen(env, m, extra = {}) {
  return peer({
    op: 'open_update', topic: TOPIC, envelope: toHex(env), admin_public_key: toHex(admin.publicKey), group: GROUP,
    member_secret: toHex(m.secretKey()), last_counter: 0, retained: true, now: NOW, ...extra,
  });
}

function jsOpen(env, m, extra = {}) {
  return openUpdate(TOPIC, env, {
    adminPublicKey: admin.publicKey, group: GROUP, member: m, lastCounter: 0, retained: true, ...extra,
  });
}

function jsBuilt(counter) {
  const body = buildUpdate({
    group: GROUP, counter, issued: ISSUED, keys: TABLE,
    recipients: SLOTS.map(([m, ids]) => ({ publicKey: m.publicKey, keyIds: ids })),
  });
  return sealExplicit({
    suite: 'none', signer: admin, senderId: admin.id, seq: BigInt(counter), timestamp: ISSUED, retained: true,
  }, TOPIC, body);
}

function cBuilt(counter) {
  const ans = peer({
    op: 'build_update', group: GROUP, counter, issued: ISSUED,
    keys: TABLE.map((k) => ({ ...k, key: k.key ? toHex(k.key) : null })),
    recipients: SLOTS.map(([m, ids]) => ({ public_key: toHex(m.publicKey), key_ids: ids })),
    admin_seed: toHex(new Uint8Array(32).fill(0x21)), topic: TOPIC, seq: counter, timestamp: ISSUED,
  });
  return fromHex(ans.envelope);
}

function assertSameResult(env, label) {
  SLOTS.forEach(([m, ids], i) => {
    const save = file(`${label}-${i}.ring`);
    const c = cOpen(env, m, { save });
    assert.equal(c.reason, undefined, `C refused it for member ${i}: ${c.reason}`);
    const u = jsOpen(env, m);
    assert.equal(u.counter, BigInt(c.counter));
    assert.deepEqual(u.keys.map((k) => ({ id: k.id, in_slot: k.inSlot })), c.keys);
    assert.deepEqual(u.keys.filter((k) => k.inSlot).map((k) => k.id), ids);
    const kr = new Keyring();
    u.apply(kr, NOW);
    assert.deepEqual(listed(kr), c.keyring, `member ${i}'s keyring`);
    // bob's only key becomes primary at T: until then his keyring has no
    // stored primary, and both libraries write it all the same (an enabled
    // key with activates=, docs/KEYFILES.md section 2).
    assert.equal(serializeKeyring(kr), readFileSync(save, 'utf8'), `member ${i}'s keyring file`);
  });
}

test('an update built by the C library opens in JS for every member, to the keyring C applies', (t) => {
  if (missing) return skipOrFail(t, missing);
  assertSameResult(cBuilt(3), 'c-built');
});

test('an update built in JS opens in the C library for every member, to the keyring JS applies', (t) => {
  if (missing) return skipOrFail(t, missing);
  assertSameResult(jsBuilt(4), 'js-built');
});

test('JS and C refuse the same damaged updates with the same reasons', (t) => {
  if (missing) return skipOrFail(t, missing);
  const env = jsBuilt(6);
  const flipped = Uint8Array.from(env);
  flipped[60] ^= 1;
  const outsider = Member.generate();
  const cases = [
    ['replayed', env, alice, { lastCounter: 6 }, { last_counter: 6 }, 'replay'],
    ['rolled back', env, alice, { lastCounter: 7 }, { last_counter: 7 }, 'rollback'],
    ['another group', env, alice, { group: 'plant-8' }, { group: 'plant-8' }, 'wrong-group'],
    ['not a recipient', env, outsider, {}, {}, 'not-recipient'],
    ['bit flipped', flipped, alice, {}, {}, 'bad-signature'],
    ['cut short', env.subarray(0, env.length - 1), alice, {}, {}, 'bad-signature'],
    ['delivered retained, sealed without', cBuiltUnretained(), alice, {}, {}, 'not-retained'],
  ];
  for (const [name, e, m, jsExtra, cExtra, reason] of cases) {
    assert.equal(cOpen(e, m, cExtra).reason, reason, `C, ${name}`);
    assert.throws(() => jsOpen(e, m, jsExtra), (err) => err.reason === reason, `JS, ${name}`);
  }
});

function cBuiltUnretained() {
  const body = buildUpdate({ group: GROUP, counter: 1, issued: ISSUED, keys: TABLE.slice(0, 1), recipients: [] });
  return sealExplicit({ suite: 'none', signer: admin, senderId: admin.id, seq: 9n, timestamp: ISSUED }, TOPIC, body);
}

test('a keyring C applied an update to is the one JS applies it to, keys held before included', (t) => {
  if (missing) return skipOrFail(t, missing);
  // bob holds the old key from before (its creation time kept), and a key
  // the update no longer lists (removed).
  const held = new Keyring();
  held.add({ id: 0x1a2b3c4d, suite: 'aead', state: 'primary', created: 3, key: key(5) });
  held.add({ id: 0x0badc0de, suite: 'aead', state: 'enabled', created: 4, key: key(8) });
  saveKeyring(held, file('bob-held.ring'));
  const env = cBuilt(8);
  const c = cOpen(env, bob, { keyring: file('bob-held.ring'), save: file('bob-c.ring') });
  const kr = loadKeyring(file('bob-held.ring'));
  jsOpen(env, bob).apply(kr, NOW);
  assert.deepEqual(listed(kr), c.keyring);
  assert.deepEqual(kr.list().map((k) => [k.id, k.created]), [[0x1a2b3c4d, 3], [0x5e6f7081, ISSUED]]);
  assert.equal(serializeKeyring(kr), readFileSync(file('bob-c.ring'), 'utf8'));
});
