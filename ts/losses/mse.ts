// MSELoss: mean (or sum) of (y − t)²; dL/dy = 2(y − t)/numel for the mean.
import { rt } from '../runtime/index.js';
import { Reduction } from './loss.js';
import { ElementwiseLoss } from './elementwise-loss.js';

/** The options of MSELoss. */
export interface MSELossOptions {
  /** 'mean' (default) over all elements, or 'sum'. */
  reduction?: Reduction;
}

/**
 * Mean squared error, as torch.nn.MSELoss: the mean (or sum) over all elements of (y − t)², for
 * regression; dL/dy = 2(y − t)/numel for the mean.
 *
 * Shape:
 * - input and target: the same shape, any (float32 Tensors)
 * - value: a number
 *
 * @example
 * ```js
 * const loss = new sn.MSELoss().forward(model.forward(x), sn.tensor(targets, [N, 1]));
 * loss.backward();
 * ```
 */
export class MSELoss extends ElementwiseLoss {
  /**
   * Mean squared error (torch.nn.MSELoss) of a prediction against a float32 target of the same
   * shape. Option reduction, 'mean' (default) or 'sum'.
   *
   * @param options reduction ('mean' or 'sum'; default 'mean').
   */
  constructor(options: MSELossOptions = {}) { super('MSELoss', options); }

  override toString(): string { return 'MSELoss'; }

  /** @internal */
  protected override run(y: number, t: number, grad: number, n: number, gradScale: number): number {
    return rt().kernels.mseForward(y, t, grad, n, gradScale);
  }
}
