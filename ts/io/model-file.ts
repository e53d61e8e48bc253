// Whole models as safetensors bytes: the state dict under PyTorch's names (so
// torch.nn.Sequential.load_state_dict reads it) plus, in the metadata, the architecture as JSON
// or the zoo builder and its options (so simdnet can rebuild the model without code). Works in
// Node and the browser.
import { Module } from '../module.js';
import { Sequential } from '../sequential.js';
import { Tensor } from '../tensor.js';
import { architectureOf, buildFromArchitecture, layerTypeOf, stateValueCount, validateArchitecture } from './architecture.js';
import { SafetensorsFile, decodeSafetensorsFile, encodeSafetensors } from './safetensors.js';
import { buildZooModel, validateZooRecord, zooRecordOf } from '../models/zoo.js';
import { checkSource, describe } from '../options.js';

/** The metadata key that holds the architecture spec (JSON text). */
export const ARCHITECTURE_METADATA_KEY = 'simdnet.architecture';

const DEFAULT_SOURCE = 'safetensors data';

// File dtypes that may fill a float32 tensor: converted as torch's load_state_dict would
// (F16 and BF16 exactly, F64 rounded). Integer dtypes may not: an I64 where a weight belongs
// means the file is not the model's, not that it needs converting.
const FLOAT_DTYPES = new Set(['F32', 'F64', 'F16', 'BF16']);

/** The metadata key that names the class of a model saved without an architecture (a module of your own). */
export const MODULE_METADATA_KEY = 'simdnet.module';

/**
 * The metadata key that names the zoo builder of a model and its options (JSON text, e.g.
 * `{"model":"resnet20","options":{"numClasses":10}}`), from which the file rebuilds it.
 */
export const ZOO_METADATA_KEY = 'simdnet.zoo';

/**
 * The model as safetensors bytes: float32 tensors as F32, num_batches_tracked as I64, and
 * `__metadata__` { format: 'pt', ... }. A Sequential made only of built-in layers records its
 * architecture ('simdnet.architecture': JSON), and a model of sn.models as its builder made it
 * the builder's name and options ('simdnet.zoo': JSON), so the file rebuilds either; any other
 * module (one of your own, a Sequential holding one, a zoo model whose layers were replaced)
 * records its class name ('simdnet.module') and its weights, which load into an instance built
 * in code. Throws, writing nothing, if a weight is NaN or infinite (the file could not be loaded back).
 */
export function modelToSafetensors(model: Module): Uint8Array {
  if (!(model instanceof Module)) throw new Error(`modelToSafetensors: expected a model (Module), got ${describe(model)}`);
  const dict = model.stateDict();
  for (const [name, t] of Object.entries(dict)) {
    if (t.dtype !== 'float32') continue;
    const values = t.view();
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) throw new Error(`modelToSafetensors: ${name} holds a non-finite value at index ${i}; the model was not saved`);
    }
  }
  const metadata: Record<string, string> = { format: 'pt' };
  const zoo = zooRecordOf(model);
  if (describable(model)) metadata[ARCHITECTURE_METADATA_KEY] = JSON.stringify(architectureOf(model as Sequential));
  else if (zoo) metadata[ZOO_METADATA_KEY] = JSON.stringify(zoo);
  else metadata[MODULE_METADATA_KEY] = model.label();
  return encodeSafetensors(dict, metadata);
}

/** Whether the model is a Sequential of built-in layers (Sequentials nested), which an architecture spec describes. */
function describable(model: Module): boolean {
  if (layerTypeOf(model) !== 'Sequential') return false;
  return model.modules().every((m) => layerTypeOf(m) !== null);
}

/**
 * A new model rebuilt from the file's metadata, with the file's weights: a Sequential from its
 * architecture, or a model of sn.models (sn.models.resnet20(), say) from its builder and options.
 * `bytes` is a Uint8Array (a Node Buffer is one), an ArrayBuffer or another ArrayBufferView.
 * Errors name `source` (a path, a URL). The model is in training mode, as a new one is.
 */
export function modelFromSafetensors(bytes: Uint8Array | ArrayBuffer | ArrayBufferView, source = DEFAULT_SOURCE): Module {
  return fromFile(bytes, source, 'modelFromSafetensors');
}

/**
 * A new Sequential rebuilt from the file's architecture metadata (Sequential.fromSafetensors): as
 * modelFromSafetensors, but a file that holds another kind of model is refused before anything is built.
 */
export function sequentialFromSafetensors(bytes: Uint8Array | ArrayBuffer | ArrayBufferView, source = DEFAULT_SOURCE): Sequential {
  return fromFile(bytes, source, 'Sequential.fromSafetensors') as Sequential;
}

