// Fuzzing of every file reader from fixed seeds. Valid files are built here from small real
// models and data, then mutated byte by byte (flips, truncation, extension, length fields) and
// field by field (shapes, offsets, dtypes, architecture JSON, zoo records, CSV cells). A refusal
// must be an Error of ours naming the source and the file part, never a wasm trap, a stack
// overflow or an engine message; an accepted file must be self-consistent, and a model rebuilt
// from one must run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rng } from './helpers.js';
import {
  checkClean, Tally, fuzzCase, int, pick, concat, randomBytes, SPECIAL_U32, mutateBytes, asInput,
} from './fuzz-helpers.js';
import { rt } from 'simdnet/internal';

await sn.ready();
const { io, data } = sn;

// ---------- shared machinery (tests/fuzz-helpers.js) ----------

function stateBits(model) {
  return Object.entries(model.stateDict()).map(([k, t]) =>
    [k, t.shape.join(','), t.dtype === 'int64' ? Array.from(t.toInt64Array(), String).join() : new Uint32Array(t.toArray().buffer).join()]);
}

const bitsOf = (t) => (t.dtype === 'int64' ? Array.from(t.toInt64Array(), String).join() : new Uint32Array(t.toArray().buffer).join());

// ---------- safetensors ----------

/** A file's header (parsed, key order kept) and data bytes. */
function splitSafetensors(bytes) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}

/** A file from header text and data bytes, its length field off by `lengthDelta` (wrapped to u64). */
function joinSafetensors(headerText, data, lengthDelta = 0) {
  const json = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length + lengthDelta) & 0xffffffffffffffffn, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const RAW = '\u0000RAW';
/** JSON text of `value`, with each placeholder string RAW + text replaced by that text itself. */
function rawJson(value) {
  return JSON.stringify(value).replace(/"\\u0000RAW([^"]*)"/g, (_, text) => text.replace(/\\"/g, '"'));
}

const ITEM = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const DTYPES = Object.keys(ITEM);
const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', 'length'];
const HUGE_NUMBERS = [2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2,
  2 ** 64, 1e308, -1, -0, 0.5, 1.5, -(2 ** 31), 1e-300];
const RAW_NUMBERS = ['NaN', 'Infinity', '-Infinity', '1e309', '-1e309', '1e-400', '01', '0x10', '+1', '.5', '1.', '2e2', '9'.repeat(400)];
const ODD_VALUES = ['3', '', null, true, false, {}, [], [1], [[1]], { length: 2 }, 'F32'];

/** A shape (and the offsets a wrapping reader would compute for it) whose byte count lands at or near 2^31, 2^32, 2^53. */
function boundaryShape(rand, item) {
  const total = pick(rand, [2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64]) * pick(rand, [1, 1, 2, 0.5]);
  const elems = Math.max(1, Math.floor(total / item)) + pick(rand, [0, 0, 1, -1]);
  const split = pick(rand, [1, 2, 3]);
  let shape;
  if (split === 1) shape = [elems];
  else if (split === 2) { const a = 2 ** 16; shape = [a, Math.max(1, Math.round(elems / a))]; }
  else shape = [2 ** 10, 2 ** 10, Math.max(1, Math.round(elems / 2 ** 20))];
  const bytes = shape.reduce((p, d) => p * d, 1) * item;
  // What i32 / u32 arithmetic would make of the byte count.
  const wrapped = pick(rand, [bytes % 2 ** 32, (bytes % 2 ** 32) | 0, Math.min(bytes, 2 ** 53 - 1), 0]);
  return { shape, wrapped };
}

/** A hostile value for a shape dimension or an offset. */
function hostileNumber(rand) {
  const r = rand();
  if (r < 0.5) return pick(rand, HUGE_NUMBERS);
  if (r < 0.75) return RAW + pick(rand, RAW_NUMBERS);
  return pick(rand, ODD_VALUES);
}

/** A value nested `depth` arrays deep, written as text (JSON.stringify itself would overflow). */
const deepArrayText = (depth) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

