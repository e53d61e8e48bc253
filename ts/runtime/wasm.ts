// Loads and instantiates the kernels once, with a memory owned here.
import { platform } from '#platform';
import { Heap } from './heap.js';
import { decodeBase64 } from './base64.js';
import { withSharedMemory } from './shared-memory.js';
import { ThreadPool, defaultThreads, MAX_THREADS } from './threads.js';
import { fetchBytes, firstBytes, isResponse, type ByteSource } from '../io/source.js';
import { anything, checkOptions } from '../options.js';
import { describe, isPlainObject } from '../describe.js';
import type { KernelExports, KernelName } from './embedded/kernels.js';

/**
 * The raw kernel exports: plain functions over byte offsets and sizes, typed from the build
 * (embedded/kernels.ts, which scripts/embed-wasm.js writes from asc's bindings).
 */
export type Kernels = KernelExports;
export type { KernelName };

/**
 * Where one wasm build comes from: its bytes (an ArrayBuffer or a typed array), a URL to fetch
 * (a string is a path in Node, and relative to the page in a browser), a `Response` (from
 * `fetch()`, not yet read), or a compiled `WebAssembly.Module`.
 */
export type WasmSource = string | URL | Response | ArrayBuffer | ArrayBufferView | WebAssembly.Module;

/**
 * A source per build of the kernels, named after the builds; `ready()` picks one when it loads.
 * Builds left out are not used. The shared-memory builds for threads, when they come, will be
 * `simdThreads` and `relaxedSimdThreads` beside these.
 *
 * @example
 * // Vite: serve the builds as separate files rather than the ones embedded in the JavaScript.
 * import simd from 'simdnet/simdnet.wasm?url';
 * import relaxedSimd from 'simdnet/simdnet-relaxed.wasm?url';
 * await sn.ready({ wasm: { simd, relaxedSimd } });
 */
export interface WasmBuilds {
  /** The plain SIMD build (`simdnet.wasm`): runs in every engine with wasm SIMD. */
  simd?: WasmSource;
  /**
   * The relaxed-SIMD build (`simdnet-relaxed.wasm`, fused multiply-add): used when the engine
   * has relaxed SIMD and `relaxedSimd` is not false.
   */
  relaxedSimd?: WasmSource;
}

/** Options of `ready()`: where the kernels come from, and which build to prefer. */
export interface ReadyOptions {
  /**
   * Where the kernels come from. Default: the builds embedded in the package's JavaScript, so no
   * file needs serving and no bundler needs any setting.
   * - `{ simd, relaxedSimd }` (a {@link WasmBuilds}): a source per build; `ready()` picks the
   *   relaxed-SIMD one when the engine runs it (and `relaxedSimd` is not false), else the plain one.
   * - One source (bytes, a URL, a Response, a Module): that module, whichever build it is.
   */
  wasm?: WasmSource | WasmBuilds;
  /**
   * A directory (URL or, in Node, a path) holding `simdnet.wasm` and `simdnet-relaxed.wasm`, as
   * TensorFlow.js's `setWasmPaths` takes; only the build that `ready()` picks is fetched. Builds
   * named in `wasm: { … }` come from there instead. Example: `ready({ wasmPath: '/assets/simdnet/' })`.
   */
  wasmPath?: string | URL;
  /**
   * Use the relaxed-SIMD build (fused multiply-add) when the engine accepts it. Default true,
   * unless the environment variable SIMDNET_RELAXED_SIMD=0 says otherwise (Node). Chosen at the
   * first ready() call: a later call asking for the other build is refused.
   */
  relaxedSimd?: boolean;
  /**
   * How many threads the kernels run on: the calling thread and `threads − 1` workers over one
   * shared memory. Default: the cores there are, at most 8 (`setNumThreads()` changes it later).
   * Where memory cannot be shared (a page without cross-origin isolation, a compiled
   * WebAssembly.Module given as `wasm`), one thread, and `backendInfo().fallbackReason` says why.
   */
  threads?: number;
}

export interface Runtime {
  memory: WebAssembly.Memory;
  kernels: Kernels;
  heap: Heap;
  /** Whether the loaded build uses relaxed SIMD. */
  relaxedSimd: boolean;
  /** The worker threads over the shared memory, or null (one thread: `fallbackReason` says why). */
  pool: ThreadPool | null;
  /** Why the kernels run on one thread whatever is asked, or null. */
  fallbackReason: string | null;
  /** The compiled kernel module (its memory import shared when `pool` is not null): a training worker instantiates it again. */
  module: WebAssembly.Module;
}

