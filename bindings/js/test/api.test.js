// The package's own API: what a sender and a receiver do beyond the
// vectors (sequence numbers, topics refused, subscriptions, misuse).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERR, E2EError, Keyring, Receiver, Rejected, Sender, Signer, Trust, parse, subscriptionMatches } from '../src/index.js';

function ring(suite = 'aead') {
  const kr = new Keyring();
  kr.generate({ suite });
  return kr;
}

const rejects = (fn, why) => assert.throws(fn, (e) => e instanceof Rejected && e.reason === why);

test('a Sender uses one sequence number per message, from epoch << 32', () => {
  const kr = ring();
  const s = new Sender({ epoch: 7, senderId: 0x1234n });
  assert.equal(s.nextSeq, 7n << 32n);
  const a = parse(s.seal(kr, 'a/b', 'x'));
  const b = parse(s.seal(kr, 'a/b', 'y'));
  assert.equal(a.seq, 7n << 32n);
  assert.equal(b.seq, (7n << 32n) + 1n);
  assert.equal(a.senderId, 0x1234n);
  assert.ok(Math.abs(a.timestamp - Date.now() / 1000) < 5);
});

test('a Sender draws a fresh salt for every aead message', () => {
  const kr = ring();
  const s = new Sender();
  const salts = new Set();
  for (let i = 0; i < 16; i++) salts.add(Buffer.from(s.seal(kr, 'a', 'x').subarray(26, 34)).toString('hex'));
  assert.equal(salts.size, 16);
});

test('a signing Sender uses its signer id, noClock writes timestamp 0', () => {
  const signer = Signer.generate();
  const info = parse(new Sender({ signer, senderId: 5n, noClock: true }).seal(null, 'a', 'x'));
  assert.equal(info.senderId, signer.id);
  assert.equal(info.timestamp, 0);
  assert.equal(info.suite, 'none');
});

test('sealing refuses topics with wildcards, empty, over 4096 bytes or with a NUL', () => {
  const kr = ring();
  const s = new Sender();
  for (const t of ['a/+', 'a/#', '', 'x'.repeat(4097), 'a\0b']) {
    assert.throws(() => s.seal(kr, t, 'x'), (e) => e instanceof E2EError && e.code === ERR.TOPIC, JSON.stringify(t.slice(0, 9)));
  }
  assert.equal(parse(s.seal(kr, 'é'.repeat(2048), 'x')).suite, 'aead'); // 4096 bytes
});

test('sealing needs a keyring with a primary, or a signer', () => {
  assert.throws(() => new Sender().seal(null, 'a', 'x'), (e) => e.code === ERR.INVAL);
  const kr = new Keyring();
  kr.add({ id: 1, state: 'enabled', key: new Uint8Array(32) });
  assert.throws(() => new Sender().seal(kr, 'a', 'x'), (e) => e.code === ERR.NO_KEY);
});

test('a receiver with subscriptions refuses other topics first, as not-subscribed', () => {
  const kr = ring();
  const env = new Sender().seal(kr, 'b/c', 'x');
  rejects(() => new Receiver({ keyring: kr, filters: 'a/#' }).open('b/c', env), 'not-subscribed');
  rejects(() => new Receiver({ keyring: kr, filters: ['a/#'] }).open('b/c', Uint8Array.of(0xfd)), 'not-subscribed');
  assert.equal(new Receiver({ keyring: kr, filters: ['a/#', '$share/g/b/+'] }).open('b/c', env).topic, 'b/c');
  assert.equal(new Receiver({ keyring: kr }).open('b/c', env).topic, 'b/c');
});

test('shared subscriptions match by their filter; malformed ones match nothing', () => {
  assert.equal(subscriptionMatches('$share/g/a/#', 'a/b'), true);
  assert.equal(subscriptionMatches('$share/g+/a/#', 'a/b'), false);
  assert.equal(subscriptionMatches('$share//a/#', 'a/b'), false);
  assert.equal(subscriptionMatches('$share/g', 'a/b'), false);
  assert.equal(subscriptionMatches('+/#', '$SYS/x'), false);
});

test('a receiver refuses a topic with a NUL or over 4096 bytes as bad-topic', () => {
  const kr = ring();
  const env = new Sender().seal(kr, 'a', 'x');
  rejects(() => new Receiver({ keyring: kr }).open('a\0', env), 'bad-topic');
  rejects(() => new Receiver({ keyring: kr }).open('a'.repeat(4097), env), 'bad-topic');
  rejects(() => new Receiver({ keyring: kr }).open(Uint8Array.of(0x61, 0xff), env), 'bad-topic');
});

test('an authentic unsigned envelope under a trusted signer id is refused as unsigned', () => {
  const kr = ring();
  const signer = Signer.generate();
  const trust = new Trust();
  trust.add(signer.publicKey, 'other/#');
  const env = new Sender({ senderId: signer.id }).seal(kr, 'a', 'x');
  rejects(() => new Receiver({ keyring: kr, trust }).open('a', env), 'unsigned');
  assert.equal(new Receiver({ keyring: kr }).open('a', env).payload.length, 1);
});

test('a signer trusted only on other topics is untrusted-signer', () => {
  const signer = Signer.generate();
  const trust = new Trust();
  trust.add(signer.publicKey, ['sensors/+/temp']);
  const s = new Sender({ signer });
  assert.equal(new Receiver({ trust }).open('sensors/k/temp', s.seal(null, 'sensors/k/temp', 'x')).info.signed, true);
  rejects(() => new Receiver({ trust }).open('sensors/k/hum', s.seal(null, 'sensors/k/hum', 'x')), 'untrusted-signer');
});

test('the replay guard is refused rather than silently missing', () => {
  assert.throws(() => new Receiver({ guard: {} }), (e) => e.code === ERR.INVAL);
});

test('keyring rules: one primary, the primary cannot be disabled or removed', () => {
  const kr = new Keyring();
  const a = kr.generate();
  const b = kr.generate();
  assert.equal(kr.primary().id, b);
  assert.equal(kr.find(a).state, 'enabled');
  assert.throws(() => kr.setState(b, 'disabled'), (e) => e.code === ERR.IS_PRIMARY);
  assert.throws(() => kr.remove(b), (e) => e.code === ERR.IS_PRIMARY);
  assert.throws(() => kr.add({ id: a, key: new Uint8Array(32) }), (e) => e.code === ERR.DUPLICATE_KEY);
  kr.setState(a, 'primary');
  assert.equal(kr.find(b).state, 'enabled');
});
