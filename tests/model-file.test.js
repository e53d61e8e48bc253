// Model files: bit-exact round trips with the architecture in the metadata, files laid out as
// PyTorch's safetensors writes them, mismatched and hostile files refused with the model left
// unchanged, and atomic saves on disk.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as sn from 'simdnet';
import { rng, freshSeed, randn } from './helpers.js';

await sn.ready();
const { io } = sn;

const lenet = () => new sn.Sequential(
  new sn.Conv2d(1, 6, 5, { padding: 2 }), new sn.ReLU(), new sn.MaxPool2d(2, { stride: 2 }),
  new sn.Conv2d(6, 16, 5), new sn.ReLU(), new sn.MaxPool2d(2),
  new sn.Flatten(), new sn.Linear(400, 120), new sn.ReLU(), new sn.Linear(120, 84), new sn.ReLU(),
  new sn.Linear(84, 10));

/** Every layer type with non-default options; input [N, 2, 9, 8]. */
const everyLayer = () => new sn.Sequential(
  new sn.Conv2d(2, 4, 3, { padding: 'same', dilation: 2 }),
  new sn.BatchNorm2d(4, { momentum: null }),
  new sn.LeakyReLU(0.2),
  new sn.Conv2d(4, 8, [3, 2], { groups: 2, stride: [2, 1], padding: [1, 0], bias: false }),
  new sn.MaxPool2d(2, { stride: 1, padding: 1, dilation: [1, 2], ceilMode: true }),
  new sn.Sequential(
    new sn.Conv2d(8, 8, 1, { padding: 'valid', groups: 8 }),
    new sn.BatchNorm2d(8, { affine: false }),
    new sn.Tanh(),
    new sn.AvgPool2d([2, 2], { stride: 1, padding: [1, 0], ceilMode: true, countIncludePad: false, divisorOverride: 3 })),
  new sn.AdaptiveAvgPool2d([3, 2]),
  new sn.Sigmoid(), new sn.ReLU(),
  new sn.Flatten(1, -1),
  new sn.Linear(48, 16), new sn.BatchNorm1d(16, { eps: 1e-3, momentum: 0.2 }), new sn.Dropout(0.25),
  new sn.Linear(16, 10, { bias: false }), new sn.Softmax(1), new sn.LogSoftmax(-1));
const EVERY_INPUT = [2, 9, 8];

const input = (shape, seed) => sn.tensor(Float32Array.from(randn(shape.reduce((a, b) => a * b, 1), rng(seed))), shape);

/** A model after a few training-mode forwards: running stats and num_batches_tracked are not the initial ones. */
function trainedEveryLayer(seed) {
  sn.manualSeed(seed);
  const model = everyLayer();
  for (let k = 0; k < 3; k++) model.forward(input([4, ...EVERY_INPUT], seed + k));
  return model;
}

/** State dict as bit patterns (float32 as uint32, int64 as decimal strings), in order. */
function stateBits(model) {
  return Object.entries(model.stateDict()).map(([k, t]) =>
    [k, t.dtype, t.shape, t.dtype === 'int64' ? Array.from(t.toInt64Array(), String) : Array.from(new Uint32Array(t.toArray().buffer))]);
}

const outputBits = (model, x) => Array.from(new Uint32Array(model.eval().forward(x).toArray().buffer));

function assertSameModel(a, b, x, what) {
  assert.is(String(b), String(a), `${what}: architecture`);
  assert.equal(stateBits(b), stateBits(a), `${what}: state dict bits`);
  assert.equal(outputBits(b, x), outputBits(a, x), `${what}: eval outputs`);
}

test('LeNet-5: modelToSafetensors → modelFromSafetensors is bit-exact', () => {
  const seed = freshSeed();
  sn.manualSeed(seed);
  const a = lenet();
  const b = io.modelFromSafetensors(io.modelToSafetensors(a));
  assert.instance(b, sn.Sequential);
  assertSameModel(a, b, input([3, 1, 28, 28], seed), `seed ${seed}`);
});

