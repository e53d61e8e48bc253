// Conv2d: 2-D cross-correlation over NCHW input with OIHW weights, as torch.nn.Conv2d
// (zero padding only). The work is done by assembly/conv.ts: depthwise kernels for groups = in_channels,
// flat padded planes for stride 1, else im2col + GEMM (none for 1×1), per image, or with the batch
// folded into one GEMM when the output map has at most 64 pixels (assembly/conv-batched.ts); 1×1
// stride-2 convolutions by their own kernels reading x and writing dx in place (assembly/conv-pointwise-s2.ts).
// On the lowerings whose stores take an activation (Winograd, the flat path, the per-image GEMMs) the output is put off, and a ReLU or ReLU6 after it has it written through the
// activation in the same stores (DeferredConv; see epilogue.ts); an eval BatchNorm2d between them adds its
// affine to those stores (DeferredConvAffine). Big enough passes run over several threads (conv-threads.ts).
import { WasmMemoryError, gemmScratch, rt } from '../runtime/index.js';
import { defaultLayerInit } from '../init.js';
import { Module, Parameter } from '../module.js';
import { Tensor, formatShape } from '../tensor.js';
import { Size2, checkKernelRange, checkNotEmptyBatch, checkPositiveInt, formatPair, toPair } from './args.js';
import { anything, boolean, checkOptions, describe } from '../options.js';
import { registerLayer } from '../registry.js';
import { FusableResult, fusionEnabled } from './epilogue.js';
import type { Task } from '../runtime/threads.js';
import {
  SPLITS_FORWARD, SPLITS_INPUT_GRAD, batchSplits, convFlops, overBatchUnits, depthwiseRanges, forwardChannelRanges, inputChannelRanges, overBatch, passThreads, rangeColsFloats, splitBackward, splitDepthwiseBackward, splitInputGrad, splitCounts, splitInputGradByChannels, splitWeightGrad, weightGradRangeFloats,
  weightGradRanges, withBatch, winogradWeightGradPlan, winogradWeightGradFloats, splitWinogradWeightGrad,
  weightGradTapRanges, weightGradTapFloats, splitWeightGradTaps, tapSplitsBoth, splitBackwardTaps, tapSplit, type ConvArgs,
} from './conv-threads.js';
import { runTasks } from '../runtime/split.js';

/** The options of Conv2d; the defaults are PyTorch's. */
export interface Conv2dOptions {
  /** The step of the kernel over the input: a number for both axes, or [h, w]. Default 1. */
  stride?: Size2;
  /**
   * Zeros added on each side: a number, or [h, w]; or 'valid' (none) or 'same' (the output as
   * large as the input; stride 1 only; an odd total puts the extra row or column after). Default 0.
   */
  padding?: Size2 | 'valid' | 'same';
  /** The spacing between kernel taps (à trous): a number, or [h, w]. Default 1. */
  dilation?: Size2;
  /**
   * Splits the channels into this many independent groups, each convolved with its own filters:
   * both channel counts must divide by it; groups = inChannels = outChannels is a depthwise
   * convolution. Default 1.
   */
  groups?: number;
  /** Learn an additive bias per output channel. Default true. */
  bias?: boolean;
}

type Pair = [number, number];

/** The lowerings of assembly/conv.ts, indexed by conv2dAlgorithm's answer. */
const ALGORITHMS = ['im2col-gemm', 'pointwise-gemm', 'flat', 'flat-channel-lanes', 'dwconv-3x3', 'dwconv', 'dwconv-channel-lanes',
  'pointwise-batched-gemm', 'im2col-batched-gemm', 'winograd-f2x2', 'winograd-f4x4', 'winograd-f2x2-5x5', 'implicit-gemm', 'implicit-batched-gemm', 'strided-pointwise-gemm', 'winograd-f4x4-5x5'] as const;

/** What geometryOf's four range-checked sizes are, as its Error names them. */
const CONV_SIZES = ['padded height', 'padded width', 'dilated kernel height', 'dilated kernel width'] as const;

