// The simdnet command with the zoo models and CIFAR-10: generated files in the binary format
// (the real data cannot be downloaded here), small enough that a ResNet-20 epoch takes seconds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sn from 'simdnet';

const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'simdnet-cli-zoo-'));
const run = (...args) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: dir });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

const RECORD = 3073;
const MEAN = [0.4914, 0.4822, 0.4465];
const STD = [0.2470, 0.2435, 0.2616];

/** `n` CIFAR-10 records: label (i·7 + k) mod 10, pixels from a small linear congruential generator seeded by k. */
function records(n, k) {
  const bytes = new Uint8Array(n * RECORD);
  let s = k + 1;
  for (let i = 0; i < n; i++) {
    bytes[i * RECORD] = (i * 7 + k) % 10;
    for (let j = 1; j < RECORD; j++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      bytes[i * RECORD + j] = s >>> 24;
    }
  }
  return bytes;
}

/** A cifar-10-batches-bin directory: five training batches of `perBatch` records and a test batch of `test`. */
function cifarDir(name, perBatch = 40, test = 50) {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  for (let k = 1; k <= 5; k++) writeFileSync(join(d, `data_batch_${k}.bin`), records(perBatch, k));
  writeFileSync(join(d, 'test_batch.bin'), records(test, 0));
  return d;
}

/** The test batch as the command reads it: [0, 1], then standardised per channel with CIFAR-10's mean and std. */
function standardisedTestImages(d) {
  const bytes = readFileSync(join(d, 'test_batch.bin'));
  const n = bytes.length / RECORD;
  const x = new Float32Array(n * 3072);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = bytes[i * RECORD];
    for (let j = 0; j < 3072; j++) {
      const c = Math.floor(j / 1024);
      x[i * 3072 + j] = (Math.fround(bytes[i * RECORD + 1 + j] / 255) - MEAN[c]) / STD[c];
    }
  }
  return { images: sn.tensor(x, [n, 3, 32, 32]), labels };
}

/** The metadata of a safetensors file. */
function metadata(file) {
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  return JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')).__metadata__;
}

const layout = (model) => Object.entries(model.stateDict()).map(([name, t]) => `${name}[${t.shape}]`);

const data = cifarDir('cifar-10-batches-bin');

test('train --model resnet20 --data cifar:DIR → eval, predict, features, summary; sn.load rebuilds a resnet20', async () => {
  const t = run('train', '--model', 'resnet20', '--data', `cifar:${data}`, '--epochs', '1', '--batch-size', '32', '-o', 'r20.safetensors');
  assert.is(t.code, 0, t.err);
  assert.ok(t.out.startsWith(`Training resnet20 on CIFAR-10 (${data}): 200 images, 1 epoch, batch 32, sgd lr 0.1 weight decay 0.0001 ` +
    'with cosine schedule, seed 0, augmented: RandomCrop(size=(32, 32), padding=4), RandomHorizontalFlip(p=0.5)\n'), t.out);
  assert.match(t.out, /Epoch 1\/1 .* val_acc [\d.]+%/);
  const accuracy = t.out.match(/Test accuracy: ([\d.]+%) \((\d+)\/50\)/);
  assert.ok(accuracy, t.out);

  assert.equal(metadata(join(dir, 'r20.safetensors'))['simdnet.zoo'], JSON.stringify({ model: 'resnet20', options: { numClasses: 10 } }));
  await sn.ready();
  const model = await sn.load(join(dir, 'r20.safetensors'));
  const fresh = sn.models.resnet20();
  assert.is(model.label(), fresh.label());
  assert.equal(layout(model), layout(fresh));

  // eval reads the same test set as train did, standardised with CIFAR-10's mean and std: the
  // loss it prints is the loaded model's on images standardised here.
  const e = run('eval', '--model', 'r20.safetensors', '--data', `cifar:${data}`);
  assert.is(e.code, 0, e.err);
  assert.match(e.out, new RegExp(`^Test set of CIFAR-10 \\(.*\\): 50 images, loss [\\d.]+, accuracy ${accuracy[1].replace('.', '\\.')}\n$`));
  const test = standardisedTestImages(data);
  const expected = model.evaluate(test.images, test.labels);
  assert.is(e.out.match(/loss ([\d.]+)/)[1], expected.loss.toFixed(4));

  const p = run('predict', '--model', 'r20.safetensors', '--data', `cifar:${data}`, '-o', 'cifar.csv', '--grid', 'cifar-grid.svg');
  assert.is(p.code, 0, p.err);
  const rows = readFileSync(join(dir, 'cifar.csv'), 'utf8').trim().split('\n');
  assert.is(rows[0], 'ImageId,Label');
  assert.equal(rows.slice(1).map((r) => Number(r.split(',')[1])), [...model.predictClasses(test.images)]);
  assert.ok(readFileSync(join(dir, 'cifar-grid.svg'), 'utf8').includes('<svg'));

  // features draws the stem convolution of a zoo model: its 16 channels.
  const f = run('features', '--model', 'r20.safetensors', '--data', `cifar:${data}`, '--index', '2', '-o', 'conv1.svg');
  assert.is(f.code, 0, f.err);
  const svg = readFileSync(join(dir, 'conv1.svg'), 'utf8');
  assert.ok(svg.includes('conv1 of CifarResNet, test image 2'), svg.slice(0, 600));
  assert.ok(svg.includes('>ch 15<') && !svg.includes('>ch 16<'), 'one map per output channel of conv1');

  const s = run('summary', '--model', 'r20.safetensors');
  assert.is(s.code, 0, s.err);
  assert.ok(s.out.startsWith('CifarResNet(\n'), s.out.slice(0, 100));
  assert.match(s.out, /Input shape: \[-1, 3, 32, 32\]\nTotal params: 272,474\n/);
});

