// GEMM with both operands read in place: C (+)= op(A) · B, row-major f32, no packing.
//
// op(A) is M×K: transA = 0 reads A[i·lda + k], transA = 1 reads A[k·lda + i]; B is K×N read as
// B[k·ldb + j]; C is M×N with row stride ldc (strides in elements). accumulate = 0 overwrites
// C, 1 adds to it.
//
// gemm.ts packs both operands into panels, which pays when each packed float is used many times
// (512³: 85% of the FMA peak). The convolutions with the batch folded (conv-batched.ts) multiply
// a short side by a long one — [Og×K]·[K×N·P] with K = 32…480 and N·P = 16…4096 — where the
// packing of A (scalar, one float per k and row) and of B came to a third of the time: 1×1
// 160→1280 on 1×1 maps, batch 64, forward 56% → see conv-batched.ts for the measured gains.
// Here the micro-kernel f32-gemm-4x8 broadcasts A from four row pointers (each steps one k; one
// pointer with constant offsets when A is transposed, its 4 values of a k adjacent: dX ×1.0–1.1)
// and loads B's 8 columns from its rows in place: 8 f32x4 accumulators, as gemm.ts's, and k is
// never blocked, so each C tile is loaded and stored once.
//
// Loop order: column blocks of B that fit in L2 (NB_BYTES), then 4-row panels of A (which stay
// in L1 while the block's tiles run), then the 8-column tiles. Columns past the last multiple
// of 8 and rows past the last multiple of 4 run narrower kernels (4×4, then one column at a
// time; 1×8 and 1×4 rows), never reading past N or M.
import { madd } from "./simd";

/** Bytes of B one column block may span (K·NB·4): half of a 512 KB L2, B's rows stay there across the row panels. */
const NB_BYTES = 256 * 1024;

/** C (+)= op(A)·B with A and B read in place (see the file comment). */
export function gemmInPlace(
  transA: i32, M: i32, N: i32, K: i32,
  A: usize, lda: i32, B: usize, ldb: i32,
  C: usize, ldc: i32, accumulate: i32,
): void {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) for (let i = 0; i < M; i++) memory.fill(C + (<usize>i * ldc << 2), 0, <usize>N << 2);
    return;
  }
  // A's step between rows (rs) and between k (ks) in bytes.
  const rs: usize = transA ? 4 : <usize>lda << 2;
  const ks: usize = transA ? <usize>lda << 2 : 4;
  const bs = <usize>ldb << 2, cs = <usize>ldc << 2;
  const nb = max(8, (NB_BYTES / (K << 2)) & ~7);
  for (let j0 = 0; j0 < N; j0 += nb) {
    const jn = min(nb, N - j0);
    const j8 = jn & ~7;
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const a = A + <usize>i * rs;
      const c = C + ((<usize>i * ldc + j0) << 2);
      const b = B + (<usize>j0 << 2);
      for (let j = 0; j < j8; j += 8) {
        gemm4x8InPlace(K, a, rs, ks, b + (<usize>j << 2), bs, c + (<usize>j << 2), cs, accumulate);
      }
      let j = j8;
      if (j + 4 <= jn) { gemm4x4InPlace(K, a, rs, ks, b + (<usize>j << 2), bs, c + (<usize>j << 2), cs, accumulate); j += 4; }
      for (; j < jn; j++) {
        for (let r = 0; r < 4; r++) gemm1x1InPlace(K, a + <usize>r * rs, ks, b + (<usize>j << 2), bs, c + <usize>r * cs + (<usize>j << 2), accumulate);
      }
    }
    for (; i < M; i++) {
      const a = A + <usize>i * rs;
      const c = C + ((<usize>i * ldc + j0) << 2);
      const b = B + (<usize>j0 << 2);
      let j = 0;
      for (; j + 8 <= jn; j += 8) gemm1x8InPlace(K, a, ks, b + (<usize>j << 2), bs, c + (<usize>j << 2), accumulate);
      for (; j < jn; j++) gemm1x1InPlace(K, a, ks, b + (<usize>j << 2), bs, c + (<usize>j << 2), accumulate);
    }
  }
}

/**
 * f32-gemm-4x8, operands in place: the 4×8 tile of C at c (row stride cs bytes) (+)= Σ_k
 * A[r, k]·B[k, 0..8) (+ bias[r] when bias ≠ 0, added to the sums in registers: the 1×1
 * stride-2 forward stores its tiles onto the bias this way, no pass of its own, no load of C),
 * A[r, k] at a + r·rs + k·ks, B's row k at b + k·bs.
 */
