// MSELoss: mean (or sum) of (y − t)²; dL/dy = 2(y − t)/numel for the mean.
import { rt } from '../runtime/index.js';
import { Reduction } from './loss.js';
import { ElementwiseLoss } from './elementwise-loss.js';

export interface MSELossOptions { reduction?: Reduction; }

export class MSELoss extends ElementwiseLoss {
  constructor(options: MSELossOptions = {}) { super('MSELoss', options); }

  override toString(): string { return 'MSELoss'; }

  protected override run(y: number, t: number, grad: number, n: number, gradScale: number): number {
    return rt().kernels.mseForward(y, t, grad, n, gradScale);
  }
}
