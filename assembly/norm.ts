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
// Planes of one and of four values (1×1 and 2×2 maps, BatchNorm1d on [N, C]) go four channels at
// a time (statsLanes1/4, backwardLanes1/4), each lane's sums in the per-channel loop's order, so
// the same bits: that loop spent ~14 ns a plane on itself and two horizontal sums. BatchNorm2d +
// ReLU6 forward and backward at batch 64, the build before beside this one alternately in one
// process, median of 41 rounds: [64, 480, 1, 1] 623 → 219 µs, [64, 1280, 1, 1] 2,393 → 543,
// [64, 192, 2, 2] 499 → 288, [64, 288, 2, 2] 748 → 494 ([64, 96, 4, 4], not changed: 322 → 323);
// MobileNetV2 ×0.5's training step at batch 64 on one thread ×1.07–1.10 (ResNet-20, which has
// no such planes, ×1.01).
// weight/bias/dweight/dbias are used only when affine is 1.
import { hsum, laneSums, madd, nonFinite } from "./simd";
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
  let c = c0;
  // Planes of one value: four channels a vector along each row (statsLanes1), the same bits.
  if (L == 1) for (; c + 4 <= c0 + Cc; c += 4) finite = statsLanes1(x, mean, variance, N, C, c) && finite;
  // Planes of four values: four channels' planes at once (statsLanes4), the same bits.
  if (L == 4) for (; c + 4 <= c0 + Cc; c += 4) finite = statsLanes4(x, mean, variance, N, C, c) && finite;
  for (; c < c0 + Cc; c++) {
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
    finite = storeStats(mean, variance, c, k, s1, s2, count) && finite;
  }
  if (finite) return 0;
  if (c0 == 0 && Cc == C) return countNonFinite(x, N * C * L);
  let bad = 0;
  for (let n = 0; n < N; n++) for (let c = c0; c < c0 + Cc; c++) bad += countNonFinite(plane(x, n, c, C, L), L);
  return bad;
}

/**
 * Channel c's mean and variance from its sums shifted by k; false when the sums are not finite: a
 * NaN or infinity among the values leaves them so (so do values near 1e19, whose squares overflow:
 * the exact count then finds none).
 */
// @ts-ignore: decorator
@inline function storeStats(mean: usize, variance: usize, c: i32, k: f32, s1: f64, s2: f64, count: f64): bool {
  const dm = s1 / count;
  store<f32>(mean + (<usize>c << 2), <f32>(<f64>k + dm));
  store<f32>(variance + (<usize>c << 2), <f32>max<f64>(s2 / count - dm * dm, 0));
  return isFinite<f64>(s1) && isFinite<f64>(s2);
}

/**
 * batchNormStatsRange on channels c..c+3 of planes of one value ([N, C], 1×1 maps): the channels
 * in the lanes of a vector along each row, each lane's f32 terms and f64 sums as the per-plane
 * loop's (there a plane's f32 sum is 0 + its one term), so the same bits, without the loop and
 * two horizontal sums per value. False when a sum is not finite (storeStats).
 */
function statsLanes1(x: usize, mean: usize, variance: usize, N: i32, C: i32, c: i32): bool {
  const o = <usize>c << 2, row = <usize>C << 2;
  // The shift: each channel's first value (planeSum's 0 + x), 0 where that is not finite.
  const first = f32x4.add(f32x4.splat(0), v128.load(x + o));
  const kV = v128.andnot(first, nonFinite(first));
  let s1a = f64x2.splat(0), s1b = f64x2.splat(0), s2a = f64x2.splat(0), s2b = f64x2.splat(0);
  for (let n = 0; n < N; n++) {
    const d = f32x4.sub(v128.load(x + <usize>n * row + o), kV), dd = f32x4.mul(d, d);
    s1a = f64x2.add(s1a, f64x2.promote_low_f32x4(d)); s1b = f64x2.add(s1b, f64x2.promote_low_f32x4(high(d)));
    s2a = f64x2.add(s2a, f64x2.promote_low_f32x4(dd)); s2b = f64x2.add(s2b, f64x2.promote_low_f32x4(high(dd)));
  }
  return storeLaneStats(mean, variance, c, kV, s1a, s1b, s2a, s2b, <f64>N);
}

/**
 * batchNormStatsRange on channels c..c+3 of planes of four values (2×2 maps): each channel's plane
 * a vector as there, the horizontal sums of the four planes at once (laneSums, in hsum's order),
 * so the same bits. False when a sum is not finite (storeStats).
 */
