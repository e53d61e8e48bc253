// sn.worker.fit in a page, for tests/worker-chromium.test.js: every kernel call of the page's own
// wasm instance is counted (WebAssembly.instantiate is wrapped before the library loads), and
// long tasks are recorded, while a model trains in the worker; then the same training runs with
// sn.fit on the page, which the counter must see, and both weights are hashed.
import { workerTraining, stateHash } from './worker-train.js';

let kernelCalls = 0;
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async function (source, imports) {
  const result = await instantiate.call(WebAssembly, source, imports);
  const instance = result instanceof WebAssembly.Instance ? result : result.instance;
  const exports = {};
  for (const [name, value] of Object.entries(instance.exports)) {
    exports[name] = typeof value === 'function' ? (...args) => { kernelCalls++; return value(...args); } : value;
  }
  const counted = { exports };
  return result instanceof WebAssembly.Instance ? counted : { module: result.module, instance: counted };
};

const longTasks = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) longTasks.push(e); }).observe({ type: 'longtask' });
/** The long tasks that overlap [start, end] (performance.now() times): entries reach the observer later than the task, so a count taken at the start would take in tasks before it. */
const longTasksIn = (start, end) => longTasks.filter((e) => e.startTime + e.duration > start && e.startTime < end).map((e) => Math.round(e.duration));

const result = {};
try {
  const sn = await import('../../dist/simdnet.browser.js');
  result.isolated = self.crossOriginIsolated;
  result.page = await sn.ready();
  const w = workerTraining(sn);
  // A task of its own from here to done: the page's start and the test's data above are in earlier ones.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const trainStart = performance.now();
  const job = sn.worker.fit(w.model, w.x, w.labels, w.options);
  const started = kernelCalls;
  let lastEvent = started;
  const events = [];
  job.on('batch', (logs) => { events.push(['batch', logs.epoch, logs.batch]); lastEvent = kernelCalls; });
  job.on('epoch', (logs) => { events.push(['epoch', logs.epoch]); lastEvent = kernelCalls; });
  const history = await job.done;
  const trainEnd = performance.now();
  // The task that resolved done ends here: the hashing and the page's own training below run in later tasks.
  await new Promise((resolve) => setTimeout(resolve, 0));
  result.worker = {
    hash: stateHash(w.model), batchLoss: history.batchLoss, events, info: job.workerInfo,
    kernelCallsDuring: lastEvent - started,
  };
  const p = workerTraining(sn);
  const before = kernelCalls;
  const pageHistory = await sn.fit(p.model, p.x, p.labels, { ...p.options, verbose: 0 });
  result.fit = { hash: stateHash(p.model), batchLoss: pageHistory.batchLoss, kernelCalls: kernelCalls - before };
  result.synced = await syncedTraining(sn);
  // Read last, when the tasks of the worker's training have long reached the observer.
  result.worker.longTasks = longTasksIn(trainStart, trainEnd);
} catch (err) {
  result.error = `${err.message}\n${err.stack}`;
}
window.simdnetResult = result;

/**
 * The same training in the worker, synced again as soon as each sync resolves: the hash of the
 * page's model after each sync, the page's kernel calls from the start to the end of done (loading
 * weights runs none), the final hash, and the same run's hash after each step of sn.fit on the
 * page; then the messages of a sync after done and after abort().
 */
async function syncedTraining(sn) {
  const w = workerTraining(sn);
  const job = sn.worker.fit(w.model, w.x, w.labels, w.options);
  const start = kernelCalls;
  let training = true;
  job.done.then(() => { training = false; }, () => { training = false; });
  const syncs = [];
  while (training) {
    const at = await job.sync().catch((err) => (training ? Promise.reject(err) : null));
    if (at) syncs.push({ ...at, hash: stateHash(w.model) });
  }
  await job.done;
  const out = { syncs, kernelCallsDuring: kernelCalls - start, hash: stateHash(w.model) };
  const p = workerTraining(sn);
  out.fitHashes = [];
  await sn.fit(p.model, p.x, p.labels, { ...p.options, verbose: 0, callbacks: { onBatchEnd() { out.fitHashes.push(stateHash(p.model)); } } });
  out.afterDone = await job.sync().then(() => 'resolved', (e) => e.message);
  const a = workerTraining(sn);
  const aborted = sn.worker.fit(a.model, a.x, a.labels, a.options);
  aborted.abort();
  out.afterAbort = await aborted.sync().then(() => 'resolved', (e) => e.message);
  out.abortedStop = (await aborted.done).stopReason;
  return out;
}
