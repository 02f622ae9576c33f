// Errors: the same values, names and stable reason tokens as the C
// library's one list (libe2e/include/e2e.h, E2E_ERRNO_MAP; e2e_reason()).
// test/errors.test.js checks this table against the header.

// [value, name, reason token, message]
const TABLE = [
  [0, "E2E_OK", "ok", "success"],
  [-1, "E2E_ERR_INVAL", "invalid", "invalid argument"],
  [-2, "E2E_ERR_NOMEM", "no-memory", "out of memory"],
  [-3, "E2E_ERR_BUFFER_TOO_SMALL", "buffer", "output buffer too small"],
  [-4, "E2E_ERR_TOO_LARGE", "too-large", "payload too large"],
  [-5, "E2E_ERR_TOPIC", "bad-topic", "topic is empty, too long or contains a wildcard"],
  [-6, "E2E_ERR_NOT_E2E", "not-e2e", "not an e2e envelope"],
  [-7, "E2E_ERR_VERSION", "malformed", "unsupported envelope version"],
  [-8, "E2E_ERR_RESERVED", "malformed", "reserved header bits are set"],
  [-9, "E2E_ERR_MALFORMED", "malformed", "malformed envelope (truncated or inconsistent)"],
  [-10, "E2E_ERR_UNKNOWN_KEY", "unknown-key", "unknown key id"],
  [-11, "E2E_ERR_DISABLED_KEY", "disabled-key", "key is disabled"],
  [-12, "E2E_ERR_SUITE_MISMATCH", "suite-mismatch", "envelope suite does not match the key's suite"],
  [-13, "E2E_ERR_UNENCRYPTED", "unencrypted", "encryption required but message is not encrypted"],
  [-14, "E2E_ERR_UNSIGNED", "unsigned", "signature required but message is not signed"],
  [-15, "E2E_ERR_UNTRUSTED_SIGNER", "untrusted-signer", "signer is not trusted for this topic"],
  [-16, "E2E_ERR_REPLAY", "replay", "sequence number already seen or below the window"],
  [-17, "E2E_ERR_TOO_OLD", "too-old", "message is older than allowed"],
  [-18, "E2E_ERR_FUTURE", "future", "message timestamp is too far in the future"],
  [-19, "E2E_ERR_NO_TIMESTAMP", "no-timestamp", "first message from a sender without a clock refused"],
  [-20, "E2E_ERR_NOT_RETAINED", "not-retained", "delivered as retained but not sealed for retention"],
  [-21, "E2E_ERR_STALE_RETAINED", "stale-retained", "older than the retained message already seen on this topic"],
  [-22, "E2E_ERR_BAD_TAG", "bad-tag", "authentication tag does not verify"],
  [-23, "E2E_ERR_BAD_SIGNATURE", "bad-signature", "signature does not verify"],
  [-24, "E2E_ERR_NO_KEY", "no-key", "no primary key to seal with"],
  [-25, "E2E_ERR_SEQ_EXHAUSTED", "seq-exhausted", "sequence numbers exhausted for this sender"],
  [-26, "E2E_ERR_IO", "io", "file input/output error"],
  [-27, "E2E_ERR_STATE_CORRUPT", "state-corrupt", "replay state file is corrupt"],
  [-28, "E2E_ERR_KEYFILE", "keyfile", "key file is malformed"],
  [-29, "E2E_ERR_KEYFILE_VERSION", "keyfile", "key file has an unknown version"],
  [-30, "E2E_ERR_PERMISSIONS", "permissions", "secret file is readable by group or others"],
  [-31, "E2E_ERR_PASSPHRASE", "passphrase", "wrong passphrase"],
  [-32, "E2E_ERR_DUPLICATE_KEY", "duplicate-key", "duplicate key id"],
  [-33, "E2E_ERR_TWO_PRIMARIES", "keyfile", "more than one primary key"],
  [-34, "E2E_ERR_EXISTS", "exists", "file already exists"],
  [-35, "E2E_ERR_NOT_FOUND", "not-found", "no such key or signer"],
  [-36, "E2E_ERR_IS_PRIMARY", "is-primary", "the primary key cannot be disabled or deleted"],
  [-37, "E2E_ERR_EMPTY", "keyfile", "file is empty"],
  [-38, "E2E_ERR_TRUNCATED", "keyfile", "key file is truncated"],
  [-39, "E2E_ERR_BASE64", "keyfile", "key file has corrupt base64 or a value of the wrong length"],
  [-40, "E2E_ERR_NO_PRIMARY", "keyfile", "keyring file has no primary key"],
  [-41, "E2E_ERR_NOT_SUBSCRIBED", "not-subscribed", "topic matches none of the subscribed filters"],
  [-42, "E2E_ERR_WRITABLE", "permissions", "file is writable by others or owned by another user"],
  [-43, "E2E_ERR_LOCKED", "locked", "file is locked by another sender"],
  [-44, "E2E_ERR_UNSAFE_FILE", "unsafe-file", "file is a symbolic link or owned by another user"],
  [-45, "E2E_ERR_BAD_UPDATE", "bad-update", "malformed key update"],
  [-46, "E2E_ERR_WRONG_GROUP", "wrong-group", "key update is for another group"],
  [-47, "E2E_ERR_ROLLBACK", "rollback", "key update is older than the one already applied"],
  [-48, "E2E_ERR_NOT_RECIPIENT", "not-recipient", "key update holds no keys for this member"],
  [-49, "E2E_ERR_BAD_SLOT", "bad-slot", "this member's keys in the update do not open or do not match"],
  [-50, "E2E_ERR_KEY_TOPIC", "key-topic", "the key is not for this topic"],
  [-60, "E2E_ERR_STORE_UNAVAILABLE", "store-unavailable", "the shared replay state store is unreachable"],
  [-61, "E2E_ERR_STORE_ERROR", "store-error", "the shared replay state store answered with an error"],
  [-62, "E2E_ERR_STORE_AUTH", "store-auth", "the shared replay state store refused the credentials"],
  [-63, "E2E_ERR_STORE_MISMATCH", "store-mismatch", "the shared replay state was made with other guard sizes"],
  [-64, "E2E_ERR_STORE_UNSUPPORTED", "store-unsupported", "this build cannot reach that store (rediss:// needs TLS)"],
  [-65, "E2E_ERR_STORE_TLS", "store-tls", "the TLS connection to the shared replay state store failed"],
  [-66, "E2E_ERR_STORE_PROTOCOL", "store-protocol", "the shared replay state is of another protocol version"],
];

