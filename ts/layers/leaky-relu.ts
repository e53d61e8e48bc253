// LeakyReLU: y = x > 0 ? x : negativeSlope·x.
import { Elementwise } from './elementwise.js';
import type { Task } from '../runtime/threads.js';
import { pyFloat } from './python-repr.js';
import { describe } from '../options.js';
import { registerLayer } from '../registry.js';

/**
 * The leaky ReLU, as torch.nn.LeakyReLU: y = x for x > 0, else negativeSlope·x, element by element.
 *
 * Shape: any; the output has the input's shape.
 *
 * @example
 * ```js
 * new sn.LeakyReLU(0.2);
 * ```
 */
export class LeakyReLU extends Elementwise {
  /** A leaky ReLU (torch.nn.LeakyReLU), y = x > 0 ? x : negativeSlope·x; any shape, kept. */
  constructor(
    /** The slope for x ≤ 0, a finite number (PyTorch's negative_slope). Default 0.01. */
    readonly negativeSlope = 0.01) {
    super();
    if (typeof negativeSlope !== 'number' || !Number.isFinite(negativeSlope)) {
      throw new Error(`LeakyReLU: negative_slope must be a finite number, got ${describe(negativeSlope)}`);
    }
  }

  override toString(): string { return `LeakyReLU(negative_slope=${pyFloat(this.negativeSlope)})`; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return { negativeSlope: this.negativeSlope }; }

  /** @internal */
  protected override forwardTask(x: number, y: number, n: number): Task {
    return { kernel: 'leakyReluForward', args: [x, y, n, this.negativeSlope] };
  }

  /** @internal */
  protected override backwardTask(x: number, dy: number, dx: number, n: number): Task {
    return { kernel: 'leakyReluBackward', args: [x, dy, dx, n, this.negativeSlope] };
  }
}

registerLayer({ typeName: 'LeakyReLU', ctor: LeakyReLU, fields: { negativeSlope: 'number' }, build: (c) => new LeakyReLU(c.negativeSlope) });
