// CrossEntropyLoss: log-softmax and negative log-likelihood fused in one kernel that also
// writes dL/dlogits, over logits [N, C] and integer class labels.
import { rt } from '../runtime/index.js';
import { Tensor } from '../tensor.js';
import { Loss, LossValue, Reduction } from './loss.js';
import { LabelBuffer, Labels, checkLabels, ignoreIndexRule, reductionRule } from './labels.js';
import { checkOptions, checkTensor, described, finite } from '../options.js';

export interface CrossEntropyLossOptions {
  /** 'mean' (default) divides by the number of labels that are not ignored; 'sum' does not. */
  reduction?: Reduction;
  /** Mixes the one-hot target with the uniform distribution: (1 − s)·onehot + s/C. Default 0. */
  labelSmoothing?: number;
  /** Rows with this label contribute nothing. Default −100, as PyTorch. */
  ignoreIndex?: number;
}

export class CrossEntropyLoss extends Loss {
  readonly reduction: Reduction;
  readonly labelSmoothing: number;
  readonly ignoreIndex: number;
  private readonly labels = new LabelBuffer();

  constructor(options: CrossEntropyLossOptions = {}) {
    super();
    checkOptions('CrossEntropyLoss', options, {
      reduction: reductionRule,
      labelSmoothing: described(finite({ min: 0, max: 1 }), 'between 0 and 1'),
      ignoreIndex: ignoreIndexRule,
    });
    this.reduction = options.reduction ?? 'mean';
    this.labelSmoothing = options.labelSmoothing ?? 0;
    this.ignoreIndex = options.ignoreIndex ?? -100;
  }

  override toString(): string { return 'CrossEntropyLoss'; }

  /**
   * The loss of logits [N, C] against labels (N integers in [0, C)). A mean over no counted
   * labels (all ignored) is NaN, as in PyTorch, with a zero gradient.
   */
  forward(logits: Tensor, labels: Labels): LossValue {
    checkTensor(`${this}`, 'the input (logits)', logits, '[N, C]');
    const { values, counted } = checkLabels(`${this}`, logits.shape, labels, this.ignoreIndex);
    const x = this.stagePrediction(logits);
    const [N, C] = logits.shape;
    const scale = this.reduction === 'sum' ? 1 : counted > 0 ? 1 / counted : 0;
    const grad = this.gradient(logits.shape);
    const total = rt().kernels.crossEntropyForward(x.ptr, this.labels.upload(values), grad.ptr, N, C,
      this.labelSmoothing, this.ignoreIndex, scale);
    const value = this.reduction === 'mean' && counted === 0 ? NaN : total * scale;
    return new LossValue(value, logits, grad);
  }

  override dispose(): void { super.dispose(); this.labels.dispose(); }
}
