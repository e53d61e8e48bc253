// BatchNorm1d / BatchNorm2d against a float64 reference: forward (train and eval), running
// statistics, every gradient, finite differences, accumulation, errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rng, freshSeed, randn, assertClose, numericGrad } from './helpers.js';

await sn.ready();

const f32 = (a) => Float64Array.from(Float32Array.from(a));

/**
 * Float64 batch norm of x [N, C, L...] (L = product of the trailing dims). With mean/variance
 * given (eval) they are used as constants; otherwise the batch's own (biased) statistics.
 */
function refForward(x, N, C, L, { weight, bias, eps, mean, variance }) {
  const batch = !mean;
  const M = N * L, at = (n, c, l) => (n * C + c) * L + l;
  mean = mean ? Float64Array.from(mean) : new Float64Array(C);
  variance = variance ? Float64Array.from(variance) : new Float64Array(C);
  for (let c = 0; c < C && batch; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) s += x[at(n, c, l)];
    mean[c] = s / M;
    let q = 0;
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) q += (x[at(n, c, l)] - mean[c]) ** 2;
    variance[c] = q / M;
  }
  const xhat = new Float64Array(x.length), y = new Float64Array(x.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let l = 0; l < L; l++) {
    const i = at(n, c, l);
    xhat[i] = (x[i] - mean[c]) / Math.sqrt(variance[c] + eps);
    y[i] = (weight ? weight[c] : 1) * xhat[i] + (bias ? bias[c] : 0);
  }
  return { y, xhat, mean, variance, batch };
}

/** Float64 gradients for refForward's result. */
function refBackward(ref, dy, N, C, L, { weight, eps }) {
  const M = N * L, at = (n, c, l) => (n * C + c) * L + l;
  const dw = new Float64Array(C), db = new Float64Array(C), dx = new Float64Array(dy.length);
  for (let c = 0; c < C; c++) {
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) { const i = at(n, c, l); dw[c] += dy[i] * ref.xhat[i]; db[c] += dy[i]; }
    const k = (weight ? weight[c] : 1) / Math.sqrt(ref.variance[c] + eps);
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) {
      const i = at(n, c, l);
      dx[i] = ref.batch ? k * (dy[i] - db[c] / M - ref.xhat[i] * dw[c] / M) : k * dy[i];
    }
  }
  return { dx, dw, db };
}

/**
 * Per-element tolerance of the training-mode dx. Beyond a base for the sums' rounding, float32
 * loses relative precision ε·|mean|/σ in x − mean when a channel's few values sit close together
 * far from 0 (three samples near 47.5 with σ = 0.04), and dx scales that by k = weight/σ: so
 * 8ε·|k|·(|mean| + σ)/σ·max|dy| per channel (measured errors stay within half of that).
 */
function dxTolerance(ref, dy, N, C, L, { weight }, eps) {
  const base = 2e-4 * Math.max(1, Math.sqrt(N * L) / 4), unit = 2 ** -24;
  const tol = new Float64Array(dy.length), at = (n, c, l) => (n * C + c) * L + l;
  for (let c = 0; c < C; c++) {
    const sd = Math.sqrt(ref.variance[c] + eps), k = Math.abs(weight ? weight[c] : 1) / sd;
    let dyMax = 0;
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) dyMax = Math.max(dyMax, Math.abs(dy[at(n, c, l)]));
    const channel = base + 8 * unit * k * (Math.abs(ref.mean[c]) + sd) / sd * dyMax;
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) tol[at(n, c, l)] = channel;
  }
  return tol;
}

function make(shape, options) {
  return shape.length === 4 ? new sn.BatchNorm2d(shape[1], options) : new sn.BatchNorm1d(shape[1], options);
}

/** Random affine parameters written into the layer; returns them as float64. */
function randomAffine(layer, C, rand) {
  const w = f32(randn(C, rand, 2)), b = f32(randn(C, rand));
  layer.weight.data.view().set(w);
  layer.bias.data.view().set(b);
  return { weight: w, bias: b };
}

