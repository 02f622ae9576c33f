// Type declarations for libe2e (hand-written; the package is plain ES
// modules). 64-bit values (sender ids, sequence numbers, signer ids) are
// BigInt; key ids and timestamps are numbers.

export type Suite = 'aead' | 'mac' | 'none';
export type KeySuite = 'aead' | 'mac';
export type KeyState = 'primary' | 'enabled' | 'disabled';
/** A topic as published: a string, or its UTF-8 bytes as received. */
export type Topic = string | Uint8Array;
export type Payload = Uint8Array | string;

// ---- errors ----------------------------------------------------------------

/** Error values (negative) by name without the E2E_ERR_ prefix: ERR.BAD_TAG === -22. */
export declare const ERR: Readonly<Record<string, number>> & {
  readonly OK: 0; readonly INVAL: -1; readonly TOPIC: -5; readonly NOT_E2E: -6; readonly VERSION: -7;
  readonly RESERVED: -8; readonly MALFORMED: -9; readonly UNKNOWN_KEY: -10; readonly DISABLED_KEY: -11;
  readonly SUITE_MISMATCH: -12; readonly UNENCRYPTED: -13; readonly UNSIGNED: -14;
  readonly UNTRUSTED_SIGNER: -15; readonly NOT_RETAINED: -20; readonly BAD_TAG: -22;
  readonly BAD_SIGNATURE: -23; readonly NO_KEY: -24; readonly SEQ_EXHAUSTED: -25; readonly IO: -26;
  readonly KEYFILE: -28; readonly KEYFILE_VERSION: -29; readonly PERMISSIONS: -30; readonly PASSPHRASE: -31;
  readonly DUPLICATE_KEY: -32; readonly TWO_PRIMARIES: -33; readonly EXISTS: -34; readonly NOT_FOUND: -35;
  readonly IS_PRIMARY: -36; readonly EMPTY: -37; readonly TRUNCATED: -38; readonly BASE64: -39;
  readonly NO_PRIMARY: -40; readonly NOT_SUBSCRIBED: -41; readonly WRITABLE: -42;
  readonly LOCKED: -43; readonly UNSAFE_FILE: -44; readonly REPLAY: -16; readonly TOO_OLD: -17;
  readonly FUTURE: -18; readonly NO_TIMESTAMP: -19; readonly STALE_RETAINED: -21; readonly TOO_LARGE: -4;
  readonly STATE_CORRUPT: -27; readonly BAD_UPDATE: -45; readonly WRONG_GROUP: -46; readonly ROLLBACK: -47;
  readonly NOT_RECIPIENT: -48; readonly BAD_SLOT: -49; readonly KEY_TOPIC: -50;
  readonly STORE_UNAVAILABLE: -60;
  readonly STORE_ERROR: -61; readonly STORE_AUTH: -62; readonly STORE_MISMATCH: -63;
  readonly STORE_UNSUPPORTED: -64;
  readonly STORE_TLS: -65;
  readonly STORE_PROTOCOL: -66;
};
/** "E2E_ERR_BAD_TAG" for ERR.BAD_TAG; "E2E_ERR_UNKNOWN" for other values. */
export declare function errName(code: number): string;
/** The stable rejection token ("bad-tag", "replay", ...); "unknown" otherwise. */
export declare function reason(code: number): string;
/** A one-line English sentence without a final period. */
export declare function strerror(code: number): string;
/** Every error as [value, name, reason, message]: the C library's list. */
export declare function errorTable(): Array<[number, string, string, string]>;

export declare class E2EError extends Error {
  /** Negative error value (compare with ERR). */
  readonly code: number;
  /** "E2E_ERR_BAD_TAG" */
  readonly errName: string;
  /** "bad-tag" */
  readonly reason: string;
  readonly detail?: string;
  constructor(code: number, detail?: string);
}

/** A refused message. info: the parsed header when parsing got that far (not authentic). */
export declare class Rejected extends E2EError {
  readonly topic: string;
  readonly info: Info | null;
}

/** A key file error; line is 1-based, 0 when the file as a whole is at fault. */
export declare class KeyFileError extends E2EError {
  readonly line: number;
}

// ---- bytes -----------------------------------------------------------------

export declare function toHex(b: Uint8Array): string;
export declare function fromHex(s: string): Uint8Array;
export declare function toBase64(b: Uint8Array): string;

