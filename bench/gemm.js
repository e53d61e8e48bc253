// GFLOP/s of simdnet's GEMM (C = op(A)·op(B) on wasm buffers) at 512³ and at LeNet-5's shapes
// for batch 64, forward and backward forms, as the layers call it.
import { Block, f32, gemm } from 'simdnet/internal';
import { measure, invert } from './stats.js';

// [label, transA, transB, M, N, K]: transA means A is stored K×M, transB that B is stored N×K.
export const SHAPES = [
  ['512³', false, false, 512, 512, 512],
  ['conv1 W·cols 6×25 · 25×50176', false, false, 6, 50176, 25],
  ['conv1 dW = dY·colsᵀ 6×50176 · 50176×25', false, true, 6, 25, 50176],
  ['conv1 dcols = Wᵀ·dY 25×6 · 6×50176', true, false, 25, 50176, 6],
  ['conv2 W·cols 16×150 · 150×6400', false, false, 16, 6400, 150],
  ['conv2 dW = dY·colsᵀ 16×6400 · 6400×150', false, true, 16, 150, 6400],
  ['conv2 dcols = Wᵀ·dY 150×16 · 16×6400', true, false, 150, 6400, 16],
  ['linear x·Wᵀ 64×400 · 400×120', false, true, 64, 120, 400],
  ['linear dW = dYᵀ·x 120×64 · 64×400', true, false, 120, 400, 64],
  ['linear dx = dY·W 64×120 · 120×400', false, false, 64, 400, 120],
  // One image at a time, as an im2col convolution over a batch may call it.
  ['conv1 per image 6×25 · 25×784', false, false, 6, 784, 25],
  ['conv2 per image 16×150 · 150×64', false, false, 16, 64, 150],
];

function filled(n, seed) {
  const block = new Block(n * 4);
  const view = f32(block.ptr, n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; view[i] = s / 2 ** 32 - 0.5; }
  return block;
}

/** [{ label, M, N, K, transA, transB, gflops: {median,min,max}, ms }] */
export function measureGemm({ quick = false } = {}) {
  return SHAPES.map(([label, transA, transB, M, N, K], i) => {
    const A = filled(M * K, 1 + i), B = filled(K * N, 100 + i), C = new Block(M * N * 4);
    const lda = transA ? M : K, ldb = transB ? K : N;
    try {
      const ms = measure(() => gemm(transA, transB, M, N, K, A.ptr, lda, B.ptr, ldb, C.ptr, N, false),
        { warmup: 3, samples: quick ? 3 : 9, minMs: quick ? 10 : 30 });
      const gflops = invert(ms, (t) => (2 * M * N * K) / (t * 1e6));
      return { label, M, N, K, transA, transB, ms, gflops };
    } finally {
      A.free(); B.free(); C.free();
    }
  });
}
