// Where the tree is (no library import: the Node-RED and browser tests take
// broker.js from here without this package's dependencies installed).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const SRCDIR = process.env.top_srcdir || join(HERE, '..', '..', '..');
export const BUILDDIR = process.env.top_builddir || join(SRCDIR, 'build');
export const STRICT = process.env.LIBE2E_TEST_STRICT === '1';

/** A prerequisite is missing: skip, or fail under LIBE2E_TEST_STRICT=1 (CI). */
export function skipOrFail(t, why) {
  if (STRICT) throw new Error(`prerequisite missing (LIBE2E_TEST_STRICT=1): ${why}`);
  t.skip(why);
}
