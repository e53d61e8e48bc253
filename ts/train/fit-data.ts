// Where fit's batches come from and the checks they pass: rows of in-memory tensors gathered into
// buffers made once, or the batches of a Dataset, checked as they arrive; the augmentation of
// training batches; and the validation set evaluated after each epoch.
import type { Module } from '../module.js';
import { sameShape } from '../module.js';
import { Tensor, formatShape, shapeSize, tensor } from '../tensor.js';
import type { Loss } from '../losses/loss.js';
import { CrossEntropyLoss } from '../losses/cross-entropy.js';
import { MSELoss } from '../losses/mse.js';
import { NLLLoss } from '../losses/nll.js';
import { checkLabels } from '../losses/labels.js';
import { Generator } from '../random.js';
import { saveTrainingFlags } from '../module-tree.js';
import { shuffle as permutation } from '../data/shuffle.js';
import { trainValidationSplit } from '../data/split.js';
import { gatherRows } from '../data/rows.js';
import type { Dataset } from '../data/dataset.js';
import type { Transform } from '../transforms/transform.js';
import { Augmenter } from '../transforms/pipeline.js';
import { Data, Target } from './targets.js';
import { evaluate, evaluatePass } from './evaluate.js';
import { Pass, datasetBatch, type BatchKind } from './dataset-pass.js';

/** A batch ready for a training step. */
export interface StepBatch {
  input: Tensor;
  target: Int32Array | Tensor;
  size: number;
}

/** The batches of one epoch, in order; next() resolves to null after the last. */
export interface EpochBatches {
  next(): Promise<StepBatch | null>;
  /** Ends the epoch (a dataset's pass closes its files). */
  close(): Promise<void>;
}

/** Where fit's training batches come from. */
export interface TrainingSet {
  /** Whether the targets are class labels (else a Tensor target). */
  readonly labels: boolean;
  /** Batches per epoch: NaN while unknown (a dataset without a size, before its first epoch ends). */
  batches: number;
  /** The batches of epoch `epoch` (from 1). */
  epoch(epoch: number): EpochBatches;
  /** Releases what the checks opened and training did not use. */
  close(): Promise<void>;
}

/** The held-out data fit evaluates after each epoch. */
export interface ValidationSet {
  evaluate(model: Module, lossFn: Loss, epoch: number): Promise<{ loss: number; accuracy?: number }>;
  close(): Promise<void>;
}

/** The transform of fit's options, set up for samples of `rowShape`, with buffers for `rows` samples. */
export function augmenterFor(where: string, transform: Transform | null, rowShape: readonly number[], rows: number): Augmenter | null {
  if (transform === null) return null;
  const augmenter = new Augmenter(transform, rowShape, `${where}: transforms`);
  augmenter.reserve(rows);
  return augmenter;
}

// ---- rows of in-memory tensors ----

/** Training rows of x and y, shuffled per epoch from the fit's generator unless `shuffle` is false. */
export class RowSet implements TrainingSet {
  readonly labels: boolean;
  batches: number;
  private readonly buffers: BatchBuffers;

  constructor(data: Data, private readonly rows: Int32Array, private readonly batchSize: number,
    private readonly shuffle: boolean, augmenter: Augmenter | null, private readonly rng: Generator) {
    this.labels = data.labels !== null;
    this.batches = Math.ceil(rows.length / batchSize);
    this.buffers = new BatchBuffers(data, Math.min(batchSize, rows.length), augmenter);
  }

  epoch(): EpochBatches {
    const { rows, batchSize, rng } = this;
    const order = this.shuffle ? shuffled(rows, rng) : rows;
    let b = 0;
    return {
      next: async () => {
        if (b * batchSize >= order.length) return null;
        const batch = this.buffers.gather(order.subarray(b * batchSize, Math.min((b + 1) * batchSize, order.length)), rng);
        b++;
        return batch;
      },
      close: async () => {},
    };
  }

  async close(): Promise<void> {}
}

/**
 * The batch buffers, made once for the largest batch: a step gathers rows into them (and the
 * augmenter transforms them in its own buffers, also made once) and allocates nothing else of
 * size. A batch size beyond the data means one batch of all rows, as in Keras and PyTorch, so
 * they are sized by the smaller of the two.
 */