test('the same seed gives the same file; the augmentation is drawn from it, and --augment none leaves it out', () => {
  const args = ['train', '--model', 'resnet20', '--data', `cifar:${data}`, '--epochs', '1', '--limit', '64', '--seed', '5', '--validation-split', '0'];
  const a = run(...args, '-o', 'seeded-a.safetensors');
  const b = run(...args, '-o', 'seeded-b.safetensors');
  const c = run(...args, '--augment', 'none', '-o', 'plain.safetensors');
  for (const r of [a, b, c]) assert.is(r.code, 0, r.err);
  assert.match(a.out, /: 64 images, .*, augmented: RandomCrop/);
  assert.not.match(c.out, /augmented/);
  const bytes = (name) => readFileSync(join(dir, name));
  assert.ok(bytes('seeded-a.safetensors').equals(bytes('seeded-b.safetensors')));
  assert.not.ok(bytes('seeded-a.safetensors').equals(bytes('plain.safetensors')), 'the augmented batches trained other weights');
});

test('mobilenetV2:W trains with that width and is saved as mobilenetV2-W; the MLP takes CIFAR-10 images; --limit spans the batches', async () => {
  const m = run('train', '--model', 'mobilenetV2:0.5', '--data', `cifar:${data}`, '--epochs', '1', '--limit', '100', '--augment', 'flip');
  assert.is(m.code, 0, m.err);
  assert.match(m.out, /^Training mobilenetV2:0\.5 on CIFAR-10 \(.*\): 100 images, 1 epoch, batch 128, sgd lr 0\.1 weight decay 0\.0001 with cosine schedule, seed 0, augmented: RandomHorizontalFlip\(p=0\.5\)\n/);
  assert.match(m.out, /Test accuracy: [\d.]+% \(\d+\/50\)/);
  const file = join(dir, 'mobilenetV2-0.5.safetensors');
  assert.equal(JSON.parse(metadata(file)['simdnet.zoo']), { model: 'mobilenetV2', options: { numClasses: 10, widthMult: 0.5 } });
  await sn.ready();
  const loaded = await sn.load(file);
  assert.equal(layout(loaded), layout(sn.models.mobilenetV2({ numClasses: 10, widthMult: 0.5 })));

  // The MLP's input grows to the data's images; it trains with the small models' defaults.
  const p = run('train', '--model', 'mlp', '--data', `cifar:${data}`, '--epochs', '1', '--augment', 'none', '--optimizer', 'sgd', '--weight-decay', '0.001');
  assert.is(p.code, 0, p.err);
  assert.match(p.out, /: 200 images, 1 epoch, batch 64, sgd lr 0\.01 weight decay 0\.001 with cosine schedule, seed 0\n/);
  const s = run('summary', '--model', 'mlp.safetensors');
  assert.match(s.out, /\(1\): Linear\(in_features=3072, out_features=256, bias=True\)/);
  assert.match(s.out, /Input shape: \[-1, 3, 32, 32\]/);
});