test('every layer type, trained BatchNorm statistics and a nested Sequential round-trip bit-exactly', () => {
  const seed = freshSeed();
  const a = trainedEveryLayer(seed);
  const dict = a.stateDict();
  assert.equal(Array.from(dict['1.num_batches_tracked'].toInt64Array()), [3n]);
  assert.ok(dict['1.running_mean'].toArray().some((v) => v !== 0), 'running_mean should have moved');
  assert.ok('5.1.running_var' in dict && !('5.1.weight' in dict), 'nested names, affine=False has no weight');
  const bytes = io.modelToSafetensors(a);
  const b = io.modelFromSafetensors(bytes);
  assertSameModel(a, b, input([3, ...EVERY_INPUT], seed + 7), `seed ${seed}`);
  // Options that toString does not show survive too.
  assert.equal(io.architectureOf(b), io.architectureOf(a));
  const layers = io.architectureOf(a).layers;
  assert.equal(layers[0], { type: 'Conv2d', inChannels: 2, outChannels: 4, kernelSize: [3, 3], stride: [1, 1], padding: 'same', dilation: [2, 2], groups: 1, bias: true });
  assert.equal(layers[1], { type: 'BatchNorm2d', numFeatures: 4, eps: 1e-5, momentum: null, affine: true, trackRunningStats: true });
  assert.equal(layers[4], { type: 'MaxPool2d', kernelSize: 2, stride: 1, padding: 1, dilation: [1, 2], ceilMode: true });
  assert.equal(layers[5].layers[3], { type: 'AvgPool2d', kernelSize: [2, 2], stride: 1, padding: [1, 0], ceilMode: true, countIncludePad: false, divisorOverride: 3 });
  assert.equal(layers[12], { type: 'Dropout', p: 0.25 });
  assert.equal(layers.at(-1), { type: 'LogSoftmax', dim: -1 });
});

test('Identity, ReLU6, Hardswish, SiLU, GELU (both forms), ELU and Dropout2d round-trip through a file, options included', () => {
  const seed = freshSeed();
  sn.manualSeed(seed);
  const a = new sn.Sequential(
    new sn.Conv2d(2, 4, 3, { padding: 1 }), new sn.Dropout2d(0.1), new sn.ReLU6(), new sn.Identity(),
    new sn.Sequential(new sn.Hardswish(), new sn.SiLU(), new sn.GELU({ approximate: 'tanh' })),
    new sn.Flatten(), new sn.Linear(4 * 3 * 3, 5), new sn.GELU(), new sn.ELU(0.5));
  const b = io.modelFromSafetensors(io.modelToSafetensors(a));
  assertSameModel(a, b, input([2, 2, 3, 3], seed), `seed ${seed}`);
  const layers = io.architectureOf(b).layers;
  assert.equal(layers[1], { type: 'Dropout2d', p: 0.1 });
  assert.equal(layers[3], { type: 'Identity' });
  assert.equal(layers[4].layers, [{ type: 'Hardswish' }, { type: 'SiLU' }, { type: 'GELU', approximate: 'tanh' }]);
  assert.equal(layers.slice(-2), [{ type: 'GELU', approximate: 'none' }, { type: 'ELU', alpha: 0.5 }]);
  // A file's values for the new fields are checked as any other's.
  const spec = io.architectureOf(a);
  spec.layers[7].approximate = 'erf';
  assert.throws(() => io.buildFromArchitecture(spec), /^architecture: layer 7 \(GELU\): GELU: approximate must be 'none' or 'tanh', got the string 'erf'$/);
  spec.layers[7].approximate = 1;
  assert.throws(() => io.validateArchitecture(spec), /^architecture: layer 7 \(GELU\): field "approximate" must be a string, got 1$/);
  spec.layers[7].approximate = 'none';
  spec.layers[8].alpha = 'big';
  assert.throws(() => io.validateArchitecture(spec), /^architecture: layer 8 \(ELU\): field "alpha" must be a finite number, got "big"$/);
});

test('the file is plain safetensors: format "pt", PyTorch names, F32 weights and I64 num_batches_tracked', () => {
  const model = trainedEveryLayer(freshSeed());
  const bytes = io.modelToSafetensors(model);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assert.is(header.__metadata__.format, 'pt');
  const spec = JSON.parse(header.__metadata__['simdnet.architecture']);
  assert.is(spec.format, 'simdnet.sequential');
  assert.is(spec.version, 1);
  assert.equal(Object.keys(header).slice(1), Object.keys(model.stateDict()));
  assert.equal(header['1.num_batches_tracked'], { dtype: 'I64', shape: [], data_offsets: header['1.num_batches_tracked'].data_offsets });
  assert.is(header['0.weight'].dtype, 'F32');
  assert.equal(header['3.weight'].shape, [8, 2, 3, 2]);
});

