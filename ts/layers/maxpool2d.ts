// MaxPool2d: the maximum of each (dilated) window of an NCHW input, as torch.nn.MaxPool2d.
// Forward keeps the argmax of every window; backward routes each output gradient to it and
// adds up where overlapping windows (stride < kernel) picked the same input.
import { Module } from '../module.js';
import { Tensor, formatShape } from '../tensor.js';
import { Size2, copySize2, formatSize2, toPair } from './args.js';
import { checkNCHW, checkPadding, checkPoolRange, overPlanes, pooledSize, windowsTouchInput } from './pooling.js';
import { pyBool } from './python-repr.js';
import { anything, boolean, checkOptions } from '../options.js';
import { registerLayer } from '../registry.js';

/** The options of MaxPool2d; the defaults are PyTorch's. */
export interface MaxPool2dOptions {
  /** The step of the window: a number, or [h, w]. Default: kernelSize (windows side by side). */
  stride?: Size2;
  /** Implicit −∞ border on each side, at most half the kernel: a number, or [h, w]. Default 0. */
  padding?: Size2;
  /** The spacing between the window's taps: a number, or [h, w]. Default 1. */
  dilation?: Size2;
  /** Round the output size up (a last, clipped window), as PyTorch's ceil_mode. Default false. */
  ceilMode?: boolean;
}

/**
 * 2-D max pooling, as torch.nn.MaxPool2d: the largest value of each (dilated) window, channel by
 * channel. Backward routes each gradient to the position that was largest.
 *
 * Shape:
 * - input: [N, C, H, W]
 * - output: [N, C, H_out, W_out], where
 *   H_out = ⌊(H + 2·padding[0] − dilation[0]·(kernel[0] − 1) − 1) / stride[0]⌋ + 1 (⌈⌉ with ceilMode,
 *   dropping a last window that would start in the right padding), and W_out likewise.
 *
 * @example
 * ```js
 * const pool = new sn.MaxPool2d(2);                 // 2×2 windows, stride 2: halves H and W
 * pool.outputShape([8, 6, 28, 28]);                 // [8, 6, 14, 14]
 * new sn.MaxPool2d(3, { stride: 2, padding: 1 });   // overlapping windows, as in ResNet's stem
 * ```
 */
export class MaxPool2d extends Module {
  /** The window's [height, width] (PyTorch's kernel_size). */
  readonly kernel: [number, number];
  /** The stride [h, w]. */
  readonly stride: [number, number];
  /** The −∞ padding [h, w] on each side. */
  readonly padding: [number, number];
  /** The dilation [h, w]. */
  readonly dilation: [number, number];
  /** Whether the output size rounds up (PyTorch's ceil_mode). */
  readonly ceilMode: boolean;
  private readonly repr: string;
  /** The sizes as given (a number or a pair), for config(). */
  private readonly given: Record<'kernelSize' | 'stride' | 'padding' | 'dilation', number | [number, number]>;
  private inShape: readonly number[] = [];

  /**
   * 2-D max pooling (torch.nn.MaxPool2d) over windows of `kernelSize`: input [N, C, H, W] → output
   * [N, C, H_out, W_out], where H_out = ⌊(H + 2·padding − dilation·(kernelSize − 1) − 1) / stride⌋ + 1
   * (rounded up with ceilMode), and W_out likewise. Options, with PyTorch's defaults: stride
   * kernelSize, padding 0, dilation 1, ceilMode false.
   *
   * @param kernelSize The window: a number for a square one, or [kH, kW].
   * @param options stride (default kernelSize), padding, dilation, ceilMode; see {@link MaxPool2dOptions}.
   * @throws Error on a size that is not a positive integer, or padding above half the window.
   */
  constructor(kernelSize: Size2, options: MaxPool2dOptions = {}) {
    super();
    // Sizes are checked by toPair below, each with its own message.
    checkOptions('MaxPool2d', options, { stride: anything, padding: anything, dilation: anything, ceilMode: boolean });
    const stride = options.stride ?? kernelSize, padding = options.padding ?? 0, dilation = options.dilation ?? 1;
    this.ceilMode = options.ceilMode ?? false;
    this.kernel = toPair('MaxPool2d', 'kernel_size', kernelSize, 1);
    this.stride = toPair('MaxPool2d', 'stride', stride, 1);
    this.padding = toPair('MaxPool2d', 'padding', padding, 0);
    this.dilation = toPair('MaxPool2d', 'dilation', dilation, 1);
    checkPadding('MaxPool2d', this.kernel, this.padding);
    this.repr = `MaxPool2d(kernel_size=${formatSize2(kernelSize)}, stride=${formatSize2(stride)}, ` +
      `padding=${formatSize2(padding)}, dilation=${formatSize2(dilation)}, ceil_mode=${pyBool(this.ceilMode)})`;
    this.given = { kernelSize: copySize2(kernelSize), stride: copySize2(stride), padding: copySize2(padding), dilation: copySize2(dilation) };
  }

