// The browser bundle in headless Chromium: dist/simdnet.browser.js finds its wasm over HTTP,
// picks the relaxed-SIMD build, trains a small CNN and round-trips it through safetensors.
// Uses Debian's Chromium (apt-get install -y chromium), never a downloaded browser.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '../scripts/static-server.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
// Guards against a hung browser or page, not speed checks: the whole run takes about a second.
const STEP_TIMEOUT_MS = 15_000;
const TEST_TIMEOUT_MS = 40_000;

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
  const server = await serveStatic(ROOT);
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