/** Little-endian bytes of float32 or int64 values. */
function leBytes(values) {
  const isInt = values instanceof BigInt64Array;
  const dv = new DataView(new ArrayBuffer(values.length * (isInt ? 8 : 4)));
  values.forEach((v, i) => (isInt ? dv.setBigInt64(i * 8, v, true) : dv.setFloat32(i * 4, v, true)));
  return new Uint8Array(dv.buffer);
}

/**
 * A file laid out as Python's safetensors writes it: header keys sorted by name, only
 * { format: 'pt' } as metadata, data ordered by alignment (I64 first) and then name.
 */
function pytorchStyleFile(entries) {
  const names = Object.keys(entries).sort();
  const dataOrder = [...names].sort((a, b) => (entries[b].dtype === 'I64') - (entries[a].dtype === 'I64') || (a < b ? -1 : 1));
  const offsets = {};
  let at = 0;
  const chunks = dataOrder.map((name) => {
    const raw = leBytes(entries[name].values);
    offsets[name] = [at, at + raw.length];
    at += raw.length;
    return raw;
  });
  const header = { __metadata__: { format: 'pt' } };
  for (const name of names) header[name] = { dtype: entries[name].dtype, shape: entries[name].shape, data_offsets: offsets[name] };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let p = 8 + head.length;
  for (const c of chunks) { out.set(c, p); p += c.length; }
  return out;
}

/** Fresh values for every entry of a model's state dict, as a PyTorch model of that shape would hold. */
function randomEntries(model, seed) {
  const rand = rng(seed);
  const entries = {};
  for (const [name, t] of Object.entries(model.stateDict())) {
    entries[name] = t.dtype === 'int64'
      ? { dtype: 'I64', shape: [...t.shape], values: BigInt64Array.of(BigInt(Math.floor(rand() * 1000))) }
      : { dtype: 'F32', shape: [...t.shape], values: Float32Array.from(randn(t.size, rand)).map((v) => (name.endsWith('running_var') ? Math.abs(v) + 0.5 : v)) };
  }
  return entries;
}

test('a file written as PyTorch does (sorted names, data by dtype, no architecture) loads into the equivalent model', () => {
  const seed = freshSeed();
  for (const make of [lenet, everyLayer]) {
    const model = make();
    const entries = randomEntries(model, seed);
    io.loadSafetensorsInto(model, pytorchStyleFile(entries), 'model.safetensors');
    const loaded = Object.entries(model.stateDict());
    assert.is(loaded.length, Object.keys(entries).length);
    for (const [name, t] of loaded) {
      const want = entries[name].values;
      if (t.dtype === 'int64') assert.equal(Array.from(t.toInt64Array()), Array.from(want), name);
      else assert.equal(Array.from(new Uint32Array(t.toArray().buffer)), Array.from(new Uint32Array(want.buffer)), `seed ${seed}: ${name}`);
    }
    // Written back by us and read again: the same model.
    const again = io.modelFromSafetensors(io.modelToSafetensors(model));
    assertSameModel(model, again, input(make === lenet ? [2, 1, 28, 28] : [2, ...EVERY_INPUT], seed), `seed ${seed}`);
  }
});

test('F16, BF16 and F64 weights are widened or rounded to float32, as torch would copy them', () => {
  const model = new sn.Sequential(new sn.Linear(2, 1));
  const head = (h) => { let j = JSON.stringify(h); j += ' '.repeat((8 - (j.length % 8)) % 8); return new TextEncoder().encode(j); };
  const header = head({ '0.weight': { dtype: 'F16', shape: [1, 2], data_offsets: [0, 4] }, '0.bias': { dtype: 'F64', shape: [1], data_offsets: [4, 12] } });
  const data = new DataView(new ArrayBuffer(12));
  data.setUint16(0, 0x3c00, true); // 1.0
  data.setUint16(2, 0xc000, true); // -2.0
  data.setFloat64(4, 0.1, true);
  const bytes = new Uint8Array(8 + header.length + 12);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
  bytes.set(header, 8);
  bytes.set(new Uint8Array(data.buffer), 8 + header.length);
  io.loadSafetensorsInto(model, bytes);
  assert.equal(Array.from(model.stateDict()['0.weight'].toArray()), [1, -2]);
  assert.equal(Array.from(model.stateDict()['0.bias'].toArray()), [Math.fround(0.1)]);
});

