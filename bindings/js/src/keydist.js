// Key updates, version 1 (docs/KEYDIST.md): member key pairs, the update
// body, sealed boxes, the member's processing order and applying an update
// to a keyring; and the admin's side, building a body.
import { x25519 } from '@noble/curves/ed25519';
import { hsalsa, xsalsa20poly1305 } from '@noble/ciphers/salsa';
import { u32 as u32View } from '@noble/ciphers/utils';
import { blake2b } from '@noble/hashes/blake2b';
import { randomBytes } from '@noble/hashes/utils';
import { ERR, E2EError, Rejected, fail } from './errors.js';
import { concat, isBytes, load32, load64, u16, u32, u64, wipe } from './bytes.js';
import { filterValid } from './topic.js';
import { KEYBYTES, Trust, fixedBytes, keyFiltersOrNull, signerIdFromPublic, timeValue, clockOr, u32Value, u64Value } from './keys.js';
import { Receiver, parse } from './envelope.js';

export const MEMBER_PUBLICKEYBYTES = 32;
export const MEMBER_SECRETKEYBYTES = 32;
/** Limits of a key update (docs/KEYDIST.md section 4). */
export const UPDATE_GROUP_MAX = 64;
export const UPDATE_KEYS_MAX = 64;
export const UPDATE_FILTERS_MAX = 4096;
export const UPDATE_RECIPIENTS_MAX = 65535;
/** Bytes a sealed box adds: the ephemeral public key and the tag. */
export const SEALBYTES = 48;
/** Bytes of one recipient's slot holding n keys. */
export function updateSlotBytes(n) { return 9 + SEALBYTES + 36 * n; }

const MAGIC = Uint8Array.of(0x65, 0x32, 0x6b, 0x75); // "e2ku"
const VERSION = 1;
const KEY_FIXED = 24;
const SLOT_KEY = 36;
const SUITE_CODES = ['aead', 'mac'];
const STATE_CODES = ['disabled', 'enabled', 'primary'];
const GROUP_RE = /^[A-Za-z0-9._-]{1,64}$/;
const latin1 = new TextDecoder('latin1');
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

// ---- member key pairs ------------------------------------------------------

/** A member id: the first 8 bytes, big-endian, of BLAKE2b-256(public key). */
export function memberIdFromPublic(pk) {
  return signerIdFromPublic(fixedBytes(pk, MEMBER_PUBLICKEYBYTES, 'member public key'));
}

/** 16 lowercase hex digits, as a member id is written in topics. */
export function memberIdHex(id) {
  return id.toString(16).padStart(16, '0');
}

/** A member's X25519 key pair (as libsodium's crypto_box key pairs). */
export class Member {
  #sk;
  #pk;
  #id;

  constructor(secretKey) {
    this.#sk = fixedBytes(secretKey, MEMBER_SECRETKEYBYTES, 'member secret key');
    this.#pk = x25519.getPublicKey(this.#sk);
    this.#id = memberIdFromPublic(this.#pk);
  }

  static fromSecret(secretKey) { return new Member(secretKey); }

  static generate() {
    const sk = randomBytes(MEMBER_SECRETKEYBYTES);
    const m = new Member(sk);
    wipe(sk);
    return m;
  }

