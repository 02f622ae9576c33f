// Shared keys (the keyring), Ed25519 signers and the trust set.
import { ed25519 } from '@noble/curves/ed25519';
import { blake2b } from '@noble/hashes/blake2b';
import { randomBytes } from '@noble/hashes/utils';
import { ERR, fail } from './errors.js';
import { isBytes, load64, toBase64, wipe } from './bytes.js';
import { parseFilterList, subscriptionMatches, topicMatches } from './topic.js';

export const KEYBYTES = 32;
export const SIGN_PUBLICKEYBYTES = 32;
export const SIGN_SEEDBYTES = 32;
export const SUITES = Object.freeze(['aead', 'mac', 'none']);
export const SUITE = Object.freeze({ aead: 0, mac: 1, none: 2 });
export const KEY_STATES = Object.freeze(['disabled', 'enabled', 'primary']);

export function fixedBytes(b, n, what) {
  if (!isBytes(b) || b.length !== n) fail(ERR.INVAL, `${what} must be ${n} bytes`);
  return Uint8Array.from(b);
}

export function u32Value(x, what) {
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) fail(ERR.INVAL, `${what} must be a 32-bit unsigned integer`);
  return x;
}

export function u64Value(x, what) {
  let v;
  if (typeof x === 'bigint') v = x;
  else if (Number.isSafeInteger(x)) v = BigInt(x);
  else return fail(ERR.INVAL, `${what} must be a BigInt (or a safe integer)`);
  if (v < 0n || v > 0xffffffffffffffffn) fail(ERR.INVAL, `${what} must be a 64-bit unsigned integer`);
  return v;
}

// ---- keyring ---------------------------------------------------------------

/**
 * Shared keys by 32-bit id: {id, suite 'aead'|'mac', state
 * 'primary'|'enabled'|'disabled', created (Unix seconds)}; at most one
 * primary, which seals. Kept sorted by id.
 */
export class Keyring {
  #keys = new Map(); // id -> {id, suite, state, created, key}

