// The simdnet commands: train, eval, predict, summary, features, export.
import { writeFile } from 'node:fs/promises';
import { manualSeed } from '../random.js';
import { Sequential } from '../sequential.js';
import type { Module } from '../module.js';
import { Conv2d } from '../layers/conv2d.js';
import { Optimizer } from '../optim/optimizer.js';
import { Adam, AdamW } from '../optim/adam.js';
import { SGD } from '../optim/sgd.js';
import { CosineAnnealingLR } from '../optim/lr-scheduler.js';
import { saveModel, loadModel } from '../io/model-file-node.js';
import { writeSubmissionCsv } from '../data/csv.js';
import { lossCurvesSvg } from '../plot/curves.js';
import { digitGridSvg } from '../plot/digit-grid.js';
import { featureMapsPng, featureMapsSvg } from '../plot/feature-maps.js';
import { Tensor, tensor } from '../tensor.js';
import { Transform } from '../transforms/transform.js';
import { randomCrop } from '../transforms/random-crop.js';
import { randomHorizontalFlip } from '../transforms/random-horizontal-flip.js';
import { Dataset, loadDataset } from './datasets.js';
import { ModelChoice, anyModel, buildModel, checkTakes, chooseModel, defaultOutput } from './build-model.js';
import { LEARNING_RATE, POSITIVE_INT, Parsed, SEED, UsageError, VALIDATION_SPLIT, WEIGHT_DECAY, num } from './options.js';
import { described, integer } from '../options.js';

type Values = Parsed['values'];
const log = (line = '') => process.stdout.write(`${line}\n`);
const percent = (f: number) => `${(100 * f).toFixed(2)}%`;

export async function train(v: Values): Promise<void> {
  // Every option is checked before anything is loaded.
  const seed = num(v, 'seed', 0, SEED); // as manualSeed and fit take it
  const modelSpec = v.model ?? 'lenet5';
  const choice = await chooseModel(modelSpec);
  const zoo = choice.kind === 'zoo';
  const epochs = num(v, 'epochs', 10, POSITIVE_INT);
  const batchSize = num(v, 'batch-size', zoo ? 128 : 64, POSITIVE_INT);
  const validationSplit = num(v, 'validation-split', 0.1, VALIDATION_SPLIT);
  const optimizerChoice = chooseOptimizer(v, choice);
  const dataSpec = v.data ?? 'mnist';
  const augment = chooseAugment(v, dataSpec);
  manualSeed(seed);
  const data = await loadDataset(dataSpec, 'train', limitOf(v));
  if (!data.train) throw new UsageError(`--data ${v.data}: has no labels to train on`);
  // Made once the data says what the images and classes are; drawing the initial weights is
  // the first use of the generator, as before the data was read.
  const model = buildModel(choice, data);
  checkTakes(model, modelSpec, data.imageShape, data.name);
  const optimizer = makeOptimizer(model, optimizerChoice);
  const transforms = augmentations(augment, data.imageShape);
  log(`Training ${modelSpec} on ${data.name}: ${data.train.labels.length} images, ${epochs} epoch${epochs === 1 ? "" : "s"}, batch ${batchSize}, ` +
    `${optimizerChoice.name} lr ${optimizer.lr}${optimizerChoice.weightDecay === undefined ? '' : ` weight decay ${optimizerChoice.weightDecay}`} ` +
    `with cosine schedule, seed ${seed}${transforms.length ? `, augmented: ${transforms.join(', ')}` : ''}`);
  const history = await model.fit(data.train.images, data.train.labels, {
    epochs, batchSize, optimizer, seed, validationSplit: validationSplit || undefined,
    scheduler: new CosineAnnealingLR(optimizer, { tMax: epochs }),
    ...(transforms.length ? { transforms } : {}),
  });
  const output = v.output ?? defaultOutput(modelSpec);
  await saveModel(model, output);
  log(`Saved ${output}`);
  if (v.plot) { await writeFile(v.plot, lossCurvesSvg(history, { title: `${modelSpec} on ${data.name}` })); log(`Wrote ${v.plot}`); }
  if (data.test) {
    const { accuracy } = model.evaluate(data.test.images, data.test.labels);
    log(`Test accuracy: ${percent(accuracy!)} (${Math.round(accuracy! * data.test.labels.length)}/${data.test.labels.length})`);
  } else if (history.valAccuracy.length) {
    log(`Validation accuracy: ${percent(history.valAccuracy.at(-1)!)} (the data has no separate test set)`);
  }
}

export async function evaluateCommand(v: Values): Promise<void> {
  const file = requireModelFile(v);
  const model = await loadModel(file);
  const data = await loadDataset(v.data ?? 'mnist', 'eval', limitOf(v));
  const set = data.test ?? data.train;
  if (!set) throw new UsageError(`--data ${v.data}: has no labels to evaluate against`);
  checkTakes(model, file, data.imageShape, data.name);
  const { loss, accuracy } = model.evaluate(set.images, set.labels);
  log(`${data.test ? 'Test' : 'Labelled'} set of ${data.name}: ${set.labels.length} images, loss ${loss.toFixed(4)}, accuracy ${percent(accuracy!)}`);
}

