// Learning-rate schedules as torch.optim.lr_scheduler: call step() once per epoch; each sets
// optimizer.lr from the epoch count (closed forms, so they can be resumed at any epoch).
import { Optimizer } from './optimizer.js';
import { checkOptions, checkValue, described, finite, integer } from '../options.js';

/**
 * The base of the learning-rate schedules, as torch.optim.lr_scheduler.LRScheduler: step() once
 * per epoch (fit does it when given the scheduler) sets `optimizer.lr` to lrAt(epoch), a closed
 * form of the epoch, so a schedule can be resumed at any epoch. A subclass implements lrAt.
 */
export abstract class LRScheduler {
  /** Epochs stepped so far. */
  lastEpoch = 0;
  /** The optimizer's learning rate when the scheduler was made: the schedule's starting point. */
  readonly baseLr: number;

  /** A schedule for `optimizer`, starting from its current learning rate. */
  constructor(
    /** The optimizer whose `lr` this schedule sets. */
    readonly optimizer: Optimizer) {
    checkValue(this.name, 'optimizer', optimizer, { expected: 'an Optimizer (e.g. new sn.SGD(model.parameters(), { lr: 0.1 }))', test: (v) => v instanceof Optimizer });
    this.baseLr = optimizer.lr;
  }

  /** The name used in error messages; subclasses spell it out, as minifiers rename classes. */
  protected get name(): string { return 'LRScheduler'; }

  /** The learning rate for epoch `epoch` (an integer ≥ 0; 0 is the start), without changing anything. */
  abstract lrAt(epoch: number): number;

  /**
   * Moves to the next epoch and sets its learning rate. The rate is computed and checked first,
   * so a schedule that cannot go on (an lr that overflows) throws with nothing changed.
   */
  step(): void {
    const next = this.lrAt(this.lastEpoch + 1);
    this.optimizer.lr = next;
    this.lastEpoch++;
  }

  /** The learning rate now in force. */
  getLastLr(): number { return this.optimizer.lr; }

  /** @internal Throws unless epoch is an integer ≥ 0. */
  protected checkEpoch(epoch: number): void {
    checkValue(`${this.name}.lrAt`, 'epoch', epoch, described(integer(0), 'an integer ≥ 0'));
  }
}

/** The options of StepLR. */
export interface StepLROptions {
  /** Epochs between decays (required). */
  stepSize: number;
  /** Factor of each decay; default 0.1. */
  gamma?: number;
}

/**
 * Decays the learning rate by `gamma` every `stepSize` epochs, as torch.optim.lr_scheduler.StepLR:
 * lr = base · gamma^⌊epoch / stepSize⌋.
 *
 * @example
 * ```js
 * const optimizer = new sn.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * const scheduler = new sn.StepLR(optimizer, { stepSize: 30, gamma: 0.1 });   // 0.1, then 0.01 from epoch 30, ...
 * await model.fit(x, y, { epochs: 90, optimizer, scheduler });
 * ```
 */
export class StepLR extends LRScheduler {
  /** Epochs between decays. */
  readonly stepSize: number;
  /** The factor of each decay. */
  readonly gamma: number;

  /**
   * Multiplies the learning rate by gamma every stepSize epochs (torch.optim.lr_scheduler.StepLR):
   * lr = base · gamma^⌊epoch / stepSize⌋, base being optimizer.lr now. gamma defaults to 0.1.
   *
   * @param optimizer The optimizer whose lr it sets; its current lr is the base.
   * @param options stepSize (required), gamma (default 0.1); see {@link StepLROptions}.
   */
  constructor(optimizer: Optimizer, options: StepLROptions) {
    super(optimizer);
    checkOptions('StepLR', options, {
      stepSize: described(integer(1), 'a positive integer'),
      gamma: described(finite({ min: 0, minOpen: true }), 'a finite number > 0'),
    });
    checkRequired('StepLR', options, 'stepSize', 'new StepLR(optimizer, { stepSize: 10, gamma: 0.1 })');
    this.stepSize = options.stepSize;
    this.gamma = options.gamma ?? 0.1;
  }

  protected override get name(): string { return 'StepLR'; }

  /** base · gamma^⌊epoch / stepSize⌋. */
  override lrAt(epoch: number): number {
    this.checkEpoch(epoch);
    return this.baseLr * this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

/** The options of CosineAnnealingLR. */
export interface CosineAnnealingLROptions {
  /** Epochs of the half cosine (required). */
  tMax: number;
  /** The lowest learning rate, reached at tMax; default 0. */
  etaMin?: number;
}

/**
 * Anneals the learning rate along a half cosine from its base to etaMin over tMax epochs, as
 * torch.optim.lr_scheduler.CosineAnnealingLR (in closed form):
 * lr = etaMin + (base − etaMin)·(1 + cos(π·epoch / tMax)) / 2. Past tMax it rises again.
 *
 * @example
 * ```js
 * const optimizer = new sn.Adam(model.parameters(), { lr: 1e-3 });
 * await model.fit(x, y, { epochs: 10, optimizer, scheduler: new sn.CosineAnnealingLR(optimizer, { tMax: 10 }) });
 * ```
 */
export class CosineAnnealingLR extends LRScheduler {
  /** The epochs of the half cosine. */
  readonly tMax: number;
  /** The lowest learning rate, reached at tMax. */
  readonly etaMin: number;

  /**
   * Anneals the learning rate from optimizer.lr now (the base) to etaMin over tMax epochs
   * (torch.optim.lr_scheduler.CosineAnnealingLR): lr = etaMin + (base − etaMin)·(1 + cos(π·epoch / tMax)) / 2.
   * etaMin defaults to 0.
   *
   * @param optimizer The optimizer whose lr it sets; its current lr is the base.
   * @param options tMax (required), etaMin (default 0); see {@link CosineAnnealingLROptions}.
   */
  constructor(optimizer: Optimizer, options: CosineAnnealingLROptions) {
    super(optimizer);
    checkOptions('CosineAnnealingLR', options, {
      tMax: described(integer(1), 'a positive integer'),
      etaMin: finite({ min: 0 }),
    });
    checkRequired('CosineAnnealingLR', options, 'tMax', 'new CosineAnnealingLR(optimizer, { tMax: 10 })');
    this.tMax = options.tMax;
    this.etaMin = options.etaMin ?? 0;
  }

  protected override get name(): string { return 'CosineAnnealingLR'; }

  /** etaMin + (base − etaMin)·(1 + cos(π·epoch / tMax)) / 2. */
  override lrAt(epoch: number): number {
    this.checkEpoch(epoch);
    return this.etaMin + (this.baseLr - this.etaMin) * (1 + Math.cos(Math.PI * epoch / this.tMax)) / 2;
  }
}

/** Throws unless `options` (already checked to be an object, if given) sets `key`, showing an example call. */
function checkRequired(where: string, options: unknown, key: string, example: string): void {
  if ((options as Record<string, unknown> | undefined)?.[key] === undefined) throw new Error(`${where}: options.${key} is required, e.g. ${example}`);
}
