// ResNet-18 and ResNet-34 as torchvision.models builds them (He et al. 2015, "Deep Residual
// Learning for Image Recognition"): the same child modules under the same names, so the state
// dict is torchvision's name for name, and torchvision's initialisation.
import { Module } from '../module.js';
import { Tensor } from '../tensor.js';
import { Sequential } from '../sequential.js';
import { Conv2d } from '../layers/conv2d.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { ReLU } from '../layers/relu.js';
import { MaxPool2d } from '../layers/maxpool2d.js';
import { AdaptiveAvgPool2d } from '../layers/adaptive-avgpool2d.js';
import { Linear } from '../layers/linear.js';
import { add } from '../functional/arith.js';
import { relu } from '../functional/activation.js';
import { flatten } from '../functional/shape.js';
import { kaimingNormal } from '../init.js';
import { batchNormValues, convValues, linearValues } from './counts.js';

/**
 * ResNet's basic block, as torchvision's `BasicBlock`: two 3×3 convolutions with BatchNorm, the
 * first with the block's stride, and the input added back before the last ReLU:
 * relu(bn2(conv2(relu(bn1(conv1(x))))) + downsample(x)), where `downsample` (a 1×1 convolution
 * with the stride and a BatchNorm) matches the shapes when they change and is null otherwise.
 * torchvision also holds a `relu` module, which its forward calls twice; here the block calls the
 * functional `relu` instead (a module runs once per forward), which changes no state-dict name.
 *
 * Shape: [N, inplanes, H, W] → [N, planes, ⌈H / stride⌉, ⌈W / stride⌉].
 */
export class BasicBlock extends Module {
  /** 3×3 convolution inplanes → planes with the block's stride, padding 1, no bias. */
  readonly conv1: Conv2d;
  /** BatchNorm after conv1. */
  readonly bn1: BatchNorm2d;
  /** 3×3 convolution planes → planes, padding 1, no bias. */
  readonly conv2: Conv2d;
  /** BatchNorm after conv2. */
  readonly bn2: BatchNorm2d;
  /** The shortcut's projection, Sequential(1×1 convolution with the stride, BatchNorm), or null where the input is added as it is. */
  readonly downsample: Sequential | null;
  /** The stride of conv1 (and of the projection). */
  readonly stride: number;

