// AvgPool2d: the mean of each window of an NCHW input, as torch.nn.AvgPool2d, with PyTorch's
// divisor: divisorOverride if given, else the window clipped to the padded input
// (countIncludePad) or to the input alone.
import { Module } from '../module.js';
import { Tensor, formatShape } from '../tensor.js';
import { INT32_MAX, Size2, copySize2, formatSize2, toPair } from './args.js';
import { checkNCHW, checkPadding, checkPoolRange, overPlanes, pooledSize } from './pooling.js';
import { anything, boolean, checkOptions, described, integer } from '../options.js';
import { registerLayer } from '../registry.js';

/** The options of AvgPool2d; the defaults are PyTorch's. */
export interface AvgPool2dOptions {
  /** The step of the window: a number, or [h, w]. Default: kernelSize (windows side by side). */
  stride?: Size2;
  /** Implicit zero border on each side, at most half the kernel: a number, or [h, w]. Default 0. */
  padding?: Size2;
  /** Round the output size up (a last, clipped window), as PyTorch's ceil_mode. Default false. */
  ceilMode?: boolean;
  /** Whether padded positions count in the divisor. Default true. */
  countIncludePad?: boolean;
  /** A fixed divisor for every window instead of its size: a positive integer. Default none. */
  divisorOverride?: number;
}

/**
 * 2-D average pooling, as torch.nn.AvgPool2d: the mean of each window, channel by channel,
 * divided by divisorOverride if given, else by the window's size clipped to the padded input
 * (countIncludePad, the default) or to the input alone.
 *
 * Shape:
 * - input: [N, C, H, W]
 * - output: [N, C, H_out, W_out], where H_out = ⌊(H + 2·padding[0] − kernel[0]) / stride[0]⌋ + 1
 *   (⌈⌉ with ceilMode, dropping a last window that would start in the right padding), and W_out likewise.
 *
 * @example
 * ```js
 * const pool = new sn.AvgPool2d(2);                  // 2×2 windows, stride 2
 * pool.outputShape([8, 6, 28, 28]);                  // [8, 6, 14, 14]
 * new sn.AvgPool2d(3, { stride: 1, padding: 1, countIncludePad: false });   // keeps H and W
 * ```
 */
export class AvgPool2d extends Module {
  /** The window's [height, width] (PyTorch's kernel_size). */
  readonly kernel: [number, number];
  /** The stride [h, w]. */
  readonly stride: [number, number];
  /** The zero padding [h, w] on each side. */
  readonly padding: [number, number];
  /** Whether the output size rounds up (PyTorch's ceil_mode). */
  readonly ceilMode: boolean;
  /** Whether padded positions count in a window's divisor (PyTorch's count_include_pad). */
  readonly countIncludePad: boolean;
  /** The fixed divisor (PyTorch's divisor_override), or undefined for the window's size. */
  readonly divisorOverride: number | undefined;
  private readonly repr: string;
  /** The sizes as given (a number or a pair), for config(). */
  private readonly given: Record<'kernelSize' | 'stride' | 'padding', number | [number, number]>;
  private inShape: readonly number[] = [];

