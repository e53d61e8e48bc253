export { ready, rt } from './wasm.js';
export type { Kernels, ReadyOptions, Runtime } from './wasm.js';
export { Block, f32, i32, reuseBlock } from './block.js';
export { WasmMemoryError } from './heap.js';
import { Block } from './block.js';
import { rt } from './wasm.js';

let gemmScratchBlock: Block | null = null;

/** The GEMM packing scratch, shared by every layer (kernels run one at a time). */
export function gemmScratch(): number {
  gemmScratchBlock ??= new Block(rt().kernels.gemmScratchFloats() * 4, 'the GEMM packing scratch');
  return gemmScratchBlock.ptr;
}

/**
 * C (+)= op(A)·op(B) over wasm tensors (byte offsets), row-major; see assembly/gemm.ts.
 * transA/transB: whether A is stored K×M / B is stored N×K.
 */
export function gemm(transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: number, lda: number, B: number, ldb: number, C: number, ldc: number, accumulate: boolean): void {
  rt().kernels.gemm(+transA, +transB, M, N, K, A, lda, B, ldb, C, ldc, +accumulate, gemmScratch());
}
