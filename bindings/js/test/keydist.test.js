// Key schedules, per-topic keys and key updates (docs/KEYDIST.md sections
// 4, 7 and 8) beyond the vectors, mirroring tests/unit/test_keydist.c and
// tests/unit/test_keyring_scope.c: a keyring switches its primary at T by
// itself, accepts the old key in the grace period and refuses it after;
// each scope has its own primary; a key opens only its topics; applying
// an update gives exactly the member's key set; the builder refuses what
// the format cannot say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { x25519 } from '@noble/curves/ed25519';
import {
  ERR, Keyring, Member, Receiver, Sender, Signer, buildUpdate, memberIdFromPublic, openUpdate, parse,
  sealExplicit, sealedBoxOpen, sealedBoxSeal, signerIdFromPublic, updateSlotBytes,
} from '../src/index.js';

const ISSUED = 1767225600;
const T = ISSUED + 86400;
const GRACE = 3600;
const OLD_ID = 0x1a2b3c4d;
const NEW_ID = 0x5e6f7081;
const TOPIC = 'plant-7/line-1/temp';
const UPDATE_TOPIC = 'e2e/keys/plant-7';
const keyOld = Uint8Array.of(1, 1, 1, ...new Uint8Array(29));
const keyNew = Uint8Array.of(2, 2, 2, ...new Uint8Array(29));

const code = (want) => (e) => e.code === want;

// ---- schedules ---------------------------------------------------------------

// As a member holds it after the rotation update: the old key primary
// until T and disabled at T + GRACE, the new one primary at T.
function rotationKeyring() {
  const kr = new Keyring();
  kr.add({ id: OLD_ID, state: 'primary', key: keyOld });
  kr.add({ id: NEW_ID, state: 'enabled', key: keyNew });
  kr.schedule(OLD_ID, { disables: T + GRACE });
  kr.schedule(NEW_ID, { activates: T });
  return kr;
}

const primaryAt = (kr, t) => kr.primaryAt(t)?.id ?? 0;

// Seal explicitly with key id/key on topic at timestamp now, open at now.
function openAt(kr, id, key, now, topic = TOPIC) {
  const env = sealExplicit({
    suite: 'aead', keyId: id, key, senderId: 42n, seq: 1n, timestamp: now, salt: new Uint8Array(8).fill(9),
  }, topic, '21.5');
  return new Receiver({ keyring: kr, now }).open(topic, env);
}

test('a schedule switches the primary at its activation time', () => {
  const kr = rotationKeyring();
  assert.equal(primaryAt(kr, T - 1), OLD_ID);
  assert.equal(primaryAt(kr, T), NEW_ID);
  assert.equal(primaryAt(kr, T + GRACE + 1), NEW_ID);
});

test('states across the grace period; the stored states do not move', () => {
  const kr = rotationKeyring();
  assert.equal(kr.stateAt(NEW_ID, T - 1), 'enabled');
  assert.equal(kr.stateAt(OLD_ID, T), 'enabled');
  assert.equal(kr.stateAt(OLD_ID, T + GRACE), 'disabled');
  assert.equal(kr.find(OLD_ID).state, 'primary');
});

test('open accepts the new key before its activation (a publisher ahead)', () => {
  assert.equal(openAt(rotationKeyring(), NEW_ID, keyNew, T - 30).info.keyId, NEW_ID);
});

test('open accepts the old key during the grace period (a publisher behind)', () => {
  openAt(rotationKeyring(), OLD_ID, keyOld, T + 30);
  openAt(rotationKeyring(), OLD_ID, keyOld, T + GRACE - 1);
});

test('open refuses the old key from its disable time on', () => {
  assert.throws(() => openAt(rotationKeyring(), OLD_ID, keyOld, T + GRACE), code(ERR.DISABLED_KEY));
});

test('seal uses the primary at the clock\'s time', () => {
  const now = Math.floor(Date.now() / 1000);
  const kr = new Keyring();
  kr.add({ id: OLD_ID, state: 'primary', key: keyOld });
  kr.add({ id: NEW_ID, state: 'enabled', key: keyNew });
  const s = new Sender();
  kr.schedule(NEW_ID, { activates: now + 3600 });
  assert.equal(parse(s.seal(kr, TOPIC, 'x')).keyId, OLD_ID);
  kr.schedule(NEW_ID, { activates: now - 3600 });
  assert.equal(parse(s.seal(kr, TOPIC, 'x')).keyId, NEW_ID);
});