export async function predictCommand(v: Values): Promise<void> {
  const file = requireModelFile(v);
  const model = await loadModel(file);
  const data = await loadDataset(v.data ?? 'mnist', 'predict', limitOf(v));
  checkTakes(model, file, data.imageShape, data.name);
  const images = data.unlabelled ?? data.test?.images ?? data.train?.images;
  const truth = data.unlabelled ? null : (data.test ?? data.train)?.labels ?? null;
  const predicted = model.predictClasses(images!);
  const output = v.output ?? 'submission.csv';
  await writeFile(output, writeSubmissionCsv(predicted));
  log(`Wrote ${output}: ${predicted.length} predictions`);
  if (truth) log(`Accuracy against the labels: ${percent(predicted.filter((p, i) => p === truth[i]).length / predicted.length)}`);
  if (v.grid) {
    const n = Math.min(25, predicted.length);
    const [, , h, w] = images!.shape;
    // Without true labels the grid shows the predictions as captions only.
    await writeFile(v.grid, digitGridSvg(grayImages(images!, n), (truth ?? predicted).subarray(0, n), predicted.subarray(0, n), { height: h, width: w }));
    log(`Wrote ${v.grid}`);
  }
}

export async function summaryCommand(v: Values): Promise<void> {
  const spec = v.model ?? 'lenet5';
  const model = await anyModel(spec);
  const shape = summaryShape(model, spec);
  log(String(model));
  log(model.summary(shape));
}

export async function exportCommand(v: Values): Promise<void> {
  // The options are checked before the model is read.
  const opset = num(v, 'opset', 17, OPSET);
  const given = v['input-shape'] === undefined ? undefined : inputShapeOf(v['input-shape']);
  const spec = v.model ?? 'lenet5';
  const model = await anyModel(spec);
  const inputShape = given ?? summaryShape(model, spec, ' (give --input-shape)');
  model.eval();
  // lenet5.safetensors, lenet5.json and lenet5 all give lenet5.onnx.
  const output = v.output ?? `${spec.replace(/^.*[\\/]/, '').replace(/\.(json|safetensors)$/, '').replace(/:/g, '-')}.onnx`;
  await model.saveOnnx(output, { inputShape, opset });
  log(`Wrote ${output}: ${model.label()} for input [N, ${inputShape.join(', ')}], opset ${opset}`);
}

const OPSET = described(integer(13, 21), 'an integer from 13 to 21');

/** --input-shape C,H,W (any number of dimensions): positive integers separated by commas. */
function inputShapeOf(raw: string): number[] {
  const dims = raw.split(',').map((d) => (/^\s*\d+\s*$/.test(d) ? Number(d) : NaN));
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 1) || dims.length > 8) {
    throw new UsageError(`--input-shape: invalid value '${raw}' (expected one sample's shape without the batch dimension, 1 to 8 positive integers separated by commas, e.g. 1,28,28)`);
  }
  return dims;
}

/** MNIST's 1×28×28 when the model takes it (LeNet-5, the MLP), else CIFAR-10's 3×32×32 (the zoo models). */
function summaryShape(model: Module, spec: string, hint = ''): number[] {
  const messages: string[] = [];
  for (const shape of [[1, 28, 28], [3, 32, 32]]) {
    try {
      model.outputShape([2, ...shape]);
      return shape;
    } catch (err) {
      messages.push(`${shape.join('×')}: ${(err as Error).message}`);
    }
  }
  throw new UsageError(`--model ${spec} takes neither MNIST's nor CIFAR-10's images (${messages.join('; ')})${hint}`);
}

export async function featuresCommand(v: Values): Promise<void> {
  const spec = v.model ?? 'lenet5';
  const model = await anyModel(spec);
  const { drawn, what } = layersToDraw(model, spec);
  const data = await loadDataset(v.data ?? 'mnist', 'features');
  checkTakes(model, spec, data.imageShape, data.name);
  const images = data.test?.images ?? data.unlabelled ?? data.train!.images;
  const index = num(v, 'index', 0, described(integer(0, images.shape[0] - 1), `an integer in [0, ${images.shape[0] - 1}]: there are ${images.shape[0]} images`));
  const [, c, h, w] = images.shape;
  const image = tensor(images.toArray().subarray(index * c * h * w, (index + 1) * c * h * w), [1, c, h, w]);
  const output = v.output ?? 'features.svg';
  const title = `${what}, test image ${index}`;
  await writeFile(output, output.endsWith('.png') ? featureMapsPng(drawn, image, { title }) : featureMapsSvg(drawn, image, { title }));
  log(`Wrote ${output}`);
}

