// The simdnet commands: train, eval, predict, summary, features.
import { writeFile } from 'node:fs/promises';
import { manualSeed } from '../random.js';
import { Sequential } from '../sequential.js';
import { Optimizer } from '../optim/optimizer.js';
import { Adam, AdamW } from '../optim/adam.js';
import { SGD } from '../optim/sgd.js';
import { CosineAnnealingLR } from '../optim/lr-scheduler.js';
import { saveModel, loadModel } from '../io/model-file-node.js';
import { writeSubmissionCsv } from '../data/csv.js';
import { lossCurvesSvg } from '../plot/curves.js';
import { digitGridSvg } from '../plot/digit-grid.js';
import { featureMapsPng, featureMapsSvg } from '../plot/feature-maps.js';
import { tensor } from '../tensor.js';
import { Dataset, loadDataset } from './datasets.js';
import { anyModel, defaultOutput, newModel } from './build-model.js';
import { LEARNING_RATE, POSITIVE_INT, Parsed, SEED, UsageError, VALIDATION_SPLIT, num } from './options.js';
import { described, integer } from '../options.js';

type Values = Parsed['values'];
const log = (line = '') => process.stdout.write(`${line}\n`);
const percent = (f: number) => `${(100 * f).toFixed(2)}%`;

export async function train(v: Values): Promise<void> {
  const seed = num(v, 'seed', 0, SEED); // as manualSeed and fit take it
  const epochs = num(v, 'epochs', 10, POSITIVE_INT);
  const batchSize = num(v, 'batch-size', 64, POSITIVE_INT);
  const validationSplit = num(v, 'validation-split', 0.1, VALIDATION_SPLIT);
  const modelSpec = v.model ?? 'lenet5';
  const optimizerChoice = chooseOptimizer(v); // checked before anything is loaded
  manualSeed(seed);
  const model = await newModel(modelSpec);
  const data = await loadDataset(v.data ?? 'mnist', 'train', limitOf(v));
  if (!data.train) throw new UsageError(`--data ${v.data}: has no labels to train on`);
  const optimizer = makeOptimizer(model, optimizerChoice);
  log(`Training ${modelSpec} on ${data.name}: ${data.train.labels.length} images, ${epochs} epoch${epochs === 1 ? "" : "s"}, batch ${batchSize}, ` +
    `${v.optimizer ?? 'adam'} lr ${optimizer.lr} with cosine schedule, seed ${seed}`);
  const history = await model.fit(data.train.images, data.train.labels, {
    epochs, batchSize, optimizer, seed, validationSplit: validationSplit || undefined,
    scheduler: new CosineAnnealingLR(optimizer, { tMax: epochs }),
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
  const model = await loadModel(requireModelFile(v));
  const data = await loadDataset(v.data ?? 'mnist', 'eval', limitOf(v));
  const set = data.test ?? data.train;
  if (!set) throw new UsageError(`--data ${v.data}: has no labels to evaluate against`);
  const { loss, accuracy } = model.evaluate(set.images, set.labels);
  log(`${data.test ? 'Test' : 'Labelled'} set of ${data.name}: ${set.labels.length} images, loss ${loss.toFixed(4)}, accuracy ${percent(accuracy!)}`);
}

export async function predictCommand(v: Values): Promise<void> {
  const model = await loadModel(requireModelFile(v));
  const data = await loadDataset(v.data ?? 'mnist', 'predict', limitOf(v));
  const images = data.unlabelled ?? data.test?.images ?? data.train?.images;
  const truth = data.unlabelled ? null : (data.test ?? data.train)?.labels ?? null;
  const predicted = model.predictClasses(images!);
  const output = v.output ?? 'submission.csv';
  await writeFile(output, writeSubmissionCsv(predicted));
  log(`Wrote ${output}: ${predicted.length} predictions`);
  if (truth) log(`Accuracy against the labels: ${percent(predicted.filter((p, i) => p === truth[i]).length / predicted.length)}`);
  if (v.grid) {
    const n = Math.min(25, predicted.length);
    const [, c, h, w] = images!.shape;
    const pixels = images!.toArray().subarray(0, n * c * h * w);
    // Without true labels the grid shows the predictions as captions only.
    await writeFile(v.grid, digitGridSvg(pixels, (truth ?? predicted).subarray(0, n), predicted.subarray(0, n), { height: h, width: w }));
    log(`Wrote ${v.grid}`);
  }
}

export async function summaryCommand(v: Values): Promise<void> {
  const model = await anyModel(v.model ?? 'lenet5');
  log(String(model));
  log(model.summary([1, 28, 28]));
}

export async function featuresCommand(v: Values): Promise<void> {
  const model = await anyModel(v.model ?? 'lenet5');
  // The pictures read a chain of layers: a zoo model's file rebuilds a module of another kind.
  if (!(model instanceof Sequential)) throw new UsageError(`--model: features draws the layers of a Sequential; ${v.model} holds ${model.label()}`);
  const data = await loadDataset(v.data ?? 'mnist', 'features');
  const images = data.test?.images ?? data.unlabelled ?? data.train!.images;
  const index = num(v, 'index', 0, described(integer(0, images.shape[0] - 1), `an integer in [0, ${images.shape[0] - 1}]: there are ${images.shape[0]} images`));
  const [, c, h, w] = images.shape;
  const image = tensor(images.toArray().subarray(index * c * h * w, (index + 1) * c * h * w), [1, c, h, w]);
  const output = v.output ?? 'features.svg';
  const title = `first conv layer, test image ${index}`;
  await writeFile(output, output.endsWith('.png') ? featureMapsPng(model, image, { title }) : featureMapsSvg(model, image, { title }));
  log(`Wrote ${output}`);
}

interface OptimizerChoice { name: 'adam' | 'adamw' | 'sgd'; lr: number }

function chooseOptimizer(v: Values): OptimizerChoice {
  const name = v.optimizer ?? 'adam';
  if (name !== 'adam' && name !== 'adamw' && name !== 'sgd') throw new UsageError(`--optimizer: expected adam, adamw or sgd, got '${name}'`);
  return { name, lr: num(v, 'lr', name === 'sgd' ? 0.01 : 1e-3, LEARNING_RATE) };
}

function makeOptimizer(model: Sequential, { name, lr }: OptimizerChoice): Optimizer {
  const params = model.parameters();
  switch (name) {
    case 'adam': return new Adam(params, { lr });
    case 'adamw': return new AdamW(params, { lr });
    case 'sgd': return new SGD(params, { lr, momentum: 0.9 });
  }
}

function requireModelFile(v: Values): string {
  if (!v.model?.endsWith('.safetensors')) throw new UsageError('--model: give the trained model file, e.g. --model lenet5.safetensors');
  return v.model;
}

function limitOf(v: Values): number | undefined {
  return v.limit === undefined ? undefined : num(v, 'limit', 0, POSITIVE_INT);
}

export type { Dataset };
