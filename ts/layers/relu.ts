// ReLU: y = max(x, 0).
import { rt } from '../runtime/index.js';
import { Tensor } from '../tensor.js';
import { Elementwise } from './elementwise.js';
import { ACT_RELU } from './epilogue.js';
import { registerLayer } from '../registry.js';

/**
 * The rectified linear unit, as torch.nn.ReLU: y = max(x, 0), element by element.
 *
 * Shape: any; the output has the input's shape.
 *
 * @example
 * ```js
 * new sn.Sequential(new sn.Linear(784, 128), new sn.ReLU(), new sn.Linear(128, 10));
 * ```
 */
export class ReLU extends Elementwise {
  override toString(): string { return 'ReLU()'; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return {}; }

  /** @internal */
  protected override apply(x: number, y: number, n: number): void { rt().kernels.reluForward(x, y, n); }

  /** @internal */
  protected override readonly epilogueAct: number = ACT_RELU;

  /** @internal From the input, or from the output's sign after a fused call (the same mask, bit for bit). */
  protected override applyBackward(x: Tensor, y: Tensor, dy: number, dx: number, n: number): void {
    rt().kernels.reluBackward((this.fused ? y : x).ptr, dy, dx, n);
  }
}

registerLayer({ typeName: 'ReLU', ctor: ReLU, fields: {}, build: () => new ReLU() });
