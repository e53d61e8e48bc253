// Training off the calling thread: fit run in a Web Worker (a worker thread in Node), so a page
// stays responsive while a model trains. What crosses is data only: the model as a safetensors
// file with its architecture, the rows as transferred typed arrays, the options as plain values
// (an optimizer or loss as { type, ...options }); callbacks become events on the page's side.
import { Module } from '../module.js';
import { Tensor } from '../tensor.js';
import { platform } from '#platform';
import { rt } from '../runtime/wasm.js';
import { nextU32, checkSeed } from '../random.js';
import { ARCHITECTURE_METADATA_KEY, ZOO_METADATA_KEY, loadSafetensorsInto, modelToSafetensors } from '../io/model-file.js';
import { checkData, type Target } from '../train/targets.js';
import type { EpochLogs } from '../train/callbacks.js';
import { claimForTraining, type FitHistory } from '../train/fit.js';
import { batchSizeRule, checkModel } from '../train/fit-options.js';
import { boolean, checkOptions, checkValue, described, either, finite, integer, oneOf, type Spec } from '../options.js';
import { checkThreadCount } from '../runtime/wasm.js';
import { describe } from '../describe.js';
import type { BackendInfo } from '../runtime/info.js';
import { checkLossSpec, checkOptimizerSpec } from './specs.js';
import type { AbortMessage, DataMessage, LossSpec, OptimizerSpec, StartMessage, SyncPoint, SyncRequest, WorkerBatchLogs, WorkerMessage } from './protocol.js';

export type { LossSpec, OptimizerSpec, SyncPoint, WorkerBatchLogs } from './protocol.js';

const WHERE = 'worker.fit';

/** The options of worker.fit(): fit's, as data. */
export interface WorkerFitOptions {
  /** Passes over the training rows. Default 1. */
  epochs?: number;
  /** Rows per training step. Default 32. */
  batchSize?: number;
  /** The optimizer as data, e.g. `{ type: 'SGD', lr: 0.1, momentum: 0.9 }`. Default `{ type: 'Adam', lr: 1e-3 }`. */
  optimizer?: OptimizerSpec;
  /** The loss as data, e.g. `{ type: 'CrossEntropyLoss', labelSmoothing: 0.1 }`. Default: by y, as fit's. */
  loss?: LossSpec;
  /** Fraction of the rows held out for validation, in (0, 1), as fit's. Default 0. */
  validationSplit?: number;
  /** Validation data given apart: [x, y] tensors and labels or targets (not a Dataset), as fit's. */
  validationData?: [Tensor, Target];
  /** Shuffle the training rows every epoch; default true. */
  shuffle?: boolean;
  /**
   * Seeds the fit's generator, as fit's. Without it the seed is drawn from the global generator on
   * the calling side, as fit draws it: `sn.manualSeed(n)` then worker.fit trains to the weights
   * fit would.
   */
  seed?: number;
  /** Stops the training at the end of a batch, as job.abort(). */
  signal?: AbortSignal;
  /**
   * Threads the worker's kernels run on (it starts workers of its own over a shared memory, where
   * the calling side's memory is shared). Default: the calling side's count, sn.getNumThreads().
   */
  threads?: number;
}

/** The events of a {@link TrainingJob} and what each listener gets. */
export interface TrainingEvents {
  /** After each training step: fit's BatchLogs and the epoch's images per second so far. */
  batch: WorkerBatchLogs;
  /** After each epoch and its validation: fit's EpochLogs. */
  epoch: EpochLogs;
}

const spec: Spec = {
  epochs: described(integer(1), 'a positive integer'),
  batchSize: batchSizeRule,
  optimizer: { expected: 'an optimizer spec such as { type: \'SGD\', lr: 0.1 }', test: () => true },
  loss: { expected: 'a loss spec such as { type: \'CrossEntropyLoss\' }', test: () => true },
  validationSplit: either([oneOf(0), finite({ min: 0, max: 1, minOpen: true, maxOpen: true })], 'in (0, 1)'),
  validationData: { expected: 'a pair [x, y] (a Tensor and its labels or targets)', test: (v) => Array.isArray(v) && v.length === 2 },
  shuffle: boolean,
  seed: described(integer(), 'a safe integer (it is used modulo 2^32)'),
  signal: { expected: 'an AbortSignal', test: (v) => typeof v === 'object' && v !== null && typeof (v as { aborted?: unknown }).aborted === 'boolean' },
  threads: { expected: 'a whole number of threads', test: () => true },
};

