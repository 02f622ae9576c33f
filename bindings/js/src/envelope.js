// The envelope, version 1 (docs/ENVELOPE.md): parse, seal, open.
import { xchacha20poly1305 } from '@noble/ciphers/chacha';
import { blake2b } from '@noble/hashes/blake2b';
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha256';
import { randomBytes } from '@noble/hashes/utils';
import { ERR, E2EError, Rejected, fail } from './errors.js';
import { concat, isBytes, load32, load64, u16, u32, u64, wipe, U64_MAX } from './bytes.js';
import { topicBytes, subscriptionMatches } from './topic.js';
import { KEYBYTES, SUITES, SUITE, filtersAllow, fixedBytes, u32Value, u64Value, verifySignature } from './keys.js';
import { Guard } from './guard.js';

export const MAGIC_V1 = 0xfd;
export const HEADER_BYTES = 26;
export const SALT_BYTES = 8;
export const TAG_BYTES = 16;
export const SIG_BYTES = 64;
export const PAYLOAD_MAX = 0x0ff00000;
export const OVERHEAD_MAX = HEADER_BYTES + SALT_BYTES + TAG_BYTES + SIG_BYTES;

const FLAG_SUITE = 0x03;
const FLAG_SIGNED = 0x04;
const FLAG_RETAINED = 0x08;
const FLAG_RESERVED = 0xf0;
const SIG_CONTEXT = new TextEncoder().encode('libe2e-v1-sig');

/** Bytes an envelope adds: 0 for an invalid suite or unsigned 'none'. */
export function overhead(suite, signed) {
  const s = typeof suite === 'string' ? SUITE[suite] : suite;
  const sig = signed ? SIG_BYTES : 0;
  if (s === 0) return HEADER_BYTES + SALT_BYTES + TAG_BYTES + sig;
  if (s === 1) return HEADER_BYTES + TAG_BYTES + sig;
  if (s === 2) return signed ? HEADER_BYTES + SIG_BYTES : 0;
  return 0;
}

function headerLen(suite) {
  return suite === 'aead' ? HEADER_BYTES + SALT_BYTES : HEADER_BYTES;
}

function associatedData(header, t) {
  return concat(header, u16(t.length), t);
}

function signedMessage(unsignedEnvelope, t) {
  const digest = blake2b(concat(unsignedEnvelope, u16(t.length), t), { dkLen: 64 });
  return concat(SIG_CONTEXT, digest);
}

function macTag(key, ad, body) {
  return hmac(sha256, key, concat(ad, body)).subarray(0, TAG_BYTES);
}