class BatchBuffers {
  private readonly x: Float32Array;
  private readonly labels: Int32Array | null;
  private readonly targets: Float32Array | null;

  constructor(private readonly data: Data, rows: number, private readonly augmenter: Augmenter | null) {
    this.x = new Float32Array(rows * data.rowSize);
    this.labels = data.labels ? new Int32Array(rows) : null;
    this.targets = data.targets ? new Float32Array(rows * data.targetRowSize) : null;
  }

  /** The batch of these rows: input [m, ...] (augmented, with transforms) and its labels or target tensor. */
  gather(rows: Int32Array, rng: Generator): StepBatch {
    const { data } = this, m = rows.length;
    gatherRows(data.x, data.rowSize, rows, this.x);
    const input = augmented(this.augmenter, this.x, m, data.rowShape, rng, true);
    if (this.labels) {
      gatherRows(data.labels!, 1, rows, this.labels);
      return { input, target: this.labels.subarray(0, m), size: m };
    }
    gatherRows(data.targets!, data.targetRowSize, rows, this.targets!);
    return { input, target: tensor(this.targets!.subarray(0, m * data.targetRowSize), [m, ...data.targetShape]), size: m };
  }
}

/** The input tensor of m samples in `values`, through the augmenter when there is one. */
function augmented(augmenter: Augmenter | null, values: Float32Array, m: number, rowShape: readonly number[], rng: Generator, mayOverwrite: boolean): Tensor {
  if (augmenter === null) return tensor(values.subarray(0, m * shapeSize(rowShape)), [m, ...rowShape]);
  const out = augmenter.run(values, m, rng, mayOverwrite);
  return tensor(out.subarray(0, m * augmenter.outputSize), [m, ...augmenter.outputShape]);
}

/** Held-out rows drawn from the fit's generator: stratified by class for labels. */
export function splitRows(data: Data, split: number, rng: Generator): { train: Int32Array; validation: Int32Array } {
  if (data.labels) return trainValidationSplit(data.labels, split, { seed: rng.nextU32() });
  const order = permutation(data.n, rng.nextU32());
  const k = Math.round(split * data.n);
  return { validation: order.slice(0, k), train: order.slice(k) };
}

function shuffled(rows: Int32Array, rng: Generator): Int32Array {
  const order = permutation(rows.length, rng.nextU32());
  const out = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = rows[order[i]];
  return out;
}

/** Validation rows as tensors: x and y themselves, or rows of them gathered once. */
export class TensorValidation implements ValidationSet {
  constructor(private readonly x: Tensor, private readonly y: Target, private readonly batchSize: number) {}

  /** The held-out rows of a split, gathered once: they are the same every epoch. */
  static fromRows(data: Data, rows: Int32Array, batchSize: number): TensorValidation {
    const x = new Float32Array(rows.length * data.rowSize);
    gatherRows(data.x, data.rowSize, rows, x);
    let y: Target;
    if (data.labels) {
      const labels = new Int32Array(rows.length);
      gatherRows(data.labels, 1, rows, labels);
      y = labels;
    } else {
      const targets = new Float32Array(rows.length * data.targetRowSize);
      gatherRows(data.targets!, data.targetRowSize, rows, targets);
      y = tensor(targets, [rows.length, ...data.targetShape]);
    }
    return new TensorValidation(tensor(x, [rows.length, ...data.rowShape]), y, batchSize);
  }

  async evaluate(model: Module, lossFn: Loss): Promise<{ loss: number; accuracy?: number }> {
    return evaluate(model, this.x, this.y, { batchSize: this.batchSize, loss: lossFn });
  }

  async close(): Promise<void> {}
}

// ---- datasets ----

/** The batches of a dataset for training, checked as they come, the first before any step. */
export class DatasetSet implements TrainingSet {
  readonly labels: boolean;
  batches: number;
  private pending: Pass | null;
  private readonly kind: BatchKind;
  /** The model's output shape for each batch size checked so far. */
  private readonly outputs = new Map<number, number[]>();

