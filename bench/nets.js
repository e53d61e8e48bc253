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


/**
 * A VGG-style CIFAR-10 net: 3×3 convolutions 3→32→32, max-pool, 32→64→64, max-pool, 64→128,
 * max-pool, each convolution with BatchNorm2d and ReLU, then Linear(128·4·4, 10).
 */
export function vggCifar() {
  const block = (i, o) => [new sn.Conv2d(i, o, 3, { padding: 1 }), new sn.BatchNorm2d(o), new sn.ReLU()];
  return new sn.Sequential(
    ...block(3, 32), ...block(32, 32), new sn.MaxPool2d(2),
    ...block(32, 64), ...block(64, 64), new sn.MaxPool2d(2),
    ...block(64, 128), new sn.MaxPool2d(2),
    new sn.Flatten(), new sn.Linear(128 * 4 * 4, 10));
}

/**
 * ConvNetJS's CIFAR-10 demo net: 5×5 convolutions 3→16→20→20 with padding 2, each with ReLU and a
 * 2×2 max-pool, then Linear(20·4·4, 10) (ConvNetJS's softmax layer is the loss here).
 */
export function convnetjsCifar() {
  const block = (i, o) => [new sn.Conv2d(i, o, 5, { padding: 2 }), new sn.ReLU(), new sn.MaxPool2d(2)];
  return new sn.Sequential(...block(3, 16), ...block(16, 20), ...block(20, 20), new sn.Flatten(), new sn.Linear(20 * 4 * 4, 10));
}

/**
 * Seed 003's CIFAR net ("CNN_from_scratch"): 3×3 convolutions 3→64, 64→128, max-pool, 128→128,
 * max-pool, 128→256, max-pool (shapes kept by padding 1: 32×32 → 4×4), each with ReLU, then the
 * perceptron 4096→256→64→10 with ReLUs (its last sigmoid left out: cross-entropy takes logits).
 */
export function seed003Cifar() {
  const conv = (i, o) => [new sn.Conv2d(i, o, 3, { padding: 1 }), new sn.ReLU()];
  return new sn.Sequential(
    ...conv(3, 64), ...conv(64, 128), new sn.MaxPool2d(2), ...conv(128, 128), new sn.MaxPool2d(2), ...conv(128, 256), new sn.MaxPool2d(2),
    new sn.Flatten(), new sn.Linear(4096, 256), new sn.ReLU(), new sn.Linear(256, 64), new sn.ReLU(), new sn.Linear(64, 10));
}

// The CIFAR nets of the speed targets, trained beside PyTorch when --nets names them.
Object.assign(NETS, {
  'vgg-cifar': { label: 'VGG-style CIFAR net (3×3 convs 32–128 with BatchNorm2d)', input: [3, 32, 32], classes: 10, build: vggCifar },
  'convnetjs-cifar': { label: 'ConvNetJS\'s CIFAR-10 demo net (5×5 convs 16–20)', input: [3, 32, 32], classes: 10, build: convnetjsCifar },
  'seed003-cifar': { label: 'seed 003\'s CIFAR net (3×3 convs 64–256, 4096→256→64→10)', input: [3, 32, 32], classes: 10, build: seed003Cifar },
});

/** Every name --nets takes: LeNet-5 (its own sections) and the networks above. */
export const NET_NAMES = ['lenet5', ...Object.keys(NETS)];

/** What --nets runs when not given. */
export const DEFAULT_NETS = ['lenet5', 'resnet20', 'mobilenetv2'];

/**
 * The networks whose convolutions make up the shape zoo (--zoo), in the order of its report:
 * key → { label, input: [C, H, W], build() }. The shapes are read off the built models, so a
 * network is described once.
 */
export const ZOO_NETS = {
  lenet5: { label: 'LeNet-5', input: [1, 28, 28], build: () => sn.models.lenet5() },
  'vgg-cifar': { label: 'VGG-style CIFAR net', input: [3, 32, 32], build: vggCifar },
  resnet20: { label: 'ResNet-20', input: NETS.resnet20.input, build: NETS.resnet20.build },
  mobilenetv2: { label: 'MobileNetV2 ×0.5', input: NETS.mobilenetv2.input, build: NETS.mobilenetv2.build },
  'convnetjs-cifar': { label: 'ConvNetJS CIFAR net', input: [3, 32, 32], build: convnetjsCifar },
  'seed003-cifar': { label: 'seed 003 CIFAR net', input: [3, 32, 32], build: seed003Cifar },
};

/** What a row's kind needs of a convolution; null for other layers. */
export function convInfo(module) {
  if (!(module instanceof sn.Conv2d)) return null;
  return { inChannels: module.inChannels, outChannels: module.outChannels, kernel: [...module.kernelSize], stride: [...module.stride], groups: module.groups };
}

/**
 * The kind (kindOf) of a model.profile row named `name` ('Conv2d', 'sn.add', 'Conv2d+ReLU') at
 * module path `path` ('2', '2+3'), `modules` the model's namedModules() as a Map. A convolution or
 * Linear fused with the layers after it (an activation; in eval a BatchNorm2d and its activation:
 * 'Conv2d+BatchNorm2d+ReLU') counts as the first layer's kind: PyTorch runs those as passes of
 * their own in rows of their own, so by kind the fusion's saving shows under BatchNorm2d and ReLU.
 * A BatchNorm fused with its activation keeps the fused name as its kind.
 */
export function profileRowKind(name, path, modules) {
  if (/^sn\./.test(name)) return name;
  const first = /^(Conv2d|Linear)\+/.exec(name);
  if (first) return kindOf(first[1], convInfo(modules.get(path.split('+')[0])));
  return kindOf(name, convInfo(modules.get(path)));
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
