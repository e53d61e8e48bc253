// MobileNetV2 as torchvision.models builds it (Sandler et al. 2018, "MobileNetV2: Inverted
// Residuals and Linear Bottlenecks"): the same modules under the same names, so the state dict is
// torchvision's name for name, the same channel rounding for any width multiplier, and
// torchvision's initialisation.
import { Module } from '../module.js';
import { Tensor } from '../tensor.js';
import { Sequential } from '../sequential.js';
import { Conv2d } from '../layers/conv2d.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { ReLU6 } from '../layers/relu6.js';
import { Dropout } from '../layers/dropout.js';
import { Linear } from '../layers/linear.js';
import { add } from '../functional/arith.js';
import { mean } from '../functional/reduce.js';
import { constant_, kaimingNormal, normal_ } from '../init.js';
import { batchNormValues, convValues, linearValues } from './counts.js';

/**
 * `v` rounded to a multiple of `divisor` (at least `divisor`), never more than 10% below `v`:
 * torchvision's `_make_divisible`, from the TensorFlow MobileNet code.
 */
export function makeDivisible(v: number, divisor: number): number {
  let r = Math.max(divisor, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (r < 0.9 * v) r += divisor;
  return r;
}

/** One inverted-residual block of the plan: input and output channels, stride, expansion factor. */
interface BlockPlan { inp: number; oup: number; stride: number; expand: number }

/** t (expansion), c (channels), n (blocks), s (stride of the first), as in the paper's Table 2 and torchvision. */
const SETTING: readonly (readonly [number, number, number, number])[] = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

/** The channels of every block for a width multiplier, as torchvision works them out. */
function plan(widthMult: number): { first: number; blocks: BlockPlan[]; last: number } {
  const first = makeDivisible(32 * widthMult, 8);
  const last = makeDivisible(1280 * Math.max(1, widthMult), 8);
  const blocks: BlockPlan[] = [];
  let inp = first;
  for (const [t, c, n, s] of SETTING) {
    const oup = makeDivisible(c * widthMult, 8);
    for (let i = 0; i < n; i++) {
      blocks.push({ inp, oup, stride: i === 0 ? s : 1, expand: t });
      inp = oup;
    }
  }
  return { first, blocks, last };
}

/**
 * torchvision's `Conv2dNormActivation` with ReLU6, as a Sequential (children 0, 1, 2): a
 * convolution without bias, padding (k − 1) / 2, then BatchNorm2d and ReLU6.
 */
function convBNReLU6(inp: number, oup: number, kernel: number, stride = 1, groups = 1): Sequential {
  return new Sequential(
    new Conv2d(inp, oup, kernel, { stride, padding: (kernel - 1) >> 1, groups, bias: false }),
    new BatchNorm2d(oup), new ReLU6());
}

/**
 * MobileNetV2's inverted residual block, as torchvision's `InvertedResidual`: `conv` is a
 * Sequential of a 1×1 expansion to inp·t channels with ReLU6 (left out when t = 1), a 3×3
 * depthwise convolution with the stride and ReLU6, and a linear 1×1 projection to oup channels
 * with BatchNorm; the input is added to the result when the stride is 1 and inp = oup.
 *
 * Shape: [N, inp, H, W] → [N, oup, ⌈H / stride⌉, ⌈W / stride⌉].
 */
export class InvertedResidual extends Module {
  /** The block's layers: [expansion (Sequential: conv, BatchNorm, ReLU6),] depthwise (the same), projection Conv2d, BatchNorm2d. */
  readonly conv: Sequential;
  /** The stride of the depthwise convolution (1 or 2). */
  readonly stride: number;
  /** Whether the input is added to the output (stride 1 and as many channels out as in). */
  readonly useResConnect: boolean;

  /** A block from `inp` to `oup` channels with expansion factor `expandRatio` (built by sn.models.mobilenetV2). */
  constructor(inp: number, oup: number, stride: number, expandRatio: number) {
    super();
    const hidden = Math.round(inp * expandRatio);
    const layers: Module[] = [];
    if (expandRatio !== 1) layers.push(convBNReLU6(inp, hidden, 1));
    layers.push(convBNReLU6(hidden, hidden, 3, stride, hidden), new Conv2d(hidden, oup, 1, { bias: false }), new BatchNorm2d(oup));
    this.conv = new Sequential(...layers);
    this.stride = stride;
    this.useResConnect = stride === 1 && inp === oup;
  }

  /** x + conv(x) when useResConnect, else conv(x). */
  override forward(x: Tensor): Tensor {
    return this.useResConnect ? add(x, this.conv.forward(x)) : this.conv.forward(x);
  }
}

/** The options of {@link mobilenetV2}. */
export interface MobileNetV2Options {
  /** The number of classes, the outputs of the classifier. Default 1000 (ImageNet), as torchvision. */
  numClasses?: number;
  /**
   * Scales every layer's channels (each rounded to a multiple of 8, as torchvision), e.g. 0.5
   * for a network of a quarter of the multiply-adds; the last convolution keeps its 1280 channels
   * below 1. A finite number > 0; default 1.
   */
  widthMult?: number;
}

/**
 * MobileNetV2, as torchvision's `MobileNetV2`: `features` (a Sequential: a 3×3 stride-2
 * convolution with BatchNorm and ReLU6, 17 {@link InvertedResidual} blocks, a 1×1 convolution to
 * 1280 channels with BatchNorm and ReLU6), global average pooling, and `classifier`
 * (Dropout(0.2), Linear). State-dict names are torchvision's (`features.0.0.weight`,
 * `features.1.conv.0.0.weight`, `classifier.1.weight`, …). Build one with
 * `sn.models.mobilenetV2()`.
 *
 * Shape: [N, 3, H, W] → [N, numClasses]; the features halve H and W five times (224 → 7).
 */
export class MobileNetV2 extends Module {
  /** The convolutional part: features.0 … features.18. */
  readonly features: Sequential;
  /** Dropout(0.2), then Linear(lastChannel, numClasses). */
  readonly classifier: Sequential;
  /** The channels of the last convolution: 1280, more for a width multiplier above 1. */
  readonly lastChannel: number;

  /**
   * MobileNetV2 for checked options (use the builder). Initialised as torchvision: convolutions
   * kaiming_normal_ (fan_out, gain √2), BatchNorm weight 1 and bias 0, the Linear weight N(0,
   * 0.01²) and bias 0; every draw from the global generator (sn.manualSeed).
   */
  constructor(numClasses: number, widthMult: number) {
    super();
    const { first, blocks, last } = plan(widthMult);
    this.features = new Sequential(convBNReLU6(3, first, 3, 2));
    for (const b of blocks) this.features.add(new InvertedResidual(b.inp, b.oup, b.stride, b.expand));
    this.features.add(convBNReLU6(blocks.at(-1)!.oup, last, 1));
    this.classifier = new Sequential(new Dropout(0.2), new Linear(last, numClasses));
    this.lastChannel = last;
    for (const m of this.modules()) {
      if (m instanceof Conv2d) kaimingNormal(m.weight, { mode: 'fan_out' });
      else if (m instanceof Linear) {
        normal_(m.weight, 0, 0.01);
        constant_(m.bias!, 0);
      }
    }
  }

  /** features, the mean over H and W (adaptive_avg_pool2d to 1×1 and flatten), classifier: logits [N, numClasses]. */
  override forward(x: Tensor): Tensor {
    return this.classifier.forward(mean(this.features.forward(x), [2, 3]));
  }
}

/** The state-dict values of MobileNetV2(numClasses, widthMult), without building it. */
export function mobilenetV2Values(numClasses: number, widthMult: number): number {
  const { first, blocks, last } = plan(widthMult);
  let n = convValues(3, first, 3) + batchNormValues(first);
  for (const { inp, oup, expand } of blocks) {
    const hidden = Math.round(inp * expand);
    if (expand !== 1) n += convValues(inp, hidden, 1) + batchNormValues(hidden);
    n += convValues(hidden, hidden, 3, hidden) + batchNormValues(hidden) + convValues(hidden, oup, 1) + batchNormValues(oup);
  }
  return n + convValues(blocks.at(-1)!.oup, last, 1) + batchNormValues(last) + linearValues(last, numClasses);
}
