// Ready-made architectures: LeNet-5 and an MLP as Sequentials, and torchvision's ResNets,
// MobileNetV2 and VGG-11 with the CIFAR ResNets as modules of their own (ts/models/).
import { Sequential } from './sequential.js';
import { Conv2d } from './layers/conv2d.js';
import { ReLU } from './layers/relu.js';
import { MaxPool2d } from './layers/maxpool2d.js';
import { Flatten } from './layers/flatten.js';
import { Linear } from './layers/linear.js';
import { checkValue, described, integer } from './options.js';

const count = described(integer(1), 'a positive integer');

/** LeNet-5 for 1×28×28 images (ReLU and max pooling, conv1 padded to keep 28×28), 10 classes. */
export function lenet5(classes = 10): Sequential {
  checkValue('lenet5', 'classes', classes, count);
  return new Sequential(
    new Conv2d(1, 6, 5, { padding: 2 }), new ReLU(), new MaxPool2d(2, { stride: 2 }),
    new Conv2d(6, 16, 5), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(400, 120), new ReLU(), new Linear(120, 84), new ReLU(),
    new Linear(84, classes));
}

/** A two-hidden-layer perceptron over flattened images. */
export function mlp(inputs = 784, classes = 10, hidden: readonly number[] = [256, 128]): Sequential {
  checkValue('mlp', 'inputs', inputs, count);
  checkValue('mlp', 'classes', classes, count);
  checkValue('mlp', 'hidden', hidden, {
    expected: 'an array of positive integers (the hidden layers\' widths)',
    test: (v) => Array.isArray(v) && v.every((h) => count.test(h)),
  });
  const model = new Sequential(new Flatten());
  let width = inputs;
  for (const h of hidden) { model.add(new Linear(width, h)).add(new ReLU()); width = h; }
  return model.add(new Linear(width, classes));
}

export { resnet18, resnet34, resnet20, resnet32, resnet56, mobilenetV2, vgg11, ZOO_MODELS } from './models/zoo.js';
export type { ZooRecord } from './models/zoo.js';
export type { ResNet, BasicBlock, ResNetOptions } from './models/resnet.js';
export type { CifarResNet, CifarBasicBlock, CifarResNetOptions } from './models/cifar-resnet.js';
export type { MobileNetV2, InvertedResidual, MobileNetV2Options } from './models/mobilenet-v2.js';
export type { VGG, VGGOptions } from './models/vgg.js';