test('mismatched files throw naming the tensor and the source, and leave the model unchanged', () => {
  const seed = freshSeed();
  const model = trainedEveryLayer(seed);
  const before = stateBits(model);
  const good = trainedEveryLayer(seed + 1).stateDict();
  const cases = [
    ['missing tensor', (d) => { delete d['10.bias']; }, /m\.safetensors: .*missing 10\.bias/],
    ['extra tensor', (d) => { d['16.weight'] = sn.tensor([1], [1]); }, /m\.safetensors: .*unexpected 16\.weight/],
    ['wrong shape', (d) => { d['10.weight'] = sn.tensor(new Float32Array(16 * 49), [16, 49]); }, /m\.safetensors: .*10\.weight has shape \[16, 49\], the model expects \[16, 48\]/],
    ['I64 where F32 is expected', (d) => { d['0.bias'] = new sn.Tensor([4], new BigInt64Array(4)); }, /m\.safetensors: tensor "0\.bias" is I64 in the file, the model expects a floating-point/],
    ['F32 where I64 is expected', (d) => { d['1.num_batches_tracked'] = sn.tensor([3], []); }, /m\.safetensors: tensor "1\.num_batches_tracked" is F32 in the file, the model expects I64/],
    ['non-finite weight', (d) => { const v = d['13.weight'].toArray(); v[5] = NaN; d['13.weight'] = sn.tensor(v, [10, 16]); }, /m\.safetensors: .*13\.weight holds a non-finite value at index 5/],
  ];
  for (const [what, change, message] of cases) {
    const dict = { ...good };
    change(dict);
    const bytes = io.encodeSafetensors(dict, { format: 'pt' });
    assert.throws(() => io.loadSafetensorsInto(model, bytes, 'm.safetensors'), message, what);
    assert.equal(stateBits(model), before, `${what}: the model changed`);
  }
  const whole = io.modelToSafetensors(trainedEveryLayer(seed + 2));
  assert.throws(() => io.loadSafetensorsInto(model, whole.subarray(0, whole.length - 3), 'm.safetensors'), /m\.safetensors: /);
  assert.throws(() => io.loadSafetensorsInto(lenet(), whole, 'm.safetensors'), /missing 0\.weight|unexpected/);
  assert.equal(stateBits(model), before);
  // A file of the right shapes loads.
  io.loadSafetensorsInto(model, whole);
  assert.not.equal(stateBits(model), before);
});

const PROTO_KEYS = ['constructor', 'toString', 'hasOwnProperty', '__proto__'];
const withOwn = (dict, key, value) => Object.defineProperty({ ...dict }, key, { value, enumerable: true, writable: true, configurable: true });

/** A module whose parameters are named like Object.prototype's members. */
class ProtoNamed extends sn.Module {
  constructor() {
    super();
    PROTO_KEYS.forEach((name, i) => this.addParameter(name, [2], Float32Array.of(i, -i)));
  }
  toString() { return 'ProtoNamed()'; }
  outputShape(shape) { return [...shape]; }
  forwardDevice(x) { return x; }
  backwardDevice(dy) { return dy; }
}

test('keys named constructor, toString, hasOwnProperty or __proto__ are ordinary keys: strict loads refuse them as unexpected, or report them missing, and change nothing', () => {
  const model = trainedEveryLayer(freshSeed());
  const before = stateBits(model);
  const good = model.stateDict();
  for (const key of PROTO_KEYS) {
    const dict = withOwn(good, key, sn.tensor([1]));
    assert.throws(() => model.loadStateDict(dict), new RegExp(`^loadStateDict: the state dict does not match the model: unexpected ${key}$`), `loadStateDict, extra ${key}`);
    const file = io.encodeSafetensors(dict, { format: 'pt' });
    assert.throws(() => io.loadSafetensorsInto(model, file, 'p.safetensors'), new RegExp(`^p\\.safetensors: loadStateDict: .*: unexpected ${key}$`), `loadSafetensors, extra ${key}`);
    const whole = io.encodeSafetensors(dict, { format: 'pt', 'simdnet.architecture': JSON.stringify(io.architectureOf(model)) });
    assert.throws(() => sn.Sequential.fromSafetensors(whole, 'p.safetensors'), new RegExp(`^p\\.safetensors: loadStateDict: .*: unexpected ${key}$`), `fromSafetensors, extra ${key}`);
    assert.equal(stateBits(model), before, `extra ${key}: the model changed`);
  }

  // The same names as real entries: a state dict holds them as own keys, a load finds them only when they are there.
  const named = new ProtoNamed();
  const dict = named.stateDict();
  assert.equal(Object.keys(dict), PROTO_KEYS);
  assert.is(Object.getPrototypeOf(dict), Object.prototype, 'an entry named __proto__ did not replace the prototype');
  const namedBefore = stateBits(named);
  assert.throws(() => named.loadStateDict({}), /^loadStateDict: the state dict does not match the model: missing constructor, toString, hasOwnProperty, __proto__$/);
  const allButProto = Object.fromEntries(Object.entries(dict).filter(([k]) => k !== '__proto__'));
  assert.throws(() => named.loadStateDict(allButProto), /: missing __proto__$/);
  assert.throws(() => io.loadSafetensorsInto(named, io.encodeSafetensors({}), 'n.safetensors'), /^n\.safetensors: loadStateDict: .*missing constructor, toString, hasOwnProperty, __proto__$/);
  named.loadStateDict({}, { strict: false });
  assert.equal(stateBits(named), namedBefore, 'refused and non-strict empty loads change nothing');
  // A file written from it loads back, __proto__ included.
  const other = new ProtoNamed();
  other.parameters().forEach((p) => p.data.view().fill(7));
  io.loadSafetensorsInto(named, io.encodeSafetensors(other.stateDict()));
  assert.equal(Object.values(named.stateDict()).map((t) => Array.from(t.toArray())), PROTO_KEYS.map(() => [7, 7]));
  assert.is({}.polluted, undefined);
  assert.is(typeof {}.constructor, 'function');
});

