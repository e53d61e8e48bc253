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
import type { DataMessage, LossSpec, OptimizerSpec, StartMessage, WorkerBatchLogs, WorkerMessage } from './protocol.js';

export type { LossSpec, OptimizerSpec, WorkerBatchLogs } from './protocol.js';

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
  /** Stops the training after the current batch, as job.abort(). */
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
 * A training run in a worker, from {@link fit}: its progress as events, `abort()`, and `done`,
 * the history once the trained weights are back in the caller's model.
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
   * the worker's Error when training fails there, the model unchanged.
   */
  readonly done: Promise<FitHistory>;
  readonly #listeners: { [K in keyof TrainingEvents]: ((logs: TrainingEvents[K]) => void)[] } = { batch: [], epoch: [] };
  /**
   * What the worker's kernels were once training ended (its sn.backendInfo(): threads, shared
   * memory, split calls), or null before.
   */
  workerInfo: BackendInfo | null = null;
  #abort: () => void = () => {};
  #aborted = false;

  /** @internal Made by worker.fit(). */
  constructor(start: (job: TrainingJob) => Promise<FitHistory>) {
    this.done = start(this);
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

  /** Stops training after the current batch; `done` then resolves with stopReason 'abort'. */
  abort(): void {
    this.#aborted = true;
    this.#abort();
  }

  /** @internal Calls the listeners; returns what one threw (training then stops with it, as with a fit callback), or null. */
  emit<K extends keyof TrainingEvents>(event: K, logs: TrainingEvents[K]): unknown {
    try {
      for (const f of this.#listeners[event]) f(logs);
      return null;
    } catch (err) {
      return err ?? new Error(`a '${event}' listener threw ${describe(err)}`);
    }
  }

  /** @internal How abort() reaches the worker, once it runs; an abort asked for before is passed on at once. */
  setAbort(f: () => void): void {
    this.#abort = f;
    if (this.#aborted) f();
  }
}

/**
 * Trains `model` as fit(model, x, y, options) does, in a Web Worker (Node: a worker thread), and
 * returns at once with the job: progress comes as its events, and `job.done` resolves to fit's
 * history once the trained weights are loaded back into `model` (put in eval mode, as fit leaves
 * it). Every argument is checked here first (an Error names what is wrong and nothing starts);
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
      worker.onMessage((m) => relay(job, m as WorkerMessage, resolve, reject));
      worker.post(plan.message, plan.transfer);
      const abort = () => worker.post({ type: 'abort' });
      job.setAbort(abort);
      if (signal?.aborted) job.abort();
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

function relay(job: TrainingJob, m: WorkerMessage, resolve: (o: Done) => void, reject: (e: Error) => void): void {
  const thrown = m.type === 'batch' ? job.emit('batch', m.logs) : m.type === 'epoch' ? job.emit('epoch', m.logs) : null;
  if (thrown !== null) reject(thrown as Error);
  else if (m.type === 'done') resolve(m);
  else if (m.type === 'error') {
    const err = new Error(`${WHERE}: in the worker: ${m.message}`);
    if (m.name !== 'Error') err.name = m.name;
    reject(err);
  }
}
