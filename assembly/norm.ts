// Batch normalisation over x viewed as [N, C, L]: channel c owns N planes of L contiguous
// floats (L = H·W for BatchNorm2d, L for BatchNorm1d on [N, C, L], 1 on [N, C]).
// Per-channel sums run in f32x4 lanes within a plane and in f64 across planes.
// weight/bias/dweight/dbias are used only when affine is 1.
import { hsum, madd } from "./simd";

/** mean[c] and biased variance[c] over the N·L values of each channel (two passes, for accuracy). */
export function batchNormStats(x: usize, mean: usize, variance: usize, N: i32, C: i32, L: i32): void {
  const count = <f64>N * L;
  for (let c = 0; c < C; c++) {
    let sum: f64 = 0;
    for (let n = 0; n < N; n++) sum += planeSum(plane(x, n, c, C, L), L);
    const m = <f32>(sum / count);
    let squares: f64 = 0;
    for (let n = 0; n < N; n++) squares += planeSquaredDeviation(plane(x, n, c, C, L), L, m);
    store<f32>(mean + (<usize>c << 2), m);
    store<f32>(variance + (<usize>c << 2), <f32>(squares / count));
  }
}

/** y = (x − mean[c]) / sqrt(variance[c] + eps) · weight[c] + bias[c]. */
export function batchNormApply(
  x: usize, y: usize, mean: usize, variance: usize, weight: usize, bias: usize,
  N: i32, C: i32, L: i32, eps: f32, affine: i32,
): void {
  for (let c = 0; c < C; c++) {
    const o = <usize>c << 2;
    const m = load<f32>(mean + o);
    const scale = invStd(load<f32>(variance + o), eps) * (affine ? load<f32>(weight + o) : 1);
    const shift: f32 = affine ? load<f32>(bias + o) : 0;
    const mV = f32x4.splat(m), scaleV = f32x4.splat(scale), shiftV = f32x4.splat(shift);
    for (let n = 0; n < N; n++) {
      const xs = plane(x, n, c, C, L), ys = plane(y, n, c, C, L);
      let i = 0;
      for (; i + 4 <= L; i += 4) {
        const p = <usize>i << 2;
        v128.store(ys + p, madd(f32x4.sub(v128.load(xs + p), mV), scaleV, shiftV));
      }
      for (; i < L; i++) {
        const p = <usize>i << 2;
        store<f32>(ys + p, (load<f32>(xs + p) - m) * scale + shift);
      }
    }
  }
}

/**
 * running = (1 − momentum)·running + momentum·stat, with the variance made unbiased by
 * unbias = n/(n − 1) first, as PyTorch does.
 */
export function batchNormUpdateRunning(
  runningMean: usize, runningVar: usize, mean: usize, variance: usize, C: i32, momentum: f32, unbias: f32,
): void {
  const keep: f32 = 1 - momentum;
  for (let c = 0; c < C; c++) {
    const o = <usize>c << 2;
    store<f32>(runningMean + o, keep * load<f32>(runningMean + o) + momentum * load<f32>(mean + o));
    store<f32>(runningVar + o, keep * load<f32>(runningVar + o) + momentum * (load<f32>(variance + o) * unbias));
  }
}

/**
 * Gradients of batchNormApply with x̂ = (x − mean)·invstd. dweight += Σ dy·x̂, dbias += Σ dy.
 * batchStats = 1 (training): mean and variance were the batch's own, so dx carries their
 * gradient too: dx = w·invstd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M), M = N·L.
 * batchStats = 0 (eval): constants, so dx = w·invstd·dy. dx = 0 skips the input gradient.
 */
export function batchNormBackward(
  x: usize, dy: usize, dx: usize, mean: usize, variance: usize,
  weight: usize, dweight: usize, dbias: usize,
  N: i32, C: i32, L: i32, eps: f32, affine: i32, batchStats: i32,
): void {
  const count = <f64>N * L;
  for (let c = 0; c < C; c++) {
    const o = <usize>c << 2;
    const m = load<f32>(mean + o);
    const inv = invStd(load<f32>(variance + o), eps);
    let sumDy: f64 = 0, sumDyCentered: f64 = 0;
    for (let n = 0; n < N; n++) {
      sumDy += planeSum(plane(dy, n, c, C, L), L);
      sumDyCentered += planeCenteredDot(plane(dy, n, c, C, L), plane(x, n, c, C, L), L, m);
    }
    const sumDyXhat = sumDyCentered * inv;
    if (affine) {
      store<f32>(dweight + o, load<f32>(dweight + o) + <f32>sumDyXhat);
      store<f32>(dbias + o, load<f32>(dbias + o) + <f32>sumDy);
    }
    if (!dx) continue;
    // dx = dy·k + (x − mean)·a + b
    const k: f32 = inv * (affine ? load<f32>(weight + o) : 1);
    const a: f32 = batchStats ? <f32>(-k * inv * sumDyXhat / count) : 0;
    const b: f32 = batchStats ? <f32>(-k * sumDy / count) : 0;
    const mV = f32x4.splat(m), kV = f32x4.splat(k), aV = f32x4.splat(a), bV = f32x4.splat(b);
    for (let n = 0; n < N; n++) {
      const xs = plane(x, n, c, C, L), gs = plane(dy, n, c, C, L), ds = plane(dx, n, c, C, L);
      let i = 0;
      for (; i + 4 <= L; i += 4) {
        const p = <usize>i << 2;
        const centered = f32x4.sub(v128.load(xs + p), mV);
        v128.store(ds + p, madd(centered, aV, madd(v128.load(gs + p), kV, bV)));
      }
      for (; i < L; i++) {
        const p = <usize>i << 2;
        store<f32>(ds + p, (load<f32>(xs + p) - m) * a + (load<f32>(gs + p) * k + b));
      }
    }
  }
}

// @ts-ignore: decorator
@inline function invStd(variance: f32, eps: f32): f32 {
  return 1 / Mathf.sqrt(variance + eps);
}

/** Start of plane (n, c) of [N, C, L]. */
// @ts-ignore: decorator
@inline function plane(base: usize, n: i32, c: i32, C: i32, L: i32): usize {
  return base + ((<usize>n * C + c) * L << 2);
}

function planeSum(p: usize, L: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= L; i += 4) acc = f32x4.add(acc, v128.load(p + (<usize>i << 2)));
  let s = hsum(acc);
  for (; i < L; i++) s += load<f32>(p + (<usize>i << 2));
  return s;
}

function planeSquaredDeviation(p: usize, L: i32, m: f32): f32 {
  const mV = f32x4.splat(m);
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= L; i += 4) {
    const d = f32x4.sub(v128.load(p + (<usize>i << 2)), mV);
    acc = madd(d, d, acc);
  }
  let s = hsum(acc);
  for (; i < L; i++) { const d = load<f32>(p + (<usize>i << 2)) - m; s += d * d; }
  return s;
}

/** Σ dy·(x − m) over one plane. */
function planeCenteredDot(dy: usize, x: usize, L: i32, m: f32): f32 {
  const mV = f32x4.splat(m);
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= L; i += 4) {
    const p = <usize>i << 2;
    acc = madd(v128.load(dy + p), f32x4.sub(v128.load(x + p), mV), acc);
  }
  let s = hsum(acc);
  for (; i < L; i++) { const p = <usize>i << 2; s += load<f32>(dy + p) * (load<f32>(x + p) - m); }
  return s;
}
