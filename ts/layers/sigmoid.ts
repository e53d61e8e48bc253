// Sigmoid: y = 1 / (1 + e^−x); backward from the output, dy·y·(1 − y).
import { Elementwise } from './elementwise.js';
import type { Task } from '../runtime/threads.js';
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
  protected override forwardTask(x: number, y: number, n: number): Task { return { kernel: 'sigmoidForward', args: [x, y, n] }; }

  /** @internal */
  protected override readonly backwardReadsInput = false;

  /** @internal */
  protected override backwardTask(y: number, dy: number, dx: number, n: number): Task {
    return { kernel: 'sigmoidBackward', args: [y, dy, dx, n] };
  }
}

registerLayer({ typeName: 'Sigmoid', ctor: Sigmoid, fields: {}, build: () => new Sigmoid() });