function statsLanes4(x: usize, mean: usize, variance: usize, N: i32, C: i32, c: i32): bool {
  const row = <usize>C << 4, at = <usize>c << 4, zero = f32x4.splat(0);
  // The shifts: the mean of each channel's first plane as planeSum sums it (0 + each vector, then
  // its lanes in order), 0 where that is not finite.
  const shift = f32x4.div(laneSums(f32x4.add(zero, v128.load(x + at)), f32x4.add(zero, v128.load(x + at, 16)),
    f32x4.add(zero, v128.load(x + at, 32)), f32x4.add(zero, v128.load(x + at, 48))), f32x4.splat(4));
  const kV = v128.andnot(shift, nonFinite(shift));
  const k0 = lane0(kV), k1 = lane1(kV), k2 = lane2(kV), k3 = lane3(kV);
  let s1a = f64x2.splat(0), s1b = f64x2.splat(0), s2a = f64x2.splat(0), s2b = f64x2.splat(0);
  for (let n = 0; n < N; n++) {
    const xs = x + <usize>n * row + at;
    const d0 = f32x4.sub(v128.load(xs), k0), d1 = f32x4.sub(v128.load(xs, 16), k1);
    const d2 = f32x4.sub(v128.load(xs, 32), k2), d3 = f32x4.sub(v128.load(xs, 48), k3);
    const s = laneSums(d0, d1, d2, d3), q = laneSums(madd(d0, d0, zero), madd(d1, d1, zero), madd(d2, d2, zero), madd(d3, d3, zero));
    s1a = f64x2.add(s1a, f64x2.promote_low_f32x4(s)); s1b = f64x2.add(s1b, f64x2.promote_low_f32x4(high(s)));
    s2a = f64x2.add(s2a, f64x2.promote_low_f32x4(q)); s2b = f64x2.add(s2b, f64x2.promote_low_f32x4(high(q)));
  }
  return storeLaneStats(mean, variance, c, kV, s1a, s1b, s2a, s2b, <f64>N * 4);
}

/** storeStats for channels c..c+3 from their shifts' lanes and sums (channels c, c+1 in the a's lanes, c+2, c+3 in the b's). */
// @ts-ignore: decorator
@inline function storeLaneStats(mean: usize, variance: usize, c: i32, kV: v128, s1a: v128, s1b: v128, s2a: v128, s2b: v128, count: f64): bool {
  let finite = storeStats(mean, variance, c, f32x4.extract_lane(kV, 0), f64x2.extract_lane(s1a, 0), f64x2.extract_lane(s2a, 0), count);
  finite = storeStats(mean, variance, c + 1, f32x4.extract_lane(kV, 1), f64x2.extract_lane(s1a, 1), f64x2.extract_lane(s2a, 1), count) && finite;
  finite = storeStats(mean, variance, c + 2, f32x4.extract_lane(kV, 2), f64x2.extract_lane(s1b, 0), f64x2.extract_lane(s2b, 0), count) && finite;
  return storeStats(mean, variance, c + 3, f32x4.extract_lane(kV, 3), f64x2.extract_lane(s1b, 1), f64x2.extract_lane(s2b, 1), count) && finite;
}

