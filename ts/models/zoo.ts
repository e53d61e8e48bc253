// The model zoo's builders (sn.models.resnet18, ...) and what a model file records of a model one
// of them built: { model: 'resnet20', options: { numClasses: 10 } }. A record read from a file is
// untrusted: its name is looked up in a Map of the builders and its options go through the same
// checks as a caller's, so a file can only ever call a builder with valid options.
import { Module } from '../module.js';
import { boolean, checkOptions, describe, described, finite, integer } from '../options.js';
import type { Spec } from '../options.js';
import { isPlainObject } from '../describe.js';
import { WASM32_MAX_BYTES, mib } from '../runtime/heap.js';
import { ResNet, resnetValues } from './resnet.js';
import { CifarResNet, cifarResnetValues } from './cifar-resnet.js';
import { MobileNetV2, mobilenetV2Values } from './mobilenet-v2.js';
import { VGG, vgg11Values } from './vgg.js';
import type { ResNetOptions } from './resnet.js';
import type { CifarResNetOptions } from './cifar-resnet.js';
import type { MobileNetV2Options } from './mobilenet-v2.js';
import type { VGGOptions } from './vgg.js';

/** What a model file records of a zoo model: the builder's name and its options, defaults filled in. */
export interface ZooRecord {
  /** The builder's name: 'resnet18', 'resnet34', 'resnet20', 'resnet32', 'resnet56', 'mobilenetV2' or 'vgg11'. */
  model: string;
  /** Every option of that builder, e.g. { numClasses: 10 }. */
  options: Record<string, number | boolean>;
}

type Options = Record<string, number | boolean>;

/** A builder: its options (rules and defaults), how it builds, and how many state values the result holds. */
interface ZooEntry {
  readonly spec: Spec;
  readonly defaults: Options;
  build(o: Options): Module;
  stateValues(o: Options): number;
}

const classes = described(integer(1), 'a positive integer');
/** Above 0; past about 4 the network outgrows the memory long before the numbers stop being exact. */
const width = finite({ min: 0, minOpen: true });

// A plain object (looked up with Object.hasOwn, so a file's 'constructor' or '__proto__' finds
// nothing) written out entry by entry: module evaluation computes nothing (no calls), so bundlers
// may drop the zoo from apps that never use it (tests/package.test.js checks the sideEffects list).
const cifar = { spec: { numClasses: classes }, defaults: { numClasses: 10 } };
const ENTRIES: Readonly<Record<string, ZooEntry>> = {
  resnet18: {
    spec: { numClasses: classes }, defaults: { numClasses: 1000 },
    build: (o) => new ResNet([2, 2, 2, 2], o.numClasses as number),
    stateValues: (o) => resnetValues([2, 2, 2, 2], o.numClasses as number),
  },
  resnet34: {
    spec: { numClasses: classes }, defaults: { numClasses: 1000 },
    build: (o) => new ResNet([3, 4, 6, 3], o.numClasses as number),
    stateValues: (o) => resnetValues([3, 4, 6, 3], o.numClasses as number),
  },
  resnet20: { ...cifar, build: (o) => new CifarResNet(3, o.numClasses as number), stateValues: (o) => cifarResnetValues(3, o.numClasses as number) },
  resnet32: { ...cifar, build: (o) => new CifarResNet(5, o.numClasses as number), stateValues: (o) => cifarResnetValues(5, o.numClasses as number) },
  resnet56: { ...cifar, build: (o) => new CifarResNet(9, o.numClasses as number), stateValues: (o) => cifarResnetValues(9, o.numClasses as number) },
  mobilenetV2: {
    spec: { numClasses: classes, widthMult: width }, defaults: { numClasses: 1000, widthMult: 1 },
    build: (o) => new MobileNetV2(o.numClasses as number, o.widthMult as number),
    stateValues: (o) => mobilenetV2Values(o.numClasses as number, o.widthMult as number),
  },
  vgg11: {
    spec: { batchNorm: boolean, numClasses: classes }, defaults: { batchNorm: false, numClasses: 1000 },
    build: (o) => new VGG(o.batchNorm as boolean, o.numClasses as number),
    stateValues: (o) => vgg11Values(o.batchNorm as boolean, o.numClasses as number),
  },
};