/** fit's options that have no meaning across a worker, and what to do instead. */
const NOT_IN_A_WORKER: Record<string, string> = {
  callbacks: 'listen to the job\'s events instead: job.on(\'batch\', f), job.on(\'epoch\', f)',
  scheduler: 'a scheduler is an object over an optimizer object; none crosses to a worker',
  transforms: 'transforms are objects; augment the rows before worker.fit, or train with sn.fit',
  checkpoint: 'save the model when job.done resolves',
  verbose: 'a worker prints nothing; progress comes as the job\'s events',
  progressStream: 'a worker prints nothing; progress comes as the job\'s events',
};

/**
 * A training run in a worker, from {@link fit}: its progress as events, `sync()` for the weights
 * so far, `abort()`, and `done`, the history once the trained weights are back in the caller's model.
 *
 * @example
 * ```js
 * const job = sn.worker.fit(model, x, labels, { epochs: 2, batchSize: 64, seed: 1 });
 * job.on('batch', (logs) => console.log(logs.batch, logs.loss, logs.imagesPerSecond));
 * stopButton.onclick = () => job.abort();
 * const history = await job.done; // model now holds the trained weights
 * ```
 */
export class TrainingJob {
  /**
   * Resolves to fit's history once the worker's trained weights are loaded into the model (also
   * after abort(): `stopReason` 'abort', the weights as of the last finished batch); rejects with
   * the worker's Error when training fails there, the model as it was (or as the last sync() left it).
   */
  readonly done: Promise<FitHistory>;
  readonly #listeners: { [K in keyof TrainingEvents]: ((logs: TrainingEvents[K]) => void)[] } = { batch: [], epoch: [] };
  /**
   * What the worker's kernels were once training ended (its sn.backendInfo(): threads, shared
   * memory, split calls), or null before.
   */
  workerInfo: BackendInfo | null = null;
  #post: ((m: AbortMessage | SyncRequest) => void) | null = null;
  #aborted = false;
  /** The sync asked for and not answered yet: every sync() meanwhile gets its promise. */
  #pending: { promise: Promise<SyncPoint>; resolve: (p: SyncPoint) => void; reject: (e: Error) => void } | null = null;
  /** Set once done has settled: why sync() is refused from then on. */
  #ended: string | null = null;
  /** The last batch the page heard of, for the sync point of the final weights. */
  #last: { epoch: number; batch: number } | null = null;

  /** @internal Made by worker.fit(). */
  constructor(start: (job: TrainingJob) => Promise<FitHistory>) {
    // Settled here, before done itself, so that code after `await job.done` finds a pending
    // sync resolved with the final weights and sync() refused.
    this.done = start(this).then((history) => {
      this.#ended = `the training has finished (stopReason ${describe(history.stopReason)}); the model holds its final weights since job.done resolved`;
      this.#pending?.resolve({ steps: history.batchLoss.length, epoch: this.#last?.epoch ?? null, batch: this.#last?.batch ?? null });
      this.#pending = null;
      return history;
    }, (err: Error) => {
      this.#ended = `the training failed (${err?.message ?? describe(err)})`;
      this.#pending?.reject(new Error(`TrainingJob.sync: the training failed before the weights came: ${err?.message ?? describe(err)}`, { cause: err }));
      this.#pending = null;
      throw err;
    });
  }

