// A Sequential's architecture as plain JSON, so a saved file can rebuild the model it came from:
// { format: 'simdnet.sequential', version: 1, layers: [{ type: 'Conv2d', inChannels: 1, ... }] }.
// A spec read from a file is untrusted: it is checked field by field against a fixed table of
// layer types and only ever turns into calls of those constructors, never into code.
import { Module } from '../module.js';
import { describe as describeValue } from '../options.js';
import { Sequential } from '../sequential.js';
import { AdaptiveAvgPool2d } from '../layers/adaptive-avgpool2d.js';
import { AvgPool2d } from '../layers/avgpool2d.js';
import { BatchNorm1d, BatchNorm2d } from '../layers/batchnorm.js';
import { Conv2d } from '../layers/conv2d.js';
import { Dropout } from '../layers/dropout.js';
import { Flatten } from '../layers/flatten.js';
import { LeakyReLU } from '../layers/leaky-relu.js';
import { Linear } from '../layers/linear.js';
import { MaxPool2d } from '../layers/maxpool2d.js';
import { ReLU } from '../layers/relu.js';
import { Sigmoid } from '../layers/sigmoid.js';
import { LogSoftmax, Softmax } from '../layers/softmax.js';
import { Tanh } from '../layers/tanh.js';
import { preview as describe, quoteName } from './untrusted.js';

/** The `format` of an architecture spec. */
export const ARCHITECTURE_FORMAT = 'simdnet.sequential';
/** The `version` of the architecture spec format this library writes and reads. */
export const ARCHITECTURE_VERSION = 1;

/** One layer: its registered type name and its constructor arguments (see each layer's config()). */
export interface LayerSpec {
  /** The layer type, one of LAYER_TYPES: 'Conv2d', 'ReLU', 'Sequential' (with a `layers` field), ... */
  type: string;
  /** The constructor arguments by name, e.g. inChannels, outChannels, kernelSize for a Conv2d. */
  [field: string]: unknown;
}

/**
 * A Sequential's architecture as plain JSON, as saved files keep it in their metadata:
 * `{ format: 'simdnet.sequential', version: 1, layers: [{ type: 'Conv2d', inChannels: 1, ... }, ...] }`.
 */
export interface ArchitectureSpec {
  /** Always 'simdnet.sequential'. */
  format: typeof ARCHITECTURE_FORMAT;
  /** The spec format's version, 1. */
  version: typeof ARCHITECTURE_VERSION;
  /** The layers in order. */
  layers: LayerSpec[];
}

// Far beyond any real CNN (ResNet-152 has about 500 modules); they keep a hostile spec from
// building a huge number of modules (Sequential.add checks the whole model each time, so n
// layers cost n^2) or from recursing until the stack overflows.
const MAX_DEPTH = 32;
const MAX_LAYERS = 10_000;

type Size2 = number | [number, number];
type FieldKind = 'int' | 'intOrNull' | 'number' | 'numberOrNull' | 'bool' | 'size2' | 'convPadding';

// The values a layer's build() receives have passed their FieldKind checks.
type Config = Record<string, any>;

interface LayerType {
  /** The exact class: a subclass may behave differently, so it is not saved as its base. */
  ctor: abstract new (...args: never[]) => Module;
  fields: Record<string, FieldKind>;
  build(c: Config): Module;
  /** How many state-dict values the layer holds, to refuse a spec far bigger than its file. */
  stateValues?(c: Config): number;
}

const pair = (v: Size2): [number, number] => (typeof v === 'number' ? [v, v] : v);
// Out-of-range values count as nothing here: the constructor refuses them with a better message.
const pos = (x: number): number => Math.max(x, 0);
const batchNormFields: Record<string, FieldKind> = { numFeatures: 'int', eps: 'number', momentum: 'numberOrNull', affine: 'bool', trackRunningStats: 'bool' };
const batchNormValues = (c: Config): number => (c.affine ? 2 * pos(c.numFeatures) : 0) + (c.trackRunningStats ? 2 * pos(c.numFeatures) + 1 : 0);
const batchNormOptions = (c: Config) => ({ eps: c.eps, momentum: c.momentum, affine: c.affine, trackRunningStats: c.trackRunningStats });
const noFields: Record<string, FieldKind> = {};