/** Field-level edits of a safetensors header (an object of entries, maybe __metadata__). */
function mutateHeader(header, rand) {
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = pick(rand, names);
  // An earlier edit may have made the entry something else, or taken its fields away.
  const old = header[name] && typeof header[name] === 'object' ? header[name] : {};
  const entry = header[name] = { shape: [1], data_offsets: [0, 4], ...old };
  if (!Array.isArray(entry.shape)) entry.shape = [1];
  if (!Array.isArray(entry.data_offsets)) entry.data_offsets = [0, 4];
  switch (int(rand, 12)) {
    case 0: { // one shape dimension
      entry.shape = [...entry.shape];
      if (entry.shape.length === 0 || rand() < 0.2) entry.shape.push(hostileNumber(rand));
      else entry.shape[int(rand, entry.shape.length)] = hostileNumber(rand);
      break;
    }
    case 1: { // a shape whose byte count sits at a 2^31, 2^32 or 2^53 boundary, offsets as a wrapping reader sees them
      const { shape, wrapped } = boundaryShape(rand, ITEM[entry.dtype] ?? 4);
      entry.shape = shape;
      if (rand() < 0.7) entry.data_offsets = [entry.data_offsets[0], entry.data_offsets[0] + wrapped];
      break;
    }
    case 2: { // a zero dimension among huge ones: the product is 0, or NaN if computed carelessly
      entry.shape = [...Array.from({ length: 1 + int(rand, 40) }, () => pick(rand, [2 ** 53 - 1, 2 ** 32 - 1, 2 ** 31])), 0];
      if (rand() < 0.5) entry.shape.reverse();
      entry.data_offsets = [entry.data_offsets[0], entry.data_offsets[0]];
      break;
    }
    case 3: { // offsets
      const o = [...entry.data_offsets];
      const i = int(rand, 2);
      const r = rand();
      if (r < 0.3) o[i] = hostileNumber(rand);
      else if (r < 0.6) o[i] += pick(rand, [-8, -4, -2, -1, 1, 2, 4, 8]);
      else if (r < 0.8) o.reverse();
      else if (r < 0.9) o.push(o[1]);
      else o.length = 1;
      entry.data_offsets = o;
      break;
    }
    case 4: entry.dtype = rand() < 0.6 ? pick(rand, DTYPES) : pick(rand, ['f32', 'F8', 'I128', '', 4, null, ['F32'], ...PROTO_NAMES]); break;
    case 5: delete entry[pick(rand, ['dtype', 'shape', 'data_offsets'])]; break;
    case 6: entry[pick(rand, ['extra', ...PROTO_NAMES])] = pick(rand, [1, 'x', null, {}]); break;
    case 7: { // the tensor renamed, keeping its place
      const to = pick(rand, [...PROTO_NAMES, '', ' ', '__metadata__', 'x'.repeat(5000), names[0], '\u{1F600}', '0']);
      const rebuilt = {};
      for (const [k, v] of Object.entries(header)) Object.defineProperty(rebuilt, k === name ? to : k, { value: v, enumerable: true, writable: true, configurable: true });
      return rebuilt;
    }
    case 8: header[name] = pick(rand, [null, 1, 'x', [], [1, 2], true, RAW + deepArrayText(1 + int(rand, 20000))]); break;
    case 9: { // __metadata__ of every wrong shape
      const meta = rand() < 0.5 ? { ...(header.__metadata__ ?? {}) } : {};
      const key = pick(rand, ['format', 'x', ...PROTO_NAMES]);
      const value = pick(rand, ['pt', 1, null, {}, [], true, 'y'.repeat(3000), RAW + deepArrayText(20000)]);
      Object.defineProperty(meta, key, { value, enumerable: true, writable: true, configurable: true });
      header.__metadata__ = rand() < 0.2 ? pick(rand, [null, 1, 'x', [], [{}]]) : meta;
      break;
    }
    case 10: { // a dimension of 2^32 more: in u32 arithmetic the product would become 0
      entry.shape = [...entry.shape, 2 ** 32];
      break;
    }
    default: { // a duplicate tensor appended (same bytes), or an extra top-level key of a proto name
      const key = rand() < 0.5 ? pick(rand, PROTO_NAMES) : name;
      Object.defineProperty(header, `${key}${rand() < 0.5 ? '' : '\u0001'}`, { value: { ...entry }, enumerable: true, writable: true, configurable: true });
    }
  }
  return header;
}

/** A file that hands every tensor dtype of the format to the decoder. */
function everyDtypeFile(rand) {
  const tensors = [];
  let data = new Uint8Array(0);
  for (const dtype of DTYPES) {
    const shape = pick(rand, [[2, 3], [5], [], [0, 4], [1, 1, 2]]);
    const n = shape.reduce((a, b) => a * b, 1);
    let bytes = randomBytes(rand, n * ITEM[dtype]);
    if (dtype === 'BOOL') bytes = bytes.map((b) => b & 1);
    tensors.push([`t.${dtype.toLowerCase()}`, { dtype, shape, data_offsets: [data.length, data.length + bytes.length] }]);
    data = concat(data, bytes);
  }
  return joinSafetensors(JSON.stringify(Object.fromEntries([['__metadata__', { format: 'pt' }], ...tensors])), data);
}

/** An accepted decode must describe the bytes it came from exactly. */
function checkDecoded(result, what) {
  assert.type(result.metadata, 'object', what);
  for (const v of Object.values(result.metadata)) assert.type(v, 'string', `${what}: metadata values`);
  for (const [name, t] of Object.entries(result.tensors)) {
    assert.instance(t, sn.Tensor, `${what}: ${name}`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    assert.ok(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0), `${what}: ${name} shape`);
    assert.is(t.size, n, `${what}: ${name} size`);
    const values = t.dtype === 'int64' ? t.toInt64Array() : t.toArray();
    assert.is(values.length, n, `${what}: ${name} holds its shape's product of values`);
  }
}

const SAFETENSORS_PART = /header|tensor "|__metadata__|bytes|Uint8Array/;

