// CrossEntropyLoss, MSELoss, NLLLoss and BCEWithLogitsLoss against float64 references.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
const { NLLLoss, BCEWithLogitsLoss } = sn;
import { rt } from 'simdnet/internal';
import { rng, freshSeed, randn, assertClose, numericGrad } from './helpers.js';

await sn.ready();

const f32 = (a) => Float64Array.from(Float32Array.from(a));

/** Float64 cross-entropy with PyTorch's label smoothing; returns { value, grad }. */
function refCrossEntropy(x, labels, N, C, { reduction = 'mean', labelSmoothing: s = 0, ignoreIndex = -100 } = {}) {
  let total = 0, counted = 0;
  const grad = new Float64Array(N * C);
  const rows = [];
  for (let n = 0; n < N; n++) {
    if (labels[n] === ignoreIndex) continue;
    counted++;
    const row = x.subarray(n * C, n * C + C);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    for (let c = 0; c < C; c++) {
      const q = (c === labels[n] ? 1 - s : 0) + s / C;
      total -= q * (row[c] - lse);
      grad[n * C + c] = Math.exp(row[c] - lse) - q;
    }
    rows.push(n);
  }
  const scale = reduction === 'sum' ? 1 : 1 / counted;
  return { value: total * scale, grad: grad.map((g) => g * scale) };
}

function randomLabels(N, C, rand) { return Array.from({ length: N }, () => Math.floor(rand() * C)); }

const ceShapes = [[1, 1], [1, 2], [1, 10], [3, 5], [7, 3], [5, 17], [64, 10]];
const ceOptions = [
  {}, { reduction: 'sum' }, { labelSmoothing: 0.1 }, { labelSmoothing: 0.37, reduction: 'sum' },
  { ignoreIndex: 1 }, { labelSmoothing: 0.2, ignoreIndex: -100 },
];

for (const [N, C] of ceShapes) {
  for (const options of ceOptions) {
    test(`CrossEntropyLoss [${N}, ${C}] ${JSON.stringify(options)}`, () => {
      const seed = freshSeed(), rand = rng(seed);
      const x = f32(randn(N * C, rand, 8));
      const labels = randomLabels(N, C, rand);
      // With the default ignoreIndex, mark one row ignored (when there is more than one).
      if (options.ignoreIndex === -100 && N > 1) labels[N - 1] = -100;
      if (options.ignoreIndex === 1) labels[0] = 0; // keep at least one row counted
      const loss = new sn.CrossEntropyLoss(options).forward(sn.tensor(Float32Array.from(x), [N, C]), Int32Array.from(labels));
      const ref = refCrossEntropy(x, labels, N, C, options);
      assertClose([loss.value], [ref.value], { rtol: 1e-5, atol: 1e-6, what: `seed ${seed} value` });
      assertClose(loss.gradient.toArray(), ref.grad, { rtol: 1e-4, atol: 1e-6, what: `seed ${seed} gradient` });
    });
  }
}

test('CrossEntropyLoss is stable for huge logits', () => {
  const x = [1000, -1000, 0, 0, 3000, 2999];
  const loss = new sn.CrossEntropyLoss().forward(sn.tensor(Float32Array.from(x), [2, 3]), [1, 2]);
  const ref = refCrossEntropy(Float64Array.from(x), [1, 2], 2, 3);
  assertClose([loss.value], [ref.value], { rtol: 1e-6, what: 'value' });
  assertClose(loss.gradient.toArray(), ref.grad, { rtol: 1e-5, atol: 1e-6, what: 'gradient' });
});

test('CrossEntropyLoss gradient matches finite differences (float64 reference and float32 loss)', () => {
  for (const options of [{}, { labelSmoothing: 0.25 }, { reduction: 'sum' }]) {
    const seed = freshSeed(), rand = rng(seed);
    const N = 4, C = 6, x = f32(randn(N * C, rand, 2)), labels = randomLabels(N, C, rand);
    const lossFn = new sn.CrossEntropyLoss(options);
    const grad = lossFn.forward(sn.tensor(Float32Array.from(x), [N, C]), labels).gradient.toArray();
    const num = numericGrad(() => refCrossEntropy(x, labels, N, C, options).value, x, 1e-5);
    assertClose(grad, num, { rtol: 1e-3, atol: 1e-5, what: `seed ${seed} ${JSON.stringify(options)} vs float64 differences` });
    const num32 = numericGrad(() => lossFn.forward(sn.tensor(Float32Array.from(x), [N, C]), labels).value, x, 1e-2);
    assertClose(grad, num32, { rtol: 2e-2, atol: 2e-3, what: `seed ${seed} ${JSON.stringify(options)} vs float32 differences` });
  }
});

