// index.d.ts declares every export of the package's main entry point (the
// declarations are hand-written: a new export without one is a defect).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as e2e from '../src/index.js';
import { HERE } from './helpers.js';

test('index.d.ts declares every export of src/index.js', () => {
  const d = readFileSync(join(HERE, '..', 'index.d.ts'), 'utf8');
  const missing = Object.keys(e2e).filter((n) => !new RegExp(`declare (const|function|class) ${n}\\b`).test(d));
  assert.deepEqual(missing, []);
});
