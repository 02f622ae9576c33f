// MQTT topic names and filters (MQTT 3.1.1 section 4.7, MQTT 5 section
// 4.8.2 for shared subscriptions), as libe2e matches them.
import { ERR, fail } from './errors.js';
import { isBytes, isWellFormed } from './bytes.js';

/** The v1 limit on topic names, in bytes (docs/ENVELOPE.md section 4). */
export const TOPIC_MAX = 4096;
const FILTER_MAX = 65535;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The UTF-8 bytes of a topic as it is bound (string or bytes as received);
 * ERR.TOPIC (bad-topic) when it is empty, longer than 4096 bytes, holds a
 * NUL (which no MQTT topic and no C string can hold) or is not UTF-8; with
 * forSealing, also when it holds a wildcard.
 */
export function topicBytes(topic, forSealing) {
  let b;
  if (typeof topic === 'string') {
    if (!isWellFormed(topic)) fail(ERR.TOPIC, 'topic is not well-formed Unicode');
    b = encoder.encode(topic);
  } else if (isBytes(topic)) {
    b = Uint8Array.from(topic);
    try { decoder.decode(b); } catch { fail(ERR.TOPIC, 'topic is not UTF-8'); }
  } else {
    fail(ERR.INVAL, 'topic must be a string or a Uint8Array');
  }
  if (b.length === 0 || b.length > TOPIC_MAX) fail(ERR.TOPIC);
  if (b.includes(0)) fail(ERR.TOPIC, 'topic holds a NUL');
  if (forSealing && (b.includes(0x2b) || b.includes(0x23))) fail(ERR.TOPIC, 'topic holds a wildcard');
  return b;
}

/** true for a valid filter: '+' and '#' only as whole levels, '#' last. */
export function filterValid(filter) {
  if (typeof filter !== 'string' || filter.length === 0) return false;
  if (encoder.encode(filter).length > FILTER_MAX || !isWellFormed(filter)) return false;
  if (filter.includes('\0') || filter.includes(',')) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i];
    if (l.includes('+') && l !== '+') return false;
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return false;
  }
  return true;
}

/** ERR.INVAL unless filterValid(filter). */
export function filterCheck(filter) {
  if (!filterValid(filter)) fail(ERR.INVAL, `invalid topic filter: ${JSON.stringify(filter)}`);
}

/** true when the topic name matches the filter under MQTT rules. */
export function topicMatches(filter, topic) {
  if (typeof topic !== 'string' || topic === '' || !filterValid(filter)) return false;
  // Wildcards at the first level never match topics starting with '$'.
  if (topic[0] === '$' && (filter[0] === '+' || filter[0] === '#')) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true; // the rest, the parent level included
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * true when a message on topic can be a delivery for the subscription (a
 * filter as given to SUBSCRIBE): "$share/GROUP/FILTER" is matched by its
 * FILTER (GROUP one level without wildcards, FILTER not empty); a malformed
 * subscription matches nothing.
 */
export function subscriptionMatches(subscription, topic) {
  if (typeof subscription !== 'string') return false;
  let filter = subscription;
  if (subscription.startsWith('$share/')) {
    const rest = subscription.slice(7);
    const slash = rest.indexOf('/');
    if (slash <= 0) return false;
    const group = rest.slice(0, slash);
    if (group.includes('+') || group.includes('#')) return false;
    filter = rest.slice(slash + 1);
    if (filter === '') return false;
  }
  return topicMatches(filter, topic);
}

/**
 * Normalise a comma-separated filter list as a trust entry keeps it:
 * blanks (space, tab) around commas dropped, every filter valid, at least
 * one. Returns the filters (array) or null.
 */
export function parseFilterList(list) {
  if (typeof list !== 'string') return null;
  const out = [];
  for (const part of list.split(',')) {
    const f = part.replace(/^[ \t]+|[ \t]+$/g, '');
    if (!filterValid(f)) return null;
    out.push(f);
  }
  return out.length > 0 ? out : null;
}
