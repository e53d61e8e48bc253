// Shared test helpers: seeded random data, float64 comparisons, wasm buffer plumbing and
// finite differences.
import * as assert from 'uvu/assert';
import { rt, Block, f32, setFusion } from 'simdnet/internal';

/** A small seeded generator for test data (independent of the library's RNG). */
export function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

let seedCounter = Date.now() >>> 0;
/** A fresh seed per call; printed on failure so a case can be replayed. */
export function freshSeed() { seedCounter = (seedCounter * 1664525 + 1013904223) >>> 0; return seedCounter; }

/** n values uniform in [-scale, scale), as a Float64Array (the reference's precision). */
export function randn(n, rand, scale = 1) {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
  return a;
}

/** Copies numbers into a fresh wasm block; returns { block, ptr, view() }. */
export function toWasm(values) {
  const block = new Block(Math.max(values.length, 1) * 4);
  f32(block.ptr, values.length).set(values);
  return { block, ptr: block.ptr, n: values.length, view: () => f32(block.ptr, values.length) };
}

/** A wasm block of n floats filled with a sentinel pattern (so unwritten outputs show). */
export function wasmOut(n, fillValue = NaN) {
  const block = new Block(Math.max(n, 1) * 4);
  f32(block.ptr, n).fill(fillValue);
  return { block, ptr: block.ptr, n, view: () => f32(block.ptr, n) };
}

export function freeAll(...bufs) { for (const b of bufs) b.block.free(); }

/**
 * Asserts |a - e| <= atol + rtol·|e| elementwise; the message names the first failing index.
 * `atol` is one number, or one per element (for a bound that depends on the element's conditioning).
 */
