// fit / evaluate / predict, callbacks, early stopping, abort, the NaN guard, LR schedules, progress.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';

await sn.ready();

const mlp = () => new sn.Sequential(new sn.Linear(2, 32), new sn.ReLU(), new sn.Linear(32, 3));
const spiral = (seed = 1) => sn.data.spiral({ pointsPerClass: 100, classes: 3, noise: 0.1, seed });
const silent = { verbose: 0 };
const snapshot = (model) => Object.entries(model.stateDict()).map(([k, t]) => [k, t.dtype === 'int64' ? [...t.toInt64Array()] : [...t.toArray()]]);

test('fit on the spiral set: history per epoch, validation accuracy improves and ends high', async () => {
  sn.manualSeed(3);
  const { x, y } = spiral();
  const model = mlp();
  const history = await model.fit(x, y, { epochs: 40, batchSize: 16, validationSplit: 0.2, optimizer: new sn.Adam(model.parameters(), { lr: 0.01 }), ...silent });
  assert.equal(history.epoch, Array.from({ length: 40 }, (_, i) => i + 1));
  for (const k of ['loss', 'accuracy', 'valLoss', 'valAccuracy', 'lr']) assert.is(history[k].length, 40, k);
  assert.is(history.batchLoss.length, 40 * Math.ceil(240 / 16));
  assert.ok(history.valAccuracy.at(-1) > 0.85 && history.valAccuracy.at(-1) > history.valAccuracy[0] + 0.2, `val accuracy ${history.valAccuracy[0]} → ${history.valAccuracy.at(-1)}`);
  assert.ok(history.loss.at(-1) < 0.5 * history.loss[0]);
  assert.is(history.stopReason, null);
  assert.is(model.training, false, 'fit leaves the model in eval mode');
});

test('fit on a small real MNIST slice improves validation accuracy', async () => {
  sn.manualSeed(0);
  const { images, labels } = await sn.data.mnist({ split: 'train', limit: 1200 });
  const model = new sn.Sequential(
    new sn.Conv2d(1, 6, 5, { padding: 2 }), new sn.ReLU(), new sn.MaxPool2d(2),
    new sn.Conv2d(6, 16, 5), new sn.ReLU(), new sn.MaxPool2d(2),
    new sn.Flatten(), new sn.Linear(400, 120), new sn.ReLU(), new sn.Linear(120, 84), new sn.ReLU(), new sn.Linear(84, 10));
  const history = await model.fit(images, labels, { epochs: 3, batchSize: 32, validationSplit: 0.25, seed: 0, ...silent });
  assert.ok(history.valAccuracy.at(-1) > history.valAccuracy[0], `val accuracy ${history.valAccuracy}`);
  assert.ok(history.valAccuracy.at(-1) > 0.75, `val accuracy ${history.valAccuracy}`);
});

test('the same seed gives the same history and weights; another seed differs', async () => {
  const run = async (seed) => {
    sn.manualSeed(seed);
    const model = new sn.Sequential(new sn.Linear(2, 16), new sn.ReLU(), new sn.Dropout(0.2), new sn.Linear(16, 3));
    const { x, y } = spiral();
    const h = await model.fit(x, y, { epochs: 3, batchSize: 20, validationSplit: 0.2, seed, ...silent });
    return { loss: h.loss, weights: snapshot(model) };
  };
  const a = await run(5), b = await run(5), c = await run(6);
  assert.equal(a, b);
  assert.not.equal(a.loss, c.loss);
});

