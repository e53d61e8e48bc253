// The kernels of the functional ops (add, mul with broadcasting, cat, mean) through their shape
// rules in ts/functional/kernels.ts, on raw wasm buffers, against float64 references: odd
// sizes, batch 1, channel counts that are not multiples of 4, broadcasts along every layout
// (and ones the kernels take in several calls), empty tensors; and the shape errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { functionalKernels as fk } from 'simdnet/internal';
import { rng, freshSeed, randn, toWasm, wasmOut, freeAll, assertClose } from './helpers.js';

await sn.ready();

const size = (shape) => shape.reduce((a, b) => a * b, 1);
const f32 = (a) => Float64Array.from(Float32Array.from(a));

/** For each flat index of `full`, the flat index of `small` (right-aligned, broadcast) it reads. */
function indexMap(full, small) {
  const padded = [...Array(full.length - small.length).fill(1), ...small];
  const map = new Int32Array(size(full));
  for (let i = 0; i < map.length; i++) {
    let rest = i, j = 0, stride = 1;
    for (let d = full.length - 1; d >= 0; d--) {
      const idx = rest % full[d];
      rest = Math.floor(rest / full[d]);
      if (padded[d] !== 1) j += idx * stride;
      stride *= padded[d];
    }
    map[i] = j;
  }
  return map;
}

/** Runs fn with wasm copies of the inputs and fresh outputs; returns the outputs' values. */
function onWasm(inputs, outSizes, fn) {
  const ins = inputs.map((v) => toWasm(v));
  const outs = outSizes.map((n) => wasmOut(n));
  try {
    fn(...ins.map((b) => b.ptr), ...outs.map((b) => b.ptr));
    return outs.map((b) => Float64Array.from(b.view()));
  } finally {
    freeAll(...ins, ...outs);
  }
}

/** Tolerance per element of a sum: float32 rounding relative to the sum of the magnitudes. */
const sumTolerance = (magnitudes) => Array.from(magnitudes, (m) => 2e-6 * m + 1e-30);

// ---- broadcasting ----

// [a's shape, b's shape]: every layout the kernels take in one call, ones they loop over, both operand orders.
const broadcastCases = [
  [[7], [7]], [[2, 3, 5], [2, 3, 5]], [[1, 3, 1, 1], [1, 3, 1, 1]], [[0, 3], [0, 3]],
  [[1, 3, 5, 7], [1, 3, 1, 1]], [[2, 5, 3, 3], [2, 5, 1, 1]], [[3, 7, 1, 9], [3, 7, 1, 1]], [[2, 6, 4, 4], [2, 6, 1, 1]],
  [[2, 5, 3, 3], [5, 1, 1]], [[2, 5, 3, 3], [1, 5, 1, 1]], [[1, 13, 2, 2], [13, 1, 1]],
  [[2, 3, 4, 5], [5]], [[3, 7], [7]], [[4, 9], [1, 9]], [[4, 9], [4, 1]],
  [[2, 3, 4, 5], []], [[2, 3, 4, 5], [1]], [[5], [1]], [[1], []],
  [[2, 3, 4, 5], [2, 1, 4, 5]], [[2, 3, 4, 5], [1, 3, 1, 5]], [[2, 3, 4, 5], [2, 1, 1, 5]], [[2, 3, 4, 5], [2, 1, 4, 1]],
  [[2, 1, 3, 1, 5], [1, 1, 3, 1, 1]], [[3, 2, 2, 3, 2], [3, 1, 2, 1, 2]],
  [[2, 5, 1, 1], [2, 5, 3, 3]], [[5], [2, 3, 4, 5]], [[1, 3, 1, 5], [2, 3, 4, 5]], [[], [3, 2]],
  [[0, 3, 2, 2], [1, 3, 1, 1]], [[2, 0, 3], [3]],
];