// @ts-ignore: decorator
@inline export function gemm4x8InPlace(K: i32, a: usize, rs: usize, ks: usize, b: usize, bs: usize, c: usize, cs: usize, add: i32, bias: usize = 0): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (rs == 4) {
    // A transposed: the 4 values of a k are adjacent, one pointer with constant offsets.
    for (let k = 0; k < K; k++) {
      const b0 = v128.load(b), b1 = v128.load(b, 16);
      const a0 = v128.load32_splat(a);
      c00 = madd(a0, b0, c00); c01 = madd(a0, b1, c01);
      const a1 = v128.load32_splat(a, 4);
      c10 = madd(a1, b0, c10); c11 = madd(a1, b1, c11);
      const a2 = v128.load32_splat(a, 8);
      c20 = madd(a2, b0, c20); c21 = madd(a2, b1, c21);
      const a3 = v128.load32_splat(a, 12);
      c30 = madd(a3, b0, c30); c31 = madd(a3, b1, c31);
      a += ks; b += bs;
    }
  } else {
    let p0 = a, p1 = a + rs, p2 = a + 2 * rs, p3 = a + 3 * rs;
    for (let k = 0; k < K; k++) {
      const b0 = v128.load(b), b1 = v128.load(b, 16);
      const a0 = v128.load32_splat(p0);
      c00 = madd(a0, b0, c00); c01 = madd(a0, b1, c01);
      const a1 = v128.load32_splat(p1);
      c10 = madd(a1, b0, c10); c11 = madd(a1, b1, c11);
      const a2 = v128.load32_splat(p2);
      c20 = madd(a2, b0, c20); c21 = madd(a2, b1, c21);
      const a3 = v128.load32_splat(p3);
      c30 = madd(a3, b0, c30); c31 = madd(a3, b1, c31);
      p0 += ks; p1 += ks; p2 += ks; p3 += ks; b += bs;
    }
  }
  if (bias != 0) {
    const v0 = v128.load32_splat(bias), v1 = v128.load32_splat(bias, 4);
    const v2 = v128.load32_splat(bias, 8), v3 = v128.load32_splat(bias, 12);
    c00 = f32x4.add(c00, v0); c01 = f32x4.add(c01, v0);
    c10 = f32x4.add(c10, v1); c11 = f32x4.add(c11, v1);
    c20 = f32x4.add(c20, v2); c21 = f32x4.add(c21, v2);
    c30 = f32x4.add(c30, v3); c31 = f32x4.add(c31, v3);
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

/** f32-gemm-4x4, operands in place: the 4-column remainder of a 4-row panel. */
function gemm4x4InPlace(K: i32, a: usize, rs: usize, ks: usize, b: usize, bs: usize, c: usize, cs: usize, add: i32): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let p0 = a, p1 = a + rs, p2 = a + 2 * rs, p3 = a + 3 * rs;
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(b);
    c0 = madd(v128.load32_splat(p0), b0, c0);
    c1 = madd(v128.load32_splat(p1), b0, c1);
    c2 = madd(v128.load32_splat(p2), b0, c2);
    c3 = madd(v128.load32_splat(p3), b0, c3);
    p0 += ks; p1 += ks; p2 += ks; p3 += ks; b += bs;
  }
  if (add) {
    c0 = f32x4.add(c0, v128.load(c)); c1 = f32x4.add(c1, v128.load(c + cs));
    c2 = f32x4.add(c2, v128.load(c + 2 * cs)); c3 = f32x4.add(c3, v128.load(c + 3 * cs));
  }
  v128.store(c, c0); v128.store(c + cs, c1); v128.store(c + 2 * cs, c2); v128.store(c + 3 * cs, c3);
}

/** f32-gemm-1x8, operands in place: one row of C past the last 4-row panel (bias as gemm4x8InPlace's). */
export function gemm1x8InPlace(K: i32, a: usize, ks: usize, b: usize, bs: usize, c: usize, add: i32, bias: usize = 0): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const a0 = v128.load32_splat(a);
    c0 = madd(a0, v128.load(b), c0); c1 = madd(a0, v128.load(b, 16), c1);
    a += ks; b += bs;
  }
  if (bias != 0) {
    const v = v128.load32_splat(bias);
    c0 = f32x4.add(c0, v); c1 = f32x4.add(c1, v);
  }
  if (add) { c0 = f32x4.add(c0, v128.load(c)); c1 = f32x4.add(c1, v128.load(c, 16)); }
  v128.store(c, c0); v128.store(c, c1, 16);
}

