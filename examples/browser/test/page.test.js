// examples/browser in a real headless Chromium (Debian's chromium, driven by
// playwright-core): the page served by a static file server on loopback,
// connected to a mosquitto with a WebSockets listener, both started here;
// e2e-pub (and mosquitto_pub/mosquitto_sub for forgeries and replays)
// publish, the test reads what the page shows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { chromium } from 'playwright-core';
import { TOOLS, missingTools, run, startBroker, waitFor } from '../../../bindings/js/test/broker.js';
import { SRCDIR, skipOrFail } from '../../../bindings/js/test/paths.js';
import { bundle } from '../build.js';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PAGE_DIR = join(SRCDIR, 'examples', 'browser');
const missing = missingTools([CHROMIUM, '/usr/bin/mosquitto_sub']);
let dir;
let broker = null;
let server = null;
let browser = null;
let page = null;
const requests = [];
const sockets = [];
const f = {};

/** The page's own files, read-only, from PAGE_DIR; nothing else. */
function startServer() {
  const types = { '.html': 'text/html', '.js': 'text/javascript' };
  server = createServer((req, res) => {
    const path = normalize(join(PAGE_DIR, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
    if (!path.startsWith(PAGE_DIR + sep) || !types[extname(path)] || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(path)] }).end(readFileSync(path));
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server.address().port)));
}

before(async () => {
  if (missing) return;
  dir = mkdtempSync(join(tmpdir(), 'e2e-browser-'));
  for (const n of ['site.ring', 'other.ring', 'signer.key', 'signer.pub', 'rogue.key', 'rogue.pub', 'trust', 'pub.state']) f[n] = join(dir, n);
  const keygen = async (...a) => assert.equal((await run(TOOLS.keygen, a)).code, 0, a.join(' '));
  await keygen('keyring', 'init', '-K', f['site.ring']);
  await keygen('keyring', 'init', '-K', f['other.ring']);
  await keygen('signer', 'new', '-s', f['signer.key'], '-p', f['signer.pub'], '--no-passphrase');
  await keygen('signer', 'new', '-s', f['rogue.key'], '-p', f['rogue.pub'], '--no-passphrase');
  await keygen('trust', 'add', '--trust', f.trust, '-p', f['signer.pub'], '--topics', 'dash/#');
  await bundle();
  broker = await startBroker(dir, { websockets: true });
  const port = await startServer();
  // Chromium's profile and crash reports in the test's directory, not $HOME.
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'], env: { ...process.env, HOME: dir },
  });
  page = await browser.newPage();
  page.on('request', (r) => requests.push(r.url()));
  page.on('websocket', (w) => sockets.push(w.url()));
  await page.goto(`http://127.0.0.1:${port}/index.html`);
  await page.fill('#url', broker.wsUrl);
  await page.fill('#filter', 'dash/#');
  await page.setInputFiles('#keyring', f['site.ring']);
  await page.setInputFiles('#trust', f.trust);
  await page.click('#connect');
  await page.waitForFunction(() => document.getElementById('status').textContent === 'subscribed', null, { timeout: 15000 });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await new Promise((r) => server.close(r));
  if (broker) await broker.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const shown = (list) => page.$$eval(`#${list} li`, (lis) => lis.map((li) => ({
  topic: li.dataset.topic, reason: li.dataset.reason, signed: li.dataset.signed,
  payload: li.querySelector('.payload')?.textContent,
})));

async function nextShown(list, topic) {
  await page.waitForFunction(([l, t]) => [...document.querySelectorAll(`#${l} li`)].some((li) => li.dataset.topic === t),
    [list, topic], { timeout: 10000 });
  return (await shown(list)).find((r) => r.topic === topic);
}

function e2ePub(topic, message, args) {
  return run(TOOLS.pub, ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '--state', f['pub.state'],
    '-t', topic, '-m', message, ...args]);
}

