// Model files of the zoo: a model as its builder made it records { model, options } and sn.load
// rebuilds it (the same class, options, state dict bit for bit and eval outputs); one whose modules
// were replaced saves as a module of your own and loads only into an instance; a hostile or broken
// record is refused, naming the file and what is wrong, before any wasm memory is taken. (VGG-11's
// file, half a gigabyte, is saved and loaded once, in tests/zoo-vgg.test.js's child.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';
import { stateDifference, stateLayout, stateValues, refusedWithoutMemory } from './zoo-helpers.js';

await sn.ready();

const ZOO_KEY = 'simdnet.zoo';
const images = (n, side, seed = 1) => sn.tensor(Float32Array.from({ length: n * 3 * side * side }, (_, i) => Math.sin(i * 0.37 + seed) * 0.8), [n, 3, side, side]);
const labelsFor = (n, classes) => Int32Array.from({ length: n }, (_, i) => (i * 7) % classes);
const metadataOf = (bytes) => sn.io.decodeSafetensors(bytes).metadata;

/** A training step with momentum, so the file holds moved weights, running statistics and a batch count. */
function trainStep(model, classes) {
  const optimizer = new sn.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  try {
    model.train();
    for (let step = 0; step < 2; step++) {
      optimizer.zeroGrad();
      new sn.CrossEntropyLoss().forward(model.forward(images(4, 32, step)), labelsFor(4, classes)).backward();
      optimizer.step();
    }
  } finally {
    optimizer.dispose();
  }
}

/** The eval-mode logits of a fixed input. */
function evalLogits(model) {
  model.eval();
  return sn.noGrad(() => model.forward(images(3, 32, 9)).toArray());
}

const CASES = [
  ['resnet18', { numClasses: 10 }, { numClasses: 10 }],
  ['resnet34', { numClasses: 7 }, { numClasses: 7 }],
  ['resnet20', {}, { numClasses: 10 }],
  ['resnet32', { numClasses: 100 }, { numClasses: 100 }],
  ['resnet56', { numClasses: 3 }, { numClasses: 3 }],
  ['mobilenetV2', { widthMult: 0.35, numClasses: 10 }, { numClasses: 10, widthMult: 0.35 }],
  ['mobilenetV2', { numClasses: 5 }, { numClasses: 5, widthMult: 1 }],
];

