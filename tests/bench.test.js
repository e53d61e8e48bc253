// The benchmark harness in its quickest mode, simdnet only: the report and the JSON have every
// section and every figure is a finite positive number. No timing is judged here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { peakModule, mergePeaks } from '../bench/peak.js';
import { SHAPES } from '../bench/gemm.js';
import { summarize } from '../bench/stats.js';
import { profileTable, shownNames, sideBySide, kindRows, netSection, percentCell, gemmSection, zooSection, zooTarget, fusedPaths } from '../bench/report.js';
import { kindOf, profileRowKind, NET_NAMES, ZOO_NETS } from '../bench/nets.js';
import { zooShapes, zooCases, convFlops, simdnetCase, percentOfPeak, winogradFlops, WINOGRAD_ALGORITHMS, QUICK_TRIM_FLOPS } from '../bench/zoo.js';
import { measureRounds } from '../bench/stats.js';
import { cpuTimes, stealBetween } from '../bench/env.js';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';
import { uniqueNames } from '../bench/simdnet.js';

const harness = new URL('../bench/main.js', import.meta.url).pathname;
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'simdnet-bench-'));
const run = (exe, ...args) => spawnSync(process.execPath, [exe, ...args], { encoding: 'utf8' });

const LAYERS = ['0 Conv2d', '1 ReLU', '2 MaxPool2d', '3 Conv2d', '4 ReLU', '5 MaxPool2d', '6 Flatten',
  '7 Linear', '8 ReLU', '9 Linear', '10 ReLU', '11 Linear'];
/** simdnet's LeNet-5 rows: conv1 and conv2 take their ReLU in their stores. */
const SIMDNET_LAYERS = ['0+1 Conv2d+ReLU', '2 MaxPool2d', '3+4 Conv2d+ReLU', '5 MaxPool2d', '6 Flatten',
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

test('sideBySide: a fused pair\'s row against the two rows of a framework that runs them apart, the rows after it by index', () => {
  const rowsOf = (names, ms) => names.map((name) => {
    const v = ms(Number(name.split(/[+ ]/)[0]));
    return { name, layer: true, forwardMs: { median: v, min: v, max: v }, backwardMs: { median: 2 * v, min: 2 * v, max: 2 * v } };
  });
  const profile = (rows) => ({ rows, stepMs: { median: 1, min: 1, max: 1 } });
  // simdnet's row i takes i + 1 ms; the other's row i takes 100·(i + 1) ms.
  const mine = profile(rowsOf(SIMDNET_LAYERS, (i) => i + 1)), theirs = profile(rowsOf(LAYERS, (i) => 100 * (i + 1)));
  const cells = (text, name) => text.split('\n').find((l) => l.trim().startsWith(name)).split('|').map((c) => c.trim());
  for (const [a, b, name, want] of [
    [mine, theirs, '3+4 Conv2d+ReLU', ['4.000', '8.000', '900.000', '1800.000']],
    [mine, theirs, '5 MaxPool2d', ['6.000', '12.000', '600.000', '1200.000']],
    // The other way round: the fused pair shows once, under the first of its indices.
    [theirs, mine, '3 Conv2d', ['400.000', '800.000', '4.000', '8.000']],
    [theirs, mine, '4 ReLU', ['500.000', '1000.000', '', '']],
  ]) {
    const text = sideBySide([['a', a], ['b', b]]);
    assert.equal(cells(text, name).slice(1), want, `${name} in\n${text}`);
  }
});

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
    assert.equal(p.rows.filter((row) => row.layer).map((row) => row.name), SIMDNET_LAYERS);
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
  assert.match(r.stdout, /--nets LIST +comma-separated: lenet5, resnet20, mobilenetv2/);
  assert.match(r.stdout, /--net-batches LIST/);
});

test('bad --nets and --net-batches: a usage error naming the option, the value and what is expected', () => {
  const cases = [
    [['--nets', 'resnet18'], /--nets: unknown network 'resnet18' \(expected a comma-separated list of lenet5, resnet20, mobilenetv2, vgg-cifar, convnetjs-cifar, seed003-cifar\)/],
    [['--nets', 'resnet20,MobileNetV2'], /--nets: unknown network 'MobileNetV2'/],
    [['--nets', ','], /--nets: no network given/],
    [['--net-batches', '0'], /--net-batches: expected positive integers, got '0'/],
    [['--net-batches', '2,x'], /--net-batches: expected positive integers, got '2,x'/],
    [['--net-batches', '1.5'], /--net-batches: expected positive integers, got '1.5'/],
    [['--net-batches', ''], /--net-batches: expected positive integers, got ''/],
    [['--batches', '4,'], /--batches: expected positive integers, got '4,'/],
  ];
  for (const [args, message] of cases) {
    const r = run(harness, ...args);
    assert.is(r.status, 2, args.join(' '));
    assert.match(r.stderr, message);
    assert.is(r.stdout, '', 'nothing ran');
  }
});

test('kindOf: layer types, and convolutions by kernel, depthwise or grouped, and stride', () => {
  const conv = (inChannels, kernel, stride, groups) => ({ inChannels, outChannels: inChannels, kernel, stride, groups });
  assert.is(kindOf('BatchNorm2d', null), 'BatchNorm2d');
  assert.is(kindOf('sn.add', null), 'sn.add');
  assert.is(kindOf('Conv2d', conv(16, [3, 3], [1, 1], 1)), 'Conv2d 3×3');
  assert.is(kindOf('Conv2d', conv(16, [1, 1], [2, 2], 1)), 'Conv2d 1×1 stride 2');
  assert.is(kindOf('Conv2d', conv(48, [3, 3], [2, 2], 48)), 'Conv2d 3×3 depthwise stride 2');
  assert.is(kindOf('Conv2d', conv(48, [3, 3], [1, 1], 4)), 'Conv2d 3×3 groups 4');
  assert.is(kindOf('Conv2d', conv(8, [1, 3], [1, 2], 1)), 'Conv2d 1×3 stride 1×2');
});

test('profileRowKind: a convolution or Linear fused with the layers after it counts as its own kind', () => {
  const model = new sn.Sequential(new sn.Conv2d(3, 8, 3, { stride: 2 }), new sn.ReLU(), new sn.BatchNorm2d(8), new sn.ReLU6());
  const modules = new Map(model.namedModules());
  assert.is(profileRowKind('Conv2d+ReLU', '0+1', modules), 'Conv2d 3×3 stride 2');
  assert.is(profileRowKind('Conv2d+sn.relu', 'a.conv+relu', new Map([['a.conv', model.at(0)]])), 'Conv2d 3×3 stride 2');
  assert.is(profileRowKind('Conv2d', '0', modules), 'Conv2d 3×3 stride 2');
  assert.is(profileRowKind('ReLU', '1', modules), 'ReLU');
  assert.is(profileRowKind('BatchNorm2d+ReLU6', '2+3', modules), 'BatchNorm2d+ReLU6');
  assert.is(profileRowKind('Conv2d+BatchNorm2d+ReLU6', '0+2+3', modules), 'Conv2d 3×3 stride 2');
  assert.is(profileRowKind('Linear+ReLU', '5+6', new Map([['5', new sn.Linear(2, 3)]])), 'Linear');
  assert.is(profileRowKind('sn.add', 'layer1.0', modules), 'sn.add');
  model.dispose();
});