test('earlyStopping stops when the monitored value stops improving', async () => {
  const { x, y } = spiral();
  const model = mlp();
  const stopper = sn.earlyStopping({ monitor: 'valLoss', patience: 2 });
  // lr 0: nothing changes, so no epoch improves on the first; with patience 2 (as Keras counts)
  // the second and third epochs without improvement end it.
  const history = await model.fit(x, y, { epochs: 10, validationSplit: 0.2, optimizer: new sn.SGD(model.parameters(), { lr: 0 }), callbacks: [stopper], ...silent });
  assert.equal(history.epoch, [1, 2, 3]);
  assert.is(history.stopReason, 'callback');
  assert.is(stopper.stoppedEpoch, 3);
  const still = mlp();
  const eager = await still.fit(x, y, { epochs: 10, validationSplit: 0.2, optimizer: new sn.SGD(still.parameters(), { lr: 0 }), callbacks: [sn.earlyStopping({ patience: 0 })], ...silent });
  assert.equal(eager.epoch, [1, 2], 'patience 0 stops at the first epoch without improvement');
  assert.is(stopper.bestEpoch, 1);
  await assert.not.throws(() => sn.earlyStopping({ monitor: 'accuracy' }));
  assert.throws(() => sn.earlyStopping({ monitor: 'val_loss' }), /monitor must be/);
  let message = '';
  try { await mlp().fit(x, y, { epochs: 2, callbacks: sn.earlyStopping(), ...silent }); } catch (e) { message = e.message; }
  assert.match(message, /'valLoss' is not measured/);
});

test('earlyStopping with restoreBestWeights puts back the best epoch\'s weights', async () => {
  sn.manualSeed(2);
  const { x, y } = spiral();
  const model = mlp();
  let best = null, bestLoss = Infinity;
  const recorder = { onEpochEnd(logs, ctx) { if (logs.valLoss < bestLoss) { bestLoss = logs.valLoss; best = snapshot(ctx.model); } } };
  const stopper = sn.earlyStopping({ monitor: 'valLoss', patience: 2, restoreBestWeights: true });
  // A learning rate far too high makes the validation loss wander, so it stops with a worse last epoch.
  await model.fit(x, y, { epochs: 30, validationSplit: 0.3, optimizer: new sn.SGD(model.parameters(), { lr: 3, momentum: 0.9 }), callbacks: [recorder, stopper], ...silent }).catch(() => {});
  if (stopper.stoppedEpoch !== null) assert.equal(snapshot(model), best);
});

test('an AbortSignal stops after the current batch', async () => {
  const { x, y } = spiral();
  const controller = new AbortController();
  const model = mlp();
  const history = await model.fit(x, y, {
    epochs: 5, batchSize: 10, signal: controller.signal, ...silent,
    callbacks: { onBatchEnd(logs) { if (logs.epoch === 2 && logs.batch === 2) controller.abort(); } },
  });
  assert.is(history.stopReason, 'abort');
  const seenLogs = [];
  await mlp().fit(x, y, { epochs: 1, batchSize: 100, ...silent, callbacks: { onBatchEnd: (l) => seenLogs.push(l) } });
  assert.equal(seenLogs.map((l) => [l.batch, l.batches, l.size]), [[0, 3, 100], [1, 3, 100], [2, 3, 100]]);
  assert.ok(seenLogs.every((l) => l.accuracy >= 0 && l.accuracy <= 1 && Math.abs(l.accuracy * l.size - Math.round(l.accuracy * l.size)) < 1e-9 && Number.isFinite(l.loss)));
  const before = snapshot(model);
  const none = await model.fit(x, y, { epochs: 2, signal: AbortSignal.abort(), ...silent });
  assert.equal([none.epoch, none.batchLoss, none.stopReason], [[], [], 'abort'], 'an already-aborted signal runs no batch');
  assert.equal(snapshot(model), before);
  assert.is(history.batchLoss.length, 30 + 3);
  assert.equal(history.epoch, [1, 2]);
});

test('a step that goes non-finite stops with an Error naming epoch and batch, and restores the weights', async () => {
  sn.manualSeed(4);
  const { x, y } = spiral();
  const model = new sn.Sequential(new sn.Linear(2, 8), new sn.BatchNorm1d(8), new sn.Linear(8, 3));
  let lastGood = snapshot(model);
  const recorder = { onBatchEnd() { lastGood = snapshot(model); } };
  let error = null;
  try {
    await model.fit(x, y, { epochs: 50, batchSize: 30, optimizer: new sn.SGD(model.parameters(), { lr: 1e30 }), callbacks: recorder, ...silent });
  } catch (e) { error = e; }
  assert.ok(error, 'training with lr 1e30 must fail');
  assert.match(error.message, /fit: epoch \d+, batch \d+: .*(NaN|infinite|Infinity).*weights are those from before this step/);
  assert.equal(snapshot(model), lastGood);
  assert.ok(snapshot(model).every(([k, v]) => v.every((n) => Number.isFinite(Number(n)))), 'no NaN in the model');
});

