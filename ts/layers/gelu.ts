// GELU: y = x · Φ(x), exact (erf) or with PyTorch's tanh approximation.
import { Elementwise } from './elementwise.js';
import type { Task } from '../runtime/threads.js';
import { checkOptions, oneOf } from '../options.js';
import { registerLayer } from '../registry.js';

/** The options of GELU. */
export interface GELUOptions {
  /**
   * 'none' (the default): the exact y = x · Φ(x), Φ the standard normal CDF; 'tanh': PyTorch's
   * approximation y = x/2 · (1 + tanh(√(2/π) · (x + 0.044715·x³))).
   */
  approximate?: 'none' | 'tanh';
}

/**
 * The Gaussian error linear unit, as torch.nn.GELU: y = x · Φ(x), where Φ is the standard normal
 * CDF (Φ(x) = (1 + erf(x/√2))/2), element by element; with `{ approximate: 'tanh' }`,
 * y = x/2 · (1 + tanh(√(2/π) · (x + 0.044715·x³))) as PyTorch computes it.
 *
 * Shape: any; the output has the input's shape.
 *
 * @example
 * ```js
 * new sn.Sequential(new sn.Linear(128, 512), new sn.GELU(), new sn.Linear(512, 128));
 * new sn.GELU({ approximate: 'tanh' });
 * ```
 */
export class GELU extends Elementwise {
  /** 'none' (exact) or 'tanh' (the approximation). */
  readonly approximate: 'none' | 'tanh';

  /**
   * A GELU (torch.nn.GELU), y = x · Φ(x); any shape, kept.
   *
   * @param options `approximate`: 'none' (default, exact) or 'tanh'.
   */
  constructor(options: GELUOptions = {}) {
    super();
    checkOptions('GELU', options, { approximate: oneOf('none', 'tanh') });
    this.approximate = options.approximate ?? 'none';
  }

  override toString(): string { return `GELU(approximate='${this.approximate}')`; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return { approximate: this.approximate }; }

  /** @internal */
  protected override forwardTask(x: number, y: number, n: number): Task {
    return { kernel: this.approximate === 'tanh' ? 'geluTanhForward' : 'geluForward', args: [x, y, n] };
  }

  /** @internal */
  protected override backwardTask(x: number, dy: number, dx: number, n: number): Task {
    return { kernel: this.approximate === 'tanh' ? 'geluTanhBackward' : 'geluBackward', args: [x, dy, dx, n] };
  }
}

registerLayer({ typeName: 'GELU', ctor: GELU, fields: { approximate: 'string' }, build: (c) => new GELU({ approximate: c.approximate }) });
