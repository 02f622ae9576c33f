// Shared by the Node-RED tests: a Node-RED runtime (node-red-node-test-helper
// on the node-red dev dependency), the nodes, key files made by the built
// e2e-keygen, and bindings/js/test/broker.js (a real mosquitto, the tools).
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOOLS, run } from '../../js/test/broker.js';
import { skipOrFail } from '../../js/test/paths.js';

export { skipOrFail };

const require = createRequire(import.meta.url);
export const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

export const keysNode = require('../nodes/e2e-keys.js');
export const sealNode = require('../nodes/e2e-seal.js');
export const openNode = require('../nodes/e2e-open.js');
export const mqttNode = require('@node-red/nodes/core/network/10-mqtt.js');
export const debugNode = require('@node-red/nodes/core/common/21-debug.js');
export const NODES = [keysNode, sealNode, openNode];

export function tempDir(name) {
  return mkdtempSync(join(tmpdir(), `e2e-nodered-${name}-`));
}

export async function keygen(...args) {
  const r = await run(TOOLS.keygen, args);
  if (r.code !== 0) throw new Error(`e2e-keygen ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}


/** Resolves with the next message node receives; rejects after ms. */
export function nextMessage(node, ms = 10000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no message on ${node.id} within ${ms} ms`)), ms);
    node.once('input', (msg) => { clearTimeout(t); resolve(msg); });
  });
}
