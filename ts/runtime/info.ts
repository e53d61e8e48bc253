// Which kernels are loaded, as a public call: the browser bundle holds the whole library in one
// file, and importing `simdnet/internal` beside it would load a second, separate runtime.
import { ReadyOptions, ready as load, rt } from './wasm.js';

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

/**
 * Loads the wasm kernels: call (and await) once before building models. Resolves to what was
 * loaded (see backendInfo()). The options choose where the kernels come from and which build to
 * prefer; see ReadyOptions. Later calls with the same options, or none, resolve at once; a
 * different choice is refused with an Error (the kernels cannot be swapped under live models). A
 * failed load leaves the library unloaded, so a later ready() may try again.
 *
 * @example
 * import * as sn from 'simdnet';
 * await sn.ready();                                     // the embedded builds: nothing to serve
 * // or, at the first call instead: fetch simdnet-relaxed.wasm (or simdnet.wasm) from a directory
 * // await sn.ready({ wasmPath: '/assets/simdnet/' });
 */
export async function ready(options: ReadyOptions = {}): Promise<BackendInfo> {
  await load(options);
  return backendInfo();
}