test('model files may come as an ArrayBuffer or any ArrayBufferView; other input is refused naming the types, the model unchanged', () => {
  const model = trainedEveryLayer(freshSeed());
  const bytes = model.toSafetensors();
  const padded = new Uint8Array(bytes.length + 1);
  padded.set(bytes, 1);
  for (const [what, input] of [['ArrayBuffer', bytes.slice().buffer], ['DataView at an offset', new DataView(padded.buffer, 1)]]) {
    assert.equal(stateBits(sn.Sequential.fromSafetensors(input, what)), stateBits(model), what);
    model.loadSafetensors(input, what);
  }
  const before = stateBits(model);
  const types = 'a Uint8Array \\(a Node Buffer is one\\), an ArrayBuffer or another ArrayBufferView holding the file\'s bytes';
  for (const [input, type] of [[Array.from(bytes), `an Array of ${bytes.length} numbers`], ['m.safetensors', "the string 'm.safetensors'"], [null, 'null']]) {
    assert.throws(() => sn.Sequential.fromSafetensors(input, 'm.safetensors'), new RegExp(`^m\\.safetensors: fromSafetensors expects ${types}, got ${type}$`), type);
    assert.throws(() => model.loadSafetensors(input, 'm.safetensors'), new RegExp(`^m\\.safetensors: loadSafetensors expects ${types}, got ${type}$`), type);
  }
  assert.equal(stateBits(model), before);
});

test('modelFromSafetensors on a weights-only file says to load it into a model built in code', () => {
  const bytes = io.encodeSafetensors(lenet().stateDict(), { format: 'pt' });
  assert.throws(() => io.modelFromSafetensors(bytes, 'weights.safetensors'),
    (e) => /^weights\.safetensors: .*no architecture/.test(e.message) && /model\.loadSafetensors\(bytes\)/.test(e.message));
  assert.throws(() => io.modelFromSafetensors(io.encodeSafetensors(lenet().stateDict())), /no architecture/);
});

/** LeNet's weights with the architecture metadata replaced by `text`. */
const withArchitecture = (text, dict = lenet().stateDict()) => io.encodeSafetensors(dict, { format: 'pt', 'simdnet.architecture': text });
const lenetSpec = () => io.architectureOf(lenet());

