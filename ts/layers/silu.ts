// SiLU (swish): y = x · sigmoid(x).
import { Elementwise } from './elementwise.js';
import type { Task } from '../runtime/threads.js';
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
  protected override forwardTask(x: number, y: number, n: number): Task { return { kernel: 'siluForward', args: [x, y, n] }; }

  /** @internal */
  protected override backwardTask(x: number, dy: number, dx: number, n: number): Task {
    return { kernel: 'siluBackward', args: [x, dy, dx, n] };
  }
}

registerLayer({ typeName: 'SiLU', ctor: SiLU, fields: {}, build: () => new SiLU() });
