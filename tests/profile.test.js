import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';

await sn.ready();

test('model.profile times every layer of real training steps and leaves the model as it was', async () => {
  const model = new sn.Sequential(new sn.Conv2d(1, 4, 3), new sn.BatchNorm2d(4), new sn.ReLU(), new sn.MaxPool2d(2),
    new sn.Flatten(), new sn.Dropout(0.1), new sn.Linear(4 * 13 * 13, 10));
  model.eval();
  const { images, labels } = await sn.data.mnist({ limit: 16 });
  const before = Object.values(model.stateDict()).map((t) => (t.dtype === 'int64' ? [...t.toInt64Array()] : [...t.toArray()]));
  const p = model.profile(images, labels, { steps: 3, warmup: 1 });
  // The BatchNorm and the ReLU after it run as one sweep (fused): one row names both.
  assert.equal(p.layers.map((l) => l.name), ['Conv2d', 'BatchNorm2d+ReLU', 'MaxPool2d', 'Flatten', 'Dropout', 'Linear']);
  assert.equal(p.layers.map((l) => l.path), ['0', '1+2', '3', '4', '5', '6']);
  assert.is(p.batchSize, 16);
  for (const l of p.layers) assert.ok(l.forwardMs >= 0 && l.backwardMs >= 0 && Number.isFinite(l.forwardMs + l.backwardMs));
  const sum = p.inputMs + p.loss.forwardMs + p.optimizerMs + p.layers.reduce((s, l) => s + l.forwardMs + l.backwardMs, 0);
  assert.ok(Math.abs(p.stepMs - sum) < 1e-9 && p.stepMs > 0);
  const table = String(p);
  assert.match(table, /^batch 16, mean of 3 steps: [\d.]+ ms\/step = [\d,]+ img\/s\nlayer +\| forward ms \| backward ms/);
  assert.match(table, /\n0 Conv2d +\| +[\d.]+ \| +[\d.]+\n/);
  assert.match(table, /\ntotal +\| +[\d.]+ \| +[\d.]+$/);
  const after = Object.values(model.stateDict()).map((t) => (t.dtype === 'int64' ? [...t.toInt64Array()] : [...t.toArray()]));
  assert.equal(after, before, 'weights, running stats and num_batches_tracked restored');
  assert.is(model.training, false, 'mode restored');
  assert.ok(model.parameters().every((q) => q.grad.toArray().every((v) => v === 0)), 'gradients cleared');
  assert.throws(() => model.profile(images, labels, { steps: 0 }), /steps must be a positive integer/);
  assert.throws(() => model.profile(sn.tensor(new Float32Array(2 * 784), [2, 784]), labels), /Conv2d/);
});

test('model.profile with a given optimizer puts its state back too', async () => {
  sn.manualSeed(9);
  const model = new sn.Sequential(new sn.Linear(4, 8), new sn.ReLU(), new sn.Linear(8, 3));
  const opt = new sn.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  const x = sn.tensor(Float32Array.from({ length: 40 }, (_, i) => Math.sin(i)), [10, 4]);
  const y = Int32Array.from({ length: 10 }, (_, i) => i % 3);
  const step = () => { const loss = new sn.CrossEntropyLoss().forward(model.forward(x), y); loss.backward(); opt.step(); opt.zeroGrad(); };
  const state = () => Object.values(model.stateDict()).map((t) => [...t.toArray()]);
  step();
  const before = state();
  model.profile(x, y, { steps: 3, warmup: 1, optimizer: opt });
  assert.is(opt.stepCount, 1, 'the profiled steps are not counted');
  step();
  const afterProfile = state();
  // The same two steps without a profile in between.
  sn.manualSeed(9);
  const twin = new sn.Sequential(new sn.Linear(4, 8), new sn.ReLU(), new sn.Linear(8, 3));
  const twinOpt = new sn.SGD(twin.parameters(), { lr: 0.1, momentum: 0.9 });
  for (let s = 0; s < 2; s++) { new sn.CrossEntropyLoss().forward(twin.forward(x), y).backward(); twinOpt.step(); twinOpt.zeroGrad(); }
  assert.not.equal(before, afterProfile);
  assert.equal(afterProfile, Object.values(twin.stateDict()).map((t) => [...t.toArray()]));
});

test('the profile table stays aligned past layer 9', () => {
  // 12 layers: indexes of one and two digits.
  const layers = [new sn.Flatten(), new sn.Linear(6, 5)];
  for (let i = 0; i < 5; i++) layers.push(new sn.ReLU(), new sn.Linear(5, 5));
  const model = new sn.Sequential(...layers);
  const x = sn.tensor(Float32Array.from({ length: 24 }, (_, i) => Math.cos(i)), [4, 6]);
  const lines = String(model.profile(x, Int32Array.from([0, 1, 2, 3]), { steps: 1, warmup: 0 })).split('\n').slice(1);
  const bars = (line) => [...line].flatMap((c, i) => (c === '|' || c === '+' ? [i] : []));
  for (const line of lines) {
    assert.equal(bars(line), bars(lines[0]), `'${line}' lines up with '${lines[0]}'`);
    assert.is(line.length, lines[0].length, line);
  }
  const names = lines.slice(2, 14).map((l) => l.slice(0, l.indexOf(' |')).trimEnd());
  assert.equal(names, [' 0 Flatten', ' 1 Linear', ...Array.from({ length: 10 }, (_, i) => `${String(i + 2).padStart(2)} ${i % 2 ? 'Linear' : 'ReLU'}`)]);
});

test.run();