test('rows named alike get #2, #3 in the order they ran', () => {
  const rows = uniqueNames([{ name: 'a sn.relu' }, { name: 'a Conv2d' }, { name: 'a sn.relu' }, { name: 'a sn.relu' }]);
  assert.equal(rows.map((r) => r.name), ['a sn.relu', 'a Conv2d', 'a sn.relu #2', 'a sn.relu #3']);
});

test('two peak measurements merge to the faster per accumulator count', () => {
  const g = (median) => ({ median, min: median - 1, max: median + 1, samples: 3 });
  const first = { mulAdd: { best: { ...g(30), accumulators: 12 }, byAccumulators: { 8: g(28), 12: g(30) } }, relaxedMadd: null };
  const second = { mulAdd: { best: { ...g(33), accumulators: 8 }, byAccumulators: { 8: g(33), 12: g(29) } }, relaxedMadd: null };
  const m = mergePeaks(first, second);
  assert.equal(m.mulAdd.byAccumulators, { 8: g(33), 12: g(30) });
  assert.equal(m.mulAdd.best, { ...g(33), accumulators: 8 });
  assert.is(m.relaxedMadd, null);
  assert.is(m.measurements, 2);
});

test('no percentage of the peak is shown above 100: it is flagged and explained', () => {
  assert.is(percentCell(93.4), '93');
  assert.is(percentCell(100.4), '100');
  assert.is(percentCell(131), '>100†');
  assert.is(percentCell(null), '');
  const gflops = { median: 40, min: 39, max: 41 };
  const text = gemmSection([{ label: 'a', gflops, percentOfPeak: 80 }, { label: 'b', gflops, percentOfPeak: 131 }], { name: 'FMA (relaxed_madd)', gflops: 50 });
  assert.match(text, /% of FMA \(relaxed_madd\) peak/);
  assert.match(text, /\nb +\| .* \| +>100†\n† above the peak measured in this run/);
  assert.not.match(text, /131/);
});

// A network's section from figures shaped as simdnet's and bench/pytorch.py's (PyTorch rows carry
// type and conv fields instead of a kind; the extra rows are each side's own).
const stat = (median) => ({ median, min: median, max: median, samples: 1 });
const fakeNet = () => ({
  label: 'Net', input: [3, 32, 32], pytorchLabel: 'PyTorch x', batches: [1, 8],
  simdnet: {
    throughput: [{ batch: 1, error: 'BatchNorm2d refuses one value' }, { batch: 8, train: { ms: stat(100), imgPerSec: stat(80) } }],
    profile: { batch: 8, method: 'sn', stepMs: stat(10), rows: [
      { name: 'c1 Conv2d', path: 'c1', type: 'Conv2d', kind: 'Conv2d 3×3', layer: true, forwardMs: stat(1), backwardMs: stat(2) },
      { name: 'c2 Conv2d', path: 'c2', type: 'Conv2d', kind: 'Conv2d 3×3', layer: true, forwardMs: stat(3), backwardMs: stat(4) },
      { name: 'b sn.relu', path: 'b', type: 'sn.relu', kind: 'sn.relu', layer: true, forwardMs: stat(0.5), backwardMs: stat(0.5) },
      { name: 'optimizer step (SGD momentum)', layer: false, forwardMs: null, backwardMs: stat(0.25) },
    ] },
  },
  pytorch: {
    throughput: [{ batch: 1, error: 'Expected more than 1 value' }, { batch: 8, train: { ms: stat(50), imgPerSec: stat(160) } }],
    profile: { batch: 8, method: 'pt', stepMs: stat(5), rows: [
      { name: 'c1 Conv2d', path: 'c1', type: 'Conv2d', conv: { inChannels: 3, outChannels: 3, kernel: [3, 3], stride: [1, 1], groups: 1 }, layer: true, forwardMs: stat(0.5), backwardMs: stat(1) },
      { name: 'c2 Conv2d', path: 'c2', type: 'Conv2d', conv: { inChannels: 3, outChannels: 3, kernel: [3, 3], stride: [1, 1], groups: 1 }, layer: true, forwardMs: stat(1.5), backwardMs: stat(0.5) },
      { name: 'backward outside module rows', layer: false, forwardMs: null, backwardMs: stat(1.5) },
    ] },
  },
  ratios: [{ vs: 'PyTorch', batch: 8, train: { median: 0.5, min: 0.5, max: 0.5 } }],
});

test('fusedPaths: a fused row\'s path names each layer\'s, later parts in place of the first\'s last segments', () => {
  assert.equal(fusedPaths('c1'), ['c1']);
  assert.equal(fusedPaths('3+4'), ['3', '4']);
  assert.equal(fusedPaths('features.2.conv.0.1+2'), ['features.2.conv.0.1', 'features.2.conv.0.2']);
  assert.equal(fusedPaths('layer1.0.bn1+relu'), ['layer1.0.bn1', 'layer1.0.relu']);
  assert.equal(fusedPaths('a.0.conv+bn+relu'), ['a.0.conv', 'a.0.bn', 'a.0.relu']);
});