// ---- topics ----------------------------------------------------------------

export declare const TOPIC_MAX: 4096;
/** MQTT matching ('+' one level, '#' the rest; leading wildcards never match '$' topics). */
export declare function topicMatches(filter: string, topic: string): boolean;
/** As topicMatches, "$share/GROUP/FILTER" matched by its FILTER; malformed: false. */
export declare function subscriptionMatches(subscription: string, topic: string): boolean;
export declare function filterValid(filter: string): boolean;
/** Throws E2EError(ERR.INVAL) for an invalid filter. */
export declare function filterCheck(filter: string): void;

// ---- keys ------------------------------------------------------------------

export declare const KEYBYTES: 32;
export declare const SIGN_PUBLICKEYBYTES: 32;
export declare const SIGN_SEEDBYTES: 32;

/** Unix seconds: a number, or a BigInt above 2^53 (times stay below 2^63). */
export type Time = number | bigint;
/** The largest time a schedule or a key update holds: 2^63 - 1. */
export declare const TIME_MAX: bigint;

export interface KeyInfo {
  id: number;
  suite: KeySuite;
  /** The stored state (stateAt gives the state at a time under the schedule). */
  state: KeyState;
  /** Unix seconds; a BigInt above 2^53. */
  created: Time;
  /** When the key becomes primary (docs/KEYDIST.md section 8); 0: none pending. */
  activates: Time;
  /** From when the key is disabled; 0: never. */
  disables: Time;
  /** A per-topic key's MQTT filters, comma-separated; '' for none. */
  filters: string;
}

export interface KeyringKey {
  id: number;
  suite?: KeySuite;
  state?: KeyState;
  created?: Time;
  key: Uint8Array;
  activates?: Time;
  disables?: Time;
  /** Filters (comma-separated or an array), no blanks; ''/absent: none. */
  filters?: string | string[];
}

/**
 * Shared keys by id. Keys with the same filters form a scope with at most
 * one stored primary; states at a time follow the schedule: a key is
 * disabled from its disable time, the key of a scope that became primary
 * last (latest activation time that has come, else the stored primary) is
 * its primary unless disabled (then the scope has none).
 */
export declare class Keyring {
  /** Adding a primary demotes the previous primary of its scope to enabled. */
  add(key: KeyringKey): void;
  /** A fresh random key under a fresh random id; returns the id. */
  generate(opts?: { suite?: KeySuite; state?: KeyState; created?: number }): number;
  /** Promoting demotes the old primary of its scope; the primary cannot be disabled (ERR.IS_PRIMARY). */
  setState(id: number, state: KeyState): void;
  remove(id: number): void;
  /** Set a key's schedule (0: none); ERR.NOT_FOUND, ERR.INVAL for 2^63 or more. */
  schedule(id: number, times?: { activates?: Time; disables?: Time }): void;
  /** ''/null: none. ERR.INVAL (invalid, or blanks), ERR.TWO_PRIMARIES (a primary joining a scope that has one). */
  setFilters(id: number, filters: string | string[] | null): void;
  readonly size: number;
  /** In increasing id order; no key material; stored states. */
  list(): KeyInfo[];
  find(id: number): KeyInfo | null;
  /** The stored primary of the keys without filters. */
  primary(): KeyInfo | null;
  /** The state of a key at now (0/absent: the clock). */
  stateAt(id: number, now?: Time): KeyState;
  /** The primary of the keys without filters at now (0/absent: the clock), or null. */
  primaryAt(now?: Time): KeyInfo | null;
  /** The key Sender.seal uses on topic at now: the primary of the first scope (by id) whose filters match, else the unscoped primary; null: no-key. */
  primaryFor(topic: string, now?: Time): KeyInfo | null;
  /** Store the states at now and forget the times that passed; later states do not change. */
  advance(now?: Time): void;
  /** Overwrite every key with zeros and forget them. */
  wipe(): void;
}

/** First 8 bytes, big-endian, of BLAKE2b-256(public key). */
export declare function signerIdFromPublic(publicKey: Uint8Array): bigint;

export declare class Signer {
  constructor(seed: Uint8Array);
  static fromSeed(seed: Uint8Array): Signer;
  static generate(): Signer;
  readonly publicKey: Uint8Array;
  readonly id: bigint;
  sign(message: Uint8Array): Uint8Array;
  wipe(): void;
}

