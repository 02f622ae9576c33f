// Key files (docs/KEYFILES.md): keyrings, signer secret and public keys,
// trust files, parsed from and written to text. Browser-safe: these take
// and give strings or bytes; src/node.js reads and writes files.
import { xchacha20poly1305 } from '@noble/ciphers/chacha';
import { argon2id } from '@noble/hashes/argon2';
import { randomBytes } from '@noble/hashes/utils';
import { ERR, E2EError } from './errors.js';
import { concat, fromBase64OrNull, fromHexOrNull, isBytes, load32, load64, toBase64, u64, utf8, wipe } from './bytes.js';
import { Keyring, Signer, Trust, keyFiltersOrNull, KEYBYTES, SIGN_PUBLICKEYBYTES, SIGN_SEEDBYTES, signerIdFromPublic, signerIdHex } from './keys.js';

export const KEYFILE_MAX = 4 << 20;
/** libsodium's MODERATE costs, which e2e-keygen always uses. */
export const SIGNER_OPSLIMIT = 3;
export const SIGNER_MEMLIMIT = 256 << 20;
/** Highest costs a reader accepts (a crafted file cannot make it hang). */
export const SIGNER_OPSLIMIT_MAX = 32;
export const SIGNER_MEMLIMIT_MAX = 1 << 30;
// libsodium's crypto_pwhash_argon2id limits (OPSLIMIT_MIN, MEMLIMIT_MIN).
const PWHASH_OPSLIMIT_MIN = 1;
const PWHASH_MEMLIMIT_MIN = 8192;
const KDF_SALT_BYTES = 16;
const NONCE_BYTES = 24;
const SEALED_BYTES = NONCE_BYTES + SIGN_SEEDBYTES + 16;

const SECRET_MAGIC = 'libe2e-signer-secret';
const PUBLIC_MAGIC = 'libe2e-signer-public';
const KEYRING_MAGIC = 'libe2e-keyring';
const TRUST_MAGIC = 'libe2e-trust';

/** An error in a key file: code, and line (1-based; 0: the whole file). */
export class KeyFileError extends E2EError {
  constructor(code, line, detail) {
    super(code, detail);
    this.name = 'KeyFileError';
    this.line = line;
  }
}

// ---- the line reader ------------------------------------------------------

class Reader {
  constructor(data) {
    let bytes;
    if (typeof data === 'string') bytes = utf8(data, 'key file');
    else if (isBytes(data)) bytes = data;
    else throw new KeyFileError(ERR.INVAL, 0, 'key file must be a string or a Uint8Array');
    if (bytes.length === 0) throw new KeyFileError(ERR.EMPTY, 0);
    if (bytes.length > KEYFILE_MAX) throw new KeyFileError(ERR.IO, 0, 'file too large');
    // Key files are ASCII in practice; filters may hold UTF-8 (a byte that
    // is not UTF-8 becomes U+FFFD here, where the C library keeps it).
    this.text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    this.bytes = bytes;
    this.pos = 0;
    this.line = 0;
  }

  fail(code, line = this.line) {
    throw new KeyFileError(code, line);
  }

  /** The next significant line cut into at most max fields, or null. */
  next(max) {
    while (this.pos < this.text.length) {
      const nl = this.text.indexOf('\n', this.pos);
      this.line++;
      if (nl < 0) this.fail(ERR.TRUNCATED);
      let s = this.text.slice(this.pos, nl);
      this.pos = nl + 1;
      if (s.includes('\0')) this.fail(ERR.KEYFILE);
      if (s.endsWith('\r')) s = s.slice(0, -1);
      s = s.replace(/^[ \t]+/, '');
      if (s === '' || s[0] === '#') continue;
      return split(s, max);
    }
    return null;
  }

  header(magic) {
    const l = this.next(16);
    if (l === null) this.fail(ERR.TRUNCATED, 0);
    if (l[0] !== magic) this.fail(ERR.KEYFILE);
    if (l.length !== 2 || l[1] !== '1') this.fail(ERR.KEYFILE_VERSION);
  }

  named(name, max) {
    const l = this.next(max);
    if (l === null) this.fail(ERR.TRUNCATED, this.line + 1);
    if (l.length < 2 || l[0] !== name) this.fail(ERR.KEYFILE);
    return l;
  }

  end() {
    if (this.next(1) !== null) this.fail(ERR.KEYFILE);
  }
}

