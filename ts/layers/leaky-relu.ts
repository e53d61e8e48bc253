// LeakyReLU: y = x > 0 ? x : negativeSlope·x.
import { rt } from '../runtime/index.js';
import { Tensor } from '../tensor.js';
import { Elementwise } from './elementwise.js';
import { pyFloat } from './python-repr.js';
import { describe } from '../options.js';

export class LeakyReLU extends Elementwise {
  constructor(readonly negativeSlope = 0.01) {
    super();
    if (typeof negativeSlope !== 'number' || !Number.isFinite(negativeSlope)) {
      throw new Error(`LeakyReLU: negative_slope must be a finite number, got ${describe(negativeSlope)}`);
    }
  }

  override toString(): string { return `LeakyReLU(negative_slope=${pyFloat(this.negativeSlope)})`; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return { negativeSlope: this.negativeSlope }; }

  protected override apply(x: number, y: number, n: number): void {
    rt().kernels.leakyReluForward(x, y, n, this.negativeSlope);
  }

  protected override applyBackward(x: Tensor, _y: Tensor, dy: number, dx: number, n: number): void {
    rt().kernels.leakyReluBackward(x.ptr, dy, dx, n, this.negativeSlope);
  }
}
