// The harness's peers and targets: ConvNetJS's demo net and trainer, LeNet-5's hand-written loop,
// and the speed targets' table (met / not met on fixed figures). No timing is judged here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sn from 'simdnet';
import { loadConvnetjs, cifarDemoNet, describeNet, toVol, runConvnetjs, TRAINER_OPTIONS, CIFAR_DEMO_LAYERS } from '../bench/convnetjs.js';
import { convnetjsCifar } from '../bench/nets.js';
import { convShapesOf } from '../bench/zoo.js';
import { ratioRow, zooRow, targetsTable, largestExcess, TARGETS, NOT_MEASURED } from '../bench/targets.js';
import { bestOf, lineProcess, pairedRounds, stepSampler, WARMUP_STEPS } from '../bench/paired.js';
import { targetsSection, manualSection, netSection, isZooTargetShape, report } from '../bench/report.js';
import { runBench } from '../bench/main.js';
import { simdnetManualLoop } from '../bench/simdnet.js';

const harness = new URL('../bench/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'simdnet-bench-targets-'));
const run = (...args) => spawnSync(process.execPath, [harness, ...args], { encoding: 'utf8' });
const stat = (median, min = median, max = median) => ({ median, min, max, samples: 1 });
const cells = (line) => line.split('|').map((c) => c.trim());

await sn.ready();
const loaded = loadConvnetjs();

test('ConvNetJS is installed, and its CIFAR-10 demo net is the one bench/nets.js builds in simdnet', () => {
  assert.not.ok(loaded.error, loaded.error);
  const layers = describeNet(cifarDemoNet(loaded.convnetjs));
  assert.equal(layers.map((l) => l.type), ['input', 'conv', 'relu', 'pool', 'conv', 'relu', 'pool', 'conv', 'relu', 'pool', 'fc', 'softmax']);
  // simdnet's convolutions, with the input each sees, against ConvNetJS's conv layers.
  const convs = convShapesOf('convnetjs-cifar');
  const theirs = layers.filter((l) => l.type === 'conv');
  assert.is(theirs.length, convs.length);
  convs.forEach((c, i) => {
    const t = theirs[i];
    assert.equal([t.inChannels, t.filters, t.kernel, t.stride, t.pad], [c.C, c.config.outChannels, ...c.config.kernelSize.slice(1), c.config.stride[0], c.config.padding[0]], `conv ${i}`);
    assert.equal(c.config.kernelSize, [5, 5]);
    assert.equal(t.out, [c.config.outChannels, c.H, c.W], `conv ${i} keeps the plane size (pad 2)`);
  });
  assert.equal(layers.filter((l) => l.type === 'pool').map((l) => [l.size, l.stride, l.pad, ...l.out]), [[2, 2, 0, 16, 16, 16], [2, 2, 0, 20, 8, 8], [2, 2, 0, 20, 4, 4]]);
  const fc = layers.find((l) => l.type === 'fc');
  const model = convnetjsCifar();
  const mods = [...model.namedModules()].map(([, m]) => m);
  const linear = mods.find((m) => m instanceof sn.Linear);
  assert.equal([fc.inputs, fc.outputs], [linear.inFeatures, linear.outFeatures]);
  assert.equal(mods.filter((m) => m instanceof sn.MaxPool2d).length, 3);
  assert.equal(mods.filter((m) => m instanceof sn.ReLU).length, 3);
  model.dispose();
  assert.is(CIFAR_DEMO_LAYERS.at(-1).num_classes, 10);
});

test('toVol: an NCHW image as ConvNetJS\'s Vol (x, y, depth), value for value', () => {
  const [C, H, W] = [3, 2, 4];
  const x = Float32Array.from({ length: 2 * C * H * W }, (_, i) => i);
  const v = toVol(loaded.convnetjs, x, 1, [C, H, W]);
  assert.equal([v.sx, v.sy, v.depth], [W, H, C]);
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) assert.is(v.get(xx, y, c), x[C * H * W + (c * H + y) * W + xx], `${xx},${y},${c}`);
  }
});

