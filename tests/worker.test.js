// sn.worker.fit in Node (a worker thread): it trains to the weights sn.fit gives with the same
// seed and options, bit for bit, on any thread count inside the worker; streams batch and epoch
// events; aborts; reports errors from the worker with their message and leaves the model as it
// was; checks every argument before anything starts; and a script using it exits by itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { execFileSync } from 'node:child_process';
import { bits, rng, randn } from './helpers.js';

await sn.ready({ threads: 2 });

/** Which quadrant of an 8×8 image is brightest: n images [n, 1, 8, 8] and their labels. */
function quadrants(n, seed = 7) {
  const rand = rng(seed), x = new Float32Array(n * 64), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = Math.floor(rand() * 4);
    for (let p = 0; p < 64; p++) x[i * 64 + p] = rand() + ((((p >> 5) << 1) | ((p & 7) >> 2)) === y[i] ? 0.5 : 0);
  }
  return [sn.tensor(x, [n, 1, 8, 8]), y];
}

/** A small CNN from seed 1, so two calls give the same initial weights. */
function smallCnn(channels = 4) {
  sn.manualSeed(1);
  return new sn.Sequential(new sn.Conv2d(1, channels, 3, { padding: 1 }), new sn.ReLU(), new sn.MaxPool2d(2), new sn.Dropout(0.1),
    new sn.Flatten(), new sn.Linear(channels * 16, 4));
}

/** Every value of the model's state dict, as bits. */
const stateBits = (m) => Object.values(m.stateDict()).flatMap((t) => (t.dtype === 'int64' ? [...t.toInt64Array()].map(Number) : bits(t.toArray())));

function sameState(a, b, what) {
  const x = stateBits(a), y = stateBits(b);
  assert.is(x.length, y.length, `${what}: sizes`);
  const differ = x.filter((v, i) => v !== y[i]).length;
  assert.is(differ, 0, `${what}: ${differ} of ${x.length} values differ`);
}

const [x, y] = quadrants(96);

test('trains to the weights sn.fit gives (same seed), streams every batch and epoch, and leaves the model in eval mode', async () => {
  const inWorker = smallCnn(), onPage = smallCnn();
  const job = sn.worker.fit(inWorker, x, y, { epochs: 2, batchSize: 16, seed: 3, validationSplit: 0.25 });
  const batches = [], epochs = [];
  job.on('batch', (logs) => batches.push(logs)).on('epoch', (logs) => epochs.push(logs));
  const history = await job.done;
  const expected = await sn.fit(onPage, x, y, { epochs: 2, batchSize: 16, seed: 3, validationSplit: 0.25, verbose: 0 });
  sameState(inWorker, onPage, 'worker against fit');
  assert.equal(history.batchLoss, expected.batchLoss);
  assert.equal(history.valLoss, expected.valLoss);
  assert.is(history.stopReason, null);
  assert.is(batches.length, 10); // 72 training rows in batches of 16, two epochs
  assert.equal(batches.map((b) => b.loss), expected.batchLoss);
  assert.equal(batches.slice(0, 5).map((b) => [b.epoch, b.batch, b.batches]), [[1, 0, 5], [1, 1, 5], [1, 2, 5], [1, 3, 5], [1, 4, 5]]);
  assert.ok(batches.every((b) => b.imagesPerSecond > 0 && b.accuracy >= 0 && b.accuracy <= 1));
  assert.equal(epochs.map((e) => [e.epoch, e.loss, e.valLoss]), expected.epoch.map((e, i) => [e, expected.loss[i], expected.valLoss[i]]));
  assert.is(inWorker.training, false);
  assert.is(job.workerInfo.relaxedSimd, sn.backendInfo().relaxedSimd);
  inWorker.dispose(); onPage.dispose();
});

test('without a seed: drawn from the global generator as fit draws it', async () => {
  const a = smallCnn(), b = smallCnn();
  sn.manualSeed(11);
  await sn.worker.fit(a, x, y, { batchSize: 32 }).done;
  sn.manualSeed(11);
  await sn.fit(b, x, y, { batchSize: 32, verbose: 0 });
  sameState(a, b, 'seeded by manualSeed');
  a.dispose(); b.dispose();
});