test('CrossEntropyLoss mean divides by the batch size', () => {
  const seed = freshSeed(), rand = rng(seed);
  const x = Float32Array.from(randn(40, rand, 3)), labels = randomLabels(8, 5, rand);
  const mean = new sn.CrossEntropyLoss().forward(sn.tensor(x, [8, 5]), labels);
  const meanGrad = mean.gradient.toArray();
  const sum = new sn.CrossEntropyLoss({ reduction: 'sum' }).forward(sn.tensor(x, [8, 5]), labels);
  assertClose([mean.value * 8], [sum.value], { rtol: 1e-6, what: `seed ${seed} value` });
  assertClose(meanGrad.map((g) => g * 8), sum.gradient.toArray(), { rtol: 1e-5, atol: 1e-7, what: `seed ${seed} gradient` });
});

test('CrossEntropyLoss.backward() flows into Linear', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  const N = 7, I = 5, O = 3;
  const lin = new sn.Linear(I, O);
  const W = f32(lin.weight.data.toArray()), b = f32(lin.bias.data.toArray());
  const x = f32(randn(N * I, rand)), labels = randomLabels(N, O, rand);
  const xt = sn.tensor(Float32Array.from(x), [N, I], { requiresGrad: true });
  const loss = new sn.CrossEntropyLoss({ labelSmoothing: 0.1 }).forward(lin.forward(xt), labels);
  assert.is(loss.backward(), undefined, 'backward() returns nothing, as PyTorch\'s');
  const dx = xt.grad.toArray();
  // Float64 reference: logits, dL/dlogits, then the Linear gradients.
  const logits = new Float64Array(N * O);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) {
    let s = b[o];
    for (let i = 0; i < I; i++) s += x[n * I + i] * W[o * I + i];
    logits[n * O + o] = s;
  }
  const ref = refCrossEntropy(logits, labels, N, O, { labelSmoothing: 0.1 });
  const dW = new Float64Array(O * I), db = new Float64Array(O), dxRef = new Float64Array(N * I);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) {
    const g = ref.grad[n * O + o];
    db[o] += g;
    for (let i = 0; i < I; i++) { dW[o * I + i] += g * x[n * I + i]; dxRef[n * I + i] += g * W[o * I + i]; }
  }
  assertClose([loss.value], [ref.value], { rtol: 1e-5, what: `seed ${seed} value` });
  assertClose(lin.weight.grad.toArray(), dW, { rtol: 1e-4, atol: 1e-6, what: `seed ${seed} dW` });
  assertClose(lin.bias.grad.toArray(), db, { rtol: 1e-4, atol: 1e-6, what: `seed ${seed} db` });
  assertClose(dx, dxRef, { rtol: 1e-4, atol: 1e-6, what: `seed ${seed} dx` });
});

test('CrossEntropyLoss accepts labels as number[], Int32Array or Tensor', () => {
  const seed = freshSeed(), rand = rng(seed);
  const x = sn.tensor(Float32Array.from(randn(12, rand)), [3, 4]);
  const lossFn = new sn.CrossEntropyLoss();
  const a = lossFn.forward(x, [0, 3, 1]).value;
  const b = lossFn.forward(x, Int32Array.of(0, 3, 1)).value;
  const c = lossFn.forward(x, sn.tensor([0, 3, 1])).value;
  assert.is(a, b, `seed ${seed}`); assert.is(a, c, `seed ${seed}`);
});

