// Key file parsing agrees with the C library's loaders: the same files,
// good and damaged, give the same result, error and line in both.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring, Signer, Trust, serializeKeyring, serializePublicKey, serializeSigner, serializeTrust, toHex } from '../src/index.js';
import { loadKeyring, loadPublicKey, loadSigner, loadTrust } from '../src/node.js';
import { BUILDDIR, HERE, SRCDIR, listed, skipOrFail } from './helpers.js';

const PYTHON = '/usr/bin/python3';
let dir;
let missing = null;

function peer(req) {
  return JSON.parse(execFileSync(PYTHON, [join(HERE, 'c_peer.py')], {
    input: JSON.stringify(req), env: { ...process.env, top_srcdir: SRCDIR, LIBE2E_BUILDDIR: BUILDDIR }, timeout: 60000,
  }).toString());
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'e2e-js-keyfiles-'));
  if (!existsSync(PYTHON)) missing = `${PYTHON} is not installed`;
  else {
    try { peer({ op: 'describe' }); } catch (e) { missing = `the Python binding cannot load libe2e: ${e.stderr || e.message}`; }
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

const KEY = 'AQIDBAUGBwgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
const kr = new Keyring();
kr.add({ id: 0x0a0b0c0d, suite: 'aead', state: 'primary', created: 1763764000, key: Uint8Array.from(atob(KEY), (c) => c.charCodeAt(0)) });
const RING = serializeKeyring(kr);
const signer = Signer.fromSeed(new Uint8Array(32).fill(5));
const other = Signer.fromSeed(new Uint8Array(32).fill(6));
const PUB = serializePublicKey(signer.publicKey);
const SECRET = serializeSigner(signer, null);
const tr = new Trust();
tr.add(signer.publicKey, 'sensors/+/temp,alerts/#');
const TRUST = serializeTrust(tr);
const idHex = signer.id.toString(16).padStart(16, '0');
const pkB64 = btoa(String.fromCharCode(...signer.publicKey));
const otherB64 = btoa(String.fromCharCode(...other.publicKey));

// [kind, name, text]
const CASES = [
  ['keyring', 'as written', RING],
  ['keyring', 'CRLF line ends and blanks', RING.replace(/\n/g, '\r\n').replace('0a0b0c0d aead', '  0a0b0c0d \t aead')],
  ['keyring', 'last line without newline', RING.slice(0, -1)],
  ['keyring', 'only comments', '# nothing\n\n'],
  ['keyring', 'empty', ''],
  ['keyring', 'another version', RING.replace('libe2e-keyring 1', 'libe2e-keyring 2')],
  ['keyring', 'header with an extra field', RING.replace('libe2e-keyring 1', 'libe2e-keyring 1 x')],
  ['keyring', 'a trust file', TRUST],
  ['keyring', 'no keys', '# x\nlibe2e-keyring 1\n'],
  ['keyring', 'only disabled keys', RING.replace('primary', 'disabled')],
  ['keyring', 'two primaries', RING + `0a0b0c0e aead primary 1 ${KEY}\n`],
  ['keyring', 'duplicate id', RING + `0A0B0C0D aead enabled 1 ${KEY}\n`],
  ['keyring', 'upper-case id', RING.replace('0a0b0c0d', '0A0B0C0D')],
  ['keyring', 'id 0', RING.replace('0a0b0c0d', '00000000')],
  ['keyring', 'short id', RING.replace('0a0b0c0d', 'a0b0c0d')],
  ['keyring', 'suite none', RING.replace(' aead ', ' none ')],
  ['keyring', 'unknown state', RING.replace('primary', 'main')],
  ['keyring', 'created with a sign', RING.replace('1763764000', '+1763764000')],
  ['keyring', 'created 2^63', RING.replace('1763764000', '9223372036854775808')],
  ['keyring', 'created 2^63-1', RING.replace('1763764000', '9223372036854775807')],
  ['keyring', 'bad base64', RING.replace(KEY, KEY.replace('AQID', 'A*ID'))],
  ['keyring', 'non-canonical base64 padding bits', RING.replace(KEY, KEY.slice(0, 42) + 'B=')],
  ['keyring', 'short key', RING.replace(KEY, 'AQIDBAUGBwgAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')],
  ['keyring', 'six fields', RING.replace(KEY, `${KEY} extra`)],
  ['keyring', 'four fields', RING.replace(` ${KEY}`, '')],
  ['keyring', 'a NUL byte', RING.replace('# id', '# i\0d')],
  ['keyring', 'a schedule', RING.replace(KEY, `${KEY} activates=1767312000 disables=1767315600`)],
  ['keyring', 'optional fields in another order', RING.replace(KEY, `${KEY} topics=a/#,+/b disables=9 activates=8`)],
  ['keyring', 'times 2^63-1', RING.replace(KEY, `${KEY} activates=9223372036854775807 disables=9223372036854775807`)],
  ['keyring', 'activates 2^63', RING.replace(KEY, `${KEY} activates=9223372036854775808`)],
  ['keyring', 'disables with a sign', RING.replace(KEY, `${KEY} disables=+5`)],
  ['keyring', 'an unknown optional field', RING.replace(KEY, `${KEY} expires=5`)],
  ['keyring', 'a repeated optional field', RING.replace(KEY, `${KEY} disables=5 disables=6`)],
  ['keyring', 'nine fields', RING.replace(KEY, `${KEY} activates=1 disables=2 topics=a x`)],
  ['keyring', 'topics', RING.replace(KEY, `${KEY} topics=tenant-a/#,+/status`)],
  ['keyring', 'empty topics', RING.replace(KEY, `${KEY} topics=`)],
  ['keyring', 'invalid topics', RING.replace(KEY, `${KEY} topics=a/#/b`)],
  ['keyring', 'an empty filter between commas', RING.replace(KEY, `${KEY} topics=a,,b`)],
  ['keyring', 'primaries of two scopes', RING + `0a0b0c0e aead primary 1 ${KEY} topics=t/#\n`],
  ['keyring', 'two primaries of one scope', RING + `0a0b0c0e aead primary 1 ${KEY} topics=t/#\n` +
    `0a0b0c0f mac primary 1 ${KEY} topics=t/#\n`],
  ['keyring', 'only a scoped primary', RING.replace('primary', 'enabled') + `0a0b0c0e aead primary 1 ${KEY} topics=t/#\n`],
  ['pubkey', 'as written', PUB],
  ['pubkey', 'id not matching', PUB.replace(`signer ${idHex}`, 'signer 0000000000000001')],
  ['pubkey', 'public line missing', PUB.replace(/public .*\n/, '')],
  ['pubkey', 'extra line', PUB + 'more\n'],
  ['pubkey', 'upper-case id', PUB.replace(`signer ${idHex}`, `signer ${idHex.toUpperCase()}`)],
  ['signer', 'unencrypted as written', SECRET],
  ['signer', 'damaged seed', SECRET.replace(/secret (.)/, (m, c) => `secret ${c === 'A' ? 'B' : 'A'}`)],
  ['signer', 'unknown kdf', SECRET.replace('kdf none', 'kdf scrypt')],
  ['signer', 'kdf argon2id with costs over the maximum', SECRET.replace('kdf none', 'kdf argon2id 33 65536 AAAAAAAAAAAAAAAAAAAAAA==')],
  ['signer', 'kdf argon2id below libsodium minimum memory', SECRET.replace('kdf none', 'kdf argon2id 1 8191 AAAAAAAAAAAAAAAAAAAAAA==')],
  ['signer', 'lines out of order', SECRET.replace(/(signer .*\n)(public .*\n)/, '$2$1')],
  ['trust', 'as written', TRUST],
  ['trust', 'no signer', '# x\nlibe2e-trust 1\n'],
  ['trust', 'filters with inner and outer blanks', TRUST.replace('sensors/+/temp,alerts/#', ' room 1/light ,\talerts/#  ')],
  ['trust', 'invalid filter', TRUST.replace('alerts/#', 'alerts/#/x')],
  ['trust', 'a + inside a level', TRUST.replace('sensors/+/temp', 'sensors/a+/temp')],
  ['trust', 'empty filter between commas', TRUST.replace(',alerts', ',,alerts')],
  ['trust', 'duplicate signer', TRUST + `${idHex} ${pkB64} x\n`],
  ['trust', 'id of another key', TRUST + `${idHex} ${otherB64} x\n`],
  ['trust', 'two fields', TRUST + `${other.id.toString(16).padStart(16, '0')} ${otherB64}\n`],
  ['trust', 'a carriage return inside the filters', TRUST.replace('alerts/#', 'alerts/\r#')],
  ['trust', 'a secret key file', SECRET],
];

function jsLoad(kind, path) {
  try {
    if (kind === 'keyring') return { keyring: listed(loadKeyring(path)) };
    if (kind === 'pubkey') return { pubkey: toHex(loadPublicKey(path)) };
    if (kind === 'signer') {
      const s = loadSigner(path);
      return { signer: { id: s.id.toString(16).padStart(16, '0'), public_key: toHex(s.publicKey) } };
    }
    return { trust: loadTrust(path).list().map((e) => ({ public_key: toHex(e.publicKey), filters: e.filters })) };
  } catch (e) {
    if (!e.errName) throw e;
    return { load_error: e.errName, line: e.line };
  }
}

CASES.forEach(([kind, name, text], i) => {
  test(`${kind} file, ${name}: JS and C agree`, (t) => {
    if (missing) return skipOrFail(t, missing);
    const path = join(dir, `case-${i}`);
    writeFileSync(path, text, { mode: 0o600 });
    const c = peer({ op: 'describe', [kind]: path });
    if (c.load_error) delete c.reason;
    assert.deepEqual(jsLoad(kind, path), c);
  });
});