test('a disabled latest primary leaves none: the key it replaced is not revived', () => {
  const kr = rotationKeyring();
  kr.schedule(OLD_ID, {});
  kr.schedule(NEW_ID, { activates: T, disables: T + 10 });
  assert.equal(primaryAt(kr, T + 5), NEW_ID);
  assert.equal(primaryAt(kr, T + 10), 0);
  assert.throws(() => new Sender().seal(kr, TOPIC, 'x'), code(ERR.NO_KEY)); // the clock is long past T + 10
});

test('advance keeps every later state', () => {
  const times = [T - 1, T, T + 1, T + GRACE - 1, T + GRACE, T + 10 * GRACE];
  for (const stop of [ISSUED, T, T + 60, T + GRACE]) {
    const ref = rotationKeyring();
    const kr = rotationKeyring();
    kr.advance(stop);
    for (const t of times.filter((x) => x >= stop)) {
      assert.equal(primaryAt(kr, t), primaryAt(ref, t), `stop ${stop}, t ${t}`);
      for (const id of [OLD_ID, NEW_ID]) assert.equal(kr.stateAt(id, t), ref.stateAt(id, t));
    }
  }
});

test('advance stores the states and forgets the times that passed', () => {
  const kr = rotationKeyring();
  kr.advance(T + 1);
  assert.equal(kr.primary().id, NEW_ID);
  assert.deepEqual([kr.find(NEW_ID).activates, kr.find(NEW_ID).disables], [0, 0]);
  assert.deepEqual([kr.find(OLD_ID).activates, kr.find(OLD_ID).disables], [0, T + GRACE]);
});

test('schedule refuses an unknown key and times of 2^63 or more', () => {
  const kr = rotationKeyring();
  assert.throws(() => kr.schedule(99, { activates: T }), code(ERR.NOT_FOUND));
  assert.throws(() => kr.schedule(OLD_ID, { activates: 1n << 63n }), code(ERR.INVAL));
  kr.schedule(OLD_ID, { activates: (1n << 63n) - 1n });
  assert.equal(kr.find(OLD_ID).activates, (1n << 63n) - 1n);
});

// ---- per-topic keys -------------------------------------------------------

const SITE_ID = 0x11111111;
const TENANT_ID = 0x22222222;
const ST = 1800000000;
const siteKey = Uint8Array.of(1, ...new Uint8Array(31));
const tenantKey = Uint8Array.of(2, ...new Uint8Array(31));
const tenantNext = Uint8Array.of(3, ...new Uint8Array(31));

// Two primaries: the site key, and tenant A's key for its topics.
function twoScopes() {
  const kr = new Keyring();
  kr.add({ id: SITE_ID, state: 'primary', created: 1, key: siteKey });
  kr.add({ id: TENANT_ID, state: 'enabled', created: 2, key: tenantKey });
  kr.setFilters(TENANT_ID, 'tenant-a/#');
  kr.setState(TENANT_ID, 'primary');
  return kr;
}

function sealedWith(kr, topic) {
  try {
    return parse(new Sender().seal(kr, topic, 'on')).keyId;
  } catch (e) {
    if (e.code === ERR.NO_KEY) return 0;
    throw e;
  }
}

test('seal picks the primary whose filters match the topic', () => {
  const kr = twoScopes();
  assert.equal(sealedWith(kr, 'tenant-a/meter/1'), TENANT_ID);
  assert.equal(sealedWith(kr, 'tenant-b/meter/1'), SITE_ID);
  assert.equal(sealedWith(kr, 'tenant-a'), TENANT_ID); // a/# matches a
  assert.equal(kr.primaryFor('tenant-a/x', ST).id, TENANT_ID);
});

test('without an unscoped primary, topics outside every scope have no key', () => {
  const kr = twoScopes();
  kr.schedule(SITE_ID, { disables: 1 });
  assert.equal(sealedWith(kr, 'tenant-b/x'), 0);
  assert.equal(sealedWith(kr, 'tenant-a/x'), TENANT_ID);
});