test('an optimizer and a loss given as data; float targets; validationData', async () => {
  const rand = rng(5), n = 40;
  const xs = sn.tensor(Float32Array.from(randn(n * 6, rand)), [n, 6]), ts = sn.tensor(Float32Array.from(randn(n * 2, rand)), [n, 2]);
  const vx = sn.tensor(Float32Array.from(randn(8 * 6, rand)), [8, 6]), vt = sn.tensor(Float32Array.from(randn(8 * 2, rand)), [8, 2]);
  const build = () => { sn.manualSeed(4); return new sn.Sequential(new sn.Linear(6, 8), new sn.Tanh(), new sn.Linear(8, 2)); };
  const a = build(), b = build();
  const history = await sn.worker.fit(a, xs, ts, {
    epochs: 3, batchSize: 8, seed: 2, validationData: [vx, vt],
    optimizer: { type: 'SGD', lr: 0.05, momentum: 0.9 }, loss: { type: 'MSELoss' },
  }).done;
  const expected = await sn.fit(b, xs, ts, {
    epochs: 3, batchSize: 8, seed: 2, validationData: [vx, vt], verbose: 0,
    optimizer: new sn.SGD(b.parameters(), { lr: 0.05, momentum: 0.9 }), loss: new sn.MSELoss(),
  });
  sameState(a, b, 'SGD and MSELoss');
  assert.equal(history.valLoss, expected.valLoss);
  a.dispose(); b.dispose();
});

test('threads inside the worker: the same weights on 1 and 3 threads, and the kernels were split', async () => {
  // 16×16 images, so the second convolution (38 MFLOP a forward) is worth splitting.
  const rand = rng(9), bx = sn.tensor(Float32Array.from(randn(64 * 256, rand)), [64, 1, 16, 16]), by = Int32Array.from({ length: 64 }, (_, i) => i % 4);
  const build = () => {
    sn.manualSeed(2);
    return new sn.Sequential(new sn.Conv2d(1, 8, 3, { padding: 1 }), new sn.ReLU(), new sn.Conv2d(8, 16, 3, { padding: 1 }), new sn.ReLU(),
      new sn.MaxPool2d(4), new sn.Flatten(), new sn.Linear(256, 4));
  };
  const one = build(), three = build();
  const j1 = sn.worker.fit(one, bx, by, { batchSize: 64, seed: 5, threads: 1 });
  await j1.done;
  const j3 = sn.worker.fit(three, bx, by, { batchSize: 64, seed: 5, threads: 3 });
  await j3.done;
  sameState(one, three, '1 against 3 threads in the worker');
  assert.is(j1.workerInfo.threads, 1);
  assert.is(j1.workerInfo.splitCalls, 0);
  assert.is(j3.workerInfo.threads, 3);
  assert.is(j3.workerInfo.sharedMemory, true);
  assert.ok(j3.workerInfo.splitCalls > 0, JSON.stringify(j3.workerInfo));
  one.dispose(); three.dispose();
});

test('abort(): stops after a batch, resolves with stopReason abort and the weights of the batches run', async () => {
  const a = smallCnn(), b = smallCnn();
  // The worker reads the abort when fit yields, every 50 ms: enough batches to outlast that
  // (20 epochs of these 12 batches took under 50 ms here, and ended unaborted).
  const job = sn.worker.fit(a, x, y, { epochs: 1000, batchSize: 8, seed: 6 });
  job.on('batch', () => job.abort());
  const history = await job.done;
  assert.is(history.stopReason, 'abort');
  const ran = history.batchLoss.length;
  assert.ok(ran >= 1 && ran < 1000 * 12, `${ran} batches`);
  // fit stopped after the same number of batches gives the same weights.
  const controller = new AbortController();
  let count = 0;
  const expected = await sn.fit(b, x, y, {
    epochs: 1000, batchSize: 8, seed: 6, verbose: 0, signal: controller.signal,
    callbacks: { onBatchEnd() { if (++count === ran) controller.abort(); } },
  });
  assert.equal(history.batchLoss, expected.batchLoss);
  sameState(a, b, 'aborted in the worker against aborted fit');
  a.dispose(); b.dispose();
});

test('a signal aborted before the start: no batch runs, the weights stay', async () => {
  const a = smallCnn(), before = stateBits(a);
  const controller = new AbortController();
  controller.abort();
  const history = await sn.worker.fit(a, x, y, { seed: 1, signal: controller.signal }).done;
  assert.is(history.stopReason, 'abort');
  assert.equal(history.batchLoss, []);
  assert.equal(stateBits(a), before);
  a.dispose();
});