/** One entry of C: the columns past the last multiple of 4 (of 8 in rows past the panels). */
function gemm1x1InPlace(K: i32, a: usize, ks: usize, b: usize, bs: usize, c: usize, add: i32): void {
  let s: f32 = 0;
  for (let k = 0; k < K; k++) { s += load<f32>(a) * load<f32>(b); a += ks; b += bs; }
  store<f32>(c, add ? load<f32>(c) + s : s);
}

/**
 * C (+)= op(A) · B where B and C are batches of NCHW planes of P floats (P a multiple of 4):
 * column j = n·P + p of B's row k is B[n·bImage + k·P + p], of C's row i C[n·cImage + i·P + p]
 * (strides in elements), for n < N. A 1×1 convolution's forward (A = W, B = x, C = y) and input
 * gradient (A = Wᵀ, B = dy, C = dx) on maps of P pixels run on the tensors themselves this way:
 * the two f32x4 halves of a tile's 8 columns lie in one plane or in two images' planes.
 */
export function gemmInPlaceNCHW(
  transA: i32, M: i32, N: i32, P: i32, K: i32,
  A: usize, lda: i32, B: usize, bImage: i32, C: usize, cImage: i32, accumulate: i32,
): void {
  const NP = N * P;
  if (M <= 0 || NP <= 0) return;
  const rs: usize = transA ? 4 : <usize>lda << 2;
  const ks: usize = transA ? <usize>lda << 2 : 4;
  const bs = <usize>P << 2, cs = <usize>P << 2;
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const a = A + <usize>i * rs;
    let j = 0;
    for (; j + 8 <= NP; j += 8) {
      // One division a tile: the second half is 4 floats on in the same plane, or the next image's first.
      const n = j / P, p = j - n * P;
      const b0 = B + ((<usize>n * bImage + p) << 2), c0 = C + ((<usize>n * cImage + <usize>i * P + p) << 2);
      const next = p + 4 < P;
      const b1 = next ? b0 + 16 : B + (<usize>(n + 1) * bImage << 2);
      const c1 = next ? c0 + 16 : C + ((<usize>(n + 1) * cImage + <usize>i * P) << 2);
      gemm4x8Split(K, a, rs, ks, b0, b1, bs, c0, c1, cs, accumulate);
    }
    if (j < NP) {
      const b0 = B + ((<usize>(j / P) * bImage + j % P) << 2);
      const c0 = C + ((<usize>(j / P) * cImage + <usize>i * P + j % P) << 2);
      gemm4x4InPlace(K, a, rs, ks, b0, bs, c0, cs, accumulate);
    }
  }
  for (; i < M; i++) {
    const a = A + <usize>i * rs;
    for (let j = 0; j < NP; j += 4) {
      const b0 = B + ((<usize>(j / P) * bImage + j % P) << 2);
      const c0 = C + ((<usize>(j / P) * cImage + <usize>i * P + j % P) << 2);
      gemm1x4InPlace(K, a, ks, b0, bs, c0, accumulate);
    }
  }
}