test('fuzz: safetensors decoding', () => {
  const rand = rng(0x5afe7e45);
  const tally = new Tally('safetensors');
  sn.manualSeed(11);
  const model = new sn.Sequential(new sn.Linear(3, 4), new sn.BatchNorm1d(4), new sn.Linear(4, 2, { bias: false }));
  const bases = [io.encodeSafetensors(model.stateDict(), { format: 'pt', note: 'fuzz' }), everyDtypeFile(rand), everyDtypeFile(rand)];
  model.dispose();
  const source = 'fuzz.safetensors';
  for (let i = 0; i < 4000; i++) {
    const base = pick(rand, bases);
    let bytes;
    const r = rand();
    if (r < 0.45) {
      const { header, data } = splitSafetensors(base);
      let h = header;
      for (let k = 1 + int(rand, 2); k > 0; k--) h = mutateHeader(h, rand);
      let text = rawJson(h);
      if (rand() < 0.3) text = text.padEnd(Math.ceil(text.length / 8) * 8, pick(rand, [' ', '\t', '\n', '\u0000']));
      bytes = joinSafetensors(text, rand() < 0.8 ? data : mutateBytes(data, rand), rand() < 0.1 ? pick(rand, [-1, 1, 8, 2 ** 32]) : 0);
    } else if (r < 0.55) { // the length field alone
      bytes = base.slice();
      const len = splitSafetensors(base).data.byteOffset - 8;
      const value = pick(rand, [0n, 1n, 2n, 7n, BigInt(len - 1), BigInt(len + 1), BigInt(base.length - 8), BigInt(base.length),
        2n ** 31n, 2n ** 32n, 2n ** 32n + BigInt(len), 2n ** 53n, 2n ** 53n + BigInt(len), 2n ** 63n, 2n ** 64n - 1n,
        BigInt(io.MAX_HEADER_BYTES), BigInt(io.MAX_HEADER_BYTES) + 1n]);
      new DataView(bytes.buffer).setBigUint64(0, value, true);
    } else {
      bytes = base;
      const hot = splitSafetensors(base).data.byteOffset;
      for (let k = 1 + int(rand, 3); k > 0; k--) bytes = mutateBytes(bytes, rand, hot);
    }
    fuzzCase(tally, source, SAFETENSORS_PART, `safetensors case ${i}`, () => io.decodeSafetensors(asInput(bytes, rand), source),
      (result) => checkDecoded(result, `safetensors case ${i}`));
  }
  tally.print();
  assert.ok(tally.accepted > 50 && tally.refused > 2000, 'the mutations reach both outcomes');
});

// ---------- model files: architecture JSON in the metadata ----------

/** Small models covering every layer type, a few training steps in (running stats, num_batches_tracked). */
function baseModels() {
  sn.manualSeed(5);
  const mlp = new sn.Sequential(new sn.Linear(4, 3), new sn.ReLU(), new sn.Linear(3, 2), new sn.LogSoftmax(1));
  const cnn = new sn.Sequential(
    new sn.Conv2d(1, 2, 3, { padding: 1 }), new sn.BatchNorm2d(2), new sn.ReLU(), new sn.MaxPool2d(2),
    new sn.Flatten(), new sn.Linear(18, 4), new sn.Softmax(1));
  const every = new sn.Sequential(
    new sn.Conv2d(2, 4, [3, 2], { groups: 2, stride: [2, 1], padding: 'valid', dilation: 1, bias: false }),
    new sn.Sequential(new sn.BatchNorm2d(4, { affine: false, momentum: null }), new sn.LeakyReLU(0.2),
      new sn.AvgPool2d(2, { stride: 1, padding: 1, ceilMode: true, countIncludePad: false, divisorOverride: 3 })),
    new sn.AdaptiveAvgPool2d([2, 2]), new sn.Tanh(), new sn.Flatten(1, -1), new sn.Dropout(0.25),
    new sn.Linear(16, 5), new sn.BatchNorm1d(5, { eps: 1e-3, momentum: 0.2 }), new sn.Sigmoid());
  const inputs = [[4, 4], [4, 1, 6, 6], [4, 2, 7, 5]];
  [mlp, cnn, every].forEach((m, k) => {
    const shape = inputs[k];
    for (let s = 0; s < 2; s++) m.forward(sn.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => Math.sin(i + s)), shape));
  });
  return [mlp, cnn, every];
}

/** Fields and values to try on a layer spec. */
const FIELD_NAMES = ['inFeatures', 'outFeatures', 'bias', 'inChannels', 'outChannels', 'kernelSize', 'stride', 'padding',
  'dilation', 'groups', 'numFeatures', 'eps', 'momentum', 'affine', 'trackRunningStats', 'ceilMode', 'countIncludePad',
  'divisorOverride', 'outputSize', 'startDim', 'endDim', 'p', 'negativeSlope', 'dim', 'layers', 'type'];
const SMALL_VALUES = [0, 1, 2, 3, 4, -1, [1, 2], [2, 1], true, false, null, 'same', 'valid', 0.5];

function hostileValue(rand) {
  const r = rand();
  if (r < 0.3) return pick(rand, SMALL_VALUES);
  if (r < 0.55) return pick(rand, HUGE_NUMBERS);
  if (r < 0.65) return RAW + pick(rand, RAW_NUMBERS);
  if (r < 0.8) return pick(rand, [...ODD_VALUES, [2 ** 31, 1], [1.5, 2], [1, 2, 3], [-1, -1], { 0: 1, 1: 2 }, 'full']);
  if (r < 0.9) return pick(rand, PROTO_NAMES);
  return RAW + deepArrayText(1 + int(rand, 5000));
}

const LAYER_TYPE_NAMES = [...io.LAYER_TYPES, 'Evil', 'Module', 'linear', '', ...PROTO_NAMES];

/** The layer spec objects of a spec (to 40 levels deep), each as its parent array and index. */
function layerSlots(layers, out = [], depth = 0) {
  if (!Array.isArray(layers) || depth > 40) return out;
  layers.forEach((l, i) => {
    out.push([layers, i]);
    if (l && typeof l === 'object' && Array.isArray(l.layers)) layerSlots(l.layers, out, depth + 1);
  });
  return out;
}

