import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt, i32 } from 'simdnet/internal';
import { rng, freshSeed, randn, toWasm, wasmOut, freeAll, assertClose, numericGrad } from './helpers.js';

await sn.ready();

// ---- float64 references, written the way PyTorch's CPU kernels are ----

const pair = (v) => (typeof v === 'number' ? [v, v] : v);

function refPooledSize(size, k, s, p, d, ceil) {
  let out = Math.floor((size + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

/** Max pooling of [planes, H, W]: values, argmax (flat in the plane) and the output size. */
function refMaxPool(x, planes, H, W, c) {
  const [kH, kW] = pair(c.k), [sH, sW] = pair(c.s ?? c.k), [pH, pW] = pair(c.p ?? 0), [dH, dW] = pair(c.d ?? 1);
  const OH = refPooledSize(H, kH, sH, pH, dH, !!c.ceil), OW = refPooledSize(W, kW, sW, pW, dW, !!c.ceil);
  const y = new Float64Array(planes * OH * OW), arg = new Int32Array(planes * OH * OW);
  for (let p = 0; p < planes; p++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let best = -Infinity, at = -1;
    for (let i = 0; i < kH; i++) for (let j = 0; j < kW; j++) {
      const h = oh * sH - pH + i * dH, w = ow * sW - pW + j * dW;
      if (h < 0 || h >= H || w < 0 || w >= W) continue;
      const v = x[p * H * W + h * W + w];
      if (v > best) { best = v; at = h * W + w; }
    }
    y[(p * OH + oh) * OW + ow] = best; arg[(p * OH + oh) * OW + ow] = at;
  }
  return { y, arg, OH, OW };
}

function refMaxPoolBackward(dy, arg, planes, H, W, OH, OW) {
  const dx = new Float64Array(planes * H * W);
  for (let p = 0; p < planes; p++) for (let o = 0; o < OH * OW; o++) dx[p * H * W + arg[p * OH * OW + o]] += dy[p * OH * OW + o];
  return dx;
}

/** Every (output, input, divisor) link of average pooling; forward and backward both walk it. */
function avgPoolLinks(planes, H, W, c) {
  const [kH, kW] = pair(c.k), [sH, sW] = pair(c.s ?? c.k), [pH, pW] = pair(c.p ?? 0);
  const OH = refPooledSize(H, kH, sH, pH, 1, !!c.ceil), OW = refPooledSize(W, kW, sW, pW, 1, !!c.ceil);
  const links = [];
  for (let p = 0; p < planes; p++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let hs = oh * sH - pH, ws = ow * sW - pW;
    let he = Math.min(hs + kH, H + pH), we = Math.min(ws + kW, W + pW);
    const padded = (he - hs) * (we - ws);
    hs = Math.max(hs, 0); ws = Math.max(ws, 0); he = Math.min(he, H); we = Math.min(we, W);
    const divisor = c.divisorOverride ?? ((c.countIncludePad ?? true) ? padded : (he - hs) * (we - ws));
    for (let h = hs; h < he; h++) for (let w = ws; w < we; w++) {
      links.push([(p * OH + oh) * OW + ow, p * H * W + h * W + w, divisor]);
    }
  }
  return { links, OH, OW };
}

function adaptiveLinks(planes, H, W, OH, OW) {
  const links = [];
  const start = (i, n, size) => Math.floor(i * size / n), end = (i, n, size) => Math.ceil((i + 1) * size / n);
  for (let p = 0; p < planes; p++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const h0 = start(oh, OH, H), h1 = end(oh, OH, H), w0 = start(ow, OW, W), w1 = end(ow, OW, W);
    for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) {
      links.push([(p * OH + oh) * OW + ow, p * H * W + h * W + w, (h1 - h0) * (w1 - w0)]);
    }
  }
  return links;
}

function linksForward(links, x, outSize) {
  const y = new Float64Array(outSize);
  for (const [o, i, d] of links) y[o] += x[i] / d;
  return y;
}

function linksBackward(links, dy, inSize) {
  const dx = new Float64Array(inSize);
  for (const [o, i, d] of links) dx[i] += dy[o] / d;
  return dx;
}

/** Distinct values in [-1, 1) in random order (no ties, gaps ≥ 1/n): max pooling is then unambiguous. */
function distinctValues(n, rand) {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [order[i], order[j]] = [order[j], order[i]]; }
  return Float64Array.from(order, (k) => Math.fround(((k + 0.5 * rand()) / n) * 2 - 1));
}

const f32round = (a) => Float64Array.from(a, Math.fround);

function run(layer, x, shape) {
  const y = layer.forward(sn.tensor(Float32Array.from(x), shape));
  return { y, values: y.toArray() };
}

/** Σ y·r through the layer, in float64 over the float32 outputs. */
function weightedSum(layer, x, shape, r) {
  const { values } = run(layer, x, shape);
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * r[i];
  return s;
}

function checkFiniteDifferences(layer, x, shape, seed, eps) {
  const rand = rng(seed ^ 0x5bd1e995);
  const outShape = layer.outputShape(shape);
  const r = randn(outShape.reduce((a, b) => a * b, 1), rand);
  run(layer, x, shape);
  const analytic = layer.backward(sn.tensor(Float32Array.from(r), outShape)).toArray();
  const numeric = numericGrad(() => weightedSum(layer, x, shape, r), x, eps);
  assertClose(analytic, numeric, { rtol: 1e-2, atol: 2e-3, what: `seed ${seed}: finite differences of ${layer}` });
}

const caseName = (c) => JSON.stringify(c).replace(/"/g, '');

// ---- MaxPool2d ----

const maxCases = [
  { n: 1, c: 3, h: 7, w: 9, k: 3, s: 2 },
  { n: 2, c: 5, h: 8, w: 7, k: [2, 3], s: [2, 1] },
  { n: 2, c: 3, h: 7, w: 6, k: 3, s: 2, p: 1 },
  { n: 1, c: 5, h: 9, w: 11, k: 3, s: 1, p: 1, d: 2 },
  { n: 2, c: 3, h: 7, w: 7, k: 2, s: 2, ceil: true },
  { n: 1, c: 3, h: 6, w: 8, k: 3, s: 2, p: 1, ceil: true },
  { n: 1, c: 3, h: 5, w: 5, k: 2, s: 2, p: 1, ceil: true },
  { n: 2, c: 5, h: 12, w: 19, k: 2 },
  { n: 1, c: 3, h: 13, w: 17, k: 2, ceil: true },
  { n: 3, c: 2, h: 5, w: 5, k: [3, 1], s: [1, 2], p: [1, 0] },
  { n: 1, c: 5, h: 6, w: 9, k: 2, s: 1 },
  { n: 1, c: 3, h: 10, w: 17, k: [2, 4], s: [2, 3] },
  { n: 2, c: 3, h: 16, w: 21, k: 3, s: 2, p: 1, ceil: true },
  { n: 1, c: 1, h: 1, w: 1, k: 1 },
  // The 2×2 stride-2 backward that writes dx directly: odd last row and column, an
  // overlapping last block (OW = 5), a scalar-only row (OW = 3).
  { n: 1, c: 2, h: 9, w: 11, k: 2 },
  { n: 2, c: 3, h: 4, w: 10, k: 2, s: 2 },
  { n: 1, c: 2, h: 7, w: 6, k: 2 },
];

const maxLayer = (c) => new sn.MaxPool2d(c.k, { stride: c.s, padding: c.p, dilation: c.d, ceilMode: c.ceil });

for (const c of maxCases) {
  test(`MaxPool2d ${caseName(c)}: forward, argmax and accumulated dx vs float64`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const planes = c.n * c.c, shape = [c.n, c.c, c.h, c.w];
    const x = distinctValues(planes * c.h * c.w, rand);
    const ref = refMaxPool(x, planes, c.h, c.w, c);
    const layer = maxLayer(c);
    const { y, values } = run(layer, x, shape);
    assert.equal(y.shape, [c.n, c.c, ref.OH, ref.OW], `seed ${seed}: output shape`);
    assertClose(values, ref.y, { rtol: 0, atol: 0, what: `seed ${seed}: y` });
    const dy = randn(ref.y.length, rand);
    const dx = layer.backward(sn.tensor(Float32Array.from(dy), y.shape)).toArray();
    assertClose(dx, refMaxPoolBackward(f32round(dy), ref.arg, planes, c.h, c.w, ref.OH, ref.OW),
      { rtol: 1e-6, atol: 1e-6, what: `seed ${seed}: dx` });

    // The kernel's argmax buffer itself, flat in each plane as PyTorch's indices.
    const [kH, kW] = pair(c.k), [sH, sW] = pair(c.s ?? c.k), [pH, pW] = pair(c.p ?? 0), [dH, dW] = pair(c.d ?? 1);
    const xb = toWasm(x), yb = wasmOut(ref.y.length), ab = wasmOut(ref.y.length);
    rt().kernels.maxPool2dForward(xb.ptr, yb.ptr, ab.ptr, planes, c.h, c.w, ref.OH, ref.OW, kH, kW, sH, sW, pH, pW, dH, dW);
    assert.equal([...i32(ab.ptr, ref.y.length)], [...ref.arg], `seed ${seed}: argmax`);
    freeAll(xb, yb, ab);
  });
}

test('MaxPool2d backward adds the gradients of overlapping windows that share a maximum', () => {
  // One large value in the middle is the max of all nine 3×3 windows with stride 1 over 5×5.
  const x = new Float32Array(25).map((_, i) => -1 + i / 100);
  x[12] = 5;
  const layer = new sn.MaxPool2d(3, { stride: 1 });
  layer.forward(sn.tensor(x, [1, 1, 5, 5]));
  const dy = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const dx = layer.backward(sn.tensor(dy, [1, 1, 3, 3])).toArray();
  assert.is(dx[12], 45);
  assert.is(dx.reduce((a, b) => a + b, 0), 45);
});

for (const c of [maxCases[0], maxCases[2], maxCases[3], maxCases[6], { n: 1, c: 3, h: 5, w: 4, k: [2, 3], s: [1, 2], ceil: true }]) {
  test(`MaxPool2d ${caseName(c)}: finite differences`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const small = { ...c, n: 1, c: Math.min(c.c, 2), h: Math.min(c.h, 7), w: Math.min(c.w, 7) };
    const shape = [small.n, small.c, small.h, small.w];
    const x = distinctValues(shape.reduce((a, b) => a * b, 1), rand);
    checkFiniteDifferences(maxLayer(small), x, shape, seed, 1e-3);
  });
}