test('non-finite input stops fit with the sample named, the model unchanged', async () => {
  const { x, y } = spiral();
  const data = x.toArray();
  data[100] = NaN;
  const model = mlp();
  const before = snapshot(model);
  let message = '';
  try { await model.fit(sn.tensor(data, x.shape), y, { epochs: 1, batchSize: 300, shuffle: false, ...silent }); } catch (e) { message = e.message; }
  assert.match(message, /fit: x holds NaN in sample 50/);
  assert.equal(snapshot(model), before);
});

test('fit checks its arguments', async () => {
  const { x, y } = spiral();
  const fails = async (p, re) => { let m = ''; try { await p(); } catch (e) { m = e.message; } assert.match(m, re); };
  await fails(() => mlp().fit(x, y.subarray(1), silent), /y has 299 labels, x has 300 samples/);
  await fails(() => mlp().fit(x, y, { epochs: 0, ...silent }), /epochs must be a positive integer, got 0/);
  await fails(() => mlp().fit(x, y, { validationSplit: 1, ...silent }), /validationSplit must be in \(0, 1\)/);
  await fails(() => mlp().fit(x, new Int32Array(300).fill(3), silent), /CrossEntropyLoss.*3/);
});

test('evaluate, predict and predictClasses agree and restore the mode', async () => {
  const { x, y } = spiral();
  const model = mlp();
  await model.fit(x, y, { epochs: 20, batchSize: 16, optimizer: new sn.Adam(model.parameters(), { lr: 0.01 }), ...silent });
  model.train();
  const probs = model.predict(x, { batchSize: 7 });
  assert.equal(probs.shape, [300, 3]);
  const p = probs.toArray();
  for (let i = 0; i < 300; i++) assert.ok(Math.abs(p[3 * i] + p[3 * i + 1] + p[3 * i + 2] - 1) < 1e-5);
  const classes = model.predictClasses(x, { batchSize: 64 });
  for (let i = 0; i < 300; i++) assert.is(classes[i], [0, 1, 2].reduce((b, j) => (p[3 * i + j] > p[3 * i + b] ? j : b), 0));
  const { loss, accuracy } = model.evaluate(x, y, { batchSize: 50 });
  assert.is(accuracy, classes.filter((c, i) => c === y[i]).length / 300);
  let ce = 0;
  for (let i = 0; i < 300; i++) ce -= Math.log(p[3 * i + y[i]]);
  assert.ok(Math.abs(loss - ce / 300) < 1e-4, `evaluate loss ${loss} vs −mean log p ${ce / 300}`);
  assert.is(model.training, true, 'mode restored');
});

test('fit with a Tensor target trains a regression with MSELoss', async () => {
  sn.manualSeed(7);
  const n = 200, xs = new Float32Array(n * 3), ys = new Float32Array(n);
  for (let i = 0; i < n; i++) { for (let j = 0; j < 3; j++) xs[3 * i + j] = Math.sin(i * (j + 1)); ys[i] = 2 * xs[3 * i] - xs[3 * i + 1] + 0.5 * xs[3 * i + 2] + 0.3; }
  const model = new sn.Sequential(new sn.Linear(3, 1));
  const h = await model.fit(sn.tensor(xs, [n, 3]), sn.tensor(ys, [n, 1]), { epochs: 60, batchSize: 20, optimizer: new sn.Adam(model.parameters(), { lr: 0.05 }), ...silent });
  assert.is(h.accuracy.length, 0);
  assert.ok(h.loss.at(-1) < 1e-3, `final MSE ${h.loss.at(-1)}`);
  const w = model.at(0).weight.data.toArray();
  assert.ok(Math.abs(w[0] - 2) < 0.05 && Math.abs(w[1] + 1) < 0.05 && Math.abs(w[2] - 0.5) < 0.05, `weights ${w}`);
});