function setOwn(obj, key, value) {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Edits of an architecture spec (a structured clone, changed in place); returns the spec. */
function mutateSpec(spec, rand, zoo) {
  if (!Array.isArray(spec.layers)) spec.layers = [];
  const slots = layerSlots(spec.layers);
  const [parent, i] = slots.length ? pick(rand, slots) : [spec.layers, 0];
  const layer = parent[i] && typeof parent[i] === 'object' ? parent[i] : {};
  switch (int(rand, 10)) {
    case 0: case 1: case 2: { // a field's value (one the layer has, mostly)
      const keys = Object.keys(layer).filter((k) => k !== 'type');
      const key = keys.length && rand() < 0.8 ? pick(rand, keys) : pick(rand, FIELD_NAMES);
      setOwn(layer, key, hostileValue(rand));
      break;
    }
    case 3: delete layer[pick(rand, Object.keys(layer).length ? Object.keys(layer) : ['type'])]; break;
    case 4: setOwn(layer, pick(rand, [...PROTO_NAMES, 'extra', pick(rand, FIELD_NAMES)]), hostileValue(rand)); break;
    case 5: layer.type = pick(rand, LAYER_TYPE_NAMES); break;
    case 6: { // layers added, removed, replaced by non-objects
      const r = rand();
      if (r < 0.4) parent.splice(i, 0, structuredClone(pick(rand, zoo)));
      else if (r < 0.7) parent.splice(i, 1);
      else parent[i] = pick(rand, [null, 1, 'ReLU', [], [{ type: 'ReLU' }], { type: 'ReLU', layers: [] }]);
      break;
    }
    case 7: { // Sequential nesting, around and past the depth limit
      let wrapped = parent[i];
      const depth = pick(rand, [1, 2, 30, 31, 32, 33, 100, 1000]);
      for (let d = 0; d < depth; d++) wrapped = { type: 'Sequential', layers: [wrapped] };
      parent[i] = wrapped;
      break;
    }
    case 8: { // the top level
      const r = rand();
      if (r < 0.3) spec.format = pick(rand, ['keras', 'simdnet.sequential ', null, 1]);
      else if (r < 0.5) spec.version = pick(rand, [0, 2, 1.5, '1', null, RAW + 'NaN']);
      else if (r < 0.7) setOwn(spec, pick(rand, [...PROTO_NAMES, 'extra']), pick(rand, [{ layers: [] }, 1, null]));
      else if (r < 0.85) delete spec[pick(rand, ['format', 'version', 'layers'])];
      else spec.layers = pick(rand, [{}, null, 'ReLU', { 0: { type: 'ReLU' }, length: 1 }, []]);
      break;
    }
    default: { // many layers at once
      const n = pick(rand, [50, 300]);
      parent.splice(i, 0, ...Array.from({ length: n }, () => ({ type: 'ReLU' })));
    }
  }
  return spec;
}

/** The architecture text for a metadata edit: a mutated spec, or text that is no spec at all. */
function architectureText(spec, rand, zoo) {
  const r = rand();
  if (r < 0.9) {
    const s = structuredClone(spec);
    for (let k = 1 + int(rand, 2); k > 0; k--) mutateSpec(s, rand, zoo);
    return rawJson(s);
  }
  const text = JSON.stringify(spec);
  return pick(rand, [
    text.slice(0, int(rand, text.length)), 'null', '[]', '"x"', '1', '{}', '', text.replace(/"/, "'"),
    text.replace('{', '{"format":"x",'), text + ' ', text + 'x', `\uFEFF${text}`,
  ]);
}

/**
 * Architecture texts nested 20,000 deep, where a recursive reader would overflow the stack. As
 * text, since JSON.stringify itself would overflow; tried once each rather than drawn at random
 * (each costs as much as a hundred ordinary cases).
 */
const DEEP_ARCHITECTURES = [
  deepArrayText(20000), `{"a":${deepArrayText(20000)}}`, `${'{"a":'.repeat(20000)}1${'}'.repeat(20000)}`,
  `{"format":"simdnet.sequential","version":1,"layers":[${'{"type":"Sequential","layers":['.repeat(20000)}${']}'.repeat(20000)}]}`,
  `{"format":"simdnet.sequential","version":1,"layers":[{"type":"Linear","inFeatures":${deepArrayText(20000)}}]}`,
];

const isSmallSpec = (text) => !/\d{3,}|e\+|Infinity|NaN/.test(text) && text.length < 4000;

/** The first leaf layer's spec, depth-first. */
function firstLeaf(layers) {
  for (const l of layers) {
    if (l.type !== 'Sequential') return l;
    const inner = firstLeaf(l.layers);
    if (inner) return inner;
  }
  return null;
}

/** A tiny input for a model whose first layer is `leaf`, or null when its input would not be tiny. */
function tinyInputShape(leaf) {
  if (!leaf) return [2, 3];
  if (leaf.type === 'Linear') return leaf.inFeatures <= 256 ? [2, leaf.inFeatures] : null;
  if (leaf.type === 'BatchNorm1d') return leaf.numFeatures <= 256 ? [2, leaf.numFeatures] : null;
  if (leaf.type === 'Conv2d') return leaf.inChannels <= 16 ? [2, leaf.inChannels, 7, 6] : null;
  if (leaf.type === 'BatchNorm2d') return leaf.numFeatures <= 16 ? [2, leaf.numFeatures, 4, 4] : null;
  return [2, 2, 6, 6];
}

/** A model after an accepted load holds exactly the file's tensors: the same names, shapes and bits. */
function checkHoldsFile(model, file, what) {
  const dict = model.stateDict();
  assert.equal(Object.keys(dict).sort(), Object.keys(file.tensors).sort(), `${what}: the model holds exactly the file's tensors`);
  for (const [name, t] of Object.entries(dict)) {
    assert.equal(t.shape, file.tensors[name].shape, `${what}: ${name} shape`);
    assert.is(bitsOf(t), bitsOf(file.tensors[name]), `${what}: ${name} values`);
  }
}

/**
 * An accepted model file: the model holds exactly the file's tensors, reports the architecture
 * the metadata gives, survives a save, and runs on a tiny input (or refuses it cleanly).
 */
function checkModel(model, bytes, what) {
  const file = io.decodeSafetensors(bytes);
  checkHoldsFile(model, file, what);
  const spec = io.architectureOf(model);
  const rebuilt = io.buildFromArchitecture(JSON.parse(file.metadata['simdnet.architecture']));
  try {
    assert.equal(io.architectureOf(rebuilt), spec, `${what}: the model's architecture is the metadata's`);
  } finally {
    rebuilt.dispose();
  }
  assert.ok(io.modelToSafetensors(model).length > 0, `${what}: the model saves again`);
  const shape = tinyInputShape(firstLeaf(spec.layers));
  if (!shape) return;
  let shapes;
  try {
    shapes = model.shapesThrough(shape);
  } catch (err) {
    checkClean(err, `${what}: shapesThrough(${shape})`);
    return;
  }
  if (shapes.some((s) => s.reduce((a, b) => a * b, 1) > 1e5)) return;
  const x = sn.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.cos(i)), shape);
  model.eval();
  try {
    const y = model.forward(x);
    assert.equal(y.shape, shapes.at(-1), `${what}: forward gives the shape shapesThrough promised`);
    assert.is(y.toArray().length, y.size, `${what}: output values`);
  } catch (err) {
    checkClean(err, `${what}: forward on ${shape}`);
  }
}