test('CrossEntropyLoss checks labels first and changes nothing on error', () => {
  const seed = freshSeed(), rand = rng(seed);
  const lossFn = new sn.CrossEntropyLoss();
  const x = sn.tensor(Float32Array.from(randn(12, rand)), [4, 3]);
  const good = lossFn.forward(x, [0, 1, 2, 1]);
  const before = good.gradient.toArray();
  assert.throws(() => lossFn.forward(x, [0, 1, 2]), /CrossEntropyLoss: expected 4 labels for input of shape \[4, 3\], got 3/);
  assert.throws(() => lossFn.forward(x, [0, 1, 3, 1]), /CrossEntropyLoss: label at index 2 is 3, expected an integer class index in \[0, 3\)/);
  assert.throws(() => lossFn.forward(x, [0, -1, 2, 1]), /label at index 1 is -1/);
  assert.throws(() => lossFn.forward(x, [0, 1, 2, 0.5]), /label at index 3 is 0.5/);
  assert.throws(() => lossFn.forward(x, [0, 1, NaN, 0]), /label at index 2 is NaN/);
  assert.throws(() => lossFn.forward(sn.tensor(new Float32Array(12), [2, 3, 2]), [0, 1]), /CrossEntropyLoss: expected input of shape \[N, C\], got \[2, 3, 2\]/);
  const bad = Float32Array.from(randn(12, rand)); bad[5] = NaN;
  assert.throws(() => lossFn.forward(sn.tensor(bad, [4, 3]), [0, 1, 2, 1]), /CrossEntropyLoss: 1 of 12 prediction values are NaN/);
  assert.equal([...good.gradient.toArray()], [...before], `seed ${seed}: the gradient changed after a refused call`);
});

test('CrossEntropyLoss refuses bad options; all-ignored mean is NaN with a zero gradient', () => {
  assert.throws(() => new sn.CrossEntropyLoss({ reduction: 'none' }), /CrossEntropyLoss: reduction must be 'mean' or 'sum', got the string 'none'/);
  assert.throws(() => new sn.CrossEntropyLoss({ labelSmoothing: 1.5 }), /CrossEntropyLoss: labelSmoothing must be between 0 and 1, got 1.5/);
  assert.throws(() => new sn.CrossEntropyLoss({ ignoreIndex: 0.5 }), /CrossEntropyLoss: ignoreIndex must be a 32-bit integer/);
  const loss = new sn.CrossEntropyLoss().forward(sn.tensor([1, 2, 3, 4], [2, 2]), [-100, -100]);
  assert.ok(Number.isNaN(loss.value));
  assert.equal([...loss.gradient.toArray()], [0, 0, 0, 0]);
});

test('loss.backward() on a prediction no module produced says so', () => {
  const loss = new sn.CrossEntropyLoss().forward(sn.tensor([1, 2], [1, 2]), [0]);
  assert.throws(() => loss.backward(), /nothing to back-propagate through/);
});

// ---- MSELoss ----

for (const shape of [[1], [7], [3, 5], [2, 3, 4, 5], [2051]]) {
  for (const reduction of ['mean', 'sum']) {
    test(`MSELoss ${reduction}, shape [${shape}]`, () => {
      const seed = freshSeed(), rand = rng(seed);
      const n = shape.reduce((a, b) => a * b, 1);
      const y = f32(randn(n, rand, 3)), t = f32(randn(n, rand, 3));
      const loss = new sn.MSELoss({ reduction }).forward(sn.tensor(Float32Array.from(y), shape), sn.tensor(Float32Array.from(t), shape));
      const scale = reduction === 'sum' ? 1 : 1 / n;
      const value = y.reduce((s, v, i) => s + (v - t[i]) ** 2, 0) * scale;
      assertClose([loss.value], [value], { rtol: 1e-5, what: `seed ${seed} value` });
      assertClose(loss.gradient.toArray(), y.map((v, i) => 2 * (v - t[i]) * scale), { rtol: 1e-5, atol: 1e-7, what: `seed ${seed} gradient` });
      // Finite differences on the first few coordinates (the loss is a sum, so they suffice).
      const k = Math.min(n, 5), head = y.slice(0, k);
      const f = () => head.reduce((s, v, i) => s + (v - t[i]) ** 2, 0) * scale;
      assertClose(loss.gradient.toArray().slice(0, k), numericGrad(f, head, 1e-4), { rtol: 1e-3, atol: 1e-6, what: `seed ${seed} vs finite differences` });
    });
  }
}

