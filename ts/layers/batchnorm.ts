// BatchNorm1d / BatchNorm2d: per-channel normalisation of [N, C, *] by the batch statistics
// in training (updating the running ones) and by the running statistics in eval, as PyTorch.
// On several threads (runtime/split.ts), passes of splitLimits.minBytes or more split: the
// statistics and the backward by ranges of channels (each channel's sums as on one thread), the
// normalising sweep (and the ReLU / ReLU6 fused into it, DeferredAffine) by ranges of the batch
// (value by value); the running statistics are updated on the calling thread after the split
// statistics. So every result has one thread's bits.
import { rt } from '../runtime/index.js';
import { Module, Parameter } from '../module.js';
import { Tensor, formatShape } from '../tensor.js';
import { currentPass, record } from '../forward-journal.js';
import { checkNotEmptyBatch, checkPositiveInt } from './args.js';
import { boolean, checkOptions, either, finite, nullValue } from '../options.js';
import { pyBool, pyFloat } from './python-repr.js';
import { registerLayer, type LayerConfig } from '../registry.js';
import { DeferredAffine, FusableResult, actGradFusions, batchNormSplits, deferredActGrad, fusableResult, fusionEnabled } from './epilogue.js';
import { splitLimits, overRanges, splitThreads } from '../runtime/split.js';
import { currentFrame, annotateError } from '../autograd/state.js';

/** The options of BatchNorm1d and BatchNorm2d; the defaults are PyTorch's. */
export interface BatchNormOptions {
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** Weight of the new batch in the running statistics; null for a cumulative average. Default 0.1. */
  momentum?: number | null;
  /** Learnable per-channel weight and bias. Default true. */
  affine?: boolean;
  /** Keep running statistics for eval mode (otherwise eval uses batch statistics too). Default true. */
  trackRunningStats?: boolean;
}

// An Undoable of the forward journal (record(this) below), not declared as one: rollback() is
// internal, and the published declarations, which leave it out, would not implement the interface.
/** The base of BatchNorm1d and BatchNorm2d (PyTorch's _BatchNorm). */
abstract class BatchNorm extends Module {
  /** Added to the variance before the square root. */
  readonly eps: number;
  /** The weight of each new batch in the running statistics, or null for a cumulative average. */
  readonly momentum: number | null;
  /** Whether the layer learns a per-channel `weight` (γ) and `bias` (β). */
  readonly affine: boolean;
  /** Whether the layer keeps running statistics, used in eval mode. */
  readonly trackRunningStats: boolean;
  /** γ, [C], initialised to 1; null when affine is false. */
  readonly weight: Parameter | null = null;
  /** β, [C], initialised to 0; null when affine is false. */
  readonly bias: Parameter | null = null;
  /** The running mean, [C] (state_dict `running_mean`), from 0; null without trackRunningStats. */
  readonly runningMean: Tensor | null = null;
  /** The running (unbiased) variance, [C] (state_dict `running_var`), from 1; null without trackRunningStats. */
  readonly runningVar: Tensor | null = null;
  /** The number of training batches seen, an int64 scalar (`num_batches_tracked`); null without trackRunningStats. */
  readonly numBatchesTracked: Tensor | null = null;

  /**
   * The running statistics and batch count from before the current forward pass changed them,
   * kept here (allocated once) so that a forward() that fails later can put them back.
   */
  private readonly undoStats: Float32Array;
  private undoTracked = 0n;
  /** The forward pass whose starting values undoStats holds (0: none). */
  private undoPass = 0;

  /** What the last forward needs for backward. */
  private saved: { x: Tensor; mean: Tensor; variance: Tensor; batchStats: boolean; L: number } | null = null;
  /** The put-off convolution output the last call took into its own put-off output (eval), or null. */
  private fusedInput: FusableResult | null = null;
  /** The last call's own put-off output (an activation after it may compute from it), or null. */
  private putOff: DeferredAffine | null = null;