const shapes = [
  [2, 1], [5, 3], [8, 7], [3, 13], [2, 3, 5], [1, 4, 7], [4, 2, 1], [3, 5, 9],
  [2, 3, 4, 5], [1, 5, 3, 3], [3, 1, 2, 2], [2, 6, 7, 9], [1, 2, 1, 2], [4, 16, 8, 8],
  // Planes of one and of four values with 4 channels or more: four channels a vector (assembly/norm.ts), the rest one by one.
  [6, 9, 1, 1], [5, 9, 2, 2], [7, 6, 4], [1, 8, 2, 2],
];
const optionSets = [{}, { affine: false }, { eps: 1e-3, momentum: 0.3 }];

for (const shape of shapes) {
  for (const options of optionSets) {
    test(`${shape.length === 4 ? 'BatchNorm2d' : 'BatchNorm1d'} train forward/backward ${JSON.stringify(options)}, shape [${shape}]`, () => {
      const seed = freshSeed(), rand = rng(seed);
      const [N, C] = shape, L = shape.slice(2).reduce((a, b) => a * b, 1);
      const layer = make(shape, options);
      const eps = options.eps ?? 1e-5, momentum = options.momentum ?? 0.1;
      const affine = options.affine === false ? {} : randomAffine(layer, C, rand);
      // An offset per channel: the mean must be taken out before squaring.
      const x = f32(randn(N * C * L, rand, 3).map((v, i) => v + 5 * (Math.floor(i / L) % C)));
      const dy = f32(randn(x.length, rand));
      const y = layer.forward(sn.tensor(Float32Array.from(x), shape)).toArray();
      const dx = layer.backward(sn.tensor(Float32Array.from(dy), shape)).toArray();
      const ref = refForward(x, N, C, L, { ...affine, eps });
      const g = refBackward(ref, dy, N, C, L, { ...affine, eps });
      const what = `seed ${seed}`;
      assertClose(y, ref.y, { rtol: 1e-4, atol: 1e-4, what: `${what} y` });
      assertClose(dx, g.dx, { rtol: 1e-3, atol: dxTolerance(ref, dy, N, C, L, affine, eps), what: `${what} dx` });
      if (options.affine !== false) {
        assertClose(layer.weight.grad.toArray(), g.dw, { rtol: 1e-3, atol: 1e-4 * Math.sqrt(N * L), what: `${what} dweight` });
        assertClose(layer.bias.grad.toArray(), g.db, { rtol: 1e-4, atol: 1e-5 * Math.sqrt(N * L), what: `${what} dbias` });
      } else {
        assert.is(layer.weight, null); assert.is(layer.bias, null);
      }
      // One step of running statistics, with the unbiased variance.
      const M = N * L;
      assertClose(layer.runningMean.toArray(), ref.mean.map((m) => momentum * m), { rtol: 1e-5, atol: 1e-6, what: `${what} running_mean` });
      assertClose(layer.runningVar.toArray(), ref.variance.map((v) => (1 - momentum) + momentum * v * M / (M - 1)),
        { rtol: 1e-4, atol: 1e-6, what: `${what} running_var` });
      assert.equal([...layer.numBatchesTracked.toInt64Array()], [1n]);
    });

    test(`${shape.length === 4 ? 'BatchNorm2d' : 'BatchNorm1d'} eval forward/backward ${JSON.stringify(options)}, shape [${shape}]`, () => {
      const seed = freshSeed(), rand = rng(seed);
      const [N, C] = shape, L = shape.slice(2).reduce((a, b) => a * b, 1);
      const layer = make(shape, options);
      const eps = options.eps ?? 1e-5;
      const affine = options.affine === false ? {} : randomAffine(layer, C, rand);
      const mean = f32(randn(C, rand)), variance = f32(randn(C, rand).map((v) => Math.abs(v) + 0.1));
      layer.runningMean.view().set(mean);
      layer.runningVar.view().set(variance);
      layer.eval();
      const x = f32(randn(N * C * L, rand, 3)), dy = f32(randn(x.length, rand));
      const y = layer.forward(sn.tensor(Float32Array.from(x), shape)).toArray();
      const dx = layer.backward(sn.tensor(Float32Array.from(dy), shape)).toArray();
      const ref = refForward(x, N, C, L, { ...affine, eps, mean, variance });
      const g = refBackward(ref, dy, N, C, L, { ...affine, eps });
      assertClose(y, ref.y, { rtol: 1e-5, atol: 1e-5, what: `seed ${seed} y` });
      assertClose(dx, g.dx, { rtol: 1e-5, atol: 1e-5, what: `seed ${seed} dx` });
      if (options.affine !== false) {
        assertClose(layer.weight.grad.toArray(), g.dw, { rtol: 1e-4, atol: 1e-5 * Math.sqrt(N * L), what: `seed ${seed} dweight` });
        assertClose(layer.bias.grad.toArray(), g.db, { rtol: 1e-4, atol: 1e-5 * Math.sqrt(N * L), what: `seed ${seed} dbias` });
      }
      // Eval leaves the running statistics and the counter alone.
      assertClose(layer.runningMean.toArray(), mean, { rtol: 0, atol: 0, what: `seed ${seed} running_mean` });
      assert.equal([...layer.numBatchesTracked.toInt64Array()], [0n]);
    });
  }
}

