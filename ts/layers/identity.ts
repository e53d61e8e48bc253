// Identity: passes its input through, as torch.nn.Identity (a placeholder, e.g. a shortcut).
import { Module } from '../module.js';
import { Tensor } from '../tensor.js';

/**
 * Passes its input through unchanged, as torch.nn.Identity: a placeholder where a module is
 * expected, such as the shortcut of a residual block whose shapes already match. No copy: the
 * output is the input's memory.
 *
 * Shape: any; the output has the input's shape.
 *
 * @example
 * ```js
 * this.shortcut = inC === outC ? new sn.Identity() : new sn.Conv2d(inC, outC, 1);
 * ```
 */
export class Identity extends Module {
  override toString(): string { return 'Identity()'; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return {}; }

  /** The input shape: any shape is taken, and kept. */
  override outputShape(s: readonly number[]): number[] { return [...s]; }

  /** @internal */
  override forwardDevice(x: Tensor): Tensor { return new Tensor(x.shape, x.block!, x.ptr); }

  /** @internal */
  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    return needInputGrad ? new Tensor(dy.shape, dy.block!, dy.ptr) : null;
  }
}
