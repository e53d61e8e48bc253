// The simdnet command end to end on small slices of real MNIST.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'simdnet-cli-'));
const run = (...args) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: dir });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

test('train → eval → predict → features → summary', () => {
  const t = run('train', '--limit', '600', '--epochs', '2', '--batch-size', '32', '-o', 'm.safetensors', '--plot', 'curves.svg');
  assert.is(t.code, 0, t.err);
  assert.match(t.out, /Training lenet5 on MNIST: 600 images, 2 epochs, batch 32, adam lr 0\.001 with cosine schedule, seed 0/);
  assert.match(t.out, /Epoch 2\/2 .* val_acc [\d.]+%/);
  const acc = Number(t.out.match(/Test accuracy: ([\d.]+)% \(\d+\/600\)/)[1]);
  assert.ok(acc > 50, `test accuracy ${acc}% after 2 epochs on 600 images`);
  assert.ok(existsSync(join(dir, 'm.safetensors')) && readFileSync(join(dir, 'curves.svg'), 'utf8').includes('<svg'));

  const e = run('eval', '--model', 'm.safetensors', '--limit', '600');
  assert.is(e.code, 0, e.err);
  assert.match(e.out, new RegExp(`accuracy ${acc.toFixed(2).replace('.', '\\.')}%`), 'eval agrees with the accuracy train printed');

  const p = run('predict', '--model', 'm.safetensors', '--limit', '50', '-o', 'sub.csv', '--grid', 'grid.svg');
  assert.is(p.code, 0, p.err);
  const lines = readFileSync(join(dir, 'sub.csv'), 'utf8').trim().split('\n');
  assert.is(lines[0], 'ImageId,Label');
  assert.is(lines.length, 51);
  assert.match(lines[1], /^1,\d$/);
  assert.ok(readFileSync(join(dir, 'grid.svg'), 'utf8').includes('<svg'));

  const f = run('features', '--model', 'm.safetensors', '--index', '3', '-o', 'features.png');
  assert.is(f.code, 0, f.err);
  assert.equal([...readFileSync(join(dir, 'features.png')).subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);

  const s = run('summary', '--model', 'm.safetensors');
  assert.is(s.code, 0, s.err);
  assert.match(s.out, /Total params: 61,706/);
});

test('the same seed gives a bit-identical model and the same accuracy', () => {
  const a = run('train', '--limit', '300', '--epochs', '1', '--seed', '3', '-o', 'a.safetensors');
  const b = run('train', '--limit', '300', '--epochs', '1', '--seed', '3', '-o', 'b.safetensors');
  assert.is(a.code, 0, a.err);
  assert.ok(readFileSync(join(dir, 'a.safetensors')).equals(readFileSync(join(dir, 'b.safetensors'))));
  assert.is(a.out.match(/Test accuracy: .*/)[0], b.out.match(/Test accuracy: .*/)[0]);
});

test('mlp and a JSON architecture train; a Kaggle CSV trains and predicts', () => {
  const m = run('train', '--model', 'mlp', '--limit', '300', '--epochs', '1', '-o', 'mlp.safetensors');
  assert.is(m.code, 0, m.err);
  writeFileSync(join(dir, 'tiny.json'), JSON.stringify({ format: 'simdnet.sequential', version: 1, layers: [
    { type: 'Flatten', startDim: 1, endDim: -1 }, { type: 'Linear', inFeatures: 784, outFeatures: 10, bias: true }] }));
  const j = run('train', '--model', 'tiny.json', '--limit', '300', '--epochs', '1', '--optimizer', 'sgd');
  assert.is(j.code, 0, j.err);
  assert.ok(existsSync(join(dir, 'tiny.safetensors')));

  const header = ['label', ...Array.from({ length: 784 }, (_, i) => `pixel${i}`)].join(',');
  const row = (label, k) => [label, ...Array.from({ length: 784 }, (_, i) => ((i * 7 + k * 13) % 256))].join(',');
  writeFileSync(join(dir, 'train.csv'), [header, ...Array.from({ length: 40 }, (_, k) => row(k % 10, k))].join('\n'));
  writeFileSync(join(dir, 'test.csv'), [header.replace('label,', ''), ...Array.from({ length: 7 }, (_, k) => row(0, k).replace(/^0,/, ''))].join('\n'));
  const c = run('train', '--data', 'csv:train.csv', '--epochs', '1', '--batch-size', '8', '-o', 'csv.safetensors');
  assert.is(c.code, 0, c.err);
  assert.match(c.out, /Validation accuracy: [\d.]+% \(the data has no separate test set\)/);
  const p = run('predict', '--model', 'csv.safetensors', '--data', 'csv:test.csv', '-o', 'kaggle.csv');
  assert.is(p.code, 0, p.err);
  assert.is(readFileSync(join(dir, 'kaggle.csv'), 'utf8').trim().split('\n').length, 8);
});

test('bad usage exits with 2 and a message; bad files exit with 1 naming the file', () => {
  let r = run('train', '--epochs', 'x');
  assert.is(r.code, 2); assert.match(r.err, /--epochs: invalid value 'x'/);
  // A seed beyond the safe integers: refused as usage, as manualSeed and fit refuse it.
  r = run('train', '--seed', '1e20');
  assert.is(r.code, 2); assert.match(r.err, /--seed: invalid value '1e20'/);
  r = run('bogus');
  assert.is(r.code, 2); assert.match(r.err, /unknown command 'bogus'/);
  // Names of Object.prototype's members are unknown commands too, not Object's functions.
  for (const name of ['constructor', 'hasOwnProperty']) {
    r = run(name);
    assert.is(r.code, 2, name); assert.match(r.err, new RegExp(`unknown command '${name}'`));
  }
  r = run('train', '--data', 'ftp:x');
  assert.is(r.code, 2); assert.match(r.err, /--data: expected mnist, idx:DIR or csv:FILE/);
  r = run('eval', '--model', 'lenet5');
  assert.is(r.code, 2); assert.match(r.err, /give the trained model file/);
  writeFileSync(join(dir, 'broken.safetensors'), new Uint8Array([1, 2, 3]));
  r = run('eval', '--model', 'broken.safetensors');
  assert.is(r.code, 1); assert.match(r.err, /broken\.safetensors/);
  r = run('--help');
  assert.is(r.code, 0); assert.match(r.out, /Usage: simdnet <command>/);
});

test('a model file whose convolution needs more than wasm memory: eval, predict and features exit 1 naming the layer', async () => {
  const sn = await import('simdnet');
  await sn.ready();
  // Legal and 40 KB on disk, but its im2col scratch for a 28×28 image is 2.16e9 floats (past 2^31).
  const model = new sn.Sequential(new sn.Conv2d(1, 1, 100, { stride: 2, padding: 500 }), new sn.AdaptiveAvgPool2d(1), new sn.Flatten(), new sn.Linear(1, 10));
  await model.save(join(dir, 'huge.safetensors'));
  model.dispose();
  for (const args of [['eval', '--limit', '20'], ['predict', '--limit', '20', '-o', 'huge.csv'], ['features', '--index', '0', '-o', 'huge.png']]) {
    const r = run(...args, '--model', 'huge.safetensors');
    assert.is(r.code, 1, `${args[0]}: ${r.err}`);
    assert.match(r.err, /wasm memory cannot grow to allocate 8\.1 GiB for Conv2d\(1, 1, kernel_size=\(100, 100\), stride=\(2, 2\), padding=\(500, 500\)\) cols buffer/);
    assert.not.match(r.err, /RuntimeError|at .*\.js:\d+/, `${args[0]}: no trap, no stack trace`);
  }
  assert.not.ok(existsSync(join(dir, 'huge.csv')), 'predict wrote no partial file');
});

test.run();
