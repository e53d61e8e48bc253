// Epilogues over NCHW outputs: the per-channel affine of a BatchNorm (eval or training) and the
// activation after it, in one sweep instead of one per layer, and the activations on their own
// with the input's NaN/infinity check done in the same sweep.
//
// The fused sweep gives the bits of the separate layers: the affine is the one the BatchNorm
// alone computes (this same sweep with act 0; vector body and scalar tail split per plane, as
// batchNormApply had it), and the activation after it is activationChecked's, which the ReLU and
// ReLU6 layers alone run. Those equal reluForward's and relu6Forward's for every value but NaN
// (a NaN still, perhaps with another payload; layers refuse NaN inputs anyway). A fused
// Conv2d → BatchNorm2d → ReLU6 in eval reads the convolution's output twice (the BatchNorm's input
// check, then this sweep) and writes once; before, the BatchNorm's check, its apply, the ReLU6's
// check and the ReLU6 made four sweeps, two of them writing.
import { madd, nonFinite } from "./simd";
import { countNonFinite } from "./util";

/** No activation after the affine (a BatchNorm on its own). */
export const ACT_NONE = 0;
/** ReLU: max(v, 0). */
export const ACT_RELU = 1;
/** ReLU6: min(max(v, 0), 6). */
export const ACT_RELU6 = 2;

const ZERO = f32x4.splat(0);
const SIX = f32x4.splat(6);

/**
 * coef = [mean[C], scale[C], shift[C]] for batchNormApply's affine: scale = weight / √(variance + eps)
 * (1 / √(variance + eps) without affine), shift = bias (0 without affine). A snapshot: the
 * epilogue computed later from it does not see an optimizer step taken in between.
 */
export function batchNormCoefficients(
  mean: usize, variance: usize, weight: usize, bias: usize, coef: usize, C: i32, eps: f32, affine: i32,
): void {
  const cb = <usize>C << 2;
  for (let c = 0; c < C; c++) {
    const o = <usize>c << 2;
    const inv: f32 = 1 / Mathf.sqrt(load<f32>(variance + o) + eps);
    store<f32>(coef + o, load<f32>(mean + o));
    store<f32>(coef + cb + o, inv * (affine ? load<f32>(weight + o) : 1));
    store<f32>(coef + 2 * cb + o, affine ? load<f32>(bias + o) : 0);
  }
}

/**
 * y = act((x − mean[c])·scale[c] + shift[c]) over x viewed as [N, C, L], coef as
 * batchNormCoefficients writes it, act 0 (none), 1 (ReLU) or 2 (ReLU6). With an activation,
 * returns how many of the values before it are NaN or infinite (what the activation's input check
 * counts); without, 0 (the next layer checks). x and y may be the same without an activation
 * (with one, the count would read the activated values: see channelAffineActFlag).
 */
export function channelAffineAct(x: usize, y: usize, coef: usize, N: i32, C: i32, L: i32, act: i32): i32 {
  return channelAffineActFlag(x, y, coef, N, C, L, act) ? countAffineNonFinite(x, coef, N, C, L) : 0;
}

/**
 * channelAffineAct's sweep, returning whether a value before the activation was NaN or infinite
 * (false without an activation) instead of the count; x and y may be the same.
 */
export function channelAffineActFlag(x: usize, y: usize, coef: usize, N: i32, C: i32, L: i32, act: i32): bool {
  // One loop per activation, each with a constant act after inlining: no branch per vector.
  if (act == ACT_RELU) return affineSweep(x, y, coef, N, C, L, ACT_RELU);
  if (act == ACT_RELU6) return affineSweep(x, y, coef, N, C, L, ACT_RELU6);
  return affineSweep(x, y, coef, N, C, L, ACT_NONE);
}

/**
 * y = act(x) over n floats, act 1 (ReLU) or 2 (ReLU6), returning how many x are NaN or infinite:
 * the activation layer's input check and its work in one sweep instead of two.
 */
export function activationChecked(x: usize, y: usize, n: i32, act: i32): i32 {
  return activationFlag(x, y, n, act) ? countNonFinite(x, n) : 0;
}

