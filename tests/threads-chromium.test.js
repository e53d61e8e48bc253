// Threads in headless Chromium: a page served cross-origin isolated runs the kernels on 1, 2 and 3
// threads (Web Workers from a Blob URL, the page's own thread spinning rather than waiting) and
// trains ResNet-20 to the same weights on each, and to the same weights as Node does; a page
// without the isolation headers falls back to one thread and says why.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { inChromium } from './chromium.js';
import { trainedWeightsHash } from './browser/threads-train.js';

// Guards against a hung browser or page, not speed checks.
const STEP_TIMEOUT_MS = 60_000;
const TEST_TIMEOUT_MS = 120_000;

await sn.ready({ threads: 1 });

async function runPage(isolated) {
  const { out, problems } = await inChromium('the threads browser test', { stepTimeoutMs: STEP_TIMEOUT_MS, testTimeoutMs: TEST_TIMEOUT_MS, isolated }, async (page, origin) => {
    await page.goto(`${origin}/tests/browser/threads.html`);
    await page.waitForFunction(() => window.simdnetResult !== undefined);
    return page.evaluate(() => window.simdnetResult);
  });
  assert.equal(problems, []);
  assert.is(out.error, undefined, out.error);
  return out;
}

test('cross-origin isolated: the same weights on 1, 2 and 3 threads, the same as Node\'s', async () => {
  const node = trainedWeightsHash(sn);
  const out = await runPage(true);
  const report = JSON.stringify(out);
  assert.is(out.isolated, true, report);
  for (const run of out.runs) {
    assert.is(run.info.sharedMemory, true, report);
    assert.is(run.info.threads, run.threads, report);
    assert.is(run.info.fallbackReason, null, report);
    assert.is(run.hash, node, `${run.threads} threads in Chromium against Node's one: ${report}`);
    if (run.threads > 1) assert.ok(run.splitCalls > 0, `${run.threads} threads: kernel calls were split: ${report}`);
    else assert.is(run.splitCalls, 0, report);
  }
});

test('not isolated: one thread, the same weights, and the reason', async () => {
  const out = await runPage(false);
  const report = JSON.stringify(out);
  assert.is(out.isolated, false, report);
  const node = trainedWeightsHash(sn);
  for (const run of out.runs) {
    assert.is(run.info.threads, 1, report);
    assert.is(run.info.sharedMemory, false, report);
    assert.match(run.info.fallbackReason, /not cross-origin isolated \(serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp\)/);
    assert.is(run.hash, node, report);
  }
});

test.run();
