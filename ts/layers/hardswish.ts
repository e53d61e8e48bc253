// Hardswish: y = x · relu6(x + 3) / 6, MobileNetV3's cheap swish.
import { Elementwise } from './elementwise.js';
import type { Task } from '../runtime/threads.js';
import { registerLayer } from '../registry.js';

/**
 * The hard swish, as torch.nn.Hardswish: y = x · min(max(x + 3, 0), 6) / 6, element by element
 * (0 for x ≤ −3, x for x ≥ 3; MobileNetV3's activation). The gradient follows PyTorch's: 0 below
 * −3, x/3 + 1/2 from −3 to 3 (both included), 1 above.
 *
 * Shape: any; the output has the input's shape.
 *
 * @example
 * ```js
 * new sn.Sequential(new sn.Conv2d(16, 16, 3, { padding: 1 }), new sn.Hardswish());
 * ```
 */
export class Hardswish extends Elementwise {
  override toString(): string { return 'Hardswish()'; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them (none). */
  config(): Record<string, unknown> { return {}; }

  /** @internal */
  protected override forwardTask(x: number, y: number, n: number): Task { return { kernel: 'hardswishForward', args: [x, y, n] }; }

  /** @internal */
  protected override backwardTask(x: number, dy: number, dx: number, n: number): Task {
    return { kernel: 'hardswishBackward', args: [x, dy, dx, n] };
  }
}

registerLayer({ typeName: 'Hardswish', ctor: Hardswish, fields: {}, build: () => new Hardswish() });