test('each zoo model saved and loaded back by sn.load: the same class, options, state dict bit for bit and eval outputs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zoo-files-'));
  try {
    for (const [k, [builder, options, full]] of CASES.entries()) {
      const what = `${builder}(${JSON.stringify(options)})`;
      sn.manualSeed(k);
      const model = sn.models[builder](options);
      let loaded = null;
      try {
        trainStep(model, full.numClasses);
        const logits = evalLogits(model);
        const bytes = model.toSafetensors();
        const meta = metadataOf(bytes);
        assert.equal(JSON.parse(meta[ZOO_KEY]), { model: builder, options: full }, `${what}: the record, every option filled in`);
        assert.ok(!('simdnet.architecture' in meta) && !('simdnet.module' in meta), what);
        // Half of them through a file on disk, half from the bytes.
        if (k % 2 === 0) {
          const path = join(dir, `${builder}-${k}.safetensors`);
          await model.save(path);
          loaded = await sn.load(path);
        } else {
          loaded = await sn.load(bytes);
        }
        assert.ok(loaded.constructor === model.constructor, `${what}: loaded as ${loaded.constructor.name}`);
        assert.is(loaded.training, true, `${what}: in training mode, as a new model`);
        assert.equal(stateLayout(loaded), stateLayout(model), `${what}: state-dict names and order`);
        assert.is(stateDifference(loaded.stateDict(), model.stateDict()), null, `${what}: state dict bit for bit`);
        assert.ok(Object.entries(loaded.stateDict()).some(([n, t]) => n.endsWith('num_batches_tracked') && t.toInt64Array()[0] === 2n), `${what}: the batch count came along`);
        assert.equal(JSON.parse(metadataOf(loaded.toSafetensors())[ZOO_KEY]), { model: builder, options: full }, `${what}: it saves as the same zoo model`);
        model.dispose();
        const again = evalLogits(loaded);
        assert.equal(new Uint32Array(again.buffer), new Uint32Array(logits.buffer), `${what}: eval outputs bit for bit`);
      } finally {
        model.dispose();
        loaded?.dispose();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a zoo model whose module was replaced saves as a module of your own and loads only into an instance', async () => {
  sn.manualSeed(3);
  const model = sn.models.resnet18({ numClasses: 10 });
  const target = sn.models.resnet18({ numClasses: 10 });
  const plain = sn.models.resnet18({ numClasses: 10 });
  try {
    model.fc = new sn.Linear(512, 5);
    const bytes = model.toSafetensors();
    const meta = metadataOf(bytes);
    assert.is(meta['simdnet.module'], 'ResNet');
    assert.ok(!(ZOO_KEY in meta), 'no zoo record: the file would rebuild a model with fc of 10 classes');
    await sn.load(bytes).then(() => assert.unreachable('loaded without a model to load into'), (err) => {
      assert.match(err.message, /^safetensors data: the file has the weights of "ResNet", a module whose class only your code has; build the model in code and load the weights into it with sn\.load\(source, \{ into: model \}\)/);
    });
    // Into a model of the same structure: loads, bit for bit.
    target.fc = new sn.Linear(512, 5);
    assert.ok(await sn.load(bytes, { into: target }) === target);
    assert.is(stateDifference(target.stateDict(), model.stateDict()), null);
    // Into the unmodified model: refused, naming the tensor, and the model unchanged.
    const before = plain.toSafetensors();
    await sn.load(bytes, { into: plain }).then(() => assert.unreachable('loaded into a model with fc of 10 classes'), (err) => {
      assert.match(err.message, /fc\.weight has shape \[5, 512\], the model expects \[10, 512\]/);
    });
    assert.equal(plain.toSafetensors(), before);
    // A replacement anywhere (the same shapes) is a module of your own too; putting the original back makes it the zoo's again.
    const block = model.layer1.at(0);
    const original = block.conv1;
    block.conv1 = new sn.Conv2d(64, 64, 3, { padding: 1, bias: false });
    model.fc = plain.fc;
    assert.is(metadataOf(model.toSafetensors())['simdnet.module'], 'ResNet', 'a replaced conv1 in layer1.0');
    block.conv1 = original;
    assert.is(metadataOf(model.toSafetensors())['simdnet.module'], 'ResNet', 'plain.fc is another model\'s module');
    const zooModel = sn.models.resnet20();
    const { linear } = zooModel;
    zooModel.linear = new sn.Linear(64, 10);
    assert.is(metadataOf(zooModel.toSafetensors())['simdnet.module'], 'CifarResNet');
    zooModel.linear = linear;
    assert.equal(JSON.parse(metadataOf(zooModel.toSafetensors())[ZOO_KEY]), { model: 'resnet20', options: { numClasses: 10 } });
    zooModel.dispose();
  } finally {
    model.dispose(); target.dispose(); plain.dispose();
  }
});

test('a zoo file loads into an instance too, and a module of your own holding a zoo model saves as yours', async () => {
  sn.manualSeed(4);
  const model = sn.models.mobilenetV2({ widthMult: 0.5, numClasses: 4 });
  const into = sn.models.mobilenetV2({ widthMult: 0.5, numClasses: 4 });
  class Wrapper extends sn.Module {
    constructor() { super(); this.backbone = sn.models.resnet20({ numClasses: 4 }); }
    forward(x) { return this.backbone.forward(x); }
  }
  const wrapper = new Wrapper();
  try {
    trainStep(model, 4);
    await sn.load(model.toSafetensors(), { into });
    assert.is(stateDifference(into.stateDict(), model.stateDict()), null);
    const meta = metadataOf(wrapper.toSafetensors());
    assert.is(meta['simdnet.module'], 'Wrapper');
    assert.ok(Object.keys(wrapper.stateDict())[0] === 'backbone.conv1.weight');
  } finally {
    model.dispose(); into.dispose(); wrapper.dispose();
  }
});

/** resnet20's state (a training step in), so that only the record is wrong in the files below. */
let resnet20, resnet20State, HELD;
test.before(() => {
  sn.manualSeed(20);
  resnet20 = sn.models.resnet20();
  trainStep(resnet20, 10);
  resnet20State = resnet20.stateDict();
  HELD = stateValues(resnet20);
});
test.after(() => { resnet20.dispose(); });

/** A file of resnet20's weights whose zoo record is `text`. */
const withRecord = (text, tensors = resnet20State) => sn.io.encodeSafetensors(tensors, { format: 'pt', [ZOO_KEY]: text });

test('hostile or broken zoo records in a file: refused with the file and the fault named, before any wasm memory is taken', () => {
  const MODELS = 'resnet18, resnet34, resnet20, resnet32, resnet56, mobilenetV2, vgg11';
  const rec = (model, options) => JSON.stringify({ model, options });
  const cases = [
    // The builder's name.
    [rec('resnet99', {}), `zoo model record: "model" must be one of ${MODELS}, got the string 'resnet99'`],
    [rec('Resnet20', {}), `"model" must be one of ${MODELS}, got the string 'Resnet20'`],
    ...['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'].map((m) => [rec(m, {}), `"model" must be one of ${MODELS}, got the string '${m}'`]),
    [rec('', {}), `"model" must be one of ${MODELS}, got an empty string`],
    [rec(20, {}), `"model" must be one of ${MODELS}, got 20`],
    ['{"options":{}}', `"model" must be one of ${MODELS}, got undefined`],
    ['{"model":null,"options":{}}', `"model" must be one of ${MODELS}, got null`],
    // The record's own shape.
    ['null', 'zoo model record: expected an object { model, options }, got null'],
    ['["resnet20", {}]', 'zoo model record: expected an object { model, options }, got'],
    ['"resnet20"', "zoo model record: expected an object { model, options }, got the string 'resnet20'"],
    ['{"model":"resnet20","options":{},"extra":1}', "zoo model record: unexpected field the string 'extra' (expected model, options)"],
    ['{"model":"resnet20","options":{},"__proto__":{"model":"vgg11"}}', "unexpected field the string '__proto__'"],
    ['{"model":"resnet20"}', 'zoo model record: "options" must be an object, got undefined'],
    ['{"model":"resnet20","options":null}', '"options" must be an object, got null'],
    ['{"model":"resnet20","options":[10]}', '"options" must be an object, got'],
    // Options of the wrong type or value, unknown options.
    [rec('resnet20', { numClasses: '10' }), "sn.models.resnet20: numClasses must be a positive integer, got the string '10'"],
    [rec('resnet20', { numClasses: 0 }), 'sn.models.resnet20: numClasses must be a positive integer, got 0'],
    [rec('resnet20', { numClasses: 1.5 }), 'sn.models.resnet20: numClasses must be a positive integer, got 1.5'],
    ['{"model":"resnet20","options":{"numClasses":1e400}}', 'sn.models.resnet20: numClasses must be a positive integer, got Infinity'],
    [rec('resnet20', { numClasses: [10] }), 'sn.models.resnet20: numClasses must be a positive integer, got'],
    [rec('resnet20', { numClasses: 10, depth: 20 }), "sn.models.resnet20: unknown option 'depth'"],
    ['{"model":"resnet20","options":{"__proto__":{"numClasses":3}}}', "sn.models.resnet20: unknown option '__proto__'"],
    [rec('mobilenetV2', { widthMult: -1 }), 'sn.models.mobilenetV2: widthMult must be a finite number > 0, got -1'],
    [rec('mobilenetV2', { widthMult: '0.5' }), "sn.models.mobilenetV2: widthMult must be a finite number > 0, got the string '0.5'"],
    [rec('vgg11', { batchNorm: 1 }), 'sn.models.vgg11: batchNorm must be a boolean'],
    [rec('vgg11', { batchNorm: 'true' }), 'sn.models.vgg11: batchNorm must be a boolean'],
    // Options that need more values than the file holds: refused before building (VGG-11 would take 1.1 GB).
    [rec('resnet20', { numClasses: 100000 }), `sn.models.resnet20({"numClasses":100000}) needs 6773413 weight and buffer values, the file holds ${HELD}; the file is not this model's`],
    [rec('vgg11', {}), `sn.models.vgg11({"batchNorm":false,"numClasses":1000}) needs 132863336 weight and buffer values, the file holds ${HELD}`],
    [rec('mobilenetV2', { widthMult: 1000 }), `sn.models.mobilenetV2({"numClasses":1000,"widthMult":1000}) needs`],
    [rec('resnet18', { numClasses: 2 ** 40 }), `sn.models.resnet18({"numClasses":1099511627776}) needs`],
    [rec('mobilenetV2', { widthMult: 1e300 }), 'sn.models.mobilenetV2({"numClasses":1000,"widthMult":1e+300}) needs'],
    // Not JSON.
    ['{"model":"resnet20",', 'the "simdnet.zoo" metadata is not valid JSON ('],
    ['', 'the "simdnet.zoo" metadata is not valid JSON ('],
    [`{"model":"resnet20","options":{"numClasses":${'['.repeat(20000)}${']'.repeat(20000)}}}`, 'sn.models.resnet20: numClasses must be a positive integer, got'],
  ];
  for (const [text, expected] of cases) {
    const bytes = withRecord(text);
    for (const [how, load] of [['io.modelFromSafetensors', () => sn.io.modelFromSafetensors(bytes, 'hostile.safetensors')],
      ['Sequential.fromSafetensors', () => sn.Sequential.fromSafetensors(bytes, 'hostile.safetensors')]]) {
      const what = `${how} of ${text.slice(0, 80)}`;
      const message = refusedWithoutMemory(load, what);
      assert.ok(message.startsWith('hostile.safetensors: '), `${what}: ${message}`);
      // A valid record is not a Sequential's: Sequential.fromSafetensors says so before counting.
      const valid = / needs/.test(expected);
      assert.ok(message.includes(valid && how === 'Sequential.fromSafetensors' ? ', not a Sequential; load it with sn.load(source)' : expected), `${what}: ${message.slice(0, 400)}`);
      assert.ok(message.length < 600, `${what}: a ${message.length}-character message`);
    }
  }
});

test('sn.load refuses them too, naming the path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zoo-files-'));
  try {
    const path = join(dir, 'hostile.safetensors');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, withRecord(JSON.stringify({ model: 'vgg11', options: { numClasses: 10 } })));
    const reserved = rt().heap.bytesReserved, inUse = rt().heap.bytesInUse;
    const err = await sn.load(path).then(() => null, (e) => e);
    assert.match(err?.message ?? '', new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: sn\\.models\\.vgg11\\(\\{"batchNorm":false,"numClasses":10\\}\\) needs 128807306 weight and buffer values, the file holds ${HELD}; the file is not this model's$`));
    // (Finalizers of models dropped by earlier tests may free memory meanwhile: never more in use.)
    assert.is(rt().heap.bytesReserved, reserved);
    assert.ok(rt().heap.bytesInUse <= inUse);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a record that fits the file's size but not its tensors: built, refused naming the tensors, and freed", () => {
  // resnet32's record over resnet20's weights and one large extra tensor: enough values, the wrong names.
  const padding = sn.tensor(new Float32Array(200_000), [200_000]);
  const bytes = withRecord(JSON.stringify({ model: 'resnet32', options: { numClasses: 10 } }), { ...resnet20State, padding });
  const inUse = rt().heap.bytesInUse;
  assert.throws(() => sn.io.modelFromSafetensors(bytes, 'mixed.safetensors'),
    /^mixed\.safetensors: loadStateDict: the state dict does not match the model: missing layer1\.3\.conv1\.weight, .*; unexpected padding$/);
  assert.is(rt().heap.bytesInUse, inUse, 'the model built for the file was disposed');
  // A record naming another zoo model whose tensors all fit is loaded: the record decides what is built.
  const other = withRecord(JSON.stringify({ model: 'resnet20', options: { numClasses: 10 } }));
  const model = sn.io.modelFromSafetensors(other, 'fine.safetensors');
  assert.is(stateDifference(model.stateDict(), resnet20State), null);
  model.dispose();
});

test('Sequential.fromSafetensors refuses a zoo file before building anything; io.modelFromSafetensors and sn.load rebuild it', async () => {
  const bytes = resnet20.toSafetensors();
  const message = refusedWithoutMemory(() => sn.Sequential.fromSafetensors(bytes, 'resnet20.safetensors'), 'Sequential.fromSafetensors');
  assert.is(message, 'resnet20.safetensors: the file holds sn.models.resnet20({"numClasses":10}), not a Sequential; load it with sn.load(source) or io.modelFromSafetensors(bytes)');
  const a = sn.io.modelFromSafetensors(bytes), b = await sn.load(bytes);
  assert.is(stateDifference(a.stateDict(), resnet20State), null);
  assert.is(stateDifference(b.stateDict(), resnet20State), null);
  a.dispose(); b.dispose();
});

test.run();
