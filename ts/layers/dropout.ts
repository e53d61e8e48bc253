// Dropout and Dropout2d: in training, zero each element (each channel) with probability p and
// scale the rest by 1/(1 − p); in eval, the identity. The mask is a hash of (seed, index)
// computed in the kernel, with a fresh seed per forward, so backward recomputes the same mask
// instead of storing it. The seeds come from the generator of the fit() that is training the layer, or
// from the global one (sn.manualSeed repeats it) outside fit.
import { rt } from '../runtime/index.js';
import { Module, zero } from '../module.js';
import { Generator, nextU32 } from '../random.js';
import { Tensor, formatShape } from '../tensor.js';
import { pyFloat } from './python-repr.js';
import { describe } from '../options.js';
import { registerLayer } from '../registry.js';

/**
 * Dropout, as torch.nn.Dropout: in training mode, zeroes each element with probability p and
 * scales the others by 1/(1 − p); in eval mode, passes the input through. The masks come from the
 * generator of the fit() training the layer, or from the global one (sn.manualSeed) outside fit.
 *
 * Shape: any; the output has the input's shape.
 *
 * @example
 * ```js
 * new sn.Sequential(new sn.Flatten(), new sn.Linear(784, 256), new sn.ReLU(), new sn.Dropout(0.5), new sn.Linear(256, 10));
 * ```
 */
export class Dropout extends Module {
  /** The seed of the last training forward (backward reuses its mask); null after an identity forward. */
  private seed: number | null = null;
  /**
   * @internal The generator of the fit() training this layer, set by fit for its duration (fit
   * refuses a second concurrent fit of the same layer, so no other fit can change it meanwhile);
   * null: the global generator.
   */
  generator: Generator | null = null;

  /**
   * Dropout (torch.nn.Dropout): in training, zeroes elements with probability `p` and scales the
   * rest by 1/(1 − p); in eval, the identity. Any shape, kept.
   */
  constructor(
    /** The probability that an element is zeroed in training, in [0, 1]. Default 0.5. */
    readonly p = 0.5) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new Error(`Dropout: p must be a probability between 0 and 1, got ${describe(p)}`);
    }
  }

  override toString(): string { return `Dropout(p=${pyFloat(this.p)}, inplace=False)`; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return { p: this.p }; }

  /** The input shape: any shape is taken, and kept. */
  override outputShape(s: readonly number[]): number[] { return [...s]; }

  private get active(): boolean { return this.training && this.p > 0; }

  /** @internal */
  override forwardDevice(x: Tensor): Tensor {
    if (!this.active) {
      this.seed = null;
      // A new handle on the same memory, so the caller's tensor keeps its own producer.
      return new Tensor(x.shape, x.block!, x.ptr);
    }
    const y = this.output('y', x.shape);
    this.seed = this.generator ? this.generator.nextU32() : nextU32();
    this.mask(x, y, this.seed);
    return y;
  }

  /** @internal */
  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    if (this.seed === null) return new Tensor(dy.shape, dy.block!, dy.ptr);
    const dx = this.output('dx', dy.shape, 'backward()');
    this.mask(dy, dx, this.seed);
    return dx;
  }

  /** @internal out = in ⊙ mask(seed) / (1 − p). */
  protected mask(input: Tensor, out: Tensor, seed: number): void {
    if (this.p === 1) { zero(out); return; }
    rt().kernels.dropoutApply(input.ptr, out.ptr, input.size, seed, this.threshold, 1 / (1 - this.p));
  }

  /** @internal Kept when hash ≥ threshold, a fraction 1 − threshold/2³² ≈ 1 − p of the elements. */
  protected get threshold(): number { return Math.min(Math.round(this.p * 2 ** 32), 2 ** 32 - 1); }
}

/**
 * Channel dropout, as torch.nn.Dropout2d: in training mode, zeroes each whole channel of each
 * sample (an H×W plane) with probability p and scales the other channels by 1/(1 − p); in eval
 * mode, passes the input through. Neighbouring pixels are strongly correlated in feature maps, so
 * dropping whole maps regularises convolutions where dropping single pixels would not. The masks
 * come from the generator of the fit() training the layer, or from the global one (sn.manualSeed)
 * outside fit.
 *
 * Shape: input [N, C, H, W]; the output has the input's shape. (PyTorch's 3-D input is refused:
 * PyTorch itself reads it as [N, C, L] or [C, H, W] depending on its version.)
 *
 * @example
 * ```js
 * new sn.Sequential(new sn.Conv2d(3, 16, 3, { padding: 1 }), new sn.ReLU(), new sn.Dropout2d(0.2));
 * ```
 */
export class Dropout2d extends Dropout {
  /**
   * Channel dropout (torch.nn.Dropout2d): in training, zeroes whole channels with probability
   * `p` and scales the rest by 1/(1 − p); in eval, the identity. Input [N, C, H, W], kept.
   */
  constructor(
    /** The probability that a channel is zeroed in training, in [0, 1]. Default 0.5. */
    p = 0.5) {
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new Error(`Dropout2d: p must be a probability between 0 and 1, got ${describe(p)}`);
    }
    super(p);
  }

  override toString(): string { return `Dropout2d(p=${pyFloat(this.p)}, inplace=False)`; }

  /** The input shape, [N, C, H, W]. */
  override outputShape(s: readonly number[]): number[] {
    if (s.length !== 4) throw new Error(`${this}: expected input of shape [N, C, H, W], got ${formatShape(s)}`);
    return [...s];
  }

  /** @internal Plane n·C + c is kept when the hash of (seed, n·C + c) passes: a whole channel at once. */
  protected override mask(input: Tensor, out: Tensor, seed: number): void {
    if (this.p === 1) { zero(out); return; }
    const [n, c, h, w] = input.shape;
    rt().kernels.dropout2dApply(input.ptr, out.ptr, n * c, h * w, seed, this.threshold, 1 / (1 - this.p));
  }
}

registerLayer({ typeName: 'Dropout', ctor: Dropout, fields: { p: 'number' }, build: (c) => new Dropout(c.p) });
registerLayer({ typeName: 'Dropout2d', ctor: Dropout2d, fields: { p: 'number' }, build: (c) => new Dropout2d(c.p) });
