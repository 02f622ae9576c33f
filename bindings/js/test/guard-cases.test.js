// tests/vectors/guard-cases.json, the replay guard's cases shared with the
// C suite (tests/unit/test_guard_cases.c): every step gives the listed
// verdict in the JavaScript guard as in the C one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERR, Guard, StateFileError, reason } from '../src/index.js';
import { loadVectors } from './helpers.js';

const doc = loadVectors('guard-cases.json');

/** The file's options (e2e_guard_opts names) as Guard options. */
export function guardOptions(o) {
  const names = {
    window: 'window', max_senders: 'maxSenders', max_retained_topics: 'maxRetainedTopics', max_age: 'maxAge',
    max_skew: 'maxSkew', max_retained_age: 'maxRetainedAge', accept_no_clock: 'acceptNoClock',
  };
  const out = {};
  for (const [k, v] of Object.entries(o)) {
    assert.ok(k in names, `unknown option ${k}`);
    out[names[k]] = v;
  }
  return out;
}

function info(s) {
  return { senderId: BigInt('0x' + s.sender), seq: BigInt('0x' + s.seq), timestamp: s.ts, signed: s.signed, retained: s.retained };
}

function run(c) {
  let g = new Guard(guardOptions(c.guard));
  c.steps.forEach((s, n) => {
    const where = `step ${n + 1} (${s.op})`;
    if (s.op === 'deliver' || s.op === 'check') {
      const i = info(s);
      const opts = { retained: s.delivery === 'retained', now: s.now };
      const rc = g.check(i, s.topic, opts);
      assert.equal(reason(rc), s.expect, where);
      if (s.op === 'deliver' && rc === ERR.OK) g.commit(i, s.topic, opts);
    } else if (s.op === 'count') {
      assert.equal(g.senderCount, s.senders, where);
    } else if (s.op === 'save_load') {
      const text = g.serialize();
      g = new Guard(guardOptions(s.guard || c.guard));
      g.load(text);
    } else if (s.op === 'load') {
      if (s.expect === 'ok') {
        g.load(s.text);
        return;
      }
      assert.throws(() => g.load(s.text), (e) => {
        assert.ok(e instanceof StateFileError, String(e));
        assert.equal(e.reason, s.expect, where);
        assert.equal(e.line, s.line, `${where}: line`);
        return true;
      }, where);
    } else {
      assert.fail(`unknown op ${s.op}`);
    }
  });
}

test('the guard cases have the shape this suite reads', () => {
  assert.equal(doc.version, 1);
  assert.ok(doc.cases.length >= 50);
  assert.deepEqual(guardOptions(doc.defaults), { ...new Guard().options });
});

for (const c of doc.cases) test(c.name, () => run(c));
