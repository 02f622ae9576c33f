// "e2e open": msg.payload (the envelope as a Buffer: set the mqtt in node to
// output "a Buffer") opened for msg.topic with the config node's keys and
// replay guard, msg.retain as the broker's retain flag. Output 1: accepted,
// msg.payload the authentic payload (a Buffer, or a UTF-8 string when the
// node says so), msg.e2e the header. Output 2: refused, msg.payload
// {topic, reason, error, message} with the stable reason token e2e-sub
// prints; the envelope's contents (not authentic) are on neither output.
'use strict';

const { infoFields, keysOf } = require('./common.js');

module.exports = async function (RED) {
  const e2e = await import('libe2e');

  function E2EOpenNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const keys = keysOf(RED, node, config);
    let receiver = null;
    if (keys) {
      try {
        receiver = new e2e.Receiver({
          keyring: keys.keyring,
          trust: keys.trust,
          guard: keys.guard,
          requireEncryption: config.requireEncryption === true,
          requireSignature: config.requireSignature === true,
          filters: (config.filters || '').split(/[\s,]+/).filter((f) => f !== ''),
        });
      } catch (err) {
        node.status({ fill: 'red', shape: 'ring', text: 'bad configuration' });
        node.error(`e2e open: ${err.message}`);
      }
    }
    const asString = config.output === 'string';
    let accepted = 0;
    let refused = 0;
    node.on('input', (msg, send, done) => {
      if (!receiver) return done(new Error('e2e open: no usable e2e keys configuration'));
      const topic = msg.topic;
      const env = msg.payload;
      if (typeof topic !== 'string' || !(env instanceof Uint8Array)) {
        return done(new Error('e2e open: needs msg.topic and msg.payload as a Buffer (mqtt in: output "a Buffer")'));
      }
      let opened;
      try {
        opened = receiver.open(topic, env, { retained: msg.retain === true });
      } catch (err) {
        if (!(err instanceof e2e.Rejected)) return done(err);
        refused++;
        // Nothing of the envelope goes on: its payload is not authentic.
        const out = msg;
        out.payload = { topic, reason: err.reason, error: err.errName, message: err.message };
        out.e2e = { rejected: true, reason: err.reason, error: err.errName, header: infoFields(err.info) };
        node.status({ fill: 'yellow', shape: 'dot', text: `${accepted} accepted, ${refused} refused (${err.reason})` });
        send([null, out]);
        return done();
      }
      accepted++;
      keys.changed();
      const p = opened.payload;
      msg.payload = asString ? new TextDecoder().decode(p) : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
      msg.e2e = infoFields(opened.info);
      node.status({ fill: 'green', shape: 'dot', text: `${accepted} accepted, ${refused} refused` });
      send([msg, null]);
      done();
    });
  }

  RED.nodes.registerType('e2e-open', E2EOpenNode);
};
