// Which kernels are loaded, as a public call: the browser bundle holds the whole library in one
// file, and importing `simdnet/internal` beside it would load a second, separate runtime.
import { rt } from './wasm.js';

/** What backendInfo() reports about the loaded kernels. */
export interface BackendInfo {
  /** Whether the relaxed-SIMD (fused multiply-add) build was loaded. */
  relaxedSimd: boolean;
  /** The wasm memory's current size in bytes. */
  memoryBytes: number;
}

/** What `ready()` loaded; throws a clear Error before it has finished. */
export function backendInfo(): BackendInfo {
  const { relaxedSimd, memory } = rt();
  return { relaxedSimd, memoryBytes: memory.buffer.byteLength };
}
