// SGD with momentum, dampening, Nesterov momentum and (L2) weight decay, as torch.optim.SGD.
import { Block, rt } from '../runtime/index.js';
import { Parameter } from '../module.js';
import { Optimizer, checkNumber } from './optimizer.js';
import { anything, boolean, checkOptions, checkOptionsObject } from '../options.js';

/** The options of SGD; the defaults are PyTorch's. */
export interface SGDOptions {
  /** The learning rate (required), a finite number ≥ 0. */
  lr: number;
  /** The momentum factor μ, ≥ 0. Default 0 (plain SGD). */
  momentum?: number;
  /** Dampening for momentum: b = μ·b + (1 − dampening)·g. Default 0. */
  dampening?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). Default false. */
  nesterov?: boolean;
  /** L2 penalty: weightDecay·p is added to the gradient. Default 0. */
  weightDecay?: number;
}

/**
 * Stochastic gradient descent with momentum, as torch.optim.SGD. For each parameter p with
 * gradient g: g += weightDecay·p; with momentum, b = μ·b + (1 − dampening)·g (b = g at the first
 * step) and g = b, or g + μ·b with Nesterov; then p −= lr·g.
 *
 * @example
 * ```js
 * const optimizer = new sn.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
 * const loss = lossFn.forward(model.forward(x), labels);
 * loss.backward();
 * optimizer.step();
 * optimizer.zeroGrad();
 * ```
 */
export class SGD extends Optimizer {
  /** The momentum factor μ. */
  readonly momentum: number;
  /** The dampening of the momentum. */
  readonly dampening: number;
  /** Whether the momentum is Nesterov's. */
  readonly nesterov: boolean;
  /** The L2 penalty added to the gradient. */
  readonly weightDecay: number;
  /** Momentum buffers, one per parameter (none without momentum). */
  private readonly momentumBuffers: Block[];

  /**
   * Stochastic gradient descent (torch.optim.SGD) over `params`. Options, with PyTorch's
   * defaults: lr (required), momentum 0, dampening 0, nesterov false, weightDecay 0.
   *
   * @param params The parameters to update, e.g. model.parameters() (a subset freezes the rest).
   * @param options lr (required), momentum, dampening, nesterov, weightDecay; see {@link SGDOptions}.
   */
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

  /** @internal */
  protected override get name(): string { return 'SGD'; }

  /** Updates every parameter from its gradient (which it does not clear: call zeroGrad()). */
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

  /** PyTorch-style description: `SGD(lr=0.01, momentum=0.9, ...)`. */
  override toString(): string {
    return `SGD(lr=${this.lr}, momentum=${this.momentum}, dampening=${this.dampening}, nesterov=${this.nesterov}, weight_decay=${this.weightDecay})`;
  }
}
