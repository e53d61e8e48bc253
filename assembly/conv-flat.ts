// Stride-1 convolution without im2col, on zero-padded planes flattened row by row.
//
// With the input padded to Hp×Wp (Hp = OH + (KH−1)·DH, Wp = OW + (KW−1)·DW) and an output
// plane laid out with the same row length Wp, tap (i, j) of output q = oh·Wp + ow reads padded
// input q + i·DH·Wp + j·DW: every cols row is a contiguous slice of the padded plane, so the
// GEMM reads its B operand in place. Columns ow ≥ OW are computed and discarded (the price:
// (KW−1)·DW of every Wp columns). On LeNet at batch 64 (relaxed SIMD) conv1 forward went from
// 1.2 to 0.47 ms and conv2 from 1.7 to 1.0 ms against im2col + GEMM, whose many short row
// copies cost as much as the multiply itself.
//
// Tried against it on conv1 (1 → 6, relaxed SIMD, one thread, medians of 15 alternating in one
// process, before its weight rows were interleaved, below) and not kept: a kernel for few input
// channels with lanes along dense output rows (no discarded columns), R output rows × NO output
// channels in registers, each tap's input vectors loaded once from a padded copy of the image and
// FMA'd into every channel's accumulator with its splatted weight. Forward at batch 64 (10, 1
// alike): 2 rows × 3 channels ×1.02–1.04, 3 × 3 ×1.01–1.06, 1 row × 8 columns × 4 channels ×0.85,
// the 5-tap loop unrolled ×0.57, and 2 × 6 (12 accumulators) ×0.69 in Node (V8 11.3 issues a tap's
// loads before its FMAs: 12 accumulators + 2 inputs + 6 splats spill) but ×1.06–1.12 in Chromium
// 156. Its weight gradient (dy reordered pixel-block-major, 3 channels × 2 taps) ran ×0.88 of
// conv-flat-dense.ts's. Every tile that stays in registers loads 6 vectors per 8 FMAs, as the 2×16
// below does, so the 4 discarded columns of 32 are all there is to win, and a 4-column tile's own
// overheads take most of it: ~0.02 ms of a 5.3 ms LeNet-5 step at batch 64.
//
// A "tap offset" k = (c·KH + i)·KW + j reads src[c·plane + q + i·rowStep + j·colStep].
import { madd } from "./simd";

/**
 * out[m·ldo + q] = Σ_k A[m·lda + k] · src(k, q), for m < M and q < Q, Q a multiple of 16
 * (the caller's buffers hold the over-read). 2×16 tiles: 8 f32x4 accumulators, the most
 * V8 11.3 keeps in registers; 2 rows divide LeNet's 6 and 16 channels. An odd last row
 * is computed twice and stored once. Each pair of rows of A is first interleaved into `pack`
 * (2·K floats, K = CH·KH·KW), so that both splats load from one pointer at constant offsets:
 * one pointer increment less a tap: ×1.04–1.10 on LeNet's conv1 forward at batch 64 and 10,
 * ×1.02–1.06 on other flat shapes' forward and dx (relaxed SIMD; plain SIMD ×1.00–1.05), the
 * same bits.
 *
 * Every channel plane of src is zero outside the floats [lo, hi) from its start: kernel rows
 * whose reads all fall outside are skipped (their products are exact zeros). For dx, a full
 * correlation over dy padded by KH−1 rows, that drops 16 of 65 row passes on LeNet's conv2
 * (its dx at batch 64: 1.35 → 0.94 ms).
 */
export function flatConvRows(
  M: i32, Q: i32, A: usize, lda: i32, src: usize, CH: i32, plane: i32,
  KH: i32, KW: i32, rowStep: i32, colStep: i32, out: usize, ldo: i32, lo: i32, hi: i32, pack: usize,
): void {
  const planeBytes = <usize>plane << 2, rowBytes = <usize>rowStep << 2, colBytes = <usize>colStep << 2;
  const taps = KH * KW, reach = (KW - 1) * colStep + 16;
  const K = CH * taps;
  for (let m = 0; m < M; m += 2) {
    const two = m + 1 < M;
    const a0 = A + (<usize>m * lda << 2);
    const a1 = two ? a0 + (<usize>lda << 2) : a0;
    for (let k = 0; k < K; k++) {
      store<f32>(pack + (<usize>k << 3), load<f32>(a0 + (<usize>k << 2)));
      store<f32>(pack + (<usize>k << 3), load<f32>(a1 + (<usize>k << 2)), 4);
    }
    const o0 = out + (<usize>m * ldo << 2), o1 = o0 + (<usize>ldo << 2);
    for (let q = 0; q < Q; q += 16) {
      // Kernel rows [i0, i1) read something inside [lo, hi).
      let i0 = 0;
      while (i0 < KH && q + i0 * rowStep + reach <= lo) i0++;
      let i1 = i0;
      while (i1 < KH && q + i1 * rowStep < hi) i1++;
      const skip = <usize>(taps - (i1 - i0) * KW) << 3, first = <usize>(i0 * KW) << 3;
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
      let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
      let pa = pack + first;
      let chan = src + (<usize>(q + i0 * rowStep) << 2);
      for (let c = 0; c < CH; c++) {
        let row = chan;
        for (let i = i0; i < i1; i++) {
          let p = row;
          for (let j = 0; j < KW; j++) {
            const b0 = v128.load(p), b1 = v128.load(p, 16), b2 = v128.load(p, 32), b3 = v128.load(p, 48);
            const x0 = v128.load32_splat(pa);
            c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01); c02 = madd(x0, b2, c02); c03 = madd(x0, b3, c03);
            const x1 = v128.load32_splat(pa, 4);
            c10 = madd(x1, b0, c10); c11 = madd(x1, b1, c11); c12 = madd(x1, b2, c12); c13 = madd(x1, b3, c13);
            pa += 8; p += colBytes;
          }
          row += rowBytes;
        }
        chan += planeBytes;
        pa += skip;
      }
      const d0 = o0 + (<usize>q << 2);
      v128.store(d0, c00); v128.store(d0, c01, 16); v128.store(d0, c02, 32); v128.store(d0, c03, 48);
      if (two) {
        const d1 = o1 + (<usize>q << 2);
        v128.store(d1, c10); v128.store(d1, c11, 16); v128.store(d1, c12, 32); v128.store(d1, c13, 48);
      }
    }
  }
}

