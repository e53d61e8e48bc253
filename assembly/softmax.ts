// Softmax and log-softmax over the middle axis of a tensor viewed as [outer, C, inner]:
// softmax over dim d of any shape is outer = Π dims before d, C = dims[d], inner = Π dims after.
// Each (outer, inner) pair is one softmax over C values spaced inner floats apart. Sums are
// taken in f64; the exps are scalar and most of the cost.
import { expf, logAtLeastOne } from "./math";

/** y = exp(x − max) / Σ exp(x − max). */
export function softmaxForward(x: usize, y: usize, outer: i32, C: i32, inner: i32): void {
  if (C <= 0) return;
  const stride = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const offset = (<usize>o * C * inner + i) << 2;
      const xs = x + offset, ys = y + offset;
      const m = maxStrided(xs, C, stride);
      let sum: f64 = 0;
      for (let c = 0; c < C; c++) {
        const e = expf(load<f32>(xs + <usize>c * stride) - m);
        store<f32>(ys + <usize>c * stride, e);
        sum += e;
      }
      const inv = <f32>(1 / sum);
      for (let c = 0; c < C; c++) store<f32>(ys + <usize>c * stride, load<f32>(ys + <usize>c * stride) * inv);
    }
  }
}

/** y = x − max − log Σ exp(x − max). */
export function logSoftmaxForward(x: usize, y: usize, outer: i32, C: i32, inner: i32): void {
  if (C <= 0) return;
  const stride = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const offset = (<usize>o * C * inner + i) << 2;
      const xs = x + offset, ys = y + offset;
      const m = maxStrided(xs, C, stride);
      let sum: f64 = 0;
      for (let c = 0; c < C; c++) sum += expf(load<f32>(xs + <usize>c * stride) - m);
      const shift = m + <f32>logAtLeastOne(sum);
      for (let c = 0; c < C; c++) store<f32>(ys + <usize>c * stride, load<f32>(xs + <usize>c * stride) - shift);
    }
  }
}

/** dx = y ⊙ (dy − Σ dy⊙y), from the softmax output y. */
export function softmaxBackward(y: usize, dy: usize, dx: usize, outer: i32, C: i32, inner: i32): void {
  if (C <= 0) return;
  const stride = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const offset = (<usize>o * C * inner + i) << 2;
      const ys = y + offset, gs = dy + offset, ds = dx + offset;
      let dot: f64 = 0;
      for (let c = 0; c < C; c++) dot += <f64>load<f32>(ys + <usize>c * stride) * load<f32>(gs + <usize>c * stride);
      const s = <f32>dot;
      for (let c = 0; c < C; c++) {
        const p = <usize>c * stride;
        store<f32>(ds + p, load<f32>(ys + p) * (load<f32>(gs + p) - s));
      }
    }
  }
}

/** dx = dy − exp(y)·Σ dy, from the log-softmax output y. */
export function logSoftmaxBackward(y: usize, dy: usize, dx: usize, outer: i32, C: i32, inner: i32): void {
  if (C <= 0) return;
  const stride = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const offset = (<usize>o * C * inner + i) << 2;
      const ys = y + offset, gs = dy + offset, ds = dx + offset;
      let total: f64 = 0;
      for (let c = 0; c < C; c++) total += load<f32>(gs + <usize>c * stride);
      const s = <f32>total;
      for (let c = 0; c < C; c++) {
        const p = <usize>c * stride;
        store<f32>(ds + p, load<f32>(gs + p) - expf(load<f32>(ys + p)) * s);
      }
    }
  }
}

// @ts-ignore: decorator
@inline function maxStrided(xs: usize, C: i32, stride: usize): f32 {
  let m = load<f32>(xs);
  for (let c = 1; c < C; c++) m = max(m, load<f32>(xs + <usize>c * stride));
  return m;
}
