// "e2e seal": msg.payload (a Buffer, a string as UTF-8, anything else as
// JSON) sealed for msg.topic (or the node's topic) with the config node's
// keyring primary (aead or mac, per the key) and, when the config node has a
// signer, signed; without a keyring: signature only. The retained intent is
// msg.retain, so wire the output to an "mqtt out" node that publishes with
// msg.retain. Out: msg.payload is the envelope (a Buffer), msg.e2e the header.
'use strict';

const { infoFields, keysOf } = require('./common.js');

module.exports = async function (RED) {
  const e2e = await import('libe2e');

  function E2ESealNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const keys = keysOf(RED, node, config);
    const fixedTopic = typeof config.topic === 'string' ? config.topic.trim() : '';
    node.on('input', (msg, send, done) => {
      if (!keys) return done(new Error('e2e seal: no usable e2e keys configuration'));
      const topic = fixedTopic || msg.topic;
      if (typeof topic !== 'string' || topic === '') return done(new Error('e2e seal: no topic (msg.topic or the node\'s topic)'));
      let payload = msg.payload;
      if (payload === undefined || payload === null) payload = new Uint8Array(0);
      else if (!(payload instanceof Uint8Array) && typeof payload !== 'string') payload = JSON.stringify(payload);
      try {
        const env = keys.sender.seal(keys.keyring, topic, payload, { retained: msg.retain === true });
        msg.topic = topic;
        msg.payload = Buffer.from(env.buffer, env.byteOffset, env.byteLength);
        msg.e2e = infoFields(e2e.parse(env));
      } catch (err) {
        node.status({ fill: 'red', shape: 'dot', text: err.reason || 'error' });
        return done(err);
      }
      send(msg);
      done();
    });
  }

  RED.nodes.registerType('e2e-seal', E2ESealNode);
};
