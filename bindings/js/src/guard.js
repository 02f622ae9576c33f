// The replay guard (docs/ENVELOPE.md section 7) and its state file
// (docs/REPLAY-STATE.md), written from those documents and checked against
// the C library's guard (tests/vectors/guard-cases.json, shared by both
// suites, and state files handed between a JS and a C subscriber).
// Browser-safe: saving and loading files is in 'libe2e/node'.
//
// Per sender: the highest accepted sequence number (top), the window as a
// BigInt of `window` bits in the state file's order (the most significant
// bit, window - 1, is top; bit window - 1 - i says whether top - i was
// accepted; a slide is a right shift), the largest accepted
// timestamp and the eviction floor in force when the entry was made. Sender
// entries and retained-topic records come in two classes, unsigned and
// signed, each kept in a Map in recency order (least recent first: a Map
// iterates in insertion order, and a touch deletes and re-inserts), which
// is the state file's order too. Signers evicted leave a high-water mark.
import { blake2b } from '@noble/hashes/blake2b';
import { ERR, E2EError, fail } from './errors.js';
import { toHex } from './bytes.js';
import { topicBytes } from './topic.js';

export const GUARD_DEFAULTS = Object.freeze({
  window: 256,
  maxSenders: 4096,
  maxRetainedTopics: 4096,
  maxAge: 300,
  maxSkew: 30,
  acceptNoClock: false,
  maxRetainedAge: 0,
});

const WINDOW_MAX = 65536;
const ITEMS_MAX = 1 << 24;
const U32_MAX = 0xffffffff;
const STATE_MAGIC = 'libe2e-replay-state ';
export const STATE_MAX_BYTES = 1 << 30;
const UNSIGNED = 0;
const SIGNED = 1;
const FLOOR_NAMES = ['floor', 'signed-floor', 'retained-floor', 'signed-retained-floor'];
const SENDER_SECTIONS = ['senders', 'signed-senders'];
const TOPIC_SECTIONS = ['topics', 'signed-topics'];

/** A state file that does not load: line is 1-based, 0 for the whole file. */
export class StateFileError extends E2EError {
  constructor(code, line, detail) {
    super(code, detail);
    this.name = 'StateFileError';
    this.line = line;
  }
}

function systemNow() {
  return Math.floor(Date.now() / 1000);
}

function u32Option(v, name, min, max) {
  if (!Number.isInteger(v) || v < min || v > max) fail(ERR.INVAL, `${name} must be an integer in ${min}..${max}`);
  return v;
}

function normalizeOptions(o = {}) {
  const known = Object.keys(GUARD_DEFAULTS);
  for (const k of Object.keys(o)) if (!known.includes(k)) fail(ERR.INVAL, `unknown guard option ${k}`);
  const r = { ...GUARD_DEFAULTS, ...o };
  u32Option(r.window, 'window', 64, WINDOW_MAX);
  if (r.window % 64 !== 0) fail(ERR.INVAL, 'window must be a multiple of 64');
  u32Option(r.maxSenders, 'maxSenders', 1, ITEMS_MAX);
  u32Option(r.maxRetainedTopics, 'maxRetainedTopics', 1, ITEMS_MAX);
  u32Option(r.maxAge, 'maxAge', 0, U32_MAX);
  u32Option(r.maxSkew, 'maxSkew', 0, U32_MAX);
  u32Option(r.maxRetainedAge, 'maxRetainedAge', 0, U32_MAX);
  r.acceptNoClock = Boolean(r.acceptNoClock);
  return Object.freeze(r);
}

/** ts, or now when ts is ahead of it (no floor or record passes the clock). */
function clampNow(ts, now) {
  return ts > now ? now : ts;
}

function topicDigest(topic) {
  return toHex(blake2b(topicBytes(topic, false), { dkLen: 16 }));
}

function classOf(info) {
  return info.signed ? SIGNED : UNSIGNED;
}