/** f32-gemm-4x8 with the tile's two 4-column halves of B and C at their own addresses (b0/b1, c0/c1). */
// @ts-ignore: decorator
@inline function gemm4x8Split(K: i32, a: usize, rs: usize, ks: usize, b0: usize, b1: usize, bs: usize, c0: usize, c1: usize, cs: usize, add: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (rs == 4) {
    for (let k = 0; k < K; k++) {
      const v0 = v128.load(b0), v1 = v128.load(b1);
      const a0 = v128.load32_splat(a);
      c00 = madd(a0, v0, c00); c01 = madd(a0, v1, c01);
      const a1 = v128.load32_splat(a, 4);
      c10 = madd(a1, v0, c10); c11 = madd(a1, v1, c11);
      const a2 = v128.load32_splat(a, 8);
      c20 = madd(a2, v0, c20); c21 = madd(a2, v1, c21);
      const a3 = v128.load32_splat(a, 12);
      c30 = madd(a3, v0, c30); c31 = madd(a3, v1, c31);
      a += ks; b0 += bs; b1 += bs;
    }
  } else {
    let p0 = a, p1 = a + rs, p2 = a + 2 * rs, p3 = a + 3 * rs;
    for (let k = 0; k < K; k++) {
      const v0 = v128.load(b0), v1 = v128.load(b1);
      const a0 = v128.load32_splat(p0);
      c00 = madd(a0, v0, c00); c01 = madd(a0, v1, c01);
      const a1 = v128.load32_splat(p1);
      c10 = madd(a1, v0, c10); c11 = madd(a1, v1, c11);
      const a2 = v128.load32_splat(p2);
      c20 = madd(a2, v0, c20); c21 = madd(a2, v1, c21);
      const a3 = v128.load32_splat(p3);
      c30 = madd(a3, v0, c30); c31 = madd(a3, v1, c31);
      p0 += ks; p1 += ks; p2 += ks; p3 += ks; b0 += bs; b1 += bs;
    }
  }
  if (add) {
    c00 = f32x4.add(c00, v128.load(c0)); c01 = f32x4.add(c01, v128.load(c1));
    c10 = f32x4.add(c10, v128.load(c0 + cs)); c11 = f32x4.add(c11, v128.load(c1 + cs));
    c20 = f32x4.add(c20, v128.load(c0 + 2 * cs)); c21 = f32x4.add(c21, v128.load(c1 + 2 * cs));
    c30 = f32x4.add(c30, v128.load(c0 + 3 * cs)); c31 = f32x4.add(c31, v128.load(c1 + 3 * cs));
  }
  v128.store(c0, c00); v128.store(c1, c01);
  v128.store(c0 + cs, c10); v128.store(c1 + cs, c11);
  v128.store(c0 + 2 * cs, c20); v128.store(c1 + 2 * cs, c21);
  v128.store(c0 + 3 * cs, c30); v128.store(c1 + 3 * cs, c31);
}

/** f32-gemm-1x4, operands in place: 4 columns of one row past the last 4-row panel. */
function gemm1x4InPlace(K: i32, a: usize, ks: usize, b: usize, bs: usize, c: usize, add: i32): void {
  let c0 = f32x4.splat(0);
  for (let k = 0; k < K; k++) { c0 = madd(v128.load32_splat(a), v128.load(b), c0); a += ks; b += bs; }
  if (add) c0 = f32x4.add(c0, v128.load(c));
  v128.store(c, c0);
}

/**
 * f32-gemm-4x8 with B's rows through a row table (an implicit GEMM): the 4×8 tile of C at c
 * (row stride cs bytes) = bias[r] + Σ_k A[r, k]·B_k[0..8), A[r, k] at a + r·rs + 4·k, and B's
 * row k the 8 floats at b + table[k] (byte offsets, u32); bias = 0: none. conv-strided.ts's
 * forward reads x's phase-split planes this way instead of an im2col matrix.
 */
// @ts-ignore: decorator
@inline export function gemm4x8Table(K: i32, a: usize, rs: usize, table: usize, b: usize, c: usize, cs: usize, bias: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let p0 = a, p1 = a + rs, p2 = a + 2 * rs, p3 = a + 3 * rs;
  const end = table + (<usize>K << 2);
  for (let t = table; t < end; t += 4) {
    const row = b + <usize>load<u32>(t);
    const b0 = v128.load(row), b1 = v128.load(row, 16);
    const a0 = v128.load32_splat(p0);
    c00 = madd(a0, b0, c00); c01 = madd(a0, b1, c01);
    const a1 = v128.load32_splat(p1);
    c10 = madd(a1, b0, c10); c11 = madd(a1, b1, c11);
    const a2 = v128.load32_splat(p2);
    c20 = madd(a2, b0, c20); c21 = madd(a2, b1, c21);
    const a3 = v128.load32_splat(p3);
    c30 = madd(a3, b0, c30); c31 = madd(a3, b1, c31);
    p0 += 4; p1 += 4; p2 += 4; p3 += 4;
  }
  if (bias != 0) {
    const v0 = v128.load32_splat(bias), v1 = v128.load32_splat(bias, 4);
    const v2 = v128.load32_splat(bias, 8), v3 = v128.load32_splat(bias, 12);
    c00 = f32x4.add(c00, v0); c01 = f32x4.add(c01, v0);
    c10 = f32x4.add(c10, v1); c11 = f32x4.add(c11, v1);
    c20 = f32x4.add(c20, v2); c21 = f32x4.add(c21, v2);
    c30 = f32x4.add(c30, v3); c31 = f32x4.add(c31, v3);
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + cs, c10); v128.store(c + cs, c11, 16);
  v128.store(c + 2 * cs, c20); v128.store(c + 2 * cs, c21, 16);
  v128.store(c + 3 * cs, c30); v128.store(c + 3 * cs, c31, 16);
}

