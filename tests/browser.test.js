// The browser bundle in headless Chromium: dist/simdnet.browser.js loads the relaxed-SIMD build
// embedded in it (no wasm fetched), or fetches it from build/ when given wasmPath; trains a small
// CNN; loads it back from bytes, a Blob, a File, a Response and blob: URLs; downloads it with
// model.download(name); and refuses what needs Node with the way a page does it instead.
// Uses Debian's Chromium (apt-get install -y chromium), never a downloaded browser.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import * as sn from 'simdnet';
import { inChromium } from './chromium.js';

// Guards against a hung browser or page, not speed checks: the whole run takes a few seconds.
const STEP_TIMEOUT_MS = 15_000;
const TEST_TIMEOUT_MS = 60_000;

/** Opens the test page (with `query`), waits for its result, and returns it with the paths the page requested. */
async function runPage(page, origin, query) {
  const paths = [];
  const record = (req) => paths.push(new URL(req.url()).pathname);
  page.on('request', record);
  const downloaded = page.waitForEvent('download');
  try {
    await page.goto(`${origin}/tests/browser/page.html${query}`);
    await page.waitForFunction(() => window.simdnetResult !== undefined);
    const result = await page.evaluate(() => window.simdnetResult);
    const download = result.error ? null : await downloaded;
    const file = download && { name: download.suggestedFilename(), bytes: await readFile(await download.path()) };
    return { result, paths, file };
  } finally {
    page.off('request', record);
    downloaded.catch(() => {});
  }
}

function checkRun({ result, file }, what) {
  const report = `${what}: ${JSON.stringify(result)}`;
  assert.is(result.error, undefined, result.error);
  assert.is(result.backend.relaxedSimd, true, `Chromium accepts relaxed SIMD without flags: ${report}`);
  assert.ok(result.backend.memoryBytes > 0, report);

  const { losses } = result;
  assert.is(losses.length, 8, report);
  assert.ok(losses.every(Number.isFinite), report);
  assert.ok(losses[losses.length - 1] < 0.5 * losses[0], `the loss did not fall clearly: ${losses}`);
  assert.ok(result.accuracy >= 0.8, `test accuracy ${result.accuracy} is not well above chance (0.25): ${report}`);

  assert.ok(result.roundTrip.bytes > 0 && result.roundTrip.outputs === 256 * 4, report);
  assert.ok(result.roundTrip.maxDiff <= 1e-6, `the reloaded model predicts differently: ${report}`);
  assert.equal(Object.keys(result.loads), ['bytes', 'blob', 'file', 'response', 'blobUrl', 'blobUrlObject'], report);
  for (const [kind, diff] of Object.entries(result.loads)) assert.ok(diff <= 1e-6, `sn.load(${kind}) predicts differently: ${report}`);

  assert.match(result.nodeOnly.save, /^save: writing a file needs Node; in a page use model\.download\('model\.safetensors'\) to save it through the browser, or model\.toSafetensors\(\) for the bytes$/);
  assert.match(result.nodeOnly.checkpoint, /^fit: checkpoint \(a file path\): writing a file needs Node; in a page use model\.download/);
  assert.match(result.nodeOnly.mnist, /^mnist: reads the IDX files from disk, which needs Node; in a page fetch the four files .* sn\.data\.readIdx$/);
  assert.match(result.nodeOnly.fileUrl, /^loadModel: cannot read file:\/\/\/tmp\/m\.safetensors: a page cannot read file: URLs; serve the file over HTTP/);

  assert.is(file.name, 'quadrants.safetensors');
  assert.is(file.bytes.length, result.roundTrip.bytes, 'the download holds the model file');
  return file;
}

test('the browser bundle trains a CNN in headless Chromium, on its embedded wasm or on build/ given as wasmPath', async () => {
  const { out: runs, problems, requested } = await inChromium('the browser test', { stepTimeoutMs: STEP_TIMEOUT_MS, testTimeoutMs: TEST_TIMEOUT_MS }, async (page, origin) => ({
    embedded: await runPage(page, origin, ''),
    wasmPath: await runPage(page, origin, '?wasmPath=../../build/'),
  }));
  assert.equal(problems, [], problems.join('\n'));
  assert.ok(requested.includes('/dist/simdnet.browser.js'), `requests: ${requested}`);

  const file = checkRun(runs.embedded, 'embedded');
  assert.equal(runs.embedded.paths.filter((p) => p.endsWith('.wasm')), [], `the bundle's own wasm needs no request: ${runs.embedded.paths}`);
  checkRun(runs.wasmPath, 'wasmPath');
  assert.equal(runs.wasmPath.paths.filter((p) => p.endsWith('.wasm')), ['/build/simdnet-relaxed.wasm'], `only the build picked is fetched: ${runs.wasmPath.paths}`);

  // The page's download is a model file that Node loads too.
  await sn.ready();
  const model = await sn.load(file.bytes);
  assert.is(model.parameterCount(), 4 * 1 * 9 + 4 + 4 * 4 * 4 * 4 + 4);
});

test.run();
