// VGG-11 as torchvision.models builds it (Simonyan and Zisserman 2014, configuration A), with or
// without BatchNorm: the same modules under the same names, so the state dict is torchvision's
// name for name, and torchvision's initialisation.
import { Module } from '../module.js';
import { Tensor } from '../tensor.js';
import { Sequential } from '../sequential.js';
import { Conv2d } from '../layers/conv2d.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { ReLU } from '../layers/relu.js';
import { MaxPool2d } from '../layers/maxpool2d.js';
import { AdaptiveAvgPool2d } from '../layers/adaptive-avgpool2d.js';
import { Dropout } from '../layers/dropout.js';
import { Linear } from '../layers/linear.js';
import { flatten } from '../functional/shape.js';
import { constant_, kaimingNormal, normal_ } from '../init.js';
import { batchNormValues, convValues, linearValues } from './counts.js';

/** Configuration A (VGG-11): the channels of each 3×3 convolution, 'M' for a 2×2 max pooling. */
const VGG11: readonly (number | 'M')[] = [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'];

/** The options of {@link vgg11}. */
export interface VGGOptions {
  /** BatchNorm after every convolution (torchvision's vgg11_bn). Default false. */
  batchNorm?: boolean;
  /** The number of classes, the outputs of the last Linear. Default 1000 (ImageNet), as torchvision. */
  numClasses?: number;
}

/**
 * VGG, as torchvision's `VGG`: `features` (a Sequential of 3×3 convolutions with padding 1, each
 * followed by ReLU, or by BatchNorm2d and ReLU, and 2×2 max poolings), `avgpool`
 * (AdaptiveAvgPool2d(7), which repeats a smaller map up to 7×7), and `classifier` (Linear(25088,
 * 4096), ReLU, Dropout(0.5), Linear(4096, 4096), ReLU, Dropout(0.5), Linear(4096, numClasses)).
 * State-dict names are torchvision's (`features.0.weight`, `classifier.6.bias`, …). Build one
 * with `sn.models.vgg11()`: it holds 133 million parameters (530 MB of float32, as much again
 * for their gradients), 103 million of them in the first Linear.
 *
 * Shape: [N, 3, H, W] → [N, numClasses]; the five poolings need H and W of 32 or more (224 for ImageNet).
 */
export class VGG extends Module {
  /** The convolutional part. */
  readonly features: Sequential;
  /** AdaptiveAvgPool2d(7). */
  readonly avgpool: AdaptiveAvgPool2d;
  /** The three Linear layers with ReLU and Dropout between them. */
  readonly classifier: Sequential;

  /**
   * VGG-11 for checked options (use the builder). Initialised as torchvision: convolutions
   * kaiming_normal_ (fan_out, ReLU gain) with bias 0, BatchNorm weight 1 and bias 0, Linear weights
   * N(0, 0.01²) with bias 0; every draw from the global generator (sn.manualSeed).
   */
  constructor(batchNorm: boolean, numClasses: number) {
    super();
    this.features = new Sequential();
    let inChannels = 3;
    for (const v of VGG11) {
      if (v === 'M') { this.features.add(new MaxPool2d(2, { stride: 2 })); continue; }
      this.features.add(new Conv2d(inChannels, v, 3, { padding: 1 }));
      if (batchNorm) this.features.add(new BatchNorm2d(v));
      this.features.add(new ReLU());
      inChannels = v;
    }
    this.avgpool = new AdaptiveAvgPool2d(7);
    this.classifier = new Sequential(
      new Linear(512 * 7 * 7, 4096), new ReLU(), new Dropout(0.5),
      new Linear(4096, 4096), new ReLU(), new Dropout(0.5),
      new Linear(4096, numClasses));
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        kaimingNormal(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
        constant_(m.bias!, 0);
      } else if (m instanceof Linear) {
        normal_(m.weight, 0, 0.01);
        constant_(m.bias!, 0);
      }
    }
  }

  /** features, avgpool, flatten, classifier: logits [N, numClasses]. */
  override forward(x: Tensor): Tensor {
    return this.classifier.forward(flatten(this.avgpool.forward(this.features.forward(x)), 1));
  }
}

/** The state-dict values of VGG-11 with these options, without building it. */
export function vgg11Values(batchNorm: boolean, numClasses: number): number {
  let n = 0, inChannels = 3;
  for (const v of VGG11) {
    if (v === 'M') continue;
    n += convValues(inChannels, v, 3, 1, true) + (batchNorm ? batchNormValues(v) : 0);
    inChannels = v;
  }
  return n + linearValues(512 * 7 * 7, 4096) + linearValues(4096, 4096) + linearValues(4096, numClasses);
}