// Fields separated by blanks; the last of max fields is the rest of the
// line, trailing blanks removed.
function split(s, max) {
  const out = [];
  let i = 0;
  while (i < s.length && out.length < max) {
    if (out.length === max - 1) {
      out.push(s.slice(i).replace(/[ \t]+$/, ''));
      break;
    }
    let j = i;
    while (j < s.length && s[j] !== ' ' && s[j] !== '\t') j++;
    out.push(s.slice(i, j));
    while (j < s.length && (s[j] === ' ' || s[j] === '\t')) j++;
    i = j;
  }
  return out;
}

function hexField(r, s, n) {
  const b = s.length === 2 * n ? fromHexOrNull(s) : null;
  if (b === null) r.fail(ERR.KEYFILE);
  return b;
}

function b64Field(r, s, n) {
  const b = fromBase64OrNull(s);
  if (b === null || b.length !== n) r.fail(ERR.BASE64);
  return b;
}

function decimalField(r, s, max) {
  if (!/^[0-9]{1,20}$/.test(s) || BigInt(s) > BigInt(max)) r.fail(ERR.KEYFILE);
  return BigInt(s);
}

// ---- keyring ---------------------------------------------------------------

const KEYRING_OPTIONAL = ['activates=', 'disables=', 'topics='];

// The optional fields after the five of a key line (docs/KEYFILES.md
// section 2): each at most once, in any order.
function keyExtras(r, fields) {
  const x = { activates: 0n, disables: 0n, topics: null };
  const seen = new Set();
  for (const f of fields) {
    const name = KEYRING_OPTIONAL.find((n) => f.startsWith(n));
    if (name === undefined || seen.has(name)) r.fail(ERR.KEYFILE);
    seen.add(name);
    const v = f.slice(name.length);
    if (name === 'topics=') x.topics = v;
    else x[name.slice(0, -1)] = decimalField(r, v, (1n << 63n) - 1n);
  }
  return x;
}

/** Parse a keyring file (text or bytes) into a Keyring. */
export function parseKeyring(data) {
  const r = new Reader(data);
  r.header(KEYRING_MAGIC);
  const kr = new Keyring();
  let primaries = 0;
  for (let l; (l = r.next(16)) !== null;) {
    if (l.length < 5 || l.length > 5 + KEYRING_OPTIONAL.length) r.fail(ERR.KEYFILE);
    const id = load32(hexField(r, l[0], 4), 0);
    if (id === 0) r.fail(ERR.KEYFILE);
    if (l[1] !== 'aead' && l[1] !== 'mac') r.fail(ERR.KEYFILE);
    if (!['primary', 'enabled', 'disabled'].includes(l[2])) r.fail(ERR.KEYFILE);
    const created = decimalField(r, l[3], (1n << 63n) - 1n);
    const key = b64Field(r, l[4], KEYBYTES);
    const x = keyExtras(r, l.slice(5));
    if (kr._lookup(id)) r.fail(ERR.DUPLICATE_KEY);
    const filters = keyFiltersOrNull(x.topics);
    if (filters === null) r.fail(ERR.KEYFILE);
    // A second primary in a scope (the same topics=) would silently demote
    // the first: refused, the file is ambiguous.
    if (l[2] === 'primary' && kr.list().some((k) => k.state === 'primary' && k.filters === filters)) {
      r.fail(ERR.TWO_PRIMARIES);
    }
    // A usable key: a primary, or an enabled key (a receive-only member,
    // or a primary still to come); disabled keys alone are refused.
    if (l[2] !== 'disabled') primaries++;
    kr.add({
      id, suite: l[1], state: l[2], created: Number(created) <= Number.MAX_SAFE_INTEGER ? Number(created) : created,
      key, activates: x.activates, disables: x.disables, filters,
    });
    wipe(key);
  }
  if (primaries === 0) throw new KeyFileError(ERR.NO_PRIMARY, 0);
  return kr;
}

/** The text of a keyring file, as e2e_keyring_save writes it: the
 * optional fields only when set, so a keyring without schedules or
 * filters is written as before them. */
export function serializeKeyring(kr) {
  if (!kr.list().some((k) => k.state !== 'disabled')) throw new E2EError(ERR.NO_PRIMARY);
  let s = '# libe2e keyring: shared secret keys. Keep it secret (mode 0600).\n' +
    '# Rewritten by e2e-keygen, which does not keep comments.\n' +
    '# id suite state created key\n' + KEYRING_MAGIC + ' 1\n';
  for (const info of kr.list()) {
    const k = kr._lookup(info.id);
    s += `${info.id.toString(16).padStart(8, '0')} ${k.suite} ${k.state} ${k.created} ${toBase64(k.key)}`;
    if (k.activates !== 0n) s += ` activates=${k.activates}`;
    if (k.disables !== 0n) s += ` disables=${k.disables}`;
    if (k.filters !== '') s += ` topics=${k.filters}`;
    s += '\n';
  }
  return s;
}

