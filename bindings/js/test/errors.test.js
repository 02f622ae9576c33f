// The error table is the C library's: same values, names, reason tokens
// and messages as E2E_ERRNO_MAP in libe2e/include/e2e.h.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERR, errName, errorTable, reason } from '../src/index.js';
import { SRCDIR } from './helpers.js';

function headerTable() {
  const h = readFileSync(join(SRCDIR, 'libe2e', 'include', 'e2e.h'), 'utf8');
  const map = h.slice(h.indexOf('#define E2E_ERRNO_MAP(XX)'), h.indexOf('typedef enum e2e_err'));
  const flat = map.replace(/\\\n/g, ' ');
  const rows = [];
  for (const m of flat.matchAll(/XX\((\w+),\s*(-?\d+),\s*"([^"]*)",\s*((?:"[^"]*"\s*)+)\)/g)) {
    const msg = [...m[4].matchAll(/"([^"]*)"/g)].map((x) => x[1]).join('');
    rows.push([Number(m[2]), `E2E_${m[1]}`, m[3], msg]);
  }
  return rows;
}

test('every error of e2e.h has the same value, name, reason and message in JS', () => {
  const rows = headerTable();
  assert.ok(rows.length >= 43, `read ${rows.length} rows from e2e.h`);
  assert.deepEqual(errorTable(), rows);
});

test('ERR names the values without the E2E_ERR_ prefix', () => {
  assert.equal(ERR.BAD_TAG, -22);
  assert.equal(ERR.NOT_SUBSCRIBED, -41);
  assert.equal(errName(ERR.BAD_TAG), 'E2E_ERR_BAD_TAG');
  assert.equal(reason(ERR.NOT_SUBSCRIBED), 'not-subscribed');
  assert.equal(reason(-1000), 'unknown');
  assert.equal(errName(-1000), 'E2E_ERR_UNKNOWN');
});
