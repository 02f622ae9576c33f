// Key files on disk (Node only): the loaders refuse what the C library
// refuses (docs/KEYFILES.md section 1): secret files group or others may
// access (ERR.PERMISSIONS), any file group or others may write or another
// user than the effective user or root owns (ERR.WRITABLE), empty files
// (ERR.EMPTY), files over 4 MiB. Savers write a temporary file in the same
// directory, fsync it, then rename it into place (or link it, exclusive).
import { closeSync, constants, fstatSync, fsyncSync, linkSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from '@noble/hashes/utils';
import { ERR } from './errors.js';
import { StateFileError, STATE_MAX_BYTES } from './guard.js';
import { toHex } from './bytes.js';
import {
  KEYFILE_MAX, KeyFileError, parseKeyring, parsePublicKey, parseSigner, parseTrust, inspectSigner,
  serializeKeyring, serializePublicKey, serializeSigner, serializeTrust,
} from './keyfiles.js';

function ownerOk(st) {
  const euid = typeof process.geteuid === 'function' ? process.geteuid() : st.uid;
  return st.uid === euid || st.uid === 0;
}

/** The bytes of a key file, with the C library's checks. */
export function readKeyFile(path, secret) {
  return readChecked(path, secret, KEYFILE_MAX, (code, detail) => new KeyFileError(code, 0, detail));
}

/** A file the library loads: regular, not writable by others, owned by us or root, at most max bytes. */
function readChecked(path, secret, max, error) {
  let fd;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch (e) {
    const err = error(ERR.IO, `${path}: ${e.message}`);
    err.cause = e;
    err.errno = e.errno;
    err.syscallCode = e.code;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw error(ERR.IO, `${path}: not a regular file`);
    if (secret && (st.mode & 0o077) !== 0) throw error(ERR.PERMISSIONS, path);
    if ((st.mode & 0o022) !== 0 || !ownerOk(st)) throw error(ERR.WRITABLE, path);
    if (st.size === 0) throw error(ERR.EMPTY, path);
    if (st.size > max) throw error(ERR.IO, `${path}: larger than ${max} bytes`);
    const buf = new Uint8Array(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n <= 0) break;
      got += n;
    }
    if (got === 0) throw error(ERR.EMPTY, path);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

function withPath(path, fn) {
  try {
    return fn();
  } catch (e) {
    if (e instanceof KeyFileError && e.detail === undefined) {
      e.detail = path;
      e.message = `${e.message}: ${path}${e.line ? ` line ${e.line}` : ''}`;
    }
    throw e;
  }
}

export function loadKeyring(path) {
  const b = readKeyFile(path, true);
  try { return withPath(path, () => parseKeyring(b)); } finally { b.fill(0); }
}

export function loadSigner(path, passphrase) {
  const b = readKeyFile(path, true);
  try { return withPath(path, () => parseSigner(b, passphrase)); } finally { b.fill(0); }
}

export function inspectSignerFile(path) {
  const b = readKeyFile(path, true);
  try { return withPath(path, () => inspectSigner(b)); } finally { b.fill(0); }
}

export function loadPublicKey(path) {
  return withPath(path, () => parsePublicKey(readKeyFile(path, false)));
}

export function loadTrust(path) {
  return withPath(path, () => parseTrust(readKeyFile(path, false)));
}

/**
 * Write text to path as the library's savers do: exclusive (fails with
 * ERR.EXISTS when path exists) or replacing atomically.
 */
export function writeKeyFile(path, text, mode, { exclusive = false } = {}) {
  const tmp = join(dirname(path), `${basename(path)}.tmp-${process.pid}-${toHex(randomBytes(6))}`);
  const data = new TextEncoder().encode(text);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    if (exclusive) {
      try {
        linkSync(tmp, path);
      } catch (e) {
        if (e.code === 'EEXIST') throw new KeyFileError(ERR.EXISTS, 0, path);
        throw e;
      } finally {
        unlinkSync(tmp);
      }
    } else {
      renameSync(tmp, path);
    }
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  try {
    const dfd = openSync(dirname(path), constants.O_RDONLY);
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch { /* some file systems cannot fsync a directory */ }
}

export function saveKeyring(keyring, path, opts) {
  writeKeyFile(path, serializeKeyring(keyring), 0o600, opts);
}

export function saveSigner(signer, path, passphrase, opts = {}) {
  writeKeyFile(path, serializeSigner(signer, passphrase, opts), 0o600, opts);
}

export function savePublicKey(publicKey, path, opts) {
  writeKeyFile(path, serializePublicKey(publicKey), 0o644, opts);
}

export function saveTrust(trust, path, opts) {
  writeKeyFile(path, serializeTrust(trust), 0o644, opts);
}

/**
 * Replace guard's state with the state file's (e2e_guard_load): ERR.IO
 * (errno, syscallCode 'ENOENT' for a missing file: a first start),
 * ERR.WRITABLE (group or others may write it, or another user owns it),
 * ERR.STATE_CORRUPT with line (0: empty); on error the guard is unchanged.
 */
export function loadGuard(guard, path, opts) {
  let b;
  try {
    b = readChecked(path, false, STATE_MAX_BYTES, (code, detail) => new StateFileError(code, 0, detail));
  } catch (e) {
    if (e.code === ERR.EMPTY) throw new StateFileError(ERR.STATE_CORRUPT, 0, `${path}: the file is empty`);
    throw e;
  }
  try {
    guard.load(b, opts);
  } catch (e) {
    if (e instanceof StateFileError) e.message = `${e.message}: ${path}`;
    throw e;
  }
}

/** Save guard's state atomically, mode 0600 (e2e_guard_save). */
export function saveGuard(guard, path) {
  writeKeyFile(path, guard.serialize(), 0o600);
}

/**
 * State file hooks for E2ESubscriber ('libe2e/mqtt'), as e2e-sub --state:
 * load() treats a missing file as a first start (false) and throws any
 * other error (a corrupt file is never loaded partly: move it away);
 * save() writes it atomically.
 */
export function stateFile(path) {
  return {
    path,
    load(guard) {
      try {
        loadGuard(guard, path);
        return true;
      } catch (e) {
        if (e.code === ERR.IO && e.syscallCode === 'ENOENT') return false;
        throw e;
      }
    },
    save(guard) { saveGuard(guard, path); },
  };
}
