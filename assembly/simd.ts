// Vector helpers shared by every kernel family.

/** a*b + c per lane: a fused multiply-add in the relaxed-SIMD build, mul then add otherwise. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** Sum of the four lanes. */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) +
         f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Lane j of each of a0..a3 summed as hsum sums a vector: ((aj₀ + aj₁) + aj₂) + aj₃, in lane j. */
// @ts-ignore: decorator
@inline export function laneSums(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const t0 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
  const c0 = v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), c1 = v128.shuffle<f32>(t0, t1, 2, 3, 6, 7);
  const c2 = v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), c3 = v128.shuffle<f32>(t2, t3, 2, 3, 6, 7);
  return f32x4.add(f32x4.add(f32x4.add(c0, c1), c2), c3);
}

/** Lane j of a0..a3 as the vector stored at d_j: a 4×4 transpose. */
// @ts-ignore: decorator
@inline export function transposeTo(a0: v128, a1: v128, a2: v128, a3: v128, d0: usize, d1: usize, d2: usize, d3: usize): void {
  const t0 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
  v128.store(d0, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(d1, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(d2, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(d3, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

/** All ones in the lanes holding NaN or ±infinity (v − v is NaN exactly there). */
// @ts-ignore: decorator
@inline export function nonFinite(v: v128): v128 {
  const d = f32x4.sub(v, v);
  return f32x4.ne(d, d);
}

/** The smallest normal f32. */
export const F32_MIN_NORMAL: f32 = 1.17549435e-38;

/**
 * Zero for lanes whose magnitude is below the smallest normal f32. Optimizer state that decays
 * geometrically (Adam's moments, momentum buffers where gradients are mostly zero) otherwise
 * sinks into subnormals, which wasm cannot flush and which made Adam steps ~20× slower after
 * many steps. Values that small change no update.
 */
// @ts-ignore: decorator
@inline export function flushSubnormal(v: v128): v128 {
  return v128.and(v, f32x4.ge(f32x4.abs(v), f32x4.splat(F32_MIN_NORMAL)));
}

/** Scalar twin of flushSubnormal. */
// @ts-ignore: decorator
@inline export function flushSubnormalScalar(x: f32): f32 {
  return abs<f32>(x) < F32_MIN_NORMAL ? 0 : x;
}

/** The longest run summed in f32 lanes before its partial sum moves to f64. */
const LANE_RUN: i32 = 1024;

/**
 * Σ x[i] over n floats: four f32 lanes over runs of LANE_RUN values, the runs added in f64, so
 * a long reduction keeps float32 accuracy (a plain f32 running sum loses ~n·2⁻²⁴ relative).
 */
// @ts-ignore: decorator
@inline export function sumRun(x: usize, n: i32): f64 {
  let total: f64 = 0;
  for (let start = 0; start < n; start += LANE_RUN) {
    const end = min(n, start + LANE_RUN);
    let acc = f32x4.splat(0);
    let i = start;
    for (; i + 4 <= end; i += 4) acc = f32x4.add(acc, v128.load(x + (<usize>i << 2)));
    let s: f64 = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) +
      <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
    for (; i < end; i++) s += <f64>load<f32>(x + (<usize>i << 2));
    total += s;
  }
  return total;
}

/** Σ x[i]·y[i] over n floats, summed as sumRun sums. */
// @ts-ignore: decorator
@inline export function dotRun(x: usize, y: usize, n: i32): f64 {
  let total: f64 = 0;
  for (let start = 0; start < n; start += LANE_RUN) {
    const end = min(n, start + LANE_RUN);
    let acc = f32x4.splat(0);
    let i = start;
    for (; i + 4 <= end; i += 4) {
      const o = <usize>i << 2;
      acc = f32x4.add(acc, f32x4.mul(v128.load(x + o), v128.load(y + o)));
    }
    let s: f64 = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) +
      <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
    for (; i < end; i++) s += <f64>(load<f32>(x + (<usize>i << 2)) * load<f32>(y + (<usize>i << 2)));
    total += s;
  }
  return total;
}
