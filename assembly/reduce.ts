// Sums over dims and their adjoints (broadcasts), for mean() and the gradients of broadcast
// operands. A tensor is viewed as [outer, mid, inner], contiguous; the two reductions keep
// either the middle dim (sumToMid: dims 0, 2, 3 of NCHW, or every dim with mid 1) or the outer
// and inner ones (sumOverMid: dim 1 of NCHW, the last dims with inner 1). The caller
// (ts/functional/kernels.ts) merges adjacent dims and loops over leading ones that do not fit.
// Sums accumulate into y (y += …), so a caller looping over a reduced leading dim adds up.
import { addFloats } from "./util";
import { sumRun } from "./simd";

/** y[m] += Σ_{o, i} x[o, m, i]. Runs of inner values are summed in lanes, then in f64. */
export function sumToMid(x: usize, y: usize, outer: i32, mid: i32, inner: i32): void {
  if (inner == 1) {
    // Rows of mid values: a vector add per row.
    for (let o = 0; o < outer; o++) addFloats(y, x + ((<usize>o * mid) << 2), mid);
    return;
  }
  for (let m = 0; m < mid; m++) {
    let total: f64 = 0;
    for (let o = 0; o < outer; o++) total += sumRun(x + ((<usize>(o * mid + m) * inner) << 2), inner);
    const p = y + (<usize>m << 2);
    store<f32>(p, <f32>(<f64>load<f32>(p) + total));
  }
}

/** y[o, i] += Σ_m x[o, m, i]. */
export function sumOverMid(x: usize, y: usize, outer: i32, mid: i32, inner: i32): void {
  if (inner == 1) {
    // One sum per contiguous row of mid values.
    for (let o = 0; o < outer; o++) {
      const p = y + (<usize>o << 2);
      store<f32>(p, <f32>(<f64>load<f32>(p) + sumRun(x + ((<usize>o * mid) << 2), mid)));
    }
    return;
  }
  for (let o = 0; o < outer; o++) {
    const yo = y + ((<usize>o * inner) << 2);
    for (let m = 0; m < mid; m++) addFloats(yo, x + ((<usize>(o * mid + m) * inner) << 2), inner);
  }
}

/** y[o, m, i] = scale · b[m]: the adjoint of sumToMid (the gradient of a mean over outer and inner). */
export function broadcastMid(b: usize, y: usize, outer: i32, mid: i32, inner: i32, scale: f32): void {
  const sv = f32x4.splat(scale);
  for (let o = 0; o < outer; o++) {
    if (inner == 1) {
      const row = y + ((<usize>o * mid) << 2);
      let m = 0;
      for (; m + 4 <= mid; m += 4) v128.store(row + (<usize>m << 2), f32x4.mul(v128.load(b + (<usize>m << 2)), sv));
      for (; m < mid; m++) store<f32>(row + (<usize>m << 2), load<f32>(b + (<usize>m << 2)) * scale);
      continue;
    }
    for (let m = 0; m < mid; m++) {
      const v = load<f32>(b + (<usize>m << 2)) * scale;
      const vv = f32x4.splat(v);
      const run = y + ((<usize>(o * mid + m) * inner) << 2);
      let i = 0;
      for (; i + 4 <= inner; i += 4) v128.store(run + (<usize>i << 2), vv);
      for (; i < inner; i++) store<f32>(run + (<usize>i << 2), v);
    }
  }
}

/** y[o, m, i] = scale · b[o, i]: the adjoint of sumOverMid (the gradient of a mean over mid). */
export function broadcastOverMid(b: usize, y: usize, outer: i32, mid: i32, inner: i32, scale: f32): void {
  const sv = f32x4.splat(scale);
  for (let o = 0; o < outer; o++) {
    const bo = b + ((<usize>o * inner) << 2);
    if (inner == 1) {
      const v = load<f32>(bo) * scale;
      const vv = f32x4.splat(v);
      const row = y + ((<usize>o * mid) << 2);
      let m = 0;
      for (; m + 4 <= mid; m += 4) v128.store(row + (<usize>m << 2), vv);
      for (; m < mid; m++) store<f32>(row + (<usize>m << 2), v);
      continue;
    }
    for (let m = 0; m < mid; m++) {
      const run = y + ((<usize>(o * mid + m) * inner) << 2);
      let i = 0;
      for (; i + 4 <= inner; i += 4) v128.store(run + (<usize>i << 2), f32x4.mul(v128.load(bo + (<usize>i << 2)), sv));
      for (; i < inner; i++) store<f32>(run + (<usize>i << 2), load<f32>(bo + (<usize>i << 2)) * scale);
    }
  }
}
