// GEMM: C (+)= op(A) · op(B), row-major f32, BLIS-style.
//
// op(A) is M×K, op(B) is K×N, C is M×N with row stride ldc (all strides in elements).
// transA = 0: A[i*lda + k];  transA = 1: A is stored K×M, A[k*lda + i].
// transB = 0: B[k*ldb + j];  transB = 1: B is stored N×K, B[j*ldb + k].
// accumulate = 0 overwrites C, 1 adds to it.
//
// Blocks of op(B) (KC×NC) and op(A) (MC×KC) are packed into the caller's scratch as panels of
// NR columns / MR rows, zero-padded at the edges, so the micro-kernel always runs a full
// MR×NR tile from contiguous memory. The 4×8 tile keeps exactly 8 f32x4 accumulators: more
// makes V8 spill, and unrolling the k loop slows it down (see notes on the measured peaks).
import { madd } from "./simd";
import { gemmDot } from "./gemm-dot";
import { actRowsChecked } from "./epilogue";

const MR = 4;
const NR = 8;
const KC = 256;
const MC = 128;
const NC = 2048;
const PACK_A_FLOATS = MC * KC;
const PACK_B_FLOATS = KC * NC;
const TILE_FLOATS = MR * NR;

/**
 * Whether gemmAct reads A and B in place as dot products (gemmDot): A·Bᵀ with a long K and a
 * small side, measured 2–5× faster there (conv weight gradients), slower for big square products.
 */
function byDots(transA: i32, transB: i32, M: i32, N: i32, K: i32): bool {
  return !transA && transB && K >= 256 && min(M, N) < 128;
}

/**
 * 1 when gemm/gemmAct over rows [r0, r0 + Mi) of C alone (A's rows, or columns with transA, and
 * C's rows from r0) gives each of those rows the bits the whole M-row product gives it, else 0.
 * So it is when the range takes the same path and starts on a whole micro-tile (MR = 4 rows,
 * twice gemmDot's row pair) and ends on one or at M: every value then sums the same products
 * in the same order, in a tile of the same kind. Lets the threads split a product by rows.
 */
export function gemmRowsSplit(transA: i32, transB: i32, M: i32, N: i32, K: i32, r0: i32, Mi: i32): i32 {
  if (r0 < 0 || Mi <= 0 || r0 + Mi > M || r0 % MR != 0 || (r0 + Mi < M && Mi % MR != 0)) return 0;
  return byDots(transA, transB, M, N, K) == byDots(transA, transB, Mi, N, K) ? 1 : 0;
}

/** Floats of scratch that gemm needs. */
export function gemmScratchFloats(): i32 {
  return PACK_A_FLOATS + PACK_B_FLOATS + TILE_FLOATS;
}

export function gemm(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  A: usize, lda: i32, B: usize, ldb: i32,
  C: usize, ldc: i32, accumulate: i32, scratch: usize,
): void {
  gemmAct(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, scratch, 0);
}

/**
 * C = act(C (+)= op(A)·op(B)): gemm with an activation (epilogue.ts's codes: 0 none, 1 ReLU,
 * 2 ReLU6) applied to each tile of C as its last k-block is stored, while the tile is in cache —
 * the same sums in the same order as gemm, then activationChecked's activation. Returns 1 when a
 * value before the activation was NaN or infinite (0 without an activation).
 */
export function gemmAct(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  A: usize, lda: i32, B: usize, ldb: i32,
  C: usize, ldc: i32, accumulate: i32, scratch: usize, act: i32,
): i32 {
  if (M <= 0 || N <= 0) return 0;
  // Its C is small next to A and B (a Linear's output): the activation is a sweep after it.
  if (byDots(transA, transB, M, N, K)) {
    gemmDot(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
    return act != 0 ? actRowsChecked(C, ldc, M, N, act) : 0;
  }
  if (K <= 0) {
    if (!accumulate) for (let i = 0; i < M; i++) memory.fill(C + (<usize>i * ldc << 2), 0, <usize>N << 2);
    return act != 0 ? actRowsChecked(C, ldc, M, N, act) : 0;
  }
  let bad = 0;
  const packA = scratch;
  const packB = scratch + (<usize>PACK_A_FLOATS << 2);
  const tile = packB + (<usize>PACK_B_FLOATS << 2);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const add = accumulate | (pc > 0 ? 1 : 0);
      // The activation on the last k-block's stores only: the sums before it are partial.
      const last = act != 0 && pc + kc >= K;
      packPanelsB(transB, B, ldb, pc, jc, kc, nc, packB);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packPanelsA(transA, A, lda, ic, pc, mc, kc, packA);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const pb = packB + (<usize>(jr * kc) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            const pa = packA + (<usize>(ir * kc) << 2);
            const c = C + ((<usize>(ic + ir) * ldc + jc + jr) << 2);
            if (mr == MR && nr == NR) {
              microKernel4x8(kc, pa, pb, c, <usize>ldc << 2, add);
            } else {
              microKernel4x8(kc, pa, pb, tile, NR << 2, 0);
              storeEdge(tile, c, ldc, mr, nr, add);
            }
            if (last) bad |= actRowsChecked(c, ldc, mr, nr, act);
          }
        }
      }
    }
  }
  return bad;
}

