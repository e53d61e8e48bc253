// Softmax and LogSoftmax over one dimension of an input of any rank. The input is viewed as
// [outer, C, inner] around that dimension, so no transpose is needed.
import { rt } from '../runtime/index.js';
import { Module } from '../module.js';
import { Tensor, formatShape } from '../tensor.js';
import { describe } from '../options.js';
import { registerLayer } from '../registry.js';

/** The base of Softmax and LogSoftmax: the same shape out as in, normalised along `dim`. */
abstract class SoftmaxBase extends Module {
  private y: Tensor | null = null;
  private extents: [number, number, number] = [0, 0, 0];

  /** Normalises along dimension `dim`; any shape, kept. */
  constructor(
    /** The dimension normalised along; negative counts from the end. Default 1 (the classes of [N, C]). */
    readonly dim = 1) {
    super();
    if (!Number.isSafeInteger(dim)) throw new Error(`${this.kind}: dim must be an integer, got ${describe(dim)}`);
  }

  /** @internal The class name as PyTorch prints it (spelled out: bundlers may rename classes). */
  protected get kind(): string { return 'Softmax'; }
  /** @internal */
  protected abstract run(x: number, y: number, outer: number, C: number, inner: number): void;
  /** @internal */
  protected abstract runBackward(y: number, dy: number, dx: number, outer: number, C: number, inner: number): void;

  override toString(): string { return `${this.kind}(dim=${this.dim})`; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return { dim: this.dim }; }

  /** The input shape (any rank that has dimension `dim`). */
  override outputShape(s: readonly number[]): number[] {
    if (s.length < 1 || this.dim < -s.length || this.dim >= s.length) {
      throw new Error(`${this}: dim ${this.dim} is out of range for an input of shape ${formatShape(s)}`);
    }
    return [...s];
  }

  /** @internal */
  override forwardDevice(x: Tensor): Tensor {
    const s = x.shape;
    const d = this.dim < 0 ? this.dim + s.length : this.dim;
    const outer = s.slice(0, d).reduce((a, b) => a * b, 1);
    const inner = s.slice(d + 1).reduce((a, b) => a * b, 1);
    this.extents = [outer, s[d], inner];
    const y = this.output('y', s);
    this.run(x.ptr, y.ptr, ...this.extents);
    this.y = y;
    return y;
  }

  /** @internal */
  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    const dx = this.output('dx', dy.shape, 'backward()');
    this.runBackward(this.y!.ptr, dy.ptr, dx.ptr, ...this.extents);
    return dx;
  }
}

/**
 * Softmax along one dimension, as torch.nn.Softmax: y = exp(x) / Σ exp(x) along `dim` (the max
 * subtracted first, so large inputs do not overflow): values in [0, 1] that sum to 1. For
 * training a classifier, give the logits to CrossEntropyLoss instead (it fuses this).
 *
 * Shape: any; the output has the input's shape.
 *
 * @example
 * ```js
 * const probs = new sn.Softmax(1).forward(model.forward(x));   // [N, C], each row sums to 1
 * ```
 */
export class Softmax extends SoftmaxBase {
  /** @internal */
  protected override get kind(): string { return 'Softmax'; }
  /** @internal */
  protected override run(x: number, y: number, outer: number, C: number, inner: number): void {
    rt().kernels.softmaxForward(x, y, outer, C, inner);
  }
  /** @internal */
  protected override runBackward(y: number, dy: number, dx: number, outer: number, C: number, inner: number): void {
    rt().kernels.softmaxBackward(y, dy, dx, outer, C, inner);
  }
}

/**
 * Log-softmax along one dimension, as torch.nn.LogSoftmax: y = x − log Σ exp(x) along `dim`,
 * computed stably. Followed by NLLLoss, it trains as CrossEntropyLoss does.
 *
 * Shape: any; the output has the input's shape.
 */
export class LogSoftmax extends SoftmaxBase {
  /** @internal */
  protected override get kind(): string { return 'LogSoftmax'; }
  /** @internal */
  protected override run(x: number, y: number, outer: number, C: number, inner: number): void {
    rt().kernels.logSoftmaxForward(x, y, outer, C, inner);
  }
  /** @internal */
  protected override runBackward(y: number, dy: number, dx: number, outer: number, C: number, inner: number): void {
    rt().kernels.logSoftmaxBackward(y, dy, dx, outer, C, inner);
  }
}

registerLayer({ typeName: 'Softmax', ctor: Softmax, fields: { dim: 'int' }, build: (c) => new Softmax(c.dim) });
registerLayer({ typeName: 'LogSoftmax', ctor: LogSoftmax, fields: { dim: 'int' }, build: (c) => new LogSoftmax(c.dim) });