test('the first scope in id order whose filters match seals (overlapping scopes)', () => {
  const kr = twoScopes();
  kr.add({ id: 0x01000000, state: 'primary', filters: 'tenant-a/meter/+', key: tenantNext });
  assert.equal(sealedWith(kr, 'tenant-a/meter/1'), 0x01000000);
  assert.equal(sealedWith(kr, 'tenant-a/valve/1'), TENANT_ID);
});

test('open refuses a key outside its filters as key-topic', () => {
  const kr = twoScopes();
  openAt(kr, TENANT_ID, tenantKey, ST, 'tenant-a/meter/1');
  // A tenant-A device that holds its key seals for tenant B.
  assert.throws(() => openAt(kr, TENANT_ID, tenantKey, ST, 'tenant-b/meter/1'),
    (e) => e.code === ERR.KEY_TOPIC && e.reason === 'key-topic');
  // Keys without filters open every topic, as before.
  openAt(kr, SITE_ID, siteKey, ST, 'tenant-a/meter/1');
});

test('key-topic comes after the key\'s state and suite', () => {
  const kr = twoScopes();
  kr.schedule(TENANT_ID, { disables: ST - 1 });
  assert.throws(() => openAt(kr, TENANT_ID, tenantKey, ST, 'tenant-b/x'), code(ERR.DISABLED_KEY));
  const m = new Keyring();
  m.add({ id: TENANT_ID, suite: 'mac', state: 'primary', filters: 'tenant-a/#', key: tenantKey });
  assert.throws(() => openAt(m, TENANT_ID, tenantKey, ST, 'tenant-b/x'), code(ERR.SUITE_MISMATCH));
});

test('a new primary demotes only the primary of its scope', () => {
  const kr = twoScopes();
  kr.add({ id: 0x33333333, state: 'primary', created: 3, key: tenantNext });
  assert.equal(kr.stateAt(TENANT_ID, ST), 'primary');
  assert.equal(kr.stateAt(SITE_ID, ST), 'enabled');
});

test('scopes follow their own schedules', () => {
  const kr = twoScopes();
  const next = 0x44444444;
  kr.add({ id: next, state: 'enabled', created: 4, key: tenantNext });
  kr.setFilters(next, 'tenant-a/#');
  kr.schedule(next, { activates: ST });
  assert.equal(kr.stateAt(next, ST - 1), 'enabled');
  assert.equal(kr.stateAt(next, ST), 'primary');
  assert.equal(kr.stateAt(TENANT_ID, ST), 'enabled');
  assert.equal(kr.stateAt(SITE_ID, ST), 'primary');
  kr.advance(ST);
  assert.equal(kr.stateAt(SITE_ID, ST), 'primary');
  assert.equal(kr.find(next).state, 'primary');
});

test('setFilters refuses invalid filters, blanks and a second primary in a scope', () => {
  const kr = twoScopes();
  for (const f of ['a/#/b', 'a,,b', 'a b/#']) assert.throws(() => kr.setFilters(SITE_ID, f), code(ERR.INVAL), f);
  assert.throws(() => kr.setFilters(SITE_ID, 'tenant-a/#'), code(ERR.TWO_PRIMARIES));
  assert.throws(() => kr.setFilters(99, 'x'), code(ERR.NOT_FOUND));
  assert.equal(kr.find(SITE_ID).filters, '');
  // Back among the keys without filters, which have a primary.
  assert.throws(() => kr.setFilters(TENANT_ID, null), code(ERR.TWO_PRIMARIES));
  kr.setFilters(SITE_ID, ['site/#', 'x/+']);
  assert.equal(kr.find(SITE_ID).filters, 'site/#,x/+');
  kr.setFilters(SITE_ID, '');
  assert.equal(kr.find(SITE_ID).filters, '');
});

// ---- updates built here, opened and applied --------------------------------

const admin = Signer.fromSeed(new Uint8Array(32).fill(0x11));
const alice = Member.generate();
const bob = Member.generate();
let seq = 1n;

