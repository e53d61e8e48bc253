// What the page and a training worker say to each other. Everything here is data that the
// structured clone copies (or moves, for the transferred buffers): no function, no Module object,
// no wasm pointer crosses.
import type { BatchLogs, EpochLogs } from '../train/callbacks.js';
import type { FitHistory } from '../train/fit.js';
import type { BackendInfo } from '../runtime/info.js';

/** An optimizer as data: the name of one of simdnet's optimizers and its options (lr, momentum, ...). */
export interface OptimizerSpec {
  /** 'SGD', 'Adam' or 'AdamW'. */
  type: 'SGD' | 'Adam' | 'AdamW';
  /** The optimizer's options by name, as its constructor takes them: lr, momentum, betas, weightDecay, ... */
  [option: string]: unknown;
}

/** A loss as data: the name of one of simdnet's losses and its options (reduction, labelSmoothing, ...). */
export interface LossSpec {
  /** 'CrossEntropyLoss', 'MSELoss', 'NLLLoss' or 'BCEWithLogitsLoss'. */
  type: 'CrossEntropyLoss' | 'MSELoss' | 'NLLLoss' | 'BCEWithLogitsLoss';
  /** The loss's options by name, as its constructor takes them. */
  [option: string]: unknown;
}

/** Rows and their targets as plain arrays: x's values and shape, and class labels or a float target. */
export interface DataMessage {
  x: Float32Array;
  xShape: number[];
  labels: Int32Array | null;
  targets: Float32Array | null;
  targetShape: number[];
}

/** The fit options that cross to the worker as they are. */
export interface PlainFitOptions {
  epochs?: number;
  batchSize?: number;
  validationSplit?: number;
  shuffle?: boolean;
  /** Always set: drawn on the page when the caller gave none, as fit draws it. */
  seed: number;
}

/** Page → worker: everything the training needs, once. */
export interface StartMessage {
  type: 'start';
  /** The page's compiled kernels (the same build: the same numbers). */
  module: WebAssembly.Module;
  /** Whether the module imports a shared memory (the page's memory is shared). */
  shared: boolean;
  threads: number;
  /** The model as a safetensors file with its architecture (io.modelToSafetensors). */
  model: Uint8Array;
  data: DataMessage;
  validationData: DataMessage | null;
  options: PlainFitOptions;
  optimizer: OptimizerSpec | null;
  loss: LossSpec | null;
}

/** Page → worker: stop after the current batch. */
export interface AbortMessage {
  type: 'abort';
}

/** Page → worker: send the weights as they are at the end of the next batch (one answer however often asked before it). */
export interface SyncRequest {
  type: 'sync';
}

/** Where a run was when its weights were taken: after `steps` training steps, the last one batch `batch` of epoch `epoch`. */
export interface SyncPoint {
  /** Training steps (batches) run so far. */
  steps: number;
  /** The epoch of the last step (from 1, as BatchLogs'), or null before the first. */
  epoch: number | null;
  /** The last step's batch within its epoch (from 0, as BatchLogs'), or null before the first. */
  batch: number | null;
}

/** What a training worker reports after each batch: fit's BatchLogs and the epoch's throughput so far. */
export interface WorkerBatchLogs extends BatchLogs {
  /** Training images per second over the epoch so far. */
  imagesPerSecond: number;
}

/** Worker → page. */
export type WorkerMessage =
  | { type: 'batch'; logs: WorkerBatchLogs }
  | { type: 'epoch'; logs: EpochLogs }
  | { type: 'sync'; model: Uint8Array; point: SyncPoint }
  | { type: 'done'; history: FitHistory; model: Uint8Array; info: BackendInfo }
  | { type: 'error'; name: string; message: string };
