import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rng, freshSeed, randn, assertClose, numericGrad } from './helpers.js';

await sn.ready();

/** float64 y = x·Wᵀ + b over rows. */
function refLinear(x, W, b, rows, nIn, nOut) {
  const y = new Float64Array(rows * nOut);
  for (let r = 0; r < rows; r++) for (let o = 0; o < nOut; o++) {
    let s = b ? b[o] : 0;
    for (let i = 0; i < nIn; i++) s += x[r * nIn + i] * W[o * nIn + i];
    y[r * nOut + o] = s;
  }
  return y;
}

function refLinearBackward(x, W, dy, rows, nIn, nOut) {
  const dx = new Float64Array(rows * nIn), dW = new Float64Array(nOut * nIn), db = new Float64Array(nOut);
  for (let r = 0; r < rows; r++) for (let o = 0; o < nOut; o++) {
    const g = dy[r * nOut + o];
    db[o] += g;
    for (let i = 0; i < nIn; i++) { dW[o * nIn + i] += g * x[r * nIn + i]; dx[r * nIn + i] += g * W[o * nIn + i]; }
  }
  return { dx, dW, db };
}

const cases = [
  { lead: [1], nIn: 1, nOut: 1 }, { lead: [1], nIn: 7, nOut: 3 }, { lead: [5], nIn: 13, nOut: 9 },
  { lead: [64], nIn: 400, nOut: 120 }, { lead: [2, 3], nIn: 6, nOut: 5 }, { lead: [3], nIn: 33, nOut: 17, bias: false },
];

for (const c of cases) {
  test(`Linear ${c.nIn}→${c.nOut} input [${c.lead},${c.nIn}] bias=${c.bias ?? true}: forward, dx, dW, db`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const rows = c.lead.reduce((a, b) => a * b, 1);
    const layer = new sn.Linear(c.nIn, c.nOut, { bias: c.bias ?? true });
    const W = Float64Array.from(layer.weight.data.toArray());
    const b = layer.bias ? Float64Array.from(layer.bias.data.toArray()) : null;
    const x = randn(rows * c.nIn, rand);
    const y = layer.forward(sn.tensor(Float32Array.from(x), [...c.lead, c.nIn]));
    assert.equal(y.shape, [...c.lead, c.nOut]);
    const tol = { rtol: 1e-4, atol: 1e-5 * Math.sqrt(c.nIn) + 1e-6 };
    assertClose(y.toArray(), refLinear(x, W, b, rows, c.nIn, c.nOut), { ...tol, what: `y seed ${seed}` });
    const dy = randn(rows * c.nOut, rand);
    const dx = layer.backward(sn.tensor(Float32Array.from(dy), y.shape));
    const ref = refLinearBackward(x, W, dy, rows, c.nIn, c.nOut);
    assertClose(dx.toArray(), ref.dx, { ...tol, what: `dx seed ${seed}` });
    assertClose(layer.weight.grad.toArray(), ref.dW, { rtol: 1e-4, atol: 1e-5 * Math.sqrt(rows) + 1e-6, what: `dW seed ${seed}` });
    if (layer.bias) assertClose(layer.bias.grad.toArray(), ref.db, { rtol: 1e-4, atol: 1e-5 * rows, what: `db seed ${seed}` });
  });
}

test('Linear gradients accumulate over two backward calls and zeroGrad clears them', () => {
  const seed = freshSeed(), rand = rng(seed);
  const layer = new sn.Linear(6, 4);
  const x = sn.tensor(Float32Array.from(randn(18, rand)), [3, 6]);
  const dy = sn.tensor(Float32Array.from(randn(12, rand)), [3, 4]);
  layer.forward(x); layer.backward(dy);
  const once = layer.weight.grad.toArray(), onceB = layer.bias.grad.toArray();
  layer.forward(x); layer.backward(dy);
  assertClose(layer.weight.grad.toArray(), once.map((v) => 2 * v), { what: `dW twice seed ${seed}` });
  assertClose(layer.bias.grad.toArray(), onceB.map((v) => 2 * v), { what: `db twice seed ${seed}` });
  layer.zeroGrad();
  assert.ok(layer.weight.grad.toArray().every((v) => v === 0));
  assert.ok(layer.bias.grad.toArray().every((v) => v === 0));
});

