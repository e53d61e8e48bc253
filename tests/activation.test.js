// ReLU, LeakyReLU, Sigmoid, Tanh, ReLU6, Hardswish, SiLU, GELU, ELU, Softmax and LogSoftmax
// against float64 references.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rng, freshSeed, randn, assertClose, numericGrad } from './helpers.js';
import * as ref from './reference.js';

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

const { logistic: sigmoid, normalCdf, normalPdf, geluTanh, geluTanhGrad, hardswish, hardswishGrad, elu, eluGrad, GELU_BETA, GELU_KAPPA } = ref;

// name → [make layer, float64 forward, float64 derivative dy/dx at x, tolerance]
const elementwise = {
  'ReLU': [() => new sn.ReLU(), (v) => Math.max(v, 0), (v) => (v > 0 ? 1 : 0), 0],
  'LeakyReLU()': [() => new sn.LeakyReLU(), (v) => (v > 0 ? v : v * Math.fround(0.01)), (v) => (v > 0 ? 1 : Math.fround(0.01)), 1e-7],
  'LeakyReLU(0.2)': [() => new sn.LeakyReLU(0.2), (v) => (v > 0 ? v : v * Math.fround(0.2)), (v) => (v > 0 ? 1 : Math.fround(0.2)), 1e-7],
  'LeakyReLU(-0.5)': [() => new sn.LeakyReLU(-0.5), (v) => (v > 0 ? v : -0.5 * v), (v) => (v > 0 ? 1 : -0.5), 1e-7],
  'Sigmoid': [() => new sn.Sigmoid(), sigmoid, (v) => sigmoid(v) * (1 - sigmoid(v)), 2e-6],
  'Tanh': [() => new sn.Tanh(), Math.tanh, (v) => 1 - Math.tanh(v) ** 2, 2e-6],
  'ReLU6': [() => new sn.ReLU6(), (v) => Math.min(Math.max(v, 0), 6), (v) => (v > 0 && v < 6 ? 1 : 0), 0],
  'Hardswish': [() => new sn.Hardswish(), hardswish, hardswishGrad, 1e-7],
  'SiLU': [() => new sn.SiLU(), (v) => v * sigmoid(v), (v) => sigmoid(v) * (1 + v * (1 - sigmoid(v))), 2e-6],
  'GELU': [() => new sn.GELU(), (v) => v * normalCdf(v), (v) => normalCdf(v) + v * normalPdf(v), 2e-6],
  "GELU(approximate='tanh')": [() => new sn.GELU({ approximate: 'tanh' }), geluTanh, geluTanhGrad, 2e-6],
  'ELU': [() => new sn.ELU(), elu(1), eluGrad(1), 2e-6],
  'ELU(0.3)': [() => new sn.ELU(0.3), elu(Math.fround(0.3)), eluGrad(Math.fround(0.3)), 2e-6],
  'ELU(-1.5)': [() => new sn.ELU(-1.5), elu(-1.5), eluGrad(-1.5), 2e-6],
};

// Where an activation has a kink, a finite difference across it measures neither side.
const KINKS = { 'ReLU': [0], 'LeakyReLU()': [0], 'LeakyReLU(0.2)': [0], 'LeakyReLU(-0.5)': [0], 'ReLU6': [0, 6], 'Hardswish': [-3, 3] };

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
    const kinks = KINKS[name] ?? [];
    const x = f32(randn(n, rand, 3).map((v) => (kinks.some((k) => Math.abs(v - k) < 1e-3) ? v + 2e-3 : v))), w = f32(randn(n, rand));
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