  /** Add a key; adding a primary demotes the previous one to enabled. */
  add({ id, suite = 'aead', state = 'enabled', created = 0, key }) {
    u32Value(id, 'key id');
    if (id === 0) fail(ERR.INVAL, 'key id 0');
    if (suite !== 'aead' && suite !== 'mac') fail(ERR.INVAL, `suite ${suite}`);
    if (!KEY_STATES.includes(state)) fail(ERR.INVAL, `state ${state}`);
    if (!Number.isSafeInteger(created) && typeof created !== 'bigint') fail(ERR.INVAL, 'created');
    const k = fixedBytes(key, KEYBYTES, 'key');
    if (this.#keys.has(id)) fail(ERR.DUPLICATE_KEY, id.toString(16).padStart(8, '0'));
    if (state === 'primary') this.#demotePrimary();
    this.#keys.set(id, { id, suite, state, created, key: k });
  }

  /** A fresh random key under a fresh random id; returns the id. */
  generate({ suite = 'aead', state = 'primary', created = Math.floor(Date.now() / 1000) } = {}) {
    let id = 0;
    while (id === 0 || this.#keys.has(id)) {
      const b = randomBytes(4);
      id = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
    }
    this.add({ id, suite, state, created, key: randomBytes(KEYBYTES) });
    return id;
  }

  #demotePrimary() {
    for (const k of this.#keys.values()) if (k.state === 'primary') k.state = 'enabled';
  }

  /** Promoting demotes the old primary; the primary cannot be disabled. */
  setState(id, state) {
    const k = this.#keys.get(id);
    if (!k) fail(ERR.NOT_FOUND);
    if (!KEY_STATES.includes(state)) fail(ERR.INVAL, `state ${state}`);
    if (k.state === 'primary' && state !== 'primary') fail(ERR.IS_PRIMARY);
    if (state === 'primary') this.#demotePrimary();
    k.state = state;
  }

  remove(id) {
    const k = this.#keys.get(id);
    if (!k) fail(ERR.NOT_FOUND);
    if (k.state === 'primary') fail(ERR.IS_PRIMARY);
    wipe(k.key);
    this.#keys.delete(id);
  }

  get size() { return this.#keys.size; }

  /** Key descriptions (no key material), in increasing id order. */
  list() {
    return [...this.#keys.values()].sort((a, b) => a.id - b.id)
      .map(({ id, suite, state, created }) => ({ id, suite, state, created }));
  }

  /** The description of a key, or null. */
  find(id) {
    const k = this.#keys.get(id);
    return k ? { id: k.id, suite: k.suite, state: k.state, created: k.created } : null;
  }

  /** The primary's description, or null. */
  primary() {
    for (const k of this.#keys.values()) if (k.state === 'primary') return this.find(k.id);
    return null;
  }

  // Internal: the entry with its key (for sealing, opening, saving).
  _lookup(id) { return this.#keys.get(id) || null; }

  _primary() {
    for (const k of this.#keys.values()) if (k.state === 'primary') return k;
    return null;
  }

  /** Overwrite every key with zeros and forget them. */
  wipe() {
    for (const k of this.#keys.values()) wipe(k.key);
    this.#keys.clear();
  }
}

// ---- signers -------------------------------------------------------------

/** The first 8 bytes, big-endian, of BLAKE2b-256(public key), as a BigInt. */
export function signerIdFromPublic(pk) {
  fixedBytes(pk, SIGN_PUBLICKEYBYTES, 'public key');
  return load64(blake2b(pk, { dkLen: 32 }), 0);
}

export function signerIdHex(id) {
  return id.toString(16).padStart(16, '0');
}

/** An Ed25519 signer (RFC 8032 pure Ed25519, as libsodium's crypto_sign). */
export class Signer {
  #seed;
  #pk;
  #id;

  constructor(seed) {
    this.#seed = fixedBytes(seed, SIGN_SEEDBYTES, 'seed');
    this.#pk = ed25519.getPublicKey(this.#seed);
    this.#id = signerIdFromPublic(this.#pk);
  }

  static fromSeed(seed) { return new Signer(seed); }

  static generate() {
    const seed = randomBytes(SIGN_SEEDBYTES);
    const s = new Signer(seed);
    wipe(seed);
    return s;
  }

  /** The 32-byte public key (a copy). */
  get publicKey() { return Uint8Array.from(this.#pk); }

  /** The signer id (BigInt). */
  get id() { return this.#id; }

  sign(message) { return ed25519.sign(message, this.#seed); }

  // Internal: for the key file writer.
  _seed() { return this.#seed; }

  wipe() { wipe(this.#seed); }
}

export function verifySignature(pk, message, sig) {
  try {
    // zip215: false gives RFC 8032 / libsodium's strict checks.
    return ed25519.verify(sig, message, pk, { zip215: false });
  } catch {
    return false;
  }
}

// ---- trust set -------------------------------------------------------------

/** The signers a receiver accepts, each with the topic filters it may use. */
export class Trust {
  #byId = new Map(); // id -> {publicKey, filters[]}, insertion order

  /**
   * filters: an array of filters, or a comma-separated list (blanks around
   * commas dropped). ERR.INVAL for an invalid filter, ERR.DUPLICATE_KEY for
   * a signer (or a signer id) already present.
   */
  add(publicKey, filters) {
    const pk = fixedBytes(publicKey, SIGN_PUBLICKEYBYTES, 'public key');
    const id = signerIdFromPublic(pk);
    if (this.#byId.has(id)) fail(ERR.DUPLICATE_KEY, signerIdHex(id));
    const list = parseFilterList(Array.isArray(filters) ? filters.join(',') : filters);
    if (list === null) fail(ERR.INVAL, `invalid topic filters: ${JSON.stringify(filters)}`);
    this.#byId.set(id, { id, publicKey: pk, filters: list });
  }

  get size() { return this.#byId.size; }

  /** [{id, publicKey, filters}] in insertion order (copies). */
  list() {
    return [...this.#byId.values()].map((e) => ({
      id: e.id, publicKey: Uint8Array.from(e.publicKey), filters: e.filters.slice(),
    }));
  }

  has(id) { return this.#byId.has(id); }

  /** {publicKey, allowed} for a signer id on a topic, or null. */
  _lookup(id, topic) {
    const e = this.#byId.get(id);
    if (!e) return null;
    return { publicKey: e.publicKey, allowed: e.filters.some((f) => topicMatches(f, topic)) };
  }
}

export { subscriptionMatches, toBase64 };
