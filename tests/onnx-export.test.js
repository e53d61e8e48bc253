// ONNX export: model.toOnnx / saveOnnx. Each exported model runs in ONNX Runtime (onnxruntime-web,
// its wasm build, in Node) on random inputs at two batch sizes and is compared with simdnet's
// eval-mode forward; every exported file also goes through onnx.checker (full_check) when
// Python's onnx package is importable (CI installs Debian's python3-onnx).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sn from 'simdnet';
import { rng, freshSeed } from './helpers.js';
import { ort, assertRuntimeAgrees, onnxChecker, randomizeBatchNorms } from './onnx-check.js';

await sn.ready();
const dir = mkdtempSync(join(tmpdir(), 'simdnet-onnx-'));
/** Every exported file, with its opset, for the checker test at the end. */
const exported = [];
let fileCount = 0;

function exportModel(model, options) {
  const bytes = model.toOnnx(options);
  assert.instance(bytes, Uint8Array);
  const path = join(dir, `model-${fileCount++}.onnx`);
  writeFileSync(path, bytes);
  exported.push({ path, opset: options.opset ?? 17 });
  return bytes;
}

/** Exports `model`, runs it in ONNX Runtime at each batch size and compares with model.forward in eval mode. */
async function checkAgainstRuntime(model, inputShape, { opset, seed = freshSeed() } = {}) {
  const rand = rng(seed);
  randomizeBatchNorms(model, rand);
  await assertRuntimeAgrees(exportModel(model, { inputShape, opset }), model, inputShape, rand, `${model.label()} opset ${opset ?? 17} (seed ${seed})`);
}

/** A network with every layer type toOnnx handles (nested Sequential, both GELUs, pools with their options). */
function everyLayer() {
  return new sn.Sequential(
    new sn.Conv2d(3, 8, 3, { padding: 'same', dilation: 2 }),            // [8, 16, 16]
    new sn.BatchNorm2d(8),
    new sn.LeakyReLU(0.1),
    new sn.Conv2d(8, 8, 3, { stride: 2, padding: 1, groups: 4 }),         // [8, 8, 8]
    new sn.ReLU6(),
    new sn.Conv2d(8, 8, 3, { padding: [1, 0], groups: 8, bias: false }),  // depthwise, [8, 8, 6]
    new sn.Hardswish(),
    new sn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }),       // [8, 5, 4]
    new sn.GELU(),
    new sn.Sequential(new sn.Conv2d(8, 16, 1), new sn.ELU(0.7), new sn.GELU({ approximate: 'tanh' })),
    new sn.AvgPool2d(2, { stride: 1, padding: 1, countIncludePad: false }),   // [16, 6, 5]
    new sn.SiLU(),
    new sn.Dropout2d(0.3),
    new sn.AdaptiveAvgPool2d([3, 5]),                                     // [16, 3, 5]
    new sn.Sigmoid(),
    new sn.AvgPool2d([2, 1], { stride: 1, divisorOverride: 2 }),          // [16, 2, 5]
    new sn.Tanh(),
    new sn.Flatten(),
    new sn.Dropout(0.5),
    new sn.Linear(160, 12),
    new sn.BatchNorm1d(12),
    new sn.ReLU(),
    new sn.Identity(),
    new sn.Linear(12, 10),
    new sn.Softmax(1),
  );
}

test('LeNet-5 runs in ONNX Runtime as in simdnet, at opsets 13, 17 (the default) and 21', async () => {
  sn.manualSeed(1);
  const model = sn.models.lenet5();
  for (const opset of [13, undefined, 21]) await checkAgainstRuntime(model, [1, 28, 28], { opset });
});

test('a network with every exportable layer type runs in ONNX Runtime as in simdnet (opsets 13 and 17)', async () => {
  sn.manualSeed(2);
  const model = everyLayer();
  await checkAgainstRuntime(model, [3, 16, 16]);
  await checkAgainstRuntime(model, [3, 16, 16], { opset: 13 });   // HardSwish as x·HardSigmoid(x) there
});

