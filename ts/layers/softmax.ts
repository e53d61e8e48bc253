// Softmax and LogSoftmax over one dimension of an input of any rank. The input is viewed as
// [outer, C, inner] around that dimension, so no transpose is needed.
import { rt } from '../runtime/index.js';
import { Module } from '../module.js';
import { Tensor, formatShape } from '../tensor.js';
import { describe } from '../options.js';

abstract class SoftmaxBase extends Module {
  private y: Tensor | null = null;
  private extents: [number, number, number] = [0, 0, 0];

  constructor(readonly dim = 1) {
    super();
    if (!Number.isSafeInteger(dim)) throw new Error(`${this.kind}: dim must be an integer, got ${describe(dim)}`);
  }

  /** The class name as PyTorch prints it (spelled out: bundlers may rename classes). */
  protected get kind(): string { return 'Softmax'; }
  protected abstract run(x: number, y: number, outer: number, C: number, inner: number): void;
  protected abstract runBackward(y: number, dy: number, dx: number, outer: number, C: number, inner: number): void;

  override toString(): string { return `${this.kind}(dim=${this.dim})`; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return { dim: this.dim }; }

  override outputShape(s: readonly number[]): number[] {
    if (s.length < 1 || this.dim < -s.length || this.dim >= s.length) {
      throw new Error(`${this}: dim ${this.dim} is out of range for an input of shape ${formatShape(s)}`);
    }
    return [...s];
  }

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

  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    const dx = this.output('dx', dy.shape, 'backward()');
    this.runBackward(this.y!.ptr, dy.ptr, dx.ptr, ...this.extents);
    return dx;
  }
}

/** y = exp(x) / Σ exp(x) along dim (max-subtracted, so large inputs do not overflow). */
export class Softmax extends SoftmaxBase {
  protected override get kind(): string { return 'Softmax'; }
  protected override run(x: number, y: number, outer: number, C: number, inner: number): void {
    rt().kernels.softmaxForward(x, y, outer, C, inner);
  }
  protected override runBackward(y: number, dy: number, dx: number, outer: number, C: number, inner: number): void {
    rt().kernels.softmaxBackward(y, dy, dx, outer, C, inner);
  }
}

/** y = x − log Σ exp(x) along dim. */
export class LogSoftmax extends SoftmaxBase {
  protected override get kind(): string { return 'LogSoftmax'; }
  protected override run(x: number, y: number, outer: number, C: number, inner: number): void {
    rt().kernels.logSoftmaxForward(x, y, outer, C, inner);
  }
  protected override runBackward(y: number, dy: number, dx: number, outer: number, C: number, inner: number): void {
    rt().kernels.logSoftmaxBackward(y, dy, dx, outer, C, inner);
  }
}