test('MaxPool2d output sizes match PyTorch', () => {
  const out = (k, o, h) => new sn.MaxPool2d(k, o).outputShape([1, 1, h, h]).slice(2);
  assert.equal(out(2, {}, 5), [2, 2]);
  assert.equal(out(2, { ceilMode: true }, 5), [3, 3]);
  assert.equal(out(3, { stride: 2, padding: 1, ceilMode: true }, 6), [4, 4]);
  assert.equal(out(2, { stride: 2, padding: 1, ceilMode: true }, 5), [3, 3]); // last window would start in the right padding
  assert.equal(out(3, { stride: 1, padding: 1, dilation: 2 }, 9), [7, 7]);
  assert.equal(out(3, { stride: 2, padding: 1 }, 28), [14, 14]);
});

// ---- AvgPool2d ----

const avgCases = [
  { n: 1, c: 3, h: 7, w: 9, k: 3, s: 2 },
  { n: 2, c: 5, h: 8, w: 7, k: [2, 3], s: [2, 1] },
  { n: 2, c: 3, h: 7, w: 6, k: 3, s: 2, p: 1 },
  { n: 2, c: 3, h: 7, w: 6, k: 3, s: 2, p: 1, countIncludePad: false },
  { n: 1, c: 5, h: 7, w: 7, k: 2, s: 2, ceil: true },
  { n: 1, c: 3, h: 6, w: 8, k: 3, s: 2, p: 1, ceil: true },
  { n: 1, c: 3, h: 6, w: 8, k: 3, s: 2, p: 1, ceil: true, countIncludePad: false },
  { n: 2, c: 3, h: 5, w: 5, k: 2, s: 2, p: 1, ceil: true },
  { n: 1, c: 3, h: 9, w: 10, k: 3, s: 2, p: 1, divisorOverride: 5 },
  { n: 1, c: 3, h: 9, w: 10, k: [3, 2], s: 1, p: [1, 0], divisorOverride: 2, countIncludePad: false },
  { n: 1, c: 5, h: 20, w: 21, k: [2, 10], s: [1, 11] },
  { n: 1, c: 1, h: 1, w: 1, k: 1 },
  // The 2×2 stride-2 backward that writes dx directly: odd last row and column, an
  // overlapping last block (OW = 5), a scalar-only row (OW = 3).
  { n: 1, c: 2, h: 9, w: 11, k: 2 },
  { n: 2, c: 3, h: 4, w: 10, k: 2, s: 2 },
  { n: 1, c: 2, h: 7, w: 6, k: 2 },
];