  /**
   * Batch normalisation (torch.nn.BatchNorm1d / BatchNorm2d) of `numFeatures` channels: input
   * [N, C] or [N, C, L] (BatchNorm1d), [N, C, H, W] (BatchNorm2d) → output of the same shape.
   * Options, with PyTorch's defaults: eps 1e-5, momentum 0.1, affine true, trackRunningStats true.
   *
   * @param options eps, momentum, affine, trackRunningStats; see {@link BatchNormOptions}.
   */
  constructor(
    /** C, the number of channels (the input's dimension 1). */
    readonly numFeatures: number,
    options: BatchNormOptions = {}) {
    super();
    checkPositiveInt(this.kind, 'num_features', numFeatures);
    checkOptions(this.kind, options, {
      eps: finite({ min: 0 }),
      momentum: either([finite({ min: 0, max: 1 }), nullValue], 'a number between 0 and 1 or null'),
      affine: boolean,
      trackRunningStats: boolean,
    });
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    const C = numFeatures;
    if (this.affine) {
      this.weight = this.addParameter('weight', [C], 1);
      this.bias = this.addParameter('bias', [C]);
    }
    if (this.trackRunningStats) {
      this.runningMean = this.addBuffer('running_mean', [C], 0);
      this.runningVar = this.addBuffer('running_var', [C], 1);
      this.numBatchesTracked = this.addInt64Buffer('num_batches_tracked', []);
    }
    this.undoStats = new Float32Array(this.trackRunningStats ? 2 * C : 0);
  }

  /** @internal The class name as PyTorch prints it (spelled out: bundlers may rename classes). */
  protected get kind(): string { return 'BatchNorm'; }
  /** @internal Whether an input of this rank is accepted, and how to describe the accepted shapes. */
  protected abstract acceptsRank(rank: number): boolean;
  /** @internal */
  protected abstract expectedShape(): string;

  override toString(): string {
    return `${this.kind}(${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${pyFloat(this.momentum)}, ` +
      `affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.trackRunningStats)})`;
  }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> {
    return { numFeatures: this.numFeatures, eps: this.eps, momentum: this.momentum, affine: this.affine, trackRunningStats: this.trackRunningStats };
  }

  /** The input shape, checked: its rank and C; in training, more than one value per channel. */
  override outputShape(s: readonly number[]): number[] {
    // An empty batch has no statistics to normalise by in training (eval passes it through).
    if (this.training) checkNotEmptyBatch(this, s);
    if (!this.acceptsRank(s.length) || s[1] !== this.numFeatures) {
      throw new Error(`${this}: expected input of shape ${this.expectedShape()} with C = ${this.numFeatures}, got ${formatShape(s)}`);
    }
    // Checked here, before any layer of a model runs, so that a refused batch changes no running stats.
    const valuesPerChannel = s.reduce((a, b) => a * b, 1) / s[1];
    if (this.training && valuesPerChannel <= 1) {
      throw new Error(`${this}: expected more than 1 value per channel when training, got input of shape ${formatShape(s)}`);
    }
    return [...s];
  }

  /**
   * @internal The put-off convolution output `x` is, when this call (eval, running statistics)
   * applies its affine in the convolution's stores instead of sweeping x; else null.
   */
  private fusableInput(x: Tensor): FusableResult | null {
    if (this.training || !this.trackRunningStats || !fusionEnabled()) return null;
    const d = fusableResult(x);
    return d?.takesAffine ? d : null;
  }

  /** @internal */
  override forwardDevice(x: Tensor): Tensor {
    const [N, C] = x.shape;
    const L = x.size / (N * C) || 0;
    const k = rt().kernels;
    const batchStats = this.training || !this.trackRunningStats;
    this.fusedInput = null;
    this.putOff = null;
    // Re-issued first: a put-off result of the last call reads the coefficients rewritten below.
    const y = this.output('y', x.shape);
    let mean = this.runningMean!, variance = this.runningVar!;
    if (batchStats) {
      mean = this.output('mean', [C]);
      variance = this.output('variance', [C]);
      // One sweep for the statistics and the input check (checksOwnInput), before any state changes.
      const bad = batchStatsSplit(x, mean, variance, N, C, L);
      if (bad > 0) throw new Error(`${this.label()} input: ${bad} of ${x.size} values are NaN or infinite`);
      if (this.training && this.trackRunningStats) this.updateRunningStats(mean, variance, N * L);
    }
    const coef = this.scratch('coef', 3 * C * 4).ptr;
    k.batchNormCoefficients(mean.ptr, variance.ptr, this.weight?.data.ptr ?? 0, this.bias?.data.ptr ?? 0, coef, C, this.eps, +this.affine);
    this.saved = { x, mean, variance, batchStats, L };
    const conv = this.fusableInput(x);
    if (conv) {
      // Eval after a put-off convolution: the affine goes into the convolution's stores, and the
      // input check with it (conv2dForwardAffine), refused with this call's own Error.
      const frame = currentFrame();
      const refuse = (bad: number) => {
        const err = new Error(`${this.label()} input: ${bad} of ${x.size} values are NaN or infinite`);
        return (frame ? annotateError(err, frame, true) : err) as Error;
      };
      y.block!.defer(conv.withAffine(coef, y, refuse));
      this.fusedInput = conv;
      return y;
    }
    const deferred = new DeferredAffine(this, x, y, coef, N, C, L);
    this.putOff = deferred;
    // Put off while its input is a layer's result (re-issued, never written in place): a ReLU or
    // ReLU6 given y computes from x directly (epilogue.ts); anything else reading y writes it first.
    if (fusionEnabled() && x.block?.owner) y.block!.defer(deferred);
    else deferred.run();
    return y;
  }

