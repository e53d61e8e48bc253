// Loads and instantiates the kernels once, with a memory owned here.
import { Heap } from './heap.js';

/** The raw kernel exports: plain functions over byte offsets and sizes. */
export type Kernels = Record<string, (...args: number[]) => number>;

export interface ReadyOptions {
  /** The compiled wasm: bytes, a URL to fetch, or a compiled module. Defaults to the packaged build. */
  wasm?: BufferSource | URL | string | WebAssembly.Module;
  /**
   * Use the relaxed-SIMD build (fused multiply-add) when the engine accepts it. Default true,
   * unless the environment variable SIMDNET_RELAXED_SIMD=0 says otherwise (Node). Chosen at the
   * first ready() call: a later call asking for the other build is refused.
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
/** What the first ready() asked for, kept while its runtime loads or is loaded: later calls must agree. */
let chosen: { relaxedSimd: boolean; wasm: ReadyOptions['wasm'] } | null = null;

const INITIAL_PAGES = 256; // 16 MiB
const MAX_PAGES = 65536;   // 4 GiB, the wasm32 limit; must not exceed the build's maximumMemory

/**
 * The functions simdnet's kernel module exports (assembly/index.ts), all of which the runtime may
 * call: a module passed to ready() must have every one (a test keeps this list equal to the build's).
 */
export const KERNEL_EXPORTS: readonly string[] = [
  'heapBase', 'relaxedSimdBuild', 'gemmScratchFloats', 'gemm', 'gemmDot', 'countNonFinite', 'fill', 'addInto', 'addFloats',
  'biasRows', 'biasGradRows', 'biasChannels', 'biasGradChannels', 'conv2dColsFloats', 'conv2dForward', 'conv2dBackward',
  'maxPool2dForward', 'maxPool2x2Backward', 'maxPool2dBackward', 'avgPool2dForward', 'avgPool2dBackward',
  'adaptiveAvgPool2dForward', 'adaptiveAvgPool2dBackward', 'sgdStep', 'adamStep', 'reluForward', 'reluBackward',
  'leakyReluForward', 'leakyReluBackward', 'sigmoidForward', 'sigmoidBackward', 'tanhForward', 'tanhBackward',
  'softmaxForward', 'logSoftmaxForward', 'softmaxBackward', 'logSoftmaxBackward', 'crossEntropyForward', 'nllForward',
  'mseForward', 'bceWithLogitsForward', 'dropoutApply', 'batchNormStats', 'batchNormApply', 'batchNormUpdateRunning',
  'batchNormBackward',
];

/**
 * Loads the wasm kernels. Call (and await) once before building models. Later calls with the
 * same options, or none, return the loaded runtime; a different choice of build (`relaxedSimd`)
 * or of `wasm` is refused with an Error, as the kernels cannot be swapped under live models: make
 * it at the first call. A failed load (a module that is not simdnet's, say) leaves the library
 * unloaded, so a later ready() may try again.
 */
export function ready(options: ReadyOptions = {}): Promise<Runtime> {
  try {
    checkReadyOptions(options);
  } catch (err) {
    return Promise.reject(err);
  }
  if (chosen) return loading!.then((r) => checkSameChoice(options, r));
  chosen = { relaxedSimd: options.relaxedSimd ?? relaxedSimdByDefault(), wasm: options.wasm };
  loading = instantiate(options).then((r) => (runtime = r), (err) => { loading = null; chosen = null; throw err; });
  return loading;
}

/** Throws on an option of the wrong type, which would otherwise be coerced (5 → five zero bytes). */
function checkReadyOptions(options: ReadyOptions): void {
  if (options === null || typeof options !== 'object') throw new Error(`simdnet: ready(options): options must be an object, got ${typeOf(options)}`);
  const { wasm, relaxedSimd } = options;
  if (relaxedSimd !== undefined && typeof relaxedSimd !== 'boolean') {
    throw new Error(`simdnet: ready({ relaxedSimd }): expected true or false, got ${typeOf(relaxedSimd)}`);
  }
  const ok = wasm === undefined || typeof wasm === 'string' || wasm instanceof URL || wasm instanceof WebAssembly.Module ||
    wasm instanceof ArrayBuffer || ArrayBuffer.isView(wasm);
  if (!ok) {
    throw new Error(`simdnet: ready({ wasm }): expected the module's bytes (an ArrayBuffer or a typed array), a URL, ` +
      `or a WebAssembly.Module, got ${typeOf(wasm)}`);
  }
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return /^[aeiou]/.test(typeof v) ? `an ${typeof v}` : `a ${typeof v}`;
}

/** The loaded runtime, unless `options` ask for another build or module than the first ready() did. */
function checkSameChoice(options: ReadyOptions, r: Runtime): Runtime {
  const loaded = `the kernels are already loaded (the ${r.relaxedSimd ? 'relaxed-SIMD' : 'plain SIMD'} build` +
    `${chosen!.wasm === undefined ? '' : ', from the wasm given to the first ready()'})`;
  const { relaxedSimd, wasm } = options;
  // Asking for what is loaded is fine, also when the first call asked for relaxed SIMD and the
  // engine had only the plain build.
  const otherBuild = relaxedSimd === false ? r.relaxedSimd : relaxedSimd === true && !chosen!.relaxedSimd;
  if (otherBuild) {
    throw new Error(`simdnet: ready({ relaxedSimd: ${relaxedSimd} }): ${loaded}; the build is chosen at the first ready() call ` +
      '(pass relaxedSimd there, or set SIMDNET_RELAXED_SIMD=0 in Node before it)');
  }
  if (wasm !== undefined && !sameWasm(wasm, chosen!.wasm)) {
    throw new Error(`simdnet: ready({ wasm }): ${loaded}; the wasm to load is chosen at the first ready() call`);
  }
  return r;
}

/** Whether two `wasm` options name the same module: the same object, URL or bytes. */
function sameWasm(a: NonNullable<ReadyOptions['wasm']>, b: ReadyOptions['wasm']): boolean {
  if (a === b) return true;
  if (b === undefined || a instanceof WebAssembly.Module || b instanceof WebAssembly.Module) return false;
  const isAddress = (v: unknown) => typeof v === 'string' || v instanceof URL;
  if (isAddress(a) || isAddress(b)) return isAddress(a) && isAddress(b) && String(a) === String(b);
  const x = bytesOf(a as BufferSource), y = bytesOf(b as BufferSource);
  return x.length === y.length && x.every((v, i) => v === y[i]);
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
    module = await compileGiven(await toBytes(options.wasm));
  } else {
    let bytes: Uint8Array<ArrayBuffer> | null = null;
    if (wantRelaxed) {
      const candidate = await packagedBytes('simdnet-relaxed.wasm');
      if (WebAssembly.validate(candidate)) bytes = candidate;
    }
    bytes ??= await packagedBytes('simdnet.wasm');
    module = await WebAssembly.compile(bytes);
  }
  if (options.wasm !== undefined) checkKernelModule(module);
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES });
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, { env: { memory } });
  } catch (err) {
    // A module with the right names may still declare other memory limits, or trap at start.
    if (options.wasm === undefined) throw err;
    throw new Error(`simdnet: ready({ wasm }): the module cannot run on simdnet's memory (${INITIAL_PAGES}..${MAX_PAGES} pages): ${(err as Error).message}`);
  }
  const kernels = instance.exports as unknown as Kernels;
  const base = kernels.heapBase();
  const build = kernels.relaxedSimdBuild();
  const wrong = [];
  if (!Number.isInteger(base) || base <= 0 || base >= INITIAL_PAGES * 65536) wrong.push(`heapBase() returns ${base}, expected an offset inside the first ${INITIAL_PAGES * 64} KiB`);
  if (build !== 0 && build !== 1) wrong.push(`relaxedSimdBuild() returns ${build}, expected 0 or 1`);
  if (wrong.length) throw new Error(`simdnet: ready({ wasm }): not simdnet's kernel module: its ${wrong.join(', and its ')}`);
  // Asked of the module itself, so it is right for bytes or a module passed in as well.
  return { memory, kernels, heap: new Heap(memory, base), relaxedSimd: build === 1 };
}

