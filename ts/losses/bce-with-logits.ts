// BCEWithLogitsLoss: binary cross-entropy on logits, sigmoid fused in for numerical stability:
// max(x, 0) − x·t + log(1 + e^−|x|); dL/dx = sigmoid(x) − t (over numel for the mean).
import { rt } from '../runtime/index.js';
import { Reduction } from './loss.js';
import { ElementwiseLoss } from './elementwise-loss.js';

export interface BCEWithLogitsLossOptions { reduction?: Reduction; }

export class BCEWithLogitsLoss extends ElementwiseLoss {
  constructor(options: BCEWithLogitsLossOptions = {}) { super('BCEWithLogitsLoss', options); }

  override toString(): string { return 'BCEWithLogitsLoss'; }

  protected override run(x: number, t: number, grad: number, n: number, gradScale: number): number {
    return rt().kernels.bceWithLogitsForward(x, t, grad, n, gradScale);
  }
}
