// Batch normalisation over x viewed as [N, C, L]: channel c owns N planes of L contiguous
// floats (L = H·W for BatchNorm2d, L for BatchNorm1d on [N, C, L], 1 on [N, C]).
// Per-channel sums run in f32x4 lanes within a plane and in f64 across planes. The normalising
// sweep (y = (x − mean)·scale + shift, and the activation after it when fused) is
// channelAffineAct in epilogue.ts.
//
// Sweeps over the activation per training step: forward one for the statistics (with the input
// check) and one to normalise, the ReLU or ReLU6 after it fused into that; backward one for Σdy
// and Σdy·x̂ together and one for dx, with that activation's mask applied to dy in both (its own
// sweep over its output, dy and dx is not made: VGG-style's five pairs' backward ×1.25–1.31).
// Each plane's sums run on two f32x4 accumulators apiece (four chains of adds and multiply-adds in
// flight): with one apiece, each chain waited on its own previous add. Raw kernels, relaxed build,
// the previous build beside this one alternately in one process, median of 14 (other bits: the
// order of the sums): the statistics ×1.8 on [64, 32, 32²] and ×2.2 on [64, 64, 16²], ~1.0 on
// 2×2 and 8×8 maps; the backward (which also summed Σdy and Σdy·(x − mean) in two loops over each
// plane) ×1.26, ×1.40 and ×2.1 on [64, 128, 8²], ×1.24 on [64, 96, 2²].
// weight/bias/dweight/dbias are used only when affine is 1.
import { hsum, madd } from "./simd";
import { ACT_NONE, ACT_RELU, ACT_RELU6 } from "./epilogue";
import { countNonFinite } from "./util";

/**
 * mean[c] and biased variance[c] over the N·L values of each channel, in one sweep over x;
 * returns how many values are NaN or infinite (the layer's input check, done in the same sweep).
 * Each plane is summed in f32x4 lanes as Σ(x − K) and Σ(x − K)², shifted by K = the mean of the
 * channel's first plane (read twice for it), so that the squares cancel little in
 * Σ(x − K)²/n − (Σ(x − K)/n)²; the planes' sums add up in f64 (merging each plane's mean and
 * squared deviations in f64, Chan et al.'s update, was slower on MobileNetV2's small planes). The input
 * check rides along: a NaN or infinity leaves a sum non-finite, and only then are values counted.
 *
 * Relaxed build, fastest of 30 runs (.scratch/bn-sweeps.mjs, the previous build beside this one,
 * interleaved in one process), a training forward's BatchNorm2d layers at batch 64 — the input
 * check, the statistics (two sweeps: the mean, then Σ(x − mean)²) and the normalising sweep
 * before; the statistics (one sweep) and the normalising sweep now:
 * MobileNetV2 ×0.5's 52 BatchNorms 6.25 → 4.00 ms; ResNet-20's 21 BatchNorms 11.98 → 5.85 ms.
 */
export function batchNormStats(x: usize, mean: usize, variance: usize, N: i32, C: i32, L: i32): i32 {
  if (N == 0 || L == 0) {
    for (let c = 0; c < C; c++) { store<f32>(mean + (<usize>c << 2), NaN); store<f32>(variance + (<usize>c << 2), NaN); }
    return 0;
  }
  return batchNormStatsRange(x, mean, variance, N, C, L, 0, C);
}

/**
 * batchNormStats for the Cc channels from c0 (N, L > 0): each channel's sums as the whole pass's,
 * so a split by channel ranges over threads gives the same bits; returns how many values of those
 * channels are NaN or infinite.
 */
