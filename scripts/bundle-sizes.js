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
import { gzipSync } from 'node:zlib';
import { build, filesUnder, makeApp, pack, run, ROOT } from './bundler-apps.js';

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
/** Raw and gzipped sizes of some texts, as "raw (gzip)". */
const sizes = (texts) => {
  const raw = texts.reduce((s, t) => s + Buffer.byteLength(t), 0);
  const gz = texts.reduce((s, t) => s + gzipSync(t).length, 0);
  return { raw, gz, text: `${kb(raw)} (${kb(gz)})` };
};
/** The embedded builds are gzipped wasm in base64: strings starting with gzip's magic and method, H4sI (1f 8b 08). */
const WASM_STRING = /(["'`])H4sI[A-Za-z0-9+/=]+\1/g;
/** The training worker's script (sn.worker) is a string starting with the banner scripts/embed-worker.js gives it. */
const WORKER_STRING = /(["'`])\/\*simdnet training worker\*\/(?:\\[\s\S]|(?!\1)[^\\])*\1/g;

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
    const code = sizes(js.map((t) => t.replace(WASM_STRING, '""').replace(WORKER_STRING, '""')));
    const workers = js.flatMap((t) => t.match(WORKER_STRING) ?? []);
    if (workers.length !== 1) throw new Error(`${bundler}: expected the training worker's script once in the bundle, found it ${workers.length} times`);
    const worker = sizes(workers);
    // Vite and webpack put it in a chunk of its own, fetched only when a page calls sn.worker.fit (this app does not).
    const workerSplit = js.some((t) => t.match(WORKER_STRING)?.length === 1 && t.replace(WORKER_STRING, '').length < 1024);
    const builds = js.flatMap((t) => t.match(WASM_STRING) ?? []).map((t) => sizes([t])).sort((a, b) => b.gz - a.gz || b.raw - a.raw);
    // Vite and webpack put each build in a chunk of its own, fetched only when picked; esbuild (no splitting) inlines both.
    const split = js.filter((t) => t.match(WASM_STRING)?.length === 1 && t.replace(WASM_STRING, '').length < 1024).length === builds.length;
    const fetched = { raw: code.raw + (split ? builds[0].raw : builds.reduce((n, b) => n + b.raw, 0)) + (workerSplit ? 0 : worker.raw),
      gz: code.gz + (split ? builds[0].gz : builds.reduce((n, b) => n + b.gz, 0)) + (workerSplit ? 0 : worker.gz) }; // the larger build, when split
    rows.push([bundler, code.text, `${builds.length} × ≤ ${builds[0].text}${split ? ', one fetched' : ', both inline'}`,
      `${worker.text}${workerSplit ? ', a chunk of its own' : ', inline'}`, `${kb(fetched.raw)} (${kb(fetched.gz)})`]);
  }
  const files = ['simdnet.wasm', 'simdnet-relaxed.wasm'].map((f) => readFileSync(join(ROOT, 'build', f)));
  console.log('| bundler | simdnet\'s JavaScript | wasm builds (base64 in JS) | training worker (sn.worker) | a page fetches |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(`\nFor comparison, the .wasm files: ${files.map((b) => `${kb(b.length)} (${kb(gzipSync(b).length)})`).join(' and ')}.`);
} finally {
  await rm(tmp, { recursive: true, force: true });
}