const avgLayer = (c) => new sn.AvgPool2d(c.k, {
  stride: c.s, padding: c.p, ceilMode: c.ceil, countIncludePad: c.countIncludePad, divisorOverride: c.divisorOverride,
});

for (const c of avgCases) {
  test(`AvgPool2d ${caseName(c)}: forward and dx vs float64`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const planes = c.n * c.c, shape = [c.n, c.c, c.h, c.w];
    const x = f32round(randn(planes * c.h * c.w, rand));
    const { links, OH, OW } = avgPoolLinks(planes, c.h, c.w, c);
    const layer = avgLayer(c);
    const { y, values } = run(layer, x, shape);
    assert.equal(y.shape, [c.n, c.c, OH, OW], `seed ${seed}: output shape`);
    assertClose(values, linksForward(links, x, planes * OH * OW), { rtol: 1e-5, atol: 1e-6, what: `seed ${seed}: y` });
    const dy = f32round(randn(planes * OH * OW, rand));
    const dx = layer.backward(sn.tensor(Float32Array.from(dy), y.shape)).toArray();
    assertClose(dx, linksBackward(links, dy, x.length), { rtol: 1e-5, atol: 1e-6, what: `seed ${seed}: dx` });
  });
}

for (const c of [avgCases[2], avgCases[6], avgCases[8], avgCases[9]]) {
  test(`AvgPool2d ${caseName(c)}: finite differences`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const shape = [1, 2, Math.min(c.h, 7), Math.min(c.w, 7)];
    const x = f32round(randn(shape.reduce((a, b) => a * b, 1), rand));
    checkFiniteDifferences(avgLayer(c), x, shape, seed, 1e-2);
  });
}