// Names are spelled out rather than taken from constructor.name, which minifiers rename.
const REGISTRY = new Map<string, LayerType>([
  ['Conv2d', {
    ctor: Conv2d,
    fields: { inChannels: 'int', outChannels: 'int', kernelSize: 'size2', stride: 'size2', padding: 'convPadding', dilation: 'size2', groups: 'int', bias: 'bool' },
    build: (c) => new Conv2d(c.inChannels, c.outChannels, c.kernelSize, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, bias: c.bias }),
    stateValues: (c) => {
      const [kh, kw] = pair(c.kernelSize);
      return pos(c.outChannels) * (pos(c.inChannels) / Math.max(c.groups, 1)) * pos(kh) * pos(kw) + (c.bias ? pos(c.outChannels) : 0);
    },
  }],
  ['Linear', {
    ctor: Linear,
    fields: { inFeatures: 'int', outFeatures: 'int', bias: 'bool' },
    build: (c) => new Linear(c.inFeatures, c.outFeatures, { bias: c.bias }),
    stateValues: (c) => pos(c.outFeatures) * pos(c.inFeatures) + (c.bias ? pos(c.outFeatures) : 0),
  }],
  ['BatchNorm1d', { ctor: BatchNorm1d, fields: batchNormFields, build: (c) => new BatchNorm1d(c.numFeatures, batchNormOptions(c)), stateValues: batchNormValues }],
  ['BatchNorm2d', { ctor: BatchNorm2d, fields: batchNormFields, build: (c) => new BatchNorm2d(c.numFeatures, batchNormOptions(c)), stateValues: batchNormValues }],
  ['MaxPool2d', {
    ctor: MaxPool2d,
    fields: { kernelSize: 'size2', stride: 'size2', padding: 'size2', dilation: 'size2', ceilMode: 'bool' },
    build: (c) => new MaxPool2d(c.kernelSize, { stride: c.stride, padding: c.padding, dilation: c.dilation, ceilMode: c.ceilMode }),
  }],
  ['AvgPool2d', {
    ctor: AvgPool2d,
    fields: { kernelSize: 'size2', stride: 'size2', padding: 'size2', ceilMode: 'bool', countIncludePad: 'bool', divisorOverride: 'intOrNull' },
    build: (c) => new AvgPool2d(c.kernelSize, {
      stride: c.stride, padding: c.padding, ceilMode: c.ceilMode, countIncludePad: c.countIncludePad, divisorOverride: c.divisorOverride ?? undefined,
    }),
  }],
  ['AdaptiveAvgPool2d', { ctor: AdaptiveAvgPool2d, fields: { outputSize: 'size2' }, build: (c) => new AdaptiveAvgPool2d(c.outputSize) }],
  ['Flatten', { ctor: Flatten, fields: { startDim: 'int', endDim: 'int' }, build: (c) => new Flatten(c.startDim, c.endDim) }],
  ['Dropout', { ctor: Dropout, fields: { p: 'number' }, build: (c) => new Dropout(c.p) }],
  ['ReLU', { ctor: ReLU, fields: noFields, build: () => new ReLU() }],
  ['LeakyReLU', { ctor: LeakyReLU, fields: { negativeSlope: 'number' }, build: (c) => new LeakyReLU(c.negativeSlope) }],
  ['Sigmoid', { ctor: Sigmoid, fields: noFields, build: () => new Sigmoid() }],
  ['Tanh', { ctor: Tanh, fields: noFields, build: () => new Tanh() }],
  ['Softmax', { ctor: Softmax, fields: { dim: 'int' }, build: (c) => new Softmax(c.dim) }],
  ['LogSoftmax', { ctor: LogSoftmax, fields: { dim: 'int' }, build: (c) => new LogSoftmax(c.dim) }],
]);

/** The type names a spec may use (Sequential included, for nesting). */
export const LAYER_TYPES: readonly string[] = Object.freeze(['Sequential', ...REGISTRY.keys()]);

/**
 * The architecture of `model` as a JSON-able spec. Throws if a layer is not one of the built-in
 * types (a custom Module or a subclass): a file could not rebuild it.
 */
export function architectureOf(model: Sequential): ArchitectureSpec {
  if (!isExactly(model, Sequential)) {
    throw new Error(`architectureOf: expected a Sequential, got ${describeModule(model)}`);
  }
  const spec: ArchitectureSpec = { format: ARCHITECTURE_FORMAT, version: ARCHITECTURE_VERSION, layers: layersOf(model, '', 0) };
  // Checked as a loader would, so a model whose spec could not be read back is never saved.
  validateArchitecture(spec);
  return spec;
}