test('training gradients match finite differences of the float64 forward (input, weight, bias)', () => {
  for (const shape of [[4, 3], [2, 3, 5], [2, 2, 3, 3], [5, 6], [3, 5, 2, 2]]) {
    const seed = freshSeed(), rand = rng(seed);
    const [N, C] = shape, L = shape.slice(2).reduce((a, b) => a * b, 1);
    const layer = make(shape);
    const affine = randomAffine(layer, C, rand);
    const x = f32(randn(N * C * L, rand, 2)), w = f32(randn(x.length, rand));
    layer.forward(sn.tensor(Float32Array.from(x), shape));
    const dx = layer.backward(sn.tensor(Float32Array.from(w), shape)).toArray();
    const objective = () => refForward(x, N, C, L, { ...affine, eps: 1e-5 }).y.reduce((s, v, i) => s + w[i] * v, 0);
    const what = `seed ${seed} shape [${shape}]`;
    assertClose(dx, numericGrad(objective, x, 1e-5), { rtol: 1e-3, atol: 1e-4, what: `${what} dx` });
    assertClose(layer.weight.grad.toArray(), numericGrad(objective, affine.weight, 1e-5), { rtol: 1e-3, atol: 1e-4, what: `${what} dweight` });
    assertClose(layer.bias.grad.toArray(), numericGrad(objective, affine.bias, 1e-5), { rtol: 1e-3, atol: 1e-4, what: `${what} dbias` });
  }
});

test('float32 finite differences through the layer itself agree with backward', () => {
  const seed = freshSeed(), rand = rng(seed);
  const shape = [3, 2, 4], layer = new sn.BatchNorm1d(2);
  randomAffine(layer, 2, rand);
  const x = f32(randn(24, rand, 2)), w = f32(randn(24, rand));
  layer.forward(sn.tensor(Float32Array.from(x), shape));
  const dx = layer.backward(sn.tensor(Float32Array.from(w), shape)).toArray();
  const objective = () => layer.forward(sn.tensor(Float32Array.from(x), shape)).toArray().reduce((s, v, i) => s + w[i] * v, 0);
  assertClose(dx, numericGrad(objective, x, 1e-2), { rtol: 3e-2, atol: 3e-3, what: `seed ${seed}` });
});