/** Input and output sizes of one call. */
interface Geometry { N: number; C: number; H: number; W: number; OH: number; OW: number; }

/**
 * A 2-D convolution over a batch of images, as torch.nn.Conv2d (a cross-correlation, with zero
 * padding): out[n, o] = bias[o] + Σ_c weight[o, c] ⋆ input[n, c], the sum over the input channels
 * of o's group.
 *
 * Shape:
 * - input: [N, C_in, H, W]
 * - output: [N, C_out, H_out, W_out], where
 *   H_out = ⌊(H + 2·padding[0] − dilation[0]·(kernelSize[0] − 1) − 1) / stride[0]⌋ + 1,
 *   and W_out likewise with index 1.
 *
 * Parameters, with PyTorch's names, layouts and initialisation (U(−b, b), b = 1/√(C_in/groups·kH·kW)):
 * `weight` [C_out, C_in / groups, kH, kW] and `bias` [C_out] (null with `bias: false`).
 *
 * @example
 * ```js
 * const conv = new sn.Conv2d(1, 6, 5, { padding: 2 });              // 1 → 6 channels, 5×5 kernels
 * const y = conv.forward(sn.tensor(new Float32Array(8 * 28 * 28), [8, 1, 28, 28]));   // [8, 6, 28, 28]
 * new sn.Conv2d(16, 32, 3, { stride: 2, padding: 1 });              // halves H and W
 * new sn.Conv2d(32, 32, [3, 3], { padding: 'same', groups: 32 });   // depthwise
 * ```
 */
export class Conv2d extends Module {
  /** The kernel's [height, width]. */
  readonly kernelSize: [number, number];
  /** The stride [h, w]. */
  readonly stride: [number, number];
  /** The padding as given: [h, w] zeros on each side, or 'valid' / 'same'. */
  readonly padding: [number, number] | 'valid' | 'same';
  /** The dilation [h, w]. */
  readonly dilation: [number, number];
  /** The number of channel groups (1: every output channel sees every input channel). */
  readonly groups: number;
  /** The filters, [C_out, C_in / groups, kH, kW] (PyTorch's OIHW). */
  readonly weight: Parameter;
  /** The bias, [C_out], or null when made with `bias: false`. */
  readonly bias: Parameter | null;
  /** Padding before the image (top, left) and in total per axis; 'same' may put one more after. */
  private readonly padBefore: Pair;
  private readonly padTotal: Pair;
  private x: Tensor | null = null;
  private geometry: Geometry | null = null;