// ---- signer files ----------------------------------------------------------

function parseIdentity(r) {
  const sl = r.named('signer', 2);
  const id = load64(hexField(r, sl[1], 8), 0);
  const idLine = r.line;
  const pl = r.named('public', 2);
  const pk = b64Field(r, pl[1], SIGN_PUBLICKEYBYTES);
  if (signerIdFromPublic(pk) !== id) r.fail(ERR.KEYFILE, idLine);
  return { id, publicKey: pk };
}

function costsValid(ops, mem) {
  return ops >= PWHASH_OPSLIMIT_MIN && ops <= SIGNER_OPSLIMIT_MAX &&
    mem >= PWHASH_MEMLIMIT_MIN && mem <= SIGNER_MEMLIMIT_MAX;
}

function parseSecretFile(data) {
  const r = new Reader(data);
  r.header(SECRET_MAGIC);
  const f = parseIdentity(r);
  const kl = r.named('kdf', 6);
  if (kl.length === 2 && kl[1] === 'none') {
    f.encrypted = false;
  } else {
    if (kl.length !== 5 || kl[1] !== 'argon2id') r.fail(ERR.KEYFILE);
    f.encrypted = true;
    const ops = decimalField(r, kl[2], SIGNER_OPSLIMIT_MAX);
    const mem = decimalField(r, kl[3], SIGNER_MEMLIMIT_MAX);
    f.opslimit = Number(ops);
    f.memlimit = Number(mem);
    if (!costsValid(f.opslimit, f.memlimit)) r.fail(ERR.KEYFILE);
    f.salt = b64Field(r, kl[4], KDF_SALT_BYTES);
  }
  const sl = r.named('secret', 2);
  f.secretLine = r.line;
  f.sealed = b64Field(r, sl[1], f.encrypted ? SEALED_BYTES : SIGN_SEEDBYTES);
  r.end();
  return f;
}

/**
 * The key Argon2id13 derives as libsodium's crypto_pwhash(...,
 * crypto_pwhash_ALG_ARGON2ID13) does: t = OPS passes, m = floor(MEM / 1024)
 * KiB, one lane, version 0x13, 32 bytes, no secret or associated data.
 */
export function deriveKey(passphrase, salt, opslimit, memlimit) {
  return argon2id(passphrase, salt, {
    t: opslimit, m: Math.floor(memlimit / 1024), p: 1, dkLen: 32, version: 0x13,
    maxmem: SIGNER_MEMLIMIT_MAX + (1 << 20),
  });
}

function secretAd(id, pk, ops, mem, salt) {
  return concat(utf8(SECRET_MAGIC + ' 1'), u64(id), pk, u64(ops), u64(mem), salt);
}

function passBytes(pass) {
  if (pass === null || pass === undefined) return null;
  if (typeof pass === 'string') return utf8(pass, 'passphrase');
  if (isBytes(pass)) return Uint8Array.from(pass);
  throw new E2EError(ERR.INVAL, 'passphrase must be a string or a Uint8Array');
}

/** {id, publicKey, encrypted, opslimit?, memlimit?} of a signer secret
 * key file, without the passphrase. */
export function inspectSigner(data) {
  const f = parseSecretFile(data);
  const out = { id: f.id, publicKey: f.publicKey, encrypted: f.encrypted };
  if (f.encrypted) Object.assign(out, { opslimit: f.opslimit, memlimit: f.memlimit });
  wipe(f.sealed);
  return out;
}

/**
 * Parse a signer secret key file into a Signer. The passphrase (string:
 * its UTF-8 bytes, or bytes) is ignored for an unencrypted file; a wrong or
 * missing one is ERR.PASSPHRASE (as is a damaged secret or kdf line).
 */
