// A browser app with `import * as sn from 'simdnet'`, built as a user would: the package as
// `npm pack` makes it, extracted into a throwaway app's node_modules (no registry), bundled with
// the default configuration of Vite (build, and its dev server), webpack 5 and esbuild (also
// `simdnet/browser`), served on 127.0.0.1 and opened in Debian's Chromium, where it trains a small
// CNN: the loss falls, no request fails or 404s, no page error. Two more apps load the wasm as
// separate files the way the README shows for Vite and webpack. A third app imports only what it
// uses, by name, and loads a model file that names every built-in layer type: the bundlers'
// tree shaking must keep the layers, which register themselves for the loader. Three more (Vite,
// webpack, esbuild) train in a Web Worker with sn.worker.fit and get the model back, the same as
// fit's on the page: the worker's script must come along with no setting. The builds run side by side.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, filesUnder, makeApp, pack, startViteDev, ROOT } from '../scripts/bundler-apps.js';
import { serveStatic } from '../scripts/static-server.js';
import { inChromium } from './chromium.js';

// Guards against a hung build, browser or page, not speed checks: the whole test takes about 10 s.
const STEP_TIMEOUT_MS = 30_000;
const TEST_TIMEOUT_MS = 90_000;

/** Opens `url`, waits for the app's result; returns it with the page's problems and requests. */
async function openApp(page, url) {
  const problems = [], requests = [];
  const onResponse = (res) => {
    requests.push(new URL(res.url()).pathname);
    if (res.status() >= 400) problems.push(`HTTP ${res.status()} for ${res.url()}`);
  };
  const onError = (err) => problems.push(`page error: ${err.message}`);
  page.on('response', onResponse);
  page.on('pageerror', onError);
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.simdnetResult !== undefined);
    return { result: await page.evaluate(() => window.simdnetResult), problems, requests };
  } finally {
    page.off('response', onResponse);
    page.off('pageerror', onError);
  }
}