  /** The 32-byte public key (a copy): what enrolment gives the admin. */
  get publicKey() { return Uint8Array.from(this.#pk); }

  /** The member id (BigInt). */
  get id() { return this.#id; }

  /** A copy of the secret key, for saving it; wipe the copy after use. */
  secretKey() { return Uint8Array.from(this.#sk); }

  // Internal: the secret itself (sealed-box opening).
  _secret() { return this.#sk; }

  wipe() { wipe(this.#sk); }
}

// ---- sealed boxes (libsodium's crypto_box_seal) ----------------------------

const SIGMA = u32View(encoder.encode('expand 32-byte k'));

// crypto_box_beforenm: HSalsa20 of the X25519 shared secret with a zero
// input; null when the shared secret is zero (a public key of low order,
// which libsodium refuses).
function boxKey(sk, pk) {
  let shared;
  try {
    shared = x25519.getSharedSecret(sk, pk);
  } catch {
    return null;
  }
  if (shared.every((b) => b === 0)) return null;
  const k = new Uint32Array(8);
  const out = new Uint32Array(8);
  new Uint8Array(k.buffer).set(shared);
  hsalsa(SIGMA, k, new Uint32Array(4), out);
  wipe(shared, new Uint8Array(k.buffer));
  return new Uint8Array(out.buffer);
}

function boxNonce(epk, pk) {
  return blake2b(concat(epk, pk), { dkLen: 24 });
}

/**
 * crypto_box_seal(message, publicKey): epk || crypto_box(message,
 * BLAKE2b-192(epk || pk), pk, esk), with a fresh ephemeral key pair, or
 * the given ephemeralSecret (tests: reproducing the vectors). ERR.INVAL
 * for a public key of low order.
 */
export function sealedBoxSeal(message, publicKey, { ephemeralSecret } = {}) {
  const pk = fixedBytes(publicKey, MEMBER_PUBLICKEYBYTES, 'public key');
  const esk = ephemeralSecret ? fixedBytes(ephemeralSecret, 32, 'ephemeral secret') : randomBytes(32);
  try {
    const epk = x25519.getPublicKey(esk);
    const key = boxKey(esk, pk);
    if (key === null) fail(ERR.INVAL, 'public key of low order');
    const box = xsalsa20poly1305(key, boxNonce(epk, pk)).encrypt(message); // tag || ciphertext
    wipe(key);
    return concat(epk, box);
  } finally {
    wipe(esk);
  }
}

/** crypto_box_seal_open: the plaintext, or null when the box does not open. */
export function sealedBoxOpen(box, publicKey, secretKey) {
  if (!isBytes(box) || box.length < SEALBYTES) return null;
  const epk = box.subarray(0, 32);
  const key = boxKey(secretKey, epk);
  if (key === null) return null;
  try {
    return xsalsa20poly1305(key, boxNonce(epk, publicKey)).decrypt(box.subarray(32));
  } catch {
    return null;
  } finally {
    wipe(key);
  }
}

// ---- the body ----------------------------------------------------------------

// Filters as bytes (latin1 text, one character a byte): '' or filters
// separated by commas, each a valid MQTT filter, no NUL, at most 4096
// bytes. Wildcards, '/', ',' and NUL are ASCII and never part of a UTF-8
// sequence, so checking the bytes this way is checking them as C does.
function filterBytesValid(s) {
  if (s === '') return true;
  if (s.length > UPDATE_FILTERS_MAX) return false;
  return s.split(',').every((f) => filterValid(f));
}

function timeOut(v) {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Parse an update body strictly (docs/KEYDIST.md section 4). Returns
 * {group, counter (BigInt), issued (BigInt), keys: [{id, suite, state,
 * activates, disables, filters (bytes as latin1 text)}], slots: [{memberId
 * (BigInt), count, box}]}; throws E2EError(ERR.BAD_UPDATE).
 */
export function parseUpdateBody(body) {
  if (!isBytes(body)) fail(ERR.INVAL, 'body must be a Uint8Array');
  let pos = 0;
  const take = (n) => {
    if (n > body.length - pos) fail(ERR.BAD_UPDATE, 'cut short');
    const at = body.subarray(pos, pos + n);
    pos += n;
    return at;
  };
  const bad = (what) => fail(ERR.BAD_UPDATE, what);
  const head = take(6);
  if (!MAGIC.every((b, i) => head[i] === b) || head[4] !== VERSION) bad('magic or version');
  const group = latin1.decode(take(head[5]));
  if (!GROUP_RE.test(group)) bad('group');
  const fixed = take(17);
  const counter = load64(fixed, 0);
  const issued = load64(fixed, 8);
  const nkeys = fixed[16];
  if (counter === 0n) bad('counter 0');
  if (issued > (1n << 63n) - 1n) bad('issue time');
  if (nkeys === 0 || nkeys > UPDATE_KEYS_MAX) bad('key count');
  const keys = [];
  let last = 0;
  for (let i = 0; i < nkeys; i++) {
    const f = take(KEY_FIXED);
    const id = load32(f, 0);
    const activates = load64(f, 6);
    const disables = load64(f, 14);
    const flen = (f[22] << 8) | f[23];
    if (id <= last || f[4] > 1 || f[5] > 2 || activates > (1n << 63n) - 1n ||
      disables > (1n << 63n) - 1n || flen > UPDATE_FILTERS_MAX) bad('key entry');
    const filters = latin1.decode(take(flen));
    if (!filterBytesValid(filters)) bad('filters');
    keys.push({ id, suite: SUITE_CODES[f[4]], state: STATE_CODES[f[5]], activates, disables, filters });
    last = id;
  }
  // Primary keys of a scope take over in activation order: two at the
  // same time would leave the order to the id, which nobody chose.
  for (let i = 0; i < keys.length; i++) {
    for (let j = i + 1; j < keys.length; j++) {
      const a = keys[i];
      const b = keys[j];
      if (a.state === 'primary' && b.state === 'primary' && a.activates === b.activates &&
        a.filters === b.filters) bad('two primaries at the same time');
    }
  }
  const c = take(2);
  const nslots = (c[0] << 8) | c[1];
  const slots = [];
  let lastMid = 0n;
  for (let i = 0; i < nslots; i++) {
    const s = take(9);
    const memberId = load64(s, 0);
    const n = s[8];
    if ((i > 0 && memberId <= lastMid) || n > nkeys) bad('slot');
    slots.push({ memberId, count: n, box: take(SEALBYTES + SLOT_KEY * n) });
    lastMid = memberId;
  }
  if (pos !== body.length) bad('trailing bytes');
  return { group, counter, issued, keys, slots };
}

/**
 * The body of an update (docs/KEYDIST.md section 4), for the admin. p:
 * {group, counter, issued, keys: [{id, suite, state, activates, disables,
 * filters, key (32 bytes; absent for a disabled key)}] (any order),
 * recipients: [{publicKey, keyIds, ephemeralSecret?}] (any order)}. Each
 * slot is a sealed box with a fresh ephemeral key; ephemeralSecret fixes it
 * (tests only: reproducing the vectors). The admin then seals the body as
 * a retained suite-none envelope signed with its signer on the update
 * topic: new Sender({signer}).seal(null, topic, body, {retained: true}).
 * ERR.INVAL for invalid parameters.
 */
export function buildUpdate(p) {
  if (p === null || typeof p !== 'object') fail(ERR.INVAL, 'parameters');
  const inval = (what) => fail(ERR.INVAL, what);
  if (typeof p.group !== 'string' || !GROUP_RE.test(p.group)) inval('group: 1..64 bytes of [A-Za-z0-9._-]');
  const counter = u64Value(p.counter, 'counter');
  if (counter === 0n) inval('counter 0');
  const issued = timeValue(p.issued, 'issued');
  const list = Array.from(p.keys || []);
  if (list.length === 0 || list.length > UPDATE_KEYS_MAX) inval('1..64 keys');
  const keys = list.map((k) => {
    const id = u32Value(k.id, 'key id');
    const suite = SUITE_CODES.indexOf(k.suite ?? 'aead');
    const state = STATE_CODES.indexOf(k.state ?? 'enabled');
    if (id === 0 || suite < 0 || state < 0) inval('key id, suite or state');
    const filters = Array.isArray(k.filters) ? k.filters.join(',') : (k.filters ?? '');
    if (typeof filters !== 'string' || !filterBytesValid(latin1.decode(encoder.encode(filters)))) {
      inval(`invalid filters: ${JSON.stringify(k.filters)}`);
    }
    let key = null;
    if (k.key != null) key = fixedBytes(k.key, KEYBYTES, 'key');
    else if (state !== 0) inval('a key that is not disabled needs its material');
    return {
      id, suite, state, filters: encoder.encode(filters), key,
      activates: timeValue(k.activates ?? 0, 'activates'), disables: timeValue(k.disables ?? 0, 'disables'),
    };
  }).sort((a, b) => a.id - b.id);
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && keys[i].id === keys[i - 1].id) inval('duplicate key id');
    for (let j = i + 1; j < keys.length; j++) {
      const a = keys[i];
      const b = keys[j];
      if (a.state === 2 && b.state === 2 && a.activates === b.activates &&
        latin1.decode(a.filters) === latin1.decode(b.filters)) inval('two primaries of a scope at the same time');
    }
  }
  const recipients = Array.from(p.recipients || []);
  if (recipients.length > UPDATE_RECIPIENTS_MAX) inval('too many recipients');
  const byId = new Map(keys.map((k) => [k.id, k]));
  const slots = recipients.map((r) => {
    const pk = fixedBytes(r.publicKey, MEMBER_PUBLICKEYBYTES, 'recipient public key');
    const ids = Array.from(r.keyIds || []).map((x) => u32Value(x, 'key id')).sort((a, b) => a - b);
    ids.forEach((id, i) => {
      const k = byId.get(id);
      if (!k || k.state === 0 || (i > 0 && ids[i - 1] === id)) inval(`recipient key ${id.toString(16)}`);
    });
    return { pk, ids, memberId: memberIdFromPublic(pk), ephemeralSecret: r.ephemeralSecret };
  }).sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  slots.forEach((s, i) => { if (i > 0 && slots[i - 1].memberId === s.memberId) inval('one slot per member id'); });

  const parts = [MAGIC, Uint8Array.of(VERSION, p.group.length), encoder.encode(p.group),
    u64(counter), u64(issued), Uint8Array.of(keys.length)];
  for (const k of keys) {
    parts.push(u32(k.id), Uint8Array.of(k.suite, k.state), u64(k.activates), u64(k.disables),
      u16(k.filters.length), k.filters);
  }
  parts.push(u16(slots.length));
  for (const s of slots) {
    const plain = concat(...s.ids.map((id) => concat(u32(id), byId.get(id).key)));
    const box = sealedBoxSeal(plain, s.pk, { ephemeralSecret: s.ephemeralSecret });
    wipe(plain);
    parts.push(u64(s.memberId), Uint8Array.of(s.ids.length), box);
  }
  for (const k of keys) wipe(k.key);
  return concat(...parts);
}

// ---- the member ----------------------------------------------------------

/**
 * An opened update: group, counter and issued (BigInt), keys (the table:
 * {id, suite, state, activates, disables, filters, inSlot}) and, held
 * privately, the keys of this member's slot.
 */
export class Update {
  #table;
  #material; // id -> key bytes from the member's slot

  constructor(body, material) {
    this.group = body.group;
    this.counter = body.counter;
    this.issued = body.issued;
    this.#table = body.keys;
    this.#material = material;
    this.keys = body.keys.map((k) => ({
      id: k.id, suite: k.suite, state: k.state, activates: timeOut(k.activates),
      disables: timeOut(k.disables), filters: filtersText(k.filters), inSlot: material.has(k.id),
    }));
  }

  /**
   * Make keyring hold what this update gives the member (docs/KEYDIST.md
   * section 8), stored as of now (0/absent: the clock): every key of its
   * slot, and every key the keyring holds already that the table lists
   * (same id and suite), with the table's state, schedule and filters;
   * every other key is removed. ERR.INVAL, the keyring unchanged, when a
   * key's filters cannot be kept in a keyring (a blank, or bytes that are
   * not UTF-8).
   */
  apply(keyring, now) {
    const t = clockOr(now);
    const material = (k) => {
      const m = this.#material.get(k.id);
      if (m) return { key: m, created: timeOut(this.issued) };
      const held = keyring._lookup(k.id);
      if (!held || held.suite !== k.suite) return null;
      return { key: held.key, created: held.created };
    };
    // The primary of k's scope in the new set that took over last by t.
    const latest = (of) => {
      let best = null;
      for (const k of this.#table) {
        if (k.state === 'primary' && k.activates <= t && k.filters === of.filters && material(k) !== null &&
          (best === null || k.activates > best.activates)) best = k;
      }
      return best;
    };
    const entries = [];
    for (const k of this.#table) {
      const m = material(k);
      if (m === null) continue;
      const text = filtersText(k.filters);
      const filters = text === null ? null : keyFiltersOrNull(text);
      if (filters === null) {
        for (const e of entries) wipe(e.key);
        fail(ERR.INVAL, `filters a keyring cannot hold: ${JSON.stringify(k.filters)}`);
      }
      const e = {
        id: k.id, suite: k.suite, created: m.created, key: Uint8Array.from(m.key),
        state: 'enabled', activates: 0n, disables: 0n, filters,
      };
      if (k.state === 'disabled' || (k.disables !== 0n && k.disables <= t)) {
        e.state = 'disabled';
      } else {
        e.disables = k.disables;
        if (k === latest(k)) e.state = 'primary';
        else if (k.state === 'primary' && k.activates > t) e.activates = k.activates;
      }
      entries.push(e);
    }
    keyring._replace(entries);
  }

  /** Overwrite the slot's keys with zeros. */
  wipe() {
    for (const k of this.#material.values()) wipe(k);
    this.#material.clear();
  }
}

// The table's filters (bytes as latin1 text) as UTF-8 text, or null.
function filtersText(f) {
  try {
    return utf8Strict.decode(Uint8Array.from(f, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

/**
 * Verify and open an update received on topic, in the member's processing
 * order (docs/KEYDIST.md section 7). o: {adminPublicKey, group, member (a
 * Member), lastCounter (the last update applied; 0/absent: none),
 * retained (the broker delivered it retained)}. Returns an Update; throws
 * Rejected with the reason (bad-topic, bad-update, the envelope's
 * not-e2e, malformed, untrusted-signer, not-retained, bad-signature, then
 * wrong-group, rollback, replay, not-recipient, bad-slot).
 */
export function openUpdate(topic, envelope, o = {}) {
  if (!isBytes(envelope)) fail(ERR.INVAL, 'envelope must be a Uint8Array');
  if (!(o.member instanceof Member)) fail(ERR.INVAL, 'member must be a Member');
  if (typeof o.group !== 'string') fail(ERR.INVAL, 'group');
  const adminPk = fixedBytes(o.adminPublicKey, 32, 'admin public key');
  const last = u64Value(o.lastCounter ?? 0, 'last counter');
  const topicText = typeof topic === 'string' ? topic : isBytes(topic) ? new TextDecoder().decode(topic) : null;
  if (topicText === null) fail(ERR.INVAL, 'topic must be a string or a Uint8Array');
  let info = null;
  try { info = parse(envelope); } catch { /* the receiver gives the reason */ }
  const reject = (code) => { throw new Rejected(code, topicText, info); };
  // 0. The admin is trusted on every topic as the filter '#' would be,
  // which matches no '$' topic.
  if (topicText[0] === '$') reject(ERR.TOPIC);
  // 1. An admin-signed aead or mac envelope is not an update.
  if (info !== null && info.suite !== 'none') reject(ERR.BAD_UPDATE);
  // 2. The envelope: signed by the admin, for this topic; no replay guard
  // (the counter does that job).
  const trust = new Trust();
  trust.add(adminPk, '#');
  const { payload } = new Receiver({ trust, requireSignature: true }).open(topic, envelope, { retained: Boolean(o.retained) });
  // 3. The body.
  let body;
  try {
    body = parseUpdateBody(payload);
  } catch (e) {
    if (e instanceof E2EError) reject(e.code);
    throw e;
  }
  // 4-5. Group and counter.
  if (body.group !== o.group) reject(ERR.WRONG_GROUP);
  if (body.counter < last) reject(ERR.ROLLBACK);
  if (body.counter === last) reject(ERR.REPLAY);
  // 6. The member's slot.
  const slot = body.slots.find((s) => s.memberId === o.member.id);
  if (!slot) reject(ERR.NOT_RECIPIENT);
  // 7. The box, and its key ids: increasing, each a listed key that is
  // not disabled (the box says which keys the member gets, the signed
  // table what they are).
  const plain = sealedBoxOpen(slot.box, o.member.publicKey, o.member._secret());
  if (plain === null) reject(ERR.BAD_SLOT);
  const material = new Map();
  try {
    let lastId = 0;
    for (let i = 0; i < slot.count; i++) {
      const id = load32(plain, SLOT_KEY * i);
      const k = body.keys.find((x) => x.id === id);
      if (id <= lastId || !k || k.state === 'disabled') {
        for (const m of material.values()) wipe(m);
        reject(ERR.BAD_SLOT);
      }
      material.set(id, Uint8Array.from(plain.subarray(SLOT_KEY * i + 4, SLOT_KEY * (i + 1))));
      lastId = id;
    }
  } finally {
    wipe(plain);
  }
  return new Update(body, material);
}