test('SiLU, GELU (both forms) and ELU on a sweep from -110 to 110: relative accuracy, tails without overflow or cancellation', () => {
  const x = [];
  for (let v = -110; v <= 110; v += 0.37) x.push(v);
  x.push(1e-7, -1e-7, 1e-30, -1e-30, 0, 88.7, -88.7, -103.9, -5, -8, -12, 3e4, -3e4, 1e12, -1e12, 1e30, -1e30);
  const xs = f32(x), shape = [xs.length];
  const cases = [
    // [layer, f, f′, the argument of the exponential the kernel computes in float32 where it matters (0 where it is x
    // itself, exact, or on the right, where the exponential is a vanishing correction)]
    [new sn.SiLU(), (v) => v * sigmoid(v), (v) => sigmoid(v) * (1 + v * (1 - sigmoid(v))), () => 0],
    [new sn.GELU(), (v) => v * normalCdf(v), (v) => normalCdf(v) + v * normalPdf(v), (v) => (v < 0 ? v * v / 2 : 0)],
    [new sn.GELU({ approximate: 'tanh' }), geluTanh, geluTanhGrad, (v) => (v < 0 ? 2 * GELU_BETA * (v + GELU_KAPPA * v ** 3) : 0)],
    [new sn.ELU(), elu(1), eluGrad(1), () => 0],
  ];
  const ones = new Float32Array(xs.length).fill(1);
  for (const [layer, f, df, exponent] of cases) {
    // Far in the left tail the factor of x (e^x, Φ(x)) is below float32's smallest subnormal, so x times it is 0
    // where the true value is a few subnormal steps: an absolute 1e-43 covers that. And e^a takes its exponent a as
    // computed in float32, a few roundings each worth |a|·2⁻²⁴ relative: up to ~2e-5 where the GELUs' left tails
    // leave the float32 range (PyTorch's 0.5·x·(1 + erf(x/√2)) is off by 100% there: it cancels to 0).
    const expected = xs.map(f), slopes = xs.map(df);
    const tail = (ref) => Array.from(ref, (v, i) => 1e-43 + Math.abs(v) * Math.abs(exponent(xs[i])) * 2 ** -21);
    const y = layer.forward(sn.tensor(Float32Array.from(xs), shape)).toArray();
    assertClose(y, expected, { rtol: 4e-6, atol: tail(expected), what: `${layer} y` });
    const dx = layer.backward(sn.tensor(ones, shape)).toArray();
    assertClose(dx, slopes, { rtol: 8e-6, atol: tail(slopes), what: `${layer} dx` });
  }
});

test('ReLU6, Hardswish and ELU at their edges take PyTorch\'s branches, forward and backward', () => {
  // Float32 values next to each edge (3 − 2⁻²², 3 + 2⁻²², 6 ∓ 2⁻²¹), so the references compute on what the kernels see.
  const x = Array.from(Float32Array.of(-3.5, -3, -2.9999998, 0, 1e-30, 2.9999998, 3, 3.0000002, 5.9999995, 6, 6.0000005, -1e-30));
  const dy = new Float32Array(x.length).fill(1);
  const check = (layer, y, dx) => {
    const out = run(layer, x, [x.length], dy);
    assert.equal([...out.y], y.map(Math.fround), `${layer} y`);
    assert.equal([...out.dx], dx.map(Math.fround), `${layer} dx`);
  };
  check(new sn.ReLU6(), x.map((v) => Math.min(Math.max(v, 0), 6)), x.map((v) => (v > 0 && v < 6 ? 1 : 0)));
  // hardswish_backward: x < −3 → 0, −3 ≤ x ≤ 3 → x/3 + 0.5, x > 3 → 1.
  check(new sn.Hardswish(), x.map((v) => Math.fround(Math.fround(v * Math.min(Math.max(Math.fround(v + 3), 0), 6)) / 6)),
    x.map((v) => (v < -3 ? 0 : v <= 3 ? Math.fround(Math.fround(v / 3) + 0.5) : 1)));
  const a = new sn.ELU(0.5);
  const tiny = Math.fround(1e-30);
  const { y, dx } = run(a, [0, -0, tiny, -tiny], [4], [1, 1, 1, 1]);
  // elu_backward takes x ≤ 0 as the negative side: the gradient at 0 is alpha.
  assert.equal([...y], [0, -0, tiny, Math.fround(-0.5 * tiny)]);
  assert.equal([...dx], [0.5, 0.5, 1, 0.5]);
});