test('AvgPool2d divisors match PyTorch on a hand-checked case', () => {
  const ones = new Float32Array(16).fill(1);
  const padded = new sn.AvgPool2d(3, { stride: 2, padding: 1 }).forward(sn.tensor(ones, [1, 1, 4, 4])).toArray();
  assertClose(padded, [4 / 9, 6 / 9, 6 / 9, 1]);
  const unpadded = new sn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }).forward(sn.tensor(ones, [1, 1, 4, 4])).toArray();
  assertClose(unpadded, [1, 1, 1, 1]);
  // Ceil mode: the clipped last window divides by its size within the input (plus padding).
  const ceil = new sn.AvgPool2d(2, { ceilMode: true }).forward(sn.tensor(new Float32Array(9).fill(1), [1, 1, 3, 3])).toArray();
  assertClose(ceil, [1, 1, 1, 1]);
});

// ---- AdaptiveAvgPool2d ----

const adaptiveCases = [
  { n: 1, c: 3, h: 7, w: 9, out: [3, 4] },
  { n: 2, c: 5, h: 5, w: 5, out: 1 },
  { n: 1, c: 3, h: 10, w: 13, out: [4, 5] },
  { n: 2, c: 3, h: 3, w: 3, out: [5, 4] },
  { n: 1, c: 5, h: 6, w: 8, out: [2, 4] },
  { n: 3, c: 2, h: 17, w: 23, out: [1, 1] },
  { n: 1, c: 3, h: 9, w: 30, out: 7 },
];

