// ReLU6: y = min(max(x, 0), 6), as MobileNets use it.
import { rt } from '../runtime/index.js';
import { Tensor } from '../tensor.js';
import { Elementwise } from './elementwise.js';
import { ACT_RELU6 } from './epilogue.js';
import { registerLayer } from '../registry.js';

/**
 * ReLU capped at 6, as torch.nn.ReLU6: y = min(max(x, 0), 6), element by element (MobileNetV2's
 * activation). The gradient is dy for 0 < x < 6 and 0 elsewhere, the edges included, as in PyTorch.
 *
 * Shape: any; the output has the input's shape.
 *
 * @example
 * ```js
 * new sn.Sequential(new sn.Conv2d(3, 32, 3, { stride: 2, padding: 1, bias: false }), new sn.BatchNorm2d(32), new sn.ReLU6());
 * ```
 */
export class ReLU6 extends Elementwise {
  override toString(): string { return 'ReLU6()'; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them (none). */
  config(): Record<string, unknown> { return {}; }

  /** @internal */
  protected override apply(x: number, y: number, n: number): void { rt().kernels.relu6Forward(x, y, n); }

  /** @internal */
  protected override readonly epilogueAct: number = ACT_RELU6;

  /** @internal From the input, or from the output's sign after a fused call (the same mask, bit for bit). */
  protected override applyBackward(x: Tensor, y: Tensor, dy: number, dx: number, n: number): void {
    rt().kernels.relu6Backward((this.fused ? y : x).ptr, dy, dx, n);
  }
}

registerLayer({ typeName: 'ReLU6', ctor: ReLU6, fields: {}, build: () => new ReLU6() });