  /**
   * Calls `listener` at every `event`: 'batch' after each step (epoch, batch, batches, size, loss,
   * accuracy, imagesPerSecond), 'epoch' after each epoch (fit's EpochLogs). Returns the job.
   */
  on<K extends keyof TrainingEvents>(event: K, listener: (logs: TrainingEvents[K]) => void): this {
    if (!Object.hasOwn(this.#listeners, event)) {
      throw new Error(`TrainingJob.on: no event ${describe(event)}; the events are ${Object.keys(this.#listeners).map((e) => `'${e}'`).join(' and ')}`);
    }
    checkValue('TrainingJob.on', 'listener', listener, { expected: 'a function', test: (v) => typeof v === 'function' });
    this.#listeners[event].push(listener);
    return this;
  }

  /**
   * Stops training at the end of the batch running when the worker reads the request (it reads
   * the page's messages between batches, at least every 50 ms, as fit yields); `done` then
   * resolves with stopReason 'abort', unless the training ended first.
   */
  abort(): void {
    this.#aborted = true;
    this.#post?.({ type: 'abort' });
  }

  /**
   * Loads the weights the worker has now into the caller's model, while it trains: resolves at
   * the end of the worker's next batch, once the model holds the state (weights and buffers such
   * as BatchNorm's running statistics) the worker's model had then, with where that was
   * (`{ steps, epoch, batch }`: after `steps` training steps, the last one batch `batch`, from 0,
   * of epoch `epoch`, from 1). The state crosses as a safetensors file whose buffer is moved, not
   * copied, and is loaded in one synchronous step after every tensor of it was checked: a
   * `predict()` between syncs sees the weights of one batch, never a mix, and a failed load leaves
   * the model as it was. (An `evaluate()` over a Dataset awaits between its batches: a sync
   * answered meanwhile would change the weights under it, so let the syncs rest while it runs.) The worker's training is not disturbed: it only reads its weights, and
   * ends on the weights it would reach unsynced, bit for bit.
   *
   * Pull, not push: the weights come only when asked, so a page that asks at its own pace (after
   * it has drawn with the last ones) never has a backlog of copies. A call while one is in flight
   * gets the same promise (one transfer, the same weights). A sync still in flight when training
   * ends resolves once `done` has loaded the final weights (rejects if training failed). A call
   * after `done` settled, or after `abort()`, rejects with an Error: the weights then come with
   * `done`. The model must not be disposed while the job runs.
   *
   * @example
   * ```js
   * const job = sn.worker.fit(model, x, labels, { epochs: 5, batchSize: 64 });
   * let training = true;
   * job.done.then(() => { training = false; }, () => { training = false; });
   * while (training) {
   *   const at = await job.sync().catch(() => null);  // null once training has ended
   *   if (at) label.textContent = `after ${at.steps} steps: ${model.predictClasses(drawing)[0]}`;
   *   await new Promise((ok) => setTimeout(ok, 400));   // at most every 400 ms, never piling up
   * }
   * await job.done; // the final weights
   * ```
   */
  sync(): Promise<SyncPoint> {
    if (this.#ended !== null) return Promise.reject(new Error(`TrainingJob.sync: ${this.#ended}`));
    if (this.#aborted) {
      return Promise.reject(new Error('TrainingJob.sync: the training was aborted; job.done resolves once the model holds the weights of the last batch run'));
    }
    if (this.#pending) return this.#pending.promise;
    let resolve!: (p: SyncPoint) => void, reject!: (e: Error) => void;
    const promise = new Promise<SyncPoint>((ok, fail) => { resolve = ok; reject = fail; });
    this.#pending = { promise, resolve, reject };
    this.#post?.({ type: 'sync' });
    return promise;
  }

  /** @internal Calls the listeners; returns what one threw (training then stops with it, as with a fit callback), or null. */
  emit<K extends keyof TrainingEvents>(event: K, logs: TrainingEvents[K]): unknown {
    if (event === 'batch') this.#last = logs as WorkerBatchLogs;
    try {
      for (const f of this.#listeners[event]) f(logs);
      return null;
    } catch (err) {
      return err ?? new Error(`a '${event}' listener threw ${describe(err)}`);
    }
  }

  /**
   * @internal How abort() and sync() reach the worker, once it runs: an abort or a sync asked
   * for before is passed on at once.
   */
  connect(post: (m: AbortMessage | SyncRequest) => void): void {
    this.#post = post;
    if (this.#pending) post({ type: 'sync' });
    if (this.#aborted) post({ type: 'abort' });
  }

  /**
   * @internal The worker's answer to a sync: `load` loads its weights into the model; the pending
   * sync resolves with `point`, or rejects with why the weights could not be loaded.
   */
  answerSync(point: SyncPoint, load: () => void): void {
    const pending = this.#pending;
    if (pending === null || this.#ended !== null) return; // none asked, or done has settled it already
    this.#pending = null;
    try {
      load();
    } catch (err) {
      pending.reject(new Error(`TrainingJob.sync: the weights after ${point.steps} step${point.steps === 1 ? '' : 's'} could not be loaded into the model: ${(err as Error).message}`, { cause: err }));
      return;
    }
    pending.resolve(point);
  }
}

/**
 * Trains `model` as fit(model, x, y, options) does, in a Web Worker (Node: a worker thread), and
 * returns at once with the job: progress comes as its events, and `job.done` resolves to fit's
 * history once the trained weights are loaded back into `model` (put in eval mode, as fit leaves
 * it); `await job.sync()` loads the weights so far into `model` while it trains. Every argument is checked here first (an Error names what is wrong and nothing starts);
 * an Error in the worker (a batch that does not fit the model, memory running out) rejects
 * `job.done` with the worker's message, `model` unchanged. While the job runs the model is
 * claimed: fit on it is refused, as for a second fit.
 *
 * What crosses to the worker is data: the model as a safetensors file with its architecture (a
 * Sequential of built-in layers or a model of sn.models; a module class of your own cannot be
 * rebuilt there), the rows as typed arrays moved, not shared (copies of x and y: yours stay),
 * the options as values. The worker loads the kernels this side loaded (the same build), so with
 * the same seed it trains to the weights sn.fit would, bit for bit. Threads: the worker runs its
 * own pool of `threads` over a shared memory where this side's memory is shared (a page served
 * with COOP/COEP headers); otherwise one thread.
 *
 * @param model A Sequential of built-in layers or a model of sn.models.
 * @param x The inputs [N, ...], a float32 Tensor.
 * @param y N class labels or a float32 Tensor target, as fit's.
 * @param options See {@link WorkerFitOptions}: fit's options as data (no callbacks: events).
 *
 * @example
 * ```js
 * await sn.ready();
 * const model = sn.models.lenet5();
 * const job = sn.worker.fit(model, x, labels, {
 *   epochs: 1, batchSize: 64, seed: 1, optimizer: { type: 'Adam', lr: 1e-3 },
 * });
 * job.on('batch', (logs) => { progress.textContent = `${logs.batch + 1}/${logs.batches} loss ${logs.loss.toFixed(3)}`; });
 * const history = await job.done;
 * model.predict(x); // the trained weights
 * ```
 */
export function fit(model: Module, x: Tensor, y: Target, options: WorkerFitOptions = {}): TrainingJob {
  checkModel(WHERE, model);
  // Claimed before the seed is drawn, so that a refusal leaves the global generator as it was.
  const release = claimForTraining(model, WHERE);
  let plan: ReturnType<typeof prepare>;
  try {
    plan = prepare(model, x, y, options);
  } catch (err) {
    release();
    throw err;
  }
  return new TrainingJob((job) => run(job, model, plan, options.signal).finally(release));
}

/** Everything checked and turned into the start message (with its transfer list). */
function prepare(model: Module, x: Tensor, y: Target, options: WorkerFitOptions): { message: StartMessage; transfer: ArrayBuffer[] } {
  const runtime = rt();
  if (typeof options === 'object' && options !== null) {
    for (const [key, instead] of Object.entries(NOT_IN_A_WORKER)) {
      if ((options as Record<string, unknown>)[key] !== undefined) throw new Error(`${WHERE}: options.${key} is not an option in a worker (${instead})`);
    }
  }
  refuseFunctions(options, 'options');
  checkOptions(WHERE, options, spec);
  if (options.threads !== undefined) checkThreadCount(`${WHERE}: options.threads`, options.threads);
  if (options.validationSplit && options.validationData) throw new Error(`${WHERE}: give validationSplit or validationData, not both`);
  if (options.optimizer !== undefined) checkOptimizerSpec(WHERE, options.optimizer, model);
  if (options.loss !== undefined) checkLossSpec(WHERE, options.loss);
  const data = dataMessage(WHERE, x, y);
  const validationData = options.validationData ? dataMessage(`${WHERE}: validationData`, ...options.validationData) : null;
  const bytes = modelFile(model);
  const inputShape = [Math.min(options.batchSize ?? 32, x.shape[0]), ...x.shape.slice(1)];
  try {
    model.outputShape(inputShape);
  } catch (err) {
    throw new Error(`${WHERE}: x's rows do not fit the model: ${(err as Error).message}`, { cause: err });
  }
  const seed = options.seed === undefined ? nextU32() : checkSeed(options.seed, WHERE);
  const plain = { epochs: options.epochs, batchSize: options.batchSize, validationSplit: options.validationSplit, shuffle: options.shuffle, seed };
  const message: StartMessage = {
    type: 'start', module: runtime.module, shared: runtime.pool !== null, threads: options.threads ?? runtime.pool?.wanted ?? 1,
    model: bytes, data, validationData, options: plain, optimizer: options.optimizer ?? null, loss: options.loss ?? null,
  };
  const buffers = [bytes, data.x, data.labels, data.targets, validationData?.x, validationData?.labels, validationData?.targets];
  return { message, transfer: buffers.filter((b) => b != null).map((b) => b!.buffer as ArrayBuffer) };
}

/** Throws naming the first function found in the options (none can cross to a worker). */
function refuseFunctions(v: unknown, path: string, depth = 0): void {
  if (typeof v === 'function') {
    throw new Error(`${WHERE}: ${path} is a function, which cannot cross to a worker; give data instead`);
  }
  if (depth > 4 || typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || v instanceof Tensor) return;
  if (Array.isArray(v)) v.forEach((e, i) => refuseFunctions(e, `${path}[${i}]`, depth + 1));
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const [k, e] of Object.entries(v)) refuseFunctions(e, `${path}.${k}`, depth + 1);
}

/** x and y checked as fit checks them, as fresh arrays the message may move. */
function dataMessage(where: string, x: Tensor, y: Target): DataMessage {
  const d = checkData(where, x, y);
  // A tensor on the device comes out as a copy already; a host one is its own array, which stays the caller's.
  return {
    x: x.onDevice ? d.x : d.x.slice(), xShape: [...x.shape], labels: d.labels ? d.labels.slice() : null,
    targets: d.targets ? ((y as Tensor).onDevice ? d.targets : d.targets.slice()) : null,
    targetShape: d.targets ? [(y as Tensor).shape[0], ...d.targetShape] : [],
  };
}

/** The model as a file the worker can rebuild it from, or an Error saying why it cannot be. */
function modelFile(model: Module): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = modelToSafetensors(model);
  } catch (err) {
    throw new Error(`${WHERE}: ${(err as Error).message}`, { cause: err });
  }
  const metadata = metadataOf(bytes);
  if (!Object.hasOwn(metadata, ARCHITECTURE_METADATA_KEY) && !Object.hasOwn(metadata, ZOO_METADATA_KEY)) {
    throw new Error(`${WHERE}: the model (${model.label()}) is not a Sequential of built-in layers nor a model of sn.models, so the ` +
      'worker cannot rebuild it from a file; train it with sn.fit, or build it from built-in layers');
  }
  return bytes;
}

/** The `__metadata__` of a safetensors file we wrote: its header alone is read, no tensor. */
function metadataOf(bytes: Uint8Array): Record<string, string> {
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as { __metadata__?: Record<string, string> };
  return header.__metadata__ ?? {};
}

/** Starts the worker, relays its events, and settles with the trained weights loaded (or the worker's Error). */
async function run(job: TrainingJob, model: Module, plan: { message: StartMessage; transfer: ArrayBuffer[] }, signal?: AbortSignal): Promise<FitHistory> {
  const worker = await platform.startTrainingWorker();
  try {
    const outcome = await new Promise<Done>((resolve, reject) => {
      worker.onError((err) => reject(new Error(`${WHERE}: the training worker failed: ${err.message}`, { cause: err })));
      worker.onMessage((m) => relay(job, model, m as WorkerMessage, resolve, reject));
      // An abort or a sync asked for already goes before the start: the worker takes them in
      // order, so it sees them before its first batch (after the start it reads messages only
      // when fit yields, every 50 ms, and a short run in a page may end before that).
      if (signal?.aborted) job.abort();
      job.connect((m) => worker.post(m));
      worker.post(plan.message, plan.transfer);
      signal?.addEventListener('abort', () => job.abort(), { once: true });
    });
    loadSafetensorsInto(model, outcome.model, 'the model trained by the worker');
    job.workerInfo = outcome.info;
    if (outcome.history.stopReason !== 'abort') model.eval();
    return outcome.history;
  } finally {
    worker.terminate();
  }
}

type Done = Extract<WorkerMessage, { type: 'done' }>;

function relay(job: TrainingJob, model: Module, m: WorkerMessage, resolve: (o: Done) => void, reject: (e: Error) => void): void {
  if (m.type === 'sync') {
    job.answerSync(m.point, () => loadSafetensorsInto(model, m.model, 'the synced weights'));
    return;
  }
  const thrown = m.type === 'batch' ? job.emit('batch', m.logs) : m.type === 'epoch' ? job.emit('epoch', m.logs) : null;
  if (thrown !== null) reject(thrown as Error);
  else if (m.type === 'done') resolve(m);
  else if (m.type === 'error') {
    const err = new Error(`${WHERE}: in the worker: ${m.message}`);
    if (m.name !== 'Error') err.name = m.name;
    reject(err);
  }
}