test('ConvNetJS\'s Trainer with the harness\'s options updates the weights once per batch of train calls', () => {
  const { convnetjs } = loaded;
  const net = cifarDemoNet(convnetjs);
  const trainer = new convnetjs.Trainer(net, { ...TRAINER_OPTIONS, batch_size: 3 });
  const w = net.layers[1].filters[0].w;
  const before = Float64Array.from(w);
  const img = (seed) => toVol(convnetjs, Float32Array.from({ length: 3072 }, (_, i) => Math.sin(seed * 7 + i)), 0, [3, 32, 32]);
  trainer.train(img(1), 1);
  trainer.train(img(2), 2);
  assert.equal(Float64Array.from(w), before, 'no update within the batch');
  trainer.train(img(3), 3);
  assert.ok(w.some((v, i) => v !== before[i]), 'updated at the batch\'s last image');
  assert.equal([trainer.method, trainer.momentum, trainer.learning_rate, trainer.l2_decay], ['sgd', 0.9, 0.01, 0]);
});

test('runConvnetjs: train and inference img/s at each batch; without the package, the reason', () => {
  const r = runConvnetjs({ batches: [2], quick: true, loaded });
  assert.match(r.label, /^ConvNetJS \d+\.\d+\.\d+$/);
  assert.equal(r.throughput.map((t) => t.batch), [2]);
  for (const k of ['train', 'infer']) {
    const t = r.throughput[0][k];
    assert.ok(t.imgPerSec.median > 0 && Math.abs(t.imgPerSec.median * t.ms.median - 2000) < 1e-6 * 2000, k);
  }
  assert.equal(runConvnetjs({ batches: [2], loaded: { error: 'not here' } }), { label: 'ConvNetJS', error: 'not here' });
});

test('simdnetManualLoop: LeNet-5\'s hand-written loop gives img/s, and the model and optimizer are freed', () => {
  const r = simdnetManualLoop(3, { quick: true });
  assert.is(r.batch, 3);
  assert.ok(r.train.imgPerSec.median > 0 && r.train.ms.median > 0);
});

// ---- the targets' table on fixed figures ----

const ratioTarget = TARGETS.find((t) => t.key === 'vgg-cifar');

test('ratioRow: met when the median reaches the goal, else the gap; "not measured" without a figure', () => {
  const met = ratioRow(ratioTarget, stat(1.25, 1.1, 1.4));
  assert.equal([met.met, met.shown, met.gap], [true, '×1.25 [1.10–1.40]', 'clears it by ×1.25']);
  assert.is(ratioRow(ratioTarget, stat(1)).met, true, 'exactly the goal is met');
  const short = ratioRow(ratioTarget, stat(0.4, 0.38, 0.45));
  assert.equal([short.met, short.gap], [false, '60% short: simdnet needs ×2.50 its speed']);
  const thirty = ratioRow(TARGETS.find((t) => t.key === 'convnetjs-cifar-vs-convnetjs'), stat(12));
  assert.equal([thirty.goal, thirty.met, thirty.gap], ['×30', false, '60% short: simdnet needs ×2.50 its speed']);
  const none = ratioRow(ratioTarget, null);
  assert.equal([none.met, none.measured, none.gap], [null, null, NOT_MEASURED]);
});

test('zooRow: every counted pass at ≥ 70% or the count below and the lowest', () => {
  const t = TARGETS.find((x) => x.zoo);
  const p = (cases, atLeast70, lowest) => ({ cases, atLeast70, lowest, median: lowest });
  const short = zooRow(t, { forward: p(4, 3, 55), inputGrad: p(4, 4, 72), weightGrad: p(4, 1, 31.6) });
  assert.equal([short.met, short.shown, short.gap], [false, '8 of 12 passes (fwd 3/4, dX 4/4, dW 1/4)', '4 passes below 70%; lowest 32%']);
  const met = zooRow(t, { forward: p(2, 2, 71), inputGrad: p(1, 1, 90), weightGrad: p(2, 2, 80) });
  assert.equal([met.met, met.gap], [true, 'lowest 71%']);
  assert.is(zooRow(t, null).met, null);
  assert.is(zooRow(t, { forward: p(0, 0, null), inputGrad: p(0, 0, null), weightGrad: p(0, 0, null) }).gap, NOT_MEASURED, 'no shape at batch ≥ 16');
});