export interface TrustEntry {
  id: bigint;
  publicKey: Uint8Array;
  filters: string[];
}

export declare class Trust {
  /** filters: an array or a comma-separated list. ERR.INVAL, ERR.DUPLICATE_KEY. */
  add(publicKey: Uint8Array, filters: string | string[]): void;
  readonly size: number;
  list(): TrustEntry[];
  has(signerId: bigint): boolean;
}

// ---- envelopes -------------------------------------------------------------

export declare const MAGIC_V1: 0xfd;
export declare const HEADER_BYTES: 26;
export declare const SALT_BYTES: 8;
export declare const TAG_BYTES: 16;
export declare const SIG_BYTES: 64;
export declare const PAYLOAD_MAX: number;
export declare const OVERHEAD_MAX: 114;
/** Bytes an envelope adds; 0 for an invalid suite or unsigned 'none'. */
export declare function overhead(suite: Suite, signed: boolean): number;

/** What a header says; authentic only once open() returned it. */
export interface Info {
  suite: Suite;
  signed: boolean;
  /** Retained intent, from the header. */
  retained: boolean;
  keyId: number;
  timestamp: number;
  /** The signer id when signed. */
  senderId: bigint;
  /** epoch (high 32 bits) || counter (low 32). */
  seq: bigint;
  payloadLength: number;
}

/** Check the structure; nothing verified. Throws E2EError (not-e2e, malformed). */
export declare function parse(envelope: Uint8Array): Info;

export interface SealParams {
  suite: Suite;
  keyId?: number;
  key?: Uint8Array;
  signer?: Signer;
  senderId: bigint | number;
  seq: bigint | number;
  timestamp?: number;
  retained?: boolean;
  /** 8 bytes, aead only. */
  salt?: Uint8Array;
}

/** Every input given, the salt included (vectors, other implementations). */
export declare function sealExplicit(p: SealParams, topic: string, payload: Payload): Uint8Array;

export interface SenderOptions {
  /** 0/absent: random. Ignored with a signer (its id is used). */
  senderId?: bigint | number;
  /** 0/absent: the current Unix time. MUST grow at each start. */
  epoch?: number;
  signer?: Signer;
  /** Timestamps 0. */
  noClock?: boolean;
}

export declare class Sender {
  constructor(opts?: SenderOptions);
  readonly id: bigint;
  readonly nextSeq: bigint;
  /**
   * Seals with keyring.primaryFor(topic) at the clock's time (ERR.NO_KEY when none). keyring null:
   * signature only (needs a signer). retained: exactly when the PUBLISH has the retain flag.
   */
  seal(keyring: Keyring | null, topic: string, payload: Payload, opts?: { retained?: boolean }): Uint8Array;
}

// ---- replay guard ----------------------------------------------------------

/** e2e_guard_opts in camelCase. */
export interface GuardOptions {
  /** Positions per sender: a multiple of 64, 64..65536 (256). */
  window?: number;
  /** Tracked senders, 1..2^24 (4096); half is the signers' share. */
  maxSenders?: number;
  /** Tracked retained topics, 1..2^24 (4096). */
  maxRetainedTopics?: number;
  /** Seconds; 0: no age limit (300). */
  maxAge?: number;
  /** Seconds a timestamp may be ahead (30). */
  maxSkew?: number;
  /** Seconds a retained delivery may be old; 0: no limit (0). */
  maxRetainedAge?: number;
  /** Trust on first use for clockless senders (false). */
  acceptNoClock?: boolean;
}

export declare const GUARD_DEFAULTS: Readonly<Required<GuardOptions>>;
/** 1 GiB: larger state files are neither written nor read. */
export declare const STATE_MAX_BYTES: number;

/** A state file that does not load; line is 1-based, 0: the file as a whole. */
export declare class StateFileError extends E2EError {
  readonly line: number;
}

/** Header fields the guard reads (an Info does). */
export interface GuardInfo {
  senderId: bigint;
  seq: bigint;
  timestamp: number;
  signed: boolean;
  /** Retained intent. */
  retained: boolean;
}

