// Benchmark (not a test): seal+open per second of this package against the
// C library, on the same payloads (64 B, 1 KiB, 16 KiB), every mode, in one
// run. The C side is tests/bench/bench_lib --only envelope (e2e_seal +
// e2e_open with a keyring and trust set, no replay guard, topic
// "sensors/building-7/floor-3/temperature"); the JS side does the same with
// Sender.seal + Receiver.open (no guard), timed here the same way: the
// median over --runs runs of at least --min-ms each.
//
//   node bench/bench.js --bench-lib BUILD/tests/bench/bench_lib [--runs N] [--min-ms MS] [--quick]
//   make -C BUILD bench-js
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring, Receiver, Sender, Signer, Trust } from '../src/index.js';

const TOPIC = 'sensors/building-7/floor-3/temperature';
const SIZES = [64, 1024, 16384];
// bench_lib's names: [mode, suite (null: signature only), signed]
const MODES = [['aead', 'aead', false], ['mac', 'mac', false], ['aead+sig', 'aead', true],
  ['mac+sig', 'mac', true], ['sig', null, true]];

function options(argv) {
  const o = { benchLib: null, runs: 5, minMs: 200 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--bench-lib') o.benchLib = argv[++i];
    else if (argv[i] === '--runs') o.runs = Number(argv[++i]);
    else if (argv[i] === '--min-ms') o.minMs = Number(argv[++i]);
    else if (argv[i] === '--quick') { o.runs = 3; o.minMs = 50; }
    else throw new Error(`usage: bench.js --bench-lib PATH [--runs N] [--min-ms MS] [--quick] (not ${argv[i]})`);
  }
  if (!o.benchLib) throw new Error('--bench-lib PATH (the built tests/bench/bench_lib) is needed');
  return o;
}

/** C: nanoseconds per seal+open by mode and size, from bench_lib's CSV. */
function cFigures(o) {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-bench-js-'));
  try {
    const csv = join(dir, 'lib.csv');
    const args = ['--only', 'envelope', '--runs', String(o.runs), '--min-ms', String(o.minMs), '--csv', csv];
    for (const n of SIZES) args.push('--size', String(n));
    execFileSync(o.benchLib, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    const ns = {};
    for (const line of readFileSync(csv, 'utf8').split('\n')) {
      const c = line.split(',');
      if (c[0] === 'lib' && c[2] === 'seal+open') ns[`${c[1]} ${c[3]}`] = Number(c[4]);
    }
    return ns;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** JS: nanoseconds per seal+open, the median of runs of at least minMs. */
function jsFigure(mode, n, o) {
  const [, suite, signed] = mode;
  const signer = signed ? Signer.generate() : null;
  const keyring = suite ? new Keyring() : null;
  if (keyring) keyring.generate({ suite });
  const trust = new Trust();
  if (signer) trust.add(signer.publicKey, 'sensors/#');
  const sender = new Sender(signer ? { signer, epoch: 1 } : { epoch: 1 });
  const receiver = new Receiver({ keyring, trust });
  const payload = new Uint8Array(n).map((_, i) => (i * 151) & 255);
  const once = () => receiver.open(TOPIC, sender.seal(keyring, TOPIC, payload));
  for (let i = 0; i < 50; i++) once(); // warm up the JIT
  const per = [];
  for (let r = 0; r < o.runs; r++) {
    let iters = 0;
    const t0 = process.hrtime.bigint();
    let t = t0;
    do {
      for (let i = 0; i < 16; i++) once();
      iters += 16;
      t = process.hrtime.bigint();
    } while (Number(t - t0) < o.minMs * 1e6);
    per.push(Number(t - t0) / iters);
  }
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)];
}

const o = options(process.argv.slice(2));
const load = loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`bench.js: node ${process.version}, ${cpus().length} CPUs (${cpus()[0].model}), load average ${load}`);
console.log(`${o.runs} runs of >= ${o.minMs} ms each, median; seal+open per second, no replay guard`);
const c = cFigures(o);
console.log(`${'mode'.padEnd(9)} ${'bytes'.padStart(6)} ${'C /s'.padStart(10)} ${'JS /s'.padStart(10)} ${'C/JS'.padStart(7)}`);
for (const mode of MODES) {
  for (const n of SIZES) {
    const cns = c[`${mode[0]} ${n}`];
    const jns = jsFigure(mode, n, o);
    const cps = 1e9 / cns;
    const jps = 1e9 / jns;
    console.log(`${mode[0].padEnd(9)} ${String(n).padStart(6)} ${cps.toFixed(0).padStart(10)} ${jps.toFixed(0).padStart(10)} ${(cps / jps).toFixed(1).padStart(7)}`);
  }
}
console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
