// ReLU, LeakyReLU, Sigmoid, Tanh, Softmax and LogSoftmax against float64 references.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rng, freshSeed, randn, assertClose, numericGrad } from './helpers.js';

await sn.ready();

const f32 = (a) => Float64Array.from(Float32Array.from(a));

/** Forward x, backward dy through the public API; returns float arrays. */
function run(layer, x, shape, dy) {
  const y = layer.forward(sn.tensor(Float32Array.from(x), shape));
  assert.equal([...y.shape], [...shape]);
  const yv = y.toArray();
  const dx = layer.backward(sn.tensor(Float32Array.from(dy), shape)).toArray();
  return { y: yv, dx };
}

const sigmoid = (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));

// name → [make layer, float64 forward, float64 derivative dy/dx at x, tolerance]
const elementwise = {
  'ReLU': [() => new sn.ReLU(), (v) => Math.max(v, 0), (v) => (v > 0 ? 1 : 0), 0],
  'LeakyReLU()': [() => new sn.LeakyReLU(), (v) => (v > 0 ? v : v * Math.fround(0.01)), (v) => (v > 0 ? 1 : Math.fround(0.01)), 1e-7],
  'LeakyReLU(0.2)': [() => new sn.LeakyReLU(0.2), (v) => (v > 0 ? v : v * Math.fround(0.2)), (v) => (v > 0 ? 1 : Math.fround(0.2)), 1e-7],
  'LeakyReLU(-0.5)': [() => new sn.LeakyReLU(-0.5), (v) => (v > 0 ? v : -0.5 * v), (v) => (v > 0 ? 1 : -0.5), 1e-7],
  'Sigmoid': [() => new sn.Sigmoid(), sigmoid, (v) => sigmoid(v) * (1 - sigmoid(v)), 2e-6],
  'Tanh': [() => new sn.Tanh(), Math.tanh, (v) => 1 - Math.tanh(v) ** 2, 2e-6],
};

const shapes = [[1], [3], [4], [7], [2, 9], [1, 1, 1, 13], [2, 3, 4, 5], [3, 0], [64, 33]];

for (const [name, [make, f, df, tol]] of Object.entries(elementwise)) {
  for (const shape of shapes) {
    test(`${name} forward and backward, shape [${shape}]`, () => {
      const seed = freshSeed(), rand = rng(seed);
      const n = shape.reduce((a, b) => a * b, 1);
      // Mostly moderate values plus a few huge ones: sigmoid and tanh must saturate, not overflow.
      const x = f32(randn(n, rand, 4).map((v, i) => (i % 11 === 5 ? v * 30 : v)));
      const dy = f32(randn(n, rand));
      const { y, dx } = run(make(), x, shape, dy);
      assertClose(y, x.map(f), { rtol: tol, atol: tol, what: `seed ${seed} y` });
      assertClose(dx, x.map((v, i) => df(v) * dy[i]), { rtol: 4 * tol, atol: 4 * tol, what: `seed ${seed} dx` });
    });
  }

  test(`${name} gradient matches finite differences of the float64 forward`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const shape = [3, 5], n = 15;
    const x = f32(randn(n, rand, 3)), w = f32(randn(n, rand));
    const { dx } = run(make(), x, shape, w);
    const num = numericGrad(() => x.reduce((s, v, i) => s + w[i] * f(v), 0), x, 1e-4);
    assertClose(dx, num, { rtol: 1e-3, atol: 1e-4, what: `seed ${seed} dx vs finite differences` });
  });
}

test('Sigmoid and Tanh on a sweep from -110 to 110: relative accuracy, saturation without overflow', () => {
  const x = [];
  for (let v = -110; v <= 110; v += 0.37) x.push(v);
  x.push(1e-7, -1e-7, 1e-30, 88.7, -88.7, -103.9);
  const xs = f32(x), shape = [xs.length];
  for (const [layer, f] of [[new sn.Sigmoid(), sigmoid], [new sn.Tanh(), Math.tanh]]) {
    const y = layer.forward(sn.tensor(Float32Array.from(xs), shape)).toArray();
    assertClose(y, xs.map(f), { rtol: 1e-6, atol: 1e-44, what: `${layer}` });
  }
});

test('activations report PyTorch-style names and keep any shape', () => {
  assert.is(String(new sn.ReLU()), 'ReLU()');
  assert.is(String(new sn.LeakyReLU()), 'LeakyReLU(negative_slope=0.01)');
  assert.is(String(new sn.LeakyReLU(1)), 'LeakyReLU(negative_slope=1.0)');
  assert.is(String(new sn.Sigmoid()), 'Sigmoid()');
  assert.is(String(new sn.Tanh()), 'Tanh()');
  assert.equal(new sn.Tanh().outputShape([2, 3, 4]), [2, 3, 4]);
});

test('LeakyReLU refuses a non-finite or non-numeric slope', () => {
  assert.throws(() => new sn.LeakyReLU(NaN), /LeakyReLU: negative_slope must be a finite number, got NaN/);
  assert.throws(() => new sn.LeakyReLU('0.1'), /LeakyReLU: negative_slope/);
});

test('backward twice gives the same input gradient (no hidden accumulation)', () => {
  const seed = freshSeed(), rand = rng(seed);
  const layer = new sn.Sigmoid();
  layer.forward(sn.tensor(Float32Array.from(randn(10, rand)), [2, 5]));
  const dy = sn.tensor(Float32Array.from(randn(10, rand)), [2, 5]);
  const a = layer.backward(dy).toArray(), b = layer.backward(dy).toArray();
  assert.equal([...a], [...b], `seed ${seed}`);
});