  /**
   * @internal With batch statistics the statistics sweep checks the input (batchNormStats counts);
   * in eval after a put-off convolution, the fused stores do.
   */
  override checksOwnInput(x: Tensor): boolean { return this.training || !this.trackRunningStats || this.fusableInput(x) !== null; }

  /** @internal The profile row of the convolution whose stores took this call's affine, or null. */
  override fusedWith(): string | null { return this.fusedInput?.row ?? null; }

  /** @internal The input kept for backward must still be intact. */
  override checkSaved(): void { this.checkSavedInput(this.saved?.x ?? null); }

  /** @internal */
  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad && !this.affine) return null;
    const { x, mean, variance, batchStats, L } = this.saved!;
    const [N, C] = x.shape;
    const dx = needInputGrad ? this.output('dx', x.shape, 'backward()') : null;
    // The gradient of the ReLU or ReLU6 after it, put off: its dy masked here (DeferredActGrad).
    const act = deferredActGrad(dy, this.putOff);
    if (act) {
      actGradFusions.count++;
      act.writtenBeforeSourcesChange = false;
    }
    const args = [x.ptr, (act ? act.dy : dy).ptr, dx?.ptr ?? 0, mean.ptr, variance.ptr,
      this.weight?.data.ptr ?? 0, this.weight?.grad.ptr ?? 0, this.bias?.grad.ptr ?? 0,
      N, C, L, this.eps, +this.affine, +batchStats, act ? act.affine.coef : 0, act ? act.act : 0] as const;
    // Reads x and dy twice, writes dx: 20 bytes a value.
    const threads = splitThreads(C, 20 * x.size, splitLimits.minBytes);
    if (threads === 1) {
      rt().kernels.batchNormBackward(...args);
    } else {
      batchNormSplits.backward++;
      overRanges(C, threads, (c0, Cc) => ({ kernel: 'batchNormBackwardRange', args: [...args, c0, Cc] }));
    }
    return dx;
  }

  /** running = (1 − m)·running + m·batch, with the unbiased batch variance; m = 1/count when momentum is null. */
  private updateRunningStats(mean: Tensor, variance: Tensor, valuesPerChannel: number): void {
    const tracked = this.numBatchesTracked!.host as BigInt64Array;
    this.saveForRollback(tracked);
    tracked[0] += 1n;
    const factor = this.momentum ?? 1 / Number(tracked[0]);
    rt().kernels.batchNormUpdateRunning(this.runningMean!.ptr, this.runningVar!.ptr, mean.ptr, variance.ptr,
      this.numFeatures, factor, valuesPerChannel / (valuesPerChannel - 1));
  }

  /**
   * Copies the running statistics before the first update of a forward pass and records this
   * layer in the pass's journal. Once per pass: a second update must not overwrite the values
   * from before the pass. Outside forward() (no pass) there is no one to roll back.
   */
  private saveForRollback(tracked: BigInt64Array): void {
    const pass = currentPass();
    if (pass === 0 || pass === this.undoPass) return;
    this.undoPass = pass;
    this.undoStats.set(this.runningMean!.view());
    this.undoStats.set(this.runningVar!.view(), this.numFeatures);
    this.undoTracked = tracked[0];
    record(this);
  }

  /** @internal Puts back the running statistics and count saved before the failed forward pass. */
  rollback(): void {
    const C = this.numFeatures;
    this.runningMean!.view().set(this.undoStats.subarray(0, C));
    this.runningVar!.view().set(this.undoStats.subarray(C));
    (this.numBatchesTracked!.host as BigInt64Array)[0] = this.undoTracked;
  }
}