const kOld = { id: OLD_ID, suite: 'aead', state: 'primary', activates: 0, disables: T + GRACE, filters: '', key: keyOld };
const kNew = { id: NEW_ID, suite: 'aead', state: 'primary', activates: T, disables: 0, filters: '', key: keyNew };

// An update of keys for alice (aliceIds) and bob (bobIds; null: no slot).
function publish(counter, keys, aliceIds, bobIds = null) {
  const recipients = [{ publicKey: alice.publicKey, keyIds: aliceIds }];
  if (bobIds) recipients.push({ publicKey: bob.publicKey, keyIds: bobIds });
  const body = buildUpdate({ group: 'plant-7', counter, issued: ISSUED, keys, recipients });
  return sealExplicit({
    suite: 'none', signer: admin, senderId: admin.id, seq: seq++, timestamp: ISSUED, retained: true,
  }, UPDATE_TOPIC, body);
}

const openAs = (env, member, last) => openUpdate(UPDATE_TOPIC, env, {
  adminPublicKey: admin.publicKey, group: 'plant-7', member, lastCounter: last, retained: true,
});

test('applied before activation: the old key stays primary until T', () => {
  const env = publish(1, [kOld, kNew], [NEW_ID, OLD_ID]);
  const kr = new Keyring();
  openAs(env, alice, 0).apply(kr, ISSUED + 60);
  assert.equal(kr.size, 2);
  assert.equal(primaryAt(kr, ISSUED + 60), OLD_ID);
  assert.equal(primaryAt(kr, T), NEW_ID);
  assert.deepEqual([kr.find(NEW_ID).activates, kr.find(NEW_ID).disables], [T, 0]);
  openAt(kr, OLD_ID, keyOld, T + GRACE - 1);
  assert.throws(() => openAt(kr, OLD_ID, keyOld, T + GRACE), code(ERR.DISABLED_KEY));
});

test('applied after activation (a member offline across T): the new key is the stored primary', () => {
  const env = publish(1, [kOld, kNew], [OLD_ID, NEW_ID]);
  const kr = new Keyring();
  openAs(env, alice, 0).apply(kr, T + 10);
  assert.equal(kr.primary().id, NEW_ID);
  assert.equal(kr.find(OLD_ID).state, 'enabled');
});

test('apply removes the keys the update does not list (missed updates converge)', () => {
  const env = publish(5, [kNew], [NEW_ID]);
  const kr = new Keyring();
  kr.add({ id: 0x0badc0de, suite: 'mac', state: 'primary', created: 5, key: keyOld });
  openAs(env, alice, 2).apply(kr, T + 1);
  assert.equal(kr.size, 1);
  assert.equal(kr.find(0x0badc0de), null);
  assert.equal(primaryAt(kr, T + 1), NEW_ID);
});

test('apply keeps a listed key the member holds, with its new schedule (revocation)', () => {
  const env = publish(9, [{ ...kOld, disables: T }, kNew], [NEW_ID], [NEW_ID]);
  const kr = new Keyring();
  kr.add({ id: OLD_ID, state: 'primary', created: 3, key: keyOld });
  openAs(env, bob, 8).apply(kr, ISSUED + 60);
  assert.equal(kr.size, 2);
  assert.equal(kr.find(OLD_ID).created, 3);
  openAt(kr, OLD_ID, keyOld, T - 1);
  assert.throws(() => openAt(kr, OLD_ID, keyOld, T), code(ERR.DISABLED_KEY));
  assert.equal(primaryAt(kr, T), NEW_ID);
});

test('a listed key held under another suite is not kept', () => {
  const env = publish(9, [{ ...kOld, disables: T }, kNew], [NEW_ID], [NEW_ID]);
  const kr = new Keyring();
  kr.add({ id: OLD_ID, suite: 'mac', state: 'primary', key: keyOld });
  openAs(env, bob, 8).apply(kr, ISSUED + 60);
  assert.deepEqual(kr.list().map((k) => k.id), [NEW_ID]);
});

test('a removed member gets no slot: not-recipient', () => {
  const env = publish(9, [kNew], [NEW_ID]);
  assert.throws(() => openAs(env, bob, 8), (e) => e.reason === 'not-recipient');
  openAs(env, alice, 8);
});

