// Learning-rate schedules as torch.optim.lr_scheduler: call step() once per epoch; each sets
// optimizer.lr from the epoch count (closed forms, so they can be resumed at any epoch).
import { Optimizer } from './optimizer.js';
import { checkOptions, checkValue, described, finite, integer } from '../options.js';

export abstract class LRScheduler {
  /** Epochs stepped so far. */
  lastEpoch = 0;
  readonly baseLr: number;

  constructor(readonly optimizer: Optimizer) {
    checkValue(this.name, 'optimizer', optimizer, { expected: 'an Optimizer (e.g. new sn.SGD(model.parameters(), { lr: 0.1 }))', test: (v) => v instanceof Optimizer });
    this.baseLr = optimizer.lr;
  }

  /** The name used in error messages; subclasses spell it out, as minifiers rename classes. */
  protected get name(): string { return 'LRScheduler'; }

  /** The learning rate for epoch `epoch`. */
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

export interface StepLROptions {
  /** Epochs between decays (required). */
  stepSize: number;
  /** Factor of each decay; default 0.1. */
  gamma?: number;
}

/** lr = base · gamma^⌊epoch / stepSize⌋. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

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

  override lrAt(epoch: number): number {
    this.checkEpoch(epoch);
    return this.baseLr * this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

export interface CosineAnnealingLROptions {
  /** Epochs of the half cosine (required). */
  tMax: number;
  /** The lowest learning rate, reached at tMax; default 0. */
  etaMin?: number;
}

/** lr = etaMin + (base − etaMin)·(1 + cos(π·epoch / tMax)) / 2. */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

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

  override lrAt(epoch: number): number {
    this.checkEpoch(epoch);
    return this.etaMin + (this.baseLr - this.etaMin) * (1 + Math.cos(Math.PI * epoch / this.tMax)) / 2;
  }
}

/** Throws unless `options` (already checked to be an object, if given) sets `key`, showing an example call. */
function checkRequired(where: string, options: unknown, key: string, example: string): void {
  if ((options as Record<string, unknown> | undefined)?.[key] === undefined) throw new Error(`${where}: options.${key} is required, e.g. ${example}`);
}