test('StepLR and CosineAnnealingLR follow PyTorch\'s formulas, and fit records the lr per epoch', async () => {
  const params = mlp().parameters();
  const opt = new sn.SGD(params, { lr: 0.1 });
  const step = new sn.StepLR(opt, { stepSize: 3, gamma: 0.5 });
  const seen = [];
  for (let e = 0; e < 7; e++) { seen.push(opt.lr); step.step(); }
  assert.equal(seen.map((v) => +v.toFixed(6)), [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]);
  const opt2 = new sn.Adam(params, { lr: 1e-3 });
  const cos = new sn.CosineAnnealingLR(opt2, { tMax: 4, etaMin: 1e-5 });
  const lrs = [];
  for (let e = 0; e <= 4; e++) { lrs.push(opt2.lr); cos.step(); }
  const expected = [0, 1, 2, 3, 4].map((t) => 1e-5 + (1e-3 - 1e-5) * (1 + Math.cos(Math.PI * t / 4)) / 2);
  lrs.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-12, `epoch ${i}: ${v} vs ${expected[i]}`));
  assert.throws(() => new sn.StepLR(opt, { stepSize: 0 }), /stepSize must be a positive integer/);

  const { x, y } = spiral();
  const model = mlp();
  const o = new sn.SGD(model.parameters(), { lr: 0.2 });
  const h = await model.fit(x, y, { epochs: 4, optimizer: o, scheduler: new sn.StepLR(o, { stepSize: 2 }), ...silent });
  assert.equal(h.lr.map((v) => +v.toFixed(6)), [0.2, 0.2, 0.02, 0.02]);
});