  /**
   * 2-D average pooling (torch.nn.AvgPool2d) over windows of `kernelSize`: input [N, C, H, W] →
   * output [N, C, H_out, W_out], where H_out = ⌊(H + 2·padding − kernelSize) / stride⌋ + 1 (rounded
   * up with ceilMode), and W_out likewise. Options, with PyTorch's defaults: stride kernelSize,
   * padding 0, ceilMode false, countIncludePad true, no divisorOverride.
   *
   * @param kernelSize The window: a number for a square one, or [kH, kW].
   * @param options stride (default kernelSize), padding, ceilMode, countIncludePad,
   *   divisorOverride; see {@link AvgPool2dOptions}.
   * @throws Error on a size that is not a positive integer, or padding above half the window.
   */
  constructor(kernelSize: Size2, options: AvgPool2dOptions = {}) {
    super();
    checkOptions('AvgPool2d', options, {
      // Sizes are checked by toPair below, each with its own message.
      stride: anything, padding: anything, ceilMode: boolean, countIncludePad: boolean,
      divisorOverride: described(integer(1, INT32_MAX), `a positive integer up to ${INT32_MAX}`),
    });
    const stride = options.stride ?? kernelSize, padding = options.padding ?? 0;
    this.kernel = toPair('AvgPool2d', 'kernel_size', kernelSize, 1);
    this.stride = toPair('AvgPool2d', 'stride', stride, 1);
    this.padding = toPair('AvgPool2d', 'padding', padding, 0);
    checkPadding('AvgPool2d', this.kernel, this.padding);
    this.repr = `AvgPool2d(kernel_size=${formatSize2(kernelSize)}, stride=${formatSize2(stride)}, padding=${formatSize2(padding)})`;
    this.given = { kernelSize: copySize2(kernelSize), stride: copySize2(stride), padding: copySize2(padding) };
    this.ceilMode = options.ceilMode ?? false;
    this.countIncludePad = options.countIncludePad ?? true;
    this.divisorOverride = options.divisorOverride;
  }

  override toString(): string { return this.repr; }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> {
    const g = this.given;
    return { kernelSize: copySize2(g.kernelSize), stride: copySize2(g.stride), padding: copySize2(g.padding), ceilMode: this.ceilMode, countIncludePad: this.countIncludePad, divisorOverride: this.divisorOverride ?? null };
  }

  override outputShape(s: readonly number[]): number[] {
    const [n, c, h, w] = checkNCHW(this, s);
    checkPoolRange(this, s, this.kernel, this.padding, [1, 1]);
    const oh = pooledSize(h, this.kernel[0], this.stride[0], this.padding[0], 1, this.ceilMode);
    const ow = pooledSize(w, this.kernel[1], this.stride[1], this.padding[1], 1, this.ceilMode);
    if (oh < 1 || ow < 1) {
      throw new Error(`${this}: expected an input at least as large as the kernel after padding, got ${formatShape(s)} (output would be ${oh}×${ow})`);
    }
    return [n, c, oh, ow];
  }

  /** @internal */
  override forwardDevice(x: Tensor): Tensor {
    const [n, c, h, w] = x.shape;
    const y = this.output('y', this.outputShape(x.shape));
    const [, , oh, ow] = y.shape, xp = x.ptr, yp = y.ptr, geometry = this.geometry();
    overPlanes('avgPool2dForward', n * c, h * w + oh * ow, (p0, count) => [xp + 4 * p0 * h * w, yp + 4 * p0 * oh * ow, count, h, w, oh, ow, ...geometry]);
    this.inShape = x.shape;
    return y;
  }

  /** @internal */
  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    const [n, c, h, w] = this.inShape;
    const dx = this.output('dx', this.inShape, 'backward()');
    const [, , oh, ow] = dy.shape, dyp = dy.ptr, dxp = dx.ptr, geometry = this.geometry();
    overPlanes('avgPool2dBackward', n * c, h * w + oh * ow, (p0, count) => [dyp + 4 * p0 * oh * ow, dxp + 4 * p0 * h * w, count, h, w, oh, ow, ...geometry]);
    return dx;
  }

  /** Kernel, stride, padding and divisor arguments in the kernels' order. */
  private geometry(): readonly [kH: number, kW: number, sH: number, sW: number, pH: number, pW: number, countIncludePad: number, divisor: number] {
    return [...this.kernel, ...this.stride, ...this.padding, +this.countIncludePad, this.divisorOverride ?? 0];
  }
}

registerLayer({
  typeName: 'AvgPool2d', ctor: AvgPool2d,
  fields: { kernelSize: 'size2', stride: 'size2', padding: 'size2', ceilMode: 'bool', countIncludePad: 'bool', divisorOverride: 'intOrNull' },
  build: (c) => new AvgPool2d(c.kernelSize, {
    stride: c.stride, padding: c.padding, ceilMode: c.ceilMode, countIncludePad: c.countIncludePad, divisorOverride: c.divisorOverride ?? undefined,
  }),
});
