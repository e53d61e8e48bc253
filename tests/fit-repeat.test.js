// Training and inference helpers that repeat, restore and report: one generator per fit (seeds,
// concurrent fits), modes and gradients put back, predict on nested Softmax.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';

await sn.ready();

const silent = { verbose: 0 };
const { x, y } = sn.data.spiral({ pointsPerClass: 40, classes: 3, noise: 0.1, seed: 1 });
const snapshot = (model) => Object.entries(model.stateDict()).map(([k, t]) => [k, t.dtype === 'int64' ? [...t.toInt64Array()] : [...t.toArray()]]);
const grads = (model) => model.parameters().map((p) => [...p.grad.toArray()]);
const flags = (model) => {
  const out = [];
  const walk = (m) => { out.push(m.training); for (const c of m.children()) walk(c[1]); };
  walk(model);
  return out;
};
/** Weights from the global generator's current state, as a probe of where it stands. */
const globalDraws = () => [...new sn.Linear(4, 4).weight.data.toArray()];

/** A model with Dropout, so masks draw from the generator too; weights from sn.manualSeed(seed). */
function dropoutModel(seed) {
  sn.manualSeed(seed);
  return new sn.Sequential(new sn.Linear(2, 16), new sn.ReLU(), new sn.Sequential(new sn.Dropout(0.3), new sn.Linear(16, 3)));
}

/** Rejection message of a promise ('' when it resolves). */
async function rejection(promise) {
  try { await promise; } catch (e) { return e.message; }
  return '';
}

/**
 * Fits with a validation split, shuffling and Dropout; each batch end awaits a macrotask and
 * notes `name` in `order`, so fits run together interleave batch by batch.
 */
function run(model, name, order, options = {}) {
  const callbacks = { onBatchEnd: () => new Promise((resolve) => { order.push(name); setTimeout(resolve, 0); }) };
  return model.fit(x, y, { epochs: 2, batchSize: 16, validationSplit: 0.25, callbacks, ...silent, ...options });
}

test('two seeded fits run at once give the histories and weights they give one after the other', async () => {
  const order = [];
  const a1 = dropoutModel(1), b1 = dropoutModel(2);
  const ha = await run(a1, 'a', order, { seed: 11 });
  const hb = await run(b1, 'b', order, { seed: 22 });
  const a2 = dropoutModel(1), b2 = dropoutModel(2);
  order.length = 0;
  const [ha2, hb2] = await Promise.all([run(a2, 'a', order, { seed: 11 }), run(b2, 'b', order, { seed: 22 })]);
  // They did interleave: otherwise this test would prove nothing.
  assert.ok(order.slice(0, 6).join('') === 'ababab', `batch order ${order.slice(0, 6).join('')}`);
  assert.equal(ha2, ha);
  assert.equal(hb2, hb);
  assert.equal(snapshot(a2), snapshot(a1));
  assert.equal(snapshot(b2), snapshot(b1));
  assert.not.equal(ha.batchLoss, hb.batchLoss);
});

test('fits given no seed draw theirs from sn.manualSeed, so they repeat, also when run at once', async () => {
  const a1 = dropoutModel(1), b1 = dropoutModel(2);
  sn.manualSeed(7);
  const ha = await run(a1, 'a', []);
  const hb = await run(b1, 'b', []);
  const a2 = dropoutModel(1), b2 = dropoutModel(2);
  sn.manualSeed(7);
  const [ha2, hb2] = await Promise.all([run(a2, 'a', []), run(b2, 'b', [])]);
  assert.equal([ha2, hb2], [ha, hb]);
  assert.equal([snapshot(a2), snapshot(b2)], [snapshot(a1), snapshot(b1)]);
  const a3 = dropoutModel(1);
  sn.manualSeed(8);
  assert.not.equal((await run(a3, 'a', [])).batchLoss, ha.batchLoss, 'another global seed, another run');
});