test('progress: one line per epoch when not a terminal, a live bar with ETA and img/s in one', async () => {
  const { x, y } = spiral();
  const lines = [];
  await mlp().fit(x, y, { epochs: 3, batchSize: 50, validationSplit: 0.2, progressStream: { write: (s) => lines.push(s), isTTY: false } });
  assert.is(lines.length, 3);
  assert.match(lines[0], /^Epoch 1\/3  5\/5  [\d.]+s  loss [\d.]+  acc [\d.]+%  val_loss [\d.]+  val_acc [\d.]+%  lr 0\.00100  [\d,]+ img\/s\n$/);
  const tty = [];
  await mlp().fit(x, y, { epochs: 1, batchSize: 10, progressStream: { write: (s) => tty.push(s), isTTY: true, columns: 200 } });
  assert.ok(tty.some((s) => /^\rEpoch 1\/1 \[=+[=>] *\] 30\/30  ETA 00:00  loss [\d.]+  acc [\d.]+%  [\d,]+ img\/s/.test(s)), tty.join('|'));
  assert.match(tty.at(-1), /^\r\x1b\[KEpoch 1\/1  30\/30/);
});

test('fit refuses bad labels, inputs, batch sizes and validationData before the first step: the model is unchanged', async () => {
  const { x, y } = spiral();
  const fails = async (model, xs, ys, options, re) => {
    const before = snapshot(model);
    let m = '';
    try { await model.fit(xs, ys, { epochs: 1, batchSize: 30, shuffle: false, ...silent, ...options }); } catch (e) { m = e.message; }
    assert.match(m, re);
    assert.equal(snapshot(model), before, `${re}: the model changed`);
  };
  // Plain-array labels are not truncated (1.5 → 1, NaN → 0) on their way to int32.
  const fractional = [...y]; fractional[123] = 1.5;
  await fails(mlp(), x, fractional, {}, /fit: label at index 123 is 1\.5, expected an integer class index/);
  const missing = [...y]; missing[7] = NaN;
  await fails(mlp(), x, missing, {}, /fit: label at index 7 is NaN/);
  assert.throws(() => mlp().evaluate(x, fractional), /evaluate: label at index 123 is 1\.5/);
  // A label out of range, or a NaN, in the last batch: nine batches used to train first.
  const late = Int32Array.from(y); late[299] = 3;
  await fails(mlp(), x, late, {}, /fit: CrossEntropyLoss: label at index 299 is 3, expected an integer class index in \[0, 3\)/);
  const xs = x.toArray(); xs[599] = Infinity;
  await fails(mlp(), sn.tensor(xs, x.shape), y, {}, /fit: x holds Infinity in sample 299/);
  // A last batch of one sample, which training-mode BatchNorm refuses (300 = 13·23 + 1).
  const bn = new sn.Sequential(new sn.Linear(2, 8), new sn.BatchNorm1d(8), new sn.Linear(8, 3));
  await fails(bn, x, y, { batchSize: 23 }, /fit: a batch of 1: layer 1 \(BatchNorm1d.*more than 1 value per channel/);
  // validationData is only used at the end of an epoch: checked now, not after one epoch of training.
  await fails(mlp(), x, y, { validationData: [sn.tensor(new Float32Array(30), [10, 3]), new Int32Array(10)] },
    /fit: validationData: a batch of 10: layer 0 \(Linear.*\[10, 3\]/);
  await fails(mlp(), x, y, { validationData: [sn.tensor(new Float32Array(20), [10, 2]), new Int32Array(10).fill(5)] },
    /fit: validationData: CrossEntropyLoss: label at index 0 is 5/);
  await fails(mlp(), x, y, { validationData: [sn.tensor(new Float32Array(20), [10, 2]), sn.tensor(new Float32Array(30), [10, 3])] },
    /fit: validationData has a Tensor target, but y has class labels/);
});

test('a failed step puts the optimizer back too: training resumes exactly as with a fresh optimizer', async () => {
  const x = sn.tensor(Float32Array.from({ length: 40 }, (_, i) => 100 * Math.sin(i)), [20, 2]);
  const y = Int32Array.from({ length: 20 }, (_, i) => i % 3);
  const make = () => { sn.manualSeed(5); return new sn.Sequential(new sn.Linear(2, 3)); };
  for (const optimizer of [(p) => new sn.SGD(p, { lr: 1e38, momentum: 0.9 }), (p) => new sn.Adam(p, { lr: 1e38 })]) {
    const model = make(), opt = optimizer(model.parameters());
    let message = '';
    try { await model.fit(x, y, { optimizer: opt, batchSize: 20, shuffle: false, ...silent }); } catch (e) { message = e.message; }
    assert.match(message, /fit: epoch 1, batch 1: the step made some weights NaN or infinite/);
    assert.is(opt.stepCount, 0, `${opt}: the failed step is not counted`);
    opt.lr = 0.1;
    await model.fit(x, y, { optimizer: opt, batchSize: 20, shuffle: false, ...silent });
    const fresh = make(), freshOpt = optimizer(fresh.parameters());
    freshOpt.lr = 0.1;
    await fresh.fit(x, y, { optimizer: freshOpt, batchSize: 20, shuffle: false, ...silent });
    assert.equal(snapshot(model), snapshot(fresh), `${opt}: the momentum or moments kept the failed step`);
  }
});

test('earlyStopping with restoreBestWeights puts back num_batches_tracked with the running statistics', async () => {
  sn.manualSeed(2);
  const { x, y } = spiral();
  const model = new sn.Sequential(new sn.Linear(2, 16), new sn.BatchNorm1d(16, { momentum: null }), new sn.ReLU(), new sn.Linear(16, 3));
  let best = null, bestLoss = Infinity;
  const recorder = { onEpochEnd(logs, ctx) { if (logs.valLoss < bestLoss) { bestLoss = logs.valLoss; best = snapshot(ctx.model); } } };
  const stopper = sn.earlyStopping({ monitor: 'valLoss', patience: 1, restoreBestWeights: true });
  await model.fit(x, y, { epochs: 30, batchSize: 30, validationSplit: 0.3, optimizer: new sn.SGD(model.parameters(), { lr: 3, momentum: 0.9 }), callbacks: [recorder, stopper], ...silent });
  assert.ok(stopper.stoppedEpoch !== null && stopper.stoppedEpoch > stopper.bestEpoch, 'the run stops early');
  assert.equal(snapshot(model), best);
});

test.run();
