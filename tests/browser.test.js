// The browser bundle in headless Chromium: dist/simdnet.browser.js finds its wasm over HTTP,
// picks the relaxed-SIMD build, trains a small CNN and round-trips it through safetensors.
// Uses Debian's Chromium (apt-get install -y chromium), never a downloaded browser.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('..', import.meta.url)); // ends with a separator
// Guards against a hung browser or page, not speed checks: the whole run takes about a second.
const STEP_TIMEOUT_MS = 15_000;
const TEST_TIMEOUT_MS = 40_000;
const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Serves ROOT on 127.0.0.1 at a free port; records every path asked for. */
async function serveRepo() {
  const requested = [];
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
      requested.push(path);
      const file = resolve(ROOT, '.' + path);
      const type = MIME[extname(file)];
      // Only known file types, and nothing outside the repository.
      if (!file.startsWith(ROOT) || !type) throw new Error('not served');
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return { origin: `http://127.0.0.1:${port}`, requested, close: () => new Promise((ok) => server.close(ok)) };
}

/** Opens the test page in a fresh Chromium profile; returns what the page reported and logged. */
async function runPage(origin, profile, opened) {
  const { chromium } = await import('playwright-core');
  opened.launching = chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: STEP_TIMEOUT_MS,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await opened.launching;
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.stack ?? err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`); });
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
  await page.goto(`${origin}/tests/browser/page.html`);
  await page.waitForFunction(() => window.simdnetResult !== undefined);
  const result = await page.evaluate(() => window.simdnetResult);
  return { result, problems };
}

test('the browser bundle trains a CNN in headless Chromium', async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the browser test needs Debian's Chromium (apt-get install -y chromium)`);
  }
  const server = await serveRepo();
  const profile = await mkdtemp(join(tmpdir(), 'simdnet-chromium-'));
  const opened = { launching: null };
  let timer;
  let outcome;
  try {
    const run = runPage(server.origin, profile, opened);
    run.catch(() => {}); // if the deadline wins, closing the browser below rejects this; already reported
    const deadline = new Promise((_, fail) => {
      timer = setTimeout(() => fail(new Error(`the browser test did not finish within ${TEST_TIMEOUT_MS / 1000} s`)), TEST_TIMEOUT_MS);
    });
    outcome = await Promise.race([run, deadline]);
  } finally {
    clearTimeout(timer);
    // A launch still under way when the deadline passed is waited for (its own timeout bounds
    // that) and closed, so no Chromium outlives the test.
    const context = await opened.launching?.catch(() => null);
    await context?.close();
    await server.close();
    await rm(profile, { recursive: true, force: true });
  }
  const { result, problems } = outcome;
  const report = JSON.stringify(result);

  assert.is(result.error, undefined, result.error);
  assert.equal(problems, [], problems.join('\n'));
  assert.ok(server.requested.includes('/dist/simdnet.browser.js'), `requests: ${server.requested}`);
  assert.ok(server.requested.includes('/build/simdnet-relaxed.wasm'), `the bundle did not fetch build/ beside dist/: ${server.requested}`);
  assert.is(result.backend.relaxedSimd, true, `Chromium accepts relaxed SIMD without flags: ${report}`);
  assert.ok(result.backend.memoryBytes > 0, report);

  const { losses } = result;
  assert.is(losses.length, 8, report);
  assert.ok(losses.every(Number.isFinite), report);
  assert.ok(losses[losses.length - 1] < 0.5 * losses[0], `the loss did not fall clearly: ${losses}`);
  assert.ok(result.accuracy >= 0.8, `test accuracy ${result.accuracy} is not well above chance (0.25): ${report}`);

  assert.ok(result.roundTrip.bytes > 0 && result.roundTrip.outputs === 256 * 4, report);
  assert.ok(result.roundTrip.maxDiff <= 1e-6, `the reloaded model predicts differently: ${report}`);
});

test.run();
