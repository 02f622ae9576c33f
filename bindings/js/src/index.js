// libe2e for JavaScript: the envelope of docs/ENVELOPE.md and the key files
// of docs/KEYFILES.md. Browser-safe; file access is in 'libe2e/node'.
export { ERR, E2EError, Rejected, errName, reason, strerror, errorTable } from './errors.js';
export { toHex, fromHex, toBase64 } from './bytes.js';
export { TOPIC_MAX, topicMatches, subscriptionMatches, filterValid, filterCheck } from './topic.js';
export { Keyring, Signer, Trust, signerIdFromPublic, KEYBYTES, SIGN_PUBLICKEYBYTES, SIGN_SEEDBYTES, TIME_MAX } from './keys.js';
export {
  MAGIC_V1, HEADER_BYTES, SALT_BYTES, TAG_BYTES, SIG_BYTES, PAYLOAD_MAX, OVERHEAD_MAX,
  overhead, parse, sealExplicit, Sender, Receiver,
} from './envelope.js';
export { Guard, GUARD_DEFAULTS, StateFileError, STATE_MAX_BYTES } from './guard.js';
export {
  KeyFileError, KEYFILE_MAX, SIGNER_OPSLIMIT, SIGNER_MEMLIMIT, SIGNER_OPSLIMIT_MAX, SIGNER_MEMLIMIT_MAX,
  parseKeyring, serializeKeyring, parseSigner, inspectSigner, serializeSigner, parsePublicKey,
  serializePublicKey, parseTrust, serializeTrust, deriveKey,
} from './keyfiles.js';
export {
  Member, Update, memberIdFromPublic, memberIdHex, sealedBoxSeal, sealedBoxOpen, parseUpdateBody, buildUpdate,
  openUpdate, updateSlotBytes, MEMBER_PUBLICKEYBYTES, MEMBER_SECRETKEYBYTES, SEALBYTES, UPDATE_GROUP_MAX,
  UPDATE_KEYS_MAX, UPDATE_FILTERS_MAX, UPDATE_RECIPIENTS_MAX,
} from './keydist.js';
