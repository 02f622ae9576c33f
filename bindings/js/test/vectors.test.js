// Every vector of tests/vectors/: positive ones reproduced byte for byte
// from their inputs and opened; negative ones refused with their reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { E2EError, Rejected, Signer, errName, fromHex, parse, sealExplicit, toHex } from '../src/index.js';
import { SRCDIR, loadVectors, vectorReceiver } from './helpers.js';

const FIELDS = [[0, 'magic'], [1, 'flags'], [2, 'key id'], [6, 'timestamp'], [10, 'sender id'],
  [18, 'sequence'], [26, 'salt or body']];

function firstDifference(got, want) {
  const n = Math.min(got.length, want.length);
  for (let i = 0; i < n; i++) {
    if (got[i] !== want[i]) {
      const field = FIELDS.filter(([off]) => off <= i).pop()[1];
      return `first difference at byte ${i} (${field})`;
    }
  }
  return `lengths ${got.length} and ${want.length}`;
}

const files = readdirSync(join(SRCDIR, 'tests', 'vectors')).filter((f) => f.endsWith('.json'));

test('the vector files are the ones this suite knows', () => {
  // A new vector file needs its own reader here: fail rather than ignore it.
  // keydist-v1.json holds the key updates of docs/KEYDIST.md, read by
  // keydist-vectors.test.js (and by the C library's
  // tests/unit/test_keydist_vectors.c). guard-cases.json is read by
  // guard-cases.test.js.
  assert.deepEqual(files.sort(), ['envelope-v1.json', 'guard-cases.json', 'keydist-v1.json']);
});

const vectors = loadVectors();

for (const v of vectors.positive) {
  test(`seal reproduces ${v.name}`, () => {
    const signer = v.signer_seed ? Signer.fromSeed(fromHex(v.signer_seed)) : undefined;
    if (signer) assert.equal(toHex(signer.publicKey), v.signer_public_key);
    const env = sealExplicit({
      suite: v.suite,
      keyId: parseInt(v.key_id, 16),
      key: v.key ? fromHex(v.key) : undefined,
      signer,
      senderId: BigInt('0x' + v.sender_id),
      seq: BigInt('0x' + v.sequence),
      timestamp: v.timestamp,
      retained: v.retained,
      salt: v.salt ? fromHex(v.salt) : undefined,
    }, v.topic, fromHex(v.payload));
    const want = fromHex(v.envelope);
    assert.ok(toHex(env) === v.envelope, firstDifference(env, want));
  });

  test(`open accepts ${v.name}`, () => {
    const r = v.receiver;
    const msg = vectorReceiver(r).open(r.topic, fromHex(v.envelope), { retained: r.delivered_retained });
    assert.equal(toHex(msg.payload), v.payload);
    assert.equal(msg.info.suite, v.suite);
    assert.equal(msg.info.signed, v.signed);
    assert.equal(msg.info.retained, v.retained);
    assert.equal(msg.info.keyId, parseInt(v.key_id, 16));
    assert.equal(msg.info.senderId, BigInt('0x' + v.sender_id));
    assert.equal(msg.info.seq, BigInt('0x' + v.sequence));
    assert.equal(msg.info.timestamp, v.timestamp);
  });
}

for (const v of vectors.negative) {
  test(`open rejects ${v.name} as ${v.reason}`, () => {
    const r = v.receiver;
    assert.throws(() => vectorReceiver(r).open(r.topic, fromHex(v.envelope), { retained: r.delivered_retained }),
      (e) => {
        assert.ok(e instanceof Rejected, String(e));
        assert.equal(e.reason, v.reason);
        assert.equal(errName(e.code), v.error);
        return true;
      });
  });
}

test('parse agrees with open on every negative vector refused while parsing', () => {
  for (const v of vectors.negative) {
    if (!['E2E_ERR_NOT_E2E', 'E2E_ERR_VERSION', 'E2E_ERR_RESERVED', 'E2E_ERR_MALFORMED'].includes(v.error)) continue;
    assert.throws(() => parse(fromHex(v.envelope)), (e) => e instanceof E2EError && e.errName === v.error, v.name);
  }
});
