// Packing for the flat passes (conv-flat-pass.ts): planes copied into the zero-padded, flattened
// layout of conv-flat.ts and back out (with the bias and the activation as they are stored), and
// the weights flipped for the input gradient.
import { nonFinite } from "./simd";
import { actS, actV, ACT_RELU, ACT_RELU6 } from "./epilogue";

/** wt[c, (o, KH−1−i, KW−1−j)] = w[o, c, i, j] within each group: dx is a convolution of dy with it. */
export function flipWeights(w: usize, wt: usize, C: i32, O: i32, G: i32, KH: i32, KW: i32): void {
  const Cg = C / G, Og = O / G, taps = KH * KW;
  for (let o = 0; o < O; o++) {
    const g = o / Og, ol = o - g * Og;
    for (let cl = 0; cl < Cg; cl++) {
      const src = w + (<usize>(o * Cg + cl) * taps << 2);
      const dst = wt + (<usize>((g * Cg + cl) * Og + ol) * taps << 2);
      for (let t = 0; t < taps; t++) store<f32>(dst + (<usize>(taps - 1 - t) << 2), load<f32>(src + (<usize>t << 2)));
    }
  }
}

/** planes of rows×cols at src → the same rows at dst with row stride `stride`, plane stride `plane`. */
export function padPlanes(src: usize, planes: i32, rows: i32, cols: i32, dst: usize, plane: i32, stride: i32): void {
  for (let c = 0; c < planes; c++) {
    let d = dst + (<usize>c * plane << 2);
    for (let r = 0; r < rows; r++) {
      copyRow(d, src, cols, 0);
      src += <usize>cols << 2; d += <usize>stride << 2;
    }
  }
}

/**
 * The first cols of each row (stride `stride`, plane stride `plane`) → dense planes, + bias[c] if
 * b ≠ 0, then act (epilogue.ts's codes); with an activation, 1 when a value was NaN or infinite
 * before it.
 */
export function unpadPlanes(src: usize, planes: i32, plane: i32, stride: i32, dst: usize, rows: i32, cols: i32, b: usize, act: i32): i32 {
  // One loop per activation, each with a constant act after inlining: no branch per vector.
  if (act == ACT_RELU) return unpadPlanesAct(src, planes, plane, stride, dst, rows, cols, b, ACT_RELU);
  if (act == ACT_RELU6) return unpadPlanesAct(src, planes, plane, stride, dst, rows, cols, b, ACT_RELU6);
  return unpadPlanesAct(src, planes, plane, stride, dst, rows, cols, b, 0);
}

// @ts-ignore: decorator
@inline function unpadPlanesAct(src: usize, planes: i32, plane: i32, stride: i32, dst: usize, rows: i32, cols: i32, b: usize, act: i32): i32 {
  let flag = f32x4.splat(0);
  let flagS = 0;
  for (let c = 0; c < planes; c++) {
    let s = src + (<usize>c * plane << 2);
    const bias: f32 = b != 0 ? load<f32>(b + (<usize>c << 2)) : 0;
    const a = f32x4.splat(bias);
    for (let r = 0; r < rows; r++) {
      // dst[i] = act(src[i] + bias) for a row of cols floats.
      let i = 0;
      for (; i + 4 <= cols; i += 4) {
        const v = f32x4.add(v128.load(s + (<usize>i << 2)), a);
        if (act != 0) flag = v128.or(flag, nonFinite(v));
        v128.store(dst + (<usize>i << 2), actV(v, act));
      }
      for (; i < cols; i++) {
        const v = load<f32>(s + (<usize>i << 2)) + bias;
        if (act != 0) flagS |= <i32>!isFinite<f32>(v);
        store<f32>(dst + (<usize>i << 2), actS(v, act));
      }
      dst += <usize>cols << 2; s += <usize>stride << 2;
    }
  }
  return <i32>v128.any_true(flag) | flagS;
}

/** dst[i] = src[i] + add for n floats. */
// @ts-ignore: decorator
@inline function copyRow(dst: usize, src: usize, n: i32, add: f32): void {
  const a = f32x4.splat(add);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), f32x4.add(v128.load(src + (<usize>i << 2)), a));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)) + add);
}