for (const c of adaptiveCases) {
  test(`AdaptiveAvgPool2d ${caseName(c)}: forward and dx vs float64`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const planes = c.n * c.c, [OH, OW] = pair(c.out);
    const x = f32round(randn(planes * c.h * c.w, rand));
    const links = adaptiveLinks(planes, c.h, c.w, OH, OW);
    const layer = new sn.AdaptiveAvgPool2d(c.out);
    const { y, values } = run(layer, x, [c.n, c.c, c.h, c.w]);
    assert.equal(y.shape, [c.n, c.c, OH, OW]);
    assertClose(values, linksForward(links, x, planes * OH * OW), { rtol: 1e-5, atol: 1e-6, what: `seed ${seed}: y` });
    const dy = f32round(randn(planes * OH * OW, rand));
    const dx = layer.backward(sn.tensor(Float32Array.from(dy), y.shape)).toArray();
    assertClose(dx, linksBackward(links, dy, x.length), { rtol: 1e-5, atol: 1e-6, what: `seed ${seed}: dx` });
  });
}

for (const c of [adaptiveCases[0], adaptiveCases[3], adaptiveCases[1]]) {
  test(`AdaptiveAvgPool2d ${caseName(c)}: finite differences`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const shape = [1, 2, c.h, c.w];
    const x = f32round(randn(2 * c.h * c.w, rand));
    checkFiniteDifferences(new sn.AdaptiveAvgPool2d(c.out), x, shape, seed, 1e-2);
  });
}

// ---- descriptions and errors ----

test('pooling layers describe themselves as PyTorch does', () => {
  assert.is(String(new sn.MaxPool2d(2)), 'MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)');
  assert.is(String(new sn.MaxPool2d([2, 3], { stride: 1, padding: [1, 0], ceilMode: true })),
    'MaxPool2d(kernel_size=(2, 3), stride=1, padding=(1, 0), dilation=1, ceil_mode=True)');
  assert.is(String(new sn.AvgPool2d(3, { stride: 2, padding: 1 })), 'AvgPool2d(kernel_size=3, stride=2, padding=1)');
  assert.is(String(new sn.AdaptiveAvgPool2d(1)), 'AdaptiveAvgPool2d(output_size=1)');
  assert.is(String(new sn.AdaptiveAvgPool2d([5, 7])), 'AdaptiveAvgPool2d(output_size=(5, 7))');
});

test('bad constructor arguments throw Errors naming the layer and the value', () => {
  assert.throws(() => new sn.MaxPool2d(0), /MaxPool2d: kernel_size .* got 0/);
  assert.throws(() => new sn.MaxPool2d(2.5), /MaxPool2d: kernel_size/);
  assert.throws(() => new sn.MaxPool2d([2, 2, 2]), /MaxPool2d: kernel_size .* got an Array of 3 numbers/);
  assert.throws(() => new sn.MaxPool2d(2, { stride: 0 }), /MaxPool2d: stride/);
  assert.throws(() => new sn.MaxPool2d(2, { dilation: 0 }), /MaxPool2d: dilation/);
  assert.throws(() => new sn.MaxPool2d(2, { padding: -1 }), /MaxPool2d: padding/);
  assert.throws(() => new sn.MaxPool2d(3, { padding: 2 }), /MaxPool2d: padding must be at most half of kernel_size, got padding=\(2, 2\) and kernel_size=\(3, 3\)/);
  assert.throws(() => new sn.MaxPool2d([4, 2], { padding: [2, 2] }), /MaxPool2d: padding must be at most half/);
  assert.throws(() => new sn.AvgPool2d(2, { padding: 2 }), /AvgPool2d: padding must be at most half/);
  assert.throws(() => new sn.AvgPool2d(2, { divisorOverride: 0 }), /AvgPool2d: divisorOverride must be a positive integer up to 2147483647, got 0/);
  assert.throws(() => new sn.AvgPool2d(2, { divisorOverride: 1.5 }), /AvgPool2d: divisorOverride must be a positive integer up to 2147483647, got 1\.5/);
  assert.throws(() => new sn.AdaptiveAvgPool2d(0), /AdaptiveAvgPool2d: output_size .* got 0/);
  assert.throws(() => new sn.AdaptiveAvgPool2d([2]), /AdaptiveAvgPool2d: output_size/);
});

