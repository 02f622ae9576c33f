// Shared by the tests: where the tree is, and the vectors' receivers.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Keyring, Receiver, Trust, fromHex } from '../src/index.js';
import { HERE, SRCDIR, BUILDDIR, STRICT, skipOrFail } from './paths.js';

export { HERE, SRCDIR, BUILDDIR, STRICT, skipOrFail };

export function loadVectors(name = 'envelope-v1.json') {
  return JSON.parse(readFileSync(join(SRCDIR, 'tests', 'vectors', name), 'utf8'));
}

/** A Receiver built from a vector's "receiver" object. */
export function vectorReceiver(r) {
  const keyring = new Keyring();
  for (const k of r.keys) {
    keyring.add({ id: parseInt(k.key_id, 16), suite: k.suite, state: k.state, key: fromHex(k.key) });
  }
  const trust = new Trust();
  for (const s of r.signers) trust.add(fromHex(s.public_key), s.filters);
  return new Receiver({
    keyring, trust, requireEncryption: r.require_encryption, requireSignature: r.require_signature,
  });
}


/** One request to test/c_peer.py: the C library through the Python binding. */
export function peer(req) {
  const out = execFileSync('/usr/bin/python3', [join(HERE, 'c_peer.py')], {
    input: JSON.stringify(req),
    env: { ...process.env, top_srcdir: SRCDIR, LIBE2E_BUILDDIR: BUILDDIR },
    timeout: 60000,
  });
  return JSON.parse(out.toString());
}

/** A keyring's keys as c_peer.py describes them: times as decimal strings
 * (they may exceed 2^53). */
export function listed(keyring) {
  return keyring.list().map((k) => ({
    ...k, created: String(k.created), activates: String(k.activates), disables: String(k.disables),
  }));
}