test('a seeded fit repeats bit for bit whatever the global generator did, and leaves it alone', async () => {
  const a = dropoutModel(3);
  sn.manualSeed(100);
  const ha = await run(a, 'a', [], { seed: 5 });
  const after = globalDraws();
  const b = dropoutModel(3);
  sn.manualSeed(200);
  globalDraws();
  const hb = await run(b, 'b', [], { seed: 5 });
  assert.equal(hb, ha);
  assert.equal(snapshot(b), snapshot(a));
  // The global generator went on from manualSeed(100) as if no fit had run.
  sn.manualSeed(100);
  assert.equal(globalDraws(), after);
  // Seeds are used modulo 2^32: -1 and 2^32 - 1 are one seed.
  const c = dropoutModel(3), d = dropoutModel(3);
  assert.equal(await run(c, 'c', [], { seed: -1 }), await run(d, 'd', [], { seed: 2 ** 32 - 1 }));
});

test('manualSeed and fit refuse seeds that are not safe integers, changing nothing', async () => {
  sn.manualSeed(4);
  const expected = globalDraws();
  for (const [bad, what] of [['abc', "the string 'abc'"], [1.5, '1.5'], [NaN, 'NaN'], [Infinity, 'Infinity'], [2 ** 53, String(2 ** 53)], [null, 'null'], [[1], 'an Array of 1 number']]) {
    sn.manualSeed(4);
    assert.throws(() => sn.manualSeed(bad), (e) => /^manualSeed: seed must be a safe integer \(it is used modulo 2\^32\), got (.*)$/.exec(e.message)?.[1] === what);
    assert.equal(globalDraws(), expected, `manualSeed(${what}) changed the global generator`);
  }
  sn.manualSeed(2 ** 32 + 4);
  assert.equal(globalDraws(), expected, 'seeds are used modulo 2^32');

  const model = dropoutModel(3);
  const before = snapshot(model);
  for (const [bad, what] of [[1.5, '1.5'], [NaN, 'NaN'], [-(2 ** 60), String(-(2 ** 60))]]) {
    sn.manualSeed(4);
    const message = await rejection(run(model, 'm', [], { seed: bad }));
    assert.match(message, new RegExp(`^fit: seed must be a safe integer \\(it is used modulo 2\\^32\\), got ${what.replace(/[.+]/g, '\\$&')}$`));
    assert.equal(snapshot(model), before);
    assert.equal(globalDraws(), expected, `fit({ seed: ${what} }) changed the global generator`);
  }
  // A type another check may name first: the seed is refused either way.
  assert.match(await rejection(run(model, 'm', [], { seed: 'abc' })), /^fit: .*seed/);
  assert.equal(snapshot(model), before);
});

test('a second fit of a model (or of a part of it) that a fit is training is refused; the first runs on unchanged', async () => {
  const solo = dropoutModel(1);
  const expected = await run(solo, 'solo', [], { seed: 3 });

  const model = dropoutModel(1);
  const first = run(model, 'first', [], { seed: 3 });
  const inner = model.at(2);
  const sharing = new sn.Sequential(model.at(0));
  const before = flags(model);
  for (const [other, re] of [
    [model, /^fit: this model is already being trained by another fit\(\) that has not finished; await that one/],
    [inner, /^fit: this model is part of a model that is already being trained by another fit\(\)/],
    [sharing, /^fit: layer 0 \(Linear\(in_features=2, out_features=16, bias=True\)\) is already being trained by another fit\(\)/],
  ]) {
    assert.match(await rejection(run(other, 'second', [], { seed: 9 })), re);
    assert.equal(flags(model), before, 'the refused fit changed a mode');
  }
  assert.equal(await first, expected, 'the refused fits changed the first one');
  assert.equal(snapshot(model), snapshot(solo));
  // Released at the end, after success and after failure alike.
  await run(model, 'again', [], { epochs: 1 });
  const boom = { onBatchEnd() { throw new Error('callback failed'); } };
  assert.match(await rejection(model.fit(x, y, { callbacks: boom, ...silent })), /callback failed/);
  await run(model, 'after failure', [], { epochs: 1 });
});

