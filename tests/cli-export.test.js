// simdnet export: a saved model written as ONNX runs in ONNX Runtime (onnxruntime-web, its wasm
// build, in Node) and gives the saved model's eval-mode outputs; bad options are usage errors
// (exit 2) naming the option, and a refused model leaves no file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sn from 'simdnet';
import { rng, freshSeed } from './helpers.js';
import { assertRuntimeAgrees, onnxChecker } from './onnx-check.js';

await sn.ready();
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'simdnet-cli-export-'));
const run = (...args) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: dir });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

/** Runs `file` in ONNX Runtime at each batch size and compares with `model` in eval mode (tests/onnx-check.js). */
const compare = (file, model, inputShape, seed) => assertRuntimeAgrees(readFileSync(file), model, inputShape, rng(seed), `${file} (seed ${seed})`);

test('a saved LeNet-5 and a saved BatchNorm model exported from the command line agree with ONNX Runtime', async () => {
  const seed = freshSeed();
  sn.manualSeed(seed);
  const lenet = sn.models.lenet5();
  await lenet.save(join(dir, 'lenet.safetensors'));
  // Default input shape (MNIST's), default output name and opset.
  let r = run('export', '--model', 'lenet.safetensors');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /Wrote lenet\.onnx: .* for input \[N, 1, 28, 28\], opset 17/);
  await compare(join(dir, 'lenet.onnx'), await sn.load(join(dir, 'lenet.safetensors')), [1, 28, 28], seed);

  // BatchNorm with non-trivial running statistics, exported in its inference form at opset 13.
  const rand = rng(seed + 1);
  const bn = new sn.Sequential(new sn.Conv2d(3, 4, 3, { padding: 1 }), new sn.BatchNorm2d(4), new sn.ReLU(),
    new sn.Flatten(), new sn.Linear(4 * 8 * 8, 5));
  const norm = bn.modules().find((m) => m instanceof sn.BatchNorm2d);
  norm.runningMean.view().forEach((_, i, a) => { a[i] = rand() - 0.5; });
  norm.runningVar.view().forEach((_, i, a) => { a[i] = 0.3 + 2 * rand(); });
  await bn.save(join(dir, 'bn.safetensors'));
  r = run('export', '--model', 'bn.safetensors', '--input-shape', '3,8,8', '--opset', '13', '-o', 'bn13.onnx');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /Wrote bn13\.onnx: .* for input \[N, 3, 8, 8\], opset 13/);
  await compare(join(dir, 'bn13.onnx'), await sn.load(join(dir, 'bn.safetensors')), [3, 8, 8], seed);
});

test('onnx.checker.check_model(full_check=True) accepts the files simdnet export wrote', () => {
  const files = ['lenet.onnx', 'bn13.onnx'].map((f) => join(dir, f));
  for (const f of files) assert.ok(existsSync(f), f);
  const result = onnxChecker(files.map((path) => ({ path, opset: path.endsWith('bn13.onnx') ? 13 : 17 })), 'cli-export');
  if (result) assert.is(result.checked, files.length);
});

test('bad options exit 2 naming the option; a model that cannot be exported exits 1; neither leaves a file', () => {
  const before = readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort();
  const cases = [
    [['export', '--model', 'lenet5', '--opset', '12', '-o', 'x.onnx'], /simdnet export: --opset: invalid value '12' \(expected an integer from 13 to 21\)/],
    [['export', '--model', 'lenet5', '--opset', 'x', '-o', 'x.onnx'], /--opset: invalid value 'x'/],
    [['export', '--model', 'lenet5', '--input-shape', '1,28,0', '-o', 'x.onnx'], /--input-shape: invalid value '1,28,0' \(expected .*positive integers/],
    [['export', '--model', 'lenet5', '--input-shape', '1x28x28', '-o', 'x.onnx'], /--input-shape: invalid value '1x28x28'/],
    [['export', '--model', 'nonet', '-o', 'x.onnx'], /--model: expected lenet5, mlp, /],
    [['export', '--model', 'lenet5', '--epochs', '2', '-o', 'x.onnx'], /--epochs is not an option of export \(it takes --model, --input-shape, --opset, --output\)/],
  ];
  for (const [args, message] of cases) {
    const r = run(...args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
    assert.match(r.err, /simdnet export --help lists its options\./);
    assert.not.match(r.err, /\n +at /, 'no stack trace');
  }
  // The shape is well formed but LeNet-5 cannot take it: refused by the export, nothing written.
  const r = run('export', '--model', 'lenet5', '--input-shape', '3,32,32', '-o', 'x.onnx');
  assert.is(r.code, 1, r.err);
  assert.match(r.err, /^simdnet export: /);
  assert.not.ok(existsSync(join(dir, 'x.onnx')));
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort(), before, 'no file, not even a temporary one');
});

test('export has its own help and simdnet --help lists it', () => {
  const h = run('export', '--help');
  assert.is(h.code, 0, h.err);
  assert.ok(h.out.startsWith('Usage: simdnet export'), h.out);
  for (const o of ['--model', '--input-shape', '--opset', '--output']) assert.match(h.out, new RegExp(`\n  ${o}[ ,]`), `export --help lists ${o}`);
  assert.is(run('help', 'export').out, h.out);
  assert.match(run('--help').out, /\n  export +write a model as an ONNX file/);
});

test.run();