/** Lanes 2 and 3 of v in lanes 0 and 1 (for f64x2.promote_low_f32x4). */
// @ts-ignore: decorator
@inline function high(v: v128): v128 {
  return v128.shuffle<f32>(v, v, 2, 3, 2, 3);
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
  let c = c0;
  // Planes of one value: four channels a vector along each row (backwardLanes1), the same bits;
  // the channels past the last multiple of 4 are left to backwardChannel, as their gate is scalar.
  if (L == 1) {
    const end = min(c0 + Cc, C & ~3);
    for (; c + 4 <= end; c += 4) {
      if (act == ACT_RELU) backwardLanes1(x, dy, dx, mean, variance, weight, dweight, dbias, N, C, eps, affine, batchStats, coef, ACT_RELU, c);
      else if (act == ACT_RELU6) backwardLanes1(x, dy, dx, mean, variance, weight, dweight, dbias, N, C, eps, affine, batchStats, coef, ACT_RELU6, c);
      else backwardLanes1(x, dy, dx, mean, variance, weight, dweight, dbias, N, C, eps, affine, batchStats, 0, ACT_NONE, c);
    }
  }
  // Planes of four values: four channels' planes at once (backwardLanes4), the same bits.
  if (L == 4) {
    for (; c + 4 <= c0 + Cc; c += 4) {
      if (act == ACT_RELU) backwardLanes4(x, dy, dx, mean, variance, weight, dweight, dbias, N, C, eps, affine, batchStats, coef, ACT_RELU, c);
      else if (act == ACT_RELU6) backwardLanes4(x, dy, dx, mean, variance, weight, dweight, dbias, N, C, eps, affine, batchStats, coef, ACT_RELU6, c);
      else backwardLanes4(x, dy, dx, mean, variance, weight, dweight, dbias, N, C, eps, affine, batchStats, 0, ACT_NONE, c);
    }
  }
  // One loop per activation, each with a constant act after inlining: no branch per vector.
  for (; c < c0 + Cc; c++) {
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
  const sumDyXhat = paramGrads(dweight, dbias, o, affine, sumDy, sumDyCentered, inv);
  if (!dx) return;
  // dx = dy·k + (x − mean)·a + b
  const k = dxScale(weight, o, affine, inv), a = dxCentered(k, inv, sumDyXhat, count, batchStats), b = dxShift(k, sumDy, count, batchStats);
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

/** dweight += Σdy·x̂ and dbias += Σdy for the channel at byte offset o (affine only); returns Σdy·x̂. */
// @ts-ignore: decorator
@inline function paramGrads(dweight: usize, dbias: usize, o: usize, affine: i32, sumDy: f64, sumDyCentered: f64, inv: f32): f64 {
  const sumDyXhat = sumDyCentered * inv;
  if (affine) {
    store<f32>(dweight + o, load<f32>(dweight + o) + <f32>sumDyXhat);
    store<f32>(dbias + o, load<f32>(dbias + o) + <f32>sumDy);
  }
  return sumDyXhat;
}

/** dx = dy·k + (x − mean)·a + b: k. */
// @ts-ignore: decorator
@inline function dxScale(weight: usize, o: usize, affine: i32, inv: f32): f32 {
  return inv * (affine ? load<f32>(weight + o) : 1);
}

/** dx = dy·k + (x − mean)·a + b: a (0 in eval, the statistics then constants). */
// @ts-ignore: decorator
@inline function dxCentered(k: f32, inv: f32, sumDyXhat: f64, count: f64, batchStats: i32): f32 {
  return batchStats ? <f32>(-k * inv * sumDyXhat / count) : 0;
}

/** dx = dy·k + (x − mean)·a + b: b. */
// @ts-ignore: decorator
@inline function dxShift(k: f32, sumDy: f64, count: f64, batchStats: i32): f32 {
  return batchStats ? <f32>(-k * sumDy / count) : 0;
}

/**
 * k, a and b of dx = dy·k + (x − mean)·a + b for channels c..c+3, one a lane, set by laneGrads:
 * its three results (each thread's instance has its own).
 */
let laneK = f32x4.splat(0), laneA = f32x4.splat(0), laneB = f32x4.splat(0);

/**
 * backwardChannel's step from its sums to dx's coefficients, on channels c..c+3 at once: Σdy of
 * channels c, c+1 in sa's lanes and c+2, c+3 in sb's, Σdy·(x − mean) likewise in da and db. Adds
 * the parameter gradients and sets laneK, laneA and laneB, each value as backwardChannel's.
 */
// @ts-ignore: decorator
@inline function laneGrads(
  sa: v128, sb: v128, da: v128, db: v128, variance: usize, weight: usize, dweight: usize, dbias: usize,
  c: i32, eps: f32, affine: i32, batchStats: i32, count: f64,
): void {
  let kV = f32x4.splat(0), aV = f32x4.splat(0), bV = f32x4.splat(0);
  for (let j = 0; j < 4; j++) {
    const oj = (<usize>c + j) << 2, low = j < 2, odd = j & 1;
    const sumDy = low ? (odd ? f64x2.extract_lane(sa, 1) : f64x2.extract_lane(sa, 0)) : (odd ? f64x2.extract_lane(sb, 1) : f64x2.extract_lane(sb, 0));
    const sumDyCentered = low ? (odd ? f64x2.extract_lane(da, 1) : f64x2.extract_lane(da, 0)) : (odd ? f64x2.extract_lane(db, 1) : f64x2.extract_lane(db, 0));
    const inv = invStd(load<f32>(variance + oj), eps);
    const sumDyXhat = paramGrads(dweight, dbias, oj, affine, sumDy, sumDyCentered, inv);
    const k = dxScale(weight, oj, affine, inv);
    // Lane j set at run time (replace_lane takes a constant lane): a select.
    const lane = i32x4.eq(i32x4(0, 1, 2, 3), i32x4.splat(j));
    kV = v128.bitselect(f32x4.splat(k), kV, lane);
    aV = v128.bitselect(f32x4.splat(dxCentered(k, inv, sumDyXhat, count, batchStats)), aV, lane);
    bV = v128.bitselect(f32x4.splat(dxShift(k, sumDy, count, batchStats)), bV, lane);
  }
  laneK = kV; laneA = aV; laneB = bV;
}

/** lane0 … lane3: lane j of v in every lane. */
// @ts-ignore: decorator
@inline function lane0(v: v128): v128 { return v128.shuffle<f32>(v, v, 0, 0, 0, 0); }
// @ts-ignore: decorator
@inline function lane1(v: v128): v128 { return v128.shuffle<f32>(v, v, 1, 1, 1, 1); }
// @ts-ignore: decorator
@inline function lane2(v: v128): v128 { return v128.shuffle<f32>(v, v, 2, 2, 2, 2); }
// @ts-ignore: decorator
@inline function lane3(v: v128): v128 { return v128.shuffle<f32>(v, v, 3, 3, 3, 3); }

/**
 * backwardChannel on channels c..c+3 of planes of four values (2×2 maps), whose 16 values a row
 * are contiguous: each channel's plane a vector as there, the two horizontal sums of the four
 * planes taken at once by a transpose (laneSums, in hsum's order), so the same bits without a
 * loop and two hsums a plane. MobileNetV2 ×0.5 at batch 64 has 16 such BatchNorms (32–288 channels).
 */
// @ts-ignore: decorator
@inline function backwardLanes4(
  x: usize, dy: usize, dx: usize, mean: usize, variance: usize,
  weight: usize, dweight: usize, dbias: usize,
  N: i32, C: i32, eps: f32, affine: i32, batchStats: i32, coef: usize, act: i32, c: i32,
): void {
  const o = <usize>c << 2, row = <usize>C << 4, at = <usize>c << 4, cb = <usize>C << 2, zero = f32x4.splat(0);
  const mV = v128.load(mean + o);
  const gm = act != ACT_NONE ? v128.load(coef + o) : zero, gsc = act != ACT_NONE ? v128.load(coef + cb + o) : zero;
  const gsh = act != ACT_NONE ? v128.load(coef + 2 * cb + o) : zero;
  const m0 = lane0(mV), m1 = lane1(mV), m2 = lane2(mV), m3 = lane3(mV);
  const gm0 = lane0(gm), gm1 = lane1(gm), gm2 = lane2(gm), gm3 = lane3(gm);
  const gs0 = lane0(gsc), gs1 = lane1(gsc), gs2 = lane2(gsc), gs3 = lane3(gsc);
  const gh0 = lane0(gsh), gh1 = lane1(gsh), gh2 = lane2(gsh), gh3 = lane3(gsh);
  let sa = f64x2.splat(0), sb = f64x2.splat(0), da = f64x2.splat(0), db = f64x2.splat(0);
  for (let n = 0; n < N; n++) {
    const xs = x + <usize>n * row + at, gs = dy + <usize>n * row + at;
    const x0 = v128.load(xs), x1 = v128.load(xs, 16), x2 = v128.load(xs, 32), x3 = v128.load(xs, 48);
    const g0 = gateV(x0, v128.load(gs), gm0, gs0, gh0, act), g1 = gateV(x1, v128.load(gs, 16), gm1, gs1, gh1, act);
    const g2 = gateV(x2, v128.load(gs, 32), gm2, gs2, gh2, act), g3 = gateV(x3, v128.load(gs, 48), gm3, gs3, gh3, act);
    const s = laneSums(g0, g1, g2, g3);
    const t = laneSums(madd(g0, f32x4.sub(x0, m0), zero), madd(g1, f32x4.sub(x1, m1), zero),
      madd(g2, f32x4.sub(x2, m2), zero), madd(g3, f32x4.sub(x3, m3), zero));
    sa = f64x2.add(sa, f64x2.promote_low_f32x4(s)); sb = f64x2.add(sb, f64x2.promote_low_f32x4(high(s)));
    da = f64x2.add(da, f64x2.promote_low_f32x4(t)); db = f64x2.add(db, f64x2.promote_low_f32x4(high(t)));
  }
  laneGrads(sa, sb, da, db, variance, weight, dweight, dbias, c, eps, affine, batchStats, <f64>N * 4);
  if (!dx) return;
  const k0 = lane0(laneK), k1 = lane1(laneK), k2 = lane2(laneK), k3 = lane3(laneK);
  const a0 = lane0(laneA), a1 = lane1(laneA), a2 = lane2(laneA), a3 = lane3(laneA);
  const b0 = lane0(laneB), b1 = lane1(laneB), b2 = lane2(laneB), b3 = lane3(laneB);
  for (let n = 0; n < N; n++) {
    const q = <usize>n * row + at, xs = x + q, gs = dy + q, ds = dx + q;
    const x0 = v128.load(xs), x1 = v128.load(xs, 16), x2 = v128.load(xs, 32), x3 = v128.load(xs, 48);
    v128.store(ds, madd(f32x4.sub(x0, m0), a0, madd(gateV(x0, v128.load(gs), gm0, gs0, gh0, act), k0, b0)));
    v128.store(ds, madd(f32x4.sub(x1, m1), a1, madd(gateV(x1, v128.load(gs, 16), gm1, gs1, gh1, act), k1, b1)), 16);
    v128.store(ds, madd(f32x4.sub(x2, m2), a2, madd(gateV(x2, v128.load(gs, 32), gm2, gs2, gh2, act), k2, b2)), 32);
    v128.store(ds, madd(f32x4.sub(x3, m3), a3, madd(gateV(x3, v128.load(gs, 48), gm3, gs3, gh3, act), k3, b3)), 48);
  }
}

/**
 * backwardChannel on channels c..c+3 (all below C's last multiple of 4) of planes of one value:
 * the channels in the lanes of a vector along each row, each lane's terms, f64 sums and dx as
 * backwardChannel's on its channel (there a plane's f32 sums are 0 + its one term, the gate a
 * vector lane's, dx by a multiply and an add each), so the same bits. MobileNetV2 ×0.5 at batch
 * 64 has 11 such BatchNorms (1×1 maps of 80–1,280 channels).
 */
// @ts-ignore: decorator
@inline function backwardLanes1(
  x: usize, dy: usize, dx: usize, mean: usize, variance: usize,
  weight: usize, dweight: usize, dbias: usize,
  N: i32, C: i32, eps: f32, affine: i32, batchStats: i32, coef: usize, act: i32, c: i32,
): void {
  const o = <usize>c << 2, row = <usize>C << 2, cb = <usize>C << 2;
  const mV = v128.load(mean + o);
  const gmV = act != ACT_NONE ? v128.load(coef + o) : f32x4.splat(0), gscV = act != ACT_NONE ? v128.load(coef + cb + o) : f32x4.splat(0);
  const gshV = act != ACT_NONE ? v128.load(coef + 2 * cb + o) : f32x4.splat(0);
  let sa = f64x2.splat(0), sb = f64x2.splat(0), da = f64x2.splat(0), db = f64x2.splat(0);
  for (let n = 0; n < N; n++) {
    const q = <usize>n * row + o, xv = v128.load(x + q);
    const g = gateV(xv, v128.load(dy + q), gmV, gscV, gshV, act), t = f32x4.mul(g, f32x4.sub(xv, mV));
    sa = f64x2.add(sa, f64x2.promote_low_f32x4(g)); sb = f64x2.add(sb, f64x2.promote_low_f32x4(high(g)));
    da = f64x2.add(da, f64x2.promote_low_f32x4(t)); db = f64x2.add(db, f64x2.promote_low_f32x4(high(t)));
  }
  laneGrads(sa, sb, da, db, variance, weight, dweight, dbias, c, eps, affine, batchStats, <f64>N);
  const kV = laneK, aV = laneA, bV = laneB;
  if (!dx) return;
  for (let n = 0; n < N; n++) {
    const q = <usize>n * row + o, xv = v128.load(x + q);
    const g = gateV(xv, v128.load(dy + q), gmV, gscV, gshV, act);
    // (x − mean)·a + (dy·k + b), each a multiply then an add, as backwardChannel's tail values.
    v128.store(dx + q, f32x4.add(f32x4.mul(f32x4.sub(xv, mV), aV), f32x4.add(f32x4.mul(g, kV), bV)));
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