test('a fit that throws or is aborted puts every module\'s mode back; one that ends leaves eval mode', async () => {
  const make = () => {
    const m = new sn.Sequential(new sn.Linear(2, 8), new sn.BatchNorm1d(8), new sn.ReLU(), new sn.Sequential(new sn.Dropout(0.2), new sn.Linear(8, 3)));
    m.at(1).eval(); // a frozen BatchNorm in a model otherwise in training mode
    return m;
  };
  const before = flags(make());
  assert.equal(before, [true, true, false, true, true, true, true]);
  const failures = [
    ['a callback throws', { callbacks: { onBatchEnd(l) { if (l.batch === 2) throw new Error('stop here'); } } }, /stop here/],
    ['the step diverges', { optimizer: (m) => new sn.SGD(m.parameters(), { lr: 1e30 }), epochs: 30 }, /fit: epoch \d+, batch \d+: .*weights are those from before this step/],
    ['onTrainEnd throws', { callbacks: { onTrainEnd() { throw new Error('end failed'); } } }, /end failed/],
    ['a label is out of range', { labels: new Int32Array(120).fill(5) }, /fit: CrossEntropyLoss: label at index 0 is 5/],
  ];
  for (const [what, { optimizer, labels, ...options }, re] of failures) {
    for (const evalFirst of [false, true]) {
      const model = make();
      if (evalFirst) model.eval();
      const modes = flags(model);
      const message = await rejection(model.fit(x, labels ?? y, { batchSize: 16, ...silent, ...options, optimizer: optimizer?.(model) }));
      assert.match(message, re, what);
      assert.equal(flags(model), modes, `${what}: modes not restored`);
    }
  }
  const aborted = make();
  const controller = new AbortController();
  const h = await aborted.fit(x, y, { epochs: 3, batchSize: 16, signal: controller.signal, ...silent, callbacks: { onBatchEnd(l) { if (l.batch === 1) controller.abort(); } } });
  assert.is(h.stopReason, 'abort');
  assert.equal(flags(aborted), before, 'abort: modes not restored');
  const done = make();
  await done.fit(x, y, { epochs: 1, ...silent });
  assert.ok(flags(done).every((t) => t === false), 'a fit that ends leaves every module in eval mode');
  const stopped = make();
  let modesAtEnd = null;
  await stopped.fit(x, y, { epochs: 3, ...silent, callbacks: { onEpochEnd(l, ctx) { ctx.stop(); }, onTrainEnd() { modesAtEnd = flags(stopped); } } });
  assert.ok(modesAtEnd.every((t) => t === false), 'stopped by a callback: eval mode, already when onTrainEnd runs');
});

test('evaluate, predict and predictClasses put back each module\'s mode, not the root\'s for all', () => {
  const model = new sn.Sequential(new sn.Linear(2, 8), new sn.BatchNorm1d(8), new sn.Sequential(new sn.ReLU(), new sn.Linear(8, 3)));
  model.at(1).eval();
  model.at(2).at(1).eval();
  const modes = flags(model);
  model.evaluate(x, y);
  assert.equal(flags(model), modes, 'evaluate');
  model.predict(x);
  assert.equal(flags(model), modes, 'predict');
  model.predictClasses(x);
  assert.equal(flags(model), modes, 'predictClasses');
});