test('running statistics after 3 steps, with momentum and with the cumulative average', () => {
  for (const momentum of [0.1, 0.5, null]) {
    const seed = freshSeed(), rand = rng(seed);
    const shape = [3, 4, 2, 3], C = 4, L = 6, N = 3, M = 18;
    const layer = new sn.BatchNorm2d(C, { momentum });
    let rm = new Float64Array(C), rv = new Float64Array(C).fill(1);
    for (let step = 1; step <= 3; step++) {
      const x = f32(randn(N * C * L, rand, 2).map((v) => v + step));
      layer.forward(sn.tensor(Float32Array.from(x), shape));
      const ref = refForward(x, N, C, L, { eps: 1e-5 });
      const m = momentum ?? 1 / step;
      rm = rm.map((r, c) => (1 - m) * r + m * ref.mean[c]);
      rv = rv.map((r, c) => (1 - m) * r + m * ref.variance[c] * M / (M - 1));
    }
    const what = `seed ${seed} momentum ${momentum}`;
    assertClose(layer.runningMean.toArray(), rm, { rtol: 1e-5, atol: 1e-6, what: `${what} running_mean` });
    assertClose(layer.runningVar.toArray(), rv, { rtol: 1e-5, atol: 1e-6, what: `${what} running_var` });
    assert.equal([...layer.numBatchesTracked.toInt64Array()], [3n], what);
  }
});

test('parameter gradients accumulate over two backward calls', () => {
  const seed = freshSeed(), rand = rng(seed);
  const layer = new sn.BatchNorm2d(3);
  randomAffine(layer, 3, rand);
  const shape = [2, 3, 2, 3];
  layer.forward(sn.tensor(Float32Array.from(randn(36, rand)), shape));
  const dy = sn.tensor(Float32Array.from(randn(36, rand)), shape);
  layer.backward(dy);
  const w1 = layer.weight.grad.toArray(), b1 = layer.bias.grad.toArray();
  layer.backward(dy);
  assertClose(layer.weight.grad.toArray(), w1.map((v) => 2 * v), { rtol: 1e-6, atol: 1e-7, what: `seed ${seed} dweight` });
  assertClose(layer.bias.grad.toArray(), b1.map((v) => 2 * v), { rtol: 1e-6, atol: 1e-7, what: `seed ${seed} dbias` });
  layer.zeroGrad();
  assert.ok(layer.weight.grad.toArray().every((v) => v === 0));
});

test('parameter gradients without the input gradient (first layer of a model)', () => {
  const seed = freshSeed(), rand = rng(seed);
  const layer = new sn.BatchNorm1d(5);
  const x = Float32Array.from(randn(20, rand)), dyHost = Float32Array.from(randn(20, rand));
  layer.forward(sn.tensor(x, [4, 5]));
  layer.backward(sn.tensor(dyHost, [4, 5]));
  const expected = layer.weight.grad.toArray();
  layer.zeroGrad();
  layer.forward(sn.tensor(x, [4, 5]));
  // A device gradient: the output of an identity Dropout in eval mode.
  const dy = new sn.Dropout().eval().forward(sn.tensor(dyHost, [4, 5]));
  assert.is(layer.backwardDevice(dy, false), null);
  assertClose(layer.weight.grad.toArray(), expected, { rtol: 0, atol: 0, what: `seed ${seed}` });
});

test('trackRunningStats: false keeps no buffers and normalises by batch statistics in eval too', () => {
  const seed = freshSeed(), rand = rng(seed);
  const layer = new sn.BatchNorm1d(3, { trackRunningStats: false }).eval();
  assert.equal(Object.keys(layer.stateDict()), ['weight', 'bias']);
  const x = f32(randn(15, rand, 2)), dy = f32(randn(15, rand));
  const y = layer.forward(sn.tensor(Float32Array.from(x), [5, 3])).toArray();
  const dx = layer.backward(sn.tensor(Float32Array.from(dy), [5, 3])).toArray();
  const ref = refForward(x, 5, 3, 1, { eps: 1e-5 });
  assertClose(y, ref.y, { rtol: 1e-4, atol: 1e-4, what: `seed ${seed} y` });
  assertClose(dx, refBackward(ref, dy, 5, 3, 1, { eps: 1e-5 }).dx, { rtol: 1e-3, atol: 1e-4, what: `seed ${seed} dx` });
});

