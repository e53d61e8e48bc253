// Callbacks for fit(): hooks at epoch and batch ends, and early stopping.
import type { Module } from '../module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { boolean, checkOptions, described, finite, integer, oneOf } from '../options.js';

/** Per-epoch records; validation and accuracy entries are present when measured. */
export interface History {
  epoch: number[];
  loss: number[];
  accuracy: number[];
  valLoss: number[];
  valAccuracy: number[];
  /** Learning rate used in each epoch. */
  lr: number[];
  /** Every batch's loss, in order. */
  batchLoss: number[];
}

export interface BatchLogs {
  epoch: number;
  /** Index of the batch in the epoch, from 0. */
  batch: number;
  batches: number;
  /** Samples in this batch. */
  size: number;
  loss: number;
  /** Fraction of this batch classified right (class labels only). */
  accuracy?: number;
}

export interface EpochLogs {
  epoch: number;
  loss: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  lr: number;
  seconds: number;
  imagesPerSecond: number;
}

/** What a callback can see and do during fit(). */
export interface FitContext {
  readonly model: Module;
  readonly optimizer: Optimizer;
  readonly history: History;
  /** Ends training after the current batch (or at the end of this epoch, from onEpochEnd). */
  stop(): void;
  readonly stopped: boolean;
}

export interface Callback {
  onTrainBegin?(ctx: FitContext): void | Promise<void>;
  onEpochBegin?(epoch: number, ctx: FitContext): void | Promise<void>;
  onBatchEnd?(logs: BatchLogs, ctx: FitContext): void | Promise<void>;
  onEpochEnd?(logs: EpochLogs, ctx: FitContext): void | Promise<void>;
  onTrainEnd?(history: History, ctx: FitContext): void | Promise<void>;
}

export type Monitor = 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy';

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

/** Stops when `monitor` has not improved for `patience` epochs (losses must fall, accuracies rise). */
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