function layersOf(seq: Sequential, prefix: string, depth: number): LayerSpec[] {
  // Also stops a Sequential that contains itself.
  if (depth >= MAX_DEPTH) throw new Error(`architectureOf: Sequential nested more than ${MAX_DEPTH} deep at layer ${prefix.slice(0, -1)}`);
  return seq.children().map(([name, layer]) => {
    const type = layerTypeOf(layer);
    if (type === 'Sequential') return { type, layers: layersOf(layer as Sequential, `${prefix}${name}.`, depth + 1) };
    if (type !== null) return { type, ...(layer as unknown as { config(): Record<string, unknown> }).config() };
    throw new Error(`architectureOf: layer ${prefix}${name} ${describeModule(layer)} is not a built-in layer type ` +
      `(${LAYER_TYPES.join(', ')}), so a saved file could not rebuild it; save its weights alone with encodeSafetensors(model.stateDict())`);
  });
}

/**
 * The registered type name of a layer ('Conv2d', 'Sequential', ...), or null for a custom module.
 * Unlike constructor.name it survives minification.
 */
export function layerTypeOf(layer: Module): string | null {
  if (isExactly(layer, Sequential)) return 'Sequential';
  for (const [type, t] of REGISTRY) if (isExactly(layer, t.ctor)) return type;
  return null;
}

function isExactly(x: unknown, ctor: abstract new (...args: never[]) => unknown): boolean {
  return typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === ctor.prototype;
}

/** A layer by its one-line label; anything else by its type (never its contents). */
function describeModule(m: unknown): string {
  if (!(m instanceof Module)) return describeValue(m);
  try { return m.label(); } catch { return 'a module that cannot be described'; }
}

/**
 * Checks an untrusted spec (e.g. JSON.parse of a file's metadata) and returns a clean copy of it.
 * Throws an Error naming the layer (its index, dotted when nested) and the field on an unknown
 * type or format, a missing, extra or ill-typed field.
 */
export function validateArchitecture(spec: unknown): ArchitectureSpec {
  const fail = (msg: string): never => { throw new Error(`architecture: ${msg}`); };
  if (!isPlainObject(spec)) fail(`expected an object { format, version, layers }, got ${describe(spec)}`);
  // Own fields only: a missing "layers" must not be found on Object.prototype.
  const top = ownFields(spec as Record<string, unknown>);
  for (const key of Object.keys(top)) {
    if (key !== 'format' && key !== 'version' && key !== 'layers') fail(`unexpected field ${quoteName(key)} (expected format, version, layers)`);
  }
  if (top.format !== ARCHITECTURE_FORMAT) fail(`"format" must be ${JSON.stringify(ARCHITECTURE_FORMAT)}, got ${describe(top.format)}`);
  if (top.version !== ARCHITECTURE_VERSION) {
    if (typeof top.version === 'number' && top.version > ARCHITECTURE_VERSION) {
      fail(`version ${top.version} was written by a newer simdnet; this one reads version ${ARCHITECTURE_VERSION}`);
    }
    fail(`"version" must be ${ARCHITECTURE_VERSION}, got ${describe(top.version)}`);
  }
  const count = { layers: 0 };
  return { format: ARCHITECTURE_FORMAT, version: ARCHITECTURE_VERSION, layers: checkLayers(top.layers, '', 0, count, fail) };
}

function checkLayers(layers: unknown, prefix: string, depth: number, count: { layers: number }, fail: (msg: string) => never): LayerSpec[] {
  const where = prefix ? `layer ${prefix.slice(0, -1)} (Sequential): "layers"` : '"layers"';
  if (!Array.isArray(layers)) fail(`${where} must be an array, got ${describe(layers)}`);
  if (depth >= MAX_DEPTH) fail(`${where}: Sequential nested more than ${MAX_DEPTH} deep`);
  return (layers as unknown[]).map((layer, i) => {
    if (++count.layers > MAX_LAYERS) fail(`more than ${MAX_LAYERS} layers`);
    return checkLayer(layer, `${prefix}${i}`, depth, count, fail);
  });
}

