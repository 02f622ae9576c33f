// Byte helpers: big-endian integers, hex, base64 (RFC 4648 section 4, with
// padding), UTF-8. Browser-safe: no Node modules.
import { ERR, fail } from './errors.js';

export const U64_MAX = (1n << 64n) - 1n;
const encoder = new TextEncoder();

export function isBytes(a) {
  return a instanceof Uint8Array ||
    (ArrayBuffer.isView(a) && a.constructor && a.constructor.name === 'Uint8Array');
}

/** bytes from a Uint8Array (copied) or a string (UTF-8). */
export function toBytes(data, what) {
  if (typeof data === 'string') return utf8(data, what);
  if (isBytes(data)) return Uint8Array.from(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  return fail(ERR.INVAL, `${what} must be a Uint8Array or a string`);
}

/** The UTF-8 bytes of a string; a lone surrogate (not encodable) is refused. */
export function utf8(s, what = 'string') {
  if (typeof s !== 'string') fail(ERR.INVAL, `${what} must be a string`);
  if (!isWellFormed(s)) fail(ERR.INVAL, `${what} is not well-formed Unicode`);
  return encoder.encode(s);
}

export function isWellFormed(s) {
  if (typeof s.isWellFormed === 'function') return s.isWellFormed();
  // Node 18 has no String.prototype.isWellFormed.
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function u16(x) {
  return Uint8Array.of((x >>> 8) & 0xff, x & 0xff);
}

export function u32(x) {
  return Uint8Array.of((x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff);
}

export function u64(x) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(x)));
  return out;
}

export function load32(b, off) {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off);
}

export function load64(b, off) {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off);
}

export function wipe(...arrays) {
  for (const a of arrays) if (a) a.fill(0);
}

// ---- hex ------------------------------------------------------------------

export function toHex(b) {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Exactly two hex digits per byte (either case); null when not hex. */
export function fromHexOrNull(s) {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}

export function fromHex(s) {
  const b = fromHexOrNull(s);
  if (b === null) fail(ERR.INVAL, 'not hex');
  return b;
}

// ---- base64 (standard alphabet, padding, no line breaks) -----------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

export function toBase64(b) {
  let s = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    s += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  if (i < b.length) {
    const n = (b[i] << 16) | ((i + 1 < b.length ? b[i + 1] : 0) << 8);
    s += B64[n >> 18] + B64[(n >> 12) & 63];
    s += i + 1 < b.length ? B64[(n >> 6) & 63] + '=' : '==';
  }
  return s;
}

/**
 * Strict decoding: length a multiple of 4, padding only at the end, and the
 * unused bits of the last character zero (as libsodium's sodium_base642bin
 * with sodium_base64_VARIANT_ORIGINAL). null when it does not decode.
 */
export function fromBase64OrNull(s) {
  if (typeof s !== 'string' || s.length % 4 !== 0) return null;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const body = s.length - pad;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < body; i++) {
    const v = B64_INDEX.get(s[i]);
    if (v === undefined) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  if (acc !== 0) return null; // non-canonical trailing bits
  return o === out.length ? out : null;
}
