// The browser (and worker) implementation of the platform (see platform.ts), chosen by the
// `default` condition of the package's `#platform` import: everything outside Node. It imports
// nothing from Node; the file functions refuse, and the public functions that need them say
// what to use in a page instead before they get here.
import type { MessageWorker, Platform, Port, WorkerHandle } from './platform.js';
import { decodeBase64 } from '../runtime/base64.js';

/** The bytes a gzip stream holds, by the engine's DecompressionStream; an Error saying `missing` where there is none. */
async function inflate(data: Uint8Array<ArrayBuffer>, missing: string): Promise<Uint8Array<ArrayBuffer>> {
  if (typeof DecompressionStream !== 'function') throw new Error(missing);
  const stream = new DecompressionStream('gzip'), writer = stream.writable.getWriter();
  // Not awaited: the reads below drain what the writes fill (a write's promise waits on them).
  writer.write(data).catch(() => {});
  writer.close().catch(() => {});
  const reader = stream.readable.getReader(), parts: Uint8Array[] = [];
  let size = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) { parts.push(r.value); size += r.value.length; }
  const out = new Uint8Array(size);
  for (let i = 0, at = 0; i < parts.length; at += parts[i++].length) out.set(parts[i], at);
  return out;
}

function nodeOnly(what: string): never {
  throw new Error(`simdnet: ${what} needs Node (files on disk); this is a browser build of simdnet`);
}

export const platform: Platform = {
  node: false,
  enableRelaxedSimd(): void {},
  readFile: (path) => Promise.reject(new Error(`simdnet: reading the file ${String(path)} needs Node; in a page fetch it by URL instead`)),
  writeFileAtomic: (path) => Promise.reject(new Error(`simdnet: writing the file ${path} needs Node; in a page download the bytes instead`)),
  openFile: (path) => Promise.reject(new Error(`simdnet: reading the file ${path} needs Node; in a page fetch it by URL instead`)),
  joinPath: () => nodeOnly('a file path'),
  mnistDataDir: () => null,
  gunzip: (data) => inflate(data, 'simdnet: this JavaScript engine has no DecompressionStream (Firefox before 113, Safari before 16.4) ' +
    'to inflate the gzipped wasm builds simdnet embeds; give ready() a build itself: ready({ wasmPath }) with the package\'s build/ ' +
    'directory served, or ready({ wasm: { simd: bytes or URL } })'),
  cores: () => (typeof navigator !== 'undefined' && navigator.hardwareConcurrency > 0 ? navigator.hardwareConcurrency : 1),
  sharedMemoryUnavailable(): string | null {
    const g = globalThis as { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown };
    // Without COOP/COEP a page has no SharedArrayBuffer, or may not post one to a worker.
    if (g.crossOriginIsolated === false) {
      return 'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
    }
    if (typeof g.SharedArrayBuffer !== 'function') return 'this engine has no SharedArrayBuffer';
    if (typeof Worker !== 'function') return 'this context cannot start Web Workers';
    return null;
  },
  startWorker(source: string): WorkerHandle {
    const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    const worker = new Worker(url);
    URL.revokeObjectURL(url);
    return {
      post: (message) => worker.postMessage(message),
      onError: (f) => { worker.addEventListener('error', (e) => f(new Error(e.message || 'the worker failed to start'))); },
      terminate: () => worker.terminate(),
    };
  },
  async startTrainingWorker(): Promise<MessageWorker> {
    // A chunk of its own in bundlers that split dynamic imports: fetched only by a page that trains in a worker.
    const { default: packed } = await import('../runtime/embedded/worker.js');
    const source = new TextDecoder().decode(await inflate(decodeBase64(packed), 'simdnet: sn.worker needs DecompressionStream ' +
      '(Firefox 113, Safari 16.4 and later) to inflate the training worker\'s script simdnet embeds; this engine has none: ' +
      'train on the page with model.fit instead'));
    const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    let worker: Worker;
    try {
      worker = new Worker(url);
    } finally {
      URL.revokeObjectURL(url);
    }
    return {
      post: (message, transfer = []) => worker.postMessage(message, transfer),
      onMessage: (f) => { worker.addEventListener('message', (e) => f(e.data)); },
      onError: (f) => {
        worker.addEventListener('error', (e) => f(new Error(e.message || 'the training worker failed to start')));
        worker.addEventListener('messageerror', () => f(new Error('a message from the training worker could not be read')));
      },
      terminate: () => worker.terminate(),
    };
  },
  parentPort(): Port | null {
    const scope = globalThis as unknown as { WorkerGlobalScope?: new () => unknown; postMessage(m: unknown, t: Transferable[]): void; addEventListener(type: 'message', f: (e: MessageEvent) => void): void };
    if (typeof scope.WorkerGlobalScope !== 'function' || !(globalThis instanceof scope.WorkerGlobalScope)) return null;
    return {
      post: (message, transfer = []) => scope.postMessage(message, transfer),
      onMessage: (f) => scope.addEventListener('message', (e) => f(e.data)),
    };
  },
};
