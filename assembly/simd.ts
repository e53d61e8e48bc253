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
