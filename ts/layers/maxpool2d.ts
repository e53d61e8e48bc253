// MaxPool2d: the maximum of each (dilated) window of an NCHW input, as torch.nn.MaxPool2d.
// Forward keeps the argmax of every window; backward routes each output gradient to it and
// adds up where overlapping windows (stride < kernel) picked the same input.
import { rt } from '../runtime/index.js';
import { Module } from '../module.js';
import { Tensor, formatShape } from '../tensor.js';
import { Size2, copySize2, formatSize2, toPair } from './args.js';
import { checkNCHW, checkPadding, checkPoolRange, pooledSize, windowsTouchInput } from './pooling.js';
import { pyBool } from './python-repr.js';
import { anything, boolean, checkOptions } from '../options.js';

export interface MaxPool2dOptions {
  /** Default: kernelSize. */
  stride?: Size2;
  /** Implicit −∞ border, at most half the kernel. Default 0. */
  padding?: Size2;
  dilation?: Size2;
  /** Round the output size up (a last, clipped window), as PyTorch's ceil_mode. Default false. */
  ceilMode?: boolean;
}

export class MaxPool2d extends Module {
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;
  private readonly repr: string;
  /** The sizes as given (a number or a pair), for config(). */
  private readonly given: Record<'kernelSize' | 'stride' | 'padding' | 'dilation', number | [number, number]>;
  private inShape: readonly number[] = [];

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
    const [n, c, h, w] = checkNCHW(`${this}`, s);
    checkPoolRange(`${this}`, s, this.kernel, this.padding, this.dilation);
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

  override forwardDevice(x: Tensor): Tensor {
    const [n, c, h, w] = x.shape;
    const y = this.output('y', this.outputShape(x.shape));
    const [, , oh, ow] = y.shape;
    const argmax = this.scratch('argmax', y.size * 4);
    rt().kernels.maxPool2dForward(x.ptr, y.ptr, argmax.ptr, n * c, h, w, oh, ow,
      ...this.kernel, ...this.stride, ...this.padding, ...this.dilation);
    this.inShape = x.shape;
    return y;
  }

  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    if (!needInputGrad) return null;
    const [n, c, h, w] = this.inShape;
    const [, , oh, ow] = dy.shape;
    const dx = this.output('dx', this.inShape, 'backward()');
    const argmax = this.scratch('argmax', dy.size * 4).ptr;
    if (this.isPlain2x2(h, w, oh, ow)) rt().kernels.maxPool2x2Backward(dy.ptr, argmax, dx.ptr, n * c, h, w, oh, ow);
    else rt().kernels.maxPool2dBackward(dy.ptr, argmax, dx.ptr, n * c, h * w, oh * ow);
    return dx;
  }

  /** 2×2 windows, stride 2, no padding or dilation, none clipped: windows never overlap. */
  private isPlain2x2(h: number, w: number, oh: number, ow: number): boolean {
    const same = (p: [number, number], v: number) => p[0] === v && p[1] === v;
    return same(this.kernel, 2) && same(this.stride, 2) && same(this.padding, 0) && same(this.dilation, 1) && 2 * oh <= h && 2 * ow <= w;
  }
}