let runtime: Runtime | null = null;
let loading: Promise<Runtime> | null = null;
/** What the first ready() asked for, kept while its runtime loads or is loaded: later calls must agree. */
let chosen: { relaxedSimd: boolean; wasm: ReadyOptions['wasm']; wasmPath: ReadyOptions['wasmPath'] } | null = null;

const INITIAL_PAGES = 256; // 16 MiB
const MAX_PAGES = 65536;   // 4 GiB, the wasm32 limit; must not exceed the build's maximumMemory

/**
 * The functions simdnet's kernel module exports (assembly/index.ts), all of which the runtime may
 * call: a module passed to ready() must have every one (a test keeps this list equal to the build's).
 */
export const KERNEL_EXPORTS: readonly KernelName[] = [
  'heapBase', 'relaxedSimdBuild', 'gemmScratchFloats', 'gemm', 'countNonFinite', 'fill', 'addInto',
  'biasRows', 'biasGradRows', 'conv2dColsFloats', 'conv2dAlgorithm', 'conv2dWinogradWeightGrad', 'conv2dFusesActivation', 'conv2dSnapshotFloats', 'conv2dSnapshot', 'conv2dForwardAct', 'conv2dForwardAffine', 'gemmAct', 'gemmRowsSplit', 'conv2dForward', 'conv2dBackward', 'conv2dBatchSplits', 'conv2dInputGrad', 'conv2dInputGradWeightsFloats', 'conv2dInputGradWeights', 'conv2dInputGradPass', 'conv2dBatchGranule', 'conv2dWeightGradSplits', 'conv2dWeightGradRange', 'conv2dWeightGradRangeFloats', 'conv2dWeightGradTapUnit', 'conv2dWeightGradTapsFloats', 'conv2dWeightGradTaps', 'conv2dBackwardTaps', 'conv2dWeightGradRowSplits', 'conv2dWeightGradChunks', 'conv2dWeightGradSumsFloats', 'conv2dWeightGradRowsFloats', 'conv2dWeightGradPart', 'conv2dWeightGradFinish', 'conv2dDepthwiseSplits', 'conv2dDepthwiseBackwardRange', 'conv2dInputGradChannelSplits', 'conv2dInputGradChannels', 'conv2dForwardChannelSplits', 'conv2dForwardActChannels',
  'winogradScratchFloats', 'winogradForward', 'winogradInputGrad',
  'winogradF4x4ScratchFloats', 'winogradF4x4Forward', 'winogradF4x4InputGrad', 'winogradWeightGradScratchFloats', 'winogradWeightGrad',
  'winogradF2x2K5ScratchFloats', 'winogradF2x2K5Forward', 'winogradF2x2K5InputGrad', 'winogradF4x4K5ScratchFloats', 'winogradF4x4K5Forward', 'winogradF4x4K5InputGrad', 'flatScratchFloats', 'flatForward', 'flatBackward',
  'winogradF4x4WeightGradScratchFloats', 'winogradF4x4WeightGrad', 'winogradF2x2K5WeightGradScratchFloats', 'winogradF2x2K5WeightGrad',
  'winogradF4x4K5WeightGradScratchFloats', 'winogradF4x4K5WeightGrad',
  'maxPool2dForward', 'maxPool2x2Backward', 'maxPool2dBackward', 'avgPool2dForward', 'avgPool2dBackward',
  'adaptiveAvgPool2dForward', 'adaptiveAvgPool2dBackward', 'sgdStep', 'adamStep', 'reluForward', 'reluBackward',
  'leakyReluForward', 'leakyReluBackward', 'sigmoidForward', 'sigmoidBackward', 'tanhForward', 'tanhBackward',
  'softmaxForward', 'logSoftmaxForward', 'softmaxBackward', 'logSoftmaxBackward', 'crossEntropyForward', 'nllForward',
  'mseForward', 'bceWithLogitsForward', 'dropoutApply', 'batchNormStats', 'batchNormStatsRange', 'batchNormCoefficients', 'channelAffineAct', 'activationChecked', 'batchNormUpdateRunning',
  'batchNormBackward', 'batchNormBackwardRange', 'relu6Forward', 'relu6Backward', 'hardswishForward', 'hardswishBackward', 'siluForward',
  'siluBackward', 'geluForward', 'geluBackward', 'geluTanhForward', 'geluTanhBackward', 'eluForward', 'eluBackward',
  'dropout2dApply', 'addForward', 'mulForward', 'mulScalar', 'addBroadcastMid', 'mulBroadcastMid', 'mulBroadcastMidGrad',
  'sumToMid', 'sumOverMid', 'broadcastMid', 'broadcastOverMid', 'copyRows',
];