const MODEL_PART = /header|tensor "|__metadata__|bytes|Uint8Array|architecture|layer \d|state dict|weight/;

test('fuzz: model files (architecture JSON in the metadata): fromSafetensors and loadSafetensors', () => {
  const rand = rng(0x3a7c1f0e);
  const models = baseModels();
  const specs = models.map((m) => io.architectureOf(m));
  const zoo = specs.flatMap((s) => s.layers);
  const files = models.map((m) => m.toSafetensors());
  const fromTally = new Tally('model files (fromSafetensors)');
  const intoTally = new Tally('model files (loadSafetensors)');
  const source = 'fuzz-model.safetensors';
  const before = models.map(stateBits);
  DEEP_ARCHITECTURES.forEach((text, i) => {
    const bytes = io.encodeSafetensors(models[0].stateDict(), { format: 'pt', 'simdnet.architecture': text });
    fuzzCase(fromTally, source, MODEL_PART, `deeply nested architecture ${i}`, () => sn.Sequential.fromSafetensors(bytes, source),
      () => assert.unreachable(`deeply nested architecture ${i} was accepted`));
  });
  for (let i = 0; i < 2500; i++) {
    const k = int(rand, models.length);
    const file = files[k];
    const decoded = io.decodeSafetensors(file);
    let bytes;
    const r = rand();
    if (r < 0.5) { // the architecture metadata
      const text = architectureText(specs[k], rand, zoo);
      let tensors = decoded.tensors;
      let built = null;
      // A small spec that still builds: save that model's own weights, so the file is consistent and loads.
      if (rand() < 0.7 && isSmallSpec(text)) {
        let spec = null;
        try { spec = JSON.parse(text); } catch { /* not JSON: nothing to build */ }
        try { built = spec && io.buildFromArchitecture(spec); } catch (err) { checkClean(err, `model case ${i}: building the spec in the test`); }
      }
      if (built) tensors = built.stateDict();
      bytes = io.encodeSafetensors(tensors, { format: 'pt', 'simdnet.architecture': text });
      built?.dispose();
    } else if (r < 0.7) { // the tensors' header entries
      const { header, data } = splitSafetensors(file);
      bytes = joinSafetensors(rawJson(mutateHeader(header, rand)), data);
    } else if (r < 0.78) { // a valid extra or missing tensor, often named like a member of Object.prototype
      const tensors = { ...decoded.tensors };
      const name = pick(rand, [...PROTO_NAMES, '0.weight', '99.bias', '']);
      if (rand() < 0.7) setOwn(tensors, name, sn.tensor(pick(rand, [[1], [0, 0], [1, 2, 3]])));
      else delete tensors[pick(rand, Object.keys(tensors))];
      bytes = io.encodeSafetensors(tensors, decoded.metadata);
    } else {
      bytes = file;
      for (let m = 1 + int(rand, 3); m > 0; m--) bytes = mutateBytes(bytes, rand, splitSafetensors(file).data.byteOffset);
    }
    const input = asInput(bytes, rand);
    fuzzCase(fromTally, source, MODEL_PART, `model case ${i} (fromSafetensors)`, () => sn.Sequential.fromSafetensors(input, source), (model) => {
      checkModel(model, bytes, `model case ${i} (fromSafetensors)`);
      model.dispose();
    });
    const target = models[k];
    const accepted = fuzzCase(intoTally, source, MODEL_PART, `model case ${i} (loadSafetensors)`, () => { target.loadSafetensors(input, source); return true; },
      () => checkHoldsFile(target, io.decodeSafetensors(bytes), `model case ${i} (loadSafetensors)`));
    if (accepted) before[k] = stateBits(target);
    else assert.equal(stateBits(target), before[k], `model case ${i}: a refused file leaves the model unchanged`);
  }
  for (const m of models) m.dispose();
  fromTally.print();
  intoTally.print();
  assert.ok(fromTally.accepted > 100 && fromTally.refused > 1000, 'the mutations reach both outcomes');
  assert.is({}.polluted, undefined);
  assert.is(Object.prototype.type, undefined);
});

// ---------- model files: zoo records in the metadata ----------

