import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { gemm } from 'simdnet/internal';
import { rng, freshSeed, randn, toWasm, wasmOut, freeAll, assertClose } from './helpers.js';

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

test.run();
