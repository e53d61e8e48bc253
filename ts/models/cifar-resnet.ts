// The CIFAR-10 ResNets of He et al. 2015 (section 4.2): ResNet-20, -32 and -56, depth 6n + 2,
// with option B shortcuts (a 1×1 projection where the shape changes, the identity elsewhere), as
// the usual PyTorch implementation writes them (akamaster/pytorch_resnet_cifar10, whose names the
// state dict keeps; scripts/fixtures/torchvision_zoo.py holds the PyTorch side the tests compare
// with). Option A, the paper's own CIFAR choice, would subsample the input and pad the new
// channels with zeros: it needs a strided slice and a channel pad, and has no shortcut weights.
import { Module } from '../module.js';
import { Tensor } from '../tensor.js';
import { Sequential } from '../sequential.js';
import { Conv2d } from '../layers/conv2d.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { Identity } from '../layers/identity.js';
import { Linear } from '../layers/linear.js';
import { add } from '../functional/arith.js';
import { relu } from '../functional/activation.js';
import { mean } from '../functional/reduce.js';
import { kaimingNormal } from '../init.js';
import { batchNormValues, convValues, linearValues } from './counts.js';

/**
 * The CIFAR ResNets' basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), both
 * convolutions 3×3 without bias, the first with the block's stride; `shortcut` is
 * Sequential(1×1 convolution with the stride, BatchNorm) where the shape changes (option B) and
 * an Identity elsewhere.
 *
 * Shape: [N, inPlanes, H, W] → [N, planes, ⌈H / stride⌉, ⌈W / stride⌉].
 */
export class CifarBasicBlock extends Module {
  /** 3×3 convolution inPlanes → planes with the block's stride, padding 1, no bias. */
  readonly conv1: Conv2d;
  /** BatchNorm after conv1. */
  readonly bn1: BatchNorm2d;
  /** 3×3 convolution planes → planes, padding 1, no bias. */
  readonly conv2: Conv2d;
  /** BatchNorm after conv2. */
  readonly bn2: BatchNorm2d;
  /** Sequential(1×1 convolution with the stride, BatchNorm) where the shape changes, else Identity. */
  readonly shortcut: Sequential | Identity;

  /** A block from `inPlanes` to `planes` channels (built by the CIFAR ResNet builders). */
  constructor(inPlanes: number, planes: number, stride = 1) {
    super();
    this.conv1 = new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = new Conv2d(planes, planes, 3, { padding: 1, bias: false });
    this.bn2 = new BatchNorm2d(planes);
    this.shortcut = stride !== 1 || inPlanes !== planes
      ? new Sequential(new Conv2d(inPlanes, planes, 1, { stride, bias: false }), new BatchNorm2d(planes))
      : new Identity();
  }

  /** relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)). */
  override forward(x: Tensor): Tensor {
    const out = this.bn2.forward(this.conv2.forward(relu(this.bn1.forward(this.conv1.forward(x)))));
    return relu(add(out, this.shortcut.forward(x)));
  }
}

/** The options of {@link resnet20}, {@link resnet32} and {@link resnet56}. */
export interface CifarResNetOptions {
  /** The number of classes, the outputs of `linear`. Default 10 (CIFAR-10). */
  numClasses?: number;
}

/**
 * A CIFAR ResNet of depth 6n + 2 (He et al. 2015, section 4.2): `conv1` (3×3, 3 → 16), `bn1`,
 * `layer1` … `layer3` (Sequentials of n {@link CifarBasicBlock}s with 16, 32 and 64 channels, the
 * second and third halving H and W), global average pooling and `linear` (64 → numClasses).
 * State-dict names: `conv1.weight`, `layer2.0.shortcut.0.weight`, `linear.bias`, ….
 * Build one with `sn.models.resnet20()`, `resnet32()` or `resnet56()`.
 *
 * Shape: [N, 3, H, W] → [N, numClasses]; CIFAR's images are 32×32 (the last stage is then 8×8).
 */
export class CifarResNet extends Module {
  /** 3×3 convolution 3 → 16, padding 1, no bias. */
  readonly conv1: Conv2d;
  /** BatchNorm after conv1. */
  readonly bn1: BatchNorm2d;
  /** The first stage: n blocks of 16 channels. */
  readonly layer1: Sequential;
  /** The second stage: n blocks of 32 channels, the first of stride 2. */
  readonly layer2: Sequential;
  /** The third stage: n blocks of 64 channels, the first of stride 2. */
  readonly layer3: Sequential;
  /** The classifier, Linear(64, numClasses). */
  readonly linear: Linear;

  /**
   * A CIFAR ResNet with n blocks per stage (checked options: use the builders). Initialised as
   * that implementation: every Conv2d and Linear weight kaiming_normal_ (fan_in, gain √2),
   * BatchNorm weight 1 and bias 0, the Linear bias PyTorch's default; every draw from the global
   * generator (sn.manualSeed).
   */
  constructor(n: number, numClasses: number) {
    super();
    let inPlanes = 16;
    const stage = (planes: number, stride: number): Sequential => {
      const layer = new Sequential();
      for (let b = 0; b < n; b++) {
        layer.add(new CifarBasicBlock(inPlanes, planes, b === 0 ? stride : 1));
        inPlanes = planes;
      }
      return layer;
    };
    this.conv1 = new Conv2d(3, 16, 3, { padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(16);
    this.layer1 = stage(16, 1);
    this.layer2 = stage(32, 2);
    this.layer3 = stage(64, 2);
    this.linear = new Linear(64, numClasses);
    for (const m of this.modules()) {
      if (m instanceof Conv2d || m instanceof Linear) kaimingNormal(m.weight);
    }
  }

  /** relu(bn1(conv1(x))), layer1 … layer3, the mean over H and W, linear: logits [N, numClasses]. */
  override forward(x: Tensor): Tensor {
    const h = this.layer3.forward(this.layer2.forward(this.layer1.forward(relu(this.bn1.forward(this.conv1.forward(x))))));
    return this.linear.forward(mean(h, [2, 3]));
  }
}

/** The state-dict values of CifarResNet(n, numClasses), without building it. */
export function cifarResnetValues(n: number, numClasses: number): number {
  let count = convValues(3, 16, 3) + batchNormValues(16);
  let inPlanes = 16;
  for (const planes of [16, 32, 64]) {
    for (let b = 0; b < n; b++) {
      count += convValues(inPlanes, planes, 3) + convValues(planes, planes, 3) + 2 * batchNormValues(planes);
      if (inPlanes !== planes) count += convValues(inPlanes, planes, 1) + batchNormValues(planes);
      inPlanes = planes;
    }
  }
  return count + linearValues(64, numClasses);
}