test('hostile or broken architecture metadata throws naming the layer and field, and builds nothing', () => {
  const cases = [
    ['not JSON', 'Sequential(Conv2d(1, 6, 5))', /f\.st: the "simdnet\.architecture" metadata is not valid JSON/],
    ['an array', '[]', /f\.st: architecture: expected an object/],
    ['wrong format', JSON.stringify({ ...lenetSpec(), format: 'keras' }), /"format" must be "simdnet\.sequential"/],
    ['newer version', JSON.stringify({ ...lenetSpec(), version: 2 }), /version 2 was written by a newer simdnet/],
    ['layers not an array', JSON.stringify({ ...lenetSpec(), layers: { 0: { type: 'ReLU' }, length: 1 } }), /"layers" must be an array/],
    ['unknown type', JSON.stringify({ ...lenetSpec(), layers: [{ type: 'Evil' }] }), /layer 0: unknown layer type "Evil"/],
    ['"constructor" as type', JSON.stringify({ ...lenetSpec(), layers: [{ type: 'constructor' }] }), /layer 0: unknown layer type "constructor"/],
    ['"__proto__" as type', JSON.stringify({ ...lenetSpec(), layers: [{ type: '__proto__' }] }), /layer 0: unknown layer type "__proto__"/],
    ['"toString" as type', JSON.stringify({ ...lenetSpec(), layers: [{ type: 'toString' }] }), /unknown layer type "toString"/],
    ['missing type', JSON.stringify({ ...lenetSpec(), layers: [{ inChannels: 1 }] }), /layer 0: missing field "type"/],
  ];
  const layerCase = (what, i, change, message) => {
    const spec = lenetSpec();
    change(spec.layers[i]);
    cases.push([what, JSON.stringify(spec), message]);
  };
  layerCase('ill-typed field', 3, (l) => { l.stride = 'x'; }, /layer 3 \(Conv2d\): field "stride" must be an integer or a pair/);
  layerCase('fractional field', 7, (l) => { l.inFeatures = 400.5; }, /layer 7 \(Linear\): field "inFeatures" must be an integer, got 400\.5/);
  layerCase('string number', 7, (l) => { l.inFeatures = '400'; }, /layer 7 \(Linear\): field "inFeatures" must be an integer, got "400"/);
  layerCase('triple for a pair', 0, (l) => { l.kernelSize = [5, 5, 5]; }, /layer 0 \(Conv2d\): field "kernelSize"/);
  layerCase('missing field', 0, (l) => { delete l.inChannels; }, /layer 0 \(Conv2d\): missing field "inChannels"/);
  layerCase('extra field', 1, (l) => { l.inplace = true; }, /layer 1 \(ReLU\): unexpected field "inplace"/);
  layerCase('out-of-range value', 0, (l) => { l.inChannels = 0; }, /layer 0 \(Conv2d\): Conv2d: in_channels must be a positive integer, got 0/);
  layerCase('bad padding string', 0, (l) => { l.padding = 'full'; }, /layer 0 \(Conv2d\): field "padding"/);
  // JSON.parse makes "__proto__" an own key: it must be refused as a field, not become a prototype.
  const proto = JSON.stringify(lenetSpec()).replace('{"type":"ReLU"', '{"__proto__":{"type":"Linear","polluted":true},"type":"ReLU"');
  cases.push(['__proto__ in a layer', proto, /layer 1 \(ReLU\): unexpected field "__proto__"/]);
  cases.push(['__proto__ at the top', JSON.stringify(lenetSpec()).replace('{', '{"__proto__":{"layers":[]},'), /unexpected field "__proto__"/]);
  // Small file, enormous model: refused before anything is allocated.
  cases.push(['huge layer', JSON.stringify({ ...lenetSpec(), layers: [{ type: 'Linear', inFeatures: 1e6, outFeatures: 1e6, bias: true }] }),
    /architecture needs 1000001000000 weight and buffer values, the file holds 61706/]);
  let deep = { type: 'ReLU' };
  for (let i = 0; i < 200; i++) deep = { type: 'Sequential', layers: [deep] };
  cases.push(['nesting too deep', JSON.stringify({ ...lenetSpec(), layers: [deep] }), /nested more than 32 deep/]);
  const nested = { ...lenetSpec(), layers: [{ type: 'Sequential', layers: [{ type: 'ReLU' }, { type: 'Flatten', startDim: 1 }] }] };
  cases.push(['nested missing field', JSON.stringify(nested), /layer 0\.1 \(Flatten\): missing field "endDim"/]);

  for (const [what, text, message] of cases) {
    assert.throws(() => io.modelFromSafetensors(withArchitecture(text), 'f.st'), (e) => e.message.startsWith('f.st: ') && message.test(e.message), what);
  }
  assert.is({}.polluted, undefined);
  assert.is(Object.prototype.type, undefined);
});

test('buildFromArchitecture: objects with inherited fields or odd prototypes are refused; a valid spec builds', () => {
  const relu = Object.create({ type: 'ReLU' });
  assert.throws(() => io.buildFromArchitecture({ format: 'simdnet.sequential', version: 1, layers: [relu] }), /layer 0: expected an object/);
  const inherited = Object.assign(Object.create({ layers: [] }), { format: 'simdnet.sequential', version: 1 });
  assert.throws(() => io.buildFromArchitecture(inherited), /expected an object/);
  assert.throws(() => io.buildFromArchitecture(null), /expected an object/);
  const model = io.buildFromArchitecture(JSON.parse(JSON.stringify(lenetSpec())));
  assert.is(String(model), String(lenet()));
});