test('isZooTargetShape: 3×3 and 1×1, not grouped, ≥ 32 channels in and out', () => {
  const s = (C, O, k, groups = 1) => ({ C, config: { outChannels: O, kernelSize: [k, k], groups } });
  assert.ok(isZooTargetShape(s(32, 64, 3)) && isZooTargetShape(s(64, 32, 1)));
  for (const x of [s(16, 32, 3), s(32, 16, 1), s(32, 32, 5), s(32, 32, 3, 32), s(64, 64, 3, 2)]) assert.not.ok(isZooTargetShape(x), JSON.stringify(x));
});

// A result as runBench makes it, with a few targets measured (at the right batches or not).
const fakeResult = () => {
  const ratios = (batch, median) => [{ vs: 'PyTorch', batch, train: stat(median, median * 0.9, median * 1.1) }];
  const shape = { id: 's1', net: 'a', C: 32, H: 8, W: 8, config: { outChannels: 32, kernelSize: [3, 3], groups: 1 } };
  const sim = (pct) => ({ percentOfPeak: { forward: pct[0], inputGrad: pct[1], weightGrad: pct[2] } });
  return {
    peakLoop: { gflops: 50 },
    nets: {
      'vgg-cifar': { ratios: ratios(64, 0.42) },
      'convnetjs-cifar': { ratios: ratios(64, 1.1), convnetjsRatios: [{ batch: 64, train: stat(41, 35, 50) }] },
      'seed003-cifar': { ratios: ratios(64, 0.3) }, // batch 64: the target is at 16
      resnet20: { ratios: [] },
    },
    zoo: { shapes: [shape], cases: [{ shape: 's1', batch: 16, simdnet: sim([80, 65, null]) }, { shape: 's1', batch: 1, simdnet: sim([10, 10, 10]) }] },
    manual: { ratios: ratios(10, 1.5) },
  };
};

test('targetsTable: each target from its section at its batch; not measured where the run has no figure', () => {
  const rows = targetsTable(fakeResult());
  assert.equal(rows.map((t) => t.key), ['vgg-cifar', 'convnetjs-cifar', 'convnetjs-cifar-vs-convnetjs', 'seed003-cifar', 'resnet20', 'mobilenetv2', 'zoo-peak', 'zoo-peak-direct', 'lenet5-manual-10', 'lenet5-manual-64']);
  assert.equal(rows.map((t) => t.met), [false, true, true, null, null, null, false, false, true, null]);
  assert.equal(rows[7].measured, rows[6].measured, 'no pass run by Winograd: the direct kernels\' count is the same');
  assert.is(rows[0].measured.median, 0.42);
  assert.equal(rows[6].measured, { passes: 2, atLeast: 1, lowestPercent: 65 }, 'batch 1 and a null dX left out');
  assert.ok(rows.filter((t) => t.met === null).every((t) => t.gap === NOT_MEASURED));
  const noPeak = targetsTable({ ...fakeResult(), peakLoop: undefined });
  assert.is(noPeak[6].met, null, 'no peak measured: no percentage');
  assert.ok(targetsTable({ nets: {}, notes: [] }).every((t) => t.met === null), 'an empty run measures nothing');
});

test('targetsTable: paired rounds (r.paired) where the run has them, over the sections\' figures', () => {
  const r = fakeResult();
  r.paired = { 'vgg-cifar@64': { batch: 64, train: stat(1.2, 1.1, 1.3) }, 'lenet5-manual@10': { batch: 10, error: 'no torch' } };
  const rows = targetsTable(r);
  assert.equal([rows[0].measured.median, rows[0].met], [1.2, true], 'VGG from its pair');
  assert.is(rows[1].measured.median, 1.1, 'ConvNetJS\'s net: no pair, its section');
  assert.is(rows[8].measured.median, 1.5, 'a pair that failed: the section');
});