/** The builds of the kernels: their file in build/ and the module that embeds them. */
const BUILDS = {
  simd: { file: 'simdnet.wasm', name: 'plain SIMD', relaxed: false, embedded: () => import('./embedded/simd.js') },
  relaxedSimd: { file: 'simdnet-relaxed.wasm', name: 'relaxed-SIMD', relaxed: true, embedded: () => import('./embedded/relaxed-simd.js') },
} as const;
type BuildName = keyof typeof BUILDS;
const BUILD_NAMES = Object.keys(BUILDS) as BuildName[];

/**
 * Loads the kernels once and resolves to the runtime (memory, kernels, heap): the loader behind
 * the public `sn.ready()` (info.ts), which documents the options and rules.
 */
export function ready(options: ReadyOptions = {}): Promise<Runtime> {
  try {
    checkReadyOptions(options);
  } catch (err) {
    return Promise.reject(err);
  }
  if (chosen) {
    return loading!.then((r) => {
      checkSameChoice(options, r);
      // The thread count is no choice of build: a later call changes it, as setNumThreads() does.
      if (options.threads === undefined || !r.pool) return r;
      r.pool.resize(options.threads);
      return r.pool.whenStarted().then(() => r);
    });
  }
  chosen = { relaxedSimd: options.relaxedSimd ?? relaxedSimdByDefault(), wasm: options.wasm, wasmPath: options.wasmPath };
  loading = instantiate(options, chosen.relaxedSimd).then((r) => (runtime = r), (err) => { loading = null; chosen = null; throw err; });
  return loading;
}