for (const [sa, sb] of broadcastCases) {
  test(`add and mul of [${sa}] and [${sb}]: forward exact, gradients against float64`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const plan = fk.broadcastPlan('test', sa, sb);
    const shape = [...plan.shape], n = size(shape);
    const a = f32(randn(size(sa), rand, 3)), b = f32(randn(size(sb), rand, 3)), dy = f32(randn(n, rand));
    const ma = indexMap(shape, sa), mb = indexMap(shape, sb);
    const what = `seed ${seed} [${sa}] ⊕ [${sb}]`;

    const [yAdd] = onWasm([a, b], [n], (pa, pb, py) => fk.addForward(plan, pa, pb, py));
    const [yMul] = onWasm([a, b], [n], (pa, pb, py) => fk.mulForward(plan, pa, pb, py));
    assert.equal([...yAdd], Array.from(yAdd, (_, i) => Math.fround(a[ma[i]] + b[mb[i]])), `${what}: add`);
    assert.equal([...yMul], Array.from(yMul, (_, i) => Math.fround(a[ma[i]] * b[mb[i]])), `${what}: mul`);

    // Gradients: an operand's is the sum, over the result elements it reaches, of dy (add) or dy times the other operand (mul).
    const ref = (sizeOf, map, times) => {
      const g = new Float64Array(sizeOf), mag = new Float64Array(sizeOf);
      for (let i = 0; i < n; i++) { const t = dy[i] * times(i); g[map[i]] += t; mag[map[i]] += Math.abs(t); }
      return [g, mag];
    };
    const [addA, addB] = onWasm([dy], [a.length, b.length], (pdy, pda, pdb) => fk.addBackward(plan, pdy, pda, pdb));
    const [mulA, mulB] = onWasm([a, b, dy], [a.length, b.length], (pa, pb, pdy, pda, pdb) => fk.mulBackward(plan, pa, pb, pdy, pda, pdb));
    for (const [got, [g, mag], name] of [
      [addA, ref(a.length, ma, () => 1), 'add da'], [addB, ref(b.length, mb, () => 1), 'add db'],
      [mulA, ref(a.length, ma, (i) => b[mb[i]]), 'mul da'], [mulB, ref(b.length, mb, (i) => a[ma[i]]), 'mul db'],
    ]) {
      assertClose(got, g, { rtol: 0, atol: sumTolerance(mag), what: `${what}: ${name}` });
    }
    // A full-shaped operand's gradient is one product (or dy itself) per element: exact.
    if (plan.small !== 'a') assert.equal([...mulA], Array.from(mulA, (_, i) => Math.fround(dy[i] * b[mb[i]])), `${what}: mul da exact`);
    if (plan.small !== 'b') assert.equal([...addB], [...dy], `${what}: add db is dy`);
  });
}

test('mul and add backward skip a gradient given as 0, and never write past it', () => {
  const seed = freshSeed(), rand = rng(seed);
  const plan = fk.broadcastPlan('test', [2, 3, 2, 2], [3, 1, 1]);
  const a = f32(randn(24, rand)), b = f32(randn(3, rand)), dy = f32(randn(24, rand));
  // The outputs are NaN-filled: a skipped or overrun one stays (or turns) NaN where it should not.
  const [da] = onWasm([a, b, dy], [24], (pa, pb, pdy, pda) => fk.mulBackward(plan, pa, pb, pdy, pda, 0));
  assert.ok(da.every(Number.isFinite), `seed ${seed}`);
  const [db] = onWasm([dy], [3], (pdy, pdb) => fk.addBackward(plan, pdy, 0, pdb));
  assert.ok(db.every(Number.isFinite), `seed ${seed}`);
  const [guarded] = onWasm([a, b, dy], [4], (pa, pb, pdy, pdb) => fk.mulBackward(plan, pa, pb, pdy, 0, pdb));
  assert.ok(guarded.slice(0, 3).every(Number.isFinite) && Number.isNaN(guarded[3]), `seed ${seed}: db wrote ${guarded}`);
});

test('a long broadcast reduction keeps float32 accuracy (sums in lanes, then in float64)', () => {
  const seed = freshSeed(), rand = rng(seed);
  // 1 + small noise: a plain float32 running sum over 2^18 values drifts by ~1e-3 relative.
  const shape = [1, 2, 512, 256], n = size(shape);
  const dy = f32(Array.from({ length: n }, () => 1 + 1e-3 * (rand() - 0.5)));
  const plan = fk.broadcastPlan('test', shape, [1, 2, 1, 1]);
  const [db] = onWasm([dy], [2], (pdy, pdb) => fk.addBackward(plan, pdy, 0, pdb));
  for (let c = 0; c < 2; c++) {
    let s = 0;
    for (let i = c * n / 2; i < (c + 1) * n / 2; i++) s += dy[i];
    assert.ok(Math.abs(db[c] - s) <= 2e-7 * s, `seed ${seed}: channel ${c}: ${db[c]} vs ${s}`);
  }
});

