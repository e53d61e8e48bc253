// Batched evaluation in eval mode: evaluate, predict, predictClasses.
import type { Module } from '../module.js';
import { Tensor, formatShape, tensor } from '../tensor.js';
import { Loss } from '../losses/loss.js';
import { CrossEntropyLoss } from '../losses/cross-entropy.js';
import { MSELoss } from '../losses/mse.js';
import { saveTrainingFlags } from '../module-tree.js';
import { noGrad } from '../autograd/state.js';
import { Data, Target, argmaxRows, checkData, countCorrect, probabilities } from './targets.js';
import { checkEvaluateOptions, checkModel, checkPredictOptions, lossRule, optionsAfterDataset } from './fit-options.js';
import { Dataset } from '../data/dataset.js';
import { Generator } from '../random.js';
import { checkOptions } from '../options.js';
import { Pass, datasetBatch, type BatchKind } from './dataset-pass.js';

/** The options of evaluate() and model.evaluate(). */
export interface EvaluateOptions {
  /** Rows per forward pass (default 256); larger than the data means one batch. */
  batchSize?: number;
  /** Default: CrossEntropyLoss for class labels, MSELoss for a Tensor target. */
  loss?: Loss;
}

/** The options of predict() and predictClasses() (and the model methods of those names). */
export interface PredictOptions {
  /** Rows per forward pass (default 256); larger than the data means one batch. */
  batchSize?: number;
}

/**
 * The mean loss over all rows of x and y and, for class labels, the accuracy (the fraction whose
 * largest output is the label), in eval mode; every module's mode is put back afterwards.
 *
 * @param model The model (any Module).
 * @param x The inputs [N, ...].
 * @param y N class labels, or a float32 Tensor target [N, ...].
 * @param options `batchSize` (default 256) and `loss` (default CrossEntropyLoss for labels,
 *   MSELoss for a Tensor target).
 * @returns `{ loss, accuracy }` (accuracy for class labels only).
 */
export function evaluate(model: Module, x: Tensor, y: Target, options?: EvaluateOptions): { loss: number; accuracy?: number };
/**
 * The mean loss over every batch of a dataset and, for class labels, the accuracy, in eval mode
 * (every module's mode is put back afterwards). Each batch is checked as it comes (an Error names
 * it); shuffles in the dataset draw from a generator of evaluate's own, so the global one is not
 * touched.
 *
 * @param model The model (any Module).
 * @param data A dataset of batches ({@link Dataset.batch}).
 * @param options `loss` (default CrossEntropyLoss for labels, MSELoss for a Tensor target); the
 *   batch size is the dataset's.
 * @returns A promise of `{ loss, accuracy }` (accuracy for class labels only).
 *
 * @example
 * ```js
 * const test = (await sn.data.cifar10Dataset('cifar-10-batches-bin', { split: 'test' })).batch(500);
 * const { loss, accuracy } = await sn.evaluate(model, test);
 * ```
 */
export function evaluate(model: Module, data: Dataset, options?: { loss?: Loss }): Promise<{ loss: number; accuracy?: number }>;
export function evaluate(model: Module, x: Tensor | Dataset, y?: Target | { loss?: Loss }, options?: EvaluateOptions):
  { loss: number; accuracy?: number } | Promise<{ loss: number; accuracy?: number }> {
  if (x instanceof Dataset) return evaluateDataset(model, x, y, options);
  checkEvaluateOptions('evaluate', model, options);
  options ??= {};
  const data = checkData('evaluate', x, y as Target);
  const lossFn = options.loss ?? (data.labels ? new CrossEntropyLoss() : new MSELoss());
  let lossSum = 0, correct = 0;
  withEvalMode(model, () => {
    forEachBatch(data, options.batchSize ?? 256, (input, start, m) => {
      const out = model.forward(input);
      const target = data.labels ? data.labels.subarray(start, start + m)
        : tensor(data.targets!.subarray(start * data.targetRowSize, (start + m) * data.targetRowSize), [m, ...data.targetShape]);
      const value = lossFn.forward(out, target).value;
      lossSum += value * m;
      if (data.labels) correct += countCorrect(out, target as Int32Array);
    });
  });
  return data.labels ? { loss: lossSum / data.n, accuracy: correct / data.n } : { loss: lossSum / data.n };
}