/** No Node module made it into a bundle (as an import, or as a bundler's empty stand-in). */
async function assertNoNodeModules(dir, what) {
  for (const file of (await filesUnder(dir)).filter((f) => f.endsWith('.js'))) {
    const text = await readFile(join(dir, file), 'utf8');
    assert.not.match(text, /["'](node:)?(fs|fs\/promises|path|v8|module)["']/, `${what}: ${file} refers to a Node module`);
    assert.not.match(text, /__vite-browser-external/, `${what}: ${file} has Vite's stand-in for a Node module`);
  }
}

await sn.ready();

/** A model naming every built-in layer type (the test checks it still does), in eval mode; input [N, 2, 6, 6]. */
function everyLayerModel() {
  sn.manualSeed(3);
  const model = new sn.Sequential(
    new sn.Conv2d(2, 4, 3, { padding: 1 }), new sn.BatchNorm2d(4), new sn.ReLU(), new sn.Dropout2d(0.2), new sn.MaxPool2d(2),
    new sn.Sequential(new sn.ReLU6(), new sn.Hardswish(), new sn.SiLU(), new sn.GELU(), new sn.GELU({ approximate: 'tanh' }),
      new sn.ELU(0.5), new sn.LeakyReLU(0.1), new sn.Identity(), new sn.Tanh()),
    new sn.AvgPool2d(1), new sn.AdaptiveAvgPool2d(2), new sn.Flatten(), new sn.Dropout(0.1), new sn.Linear(16, 8),
    new sn.BatchNorm1d(8), new sn.Sigmoid(), new sn.Linear(8, 5), new sn.Softmax(1), new sn.LogSoftmax(1));
  // Running statistics that are not the initial ones, so the file carries them.
  model.forward(sn.tensor(Float32Array.from({ length: 4 * 72 }, (_, i) => Math.cos(i)), [4, 2, 6, 6]));
  return model.eval();
}

test('Vite (build and dev server), webpack and esbuild bundle simdnet with no configuration, and the app trains in Chromium', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'simdnet-bundlers-'));
  const servers = [];
  try {
    const tarball = await pack(tmp);
    const source = await readFile(join(ROOT, 'tests/bundler-app/index.js'), 'utf8');
    const browserEntry = source.replace("from 'simdnet';", "from 'simdnet/browser';");
    assert.ok(browserEntry !== source);
    // The same app loading the wasm as separate files, as the README shows for Vite and webpack.
    const withFiles = (urls) => `${urls}\n${source.replace('await sn.ready();', 'await sn.ready({ wasm: { simd, relaxedSimd } });')}`;
    const viteFilesSource = withFiles("import simd from 'simdnet/simdnet.wasm?url';\nimport relaxedSimd from 'simdnet/simdnet-relaxed.wasm?url';");
    const webpackFilesSource = withFiles("const simd = new URL('simdnet/simdnet.wasm', import.meta.url);\n" +
      "const relaxedSimd = new URL('simdnet/simdnet-relaxed.wasm', import.meta.url);");
    assert.ok(viteFilesSource.includes('sn.ready({ wasm: { simd, relaxedSimd } })'));
    // The app that imports by name and loads a model file, and what the model gives here.
    const loadSource = await readFile(join(ROOT, 'tests/bundler-app/load.js'), 'utf8');
    const workerSource = await readFile(join(ROOT, 'tests/bundler-app/worker.js'), 'utf8');
    const model = everyLayerModel();
    const named = new Set();
    const walk = (m) => { named.add(sn.io.layerTypeOf(m)); for (const [, c] of m.children()) walk(c); };
    walk(model);
    assert.equal([...named].sort(), [...sn.io.LAYER_TYPES], 'the model names every built-in layer type');
    const modelBytes = model.toSafetensors();
    const x = sn.tensor(Float32Array.from({ length: 2 * 2 * 6 * 6 }, (_, i) => Math.sin(i * 0.7) * 2), [2, 2, 6, 6]);
    const expected = { description: String(model), output: Array.from(model.forward(x).toArray()) };
    model.dispose();
    const [vite, webpack, esbuild, viteFiles, webpackFiles, viteLoad, webpackLoad, esbuildLoad, viteWorker, webpackWorker, esbuildWorker] = await Promise.all([
      makeApp(join(tmp, 'vite'), 'vite', tarball, source),
      makeApp(join(tmp, 'webpack'), 'webpack', tarball, source),
      makeApp(join(tmp, 'esbuild'), 'esbuild', tarball, source, {
        'src/browser.js': browserEntry,
        'dist/browser.html': '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><script type="module" src="browser.js"></script></body></html>\n',
      }),
      makeApp(join(tmp, 'vite-files'), 'vite', tarball, viteFilesSource),
      makeApp(join(tmp, 'webpack-files'), 'webpack', tarball, webpackFilesSource),
      makeApp(join(tmp, 'vite-load'), 'vite', tarball, loadSource),
      makeApp(join(tmp, 'webpack-load'), 'webpack', tarball, loadSource),
      makeApp(join(tmp, 'esbuild-load'), 'esbuild', tarball, loadSource),
      makeApp(join(tmp, 'vite-worker'), 'vite', tarball, workerSource),
      makeApp(join(tmp, 'webpack-worker'), 'webpack', tarball, workerSource),
      makeApp(join(tmp, 'esbuild-worker'), 'esbuild', tarball, workerSource),
    ]);
    // The dev server starts while the builds run; it pre-bundles simdnet on its own.
    const settled = await Promise.allSettled([
      build(vite, 'vite'),
      build(webpack, 'webpack'),
      build(esbuild, 'esbuild', { esbuildEntries: { 'index.js': 'main.js', 'browser.js': 'browser.js' } }),
      startViteDev(vite),
      build(viteFiles, 'vite'),
      build(webpackFiles, 'webpack'),
      build(viteLoad, 'vite'),
      build(webpackLoad, 'webpack'),
      build(esbuildLoad, 'esbuild'),
      build(viteWorker, 'vite'),
      build(webpackWorker, 'webpack'),
      build(esbuildWorker, 'esbuild'),
    ]);
    if (settled[3].status === 'fulfilled') servers.push(settled[3].value); // closed below, whatever else failed
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const [viteBuild, webpackBuild, esbuildBuild, viteDev, viteFilesBuild, webpackFilesBuild, ...rest] = settled.map((s) => s.value);
    const loadBuilds = rest.slice(0, 3), workerBuilds = rest.slice(3);

    // Clean builds: no warning from any bundler (webpack's "request of a dependency is an
    // expression", Vite's "externalized for browser compatibility", esbuild's own).
    for (const b of [webpackBuild, webpackFilesBuild, loadBuilds[1], workerBuilds[1]]) {
      assert.not.match(b.log, /WARNING|ERROR/, b.log);
      assert.match(b.log, /compiled successfully/, b.log);
    }
    for (const b of [viteBuild, viteFilesBuild, loadBuilds[0], workerBuilds[0]]) assert.not.match(b.log, /warn|externalized|error/i, b.log);
    for (const b of [esbuildBuild, loadBuilds[2], workerBuilds[2]]) assert.not.match(b.log, /warning|error/i, b.log);
    const built = [viteBuild, webpackBuild, esbuildBuild, viteFilesBuild, webpackFilesBuild, ...loadBuilds, ...workerBuilds];
    for (const b of built) await assertNoNodeModules(b.outDir, b.outDir);
    for (const b of loadBuilds) await writeFile(join(b.outDir, 'model.safetensors'), modelBytes);

    for (const b of built) {
      const server = await serveStatic(b.outDir);
      servers.push(server);
      b.origin = server.origin;
    }
    const apps = {
      'Vite build': `${viteBuild.origin}/`,
      'Vite dev server': `${viteDev.origin}/`,
      'webpack': `${webpackBuild.origin}/`,
      'esbuild': `${esbuildBuild.origin}/`,
      'esbuild, simdnet/browser': `${esbuildBuild.origin}/browser.html`,
      'Vite build, wasm as files': `${viteFilesBuild.origin}/`,
      'webpack, wasm as files': `${webpackFilesBuild.origin}/`,
    };
    const loadApps = { 'Vite build, named imports': loadBuilds[0], 'webpack, named imports': loadBuilds[1], 'esbuild, named imports': loadBuilds[2] };
    const workerApps = { 'Vite build, worker.fit': workerBuilds[0], 'webpack, worker.fit': workerBuilds[1], 'esbuild, worker.fit': workerBuilds[2] };
    const asFiles = (name) => name.endsWith('wasm as files');
    const { out, problems } = await inChromium('the bundler test', { stepTimeoutMs: STEP_TIMEOUT_MS, testTimeoutMs: TEST_TIMEOUT_MS }, async (page) => {
      const runs = {};
      for (const [name, url] of Object.entries(apps)) runs[name] = await openApp(page, url);
      for (const [name, b] of Object.entries(loadApps)) runs[name] = await openApp(page, `${b.origin}/`);
      for (const [name, b] of Object.entries(workerApps)) runs[name] = await openApp(page, `${b.origin}/`);
      return runs;
    });
    assert.equal(problems, [], problems.join('\n'));
    assert.equal(Object.keys(out), [...Object.keys(apps), ...Object.keys(loadApps), ...Object.keys(workerApps)]);
    // sn.worker.fit from a bundle: the worker started, trained, and sent back fit's weights.
    for (const name of Object.keys(workerApps)) {
      const { result, problems: pageProblems } = out[name];
      const report = `${name}: ${JSON.stringify(result)}`;
      assert.is(result.error, undefined, `${name}: ${result.error}`);
      assert.equal(pageProblems, [], `${name}: ${pageProblems.join('\n')}`);
      assert.is(result.losses.length, 4, report);
      assert.ok(result.losses[3] < 0.8 * result.losses[0], `${name}: the loss did not fall: ${report}`);
      assert.is(result.sameWeights, true, `${name}: the worker's weights differ from fit's: ${report}`);
      assert.is(result.workerInfo.relaxedSimd, true, report);
      delete out[name];
    }
    // sn.load in a tree-shaken bundle rebuilt every layer type: the same model, the same outputs.
    for (const name of Object.keys(loadApps)) {
      const { result, problems: pageProblems } = out[name];
      assert.is(result.error, undefined, `${name}: ${result.error}`);
      assert.equal(pageProblems, [], `${name}: ${pageProblems.join('\n')}`);
      assert.is(result.description, expected.description, name);
      assert.is(result.output.length, expected.output.length, name);
      result.output.forEach((v, i) => assert.ok(Math.abs(v - expected.output[i]) <= 1e-5 * (1 + Math.abs(expected.output[i])),
        `${name}: output ${i} is ${v}, expected ${expected.output[i]}`));
      delete out[name];
    }
    for (const [name, { result, problems: pageProblems, requests }] of Object.entries(out)) {
      const report = `${name}: ${JSON.stringify(result)}; requests: ${requests.join(' ')}`;
      assert.is(result.error, undefined, `${name}: ${result.error}`);
      assert.equal(pageProblems, [], `${name}: ${pageProblems.join('\n')}`);
      assert.is(result.backend.relaxedSimd, true, report);
      assert.is(result.losses.length, 4, report);
      assert.ok(result.losses.every(Number.isFinite), report);
      assert.ok(result.losses[3] < 0.8 * result.losses[0], `${name}: the loss did not fall: ${report}`);
      const wasmFiles = requests.filter((p) => p.endsWith('.wasm'));
      if (!asFiles(name)) assert.equal(wasmFiles, [], `${name}: the wasm is embedded, nothing to fetch: ${report}`);
      else {
        // The bundler's copy of simdnet-relaxed.wasm (renamed with a hash), and no embedded build.
        assert.is(wasmFiles.length, 1, report);
        const served = await readFile(join(name.startsWith('Vite') ? viteFilesBuild.outDir : webpackFilesBuild.outDir, wasmFiles[0]));
        assert.ok(served.equals(await readFile(join(ROOT, 'build/simdnet-relaxed.wasm'))), `${name}: ${wasmFiles[0]} is not the relaxed build`);
        assert.equal(requests.filter((p) => /simd-[^/]*\.js$|^\/\d+\.js$/.test(p)), [], `${name}: an embedded build was fetched too: ${report}`);
      }
    }
    // Vite and webpack split the two embedded builds into chunks of their own: the page fetches the one it runs.
    const chunks = (name, re) => out[name].requests.filter((p) => re.test(p));
    assert.is(chunks('Vite build', /relaxed-simd[^/]*\.js$/).length, 1, out['Vite build'].requests.join(' '));
    assert.is(chunks('Vite build', /\/simd-[^/]*\.js$/).length, 0, out['Vite build'].requests.join(' '));
    assert.is(chunks('webpack', /^\/\d+\.js$/).length, 1, out.webpack.requests.join(' '));
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    await rm(tmp, { recursive: true, force: true });
  }
});

test.run();
