// Sigmoid: y = 1 / (1 + e^−x); backward from the output, dy·y·(1 − y).
import { rt } from '../runtime/index.js';
import { Tensor } from '../tensor.js';
import { Elementwise } from './elementwise.js';
import { registerLayer } from '../registry.js';

/**
 * The logistic sigmoid, as torch.nn.Sigmoid: y = 1 / (1 + e^−x), element by element. For a
 * binary classifier's output, BCEWithLogitsLoss on the logits is more stable than Sigmoid then a loss.
 *
 * Shape: any; the output has the input's shape.
 */
export class Sigmoid extends Elementwise {
  override toString(): string { return 'Sigmoid()'; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return {}; }

  /** @internal */
  protected override apply(x: number, y: number, n: number): void { rt().kernels.sigmoidForward(x, y, n); }

  /** @internal */
  protected override readonly backwardReadsInput = false;

  /** @internal */
  protected override applyBackward(_x: Tensor, y: Tensor, dy: number, dx: number, n: number): void {
    rt().kernels.sigmoidBackward(y.ptr, dy, dx, n);
  }
}

registerLayer({ typeName: 'Sigmoid', ctor: Sigmoid, fields: {}, build: () => new Sigmoid() });
