// Tanh; backward from the output, dy·(1 − y²).
import { rt } from '../runtime/index.js';
import { Tensor } from '../tensor.js';
import { Elementwise } from './elementwise.js';
import { registerLayer } from '../registry.js';

/**
 * The hyperbolic tangent, as torch.nn.Tanh: y = tanh(x), element by element.
 *
 * Shape: any; the output has the input's shape.
 */
export class Tanh extends Elementwise {
  override toString(): string { return 'Tanh()'; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return {}; }

  /** @internal */
  protected override apply(x: number, y: number, n: number): void { rt().kernels.tanhForward(x, y, n); }

  /** @internal */
  protected override readonly backwardReadsInput = false;

  /** @internal */
  protected override applyBackward(_x: Tensor, y: Tensor, dy: number, dx: number, n: number): void {
    rt().kernels.tanhBackward(y.ptr, dy, dx, n);
  }
}

registerLayer({ typeName: 'Tanh', ctor: Tanh, fields: {}, build: () => new Tanh() });