test('an Error in the worker rejects done with its message; the model is unchanged and free again', async () => {
  const a = smallCnn(), before = stateBits(a);
  const bad = Int32Array.from(y, (v, i) => (i === 50 ? 9 : v)); // label 9 for a model of 4 classes: found by fit's checks in the worker
  const err = await sn.worker.fit(a, x, bad, { seed: 1 }).done.then(() => null, (e) => e);
  assert.instance(err, Error);
  assert.match(err.message, /^worker\.fit: in the worker: fit: .*9/);
  assert.equal(stateBits(a), before);
  await sn.worker.fit(a, x, y, { seed: 1 }).done; // released: the model trains again
  a.dispose();
});

test('a listener that throws stops the training with its Error, the model unchanged', async () => {
  const a = smallCnn(), before = stateBits(a);
  const job = sn.worker.fit(a, x, y, { epochs: 5, seed: 1 });
  job.on('batch', () => { throw new Error('listener failed'); });
  const err = await job.done.then(() => null, (e) => e);
  assert.is(err?.message, 'listener failed');
  assert.equal(stateBits(a), before);
  a.dispose();
});

test('while a job runs, fit and another worker.fit on the model are refused', async () => {
  const a = smallCnn();
  const job = sn.worker.fit(a, x, y, { seed: 1 });
  // The refusal draws nothing from the global generator: a layer made after it gets the same weights.
  const layerAfter = (refuse) => {
    sn.manualSeed(12);
    if (refuse) assert.throws(() => sn.worker.fit(a, x, y), /^worker\.fit: this model is already being trained by another fit\(\) that has not finished/);
    const l = new sn.Linear(3, 3), w = bits(l.weight.data.toArray());
    l.dispose();
    return w;
  };
  assert.equal(layerAfter(true), layerAfter(false));
  await sn.fit(a, x, y, { verbose: 0 }).then(() => assert.unreachable('fit during the job'), (e) => assert.match(e.message, /^fit: this model is already being trained/));
  await job.done;
  a.dispose();
});

