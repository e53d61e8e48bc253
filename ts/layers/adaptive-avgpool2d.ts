// AdaptiveAvgPool2d: averages an NCHW input down to a fixed [oh, ow], as
// torch.nn.AdaptiveAvgPool2d. Bin i covers [floor(i·H/oh), ceil((i+1)·H/oh)); bins overlap when
// oh does not divide H. outputSize 1 is global average pooling.
import { rt } from '../runtime/index.js';
import { Module } from '../module.js';
import { Tensor } from '../tensor.js';
import { Size2, copySize2, formatSize2, toPair } from './args.js';
import { checkNCHW } from './pooling.js';
import { registerLayer } from '../registry.js';

/**
 * Average pooling to a fixed output size whatever the input's, as torch.nn.AdaptiveAvgPool2d:
 * output cell i (along H) averages input rows ⌊i·H/oh⌋ to ⌈(i+1)·H/oh⌉ − 1 (cells overlap when oh
 * does not divide H), and likewise along W. Output size 1 is global average pooling.
 *
 * Shape:
 * - input: [N, C, H, W]
 * - output: [N, C, oh, ow]
 *
 * @example
 * ```js
 * const gap = new sn.AdaptiveAvgPool2d(1);     // global average pooling
 * gap.outputShape([8, 64, 7, 7]);              // [8, 64, 1, 1]
 * new sn.AdaptiveAvgPool2d([6, 6]).outputShape([8, 256, 13, 13]);   // [8, 256, 6, 6]
 * ```
 */
export class AdaptiveAvgPool2d extends Module {
  /** The output's [height, width] (PyTorch's output_size). */
  readonly size: [number, number];
  private readonly repr: string;
  /** outputSize as given, for config(). */
  private readonly given: number | [number, number];
  private inShape: readonly number[] = [];

  /**
   * Average pooling (torch.nn.AdaptiveAvgPool2d) to `outputSize` whatever the input's size: input
   * [N, C, H, W] → output [N, C, oh, ow]; 1 is global average pooling.
   *
   * @param outputSize The output's size: a number for [n, n], or [oh, ow].
   */
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
    const [n, c] = checkNCHW(this, s);
    return [n, c, ...this.size];
  }

  /** @internal */
  override forwardDevice(x: Tensor): Tensor {
    const [n, c, h, w] = x.shape;
    const y = this.output('y', this.outputShape(x.shape));
    rt().kernels.adaptiveAvgPool2dForward(x.ptr, y.ptr, n * c, h, w, ...this.size);
    this.inShape = x.shape;
    return y;
  }

  /** @internal */
  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    const [n, c, h, w] = this.inShape;
    const dx = this.output('dx', this.inShape, 'backward()');
    rt().kernels.adaptiveAvgPool2dBackward(dy.ptr, dx.ptr, n * c, h, w, ...this.size);
    return dx;
  }
}

registerLayer({ typeName: 'AdaptiveAvgPool2d', ctor: AdaptiveAvgPool2d, fields: { outputSize: 'size2' }, build: (c) => new AdaptiveAvgPool2d(c.outputSize) });
