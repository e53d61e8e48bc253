// sn.worker.fit in headless Chromium: the page's own kernels make no call while the model trains
// in the worker (every call of the page's wasm instance is counted, and the same training with
// sn.fit on the page is counted as a check that the counter sees them); the weights come back the
// same as sn.fit's on the page and as Node's, bit for bit; cross-origin isolated, the worker runs
// its kernels on threads of its own; without the isolation, on one. Synced as often as it answers,
// the page's model holds fit's weights of each step synced, loading them runs no page kernel, and
// the training ends on the same weights; sync() after done or abort() is refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { inChromium } from './chromium.js';
import { workerTraining, stateHash } from './browser/worker-train.js';

// Guards against a hung browser or page, not speed checks.
const STEP_TIMEOUT_MS = 60_000;
const TEST_TIMEOUT_MS = 120_000;

await sn.ready({ threads: 1 });

/** The hash of the weights Node trains to. */
async function nodeHash() {
  const w = workerTraining(sn);
  await sn.fit(w.model, w.x, w.labels, { ...w.options, verbose: 0 });
  return stateHash(w.model);
}

async function runPage(isolated) {
  const { out, problems } = await inChromium('the worker browser test', { stepTimeoutMs: STEP_TIMEOUT_MS, testTimeoutMs: TEST_TIMEOUT_MS, isolated }, async (page, origin) => {
    await page.goto(`${origin}/tests/browser/worker.html`);
    await page.waitForFunction(() => window.simdnetResult !== undefined);
    return page.evaluate(() => window.simdnetResult);
  });
  assert.equal(problems, []);
  assert.is(out.error, undefined, out.error);
  return out;
}

/** What both pages must show: no page kernel call during the worker's training, the weights of fit and of Node. */
function assertTrainedInWorker(out, node) {
  const report = JSON.stringify(out);
  assert.is(out.worker.kernelCallsDuring, 0, `the page's kernels ran while the worker trained: ${report}`);
  assert.ok(out.fit.kernelCalls > 0, `the counter sees the page's own training: ${report}`);
  assert.is(out.worker.events.length, 6, report); // 2 epochs of 2 batches, and 2 epoch ends
  assert.equal(out.worker.batchLoss, out.fit.batchLoss);
  assert.is(out.worker.hash, out.fit.hash, `worker against fit on the page: ${report}`);
  assert.is(out.worker.hash, node, `worker in Chromium against Node: ${report}`);
  assertSynced(out.synced, node);
  console.log(`  long tasks on the page while the worker trained (${out.isolated ? 'isolated' : 'not isolated'}): ${JSON.stringify(out.worker.longTasks)} ms`);
}

/** Synced after every answer: the page's model held fit's weights of each step synced, no page kernel ran, and the end is fit's. */
function assertSynced(synced, node) {
  const report = JSON.stringify(synced);
  assert.ok(synced.syncs.length >= 2, report);
  synced.syncs.forEach((s, i) => {
    // Later each time, but for one answered by done after the worker answered one at its last step.
    assert.ok(s.steps >= 1 && s.steps <= 4 && (i === 0 || s.steps > synced.syncs[i - 1].steps || s.steps === 4), report);
    assert.is(s.hash, synced.fitHashes[s.steps - 1], `the weights synced after step ${s.steps} are not fit's: ${report}`);
  });
  assert.is(synced.kernelCallsDuring, 0, `syncing ran the page's kernels: ${report}`);
  assert.is(synced.hash, node, `synced run against Node: ${report}`);
  assert.match(synced.afterDone, /^TrainingJob\.sync: the training has finished \(stopReason null\)/, report);
  assert.match(synced.afterAbort, /^TrainingJob\.sync: the training was aborted/, report);
  assert.is(synced.abortedStop, 'abort', report);
}

test('cross-origin isolated: no kernel on the page while it trains, threads in the worker, the weights of fit and of Node', async () => {
  const out = await runPage(true);
  const report = JSON.stringify(out);
  assert.is(out.isolated, true, report);
  assert.is(out.worker.info.sharedMemory, true, report);
  assert.is(out.worker.info.threads, out.page.threads, report);
  if (out.page.threads > 1) assert.ok(out.worker.info.splitCalls > 0, `the worker split kernels over its threads: ${report}`);
  assertTrainedInWorker(out, await nodeHash());
});

test('not isolated: the worker trains on one thread, to the same weights', async () => {
  const out = await runPage(false);
  const report = JSON.stringify(out);
  assert.is(out.isolated, false, report);
  assert.is(out.worker.info.sharedMemory, false, report);
  assert.is(out.worker.info.threads, 1, report);
  assertTrainedInWorker(out, await nodeHash());
});

test.run();
