export { ready, rt } from './wasm.js';
export type { Kernels, KernelName, ReadyOptions, Runtime } from './wasm.js';
export { Block, f32, i32, reuseBlock, type BlockOwner } from './block.js';
export { WasmMemoryError } from './heap.js';
import { Block } from './block.js';
import { rt } from './wasm.js';

const gemmScratchBlocks: Block[] = [];

/**
 * The GEMM packing scratch of thread `thread` (0: the calling thread), shared by every layer:
 * kernels run one at a time on each thread.
 */
export function gemmScratch(thread = 0): number {
  let b = gemmScratchBlocks[thread];
  if (!b) b = gemmScratchBlocks[thread] = new Block(rt().kernels.gemmScratchFloats() * 4, 'the GEMM packing scratch');
  return b.ptr;
}

/**
 * C (+)= op(A)·op(B) over wasm tensors (byte offsets), row-major; see assembly/gemm.ts.
 * transA/transB: whether A is stored K×M / B is stored N×K.
 */
export function gemm(transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: number, lda: number, B: number, ldb: number, C: number, ldc: number, accumulate: boolean): void {
  rt().kernels.gemm(+transA, +transB, M, N, K, A, lda, B, ldb, C, ldc, +accumulate, gemmScratch());
}