test('broadcast shapes: the result shape, and Errors naming the op', () => {
  assert.equal(fk.broadcastPlan('sn.mul', [2, 3, 4, 5], [3, 1, 1]).shape, [2, 3, 4, 5]);
  assert.equal(fk.broadcastPlan('sn.mul', [3, 1, 1], [2, 3, 4, 5]).small, 'a');
  assert.equal(fk.broadcastPlan('sn.add', [4], [1, 4]).shape, [1, 4]);
  assert.equal(fk.broadcastPlan('sn.add', [2, 2], [2, 2]).small, null);
  assert.throws(() => fk.broadcastPlan('sn.add', [2, 3], [2, 4]),
    /^sn\.add: the shapes \[2, 3\] and \[2, 4\] do not broadcast: dim -1 is 3 in one and 4 in the other \(sizes must be equal, or 1 in one of them\)$/);
  // [C] lines up with the last dim, as in PyTorch: over [N, C, H, W] it is W that must match.
  assert.throws(() => fk.broadcastPlan('sn.mul', [2, 3, 4, 5], [3]), /^sn\.mul: the shapes \[2, 3, 4, 5\] and \[3\] do not broadcast: dim -1 is 5 in one and 3/);
  assert.throws(() => fk.broadcastPlan('sn.mul', [2, 1], [1, 3]),
    /^sn\.mul: the shapes \[2, 1\] and \[1, 3\] broadcast to \[2, 3\] only by expanding both; one operand must already have the shape of the result$/);
  assert.throws(() => fk.checkScalar('sn.mul', NaN), /^sn\.mul: the scalar must be a finite number, got NaN$/);
  assert.throws(() => fk.checkScalar('sn.mul', '2'), /^sn\.mul: the scalar must be a finite number, got the string '2'$/);
});

test('mulScalar: y = s·x exactly, in place too, any length', () => {
  const seed = freshSeed(), rand = rng(seed);
  for (const n of [0, 1, 3, 4, 5, 17]) {
    const x = f32(randn(n, rand, 5));
    const [y] = onWasm([x], [n], (px, py) => fk.mulScalar(px, -0.37, py, n));
    assert.equal([...y], Array.from(x, (v) => Math.fround(v * Math.fround(-0.37))), `seed ${seed} n ${n}`);
    const buf = toWasm(x);
    try {
      fk.mulScalar(buf.ptr, 2.5, buf.ptr, n);
      assert.equal([...buf.view()], Array.from(x, (v) => Math.fround(v * 2.5)), `seed ${seed} n ${n} in place`);
    } finally {
      freeAll(buf);
    }
  }
});

// ---- cat ----

// [shapes, dim]
const catCases = [
  [[[2, 3], [4, 3]], 0], [[[2, 3], [2, 5]], 1], [[[2, 3], [2, 5]], -1], [[[1, 3, 5, 5], [1, 7, 5, 5]], 1],
  [[[2, 3, 4, 5], [2, 1, 4, 5], [2, 6, 4, 5]], 1], [[[2, 3, 4, 5], [2, 3, 1, 5]], 2], [[[2, 3, 4, 5], [2, 3, 4, 1], [2, 3, 4, 3]], 3],
  [[[2, 3, 4, 5], [2, 3, 4, 5]], 0], [[[3], [0], [5]], 0], [[[2, 0, 3], [2, 4, 3]], 1], [[[7, 5]], 0], [[[2, 0], [2, 0]], 0],
  [[[1, 5, 1, 1], [1, 3, 1, 1]], -3],
];

/** Float64 cat along d (non-negative) of flat arrays with shapes. */
function catRef(arrays, shapes, d) {
  const outer = size(shapes[0].slice(0, d)), inner = size(shapes[0].slice(d + 1));
  const out = [];
  for (let o = 0; o < outer; o++) {
    arrays.forEach((arr, j) => {
      const row = shapes[j][d] * inner;
      for (let i = 0; i < row; i++) out.push(arr[o * row + i]);
    });
  }
  return out;
}