test('pairedRounds: an untimed PyTorch sample, then each round\'s PyTorch ms over its simdnet ms, the order swapped every round, each sample after a pause', async () => {
  // simdnet's step takes 2 ms in even rounds and 4 ms in odd ones (a slow spell each time),
  // PyTorch's 3 and 6 ms: every pair ×1.5, whatever the spell.
  let round = 0, inRound = 0;
  const events = [];
  const side = (name, even, odd) => {
    events.push(name);
    const ms = round % 2 ? odd : even;
    if (++inRound === 2) { inRound = 0; round++; }
    return ms;
  };
  const c = { batch: 8, sample: () => side('simdnet', 2, 4), pytorch: { net: 'a', batch: 8 } };
  let warmed = false;
  const ask = async (req) => {
    assert.equal(req, { net: 'a', batch: 8, minMs: 10 });
    if (!warmed) {
      // The untimed first sample: its 99 ms count nowhere.
      warmed = true;
      events.push('warm-up');
      return { ms: 99 };
    }
    return { ms: side('pytorch', 3, 6) };
  };
  const pause = async (ms) => { events.push(`pause ${ms}`); };
  const a = await pairedRounds(c, { ask, rounds: 4, minMs: 10, settleMs: 7, pause });
  assert.equal(a.train, { median: 1.5, min: 1.5, max: 1.5, samples: 4 });
  assert.equal([a.simdnetMs.min, a.simdnetMs.max, a.pytorchMs.min, a.pytorchMs.max], [2, 4, 3, 6]);
  assert.equal(events, ['warm-up', ...['simdnet', 'pytorch', 'pytorch', 'simdnet', 'simdnet', 'pytorch', 'pytorch', 'simdnet'].flatMap((e) => ['pause 7', e])]);
  const failing = await pairedRounds(c, { ask: async () => ({ error: 'KeyError: b' }), rounds: 3, minMs: 10, pause });
  assert.equal(failing, { batch: 8, error: 'KeyError: b' });
});

test('lineProcess: a line sent to a child that has just exited gives its exit as an Error, and this process goes on', async () => {
  // The child prints a line and exits: a line sent once that arrives meets a closed pipe (EPIPE)
  // until 'close' is seen. Ten tries, each at a slightly different moment.
  for (let i = 0; i < 10; i++) {
    const child = lineProcess(process.execPath, ['-e', 'console.log("bye"); process.exit(3)'], { name: 'the child' });
    assert.is(await child.next(), 'bye');
    await new Promise((r) => setTimeout(r, i));
    child.send('x'.repeat(1 << 20));
    const err = await child.next().then(() => null, (e) => e);
    assert.match(err?.message ?? '', /^the child exited with 3/);
  }
});

test('bestOf: the fastest answer of several servers, each asked in turn after a pause from the second on; an error stops it', async () => {
  const asked = [];
  const server = (name, answer) => ({ ask: async (req) => { asked.push([name, req]); return answer; } });
  const options = { settleMs: 7, pause: async (ms) => { asked.push(`pause ${ms}`); } };
  const req = { net: 'a', batch: 8, minMs: 10 };
  assert.equal(await bestOf([server('1', { ms: 5 }), server('2', { ms: 3 }), server('8', { ms: 4 })], options)(req), { ms: 3 });
  assert.equal(asked, [['1', req], 'pause 7', ['2', req], 'pause 7', ['8', req]]);
  assert.equal(await bestOf([server('1', { ms: 5 }), server('2', { error: 'no' })], options)(req), { error: 'no' });
});