export function batchNormStatsRange(x: usize, mean: usize, variance: usize, N: i32, C: i32, L: i32, c0: i32, Cc: i32): i32 {
  const count = <f64>N * L;
  let finite = true;
  for (let c = c0; c < c0 + Cc; c++) {
    const shift: f32 = planeSum(plane(x, 0, c, C, L), L) / <f32>L;
    const k: f32 = isFinite<f32>(shift) ? shift : 0;
    const kV = f32x4.splat(k);
    let s1: f64 = 0, s2: f64 = 0;
    for (let n = 0; n < N; n++) {
      const p = plane(x, n, c, C, L);
      // Two accumulators per sum: four chains of adds in flight where two waited on each other.
      let a1 = f32x4.splat(0), a2 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0);
      let i = 0;
      for (; i + 8 <= L; i += 8) {
        const q = p + (<usize>i << 2);
        const d = f32x4.sub(v128.load(q), kV), e = f32x4.sub(v128.load(q, 16), kV);
        a1 = f32x4.add(a1, d); b1 = f32x4.add(b1, e);
        a2 = madd(d, d, a2); b2 = madd(e, e, b2);
      }
      if (i + 4 <= L) {
        const d = f32x4.sub(v128.load(p + (<usize>i << 2)), kV);
        a1 = f32x4.add(a1, d);
        a2 = madd(d, d, a2);
        i += 4;
      }
      let t1 = hsum(f32x4.add(a1, b1)), t2 = hsum(f32x4.add(a2, b2));
      for (; i < L; i++) {
        const d = load<f32>(p + (<usize>i << 2)) - k;
        t1 += d;
        t2 += d * d;
      }
      s1 += t1;
      s2 += t2;
    }
    // A NaN or infinity among the values leaves the sums non-finite (so do values near 1e19,
    // whose squares overflow: the exact count below then finds none).
    if (!isFinite<f64>(s1) || !isFinite<f64>(s2)) finite = false;
    const dm = s1 / count;
    store<f32>(mean + (<usize>c << 2), <f32>(<f64>k + dm));
    store<f32>(variance + (<usize>c << 2), <f32>max<f64>(s2 / count - dm * dm, 0));
  }
  if (finite) return 0;
  if (c0 == 0 && Cc == C) return countNonFinite(x, N * C * L);
  let bad = 0;
  for (let n = 0; n < N; n++) for (let c = c0; c < c0 + Cc; c++) bad += countNonFinite(plane(x, n, c, C, L), L);
  return bad;
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
 *
 * act 1 (ReLU) or 2 (ReLU6): dy is the gradient of the activation after the BatchNorm, which
 * took the BatchNorm's output in its own sweep (channelAffineAct with coef, a snapshot of the
 * forward's coefficients); the BatchNorm's output gradient is dy where the activation passes it,
 * found from x as that sweep computed the activation's input, so the activation's backward sweep
 * (read its output and dy, write its dx) is not made. act 0: dy is the BatchNorm's own, coef unused.
 */
export function batchNormBackward(
  x: usize, dy: usize, dx: usize, mean: usize, variance: usize,
  weight: usize, dweight: usize, dbias: usize,
  N: i32, C: i32, L: i32, eps: f32, affine: i32, batchStats: i32, coef: usize, act: i32,
): void {
  batchNormBackwardRange(x, dy, dx, mean, variance, weight, dweight, dbias, N, C, L, eps, affine, batchStats, coef, act, 0, C);
}

/** batchNormBackward for the Cc channels from c0 (each channel's sums as the whole pass's: a split by channels gives the same bits). */
export function batchNormBackwardRange(
  x: usize, dy: usize, dx: usize, mean: usize, variance: usize,
  weight: usize, dweight: usize, dbias: usize,
  N: i32, C: i32, L: i32, eps: f32, affine: i32, batchStats: i32, coef: usize, act: i32, c0: i32, Cc: i32,
): void {
  // One loop per activation, each with a constant act after inlining: no branch per vector.
  for (let c = c0; c < c0 + Cc; c++) {
    if (act == ACT_RELU) backwardChannel(x, dy, dx, mean, variance, weight, dweight, dbias, N, C, L, eps, affine, batchStats, coef, ACT_RELU, c);
    else if (act == ACT_RELU6) backwardChannel(x, dy, dx, mean, variance, weight, dweight, dbias, N, C, L, eps, affine, batchStats, coef, ACT_RELU6, c);
    else backwardChannel(x, dy, dx, mean, variance, weight, dweight, dbias, N, C, L, eps, affine, batchStats, 0, ACT_NONE, c);
  }
}