/** Error values by name without the E2E_ prefix: ERR.BAD_TAG === -22. */
export const ERR = {};
const byValue = new Map();
for (const [value, name, reason, message] of TABLE) {
  ERR[name.replace(/^E2E_(ERR_)?/, '')] = value;
  byValue.set(value, { name, reason, message });
}
Object.freeze(ERR);

/** "E2E_ERR_BAD_TAG" for ERR.BAD_TAG; "E2E_ERR_UNKNOWN" otherwise. */
export function errName(code) {
  const e = byValue.get(code);
  return e ? e.name : 'E2E_ERR_UNKNOWN';
}

/** The stable rejection token ("bad-tag", "replay", ...); "unknown" otherwise. */
export function reason(code) {
  const e = byValue.get(code);
  return e ? e.reason : 'unknown';
}

/** A one-line English sentence without a final period. */
export function strerror(code) {
  const e = byValue.get(code);
  return e ? e.message : 'unknown error';
}

/** Every error, as [value, name, reason, message] rows. */
export function errorTable() {
  return TABLE.map((row) => row.slice());
}

/**
 * An error of the library: code (negative number), errName
 * ("E2E_ERR_BAD_TAG"), reason ("bad-tag"); key file errors also have line
 * (1-based line at fault, 0: the file as a whole).
 */
export class E2EError extends Error {
  constructor(code, detail) {
    const text = strerror(code);
    super(detail ? `${text}: ${detail}` : text);
    this.name = 'E2EError';
    this.code = code;
    this.errName = errName(code);
    this.reason = reason(code);
    if (detail !== undefined) this.detail = detail;
  }
}

/**
 * A refused message: reason is the stable token e2e-sub prints, topic the
 * topic it arrived on, info the parsed header when parsing got that far
 * (for diagnostics only: nothing in it is authentic).
 */
export class Rejected extends E2EError {
  constructor(code, topic, info) {
    super(code);
    this.name = 'Rejected';
    this.topic = topic;
    this.info = info || null;
  }
}

export function fail(code, detail) {
  throw new E2EError(code, detail);
}