test('bad arguments: a clear Error naming what is wrong, before anything starts', async () => {
  const a = smallCnn(), before = stateBits(a);
  const cases = [
    [() => sn.worker.fit(a, x, y, { callbacks: { onBatchEnd() {} } }), /worker\.fit: options\.callbacks is not an option in a worker \(listen to the job's events instead: job\.on\('batch', f\)/],
    [() => sn.worker.fit(a, x, y, { checkpoint: () => {} }), /worker\.fit: options\.checkpoint is not an option in a worker/],
    [() => sn.worker.fit(a, x, y, { optimizer: { type: 'SGD', lr: () => 0.1 } }), /worker\.fit: options\.optimizer\.lr is a function, which cannot cross to a worker/],
    [() => sn.worker.fit(a, x, y, { optimizer: new sn.Adam(a.parameters()) }), /worker\.fit: options\.optimizer is an Optimizer object, which cannot cross to a worker .*\{ type: 'Adam', lr: 0\.001 \}/],
    [() => sn.worker.fit(a, x, y, { optimizer: { type: 'RMSprop' } }), /worker\.fit: options\.optimizer\.type must be one of 'SGD', 'Adam', 'AdamW', got the string 'RMSprop'/],
    [() => sn.worker.fit(a, x, y, { optimizer: { type: 'SGD' } }), /worker\.fit: options\.optimizer: .*lr/],
    [() => sn.worker.fit(a, x, y, { loss: new sn.CrossEntropyLoss() }), /worker\.fit: options\.loss is a Loss object/],
    [() => sn.worker.fit(a, x, y, { epochs: 0 }), /worker\.fit: .*epochs.*positive integer/],
    [() => sn.worker.fit(a, x, y, { threads: 0 }), /worker\.fit: options\.threads: expected a whole number of threads from 1 to 64, got 0/],
    [() => sn.worker.fit(a, x, y, { epoch: 2 }), /worker\.fit: .*epoch/],
    [() => sn.worker.fit(a, x, y.subarray(1)), /worker\.fit: y has 95 labels, x has 96 samples/],
    [() => sn.worker.fit(a, sn.tensor(new Float32Array(96 * 144), [96, 1, 12, 12]), y), /worker\.fit: x's rows do not fit the model/],
    [() => sn.worker.fit({}, x, y), /worker\.fit: .*model.*Module/],
  ];
  for (const [call, message] of cases) assert.throws(call, message);
  class Custom extends sn.Module { constructor() { super(); this.fc = new sn.Linear(64, 4); } forward(t) { return this.fc.forward(t); } }
  const custom = new Custom();
  assert.throws(() => sn.worker.fit(custom, sn.tensor(new Float32Array(96 * 64), [96, 64]), y), /worker\.fit: the model \(.*\) is not a Sequential of built-in layers nor a model of sn\.models, so the worker cannot rebuild it/);
  assert.equal(stateBits(a), before);
  await sn.worker.fit(a, x, y, { seed: 1 }).done; // nothing claimed by the refusals
  custom.dispose(); a.dispose();
});

/** fit on the page with the worker's options, and the model's state bits after each step listed in `at`. */
async function statesAtSteps(model, options, at) {
  const states = new Map(), wanted = new Set(at);
  let steps = 0;
  const history = await sn.fit(model, x, y, {
    ...options, verbose: 0,
    callbacks: { onBatchEnd() { if (wanted.has(++steps)) states.set(steps, stateBits(model)); } },
  });
  return { states, history };
}

test('sync(): synced many times, the model holds the worker\'s state of that step each time, and training ends on fit\'s weights', async () => {
  // With BatchNorm2d: its running statistics and batch count are synced with the weights.
  const build = () => {
    sn.manualSeed(1);
    return new sn.Sequential(new sn.Conv2d(1, 4, 3, { padding: 1 }), new sn.BatchNorm2d(4), new sn.ReLU(), new sn.MaxPool2d(2),
      new sn.Dropout(0.1), new sn.Flatten(), new sn.Linear(64, 4));
  };
  const a = build(), b = build();
  const options = { epochs: 40, batchSize: 8, seed: 4 }; // 480 steps, long enough for many syncs
  const job = sn.worker.fit(a, x, y, options);
  let training = true;
  job.done.then(() => { training = false; }, () => { training = false; });
  const synced = [];
  while (training) {
    const at = await job.sync().catch((err) => (training ? Promise.reject(err) : null));
    if (at) synced.push({ ...at, bits: stateBits(a), predicted: a.predict(x).toArray() });
  }
  const history = await job.done;
  const total = history.batchLoss.length;
  assert.is(total, 480);
  // The first sync was asked before the worker started: it is answered at the end of the first step.
  assert.equal([synced[0].steps, synced[0].epoch, synced[0].batch], [1, 1, 0]);
  assert.ok(synced.length >= 2, `${synced.length} syncs`);
  synced.forEach((s, i) => {
    assert.ok(s.steps >= 1 && s.steps <= total, `sync ${i}: step ${s.steps}`);
    // Later each time, but for one answered by done after the worker answered one at its last step.
    if (i > 0) assert.ok(s.steps > synced[i - 1].steps || s.steps === total, `sync ${i}: step ${s.steps} after ${synced[i - 1].steps}`);
    assert.is(s.epoch, Math.ceil(s.steps / 12));
    assert.is(s.batch, (s.steps - 1) % 12);
  });
  const { states, history: expected } = await statesAtSteps(b, options, synced.map((s) => s.steps));
  for (const s of synced) {
    const want = states.get(s.steps);
    const differ = s.bits.filter((v, i) => v !== want[i]).length;
    assert.is(differ, 0, `after step ${s.steps}: ${differ} values differ from fit's`);
  }
  assert.equal(history.batchLoss, expected.batchLoss);
  sameState(a, b, 'synced worker against fit');
  // predict() between syncs used the synced weights: the first sync's outputs are not the last's.
  assert.not.equal(synced[0].predicted, a.predict(x).toArray());
  a.dispose(); b.dispose();
});

test('sync(): a call while one is in flight gets the same promise; one in flight when training ends resolves with the final weights', async () => {
  const a = smallCnn(), b = smallCnn();
  const job = sn.worker.fit(a, x, y, { epochs: 2, batchSize: 16, seed: 3 });
  const first = job.sync();
  assert.is(job.sync(), first);
  let last = null;
  // Asked after the last batch's event: the worker runs no batch after it, so done answers it.
  job.on('batch', (logs) => { if (logs.epoch === 2 && logs.batch === logs.batches - 1) last = job.sync(); });
  assert.is((await first).steps, 1);
  const history = await job.done;
  assert.ok(last !== null, 'the last batch came');
  assert.equal(await last, { steps: 12, epoch: 2, batch: 5 });
  await sn.fit(b, x, y, { epochs: 2, batchSize: 16, seed: 3, verbose: 0 });
  assert.equal(history.batchLoss.length, 12);
  sameState(a, b, 'final weights after a sync pending at the end');
  // A sync in flight when abort() is called: answered by the worker's last batch or by done, never
  // refused. Enough epochs that the training outlasts the worker's reading them (fit yields every 50 ms).
  const aborting = sn.worker.fit(a, x, y, { epochs: 1000, batchSize: 8, seed: 3 });
  await aborting.sync();
  const inFlight = aborting.sync();
  aborting.abort();
  const stopped = await aborting.done;
  assert.is(stopped.stopReason, 'abort');
  const at = await inFlight;
  assert.ok(at.steps >= 1 && at.steps <= stopped.batchLoss.length, `${JSON.stringify(at)} of ${stopped.batchLoss.length} steps`);
  a.dispose(); b.dispose();
});

test('sync(): refused with an Error after done, after abort() and after a failure; one in flight when training fails rejects', async () => {
  const a = smallCnn();
  const done = sn.worker.fit(a, x, y, { seed: 1 });
  await done.done;
  const afterDone = await done.sync().then(() => null, (e) => e);
  assert.instance(afterDone, Error);
  assert.match(afterDone.message, /^TrainingJob\.sync: the training has finished \(stopReason null\); the model holds its final weights/);

  const aborted = sn.worker.fit(a, x, y, { epochs: 20, seed: 1 });
  aborted.abort();
  const afterAbort = await aborted.sync().then(() => null, (e) => e);
  assert.match(afterAbort?.message, /^TrainingJob\.sync: the training was aborted; job\.done resolves once the model holds the weights of the last batch run/);
  assert.is((await aborted.done).stopReason, 'abort');

  const bad = Int32Array.from(y, (v, i) => (i === 50 ? 9 : v));
  const failing = sn.worker.fit(a, x, bad, { seed: 1 });
  const inFlight = failing.sync().then(() => null, (e) => e);
  await failing.done.then(() => assert.unreachable('a label 9 for 4 classes'), () => {});
  assert.match((await inFlight)?.message, /^TrainingJob\.sync: the training failed before the weights came: worker\.fit: in the worker: fit: .*9/);
  assert.match((await failing.sync().then(() => null, (e) => e))?.message, /^TrainingJob\.sync: the training failed \(worker\.fit: in the worker: fit: .*9/);

  const throwing = sn.worker.fit(a, x, y, { epochs: 5, seed: 1 });
  let pending = null;
  throwing.on('batch', () => { pending = throwing.sync().then(() => null, (e) => e); throw new Error('listener failed'); });
  await throwing.done.catch(() => {});
  assert.match((await pending)?.message, /^TrainingJob\.sync: the training failed before the weights came: listener failed/);
  a.dispose();

  // A model disposed while its job runs: the weights have nowhere to go, and the sync says why.
  const gone = smallCnn();
  const orphan = sn.worker.fit(gone, x, y, { epochs: 5, seed: 1 });
  gone.dispose();
  const notLoaded = await orphan.sync().then(() => null, (e) => e);
  assert.match(notLoaded?.message, /^TrainingJob\.sync: the weights after 1 step could not be loaded into the model: the synced weights: .*memory was released/);
  await orphan.done.then(() => assert.unreachable('done into a disposed model'), (e) => assert.match(e.message, /memory was released/));
});

test('job.on refuses an unknown event or a listener that is not a function', async () => {
  const a = smallCnn();
  const job = sn.worker.fit(a, x, y, { seed: 1 });
  assert.throws(() => job.on('progress', () => {}), /TrainingJob\.on: no event the string 'progress'; the events are 'batch' and 'epoch'/);
  assert.throws(() => job.on('batch', 1), /TrainingJob\.on: .*listener.*a function/);
  await job.done;
  a.dispose();
});

test('a script that trains in a worker exits by itself', () => {
  const script = `import * as sn from 'simdnet';
    await sn.ready();
    sn.manualSeed(1);
    const m = new sn.Sequential(new sn.Flatten(), new sn.Linear(4, 2));
    const h = await sn.worker.fit(m, sn.tensor(new Float32Array(32), [8, 4]), new Int32Array(8), { seed: 1 }).done;
    console.log(String(h.batchLoss.length));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000, encoding: 'utf8' });
  assert.is(out.trim(), '1');
});

test.run();