test('BatchNorm with non-trivial running statistics, global average pooling, LogSoftmax', async () => {
  sn.manualSeed(3);
  const model = new sn.Sequential(new sn.Conv2d(2, 6, 3), new sn.BatchNorm2d(6, { eps: 1e-3 }), new sn.ReLU(),
    new sn.BatchNorm2d(6, { affine: false }), new sn.AdaptiveAvgPool2d(1), new sn.Flatten(), new sn.Linear(6, 4), new sn.LogSoftmax(-1));
  // Train-mode forwards move the running statistics away from 0 and 1 too (randomizeBatchNorms then sets them anew).
  model.train();
  model.forward(sn.tensor(new Float32Array(4 * 2 * 9 * 9).map((_, i) => Math.sin(i)), [4, 2, 9, 9]));
  await checkAgainstRuntime(model, [2, 9, 9]);
  const bn = model.modules().find((m) => m instanceof sn.BatchNorm2d);
  assert.ok(bn.runningMean.toArray().some((v) => Math.abs(v) > 0.01), 'the running mean is not all zeros');
});

test('Flatten over other dimensions (Reshape), Softmax along the last axis, Linear over a 3-D input (MatMul)', async () => {
  sn.manualSeed(4);
  const model = new sn.Sequential(new sn.Conv2d(1, 3, 3, { padding: 1 }), new sn.Flatten(2), new sn.Linear(20, 7),
    new sn.Softmax(-1), new sn.Linear(7, 5, { bias: false }), new sn.Flatten());
  await checkAgainstRuntime(model, [1, 4, 5]);
});

/** A module of its own: a residual squeeze-and-excitation block with a parameter, a number and a cat. */
class SEBlock extends sn.Module {
  constructor(c) {
    super();
    this.conv = new sn.Conv2d(c, c, 3, { padding: 1, bias: false });
    this.bn = new sn.BatchNorm2d(c);
    this.fc1 = new sn.Linear(c, 2);
    this.fc2 = new sn.Linear(2, c);
    this.gain = new sn.Parameter([1, c, 1, 1], Float32Array.from({ length: c }, (_, i) => 0.5 + i / c));
    this.c = c;
  }
  forward(x) {
    const y = sn.relu(this.bn.forward(this.conv.forward(x)));
    const w = sn.sigmoid(this.fc2.forward(sn.relu6(this.fc1.forward(sn.mean(y, [2, 3])))));
    const z = sn.add(sn.mul(sn.mul(y, sn.reshape(w, [-1, this.c, 1, 1])), this.gain), x);
    return sn.cat([sn.leakyRelu(z, 0.2), sn.gelu(sn.mul(2, x), { approximate: 'tanh' }), sn.hardswish(sn.add(x, 0.5))], 1);
  }
}

class SENet extends sn.Module {
  constructor() {
    super();
    this.stem = new sn.Conv2d(3, 4, 3, { padding: 1 });
    this.block = new SEBlock(4);
    this.head = new sn.Sequential(new sn.Dropout(0.3), new sn.Linear(12, 5));
  }
  forward(x) {
    const y = this.block.forward(sn.elu(this.stem.forward(x), 0.5));
    const pooled = sn.flatten(sn.mean(sn.silu(sn.tanh(y)), [2, 3], true), 1);
    return sn.logSoftmax(this.head.forward(sn.sigmoid(pooled)), 1);
  }
}

test('a module of its own is traced: layers and functional ops (Add, Mul, Concat, ReduceMean, Reshape), parameters by name', async () => {
  sn.manualSeed(7);
  const model = new SENet();
  model.train();
  for (const opset of [undefined, 13, 18]) await checkAgainstRuntime(model, [3, 6, 6], { opset });   // ReduceMean's axes move to an input at 18
  const text = new TextDecoder('latin1').decode(model.toOnnx({ inputShape: [3, 6, 6] }));
  for (const name of ['block.gain', 'block.fc1.weight', 'block.bn.running_var', 'head.1.weight']) assert.ok(text.includes(name), name);
  model.train();
  model.block.toOnnx({ inputShape: [4, 5, 5] });
  assert.ok(model.modules().every((m) => m.training), 'tracing puts the modules back in training mode');
});