/** f32-gemm-1x8 with B's rows through a row table: one row of C past the last 4-row panel (see gemm4x8Table). */
export function gemm1x8Table(K: i32, a: usize, table: usize, b: usize, c: usize, bias: usize): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  const end = table + (<usize>K << 2);
  for (let t = table; t < end; t += 4) {
    const row = b + <usize>load<u32>(t);
    const a0 = v128.load32_splat(a);
    c0 = madd(a0, v128.load(row), c0); c1 = madd(a0, v128.load(row, 16), c1);
    a += 4;
  }
  if (bias != 0) {
    const v = v128.load32_splat(bias);
    c0 = f32x4.add(c0, v); c1 = f32x4.add(c1, v);
  }
  v128.store(c, c0); v128.store(c, c1, 16);
}

/**
 * f32-gemm-4x8 with A's rows through row pointers over output pixels (the implicit GEMM of a
 * strided convolution's weight gradient, A the phase planes; of a 1×1 stride-2 one, A dy's
 * planes and B the subsampled xᵀ): the 4×8 tile of C at c (row stride cs bytes) +=
 * Σ_pixels A_r[pixel]·B[pixel, 0..8), for images n < N, output rows oh < OH and columns ow < OW:
 * A_r[pixel] at a_r + n·image + oh·rowStep + ow·colStep (bytes), B's row of the pixel the next one of B (row
 * stride bs bytes, the images' rows one after the other).
 */
// @ts-ignore: decorator
@inline export function gemm4x8Pixels(
  N: i32, OH: i32, OW: i32, image: usize, rowStep: usize, colStep: usize,
  a0: usize, a1: usize, a2: usize, a3: usize, b: usize, bs: usize, c: usize, cs: usize,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let n = 0; n < N; n++) {
    const at = <usize>n * image;
    for (let oh = 0; oh < OH; oh++) {
      const row = at + <usize>oh * rowStep;
      let p0 = a0 + row, p1 = a1 + row, p2 = a2 + row, p3 = a3 + row;
      for (let ow = 0; ow < OW; ow++) {
        const b0 = v128.load(b), b1 = v128.load(b, 16);
        const x0 = v128.load32_splat(p0);
        c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01);
        const x1 = v128.load32_splat(p1);
        c10 = madd(x1, b0, c10); c11 = madd(x1, b1, c11);
        const x2 = v128.load32_splat(p2);
        c20 = madd(x2, b0, c20); c21 = madd(x2, b1, c21);
        const x3 = v128.load32_splat(p3);
        c30 = madd(x3, b0, c30); c31 = madd(x3, b1, c31);
        p0 += colStep; p1 += colStep; p2 += colStep; p3 += colStep; b += bs;
      }
    }
  }
  v128.store(c, f32x4.add(c00, v128.load(c))); v128.store(c, f32x4.add(c01, v128.load(c, 16)), 16);
  v128.store(c + cs, f32x4.add(c10, v128.load(c + cs))); v128.store(c + cs, f32x4.add(c11, v128.load(c + cs, 16)), 16);
  v128.store(c + 2 * cs, f32x4.add(c20, v128.load(c + 2 * cs))); v128.store(c + 2 * cs, f32x4.add(c21, v128.load(c + 2 * cs, 16)), 16);
  v128.store(c + 3 * cs, f32x4.add(c30, v128.load(c + 3 * cs))); v128.store(c + 3 * cs, f32x4.add(c31, v128.load(c + 3 * cs, 16)), 16);
}

/**
 * f32-gemm-2x16 with A's rows through row pointers over output pixels, as gemm4x8Pixels: the
 * 2×16 tile of C at c (row stride cs bytes) += Σ_pixels A_r[pixel]·B[pixel, 0..16), B's rows of
 * 16 floats one after the other (64 bytes). Per pixel 2 splats and 4 vector loads for 8 FMAs, and
 * 3 pointer steps where gemm4x8Pixels takes 5: the add of each accumulator in the same order.
 * With `two` false only the first row is added to C (a1 may then repeat a0: an odd last row).
 * The strided weight gradient's tile (conv-strided.ts) and the stride-1 channel-lane one's
 * (conv-chan.ts, one image at a time).
 */
