// SiLU (swish): y = x · sigmoid(x).
import { rt } from '../runtime/index.js';
import { Tensor } from '../tensor.js';
import { Elementwise } from './elementwise.js';
import { registerLayer } from '../registry.js';

/**
 * The sigmoid linear unit (also called swish), as torch.nn.SiLU: y = x · sigmoid(x), element by
 * element (EfficientNet's activation).
 *
 * Shape: any; the output has the input's shape.
 *
 * @example
 * ```js
 * new sn.Sequential(new sn.Linear(64, 64), new sn.SiLU());
 * ```
 */
export class SiLU extends Elementwise {
  override toString(): string { return 'SiLU()'; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them (none). */
  config(): Record<string, unknown> { return {}; }

  /** @internal */
  protected override apply(x: number, y: number, n: number): void { rt().kernels.siluForward(x, y, n); }

  /** @internal */
  protected override applyBackward(x: Tensor, _y: Tensor, dy: number, dx: number, n: number): void {
    rt().kernels.siluBackward(x.ptr, dy, dx, n);
  }
}

registerLayer({ typeName: 'SiLU', ctor: SiLU, fields: {}, build: () => new SiLU() });
