// Sigmoid: y = 1 / (1 + e^−x); backward from the output, dy·y·(1 − y).
import { rt } from '../runtime/index.js';
import { Tensor } from '../tensor.js';
import { Elementwise } from './elementwise.js';

export class Sigmoid extends Elementwise {
  override toString(): string { return 'Sigmoid()'; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return {}; }

  protected override apply(x: number, y: number, n: number): void { rt().kernels.sigmoidForward(x, y, n); }

  protected override readonly backwardReadsInput = false;

  protected override applyBackward(_x: Tensor, y: Tensor, dy: number, dx: number, n: number): void {
    rt().kernels.sigmoidBackward(y.ptr, dy, dx, n);
  }
}
