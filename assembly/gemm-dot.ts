// GEMM for C (+)= A·Bᵀ when K is long and M, N are small (weight gradients: dY·colsᵀ over a
// whole batch, e.g. 6×50176 · 50176×25). Both operands are read in place along k, so every
// C entry is a dot product of two contiguous rows: a 2×4 block of them keeps 8 f32x4
// accumulators (the most V8 11.3 holds in registers), and k is cut into blocks so the rows of
// a block stay in cache across the N/4 passes over A. Packing B for the panel GEMM gathered
// it element by element here, which held that shape to ~15% of peak.
import { madd, hsum } from "./simd";

const KB = 512;

/**
 * C[i·ldc + j] (+)= Σ_k A[i·lda + k] · B[j·ldb + k] for i < M, j < N.
 * accumulate = 0 overwrites C, 1 adds to it.
 */
export function gemmDot(M: i32, N: i32, K: i32, A: usize, lda: i32, B: usize, ldb: i32, C: usize, ldc: i32, accumulate: i32): void {
  if (M <= 0 || N <= 0) return;
  if (!accumulate) for (let i = 0; i < M; i++) memory.fill(C + (<usize>i * ldc << 2), 0, <usize>N << 2);
  for (let k0 = 0; k0 < K; k0 += KB) {
    const kb = min(KB, K - k0);
    for (let i = 0; i < M; i += 2) {
      const rows = min(2, M - i);
      for (let j = 0; j < N; j += 4) {
        const cols = min(4, N - j);
        const a = A + ((<usize>i * lda + k0) << 2);
        const b = B + ((<usize>j * ldb + k0) << 2);
        const c = C + ((<usize>i * ldc + j) << 2);
        if (rows == 2 && cols == 4) dot2x4(kb, a, <usize>lda << 2, b, <usize>ldb << 2, c, <usize>ldc << 2);
        else dotEdge(rows, cols, kb, a, lda, b, ldb, c, ldc);
      }
    }
  }
}

/** A full 2×4 block: adds the dot products of 2 rows of A with 4 rows of B over kb values. */
function dot2x4(kb: i32, a: usize, as: usize, b: usize, bs: usize, c: usize, cs: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  // Stepping pointers rather than indexing measured ~2× faster in V8 11.3 on this kind of loop.
  let pa0 = a, pa1 = a + as, pb0 = b, pb1 = b + bs, pb2 = b + 2 * bs, pb3 = b + 3 * bs;
  let k = 0;
  for (; k + 4 <= kb; k += 4) {
    const x0 = v128.load(pa0), x1 = v128.load(pa1);
    const y0 = v128.load(pb0), y1 = v128.load(pb1), y2 = v128.load(pb2), y3 = v128.load(pb3);
    c00 = madd(x0, y0, c00); c01 = madd(x0, y1, c01); c02 = madd(x0, y2, c02); c03 = madd(x0, y3, c03);
    c10 = madd(x1, y0, c10); c11 = madd(x1, y1, c11); c12 = madd(x1, y2, c12); c13 = madd(x1, y3, c13);
    pa0 += 16; pa1 += 16; pb0 += 16; pb1 += 16; pb2 += 16; pb3 += 16;
  }
  let s00 = hsum(c00), s01 = hsum(c01), s02 = hsum(c02), s03 = hsum(c03);
  let s10 = hsum(c10), s11 = hsum(c11), s12 = hsum(c12), s13 = hsum(c13);
  for (; k < kb; k++) {
    const x0 = load<f32>(pa0), x1 = load<f32>(pa1);
    const y0 = load<f32>(pb0), y1 = load<f32>(pb1), y2 = load<f32>(pb2), y3 = load<f32>(pb3);
    s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
    s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
    pa0 += 4; pa1 += 4; pb0 += 4; pb1 += 4; pb2 += 4; pb3 += 4;
  }
  store<f32>(c, load<f32>(c) + s00); store<f32>(c, load<f32>(c, 4) + s01, 4);
  store<f32>(c, load<f32>(c, 8) + s02, 8); store<f32>(c, load<f32>(c, 12) + s03, 12);
  const c1 = c + cs;
  store<f32>(c1, load<f32>(c1) + s10); store<f32>(c1, load<f32>(c1, 4) + s11, 4);
  store<f32>(c1, load<f32>(c1, 8) + s12, 8); store<f32>(c1, load<f32>(c1, 12) + s13, 12);
}

/** The blocks at the bottom and right edges (fewer than 2 rows or 4 columns): one dot at a time. */
function dotEdge(rows: i32, cols: i32, kb: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32): void {
  for (let r = 0; r < rows; r++) {
    for (let s = 0; s < cols; s++) {
      let pa = a + (<usize>r * lda << 2), pb = b + (<usize>s * ldb << 2);
      let acc = f32x4.splat(0);
      let k = 0;
      for (; k + 4 <= kb; k += 4) { acc = madd(v128.load(pa), v128.load(pb), acc); pa += 16; pb += 16; }
      let sum = hsum(acc);
      for (; k < kb; k++) { sum += load<f32>(pa) * load<f32>(pb); pa += 4; pb += 4; }
      const p = c + ((<usize>r * ldc + s) << 2);
      store<f32>(p, load<f32>(p) + sum);
    }
  }
}