test('Linear default init is U(±1/√in) for weight and bias, as PyTorch', () => {
  sn.manualSeed(1);
  const layer = new sn.Linear(50, 40);
  const bound = 1 / Math.sqrt(50);
  const w = layer.weight.data.toArray(), b = layer.bias.data.toArray();
  assert.ok(w.every((v) => Math.abs(v) <= bound) && b.every((v) => Math.abs(v) <= bound));
  // Roughly uniform: the spread fills the interval and the mean is near 0.
  assert.ok(Math.max(...w) > 0.9 * bound && Math.min(...w) < -0.9 * bound);
  assert.ok(Math.abs(w.reduce((a, v) => a + v, 0) / w.length) < 0.1 * bound);
  sn.manualSeed(1);
  assert.equal(new sn.Linear(50, 40).weight.data.toArray(), w, 'same seed, same weights');
});

test('Linear finite differences of sum(w ⊙ y) w.r.t. input and weight', () => {
  const seed = freshSeed(), rand = rng(seed);
  const layer = new sn.Linear(5, 4);
  const W = Float64Array.from(layer.weight.data.toArray()), b = Float64Array.from(layer.bias.data.toArray());
  const x = randn(10, rand), wOut = randn(8, rand);
  const f = () => refLinear(x, W, b, 2, 5, 4).reduce((s, v, i) => s + v * wOut[i], 0);
  layer.forward(sn.tensor(Float32Array.from(x), [2, 5]));
  const dx = layer.backward(sn.tensor(Float32Array.from(wOut), [2, 4])).toArray();
  assertClose(dx, numericGrad(f, x), { rtol: 1e-3, atol: 1e-4, what: `dx vs finite differences seed ${seed}` });
  assertClose(layer.weight.grad.toArray(), numericGrad(f, W), { rtol: 1e-3, atol: 1e-4, what: `dW vs finite differences seed ${seed}` });
});

test('Linear rejects a wrong feature count with an Error naming the layer and the shapes', () => {
  const layer = new sn.Linear(4, 2);
  const before = layer.weight.data.toArray();
  assert.throws(() => layer.forward(sn.tensor(new Float32Array(10), [2, 5])), /Linear\(in_features=4, out_features=2.*\[\*, 4\].*\[2, 5\]/);
  assert.throws(() => new sn.Linear(0, 3), /Linear: in_features must be a positive integer, got 0/);
  assert.equal(layer.weight.data.toArray(), before);
});

test('Flatten merges dimensions 1..-1 without copying, and its gradient has the input shape', () => {
  const seed = freshSeed(), rand = rng(seed);
  const model = new sn.Sequential(new sn.Flatten(), new sn.Linear(12, 2));
  const x = Float32Array.from(randn(24, rand));
  const y = model.forward(sn.tensor(x, [2, 3, 2, 2]));
  assert.equal(y.shape, [2, 2]);
  const dx = model.backward(sn.tensor(new Float32Array([1, 0, 0, 1]), [2, 2]));
  assert.equal(dx.shape, [2, 3, 2, 2]);
  assert.equal(new sn.Flatten().outputShape([5, 3, 4, 7]), [5, 84]);
  assert.equal(new sn.Flatten(0, 1).outputShape([5, 3, 4]), [15, 4]);
  assert.throws(() => new sn.Flatten(2, 1).outputShape([5, 3]), /Flatten\(start_dim=2, end_dim=1\): cannot flatten/);
  assert.throws(() => new sn.Flatten(1.5), /Flatten: start_dim and end_dim must be integers, got 1\.5 and -1/);
  const empty = new sn.Sequential();
  const input = sn.tensor([1, 2, 3], [1, 3]);
  const passed = empty.forward(input);
  assert.ok(passed !== input && input.producer === null, 'an empty model leaves the caller\'s tensor alone');
  assert.equal([...passed.toArray()], [1, 2, 3]);
});

test.run();
