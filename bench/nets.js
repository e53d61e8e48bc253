// The networks the harness trains beside PyTorch, besides LeNet-5 (which has its own sections and
// TF.js): each with its simdnet builder, its input and the name bench/pytorch.py knows it by.
import * as sn from 'simdnet';

/**
 * key → { label, input: [C, H, W], classes, build() }. The PyTorch side builds the same network
 * under the same key in bench/pytorch.py, with the same module paths (state-dict names).
 */
export const NETS = {
  resnet20: {
    label: 'ResNet-20 (CIFAR, option B shortcuts)',
    input: [3, 32, 32], classes: 10,
    build: () => sn.models.resnet20({ numClasses: 10 }),
  },
  mobilenetv2: {
    label: 'MobileNetV2 width 0.5 (torchvision\'s, 10 classes)',
    input: [3, 32, 32], classes: 10,
    build: () => sn.models.mobilenetV2({ widthMult: 0.5, numClasses: 10 }),
  },
};

/** Every name --nets takes: LeNet-5 (its own sections) and the networks above. */
export const NET_NAMES = ['lenet5', ...Object.keys(NETS)];

/** What a row's kind needs of a convolution; null for other layers. */
export function convInfo(module) {
  if (!(module instanceof sn.Conv2d)) return null;
  return { inChannels: module.inChannels, outChannels: module.outChannels, kernel: [...module.kernelSize], stride: [...module.stride], groups: module.groups };
}

/**
 * The group a per-module row is added into: the layer type, and for a convolution its kernel,
 * whether it is depthwise (groups = input channels) and its stride: 'Conv2d 3×3 depthwise stride 2'.
 * `conv` is as convInfo gives it (bench/pytorch.py writes the same fields for torch's modules).
 */
export function kindOf(type, conv) {
  if (!conv) return type;
  const [kh, kw] = conv.kernel;
  const groups = conv.groups === 1 ? '' : conv.groups === conv.inChannels ? ' depthwise' : ` groups ${conv.groups}`;
  const stride = conv.stride[0] === 1 && conv.stride[1] === 1 ? '' : ` stride ${conv.stride[0] === conv.stride[1] ? conv.stride[0] : conv.stride.join('×')}`;
  return `${type} ${kh}×${kw}${groups}${stride}`;
}