/**
 * activationChecked's sweep, returning whether an x was NaN or infinite instead of the count (which
 * would read the activated values when x and y are the same); x and y may be the same.
 */
export function activationFlag(x: usize, y: usize, n: i32, act: i32): bool {
  if (act == ACT_RELU6) return actSweep(x, y, n, ACT_RELU6);
  return actSweep(x, y, n, ACT_RELU);
}

/**
 * c[r·ld + j] = act(c[r·ld + j]) in place for r < rows, j < cols, act 1 (ReLU) or 2 (ReLU6): a
 * GEMM's tile of C activated as it is stored (gemm.ts's gemmAct). Returns 1 when a value before
 * the activation was NaN or infinite, else 0.
 */
export function actRowsChecked(c: usize, ld: i32, rows: i32, cols: i32, act: i32): i32 {
  if (act == ACT_RELU6) return actRows(c, ld, rows, cols, ACT_RELU6);
  return actRows(c, ld, rows, cols, ACT_RELU);
}

// @ts-ignore: decorator
@inline function actRows(c: usize, ld: i32, rows: i32, cols: i32, act: i32): i32 {
  let flag = f32x4.splat(0);
  let flagS = 0;
  for (let r = 0; r < rows; r++) {
    const row = c + (<usize>r * ld << 2);
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const p = row + (<usize>j << 2);
      const v = v128.load(p);
      flag = v128.or(flag, nonFinite(v));
      v128.store(p, actV(v, act));
    }
    for (; j < cols; j++) {
      const p = row + (<usize>j << 2);
      const v = load<f32>(p);
      flagS |= <i32>!isFinite<f32>(v);
      store<f32>(p, actS(v, act));
    }
  }
  return clean(flag, flagS) ? 0 : 1;
}

// The input checks cost three one-cycle lane operations per vector in the hot loop: v − v is NaN
// exactly for NaN and ±infinity, so its (d ≠ d) mask is or-ed into a flag; only when the flag is
// set is the exact count taken, in a second sweep. A running min and max instead (NaN propagates
// through wasm's min and max) made two dependency chains of several x86 instructions each, and
// the sweep twice as slow as batchNormApply (ResNet-20's 64×16×32×32: 1.12 ms against 0.57 ms).

// @ts-ignore: decorator
@inline function affineSweep(x: usize, y: usize, coef: usize, N: i32, C: i32, L: i32, act: i32): bool {
  if (L == 1) return affineRows(x, y, coef, N, C, act);
  const cb = <usize>C << 2;
  let flag = f32x4.splat(0);
  let flagS = 0;
  for (let c = 0; c < C; c++) {
    const o = <usize>c << 2;
    const m = load<f32>(coef + o), scale = load<f32>(coef + cb + o), shift = load<f32>(coef + 2 * cb + o);
    const mV = f32x4.splat(m), scaleV = f32x4.splat(scale), shiftV = f32x4.splat(shift);
    for (let n = 0; n < N; n++) {
      const at = (<usize>n * C + c) * L << 2;
      const xs = x + at, ys = y + at;
      let i = 0;
      for (; i + 4 <= L; i += 4) {
        const p = <usize>i << 2;
        const v = madd(f32x4.sub(v128.load(xs + p), mV), scaleV, shiftV);
        if (act != ACT_NONE) flag = v128.or(flag, nonFinite(v));
        v128.store(ys + p, actV(v, act));
      }
      for (; i < L; i++) {
        const p = <usize>i << 2;
        const v = (load<f32>(xs + p) - m) * scale + shift;
        if (act != ACT_NONE) flagS |= <i32>!isFinite<f32>(v);
        store<f32>(ys + p, actS(v, act));
      }
    }
  }
  return !clean(flag, flagS);
}

/**
 * affineSweep for planes of one value ([N, C] or 1×1 maps, as MobileNetV2's last blocks have):
 * four channels per vector along each row, the coefficients loaded as vectors, where the plane
 * loop would run every value through the scalar tail.
 */
