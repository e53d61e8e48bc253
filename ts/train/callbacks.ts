// Callbacks for fit(): hooks at epoch and batch ends, and early stopping.
import type { Module } from '../module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { boolean, checkOptions, described, finite, integer, oneOf } from '../options.js';

/**
 * Per-epoch records, one entry per epoch run, in order; accuracy entries only with class labels,
 * validation entries only with validationSplit or validationData (else those arrays stay empty).
 */
export interface History {
  /** The epoch numbers, from 1. */
  epoch: number[];
  /** The mean training loss of each epoch. */
  loss: number[];
  /** The fraction of training rows classified right in each epoch (class labels only). */
  accuracy: number[];
  /** The validation loss after each epoch. */
  valLoss: number[];
  /** The validation accuracy after each epoch (class labels only). */
  valAccuracy: number[];
  /** Learning rate used in each epoch. */
  lr: number[];
  /** Every batch's loss, in order. */
  batchLoss: number[];
}

/** What Callback.onBatchEnd receives after each training step. */
export interface BatchLogs {
  /** The epoch, from 1. */
  epoch: number;
  /** Index of the batch in the epoch, from 0. */
  batch: number;
  /**
   * The number of batches in each epoch; NaN while unknown (a dataset whose size is not known,
   * during its first epoch).
   */
  batches: number;
  /** Samples in this batch. */
  size: number;
  /** This batch's loss (before the step). */
  loss: number;
  /** Fraction of this batch classified right (class labels only). */
  accuracy?: number;
}

/** What Callback.onEpochEnd receives after each epoch (and its validation). */
export interface EpochLogs {
  /** The epoch, from 1. */
  epoch: number;
  /** The mean training loss over the epoch's batches. */
  loss: number;
  /** The fraction of training rows classified right (class labels only). */
  accuracy?: number;
  /** The validation loss (with validationSplit or validationData). */
  valLoss?: number;
  /** The validation accuracy (class labels with validation only). */
  valAccuracy?: number;
  /** The learning rate this epoch trained with (before the scheduler's step). */
  lr: number;
  /** Training time of the epoch, validation not included. */
  seconds: number;
  /** Training throughput: samples per second. */
  imagesPerSecond: number;
}

/** What a callback can see and do during fit(). */
export interface FitContext {
  /** The model being trained. */
  readonly model: Module;
  /** The optimizer fit steps (the given one, or the default Adam). */
  readonly optimizer: Optimizer;
  /** The history so far, filled in as epochs end. */
  readonly history: History;
  /** Ends training after the current batch (or at the end of this epoch, from onEpochEnd). */
  stop(): void;
  /** Whether stop() has been called. */
  readonly stopped: boolean;
}

/**
 * Hooks fit() calls during training, each optional and awaited when it returns a Promise; a hook
 * that throws stops training with that Error. `ctx.stop()` ends training early.
 *
 * @example
 * ```js
 * const logEpochs = { onEpochEnd(logs) { console.log(logs.epoch, logs.loss, logs.valAccuracy); } };
 * await model.fit(x, y, { epochs: 5, validationSplit: 0.1, callbacks: [logEpochs] });
 * ```
 */
export interface Callback {
  /** Before the first epoch. */
  onTrainBegin?(ctx: FitContext): void | Promise<void>;
  /** At the start of each epoch (from 1), before its first batch. */
  onEpochBegin?(epoch: number, ctx: FitContext): void | Promise<void>;
  /** After each training step. */
  onBatchEnd?(logs: BatchLogs, ctx: FitContext): void | Promise<void>;
  /** After each epoch, its validation and the scheduler's step. */
  onEpochEnd?(logs: EpochLogs, ctx: FitContext): void | Promise<void>;
  /** After the last epoch (or a stop), with the model already in its final mode. */
  onTrainEnd?(history: History, ctx: FitContext): void | Promise<void>;
}

/** A quantity earlyStopping can watch: a loss (lower is better) or an accuracy (higher is better). */
export type Monitor = 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy';

/** The options of earlyStopping(). */
export interface EarlyStoppingOptions {
  /** What to watch; default 'valLoss'. */
  monitor?: Monitor;
  /** Epochs without improvement after which training stops, as Keras counts them (0 and 1 alike); default 0. */
  patience?: number;
  /** Smallest change that counts as an improvement; default 0. */
  minDelta?: number;
  /** Put back the weights (and BatchNorm statistics) of the best epoch when stopping; default false. */
  restoreBestWeights?: boolean;
}

/**
 * A callback that stops fit() when `monitor` has not improved (losses must fall, accuracies rise,
 * by more than minDelta) for `patience` epochs, as Keras's EarlyStopping. The returned object
 * also records `bestEpoch` and `stoppedEpoch` (null until then).
 *
 * @example
 * ```js
 * const stopper = sn.earlyStopping({ monitor: 'valLoss', patience: 2, restoreBestWeights: true });
 * await model.fit(x, y, { epochs: 50, validationSplit: 0.1, callbacks: [stopper] });
 * console.log(stopper.bestEpoch, stopper.stoppedEpoch);
 * ```
 */
export function earlyStopping(options: EarlyStoppingOptions = {}): Callback & { stoppedEpoch: number | null; bestEpoch: number | null } {
  checkOptions('earlyStopping', options, {
    monitor: oneOf('loss', 'accuracy', 'valLoss', 'valAccuracy'),
    patience: described(integer(0), 'a non-negative integer'),
    minDelta: finite(),
    restoreBestWeights: boolean,
  });
  const monitor = options.monitor ?? 'valLoss';
  const patience = options.patience ?? 0;
  const minDelta = Math.abs(options.minDelta ?? 0);
  const higherIsBetter = monitor === 'accuracy' || monitor === 'valAccuracy';
  let best = higherIsBetter ? -Infinity : Infinity;
  let wait = 0;
  let bestWeights: (Float32Array | BigInt64Array)[] | null = null;

  const restore = (ctx: FitContext) => {
    if (!bestWeights) return;
    Object.values(ctx.model.stateDict()).forEach((t, i) => {
      const v = bestWeights![i];
      if (v instanceof BigInt64Array) (t.host as BigInt64Array).set(v); else t.view().set(v);
    });
  };

  const callback = {
    stoppedEpoch: null as number | null,
    bestEpoch: null as number | null,
    onTrainBegin() { best = higherIsBetter ? -Infinity : Infinity; wait = 0; bestWeights = null; callback.stoppedEpoch = callback.bestEpoch = null; },
    onEpochEnd(logs: EpochLogs, ctx: FitContext) {
      const value = logs[monitor];
      if (value === undefined) {
        throw new Error(`earlyStopping: '${monitor}' is not measured in this fit (validation needs validationSplit or validationData; accuracy needs class labels)`);
      }
      const improved = higherIsBetter ? value > best + minDelta : value < best - minDelta;
      if (improved) {
        best = value; wait = 0; callback.bestEpoch = logs.epoch;
        // num_batches_tracked too: it weighs the next batch when BatchNorm's momentum is null.
        if (options.restoreBestWeights) bestWeights = Object.values(ctx.model.stateDict()).map((t) => (t.dtype === 'int64' ? t.toInt64Array() : t.toArray()));
        return;
      }
      if (++wait >= Math.max(patience, 1)) {
        callback.stoppedEpoch = logs.epoch;
        if (options.restoreBestWeights) restore(ctx);
        ctx.stop();
      }
    },
  };
  return callback;
}