  /**
   * A 2-D convolution (torch.nn.Conv2d) from `inChannels` to `outChannels` channels with kernels of
   * `kernelSize`: input [N, C_in, H, W] → output [N, C_out, H_out, W_out], where
   * H_out = ⌊(H + 2·padding − dilation·(kernelSize − 1) − 1) / stride⌋ + 1, and W_out likewise.
   * Options, with PyTorch's defaults: stride 1, padding 0 (or 'valid' / 'same'), dilation 1,
   * groups 1, bias true.
   *
   * @param kernelSize The kernel's size: a number for a square kernel, or [kH, kW].
   * @param options stride, padding, dilation, groups, bias; see {@link Conv2dOptions}.
   * @throws Error on a size that is not a positive integer, channels that groups does not
   *   divide, or 'same' padding with a stride.
   */
  constructor(
    /** C_in, the channels of the input. */
    readonly inChannels: number,
    /** C_out, the channels of the output (the number of filters). */
    readonly outChannels: number,
    kernelSize: Size2, options: Conv2dOptions = {}) {
    super();
    checkPositiveInt('Conv2d', 'in_channels', inChannels);
    checkPositiveInt('Conv2d', 'out_channels', outChannels);
    // Sizes and groups are checked below, each with its own message.
    checkOptions('Conv2d', options, { stride: anything, padding: anything, dilation: anything, groups: anything, bias: boolean });
    this.kernelSize = toPair('Conv2d', 'kernel_size', kernelSize, 1);
    this.stride = toPair('Conv2d', 'stride', options.stride ?? 1, 1);
    this.dilation = toPair('Conv2d', 'dilation', options.dilation ?? 1, 1);
    this.groups = options.groups ?? 1;
    checkPositiveInt('Conv2d', 'groups', this.groups);
    if (inChannels % this.groups !== 0) throw new Error(`Conv2d: in_channels (${inChannels}) must be divisible by groups (${this.groups})`);
    if (outChannels % this.groups !== 0) throw new Error(`Conv2d: out_channels (${outChannels}) must be divisible by groups (${this.groups})`);

    const padding = options.padding ?? 0;
    const [KH, KW] = this.kernelSize, [DH, DW] = this.dilation;
    if (padding === 'same') {
      if (this.stride[0] !== 1 || this.stride[1] !== 1) {
        throw new Error(`Conv2d: padding='same' is not supported for strided convolutions, got stride=${formatPair(this.stride)}`);
      }
      // As PyTorch: the total padding keeps the size; an odd total puts the extra row/column after.
      this.padTotal = [DH * (KH - 1), DW * (KW - 1)];
      this.padBefore = [this.padTotal[0] >> 1, this.padTotal[1] >> 1];
      this.padding = 'same';
    } else if (padding === 'valid') {
      this.padTotal = this.padBefore = [0, 0];
      this.padding = 'valid';
    } else if (typeof padding === 'string') {
      throw new Error(`Conv2d: padding must be a number, a pair, 'valid' or 'same', got ${describe(padding)}`);
    } else {
      this.padding = toPair('Conv2d', 'padding', padding, 0);
      this.padBefore = this.padding;
      this.padTotal = [2 * this.padding[0], 2 * this.padding[1]];
    }

    this.weight = this.addParameter('weight', [outChannels, inChannels / this.groups, KH, KW]);
    this.bias = options.bias ?? true ? this.addParameter('bias', [outChannels]) : null;
    defaultLayerInit(this.weight, this.bias);
  }