test('activations chain inside Sequential on device tensors', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  const lin = new sn.Linear(4, 6);
  const model = new sn.Sequential(lin, new sn.LeakyReLU(0.1), new sn.Tanh());
  const x = f32(randn(8, rand)), W = f32(lin.weight.data.toArray()), b = f32(lin.bias.data.toArray());
  const y = model.forward(sn.tensor(Float32Array.from(x), [2, 4])).toArray();
  const expected = [];
  for (let r = 0; r < 2; r++) for (let o = 0; o < 6; o++) {
    let s = b[o];
    for (let i = 0; i < 4; i++) s += x[r * 4 + i] * W[o * 4 + i];
    expected.push(Math.tanh(s > 0 ? s : s * Math.fround(0.1)));
  }
  assertClose(y, expected, { rtol: 1e-5, atol: 1e-6, what: `seed ${seed}` });
});

// ---- Softmax / LogSoftmax ----

/** Float64 softmax of x viewed as [outer, C, inner] around dim. */
function refSoftmax(x, shape, dim, log) {
  const d = dim < 0 ? dim + shape.length : dim;
  const outer = shape.slice(0, d).reduce((a, b) => a * b, 1), C = shape[d];
  const inner = shape.slice(d + 1).reduce((a, b) => a * b, 1);
  const y = new Float64Array(x.length);
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
    const at = (c) => (o * C + c) * inner + i;
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, x[at(c)]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(x[at(c)] - m);
    for (let c = 0; c < C; c++) y[at(c)] = log ? x[at(c)] - m - Math.log(s) : Math.exp(x[at(c)] - m) / s;
  }
  return y;
}

const softmaxCases = [
  [[5], 0], [[5], -1], [[1, 7], 1], [[3, 5], 1], [[3, 5], 0], [[2, 3, 4], 1], [[2, 3, 4], -1],
  [[2, 3, 4], 0], [[2, 3, 2, 3], 2], [[4, 10], -1], [[1, 1], 1], [[2, 6, 5, 5], 1],
];

for (const log of [false, true]) {
  const name = log ? 'LogSoftmax' : 'Softmax';
  const make = (dim) => (log ? new sn.LogSoftmax(dim) : new sn.Softmax(dim));
  for (const [shape, dim] of softmaxCases) {
    test(`${name}(dim=${dim}) forward, backward and finite differences, shape [${shape}]`, () => {
      const seed = freshSeed(), rand = rng(seed);
      const n = shape.reduce((a, b) => a * b, 1);
      // Large logits: without the max subtraction exp overflows float32.
      const x = f32(randn(n, rand, 60)), w = f32(randn(n, rand));
      const { y, dx } = run(make(dim), x, shape, w);
      assertClose(y, refSoftmax(x, shape, dim, log), { rtol: 2e-5, atol: 2e-6, what: `seed ${seed} y` });
      // The gradient on moderate logits, where it is not vanishingly small.
      const xs = f32(randn(n, rand, 2));
      const { dx: dxs } = run(make(dim), xs, shape, w);
      const num = numericGrad(() => refSoftmax(xs, shape, dim, log).reduce((s, v, i) => s + w[i] * v, 0), xs, 1e-5);
      assertClose(dxs, num, { rtol: 1e-3, atol: 2e-5, what: `seed ${seed} dx vs finite differences` });
      assert.ok(dx.every(Number.isFinite), `seed ${seed}: non-finite gradient for large logits`);
    });
  }
}

test('Softmax backward matches y ⊙ (dy − Σ dy⊙y) exactly in float64 terms', () => {
  const seed = freshSeed(), rand = rng(seed);
  const shape = [3, 7], x = f32(randn(21, rand, 3)), dy = f32(randn(21, rand));
  const { y, dx } = run(new sn.Softmax(1), x, shape, dy);
  const expected = new Float64Array(21);
  for (let r = 0; r < 3; r++) {
    let s = 0;
    for (let c = 0; c < 7; c++) s += dy[r * 7 + c] * y[r * 7 + c];
    for (let c = 0; c < 7; c++) expected[r * 7 + c] = y[r * 7 + c] * (dy[r * 7 + c] - s);
  }
  assertClose(dx, expected, { rtol: 1e-5, atol: 1e-6, what: `seed ${seed}` });
});

test('Softmax rows sum to one', () => {
  const seed = freshSeed(), rand = rng(seed);
  const y = new sn.Softmax(-1).forward(sn.tensor(Float32Array.from(randn(40, rand, 10)), [4, 10])).toArray();
  for (let r = 0; r < 4; r++) {
    const s = y.subarray(r * 10, r * 10 + 10).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(s - 1) < 1e-5, `seed ${seed}: row ${r} sums to ${s}`);
  }
});

test('Softmax names and bad dims', () => {
  assert.is(String(new sn.Softmax()), 'Softmax(dim=1)');
  assert.is(String(new sn.LogSoftmax(-1)), 'LogSoftmax(dim=-1)');
  assert.throws(() => new sn.Softmax(1.5), /Softmax: dim must be an integer, got 1.5/);
  const x = sn.tensor(new Float32Array(6).fill(0.5), [6]);
  assert.throws(() => new sn.Softmax(1).forward(x), /Softmax\(dim=1\): dim 1 is out of range for an input of shape \[6\]/);
  assert.throws(() => new sn.LogSoftmax(-3).outputShape([2, 3]), /LogSoftmax\(dim=-3\).*\[2, 3\]/);
});

test.run();