/** Small zoo models, a training step in (running statistics, num_batches_tracked), and their records. */
function zooBases() {
  sn.manualSeed(9);
  const bases = [['resnet20', { numClasses: 3 }], ['mobilenetV2', { widthMult: 0.1, numClasses: 2 }]].map(([name, options]) => {
    const model = sn.models[name](options);
    const optimizer = new sn.SGD(model.parameters(), { lr: 0.01 });
    const x = sn.tensor(Float32Array.from({ length: 4 * 3 * 8 * 8 }, (_, i) => Math.sin(i)), [4, 3, 8, 8]);
    new sn.CrossEntropyLoss().forward(model.forward(x), Int32Array.of(0, 1, 1, 0)).backward();
    optimizer.step();
    optimizer.dispose();
    return { model, record: JSON.parse(io.decodeSafetensors(model.toSafetensors()).metadata['simdnet.zoo']) };
  });
  return bases;
}

const ZOO_NAMES = [...sn.models.ZOO_MODELS, 'resnet99', 'ResNet20', 'lenet5', 'mlp', 'resnet', '', ...PROTO_NAMES];
const ZOO_OPTIONS = ['numClasses', 'widthMult', 'batchNorm', 'depth', 'classes', ...PROTO_NAMES];
const ZOO_VALUES = [1, 2, 3, 10, 100, 1000, 0.1, 0.35, 0.5, 1.4, 16, 1e4, 1e9, 2 ** 40, true, false, 'true', '3', [3], { n: 3 }];

/** One edit of a zoo record (a structured clone, changed in place), or text that is no record. */
function mutateZooRecord(record, rand) {
  const r = rand();
  if (r < 0.2) { // the same record written another way: must load
    const opts = Object.entries(record.options).map(([k, v]) => `${pick(rand, ['', ' ', '\n'])}"${k}":${typeof v === 'number' ? pick(rand, [String(v), `${v}e0`, `${v * 10}e-1`, `${v}.0`]) : String(v)}`);
    if (rand() < 0.5) opts.reverse();
    const parts = [`"model":"${record.model}"`, `"options":{${opts.join(',')}}`];
    if (rand() < 0.5) parts.reverse();
    return ` {${parts.join(pick(rand, [',', ' , ', ',\n']))}} `;
  }
  if (r < 0.26) {
    const text = JSON.stringify(record);
    return pick(rand, [text.slice(0, int(rand, text.length)), 'null', '[]', '"resnet20"', '1', '{}', '', text + 'x',
      text.replace('{', '{"model":"vgg11",'), `{"model":"resnet20","options":${deepArrayText(1 + int(rand, 20000))}}`]);
  }
  const rec = structuredClone(record);
  for (let k = 1 + int(rand, 2); k > 0; k--) {
    const opts = rec.options && typeof rec.options === 'object' && !Array.isArray(rec.options) ? rec.options : (rec.options = {});
    switch (int(rand, 8)) {
      case 0: rec.model = rand() < 0.8 ? pick(rand, ZOO_NAMES) : hostileValue(rand); break;
      case 1: case 2: setOwn(opts, pick(rand, Object.keys(opts).length && rand() < 0.7 ? Object.keys(opts) : ZOO_OPTIONS),
        rand() < 0.6 ? pick(rand, ZOO_VALUES) : hostileValue(rand)); break;
      case 3: delete opts[pick(rand, Object.keys(opts).length ? Object.keys(opts) : ['numClasses'])]; break;
      case 4: setOwn(rec, pick(rand, ['extra', 'architecture', ...PROTO_NAMES]), pick(rand, [1, null, {}, { model: 'vgg11' }])); break;
      case 5: delete rec[pick(rand, ['model', 'options'])]; break;
      case 6: rec.options = pick(rand, [null, [], 'x', 3, [['numClasses', 3]]]); break;
      default: rec.model = pick(rand, sn.models.ZOO_MODELS); // another builder over these weights
    }
  }
  return rawJson(rec);
}

const ZOO_PART = /bytes|Uint8Array|zoo model record|sn\.models\.\w+|"simdnet\.zoo"|tensor "|state dict|weight/;
/** Refusals that come before anything is built: they may take no wasm memory at all. */
const BEFORE_BUILDING = /zoo model record|sn\.models\.\w+: |sn\.models\.\w+\(.*\) needs|"simdnet\.zoo" metadata is not valid JSON/;

test('fuzz: model files (zoo records in the metadata): sn.io.modelFromSafetensors', () => {
  const rand = rng(0x200d1e5);
  const bases = zooBases();
  const tally = new Tally('model files (zoo records)');
  const source = 'fuzz-zoo.safetensors';
  const heap = rt().heap;
  for (let i = 0; i < 400; i++) {
    const { model, record } = pick(rand, bases);
    const text = mutateZooRecord(record, rand);
    const bytes = io.encodeSafetensors(model.stateDict(), { format: 'pt', 'simdnet.zoo': text });
    const inUse = heap.bytesInUse, reserved = heap.bytesReserved;
    const what = `zoo case ${i} (${text.slice(0, 100)})`;
    let refusal = null;
    const loaded = fuzzCase(tally, source, ZOO_PART, what, () => {
      try {
        return io.modelFromSafetensors(asInput(bytes, rand), source);
      } catch (err) {
        refusal = err;
        throw err;
      }
    }, (m) => {
      // Accepted: a record that builds a model whose state dict is exactly the file's.
      checkHoldsFile(m, io.decodeSafetensors(bytes), what);
      const rebuilt = JSON.parse(io.decodeSafetensors(m.toSafetensors()).metadata['simdnet.zoo']);
      assert.ok(sn.models.ZOO_MODELS.includes(rebuilt.model), what);
      const y = sn.noGrad(() => { m.eval(); return m.forward(sn.tensor(new Float32Array(2 * 3 * 8 * 8).fill(0.5), [2, 3, 8, 8])); });
      assert.equal(y.shape, [2, rebuilt.options.numClasses], `${what}: runs`);
      m.dispose();
    });
    if (loaded) continue;
    assert.is(heap.bytesInUse, inUse, `${what}: a refused file leaves no memory taken`);
    if (BEFORE_BUILDING.test(refusal.message)) assert.is(heap.bytesReserved, reserved, `${what}: refused before building, yet the memory grew`);
  }
  for (const b of bases) b.model.dispose();
  tally.print();
  assert.ok(tally.accepted > 50 && tally.refused > 250, 'the mutations reach both outcomes');
  assert.is({}.polluted, undefined);
  assert.is(Object.prototype.model, undefined);
});

