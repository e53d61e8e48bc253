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