test('an element gets the same value in the SIMD body and in the scalar tail', () => {
  const seed = freshSeed(), rand = rng(seed);
  const x = Float32Array.from(randn(11, rand, 5));
  for (const make of [() => new sn.SiLU(), () => new sn.GELU(), () => new sn.GELU({ approximate: 'tanh' }), () => new sn.ELU(0.7), () => new sn.Hardswish()]) {
    const full = make().forward(sn.tensor(x, [11])).toArray();
    // x[8..10] are in the tail of an 11-element call and in the body of a 4-element one.
    const body = make().forward(sn.tensor(x.subarray(7, 11), [4])).toArray();
    assert.equal([...full.subarray(7)], [...body], `seed ${seed} ${make()}`);
  }
});

test('activations report PyTorch-style names and keep any shape', () => {
  assert.is(String(new sn.ReLU()), 'ReLU()');
  assert.is(String(new sn.LeakyReLU()), 'LeakyReLU(negative_slope=0.01)');
  assert.is(String(new sn.LeakyReLU(1)), 'LeakyReLU(negative_slope=1.0)');
  assert.is(String(new sn.Sigmoid()), 'Sigmoid()');
  assert.is(String(new sn.Tanh()), 'Tanh()');
  assert.equal(new sn.Tanh().outputShape([2, 3, 4]), [2, 3, 4]);
  assert.is(String(new sn.ReLU6()), 'ReLU6()');
  assert.is(String(new sn.Hardswish()), 'Hardswish()');
  assert.is(String(new sn.SiLU()), 'SiLU()');
  assert.is(String(new sn.GELU()), "GELU(approximate='none')");
  assert.is(String(new sn.GELU({ approximate: 'tanh' })), "GELU(approximate='tanh')");
  assert.is(String(new sn.ELU()), 'ELU(alpha=1.0)');
  assert.is(String(new sn.ELU(0.25)), 'ELU(alpha=0.25)');
  assert.is(String(new sn.Identity()), 'Identity()');
  assert.equal(new sn.GELU().outputShape([5, 1, 7]), [5, 1, 7]);
});

test('Identity passes its input and gradient through, without a copy, and ignores arguments as PyTorch does', () => {
  const seed = freshSeed(), rand = rng(seed);
  const id = new sn.Identity(54, { unusedArgument: 0.1 });
  assert.equal(id.outputShape([2, 3, 4]), [2, 3, 4]);
  assert.is(id.parameters().length, 0);
  const lin = new sn.Linear(3, 4);
  const model = new sn.Sequential(lin, new sn.Identity(), new sn.ReLU());
  const x = sn.tensor(Float32Array.from(randn(6, rand)), [2, 3]);
  const h = lin.forward(x);
  const y = id.forward(h);
  assert.is(y.ptr, h.ptr, 'the same memory');
  assert.equal([...y.toArray()], [...h.toArray()]);
  const dy = sn.tensor(Float32Array.from(randn(8, rand)), [2, 4]);
  assert.equal([...id.backward(dy).toArray()], [...dy.toArray()]);
  // Inside a model: the same gradients as without it.
  const ref = new sn.Sequential(new sn.Linear(3, 4), new sn.ReLU());
  ref.at(0).loadStateDict(lin.stateDict());
  const yr = ref.forward(x).toArray();
  assert.equal([...model.forward(x).toArray()], [...yr], `seed ${seed}`);
  model.zeroGrad();
  model.backward(dy);
  ref.backward(dy);
  assert.equal([...lin.weight.grad.toArray()], [...ref.at(0).weight.grad.toArray()], `seed ${seed}`);
});

test('ELU and GELU refuse bad arguments', () => {
  assert.throws(() => new sn.ELU(NaN), /^ELU: alpha must be a finite number, got NaN$/);
  assert.throws(() => new sn.GELU({ approximate: 'erf' }), /^GELU: approximate must be 'none' or 'tanh', got the string 'erf'$/);
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