test('state dict names, initial values and PyTorch-style names', () => {
  const bn = new sn.BatchNorm2d(3);
  assert.equal(Object.keys(bn.stateDict()), ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  assert.equal([...bn.weight.data.toArray()], [1, 1, 1]);
  assert.equal([...bn.bias.data.toArray()], [0, 0, 0]);
  assert.equal([...bn.runningMean.toArray()], [0, 0, 0]);
  assert.equal([...bn.runningVar.toArray()], [1, 1, 1]);
  assert.equal([...bn.stateDict().num_batches_tracked.shape], []);
  assert.is(bn.stateDict().num_batches_tracked.dtype, 'int64');
  assert.equal(Object.keys(new sn.BatchNorm1d(2, { affine: false }).stateDict()), ['running_mean', 'running_var', 'num_batches_tracked']);
  assert.is(String(bn), 'BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)');
  assert.is(String(new sn.BatchNorm1d(7, { eps: 0.001, momentum: null, affine: false, trackRunningStats: false })),
    'BatchNorm1d(7, eps=0.001, momentum=None, affine=False, track_running_stats=False)');
});

test('one value per channel in training is refused, as PyTorch; eval accepts it', () => {
  const bn = new sn.BatchNorm1d(4);
  assert.throws(() => bn.forward(sn.tensor([1, 2, 3, 4], [1, 4])),
    /BatchNorm1d\(4, .*\): expected more than 1 value per channel when training, got input of shape \[1, 4\]/);
  assert.equal([...bn.numBatchesTracked.toInt64Array()], [0n]);
  assert.throws(() => new sn.BatchNorm2d(2).forward(sn.tensor([1, 2], [1, 2, 1, 1])), /more than 1 value per channel/);
  bn.eval();
  const y = bn.forward(sn.tensor([1, 2, 3, 4], [1, 4])).toArray();
  assertClose(y, [1, 2, 3, 4].map((v) => v / Math.sqrt(1 + 1e-5)), { what: 'eval with one sample' });
});

test('bad input shapes and constructor arguments throw Errors naming the layer', () => {
  const x3 = sn.tensor(new Float32Array(24).fill(1), [2, 3, 4]);
  assert.throws(() => new sn.BatchNorm2d(3).forward(x3), /BatchNorm2d\(3, .*\): expected input of shape \[N, C, H, W\] with C = 3, got \[2, 3, 4\]/);
  assert.throws(() => new sn.BatchNorm1d(4).forward(x3), /BatchNorm1d\(4, .*\): expected input of shape \[N, C\] or \[N, C, L\] with C = 4, got \[2, 3, 4\]/);
  assert.throws(() => new sn.BatchNorm1d(3).outputShape([2, 3, 2, 2]), /BatchNorm1d.*got \[2, 3, 2, 2\]/);
  assert.throws(() => new sn.BatchNorm1d(3).outputShape([3]), /BatchNorm1d.*got \[3\]/);
  assert.throws(() => new sn.BatchNorm2d(0), /BatchNorm2d: num_features must be a positive integer, got 0/);
  assert.throws(() => new sn.BatchNorm1d(2.5), /BatchNorm1d: num_features must be a positive integer, got 2.5/);
  assert.throws(() => new sn.BatchNorm1d(2, { momentum: 2 }), /BatchNorm1d: momentum must be a number between 0 and 1 or null, got 2/);
  assert.throws(() => new sn.BatchNorm2d(2, { eps: -1 }), /BatchNorm2d: eps must be a finite number ≥ 0, got -1/);
});

test.run();
