// Elementwise activations over n floats. Forward writes y; backward writes dx from dy and
// whatever the derivative is cheapest from: the input for (Leaky)ReLU, ReLU6, Hardswish, SiLU,
// GELU and ELU, the output for sigmoid and tanh. Where the formula and its branches at the
// edges (x = 0, ±3, 6) are PyTorch's, so are the gradients there.
//
// The SIMD kernels run their scalar tail through the same four-lane function (the value in
// lane 0), so an element gets the same result wherever it falls.
import { expf, expV, expm1NegV } from "./math";

const ZERO = f32x4.splat(0);
const ONE = f32x4.splat(1);

/** y = max(x, 0). */
export function reluForward(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.max(v128.load(x + o), ZERO));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, max<f32>(load<f32>(x + o), 0));
  }
}

/** dx = x > 0 ? dy : 0. */
export function reluBackward(x: usize, dy: usize, dx: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, v128.and(v128.load(dy + o), f32x4.gt(v128.load(x + o), ZERO)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(x + o) > 0 ? load<f32>(dy + o) : 0);
  }
}

/** y = x > 0 ? x : slope·x. */
export function leakyReluForward(x: usize, y: usize, n: i32, slope: f32): void {
  const s = f32x4.splat(slope);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    v128.store(y + o, v128.bitselect(v, f32x4.mul(v, s), f32x4.gt(v, ZERO)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > 0 ? v : v * slope);
  }
}

/** dx = x > 0 ? dy : slope·dy (from the input, so any slope sign works). */
export function leakyReluBackward(x: usize, dy: usize, dx: usize, n: i32, slope: f32): void {
  const s = f32x4.splat(slope);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(dy + o);
    v128.store(dx + o, v128.bitselect(g, f32x4.mul(g, s), f32x4.gt(v128.load(x + o), ZERO)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(dy + o);
    store<f32>(dx + o, load<f32>(x + o) > 0 ? g : g * slope);
  }
}

/** y = 1 / (1 + e^-x), with exp taken of -|x| only so it never overflows. */
export function sigmoidForward(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const e = expf(-Mathf.abs(v));
    store<f32>(y + o, v >= 0 ? 1 / (1 + e) : e / (1 + e));
  }
}

/** dx = dy · y · (1 − y). */
export function sigmoidBackward(y: usize, dy: usize, dx: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(y + o);
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), f32x4.mul(v, f32x4.sub(ONE, v))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(y + o);
    store<f32>(dx + o, load<f32>(dy + o) * (v * (1 - v)));
  }
}

/** y = tanh(x); Mathf.tanh is accurate near 0 and saturates cleanly for large |x|. */
export function tanhForward(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, Mathf.tanh(load<f32>(x + o)));
  }
}

/** dx = dy · (1 − y²). */
export function tanhBackward(y: usize, dy: usize, dx: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(y + o);
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), f32x4.sub(ONE, f32x4.mul(v, v))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(y + o);
    store<f32>(dx + o, load<f32>(dy + o) * (1 - v * v));
  }
}

// ---- ReLU6, Hardswish, SiLU, GELU, ELU: four-lane functions, then the kernels over them ----

const SIX = f32x4.splat(6);
const THREE = f32x4.splat(3);
const HALF = f32x4.splat(0.5);

/** 1 / (1 + e^−x), from e^−|x| only, so it neither overflows nor cancels. */
// @ts-ignore: decorator
@inline function sigmoidV(x: v128): v128 {
  const e = expV(f32x4.neg(f32x4.abs(x)));
  return f32x4.div(v128.bitselect(ONE, e, f32x4.ge(x, ZERO)), f32x4.add(ONE, e));
}

// @ts-ignore: decorator
@inline function relu6V(x: v128): v128 { return f32x4.min(f32x4.max(x, ZERO), SIX); }

/** dy where 0 < x < 6, else 0 (PyTorch's hardtanh_backward: the edges get 0). */
// @ts-ignore: decorator
@inline function relu6GradV(x: v128, dy: v128): v128 {
  return v128.and(dy, v128.and(f32x4.gt(x, ZERO), f32x4.lt(x, SIX)));
}

/** x · min(max(x + 3, 0), 6) / 6, in PyTorch's order of operations. */
// @ts-ignore: decorator
@inline function hardswishV(x: v128): v128 {
  return f32x4.div(f32x4.mul(x, relu6V(f32x4.add(x, THREE))), SIX);
}

/** 0 for x < −3, dy·(x/3 + 1/2) for −3 ≤ x ≤ 3, dy above (PyTorch's hardswish_backward). */
// @ts-ignore: decorator
@inline function hardswishGradV(x: v128, dy: v128): v128 {
  const mid = f32x4.mul(dy, f32x4.add(f32x4.div(x, THREE), HALF));
  const upper = v128.bitselect(mid, dy, f32x4.le(x, THREE));
  return v128.and(upper, f32x4.ge(x, f32x4.neg(THREE)));
}

