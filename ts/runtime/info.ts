// Which kernels are loaded, as a public call: the browser bundle holds the whole library in one
// file, and importing `simdnet/internal` beside it would load a second, separate runtime.
import { ReadyOptions, ready as load, rt, checkThreadCount } from './wasm.js';

/** What backendInfo() reports about the loaded kernels. */
export interface BackendInfo {
  /** Whether the relaxed-SIMD (fused multiply-add) build was loaded. */
  relaxedSimd: boolean;
  /** The wasm memory's current size in bytes. */
  memoryBytes: number;
  /**
   * The threads the kernels run on: the calling thread and the workers asked for by ready() or
   * setNumThreads() (1 where memory cannot be shared).
   */
  threads: number;
  /** Whether the wasm memory is shared (a SharedArrayBuffer), which threads need. */
  sharedMemory: boolean;
  /** Why the kernels run on one thread whatever is asked (no shared memory here, a worker that failed), or null. */
  fallbackReason: string | null;
  /** Kernel calls split over several threads so far: whether the threads are in use. */
  splitCalls: number;
}

/** What `ready()` loaded; throws a clear Error before it has finished. */
export function backendInfo(): BackendInfo {
  const { relaxedSimd, memory, pool, fallbackReason } = rt();
  return {
    relaxedSimd, memoryBytes: memory.buffer.byteLength,
    threads: pool?.wanted ?? 1, sharedMemory: pool !== null,
    fallbackReason: fallbackReason ?? pool?.failure ?? null,
    splitCalls: pool?.runs ?? 0,
  };
}

/**
 * Loads the wasm kernels: call (and await) once before building models. Resolves to what was
 * loaded (see backendInfo()). The options choose where the kernels come from, which build to
 * prefer and how many threads run them; see ReadyOptions. Later calls with the same options, or
 * none, resolve at once (one giving `threads` sets the thread count, as setNumThreads()); a
 * different build or source is refused with an Error (the kernels cannot be swapped under live
 * models). A failed load leaves the library unloaded, so a later ready() may try again.
 *
 * @example
 * import * as sn from 'simdnet';
 * await sn.ready();                                     // the embedded builds: nothing to serve
 * // or, at the first call instead: fetch simdnet-relaxed.wasm (or simdnet.wasm) from a directory
 * // await sn.ready({ wasmPath: '/assets/simdnet/' });
 * // await sn.ready({ threads: 1 });                    // no worker threads
 */
export async function ready(options: ReadyOptions = {}): Promise<BackendInfo> {
  await load(options);
  return backendInfo();
}

/**
 * Sets how many threads the kernels run on, as PyTorch's `torch.set_num_threads`: the calling
 * thread and n − 1 workers over the shared wasm memory (started or stopped now; a new worker
 * takes work once it has loaded the kernels). Results are the same whatever the count: a kernel's
 * work is split so that no sum depends on it. Where memory cannot be shared the kernels stay on
 * one thread (backendInfo().fallbackReason says why).
 *
 * @example
 * await sn.ready();
 * sn.setNumThreads(2);
 * sn.getNumThreads();   // 2 (1 without shared memory)
 */
export function setNumThreads(n: number): void {
  checkThreadCount('simdnet: setNumThreads(n)', n);
  rt().pool?.resize(n);
}

/** The thread count the kernels run on (setNumThreads(), or ready()'s default): 1 without shared memory. */
export function getNumThreads(): number {
  return rt().pool?.wanted ?? 1;
}