export function parseSigner(data, passphrase) {
  const f = parseSecretFile(data);
  let seed;
  if (f.encrypted) {
    const pass = passBytes(passphrase);
    if (pass === null || pass.length === 0) throw new KeyFileError(ERR.PASSPHRASE, 0);
    const key = deriveKey(pass, f.salt, f.opslimit, f.memlimit);
    wipe(pass);
    const ad = secretAd(f.id, f.publicKey, f.opslimit, f.memlimit, f.salt);
    try {
      seed = xchacha20poly1305(key, f.sealed.subarray(0, NONCE_BYTES), ad).decrypt(f.sealed.subarray(NONCE_BYTES));
    } catch {
      throw new KeyFileError(ERR.PASSPHRASE, 0);
    } finally {
      wipe(key, f.sealed);
    }
  } else {
    seed = f.sealed;
  }
  const s = new Signer(seed);
  wipe(seed);
  if (s.id !== f.id || !sameBytes(s.publicKey, f.publicKey)) {
    s.wipe();
    throw new KeyFileError(ERR.KEYFILE, f.secretLine);
  }
  return s;
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The text of a signer secret key file. passphrase null/absent: the seed
 * unencrypted (as e2e-keygen --no-passphrase); opslimit/memlimit 0 or
 * absent: the MODERATE defaults. opts.nonce / opts.salt fix the randomness
 * (tests only).
 */
export function serializeSigner(signer, passphrase, opts = {}) {
  const pass = passBytes(passphrase);
  const id = signer.id;
  const pk = signer.publicKey;
  let s;
  let tail;
  if (pass !== null) {
    if (pass.length === 0) throw new E2EError(ERR.INVAL, 'empty passphrase');
    const ops = opts.opslimit || SIGNER_OPSLIMIT;
    const mem = opts.memlimit || SIGNER_MEMLIMIT;
    if (!costsValid(ops, mem)) throw new E2EError(ERR.INVAL, 'Argon2id costs out of range');
    const salt = opts.salt || randomBytes(KDF_SALT_BYTES);
    const nonce = opts.nonce || randomBytes(NONCE_BYTES);
    const key = deriveKey(pass, salt, ops, mem);
    wipe(pass);
    const sealed = concat(nonce, xchacha20poly1305(key, nonce, secretAd(id, pk, ops, mem, salt)).encrypt(signer._seed()));
    wipe(key);
    s = '# libe2e signer secret key (Ed25519), encrypted with a passphrase.\n' +
      '# Keep it secret (mode 0600).\n';
    tail = `kdf argon2id ${ops} ${mem} ${toBase64(salt)}\nsecret ${toBase64(sealed)}\n`;
  } else {
    s = '# libe2e signer secret key (Ed25519), NOT ENCRYPTED (--no-passphrase):\n' +
      '# anyone who can read this file can sign as this signer. Keep it secret (mode 0600).\n';
    tail = `kdf none\nsecret ${toBase64(signer._seed())}\n`;
  }
  return s + `${SECRET_MAGIC} 1\nsigner ${signerIdHex(id)}\npublic ${toBase64(pk)}\n` + tail;
}

/** The public key (32 bytes) of a signer public key file. */
export function parsePublicKey(data) {
  const r = new Reader(data);
  r.header(PUBLIC_MAGIC);
  const { publicKey } = parseIdentity(r);
  r.end();
  return publicKey;
}

export function serializePublicKey(publicKey) {
  const id = signerIdHex(signerIdFromPublic(publicKey));
  return `# libe2e signer public key, signer id ${id}\n${PUBLIC_MAGIC} 1\nsigner ${id}\npublic ${toBase64(publicKey)}\n`;
}

// ---- trust files -----------------------------------------------------------

/** Parse a trust file into a Trust (no signer line: trusts nobody). */
export function parseTrust(data) {
  const r = new Reader(data);
  r.header(TRUST_MAGIC);
  const t = new Trust();
  for (let l; (l = r.next(3)) !== null;) {
    if (l.length !== 3) r.fail(ERR.KEYFILE);
    const idb = l[0].length === 16 ? fromHexOrNull(l[0]) : null;
    if (idb === null) r.fail(ERR.KEYFILE);
    const pk = b64Field(r, l[1], SIGN_PUBLICKEYBYTES);
    if (signerIdFromPublic(pk) !== load64(idb, 0)) r.fail(ERR.KEYFILE);
    if (l[2].includes('\r')) r.fail(ERR.KEYFILE);
    try {
      t.add(pk, l[2]);
    } catch (e) {
      r.fail(e.code === ERR.INVAL ? ERR.KEYFILE : e.code);
    }
  }
  return t;
}

export function serializeTrust(trust) {
  let s = '# libe2e trust file: the signers accepted and the topic filters each may\n' +
    '# publish on. Rewritten by e2e-keygen, which does not keep comments.\n' +
    '# signer-id public-key filter[,filter...]\n' + TRUST_MAGIC + ' 1\n';
  for (const e of trust.list()) {
    const filters = e.filters.join(',');
    if (/[\r\n]/.test(filters) || /^[ \t]|[ \t]$/.test(filters)) throw new E2EError(ERR.INVAL, 'filters cannot be saved');
    s += `${signerIdHex(e.id)} ${toBase64(e.publicKey)} ${filters}\n`;
  }
  return s;
}