// ---------- IDX ----------

const IDX_TYPES = [[0x08, 1, Uint8Array], [0x09, 1, Int8Array], [0x0b, 2, Int16Array], [0x0c, 4, Int32Array], [0x0d, 4, Float32Array], [0x0e, 8, Float64Array]];

function idxFile(rand, [type, bytesPer], dims) {
  const n = dims.reduce((a, b) => a * b, 1);
  const header = new Uint8Array(4 + 4 * dims.length);
  header[2] = type; header[3] = dims.length;
  dims.forEach((d, i) => new DataView(header.buffer).setUint32(4 + 4 * i, d));
  return concat(header, randomBytes(rand, n * bytesPer));
}

test('fuzz: IDX', () => {
  const rand = rng(0x1d8c0de);
  const tally = new Tally('IDX');
  const bases = IDX_TYPES.flatMap((t) => [idxFile(rand, t, [3, 4, 4]), idxFile(rand, t, [5]), idxFile(rand, t, [2, 1, 3, 1])]);
  const source = 'fuzz-idx-ubyte';
  for (let i = 0; i < 2500; i++) {
    const base = pick(rand, bases);
    const rank = base[3];
    const headerBytes = 4 + 4 * rank;
    let bytes = base.slice();
    const r = rand();
    if (r < 0.35) { // one dimension
      new DataView(bytes.buffer).setUint32(4 + 4 * int(rand, rank), pick(rand, SPECIAL_U32));
    } else if (r < 0.5) { // all dimensions: products at 2^31, 2^32 and past 2^53, in u32 arithmetic 0 or the true size
      const dims = pick(rand, [[65536, 65536], [32768, 65536], [65536, 32768, 2], [0x10000, 0x10000, 0x10000, 0x10000],
        [0xffffffff, 0xffffffff, 0xffffffff], [0, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff, 0], [16384, 32768],
        [2 ** 21, 2 ** 21, 2 ** 11], [2 ** 21, 2 ** 21, 2 ** 12], [3, 0x55555556]]);
      bytes = concat(idxFile(rand, IDX_TYPES.find(([t]) => t === base[2]), []).subarray(0, 4), new Uint8Array(4 * dims.length), base.subarray(headerBytes));
      bytes[3] = dims.length;
      dims.forEach((d, j) => new DataView(bytes.buffer).setUint32(4 + 4 * j, d));
    } else if (r < 0.6) { // the type or rank byte
      if (rand() < 0.5) bytes[2] = pick(rand, [0, 0x07, 0x0a, 0x0f, 0xff, ...IDX_TYPES.map(([t]) => t)]);
      else bytes[3] = pick(rand, [0, 1, 2, 3, 4, 5, 63, 64, 255, rank - 1, rank + 1]);
    } else {
      for (let m = 1 + int(rand, 3); m > 0; m--) bytes = mutateBytes(bytes, rand, headerBytes);
    }
    fuzzCase(tally, source, /IDX|bytes|magic|Uint8Array/, `IDX case ${i}`, () => data.readIdx(asInput(bytes, rand), source), (idx) => {
      const [, bytesPer, Ctor] = IDX_TYPES.find(([t]) => t === bytes[2]);
      assert.instance(idx.data, Ctor, `IDX case ${i}: data type`);
      assert.is(idx.shape.length, bytes[3], `IDX case ${i}: rank`);
      const n = idx.shape.reduce((a, b) => a * b, 1);
      assert.is(idx.data.length, n, `IDX case ${i}: the data holds the shape's product of values`);
      assert.is(bytes.length, 4 + 4 * idx.shape.length + n * bytesPer, `IDX case ${i}: every byte is accounted for`);
    });
  }
  tally.print();
  assert.ok(tally.accepted > 50 && tally.refused > 1000, 'the mutations reach both outcomes');
});

// ---------- Kaggle digit CSV ----------

const HEADER_TRAIN = ['label', ...Array.from({ length: 784 }, (_, i) => `pixel${i}`)].join(',');
const HEADER_TEST = Array.from({ length: 784 }, (_, i) => `pixel${i}`).join(',');

function csvText(rand, rows, withLabel) {
  const lines = [withLabel ? HEADER_TRAIN : HEADER_TEST];
  for (let r = 0; r < rows; r++) {
    const cells = Array.from({ length: 784 }, () => (rand() < 0.7 ? 0 : int(rand, 256)));
    lines.push((withLabel ? [int(rand, 10), ...cells] : cells).join(','));
  }
  return lines.join('\n') + '\n';
}

const ODD_CELLS = ['', ' ', ' 5', '5 ', '"5"', '"', '""', '-1', '-0', '+5', '256', '255', '10', '9', 'NaN', 'nan', 'Infinity',
  '1e3', '1e400', '0x1f', '5.0', '.5', '\t7', '\u0000', '\u00a0', '\uff15', '\ud800', '9'.repeat(400), `${'0'.repeat(60)}7`,
  'a,b', '1,2', '\r', 'label', '2147483648', '4294967297', '9007199254740993'];