/** The builders' names, in sn.models: what a file's record may name. */
export const ZOO_MODELS: readonly string[] = Object.freeze(Object.keys(ENTRIES));

/** The options of `name` checked (an Error names the builder and the option) and completed with the defaults. */
function completeOptions(name: string, options: unknown): Options {
  const entry = ENTRIES[name];
  const where = `sn.models.${name}`;
  checkOptions(where, options, entry.spec);
  const out: Options = { ...entry.defaults };
  for (const key of Object.keys(entry.spec)) {
    const v = (options as Record<string, unknown> | undefined)?.[key];
    if (v !== undefined) out[key] = v as number | boolean;
  }
  return out;
}

// ---- which models a builder made, and whether they are still what it made ----

/** What the builder made: its record, and the state dict's names and shapes then. */
interface Made { record: ZooRecord; modules: number; state: string }

const made = new WeakMap<Module, Made>();
/** Each module of a zoo model: the model and its path there when built. */
const placed = new WeakMap<Module, [Module, string]>();

const stateLayout = (model: Module): string =>
  Object.entries(model.stateDict()).map(([name, t]) => `${name}[${t.shape.join(',')}]`).join(' ');

/**
 * Builds `name` with checked options and remembers what it built, for files. Options that make a
 * model wasm32 cannot hold (mobilenetV2 with widthMult 16, or numClasses 10⁹) are refused before
 * anything is allocated: building would first grow the memory, which never shrinks, to its limit.
 * Weights take 8 bytes a value with their gradients, BatchNorm's running statistics 4 (a small
 * part of any zoo model), so 8 bytes a state value is the model's size to within that part.
 */
function make(name: string, options: unknown): Module {
  const o = completeOptions(name, options);
  const entry = ENTRIES[name];
  const values = entry.stateValues(o);
  if (!(values * 8 <= WASM32_MAX_BYTES)) {
    const size = Number.isFinite(values) ? `${values.toLocaleString('en-US')} weight and buffer values, ${mib(values * 8)} with the gradients` : 'more weights than can be counted';
    throw new Error(`sn.models.${name}: the options ${JSON.stringify(o)} make a model of ${size}, more than the ${mib(WASM32_MAX_BYTES)} a wasm memory can hold`);
  }
  const model = entry.build(o);
  const modules = model.namedModules();
  for (const [path, m] of modules) placed.set(m, [model, path]);
  made.set(model, { record: { model: name, options: o }, modules: modules.length, state: stateLayout(model) });
  return model;
}

/**
 * The record for a model file when `model` is as a zoo builder made it: the same modules at the
 * same paths (none replaced, added or removed: `model.fc = new sn.Linear(512, 5)` makes it a
 * model of your own) and the same state-dict names and shapes; null otherwise.
 */
export function zooRecordOf(model: Module): ZooRecord | null {
  const m = made.get(model);
  if (!m) return null;
  const modules = model.namedModules();
  if (modules.length !== m.modules) return null;
  for (const [path, module] of modules) {
    const at = placed.get(module);
    if (!at || at[0] !== model || at[1] !== path) return null;
  }
  if (stateLayout(model) !== m.state) return null;
  return { model: m.record.model, options: { ...m.record.options } };
}

/**
 * Checks an untrusted record (e.g. JSON.parse of a file's metadata): an object { model, options }
 * naming a builder, with options that builder takes. Returns the record with every option filled
 * in, and how many state-dict values the model holds (worked out without building it), or throws
 * an Error naming what is wrong.
 */
export function validateZooRecord(v: unknown): { record: ZooRecord; stateValues: number } {
  const fail = (msg: string): never => { throw new Error(`zoo model record: ${msg}`); };
  if (!isPlainObject(v)) fail(`expected an object { model, options }, got ${describe(v)}`);
  const obj = v as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (key !== 'model' && key !== 'options') fail(`unexpected field ${describe(key)} (expected model, options)`);
  }
  const name = Object.hasOwn(obj, 'model') ? obj.model : undefined;
  if (typeof name !== 'string' || !Object.hasOwn(ENTRIES, name)) fail(`"model" must be one of ${ZOO_MODELS.join(', ')}, got ${describe(name)}`);
  const given = Object.hasOwn(obj, 'options') ? obj.options : undefined;
  if (!isPlainObject(given)) fail(`"options" must be an object, got ${describe(given)}`);
  const options = completeOptions(name as string, given);
  const stateValues = ENTRIES[name as string].stateValues(options);
  return { record: { model: name as string, options }, stateValues };
}