/** The replay guard of docs/ENVELOPE.md section 7, as the C library's. */
export declare class Guard {
  constructor(opts?: GuardOptions);
  readonly options: Readonly<Required<GuardOptions>>;
  readonly senderCount: number;
  readonly topicCount: number;
  /** ERR.OK (0) or REPLAY, TOO_OLD, FUTURE, NO_TIMESTAMP, NOT_RETAINED, STALE_RETAINED; changes nothing. */
  check(info: GuardInfo, topic: Topic, opts?: { retained?: boolean; now?: number }): number;
  /** Record an accepted message (after check and full verification). */
  commit(info: GuardInfo, topic: Topic, opts?: { retained?: boolean; now?: number }): void;
  /** The state file (docs/REPLAY-STATE.md, version 2). */
  serialize(): string;
  /** Replace the state with a state file's (versions 1, 2); StateFileError, guard unchanged. */
  load(data: string | Uint8Array, opts?: { now?: number }): void;
}

export interface ReceiverOptions {
  /** Replay and freshness checks; null/absent: none. */
  guard?: Guard | null;
  /** Unix seconds for the guard; 0/absent: the system clock at each open. */
  now?: number;
  keyring?: Keyring | null;
  trust?: Trust | null;
  requireEncryption?: boolean;
  requireSignature?: boolean;
  /** The subscriptions made ("$share/GROUP/" included); a topic matching none is not-subscribed. */
  filters?: string | Iterable<string>;
}

export interface Message {
  topic: string;
  payload: Uint8Array;
  info: Info;
  /** Delivered by the broker as retained. */
  retained: boolean;
}

/** Opens in the order of docs/ENVELOPE.md section 6, the guard's steps included. */
export declare class Receiver {
  constructor(opts?: ReceiverOptions);
  guard: Guard | null;
  now: number;
  keyring: Keyring | null;
  trust: Trust | null;
  requireEncryption: boolean;
  requireSignature: boolean;
  filters: string[];
  /** Throws Rejected with the stable reason. retained: the broker delivered it with the retain flag. */
  open(topic: Topic, envelope: Uint8Array, opts?: { retained?: boolean; now?: number }): Message;
}

// ---- key files (text; src/node.js reads and writes files) ------------------

export declare const KEYFILE_MAX: number;
export declare const SIGNER_OPSLIMIT: 3;
export declare const SIGNER_MEMLIMIT: 268435456;
export declare const SIGNER_OPSLIMIT_MAX: 32;
export declare const SIGNER_MEMLIMIT_MAX: 1073741824;

export type KeyFileData = string | Uint8Array;
export type Passphrase = string | Uint8Array;

export interface SignerSaveOptions {
  /** Argon2id passes (0/absent: 3). */
  opslimit?: number;
  /** Argon2id memory in bytes (0/absent: 256 MiB). */
  memlimit?: number;
  /** Fixed randomness, for tests only. */
  salt?: Uint8Array;
  nonce?: Uint8Array;
}

export declare function parseKeyring(data: KeyFileData): Keyring;
export declare function serializeKeyring(keyring: Keyring): string;
export declare function parseSigner(data: KeyFileData, passphrase?: Passphrase | null): Signer;
export declare function inspectSigner(data: KeyFileData): {
  id: bigint; publicKey: Uint8Array; encrypted: boolean; opslimit?: number; memlimit?: number;
};
export declare function serializeSigner(signer: Signer, passphrase?: Passphrase | null, opts?: SignerSaveOptions): string;
export declare function parsePublicKey(data: KeyFileData): Uint8Array;
export declare function serializePublicKey(publicKey: Uint8Array): string;
export declare function parseTrust(data: KeyFileData): Trust;
export declare function serializeTrust(trust: Trust): string;
/** libsodium crypto_pwhash ARGON2ID13: t = opslimit, m = floor(memlimit / 1024) KiB, p = 1, 32 bytes. */
export declare function deriveKey(passphrase: Uint8Array, salt: Uint8Array, opslimit: number, memlimit: number): Uint8Array;

// ---- key updates (docs/KEYDIST.md) ------------------------------------------

export declare const MEMBER_PUBLICKEYBYTES: 32;
export declare const MEMBER_SECRETKEYBYTES: 32;
export declare const SEALBYTES: 48;
export declare const UPDATE_GROUP_MAX: 64;
export declare const UPDATE_KEYS_MAX: 64;
export declare const UPDATE_FILTERS_MAX: 4096;
export declare const UPDATE_RECIPIENTS_MAX: 65535;
/** Bytes of one recipient's slot holding n keys: 57 + 36 n. */
export declare function updateSlotBytes(n: number): number;