function mutateCsv(text, rand) {
  const lines = text.split('\n');
  const li = int(rand, lines.length);
  const cells = () => lines[li].split(',');
  switch (int(rand, 9)) {
    case 0: case 1: { const c = cells(); c[int(rand, c.length)] = pick(rand, ODD_CELLS); lines[li] = c.join(','); break; }
    case 2: { const c = cells(); if (rand() < 0.5) c.splice(int(rand, c.length), 1); else c.splice(int(rand, c.length), 0, pick(rand, ['0', '', '7'])); lines[li] = c.join(','); break; }
    case 3: lines.splice(li, pick(rand, [0, 1]), pick(rand, ['', '\r', ',', ' ', lines[li], lines[1] ?? ''])); break;
    case 4: return pick(rand, [text.replace(/\n/g, '\r\n'), `\uFEFF${text}`, text + '\n\n\n', text.trimEnd(), text.replace(/\n/g, '\r'),
      text + '\r\n', text.replace(/,/g, ';'), text.replace(/,/, ', '), text.replace(/^label,/, ''), text.replace(/pixel0/, 'pixel00')]);
    case 5: return text.slice(0, int(rand, text.length));
    case 6: { const at = int(rand, text.length); return text.slice(0, at) + pick(rand, [',', '\n', '\r', '"', ' ', '7', 'a', '\u0000', '\n\n', ',,']) + text.slice(at + int(rand, 2)); }
    case 7: lines.splice(li, 0, ...Array.from({ length: pick(rand, [2, 100, 5000]) }, () => '')); break;
    default: lines[li] = pick(rand, ['label', HEADER_TRAIN, HEADER_TEST, 'x'.repeat(20000), ',,,,', '1,2,3']);
  }
  return lines.join('\n');
}

test('fuzz: Kaggle digit CSV', () => {
  const rand = rng(0xc5b1d617);
  const tally = new Tally('CSV');
  const bases = [csvText(rand, 2, true), csvText(rand, 3, false), csvText(rand, 1, true)];
  const source = 'fuzz-train.csv';
  for (let i = 0; i < 1500; i++) {
    let text = pick(rand, bases);
    for (let m = 1 + int(rand, 2); m > 0; m--) text = mutateCsv(text, rand);
    const normalize = rand() < 0.5;
    const input = rand() < 0.03 ? pick(rand, [Buffer.from(text), null, 42, [text], { text }]) : text;
    fuzzCase(tally, source, /line \d+|header|empty|string/, `CSV case ${i}`, () => data.readDigitCsv(input, source, { normalize }), ({ images, labels }) => {
      const rows = images.shape[0];
      assert.equal(images.shape, [rows, 1, 28, 28], `CSV case ${i}: image shape`);
      const values = images.toArray();
      assert.is(values.length, rows * 784, `CSV case ${i}: values`);
      const lo = normalize ? -0.43 : 0, hi = normalize ? 2.83 : 1;
      assert.ok(values.every((v) => v >= lo && v <= hi), `CSV case ${i}: pixels in range`);
      if (labels) {
        assert.is(labels.length, rows, `CSV case ${i}: one label per row`);
        assert.ok(labels.every((l) => l >= 0 && l <= 9), `CSV case ${i}: labels 0..9`);
      }
      const dataLines = text.replace(/^\uFEFF/, '').split('\n').slice(1).filter((l) => l.replace(/\r$/, '') !== '');
      assert.is(rows, dataLines.length, `CSV case ${i}: one image per data line`);
    });
  }
  tally.print();
  assert.ok(tally.accepted > 50 && tally.refused > 500, 'the mutations reach both outcomes');
});

// ---------- CIFAR-10 binary ----------

test('fuzz: CIFAR-10 binary', () => {
  const rand = rng(0xc1fa510);
  const tally = new Tally('CIFAR-10');
  const record = () => concat(Uint8Array.of(int(rand, 10)), randomBytes(rand, 3072));
  const bases = [record(), concat(record(), record()), concat(record(), record(), record())];
  const source = 'fuzz_batch.bin';
  for (let i = 0; i < 1000; i++) {
    let bytes = pick(rand, bases).slice();
    const r = rand();
    if (r < 0.3) bytes[3073 * int(rand, bytes.length / 3073)] = pick(rand, [0, 9, 10, 11, 127, 128, 255]);
    else if (r < 0.45) bytes = bytes.subarray(0, bytes.length - pick(rand, [1, 2, 3072, 3073, 3074, bytes.length]));
    else for (let m = 1 + int(rand, 3); m > 0; m--) bytes = mutateBytes(bytes, rand, bytes.length);
    fuzzCase(tally, source, /record \d+|bytes|Uint8Array/, `CIFAR case ${i}`, () => data.readCifar10(asInput(bytes, rand), source), ({ images, labels }) => {
      const n = bytes.length / 3073;
      assert.equal(images.shape, [n, 3, 32, 32], `CIFAR case ${i}: shape`);
      assert.is(labels.length, n, `CIFAR case ${i}: labels`);
      assert.ok(labels.every((l) => l >= 0 && l <= 9), `CIFAR case ${i}: labels 0..9`);
      assert.ok(images.toArray().every((v) => v >= 0 && v <= 1), `CIFAR case ${i}: pixels in [0, 1]`);
    });
  }
  tally.print();
  assert.ok(tally.accepted > 100 && tally.refused > 300, 'the mutations reach both outcomes');
});

test.run();