  private constructor(private readonly model: Module, private readonly dataset: Dataset, private readonly lossFn: Loss,
    first: Pass, firstData: Data, private readonly augmenter: Augmenter | null, private readonly rng: Generator) {
    this.pending = first;
    this.labels = firstData.labels !== null;
    this.kind = { labels: this.labels, rowShape: firstData.rowShape, targetShape: firstData.targetShape };
    this.batches = dataset.size ?? NaN;
  }

  /**
   * Opens the first epoch's pass and checks its first batch through the model (in training mode,
   * after the transforms) and the loss; `loss` is fit's option, or null for the default (by the
   * kind of y). Nothing trains here; on an Error the pass is closed.
   */
  static async open(model: Module, dataset: Dataset, loss: Loss | null, transform: Transform | null, rng: Generator):
    Promise<{ set: DatasetSet; lossFn: Loss }> {
    const pass = Pass.open(dataset, new Generator(rng.nextU32()));
    try {
      const element = await readBatch('fit: reading the first batch', pass, true);
      if (element === undefined) throw new Error('fit: the dataset yields no batches');
      const data = datasetBatch('fit: the first batch', element, null);
      const lossFn = loss ?? (data.labels ? new CrossEntropyLoss() : new MSELoss());
      const augmenter = augmenterFor('fit', transform, data.rowShape, data.n);
      const out = checkSet('fit: the first batch', model, data, lossFn, [data.n], true, augmenter?.outputShape ?? data.rowShape);
      const set = new DatasetSet(model, dataset, lossFn, pass, data, augmenter, rng);
      set.outputs.set(data.n, out);
      return { set, lossFn };
    } catch (err) {
      await pass.close();
      throw err;
    }
  }

  epoch(epoch: number): EpochBatches {
    const pass = this.pending ?? Pass.open(this.dataset, new Generator(this.rng.nextU32()));
    this.pending = null;
    let b = 0;
    return {
      next: async () => {
        const where = `fit: epoch ${epoch}, batch ${b + 1}`;
        const element = await readBatch(`fit: epoch ${epoch}, reading batch ${b + 1}`, pass);
        if (element === undefined) {
          if (b === 0) {
            throw new Error(`fit: epoch ${epoch}: the dataset yielded no batches (a dataset from fromGenerator must return a new iterable each time make() is called)`);
          }
          this.batches = b;
          return null;
        }
        b++;
        return this.prepare(where, element);
      },
      close: () => pass.close(),
    };
  }

  /** Checks a batch before its step (the first batch of the fit was checked when opened) and augments it. */
  private prepare(where: string, element: unknown): StepBatch {
    let data: Data;
    try {
      data = datasetBatch(where, element, this.kind);
      const out = this.outputs.get(data.n);
      if (out === undefined) {
        this.outputs.set(data.n, checkSet(where, this.model, data, this.lossFn, [data.n], true, this.augmenter?.outputShape ?? data.rowShape));
      } else {
        checkFinite(where, 'x', data.x, data.rowSize);
        if (data.targets) checkFinite(where, 'y', data.targets, data.targetRowSize);
        checkClassLabels(where, data, this.lossFn, out);
      }
    } catch (err) {
      throw new Error(`${(err as Error).message}; training stopped before this batch`, { cause: err });
    }
    const { x, y } = element as { x: Tensor; y: Target };
    const input = this.augmenter ? augmented(this.augmenter, data.x, data.n, data.rowShape, this.rng, false)
      : x.onDevice ? tensor(data.x, x.shape) : x;
    const target = data.labels ?? (y instanceof Tensor && !y.onDevice ? y : tensor(data.targets!, [data.n, ...data.targetShape]));
    return { input, target, size: data.n };
  }

  async close(): Promise<void> {
    await this.pending?.close();
    this.pending = null;
  }
}

/**
 * The next element of a pass (with `peek`, read ahead: the pass gives it again), or undefined
 * after the last; an Error from the dataset is prefixed with `where`.
 */
async function readBatch(where: string, pass: Pass, peek = false): Promise<unknown> {
  try {
    if (peek) return await pass.peek();
    const r = await pass.next();
    return r.done ? undefined : r.value;
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
  }
}

