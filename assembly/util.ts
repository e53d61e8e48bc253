// Small whole-buffer helpers.
import { nonFinite } from "./simd";

/** Number of NaN or ±Infinity values among n floats at x. */
export function countNonFinite(x: usize, n: i32): i32 {
  // nonFinite (simd.ts): x − x is 0 for finite x and NaN otherwise.
  // Bad values are rare, so four lanes are tested at once and only a failing block is counted.
  let bad = 0;
  let i = 0;
  // Sixteen at a time where all are finite, one test a block of four vectors: ×2.0 on 64K and 1M
  // floats against a test every vector (the previous build alternately, median of 14).
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    const bad4 = v128.or(v128.or(nonFinite(v128.load(p)), nonFinite(v128.load(p, 16))), v128.or(nonFinite(v128.load(p, 32)), nonFinite(v128.load(p, 48))));
    if (!v128.any_true(bad4)) continue;
    for (let j = 0; j < 16; j++) if (!isFinite<f32>(load<f32>(p + (<usize>j << 2)))) bad++;
  }
  for (; i + 4 <= n; i += 4) {
    if (v128.any_true(nonFinite(v128.load(x + (<usize>i << 2))))) {
      for (let j = 0; j < 4; j++) if (!isFinite<f32>(load<f32>(x + (<usize>(i + j) << 2)))) bad++;
    }
  }
  for (; i < n; i++) if (!isFinite<f32>(load<f32>(x + (<usize>i << 2)))) bad++;
  return bad;
}

/** y[i] = value. */
export function fill(y: usize, n: i32, value: f32): void {
  const v = f32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), v);
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), value);
}

/** y[i] += x[i]. */
export function addInto(y: usize, x: usize, n: i32): void {
  addFloats(y, x, n);
}

/** dst[i] += src[i] for n floats: the one SIMD add loop the other kernel files share. */
// @ts-ignore: decorator
@inline export function addFloats(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = dst + (<usize>i << 2);
    v128.store(p, f32x4.add(v128.load(p), v128.load(src + (<usize>i << 2))));
  }
  for (; i < n; i++) {
    const p = dst + (<usize>i << 2);
    store<f32>(p, load<f32>(p) + load<f32>(src + (<usize>i << 2)));
  }
}