test('architecture specs: nothing recurses with the input, nothing is read from Object.prototype, messages stay short', () => {
  const spec = (layers) => ({ format: 'simdnet.sequential', version: 1, layers });
  // 20,000 levels of Sequential, built in code: refused at level 32, without a stack overflow.
  let deep = { type: 'ReLU' };
  for (let i = 0; i < 20000; i++) deep = { type: 'Sequential', layers: [deep] };
  assert.throws(() => io.validateArchitecture(spec([deep])), /^architecture: layer 0(\.0){31} \(Sequential\): "layers": Sequential nested more than 32 deep$/);
  assert.throws(() => io.buildFromArchitecture(spec([deep])), /nested more than 32 deep/);
  // A field value nested as deep: named, and previewed a few levels deep only.
  let value = 1;
  for (let i = 0; i < 20000; i++) value = [value];
  assert.throws(() => io.validateArchitecture(spec([{ type: 'Linear', inFeatures: value, outFeatures: 2, bias: true }])),
    /^architecture: layer 0 \(Linear\): field "inFeatures" must be an integer, got \[\[\[\[\[\.\.\.\]\]\]\]\]$/);
  assert.throws(() => io.validateArchitecture(spec(Array.from({ length: 10001 }, () => ({ type: 'ReLU' })))), /^architecture: more than 10000 layers$/);
  const longKey = 'k'.repeat(5000);
  assert.throws(() => io.validateArchitecture(spec([{ type: 'ReLU', [longKey]: 1 }])), (e) => e.message.length < 200 && /unexpected field "k{60}"\.\.\. \(5000 characters\)/.test(e.message));
  // Fields inherited from a polluted Object.prototype are not the spec's.
  const polluted = { layers: [{ type: 'ReLU' }], inFeatures: 4, outFeatures: 2, bias: true, type: 'ReLU' };
  try {
    Object.assign(Object.prototype, polluted);
    assert.throws(() => io.validateArchitecture({ format: 'simdnet.sequential', version: 1 }), /^architecture: "layers" must be an array, got undefined$/);
    assert.throws(() => io.validateArchitecture(spec([{ type: 'Linear' }])), /^architecture: layer 0 \(Linear\): missing field "inFeatures"$/);
    assert.throws(() => io.validateArchitecture(spec([{}])), /^architecture: layer 0: missing field "type"$/);
  } finally {
    for (const key of Object.keys(polluted)) delete Object.prototype[key];
  }
  assert.is({}.layers, undefined);
});

test('architectureOf refuses layers it could not rebuild: custom modules and subclasses', () => {
  class Custom extends sn.Module {
    toString() { return 'Custom()'; }
    outputShape(s) { return [...s]; }
    forwardDevice(x) { return x; }
    backwardDevice(dy) { return dy; }
  }
  class MyReLU extends sn.ReLU {}
  assert.throws(() => io.architectureOf(new sn.Sequential(new sn.Linear(2, 2), new Custom())), /layer 1 Custom\(\) is not a built-in layer type/);
  assert.throws(() => io.architectureOf(new sn.Sequential(new sn.Sequential(new MyReLU()))), /layer 0\.0 ReLU\(\) is not a built-in layer type/);
  assert.throws(() => io.architectureOf(new sn.Linear(2, 2)), /expected a Sequential/);
  // Such models are saved with their weights and class name, and load into an instance built in code.
  for (const [model, name] of [[new sn.Sequential(new sn.Linear(2, 2), new Custom()), 'Sequential (2 layers)'], [new sn.Linear(2, 2), 'Linear(in_features=2, out_features=2, bias=True)']]) {
    const bytes = io.modelToSafetensors(model);
    const { metadata } = io.decodeSafetensors(bytes);
    assert.is(metadata['simdnet.module'], name);
    assert.not.ok('simdnet.architecture' in metadata, 'no architecture a file could not rebuild');
    assert.throws(() => sn.Sequential.fromSafetensors(bytes, 'c.safetensors'),
      new RegExp(`^c\\.safetensors: the file has the weights of "${name.replace(/[()]/g, '\\$&')}", a module whose class only your code has; build the model in code and load the weights into it with sn\\.load\\(source, \\{ into: model \\}\\) or model\\.loadSafetensors\\(bytes\\)$`));
  }
  assert.is(io.layerTypeOf(new sn.BatchNorm1d(2)), 'BatchNorm1d');
  assert.is(io.layerTypeOf(new sn.LogSoftmax()), 'LogSoftmax');
  assert.is(io.layerTypeOf(new sn.Sequential()), 'Sequential');
  assert.is(io.layerTypeOf(new MyReLU()), null);
});