/** First 8 bytes, big-endian, of BLAKE2b-256(X25519 public key). */
export declare function memberIdFromPublic(publicKey: Uint8Array): bigint;
/** 16 lowercase hex digits, as in update topics. */
export declare function memberIdHex(id: bigint): string;

/** A member's X25519 key pair. */
export declare class Member {
  constructor(secretKey: Uint8Array);
  static fromSecret(secretKey: Uint8Array): Member;
  static generate(): Member;
  readonly publicKey: Uint8Array;
  readonly id: bigint;
  /** A copy, for saving it; wipe it after use. */
  secretKey(): Uint8Array;
  wipe(): void;
}

/** libsodium's crypto_box_seal; ephemeralSecret fixes the ephemeral key (tests). ERR.INVAL for a low-order key. */
export declare function sealedBoxSeal(message: Uint8Array, publicKey: Uint8Array,
  opts?: { ephemeralSecret?: Uint8Array }): Uint8Array;
/** crypto_box_seal_open: the plaintext, or null. */
export declare function sealedBoxOpen(box: Uint8Array, publicKey: Uint8Array, secretKey: Uint8Array): Uint8Array | null;

export interface UpdateKey {
  id: number;
  suite?: KeySuite;
  state?: KeyState;
  /** primary: from then on (0: now); others: 0. */
  activates?: Time;
  disables?: Time;
  filters?: string | string[];
  /** Building: the key; absent for a disabled key. */
  key?: Uint8Array;
}

export interface UpdateRecipient {
  publicKey: Uint8Array;
  keyIds: number[];
  /** Tests only: the slot's ephemeral X25519 secret key (reproducing vectors). */
  ephemeralSecret?: Uint8Array;
}

export interface UpdateParams {
  group: string;
  counter: number | bigint;
  issued: Time;
  keys: UpdateKey[];
  recipients: UpdateRecipient[];
}

/**
 * The admin's side: the body of an update (ERR.INVAL for invalid
 * parameters). Seal it as a retained suite-none envelope signed by the
 * admin on the update topic: new Sender({ signer }).seal(null, topic, body, { retained: true }).
 */
export declare function buildUpdate(p: UpdateParams): Uint8Array;

export interface UpdateBody {
  group: string;
  counter: bigint;
  issued: bigint;
  keys: Array<{ id: number; suite: KeySuite; state: KeyState; activates: bigint; disables: bigint;
    /** The filter bytes, one character per byte (latin1). */
    filters: string }>;
  slots: Array<{ memberId: bigint; count: number; box: Uint8Array }>;
}
/** Parse a body strictly (docs/KEYDIST.md section 4); E2EError(ERR.BAD_UPDATE). Verifies nothing. */
export declare function parseUpdateBody(body: Uint8Array): UpdateBody;

export interface UpdateOpener {
  adminPublicKey: Uint8Array;
  group: string;
  member: Member;
  /** The counter of the last update applied; 0/absent: none. */
  lastCounter?: number | bigint;
  /** The broker delivered it retained. */
  retained?: boolean;
}

export declare class Update {
  readonly group: string;
  readonly counter: bigint;
  readonly issued: bigint;
  /** The signed table; inSlot: this member's slot gave the key; filters null when not UTF-8. */
  readonly keys: Array<{ id: number; suite: KeySuite; state: KeyState; activates: Time; disables: Time;
    filters: string | null; inSlot: boolean }>;
  /**
   * Make keyring this member's whole key set, stored as of now (0/absent:
   * the clock); ERR.INVAL, the keyring unchanged, for filters a keyring
   * cannot hold. Then record the counter, durably, with the keyring.
   */
  apply(keyring: Keyring, now?: Time): void;
  wipe(): void;
}

/**
 * Verify and open an update in the member's processing order
 * (docs/KEYDIST.md section 7); throws Rejected: bad-topic, bad-update,
 * not-e2e, malformed, untrusted-signer, not-retained, bad-signature,
 * wrong-group, rollback, replay, not-recipient, bad-slot.
 */
export declare function openUpdate(topic: Topic, envelope: Uint8Array, opener: UpdateOpener): Update;