test('open refuses a replayed counter and a rollback', () => {
  const env = publish(4, [kNew], [NEW_ID]);
  assert.throws(() => openAs(env, alice, 4), (e) => e.reason === 'replay');
  assert.throws(() => openAs(env, alice, 5), (e) => e.reason === 'rollback');
  assert.equal(openAs(env, alice, 3).counter, 4n);
});

test('open refuses an admin-signed aead envelope as bad-update, and another signer as untrusted-signer', () => {
  const kr = new Keyring();
  kr.add({ id: NEW_ID, state: 'primary', key: keyNew });
  const body = buildUpdate({ group: 'plant-7', counter: 1, issued: ISSUED, keys: [kNew], recipients: [] });
  const sealed = new Sender({ signer: admin }).seal(kr, UPDATE_TOPIC, body, { retained: true });
  assert.throws(() => openAs(sealed, alice, 0), (e) => e.reason === 'bad-update');
  const forged = new Sender({ signer: Signer.generate() }).seal(null, UPDATE_TOPIC, body, { retained: true });
  assert.throws(() => openAs(forged, alice, 0), (e) => e.reason === 'untrusted-signer');
});

test('apply keeps the keys\' topic filters', () => {
  const env = publish(1, [{ ...kNew, filters: 'plant-7/+/temp' }], [NEW_ID]);
  const kr = new Keyring();
  openAs(env, alice, 0).apply(kr, T + 1);
  assert.equal(kr.find(NEW_ID).filters, 'plant-7/+/temp');
  openAt(kr, NEW_ID, keyNew, T + 1); // TOPIC matches
  assert.throws(() => openAt(kr, NEW_ID, keyNew, T + 1, 'plant-7/line-1/rpm'), code(ERR.KEY_TOPIC));
});

test('apply refuses a filter with a blank and changes nothing', () => {
  // A valid MQTT filter, but keyring files separate fields by blanks.
  const env = publish(1, [{ ...kNew, filters: 'plant 7/#' }], [NEW_ID]);
  const kr = new Keyring();
  kr.add({ id: OLD_ID, state: 'primary', created: 3, key: keyOld });
  const u = openAs(env, alice, 0);
  assert.equal(u.keys[0].filters, 'plant 7/#');
  assert.throws(() => u.apply(kr, ISSUED), code(ERR.INVAL));
  assert.equal(kr.size, 1);
  assert.equal(primaryAt(kr, ISSUED), OLD_ID);
});

test('buildUpdate refuses what the format cannot say', () => {
  const p = () => ({
    group: 'plant-7', counter: 1, issued: ISSUED, keys: [{ ...kOld }, { ...kNew }],
    recipients: [{ publicKey: alice.publicKey, keyIds: [NEW_ID] }],
  });
  const refused = (change, what) => {
    const q = p();
    change(q);
    assert.throws(() => buildUpdate(q), code(ERR.INVAL), what);
  };
  buildUpdate(p());
  refused((q) => { q.counter = 0; }, 'counter 0');
  refused((q) => { q.issued = 1n << 63n; }, 'issued 2^63');
  refused((q) => { q.group = 'plant 7'; }, 'group with a blank');
  refused((q) => { q.group = 'g'.repeat(65); }, 'group of 65 bytes');
  refused((q) => { q.keys[1].activates = 0; }, 'two primaries from the start');
  refused((q) => { q.keys[1].filters = 'a/#/b'; }, 'invalid filter');
  refused((q) => { q.keys[1].filters = 'a/#,,b'; }, 'empty filter');
  refused((q) => { q.keys[1].id = OLD_ID; }, 'duplicate id');
  refused((q) => { q.keys[1].key = undefined; }, 'no material for a key that is not disabled');
  refused((q) => { q.recipients[0].keyIds = [NEW_ID, NEW_ID]; }, 'a key twice');
  refused((q) => { q.recipients[0].keyIds = [0x77]; }, 'a key not in the table');
  refused((q) => { q.keys[1].state = 'disabled'; q.keys[1].key = undefined; q.recipients[0].keyIds = [NEW_ID]; }, 'a disabled key');
  refused((q) => { q.recipients.push({ publicKey: alice.publicKey, keyIds: [] }); }, 'one member twice');
  refused((q) => { q.recipients[0].publicKey = new Uint8Array(32); }, 'a public key of low order');
});

