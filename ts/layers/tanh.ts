// Tanh; backward from the output, dy·(1 − y²).
import { Elementwise } from './elementwise.js';
import type { Task } from '../runtime/threads.js';
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
  protected override forwardTask(x: number, y: number, n: number): Task { return { kernel: 'tanhForward', args: [x, y, n] }; }

  /** @internal */
  protected override readonly backwardReadsInput = false;

  /** @internal */
  protected override backwardTask(y: number, dy: number, dx: number, n: number): Task {
    return { kernel: 'tanhBackward', args: [y, dy, dx, n] };
  }
}

registerLayer({ typeName: 'Tanh', ctor: Tanh, fields: {}, build: () => new Tanh() });
