// Shared keys (the keyring), Ed25519 signers and the trust set.
import { ed25519 } from '@noble/curves/ed25519';
import { blake2b } from '@noble/hashes/blake2b';
import { randomBytes } from '@noble/hashes/utils';
import { ERR, fail } from './errors.js';
import { isBytes, isWellFormed, load64, toBase64, wipe } from './bytes.js';
import { filterValid, parseFilterList, subscriptionMatches, topicMatches } from './topic.js';

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

/** The largest time a schedule, a creation time or a key update holds. */
export const TIME_MAX = (1n << 63n) - 1n;

/** A time (Unix seconds, 0..2^63-1) as a BigInt; ERR.INVAL otherwise. */
export function timeValue(x, what) {
  const v = u64Value(x, what);
  if (v > TIME_MAX) fail(ERR.INVAL, `${what} must be below 2^63`);
  return v;
}

/** A BigInt time as a number when it is exact, else the BigInt. */
function timeOut(v) {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** The time to judge a keyring at: now (0/absent: the clock) as a BigInt. */
export function clockOr(now) {
  const v = now ? timeValue(now, 'now') : 0n;
  return v !== 0n ? v : BigInt(Math.floor(Date.now() / 1000));
}

/**
 * Per-topic key filters as a keyring holds them: '' (none) or MQTT filters
 * separated by commas, at most 4096 bytes, without blanks (keyring files
 * separate fields with blanks). An array is joined with commas. Returns
 * the string, or null when invalid.
 */
export function keyFiltersOrNull(filters) {
  if (filters === undefined || filters === null) return '';
  const s = Array.isArray(filters) ? filters.join(',') : filters;
  if (typeof s !== 'string') return null;
  if (s === '') return '';
  if (/[ \t\r\n]/.test(s) || !updateFiltersValid(s)) return null;
  return s;
}

/** Filters as a key update carries them (blanks allowed, '' for none). */
export function updateFiltersValid(s) {
  if (s === '') return true;
  if (!isWellFormed(s) || new TextEncoder().encode(s).length > FILTERS_MAX) return false;
  return s.split(',').every((f) => filterValid(f));
}

/** Bytes of one key's filters, at most (docs/KEYDIST.md section 4). */
export const FILTERS_MAX = 4096;

/** true when a key with these filters may be used on topic. */
export function filtersAllow(filters, topic) {
  return filters === '' || filters.split(',').some((f) => topicMatches(f, topic));
}

/**
 * Shared keys by 32-bit id: {id, suite 'aead'|'mac', state
 * 'primary'|'enabled'|'disabled', created (Unix seconds), activates (when
 * it becomes primary, 0: none), disables (0: never), filters (per-topic
 * keys: '' for none)}, kept sorted by id. Keys with the same filters form
 * a scope with at most one stored primary; the states at a time follow the
 * schedule (docs/KEYDIST.md section 8): stateAt, primaryAt, primaryFor.
 */
export class Keyring {
  #keys = new Map(); // id -> {id, suite, state, created, key, activates, disables, filters}
  #maxId = 0; // at least the largest id held

  /**
   * Add a key; adding a primary demotes the previous primary of its scope
   * (the keys with the same filters) to enabled.
   */
  add({ id, suite = 'aead', state = 'enabled', created = 0, key, activates = 0, disables = 0, filters = '' }) {
    u32Value(id, 'key id');
    if (id === 0) fail(ERR.INVAL, 'key id 0');
    if (suite !== 'aead' && suite !== 'mac') fail(ERR.INVAL, `suite ${suite}`);
    if (!KEY_STATES.includes(state)) fail(ERR.INVAL, `state ${state}`);
    if (!Number.isSafeInteger(created) && typeof created !== 'bigint') fail(ERR.INVAL, 'created');
    const act = timeValue(activates, 'activates');
    const dis = timeValue(disables, 'disables');
    const f = keyFiltersOrNull(filters);
    if (f === null) fail(ERR.INVAL, `invalid key filters: ${JSON.stringify(filters)}`);
    const k = fixedBytes(key, KEYBYTES, 'key');
    if (this.#keys.has(id)) fail(ERR.DUPLICATE_KEY, id.toString(16).padStart(8, '0'));
    if (state === 'primary') this.#demotePrimary(f);
    this.#keys.set(id, { id, suite, state, created, key: k, activates: act, disables: dis, filters: f });
    // Files list keys in increasing id order: sort only when one is not.
    if (id < this.#maxId) this.#sort();
    else this.#maxId = id;
  }

  // Keys in increasing id order: sealing walks scopes in that order.
  #sort() {
    this.#keys = new Map([...this.#keys.entries()].sort((a, b) => a[0] - b[0]));
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

  #scopePrimary(filters) {
    for (const k of this.#keys.values()) if (k.state === 'primary' && k.filters === filters) return k;
    return null;
  }

  #demotePrimary(filters) {
    const p = this.#scopePrimary(filters);
    if (p) p.state = 'enabled';
  }

  #get(id) {
    const k = this.#keys.get(id);
    if (!k) fail(ERR.NOT_FOUND);
    return k;
  }

  /** Promoting demotes the old primary of the key's scope; the primary
   * cannot be disabled. */
  setState(id, state) {
    const k = this.#get(id);
    if (!KEY_STATES.includes(state)) fail(ERR.INVAL, `state ${state}`);
    if (k.state === 'primary' && state !== 'primary') fail(ERR.IS_PRIMARY);
    if (state === 'primary' && k.state !== 'primary') this.#demotePrimary(k.filters);
    k.state = state;
  }

  remove(id) {
    const k = this.#get(id);
    if (k.state === 'primary') fail(ERR.IS_PRIMARY);
    wipe(k.key);
    this.#keys.delete(id);
  }

  /** Set a key's schedule: activates (when it becomes primary; 0: none)
   * and disables (0: never), Unix seconds below 2^63. */
  schedule(id, { activates = 0, disables = 0 } = {}) {
    const act = timeValue(activates, 'activates');
    const dis = timeValue(disables, 'disables');
    const k = this.#get(id);
    k.activates = act;
    k.disables = dis;
  }

  /**
   * Set a key's topic filters ('' or null: none). ERR.INVAL for invalid
   * filters or filters with blanks, ERR.TWO_PRIMARIES when a primary
   * would join a scope that has one.
   */
  setFilters(id, filters) {
    const k = this.#get(id);
    const f = keyFiltersOrNull(filters);
    if (f === null) fail(ERR.INVAL, `invalid key filters: ${JSON.stringify(filters)}`);
    const p = this.#scopePrimary(f);
    if (k.state === 'primary' && p !== null && p !== k) fail(ERR.TWO_PRIMARIES);
    k.filters = f;
  }

  get size() { return this.#keys.size; }

  /** Key descriptions (no key material, stored states), in increasing id order. */
  list() {
    return [...this.#keys.values()].map(describe);
  }

  /** The description of a key, or null. */
  find(id) {
    const k = this.#keys.get(id);
    return k ? describe(k) : null;
  }

  /** The stored primary of the keys without filters, or null. */
  primary() {
    const k = this.#scopePrimary('');
    return k ? describe(k) : null;
  }

  /** The state of key id at time now (0/absent: the clock). */
  stateAt(id, now) {
    const k = this.#get(id);
    const t = clockOr(now);
    if (disabledAt(k, t)) return 'disabled';
    return this.#primaryOf(k.filters, t) === k ? 'primary' : 'enabled';
  }

  /** The primary of the keys without filters at now (0: the clock), or null. */
  primaryAt(now) {
    const k = this.#primaryOf('', clockOr(now));
    return k ? describe(k) : null;
  }

  /** The key a message on topic is sealed with at now, or null (no-key). */
  primaryFor(topic, now) {
    const k = this._sealKey(clockOr(now), topic);
    return k ? describe(k) : null;
  }

  /**
   * Store the states at now (0: the clock) and forget the schedule times
   * that have passed; the state at now and later does not change.
   */
  advance(now) {
    const t = clockOr(now);
    const keys = [...this.#keys.values()];
    // Every scope's latest primary first: storing states as we go would
    // change what the scope's later keys see.
    const latest = keys.map((k) => this.#latestAt(k.filters, t));
    keys.forEach((k, i) => {
      if (disabledAt(k, t)) k.state = 'disabled';
      else if (k === latest[i]) k.state = 'primary';
      else if (k.state === 'primary') k.state = 'enabled';
      if (k.activates !== 0n && k.activates <= t) k.activates = 0n;
      if (k.disables !== 0n && k.disables <= t) k.disables = 0n;
    });
  }

  // The key of a scope that became primary last by t: the latest
  // activation time that has come (the larger id on a tie), else the
  // scope's stored primary.
  #latestAt(filters, t) {
    let best = null;
    for (const k of this.#keys.values()) {
      if (k.activates !== 0n && k.activates <= t && k.filters === filters &&
        (best === null || k.activates >= best.activates)) best = k;
    }
    return best || this.#scopePrimary(filters);
  }

  // A disabled latest primary leaves its scope without one: falling back
  // to the key it replaced would revive a key the admin retired.
  #primaryOf(filters, t) {
    const k = this.#latestAt(filters, t);
    return k !== null && !disabledAt(k, t) ? k : null;
  }

  // Internal: the entry with its key (for sealing, opening, saving).
  _lookup(id) { return this.#keys.get(id) || null; }

  /** Internal: the stored primary entry of the keys without filters. */
  _primary() { return this.#scopePrimary(''); }

  /** Internal: whether an entry is disabled at t (BigInt). */
  _disabledAt(k, t) { return disabledAt(k, t); }

  /**
   * Internal: the entry a message on topic is sealed with at t (BigInt):
   * the primary of the first scope (in increasing key id order) whose
   * filters match topic, else the primary of the keys without filters.
   */
  _sealKey(t, topic) {
    for (const k of this.#keys.values()) {
      if (k.filters !== '' && filtersAllow(k.filters, topic)) {
        const p = this.#primaryOf(k.filters, t);
        if (p) return p;
      }
    }
    return this.#primaryOf('', t);
  }

  /** Internal: replace every key at once (a key update's result). */
  _replace(entries) {
    for (const k of this.#keys.values()) wipe(k.key);
    this.#keys = new Map(entries.map((e) => [e.id, e]));
    this.#sort();
    this.#maxId = Math.max(0, ...this.#keys.keys());
  }

  /** Overwrite every key with zeros and forget them. */
  wipe() {
    for (const k of this.#keys.values()) wipe(k.key);
    this.#keys.clear();
  }
}

function disabledAt(k, t) {
  return k.state === 'disabled' || (k.disables !== 0n && t >= k.disables);
}

function describe(k) {
  return {
    id: k.id, suite: k.suite, state: k.state, created: k.created,
    activates: timeOut(k.activates), disables: timeOut(k.disables), filters: k.filters,
  };
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