test('MSELoss.backward() flows into Linear; a device target works', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  const lin = new sn.Linear(3, 2);
  const W = f32(lin.weight.data.toArray()), b = f32(lin.bias.data.toArray());
  const x = f32(randn(12, rand)), tHost = f32(randn(8, rand));
  // The target comes from another layer's output (a device tensor).
  const target = new sn.Tanh().forward(sn.tensor(Float32Array.from(tHost), [4, 2]));
  const t = f32(target.toArray());
  const xt = sn.tensor(Float32Array.from(x), [4, 3], { requiresGrad: true });
  const loss = new sn.MSELoss().forward(lin.forward(xt), target);
  loss.backward();
  const dx = xt.grad.toArray();
  const dW = new Float64Array(6), dxRef = new Float64Array(12);
  let value = 0;
  for (let n = 0; n < 4; n++) for (let o = 0; o < 2; o++) {
    let s = b[o];
    for (let i = 0; i < 3; i++) s += x[n * 3 + i] * W[o * 3 + i];
    value += (s - t[n * 2 + o]) ** 2 / 8;
    const g = 2 * (s - t[n * 2 + o]) / 8;
    for (let i = 0; i < 3; i++) { dW[o * 3 + i] += g * x[n * 3 + i]; dxRef[n * 3 + i] += g * W[o * 3 + i]; }
  }
  assertClose([loss.value], [value], { rtol: 1e-5, what: `seed ${seed} value` });
  assertClose(lin.weight.grad.toArray(), dW, { rtol: 1e-4, atol: 1e-6, what: `seed ${seed} dW` });
  assertClose(dx, dxRef, { rtol: 1e-4, atol: 1e-6, what: `seed ${seed} dx` });
});

test('MSELoss refuses mismatched shapes, non-finite targets and bad options', () => {
  const lossFn = new sn.MSELoss();
  assert.throws(() => lossFn.forward(sn.tensor([1, 2, 3, 4], [2, 2]), sn.tensor([1, 2, 3, 4], [4])),
    /MSELoss: the target shape \[4\] differs from the input shape \[2, 2\]/);
  assert.throws(() => lossFn.forward(sn.tensor([1, 2], [2]), sn.tensor([1, Infinity], [2])), /MSELoss: 1 of 2 target values are NaN or infinite/);
  assert.throws(() => lossFn.forward(sn.tensor([1, 2], [2]), [1, 2]), /MSELoss: the target must be a Tensor/);
  assert.throws(() => new sn.MSELoss({ reduction: 'avg' }), /MSELoss: reduction must be 'mean' or 'sum', got the string 'avg'/);
});

// ---- NLLLoss, BCEWithLogitsLoss ----

test('LogSoftmax + NLLLoss equals CrossEntropyLoss, value and input gradient', () => {
  for (const options of [{}, { reduction: 'sum' }, { ignoreIndex: 2 }]) {
    const seed = freshSeed(), rand = rng(seed);
    const N = 6, C = 5, x = Float32Array.from(randn(N * C, rand, 4)), labels = randomLabels(N, C, rand);
    labels[0] = 1;
    const logSoftmax = new sn.LogSoftmax(1);
    const xt = sn.tensor(x, [N, C], { requiresGrad: true });
    const nll = new NLLLoss(options).forward(logSoftmax.forward(xt), labels);
    nll.backward();
    const dx = xt.grad.toArray();
    const ref = refCrossEntropy(f32(x), labels, N, C, options);
    assertClose([nll.value], [ref.value], { rtol: 1e-5, what: `seed ${seed} value` });
    assertClose(dx, ref.grad, { rtol: 1e-4, atol: 1e-6, what: `seed ${seed} dx` });
  }
  assert.throws(() => new NLLLoss().forward(sn.tensor([0, 0], [1, 2]), [2]), /NLLLoss: label at index 0 is 2/);
});

