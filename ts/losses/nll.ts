// NLLLoss: negative log-likelihood of log-probabilities [N, C] (e.g. LogSoftmax output).
import { rt } from '../runtime/index.js';
import { Tensor, checkTensor } from '../tensor.js';
import { Loss, LossValue, Reduction } from './loss.js';
import { LabelBuffer, Labels, checkLabels, ignoreIndexRule, reductionRule } from './labels.js';
import { checkOptions } from '../options.js';

/** The options of NLLLoss; the defaults are PyTorch's. */
export interface NLLLossOptions {
  /** 'mean' (default) divides by the number of labels that are not ignored; 'sum' does not. */
  reduction?: Reduction;
  /** Rows with this label contribute nothing. Default −100, as PyTorch. */
  ignoreIndex?: number;
}

/**
 * Negative log-likelihood of log-probabilities against class labels, as torch.nn.NLLLoss:
 * loss_n = −logp[n, y_n]; the mean over the rows not ignored, or the sum. After LogSoftmax(1) it
 * computes what CrossEntropyLoss computes from the logits.
 *
 * Shape:
 * - input: log-probabilities [N, C]
 * - labels: N integers in [0, C) (or ignoreIndex), see {@link Labels}
 * - value: a number
 *
 * @example
 * ```js
 * const model = new sn.Sequential(new sn.Linear(20, 3), new sn.LogSoftmax(1));
 * const loss = new sn.NLLLoss().forward(model.forward(x), labels);
 * loss.backward();
 * ```
 */
export class NLLLoss extends Loss {
  /** 'mean' (over the rows not ignored) or 'sum'. */
  readonly reduction: Reduction;
  /** The label value whose rows count for nothing. */
  readonly ignoreIndex: number;
  private readonly labels = new LabelBuffer();

  /**
   * Negative log-likelihood (torch.nn.NLLLoss) of log-probabilities [N, C] (LogSoftmax's output)
   * against N class labels. Options, with PyTorch's defaults: reduction 'mean', ignoreIndex −100.
   *
   * @param options reduction ('mean'), ignoreIndex (−100); see {@link NLLLossOptions}.
   */
  constructor(options: NLLLossOptions = {}) {
    super();
    checkOptions('NLLLoss', options, { reduction: reductionRule, ignoreIndex: ignoreIndexRule });
    this.reduction = options.reduction ?? 'mean';
    this.ignoreIndex = options.ignoreIndex ?? -100;
  }

  override toString(): string { return 'NLLLoss'; }

  /** −logp[n, label[n]], summed or averaged over the counted rows. */
  forward(logProbs: Tensor, labels: Labels): LossValue {
    checkTensor(`${this}`, 'the input (log-probabilities)', logProbs, '[N, C]');
    const { values, counted } = checkLabels(`${this}`, logProbs.shape, labels, this.ignoreIndex);
    const x = this.stagePrediction(logProbs);
    const [N, C] = logProbs.shape;
    const scale = this.reduction === 'sum' ? 1 : counted > 0 ? 1 / counted : 0;
    const grad = this.gradient(logProbs.shape);
    const total = rt().kernels.nllForward(x.ptr, this.labels.upload(values), grad.ptr, N, C, this.ignoreIndex, scale);
    const value = this.reduction === 'mean' && counted === 0 ? NaN : total * scale;
    return new LossValue(value, logProbs, grad);
  }

  override dispose(): void { super.dispose(); this.labels.dispose(); }
}
