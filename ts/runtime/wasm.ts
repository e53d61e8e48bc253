// Loads and instantiates the kernels once, with a memory owned here.
import { Heap } from './heap.js';

/** The raw kernel exports: plain functions over byte offsets and sizes. */
export type Kernels = Record<string, (...args: number[]) => number>;

export interface ReadyOptions {
  /** The compiled wasm: bytes, a URL to fetch, or a compiled module. Defaults to the packaged build. */
  wasm?: BufferSource | URL | string | WebAssembly.Module;
  /**
   * Use the relaxed-SIMD build (fused multiply-add) when the engine accepts it. Default true,
   * unless the environment variable SIMDNET_RELAXED_SIMD=0 says otherwise (Node).
   */
  relaxedSimd?: boolean;
}

export interface Runtime {
  memory: WebAssembly.Memory;
  kernels: Kernels;
  heap: Heap;
  /** Whether the loaded build uses relaxed SIMD. */
  relaxedSimd: boolean;
}

let runtime: Runtime | null = null;
let loading: Promise<Runtime> | null = null;

const INITIAL_PAGES = 256; // 16 MiB
const MAX_PAGES = 65536;   // 4 GiB, the wasm32 limit; must not exceed the build's maximumMemory

/** Loads the wasm kernels. Call (and await) once before building models; later calls return at once. */
export function ready(options: ReadyOptions = {}): Promise<Runtime> {
  if (runtime) return Promise.resolve(runtime);
  if (!loading) {
    loading = instantiate(options).then((r) => (runtime = r), (err) => { loading = null; throw err; });
  }
  return loading;
}

/** The loaded runtime; throws a clear Error when `ready()` has not finished. */
export function rt(): Runtime {
  if (!runtime) throw new Error('simdnet: the wasm kernels are not loaded; call `await sn.ready()` first');
  return runtime;
}

async function instantiate(options: ReadyOptions): Promise<Runtime> {
  const wantRelaxed = options.relaxedSimd ?? relaxedSimdByDefault();
  // Before any compile: a relaxed build passed in as bytes needs the Node flag too.
  if (wantRelaxed) await enableRelaxedSimdInNode();
  let module: WebAssembly.Module;
  if (options.wasm instanceof WebAssembly.Module) {
    module = options.wasm;
  } else if (options.wasm !== undefined) {
    module = await WebAssembly.compile(await toBytes(options.wasm));
  } else {
    let bytes: Uint8Array<ArrayBuffer> | null = null;
    if (wantRelaxed) {
      const candidate = await packagedBytes('simdnet-relaxed.wasm');
      if (WebAssembly.validate(candidate)) bytes = candidate;
    }
    bytes ??= await packagedBytes('simdnet.wasm');
    module = await WebAssembly.compile(bytes);
  }
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES });
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const kernels = instance.exports as unknown as Kernels;
  const heap = new Heap(memory, kernels.heapBase());
  // Asked of the module itself, so it is right for bytes or a module passed in as well.
  return { memory, kernels, heap, relaxedSimd: kernels.relaxedSimdBuild() === 1 };
}

/** Lets a run (such as the test suite's second pass) use the plain SIMD build without code changes. */
function relaxedSimdByDefault(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.SIMDNET_RELAXED_SIMD !== '0';
}

/**
 * Node 20 (V8 11.3) validates relaxed SIMD only behind a flag, which may still be set before the
 * module is compiled. Fused multiply-add measured +33% on GEMM there. Browsers never reach this
 * (no process.versions.node), and a Node that refuses the flag simply keeps the plain build.
 */
async function enableRelaxedSimdInNode(): Promise<void> {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (!proc?.versions?.node) return;
  try {
    const v8 = await import('node:v8');
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    // No node:v8 (a bundled or sandboxed runtime): the validate() check below decides.
  }
}

/**
 * Set at bundle time only: the browser bundle (dist/simdnet.browser.js) sits one directory above
 * this module's tsc output (dist/runtime/wasm.js), so its way to build/ is shorter.
 */
declare const SIMDNET_BUILD_DIR: string | undefined;

/** The packaged builds' directory relative to this module; `ready({ wasm })` overrides the file. */
const BUILD_DIR = typeof SIMDNET_BUILD_DIR === 'string' ? SIMDNET_BUILD_DIR : '../../build/';

async function packagedBytes(file: string): Promise<Uint8Array<ArrayBuffer>> {
  const url = new URL(BUILD_DIR + file, import.meta.url);
  if (url.protocol === 'file:') {
    const fs = await import('node:fs/promises');
    return new Uint8Array(await fs.readFile(url));
  }
  return toBytes(url);
}

async function toBytes(src: BufferSource | URL | string): Promise<Uint8Array<ArrayBuffer>> {
  if (typeof src === 'string' || src instanceof URL) {
    const res = await fetch(src);
    if (!res.ok) throw new Error(`simdnet: cannot fetch the wasm kernels from ${String(src)}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  const view = ArrayBuffer.isView(src) ? new Uint8Array(src.buffer, src.byteOffset, src.byteLength) : new Uint8Array(src);
  return new Uint8Array(view); // a private copy: the caller may reuse or transfer its buffer
}