  override toString(): string {
    let s = `Conv2d(${this.inChannels}, ${this.outChannels}, kernel_size=${formatPair(this.kernelSize)}, stride=${formatPair(this.stride)}`;
    const p = this.padding;
    if (typeof p === 'string') s += `, padding=${p}`;
    else if (p[0] !== 0 || p[1] !== 0) s += `, padding=${formatPair(p)}`;
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) s += `, dilation=${formatPair(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ', bias=False';
    return `${s})`;
  }

  /** The constructor arguments, JSON-able: saved files record the architecture with them. */
  config(): Record<string, unknown> {
    return {
      inChannels: this.inChannels, outChannels: this.outChannels, kernelSize: [...this.kernelSize],
      stride: [...this.stride], padding: typeof this.padding === 'string' ? this.padding : [...this.padding],
      dilation: [...this.dilation], groups: this.groups, bias: this.bias !== null,
    };
  }

  override outputShape(s: readonly number[]): number[] {
    const { N, OH, OW } = this.geometryOf(s);
    return [N, this.outChannels, OH, OW];
  }

  /** @internal */
  override forwardDevice(x: Tensor): Tensor {
    const g = this.geometryOf(x.shape);
    const y = this.output('y', [g.N, this.outChannels, g.OH, g.OW]);
    const args = this.kernelArgs(g);
    let threads = this.threadsFor(args, SPLITS_FORWARD);
    // Each thread's stretch of the im2col scratch.
    const per = threads > 1 ? rangeColsFloats(args, g.N, threads) : 0;
    const split = threads > 1 ? this.threadScratch(per * threads) : 0;
    if (!split) threads = 1;
    // A batch-folded GEMM, whose forward does not split by the batch: by output channels (the
    // put-off forward below), each range in its own stretch of the scratch.
    let channels = threads === 1 ? forwardChannelRanges(args, convFlops(args)) : null;
    const chPer = channels ? Math.ceil(rt().kernels.conv2dColsFloats(...args) / 16) * 16 : 0;
    const chScratch = channels ? this.threadScratch(chPer * channels.length) : 0;
    if (!chScratch) channels = null;
    const cols = split || chScratch || this.cols(g);
    this.x = x;
    this.geometry = g;
    const k = rt().kernels;
    // Put off while its input is a layer's result (re-issued, never written in place) and the
    // lowering's stores take an activation: a ReLU or ReLU6 given y has the convolution write
    // act(y) into its own output as the tiles are stored (epilogue.ts); anything else reading y
    // has it written first.
    if (fusionEnabled() && x.block?.owner && k.conv2dFusesActivation(...args) === 1) {
      // The parameters as they are now (an optimizer step before y is read changes nothing):
      // the kernels transformed, the forward's first step anyway, and the bias.
      const snap = this.scratch('snapshot', k.conv2dSnapshotFloats(...args) * 4).ptr;
      k.conv2dSnapshot(this.weight.data.ptr, this.bias ? this.bias.data.ptr : 0, snap, ...args);
      y.block!.defer(new DeferredConv(x, y, snap, this.bias !== null, args, cols, threads, channels ? chPer : per, channels));
      return y;
    }
    const w = this.weight.data.ptr, b = this.bias ? this.bias.data.ptr : 0;
    if (threads === 1) {
      k.conv2dForward(x.ptr, w, b, y.ptr, ...args, cols, gemmScratch());
      return y;
    }
    const xImage = g.C * g.H * g.W * 4, yImage = this.outChannels * g.OH * g.OW * 4;
    overBatch(g.N, threads, (start, count, t) => ({
      kernel: 'conv2dForward',
      args: [x.ptr + start * xImage, w, b, y.ptr + start * yImage, ...withBatch(args, count), cols + t * per * 4, gemmScratch(t)],
    }));
    return y;
  }

  /**
   * The im2col scratch for a split call, `floats` for all its threads, or 0 when the memory cannot
   * hold that much: the call then runs on one thread, in its own smaller scratch, rather than fail.
   */
  private threadScratch(floats: number): number {
    try {
      return this.scratch('cols', floats * 4).ptr;
    } catch (err) {
      if (err instanceof WasmMemoryError) return 0;
      throw err;
    }
  }

  /**
   * How many threads a pass of this call may take (1 unless conv2dBatchSplits allows the `pass`
   * — SPLITS_FORWARD or SPLITS_INPUT_GRAD — and it is big enough): a function of the shape and of
   * the workers ready, never of the result, which is the same on any count.
   */
  private threadsFor(args: ConvArgs, pass: number): number {
    const threads = passThreads(args[0], convFlops(args));
    return threads > 1 && (batchSplits(args) & pass) !== 0 ? threads : 1;
  }

  /**
   * @internal Which kernels forward and backward run for an input of this shape, a pure function
   * of the shapes: one of 'im2col-gemm', 'pointwise-gemm', 'flat', 'flat-channel-lanes',
   * 'dwconv-3x3', 'dwconv', 'dwconv-channel-lanes', 'pointwise-batched-gemm', 'im2col-batched-gemm'
   * (the batch folded into one GEMM on small output maps), 'winograd-f2x2', 'winograd-f4x4',
   * 'winograd-f2x2-5x5' and 'winograd-f4x4-5x5' (forward and input gradient by Winograd
   * F(2×2,3×3), F(4×4,3×3), F(2×2,5×5) or F(4×4,5×5); the weight gradient as 'flat' or 'flat-channel-lanes', or by Winograd where
   * weightGradTile says), 'implicit-gemm' and 'implicit-batched-gemm' (strided
   * convolutions: the forward and the weight gradient by GEMMs reading the input through a table
   * of offsets, no im2col matrix; the input gradient of 'implicit-gemm' by output phase, each
   * phase an implicit GEMM over dy, where the shape has 4 channels a group and phase rows of a
   * multiple of 8 pixels, else as 'im2col-gemm'; of 'implicit-batched-gemm' as 'im2col-batched-gemm'),
   * 'strided-pointwise-gemm' (1×1 kernels at stride 2 without padding, output rows of a multiple
   * of 8 pixels and W = 2·W_out: every pass by GEMMs reading x at stride 2 and writing dx's even
   * columns in place, no im2col matrix). Throws as forward() does on a shape it refuses.
   */
  algorithm(inputShape: readonly number[]): string {
    return ALGORITHMS[rt().kernels.conv2dAlgorithm(...this.kernelArgs(this.geometryOf(inputShape)))];
  }

  /**
   * @internal The output tile m of the Winograd (2×2 or 4×4; the gradient of m×m tiles of dy over
   * (m+k−1)×(m+k−1) input patches, k the kernel size: 3×3 by 2×2 or 4×4, 5×5 by 2×2, F(5×5,2×2))
   * by which backward computes the weight gradient for an input of this shape, or 0 where it runs
   * as algorithm() says. Nonzero only on some 'winograd-*' shapes, and not necessarily the
   * forward's tile. A pure function of the shapes.
   */
  weightGradTile(inputShape: readonly number[]): number {
    return rt().kernels.conv2dWinogradWeightGrad(...this.kernelArgs(this.geometryOf(inputShape)));
  }

  /** @internal Whether backward computes the weight gradient by Winograd (weightGradTile ≠ 0). */
  weightGradByWinograd(inputShape: readonly number[]): boolean {
    return this.weightGradTile(inputShape) !== 0;
  }

  /** @internal The input kept for backward must still be intact. */
  override checkSaved(): void { this.checkSavedInput(this.x); }

  /** @internal */
  override backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null {
    const x = this.x!, g = this.geometry!, args = this.kernelArgs(g);
    const dx = needInputGrad ? this.output('dx', x.shape, 'backward()') : null;
    const w = this.weight.data.ptr, dw = this.weight.grad.ptr, db = this.bias ? this.bias.grad.ptr : 0;
    if (this.backwardDepthwise(x, dy, dx, args) || this.backwardByChannels(x, dy, dx, args)) return dx;
    // Two threads at least: the weight gradient on this one, the input gradient on the others.
    const threads = dx ? this.threadsFor(args, SPLITS_INPUT_GRAD) : 1;
    // Split: the weight gradient's scratch (the whole batch's), then each worker's stretch.
    const full = threads > 1 ? Math.ceil(rt().kernels.conv2dColsFloats(...args) / 16) * 16 : 0;
    const per = threads > 1 ? rangeColsFloats(args, g.N, threads - 1) : 0;
    const cols = threads > 1 ? this.threadScratch(full + per * (threads - 1)) : 0;
    if (!cols) {
      rt().kernels.conv2dBackward(x.ptr, w, dy.ptr, dw, db, dx ? dx.ptr : 0, ...args, this.cols(g), gemmScratch());
      return dx;
    }
    splitBackward(x.ptr, w, dy.ptr, dw, db, dx!.ptr, args, threads, cols, cols + full * 4, per);
    return dx;
  }

  /**
   * The backward over every thread, when the weight gradient splits by output channels
   * (weightGradRanges), a Winograd on 6×6 patches by chunks of tiles or rows of the
   * transformed tile and then by output channels (winogradWeightGradPlan), or the flat pass by
   * ranges of taps (weightGradTapRanges; with dx, in one hand-off with dx's ranges of the batch,
   * backwardTaps, unless dW ‖ dx balances: tapSplitsBoth), and dx, if wanted, by ranges
   * of the batch: the weight gradient's passes, then dx's, each balanced over the threads (conv1
   * of a net, with no dx, too).
   * False, having done nothing, where it does not apply (or the scratch does not fit).
   */
  private backwardByChannels(x: Tensor, dy: Tensor, dx: Tensor | null, args: ConvArgs): boolean {
    const [N, C] = args, flops = convFlops(args);
    const plan = winogradWeightGradPlan(args, flops), channels = plan ? null : weightGradRanges(args, flops);
    const taps = plan || channels ? null : weightGradTapRanges(args, flops);
    if (!plan && !channels && !taps) return false;
    // dW ‖ dx in one hand-off (backwardDevice) where that balances (tapSplitsBoth).
    if (taps && dx && !tapSplitsBoth(args, taps.length)) return false;
    const parts = plan ? plan.threads : channels ? channels.length : taps!.length;
    const k = rt().kernels;
    // dx by ranges of the batch, else (the batch-folded pointwise GEMM) by ranges of input channels.
    const byBatch = (batchSplits(args) & SPLITS_INPUT_GRAD) !== 0;
    const dxChannels = dx && !byBatch && k.conv2dInputGradChannelSplits(...args) === 1 ? inputChannelRanges(C, parts) : null;
    if (dx && !byBatch && !dxChannels) return false;
    if (taps && dx && byBatch && tapSplit.mode !== 'both') return this.backwardTaps(x, dy, dx, args, taps);
    const dxThreads = dx ? (dxChannels ? dxChannels.length : this.threadsFor(args, SPLITS_INPUT_GRAD)) : 0;
    const wgPer = channels ? weightGradRangeFloats(args, Math.max(...channels.map(([, Oc]) => Oc))) : taps ? weightGradTapFloats(args) : 0;
    const wgFloats = plan ? winogradWeightGradFloats(plan) : wgPer * (channels ?? taps)!.length;
    const dxPer = !dx ? 0 : dxChannels ? Math.ceil(k.conv2dColsFloats(...args) / 16) * 16 : rangeColsFloats(args, N, dxThreads);
    // dx by ranges of the batch on a Winograd lowering: its kernels transformed once, ahead of the threads' stretches.
    const dxU = dx && !dxChannels ? Math.ceil(k.conv2dInputGradWeightsFloats(...args) / 16) * 16 : 0;
    const scratch = this.threadScratch(Math.max(wgFloats, dxU + dxPer * dxThreads));
    if (!scratch) return false;
    const w = this.weight.data.ptr, dw = this.weight.grad.ptr, db = this.bias ? this.bias.grad.ptr : 0;
    if (plan) splitWinogradWeightGrad(x.ptr, dy.ptr, dw, db, args, plan, scratch);
    else if (taps) splitWeightGradTaps(x.ptr, dy.ptr, dw, db, args, taps, scratch, wgPer);
    else splitWeightGrad(x.ptr, w, dy.ptr, dw, db, args, channels!, scratch, wgPer);
    if (dx && dxChannels) splitInputGradByChannels(w, dy.ptr, dx.ptr, args, dxChannels, scratch, dxPer);
    else if (dx) splitInputGrad(w, dy.ptr, dx.ptr, args, dxThreads, scratch + dxU * 4, dxPer, dxU ? scratch : 0);
    return true;
  }

  /**
   * The backward by ranges of taps and of the batch in one hand-off (splitBackwardTaps); false,
   * having done nothing, where the scratch does not fit.
   */
  private backwardTaps(x: Tensor, dy: Tensor, dx: Tensor, args: ConvArgs, taps: readonly [number, number][]): boolean {
    const per = Math.max(weightGradTapFloats(args), rangeColsFloats(args, args[0], taps.length));
    const scratch = this.threadScratch(per * taps.length);
    if (!scratch) return false;
    splitBackwardTaps(x.ptr, this.weight.data.ptr, dy.ptr, this.weight.grad.ptr, this.bias ? this.bias.grad.ptr : 0, dx.ptr, args, taps, scratch, per);
    return true;
  }

  /**
   * A depthwise convolution's backward over every thread by ranges of its channels
   * (depthwiseRanges); false, having done nothing, where it does not apply or the scratch does not fit.
   */
  private backwardDepthwise(x: Tensor, dy: Tensor, dx: Tensor | null, args: ConvArgs): boolean {
    const channels = depthwiseRanges(args, convFlops(args));
    if (!channels) return false;
    const per = Math.ceil(rt().kernels.conv2dColsFloats(...args) / 16) * 16;
    const scratch = this.threadScratch(per * channels.length);
    if (!scratch) return false;
    splitDepthwiseBackward(x.ptr, this.weight.data.ptr, dy.ptr, this.weight.grad.ptr, this.bias ? this.bias.grad.ptr : 0,
      dx ? dx.ptr : 0, args, channels, scratch, per);
    return true;
  }

  /** Checks an input shape and derives the output size; throws before anything is touched. */
  private geometryOf(s: readonly number[]): Geometry {
    checkNotEmptyBatch(this, s);
    if (s.length !== 4 || s[1] !== this.inChannels || !s.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(`${this}: expected input of shape [N, ${this.inChannels}, H, W], got ${formatShape(s)}`);
    }
    const [N, C, H, W] = s;
    const [KH, KW] = this.kernelSize, [SH, SW] = this.stride, [DH, DW] = this.dilation;
    const spanH = DH * (KH - 1) + 1, spanW = DW * (KW - 1) + 1;
    const paddedH = H + this.padTotal[0], paddedW = W + this.padTotal[1];
    checkKernelRange(this, s, CONV_SIZES, paddedH, paddedW, spanH, spanW);
    if (paddedH < spanH || paddedW < spanW) {
      throw new Error(`${this}: input of shape ${formatShape(s)} is too small: padded to ${paddedH}×${paddedW}, ` +
        `it is smaller than the kernel ${KH}×${KW} with dilation ${formatPair(this.dilation)} (${spanH}×${spanW})`);
    }
    return { N, C, H, W, OH: Math.floor((paddedH - spanH) / SH) + 1, OW: Math.floor((paddedW - spanW) / SW) + 1 };
  }

  /** The size arguments shared by conv2dForward and conv2dBackward, in their order. */
  private kernelArgs(g: Geometry): ConvArgs {
    return [g.N, g.C, g.H, g.W, this.outChannels, ...this.kernelSize, ...this.stride,
      ...this.padBefore, ...this.dilation, this.groups, g.OH, g.OW];
  }

  /** The im2col scratch for this geometry, kept between calls. */
  private cols(g: Geometry): number {
    const floats = rt().kernels.conv2dColsFloats(...this.kernelArgs(g));
    return this.scratch('cols', floats * 4).ptr;
  }
}

/**
 * A convolution's output put off, with a snapshot of its parameters (conv2dSnapshot): written
 * when read, or with the activation after it applied as the output tiles are stored
 * (conv2dForwardAct) when that activation takes it.
 */
class DeferredConv extends FusableResult {
  constructor(readonly x: Tensor, y: Tensor, readonly snap: number, readonly hasBias: boolean,
    readonly args: ConvArgs, readonly cols: number, readonly threads: number,
    /** Floats of `cols` each thread's range takes (rangeColsFloats), when threads > 1 or channels are given. */
    readonly per: number,
    /** Output-channel ranges, one a thread, for a batch-folded GEMM (forwardChannelRanges), or null. */
    readonly channels: readonly [number, number][] | null = null) {
    super([x.block!], y);
  }

  protected write(): void { this.compute(this.y.address, 0); }

  apply(out: number, act: number): number { return this.compute(out, act); }

  override get takesAffine(): boolean { return true; }

  override withAffine(coef: number, y: Tensor, refuse: (count: number) => Error): FusableResult {
    return new DeferredConvAffine(this, coef, y, refuse);
  }

  /** Writes act(y) to `out`, over the threads the forward was given (the same bits on any count); returns the non-finite count. */
  private compute(out: number, act: number): number {
    const x = this.x.ptr, hasBias = +this.hasBias;
    if (this.channels) return this.overChannels(out, act);
    if (this.threads === 1) return rt().kernels.conv2dForwardAct(x, this.snap, hasBias, out, ...this.args, this.cols, act, gemmScratch());
    return sum(this.overRanges(out, (xr, yr, sizes, cols, t) => ({
      kernel: 'conv2dForwardAct', args: [xr, this.snap, hasBias, yr, ...sizes, cols, act, gemmScratch(t)],
    })));
  }

  /**
   * act(y) written by ranges of output channels over the threads (conv2dForwardActChannels); on
   * the error path (a NaN or infinity before the activation) the whole's output and count, on one thread.
   */
  private overChannels(out: number, act: number): number {
    const x = this.x.ptr, hasBias = +this.hasBias;
    splitCounts.forwardByChannels++;
    const bad = sum(runTasks(this.channels!.map(([o0, Oc], t): Task => ({
      kernel: 'conv2dForwardActChannels', args: [x, this.snap, hasBias, out, o0, Oc, ...this.args, this.cols + t * this.per * 4, act],
    }))));
    return bad > 0 ? rt().kernels.conv2dForwardAct(x, this.snap, hasBias, out, ...this.args, this.cols, act, gemmScratch()) : 0;
  }

  /**
   * A task per range of the batch the forward planned for its threads, `task(x, out, sizes, cols,
   * thread)` with the range's input, output, sizes and stretch of the scratch; what each returned.
   */
  overRanges(out: number, task: (x: number, out: number, sizes: ConvArgs, cols: number, thread: number) => Task): number[] {
    const [, C, H, W, O] = this.args, OH = this.args[14], OW = this.args[15], per = this.per;
    return overBatchUnits(this.args, this.threads, SPLITS_FORWARD, (start, count, t) =>
      task(this.x.ptr + start * C * H * W * 4, out + start * O * OH * OW * 4, withBatch(this.args, count), this.cols + t * per * 4, t));
  }
}

const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);

/**
 * An eval BatchNorm2d's output put off over a put-off convolution output: the convolution, the
 * BatchNorm's affine and the activation after it (if one takes it) applied image by image as the
 * output is stored (conv2dForwardAffine), from the convolution's snapshot and the BatchNorm's
 * coefficients, over the convolution's threads. Non-finite convolution outputs raise the
 * BatchNorm's own Error.
 */
class DeferredConvAffine extends FusableResult {
  constructor(private readonly conv: DeferredConv, private readonly coef: number, y: Tensor,
    private readonly refuse: (count: number) => Error) {
    // The convolution's output block too: its next forward rewrites the snapshot read here.
    super([conv.x.block!, conv.y.block!], y);
  }

  protected write(): void {
    try {
      this.compute(this.y.address, 0);
    } catch (err) {
      // Refused: the output stays unwritten, and tensors over it say why.
      const b = this.y.block!;
      b.generation++;
      b.expiry = () => 'was never written: its input (the output of the convolution before it) holds NaN or infinite values';
      throw err;
    }
  }

  apply(out: number, act: number): number { return this.compute(out, act); }

  private compute(out: number, act: number): number {
    const c = this.conv, k = rt().kernels;
    // Per range: −(non-finite convolution outputs) when there are some, else the count after the affine.
    const results = c.threads === 1 ? [k.conv2dForwardAffine(c.x.ptr, c.snap, +c.hasBias, this.coef, out, ...c.args, c.cols, act, gemmScratch())]
      : c.overRanges(out, (xr, yr, sizes, cols, t) => ({
        kernel: 'conv2dForwardAffine', args: [xr, c.snap, +c.hasBias, this.coef, yr, ...sizes, cols, act, gemmScratch(t)],
      }));
    const refused = sum(results.filter((r) => r < 0));
    if (refused < 0) throw this.refuse(-refused);
    return sum(results);
  }
}

registerLayer({
  typeName: 'Conv2d', ctor: Conv2d,
  fields: { inChannels: 'int', outChannels: 'int', kernelSize: 'size2', stride: 'size2', padding: 'convPadding', dilation: 'size2', groups: 'int', bias: 'bool' },
  build: (c) => new Conv2d(c.inChannels, c.outChannels, c.kernelSize, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, bias: c.bias }),
  stateValues: (c) => {
    // Out-of-range values count as nothing here: the constructor refuses them with a better message.
    const pos = (x: number) => Math.max(x, 0);
    const [kh, kw] = typeof c.kernelSize === 'number' ? [c.kernelSize, c.kernelSize] : c.kernelSize;
    return pos(c.outChannels) * (pos(c.inChannels) / Math.max(c.groups, 1)) * pos(kh) * pos(kw) + (c.bias ? pos(c.outChannels) : 0);
  },
});
