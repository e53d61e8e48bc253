// ReLU6: y = min(max(x, 0), 6), as MobileNets use it.
import { Elementwise } from './elementwise.js';
import type { Task } from '../runtime/threads.js';
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
  protected override forwardTask(x: number, y: number, n: number): Task { return { kernel: 'relu6Forward', args: [x, y, n] }; }

  /** @internal */
  protected override readonly epilogueAct: number = ACT_RELU6;

  /** @internal From the input, or from the output after a fused call (0 < y < 6 exactly where 0 < x < 6: the same mask, bit for bit). */
  protected override backwardTask(saved: number, dy: number, dx: number, n: number): Task {
    return { kernel: 'relu6Backward', args: [saved, dy, dx, n] };
  }
}

registerLayer({ typeName: 'ReLU6', ctor: ReLU6, fields: {}, build: () => new ReLU6() });