test('BCEWithLogitsLoss against float64, stable for large logits', () => {
  for (const reduction of ['mean', 'sum']) {
    const seed = freshSeed(), rand = rng(seed);
    const n = 23, x = f32(randn(n, rand, 6)), t = f32(Array.from({ length: n }, () => rand()));
    x[3] = 200; x[4] = -200;
    const loss = new BCEWithLogitsLoss({ reduction }).forward(sn.tensor(Float32Array.from(x), [n]), sn.tensor(Float32Array.from(t), [n]));
    const scale = reduction === 'sum' ? 1 : 1 / n;
    const f = () => x.reduce((s, v, i) => s + Math.max(v, 0) - v * t[i] + Math.log1p(Math.exp(-Math.abs(v))), 0) * scale;
    assertClose([loss.value], [f()], { rtol: 1e-5, what: `seed ${seed} value` });
    const num = numericGrad(f, x, 1e-5);
    assertClose(loss.gradient.toArray(), num, { rtol: 1e-3, atol: 1e-6, what: `seed ${seed} gradient vs finite differences` });
  }
});

/** Float64 BCE with logits and PyTorch's pos_weight (one per entry of the last dimension, or one for all). */
function refBceWithLogits(x, t, posWeight, scale) {
  const softplus = (z) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
  return x.reduce((s, v, i) => {
    const pw = posWeight.length === 1 ? posWeight[0] : posWeight[i % posWeight.length];
    return s + pw * t[i] * softplus(-v) + (1 - t[i]) * softplus(v);
  }, 0) * scale;
}

test('BCEWithLogitsLoss with posWeight against float64 and finite differences', () => {
  const cases = [
    { shape: [6, 3], posWeight: [0.5, 3, 1], reduction: 'mean' },
    { shape: [6, 3], posWeight: [2], reduction: 'sum' },
    { shape: [2, 2, 5], posWeight: [1, 0, 4.5, 0.25, 10], reduction: 'mean', asTensor: true },
    { shape: [7], posWeight: [1, 2, 3, 4, 5, 6, 7], reduction: 'sum' },
  ];
  for (const { shape, posWeight, reduction, asTensor } of cases) {
    const seed = freshSeed(), rand = rng(seed);
    const n = shape.reduce((a, b) => a * b, 1);
    const x = f32(randn(n, rand, 6));
    // Soft targets, and some exactly 0 and 1, as labels would be.
    const t = f32(Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : i % 3 === 1 ? 0 : rand())));
    x[1] = 150; x[2] = -150;
    const pw = asTensor ? sn.tensor(Float32Array.from(posWeight), [posWeight.length]) : posWeight;
    const lossFn = new BCEWithLogitsLoss({ reduction, posWeight: pw });
    const loss = lossFn.forward(sn.tensor(Float32Array.from(x), shape), sn.tensor(Float32Array.from(t), shape));
    const scale = reduction === 'sum' ? 1 : 1 / n;
    const f = () => refBceWithLogits(x, t, posWeight, scale);
    const what = `seed ${seed} ${JSON.stringify({ shape, posWeight, reduction })}`;
    assertClose([loss.value], [f()], { rtol: 1e-5, atol: 1e-7, what: `${what} value` });
    assertClose(loss.gradient.toArray(), numericGrad(f, x, 1e-5), { rtol: 1e-3, atol: 1e-6, what: `${what} gradient vs finite differences` });
    lossFn.dispose();
  }
});

test('BCEWithLogitsLoss posWeight of ones equals no posWeight, and 1 - t weights stay as they were', () => {
  const seed = freshSeed(), rand = rng(seed);
  const x = sn.tensor(Float32Array.from(randn(12, rand, 4)), [4, 3]);
  const t = sn.tensor(Float32Array.from({ length: 12 }, () => rand()), [4, 3]);
  const plain = new BCEWithLogitsLoss().forward(x, t);
  const ones = new BCEWithLogitsLoss({ posWeight: [1, 1, 1] }).forward(x, t);
  assertClose([ones.value], [plain.value], { rtol: 1e-6, what: `seed ${seed} value` });
  assertClose(ones.gradient.toArray(), plain.gradient.toArray(), { rtol: 1e-5, atol: 1e-7, what: `seed ${seed} gradient` });
  // With every target 0, posWeight has nothing to weigh.
  const zeros = sn.tensor(new Float32Array(12), [4, 3]);
  assert.is(new BCEWithLogitsLoss({ posWeight: [9, 9, 9] }).forward(x, zeros).value, new BCEWithLogitsLoss().forward(x, zeros).value);
});