function fromFile(bytes: Uint8Array | ArrayBuffer | ArrayBufferView, source: string, fn: string): Module {
  checkSource('modelFromSafetensors', source, `${fn}(bytes, source)`);
  const file = decodeSafetensorsFile(bytes, source, 'fromSafetensors');
  const held = Object.values(file.tensors).reduce((n, t) => n + t.size, 0);
  if (!Object.hasOwn(file.metadata, ARCHITECTURE_METADATA_KEY) && Object.hasOwn(file.metadata, ZOO_METADATA_KEY)) {
    const { record, stateValues } = withSource(source, () => validateZooRecord(parseMetadata(file, ZOO_METADATA_KEY, source)));
    if (fn !== 'modelFromSafetensors') {
      throw new Error(`${source}: the file holds sn.models.${record.model}(${JSON.stringify(record.options)}), not a Sequential; ` +
        'load it with sn.load(source) or io.modelFromSafetensors(bytes)');
    }
    // As for an architecture: a record asking for more values than the file holds is refused before anything is allocated.
    if (!(stateValues <= held)) {
      throw new Error(`${source}: sn.models.${record.model}(${JSON.stringify(record.options)}) needs ${stateValues} weight and buffer values, ` +
        `the file holds ${held}; the file is not this model's`);
    }
    return buildAndLoad(() => withSource(source, () => buildZooModel(record)), file, source);
  }
  if (!Object.hasOwn(file.metadata, ARCHITECTURE_METADATA_KEY)) {
    const saved = Object.hasOwn(file.metadata, MODULE_METADATA_KEY) ? `the weights of ${briefName(file.metadata[MODULE_METADATA_KEY])}, a module ` +
      'whose class only your code has' : `weights but no architecture (no "${ARCHITECTURE_METADATA_KEY}" in its metadata, as with files saved by PyTorch)`;
    throw new Error(`${source}: the file has ${saved}; build the model in code and load the weights into it with ` +
      'sn.load(source, { into: model }) or model.loadSafetensors(bytes)');
  }
  const spec = withSource(source, () => validateArchitecture(parseMetadata(file, ARCHITECTURE_METADATA_KEY, source)));
  // A spec that asks for more values than the file holds cannot load; refusing it before building
  // keeps a small hostile file from allocating a huge model.
  const needed = stateValueCount(spec);
  if (needed > held) {
    throw new Error(`${source}: the architecture needs ${needed} weight and buffer values, the file holds ${held}; the file is not this model's`);
  }
  return buildAndLoad(() => withSource(source, () => buildFromArchitecture(spec)), file, source);
}

/** A model from `build` with the file's weights loaded; a model the weights do not fit is freed, and the Error thrown. */
function buildAndLoad(build: () => Module, file: SafetensorsFile, source: string): Module {
  const model = build();
  try {
    loadDecoded(model, file, source);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

/** The JSON value of a metadata entry, or an Error naming the file and the key. */
function parseMetadata(file: SafetensorsFile, key: string, source: string): unknown {
  try {
    return JSON.parse(file.metadata[key]);
  } catch (err) {
    throw new Error(`${source}: the "${key}" metadata is not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

/**
 * Loads a safetensors file (ours, or PyTorch's `save_file(model.state_dict(), path)`) into an
 * existing model. Every tensor must be present, none extra, each of the model's shape and a
 * matching dtype (float for weights, I64 for num_batches_tracked), every weight finite; all is
 * checked before anything is copied, so on an Error the model is unchanged.
 */
export function loadSafetensorsInto(model: Module, bytes: Uint8Array | ArrayBuffer | ArrayBufferView, source = DEFAULT_SOURCE): void {
  if (!(model instanceof Module)) throw new Error(`loadSafetensorsInto: expected a model (Module), got ${describe(model)}`);
  checkSource('loadSafetensorsInto', source, 'model.loadSafetensors(bytes, source)');
  loadDecoded(model, decodeSafetensorsFile(bytes, source, 'loadSafetensors'), source);
}

function loadDecoded(model: Module, file: SafetensorsFile, source: string): void {
  for (const [name, target] of Object.entries(model.stateDict())) {
    if (!Object.hasOwn(file.tensors, name)) continue; // loadStateDict names every missing tensor at once
    // Decoding widens F16, I32, ... to float32: the file's own dtype decides what may load.
    const dtype = file.dtypes.get(name)!;
    const ok = target.dtype === 'int64' ? dtype === 'I64' : FLOAT_DTYPES.has(dtype);
    if (!ok) {
      const want = target.dtype === 'int64' ? 'I64' : 'a floating-point dtype (F32)';
      throw new Error(`${source}: tensor "${name}" is ${dtype} in the file, the model expects ${want}`);
    }
  }
  withSource(source, () => model.loadStateDict(file.tensors as Record<string, Tensor>, { strict: true }));
}

/** A class name from a file, shortened and quoted for a message. */
function briefName(name: string): string {
  return JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name);
}

/** Runs `f`, prefixing any Error's message with the file it concerns. */
function withSource<T>(source: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`, { cause: err });
  }
}