/** Whether v is one wasm source (not an object of builds). */
function isSource(v: unknown): v is WasmSource {
  return typeof v === 'string' || v instanceof URL || isResponse(v) || v instanceof WebAssembly.Module ||
    v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

const SOURCE_KINDS = 'the module\'s bytes (an ArrayBuffer or a typed array), a URL, a Response, or a WebAssembly.Module';

/** Throws on an option of the wrong type, which would otherwise be coerced (5 → five zero bytes). */
function checkReadyOptions(options: ReadyOptions): void {
  if (options === null || typeof options !== 'object') throw new Error(`simdnet: ready(options): options must be an object, got ${typeOf(options)}`);
  checkOptions('simdnet: ready(options)', options, { wasm: anything, wasmPath: anything, relaxedSimd: anything, threads: anything });
  const { wasm, wasmPath, relaxedSimd, threads } = options;
  if (threads !== undefined) checkThreadCount('simdnet: ready({ threads })', threads);
  if (relaxedSimd !== undefined && typeof relaxedSimd !== 'boolean') {
    throw new Error(`simdnet: ready({ relaxedSimd }): expected true or false, got ${typeOf(relaxedSimd)}`);
  }
  if (wasmPath !== undefined && !((typeof wasmPath === 'string' && wasmPath !== '') || wasmPath instanceof URL)) {
    throw new Error(`simdnet: ready({ wasmPath }): expected the URL (or, in Node, the path) of a directory holding ` +
      `${BUILD_NAMES.map((b) => BUILDS[b].file).join(' and ')}, got ${describe(wasmPath)}`);
  }
  if (wasm === undefined || isSource(wasm)) {
    if (wasm !== undefined && wasmPath !== undefined) {
      throw new Error('simdnet: ready({ wasm, wasmPath }): one wasm module and a directory of builds exclude each other; ' +
        'pass one, or name the module\'s build: { wasm: { simd: … } }');
    }
    return;
  }
  if (!isPlainObject(wasm)) {
    throw new Error(`simdnet: ready({ wasm }): expected ${SOURCE_KINDS}, or an object of them per build ` +
      `({ ${BUILD_NAMES.join(', ')} }), got ${typeOf(wasm)}`);
  }
  checkOptions('simdnet: ready({ wasm })', wasm, Object.fromEntries(BUILD_NAMES.map((b) => [b, anything])));
  for (const build of BUILD_NAMES) {
    const v = (wasm as WasmBuilds)[build];
    if (v !== undefined && !isSource(v)) throw new Error(`simdnet: ready({ wasm: { ${build} } }): expected ${SOURCE_KINDS}, got ${describe(v)}`);
  }
  if (wasmPath === undefined && BUILD_NAMES.every((b) => (wasm as WasmBuilds)[b] === undefined)) {
    throw new Error(`simdnet: ready({ wasm }): the object names no build; give ${BUILD_NAMES.join(' or ')} (or leave wasm out for the embedded builds)`);
  }
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return /^[aeiou]/.test(typeof v) ? `an ${typeof v}` : `a ${typeof v}`;
}

/** The loaded runtime, unless `options` ask for another build or module than the first ready() did. */
function checkSameChoice(options: ReadyOptions, r: Runtime): Runtime {
  const given = chosen!.wasm !== undefined ? ', from the wasm given to the first ready()'
    : chosen!.wasmPath !== undefined ? ', from the wasmPath given to the first ready()' : '';
  const loaded = `the kernels are already loaded (the ${r.relaxedSimd ? 'relaxed-SIMD' : 'plain SIMD'} build${given})`;
  const { relaxedSimd, wasm, wasmPath } = options;
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
  if (wasmPath !== undefined && String(wasmPath) !== String(chosen!.wasmPath)) {
    throw new Error(`simdnet: ready({ wasmPath }): ${loaded}; where the wasm comes from is chosen at the first ready() call`);
  }
  return r;
}

/** Whether two `wasm` options name the same modules: the same objects, URLs or bytes, build by build. */
function sameWasm(a: NonNullable<ReadyOptions['wasm']>, b: ReadyOptions['wasm']): boolean {
  if (a === b) return true;
  if (b === undefined || isSource(a) !== isSource(b)) return false;
  if (!isSource(a)) {
    const x = a as WasmBuilds, y = b as WasmBuilds;
    return BUILD_NAMES.every((k) => (x[k] === undefined ? y[k] === undefined : sameSource(x[k]!, y[k])));
  }
  return sameSource(a, b as WasmSource);
}

function sameSource(a: WasmSource, b: WasmSource | undefined): boolean {
  if (a === b) return true;
  if (b === undefined || a instanceof WebAssembly.Module || b instanceof WebAssembly.Module || isResponse(a) || isResponse(b)) return false;
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

async function instantiate(options: ReadyOptions, wantRelaxed: boolean): Promise<Runtime> {
  // Before any compile: a relaxed build passed in as bytes needs the Node flag too.
  if (wantRelaxed) platform.enableRelaxedSimd();
  // The module's bytes (null for a compiled module given), and what to call it in messages
  // (null for the embedded builds, which are not checked).
  let bytes: Uint8Array<ArrayBuffer> | null = null, compiled: WebAssembly.Module | null = null;
  let given: string | null = null;
  let build: BuildName | null = null;
  const { wasm, wasmPath } = options;
  if (wasm !== undefined && isSource(wasm)) {
    given = 'ready({ wasm })';
    if (wasm instanceof WebAssembly.Module) compiled = wasm;
    else bytes = await sourceBytes(wasm as ByteSource | BufferSource, given, 'the wasm kernels');
  } else {
    const builds = wasm as WasmBuilds | undefined;
    build = pickBuild(builds, wasmPath, wantRelaxed);
    const source = builds?.[build] ?? (wasmPath !== undefined ? joinPath(wasmPath, BUILDS[build].file) : undefined);
    if (source === undefined) {
      bytes = await platform.gunzip(decodeBase64((await BUILDS[build].embedded()).default));
    } else {
      given = builds?.[build] !== undefined ? `ready({ wasm: { ${build} } })` : 'ready({ wasmPath })';
      if (source instanceof WebAssembly.Module) compiled = source;
      else bytes = await sourceBytes(source as ByteSource | BufferSource, given, `the ${BUILDS[build].name} build (${BUILDS[build].file})`);
    }
  }
  // Shared memory wherever it can be had, so that setNumThreads() may add threads later.
  let fallbackReason = platform.sharedMemoryUnavailable();
  if (fallbackReason === null && bytes === null) fallbackReason = 'a compiled WebAssembly.Module was given to ready(): threads need the module\'s bytes to share its memory';
  if (fallbackReason === null) {
    const shared = withSharedMemory(bytes!);
    if (shared) bytes = shared as Uint8Array<ArrayBuffer>;
    else fallbackReason = 'the kernel module imports no memory with a maximum, which a shared memory needs';
  }
  const shared = fallbackReason === null;
  const module = compiled ?? (given ? await compileGiven(bytes!, given) : await WebAssembly.compile(bytes!));
  if (given) checkKernelModule(module, given);
  return start(module, shared, fallbackReason, given, build, options.threads);
}

/**
 * Instantiates the kernel module on a memory of simdnet's (shared when `shared`, as the module's
 * import then declares), checks that it is simdnet's (and the build named, if any), and starts
 * the thread pool.
 */
async function start(module: WebAssembly.Module, shared: boolean, fallbackReason: string | null, given: string | null,
  build: BuildName | null, threads: number | undefined): Promise<Runtime> {
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared });
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, { env: { memory } });
  } catch (err) {
    // A module with the right names may still declare other memory limits, or trap at start.
    if (!given) throw err;
    throw new Error(`simdnet: ${given}: the module cannot run on simdnet's memory (${INITIAL_PAGES}..${MAX_PAGES} pages): ${(err as Error).message}`);
  }
  const kernels = instance.exports as unknown as Kernels;
  const base = kernels.heapBase();
  const kind = kernels.relaxedSimdBuild();
  const wrong = [];
  if (!Number.isInteger(base) || base <= 0 || base >= INITIAL_PAGES * 65536) wrong.push(`heapBase() returns ${base}, expected an offset inside the first ${INITIAL_PAGES * 64} KiB`);
  if (kind !== 0 && kind !== 1) wrong.push(`relaxedSimdBuild() returns ${kind}, expected 0 or 1`);
  if (wrong.length) throw new Error(`simdnet: ${given ?? 'ready()'}: not simdnet's kernel module: its ${wrong.join(', and its ')}`);
  if (build !== null && BUILDS[build].relaxed !== (kind === 1)) {
    const other = BUILDS[build].relaxed ? 'simd' : 'relaxedSimd';
    throw new Error(`simdnet: ${given}: that module is simdnet's ${BUILDS[other].name} build (${BUILDS[other].file}), ` +
      `not the ${BUILDS[build].name} one (${BUILDS[build].file}); pass it as wasm.${other}`);
  }
  const pool = shared ? new ThreadPool(module, memory, kernels, KERNEL_EXPORTS) : null;
  pool?.resize(threads ?? defaultThreads());
  await pool?.whenStarted();
  // Asked of the module itself, so it is right for bytes or a module passed in as well.
  return { memory, kernels, heap: new Heap(memory, base), relaxedSimd: kind === 1, pool, fallbackReason, module };
}