/** evaluate(model, dataset, options), async throughout: a bad argument rejects the promise. */
async function evaluateDataset(model: Module, dataset: Dataset, third: unknown, fourth: unknown): Promise<{ loss: number; accuracy?: number }> {
  const where = 'evaluate';
  checkModel(where, model);
  const options = optionsAfterDataset(where, third, fourth);
  if (typeof options === 'object' && options !== null && (options as { batchSize?: unknown }).batchSize !== undefined) {
    throw new Error(`${where}: batchSize is the dataset's (set by dataset.batch(n)), not an option with a dataset`);
  }
  checkOptions(where, options, { loss: lossRule });
  if (!dataset.batched) throw new Error(`${where}: the dataset yields samples, not batches; batch it first (e.g. dataset.batch(256))`);
  // Shuffling does not change a mean: a fixed generator leaves the global one alone.
  return evaluatePass(where, model, Pass.open(dataset, new Generator(0)), (options as { loss?: Loss } | undefined)?.loss ?? null);
}

/**
 * Runs a pass of batches through the model in eval mode (modes put back after): the mean loss
 * and, for labels, the accuracy. Each batch is checked against the first (an Error names
 * `where` and the batch); `lossFn` null picks the default by the first batch's kind of y.
 */
export async function evaluatePass(where: string, model: Module, pass: Pass, lossFn: Loss | null): Promise<{ loss: number; accuracy?: number }> {
  const restoreFlags = saveTrainingFlags(model);
  model.eval();
  let lossSum = 0, correct = 0, n = 0, labels = false;
  let kind: BatchKind | null = null;
  try {
    for (let b = 1; ; b++) {
      let r: IteratorResult<unknown, void>;
      try {
        r = await pass.next();
      } catch (err) {
        throw new Error(`${where}: reading batch ${b}: ${(err as Error).message}`, { cause: err });
      }
      if (r.done) break;
      const at = `${where}: batch ${b}`;
      const data = datasetBatch(at, r.value, kind);
      kind ??= { labels: data.labels !== null, rowShape: data.rowShape, targetShape: data.targetShape };
      labels = kind.labels;
      lossFn ??= labels ? new CrossEntropyLoss() : new MSELoss();
      try {
        const out = model.forward(tensor(data.x, [data.n, ...data.rowShape]));
        const target = data.labels ?? tensor(data.targets!, [data.n, ...data.targetShape]);
        lossSum += lossFn.forward(out, target).value * data.n;
        if (data.labels) correct += countCorrect(out, data.labels);
      } catch (err) {
        throw new Error(`${at}: ${(err as Error).message}`, { cause: err });
      }
      n += data.n;
    }
  } finally {
    restoreFlags();
    await pass.close();
  }
  if (n === 0) throw new Error(`${where}: the dataset yielded no batches`);
  return labels ? { loss: lossSum / n, accuracy: correct / n } : { loss: lossSum / n };
}

/**
 * Class probabilities [N, C] for x [N, ...], in eval mode: the softmax of the model's outputs
 * [N, C], unless its last layer already is a Softmax (taken as is) or a LogSoftmax (exponentiated)
 * over the classes. Returns a host tensor (a copy, not a view).
 */
export function predict(model: Module, x: Tensor, options: PredictOptions = {}): Tensor {
  checkPredictOptions('predict', model, options);
  const data = checkData('predict', x, null);
  let result: Float32Array | null = null;
  let classes = 0;
  withEvalMode(model, () => {
    forEachBatch(data, options.batchSize ?? 256, (input, start, m) => {
      const out = model.forward(input);
      if (out.shape.length !== 2) throw new Error(`predict: expected the model to output [N, classes], got ${formatShape(out.shape)}`);
      classes = out.shape[1];
      result ??= new Float32Array(data.n * classes);
      probabilities(model, out, result.subarray(start * classes, (start + m) * classes));
    });
  });
  return tensor(result!, [data.n, classes]);
}

/** The most likely class of each row of x [N, ...] (the index of its largest output), in eval mode: N class indices. */
export function predictClasses(model: Module, x: Tensor, options: PredictOptions = {}): Int32Array {
  checkPredictOptions('predictClasses', model, options);
  const data = checkData('predictClasses', x, null);
  const classes = new Int32Array(data.n);
  withEvalMode(model, () => {
    forEachBatch(data, options.batchSize ?? 256, (input, start) => {
      argmaxRows(model.forward(input), classes, start);
    });
  });
  return classes;
}

/** Runs on consecutive batches; batchSize was checked with the caller's options. */
function forEachBatch(data: Data, batchSize: number, run: (input: Tensor, start: number, m: number) => void): void {
  for (let start = 0; start < data.n; start += batchSize) {
    const m = Math.min(batchSize, data.n - start);
    run(tensor(data.x.subarray(start * data.rowSize, (start + m) * data.rowSize), [m, ...data.rowShape]), start, m);
  }
}

/**
 * Runs in eval mode and without recording gradients, then puts every module's flag back (a
 * submodule may have been in eval alone).
 */
function withEvalMode(model: Module, run: () => void): void {
  const restoreFlags = saveTrainingFlags(model);
  model.eval();
  try { noGrad(run); } finally { restoreFlags(); }
}