/**
 * batchNormStats of x [N, C, L] into mean and variance, split by channel ranges over the threads
 * when the sweep is big enough (each channel's sums as on one thread: the same bits); returns how
 * many values are NaN or infinite.
 */
function batchStatsSplit(x: Tensor, mean: Tensor, variance: Tensor, N: number, C: number, L: number): number {
  const threads = N * L === 0 ? 1 : splitThreads(C, 4 * x.size, splitLimits.minBytes);
  if (threads === 1) return rt().kernels.batchNormStats(x.ptr, mean.ptr, variance.ptr, N, C, L);
  batchNormSplits.stats++;
  const bad = overRanges(C, threads, (c0, Cc) => ({ kernel: 'batchNormStatsRange', args: [x.ptr, mean.ptr, variance.ptr, N, C, L, c0, Cc] }));
  return bad.reduce((a, b) => a + b, 0);
}

/**
 * Batch normalisation of [N, C] or [N, C, L] inputs, as torch.nn.BatchNorm1d: each channel c is
 * normalised over N (and L), y = (x − mean_c) / √(var_c + eps) · weight_c + bias_c. In training
 * mode mean and (biased) variance are the batch's, and the running statistics are updated:
 * running = (1 − momentum)·running + momentum·batch (unbiased variance); in eval mode the running
 * statistics are used.
 *
 * Shape:
 * - input: [N, C] or [N, C, L]
 * - output: the input's shape
 *
 * @example
 * ```js
 * new sn.Sequential(new sn.Linear(784, 256), new sn.BatchNorm1d(256), new sn.ReLU(), new sn.Linear(256, 10));
 * ```
 */
export class BatchNorm1d extends BatchNorm {
  /** @internal */
  protected override get kind(): string { return 'BatchNorm1d'; }
  /** @internal */
  protected override acceptsRank(rank: number): boolean { return rank === 2 || rank === 3; }
  /** @internal */
  protected override expectedShape(): string { return '[N, C] or [N, C, L]'; }
}

/**
 * Batch normalisation of image batches, as torch.nn.BatchNorm2d: each channel c is normalised over
 * N, H and W, y = (x − mean_c) / √(var_c + eps) · weight_c + bias_c. In training mode mean and
 * (biased) variance are the batch's, and the running statistics are updated:
 * running = (1 − momentum)·running + momentum·batch (unbiased variance); in eval mode the running
 * statistics are used. State dict names: weight, bias, running_mean, running_var, num_batches_tracked.
 *
 * Shape:
 * - input: [N, C, H, W]
 * - output: [N, C, H, W]
 *
 * @example
 * ```js
 * const block = new sn.Sequential(new sn.Conv2d(3, 16, 3, { padding: 1, bias: false }), new sn.BatchNorm2d(16), new sn.ReLU());
 * block.eval();    // normalise with the running statistics
 * ```
 */
export class BatchNorm2d extends BatchNorm {
  /** @internal */
  protected override get kind(): string { return 'BatchNorm2d'; }
  /** @internal */
  protected override acceptsRank(rank: number): boolean { return rank === 4; }
  /** @internal */
  protected override expectedShape(): string { return '[N, C, H, W]'; }
}

const batchNormFields = { numFeatures: 'int', eps: 'number', momentum: 'numberOrNull', affine: 'bool', trackRunningStats: 'bool' } as const;
const batchNormOptions = (c: LayerConfig) => ({ eps: c.eps, momentum: c.momentum, affine: c.affine, trackRunningStats: c.trackRunningStats });
const batchNormValues = (c: LayerConfig): number => {
  const n = Math.max(c.numFeatures, 0);
  return (c.affine ? 2 * n : 0) + (c.trackRunningStats ? 2 * n + 1 : 0);
};
registerLayer({
  typeName: 'BatchNorm1d', ctor: BatchNorm1d, fields: batchNormFields,
  build: (c) => new BatchNorm1d(c.numFeatures, batchNormOptions(c)), stateValues: batchNormValues,
});
registerLayer({
  typeName: 'BatchNorm2d', ctor: BatchNorm2d, fields: batchNormFields,
  build: (c) => new BatchNorm2d(c.numFeatures, batchNormOptions(c)), stateValues: batchNormValues,
});