/**
 * Throws an Error naming what is missing unless the module looks like simdnet's kernels: it
 * imports exactly the memory env.memory and exports every kernel in KERNEL_EXPORTS as a function.
 * Checked before instantiation, so a module lacking them never runs (nor gets our memory).
 */
function checkKernelModule(module: WebAssembly.Module): void {
  const imports = WebAssembly.Module.imports(module);
  const foreign = imports.filter((i) => !(i.module === 'env' && i.name === 'memory' && i.kind === 'memory'));
  if (foreign.length || imports.length !== 1) {
    const found = imports.length ? imports.map((i) => `${i.module}.${i.name} (${i.kind})`).slice(0, 5).join(', ') : 'nothing';
    throw new Error(`simdnet: ready({ wasm }): not simdnet's kernel module: it imports ${found}${imports.length > 5 ? ', ...' : ''}, ` +
      'but simdnet\'s kernels import exactly one thing, the memory env.memory');
  }
  const functions = new Set(WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name));
  const missing = KERNEL_EXPORTS.filter((name) => !functions.has(name));
  if (missing.length) {
    const names = missing.slice(0, 6).join(', ') + (missing.length > 6 ? `, and ${missing.length - 6} more` : '');
    throw new Error(`simdnet: ready({ wasm }): not simdnet's kernel module (or one of another version): it lacks ` +
      `${missing.length} of the ${KERNEL_EXPORTS.length} kernel functions: ${names}`);
  }
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

/** Compiles bytes passed to ready(), or an Error that says what they are not. */
async function compileGiven(bytes: Uint8Array<ArrayBuffer>): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes);
  } catch (err) {
    throw new Error(`simdnet: ready({ wasm }): the ${bytes.length} bytes are not a WebAssembly module this engine can compile ` +
      `(a relaxed-SIMD build needs an engine with relaxed SIMD): ${(err as Error).message}`);
  }
}

/** A view of a BufferSource's bytes (no copy). */
function bytesOf(src: BufferSource): Uint8Array {
  return ArrayBuffer.isView(src) ? new Uint8Array(src.buffer, src.byteOffset, src.byteLength) : new Uint8Array(src);
}

async function toBytes(src: BufferSource | URL | string): Promise<Uint8Array<ArrayBuffer>> {
  if (typeof src === 'string' || src instanceof URL) {
    const res = await fetch(src);
    if (!res.ok) throw new Error(`simdnet: cannot fetch the wasm kernels from ${String(src)}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  return new Uint8Array(bytesOf(src)); // a private copy: the caller may reuse or transfer its buffer
}
