// Every vector of tests/vectors/keydist-v1.json (docs/KEYDIST.md section
// 12): each positive body and envelope rebuilt byte for byte from its
// table, recipients and ephemeral keys, and opened for every opener to
// exactly its keys; each negative refused with its reason, the keyring
// untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Keyring, Member, Rejected, Signer, buildUpdate, errName, fromHex, memberIdHex, openUpdate, parseKeyring,
  sealExplicit, serializeKeyring, toHex,
} from '../src/index.js';
import { loadVectors } from './helpers.js';

const vectors = loadVectors('keydist-v1.json');
const hexId = (id) => id.toString(16).padStart(8, '0');

function updateKeys(v) {
  return v.keys.map((k) => ({
    id: parseInt(k.id, 16), suite: k.suite, state: k.state, activates: k.activates, disables: k.disables,
    filters: k.filters, key: k.key ? fromHex(k.key) : undefined,
  }));
}

function opener(o) {
  return {
    adminPublicKey: fromHex(o.admin_public_key), group: o.group,
    member: Member.fromSecret(fromHex(o.member_secret_key)), lastCounter: o.held_counter,
    retained: o.delivered_retained,
  };
}

// A member's keyring before an update: one key the vectors never list.
function heldKeyring() {
  return parseKeyring('libe2e-keyring 1\n' +
    '0badc0de aead primary 1700000000 AQIDBAUGBwgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n');
}

for (const v of vectors.positive) {
  test(`buildUpdate reproduces the body of ${v.name}`, () => {
    const body = buildUpdate({
      group: v.group, counter: v.counter, issued: v.issued, keys: updateKeys(v),
      recipients: v.recipients.map((r) => ({
        publicKey: fromHex(r.public_key), keyIds: r.key_ids.map((x) => parseInt(x, 16)),
        ephemeralSecret: fromHex(r.ephemeral_secret),
      })),
    });
    assert.equal(toHex(body), v.body);
  });

  test(`the admin's envelope of ${v.name} is reproduced from its body`, () => {
    const admin = Signer.fromSeed(fromHex(v.admin_seed));
    assert.equal(toHex(admin.publicKey), v.admin_public_key);
    assert.equal(admin.id.toString(16).padStart(16, '0'), v.sender_id);
    const env = sealExplicit({
      suite: 'none', signer: admin, senderId: admin.id, seq: BigInt('0x' + v.sequence),
      timestamp: v.timestamp, retained: v.retained,
    }, v.topic, fromHex(v.body));
    assert.equal(toHex(env), v.envelope);
  });

  test(`member ids of ${v.name} are the ones the vector lists`, () => {
    for (const r of v.recipients) {
      const o = v.openers.find((x) => Member.fromSecret(fromHex(x.member_secret_key)).publicKey.every(
        (b, i) => b === fromHex(r.public_key)[i]));
      assert.ok(o, `an opener for ${r.member_id}`);
      assert.equal(memberIdHex(Member.fromSecret(fromHex(o.member_secret_key)).id), r.member_id);
    }
  });

  v.openers.forEach((o, i) => {
    test(`openUpdate gives opener ${i} of ${v.name} exactly its keys, and apply stores them`, () => {
      const u = openUpdate(o.topic, fromHex(v.envelope), opener(o));
      assert.equal(u.group, v.group);
      assert.equal(u.counter, BigInt(v.counter));
      assert.equal(u.issued, BigInt(v.issued));
      assert.deepEqual(u.keys.map((k) => hexId(k.id)), v.keys.map((k) => k.id));
      assert.deepEqual(u.keys.filter((k) => k.inSlot).map((k) => hexId(k.id)), o.expect_key_ids);
      const kr = heldKeyring();
      u.apply(kr, o.now);
      // The update is the whole key set: the held key is gone, the
      // member holds exactly its slot's keys, with the table's bytes.
      assert.deepEqual(kr.list().map((k) => hexId(k.id)), o.expect_key_ids);
      for (const k of kr.list()) {
        const want = v.keys.find((x) => parseInt(x.id, 16) === k.id);
        assert.equal(toHex(kr._lookup(k.id).key), want.key);
        assert.equal(k.created, v.issued);
        assert.equal(k.filters, want.filters);
        assert.equal(k.disables, want.disables > o.now ? want.disables : 0);
      }
    });
  });
}

for (const v of vectors.negative) {
  test(`openUpdate refuses ${v.name} as ${v.reason}, the keyring unchanged`, () => {
    const kr = heldKeyring();
    const before = serializeKeyring(kr);
    assert.throws(() => {
      const u = openUpdate(v.opener.topic, fromHex(v.envelope), opener(v.opener));
      u.apply(kr, v.opener.now);
    }, (e) => {
      assert.ok(e instanceof Rejected, String(e));
      assert.equal(e.reason, v.reason);
      assert.equal(errName(e.code), v.error);
      assert.equal(e.topic, v.opener.topic);
      return true;
    });
    assert.equal(serializeKeyring(kr), before);
  });
}

test('the vectors cover every reason of the processing order', () => {
  const reasons = new Set(vectors.negative.map((v) => v.reason));
  for (const r of ['bad-topic', 'bad-update', 'not-e2e', 'untrusted-signer', 'not-retained', 'bad-signature',
    'wrong-group', 'rollback', 'replay', 'not-recipient', 'bad-slot']) assert.ok(reasons.has(r), r);
});

test('a keyring a positive vector gives round-trips through its file byte for byte', () => {
  const v = vectors.positive.find((x) => x.name === 'per_member_rotation');
  const o = v.openers[0];
  const kr = new Keyring();
  openUpdate(o.topic, fromHex(v.envelope), opener(o)).apply(kr, o.now);
  const text = serializeKeyring(kr);
  assert.match(text, /^1a2b3c4d aead primary 1767225600 \S+ disables=1767315600$/m);
  assert.match(text, /^5e6f7081 aead enabled 1767225600 \S+ activates=1767312000$/m);
  assert.equal(serializeKeyring(parseKeyring(text)), text);
});

test('a member given only enabled keys holds a receive-only keyring, stored like any other', () => {
  // carol gets only the mac key, enabled: she opens with it and never
  // seals; e2e_keyring_save writes such a keyring too (docs/KEYFILES.md).
  const v = vectors.positive.find((x) => x.name === 'per_group_three_members');
  const o = v.openers[2];
  const kr = new Keyring();
  openUpdate(o.topic, fromHex(v.envelope), opener(o)).apply(kr, o.now);
  assert.deepEqual(kr.list().map((k) => [hexId(k.id), k.state, k.filters]),
    [['00c0ffee', 'enabled', 'plant-7/meters/#,plant-7/+/status']]);
  const text = serializeKeyring(kr);
  assert.deepEqual(parseKeyring(text).list().map((k) => [hexId(k.id), k.state]), [['00c0ffee', 'enabled']]);
});