/**
 * Loads the kernels of a training worker from the page's compiled module (`Runtime.module`,
 * posted to the worker): the same build, so training there gives the page's numbers bit for
 * bit, and a shared memory with `threads` threads when the page's module imports one. Nothing
 * is fetched or compiled again. The first load of this context, as ready() is.
 */
export function readyFromModule(module: WebAssembly.Module, shared: boolean, threads: number): Promise<Runtime> {
  if (chosen) return Promise.reject(new Error('simdnet: the kernels of this worker are already loaded'));
  const fallbackReason = shared ? null : 'the page\'s kernels run on one thread (its memory is not shared)';
  chosen = { relaxedSimd: true, wasm: module, wasmPath: undefined };
  loading = start(module, shared, fallbackReason, null, null, threads).then((r) => (runtime = r), (err) => { loading = null; chosen = null; throw err; });
  return loading;
}

/** Throws unless n is a whole number of threads from 1 to MAX_THREADS. */
export function checkThreadCount(where: string, n: unknown): asserts n is number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new Error(`${where}: expected a whole number of threads from 1 to ${MAX_THREADS}, got ${describe(n)}`);
  }
}

/**
 * The build to load: relaxed SIMD when asked for, offered and runnable here, else the plain
 * build; an Error when the builds offered leave nothing to load. With neither `wasm` nor
 * `wasmPath`, both embedded builds are offered; with `wasmPath`, both (from there, or from
 * `wasm` where it names them); with `wasm: { … }` alone, the builds it names.
 */
function pickBuild(builds: WasmBuilds | undefined, wasmPath: ReadyOptions['wasmPath'], wantRelaxed: boolean): BuildName {
  const offered = (b: BuildName) => builds === undefined || wasmPath !== undefined || builds[b] !== undefined;
  const engineHasRelaxed = relaxedSimdRuns();
  if (wantRelaxed && engineHasRelaxed && offered('relaxedSimd')) return 'relaxedSimd';
  if (offered('simd')) return 'simd';
  const why = !wantRelaxed ? 'relaxedSimd is false (or SIMDNET_RELAXED_SIMD=0)' : 'this engine does not run relaxed SIMD';
  throw new Error(`simdnet: ready({ wasm }): only the relaxed-SIMD build is given, and ${why}: ` +
    `add the plain SIMD build (${BUILDS.simd.file}) as wasm.simd`);
}