/** The mutable part of a guard: what the state file holds. */
class State {
  constructor() {
    this.senders = [new Map(), new Map()]; // id (BigInt) -> entry, least recent first
    this.topics = [new Map(), new Map()]; // digest hex -> record
    this.floor = [0, 0]; // eviction floors
    this.retainedFloor = [0, 0];
    this.marks = new Map(); // signer id -> top, in the order made
    this.marksLost = false;
  }
}

/**
 * The replay guard: windows, max age, future skew, first contact, retained
 * rules, bounded tables with classes, floors and signers' marks, exactly
 * as the C library's e2e_guard. Options (camelCase of e2e_guard_opts):
 * window (multiple of 64, 64..65536), maxSenders, maxRetainedTopics
 * (1..2^24), maxAge (s, 0: none), maxSkew (s), maxRetainedAge (s, 0: none),
 * acceptNoClock (trust on first use for clockless senders).
 */
export class Guard {
  #o;
  #mask;
  #s;

  constructor(opts = {}) {
    this.#o = normalizeOptions(opts);
    this.#mask = (1n << BigInt(this.#o.window)) - 1n;
    this.#s = new State();
  }

  get options() { return this.#o; }

  get senderCount() { return this.#s.senders[0].size + this.#s.senders[1].size; }

  get topicCount() { return this.#s.topics[0].size + this.#s.topics[1].size; }

  // ---- lookups ----

  #sender(st, id) {
    return st.senders[UNSIGNED].get(id) ?? st.senders[SIGNED].get(id) ?? null;
  }

  #topic(st, d) {
    return st.topics[UNSIGNED].get(d) ?? st.topics[SIGNED].get(d) ?? null;
  }

  // ---- the two classes ----

  /** The class whose least recent item a newcomer of class c replaces. */
  static #victimClass(maps, cap, c) {
    const share = c === SIGNED ? Math.floor(cap / 2) : cap - Math.floor(cap / 2);
    let v = maps[c].size >= share ? c : 1 - c;
    if (maps[v].size === 0) v = 1 - v;
    return v;
  }

