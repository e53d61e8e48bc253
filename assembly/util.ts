// Small whole-buffer helpers.

/** Number of NaN or ±Infinity values among n floats at x. */
export function countNonFinite(x: usize, n: i32): i32 {
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (!isFinite<f32>(v)) bad++;
  }
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
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = y + (<usize>i << 2);
    v128.store(p, f32x4.add(v128.load(p), v128.load(x + (<usize>i << 2))));
  }
  for (; i < n; i++) {
    const p = y + (<usize>i << 2);
    store<f32>(p, load<f32>(p) + load<f32>(x + (<usize>i << 2)));
  }
}
