// Learning-rate schedules as torch.optim.lr_scheduler: call step() once per epoch; each sets
// optimizer.lr from the epoch count (closed forms, so they can be resumed at any epoch).
import { Optimizer } from './optimizer.js';

export abstract class LRScheduler {
  /** Epochs stepped so far. */
  lastEpoch = 0;
  readonly baseLr: number;

  constructor(readonly optimizer: Optimizer) {
    if (!(optimizer instanceof Optimizer)) throw new Error(`${this.constructor.name}: expected an optimizer, got ${String(optimizer)}`);
    this.baseLr = optimizer.lr;
  }

  /** The learning rate for epoch `epoch`. */
  abstract lrAt(epoch: number): number;

  step(): void {
    this.lastEpoch++;
    this.optimizer.lr = this.lrAt(this.lastEpoch);
  }

  /** The learning rate now in force. */
  getLastLr(): number { return this.optimizer.lr; }
}

export interface StepLROptions { stepSize: number; gamma?: number; }

/** lr = base · gamma^⌊epoch / stepSize⌋. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: StepLROptions) {
    super(optimizer);
    this.stepSize = options?.stepSize;
    this.gamma = options?.gamma ?? 0.1;
    if (!Number.isInteger(this.stepSize) || this.stepSize < 1) throw new Error(`StepLR: stepSize must be a positive integer, got ${this.stepSize}`);
    if (!(this.gamma > 0)) throw new Error(`StepLR: gamma must be positive, got ${this.gamma}`);
  }

  override lrAt(epoch: number): number {
    return this.baseLr * this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

export interface CosineAnnealingLROptions { tMax: number; etaMin?: number; }

/** lr = etaMin + (base − etaMin)·(1 + cos(π·epoch / tMax)) / 2. */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, options: CosineAnnealingLROptions) {
    super(optimizer);
    this.tMax = options?.tMax;
    this.etaMin = options?.etaMin ?? 0;
    if (!Number.isInteger(this.tMax) || this.tMax < 1) throw new Error(`CosineAnnealingLR: tMax must be a positive integer, got ${this.tMax}`);
    if (!(this.etaMin >= 0)) throw new Error(`CosineAnnealingLR: etaMin must be ≥ 0, got ${this.etaMin}`);
  }

  override lrAt(epoch: number): number {
    return this.etaMin + (this.baseLr - this.etaMin) * (1 + Math.cos(Math.PI * epoch / this.tMax)) / 2;
  }
}