/** batchNormBackwardRange's work on channel c. */
// @ts-ignore: decorator
@inline function backwardChannel(
  x: usize, dy: usize, dx: usize, mean: usize, variance: usize,
  weight: usize, dweight: usize, dbias: usize,
  N: i32, C: i32, L: i32, eps: f32, affine: i32, batchStats: i32, coef: usize, act: i32, c: i32,
): void {
  const count = <f64>N * L;
  const o = <usize>c << 2;
  const m = load<f32>(mean + o);
  const inv = invStd(load<f32>(variance + o), eps);
  // The forward's coefficients, for the activation's mask (act ≠ 0).
  const cb = <usize>C << 2;
  const gm = act != ACT_NONE ? load<f32>(coef + o) : 0, gsc = act != ACT_NONE ? load<f32>(coef + cb + o) : 0;
  const gsh = act != ACT_NONE ? load<f32>(coef + 2 * cb + o) : 0, lane = L == 1 && c < (C & ~3);
  const gmV = f32x4.splat(gm), gscV = f32x4.splat(gsc), gshV = f32x4.splat(gsh);
  let sumDy: f64 = 0, sumDyCentered: f64 = 0;
  const mV = f32x4.splat(m);
  for (let n = 0; n < N; n++) {
    // Σdy and Σdy·(x − mean) of the plane in one loop, two accumulators each.
    const gs = plane(dy, n, c, C, L), xs = plane(x, n, c, C, L);
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
    let i = 0;
    for (; i + 8 <= L; i += 8) {
      const p = <usize>i << 2;
      const x0 = v128.load(xs + p), x1 = v128.load(xs + p, 16);
      const g0 = gateV(x0, v128.load(gs + p), gmV, gscV, gshV, act), g1 = gateV(x1, v128.load(gs + p, 16), gmV, gscV, gshV, act);
      s0 = f32x4.add(s0, g0); s1 = f32x4.add(s1, g1);
      d0 = madd(g0, f32x4.sub(x0, mV), d0); d1 = madd(g1, f32x4.sub(x1, mV), d1);
    }
    if (i + 4 <= L) {
      const p = <usize>i << 2, x0 = v128.load(xs + p), g0 = gateV(x0, v128.load(gs + p), gmV, gscV, gshV, act);
      s0 = f32x4.add(s0, g0);
      d0 = madd(g0, f32x4.sub(x0, mV), d0);
      i += 4;
    }
    let t0 = hsum(f32x4.add(s0, s1)), t1 = hsum(f32x4.add(d0, d1));
    for (; i < L; i++) {
      const p = <usize>i << 2, xv = load<f32>(xs + p), g = gateS(xv, load<f32>(gs + p), gm, gsc, gsh, lane, act);
      t0 += g;
      t1 += g * (xv - m);
    }
    sumDy += t0;
    sumDyCentered += t1;
  }
  const sumDyXhat = sumDyCentered * inv;
  if (affine) {
    store<f32>(dweight + o, load<f32>(dweight + o) + <f32>sumDyXhat);
    store<f32>(dbias + o, load<f32>(dbias + o) + <f32>sumDy);
  }
  if (!dx) return;
  // dx = dy·k + (x − mean)·a + b
  const k: f32 = inv * (affine ? load<f32>(weight + o) : 1);
  const a: f32 = batchStats ? <f32>(-k * inv * sumDyXhat / count) : 0;
  const b: f32 = batchStats ? <f32>(-k * sumDy / count) : 0;
  const kV = f32x4.splat(k), aV = f32x4.splat(a), bV = f32x4.splat(b);
  for (let n = 0; n < N; n++) {
    const xs = plane(x, n, c, C, L), gs = plane(dy, n, c, C, L), ds = plane(dx, n, c, C, L);
    let i = 0;
    for (; i + 4 <= L; i += 4) {
      const p = <usize>i << 2, x0 = v128.load(xs + p);
      const centered = f32x4.sub(x0, mV);
      v128.store(ds + p, madd(centered, aV, madd(gateV(x0, v128.load(gs + p), gmV, gscV, gshV, act), kV, bV)));
    }
    for (; i < L; i++) {
      const p = <usize>i << 2, xv = load<f32>(xs + p);
      store<f32>(ds + p, (xv - m) * a + (gateS(xv, load<f32>(gs + p), gm, gsc, gsh, lane, act) * k + b));
    }
  }
}

/**
 * dy where the activation after a BatchNorm passes it, else +0 (see batchNormBackward), for a
 * vector of x: the activation's input v = (x − mean)·scale + shift from the forward's
 * coefficients (cm, cs, csh), by a multiply-add as channelAffineAct's sweep computed it on whole
 * vectors, then the mask ReLU's and ReLU6's backward take from their output's sign.
 */
// @ts-ignore: decorator
@inline function gateV(x: v128, dy: v128, cm: v128, cs: v128, csh: v128, act: i32): v128 {
  if (act == ACT_NONE) return dy;
  return v128.and(dy, passes(madd(f32x4.sub(x, cm), cs, csh), act));
}

/**
 * gateV for one value past a plane's last whole vector, v as channelAffineAct computed it there:
 * a multiply then an add; on planes of one value (`lane`: a channel below the last multiple of
 * 4, which affineRows ran four channels a vector) a vector lane's multiply-add.
 */
// @ts-ignore: decorator
@inline function gateS(x: f32, dy: f32, m: f32, sc: f32, sh: f32, lane: bool, act: i32): f32 {
  if (act == ACT_NONE) return dy;
  const v = lane ? f32x4.extract_lane(madd(f32x4.splat(x - m), f32x4.splat(sc), f32x4.splat(sh)), 0) : (x - m) * sc + sh;
  return f32x4.extract_lane(v128.and(f32x4.splat(dy), passes(f32x4.splat(v), act)), 0);
}

/** All ones in the lanes where the activation's derivative is 1: 0 < v (ReLU), 0 < v < 6 (ReLU6). */
// @ts-ignore: decorator
@inline function passes(v: v128, act: i32): v128 {
  const positive = f32x4.gt(v, f32x4.splat(0));
  return act == ACT_RELU6 ? v128.and(positive, f32x4.lt(v, f32x4.splat(6))) : positive;
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