  /**
   * A block from `inplanes` to `planes` channels (built by the ResNet builders, which check their
   * options; the layers check these arguments).
   *
   * @param downsample The projection of the shortcut when the shape changes, else null.
   */
  constructor(inplanes: number, planes: number, stride = 1, downsample: Sequential | null = null) {
    super();
    this.conv1 = new Conv2d(inplanes, planes, 3, { stride, padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = new Conv2d(planes, planes, 3, { padding: 1, bias: false });
    this.bn2 = new BatchNorm2d(planes);
    this.downsample = downsample;
    this.stride = stride;
  }

  /** relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut), the shortcut being x or downsample(x). */
  override forward(x: Tensor): Tensor {
    const out = this.bn2.forward(this.conv2.forward(relu(this.bn1.forward(this.conv1.forward(x)))));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return relu(add(out, identity));
  }
}

/** The options of {@link resnet18} and {@link resnet34}. */
export interface ResNetOptions {
  /** The number of classes, the outputs of `fc`. Default 1000 (ImageNet), as torchvision. */
  numClasses?: number;
}

/**
 * A ResNet of basic blocks, as torchvision's `ResNet` (ResNet-18 and ResNet-34): children
 * `conv1` (7×7, stride 2), `bn1`, `relu`, `maxpool` (3×3, stride 2), `layer1` … `layer4`
 * (Sequentials of {@link BasicBlock}s with 64, 128, 256 and 512 channels, each but the first
 * halving H and W), `avgpool` (global average pooling) and `fc`, so state-dict names are
 * torchvision's (`conv1.weight`, `layer2.0.downsample.0.weight`, `fc.bias`, …).
 * Build one with `sn.models.resnet18()` or `sn.models.resnet34()`.
 *
 * Shape: [N, 3, H, W] → [N, numClasses]; H and W of 32 or more keep every stage's map at least
 * 1×1 (224 for ImageNet).
 */
export class ResNet extends Module {
  /** 7×7 convolution 3 → 64, stride 2, padding 3, no bias. */
  readonly conv1: Conv2d;
  /** BatchNorm after conv1. */
  readonly bn1: BatchNorm2d;
  /** ReLU after bn1. */
  readonly relu: ReLU;
  /** 3×3 max pooling, stride 2, padding 1. */
  readonly maxpool: MaxPool2d;
  /** The first stage: 64 channels, stride 1. */
  readonly layer1: Sequential;
  /** The second stage: 128 channels, its first block of stride 2. */
  readonly layer2: Sequential;
  /** The third stage: 256 channels, its first block of stride 2. */
  readonly layer3: Sequential;
  /** The fourth stage: 512 channels, its first block of stride 2. */
  readonly layer4: Sequential;
  /** Global average pooling, AdaptiveAvgPool2d(1). */
  readonly avgpool: AdaptiveAvgPool2d;
  /** The classifier, Linear(512, numClasses). */
  readonly fc: Linear;

  /**
   * A ResNet with `blocks[i]` basic blocks in stage i + 1 (checked options: use the builders).
   * Initialised as torchvision: convolutions kaiming_normal_ (fan_out, ReLU gain), BatchNorm
   * weight 1 and bias 0, fc PyTorch's Linear default; every draw from the global generator
   * (sn.manualSeed).
   */
  constructor(blocks: readonly number[], numClasses: number) {
    super();
    let inplanes = 64;
    const stage = (planes: number, n: number, stride: number): Sequential => {
      const downsample = stride !== 1 || inplanes !== planes
        ? new Sequential(new Conv2d(inplanes, planes, 1, { stride, bias: false }), new BatchNorm2d(planes))
        : null;
      const layer = new Sequential(new BasicBlock(inplanes, planes, stride, downsample));
      inplanes = planes;
      for (let i = 1; i < n; i++) layer.add(new BasicBlock(inplanes, planes));
      return layer;
    };
    this.conv1 = new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = new BatchNorm2d(64);
    this.relu = new ReLU();
    this.maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
    this.layer1 = stage(64, blocks[0], 1);
    this.layer2 = stage(128, blocks[1], 2);
    this.layer3 = stage(256, blocks[2], 2);
    this.layer4 = stage(512, blocks[3], 2);
    this.avgpool = new AdaptiveAvgPool2d(1);
    this.fc = new Linear(512, numClasses);
    for (const m of this.modules()) {
      if (m instanceof Conv2d) kaimingNormal(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
    }
  }

  /** conv1, bn1, relu, maxpool, layer1 … layer4, avgpool, flatten, fc: logits [N, numClasses]. */
  override forward(x: Tensor): Tensor {
    let h = this.maxpool.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x))));
    h = this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(h))));
    return this.fc.forward(flatten(this.avgpool.forward(h), 1));
  }
}

/** The state-dict values (parameters and buffers) of ResNet(blocks, numClasses), without building it. */
export function resnetValues(blocks: readonly number[], numClasses: number): number {
  let n = convValues(3, 64, 7) + batchNormValues(64);
  let inplanes = 64;
  [64, 128, 256, 512].forEach((planes, i) => {
    for (let b = 0; b < blocks[i]; b++) {
      const stride = i > 0 && b === 0 ? 2 : 1;
      n += convValues(inplanes, planes, 3) + convValues(planes, planes, 3) + 2 * batchNormValues(planes);
      if (stride !== 1 || inplanes !== planes) n += convValues(inplanes, planes, 1) + batchNormValues(planes);
      inplanes = planes;
    }
  });
  return n + linearValues(512, numClasses);
}