test('the slowest rows: a fused row beside the sum of PyTorch\'s modules at its paths; a functional op beside none', () => {
  const n = fakeNet();
  const conv = { inChannels: 3, outChannels: 3, kernel: [3, 3], stride: [1, 1], groups: 1 };
  n.simdnet.profile.rows = [
    { name: 'blk.bn1+relu BatchNorm2d+ReLU', path: 'blk.bn1+relu', type: 'BatchNorm2d+ReLU', kind: 'BatchNorm2d+ReLU', layer: true, forwardMs: stat(3), backwardMs: stat(4) },
    { name: '3+4 Conv2d+ReLU', path: '3+4', type: 'Conv2d+ReLU', kind: 'Conv2d 3×3', layer: true, forwardMs: stat(2), backwardMs: stat(2) },
    { name: 'blk sn.add', path: 'blk', type: 'sn.add', kind: 'sn.add', layer: true, forwardMs: stat(1), backwardMs: stat(1) },
  ];
  n.pytorch.profile.rows = [
    { name: 'blk.bn1 BatchNorm2d', path: 'blk.bn1', type: 'BatchNorm2d', layer: true, forwardMs: stat(1), backwardMs: stat(0.25) },
    { name: 'blk.relu ReLU', path: 'blk.relu', type: 'ReLU', layer: true, forwardMs: stat(0.5), backwardMs: stat(0.5) },
    { name: '3 Conv2d', path: '3', type: 'Conv2d', conv, layer: true, forwardMs: stat(1.5), backwardMs: stat(2.5) },
    { name: '4 ReLU', path: '4', type: 'ReLU', layer: true, forwardMs: stat(0.25), backwardMs: stat(0.125) },
    { name: 'blk X', path: 'blk', type: 'X', layer: true, forwardMs: stat(9), backwardMs: stat(9) },
  ];
  const text = netSection(n);
  assert.match(text, /slowest simdnet rows at batch 8 \(ms per step; PyTorch's module at the same path beside it, for a fused row the sum of PyTorch's modules at the paths it names\)/);
  const slow = text.split('slowest simdnet rows')[1].split('\n').filter((l) => l.includes('|')).slice(1);
  assert.equal(slow.map((l) => l.split('|').map((c) => c.trim())), [
    ['blk.bn1+relu BatchNorm2d+ReLU', 'BatchNorm2d+ReLU', '3.000', '4.000', '1.500', '0.750'],
    ['3+4 Conv2d+ReLU', 'Conv2d 3×3', '2.000', '2.000', '1.750', '2.625'],
    ['blk sn.add', 'sn.add', '1.000', '1.000', '', ''],
  ]);
});

test('kindRows: each side\'s rows added up by kind, simdnet\'s costliest first', () => {
  const n = fakeNet();
  assert.equal(kindRows(n.simdnet.profile, n.pytorch.profile), [
    { kind: 'Conv2d 3×3', simdnet: { rows: 2, forwardMs: 4, backwardMs: 6 }, pytorch: { rows: 2, forwardMs: 2, backwardMs: 1.5 } },
    { kind: 'sn.relu', simdnet: { rows: 1, forwardMs: 0.5, backwardMs: 0.5 }, pytorch: null },
  ]);
});

