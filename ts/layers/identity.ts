// Identity: passes its input through (no copy), as a placeholder where a model has no layer.
import { Module } from '../module.js';
import { Tensor } from '../tensor.js';
import { registerLayer } from '../registry.js';

/**
 * A placeholder that passes its input through unchanged, as torch.nn.Identity: the shortcut of a
 * residual block whose shapes already match, or a layer switched off by configuration. Like
 * PyTorch's, it ignores any constructor arguments, so code written for the layer it stands in
 * for needs no change. No copy is made: the output is the input's memory.
 *
 * Shape: any; the output has the input's shape.
 *
 * @example
 * ```js
 * const shortcut = inChannels === outChannels ? new sn.Identity() : new sn.Conv2d(inChannels, outChannels, 1);
 * ```
 */
export class Identity extends Module {
  /** A layer that returns its input (torch.nn.Identity); arguments are ignored, as in PyTorch. */
  constructor(..._args: unknown[]) {
    super();
  }

  override toString(): string { return 'Identity()'; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them (none). */
  config(): Record<string, unknown> { return {}; }

  /** The input shape: any shape is taken, and kept. */
  override outputShape(s: readonly number[]): number[] { return [...s]; }

  /** @internal A new handle on the input's memory, so the caller's tensor keeps its own producer. */
  override forwardDevice(x: Tensor): Tensor {
    return new Tensor(x.shape, x.block!, x.ptr);
  }

  /** @internal dx = dy, a new handle on the same memory. */
  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    return needInputGrad ? new Tensor(dy.shape, dy.block!, dy.ptr) : null;
  }
}

registerLayer({ typeName: 'Identity', ctor: Identity, fields: {}, build: () => new Identity() });
