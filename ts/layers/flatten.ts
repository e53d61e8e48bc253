// Flatten: merges dimensions startDim..endDim (PyTorch defaults 1..-1) without copying.
import { Module } from '../module.js';
import { Tensor, formatShape } from '../tensor.js';
import { describe } from '../options.js';
import { registerLayer } from '../registry.js';

/**
 * Merges dimensions startDim..endDim into one, as torch.nn.Flatten; with the defaults, every
 * dimension after the batch: [N, C, H, W] → [N, C·H·W], typically before a Linear. No copy: the
 * output is the input's memory with a new shape.
 *
 * @example
 * ```js
 * new sn.Flatten().outputShape([64, 16, 5, 5]);   // [64, 400]
 * ```
 */
export class Flatten extends Module {
  /**
   * Merges dimensions `startDim` to `endDim`, both included (torch.nn.Flatten); by default
   * [N, C, H, W] → [N, C·H·W].
   */
  constructor(
    /** The first dimension merged; negative counts from the end. Default 1 (after the batch). */
    readonly startDim = 1,
    /** The last dimension merged; negative counts from the end. Default -1 (the last). */
    readonly endDim = -1) {
    super();
    if (!Number.isSafeInteger(startDim) || !Number.isSafeInteger(endDim)) {
      throw new Error(`Flatten: start_dim and end_dim must be integers, got ${describe(startDim)} and ${describe(endDim)}`);
    }
  }

  override toString(): string { return `Flatten(start_dim=${this.startDim}, end_dim=${this.endDim})`; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return { startDim: this.startDim, endDim: this.endDim }; }

  override outputShape(s: readonly number[]): number[] {
    const start = this.startDim < 0 ? s.length + this.startDim : this.startDim;
    const end = this.endDim < 0 ? s.length + this.endDim : this.endDim;
    if (start < 0 || end >= s.length || start > end) {
      throw new Error(`${this}: cannot flatten dimensions ${this.startDim}..${this.endDim} of an input of shape ${formatShape(s)}`);
    }
    const merged = s.slice(start, end + 1).reduce((a, b) => a * b, 1);
    return [...s.slice(0, start), merged, ...s.slice(end + 1)];
  }

  private inShape: readonly number[] = [];

  /** @internal */
  override forwardDevice(x: Tensor): Tensor {
    this.inShape = x.shape;
    return new Tensor(this.outputShape(x.shape), x.block!, x.ptr);
  }

  /** @internal */
  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    return needInputGrad ? new Tensor(this.inShape, dy.block!, dy.ptr) : null;
  }
}

registerLayer({ typeName: 'Flatten', ctor: Flatten, fields: { startDim: 'int', endDim: 'int' }, build: (c) => new Flatten(c.startDim, c.endDim) });