test('a network\'s section: img/s with the batches not run and why, the ratio, time by kind, slowest rows beside PyTorch\'s', () => {
  const text = netSection(fakeNet());
  assert.match(text, /^## Net, 3×32×32 images: training step/);
  assert.match(text, /\nsimdnet +\| +1 \| +not run \(below\) \|/);
  assert.match(text, /\nsimdnet +\| +8 \| +80 \[80–80\] \| +100\.00 \[100\.00–100\.00\]\n/);
  assert.match(text, /\nPyTorch x +\| +8 \| +160 \[160–160\] \|/);
  assert.match(text, /not run: simdnet at batch 1: BatchNorm2d refuses one value\nnot run: PyTorch x at batch 1: Expected more than 1 value/);
  assert.match(text, /simdnet ÷ PyTorch, train img\/s \(above 1: simdnet faster\): batch 8 ×0\.50 \[0\.50–0\.50\]/);
  assert.match(text, /\nConv2d 3×3 +\| +2 \| +4\.000 \| +6\.000 \| +2 \| +2\.000 \| +1\.500 \| +×0\.35\n/);
  assert.match(text, /\nsn\.relu +\| +1 \| +0\.500 \| +0\.500 \| +\| +\| +\| +\n/);
  assert.match(text, /\nnot in a module row \(see below\) +\| +\| +0\.000 \| +0\.250 \| +\| +0\.000 \| +1\.500 \|/);
  assert.match(text, /\nstep +\| +\| +10\.000 \| +\| +\| +5\.000 \| +\| +×0\.50\n/);
  assert.match(text, /The 3 slowest simdnet rows at batch 8/);
  const slow = text.split('slowest simdnet rows')[1].split('\n').filter((l) => l.includes('|')).slice(1);
  assert.equal(slow.map((l) => l.split('|').map((c) => c.trim())), [
    ['c2 Conv2d', 'Conv2d 3×3', '3.000', '4.000', '1.500', '0.500'],
    ['c1 Conv2d', 'Conv2d 3×3', '1.000', '2.000', '0.500', '1.000'],
    ['b sn.relu', 'sn.relu', '0.500', '0.500', '', ''],
  ]);
});

test('--quick --only simdnet --nets resnet20,mobilenetv2: img/s and per-module rows by path and kind', () => {
  const json = join(dir, 'nets.json');
  // Batch 8: at 2 MobileNetV2's BatchNorms see 2 values per channel on its 1×1 maps and training diverges in a few steps.
  const r = run(harness, '--quick', '--only', 'simdnet', '--nets', 'resnet20,mobilenetv2', '--net-batches', '8', '--json', json);
  assert.is(r.status, 0, r.stderr);
  for (const section of ['wasm SIMD peak on this machine', '## GEMM', '## ResNet-20 (CIFAR, option B shortcuts), 3×32×32 images',
    '## MobileNetV2 width 0.5', '### Time by kind of module at batch 8', '### The 15 slowest simdnet rows at batch 8']) {
    assert.ok(r.stdout.includes(section), `report has "${section}"`);
  }
  assert.not.ok(r.stdout.includes('## Throughput, LeNet-5'), 'LeNet-5 left out');
  const out = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(out.options.nets, ['resnet20', 'mobilenetv2']);
  assert.equal(Object.keys(out.frameworks), []);
  assert.equal(Object.keys(out.nets), ['resnet20', 'mobilenetv2']);
  for (const n of Object.values(out.nets)) {
    assert.equal(n.simdnet.throughput.map((t) => t.batch), [8]);
    assert.ok(n.simdnet.throughput[0].train.imgPerSec.median > 0);
    assert.is(n.simdnet.profile.batch, 8);
    assert.is(n.pytorch, undefined);
  }
  const rows = (key) => new Map(out.nets[key].simdnet.profile.rows.filter((x) => x.layer).map((x) => [x.name, x]));
  const resnet = rows('resnet20'), mobile = rows('mobilenetv2');
  assert.is(resnet.get('layer1.0.conv1 Conv2d').kind, 'Conv2d 3×3');
  assert.is(resnet.get('layer2.0.conv1 Conv2d').kind, 'Conv2d 3×3 stride 2');
  assert.is(resnet.get('layer2.0.shortcut.0 Conv2d').kind, 'Conv2d 1×1 stride 2');
  // bn1 and the sn.relu after it run fused: one row naming both; the block's last sn.relu (after the add) stays its own.
  assert.is(resnet.get('layer1.0.bn1+relu BatchNorm2d+sn.relu').kind, 'BatchNorm2d+sn.relu');
  assert.is(resnet.get('layer1.0 sn.relu').kind, 'sn.relu');
  assert.is(mobile.get('features.2.conv.0.1+2 BatchNorm2d+ReLU6').kind, 'BatchNorm2d+ReLU6');
  assert.is([...resnet.values()].filter((x) => x.type === 'Conv2d').length, 21);
  assert.is(mobile.get('features.2.conv.1.0 Conv2d').kind, 'Conv2d 3×3 depthwise stride 2');
  assert.is(mobile.get('features.2.conv.0.0 Conv2d').kind, 'Conv2d 1×1');
  assert.is(mobile.get('features.3.conv.1.0 Conv2d').kind, 'Conv2d 3×3 depthwise');
  assert.is(mobile.get('features.3 sn.add').kind, 'sn.add');
  assert.is([...mobile.values()].filter((x) => x.type === 'Conv2d').length, 52);
  assert.ok(checkFigures(out.nets, 'nets', { n: 0 }) >= 2 * 60, 'every figure is a finite positive median with its spread');
});

test('--nets: LeNet-5, ResNet-20 and MobileNetV2 unless told, the CIFAR nets of the speed targets when named', () => {
  assert.equal(NET_NAMES, ['lenet5', 'resnet20', 'mobilenetv2', 'vgg-cifar', 'convnetjs-cifar', 'seed003-cifar']);
  const help = run(harness, '--help');
  assert.match(help.stdout, /\(default: lenet5,resnet20,mobilenetv2\)/);
  const json = join(dir, 'cifar.json');
  const r = run(harness, '--quick', '--only', 'simdnet', '--nets', 'convnetjs-cifar', '--net-batches', '2', '--json', json);
  assert.is(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes('## ConvNetJS\'s CIFAR-10 demo net (5×5 convs 16–20), 3×32×32 images'));
  const out = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(Object.keys(out.nets), ['convnetjs-cifar']);
  const rows = out.nets['convnetjs-cifar'].simdnet.profile.rows.filter((x) => x.layer);
  // Each convolution takes its ReLU in its stores, conv1 too: model.profile copies the batch in as fit does.
  assert.equal(rows.map((x) => x.name), ['0+1 Conv2d+ReLU', '2 MaxPool2d', '3+4 Conv2d+ReLU', '5 MaxPool2d', '6+7 Conv2d+ReLU', '8 MaxPool2d', '9 Flatten', '10 Linear']);
  assert.equal(rows.filter((x) => x.type.startsWith('Conv2d')).map((x) => x.kind), ['Conv2d 5×5', 'Conv2d 5×5', 'Conv2d 5×5']);
  assert.ok(out.nets['convnetjs-cifar'].simdnet.throughput[0].train.imgPerSec.median > 0);
});

// ---- the convolution shape zoo (--zoo) ----

await sn.ready();

test('bad zoo options: a usage error naming the option', () => {
  const cases = [
    [['--zoo', '--nets', 'resnet20'], /--nets: not with --zoo, which times single convolutions \(--zoo-nets, --zoo-batches\)/],
    [['--zoo', '--batches', '4'], /--batches: not with --zoo/],
    [['--zoo-batches', '16'], /--zoo-batches: only with --zoo/],
    [['--zoo-nets', 'resnet20'], /--zoo-nets: only with --zoo/],
    [['--zoo', '--zoo-nets', 'resnet18'], /--zoo-nets: unknown network 'resnet18' \(expected a comma-separated list of lenet5, vgg-cifar, resnet20, mobilenetv2, convnetjs-cifar, seed003-cifar\)/],
    [['--zoo', '--zoo-batches', '16,0'], /--zoo-batches: expected positive integers, got '16,0'/],
    [['--zoo', '--only', 'tfjs-wasm'], /--only: TF.js is not in --zoo \(expected simdnet, pytorch\), got 'tfjs-wasm'/],
  ];
  for (const [args, message] of cases) {
    const r = run(harness, ...args);
    assert.is(r.status, 2, args.join(' '));
    assert.match(r.stderr, message);
  }
  const help = run(harness, '--help');
  assert.match(help.stdout, /--zoo {2,}instead of the above: the convolution shape zoo/);
  assert.match(help.stdout, /lenet5, vgg-cifar, resnet20, mobilenetv2, convnetjs-cifar, seed003-cifar/);
});

test('--threads: the zoo\'s networks and GEMM 512³ at 1, 2 and all threads, each with its ratio to 1 thread; bad options refused', () => {
  const json = join(dir, 'threads.json');
  const r = run(harness, '--threads', '--quick', '--zoo-nets', 'lenet5', '--json', json);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /## Threads: training steps at batch 64 on 1, 2 and all threads/);
  assert.match(r.stdout, /\nGEMM 512³ \(row panels\), GFLOP\/s \| +[\d.]+ \[×1\.00\] \| +[\d.]+ \[×[\d.]+\]/);
  assert.match(r.stdout, /\nLeNet-5, img\/s +\| +[\d,]+ \[×1\.00\] \| +[\d,]+ \[×[\d.]+\]/);
  const out = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(out.threads.counts.slice(0, 2), [1, 2]);
  for (const rows of [out.threads.gemm, ...out.threads.nets.map((n) => n.rows)]) {
    assert.equal(rows.map((row) => row.threads), out.threads.counts);
    for (const row of rows) assert.ok(row.rate > 0 && row.ratio > 0 && Number.isFinite(row.rate) && row.ms.median > 0);
    assert.is(rows[0].ratio, 1);
  }
  assert.equal(out.threads.nets.map((n) => n.key), ['lenet5']);
  // How evenly the split calls ended on the most threads: the calling thread's wait as a share of the time.
  for (const rows of [out.threads.gemm, out.threads.nets[0].rows]) {
    const b = rows.at(-1).balance;
    assert.ok(b.calls > 0 && b.waitShare >= 0 && b.waitShare < 1 && b.workersFirst >= 0 && b.workersFirst <= 1, JSON.stringify(b));
    assert.is(rows[0].balance, undefined, 'none on one thread');
  }
  assert.match(r.stdout, /\nBalance of the split calls on \d+ threads, over the timed samples: [^\n]*: GEMM 512³ [\d.]+% \([\d.]+% of [\d,]+ calls\), LeNet-5 [\d.]+% \([\d.]+% of [\d,]+ calls\)\./);
  // The ceiling: separate single-thread processes at an equal share of the batch each.
  const [{ apart }] = out.threads.nets;
  assert.equal([apart.procs, apart.batch, apart.ratio.samples], [out.threads.counts.at(-1), 64 / out.threads.counts.at(-1), 2]);
  assert.ok(apart.ratio.min > 0 && apart.ratio.min <= apart.ratio.median && apart.ratio.median <= apart.ratio.max, JSON.stringify(apart));
  assert.match(r.stdout, /\nSeparate processes, one thread each \(no shared memory, no hand-offs\): \d+ at once at batch \d+, their img\/s summed ÷ one at batch 64 alone, median \[min–max\] of 2 rounds: LeNet-5 ×[\d.]+ \[[\d.]+–[\d.]+\]\./);
  // Beside a process keeping a core busy: all threads over 1 thread.
  const [{ busy }] = out.threads.nets;
  assert.is(busy.threads, out.threads.counts.at(-1));
  assert.ok(busy.ratio > 0 && Number.isFinite(busy.ratio), JSON.stringify(busy));
  assert.match(r.stdout, /\nWith another process keeping a core busy \(a loop at this one's priority\), \d+ threads ÷ 1 thread: LeNet-5 ×[\d.]+\./);
  // The cost of a hand-off to every thread, as percentiles of its calls.
  const h = out.threads.handOff;
  assert.equal([h.threads, h.calls, h.gapMs], [out.threads.counts.at(-1), 500, 0.1]);
  assert.ok(h.median > 0 && h.median <= h.p90 && h.p90 <= h.p99 && h.p99 <= h.max, JSON.stringify(h));
  assert.match(r.stdout, /\nHand-off \(pool\.run of an empty task on each of \d+ threads, 500 calls, each after 0\.1 ms of the calling thread's own work\): median [\d.]+ µs, 90th percentile [\d.]+ µs, 99th [\d.]+ µs, longest [\d.]+ µs\./);
  // The steal time of each vCPU while simdnet's figures were taken (Linux: /proc/stat).
  const steal = out.threads.steal;
  if (existsSync('/proc/stat')) {
    assert.ok(Array.isArray(steal) && steal.length === cpus().length && steal.every((v) => v >= 0 && v <= 1), JSON.stringify(steal));
    assert.match(r.stdout, /\nSteal time while simdnet's figures above were taken \(\/proc\/stat: [^)]*\): cpu0 [\d.]+%(, cpu\d+ [\d.]+%)*\./);
  } else assert.is(steal, null);
  // PyTorch on the same thread counts where torch is found, else a line saying why not.
  if (out.threads.pytorch.error) assert.match(r.stdout, /\nPyTorch skipped: /);
  else {
    const [lenet] = out.threads.nets;
    assert.equal(lenet.pytorch.map((row) => row.threads), out.threads.counts);
    for (const row of lenet.pytorch) assert.ok(row.rate > 0, JSON.stringify(row));
    // From paired rounds (simdnet's step beside PyTorch's at each count, round by round).
    const paired = lenet.vsPytorchBestPaired;
    assert.ok(paired.min > 0 && paired.min <= paired.median && paired.median <= paired.max && paired.samples === 7, JSON.stringify(paired));
    assert.is(lenet.vsPytorchBest, paired.median);
    assert.match(r.stdout, /×[\d.]+ \[[\d.]+–[\d.]+\], paired/);
    assert.match(r.stdout, /PyTorch 1 thread \| PyTorch 2 threads \| simdnet \d+ threads? ÷ PyTorch's best/);
  }
  for (const [args, message] of [
    [['--threads', '--zoo'], /--threads: not with --zoo/],
    [['--threads', '--nets', 'resnet20'], /--nets: not with --threads/],
    [['--threads', '--zoo-nets', 'resnet18'], /--zoo-nets: unknown network 'resnet18'/],
  ]) {
    const bad = run(harness, ...args);
    assert.is(bad.status, 2, args.join(' '));
    assert.match(bad.stderr, message);
  }
});

test('the zoo reads each network\'s convolutions off the built network: input size, channels, kernel, stride, padding, groups', () => {
  const labels = (key) => zooShapes([key]).map((s) => `${s.label}${s.uses[key] > 1 ? ` ×${s.uses[key]}` : ''}`);
  assert.equal(labels('lenet5'), ['5×5 1→6 p2 @28×28', '5×5 6→16 @14×14']);
  assert.equal(labels('vgg-cifar'), ['3×3 3→32 p1 @32×32', '3×3 32→32 p1 @32×32', '3×3 32→64 p1 @16×16', '3×3 64→64 p1 @16×16', '3×3 64→128 p1 @8×8']);
  assert.equal(labels('resnet20'), ['3×3 3→16 p1 @32×32', '3×3 16→16 p1 @32×32 ×6', '3×3 16→32 s2 p1 @32×32', '3×3 32→32 p1 @16×16 ×5',
    '1×1 16→32 s2 @32×32', '3×3 32→64 s2 p1 @16×16', '3×3 64→64 p1 @8×8 ×5', '1×1 32→64 s2 @16×16']);
  assert.equal(labels('convnetjs-cifar'), ['5×5 3→16 p2 @32×32', '5×5 16→20 p2 @16×16', '5×5 20→20 p2 @8×8']);
  assert.equal(labels('seed003-cifar'), ['3×3 3→64 p1 @32×32', '3×3 64→128 p1 @32×32', '3×3 128→128 p1 @16×16', '3×3 128→256 p1 @8×8']);
  const mobile = zooShapes(['mobilenetv2']);
  assert.is(mobile.reduce((n, s) => n + s.uses.mobilenetv2, 0), 52, 'every convolution of MobileNetV2 counted');
  const m = labels('mobilenetv2');
  for (const l of ['3×3 3→16 s2 p1 @32×32', '3×3 dw 16 p1 @16×16', '3×3 dw 48 s2 p1 @16×16', '1×1 16→96 @8×8 ×2', '1×1 160→1280 @1×1']) assert.ok(m.includes(l), l);
  const depthwise = mobile.filter((s) => s.config.groups === s.C && s.C > 1);
  assert.is(depthwise.reduce((n, s) => n + s.uses.mobilenetv2, 0), 17);
  assert.ok(depthwise.some((s) => s.config.stride[0] === 2) && depthwise.some((s) => s.config.stride[0] === 1));
  // Shapes met in several networks are listed once, with each network's count.
  const both = zooShapes(['resnet20', 'resnet20']);
  assert.is(both.length, 8);
  assert.equal(Object.keys(ZOO_NETS), ['lenet5', 'vgg-cifar', 'resnet20', 'mobilenetv2', 'convnetjs-cifar', 'seed003-cifar']);
});

test('FLOPs of a pass: the issue\'s anchors, and --quick leaves out batch 64 of the big shapes only', () => {
  const seed = zooShapes(['seed003-cifar']), vgg = zooShapes(['vgg-cifar']), lenet = zooShapes(['lenet5']);
  assert.is(convFlops(seed[1], 16), 2 * 16 * 128 * 32 * 32 * 64 * 9); // 2.42 GFLOP: 64→128 at 32×32, batch 16
  assert.is(convFlops(vgg[1], 64), 2 * 64 * 32 * 32 * 32 * 32 * 9); // 1.21 GFLOP: 32→32 at 32×32, batch 64
  const dw = zooShapes(['mobilenetv2']).find((s) => s.label === '3×3 dw 48 s2 p1 @16×16');
  assert.is(convFlops(dw, 2), 2 * 2 * 48 * 8 * 8 * 1 * 9);
  const cases = zooCases([...seed, ...lenet], [1, 16, 64], { quick: true });
  assert.is(cases.length, 18);
  const trimmed = cases.filter((c) => c.trimmed);
  assert.ok(trimmed.length > 0 && trimmed.every((c) => c.batch === 64 && c.flops > QUICK_TRIM_FLOPS));
  assert.ok(cases.filter((c) => !c.trimmed && c.batch === 64).every((c) => c.flops <= QUICK_TRIM_FLOPS));
  assert.is(zooCases([...seed, ...lenet], [1, 16, 64]).filter((c) => c.trimmed).length, 0, 'nothing left out without --quick');
});

test('measureRounds: every call timed in each round, in turn, each with its own repetitions', () => {
  // A clock the calls advance (0.5 and 0.0625 ms a call, exact in binary), so that no load on the machine changes the counts.
  const calls = [];
  let clock = 0;
  const r = measureRounds({ slow: () => { calls.push('slow'); clock += 0.5; }, fast: () => { calls.push('fast'); clock += 0.0625; } }, { warmup: 1, samples: 3, minMs: 1, now: () => clock });
  assert.is(r.slow.samples, 3);
  assert.is(r.fast.times.length, 3);
  assert.is(r.slow.reps, 2, 'a 0.5 ms call fills 1 ms in 2');
  assert.is(r.fast.reps, 16, 'a 0.0625 ms call fills 1 ms in 16');
  // Warm-up (one each), one call each to find the repetitions, then the rounds: slow's reps, fast's reps, slow's, …
  const rounds = calls.slice(4);
  const round = [...Array(r.slow.reps).fill('slow'), ...Array(r.fast.reps).fill('fast')];
  assert.equal(rounds, [...round, ...round, ...round]);
  assert.equal([r.slow.min, r.slow.median, r.slow.max, r.fast.min, r.fast.median, r.fast.max], [0.5, 0.5, 0.5, 0.0625, 0.0625, 0.0625]);
});

test('simdnetCase: one convolution alone, forward, input and weight gradient ms and GFLOP/s; it frees what it allocated', () => {
  const shape = zooShapes(['lenet5'])[1];
  simdnetCase(shape, 2, { quick: true }); // the runtime's shared GEMM scratch is allocated once, and kept
  const before = rt().heap.bytesInUse;
  const r = simdnetCase(shape, 2, { quick: true });
  for (const k of ['forward', 'weightGrad', 'backward']) {
    assert.ok(r.ms[k].median > 0 && r.gflops[k].median > 0, k);
    const flops = convFlops(shape, 2) * (k === 'backward' ? 2 : 1);
    assert.ok(Math.abs(r.gflops[k].median * r.ms[k].median * 1e6 - flops) < 1e-9 * flops, `${k}: GFLOP/s is the FLOPs over the time`);
  }
  assert.ok(Number.isFinite(r.ms.inputGrad.median));
  assert.is(rt().heap.bytesInUse, before);
});

test('simdnetCase: on a Winograd shape, the direct kernels and both tiles\' raw kernels beside the layer, timed in its rounds; all freed', () => {
  const shape = { C: 16, H: 8, W: 8, config: { inChannels: 16, outChannels: 16, kernelSize: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, bias: true } };
  simdnetCase(shape, 4, { quick: true });
  const before = rt().heap.bytesInUse;
  const r = simdnetCase(shape, 4, { quick: true });
  assert.ok(r.winogradPasses.includes('forward'), r.algorithm);
  assert.equal(r.direct.winogradPasses, []);
  assert.equal([r.winograd.winogradTile, r.winogradF4x4.winogradTile, r.winogradF4x4.weightGradTile], [2, 4, 4]);
  for (const part of [r, r.direct, r.winograd, r.winogradF4x4]) {
    for (const k of ['forward', 'weightGrad']) assert.ok(part.ms[k].median > 0 && part.ms[k].samples === 3 && part.gflops[k].median > 0, k);
    assert.ok(Number.isFinite(part.ms.inputGrad.median) && part.ms.inputGrad.samples === 3);
    assert.not.ok('times' in part.ms.forward, 'the per-sample times are not kept in the results');
  }
  assert.is(rt().heap.bytesInUse, before);
});

test('percentOfPeak: on the FLOPs executed — Winograd\'s 16 GEMMs (4/9 of direct\'s on even planes) for the passes it runs, direct\'s for the rest', () => {
  const shape = { C: 64, H: 8, W: 8, config: { outChannels: 64, kernelSize: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } };
  const flops = convFlops(shape, 2);
  assert.is(winogradFlops(shape, 2, 'forward'), (flops * 4) / 9);
  const g = { forward: stat(40), inputGrad: stat(40), weightGrad: stat(40), backward: stat(40) };
  assert.equal(percentOfPeak({ gflops: g, winogradPasses: [] }, shape, 2, 50), { forward: 80, inputGrad: 80, weightGrad: 80, backward: 80 });
  const p = percentOfPeak({ gflops: g, winogradPasses: ['forward', 'inputGrad'] }, shape, 2, 50);
  assert.ok(Math.abs(p.forward - (80 * 4) / 9) < 1e-9 && Math.abs(p.inputGrad - (80 * 4) / 9) < 1e-9, JSON.stringify(p));
  assert.is(p.weightGrad, 80);
  assert.ok(Math.abs(p.backward - (80 * (1 + 4 / 9)) / 2) < 1e-9, 'backward: direct dW plus Winograd dX');
});

test('percentOfPeak: F(4×4,3×3)\'s 36 GEMMs execute 1/4 of direct\'s FLOPs on planes of a multiple of 4, more on others', () => {
  const shape = { C: 64, H: 8, W: 8, config: { outChannels: 64, kernelSize: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } };
  const flops = convFlops(shape, 2);
  assert.is(winogradFlops(shape, 2, 'forward', 4), flops / 4);
  assert.is(winogradFlops({ ...shape, H: 5, W: 5 }, 2, 'inputGrad', 4), 2 * 36 * 64 * 64 * 2 * 2 * 2);
  const g = { forward: stat(40), inputGrad: stat(40), weightGrad: stat(40), backward: stat(40) };
  const p = percentOfPeak({ gflops: g, winogradPasses: ['forward', 'inputGrad'], winogradTile: 4 }, shape, 2, 50);
  assert.ok(Math.abs(p.forward - 20) < 1e-9 && Math.abs(p.inputGrad - 20) < 1e-9, JSON.stringify(p));
  assert.is(p.weightGrad, 80);
});

test('percentOfPeak: F(2×2,5×5)\'s 36 GEMMs execute 36/100 of direct\'s FLOPs on even planes, F(4×4,5×5)\'s 64 16/100, and the zoo reads the tile from the algorithm name', () => {
  const shape = { C: 16, H: 16, W: 16, config: { outChannels: 20, kernelSize: [5, 5], stride: [1, 1], padding: [2, 2], dilation: [1, 1], groups: 1 } };
  const flops = convFlops(shape, 2);
  assert.is(WINOGRAD_ALGORITHMS['winograd-f2x2-5x5'], 2);
  assert.ok(Math.abs(winogradFlops(shape, 2, 'forward', 2) - (flops * 36) / 100) < 1e-9 * flops);
  assert.is(winogradFlops({ ...shape, H: 7, W: 7 }, 2, 'inputGrad', 2), 2 * 36 * 16 * 20 * 2 * 4 * 4);
  const g = { forward: stat(40), inputGrad: stat(40), weightGrad: stat(40), backward: stat(40) };
  const p = percentOfPeak({ gflops: g, winogradPasses: ['forward', 'inputGrad'], winogradTile: 2 }, shape, 2, 50);
  assert.ok(Math.abs(p.forward - 80 * 0.36) < 1e-9 && Math.abs(p.inputGrad - 80 * 0.36) < 1e-9, JSON.stringify(p));
  assert.is(p.weightGrad, 80);
  // dW by F(5×5,2×2): the layer's weightGradTile (2) and the kernel size give the same 36 GEMMs.
  const q = percentOfPeak({ gflops: g, winogradPasses: ['forward', 'inputGrad', 'weightGrad'], winogradTile: 2, weightGradTile: 2 }, shape, 2, 50);
  assert.ok(Math.abs(q.weightGrad - 80 * 0.36) < 1e-9 && Math.abs(q.backward - 80 * 0.36) < 1e-9, JSON.stringify(q));
  // F(4×4,5×5): 64 GEMMs per 4×4 tile, 16/100 of direct's FLOPs on planes of a multiple of 4; dW by F(5×5,2×2).
  assert.is(WINOGRAD_ALGORITHMS['winograd-f4x4-5x5'], 4);
  assert.ok(Math.abs(winogradFlops(shape, 2, 'forward', 4) - (flops * 16) / 100) < 1e-9 * flops);
  const f4 = percentOfPeak({ gflops: g, winogradPasses: ['forward', 'inputGrad', 'weightGrad'], winogradTile: 4, weightGradTile: 2 }, shape, 2, 50);
  assert.ok(Math.abs(f4.forward - 80 * 0.16) < 1e-9 && Math.abs(f4.weightGrad - 80 * 0.36) < 1e-9, JSON.stringify(f4));
});

// A zoo result as runZoo makes it (two shapes, two batches, one trimmed, PyTorch beside), rendered.
const zooResult = () => {
  const shape = (id, label, net, C, O, k, groups = 1) => ({ id, label, net, C, H: 8, W: 8, uses: { [net]: 2 },
    config: { inChannels: C, outChannels: O, kernelSize: [k, k], stride: [1, 1], padding: [k >> 1, k >> 1], dilation: [1, 1], groups, bias: false } });
  const sim = (fwd, dx, dw, pct) => ({ algorithm: 'flat', ms: { forward: stat(fwd), inputGrad: stat(dx), weightGrad: stat(dw), backward: stat(dx + dw) },
    gflops: { forward: stat(1), inputGrad: dx > 0 ? stat(1) : null, weightGrad: stat(1), backward: stat(1) },
    percentOfPeak: { forward: pct[0], inputGrad: pct[1], weightGrad: pct[2], backward: 50 } });
  const pyt = (fwd, dx, dw) => ({ ms: { forward: stat(fwd), inputGrad: stat(dx), weightGrad: stat(dw) } });
  return {
    peakLoop: { name: 'FMA (relaxed_madd)', gflops: 50 },
    notes: [],
    zoo: {
      nets: { a: { label: 'Net A', input: [3, 8, 8] } }, batches: [16, 64], pytorchLabel: 'PyTorch x',
      shapes: [shape('s1', '3×3 32→64 p1 @8×8', 'a', 32, 64, 3), shape('s2', '3×3 dw 32 p1 @8×8', 'a', 32, 32, 3, 32)],
      cases: [
        { shape: 's1', batch: 16, flops: 2e9, simdnet: { ...sim(2, 4, 8, [80, 131, 40]), winograd: { ms: { forward: stat(1), inputGrad: stat(2) } }, winogradF4x4: { ms: { forward: stat(0.5), inputGrad: stat(4) } } }, pytorch: pyt(1, 2, 16) },
        { shape: 's1', batch: 64, flops: 8e9, trimmed: true },
        { shape: 's2', batch: 16, flops: 1e6, simdnet: sim(1, -0.1, 1, [5, null, 5]), pytorch: { error: 'boom' } },
        { shape: 's2', batch: 64, flops: 4e6, simdnet: sim(1, 1, 1, [5, 5, 5]), pytorch: pyt(0.5, 0.5, 0.5) },
      ],
    },
  };
};

test('zooTarget counts the 3×3 and 1×1 shapes with ≥ 32 channels at batch ≥ 16 (not depthwise) at ≥ 70% of the peak', () => {
  const t = zooTarget(zooResult().zoo);
  assert.equal(t.forward, { cases: 1, atLeast70: 1, lowest: 80, median: 80 });
  assert.equal(t.weightGrad, { cases: 1, atLeast70: 0, lowest: 40, median: 40 });
});

test('the zoo\'s table: a row per shape and batch with its algorithm, % of the peak never above 100, Winograd\'s ms and PyTorch\'s with ratios beside', () => {
  const text = zooSection(zooResult());
  assert.match(text, /%: on the FLOPs executed \(Winograd's: its 16, 36 or 64 GEMMs\), of the FMA \(relaxed_madd\) peak, 50\.0 GFLOP\/s in this run; PyTorch: PyTorch x/);
  assert.match(text, /passes at ≥ 70% of the peak: fwd 1\/1 \(lowest 80%, median 80%\); dX 1\/1 \(lowest 131%, median 131%\); dW 0\/1/);
  const rows = text.split('\n').filter((l) => l.includes('|')).slice(1).map((l) => l.split('|').map((c) => c.trim()));
  assert.equal(rows[0], ['3×3 32→64 p1 @8×8 ×2', '16', '2.000', 'flat', '2.000', '1.0', '80', '4.000', '1.0', '>100†', '8.000', '1.0', '40',
    '1.000 / 2.000', '2.00 / 2.00', '0.500 / 4.000', '4.00 / 1.00', '1.000', '2.000', '16.000', '0.50 / 0.50 / 2.00']);
  assert.equal(rows[1].slice(0, 4), ['', '64', '8.000', 'left out (--quick)']);
  assert.equal(rows[2].slice(0, 11), ['3×3 dw 32 p1 @8×8 ×2', '16', '0.001', 'flat', '1.000', '1.0', '5', '~0', '', '', '1.000']);
  assert.equal(rows[2].slice(13, 17), ['', '', '', ''], 'no Winograd figures for a shape it cannot run');
  assert.is(rows[2][17], 'failed (JSON)');
  assert.match(text, /\n† above the peak measured in this run/);
});

test('the zoo beside the direct kernels: where the layer runs Winograd, the direct path\'s ms and % per pass, and the target counted with them', () => {
  const r = zooResult();
  const c = r.zoo.cases[0];
  Object.assign(c.simdnet, { algorithm: 'winograd-f2x2', winogradPasses: ['forward', 'inputGrad'] });
  c.simdnet.direct = { ms: { forward: stat(3), inputGrad: stat(5), weightGrad: stat(8) }, percentOfPeak: { forward: 75, inputGrad: 60, weightGrad: 41 } };
  // The dW the layer runs directly keeps its own figure (40); the Winograd passes take the direct path's.
  const d = zooTarget(r.zoo, { direct: true });
  assert.equal(d.forward, { cases: 1, atLeast70: 1, lowest: 75, median: 75 });
  assert.equal(d.inputGrad, { cases: 1, atLeast70: 0, lowest: 60, median: 60 });
  assert.equal(d.weightGrad, { cases: 1, atLeast70: 0, lowest: 40, median: 40 });
  assert.equal(zooTarget(r.zoo).inputGrad, { cases: 1, atLeast70: 1, lowest: 131, median: 131 }, 'without the option: the layer\'s own figures');
  const text = zooSection(r);
  assert.match(text, /The same passes by the direct kernels \(where the layer runs Winograd, the direct flat path timed beside it; the other passes as above\): fwd 1\/1 \(lowest 75%, median 75%\); dX 0\/1 \(lowest 60%, median 60%\); dW 0\/1 \(lowest 40%, median 40%\)\./);
  const rows = text.split('\n').filter((l) => l.includes('|')).slice(1).map((l) => l.split('|').map((x) => x.trim()));
  assert.equal(rows[0].slice(12, 15), ['40', '3.000 / 5.000 / 8.000', '75 / 60 / 41']);
  assert.equal(rows[1].length, rows[0].length, 'a trimmed row keeps the columns');
  assert.equal(rows[2].slice(13, 15), ['', ''], 'no direct figures where the layer runs the direct path itself');
});

test('the zoo\'s algorithm column names the weight gradient\'s Winograd: F(m×m) for 3×3, F(5×5,2×2) for 5×5', () => {
  const r = zooResult();
  const c = r.zoo.cases[0], s = r.zoo.shapes[0];
  Object.assign(c.simdnet, { algorithm: 'winograd-f4x4', winogradPasses: ['forward', 'inputGrad', 'weightGrad'], winogradTile: 4, weightGradTile: 4 });
  const algorithmOf = () => zooSection(r).split('\n').filter((l) => l.includes('|')).slice(1)[0].split('|').map((x) => x.trim())[3];
  assert.is(algorithmOf(), 'winograd-f4x4 (dW: F(4×4))');
  Object.assign(s, { label: '5×5 16→20 p2 @8×8', config: { ...s.config, kernelSize: [5, 5], padding: [2, 2] } });
  Object.assign(c.simdnet, { algorithm: 'winograd-f2x2-5x5', winogradTile: 2, weightGradTile: 2 });
  assert.is(algorithmOf(), 'winograd-f2x2-5x5 (dW: F(5×5,2×2))');
  c.simdnet.winogradPasses = ['forward', 'inputGrad'];
  assert.is(algorithmOf(), 'winograd-f2x2-5x5', 'no dW figure where it runs directly');
  Object.assign(c.simdnet, { algorithm: 'winograd-f4x4-5x5', winogradPasses: ['forward', 'inputGrad', 'weightGrad'], winogradTile: 4, weightGradTile: 2 });
  assert.is(algorithmOf(), 'winograd-f4x4-5x5 (dW: F(5×5,2×2))');
});

test('--zoo --quick --only simdnet: a row per shape and batch with ms, GFLOP/s and % of the peak', () => {
  const json = join(dir, 'zoo.json');
  const r = run(harness, '--zoo', '--quick', '--only', 'simdnet', '--zoo-nets', 'lenet5,mobilenetv2', '--zoo-batches', '1,2', '--json', json);
  assert.is(r.status, 0, r.stderr);
  for (const section of ['wasm SIMD peak on this machine', '## Convolution shape zoo', '### LeNet-5 (lenet5)', '### MobileNetV2 ×0.5 (mobilenetv2)']) {
    assert.ok(r.stdout.includes(section), `report has "${section}"`);
  }
  assert.not.ok(r.stdout.includes('## GEMM'), 'the zoo alone');
  assert.match(r.stdout, /\n5×5 1→6 p2 @28×28 +\| +1 \| +0\.000 \| flat +\| +[\d.]+ \| +[\d.]+ \| +\d+ \|/);
  const out = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(out.zoo.batches, [1, 2]);
  assert.is(out.zoo.shapes.length, 2 + 29);
  assert.is(out.zoo.cases.length, 2 * 31);
  for (const c of out.zoo.cases) {
    for (const k of ['forward', 'weightGrad']) {
      assert.ok(c.simdnet.ms[k].median > 0 && c.simdnet.gflops[k].median > 0 && c.simdnet.percentOfPeak[k] > 0, `${c.shape} ${c.batch} ${k}`);
    }
    assert.ok(Number.isFinite(c.simdnet.ms.inputGrad.median));
    assert.type(c.simdnet.algorithm, 'string');
    assert.is(c.pytorch, undefined);
  }
  assert.ok(out.peak.relaxedMadd === null || out.peak.measurements === 2);
});

test('stealBetween: each CPU\'s stolen share of the time between two /proc/stat readings; null without both', () => {
  const before = [{ steal: 10, total: 1000 }, { steal: 0, total: 1000 }], after = [{ steal: 30, total: 1400 }, { steal: 0, total: 1000 }];
  assert.equal(stealBetween(before, after), [0.05, 0]);
  assert.is(stealBetween(null, after), null);
  assert.is(stealBetween(before, after.slice(1)), null);
  const now = cpuTimes();
  if (existsSync('/proc/stat')) assert.ok(now.length === cpus().length && now.every((c) => c.total > 0 && c.steal >= 0 && c.steal <= c.total), JSON.stringify(now));
  else assert.is(now, null);
});

test.run();