function constantTimeEqual(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

// ---- parsing ---------------------------------------------------------------

/**
 * Check an envelope's structure and return what its header says:
 * {suite, signed, retained, keyId, senderId (BigInt), seq (BigInt),
 * timestamp, payloadLength}. Nothing is verified. Throws E2EError
 * (not-e2e, malformed).
 */
export function parse(envelope) {
  if (!isBytes(envelope)) fail(ERR.INVAL, 'envelope must be a Uint8Array');
  const env = envelope;
  if (env.length === 0) fail(ERR.MALFORMED);
  if (env[0] !== MAGIC_V1) fail(env[0] === 0xfc || env[0] === 0xfe ? ERR.VERSION : ERR.NOT_E2E);
  if (env.length < 2) fail(ERR.MALFORMED);
  const flags = env[1];
  if (flags & FLAG_RESERVED) fail(ERR.RESERVED);
  const s = flags & FLAG_SUITE;
  if (s > 2) fail(ERR.MALFORMED);
  const signed = (flags & FLAG_SIGNED) !== 0;
  const over = overhead(s, signed);
  if (over === 0 || env.length < over) fail(ERR.MALFORMED);
  const keyId = load32(env, 2);
  if (s === 2 && keyId !== 0) fail(ERR.MALFORMED);
  return {
    suite: SUITES[s],
    signed,
    retained: (flags & FLAG_RETAINED) !== 0,
    keyId,
    timestamp: load32(env, 6),
    senderId: load64(env, 10),
    seq: load64(env, 18),
    payloadLength: env.length - over,
  };
}

// ---- sealing -------------------------------------------------------------

/**
 * The explicit form: every input given, the salt included (test vectors,
 * other implementations). Applications use a Sender.
 *
 * p: {suite 'aead'|'mac'|'none', keyId, key (32 bytes; absent for none),
 * signer (a Signer, or absent), senderId (BigInt; the signer's id when
 * signed), seq (BigInt), timestamp (0: no clock), retained (bool), salt (8
 * bytes, aead only)}. Returns the envelope (Uint8Array).
 */
export function sealExplicit(p, topic, payload) {
  if (p === null || typeof p !== 'object') fail(ERR.INVAL, 'parameters');
  const suite = p.suite;
  const s = SUITE[suite];
  if (s === undefined) fail(ERR.INVAL, `suite ${suite}`);
  const keyId = u32Value(p.keyId ?? 0, 'key id');
  const senderId = u64Value(p.senderId, 'sender id');
  const seq = u64Value(p.seq, 'sequence');
  const timestamp = u32Value(p.timestamp ?? 0, 'timestamp');
  const signer = p.signer || null;
  let key = null;
  let salt = null;
  if (suite === 'none') {
    if (p.key != null || keyId !== 0 || signer === null) fail(ERR.INVAL, 'suite none takes no key and needs a signer');
  } else {
    if (p.key == null || keyId === 0) fail(ERR.INVAL, 'a key and a nonzero key id are needed');
    key = fixedBytes(p.key, KEYBYTES, 'key');
    if (suite === 'aead') salt = fixedBytes(p.salt, SALT_BYTES, 'salt');
  }
  if (signer !== null && senderId !== signer.id) fail(ERR.INVAL, 'sender id must be the signer id');
  const t = topicBytes(topic, true);
  if (!isBytes(payload) && typeof payload !== 'string') fail(ERR.INVAL, 'payload must be a Uint8Array or a string');
  const msg = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  if (msg.length > PAYLOAD_MAX) fail(ERR.TOO_LARGE);

  const flags = s | (signer ? FLAG_SIGNED : 0) | (p.retained ? FLAG_RETAINED : 0);
  const header = concat(Uint8Array.of(MAGIC_V1, flags), u32(keyId), u32(timestamp),
    u64(senderId), u64(seq), salt || new Uint8Array(0));
  const ad = associatedData(header, t);
  let body;
  try {
    if (suite === 'aead') {
      const nonce = header.subarray(10, 34); // sender id || sequence || salt
      body = xchacha20poly1305(key, nonce, ad).encrypt(msg); // ciphertext || tag
    } else if (suite === 'mac') {
      body = concat(msg, macTag(key, ad, msg));
    } else {
      body = msg;
    }
  } finally {
    wipe(key);
  }
  const unsignedEnv = concat(header, body);
  if (!signer) return unsignedEnv;
  return concat(unsignedEnv, signer.sign(signedMessage(unsignedEnv, t)));
}

/**
 * One publisher: its sender id, sequence numbers and salts
 * (docs/ENVELOPE.md section 9). opts: {senderId (0/absent: random; a
 * signer's id is used when signed), epoch (0/absent: the current Unix
 * time; MUST grow at each start), signer, noClock}. One Sender per process.
 */
export class Sender {
  #id;
  #next;
  #exhausted = false;
  #signer;
  #noClock;

  constructor(opts = {}) {
    this.#signer = opts.signer || null;
    if (this.#signer) this.#id = this.#signer.id;
    else if (opts.senderId) this.#id = u64Value(opts.senderId, 'sender id');
    else {
      this.#id = 0n;
      while (this.#id === 0n) this.#id = load64(randomBytes(8), 0);
    }
    let epoch = u32Value(opts.epoch ?? 0, 'epoch');
    if (epoch === 0) epoch = Math.floor(Date.now() / 1000) >>> 0;
    this.#next = BigInt(epoch) << 32n;
    this.#noClock = Boolean(opts.noClock);
  }

  get id() { return this.#id; }

  /** The sequence number the next seal will use. */
  get nextSeq() { return this.#next; }

  /**
   * Seal payload for topic with the keyring's primary key (keyring null:
   * signature only, which needs a signer). retained: exactly when the
   * PUBLISH has the retain flag. Uses one sequence number per success.
   */
  seal(keyring, topic, payload, { retained = false } = {}) {
    if (!keyring && !this.#signer) fail(ERR.INVAL, 'a keyring or a signer is needed');
    if (this.#exhausted) fail(ERR.SEQ_EXHAUSTED);
    // The primary for the topic at the sealing time: a keyring's schedule
    // switches keys by itself (docs/KEYDIST.md section 8).
    const now = Math.floor(Date.now() / 1000);
    const k = keyring ? keyring._sealKey(BigInt(now), topicName(topic)) : null;
    if (keyring && !k) fail(ERR.NO_KEY);
    const env = sealExplicit({
      suite: k ? k.suite : 'none',
      keyId: k ? k.id : 0,
      key: k ? k.key : undefined,
      signer: this.#signer || undefined,
      senderId: this.#id,
      seq: this.#next,
      timestamp: this.#noClock ? 0 : now >>> 0,
      retained,
      salt: k && k.suite === 'aead' ? randomBytes(SALT_BYTES) : undefined,
    }, topic, payload);
    if (this.#next === U64_MAX) this.#exhausted = true;
    else this.#next += 1n; // a counter wrap moves to epoch + 1
    return env;
  }
}

// ---- opening ---------------------------------------------------------------

/**
 * What a subscriber decides with. opts: {keyring (null: only
 * signature-only envelopes), trust (null: no signed one), requireEncryption,
 * requireSignature, filters (the subscriptions made, "$share/GROUP/"
 * prefixes included: a topic that matches none is refused as
 * not-subscribed before anything else; empty/absent: no check), guard (a
 * Guard: replay and freshness checks, updated by every accepted message;
 * null/absent: none, as a C receiver without a guard), now (Unix seconds
 * for the guard; 0/absent: the system clock at each open)}.
 */
export class Receiver {
  constructor(opts = {}) {
    this.keyring = opts.keyring || null;
    this.trust = opts.trust || null;
    this.requireEncryption = Boolean(opts.requireEncryption);
    this.requireSignature = Boolean(opts.requireSignature);
    const f = opts.filters;
    this.filters = typeof f === 'string' ? [f] : f ? Array.from(f) : [];
    if (opts.guard != null && !(opts.guard instanceof Guard)) fail(ERR.INVAL, 'guard must be a Guard');
    this.guard = opts.guard || null;
    this.now = opts.now ? u32Value(opts.now, 'now') : 0;
  }

  /**
   * Verify an envelope received on topic, in the order of docs/ENVELOPE.md
   * section 6. retained: the broker delivered it with the retain flag.
   * Returns {topic, payload, info, retained}; throws Rejected (reason) when
   * the message is refused, E2EError for an API misuse.
   */
  open(topic, envelope, { retained = false, now } = {}) {
    if (!isBytes(envelope)) fail(ERR.INVAL, 'envelope must be a Uint8Array');
    const topicText = typeof topic === 'string' ? topic : safeText(topic);
    let info = null;
    let parseError = null;
    try { info = parse(envelope); } catch (e) { parseError = e; }
    const reject = (code) => { throw new Rejected(code, topicText, info); };
    // 0. Only topics someone subscribed to.
    if (this.filters.length > 0 && !this.filters.some((f) => subscriptionMatches(f, topicText))) {
      reject(ERR.NOT_SUBSCRIBED);
    }
    // 1. Parse; the topic as received.
    if (parseError) {
      if (parseError instanceof E2EError) reject(parseError.code);
      throw parseError;
    }
    let t;
    try { t = topicBytes(topic, false); } catch (e) { reject(e.code === ERR.INVAL ? ERR.INVAL : ERR.TOPIC); }
    // 2. Key lookup: its state at the receiver's time, its suite, its
    // topics (a per-topic key opens only its own); 3. policy.
    const clock = now || this.now || Math.floor(Date.now() / 1000);
    let k = null;
    if (info.suite !== 'none') {
      k = this.keyring ? this.keyring._lookup(info.keyId) : null;
      if (!k) reject(ERR.UNKNOWN_KEY);
      if (this.keyring._disabledAt(k, BigInt(clock))) reject(ERR.DISABLED_KEY);
      if (k.suite !== info.suite) reject(ERR.SUITE_MISMATCH);
      if (!filtersAllow(k.filters, topicText)) reject(ERR.KEY_TOPIC);
    }
    if (this.requireEncryption && info.suite !== 'aead') reject(ERR.UNENCRYPTED);
    if (this.requireSignature && !info.signed) reject(ERR.UNSIGNED);
    let signerPk = null;
    if (info.signed) {
      const e = this.trust ? this.trust._lookup(info.senderId, topicText) : null;
      if (!e || !e.allowed) reject(ERR.UNTRUSTED_SIGNER);
      signerPk = e.publicKey;
    }
    if (retained && !info.retained) reject(ERR.NOT_RETAINED);
    // 4-5. Replay pre-check and time window.
    if (this.guard) {
      const rc = this.guard.check(info, topicText, { retained, now: clock });
      if (rc !== ERR.OK) reject(rc);
    }
    // 6. Tag, 7. signature.
    const hlen = headerLen(info.suite);
    const sigLen = info.signed ? SIG_BYTES : 0;
    const unsignedEnv = envelope.subarray(0, envelope.length - sigLen);
    const ad = associatedData(envelope.subarray(0, hlen), t);
    let payload = null;
    if (info.suite === 'aead') {
      const nonce = envelope.subarray(10, 34);
      try {
        payload = xchacha20poly1305(k.key, nonce, ad).decrypt(unsignedEnv.subarray(hlen));
      } catch {
        reject(ERR.BAD_TAG);
      }
    } else if (info.suite === 'mac') {
      const body = unsignedEnv.subarray(hlen, unsignedEnv.length - TAG_BYTES);
      const tag = unsignedEnv.subarray(unsignedEnv.length - TAG_BYTES);
      if (!constantTimeEqual(macTag(k.key, ad, body), tag)) reject(ERR.BAD_TAG);
    }
    if (info.signed) {
      const sig = envelope.subarray(envelope.length - SIG_BYTES);
      if (!verifySignature(signerPk, signedMessage(unsignedEnv, t), sig)) {
        wipe(payload);
        reject(ERR.BAD_SIGNATURE);
      }
    }
    // An authentic unsigned envelope under a trusted signer's id.
    if (!info.signed && this.trust && this.trust.has(info.senderId)) {
      wipe(payload);
      reject(ERR.UNSIGNED);
    }
    // 8. Only now: update the guard, and deliver.
    if (this.guard) this.guard.commit(info, topicText, { retained, now: clock });
    if (payload === null) payload = Uint8Array.from(envelope.subarray(hlen, hlen + info.payloadLength));
    return { topic: topicText, payload, info, retained: Boolean(retained) };
  }
}

// The topic as text, for choosing a per-topic key; sealExplicit checks it.
function topicName(topic) {
  return typeof topic === 'string' ? topic : isBytes(topic) ? safeText(topic) : '';
}

function safeText(b) {
  if (!isBytes(b)) fail(ERR.INVAL, 'topic must be a string or a Uint8Array');
  return new TextDecoder('utf-8').decode(b);
}