/**
 * A tiny module using one relaxed-SIMD instruction (f32x4.relaxed_madd): whether it validates
 * tells whether this engine runs the relaxed build, before anything is fetched.
 */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type: (v128, v128, v128) -> v128
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // local.get ×3, relaxed_madd
]);

function relaxedSimdRuns(): boolean {
  return WebAssembly.validate(RELAXED_SIMD_PROBE);
}

/** The address of `file` in the directory `dir` (a '/' is put between when missing). */
function joinPath(dir: string | URL, file: string): string | URL {
  if (dir instanceof URL) return new URL(file, dir.href.endsWith('/') ? dir : `${dir.href}/`);
  return /[/\\]$/.test(dir) ? dir + file : `${dir}/${file}`;
}

/** The bytes of a source given to ready(), refused with what came instead when they are not wasm. */
async function sourceBytes(src: ByteSource | BufferSource, given: string, what: string): Promise<Uint8Array<ArrayBuffer>> {
  if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) return new Uint8Array(bytesOf(src)); // a private copy: the caller may reuse or transfer its buffer
  const fetched = await fetchBytes(src, `simdnet: ${given}`, what);
  const { bytes } = fetched;
  if (bytes.length < 4 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error(`simdnet: ${given}: ${fetched.from} is not WebAssembly: it came ` +
      `${fetched.contentType ? `as ${fetched.contentType}` : 'with no content type'}, ${bytes.length} bytes starting with ${firstBytes(bytes)}, ` +
      'not with wasm\'s "\\0asm" (00 61 73 6d). A server that answers a missing file with a page (a dev server\'s index.html) does this: ' +
      `serve simdnet's ${BUILD_NAMES.map((b) => BUILDS[b].file).join(' and ')} there (they are in node_modules/simdnet/build/, ` +
      'exported as simdnet/simdnet.wasm and simdnet/simdnet-relaxed.wasm), or leave out wasm and wasmPath to use the builds embedded in simdnet');
  }
  return bytes;
}

/**
 * Throws an Error naming what is missing unless the module looks like simdnet's kernels: it
 * imports exactly the memory env.memory and exports every kernel in KERNEL_EXPORTS as a function.
 * Checked before instantiation, so a module lacking them never runs (nor gets our memory).
 */
function checkKernelModule(module: WebAssembly.Module, given: string): void {
  const imports = WebAssembly.Module.imports(module);
  const foreign = imports.filter((i) => !(i.module === 'env' && i.name === 'memory' && i.kind === 'memory'));
  if (foreign.length || imports.length !== 1) {
    const found = imports.length ? imports.map((i) => `${i.module}.${i.name} (${i.kind})`).slice(0, 5).join(', ') : 'nothing';
    throw new Error(`simdnet: ${given}: not simdnet's kernel module: it imports ${found}${imports.length > 5 ? ', ...' : ''}, ` +
      'but simdnet\'s kernels import exactly one thing, the memory env.memory');
  }
  const functions = new Set(WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name));
  const missing = KERNEL_EXPORTS.filter((name) => !functions.has(name));
  if (missing.length) {
    const names = missing.slice(0, 6).join(', ') + (missing.length > 6 ? `, and ${missing.length - 6} more` : '');
    throw new Error(`simdnet: ${given}: not simdnet's kernel module (or one of another version): it lacks ` +
      `${missing.length} of the ${KERNEL_EXPORTS.length} kernel functions: ${names}`);
  }
}

/** Lets a run (such as the test suite's second pass) use the plain SIMD build without code changes. */
function relaxedSimdByDefault(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.SIMDNET_RELAXED_SIMD !== '0';
}

/** Compiles bytes passed to ready(), or an Error that says what they are not. */
async function compileGiven(bytes: Uint8Array<ArrayBuffer>, given: string): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes);
  } catch (err) {
    throw new Error(`simdnet: ${given}: the ${bytes.length} bytes are not a WebAssembly module this engine can compile ` +
      `(a relaxed-SIMD build needs an engine with relaxed SIMD): ${(err as Error).message}`);
  }
}

/** A view of a BufferSource's bytes (no copy). */
function bytesOf(src: BufferSource): Uint8Array {
  return ArrayBuffer.isView(src) ? new Uint8Array(src.buffer, src.byteOffset, src.byteLength) : new Uint8Array(src);
}
