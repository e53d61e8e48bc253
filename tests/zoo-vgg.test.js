// VGG-11 and VGG-11 with BatchNorm against torchvision, in a child process (tests/zoo-child.js):
// 133 million parameters take over 1 GB of wasm memory, which never shrinks, and uvu runs every
// test file in one process. The child builds both at 1000 classes (torchvision's parameter counts,
// the initialisation checks of tests/zoo-helpers.js), runs both fixtures in train and eval mode,
// refuses a 16×16 input, and saves and loads VGG-11-BN once. Any failed check there fails the
// child, and that fails the tests here (the last test shows it does).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';
import { runChild, neededValues } from './zoo-helpers.js';

await sn.ready();

const JOBS = [
  { kind: 'build', builder: 'vgg11', options: {}, seed: 11 },
  { kind: 'build', builder: 'vgg11', options: { batchNorm: true }, seed: 12 },
  { kind: 'parity', fixture: 'vgg11', tooSmall: true },
  { kind: 'parity', fixture: 'vgg11_bn', files: true },
];
// Started as this file is imported: uvu imports every test file before it runs any test, so the
// child (about a minute of one core) works while the other files' tests run. Settled into a value
// at once, so that a failure waits for the tests below instead of being an unhandled rejection.
const child = runChild(JOBS).then((results) => ({ results }), (error) => ({ error }));

async function results() {
  const { results: r, error } = await child;
  if (error) throw error;
  return r;
}

test("VGG-11 and VGG-11-BN at 1000 classes: torchvision's parameter counts, and the values a model file must hold", async () => {
  const [plain, bn] = await results();
  assert.is(plain.numParameters, 132_863_336);
  assert.is(bn.numParameters, 132_868_840);
  // Worked out without building anything, as sn.load does before it builds a model from a file.
  const inUse = rt().heap.bytesInUse;
  assert.is(neededValues(sn, { model: 'vgg11', options: { batchNorm: false, numClasses: 1000 } }), plain.stateValues);
  assert.is(neededValues(sn, { model: 'vgg11', options: { batchNorm: true, numClasses: 1000 } }), bn.stateValues);
  assert.is(rt().heap.bytesInUse, inUse);
});

test("VGG-11's initialisation as torchvision's: convolutions N(0, 2 / fan_out) with bias 0, Linear N(0, 0.01²) with bias 0, BatchNorm 1 and 0", async () => {
  const [plain, bn] = await results();
  for (const r of [plain, bn]) {
    assert.equal(r.init.failures, []);
    // Every weight but the BatchNorms' is normal: 132,851,392 values.
    assert.is(r.init.normal.values, 132_851_392);
  }
  assert.is(plain.init.tensors, 22);
  assert.is(bn.init.tensors, 22 + 8 * 5);
});

test('VGG-11 and VGG-11-BN: state-dict names, strict load and parity with PyTorch in train and eval mode', async () => {
  const [, , plain, bn] = await results();
  for (const [r, name, params, stats] of [[plain, 'vgg11', 22, 0], [bn, 'vgg11_bn', 38, 16]]) {
    assert.is(r.model, name);
    assert.is(r.modes.eval.comparisons, 2 + params, `${name} eval`);
    assert.is(r.modes.train.comparisons, 2 + params + stats, `${name} train`);
    for (const mode of ['train', 'eval']) assert.ok(r.modes[mode].worstRatio <= 1, `${name} ${mode}: ${r.modes[mode].worstRatio}`);
  }
});

test('an input too small for VGG-11: an Error naming the layer, the state unchanged', async () => {
  const [, , plain] = await results();
  assert.match(plain.tooSmall, /^features\.20 \(MaxPool2d\(kernel_size=2, stride=2, .*\): expected an input at least as large as the dilated kernel after padding, got \[2, 512, 1, 1\]/);
});

test('VGG-11-BN saved and loaded back by sn.load: the same class, options, state and eval outputs', async () => {
  const [, , , bn] = await results();
  assert.equal(bn.files.record, { model: 'vgg11', options: { batchNorm: true, numClasses: 10 } });
  assert.is(bn.files.class, 'VGG');
  assert.ok(bn.files.bytes > 5e8, `${bn.files.bytes} bytes`);
});

test("the child's failures reach the test: a fixture off by 1% in one logit, an unknown job", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zoo-child-'));
  try {
    const fx = JSON.parse(readFileSync(new URL('./fixtures/zoo/resnet20.json', import.meta.url), 'utf8'));
    fx.modes.train.logits[0][3] *= 1.01;
    const file = join(dir, 'resnet20.json');
    writeFileSync(file, JSON.stringify(fx));
    const err = await runChild([{ kind: 'parity', fixture: 'resnet20', file }]).then(() => null, (e) => e);
    assert.ok(err, 'the child passed a wrong fixture');
    assert.match(err.message, /^zoo child failed \(exit code 1\):\n.*resnet20, train mode: 1 of \d+ comparisons beyond tolerance:\n\s+logits: /s);
    const unknown = await runChild([{ kind: 'nonsense' }]).then(() => null, (e) => e);
    assert.match(unknown?.message ?? '', /unknown job kind "nonsense"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
