// Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight decay), with
// optional AMSGrad, as torch.optim.Adam / AdamW.
import { Block, rt } from '../runtime/index.js';
import { Parameter } from '../module.js';
import { Optimizer, checkNumber } from './optimizer.js';
import { anything, boolean, checkOptions, describe } from '../options.js';

export interface AdamOptions {
  /** Default 1e-3. */
  lr?: number;
  /** Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Adam default 0, AdamW default 0.01. */
  weightDecay?: number;
  amsgrad?: boolean;
}

export class Adam extends Optimizer {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  private readonly expAvg: Block[];
  private readonly expAvgSq: Block[];
  private readonly maxExpAvgSq: Block[];

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

  protected override get name(): string { return 'Adam'; }

  /** @internal Whether weight decay shrinks the weights directly (AdamW) or joins the gradient (Adam). */
  protected get decoupled(): boolean { return false; }
  protected get defaultWeightDecay(): number { return 0; }

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

  override toString(): string {
    return `${this.name}(lr=${this.lr}, betas=(${this.betas.join(', ')}), eps=${this.eps}, weight_decay=${this.weightDecay}, amsgrad=${this.amsgrad})`;
  }
}

/** Adam with decoupled weight decay: p *= 1 − lr·wd before the Adam update (default wd 0.01). */
export class AdamW extends Adam {
  protected override get name(): string { return 'AdamW'; }
  protected override get decoupled(): boolean { return true; }
  protected override get defaultWeightDecay(): number { return 0.01; }
}
