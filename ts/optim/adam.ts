// Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight decay), with
// optional AMSGrad, as torch.optim.Adam / AdamW.
import { Block, rt } from '../runtime/index.js';
import { Parameter } from '../module.js';
import { Optimizer, checkNumber } from './optimizer.js';
import { anything, boolean, checkOptions, describe } from '../options.js';

/** The options of Adam and AdamW; the defaults are PyTorch's. */
export interface AdamOptions {
  /** The learning rate, a finite number ≥ 0. Default 1e-3. */
  lr?: number;
  /** [β1, β2], the decay rates of the moment estimates, each in [0, 1). Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to the denominator for numerical stability, ≥ 0. Default 1e-8. */
  eps?: number;
  /** Weight decay, ≥ 0: an L2 penalty added to the gradient (Adam, default 0) or decoupled (AdamW, default 0.01). */
  weightDecay?: number;
  /** Use the AMSGrad variant (the maximum of the second moments so far). Default false. */
  amsgrad?: boolean;
}

/**
 * Adam, as torch.optim.Adam. For each parameter p with gradient g (plus weightDecay·p, an L2
 * penalty): m = β1·m + (1 − β1)·g, v = β2·v + (1 − β2)·g², then
 * p −= lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + eps) at step t. For decoupled weight decay use AdamW.
 *
 * @example
 * ```js
 * const optimizer = new sn.Adam(model.parameters(), { lr: 1e-3 });
 * const loss = lossFn.forward(model.forward(x), labels);
 * loss.backward();
 * optimizer.step();
 * optimizer.zeroGrad();
 * ```
 */
export class Adam extends Optimizer {
  /** [β1, β2]. */
  readonly betas: readonly [number, number];
  /** The denominator's ε. */
  readonly eps: number;
  /** The weight decay (an L2 penalty for Adam, decoupled for AdamW). */
  readonly weightDecay: number;
  /** Whether the AMSGrad variant is used. */
  readonly amsgrad: boolean;
  private readonly expAvg: Block[];
  private readonly expAvgSq: Block[];
  private readonly maxExpAvgSq: Block[];

  /**
   * Adam (torch.optim.Adam), or AdamW with decoupled weight decay, over `params`. Options, with
   * PyTorch's defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0 (AdamW 0.01), amsgrad false.
   *
   * @param params The parameters to update, e.g. model.parameters() (a subset freezes the rest).
   * @param options lr (1e-3), betas ([0.9, 0.999]), eps (1e-8), weightDecay (Adam 0, AdamW 0.01),
   *   amsgrad (false); see {@link AdamOptions}.
   */
  constructor(params: Iterable<Parameter>, options: AdamOptions = {}) {
    // `?.`: a non-object `options` is refused by checkOptions, after the base class has checked params.
    super(params, (options as AdamOptions | null | undefined)?.lr ?? 1e-3);
    // The numbers are checked below (and lr by the base class), each with its range.
    checkOptions(this.name, options, { lr: anything, betas: anything, eps: anything, weightDecay: anything, amsgrad: boolean });
    const betas = options.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) {
      throw new Error(`${this.name}: betas must be a pair [beta1, beta2], got ${describe(betas)}`);
    }
    checkNumber(this.name, 'betas[0]', betas[0], 0, 1);
    checkNumber(this.name, 'betas[1]', betas[1], 0, 1);
    this.betas = [betas[0], betas[1]];
    this.eps = options.eps ?? 1e-8;
    checkNumber(this.name, 'eps', this.eps, 0);
    this.weightDecay = options.weightDecay ?? this.defaultWeightDecay;
    checkNumber(this.name, 'weightDecay', this.weightDecay, 0);
    this.amsgrad = options.amsgrad ?? false;
    this.expAvg = this.stateBuffers();
    this.expAvgSq = this.stateBuffers();
    this.maxExpAvgSq = this.amsgrad ? this.stateBuffers() : [];
  }

  /** @internal */
  protected override get name(): string { return 'Adam'; }

  /** @internal Whether weight decay shrinks the weights directly (AdamW) or joins the gradient (Adam). */
  protected get decoupled(): boolean { return false; }
  /** @internal */
  protected get defaultWeightDecay(): number { return 0; }

  /** Updates every parameter from its gradient (which it does not clear: call zeroGrad()). */
  override step(): void {
    this.checkUsable();
    const k = rt().kernels;
    const t = ++this.stepCount;
    const [beta1, beta2] = this.betas;
    const stepSize = this.lr / (1 - beta1 ** t);
    const sqrtBc2 = Math.sqrt(1 - beta2 ** t);
    this.params.forEach((p, i) => {
      k.adamStep(p.data.ptr, p.grad.ptr, this.expAvg[i].ptr, this.expAvgSq[i].ptr, this.maxExpAvgSq[i]?.ptr ?? 0, p.size,
        this.lr, beta1, beta2, this.eps, this.weightDecay, +this.decoupled, +this.amsgrad, stepSize, sqrtBc2);
    });
  }

  /** PyTorch-style description: `Adam(lr=0.001, betas=(0.9, 0.999), ...)`. */
  override toString(): string {
    return `${this.name}(lr=${this.lr}, betas=(${this.betas.join(', ')}), eps=${this.eps}, weight_decay=${this.weightDecay}, amsgrad=${this.amsgrad})`;
  }
}

/**
 * Adam with decoupled weight decay, as torch.optim.AdamW: p *= 1 − lr·weightDecay before the Adam
 * update (instead of an L2 term in the gradient); weightDecay defaults to 0.01. Takes the same
 * options as Adam ({@link AdamOptions}).
 *
 * @example
 * ```js
 * const optimizer = new sn.AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
 * ```
 */
export class AdamW extends Adam {
  /** @internal */
  protected override get name(): string { return 'AdamW'; }
  /** @internal */
  protected override get decoupled(): boolean { return true; }
  /** @internal */
  protected override get defaultWeightDecay(): number { return 0.01; }
}