for (const [shapes, dim] of catCases) {
  test(`cat of [${shapes.map((s) => `[${s}]`).join(', ')}] along dim ${dim}: forward copies, backward splits`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const plan = fk.catPlan('test', shapes, dim);
    const d = dim < 0 ? dim + shapes[0].length : dim;
    const expectShape = [...shapes[0]];
    expectShape[d] = shapes.reduce((n, s) => n + s[d], 0);
    assert.equal([...plan.shape], expectShape);
    const inputs = shapes.map((s) => f32(randn(size(s), rand)));
    const n = size(plan.shape);
    const [y] = onWasm(inputs, [n], (...ptrs) => fk.catForward(plan, ptrs.slice(0, -1), ptrs.at(-1)));
    assert.equal([...y], catRef(inputs, shapes, d), `seed ${seed}: forward`);
    const dy = f32(randn(n, rand));
    const grads = onWasm([dy], shapes.map(size), (pdy, ...gs) => fk.catBackward(plan, pdy, gs));
    // Splitting is the inverse of concatenating: cat of the pieces gives dy back, each piece of its input's size.
    grads.forEach((g, j) => assert.is(g.length, size(shapes[j])));
    assert.equal(catRef(grads, shapes, d), [...dy], `seed ${seed}: backward`);
  });
}