/**
 * The chain of layers the feature maps run: a Sequential's own, or for another model (a zoo
 * model) a copy of its first convolution, the stem that sees the image, and a title saying which.
 */
function layersToDraw(model: Module, spec: string): { drawn: Sequential; what: string } {
  if (model instanceof Sequential) return { drawn: model, what: 'first conv layer' };
  const found = model.namedModules().find(([, m]) => m instanceof Conv2d);
  if (!found) throw new UsageError(`--model ${spec}: features draws a convolution's output, and ${model.label()} holds no Conv2d`);
  const [path, conv] = found as [string, Conv2d];
  const copy = new Conv2d(conv.inChannels, conv.outChannels, conv.kernelSize,
    { stride: conv.stride, padding: conv.padding, dilation: conv.dilation, groups: conv.groups, bias: conv.bias !== null });
  copy.loadStateDict(conv.stateDict());
  return { drawn: new Sequential(copy), what: `${path} of ${model.label()}` };
}

/** The first `n` images as N·H·W gray values (a colour image the mean of its channels), for the grid. */
function grayImages(images: Tensor, n: number): Float32Array {
  const [, c, h, w] = images.shape, plane = h * w;
  const all = images.toArray();
  if (c === 1) return all.subarray(0, n * plane);
  const gray = new Float32Array(n * plane);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const from = (i * c + ch) * plane;
      for (let p = 0; p < plane; p++) gray[i * plane + p] += all[from + p] / c;
    }
  }
  return gray;
}

interface OptimizerChoice { name: 'adam' | 'adamw' | 'sgd'; lr: number; weightDecay: number | undefined }

/**
 * The optimizer, its learning rate and weight decay. The zoo models default to the CIFAR ResNet
 * recipe of He et al. (2016): SGD with momentum 0.9, lr 0.1, weight decay 1e-4, except VGG at
 * lr 0.01 (torchvision's recipe: without BatchNorm, 0.1 diverges).
 */
function chooseOptimizer(v: Values, model: ModelChoice): OptimizerChoice {
  const zoo = model.kind === 'zoo';
  const name = v.optimizer ?? (zoo ? 'sgd' : 'adam');
  if (name !== 'adam' && name !== 'adamw' && name !== 'sgd') throw new UsageError(`--optimizer: expected adam, adamw or sgd, got '${name}'`);
  const sgdLr = !zoo ? 0.01 : model.builder === 'vgg11' ? 0.01 : 0.1;
  const lr = num(v, 'lr', name === 'sgd' ? sgdLr : 1e-3, LEARNING_RATE);
  const weightDecay = v['weight-decay'] === undefined ? (zoo ? 1e-4 : undefined) : num(v, 'weight-decay', 0, WEIGHT_DECAY);
  return { name, lr, weightDecay };
}

function makeOptimizer(model: Module, { name, lr, weightDecay }: OptimizerChoice): Optimizer {
  const params = model.parameters();
  // Without --weight-decay the optimizer keeps its own default (AdamW's 0.01).
  const decay = weightDecay === undefined ? {} : { weightDecay };
  switch (name) {
    case 'adam': return new Adam(params, { lr, ...decay });
    case 'adamw': return new AdamW(params, { lr, ...decay });
    case 'sgd': return new SGD(params, { lr, momentum: 0.9, ...decay });
  }
}

type Augmentation = 'crop' | 'flip';

/** --augment: none, or crop and flip in the order given; crop,flip for CIFAR-10 by default. */
function chooseAugment(v: Values, dataSpec: string): Augmentation[] {
  const value = v.augment ?? (dataSpec.startsWith('cifar:') ? 'crop,flip' : 'none');
  if (value === 'none') return [];
  const list = value.split(',');
  if (list.some((a) => a !== 'crop' && a !== 'flip') || new Set(list).size !== list.length) {
    throw new UsageError(`--augment: expected none, or crop and/or flip separated by a comma (e.g. crop,flip), got '${value}'`);
  }
  return list as Augmentation[];
}

/** The transforms: crop pads 4 zeros around the image and crops it back to its size, flip mirrors half the images. */
function augmentations(list: Augmentation[], imageShape: readonly number[]): Transform[] {
  const [h, w] = imageShape.slice(-2);
  return list.map((a) => (a === 'crop' ? randomCrop([h, w], { padding: 4 }) : randomHorizontalFlip()));
}

function requireModelFile(v: Values): string {
  if (!v.model?.endsWith('.safetensors')) throw new UsageError('--model: give the trained model file, e.g. --model lenet5.safetensors');
  return v.model;
}

function limitOf(v: Values): number | undefined {
  return v.limit === undefined ? undefined : num(v, 'limit', 0, POSITIVE_INT);
}

export type { Dataset };