function checkLayer(layer: unknown, path: string, depth: number, count: { layers: number }, fail: (msg: string) => never): LayerSpec {
  if (!isPlainObject(layer)) fail(`layer ${path}: expected an object { type, ... }, got ${describe(layer)}`);
  const obj = layer as Record<string, unknown>;
  if (!Object.hasOwn(obj, 'type')) fail(`layer ${path}: missing field "type"`);
  const type = obj.type;
  if (typeof type !== 'string') fail(`layer ${path}: "type" must be a string, got ${describe(type)}`);
  // A Map, not an object lookup: "__proto__" or "constructor" must not find anything.
  const entry = REGISTRY.get(type as string);
  const fields = type === 'Sequential' ? { layers: 'layers' } : entry?.fields;
  if (!fields) fail(`layer ${path}: unknown layer type ${describe(type)} (known: ${LAYER_TYPES.join(', ')})`);
  const where = `layer ${path} (${type})`;
  for (const key of Object.keys(obj)) {
    if (key !== 'type' && !Object.hasOwn(fields!, key)) fail(`${where}: unexpected field ${quoteName(key)} (expected ${Object.keys(fields!).join(', ') || 'none'})`);
  }
  const out: LayerSpec = { type: type as string };
  for (const [field, kind] of Object.entries(fields!)) {
    if (!Object.hasOwn(obj, field)) fail(`${where}: missing field ${JSON.stringify(field)}`);
    const v = obj[field];
    if (kind === 'layers') out.layers = checkLayers(v, `${path}.`, depth + 1, count, fail);
    else out[field] = checkField(v, kind as FieldKind, `${where}: field ${JSON.stringify(field)}`, fail);
  }
  return out;
}

/** The value, copied, if it is of `kind`; otherwise an Error. Ranges are left to the constructors. */
function checkField(v: unknown, kind: FieldKind, where: string, fail: (msg: string) => never): unknown {
  const isInt = (x: unknown): x is number => Number.isSafeInteger(x);
  const isPair = (x: unknown): x is [number, number] => Array.isArray(x) && x.length === 2 && isInt(x[0]) && isInt(x[1]);
  switch (kind) {
    case 'int': if (isInt(v)) return v; return fail(`${where} must be an integer, got ${describe(v)}`);
    case 'number': if (typeof v === 'number' && Number.isFinite(v)) return v; return fail(`${where} must be a finite number, got ${describe(v)}`);
    case 'numberOrNull': if (v === null || (typeof v === 'number' && Number.isFinite(v))) return v; return fail(`${where} must be a finite number or null, got ${describe(v)}`);
    case 'bool': if (typeof v === 'boolean') return v; return fail(`${where} must be true or false, got ${describe(v)}`);
    case 'size2': if (isInt(v)) return v; if (isPair(v)) return [v[0], v[1]]; return fail(`${where} must be an integer or a pair [h, w] of integers, got ${describe(v)}`);
    case 'intOrNull': if (v === null || isInt(v)) return v; return fail(`${where} must be an integer or null, got ${describe(v)}`);
    case 'convPadding':
      if (v === 'same' || v === 'valid' || isInt(v)) return v;
      if (isPair(v)) return [v[0], v[1]];
      return fail(`${where} must be an integer, a pair [h, w] of integers, "same" or "valid", got ${describe(v)}`);
  }
}

function isPlainObject(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A null-prototype copy of an object's own enumerable fields, so a lookup never finds an inherited one. */
function ownFields(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(obj)) out[key] = obj[key];
  return out;
}

/**
 * A new Sequential from a spec (checked first with validateArchitecture). A constructor's
 * refusal (a value out of range) becomes an Error naming the layer, and frees the layers built so far.
 */
export function buildFromArchitecture(spec: unknown): Sequential {
  return buildLayers(validateArchitecture(spec).layers, '');
}

function buildLayers(layers: LayerSpec[], prefix: string): Sequential {
  const model = new Sequential();
  try {
    layers.forEach((layer, i) => {
      if (layer.type === 'Sequential') { model.add(buildLayers(layer.layers as LayerSpec[], `${prefix}${i}.`)); return; }
      let built: Module;
      try {
        built = REGISTRY.get(layer.type)!.build(layer);
      } catch (err) {
        throw new Error(`architecture: layer ${prefix}${i} (${layer.type}): ${(err as Error).message}`, { cause: err });
      }
      model.add(built);
    });
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

/** How many state-dict values (all tensors together) a model built from a validated spec holds. */
export function stateValueCount(spec: ArchitectureSpec): number {
  const count = (layers: LayerSpec[]): number => layers.reduce((n, l) => n + (l.type === 'Sequential'
    ? count(l.layers as LayerSpec[])
    : REGISTRY.get(l.type)!.stateValues?.(l) ?? 0), 0);
  return count(spec.layers);
}
