// The page's script, bundled with its dependencies (libe2e, MQTT.js) into
// dist/app.js by build.js. Connects to the broker over WebSockets, opens
// each message in the page with the keys the user picked (FileReader: the
// files never leave the page), and lists accepted and refused messages live.
import mqtt from 'mqtt';
import { Guard, parseKeyring, parseTrust } from 'libe2e';
import { E2ESubscriber } from 'libe2e/mqtt';

const $ = (id) => document.getElementById(id);
const text = new TextDecoder(); // invalid UTF-8 shown as U+FFFD, never as markup
let client = null;
let sub = null;

function status(s) { $('status').textContent = s; }

function row(topic, fields) {
  const li = document.createElement('li');
  li.dataset.topic = topic;
  for (const [k, v] of Object.entries(fields)) li.dataset[k] = String(v);
  const t = document.createElement('span');
  t.className = 'topic';
  t.textContent = topic;
  li.append(t, ' ');
  return li;
}

function accepted(msg) {
  const i = msg.info;
  const li = row(msg.topic, { suite: i.suite, signed: i.signed, sender: i.senderId, seq: i.seq });
  const p = document.createElement('span');
  p.className = 'payload';
  p.textContent = text.decode(msg.payload);
  li.append(p, ` (${i.suite}${i.signed ? ', signed' : ''}${msg.retained ? ', retained' : ''})`);
  $('accepted').prepend(li);
}

function refused(err) {
  const li = row(err.topic, { reason: err.reason });
  const r = document.createElement('span');
  r.className = 'reason';
  r.textContent = err.reason;
  li.append(r, `: ${err.message}`);
  $('refused').prepend(li);
}

async function readFile(input) {
  const file = input.files && input.files[0];
  return file ? new Uint8Array(await file.arrayBuffer()) : null;
}

async function connect() {
  if (sub) sub.close();
  if (client) client.end(true);
  const ring = await readFile($('keyring'));
  const trustData = await readFile($('trust'));
  let keyring = null;
  let trust = null;
  try {
    if (ring) keyring = parseKeyring(ring);
    if (trustData) trust = parseTrust(trustData);
  } catch (e) {
    status(`key file refused: ${e.message}${e.line ? ` (line ${e.line})` : ''}`);
    return;
  }
  if (!keyring && !trust) {
    status('load a keyring or a trust file first');
    return;
  }
  status('connecting');
  client = mqtt.connect($('url').value, { reconnectPeriod: 2000, connectTimeout: 10000 });
  sub = new E2ESubscriber(client, {
    keyring, trust, guard: new Guard(),
    requireEncryption: $('require-encryption').checked,
    requireSignature: $('require-signature').checked,
    onMessage: accepted,
    onRejected: refused,
    onError: (e) => status(`error: ${e.message}`),
  });
  client.on('error', (e) => status(`error: ${e.message}`));
  client.on('close', () => status('disconnected'));
  client.on('connect', async () => {
    status('connected');
    try {
      await sub.subscribe($('filter').value, { qos: 1 });
      status('subscribed');
    } catch (e) {
      status(`subscribe failed: ${e.message}`);
    }
  });
}

$('setup').addEventListener('submit', (ev) => {
  ev.preventDefault();
  connect();
});