/** mosquitto_sub for one message on topic: {ready (subscribed), bytes (as published)}. */
function captureOne(topic) {
  const bytes = new Promise((resolve, reject) => {
    execFile('/usr/bin/mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-t', topic, '-C', '1', '-N'],
      { encoding: 'buffer', timeout: 15000 }, (err, out) => (err ? reject(err) : resolve(out)));
  });
  // mosquitto logs each filter of a SUBSCRIBE as "\tFILTER (QoS 1)".
  const ready = waitFor(() => broker.log().includes(`\t${topic} (QoS 1)`), 10000, `mosquitto_sub on ${topic}`);
  return { ready, bytes };
}

async function publishRaw(topic, bytes) {
  const p = join(dir, 'raw.bin');
  writeFileSync(p, bytes);
  const r = await run(TOOLS.mosquittoPub, ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-t', topic, '-f', p]);
  assert.equal(r.code, 0, r.stderr);
}

test('an e2e-pub aead envelope is opened in the page and shown accepted with its payload', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const r = await e2ePub('dash/kitchen', '21.5', ['-K', f['site.ring']]);
  assert.equal(r.code, 0, r.stderr);
  const got = await nextShown('accepted', 'dash/kitchen');
  assert.equal(got.payload, '21.5');
  assert.equal(got.signed, 'false');
});

test('an e2e-pub envelope signed by a trusted signer is shown accepted as signed', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const r = await e2ePub('dash/signed', 'ok', ['-K', f['site.ring'], '--sign', f['signer.key']]);
  assert.equal(r.code, 0, r.stderr);
  const got = await nextShown('accepted', 'dash/signed');
  assert.equal(got.signed, 'true');
});

test('an envelope sealed with another keyring is shown refused as unknown-key', async (t) => {
  if (missing) return skipOrFail(t, missing);
  assert.equal((await e2ePub('dash/other', 'x', ['-K', f['other.ring']])).code, 0);
  assert.equal((await nextShown('refused', 'dash/other')).reason, 'unknown-key');
  assert.ok(!(await shown('accepted')).some((m) => m.topic === 'dash/other'));
});

test('a signature-only envelope by a signer outside the trust file is shown refused as untrusted-signer', async (t) => {
  if (missing) return skipOrFail(t, missing);
  assert.equal((await e2ePub('dash/rogue', 'x', ['--sign', f['rogue.key']])).code, 0);
  assert.equal((await nextShown('refused', 'dash/rogue')).reason, 'untrusted-signer');
});

test('a plain MQTT message is shown refused as not-e2e', async (t) => {
  if (missing) return skipOrFail(t, missing);
  await publishRaw('dash/plain', Buffer.from('99.9'));
  assert.equal((await nextShown('refused', 'dash/plain')).reason, 'not-e2e');
});

test('an e2e-pub envelope with one bit flipped is shown refused as bad-tag, its payload nowhere', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const cap = captureOne('capture/flip');
  await cap.ready;
  assert.equal((await e2ePub('capture/flip', 'genuine', ['-K', f['site.ring']])).code, 0);
  const env = Buffer.from(await cap.bytes);
  env[env.length - 1] ^= 1;
  await publishRaw('dash/flip', env); // moved to a topic the page takes, and tampered
  assert.equal((await nextShown('refused', 'dash/flip')).reason, 'bad-tag');
  assert.ok(!(await page.textContent('body')).includes('genuine'));
});

test('an accepted envelope published again is shown refused as replay', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const cap = captureOne('dash/replayed');
  await cap.ready;
  assert.equal((await e2ePub('dash/replayed', 'first', ['-K', f['site.ring']])).code, 0);
  const env = await cap.bytes;
  await nextShown('accepted', 'dash/replayed');
  await publishRaw('dash/replayed', env);
  assert.equal((await nextShown('refused', 'dash/replayed')).reason, 'replay');
});

test('the page sends the key files nowhere: its only requests are its own files and the broker\'s WebSocket', async (t) => {
  if (missing) return skipOrFail(t, missing);
  const origin = new URL(requests[0]).origin;
  assert.deepEqual([...new Set(requests.filter((u) => !u.endsWith('/favicon.ico')))].sort(),
    [`${origin}/dist/app.js`, `${origin}/index.html`]);
  assert.deepEqual(sockets, [`${broker.wsUrl}/`]);
});