  override toString(): string { return this.repr; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> {
    const g = this.given;
    return { kernelSize: copySize2(g.kernelSize), stride: copySize2(g.stride), padding: copySize2(g.padding), dilation: copySize2(g.dilation), ceilMode: this.ceilMode };
  }

  override outputShape(s: readonly number[]): number[] {
    const [n, c, h, w] = checkNCHW(this, s);
    checkPoolRange(this, s, this.kernel, this.padding, this.dilation);
    const oh = pooledSize(h, this.kernel[0], this.stride[0], this.padding[0], this.dilation[0], this.ceilMode);
    const ow = pooledSize(w, this.kernel[1], this.stride[1], this.padding[1], this.dilation[1], this.ceilMode);
    if (oh < 1 || ow < 1) {
      throw new Error(`${this}: expected an input at least as large as the dilated kernel after padding, got ${formatShape(s)} (output would be ${oh}×${ow})`);
    }
    if (!windowsTouchInput(h, this.kernel[0], this.stride[0], this.padding[0], this.dilation[0], oh) ||
        !windowsTouchInput(w, this.kernel[1], this.stride[1], this.padding[1], this.dilation[1], ow)) {
      throw new Error(`${this}: a dilated window covers only padding for an input of shape ${formatShape(s)}`);
    }
    return [n, c, oh, ow];
  }

  /** @internal */
  override forwardDevice(x: Tensor): Tensor {
    const [n, c, h, w] = x.shape;
    const y = this.output('y', this.outputShape(x.shape));
    const [, , oh, ow] = y.shape;
    const argmax = this.scratch('argmax', y.size * 4).ptr, xp = x.ptr, yp = y.ptr;
    const geometry = [...this.kernel, ...this.stride, ...this.padding, ...this.dilation] as const;
    overPlanes('maxPool2dForward', n * c, h * w + 2 * oh * ow, (p0, count) =>
      [xp + 4 * p0 * h * w, yp + 4 * p0 * oh * ow, argmax + 4 * p0 * oh * ow, count, h, w, oh, ow, ...geometry]);
    this.inShape = x.shape;
    // The largest of checked values (every window holds some of the input: outputShape): finite.
    y.markFinite();
    return y;
  }

  /** @internal */
  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    const [n, c, h, w] = this.inShape;
    const [, , oh, ow] = dy.shape;
    const dx = this.output('dx', this.inShape, 'backward()');
    const argmax = this.scratch('argmax', dy.size * 4).ptr, dyp = dy.ptr, dxp = dx.ptr;
    const at = (p0: number): [number, number, number] => [dyp + 4 * p0 * oh * ow, argmax + 4 * p0 * oh * ow, dxp + 4 * p0 * h * w];
    if (this.isPlain2x2(h, w, oh, ow)) overPlanes('maxPool2x2Backward', n * c, h * w + 2 * oh * ow, (p0, count) => [...at(p0), count, h, w, oh, ow]);
    else overPlanes('maxPool2dBackward', n * c, h * w + 2 * oh * ow, (p0, count) => [...at(p0), count, h * w, oh * ow]);
    return dx;
  }

  /** 2×2 windows, stride 2, no padding or dilation, none clipped: windows never overlap. */
  private isPlain2x2(h: number, w: number, oh: number, ow: number): boolean {
    const same = (p: [number, number], v: number) => p[0] === v && p[1] === v;
    return same(this.kernel, 2) && same(this.stride, 2) && same(this.padding, 0) && same(this.dilation, 1) && 2 * oh <= h && 2 * ow <= w;
  }
}

registerLayer({
  typeName: 'MaxPool2d', ctor: MaxPool2d,
  fields: { kernelSize: 'size2', stride: 'size2', padding: 'size2', dilation: 'size2', ceilMode: 'bool' },
  build: (c) => new MaxPool2d(c.kernelSize, { stride: c.stride, padding: c.padding, dilation: c.dilation, ceilMode: c.ceilMode }),
});