// @ts-ignore: decorator
@inline function siluV(x: v128): v128 { return f32x4.mul(x, sigmoidV(x)); }

/** dy · s · (1 + x·(1 − s)) with s = sigmoid(x). */
// @ts-ignore: decorator
@inline function siluGradV(x: v128, dy: v128): v128 {
  const s = sigmoidV(x);
  return f32x4.mul(f32x4.mul(dy, s), f32x4.add(ONE, f32x4.mul(x, f32x4.sub(ONE, s))));
}

const SQRT1_2 = f32x4.splat(<f32>0.7071067811865476);
const INV_SQRT_2PI = f32x4.splat(<f32>0.3989422804014327);

/**
 * Φ(x) = P(Z ≤ x) for a standard normal Z, given z² where z = |x|/√2 (the caller needs it too):
 * Φ(−|x|) = erfc(z)/2 from Numerical Recipes' erfc (Chebyshev fit, relative error < 1.2e-7 for
 * every z ≥ 0), so the left tail keeps its relative accuracy, where 1 + erf(x/√2) would cancel
 * (PyTorch's formula, 0.5·x·(1 + erf(x/√2)), is 0 in f32 below x ≈ −5.7). What remains is the rounding of
 * the exponent −z² + … in f32: a few times z²·2⁻²⁴ relative, 1e-5 where Φ(x) leaves the f32 range.
 */
// @ts-ignore: decorator
@inline function normalCdfV(x: v128, z: v128, z2: v128): v128 {
  const t = f32x4.div(ONE, f32x4.add(ONE, f32x4.mul(HALF, z)));
  let p = f32x4.splat(0.17087277);
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-0.82215223));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(1.48851587));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-1.13520398));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.27886807));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-0.18628806));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.09678418));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.37409196));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(1.00002368));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-1.26551223));
  const lower = f32x4.mul(f32x4.mul(HALF, t), expV(f32x4.sub(p, z2)));
  return v128.bitselect(f32x4.sub(ONE, lower), lower, f32x4.ge(x, ZERO));
}

/** x · Φ(x), the exact GELU. */
// @ts-ignore: decorator
@inline function geluV(x: v128): v128 {
  const z = f32x4.mul(f32x4.abs(x), SQRT1_2);
  return f32x4.mul(x, normalCdfV(x, z, f32x4.mul(z, z)));
}

/** dy · (Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π). */
// @ts-ignore: decorator
@inline function geluGradV(x: v128, dy: v128): v128 {
  const z = f32x4.mul(f32x4.abs(x), SQRT1_2);
  const z2 = f32x4.mul(z, z);
  const pdf = f32x4.mul(expV(f32x4.neg(z2)), INV_SQRT_2PI);
  return f32x4.mul(dy, f32x4.add(normalCdfV(x, z, z2), f32x4.mul(x, pdf)));
}

const GELU_BETA = f32x4.splat(<f32>0.7978845608028654); // √(2/π)
const GELU_KAPPA = f32x4.splat(<f32>0.044715);

/** sigmoid(2u), u = √(2/π)·(x + 0.044715·x³): that is (1 + tanh u)/2, without its cancellation for x ≪ 0. */
// @ts-ignore: decorator
@inline function geluTanhGate(x: v128): v128 {
  const u = f32x4.mul(GELU_BETA, f32x4.add(x, f32x4.mul(GELU_KAPPA, f32x4.mul(f32x4.mul(x, x), x))));
  return sigmoidV(f32x4.add(u, u));
}

/** x/2 · (1 + tanh(√(2/π)·(x + 0.044715·x³))), GELU(approximate='tanh'). */
// @ts-ignore: decorator
@inline function geluTanhV(x: v128): v128 { return f32x4.mul(x, geluTanhGate(x)); }

/**
 * dy · (s + 2x·s·(1 − s)·√(2/π)·(1 + 3·0.044715·x²)), s = sigmoid(2u): PyTorch's
 * (1 + tanh u)/2 + x/2·(1 − tanh²u)·u′ written with s. x is clamped to ±10⁴ in the second term,
 * where s·(1 − s) is 0 already, so that x³ cannot overflow into 0·∞.
 */
// @ts-ignore: decorator
@inline function geluTanhGradV(x: v128, dy: v128): v128 {
  const s = geluTanhGate(x);
  const xc = f32x4.min(f32x4.max(x, f32x4.splat(-1e4)), f32x4.splat(1e4));
  const du = f32x4.mul(GELU_BETA, f32x4.add(ONE, f32x4.mul(f32x4.splat(<f32>(3 * 0.044715)), f32x4.mul(xc, xc))));
  const ds = f32x4.mul(f32x4.mul(s, f32x4.sub(ONE, s)), du);
  return f32x4.mul(dy, f32x4.add(s, f32x4.mul(f32x4.add(xc, xc), ds)));
}

