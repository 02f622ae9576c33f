// The "e2e keys" config node: the key files one libe2e identity uses (a
// keyring, a trust file, a signer secret key with its passphrase in Node-RED's
// credentials store) and the replay state file. They are read once, when the
// flow starts, with the library's file checks (libe2e/node: secret files with
// group or other access, files others may write, are refused). The replay
// guard lives here, so every "e2e open" node of the identity shares it, and
// so does the Sender of every "e2e seal" node (one sender id, one sequence).
'use strict';

const SAVE_EVERY_MS = 1000; // as e2e-sub --state: at most once a second

module.exports = async function (RED) {
  const e2e = await import('libe2e');
  const files = await import('libe2e/node');

  function E2EKeysNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    node.keyring = null;
    node.trust = null;
    node.signer = null;
    node.guard = new e2e.Guard();
    /** Why the keys could not be loaded (a message for every node using them), or null. */
    node.failure = null;
    const path = (p) => (typeof p === 'string' && p.trim() !== '' ? p.trim() : null);
    const paths = { keyring: path(config.keyring), trust: path(config.trust), signer: path(config.signer), state: path(config.state) };
    node.paths = paths;
    let state = null;
    try {
      if (paths.keyring) node.keyring = files.loadKeyring(paths.keyring);
      if (paths.trust) node.trust = files.loadTrust(paths.trust);
      if (paths.signer) {
        const pass = node.credentials && node.credentials.passphrase ? node.credentials.passphrase : null;
        node.signer = files.loadSigner(paths.signer, pass);
      }
      if (paths.state) {
        state = files.stateFile(paths.state);
        state.load(node.guard); // a missing file is a first start
      }
    } catch (err) {
      const which = err.line ? ` (line ${err.line})` : '';
      node.failure = `${err.message}${which}`;
      node.error(`e2e keys: ${node.failure}`);
    }
    node.sender = new e2e.Sender(node.signer ? { signer: node.signer } : {});

    // Replay state: saved at most once a second after a change, and on close.
    let dirty = false;
    let timer = null;
    const save = () => {
      timer = null;
      if (!state || !dirty) return;
      dirty = false;
      try {
        state.save(node.guard);
      } catch (err) {
        node.error(`e2e keys: cannot save the replay state to ${paths.state}: ${err.message}`);
      }
    };
    /** An accepted message changed the guard. */
    node.changed = () => {
      if (!state) return;
      dirty = true;
      if (!timer) timer = setTimeout(save, SAVE_EVERY_MS);
    };
    node.on('close', (done) => {
      if (timer) clearTimeout(timer);
      save();
      if (node.keyring) node.keyring.wipe();
      done();
    });
  }

  RED.nodes.registerType('e2e-keys', E2EKeysNode, {
    credentials: { passphrase: { type: 'password' } },
  });
};
