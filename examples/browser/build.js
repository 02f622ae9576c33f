// Bundle app.js with libe2e and MQTT.js (its browser build) into
// dist/app.js: one static ES module next to index.html.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export function bundle() {
  return build({
    entryPoints: [join(here, 'app.js')],
    outfile: join(here, 'dist', 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundle();