test('primaries of two scopes may share an activation time', () => {
  const env = publish(2, [{ ...kNew, id: OLD_ID, key: keyOld }, { ...kNew, filters: 'tenant-a/#' }], [OLD_ID, NEW_ID]);
  const kr = new Keyring();
  openAs(env, alice, 1).apply(kr, T);
  assert.equal(kr.stateAt(OLD_ID, T), 'primary');
  assert.equal(kr.stateAt(NEW_ID, T), 'primary');
});

test('the body grows by one slot\'s bytes per member', () => {
  const q = (r) => buildUpdate({ group: 'plant-7', counter: 1, issued: ISSUED, keys: [kOld, kNew], recipients: r });
  const a = { publicKey: alice.publicKey, keyIds: [OLD_ID, NEW_ID] };
  const b = { publicKey: bob.publicKey, keyIds: [OLD_ID, NEW_ID] };
  assert.equal(q([a, b]).length - q([a]).length, updateSlotBytes(2));
  assert.equal(updateSlotBytes(2), 129);
});

test('a member from its secret gives its X25519 public key and id', () => {
  const sk = Member.generate().secretKey();
  const m = Member.fromSecret(sk);
  assert.deepEqual(m.publicKey, x25519.getPublicKey(sk));
  assert.deepEqual(m.secretKey(), sk);
  assert.equal(m.id, memberIdFromPublic(m.publicKey));
  assert.equal(m.id, signerIdFromPublic(m.publicKey));
});

test('sealed boxes open with the recipient\'s key pair only, and refuse any change', () => {
  const msg = new TextEncoder().encode('the keys');
  const box = sealedBoxSeal(msg, alice.publicKey);
  assert.equal(box.length, msg.length + 48);
  assert.deepEqual(sealedBoxOpen(box, alice.publicKey, alice.secretKey()), msg);
  assert.equal(sealedBoxOpen(box, bob.publicKey, bob.secretKey()), null);
  for (const i of [0, 31, 32, 47, 48, box.length - 1]) {
    const bad = Uint8Array.from(box);
    bad[i] ^= 1;
    assert.equal(sealedBoxOpen(bad, alice.publicKey, alice.secretKey()), null, `byte ${i}`);
  }
  assert.equal(sealedBoxOpen(box.subarray(0, 47), alice.publicKey, alice.secretKey()), null);
  // A fresh ephemeral key each time.
  assert.notDeepEqual(sealedBoxSeal(msg, alice.publicKey), box);
});

test('keys added out of id order are listed, and their scopes tried, in increasing id order', () => {
  const kr = new Keyring();
  kr.add({ id: 9, state: 'primary', filters: 'a/#', key: tenantKey });
  kr.add({ id: 3, state: 'primary', filters: 'a/b', key: tenantNext });
  kr.add({ id: 5, state: 'primary', key: siteKey });
  assert.deepEqual(kr.list().map((k) => k.id), [3, 5, 9]);
  assert.equal(sealedWith(kr, 'a/b'), 3); // both scopes match: the lower id seals
  assert.equal(sealedWith(kr, 'a/c'), 9);
  assert.equal(sealedWith(kr, 'z'), 5);
});

test('openUpdate reports a misuse as E2EError(INVAL), not as a verdict', () => {
  const env = publish(1, [kNew], [NEW_ID]);
  const misuse = (e) => e.code === ERR.INVAL && e.name === 'E2EError';
  assert.throws(() => openAs(env, alice, 1.5), misuse);
  assert.throws(() => openAs(env, alice, -1), misuse);
  assert.throws(() => openUpdate(UPDATE_TOPIC, env, { adminPublicKey: admin.publicKey, group: 'plant-7', member: {} }), misuse);
  assert.throws(() => openUpdate(UPDATE_TOPIC, 'text', { adminPublicKey: admin.publicKey, group: 'plant-7', member: alice }), misuse);
});
