// The layer registry: every built-in layer class registers itself under its own name from its own
// file, model files can name exactly those, serialization reads the registry without importing
// any layer (and layers never import serialization), and a name or class cannot be taken twice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { registerLayer, layerTypeNamed } from 'simdnet/internal';
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

await sn.ready();
const { io } = sn;
const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * The layer classes the package exports, by name. ModuleList is not one: it has no forward(),
 * so it is never a layer of a Sequential and a model file has no place for it.
 */
const layerClasses = Object.entries(sn).filter(([k, v]) => typeof v === 'function' && v.prototype instanceof sn.Module && k !== 'ModuleList');

test('every layer class the package exports is registered under its own name, and the file types are exactly those', () => {
  assert.ok(layerClasses.length >= 23, layerClasses.map(([k]) => k).join(' '));
  for (const [name, ctor] of layerClasses) {
    const type = layerTypeNamed(name);
    assert.ok(type, `${name} is not registered`);
    assert.is(type.ctor, ctor, `${name}: another class is registered under its name`);
    assert.is(type.typeName, name);
  }
  assert.equal([...io.LAYER_TYPES], layerClasses.map(([k]) => k).sort());
  assert.ok(Object.isFrozen(io.LAYER_TYPES));
});

test('layers/builtin.js alone registers every type: what the command line (and the entry) import for model files', () => {
  const script = "await import('./dist/layers/builtin.js'); const r = await import('./dist/registry.js'); console.log(JSON.stringify(r.LAYER_TYPES));";
  const types = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' }));
  assert.equal(types, [...io.LAYER_TYPES]);
});

test('layerTypeOf: the registered name of exactly that class; null for subclasses, custom modules and non-modules', () => {
  assert.is(io.layerTypeOf(new sn.Dropout2d()), 'Dropout2d');
  assert.is(io.layerTypeOf(new sn.Dropout()), 'Dropout');
  assert.is(io.layerTypeOf(new sn.GELU({ approximate: 'tanh' })), 'GELU');
  assert.is(io.layerTypeOf(new sn.Sequential()), 'Sequential');
  class Gated extends sn.SiLU {}
  assert.is(io.layerTypeOf(new Gated()), null);
  class Custom extends sn.Module {
    toString() { return 'Custom()'; }
    outputShape(s) { return [...s]; }
    forwardDevice(x) { return x; }
    backwardDevice(dy) { return dy; }
  }
  assert.is(io.layerTypeOf(new Custom()), null);
  for (const v of [null, undefined, 5, 'ReLU', {}, sn.ReLU, Object.create(sn.ReLU.prototype.constructor)]) assert.is(io.layerTypeOf(v), null);
});

test('a name or a class registered twice is refused, and the registry is left as it was', () => {
  const before = [...io.LAYER_TYPES];
  class Another extends sn.Module {}
  assert.throws(() => registerLayer({ typeName: 'ReLU', ctor: Another, fields: {}, build: () => new Another() }),
    /^registerLayer: a layer type named 'ReLU' is registered already$/);
  assert.throws(() => registerLayer({ typeName: 'MyReLU', ctor: sn.ReLU, fields: {}, build: () => new sn.ReLU() }),
    /^registerLayer: the class of 'MyReLU' is registered already, as 'ReLU'$/);
  assert.equal([...io.LAYER_TYPES], before);
  assert.is(layerTypeNamed('MyReLU'), undefined);
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) assert.is(layerTypeNamed(name), undefined, name);
});

/** The modules a built file imports at run time (type-only imports are gone from dist/). */
function runtimeImports(file) {
  return [...readFileSync(join(root, 'dist', file), 'utf8').matchAll(/^import\s(?:[^'"]*\sfrom\s)?['"]([^'"]+)['"]/gm)].map((m) => m[1]);
}

test('serialization depends on the layers only through the registry: no import of a layer, Sequential included, and none back', () => {
  // registry.ts imports nothing at all, types included.
  assert.not.match(readFileSync(join(root, 'ts/registry.ts'), 'utf8'), /^\s*(import|export\s.*\sfrom)\s/m);
  assert.equal(runtimeImports('registry.js'), []);
  for (const file of ['io/architecture.js', 'io/model-file.js', 'io/model-file-node.js', 'io/safetensors.js']) {
    const bad = runtimeImports(file).filter((m) => /layers\/|sequential\.js|models\.js/.test(m));
    assert.equal(bad, [], `${file} imports ${bad.join(', ')}`);
  }
  // Layers (Sequential among them) name their type through the registry, not through io.
  for (const file of ['sequential.js', ...readdirSync(join(root, 'dist/layers')).filter((f) => f.endsWith('.js')).map((f) => `layers/${f}`)]) {
    const bad = runtimeImports(file).filter((m) => m.includes('io/architecture'));
    assert.equal(bad, [], `${file} imports ${bad.join(', ')}`);
  }
});

test('every registered type builds from a spec and gives that spec back', () => {
  // One spec per type, with a value for each field; Sequential holds one of each of the others.
  const values = {
    Conv2d: { inChannels: 2, outChannels: 4, kernelSize: [3, 1], stride: [1, 1], padding: 'same', dilation: [1, 1], groups: 2, bias: false },
    Linear: { inFeatures: 3, outFeatures: 2, bias: true },
    BatchNorm1d: { numFeatures: 3, eps: 1e-3, momentum: null, affine: false, trackRunningStats: true },
    BatchNorm2d: { numFeatures: 3, eps: 1e-5, momentum: 0.2, affine: true, trackRunningStats: false },
    MaxPool2d: { kernelSize: 3, stride: [2, 1], padding: 1, dilation: 1, ceilMode: true },
    AvgPool2d: { kernelSize: 2, stride: 2, padding: 0, ceilMode: false, countIncludePad: false, divisorOverride: null },
    AdaptiveAvgPool2d: { outputSize: [2, 1] }, Flatten: { startDim: 0, endDim: 2 }, Dropout: { p: 0.25 }, Dropout2d: { p: 0.75 },
    LeakyReLU: { negativeSlope: 0.5 }, ELU: { alpha: 0.125 }, GELU: { approximate: 'tanh' }, Softmax: { dim: 0 }, LogSoftmax: { dim: -1 },
  };
  const specs = io.LAYER_TYPES.filter((t) => t !== 'Sequential').map((type) => ({ type, ...(values[type] ?? {}) }));
  const spec = { format: io.ARCHITECTURE_FORMAT, version: io.ARCHITECTURE_VERSION, layers: [...specs, { type: 'Sequential', layers: specs.slice(0, 3).map((s) => ({ ...s })) }] };
  const model = io.buildFromArchitecture(spec);
  try {
    assert.equal(io.architectureOf(model), spec);
    assert.is(model.length, specs.length + 1);
  } finally {
    model.dispose();
  }
});

test.run();