test('summary names every zoo model: 3×32×32 images, 10 classes', () => {
  const params = {
    resnet18: '11,181,642', resnet34: '21,289,802', resnet20: '272,474', resnet32: '466,906', resnet56: '855,770',
    mobilenetV2: '2,236,682', 'mobilenetV2:0.5': '700,490', vgg11_bn: '128,812,810',
  };
  for (const [name, count] of Object.entries(params)) {
    const r = run('summary', '--model', name);
    assert.is(r.code, 0, `${name}: ${r.err}`);
    assert.match(r.out, new RegExp(`Input shape: \\[-1, 3, 32, 32\\]\nTotal params: ${count}\n`), name);
  }
  assert.match(run('summary', '--model', 'vgg11_bn').out, /features\.1 BatchNorm2d/);
  // The same summary for a name and for the file of a model trained from that name.
  assert.is(run('summary', '--model', 'resnet20').out, run('summary', '--model', 'r20.safetensors').out);
});

test('a model that cannot take the images is refused before anything runs, naming the layer', () => {
  const cases = [
    [['train', '--model', 'resnet20', '--limit', '50'],
      /^simdnet train: --model resnet20 cannot take the 1×28×28 images of MNIST: conv1 \(Conv2d\(3, 16, kernel_size=\(3, 3\).*\)\): expected input of shape \[N, 3, H, W\], got \[2, 1, 28, 28\]\n/],
    [['train', '--model', 'mobilenetV2:0.5', '--limit', '50', '-o', 'mobile.safetensors'], /--model mobilenetV2:0\.5 cannot take the 1×28×28 images of MNIST: features\.0\.0 \(Conv2d\(3, 16/],
    [['train', '--data', `cifar:${data}`], /--model lenet5 cannot take the 3×32×32 images of CIFAR-10 \(.*\): layer 0 \(Conv2d\(1, 6, .*\)\): expected input of shape \[N, 1, H, W\], got \[2, 3, 32, 32\]/],
    [['eval', '--model', 'r20.safetensors', '--limit', '20'], /--model r20\.safetensors cannot take the 1×28×28 images of MNIST: conv1 \(Conv2d\(3, 16/],
    [['predict', '--model', 'r20.safetensors', '--limit', '20', '-o', 'never.csv'], /--model r20\.safetensors cannot take the 1×28×28 images of MNIST: conv1/],
    [['features', '--model', 'r20.safetensors', '-o', 'never.svg'], /--model r20\.safetensors cannot take the 1×28×28 images of MNIST: conv1/],
  ];
  for (const [args, message] of cases) {
    const r = run(...args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
    assert.not.match(r.err, /\n +at /, 'no stack trace');
    assert.not.match(r.out, /Training|Epoch/, 'nothing trained');
  }
  for (const file of ['resnet20.safetensors', 'mobile.safetensors', 'lenet5.safetensors', 'never.csv', 'never.svg']) {
    assert.not.ok(existsSync(join(dir, file)), `${file} was not written`);
  }
});

test('a missing or malformed CIFAR-10 file is an error naming the file; eval needs only the test batch', () => {
  const broken = (name, change) => {
    const d = cifarDir(name, 10, 10);
    change(d);
    return run('train', '--model', 'resnet20', '--data', `cifar:${d}`, '--epochs', '1', '-o', `${name}.safetensors`);
  };
  let r = broken('missing', (d) => rmSync(join(d, 'data_batch_3.bin')));
  assert.is(r.code, 1, r.err);
  assert.match(r.err, /^simdnet train: cannot read .*missing\/data_batch_3\.bin \(ENOENT[^)]*\); --data cifar:DIR wants the directory of CIFAR-10's binary version \(cifar-10-batches-bin\) with data_batch_1\.bin … data_batch_5\.bin and test_batch\.bin\n$/);
  r = broken('short', (d) => writeFileSync(join(d, 'test_batch.bin'), records(3, 0).subarray(0, 3 * RECORD - 1)));
  assert.is(r.code, 1, r.err);
  assert.match(r.err, /short\/test_batch\.bin: 9218 bytes is not a whole number of CIFAR-10 records \(3073 bytes each: 1 label \+ 3×32×32 pixels\)/);
  r = broken('label', (d) => {
    const bytes = records(10, 2);
    bytes[4 * RECORD] = 11;
    writeFileSync(join(d, 'data_batch_2.bin'), bytes);
  });
  assert.is(r.code, 1, r.err);
  assert.match(r.err, /label\/data_batch_2\.bin: record 4 \(byte 12292\) has label 11, outside 0\.\.9/);
  r = run('train', '--model', 'resnet20', '--data', `cifar:${join(dir, 'nowhere')}`);
  assert.is(r.code, 1, r.err);
  assert.match(r.err, /cannot read .*nowhere\/data_batch_1\.bin/);
  r = run('train', '--data', 'cifar:');
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /--data cifar:DIR: give the directory of CIFAR-10's binary batches/);
  for (const name of ['missing', 'short', 'label']) assert.not.ok(existsSync(join(dir, `${name}.safetensors`)));

  // eval, predict and features read the test batch only.
  const e = run('eval', '--model', 'r20.safetensors', '--data', `cifar:${join(dir, 'missing')}`);
  assert.is(e.code, 0, e.err);
  assert.match(e.out, /: 10 images, loss/);
});

test('bad zoo names, widths, augmentations and weight decays are usage errors naming the option', () => {
  const cases = [
    [['train', '--model', 'resnet99'], /--model: expected lenet5, mlp, resnet18, resnet34, resnet20, resnet32, resnet56, mobilenetV2, vgg11, vgg11_bn \(mobilenetV2:W for width W\), or an architecture \.json file, got 'resnet99'/],
    [['summary', '--model', 'ResNet20'], /--model: expected .* got 'ResNet20'/],
    [['train', '--model', 'mobilenetV2:0'], /--model: in mobilenetV2:W, W is the width multiplier, a number > 0 \(e\.g\. mobilenetV2:0\.5\), got '0'/],
    [['train', '--model', 'mobilenetV2:wide'], /W is the width multiplier, a number > 0 .*got 'wide'/],
    [['train', '--model', 'mobilenetV2:'], /W is the width multiplier, a number > 0 .*got ''/],
    [['train', '--data', 'cifar10'], /--data: expected mnist, idx:DIR or csv:FILE \(digits\) or cifar:DIR \(CIFAR-10\), got 'cifar10'/],
    [['train', '--augment', 'rotate'], /--augment: expected none, or crop and\/or flip separated by a comma \(e\.g\. crop,flip\), got 'rotate'/],
    [['train', '--augment', 'crop,crop'], /--augment: expected none, .*got 'crop,crop'/],
    [['train', '--weight-decay=-1'], /--weight-decay: invalid value '-1' \(expected a number ≥ 0\)/],
    [['eval', '--model', 'resnet20'], /--model: give the trained model file/],
    [['eval', '--model', 'r20.safetensors', '--augment', 'none'], /--augment is not an option of eval/],
  ];
  for (const [args, message] of cases) {
    const r = run(...args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
    assert.not.match(r.err, /\n +at /, 'no stack trace');
  }
});

test('the help texts speak of the zoo models, CIFAR-10 and the new options', () => {
  const train = run('train', '--help');
  assert.is(train.code, 0, train.err);
  for (const name of [...sn.models.ZOO_MODELS, 'vgg11_bn', 'mobilenetV2:W', 'cifar:DIR', 'data_batch_1.bin', 'test_batch.bin']) {
    assert.ok(train.out.includes(name), `train --help names ${name}`);
  }
  assert.match(train.out, /\n  --augment LIST +none \| crop \| flip \| crop,flip \(crop,flip for cifar:DIR, none otherwise\)/);
  assert.match(train.out, /\n  --weight-decay X +L2 penalty/);
  assert.match(train.out, /mean \(0\.4914, 0\.4822, 0\.4465\)\s+and std \(0\.2470, 0\.2435, 0\.2616\)/);
  assert.match(train.out, /SGD with momentum 0\.9, lr 0\.1/);
  assert.match(train.out, /\n  simdnet train --model resnet20 --data cifar:/);
  for (const command of ['eval', 'predict', 'features']) assert.match(run(command, '--help').out, /\| cifar:DIR \(CIFAR-10 binary batches, as in cifar-10-batches-bin\)/, command);
  assert.match(run('summary', '--help').out, /3×32×32/);
  const all = run('--help').out;
  assert.match(all, /cifar:DIR/);
  assert.match(all, /resnet20/);
  assert.match(all, /mobilenetV2\[:W\]/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