test('a model in training mode exports its eval-mode graph and keeps every module\'s mode', async () => {
  sn.manualSeed(6);
  // BatchNorm1d refuses one value per channel in training mode, which the batch-1 shape check would meet.
  const model = new sn.Sequential(new sn.Linear(4, 3), new sn.BatchNorm1d(3), new sn.Dropout(0.5), new sn.Linear(3, 2));
  model.modules()[3].eval();   // a frozen submodule stays frozen
  const modes = () => model.modules().map((m) => m.training);
  const before = modes();
  const bytes = exportModel(model, { inputShape: [4] });
  assert.equal(modes(), before);
  await assertRuntimeAgrees(bytes, model, [4], rng(6), 'a model exported in training mode');
});

test('the zoo: resnet20 and mobilenetV2 run in ONNX Runtime as in simdnet', async () => {
  sn.manualSeed(8);
  await checkAgainstRuntime(sn.models.resnet20(), [3, 32, 32]);
  await checkAgainstRuntime(sn.models.mobilenetV2({ numClasses: 10 }), [3, 32, 32]);
});

test('the graph: initializers named after the state dict, a symbolic batch dimension, eval form', async () => {
  sn.manualSeed(5);
  const model = new sn.Sequential(new sn.Conv2d(1, 2, 3), new sn.BatchNorm2d(2), new sn.Dropout(0.5), new sn.Flatten(), new sn.Linear(8, 3));
  const session = await ort.InferenceSession.create(exportModel(model, { inputShape: [1, 4, 4] }));
  assert.equal(session.inputMetadata.map((m) => [m.name, m.type, m.shape]), [['input', 'float32', ['N', 1, 4, 4]]]);
  assert.equal(session.outputMetadata.map((m) => [m.name, m.type, m.shape]), [['output', 'float32', ['N', 3]]]);
  await session.release();
  // The initializer names, as Python's onnx reads them, are checked in the checker test below;
  // here the bytes hold each state-dict name (num_batches_tracked is not part of the eval graph).
  const text = new TextDecoder('latin1').decode(model.toOnnx({ inputShape: [1, 4, 4] }));
  for (const name of Object.keys(model.stateDict())) {
    assert.is(text.includes(name), !name.endsWith('num_batches_tracked'), name);
  }
  assert.not.ok(text.includes('Dropout'), 'Dropout is left out');
  assert.ok(text.includes('BatchNormalization'));
});