test('BCEWithLogitsLoss refuses a posWeight that does not fit the input', () => {
  const x = sn.tensor(new Float32Array(6), [2, 3]), t = sn.tensor(new Float32Array(6), [2, 3]);
  assert.throws(() => new BCEWithLogitsLoss({ posWeight: [1, 2] }).forward(x, t),
    /BCEWithLogitsLoss: posWeight has 2 values, but the input of shape \[2, 3\] has 3 classes in its last dimension \(give 3 or 1\)/);
  assert.throws(() => new BCEWithLogitsLoss({ posWeight: [1, NaN, 2] }), /BCEWithLogitsLoss: posWeight\[1\] is NaN; every value must be a finite float32 number ≥ 0/);
  assert.throws(() => new BCEWithLogitsLoss({ posWeight: [1, -2, 2] }), /BCEWithLogitsLoss: posWeight\[1\] is -2/);
  assert.throws(() => new BCEWithLogitsLoss({ posWeight: [] }), /BCEWithLogitsLoss: posWeight is empty/);
  assert.throws(() => new BCEWithLogitsLoss({ posWeight: 2 }), /BCEWithLogitsLoss: posWeight must be a Tensor or an array of numbers \(one per class\), got 2/);
  assert.throws(() => new BCEWithLogitsLoss({ pos_weight: [1] }), /BCEWithLogitsLoss: unknown option 'pos_weight'; did you mean 'posWeight'\?/);
});

test('training steps through these layers and losses allocate no wasm memory once shapes are stable', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  const model = new sn.Sequential(new sn.Linear(6, 8), new sn.BatchNorm1d(8), new sn.LeakyReLU(), new sn.Dropout(0.3),
    new sn.Linear(8, 4), new sn.Tanh(), new sn.Softmax(1));
  const ce = new sn.CrossEntropyLoss({ labelSmoothing: 0.1 }), mse = new sn.MSELoss();
  const x = sn.tensor(Float32Array.from(randn(30, rand)), [5, 6]);
  const target = sn.tensor(Float32Array.from(randn(20, rand)), [5, 4]);
  const labels = randomLabels(5, 4, rand);
  let inUse = 0;
  for (let step = 0; step < 5; step++) {
    ce.forward(model.forward(x), labels).backward();
    mse.forward(model.forward(x), target).backward();
    if (step === 1) inUse = rt().heap.bytesInUse;
  }
  assert.is(rt().heap.bytesInUse, inUse, `seed ${seed}: memory in use grew from ${inUse}`);
});

test('losses name themselves', () => {
  assert.is(String(new sn.CrossEntropyLoss()), 'CrossEntropyLoss');
  assert.is(String(new sn.MSELoss()), 'MSELoss');
});

test('loss.backward() after the model or the loss has run again throws instead of mixing two batches', () => {
  const model = new sn.Sequential(new sn.Linear(3, 2));
  const ce = new sn.CrossEntropyLoss();
  const x1 = sn.tensor([1, 2, 3, 4, 5, 6], [2, 3]), x2 = sn.tensor([9, 8, 7, 6, 5, 4], [2, 3]);
  const first = ce.forward(model.forward(x1), [0, 1]);
  model.forward(x2);                                     // e.g. a prediction between forward and backward
  assert.throws(() => first.backward(), /loss\.backward\(\): Sequential \(1 layers\) has run forward\(\) again since it produced this loss's prediction/);
  const a = ce.forward(model.forward(x1), [0, 1]);
  ce.forward(new sn.Linear(3, 2).forward(x2), [1, 1]);   // the same loss function on another batch
  assert.throws(() => a.backward(), /loss\.backward\(\): the loss function has run forward\(\) again/);
  assert.ok(model.parameters().every((p) => p.grad.toArray().every((v) => v === 0)), 'no gradient was accumulated');
  // The latest loss still back-propagates, and matches a clean run.
  const b = ce.forward(model.forward(x1), [0, 1]);
  b.backward();
  const dW = model.at(0).weight.grad.toArray();
  model.zeroGrad();
  const again = new sn.CrossEntropyLoss().forward(model.forward(x1), [0, 1]);
  again.backward();
  assert.equal(model.at(0).weight.grad.toArray(), dW);
  ce.dispose();
  assert.throws(() => b.backward(), /the loss function has run forward\(\) again \(or was disposed\)/);
});

test.run();