  static #takeOldest(map) {
    const [key, item] = map.entries().next().value;
    map.delete(key);
    return item;
  }

  #markRaise(st, id, top) {
    const m = st.marks.get(id);
    if (m !== undefined) {
      if (top > m) st.marks.set(id, top);
      return;
    }
    if (st.marks.size === this.#o.maxSenders) {
      st.marksLost = true;
      return;
    }
    st.marks.set(id, top);
  }

  /** A new entry (most recent of its class), evicting when the table is full. */
  #senderAdd(st, id, cls, now) {
    const floor = st.floor[cls]; // from before this eviction: covers its own past
    if (st.senders[0].size + st.senders[1].size >= this.#o.maxSenders) {
      const v = Guard.#victimClass(st.senders, this.#o.maxSenders, cls);
      const e = Guard.#takeOldest(st.senders[v]);
      const f = clampNow(e.maxTs, now);
      if (f > st.floor[v]) st.floor[v] = f;
      if (v === SIGNED) this.#markRaise(st, e.id, e.top);
    }
    const e = { id, top: 0n, bits: 0n, maxTs: 0, floor, cls };
    st.senders[cls].set(id, e);
    return e;
  }

  #topicAdd(st, d, cls, now) {
    if (st.topics[0].size + st.topics[1].size >= this.#o.maxRetainedTopics) {
      const v = Guard.#victimClass(st.topics, this.#o.maxRetainedTopics, cls);
      const r = Guard.#takeOldest(st.topics[v]);
      const f = clampNow(r.ts, now);
      if (f > st.retainedFloor[v]) st.retainedFloor[v] = f;
    }
    const r = { digest: d, sender: 0n, seq: 0n, ts: 0, cls };
    st.topics[cls].set(d, r);
    return r;
  }

  static #touch(map, key, item) {
    map.delete(key);
    map.set(key, item);
  }

  // ---- the window ----

  #bit(e, seq) {
    return BigInt(this.#o.window) - 1n - (e.top - seq);
  }

  #seen(e, seq) {
    return ((e.bits >> this.#bit(e, seq)) & 1n) === 1n;
  }

  #windowVerdict(e, seq) {
    if (seq > e.top) return ERR.OK;
    if (e.top - seq >= BigInt(this.#o.window) || this.#seen(e, seq)) return ERR.REPLAY;
    return ERR.OK;
  }

  #windowRecord(e, seq) {
    const w = BigInt(this.#o.window);
    if (seq > e.top) {
      const d = seq - e.top;
      e.bits = d >= w ? 0n : e.bits >> d;
      e.top = seq;
    } else if (e.top - seq >= w) {
      return;
    }
    e.bits |= 1n << this.#bit(e, seq);
  }

  // ---- check ----

  static #isStale(r, info) {
    if (info.timestamp !== 0 && info.timestamp < r.ts) return true; // 0: not comparable
    return r.sender === info.senderId && info.seq < r.seq;
  }

  #topicVerdict(info, d) {
    const st = this.#s;
    const r = this.#topic(st, d);
    if (r === null) {
      // Maybe evicted: nothing older than what evictions forgot. A signed
      // delivery answers to the signed floor only.
      let floor = st.retainedFloor[SIGNED];
      if (!info.signed && st.retainedFloor[UNSIGNED] > floor) floor = st.retainedFloor[UNSIGNED];
      return info.timestamp !== 0 && info.timestamp < floor ? ERR.STALE_RETAINED : ERR.OK;
    }
    if (r.sender === info.senderId && r.seq === info.seq) return ERR.REPLAY;
    return Guard.#isStale(r, info) ? ERR.STALE_RETAINED : ERR.OK;
  }

  #timeVerdict(info, e, retained, now) {
    const o = this.#o;
    const st = this.#s;
    const ts = info.timestamp;
    if (ts === 0) {
      if (e === null && !o.acceptNoClock) return ERR.NO_TIMESTAMP;
      if (e === null && !retained && info.signed && st.marksLost && !st.marks.has(info.senderId)) {
        return ERR.NO_TIMESTAMP;
      }
      return ERR.OK;
    }
    if (!retained && o.maxAge !== 0 && now > ts && now - ts > o.maxAge) return ERR.TOO_OLD;
    if (retained && o.maxRetainedAge !== 0 && now > ts && now - ts > o.maxRetainedAge) return ERR.TOO_OLD;
    if (ts > now && ts - now > o.maxSkew) return ERR.FUTURE;
    const floor = e === null ? st.floor[classOf(info)] : e.floor;
    if (!retained && ts <= floor) return ERR.TOO_OLD;
    return ERR.OK;
  }

  /**
   * The replay pre-check and time window, changing nothing: ERR.OK (0) or
   * ERR.REPLAY, TOO_OLD, FUTURE, NO_TIMESTAMP, NOT_RETAINED, STALE_RETAINED.
   * info: a parsed header ({senderId, seq (BigInt), timestamp, signed,
   * retained}); retained: delivered with the retain flag; now: Unix seconds
   * (absent: the system clock).
   */
  check(info, topic, { retained = false, now } = {}) {
    const t = now ?? systemNow();
    if (retained && !info.retained) return ERR.NOT_RETAINED;
    const st = this.#s;
    const e = this.#sender(st, info.senderId);
    let rc;
    if (retained) {
      rc = this.#topicVerdict(info, topicDigest(topic));
      // Inside the window and seen: delivered already (its record may
      // have been evicted since).
      if (rc === ERR.OK && e !== null && info.seq <= e.top &&
          e.top - info.seq < BigInt(this.#o.window) && this.#seen(e, info.seq)) {
        rc = ERR.REPLAY;
      }
    } else if (e !== null) {
      rc = this.#windowVerdict(e, info.seq);
    } else {
      // A signer forgotten by eviction resumes above its mark.
      const m = info.signed ? st.marks.get(info.senderId) : undefined;
      rc = m !== undefined && info.seq <= m ? ERR.REPLAY : ERR.OK;
    }
    if (rc !== ERR.OK) return rc;
    return this.#timeVerdict(info, e, retained, t);
  }

  // ---- commit ----

  #commitTopic(info, topic, now) {
    const st = this.#s;
    const d = topicDigest(topic);
    const cls = classOf(info);
    let r = this.#topic(st, d);
    if (r === null) {
      r = this.#topicAdd(st, d, cls, now);
    } else {
      // Keep the newest: a live message overtaken must not roll it back.
      if (Guard.#isStale(r, info) || (r.sender === info.senderId && r.seq === info.seq)) return;
      if (cls === SIGNED && r.cls === UNSIGNED) {
        st.topics[UNSIGNED].delete(d);
        r.cls = SIGNED;
        st.topics[SIGNED].set(d, r);
      } else {
        Guard.#touch(st.topics[r.cls], d, r);
      }
    }
    r.sender = info.senderId;
    r.seq = info.seq;
    r.ts = clampNow(info.timestamp, now);
  }

  /** Record an accepted message: only after check() and full verification. */
  commit(info, topic, { retained = false, now } = {}) {
    void retained;
    const t = now ?? systemNow();
    const st = this.#s;
    const cls = classOf(info);
    let e = this.#sender(st, info.senderId);
    if (e === null) {
      e = this.#senderAdd(st, info.senderId, cls, t);
      const m = cls === SIGNED ? st.marks.get(info.senderId) : undefined;
      if (m !== undefined) {
        e.top = m; // resume from the mark: everything up to it seen
        e.bits = this.#mask;
      } else {
        e.top = info.seq;
      }
    } else if (info.signed && e.cls === UNSIGNED) {
      st.senders[UNSIGNED].delete(e.id); // signed from now on
      e.cls = SIGNED;
      st.senders[SIGNED].set(e.id, e);
    } else {
      Guard.#touch(st.senders[e.cls], e.id, e);
    }
    this.#windowRecord(e, info.seq);
    if (info.timestamp > e.maxTs) e.maxTs = info.timestamp;
    if (info.retained && topic != null) this.#commitTopic(info, topic, t);
  }

  // ---- the state file ----

  /** The state file's text (version 2), as e2e_guard_save() writes it. */
  serialize() {
    const st = this.#s;
    const w = this.#o.window;
    const hex64 = (v) => v.toString(16).padStart(16, '0');
    const out = [
      '# libe2e replay state: do not edit, it is checksummed (docs/REPLAY-STATE.md)',
      `${STATE_MAGIC}2`,
      `window ${w}`,
      `floor ${st.floor[0]}`,
      `signed-floor ${st.floor[1]}`,
      `retained-floor ${st.retainedFloor[0]}`,
      `signed-retained-floor ${st.retainedFloor[1]}`,
      `marks-lost ${st.marksLost ? 1 : 0}`,
      `marks ${st.marks.size}`,
    ];
    for (const [id, top] of st.marks) out.push(`m ${hex64(id)} ${hex64(top)}`);
    for (let c = 0; c < 2; c++) {
      out.push(`${SENDER_SECTIONS[c]} ${st.senders[c].size}`);
      for (const e of st.senders[c].values()) {
        out.push(`s ${hex64(e.id)} ${hex64(e.top)} ${e.maxTs} ${e.floor} ${e.bits.toString(16).padStart(w / 4, '0')}`);
      }
    }
    for (let c = 0; c < 2; c++) {
      out.push(`${TOPIC_SECTIONS[c]} ${st.topics[c].size}`);
      for (const r of st.topics[c].values()) out.push(`t ${r.digest} ${hex64(r.sender)} ${hex64(r.seq)} ${r.ts}`);
    }
    const body = out.join('\n') + '\n';
    const sum = toHex(blake2b(new TextEncoder().encode(body), { dkLen: 32 }));
    const text = `${body}checksum ${sum}\n`;
    if (text.length > STATE_MAX_BYTES) fail(ERR.TOO_LARGE, 'state file larger than 1 GiB');
    return text;
  }

  /**
   * Replace the state with a state file's (versions 1 and 2), as
   * e2e_guard_load() does: everything parsed first, swapped in only when
   * valid. Throws StateFileError(ERR.STATE_CORRUPT, line) and leaves the
   * guard unchanged. now: the loader's clock (floors are cut to it).
   */
  load(data, { now } = {}) {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    if (bytes.length === 0) throw new StateFileError(ERR.STATE_CORRUPT, 0, 'the file is empty');
    const st = new State();
    const line = this.#parseState(st, bytes, now ?? systemNow());
    if (line !== 0) throw new StateFileError(ERR.STATE_CORRUPT, line, `line ${line}`);
    this.#s = st;
  }

  /** Parse into st; 0, or the line at fault (docs/REPLAY-STATE.md section 2). */
  #parseState(st, bytes, now) {
    const r = new LineReader(bytes);
    if (!r.next() || r.s.length === 0 || r.s[0] !== '#') return r.line;
    if (!r.next() || r.s.length !== STATE_MAGIC.length + 1 || !r.s.startsWith(STATE_MAGIC)) return r.line;
    const vc = r.s[STATE_MAGIC.length];
    if (vc !== '1' && vc !== '2') return r.line;
    const version = Number(vc);
    const window = r.header('window', WINDOW_MAX);
    if (window === null || window < 64 || window % 64 !== 0) return r.line;
    for (let c = 0; c < (version === 1 ? 1 : 4); c++) {
      const v = r.header(FLOOR_NAMES[c], U32_MAX);
      if (v === null) return r.line;
      if (c < 2) st.floor[c] = clampNow(v, now);
      else st.retainedFloor[c - 2] = clampNow(v, now);
    }
    if (version === 1) {
      st.floor[SIGNED] = st.floor[UNSIGNED];
    } else {
      const lost = r.header('marks-lost', 1);
      if (lost === null) return r.line;
      st.marksLost = lost === 1;
      const count = r.header('marks', U32_MAX);
      if (count === null) return r.line;
      for (let i = 0; i < count; i++) {
        if (!r.next()) return r.line;
        const f = new Fields(r.s);
        if (!f.word('m ')) return r.line;
        const id = f.hex64();
        if (id === null || !f.word(' ')) return r.line;
        const top = f.hex64();
        if (top === null || !f.end() || st.marks.has(id)) return r.line;
        this.#markRaise(st, id, top); // beyond maxSenders: marks lost
      }
    }
    const classes = version === 1 ? 1 : 2;
    for (let c = 0; c < classes; c++) {
      const count = r.header(SENDER_SECTIONS[c], U32_MAX);
      if (count === null) return r.line;
      for (let i = 0; i < count; i++) {
        if (!r.next() || !this.#senderLine(st, r.s, window, c, now)) return r.line;
      }
    }
    for (let c = 0; c < classes; c++) {
      const count = r.header(TOPIC_SECTIONS[c], U32_MAX);
      if (count === null) return r.line;
      for (let i = 0; i < count; i++) {
        if (!r.next() || !this.#topicLine(st, r.s, c, now)) return r.line;
      }
    }
    const start = r.pos;
    if (!r.next()) return r.line;
    const f = new Fields(r.s);
    if (!f.word('checksum ')) return r.line;
    const want = f.hexBytes(32);
    if (want === null || !f.end()) return r.line;
    if (want !== toHex(blake2b(bytes.subarray(0, start), { dkLen: 32 }))) return r.line;
    if (r.pos !== bytes.length) return r.line + 1; // anything after the checksum
    return 0;
  }

  #senderLine(st, s, savedWindow, cls, now) {
    const f = new Fields(s);
    if (!f.word('s ')) return false;
    const id = f.hex64();
    if (id === null || !f.word(' ')) return false;
    const top = f.hex64();
    if (top === null || !f.word(' ')) return false;
    const maxTs = f.dec(U32_MAX);
    if (maxTs === null || !f.word(' ')) return false;
    const floor = f.dec(U32_MAX);
    if (floor === null || !f.word(' ')) return false;
    let saved = 0n;
    for (let m = 0; m < savedWindow / 64; m++) {
      const v = f.hex64();
      if (v === null || (m === 0 && !(v >> 63n))) return false; // the top itself is always seen
      saved = (saved << 64n) | v;
    }
    if (!f.end() || this.#sender(st, id) !== null) return false;
    const e = this.#senderAdd(st, id, cls, now);
    e.top = top;
    e.maxTs = maxTs;
    e.floor = floor;
    // A larger saved window is cut to ours, a smaller one widened with
    // positions marked seen (they lay below it and were refused).
    const w = this.#o.window;
    if (savedWindow >= w) {
      e.bits = saved >> BigInt(savedWindow - w);
    } else {
      const extra = BigInt(w - savedWindow);
      e.bits = (saved << extra) | ((1n << extra) - 1n);
    }
    return true;
  }

  #topicLine(st, s, cls, now) {
    const f = new Fields(s);
    if (!f.word('t ')) return false;
    const d = f.hexBytes(16);
    if (d === null || !f.word(' ')) return false;
    const sender = f.hex64();
    if (sender === null || !f.word(' ')) return false;
    const seq = f.hex64();
    if (seq === null || !f.word(' ')) return false;
    const ts = f.dec(U32_MAX);
    if (ts === null || !f.end() || this.#topic(st, d) !== null) return false;
    const r = this.#topicAdd(st, d, cls, now);
    r.sender = sender;
    r.seq = seq;
    r.ts = ts;
    return true;
  }
}

/** Lines of a state file (bytes as Latin-1 text, one char per byte). */
class LineReader {
  constructor(bytes) {
    this.b = bytes;
    this.pos = 0;
    this.line = 0;
    this.s = '';
  }

  /** Take the next line: false when none, or it lacks its newline or holds a NUL. */
  next() {
    this.line++;
    if (this.pos >= this.b.length) return false;
    const nl = this.b.indexOf(0x0a, this.pos);
    if (nl < 0) return false;
    const lineBytes = this.b.subarray(this.pos, nl);
    if (lineBytes.includes(0)) return false;
    let s = '';
    for (const x of lineBytes) s += String.fromCharCode(x);
    this.s = s;
    this.pos = nl + 1;
    return true;
  }

  /** "name value" with a decimal value at most max; null when not. */
  header(name, max) {
    if (!this.next()) return null;
    const f = new Fields(this.s);
    if (!f.word(name) || !f.word(' ')) return null;
    const v = f.dec(max);
    return v !== null && f.end() ? v : null;
  }
}

/** Field parsers over one line: each consumes or returns null/false. */
class Fields {
  constructor(s) {
    this.s = s;
    this.p = 0;
  }

  end() { return this.p === this.s.length; }

  word(w) {
    if (!this.s.startsWith(w, this.p)) return false;
    this.p += w.length;
    return true;
  }

  /** Decimal, no sign, no leading zeros, at most max. */
  dec(max) {
    const s = this.s;
    let q = this.p;
    const digit = (i) => i < s.length && s[i] >= '0' && s[i] <= '9';
    if (!digit(q) || (s[q] === '0' && digit(q + 1))) return null;
    let v = 0;
    for (; digit(q); q++) {
      v = v * 10 + (s.charCodeAt(q) - 48);
      if (v > max) return null;
    }
    this.p = q;
    return v;
  }

  /** Exactly 16 lowercase hex digits, as a BigInt. */
  hex64() {
    const h = this.s.substr(this.p, 16);
    if (!/^[0-9a-f]{16}$/.test(h)) return null;
    this.p += 16;
    return BigInt('0x' + h);
  }

  /** 2n lowercase hex digits, returned as that text. */
  hexBytes(n) {
    const h = this.s.substr(this.p, 2 * n);
    if (h.length !== 2 * n || !/^[0-9a-f]*$/.test(h)) return null;
    this.p += 2 * n;
    return h;
  }
}