test('stepSampler: 10 untimed calls, the count that fills minMs found once, ms per call', () => {
  let t = 0, calls = 0;
  const sample = stepSampler(() => { calls++; t += 3; }, { minMs: 10, now: () => t });
  assert.is(WARMUP_STEPS, 10);
  assert.is(calls, 11, 'warm-up and the one timed call');
  assert.is(sample(), 3);
  assert.is(calls, 15, '⌈10 / 3⌉ = 4 calls a sample');
});

// Per-module profiles as runBench keeps them (simdnet rows with a kind, PyTorch's with type and conv).
const profiles = (batch) => {
  const conv = (k) => ({ inChannels: 32, outChannels: 32, kernel: [k, k], stride: [1, 1], groups: 1 });
  const mine = (name, kind, f, b) => ({ name, kind, layer: true, forwardMs: stat(f), backwardMs: stat(b) });
  const theirs = (name, type, k, f, b) => ({ name, type, conv: k ? conv(k) : null, layer: true, forwardMs: stat(f), backwardMs: stat(b) });
  return {
    simdnet: { profile: { batch, rows: [mine('c1 Conv2d', 'Conv2d 3×3', 10, 20), mine('c2 Conv2d', 'Conv2d 1×1', 2, 3), mine('b BatchNorm2d', 'BatchNorm2d', 4, 4),
      mine('r sn.relu', 'sn.relu', 5, 5), { name: 'optimizer', layer: false, forwardMs: null, backwardMs: stat(50) }] } },
    pytorch: { profile: { batch, rows: [theirs('c1 Conv2d', 'Conv2d', 3, 5, 10), theirs('c2 Conv2d', 'Conv2d', 1, 3, 3), theirs('b BatchNorm2d', 'BatchNorm2d', 0, 2, 3)] } },
  };
};

test('largestExcess: the kinds of module losing most to PyTorch\'s, both sides at the target\'s batch', () => {
  assert.equal(largestExcess(profiles(64), 64), [{ kind: 'Conv2d 3×3', simdnetMs: 30, pytorchMs: 15 }, { kind: 'BatchNorm2d', simdnetMs: 8, pytorchMs: 5 }],
    'the 1×1 is not slower, sn.relu has no PyTorch row, the optimizer is not a module row');
  assert.is(largestExcess(profiles(64), 16), null, 'profiles at another batch');
  assert.is(largestExcess({ simdnet: profiles(64).simdnet }, 64), null, 'PyTorch not run');
  const r = fakeResult();
  Object.assign(r.nets['vgg-cifar'], profiles(64));
  Object.assign(r.nets['convnetjs-cifar'], profiles(64));
  const rows = targetsTable(r);
  assert.equal(rows[0].excess.map((g) => g.kind), ['Conv2d 3×3', 'BatchNorm2d']);
  assert.is(rows[1].excess, undefined, 'a target met names none');
  const line = targetsSection(rows).split('\n').find((l) => l.startsWith('VGG-style'));
  assert.is(cells(line)[5], 'Conv2d 3×3 30.0 vs 15.0 ms; BatchNorm2d 8.0 vs 5.0 ms');
});

