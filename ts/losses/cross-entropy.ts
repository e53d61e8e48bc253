// CrossEntropyLoss: log-softmax and negative log-likelihood fused in one kernel that also
// writes dL/dlogits, over logits [N, C] and integer class labels.
import { rt } from '../runtime/index.js';
import { Tensor, checkTensor } from '../tensor.js';
import { Loss, LossValue, Reduction } from './loss.js';
import { LabelBuffer, Labels, checkLabels, ignoreIndexRule, reductionRule } from './labels.js';
import { checkOptions, described, finite } from '../options.js';

/** The options of CrossEntropyLoss; the defaults are PyTorch's. */
export interface CrossEntropyLossOptions {
  /** 'mean' (default) divides by the number of labels that are not ignored; 'sum' does not. */
  reduction?: Reduction;
  /** Mixes the one-hot target with the uniform distribution: (1 − s)·onehot + s/C. Default 0. */
  labelSmoothing?: number;
  /** Rows with this label contribute nothing. Default −100, as PyTorch. */
  ignoreIndex?: number;
}

/**
 * Cross-entropy of logits against class labels, as torch.nn.CrossEntropyLoss: log-softmax and
 * negative log-likelihood fused in one kernel, which also writes dL/dlogits. For row n with label
 * y_n: loss_n = −log(exp(x[n, y_n]) / Σ_c exp(x[n, c])) (with label smoothing s, the target is
 * (1 − s)·onehot + s/C); the mean over the rows not ignored, or the sum.
 *
 * Shape:
 * - input: logits [N, C] (no softmax before it)
 * - labels: N integers in [0, C) (or ignoreIndex), see {@link Labels}
 * - value: a number
 *
 * @example
 * ```js
 * const lossFn = new sn.CrossEntropyLoss();
 * const loss = lossFn.forward(model.forward(x), labels);   // logits [N, 10], labels Int32Array(N)
 * loss.backward();
 * optimizer.step();
 * optimizer.zeroGrad();
 * ```
 */
export class CrossEntropyLoss extends Loss {
  /** 'mean' (over the rows not ignored) or 'sum'. */
  readonly reduction: Reduction;
  /** The label smoothing s, in [0, 1]. */
  readonly labelSmoothing: number;
  /** The label value whose rows count for nothing. */
  readonly ignoreIndex: number;
  private readonly labels = new LabelBuffer();

  /**
   * Cross-entropy (torch.nn.CrossEntropyLoss) of logits [N, C] against N class labels, softmax
   * fused. Options, with PyTorch's defaults: reduction 'mean', labelSmoothing 0, ignoreIndex −100.
   *
   * @param options reduction ('mean'), labelSmoothing (0), ignoreIndex (−100); see {@link CrossEntropyLossOptions}.
   */
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
