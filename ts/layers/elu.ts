// ELU: y = x for x > 0, alpha·(e^x − 1) otherwise.
import { Elementwise } from './elementwise.js';
import type { Task } from '../runtime/threads.js';
import { pyFloat } from './python-repr.js';
import { describe } from '../options.js';
import { registerLayer } from '../registry.js';

/**
 * The exponential linear unit, as torch.nn.ELU: y = x for x > 0, alpha·(e^x − 1) otherwise,
 * element by element. The gradient is 1 for x > 0 and alpha·e^x otherwise (at 0 too, as in PyTorch).
 *
 * Shape: any; the output has the input's shape.
 *
 * @example
 * ```js
 * new sn.ELU();        // alpha 1
 * new sn.ELU(0.5);
 * ```
 */
export class ELU extends Elementwise {
  /** An ELU (torch.nn.ELU), y = x > 0 ? x : alpha·(e^x − 1); any shape, kept. */
  constructor(
    /** The value the output approaches for x → −∞ is −alpha; a finite number. Default 1. */
    readonly alpha = 1) {
    super();
    if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new Error(`ELU: alpha must be a finite number, got ${describe(alpha)}`);
  }

  override toString(): string { return `ELU(alpha=${pyFloat(this.alpha)})`; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return { alpha: this.alpha }; }

  /** @internal */
  protected override forwardTask(x: number, y: number, n: number): Task { return { kernel: 'eluForward', args: [x, y, n, this.alpha] }; }

  /** @internal */
  protected override backwardTask(x: number, dy: number, dx: number, n: number): Task {
    return { kernel: 'eluBackward', args: [x, dy, dx, n, this.alpha] };
  }
}

registerLayer({ typeName: 'ELU', ctor: ELU, fields: { alpha: 'number' }, build: (c) => new ELU(c.alpha) });