/** x for x > 0, α·(e^x − 1) otherwise (e^x − 1 without cancellation near 0). */
// @ts-ignore: decorator
@inline function eluV(x: v128, alpha: v128): v128 {
  return v128.bitselect(x, f32x4.mul(alpha, expm1NegV(x)), f32x4.gt(x, ZERO));
}

/** dy for x > 0, dy·α·e^x otherwise (PyTorch's elu_backward from the input). */
// @ts-ignore: decorator
@inline function eluGradV(x: v128, dy: v128, alpha: v128): v128 {
  return v128.bitselect(dy, f32x4.mul(f32x4.mul(dy, alpha), expV(x)), f32x4.gt(x, ZERO));
}

/** y = min(max(x, 0), 6). */
export function relu6Forward(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(y + o, relu6V(v128.load(x + o))); }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(y + o, f32x4.extract_lane(relu6V(f32x4.splat(load<f32>(x + o))), 0)); }
}

/** dx = 0 < x < 6 ? dy : 0. */
export function relu6Backward(x: usize, dy: usize, dx: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(dx + o, relu6GradV(v128.load(x + o), v128.load(dy + o))); }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, f32x4.extract_lane(relu6GradV(f32x4.splat(load<f32>(x + o)), f32x4.splat(load<f32>(dy + o))), 0));
  }
}

/** y = x · relu6(x + 3) / 6. */
export function hardswishForward(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(y + o, hardswishV(v128.load(x + o))); }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(y + o, f32x4.extract_lane(hardswishV(f32x4.splat(load<f32>(x + o))), 0)); }
}

/** dx = x < −3 ? 0 : x ≤ 3 ? dy·(x/3 + 1/2) : dy. */
export function hardswishBackward(x: usize, dy: usize, dx: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(dx + o, hardswishGradV(v128.load(x + o), v128.load(dy + o))); }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, f32x4.extract_lane(hardswishGradV(f32x4.splat(load<f32>(x + o)), f32x4.splat(load<f32>(dy + o))), 0));
  }
}

/** y = x · sigmoid(x). */
export function siluForward(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(y + o, siluV(v128.load(x + o))); }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(y + o, f32x4.extract_lane(siluV(f32x4.splat(load<f32>(x + o))), 0)); }
}

/** dx = dy · s · (1 + x·(1 − s)), s = sigmoid(x). */
export function siluBackward(x: usize, dy: usize, dx: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(dx + o, siluGradV(v128.load(x + o), v128.load(dy + o))); }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, f32x4.extract_lane(siluGradV(f32x4.splat(load<f32>(x + o)), f32x4.splat(load<f32>(dy + o))), 0));
  }
}

/** y = x · Φ(x) (the exact GELU). */
export function geluForward(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(y + o, geluV(v128.load(x + o))); }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(y + o, f32x4.extract_lane(geluV(f32x4.splat(load<f32>(x + o))), 0)); }
}

/** dx = dy · (Φ(x) + x·φ(x)). */
export function geluBackward(x: usize, dy: usize, dx: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(dx + o, geluGradV(v128.load(x + o), v128.load(dy + o))); }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, f32x4.extract_lane(geluGradV(f32x4.splat(load<f32>(x + o)), f32x4.splat(load<f32>(dy + o))), 0));
  }
}

/** y = x/2 · (1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluTanhForward(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(y + o, geluTanhV(v128.load(x + o))); }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(y + o, f32x4.extract_lane(geluTanhV(f32x4.splat(load<f32>(x + o))), 0)); }
}

/** dx for geluTanhForward. */
export function geluTanhBackward(x: usize, dy: usize, dx: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(dx + o, geluTanhGradV(v128.load(x + o), v128.load(dy + o))); }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, f32x4.extract_lane(geluTanhGradV(f32x4.splat(load<f32>(x + o)), f32x4.splat(load<f32>(dy + o))), 0));
  }
}

/** y = x > 0 ? x : α·(e^x − 1). */
export function eluForward(x: usize, y: usize, n: i32, alpha: f32): void {
  const a = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(y + o, eluV(v128.load(x + o), a)); }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(y + o, f32x4.extract_lane(eluV(f32x4.splat(load<f32>(x + o)), a), 0)); }
}

/** dx = x > 0 ? dy : dy·α·e^x. */
export function eluBackward(x: usize, dy: usize, dx: usize, n: i32, alpha: f32): void {
  const a = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(dx + o, eluGradV(v128.load(x + o), v128.load(dy + o), a)); }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, f32x4.extract_lane(eluGradV(f32x4.splat(load<f32>(x + o)), f32x4.splat(load<f32>(dy + o)), a), 0));
  }
}
