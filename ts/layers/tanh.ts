// Tanh; backward from the output, dy·(1 − y²).
import { rt } from '../runtime/index.js';
import { Tensor } from '../tensor.js';
import { Elementwise } from './elementwise.js';

export class Tanh extends Elementwise {
  override toString(): string { return 'Tanh()'; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return {}; }

  protected override apply(x: number, y: number, n: number): void { rt().kernels.tanhForward(x, y, n); }

  protected override readonly backwardReadsInput = false;

  protected override applyBackward(_x: Tensor, y: Tensor, dy: number, dx: number, n: number): void {
    rt().kernels.tanhBackward(y.ptr, dy, dx, n);
  }
}
