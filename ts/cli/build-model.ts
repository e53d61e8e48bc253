// The model named by --model: a built-in architecture (lenet5, mlp, or a model of sn.models), a
// JSON architecture, or a saved model.
import { readFile } from 'node:fs/promises';
import type { Module } from '../module.js';
import { lenet5, mlp } from '../models.js';
import { ZOO_MODELS, buildZooModel, validateZooRecord } from '../models/zoo.js';
import { buildFromArchitecture } from '../io/architecture.js';
import { loadModel } from '../io/model-file-node.js';
import { UsageError } from './options.js';

/**
 * The --model values a fresh model may be, for the messages. The zoo models are sn.models'
 * builders by name, VGG-11 with BatchNorm as torchvision names it (vgg11_bn), and MobileNetV2 with
 * its width multiplier after a colon (mobilenetV2:0.5).
 */
function expectedModels(): string {
  const zoo = ZOO_MODELS.flatMap((name) => (name === 'vgg11' ? [name, 'vgg11_bn'] : [name]));
  return `lenet5, mlp, ${zoo.join(', ')} (mobilenetV2:W for width W), or an architecture .json file`;
}

/** What --model asks for, checked before any data is read; build() makes it. */
export type ModelChoice =
  | { kind: 'lenet5' | 'mlp'; spec: string }
  | { kind: 'zoo'; spec: string; builder: string; options: Record<string, number | boolean> }
  | { kind: 'json'; spec: string; json: unknown };

/**
 * Reads --model's value for a fresh model (and an architecture file's JSON); a name that is none
 * of them is a UsageError listing them.
 */
export async function chooseModel(spec: string): Promise<ModelChoice> {
  if (spec === 'lenet5' || spec === 'mlp') return { kind: spec, spec };
  if (spec.endsWith('.json')) {
    try { return { kind: 'json', spec, json: JSON.parse(await readFile(spec, 'utf8')) }; } catch (err) { throw new Error(`${spec}: ${(err as Error).message}`); }
  }
  if (spec === 'vgg11_bn') return { kind: 'zoo', spec, builder: 'vgg11', options: { batchNorm: true } };
  const width = /^mobilenetV2:(.*)$/.exec(spec);
  if (width) {
    const w = Number(width[1]);
    if (width[1].trim() === '' || !(w > 0) || !Number.isFinite(w)) {
      throw new UsageError(`--model: in mobilenetV2:W, W is the width multiplier, a number > 0 (e.g. mobilenetV2:0.5), got '${width[1]}'`);
    }
    return { kind: 'zoo', spec, builder: 'mobilenetV2', options: { widthMult: w } };
  }
  if (ZOO_MODELS.includes(spec)) return { kind: 'zoo', spec, builder: spec, options: {} };
  throw new UsageError(`--model: expected ${expectedModels()}, got '${spec}'`);
}

/** What a fresh model is made for: the data's images [C, H, W] and number of classes. */
export interface ModelFor {
  imageShape: readonly number[];
  classes: number;
}

/**
 * A fresh, untrained model, its weights drawn from the global generator. A zoo model, LeNet-5 and
 * the MLP get `classes` outputs, the MLP as many inputs as an image has values; a JSON
 * architecture is as written.
 */
export function buildModel(choice: ModelChoice, { imageShape, classes }: ModelFor): Module {
  switch (choice.kind) {
    case 'lenet5': return lenet5(classes);
    case 'mlp': return mlp(imageShape.reduce((a, b) => a * b, 1), classes);
    case 'zoo': {
      const { record } = validateZooRecord({ model: choice.builder, options: { ...choice.options, numClasses: classes } });
      return buildZooModel(record);
    }
    case 'json': return buildFromArchitecture(choice.json);
  }
}

/**
 * A trained model from a .safetensors file, or a fresh one for the other specs, made for MNIST's
 * or CIFAR-10's images (1×28×28 or 3×32×32 by what the model takes) and 10 classes.
 */
export async function anyModel(spec: string): Promise<Module> {
  if (spec.endsWith('.safetensors')) return loadModel(spec);
  const choice = await chooseModel(spec);
  // The zoo's models all take three channels; the others are first made as for MNIST.
  return buildModel(choice, { imageShape: choice.kind === 'zoo' ? [3, 32, 32] : [1, 28, 28], classes: 10 });
}

/**
 * Refuses a model that cannot take the data's images, before anything runs: the shape-only dry run
 * names the layer that refuses them (conv1 of resnet20 on MNIST's 1×28×28 images).
 */
export function checkTakes(model: Module, spec: string, imageShape: readonly number[], dataName: string): void {
  try {
    // A batch of 2, as summary's: training-mode BatchNorm refuses a single value per channel.
    model.outputShape([2, ...imageShape]);
  } catch (err) {
    throw new UsageError(`--model ${spec} cannot take the ${imageShape.join('×')} images of ${dataName}: ${(err as Error).message}`);
  }
}

/** The file name `train` saves to by default: mobilenetV2:0.5 gives mobilenetV2-0.5.safetensors. */
export function defaultOutput(spec: string): string {
  const base = spec.replace(/^.*[\\/]/, '').replace(/\.json$/, '').replace(/:/g, '-');
  return `${base}.safetensors`;
}
