// Batched evaluation in eval mode: evaluate, predict, predictClasses.
import type { Module } from '../module.js';
import { Tensor, formatShape, tensor } from '../tensor.js';
import { Loss } from '../losses/loss.js';
import { CrossEntropyLoss } from '../losses/cross-entropy.js';
import { MSELoss } from '../losses/mse.js';
import { saveTrainingFlags } from '../module-tree.js';
import { noGrad } from '../autograd/state.js';
import { Data, Target, argmaxRows, checkData, countCorrect, probabilities } from './targets.js';
import { checkEvaluateOptions, checkPredictOptions } from './fit-options.js';

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
export function evaluate(model: Module, x: Tensor, y: Target, options: EvaluateOptions = {}): { loss: number; accuracy?: number } {
  checkEvaluateOptions('evaluate', model, options);
  const data = checkData('evaluate', x, y);
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