// @ts-ignore: decorator
@inline function affineRows(x: usize, y: usize, coef: usize, N: i32, C: i32, act: i32): bool {
  const cb = <usize>C << 2;
  let flag = f32x4.splat(0);
  let flagS = 0;
  for (let n = 0; n < N; n++) {
    const row = <usize>n * cb;
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const o = <usize>c << 2;
      const v = madd(f32x4.sub(v128.load(x + row + o), v128.load(coef + o)), v128.load(coef + cb + o), v128.load(coef + 2 * cb + o));
      if (act != ACT_NONE) flag = v128.or(flag, nonFinite(v));
      v128.store(y + row + o, actV(v, act));
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      const v = (load<f32>(x + row + o) - load<f32>(coef + o)) * load<f32>(coef + cb + o) + load<f32>(coef + 2 * cb + o);
      if (act != ACT_NONE) flagS |= <i32>!isFinite<f32>(v);
      store<f32>(y + row + o, actS(v, act));
    }
  }
  return !clean(flag, flagS);
}

/** The exact count for affineSweep, when its min or max was not finite: the affine again, counted. */
function countAffineNonFinite(x: usize, coef: usize, N: i32, C: i32, L: i32): i32 {
  const cb = <usize>C << 2;
  let bad = 0;
  for (let c = 0; c < C; c++) {
    const o = <usize>c << 2;
    const m = load<f32>(coef + o), scale = load<f32>(coef + cb + o), shift = load<f32>(coef + 2 * cb + o);
    const mV = f32x4.splat(m), scaleV = f32x4.splat(scale), shiftV = f32x4.splat(shift);
    for (let n = 0; n < N; n++) {
      const xs = x + ((<usize>n * C + c) * L << 2);
      let i = 0;
      for (; i + 4 <= L; i += 4) {
        const v = madd(f32x4.sub(v128.load(xs + (<usize>i << 2)), mV), scaleV, shiftV);
        bad += <i32>!isFinite<f32>(f32x4.extract_lane(v, 0)) + <i32>!isFinite<f32>(f32x4.extract_lane(v, 1)) + <i32>!isFinite<f32>(f32x4.extract_lane(v, 2)) + <i32>!isFinite<f32>(f32x4.extract_lane(v, 3));
      }
      for (; i < L; i++) if (!isFinite<f32>((load<f32>(xs + (<usize>i << 2)) - m) * scale + shift)) bad++;
    }
  }
  return bad;
}

// @ts-ignore: decorator
@inline function actSweep(x: usize, y: usize, n: i32, act: i32): bool {
  let flag = f32x4.splat(0);
  let flagS = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    flag = v128.or(flag, nonFinite(v));
    v128.store(y + o, actV(v, act));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    flagS |= <i32>!isFinite<f32>(v);
    store<f32>(y + o, actS(v, act));
  }
  return !clean(flag, flagS);
}

/** Whether no lane of the flag is set, nor the scalar tails' flag. */
// @ts-ignore: decorator
@inline function clean(flag: v128, flagS: i32): bool {
  return !v128.any_true(flag) && flagS == 0;
}

/**
 * The activation on four lanes, as reluForward's max(v, 0) and relu6Forward's min(max(v, 0), 6)
 * give it for every value but NaN, which stays a NaN (its payload may differ): a compare and a
 * mask (two x86 instructions per bound) instead of wasm's min and max, whose NaN and ±0 rules cost
 * several each. relu6Forward alone took 0.39 ms on ResNet-20's 64×16×32×32, and the fused
 * BatchNorm + ReLU6 sweep 0.99 ms with min/max (0.67 ms without the activation).
 */
// @ts-ignore: decorator
@inline export function actV(v: v128, act: i32): v128 {
  // v ≤ 0 (−0 included) gives +0; a NaN fails every compare and is kept.
  if (act == ACT_RELU) return v128.andnot(v, f32x4.le(v, ZERO));
  if (act == ACT_RELU6) {
    const r = v128.andnot(v, f32x4.le(v, ZERO));
    return v128.bitselect(SIX, r, f32x4.gt(r, SIX));
  }
  return v;
}

/** The activation on one value: actV on a splat, so a tail value gets the lanes' result without a branch. */
// @ts-ignore: decorator
@inline export function actS(v: f32, act: i32): f32 {
  if (act == ACT_NONE) return v;
  return f32x4.extract_lane(actV(f32x4.splat(v), act), 0);
}
