// Small whole-buffer helpers.

/** Number of NaN or ±Infinity values among n floats at x. */
export function countNonFinite(x: usize, n: i32): i32 {
  // x − x is 0 for finite x and NaN otherwise; the lane mask of (d == d) is all ones when finite.
  // Bad values are rare, so four lanes are tested at once and only a failing block is counted.
  let bad = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const d = f32x4.sub(v, v);
    if (!i32x4.all_true(f32x4.eq(d, d))) {
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