/** A new model from a record that validateZooRecord() returned. */
export function buildZooModel(record: ZooRecord): Module {
  return make(record.model, record.options);
}

// ---- the builders ----

/**
 * ResNet-18 as torchvision.models.resnet18 (weights=None): the same modules and state-dict names,
 * so torchvision's weights load (`sn.load(file, { into: model })` on a safetensors file of its
 * state_dict), and torchvision's initialisation, drawn from sn.manualSeed's generator.
 * 11,689,512 parameters with 1000 classes. See {@link ResNet}.
 *
 * @param options numClasses (default 1000).
 * @throws Error naming the option that is not valid.
 *
 * @example
 * ```js
 * sn.manualSeed(0);
 * const model = sn.models.resnet18({ numClasses: 10 });
 * model.forward(sn.tensor(new Float32Array(2 * 3 * 64 * 64), [2, 3, 64, 64])).shape;   // [2, 10]
 * await model.save('resnet18.safetensors');       // sn.load('resnet18.safetensors') rebuilds it
 * ```
 */
export function resnet18(options: ResNetOptions = {}): ResNet { return make('resnet18', options) as ResNet; }

/** ResNet-34 as torchvision.models.resnet34: 3, 4, 6 and 3 blocks per stage, 21,797,672 parameters with 1000 classes; otherwise as {@link resnet18}. */
export function resnet34(options: ResNetOptions = {}): ResNet { return make('resnet34', options) as ResNet; }

/**
 * ResNet-20 for CIFAR-10 (He et al. 2015, section 4.2: 3 blocks per stage, 16/32/64 channels)
 * with option B shortcuts (1×1 projections where the shape changes), 272,474 parameters with
 * 10 classes. See {@link CifarResNet}.
 *
 * @param options numClasses (default 10).
 *
 * @example
 * ```js
 * const model = sn.models.resnet20();
 * await model.fit(images, labels, { epochs: 30, batchSize: 128,
 *   transforms: [sn.transforms.randomCrop(32, { padding: 4 }), sn.transforms.randomHorizontalFlip()] });
 * ```
 */
export function resnet20(options: CifarResNetOptions = {}): CifarResNet { return make('resnet20', options) as CifarResNet; }

/** ResNet-32 for CIFAR-10: 5 blocks per stage, 466,906 parameters with 10 classes; otherwise as {@link resnet20}. */
export function resnet32(options: CifarResNetOptions = {}): CifarResNet { return make('resnet32', options) as CifarResNet; }

/** ResNet-56 for CIFAR-10: 9 blocks per stage, 855,770 parameters with 10 classes; otherwise as {@link resnet20}. */
export function resnet56(options: CifarResNetOptions = {}): CifarResNet { return make('resnet56', options) as CifarResNet; }

/**
 * MobileNetV2 as torchvision.models.mobilenet_v2 (weights=None), with its width multiplier:
 * torchvision's modules, state-dict names, channel rounding and initialisation. 3,504,872
 * parameters with 1000 classes and width 1. See {@link MobileNetV2}.
 *
 * @param options numClasses (default 1000), widthMult (default 1).
 *
 * @example
 * ```js
 * const model = sn.models.mobilenetV2({ numClasses: 10, widthMult: 0.5 });
 * console.log(model.summary([3, 32, 32]));
 * ```
 */
export function mobilenetV2(options: MobileNetV2Options = {}): MobileNetV2 { return make('mobilenetV2', options) as MobileNetV2; }

/**
 * VGG-11 as torchvision.models.vgg11, or vgg11_bn with `batchNorm: true` (weights=None):
 * torchvision's modules, state-dict names and initialisation. 132,863,336 parameters with 1000
 * classes (132,868,840 with BatchNorm): a model and its gradients take about 1.1 GB of wasm
 * memory. See {@link VGG}.
 *
 * @param options batchNorm (default false), numClasses (default 1000).
 */
export function vgg11(options: VGGOptions = {}): VGG { return make('vgg11', options) as VGG; }
