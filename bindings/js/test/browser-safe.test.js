// The core stays browser-safe: only src/node.js may import Node modules,
// and the dependencies are the three pinned noble packages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HERE } from './helpers.js';

const SRC = join(HERE, '..', 'src');

test('no module but src/node.js imports a Node built-in', () => {
  for (const f of readdirSync(SRC).filter((n) => n.endsWith('.js') && n !== 'node.js')) {
    const text = readFileSync(join(SRC, f), 'utf8');
    const imports = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*from\s+'([^']+)'/gm)].map((m) => m[1]);
    for (const spec of imports) {
      assert.ok(spec.startsWith('./') || spec.startsWith('@noble/'), `${f} imports ${spec}`);
    }
    assert.doesNotMatch(text, /\b(require\(|process\.[a-z]|Buffer\.)/, f);
  }
});

test('the dependencies are pinned to exact versions that support Node 18', () => {
  const pkg = JSON.parse(readFileSync(join(HERE, '..', 'package.json'), 'utf8'));
  assert.deepEqual(pkg.dependencies, { '@noble/ciphers': '1.3.0', '@noble/curves': '1.9.7', '@noble/hashes': '1.8.0' });
  assert.equal(pkg.engines.node, '>=18');
  // MQTT.js only for 'libe2e/mqtt', which wraps the caller's client: an
  // optional peer, pinned for the tests (5.x supports Node >= 16).
  assert.deepEqual(pkg.devDependencies, { mqtt: '5.16.0' });
  assert.deepEqual(pkg.peerDependenciesMeta, { mqtt: { optional: true } });
});