test('cat backward skips an input whose gradient is 0', () => {
  const plan = fk.catPlan('test', [[2, 2], [2, 3]], 1);
  const dy = f32([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const [g1] = onWasm([dy], [6], (pdy, pg) => fk.catBackward(plan, pdy, [0, pg]));
  assert.equal([...g1], [3, 4, 5, 8, 9, 10]);
});

test('cat shapes: Errors naming the op, the tensor and the dim', () => {
  assert.throws(() => fk.catPlan('sn.cat', [], 0), /^sn\.cat: expected a non-empty list of tensors$/);
  assert.throws(() => fk.catPlan('sn.cat', [[2, 3], [2, 3, 1]], 0), /^sn\.cat: the tensors must have the same number of dims: tensor 0 has shape \[2, 3\], tensor 1 \[2, 3, 1\]$/);
  assert.throws(() => fk.catPlan('sn.cat', [[2, 3], [2, 3], [3, 4]], 0),
    /^sn\.cat: the tensors must have the same size in every dim but dim 0: tensor 0 has shape \[2, 3\], tensor 2 \[3, 4\] \(dim 1 differs\)$/);
  assert.throws(() => fk.catPlan('sn.cat', [[2, 3]], 2), /^sn\.cat: dim 2 is out of range for a tensor of 2 dims \(expected one in \[-2, 1\]\)$/);
  assert.throws(() => fk.catPlan('sn.cat', [[2, 3]], -3), /^sn\.cat: dim -3 is out of range/);
  assert.throws(() => fk.catPlan('sn.cat', [[2, 3]], 0.5), /^sn\.cat: dim must be an integer, got 0\.5$/);
  assert.throws(() => fk.catPlan('sn.cat', [[2, 3]], '1'), /^sn\.cat: dim must be an integer, got the string '1'$/);
  assert.throws(() => fk.catPlan('sn.cat', [[], []], 0), /^sn\.cat: zero-dimensional tensors cannot be concatenated/);
});

// ---- mean ----

// [shape, dims, keepdim]
const meanCases = [
  [[2, 3, 4, 5], [2, 3], false], [[1, 7, 5, 3], [2, 3], true], [[2, 3, 4, 5], 1, false], [[3, 5, 2, 2], [1], true],
  [[2, 3, 4, 5], undefined, false], [[2, 3, 4, 5], null, true], [[2, 3, 4, 5], [0, 1, 2, 3], false], [[3, 10], 1, false], [[3, 10], -1, true],
  [[3, 10], 0, false], [[2, 5, 3, 3], [0, 2, 3], true], [[2, 3, 4, 5], [1, 3], false], [[2, 3, 4, 5], [0, 2], false],
  [[2, 3, 4, 5], [3, 1], false], [[13], 0, false], [[13], undefined, true], [[1, 1, 1, 9], [3], false], [[5, 1, 3], [1], false],
  [[2, 3, 1, 1], [2, 3], false], [[0, 3], 1, false], [[4, 0, 2], 2, true], [[], undefined, false], [[], 0, true], [[1], 0, false],
];

for (const [shape, dims, keepdim] of meanCases) {
  test(`mean of [${shape}] over ${JSON.stringify(dims)}${keepdim ? ', keepdim' : ''}: forward and backward against float64`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const plan = fk.meanPlan('test', shape, dims, keepdim);
    const rank = shape.length;
    const reduced = dims == null ? shape.map((_, i) => i) : [].concat(dims).map((d) => (d < 0 ? d + rank : d));
    const keptShape = shape.map((n, d) => (reduced.includes(d) ? 1 : n));
    const expectShape = keepdim ? keptShape : shape.filter((_, d) => !reduced.includes(d));
    assert.equal([...plan.shape], expectShape);
    const count = size(reduced.filter((d) => d < rank).map((d) => shape[d]));
    assert.is(plan.count, count);
    const x = f32(randn(size(shape), rand, 2));
    const map = indexMap(shape, keptShape), m = size(expectShape);
    const ref = new Float64Array(m), mag = new Float64Array(m);
    x.forEach((v, i) => { ref[map[i]] += v / count; mag[map[i]] += Math.abs(v) / count; });
    const [y] = onWasm([x], [m], (px, py) => fk.meanForward(plan, px, py));
    assertClose(y, ref, { rtol: 0, atol: sumTolerance(mag), what: `seed ${seed}: forward` });
    const dy = f32(randn(m, rand));
    const [dx] = onWasm([dy], [x.length], (pdy, pdx) => fk.meanBackward(plan, pdy, pdx));
    assert.equal([...dx], Array.from(dx, (_, i) => Math.fround(dy[map[i]] * Math.fround(1 / count))), `seed ${seed}: backward`);
  });
}

test('mean: the gradient matches finite differences of the float64 mean', () => {
  const seed = freshSeed(), rand = rng(seed);
  const shape = [2, 3, 2, 3], plan = fk.meanPlan('test', shape, [1, 3]);
  const x = f32(randn(36, rand)), w = f32(randn(4, rand));
  const map = indexMap(shape, [2, 1, 2, 1]);
  const loss = () => { const y = new Float64Array(4); x.forEach((v, i) => { y[map[i]] += v / 9; }); return y.reduce((s, v, i) => s + v * w[i], 0); };
  const num = new Float64Array(36);
  for (let i = 0; i < 36; i++) { const old = x[i]; x[i] = old + 1e-3; const p = loss(); x[i] = old - 1e-3; num[i] = (p - loss()) / 2e-3; x[i] = old; }
  const [dx] = onWasm([w], [36], (pw, pdx) => fk.meanBackward(plan, pw, pdx));
  assertClose(dx, num, { rtol: 1e-5, atol: 1e-7, what: `seed ${seed}` });
});

test('a long mean keeps float32 accuracy', () => {
  const seed = freshSeed(), rand = rng(seed);
  const n = 100003, x = f32(Array.from({ length: n }, () => 3 + 1e-3 * (rand() - 0.5)));
  let s = 0;
  for (const v of x) s += v;
  for (const [shape, dims] of [[[n], undefined], [[1, n], 1], [[1, 1, n, 1], [2]]]) {
    const [y] = onWasm([x], [1], (px, py) => fk.meanForward(fk.meanPlan('test', shape, dims), px, py));
    assert.ok(Math.abs(y[0] - s / n) <= 3e-7 * (s / n), `seed ${seed} [${shape}]: ${y[0]} vs ${s / n}`);
  }
});

test('mean shapes: Errors naming the op and the dims', () => {
  assert.throws(() => fk.meanPlan('sn.mean', [2, 3], 2), /^sn\.mean: dim 2 is out of range for a tensor of 2 dims \(expected one in \[-2, 1\]\)$/);
  assert.throws(() => fk.meanPlan('sn.mean', [2, 3], [0, -2]), /^sn\.mean: dim 0 appears more than once in dims \(negative dims counted from the end\)$/);
  assert.throws(() => fk.meanPlan('sn.mean', [2, 3], []), /^sn\.mean: dims is an empty list; give the dims to reduce, or leave dims out to reduce every dim$/);
  assert.throws(() => fk.meanPlan('sn.mean', [2, 3], [1.5]), /^sn\.mean: dim must be an integer, got 1\.5$/);
  assert.throws(() => fk.meanPlan('sn.mean', [2, 3], '1'), /^sn\.mean: dim must be an integer, got the string '1'$/);
  assert.throws(() => fk.meanPlan('sn.mean', [2, 3], 1, 'yes'), /^sn\.mean: keepdim must be a boolean \(true or false\), got the string 'yes'$/);
  assert.throws(() => fk.meanPlan('sn.mean', [2, 0, 3], [1, 2]), /^sn\.mean: the mean over dims \[1, 2\] of a tensor of shape \[2, 0, 3\] is over no elements$/);
});

test.run();
