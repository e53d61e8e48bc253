// A Sequential's architecture as plain JSON, so a saved file can rebuild the model it came from:
// { format: 'simdnet.sequential', version: 1, layers: [{ type: 'Conv2d', inChannels: 1, ... }] }.
// A spec read from a file is untrusted: it is checked field by field against the layer types in
// the registry (ts/registry.ts, where each layer registers itself) and only ever turns into calls
// of their constructors, never into code. This module imports no layer.
import { Module } from '../module.js';
import type { Sequential } from '../sequential.js';
import { describe as describeValue } from '../options.js';
import { LAYER_TYPES, layerTypeFor, layerTypeNamed } from '../registry.js';
import type { FieldKind, LayerType } from '../registry.js';
import { preview as describe, quoteName } from './untrusted.js';

export { LAYER_TYPES, layerTypeOf } from '../registry.js';

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

/** The type name of the spec's root: the format is a Sequential's. */
const ROOT_TYPE = 'Sequential';

/**
 * The architecture of `model` as a JSON-able spec. Throws if a layer is not one of the built-in
 * types (a custom Module or a subclass): a file could not rebuild it.
 */
export function architectureOf(model: Sequential): ArchitectureSpec {
  if (layerTypeFor(model)?.typeName !== ROOT_TYPE) {
    throw new Error(`architectureOf: expected a Sequential, got ${describeModule(model)}`);
  }
  const spec: ArchitectureSpec = { format: ARCHITECTURE_FORMAT, version: ARCHITECTURE_VERSION, layers: specOf(model, '', 0).layers as LayerSpec[] };
  // Checked as a loader would, so a model whose spec could not be read back is never saved.
  validateArchitecture(spec);
  return spec;
}

/** The spec of a layer at `path` (dotted, '' for the root) whose 'layers' fields are `depth` deep. */
function specOf(layer: Module, path: string, depth: number): LayerSpec {
  const type = layerTypeFor(layer);
  if (!type) {
    throw new Error(`architectureOf: layer ${path} ${describeModule(layer)} is not a built-in layer type ` +
      `(${LAYER_TYPES.join(', ')}), so a saved file could not rebuild it; save its weights alone with encodeSafetensors(model.stateDict())`);
  }
  const fields = type.config ? type.config(layer) : (layer as unknown as { config(): Record<string, unknown> }).config();
  const spec: LayerSpec = { type: type.typeName, ...fields };
  for (const [field, kind] of Object.entries(type.fields)) {
    if (kind !== 'layers') continue;
    // Also stops a container that contains itself.
    if (depth >= MAX_DEPTH) throw new Error(`architectureOf: ${type.typeName} nested more than ${MAX_DEPTH} deep at layer ${path}`);
    spec[field] = (fields[field] as Module[]).map((child, i) => specOf(child, path ? `${path}.${i}` : String(i), depth + 1));
  }
  return spec;
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
  return { format: ARCHITECTURE_FORMAT, version: ARCHITECTURE_VERSION, layers: checkLayers(top.layers, '"layers"', '', ROOT_TYPE, 0, count, fail) };
}

/** The layers of a 'layers' field (`where` names it), each checked; `prefix` is their parent's path and a dot. */
function checkLayers(layers: unknown, where: string, prefix: string, container: string, depth: number, count: { layers: number },
  fail: (msg: string) => never): LayerSpec[] {
  if (!Array.isArray(layers)) fail(`${where} must be an array, got ${describe(layers)}`);
  if (depth >= MAX_DEPTH) fail(`${where}: ${container} nested more than ${MAX_DEPTH} deep`);
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
  const fields = layerTypeNamed(type as string)?.fields;
  if (!fields) fail(`layer ${path}: unknown layer type ${describe(type)} (known: ${LAYER_TYPES.join(', ')})`);
  const where = `layer ${path} (${type})`;
  for (const key of Object.keys(obj)) {
    if (key !== 'type' && !Object.hasOwn(fields!, key)) fail(`${where}: unexpected field ${quoteName(key)} (expected ${Object.keys(fields!).join(', ') || 'none'})`);
  }
  const out: LayerSpec = { type: type as string };
  for (const [field, kind] of Object.entries(fields!)) {
    if (!Object.hasOwn(obj, field)) fail(`${where}: missing field ${JSON.stringify(field)}`);
    const v = obj[field];
    if (kind === 'layers') out[field] = checkLayers(v, `${where}: ${JSON.stringify(field)}`, `${path}.`, type as string, depth + 1, count, fail);
    else out[field] = checkField(v, kind, `${where}: field ${JSON.stringify(field)}`, fail);
  }
  return out;
}

/** The value, copied, if it is of `kind`; otherwise an Error. Ranges are left to the constructors. */
function checkField(v: unknown, kind: Exclude<FieldKind, 'layers'>, where: string, fail: (msg: string) => never): unknown {
  const isInt = (x: unknown): x is number => Number.isSafeInteger(x);
  const isPair = (x: unknown): x is [number, number] => Array.isArray(x) && x.length === 2 && isInt(x[0]) && isInt(x[1]);
  switch (kind) {
    case 'int': if (isInt(v)) return v; return fail(`${where} must be an integer, got ${describe(v)}`);
    case 'number': if (typeof v === 'number' && Number.isFinite(v)) return v; return fail(`${where} must be a finite number, got ${describe(v)}`);
    case 'numberOrNull': if (v === null || (typeof v === 'number' && Number.isFinite(v))) return v; return fail(`${where} must be a finite number or null, got ${describe(v)}`);
    case 'bool': if (typeof v === 'boolean') return v; return fail(`${where} must be true or false, got ${describe(v)}`);
    case 'string': if (typeof v === 'string') return v; return fail(`${where} must be a string, got ${describe(v)}`);
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
  return build({ type: ROOT_TYPE, layers: validateArchitecture(spec).layers }, '') as Sequential;
}

/** A layer from a validated spec at `path` ('' for the root), its 'layers' fields built first. */
function build(spec: LayerSpec, path: string): Module {
  const type = layerTypeNamed(spec.type)!;
  const config: Record<string, unknown> = { ...spec };
  const children: Module[] = [];
  try {
    for (const [field, kind] of Object.entries(type.fields)) {
      if (kind !== 'layers') continue;
      config[field] = (spec[field] as LayerSpec[]).map((child, i) => {
        const m = build(child, path ? `${path}.${i}` : String(i));
        children.push(m);
        return m;
      });
    }
    try {
      return type.build(config) as Module;
    } catch (err) {
      throw new Error(`architecture: ${path ? `layer ${path}` : 'the model'} (${spec.type}): ${(err as Error).message}`, { cause: err });
    }
  } catch (err) {
    // The layers built so far hold wasm memory: released now rather than when collected.
    for (const m of children) m.dispose();
    throw err;
  }
}

/** How many state-dict values (all tensors together) a model built from a validated spec holds. */
export function stateValueCount(spec: ArchitectureSpec): number {
  const count = (l: LayerSpec): number => {
    const type: LayerType = layerTypeNamed(l.type)!;
    let n = type.stateValues?.(l) ?? 0;
    for (const [field, kind] of Object.entries(type.fields)) if (kind === 'layers') for (const c of l[field] as LayerSpec[]) n += count(c);
    return n;
  };
  return spec.layers.reduce((n, l) => n + count(l), 0);
}
