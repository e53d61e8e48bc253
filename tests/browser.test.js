// The browser bundle in headless Chromium: dist/simdnet.browser.js finds its wasm over HTTP,
// picks the relaxed-SIMD build, trains a small CNN and round-trips it through safetensors.
// Uses Debian's Chromium (apt-get install -y chromium), never a downloaded browser.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inChromium } from './chromium.js';

// Guards against a hung browser or page, not speed checks: the whole run takes about a second.
const STEP_TIMEOUT_MS = 15_000;
const TEST_TIMEOUT_MS = 40_000;

test('the browser bundle trains a CNN in headless Chromium', async () => {
  const { out: result, problems, requested } = await inChromium('the browser test', { stepTimeoutMs: STEP_TIMEOUT_MS, testTimeoutMs: TEST_TIMEOUT_MS }, async (page, origin) => {
    await page.goto(`${origin}/tests/browser/page.html`);
    await page.waitForFunction(() => window.simdnetResult !== undefined);
    return page.evaluate(() => window.simdnetResult);
  });
  const report = JSON.stringify(result);

  assert.is(result.error, undefined, result.error);
  assert.equal(problems, [], problems.join('\n'));
  assert.ok(requested.includes('/dist/simdnet.browser.js'), `requests: ${requested}`);
  assert.ok(requested.includes('/build/simdnet-relaxed.wasm'), `the bundle did not fetch build/ beside dist/: ${requested}`);
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
