// Shared by the e2e seal and e2e open nodes (not a node itself).
'use strict';

/** An envelope's header as plain JSON: 64-bit values as decimal strings
 * (msg objects are cloned and shown by the debug node, which has no BigInt). */
function infoFields(info) {
  if (!info) return null;
  return {
    suite: info.suite,
    signed: info.signed,
    retained: info.retained,
    keyId: info.keyId.toString(16).padStart(8, '0'),
    senderId: info.senderId.toString(),
    seq: info.seq.toString(),
    timestamp: info.timestamp,
  };
}

/** The e2e keys config node named by config.keys, or a status + error. */
function keysOf(RED, node, config) {
  const keys = RED.nodes.getNode(config.keys);
  if (!keys) {
    node.status({ fill: 'red', shape: 'ring', text: 'no e2e keys configured' });
    return null;
  }
  if (keys.failure) {
    node.status({ fill: 'red', shape: 'ring', text: 'key files not loaded' });
    return null;
  }
  return keys;
}

module.exports = { infoFields, keysOf };