export function assertClose(actual, expected, { rtol = 1e-4, atol = 1e-5, what = 'values' } = {}) {
  assert.is(actual.length, expected.length, `${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i], tol = typeof atol === 'number' ? atol : atol[i];
    if (!(Math.abs(a - e) <= tol + rtol * Math.abs(e))) {
      assert.unreachable(`${what}: index ${i}: got ${a}, expected ${e} (|diff| ${Math.abs(a - e)}, atol ${tol}, rtol ${rtol})`);
    }
  }
}

/** Maximum absolute value, to scale tolerances of accumulated sums. */
export function maxAbs(a) { let m = 0; for (const v of a) m = Math.max(m, Math.abs(v)); return m; }

/** Central finite difference of a scalar f at each coordinate of x (Float64Array, mutated and restored). */
export function numericGrad(f, x, eps = 1e-3) {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const old = x[i];
    x[i] = old + eps; const fp = f();
    x[i] = old - eps; const fm = f();
    x[i] = old;
    g[i] = (fp - fm) / (2 * eps);
  }
  return g;
}

/** n float32-exact values uniform in [-1, 1), as a Float64Array. */
export const randf = (n, rand) => randn(n, rand).map(Math.fround);

/**
 * Checks a layer's backward (dx, and dW and db of its `weight` and `bias`) against central
 * differences of its float32 forward, on f = Σ r ⊙ y with random r: an input of `shape` drawn from
 * `rand`. `weightCount` limits dW to its first values (a wide layer's full check is slow). Ends
 * with the layer's weights as they were.
 */
export function assertLayerFiniteDifferences(sn, layer, shape, rand, seed, { atol = 3e-3, weightCount = Infinity } = {}) {
  const x = randf(shape.reduce((a, b) => a * b, 1), rand);
  const t = (v) => sn.tensor(Float32Array.from(v), shape);
  const y0 = layer.forward(t(x));
  const weights = randn(y0.size, rand), outShape = y0.shape;
  // f = Σ weights ⊙ y, in float64 from the layer's float32 output.
  const f = () => { const y = layer.forward(t(x)).toArray(); let s = 0; for (let i = 0; i < y.length; i++) s += weights[i] * y[i]; return s; };
  layer.forward(t(x));
  const dx = layer.backward(sn.tensor(Float32Array.from(weights), outShape)).toArray();
  const dw = layer.weight.grad.toArray(), db = layer.bias.grad.toArray();
  const eps = 1e-2, loose = (what) => ({ rtol: 1e-2, atol, what: `seed ${seed}: ${what}` });
  assertClose(dx, numericGrad(f, x, eps), loose('dx vs finite differences'));
  const full = Float64Array.from(layer.weight.data.toArray()), wd = full.slice(0, Math.min(weightCount, full.length));
  assertClose(dw.slice(0, wd.length), numericGrad(() => { full.set(wd); layer.weight.data.view().set(full); return f(); }, wd, eps), loose('dW vs finite differences'));
  const bd = Float64Array.from(layer.bias.data.toArray());
  assertClose(db, numericGrad(() => { layer.bias.data.view().set(bd); return f(); }, bd, eps), loose('db vs finite differences'));
}

export { rt };

/** A Conv2d(C, O, k, opts) with random float32 weights, then bias (drawn in that order from `rand`), and the values set. */
export function randomConv2d(sn, C, O, k, opts, rand) {
  const layer = new sn.Conv2d(C, O, k, opts);
  const w = randf(layer.weight.size, rand);
  layer.weight.data.view().set(w);
  const b = layer.bias ? randf(O, rand) : null;
  if (b) layer.bias.data.view().set(b);
  return { layer, w, b };
}

/** An integer in [lo, hi], uniformly, from `rand`. */
export const randInt = (rand, lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

/**
 * A random Conv2d geometry over the awkward cases: groups, depthwise (one in seven), strides of
 * 1–3, paddings of 0–3, dilations of 1–2, kernels of 3 or 1–5 a side, bias or not, odd maps and
 * batches; `large` gives the channel and map sizes where Winograd and the channel lanes run.
 * Returns { C, O, kernel, options, shape } (shape [N, C, H, W]); some are refused as too small
 * for their kernel.
 */
export function randomConvGeometry(rand, { large = false } = {}) {
  const int = (lo, hi) => randInt(rand, lo, hi);
  const G = rand() < 0.3 ? int(1, 3) : 1, depthwise = rand() < 0.15;
  const C = depthwise ? int(1, 12) : G * (large ? [1, 3, 8, 16, 17, 32, 40][int(0, 6)] : int(1, 9));
  const O = depthwise ? C * int(1, 2) : G * (large ? [4, 8, 16, 20, 32, 48, 64] : [1, 2, 3, 5, 8, 16, 32])[int(0, 6)];
  const options = {
    stride: rand() < 0.6 ? 1 : [int(1, 3), int(1, 3)], padding: [int(0, 3), int(0, 3)],
    dilation: rand() < 0.8 ? 1 : [int(1, 2), int(1, 2)], groups: depthwise ? C : G, bias: rand() < 0.7,
  };
  const kernel = rand() < 0.5 ? 3 : [int(1, 5), int(1, 5)];
  const shape = large ? [int(1, 20), C, int(4, 34), int(4, 34)] : [int(1, 9), C, int(1, 20), int(1, 20)];
  return { C, O, kernel, options, shape };
}

/** The bits of float32 values, so that equality is exact (NaN and −0 included). */
export const bits = (a) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

/**
 * Two SGD steps (momentum 0.9) of the model `build()` makes from `seed`, in `mode` ('train' or
 * 'eval'), on random inputs of `shape` and random output gradients through model.backward: the
 * bits of each step's output and dx, then of every parameter's gradient and value — what the
 * fusion tests compare with fusion off and on (bothWays).
 */
export function twoStepBits(sn, build, shape, mode, seed) {
  sn.manualSeed(seed);
  const model = build();
  const rand = rng(seed);
  model.train(mode === 'train');
  const opt = new sn.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const out = [];
  for (let step = 0; step < 2; step++) {
    opt.zeroGrad();
    const x = sn.tensor(Float32Array.from(randn(shape.reduce((a, b) => a * b, 1), rand, 2)), shape);
    const y = model.forward(x);
    out.push(y.toArray());
    const dx = model.backward(sn.tensor(Float32Array.from(randn(y.size, rand)), y.shape));
    out.push(dx.toArray());
    opt.step();
  }
  for (const p of model.parameters()) out.push(p.grad.toArray(), p.data.toArray());
  model.dispose();
  return out.map(bits);
}

/** Runs fn with the fusion of layers into one pass off, then on: [off, on]. */
export function bothWays(fn) {
  const was = setFusion(false);
  try {
    const off = fn();
    setFusion(true);
    return [off, fn()];
  } finally {
    setFusion(was);
  }
}
