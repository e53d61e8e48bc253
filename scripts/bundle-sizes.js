// `node scripts/bundle-sizes.js`: what simdnet adds to a browser app's bundle with each bundler,
// in bytes and gzipped (zlib's default level, as web servers use). The app is the bundler test's
// (tests/bundler-app/index.js: a small CNN trained with fit and Adam; its own code is under 1 KB),
// built as that test builds it, plus esbuild with --minify. Prints a Markdown table for the README.
// The training worker's script (sn.worker.fit's, a string in the package) is counted apart: Vite
// and webpack split it into a chunk this app never fetches; esbuild without --splitting inlines it.
// Needs `npm run build` first.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { build, filesUnder, makeApp, pack, run, ROOT } from './bundler-apps.js';

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
/** Raw and gzipped sizes of some texts, as "raw (gzip)". */
const sizes = (texts) => {
  const raw = texts.reduce((s, t) => s + Buffer.byteLength(t), 0);
  const gz = texts.reduce((s, t) => s + gzipSync(t).length, 0);
  return { raw, gz, text: `${kb(raw)} (${kb(gz)})` };
};
/**
 * The embedded builds and the training worker's script (sn.worker) are gzipped, in base64: strings
 * starting with gzip's magic and method, H4sI (1f 8b 08). Inflated, a build starts with the wasm
 * magic and the script with the banner scripts/embed-worker.js gives it.
 */
const GZIP_STRING = /(["'`])H4sI[A-Za-z0-9+/=]+\1/g;
/** What a gzipped string is: 'wasm', 'worker' or null (something else); each string inflated once. */
const kinds = new Map();
const kindOf = (s) => {
  if (!kinds.has(s)) {
    const bytes = gunzipSync(Buffer.from(s.slice(1, -1), 'base64'));
    kinds.set(s, bytes.subarray(0, 4).equals(Buffer.from('\0asm', 'latin1')) ? 'wasm'
      : bytes.toString('utf8', 0, 27) === '/*simdnet training worker*/' ? 'worker' : null);
  }
  return kinds.get(s);
};
const isWasm = (s) => kindOf(s) === 'wasm';
const isWorker = (s) => kindOf(s) === 'worker';
/** A bundle's embedded strings of one kind, and its text with them emptied. */
const strings = (t, kind) => t.match(GZIP_STRING)?.filter(kind) ?? [];
const without = (t) => t.replace(GZIP_STRING, (m) => (kindOf(m) ? '""' : m));

const tmp = await mkdtemp(join(tmpdir(), 'simdnet-sizes-'));
try {
  const tarball = await pack(tmp);
  const source = await readFile(join(ROOT, 'tests/bundler-app/index.js'), 'utf8');
  const rows = [];
  for (const bundler of ['vite', 'webpack', 'esbuild', 'esbuild --minify']) {
    const dir = await makeApp(join(tmp, bundler.replace(/\W+/g, '-')), bundler.split(' ')[0], tarball, source);
    let outDir;
    if (bundler === 'esbuild --minify') {
      await run(join(ROOT, 'node_modules/.bin/esbuild'), ['src/index.js', '--bundle', '--platform=browser', '--format=esm', '--minify', '--outfile=dist/main.js'], dir);
      outDir = join(dir, 'dist');
    } else {
      ({ outDir } = await build(dir, bundler));
    }
    const js = [];
    for (const f of (await filesUnder(outDir)).filter((f) => f.endsWith('.js'))) js.push(await readFile(join(outDir, f), 'utf8'));
    // The code, the embedded builds and the training worker apart: the builds are the long base64 strings.
    const code = sizes(js.map(without));
    const workers = js.flatMap((t) => strings(t, isWorker));
    if (workers.length !== 1) throw new Error(`${bundler}: expected the training worker's script once in the bundle, found it ${workers.length} times`);
    const worker = sizes(workers);
    // Vite and webpack put it in a chunk of its own, fetched only when a page calls sn.worker.fit (this app does not).
    const alone = (t, kind) => strings(t, kind).length === 1 && without(t).length < 1024;
    const workerSplit = js.some((t) => alone(t, isWorker));
    const builds = js.flatMap((t) => strings(t, isWasm)).map((t) => sizes([t])).sort((a, b) => b.gz - a.gz || b.raw - a.raw);
    // Vite and webpack put each build in a chunk of its own, fetched only when picked; esbuild (no splitting) inlines both.
    const split = js.filter((t) => alone(t, isWasm)).length === builds.length;
    const fetched = { raw: code.raw + (split ? builds[0].raw : builds.reduce((n, b) => n + b.raw, 0)) + (workerSplit ? 0 : worker.raw),
      gz: code.gz + (split ? builds[0].gz : builds.reduce((n, b) => n + b.gz, 0)) + (workerSplit ? 0 : worker.gz) }; // the larger build, when split
    rows.push([bundler, code.text, `${builds.length} × ≤ ${builds[0].text}${split ? ', one fetched' : ', both inline'}`,
      `${worker.text}${workerSplit ? ', a chunk of its own' : ', inline'}`, `${kb(fetched.raw)} (${kb(fetched.gz)})`]);
  }
  const files = ['simdnet.wasm', 'simdnet-relaxed.wasm'].map((f) => readFileSync(join(ROOT, 'build', f)));
  console.log('| bundler | simdnet\'s JavaScript | wasm builds (gzipped, base64 in JS) | training worker (sn.worker, gzipped, base64) | a page fetches |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(`\nFor comparison, the .wasm files: ${files.map((b) => `${kb(b.length)} (${kb(gzipSync(b).length)})`).join(' and ')}.`);
} finally {
  await rm(tmp, { recursive: true, force: true });
}
