// ReLU: y = max(x, 0).
import { rt } from '../runtime/index.js';
import { Tensor } from '../tensor.js';
import { Elementwise } from './elementwise.js';

export class ReLU extends Elementwise {
  override toString(): string { return 'ReLU()'; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return {}; }

  protected override apply(x: number, y: number, n: number): void { rt().kernels.reluForward(x, y, n); }

  protected override applyBackward(x: Tensor, _y: Tensor, dy: number, dx: number, n: number): void {
    rt().kernels.reluBackward(x.ptr, dy, dx, n);
  }
}