/** op(A)[ic.., pc..] (mc×kc) → panels of MR rows, each k-major (MR floats per k). */
function packPanelsA(transA: i32, A: usize, lda: i32, ic: i32, pc: i32, mc: i32, kc: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = min(MR, mc - ir);
    const panel = dst + (<usize>(ir * kc) << 2);
    for (let r = 0; r < MR; r++) {
      const out = panel + (<usize>r << 2);
      if (r >= mr) {
        for (let k = 0; k < kc; k++) store<f32>(out + (<usize>k * MR << 2), 0);
        continue;
      }
      const i = ic + ir + r;
      if (transA) {
        let src = A + ((<usize>pc * lda + i) << 2);
        const step = <usize>lda << 2;
        for (let k = 0; k < kc; k++) { store<f32>(out + (<usize>k * MR << 2), load<f32>(src)); src += step; }
      } else {
        const src = A + ((<usize>i * lda + pc) << 2);
        for (let k = 0; k < kc; k++) store<f32>(out + (<usize>k * MR << 2), load<f32>(src + (<usize>k << 2)));
      }
    }
  }
}

/** op(B)[pc.., jc..] (kc×nc) → panels of NR columns, each k-major (NR floats per k). */
function packPanelsB(transB: i32, B: usize, ldb: i32, pc: i32, jc: i32, kc: i32, nc: i32, dst: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    let out = dst + (<usize>(jr * kc) << 2);
    if (!transB && nr == NR) {
      let src = B + ((<usize>pc * ldb + jc + jr) << 2);
      const step = <usize>ldb << 2;
      for (let k = 0; k < kc; k++) {
        v128.store(out, v128.load(src));
        v128.store(out, v128.load(src, 16), 16);
        src += step; out += NR << 2;
      }
      continue;
    }
    for (let k = 0; k < kc; k++) {
      for (let j = 0; j < NR; j++) {
        let v: f32 = 0;
        if (j < nr) {
          const col = jc + jr + j, row = pc + k;
          v = transB ? load<f32>(B + ((<usize>col * ldb + row) << 2)) : load<f32>(B + ((<usize>row * ldb + col) << 2));
        }
        store<f32>(out + (<usize>j << 2), v);
      }
      out += NR << 2;
    }
  }
}

/** One MR×NR tile of C (row stride cs bytes) from packed panels. */
// @ts-ignore: decorator
@inline export function microKernel4x8(kc: i32, pa: usize, pb: usize, c: usize, cs: usize, add: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    const a0 = v128.load32_splat(pa);
    c00 = madd(a0, b0, c00); c01 = madd(a0, b1, c01);
    const a1 = v128.load32_splat(pa, 4);
    c10 = madd(a1, b0, c10); c11 = madd(a1, b1, c11);
    const a2 = v128.load32_splat(pa, 8);
    c20 = madd(a2, b0, c20); c21 = madd(a2, b1, c21);
    const a3 = v128.load32_splat(pa, 12);
    c30 = madd(a3, b0, c30); c31 = madd(a3, b1, c31);
    pa += MR << 2; pb += NR << 2;
  }
  if (add) {
    c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
    c10 = f32x4.add(c10, v128.load(c + cs)); c11 = f32x4.add(c11, v128.load(c + cs, 16));
    c20 = f32x4.add(c20, v128.load(c + 2 * cs)); c21 = f32x4.add(c21, v128.load(c + 2 * cs, 16));
    c30 = f32x4.add(c30, v128.load(c + 3 * cs)); c31 = f32x4.add(c31, v128.load(c + 3 * cs, 16));
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + cs, c10); v128.store(c + cs, c11, 16);
  v128.store(c + 2 * cs, c20); v128.store(c + 2 * cs, c21, 16);
  v128.store(c + 3 * cs, c30); v128.store(c + 3 * cs, c31, 16);
}

/** Copies the top-left mr×nr of a full tile into C. */
function storeEdge(tile: usize, c: usize, ldc: i32, mr: i32, nr: i32, add: i32): void {
  for (let r = 0; r < mr; r++) {
    const row = c + (<usize>r * ldc << 2);
    const t = tile + (<usize>r * NR << 2);
    for (let j = 0; j < nr; j++) {
      const v = load<f32>(t + (<usize>j << 2));
      const p = row + (<usize>j << 2);
      store<f32>(p, add ? load<f32>(p) + v : v);
    }
  }
}