/** A validation dataset: its first batch checked (and kept for the first epoch) before training. */
export class DatasetValidation implements ValidationSet {
  private constructor(private readonly dataset: Dataset, private pending: Pass | null, private readonly rng: Generator) {}

  /** Opens a pass and checks its first batch in eval mode against the training set's kind. */
  static async open(model: Module, dataset: Dataset, lossFn: Loss, labels: boolean, rng: Generator): Promise<DatasetValidation> {
    const where = 'fit: validationData';
    if (!dataset.batched) throw new Error(`${where}: the dataset yields samples, not batches; batch it first (e.g. dataset.batch(256))`);
    const pass = Pass.open(dataset, new Generator(rng.nextU32()));
    try {
      const element = await readBatch(`${where}: reading the first batch`, pass, true);
      if (element === undefined) throw new Error(`${where}: the dataset yields no batches`);
      const data = datasetBatch(`${where}: the first batch`, element, null);
      if (!data.labels !== !labels) {
        throw new Error(`fit: validationData has ${data.labels ? 'class labels' : 'a Tensor target'}, but the training data ${labels ? 'has class labels' : 'has a Tensor target'}`);
      }
      checkSet(`${where}: the first batch`, model, data, lossFn, [data.n], false, data.rowShape);
      return new DatasetValidation(dataset, pass, rng);
    } catch (err) {
      await pass.close();
      throw err;
    }
  }

  async evaluate(model: Module, lossFn: Loss, epoch: number): Promise<{ loss: number; accuracy?: number }> {
    const pass = this.pending ?? Pass.open(this.dataset, new Generator(this.rng.nextU32()));
    this.pending = null;
    return evaluatePass(`fit: validationData, epoch ${epoch}`, model, pass, lossFn);
  }

  async close(): Promise<void> {
    await this.pending?.close();
    this.pending = null;
  }
}

// ---- checks ----

/** The distinct sizes of the batches that cut n rows: the full one and a smaller last one. */
export function batchSizes(n: number, batchSize: number): number[] {
  const full = Math.min(batchSize, n), last = n % batchSize;
  return last > 0 && last !== full ? [full, last] : [full];
}

/**
 * Throws unless every batch of `data` can go through the model and the loss: finite inputs and
 * targets, an input shape the model takes for every batch size (in the mode it will run in:
 * training-mode BatchNorm refuses a batch of one), targets of the output's shape, and class
 * labels in range for the output's class count. `rowShape` is a sample's shape as the model gets
 * it (after the transforms, for training batches). Returns the output shape for the last size.
 */
export function checkSet(where: string, model: Module, data: Data, lossFn: Loss, sizes: number[], training: boolean, rowShape: readonly number[]): number[] {
  checkFinite(where, 'x', data.x, data.rowSize);
  if (data.targets) checkFinite(where, 'y', data.targets, data.targetRowSize);
  const restoreFlags = saveTrainingFlags(model);
  model.train(training);
  let out: number[] = [];
  try {
    for (const m of sizes) {
      try {
        out = model.outputShape([m, ...rowShape]);
      } catch (err) {
        throw new Error(`${where}: a batch of ${m}: ${(err as Error).message}`);
      }
      if (data.targets && !sameShape(out, [m, ...data.targetShape])) {
        throw new Error(`${where}: the model outputs ${formatShape(out)} for a batch of ${m}, the targets of that batch have shape ${formatShape([m, ...data.targetShape])}`);
      }
    }
  } finally {
    restoreFlags();
  }
  checkClassLabels(where, data, lossFn, out);
  return out;
}

function checkClassLabels(where: string, data: Data, lossFn: Loss, out: readonly number[]): void {
  if (data.labels && (lossFn instanceof CrossEntropyLoss || lossFn instanceof NLLLoss)) {
    checkLabels(`${where}: ${lossFn}`, [data.n, ...out.slice(1)], data.labels, lossFn.ignoreIndex);
  }
}

function checkFinite(where: string, name: string, values: Float32Array, rowSize: number): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new Error(`${where}: ${name} holds ${values[i]} in sample ${Math.floor(i / rowSize)}; every value must be finite`);
  }
}
