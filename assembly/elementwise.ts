// Binary elementwise ops of the functional API (add, mul), same-shape and broadcast.
//
// Broadcasting is one layout: the full operand viewed as [outer, mid, inner] and the small
// one as [mid], repeated over outer and inner. That covers a [N, C, 1, 1] scale over
// [N, C, H, W] (outer 1, mid N·C, inner H·W), a per-channel [C, 1, 1] (outer N, mid C, inner
// H·W), a trailing [W] (outer N·C·H, mid W, inner 1) and a scalar tensor (mid 1); the caller
// (ts/functional/kernels.ts) loops over any leading dims that do not fit one call.
import { dotRun } from "./simd";

/** y = a + b over n floats. */
export function addForward(a: usize, b: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** y = a ⊙ b over n floats (also both gradients of a product: da = dy ⊙ b, db = dy ⊙ a). */
export function mulForward(a: usize, b: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(a + o) * load<f32>(b + o));
  }
}

/** y = s·x over n floats (in place when y = x). */
export function mulScalar(x: usize, y: usize, n: i32, s: f32): void {
  const sv = f32x4.splat(s);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.mul(v128.load(x + o), sv));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(x + o) * s);
  }
}

/** y[o, m, i] = a[o, m, i] + b[m]. */
export function addBroadcastMid(a: usize, b: usize, y: usize, outer: i32, mid: i32, inner: i32): void {
  if (inner == 1) {
    // b runs along the contiguous rows: a vector add per row.
    const rowBytes = <usize>mid << 2;
    for (let o = 0; o < outer; o++) addForward(a + <usize>o * rowBytes, b, y + <usize>o * rowBytes, mid);
    return;
  }
  for (let o = 0; o < outer; o++) {
    for (let m = 0; m < mid; m++) {
      const v = load<f32>(b + (<usize>m << 2));
      const at = (<usize>(o * mid + m) * inner) << 2;
      const vv = f32x4.splat(v);
      let i = 0;
      for (; i + 4 <= inner; i += 4) {
        const p = at + (<usize>i << 2);
        v128.store(y + p, f32x4.add(v128.load(a + p), vv));
      }
      for (; i < inner; i++) {
        const p = at + (<usize>i << 2);
        store<f32>(y + p, load<f32>(a + p) + v);
      }
    }
  }
}

/** y[o, m, i] = a[o, m, i] · b[m]. */
export function mulBroadcastMid(a: usize, b: usize, y: usize, outer: i32, mid: i32, inner: i32): void {
  if (inner == 1) {
    const rowBytes = <usize>mid << 2;
    for (let o = 0; o < outer; o++) mulForward(a + <usize>o * rowBytes, b, y + <usize>o * rowBytes, mid);
    return;
  }
  for (let o = 0; o < outer; o++) {
    for (let m = 0; m < mid; m++) {
      const at = (<usize>(o * mid + m) * inner) << 2;
      mulScalar(a + at, y + at, inner, load<f32>(b + (<usize>m << 2)));
    }
  }
}

/**
 * db[m] += Σ_{o, i} a[o, m, i] · dy[o, m, i]: the gradient of the broadcast operand of
 * mulBroadcastMid (a is the other operand). Each run of inner values is summed in four lanes,
 * then added up in f64, so a long reduction keeps float32 accuracy.
 */
export function mulBroadcastMidGrad(a: usize, dy: usize, db: usize, outer: i32, mid: i32, inner: i32): void {
  if (inner == 1) {
    for (let o = 0; o < outer; o++) {
      const row = (<usize>o * mid) << 2;
      let m = 0;
      for (; m + 4 <= mid; m += 4) {
        const p = db + (<usize>m << 2), q = row + (<usize>m << 2);
        v128.store(p, f32x4.add(v128.load(p), f32x4.mul(v128.load(a + q), v128.load(dy + q))));
      }
      for (; m < mid; m++) {
        const p = db + (<usize>m << 2), q = row + (<usize>m << 2);
        store<f32>(p, load<f32>(p) + load<f32>(a + q) * load<f32>(dy + q));
      }
    }
    return;
  }
  for (let m = 0; m < mid; m++) {
    let total: f64 = 0;
    for (let o = 0; o < outer; o++) {
      const at = (<usize>(o * mid + m) * inner) << 2;
      total += dotRun(a + at, dy + at, inner);
    }
    const p = db + (<usize>m << 2);
    store<f32>(p, <f32>(<f64>load<f32>(p) + total));
  }
}