/**
 * acc[m, k] += Σ_{q<Q} dy[m·ldd + q] · src(k, q) as f32x4 partial sums (acc is M·K vectors,
 * reduced across lanes by flatConvDotFinish), for the taps k in [k0, k1). Q is a multiple of 4.
 * Both operands are contiguous along q, so the weight gradient needs neither im2col nor a
 * transpose. 2 rows × 4 taps = 8 accumulators; tails recompute the last row/tap and store once.
 * Each accumulator's sum is the same whatever the taps beside it: a range gets the whole's bits.
 */
export function flatConvDot(
  M: i32, K: i32, k0: i32, k1: i32, Q: i32, dy: usize, ldd: i32, src: usize, plane: i32,
  KH: i32, KW: i32, rowStep: i32, colStep: i32, acc: usize,
): void {
  const taps = KH * KW;
  for (let m = 0; m < M; m += 2) {
    const two = m + 1 < M;
    const d0 = dy + (<usize>m * ldd << 2);
    const d1 = two ? d0 + (<usize>ldd << 2) : d0;
    for (let k = k0; k < k1; k += 4) {
      const n = min(4, k1 - k);
      const s0 = src + (<usize>tapOffset(k, taps, KW, plane, rowStep, colStep) << 2);
      const s1 = src + (<usize>tapOffset(k + min(1, n - 1), taps, KW, plane, rowStep, colStep) << 2);
      const s2 = src + (<usize>tapOffset(k + min(2, n - 1), taps, KW, plane, rowStep, colStep) << 2);
      const s3 = src + (<usize>tapOffset(k + min(3, n - 1), taps, KW, plane, rowStep, colStep) << 2);
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
      let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
      // Pointers stepped by 16 bytes, not base + (q << 2): V8 11.3 made the indexed form
      // 2.4× slower here (16.6 vs 40.5 GFLOP/s on conv1's shape).
      let p0 = d0, p1 = d1, t0 = s0, t1 = s1, t2 = s2, t3 = s3;
      const end = d0 + (<usize>Q << 2);
      while (p0 < end) {
        // One tap vector live at a time: 8 accumulators + 3 operands stay in registers.
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
      const r0 = acc + ((<usize>m * K + k) << 4);
      addVec(r0, c00);
      if (n > 1) addVec(r0 + 16, c01);
      if (n > 2) addVec(r0 + 32, c02);
      if (n > 3) addVec(r0 + 48, c03);
      if (two) {
        const r1 = r0 + (<usize>K << 4);
        addVec(r1, c10);
        if (n > 1) addVec(r1 + 16, c11);
        if (n > 2) addVec(r1 + 32, c12);
        if (n > 3) addVec(r1 + 48, c13);
      }
    }
  }
}

/** dw[i] += the lane sum of acc vector i, for n vectors. */
export function flatConvDotFinish(acc: usize, dw: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const v = v128.load(acc + (<usize>i << 4));
    const p = dw + (<usize>i << 2);
    store<f32>(p, load<f32>(p) + ((f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) +
      (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3))));
  }
}

// @ts-ignore: decorator
@inline function addVec(p: usize, v: v128): void { v128.store(p, f32x4.add(v128.load(p), v)); }

// @ts-ignore: decorator
@inline function tapOffset(k: i32, taps: i32, KW: i32, plane: i32, rowStep: i32, colStep: i32): i32 {
  const c = k / taps, r = k - c * taps, i = r / KW, j = r - i * KW;
  return c * plane + i * rowStep + j * colStep;
}
