// Table-free exp for the kernels. At -O3 AssemblyScript's Mathf.exp and Math.log read lookup
// tables from a data segment, and a kernel module must have none: every instance re-writes
// its data segments into the (shared) memory. So exp is computed here, and logs of sums ≥ 1
// use Math.log1p, which has no table.

const LOG2E: f64 = 1.4426950408889634;
const LN2: f64 = 0.6931471805599453;

/** e^x in f64 arithmetic, rounded once to f32: 2^k · e^r with |r| ≤ ln2/2 and a degree-7 Taylor polynomial (error < 6e-9). */
// @ts-ignore: decorator
@inline export function expf(x: f32): f32 {
  // Beyond these bounds the f32 result is 0 or +Infinity anyway; clamping keeps 2^k a normal f64.
  const xd = min(max(<f64>x, -150), 100);
  const k = nearest<f64>(xd * LOG2E);
  const r = xd - k * LN2;
  let p: f64 = 1.0 / 5040;
  p = p * r + 1.0 / 720;
  p = p * r + 1.0 / 120;
  p = p * r + 1.0 / 24;
  p = p * r + 1.0 / 6;
  p = p * r + 0.5;
  p = p * r + 1;
  p = p * r + 1;
  return <f32>(p * reinterpret<f64>(<u64>(<i64>k + 1023) << 52));
}

/** log(s) for s ≥ 1 (a sum of exps that includes e^0), without a lookup table. */
// @ts-ignore: decorator
@inline export function logAtLeastOne(s: f64): f64 {
  return Math.log1p(s - 1);
}

/**
 * e^x on four lanes in f32 (Cephes' expf: 2^k · e^r with r = x − k·ln2 split in two parts, and a
 * degree-6 polynomial; about 1 ulp). 2^k is applied as two powers of two so that results down to
 * the subnormals come out right: x is clamped to [−104, 89], past which the result is 0 or +∞.
 */
// @ts-ignore: decorator
@inline export function expV(x: v128): v128 {
  const xc = f32x4.min(f32x4.max(x, f32x4.splat(-104)), f32x4.splat(89));
  const k = f32x4.nearest(f32x4.mul(xc, f32x4.splat(<f32>LOG2E)));
  // ln2 = 0.693359375 − 2.12194440e-4: the first part times k (|k| ≤ 150) is exact in f32.
  let r = f32x4.sub(xc, f32x4.mul(k, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(k, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1));
  const ki = i32x4.trunc_sat_f32x4_s(k);
  const k1 = i32x4.shr_s(ki, 1);
  const k2 = i32x4.sub(ki, k1);
  const bias = i32x4.splat(127);
  const s1 = i32x4.shl(i32x4.add(k1, bias), 23);
  const s2 = i32x4.shl(i32x4.add(k2, bias), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

/**
 * e^x − 1 on four lanes for x ≤ 0 (positive lanes give e^x − 1 without the small-x care): a
 * degree-9 Taylor polynomial for x > −0.5, where e^x − 1 would cancel, e^x − 1 below.
 */
// @ts-ignore: decorator
@inline export function expm1NegV(x: v128): v128 {
  let p = f32x4.splat(<f32>(1.0 / 362880));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(<f32>(1.0 / 40320)));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(<f32>(1.0 / 5040)));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(<f32>(1.0 / 720)));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(<f32>(1.0 / 120)));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(<f32>(1.0 / 24)));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(<f32>(1.0 / 6)));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, x), f32x4.splat(1));
  const small = f32x4.mul(p, x);
  const large = f32x4.sub(expV(x), f32x4.splat(1));
  return v128.bitselect(small, large, f32x4.gt(x, f32x4.splat(-0.5)));
}