test('bad input shapes throw Errors naming the layer and the shape', () => {
  const x3 = sn.tensor(new Float32Array(2 * 4 * 4).fill(1), [2, 4, 4]);
  for (const layer of [new sn.MaxPool2d(2), new sn.AvgPool2d(2), new sn.AdaptiveAvgPool2d(2)]) {
    const name = String(layer).split('(')[0];
    assert.throws(() => layer.forward(x3), (e) => e instanceof Error && e.message.includes(name) && e.message.includes('[2, 4, 4]'), name);
    assert.throws(() => layer.outputShape([1, 0, 4, 4]), (e) => e.message.includes(name) && e.message.includes('[1, 0, 4, 4]'));
  }
  const small = sn.tensor(new Float32Array(9).fill(1), [1, 1, 3, 3]);
  assert.throws(() => new sn.MaxPool2d(5).forward(small), /MaxPool2d\(kernel_size=5.*\[1, 1, 3, 3\]/);
  assert.throws(() => new sn.MaxPool2d(4, { padding: 0 }).forward(small), /MaxPool2d.*\[1, 1, 3, 3\]/);
  assert.throws(() => new sn.MaxPool2d(3, { dilation: 2 }).forward(small), /MaxPool2d.*\[1, 1, 3, 3\]/);
  assert.throws(() => new sn.AvgPool2d(6, { padding: 1 }).forward(small), /AvgPool2d.*\[1, 1, 3, 3\]/);
  // Taps at −1 and 2 of a 2-wide row: the window sees only padding (PyTorch would give −∞).
  assert.throws(() => new sn.MaxPool2d(2, { padding: 1, dilation: 3 }).forward(sn.tensor(new Float32Array(4).fill(1), [1, 1, 2, 2])),
    /MaxPool2d.*only padding.*\[1, 1, 2, 2\]/);
  // A kernel that fits only thanks to padding is fine.
  assert.equal(new sn.MaxPool2d(4, { padding: 1 }).forward(small).shape, [1, 1, 1, 1]);
});

test('backward needs a forward and a gradient of the output shape', () => {
  const layer = new sn.MaxPool2d(2);
  assert.throws(() => layer.backward(sn.tensor(new Float32Array(4), [1, 1, 2, 2])), /MaxPool2d.*before forward/);
  layer.forward(sn.tensor(new Float32Array(16).map((_, i) => i), [1, 1, 4, 4]));
  assert.throws(() => layer.backward(sn.tensor(new Float32Array(4), [1, 4])), /MaxPool2d.*\[1, 1, 2, 2\].*\[1, 4\]/);
});

test('repeated steps at a fixed shape allocate no new wasm memory', () => {
  const layers = [new sn.MaxPool2d(3, { stride: 2 }), new sn.AvgPool2d(2), new sn.AdaptiveAvgPool2d(3)];
  const x = sn.tensor(new Float32Array(2 * 3 * 9 * 9).map((_, i) => Math.sin(i)), [2, 3, 9, 9]);
  const step = () => {
    for (const layer of layers) {
      const y = layer.forward(x);
      layer.backward(sn.tensor(new Float32Array(y.size).fill(0.5), y.shape));
    }
  };
  step();
  const used = rt().heap.bytesInUse;
  for (let i = 0; i < 5; i++) step();
  assert.is(rt().heap.bytesInUse, used);
});

test.run();