test('profile puts back the gradients the user had accumulated, and the global generator', () => {
  sn.manualSeed(6);
  const model = new sn.Sequential(new sn.Linear(2, 8), new sn.BatchNorm1d(8), new sn.ReLU(), new sn.Dropout(0.3), new sn.Linear(8, 3));
  model.at(1).eval();
  // Gradients accumulated by two backward passes, not yet stepped.
  for (let i = 0; i < 2; i++) new sn.CrossEntropyLoss().forward(model.forward(x), y).backward();
  const g = grads(model), state = snapshot(model), modes = flags(model);
  assert.ok(g.flat().some((v) => v !== 0));
  const optimizer = new sn.Adam(model.parameters(), { lr: 0.1 });
  const frozen = new sn.SGD(model.at(0).parameters(), { lr: 0.1, momentum: 0.5 }); // a subset: the rest stays frozen
  sn.manualSeed(9);
  const expectedDraws = globalDraws();
  for (const options of [{}, { optimizer }, { optimizer: frozen }]) {
    sn.manualSeed(9);
    model.profile(x, y, { steps: 2, warmup: 1, ...options });
    assert.equal(globalDraws(), expectedDraws, 'profile advanced the global generator');
    assert.equal(grads(model), g, 'gradients');
    assert.equal(snapshot(model), state, 'weights and running statistics');
    assert.equal(flags(model), modes, 'modes');
  }
  // Refused before it ran: nothing touched either.
  assert.throws(() => model.profile(sn.tensor(new Float32Array(9), [3, 3]), [0, 1, 2], { optimizer }), /Linear\(in_features=2/);
  assert.equal(grads(model), g);
});

test('predict does not apply softmax twice after a Softmax or LogSoftmax nested in Sequentials', () => {
  const input = sn.tensor(Float32Array.from({ length: 24 }, (_, i) => Math.sin(3 * i)), [12, 2]);
  const rows = (t) => Array.from({ length: 12 }, (_, i) => [...t.toArray().slice(3 * i, 3 * i + 3)]);
  for (const [make, name] of [
    [() => new sn.Softmax(1), 'Softmax'], [() => new sn.Softmax(-1), 'Softmax(-1)'], [() => new sn.LogSoftmax(1), 'LogSoftmax'],
  ]) {
    sn.manualSeed(2);
    const flat = new sn.Sequential(new sn.Linear(2, 3), make());
    sn.manualSeed(2);
    const nested = new sn.Sequential(new sn.Sequential(new sn.Linear(2, 3), new sn.Sequential(make())), new sn.Sequential());
    const expected = rows(flat.predict(input));
    assert.equal(rows(nested.predict(input)), expected, name);
    nested.eval();
    const out = rows(nested.forward(input));
    // Softmax outputs are the probabilities themselves; LogSoftmax's are their logarithms.
    const probs = name === 'LogSoftmax' ? out.map((r) => r.map((v) => Math.fround(Math.exp(v)))) : out;
    expected.forEach((r, i) => r.forEach((p, j) => assert.ok(Math.abs(p - probs[i][j]) < 1e-6, `${name}: row ${i}: ${p} vs ${probs[i][j]}`)));
    expected.forEach((r) => assert.ok(Math.abs(r[0] + r[1] + r[2] - 1) < 1e-5, `${name}: a row sums to ${r[0] + r[1] + r[2]}`));
  }
  // Softmax over the batch dimension is not over the classes: predict still normalises each row.
  const overBatch = new sn.Sequential(new sn.Linear(2, 3), new sn.Sequential(new sn.Softmax(0)));
  rows(overBatch.predict(input)).forEach((r) => assert.ok(Math.abs(r[0] + r[1] + r[2] - 1) < 1e-5));
});

test('fit keeps a submodule put in eval mode frozen, and trains a model in eval mode as a whole', async () => {
  const x = sn.tensor(Float32Array.from({ length: 40 * 4 }, (_, i) => Math.cos(i)), [40, 4]);
  const y = Int32Array.from({ length: 40 }, (_, i) => i % 2);
  const make = () => { sn.manualSeed(5); return new sn.Sequential(new sn.Linear(4, 8), new sn.BatchNorm1d(8), new sn.ReLU(), new sn.Linear(8, 2)); };
  const stats = (m) => ['1.running_mean', '1.running_var'].map((k) => [...m.stateDict()[k].toArray()]);
  const frozen = make();
  frozen.train();
  frozen.at(1).eval();
  const before = stats(frozen), weight = [...frozen.at(0).weight.data.toArray()];
  const seen = [];
  // Validation runs in eval mode between epochs; each epoch starts from the user's modes again.
  await frozen.fit(x, y, { epochs: 3, batchSize: 10, validationSplit: 0.25, verbose: 0, seed: 1,
    callbacks: { onBatchEnd: () => { seen.push([frozen.training, frozen.at(1).training]); } } });
  assert.equal(stats(frozen), before, 'the frozen BatchNorm kept its running statistics');
  assert.not.equal([...frozen.at(0).weight.data.toArray()], weight, 'the other layers trained');
  assert.ok(seen.length > 0 && seen.every(([root, bn]) => root && !bn), `modes during training: ${JSON.stringify(seen.slice(0, 3))}`);
  const whole = make();
  whole.eval();
  await whole.fit(x, y, { epochs: 1, batchSize: 10, verbose: 0, seed: 1 });
  assert.not.equal(stats(whole), before, 'a model in eval mode trains as a whole, BatchNorm included');
  frozen.dispose(); whole.dispose();
});

test('profile takes int64 class labels as fit does', () => {
  const model = new sn.Sequential(new sn.Linear(4, 3));
  const x = sn.tensor(Float32Array.from({ length: 8 }, (_, i) => i / 8), [2, 4]);
  const p = model.profile(x, sn.tensor(new BigInt64Array([0n, 2n])), { steps: 1, warmup: 0 });
  assert.is(p.batchSize, 2);
  assert.is(p.layers.length, 1);
  model.dispose();
});

test.run();