// @ts-ignore: decorator
@inline export function gemm2x16Pixels(
  N: i32, OH: i32, OW: i32, image: usize, rowStep: usize, colStep: usize,
  a0: usize, a1: usize, b: usize, c: usize, cs: usize, two: bool = true,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  for (let n = 0; n < N; n++) {
    const at = <usize>n * image;
    for (let oh = 0; oh < OH; oh++) {
      const row = at + <usize>oh * rowStep;
      let p0 = a0 + row, p1 = a1 + row;
      const end = b + (<usize>OW << 6);
      while (b < end) {
        const b0 = v128.load(b), b1 = v128.load(b, 16), b2 = v128.load(b, 32), b3 = v128.load(b, 48);
        const x0 = v128.load32_splat(p0);
        c00 = madd(x0, b0, c00); c01 = madd(x0, b1, c01); c02 = madd(x0, b2, c02); c03 = madd(x0, b3, c03);
        const x1 = v128.load32_splat(p1);
        c10 = madd(x1, b0, c10); c11 = madd(x1, b1, c11); c12 = madd(x1, b2, c12); c13 = madd(x1, b3, c13);
        p0 += colStep; p1 += colStep; b += 64;
      }
    }
  }
  addTo(c, c00, c01, c02, c03);
  if (two) addTo(c + cs, c10, c11, c12, c13);
}

/** The 16 floats at c += v0..v3. */
// @ts-ignore: decorator
@inline function addTo(c: usize, v0: v128, v1: v128, v2: v128, v3: v128): void {
  v128.store(c, f32x4.add(v0, v128.load(c))); v128.store(c, f32x4.add(v1, v128.load(c, 16)), 16);
  v128.store(c, f32x4.add(v2, v128.load(c, 32)), 32); v128.store(c, f32x4.add(v3, v128.load(c, 48)), 48);
}

/**
 * f32-gemm-4x8 with A transposed (its 4 values of a k adjacent, k steps ks bytes apart) whose
 * tile of C is stored spread over the even columns, zeros between: row r of the tile goes to the
 * 16 floats at c + r·cs as C[r, 0], 0, C[r, 1], 0, …, and when zeroNext ≠ 0 the 16 floats at
 * c + r·cs + zeroNext are zeroed (a 1×1 stride-2 convolution's input gradient, written into an
 * even row of dx and the odd row after it in place). B's row k the 8 floats at b + k·bs.
 */
// @ts-ignore: decorator
@inline export function gemm4x8Spread(K: i32, a: usize, ks: usize, b: usize, bs: usize, c: usize, cs: usize, zeroNext: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    const a0 = v128.load32_splat(a);
    c00 = madd(a0, b0, c00); c01 = madd(a0, b1, c01);
    const a1 = v128.load32_splat(a, 4);
    c10 = madd(a1, b0, c10); c11 = madd(a1, b1, c11);
    const a2 = v128.load32_splat(a, 8);
    c20 = madd(a2, b0, c20); c21 = madd(a2, b1, c21);
    const a3 = v128.load32_splat(a, 12);
    c30 = madd(a3, b0, c30); c31 = madd(a3, b1, c31);
    a += ks; b += bs;
  }
  storeSpread(c, c00, c01); storeSpread(c + cs, c10, c11);
  storeSpread(c + 2 * cs, c20, c21); storeSpread(c + 3 * cs, c30, c31);
  if (zeroNext != 0) {
    const z = f32x4.splat(0);
    for (let r = 0; r < 4; r++) {
      const d = c + <usize>r * cs + zeroNext;
      v128.store(d, z); v128.store(d, z, 16); v128.store(d, z, 32); v128.store(d, z, 48);
    }
  }
}

/** f32-gemm-1x8 stored spread over the even columns (see gemm4x8Spread): one row past the last 4-row panel. */
export function gemm1x8Spread(K: i32, a: usize, ks: usize, b: usize, bs: usize, c: usize): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const a0 = v128.load32_splat(a);
    c0 = madd(a0, v128.load(b), c0); c1 = madd(a0, v128.load(b, 16), c1);
    a += ks; b += bs;
  }
  storeSpread(c, c0, c1);
}

/** The 8 floats of lo, hi stored as 16 at c, each followed by a zero. */
// @ts-ignore: decorator
@inline function storeSpread(c: usize, lo: v128, hi: v128): void {
  const z = f32x4.splat(0);
  v128.store(c, v128.shuffle<f32>(lo, z, 0, 4, 1, 5)); v128.store(c, v128.shuffle<f32>(lo, z, 2, 6, 3, 7), 16);
  v128.store(c, v128.shuffle<f32>(hi, z, 0, 4, 1, 5), 32); v128.store(c, v128.shuffle<f32>(hi, z, 2, 6, 3, 7), 48);
}
