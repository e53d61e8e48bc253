// SGD with momentum, dampening, Nesterov momentum and (L2) weight decay, as torch.optim.SGD.
import { Block, rt } from '../runtime/index.js';
import { Parameter } from '../module.js';
import { Optimizer, checkNumber } from './optimizer.js';
import { anything, boolean, checkOptions, checkOptionsObject } from '../options.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  /** Momentum buffers, one per parameter (none without momentum). */
  private readonly momentumBuffers: Block[];

  constructor(params: Iterable<Parameter>, options: SGDOptions) {
    if (options !== undefined && options !== null) checkOptionsObject('SGD', options, ['lr', 'momentum', 'dampening', 'nesterov', 'weightDecay']);
    if (options === undefined || options === null || options.lr === undefined) {
      throw new Error('SGD: options.lr is required, e.g. new SGD(model.parameters(), { lr: 0.01 })');
    }
    super(params, options.lr);
    // The numbers are checked below (and lr by the base class), each with its range.
    checkOptions('SGD', options, { lr: anything, momentum: anything, dampening: anything, nesterov: boolean, weightDecay: anything });
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = options.weightDecay ?? 0;
    checkNumber('SGD', 'momentum', this.momentum, 0);
    checkNumber('SGD', 'dampening', this.dampening, -Infinity);
    checkNumber('SGD', 'weightDecay', this.weightDecay, 0);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error(`SGD: nesterov momentum requires momentum > 0 and dampening 0, got momentum ${this.momentum} and dampening ${this.dampening}`);
    }
    this.momentumBuffers = this.momentum !== 0 ? this.stateBuffers() : [];
  }

  protected override get name(): string { return 'SGD'; }

  override step(): void {
    this.checkUsable();
    const k = rt().kernels;
    const first = this.stepCount === 0;
    this.params.forEach((p, i) => {
      k.sgdStep(p.data.ptr, p.grad.ptr, this.momentumBuffers[i]?.ptr ?? 0, p.size,
        this.lr, this.momentum, this.dampening, this.weightDecay, +this.nesterov, +first);
    });
    this.stepCount++;
  }

  override toString(): string {
    return `SGD(lr=${this.lr}, momentum=${this.momentum}, dampening=${this.dampening}, nesterov=${this.nesterov}, weight_decay=${this.weightDecay})`;
  }
}