test('a model with a NaN weight is not saved', () => {
  const model = new sn.Sequential(new sn.Linear(2, 2));
  model.stateDict()['0.bias'].view()[1] = NaN;
  assert.throws(() => io.modelToSafetensors(model), /0\.bias holds a non-finite value at index 1; the model was not saved/);
});

// ---- files on disk ----

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'simdnet-model-'));

test('saveModel / loadModel / loadModelInto round-trip through a file', async () => {
  const dir = tempDir();
  try {
    const seed = freshSeed();
    const a = trainedEveryLayer(seed);
    const file = path.join(dir, 'every.safetensors');
    await io.saveModel(a, file);
    const b = await io.loadModel(file);
    assertSameModel(a, b, input([2, ...EVERY_INPUT], seed), `seed ${seed}`);
    const c = everyLayer();
    await io.loadModelInto(c, file);
    assert.equal(stateBits(c), stateBits(a));
    // A PyTorch-written file on disk loads into a model built in code.
    const torchFile = path.join(dir, 'torch.safetensors');
    const entries = randomEntries(lenet(), seed);
    fs.writeFileSync(torchFile, pytorchStyleFile(entries));
    const d = lenet();
    await io.loadModelInto(d, torchFile);
    assert.equal(Array.from(d.stateDict()['11.bias'].toArray()), Array.from(entries['11.bias'].values));
    await rejects(() => io.loadModel(torchFile), /torch\.safetensors: the file has weights but no architecture/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

async function rejects(f, message) {
  try {
    await f();
  } catch (e) {
    assert.ok(message.test(e.message), `unexpected message: ${e.message}`);
    return e;
  }
  assert.unreachable('expected a rejection');
}

test('saveModel overwrites atomically and leaves no temporary files', async () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'm.safetensors');
    await io.saveModel(lenet(), file);
    const second = trainedEveryLayer(freshSeed());
    await io.saveModel(second, file);
    assert.equal(fs.readdirSync(dir), ['m.safetensors']);
    assert.equal(stateBits(await io.loadModel(file)), stateBits(second));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('failing saves throw naming the path and leave no partial or temporary file', async () => {
  const dir = tempDir();
  try {
    const missingDir = path.join(dir, 'no-such-dir', 'm.safetensors');
    await rejects(() => io.saveModel(lenet(), missingDir), /saveModel: cannot write .*no-such-dir[/\\]m\.safetensors/);
    assert.equal(fs.readdirSync(dir), []);
    // The rename fails (a directory is in the way) after the temporary file was written: it is removed.
    const blocked = path.join(dir, 'blocked');
    fs.mkdirSync(blocked);
    fs.writeFileSync(path.join(blocked, 'keep'), 'x');
    await rejects(() => io.saveModel(lenet(), blocked), /saveModel: cannot write .*blocked/);
    assert.equal(fs.readdirSync(dir), ['blocked']);
    // An unsaveable model fails before the disk is touched; the old file stays.
    const file = path.join(dir, 'good.safetensors');
    await io.saveModel(lenet(), file);
    const old = fs.readFileSync(file);
    const bad = new sn.Sequential(new sn.Linear(2, 2));
    bad.stateDict()['0.weight'].view()[0] = Infinity;
    await rejects(() => io.saveModel(bad, file), /non-finite/);
    assert.equal(fs.readdirSync(dir).sort(), ['blocked', 'good.safetensors']);
    assert.ok(fs.readFileSync(file).equals(old));
    await rejects(() => io.loadModel(path.join(dir, 'absent.safetensors')), /loadModel: cannot read .*absent\.safetensors/);
    await rejects(() => io.loadModelInto(lenet(), path.join(dir, 'absent.safetensors')), /loadModelInto: cannot read .*absent\.safetensors/);
    fs.writeFileSync(path.join(dir, 'junk.safetensors'), 'not a model');
    await rejects(() => io.loadModel(path.join(dir, 'junk.safetensors')), /junk\.safetensors: /);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
