// AdaptiveAvgPool2d: averages an NCHW input down to a fixed [oh, ow], as
// torch.nn.AdaptiveAvgPool2d. Bin i covers [floor(i·H/oh), ceil((i+1)·H/oh)); bins overlap when
// oh does not divide H. outputSize 1 is global average pooling.
import { rt } from '../runtime/index.js';
import { Module } from '../module.js';
import { Tensor } from '../tensor.js';
import { Size2, copySize2, formatSize2, toPair } from './args.js';
import { checkNCHW } from './pooling.js';

export class AdaptiveAvgPool2d extends Module {
  readonly size: [number, number];
  private readonly repr: string;
  /** outputSize as given, for config(). */
  private readonly given: number | [number, number];
  private inShape: readonly number[] = [];

  constructor(outputSize: Size2) {
    super();
    this.size = toPair('AdaptiveAvgPool2d', 'output_size', outputSize, 1);
    this.given = copySize2(outputSize);
    this.repr = `AdaptiveAvgPool2d(output_size=${formatSize2(outputSize)})`;
  }

  override toString(): string { return this.repr; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> { return { outputSize: copySize2(this.given) }; }

  override outputShape(s: readonly number[]): number[] {
    const [n, c] = checkNCHW(`${this}`, s);
    return [n, c, ...this.size];
  }

  override forwardDevice(x: Tensor): Tensor {
    const [n, c, h, w] = x.shape;
    const y = this.output('y', this.outputShape(x.shape));
    rt().kernels.adaptiveAvgPool2dForward(x.ptr, y.ptr, n * c, h, w, ...this.size);
    this.inShape = x.shape;
    return y;
  }

  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    const [n, c, h, w] = this.inShape;
    const dx = this.output('dx', this.inShape, 'backward()');
    rt().kernels.adaptiveAvgPool2dBackward(dy.ptr, dx.ptr, n * c, h, w, ...this.size);
    return dx;
  }
}
