// The benchmark harness in its quickest mode, simdnet only: the report and the JSON have every
// section and every figure is a finite positive number. No timing is judged here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peakModule } from '../bench/peak.js';
import { SHAPES } from '../bench/gemm.js';
import { summarize } from '../bench/stats.js';
import { profileTable, shownNames, sideBySide } from '../bench/report.js';

const harness = new URL('../bench/main.js', import.meta.url).pathname;
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'simdnet-bench-'));
const run = (exe, ...args) => spawnSync(process.execPath, [exe, ...args], { encoding: 'utf8' });

const LAYERS = ['0 Conv2d', '1 ReLU', '2 MaxPool2d', '3 Conv2d', '4 ReLU', '5 MaxPool2d', '6 Flatten',
  '7 Linear', '8 ReLU', '9 Linear', '10 ReLU', '11 Linear'];

/** Every {median, min, max} in the result: finite, positive, min ≤ median ≤ max. */
function checkFigures(node, path, found) {
  if (node && typeof node === 'object') {
    if ('median' in node) {
      const { median, min, max } = node;
      assert.ok([median, min, max].every((v) => Number.isFinite(v) && v > 0), `${path}: ${JSON.stringify(node)}`);
      assert.ok(min <= median && median <= max, `${path}: min ≤ median ≤ max`);
      found.n++;
    }
    for (const [k, v] of Object.entries(node)) checkFigures(v, `${path}.${k}`, found);
  }
  return found.n;
}

test('summarize: median of odd and even counts, min and max', () => {
  assert.equal(summarize([3, 1, 2]), { median: 2, min: 1, max: 3, samples: 3 });
  assert.equal(summarize([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4, samples: 4 });
});

test('the report\'s per-layer tables keep the layer names aligned past layer 9', () => {
  const ms = { median: 1.5, min: 1, max: 2 };
  const rows = [...LAYERS.map((name) => ({ name, layer: true, forwardMs: ms, backwardMs: ms })),
    { name: 'optimizer step (Adam)', layer: false, forwardMs: null, backwardMs: ms }];
  const shown = ['0 Conv2d', '1 ReLU', '2 MaxPool2d', '3 Conv2d', '4 ReLU', '5 MaxPool2d', '6 Flatten',
    '7 Linear', '8 ReLU', '9 Linear', '10 ReLU', '11 Linear'].map((n) => (/^\d /.test(n) ? ` ${n}` : n));
  assert.equal(shownNames(rows), [...shown, 'optimizer step (Adam)']);
  const profile = { batch: 4, method: 'm', rows, stepMs: ms, forwardMs: ms, backwardMs: ms };
  for (const text of [profileTable(profile), sideBySide([['a', profile], ['b', profile]])]) {
    const lines = text.split('\n').filter((l) => l.includes('|'));
    for (const line of lines) assert.is(line.indexOf('|'), lines[0].indexOf('|'), line);
    for (const name of shown) assert.ok(lines.some((l) => l.startsWith(`${name} `)), `${name} in\n${text}`);
  }
});

test('the hand-assembled peak loop is valid wasm and computes', () => {
  const bytes = peakModule(8, false);
  assert.ok(WebAssembly.validate(bytes));
  const { peak } = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
  // Every accumulator converges to 2 (x → x/2 + 1); lane 0 of their sum is 16.
  assert.is(peak(200), 16);
});

test('--quick --only simdnet: report sections and JSON figures', () => {
  const json = join(dir, 'bench.json');
  const r = run(harness, '--quick', '--only', 'simdnet', '--batches', '1,4', '--json', json);
  assert.is(r.status, 0, r.stderr);
  for (const section of ['simdnet benchmark', 'wasm SIMD peak on this machine', '## GEMM', '## Per-layer times, simdnet',
    'batch 1 (', 'batch 4 (', '## Throughput', '## Notes']) assert.ok(r.stdout.includes(section), `report has "${section}"`);
  assert.match(r.stdout, /simdnet build loaded: simdnet(-relaxed)?\.wasm/);
  assert.match(r.stdout, /\nlayer +\| +forward ms \| +backward ms\n/);
  assert.match(r.stdout, /\ntotal +\| +[\d.]+ \[[\d.]+–[\d.]+\] \| +[\d.]+ \[[\d.]+–[\d.]+\]\n/);

  const out = JSON.parse(readFileSync(json, 'utf8'));
  assert.ok(out.machine.node && out.machine.cpu && out.machine.cores > 0 && out.machine.wasmSimd === true);
  assert.equal(Object.keys(out.frameworks), ['simdnet']);
  assert.ok(out.peak.mulAdd.best.median > 0);
  assert.is(out.gemm.length, SHAPES.length);
  for (const g of out.gemm) assert.ok(g.percentOfPeak > 0 && Number.isFinite(g.percentOfPeak), g.label);
  const sn = out.frameworks.simdnet;
  assert.equal(Object.keys(sn.profiles), ['1', '4']);
  for (const p of Object.values(sn.profiles)) {
    assert.equal(p.rows.filter((row) => row.layer).map((row) => row.name), LAYERS);
    assert.ok(p.rows.some((row) => row.name.startsWith('optimizer')));
  }
  assert.equal(sn.throughput.map((t) => t.batch), [1, 4]);
  for (const t of sn.throughput) assert.ok(t.train.imgPerSec.median > 0 && t.infer.imgPerSec.median > 0);
  assert.ok(checkFigures(out, 'result', { n: 0 }) >= 90, 'every figure is a finite positive median with its spread');
});

test('--plain-simd loads the plain SIMD build; simdnet bench goes to the same harness', () => {
  const r = run(cli, 'bench', '--quick', '--only', 'simdnet', '--batches', '2', '--plain-simd');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /simdnet build loaded: simdnet\.wasm \(SIMD\)/);
  assert.ok(r.stdout.includes('## Throughput'));
});

test('bad options: a usage error, exit code 2', () => {
  let r = run(harness, '--only', 'numpy');
  assert.is(r.status, 2);
  assert.match(r.stderr, /--only: unknown part 'numpy'/);
  r = run(cli, 'bench', '--batches', '0');
  assert.is(r.status, 2);
  assert.match(r.stderr, /--batches: expected positive integers/);
  r = run(cli, 'bench', '--help');
  assert.is(r.status, 0);
  assert.match(r.stdout, /--json FILE/);
});

test.run();
