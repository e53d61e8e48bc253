import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { gemm, rt, gemmScratch } from 'simdnet/internal';
import { rng, freshSeed, randn, toWasm, wasmOut, freeAll, assertClose, bits } from './helpers.js';

await sn.ready();

/** Plain float64 C = beta·C0 + op(A)·op(B). */
function refGemm(tA, tB, M, N, K, A, lda, B, ldb, C0, ldc, acc) {
  const C = Float64Array.from(C0);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += (tA ? A[k * lda + i] : A[i * lda + k]) * (tB ? B[j * ldb + k] : B[k * ldb + j]);
    C[i * ldc + j] = (acc ? C[i * ldc + j] : 0) + s;
  }
  return C;
}

const shapes = [
  [1, 1, 1], [1, 7, 3], [5, 1, 9], [4, 8, 16], [3, 5, 7], [13, 17, 19], [6, 25, 50],
  [16, 150, 100], [37, 300, 29], [130, 9, 2100], [64, 120, 400], [2, 2061, 3],
  // Long K with small M and N: weight-gradient shapes (A·Bᵀ takes the dot-product path).
  [6, 25, 1201], [16, 150, 1030], [5, 3, 4099], [1, 7, 2000],
];

for (const [M, N, K] of shapes) {
  for (const tA of [false, true]) for (const tB of [false, true]) for (const acc of [false, true]) {
    test(`gemm M=${M} N=${N} K=${K} transA=${tA} transB=${tB} accumulate=${acc}`, () => {
      const seed = freshSeed(), rand = rng(seed);
      // Padded leading dimensions check that strides are honoured.
      const lda = (tA ? M : K) + 3, ldb = (tB ? K : N) + 2, ldc = N + 1;
      const A = randn((tA ? K : M) * lda, rand), B = randn((tB ? N : K) * ldb, rand), C0 = randn(M * ldc, rand);
      const a = toWasm(A), b = toWasm(B), c = toWasm(C0);
      gemm(tA, tB, M, N, K, a.ptr, lda, b.ptr, ldb, c.ptr, ldc, acc);
      const expected = refGemm(tA, tB, M, N, K, A, lda, B, ldb, C0, ldc, acc);
      const got = c.view();
      // Padding columns of C must be untouched.
      for (let i = 0; i < M; i++) assert.is(got[i * ldc + N], Math.fround(C0[i * ldc + N]), `seed ${seed}: padding column of row ${i} was written`);
      assertClose(got, expected, { rtol: 1e-4, atol: 2e-5 * Math.sqrt(K) + 1e-5, what: `seed ${seed}` });
      freeAll(a, b, c);
    });
  }
}

test('gemm with K = 0 overwrites C with zeros, or leaves it when accumulating', () => {
  const c = toWasm([1, 2, 3, 4]);
  gemm(false, false, 2, 2, 0, c.ptr, 1, c.ptr, 1, c.ptr, 2, true);
  assert.equal([...c.view()], [1, 2, 3, 4]);
  gemm(false, false, 2, 2, 0, c.ptr, 1, c.ptr, 1, c.ptr, 2, false);
  assert.equal([...c.view()], [0, 0, 0, 0]);
  freeAll(c);
});

// Rows of C a range may take alone (the threads' split of a Linear): M, N, K and the cuts, each on
// a multiple of 4 rows but the end; both paths (blocked, and dot products for A·Bᵀ with long K).
const ROW_SPLITS = [
  [13, 17, 19, [0, 4, 13]], [37, 300, 29, [0, 20, 36, 37]], [64, 120, 400, [0, 32, 64]],
  [130, 9, 2100, [0, 64, 128, 130]], [6, 25, 1201, [0, 4, 6]], [71, 10, 84, [0, 24, 48, 71]],
];

for (const [M, N, K, cuts] of ROW_SPLITS) {
  test(`gemm by ranges of rows ${cuts} (M=${M} N=${N} K=${K}): each range alone gets the whole product's bits, close to float64`, () => {
    const k = rt().kernels, seed = freshSeed(), rand = rng(seed);
    for (const tA of [0, 1]) for (const tB of [0, 1]) for (const act of [0, 1]) {
      const lda = (tA ? M : K) + 3, ldb = (tB ? K : N) + 2, ldc = N + 1;
      const A = randn((tA ? K : M) * lda, rand), B = randn((tB ? N : K) * ldb, rand), C0 = randn(M * ldc, rand);
      const a = toWasm(A), b = toWasm(B), whole = toWasm(C0), split = toWasm(C0);
      const what = `seed ${seed} transA=${tA} transB=${tB} act=${act}`;
      k.gemmAct(tA, tB, M, N, K, a.ptr, lda, b.ptr, ldb, whole.ptr, ldc, 1, gemmScratch(), act);
      for (let i = 0; i + 1 < cuts.length; i++) {
        const r0 = cuts[i], Mi = cuts[i + 1] - r0;
        assert.is(k.gemmRowsSplit(tA, tB, M, N, K, r0, Mi), 1, `${what}: rows ${r0}+${Mi} split`);
        k.gemmAct(tA, tB, Mi, N, K, a.ptr + r0 * (tA ? 1 : lda) * 4, lda, b.ptr, ldb, split.ptr + r0 * ldc * 4, ldc, 1, gemmScratch(), act);
      }
      assert.equal(bits(split.view()), bits(whole.view()), `${what}: the ranges' bits`);
      const ref = refGemm(!!tA, !!tB, M, N, K, A, lda, B, ldb, C0, ldc, true);
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) if (act) ref[i * ldc + j] = Math.max(ref[i * ldc + j], 0);
      assertClose(split.view(), ref, { rtol: 1e-4, atol: 2e-5 * Math.sqrt(K) + 1e-5, what });
      freeAll(a, b, whole, split);
    }
  });
}

test('gemmRowsSplit refuses ranges off the 4-row tiles, out of bounds, or taking another path than the whole', () => {
  const k = rt().kernels;
  assert.is(k.gemmRowsSplit(0, 0, 10, 8, 8, 2, 4), 0, 'a range starting inside a tile');
  assert.is(k.gemmRowsSplit(0, 0, 10, 8, 8, 0, 6), 0, 'a range ending inside a tile, not at M');
  assert.is(k.gemmRowsSplit(0, 0, 10, 8, 8, 8, 2), 1, 'the last range ends at M');
  assert.is(k.gemmRowsSplit(0, 0, 10, 8, 8, 8, 4), 0, 'past M');
  assert.is(k.gemmRowsSplit(0, 0, 10, 8, 8, 0, 0), 0, 'empty');
  // A·Bᵀ, K ≥ 256: 256 rows by 200 columns is blocked, 124 rows of it would be dot products.
  assert.is(k.gemmRowsSplit(0, 1, 256, 200, 300, 0, 124), 0, 'a range taking the dot-product path');
  assert.is(k.gemmRowsSplit(0, 1, 256, 200, 300, 0, 128), 1, 'blocked, whole and range');
  assert.is(k.gemmRowsSplit(0, 1, 256, 100, 300, 0, 128), 1, 'dot products, whole and range');
  assert.is(k.gemmRowsSplit(1, 1, 256, 200, 300, 0, 128), 1, 'transposed A: blocked, whole and range');
});

test.run();
