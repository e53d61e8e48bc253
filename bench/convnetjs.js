// ConvNetJS (npm `convnetjs`, the JavaScript library people trained CNNs with in the browser) as a
// peer: its own CIFAR-10 demo net trained by its own Trainer, beside simdnet and PyTorch.
import { createRequire } from 'node:module';
import { measure, invert } from './stats.js';
import { inputPool } from './data.js';

const require = createRequire(import.meta.url);

/**
 * The layer definitions of ConvNetJS's CIFAR-10 demo (demo/cifar10.html in its repository):
 * 5×5 convolutions with 16, 20 and 20 filters, padding 2, ReLU, each followed by a 2×2 max-pool
 * with stride 2, then softmax over 10 classes (makeLayers puts a fully connected layer of 10 in
 * front of it). bench/nets.js convnetjsCifar builds the same network in simdnet.
 */
export const CIFAR_DEMO_LAYERS = [
  { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 },
  { type: 'conv', sx: 5, filters: 16, stride: 1, pad: 2, activation: 'relu' },
  { type: 'pool', sx: 2, stride: 2 },
  { type: 'conv', sx: 5, filters: 20, stride: 1, pad: 2, activation: 'relu' },
  { type: 'pool', sx: 2, stride: 2 },
  { type: 'conv', sx: 5, filters: 20, stride: 1, pad: 2, activation: 'relu' },
  { type: 'pool', sx: 2, stride: 2 },
  { type: 'softmax', num_classes: 10 },
];

/**
 * The trainer options of the harness: plain SGD with momentum 0.9 and lr 0.01, no weight decay,
 * the same as simdnet's and PyTorch's training step on the other networks. (The demo itself
 * trains with adadelta, batch 4 and l2_decay 1e-4; ConvNetJS applies its optimizer once per
 * batch, so that choice moves its time by well under 1% at batch 64: the forward and backward of
 * each image are the cost.)
 */
export const TRAINER_OPTIONS = { method: 'sgd', learning_rate: 0.01, momentum: 0.9, l2_decay: 0 };

/** Returns { convnetjs, version } or { error } when the package is not installed. */
export function loadConvnetjs() {
  try {
    const convnetjs = require('convnetjs');
    const { version } = require('convnetjs/package.json');
    return { convnetjs, version };
  } catch (err) {
    return { error: `ConvNetJS is not installed (${err.code ?? err.message}); npm install --save-dev --save-exact convnetjs@0.3.0` };
  }
}

/**
 * The layers of a ConvNetJS net in the terms bench/nets.js uses: [{ type, out: [C, H, W], … }]
 * (conv: kernel, filters, stride, pad; pool: size, stride). A test checks it against simdnet's
 * convnetjsCifar.
 */
export function describeNet(net) {
  return net.layers.map((l) => {
    const d = { type: l.layer_type, out: [l.out_depth, l.out_sy, l.out_sx] };
    if (l.layer_type === 'conv') Object.assign(d, { kernel: l.sx, filters: l.out_depth, stride: l.stride, pad: l.pad, inChannels: l.in_depth });
    if (l.layer_type === 'pool') Object.assign(d, { size: l.sx, stride: l.stride, pad: l.pad });
    if (l.layer_type === 'fc') Object.assign(d, { inputs: l.num_inputs, outputs: l.out_depth });
    return d;
  });
}

/** The demo net, built. */
export function cifarDemoNet(convnetjs) {
  const net = new convnetjs.Net();
  net.makeLayers(CIFAR_DEMO_LAYERS);
  return net;
}

/**
 * A ConvNetJS Vol (width × height × depth, depth fastest) of image `i` of an NCHW batch.
 * ConvNetJS indexes a Vol as ((sx·y) + x)·depth + d.
 */
export function toVol(convnetjs, x, i, [C, H, W]) {
  const v = new convnetjs.Vol(W, H, C, 0.0);
  const base = i * C * H * W;
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      for (let xx = 0; xx < W; xx++) v.w[(W * y + xx) * C + c] = x[base + (c * H + y) * W + xx];
    }
  }
  return v;
}

const imgPerSec = (batch) => (ms) => (batch * 1000) / ms;

/**
 * ConvNetJS's figures for its CIFAR-10 demo net at each of `batches`: a training step is
 * `batch` calls of Trainer.train (each a forward and backward of one image; the Trainer updates
 * the weights on every batch-th call, so once per step), inference `batch` calls of net.forward.
 * Cycles through 256 fixed-seed random images as simdnet's net throughput does. ConvNetJS takes
 * seconds per step at batch 64, so it gets few samples: 2 (3 without --quick), after one warm-up.
 * Returns { label, version, throughput: [{ batch, train, infer }] } or { label, error }.
 */
export function runConvnetjs({ batches, quick = false, loaded = loadConvnetjs() }) {
  if (loaded.error) return { label: 'ConvNetJS', error: loaded.error };
  const { convnetjs, version } = loaded;
  const shape = [3, 32, 32];
  const throughput = batches.map((batch) => {
    const net = cifarDemoNet(convnetjs);
    const trainer = new convnetjs.Trainer(net, { ...TRAINER_OPTIONS, batch_size: batch });
    const pool = inputPool(batch, Math.max(batch, 256), 3 * 32 * 32, 10)
      .map(({ x, labels }) => ({ vols: Array.from({ length: batch }, (_, i) => toVol(convnetjs, x, i, shape)), labels }));
    let i = 0;
    const timing = { warmup: 1, samples: quick ? 2 : 3, minMs: quick ? 20 : 100 };
    const train = measure(() => {
      const { vols, labels } = pool[i++ % pool.length];
      for (let k = 0; k < batch; k++) trainer.train(vols[k], labels[k]);
    }, timing);
    const infer = measure(() => {
      const { vols } = pool[i++ % pool.length];
      for (let k = 0; k < batch; k++) net.forward(vols[k], false);
    }, timing);
    return {
      batch,
      train: { ms: train, imgPerSec: invert(train, imgPerSec(batch)) },
      infer: { ms: infer, imgPerSec: invert(infer, imgPerSec(batch)) },
    };
  });
  return { label: `ConvNetJS ${version}`, version, throughput };
}
