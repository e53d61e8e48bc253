// Weight gradient of a flat-layout convolution reading dy dense, OH×OW, when OW is a multiple
// of 4: every f32x4 of dy lies inside one output row, so no lane is spent on the (KW−1)·DW
// discarded columns of a padded row and dy needs no padding copy. The input side is the
// padded plane of conv-flat.ts (pixel (oh, ow) reads src + oh·Wp + ow + tap offset).
// On LeNet's conv1 (28 columns of 32, 25 taps) at batch 64, relaxed SIMD: 0.56 → 0.44 ms.
// The same dense layout for forward measured slower (0.50 → 0.74 ms, and 1.1 ms with a tap
// table): four per-vector input bases ran V8 out of general registers.
import { madd } from "./simd";

/**
 * acc[m, k] += Σ_p dy[m·ldd + p] · src(k, p) as f32x4 partial sums (flatConvDotFinish reduces
 * them), dy dense OH×OW, for the taps k in [k0, k1) of K (acc's row length). Taps in groups of 4
 * with 2 rows (8 accumulators); the (k1 − k0) mod 4 taps left over take 4 rows × 1 tap, instead
 * of a 4-tap group mostly recomputing one tap (conv1: 25 taps, 28 computed before). Each
 * accumulator sums its pixels in the same order in either loop, so a range of taps gets the
 * whole's bits (threads split the weight gradient so: conv2dWeightGradTaps).
 */
export function denseConvDot(
  M: i32, K: i32, k0: i32, k1: i32, OH: i32, OW: i32, Wp: i32, dy: usize, ldd: i32, src: usize, plane: i32,
  KH: i32, KW: i32, rowStep: i32, colStep: i32, acc: usize,
): void {
  const taps = KH * KW, K4 = k0 + ((k1 - k0) & ~3);
  const rowBytes = <usize>OW << 2, skip = <usize>(Wp - OW) << 2;
  for (let m = 0; m < M; m += 2) {
    const two = m + 1 < M;
    const d0 = dy + (<usize>m * ldd << 2), d1 = two ? d0 + (<usize>ldd << 2) : d0;
    for (let k = k0; k < K4; k += 4) {
      let t0 = src + (<usize>tapOffset(k, taps, KW, plane, rowStep, colStep) << 2);
      let t1 = src + (<usize>tapOffset(k + 1, taps, KW, plane, rowStep, colStep) << 2);
      let t2 = src + (<usize>tapOffset(k + 2, taps, KW, plane, rowStep, colStep) << 2);
      let t3 = src + (<usize>tapOffset(k + 3, taps, KW, plane, rowStep, colStep) << 2);
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
      let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
      let p0 = d0, p1 = d1;
      for (let oh = 0; oh < OH; oh++) {
        const end = p0 + rowBytes;
        while (p0 < end) {
          const x0 = v128.load(p0), x1 = v128.load(p1);
          const b0 = v128.load(t0);
          c00 = madd(x0, b0, c00); c10 = madd(x1, b0, c10);
          const b1 = v128.load(t1);
          c01 = madd(x0, b1, c01); c11 = madd(x1, b1, c11);
          const b2 = v128.load(t2);
          c02 = madd(x0, b2, c02); c12 = madd(x1, b2, c12);
          const b3 = v128.load(t3);
          c03 = madd(x0, b3, c03); c13 = madd(x1, b3, c13);
          p0 += 16; p1 += 16; t0 += 16; t1 += 16; t2 += 16; t3 += 16;
        }
        t0 += skip; t1 += skip; t2 += skip; t3 += skip;
      }
      const r0 = acc + ((<usize>m * K + k) << 4);
      addVec(r0, c00); addVec(r0 + 16, c01); addVec(r0 + 32, c02); addVec(r0 + 48, c03);
      if (two) {
        const r1 = r0 + (<usize>K << 4);
        addVec(r1, c10); addVec(r1 + 16, c11); addVec(r1 + 32, c12); addVec(r1 + 48, c13);
      }
    }
  }
  for (let k = K4; k < k1; k++) {
    const s = src + (<usize>tapOffset(k, taps, KW, plane, rowStep, colStep) << 2);
    for (let m = 0; m < M; m += 4) {
      // Rows past M repeat the last one and are not stored.
      let p0 = dy + (<usize>m * ldd << 2);
      let p1 = dy + (<usize>min(m + 1, M - 1) * ldd << 2);
      let p2 = dy + (<usize>min(m + 2, M - 1) * ldd << 2);
      let p3 = dy + (<usize>min(m + 3, M - 1) * ldd << 2);
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
      let t = s;
      for (let oh = 0; oh < OH; oh++) {
        const end = p0 + rowBytes;
        while (p0 < end) {
          const b = v128.load(t);
          c0 = madd(v128.load(p0), b, c0); c1 = madd(v128.load(p1), b, c1);
          c2 = madd(v128.load(p2), b, c2); c3 = madd(v128.load(p3), b, c3);
          p0 += 16; p1 += 16; p2 += 16; p3 += 16; t += 16;
        }
        t += skip;
      }
      const r = acc + ((<usize>m * K + k) << 4), rs = <usize>K << 4;
      addVec(r, c0);
      if (m + 1 < M) addVec(r + rs, c1);
      if (m + 2 < M) addVec(r + 2 * rs, c2);
      if (m + 3 < M) addVec(r + 3 * rs, c3);
    }
  }
}

// @ts-ignore: decorator
@inline function tapOffset(k: i32, taps: i32, KW: i32, plane: i32, rowStep: i32, colStep: i32): i32 {
  const c = k / taps, r = k - c * taps, i = r / KW, j = r - i * KW;
  return c * plane + i * rowStep + j * colStep;
}

// @ts-ignore: decorator
@inline function addVec(p: usize, v: v128): void { v128.store(p, f32x4.add(v128.load(p), v)); }