test('targetsSection: a row per target with goal, measured figure, verdict and gap, and the count met', () => {
  const text = targetsSection(targetsTable(fakeResult()));
  assert.match(text, /^## Speed targets/);
  const rows = text.split('\n').filter((l) => l.includes('|')).slice(1).map(cells);
  assert.is(rows.length, TARGETS.length);
  assert.equal(rows[0], ['VGG-style CIFAR net train step ≥ 1.0× PyTorch 1 thread, batch 64', '×1', '×0.42 [0.38–0.46]', 'NOT MET', '58% short: simdnet needs ×2.38 its speed', '']);
  assert.equal(rows[2].slice(2, 4), ['×41.00 [35.00–50.00]', 'met']);
  assert.equal(rows[3].slice(2), [NOT_MEASURED, '–', '', '']);
  assert.equal(rows[6].slice(2, 5), ['1 of 2 passes (fwd 1/1, dX 0/1, dW 0/0)', 'NOT MET', '1 pass below 70%; lowest 65%']);
  assert.match(text, /\n3 of 6 measured targets met; 4 not measured in this run\./);
});

test('manualSection and a network\'s section with ConvNetJS beside: img/s rows and the ratios', () => {
  const t = (batch, ips) => ({ batch, train: { ms: stat((batch * 1000) / ips), imgPerSec: stat(ips) } });
  const m = manualSection({ simdnet: [t(10, 5000)], pytorch: [t(10, 2000)], pytorchLabel: 'PyTorch x', ratios: [{ batch: 10, train: stat(2.5) }] });
  assert.match(m, /^## LeNet-5, a hand-written training loop/);
  const rows = m.split('\n').filter((l) => l.includes('|')).slice(1).map(cells);
  assert.equal(rows, [['simdnet', '10', '5,000 [5,000–5,000]', '2.000 [2.000–2.000]'], ['PyTorch x', '10', '2,000 [2,000–2,000]', '5.000 [5.000–5.000]']]);
  assert.match(m, /\nsimdnet ÷ PyTorch, train img\/s \(above 1: simdnet faster\): batch 10 ×2\.50 \[2\.50–2\.50\]$/);
  assert.match(manualSection({ simdnet: [t(10, 5000)], pytorch: { error: 'no torch' } }), /\nPyTorch +\| +\| +not run: no torch/);

  const withInfer = (batch, ips, inf) => ({ ...t(batch, ips), infer: { ms: stat((batch * 1000) / inf), imgPerSec: stat(inf) } });
  const n = netSection({
    label: 'Net', input: [3, 32, 32], batches: [64],
    simdnet: { throughput: [withInfer(64, 1200, 4000)] },
    convnetjs: { label: 'ConvNetJS 0.3.0', throughput: [withInfer(64, 30, 90)] },
    convnetjsRatios: [{ batch: 64, train: stat(40), infer: stat(44.4) }],
  });
  const nrows = n.split('\n').filter((l) => l.includes('|')).map(cells);
  assert.equal(nrows[0], ['framework', 'batch', 'train img/s', 'ms per step', 'inference img/s']);
  assert.equal(nrows[2], ['ConvNetJS 0.3.0', '64', '30 [30–30]', '2133.33 [2133.33–2133.33]', '90 [90–90]']);
  assert.match(n, /\nsimdnet ÷ ConvNetJS, img\/s \(above 1: simdnet faster\): batch 64 train ×40\.00 \[40\.00–40\.00\], inference ×44\.40/);
  const err = netSection({ label: 'Net', input: [3, 32, 32], simdnet: { throughput: [withInfer(64, 1200, 4000)] }, convnetjs: { label: 'ConvNetJS', error: 'not installed' } });
  assert.match(err, /\nnot run: ConvNetJS: not installed/);
});

// ---- the harness's options and a short run ----

test('runBench with targets: no LeNet-5 sections but the loop, and the zoo\'s target shapes with % of the peak', async () => {
  // Batch 1 keeps it short: the zoo's cases run (the path --targets takes) but count for no target.
  const r = await runBench({ targets: true, quick: true, only: ['simdnet'], nets: ['lenet5'], batches: [1], netBatches: [64], netBatchesFor: {},
    manualBatches: [2], zooBatches: [1], plainSimd: false });
  assert.equal(Object.keys(r.frameworks), [], 'no LeNet-5 per-layer or throughput sections');
  assert.equal(r.manual.simdnet.map((t) => t.batch), [2]);
  assert.ok(r.zoo.targetsOnly && r.zoo.shapes.length >= 20 && r.zoo.shapes.every(isZooTargetShape), `${r.zoo.shapes.length} shapes`);
  for (const c of r.zoo.cases) {
    assert.is(c.batch, 1);
    assert.ok(c.simdnet.percentOfPeak.forward > 0 && c.simdnet.percentOfPeak.weightGrad > 0, c.shape);
    assert.is(c.label, undefined, 'the progress label is not kept');
  }
  assert.is(r.targets.find((t) => t.key === 'zoo-peak').gap, NOT_MEASURED, 'batch 1 is below the target\'s 16');
  const text = report(r);
  assert.match(text, /--targets: only the shapes the target below counts, at batch 1\./);
  assert.not.match(text, /\n- PyTorch: F\.conv2d/, 'no note on PyTorch\'s zoo, which --targets does not run');
  assert.match(text, /\n- Shapes: every Conv2d of the networks listed/);
});

test('--targets and the new options: usage errors naming the option', () => {
  const cases = [
    [['--targets', '--zoo'], /--targets: not with --zoo/],
    [['--targets', '--nets', 'resnet20'], /--nets: not with --targets, which runs the networks and batch sizes of the targets' table/],
    [['--targets', '--net-batches', '8'], /--net-batches: not with --targets/],
    [['--targets', '--only', 'tfjs'], /--only: TF.js is not in --targets \(expected simdnet, pytorch, convnetjs\)/],
    [['--zoo', '--only', 'convnetjs'], /--only: ConvNetJS is not in --zoo \(expected simdnet, pytorch\), got 'convnetjs'/],
    [['--zoo', '--manual-batches', '10'], /--manual-batches: not with --zoo/],
    [['--manual-batches', '0'], /--manual-batches: expected positive integers, got '0'/],
  ];
  for (const [args, message] of cases) {
    const r = run(...args);
    assert.is(r.status, 2, args.join(' '));
    assert.match(r.stderr, message);
    assert.is(r.stdout, '', 'nothing ran');
  }
  const help = run('--help').stdout;
  assert.match(help, /--only LIST +comma-separated: simdnet \(with peak and GEMM\), tfjs-wasm, tfjs-cpu, tfjs, pytorch,\n +convnetjs/);
  assert.match(help, /--targets +instead of the above: just what the speed targets' table needs/);
  assert.match(help, /--manual-batches LIST/);
});

test('--only simdnet,convnetjs --nets lenet5,convnetjs-cifar: ConvNetJS beside simdnet, the hand-written loop, the targets in the JSON', () => {
  const json = join(dir, 'peers.json');
  const r = run('--quick', '--only', 'simdnet,convnetjs', '--nets', 'lenet5,convnetjs-cifar', '--batches', '2', '--net-batches', '2', '--manual-batches', '2', '--json', json);
  assert.is(r.status, 0, r.stderr);
  for (const section of ['## LeNet-5, a hand-written training loop', '## ConvNetJS\'s CIFAR-10 demo net', 'simdnet ÷ ConvNetJS, img/s', '## Speed targets']) {
    assert.ok(r.stdout.includes(section), `report has "${section}"`);
  }
  assert.ok(r.stdout.trimEnd().split('\n## ').at(-1).startsWith('Speed targets'), 'the targets come last');
  const out = JSON.parse(readFileSync(json, 'utf8'));
  const n = out.nets['convnetjs-cifar'];
  assert.match(n.convnetjs.label, /^ConvNetJS /);
  assert.ok(n.convnetjs.throughput[0].train.imgPerSec.median > 0 && n.simdnet.throughput[0].infer.imgPerSec.median > 0);
  assert.equal(n.convnetjsRatios.map((q) => q.batch), [2]);
  assert.ok(n.convnetjsRatios[0].train.median > 0 && n.convnetjsRatios[0].infer.median > 0);
  assert.equal(out.manual.simdnet.map((t) => t.batch), [2]);
  assert.is(out.manual.pytorch, undefined);
  assert.is(out.targets.length, TARGETS.length);
  assert.ok(out.targets.every((t) => t.met === null), 'batch 2 is no target\'s batch');
});

test('--only convnetjs without its network: a note, not an error', () => {
  const r = run('--quick', '--only', 'convnetjs', '--nets', 'lenet5');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /ConvNetJS runs its CIFAR-10 demo net only, which --nets left out \(--nets convnetjs-cifar\)/);
});

test.run();