test('toOnnx refuses bad options and layers ONNX cannot express, naming them', () => {
  const model = sn.models.lenet5();
  assert.throws(() => model.toOnnx(), /toOnnx: options must be an object/);
  assert.throws(() => model.toOnnx({}), /toOnnx: inputShape is required/);
  assert.throws(() => model.toOnnx({ inputShape: [1, 0, 28] }), /toOnnx: inputShape must be the shape of one sample .* got/);
  assert.throws(() => model.toOnnx({ inputShape: [1, 28, 28], opset: 12 }), /toOnnx: opset must be an ai\.onnx operator set from 13 to 21, got 12/);
  assert.throws(() => model.toOnnx({ inputShape: [1, 28, 28], opset: 22 }), /from 13 to 21, got 22/);
  assert.throws(() => model.toOnnx({ inputShape: [1, 28, 28], opset: 17.5 }), /toOnnx: opset must be/);
  assert.throws(() => model.toOnnx({ inputShape: [1, 28, 28], opSet: 17 }), /toOnnx: unknown option 'opSet'; did you mean 'opset'/);
  assert.throws(() => model.toOnnx({ inputShape: [3, 28, 28] }), /toOnnx: layer '0' \(Conv2d\(1, 6.*\) does not take the input shape \[1, 3, 28, 28\]/);

  class DeviceLayer extends sn.Module {   // a layer of its own on wasm memory: nothing says what ONNX ops it is
    outputShape(s) { return [...s]; }
    forwardDevice(x) { return x; }
  }
  assert.throws(() => new sn.Sequential(new sn.ReLU(), new sn.Sequential(new sn.Tanh(), new DeviceLayer())).toOnnx({ inputShape: [4] }),
    /toOnnx: layer '1\.1' \(DeviceLayer\(\)\) cannot be expressed in ONNX: no ONNX form is defined for DeviceLayer/);
  class BatchBound extends sn.Module {   // a reshape whose first dimension is not the batch
    forward(x) { return sn.reshape(x, [1, -1]); }
  }
  assert.throws(() => new BatchBound().toOnnx({ inputShape: [4] }), /toOnnx: the traced graph depends on the batch size at the constant .*onnx_shape \(shape \[2\]\): a reshape whose first dimension is not the batch/);
  class MadeInside extends sn.Module {   // a tensor made inside forward() from the batch size
    forward(x) { return sn.add(x, sn.tensor(new Float32Array(x.shape[0] * 4).fill(1), [x.shape[0], 4])); }
  }
  assert.throws(() => new MadeInside().toOnnx({ inputShape: [4] }), /toOnnx: the traced graph depends on the batch size at the constant .*onnx_constant \(shape \[1, 4\]\)/);
  class Argless extends sn.Module {
    forward(x) { return sn.softmax(x, 0); }
  }
  assert.throws(() => new Argless().toOnnx({ inputShape: [4] }), /toOnnx: Argless.*: sn\.softmax along the batch dimension cannot be exported/);
  assert.throws(() => new sn.Sequential(new sn.Conv2d(1, 1, 1), new sn.AdaptiveAvgPool2d(3)).toOnnx({ inputShape: [1, 7, 7] }),
    /toOnnx: layer '1' \(AdaptiveAvgPool2d\(output_size=3\)\) cannot be expressed in ONNX: the input's 7×7 does not divide into 3×3/);
  assert.throws(() => new sn.Sequential(new sn.BatchNorm2d(1, { trackRunningStats: false })).toOnnx({ inputShape: [1, 2, 2] }),
    /toOnnx: layer '0' \(BatchNorm2d.*\) cannot be expressed in ONNX: without running statistics/);
  assert.throws(() => new sn.Sequential(new sn.AvgPool2d(2, { divisorOverride: 3 })).toOnnx({ inputShape: [1, 4, 4] }),
    /toOnnx: layer '0' \(AvgPool2d.*\) cannot be expressed in ONNX: divisor_override 3/);
  assert.throws(() => new sn.Sequential(new sn.Softmax(0)).toOnnx({ inputShape: [4] }), /layer '0' \(Softmax\(dim=0\)\).*batch dimension/);
  assert.throws(() => new sn.Sequential(new sn.Flatten(0)).toOnnx({ inputShape: [4, 2] }), /layer '0' \(Flatten.*\).*batch dimension/);
});

test('saveOnnx writes the toOnnx bytes through a temporary file; a bad path rejects, naming it', async () => {
  sn.manualSeed(6);
  const model = sn.models.lenet5();
  const sub = mkdtempSync(join(dir, 'save-'));
  const path = join(sub, 'lenet5.onnx');
  await model.saveOnnx(path, { inputShape: [1, 28, 28] });
  assert.equal(readFileSync(path), Buffer.from(model.toOnnx({ inputShape: [1, 28, 28] })));
  assert.equal(readdirSync(sub), ['lenet5.onnx']);
  exported.push({ path, opset: 17 });
  const missing = join(sub, 'no-such-dir', 'm.onnx');
  await model.saveOnnx(missing, { inputShape: [1, 28, 28] }).then(() => assert.unreachable('saved'), (err) => {
    assert.match(err.message, /saveOnnx: cannot write .*no-such-dir/);
  });
  await model.saveOnnx('', { inputShape: [1, 28, 28] }).then(() => assert.unreachable('saved'), (err) => {
    assert.match(err.message, /saveOnnx: expected a file path \(a non-empty string\), got an empty string/);
  });
  await model.saveOnnx(join(sub, 'x.onnx'), { inputShape: [1, 28, 28], opset: 9 }).then(() => assert.unreachable('saved'), (err) => {
    assert.match(err.message, /toOnnx: opset must be/);
  });
  assert.equal(readdirSync(sub), ['lenet5.onnx']);
});

// Runs last: every file the tests above exported.
test('onnx.checker.check_model(full_check=True) accepts every exported file', () => {
  assert.ok(exported.length >= 9, `exported ${exported.length} files`);
  const result = onnxChecker(exported, 'onnx-export');
  if (!result) return;
  console.log(`onnx-export: onnx ${result.version} (opsets to ${result.newest}) checked ${result.checked} files; ${result.skipped} with a newer opset than it knows`);
  assert.is(result.checked + result.skipped, exported.length);
  assert.ok(result.checked >= exported.filter((f) => f.opset <= 17).length, 'every file up to opset 17 was checked');
});

test.run();
