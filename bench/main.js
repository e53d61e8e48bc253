#!/usr/bin/env node
// The benchmark harness: `npm run bench`, `node bench/main.js`, or `simdnet bench`.
import { parseArgs } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import * as sn from 'simdnet';
import { enableRelaxedSimd, machine } from './env.js';
import { measurePeak, mergePeaks, peakLoop } from './peak.js';
import { measureGemm } from './gemm.js';
import { measureThreads } from './threads.js';
import { simdnetProfile, simdnetThroughput, profileSummary, simdnetNetThroughput, simdnetNetProfile, simdnetManualLoop, simdnetNetStepper, simdnetManualStepper } from './simdnet.js';
import { pairedRounds, pytorchServer } from './paired.js';
import { NETS, NET_NAMES, DEFAULT_NETS, ZOO_NETS } from './nets.js';
import { zooShapes, zooCases, simdnetCase, percentOfPeak, QUICK_TRIM_FLOPS } from './zoo.js';
import { loadTfjs } from './tfjs-load.js';
import { runTfjsBackend } from './tfjs-run.js';
import { runPytorchEntry, runPytorchZoo } from './pytorch.js';
import { runConvnetjs } from './convnetjs.js';
import { report, isZooTargetShape } from './report.js';
import { targetsTable, TARGET_NETS, TARGET_NET_BATCHES, TARGET_MANUAL_BATCHES, TARGET_ZOO_BATCHES } from './targets.js';

export const HELP = `simdnet bench — LeNet-5 per-layer times, training and inference img/s, GEMM GFLOP/s
against the wasm SIMD peak measured in the same run, next to TensorFlow.js and PyTorch; ResNet-20
and MobileNetV2 training steps with per-module times, next to PyTorch.

Options:
  --quick            few repetitions; the slow TF.js cpu backend trains at the largest batch only
  --json FILE        also write every figure as JSON
  --only LIST        comma-separated: simdnet (with peak and GEMM), tfjs-wasm, tfjs-cpu, tfjs, pytorch,
                     convnetjs
  --nets LIST        comma-separated: ${NET_NAMES.join(', ')}
                     (default: ${DEFAULT_NETS.join(',')}); TF.js runs LeNet-5 only, ConvNetJS
                     its CIFAR-10 demo net only (convnetjs-cifar)
  --batches LIST     LeNet-5's batch sizes (1,10,32,64); comparisons per layer at the largest
  --manual-batches LIST
                     LeNet-5 trained by a hand-written loop (SGD momentum 0.9, loss.backward())
                     beside PyTorch's, at these batch sizes (10,64)
  --net-batches LIST the other networks' batch sizes (1,64); per-module times at the largest;
                     MobileNetV2 does not train at 1 (BatchNorm on its 1×1 maps), nor for long at 2
  --targets          instead of the above: just what the speed targets' table needs, timed as with
                     --quick: ${TARGET_NETS.filter((k) => k !== 'lenet5').join(', ')} at batch
                     ${TARGET_NET_BATCHES.default.join(',')} (seed003-cifar at ${TARGET_NET_BATCHES['seed003-cifar'].join(',')}) beside PyTorch (and ConvNetJS), LeNet-5's
                     hand-written loop at ${TARGET_MANUAL_BATCHES.join(',')}, the zoo's 3×3 and 1×1 convolutions with
                     ≥ 32 channels at batch ${TARGET_ZOO_BATCHES.join(',')} (--zoo-batches)
  --zoo              instead of the above: the convolution shape zoo, every convolution of
                     ${Object.keys(ZOO_NETS).join(', ')}
                     one layer at a time: forward, input and weight gradient ms, GFLOP/s and % of the
                     peak, beside PyTorch's (--only simdnet,pytorch); --quick trims batch 64 of the
                     shapes above 1 GFLOP
  --threads          instead of the above: the zoo's networks' training steps at batch 64 on 1, 2
                     and all threads (sn.setNumThreads), img/s and the ratio to 1 thread timed
                     alternately in the same run, and GEMM 512³ split by row panels over them;
                     then PyTorch's training steps on the same thread counts
  --zoo-nets LIST    the networks whose convolutions the zoo takes, or --threads trains (default: all of them)
  --zoo-batches LIST the zoo's batch sizes (1,16,64)
  --plain-simd       keep relaxed SIMD off where the engine needs a flag for it
  --python EXE       the Python with torch (default: python3 on PATH, then /usr/bin/python3)
  --help, -h         this text
`;

const PARTS = ['simdnet', 'tfjs-wasm', 'tfjs-cpu', 'pytorch', 'convnetjs'];

function parse(argv) {
  const { values } = parseArgs({ args: argv, strict: true, options: {
    quick: { type: 'boolean' }, json: { type: 'string' }, only: { type: 'string' }, batches: { type: 'string' },
    nets: { type: 'string' }, 'net-batches': { type: 'string' }, 'manual-batches': { type: 'string' }, targets: { type: 'boolean' },
    zoo: { type: 'boolean' }, 'zoo-nets': { type: 'string' }, 'zoo-batches': { type: 'string' }, threads: { type: 'boolean' },
    'plain-simd': { type: 'boolean' }, python: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  } });
  const zoo = !!values.zoo, targets = !!values.targets, threads = !!values.threads;
  if (zoo && targets) throw new Error('--targets: not with --zoo (--targets times the zoo\'s shapes of the targets itself)');
  if (threads && (zoo || targets)) throw new Error(`--threads: not with --${zoo ? 'zoo' : 'targets'} (--threads times the zoo's networks at 1, 2 and all threads by itself)`);
  for (const o of zoo ? ['nets', 'batches', 'net-batches', 'manual-batches'] : targets ? ['nets', 'batches', 'net-batches', 'zoo-nets']
    : threads ? ['nets', 'batches', 'net-batches', 'manual-batches', 'zoo-batches', 'only'] : ['zoo-nets', 'zoo-batches']) {
    if (values[o] === undefined) continue;
    throw new Error(`--${o}: ${zoo ? 'not with --zoo, which times single convolutions (--zoo-nets, --zoo-batches)'
      : threads ? 'not with --threads, which trains the zoo\'s networks (--zoo-nets) at batch 64 on simdnet alone'
      : targets ? 'not with --targets, which runs the networks and batch sizes of the targets\' table' : `only with --zoo or --targets${o === 'zoo-nets' ? ' (or --threads)' : ''}`}`);
  }
  const only = (values.only ?? (zoo ? 'simdnet,pytorch' : targets ? 'simdnet,pytorch,convnetjs' : PARTS.join(','))).split(',').filter(Boolean).flatMap((p) => (p === 'tfjs' ? ['tfjs-wasm', 'tfjs-cpu'] : [p]));
  const bad = only.find((p) => !PARTS.includes(p));
  if (bad) throw new Error(`--only: unknown part '${bad}' (expected ${PARTS.join(', ')}, tfjs)`);
  const notInZoo = zoo && only.find((p) => p.startsWith('tfjs') || p === 'convnetjs');
  if (notInZoo) throw new Error(`--only: ${notInZoo === 'convnetjs' ? 'ConvNetJS' : 'TF.js'} is not in --zoo (expected simdnet, pytorch), got '${values.only}'`);
  if (targets && only.some((p) => p.startsWith('tfjs'))) throw new Error(`--only: TF.js is not in --targets (expected simdnet, pytorch, convnetjs), got '${values.only}'`);
  const zooNets = list('--zoo-nets', values['zoo-nets'], Object.keys(ZOO_NETS), 'network');
  const nets = targets ? TARGET_NETS : list('--nets', values.nets ?? DEFAULT_NETS.join(','), NET_NAMES, 'network');
  const batches = batchList('--batches', values.batches, '1,10,32,64');
  const netBatches = targets ? TARGET_NET_BATCHES.default : batchList('--net-batches', values['net-batches'], '1,64');
  const netBatchesFor = targets ? Object.fromEntries(Object.entries(TARGET_NET_BATCHES).filter(([k]) => k !== 'default')) : {};
  const manualBatches = batchList('--manual-batches', values['manual-batches'], TARGET_MANUAL_BATCHES.join(','));
  const zooBatches = batchList('--zoo-batches', values['zoo-batches'], (targets ? TARGET_ZOO_BATCHES : [1, 16, 64]).join(','));
  return {
    help: !!values.help, quick: !!values.quick || targets, json: values.json, only, onlyGiven: values.only !== undefined, nets, batches, netBatches,
    netBatchesFor, manualBatches, targets, zoo, threads, zooNets, zooBatches, plainSimd: !!values['plain-simd'], python: values.python,
  };
}

/** A comma-separated list of names from `known` (all of them when not given), each once. */
function list(option, given, known, what) {
  const names = (given ?? known.join(',')).split(',').filter(Boolean);
  const bad = names.find((n) => !known.includes(n));
  if (bad !== undefined || !names.length) throw new Error(`${option}: ${bad === undefined ? `no ${what} given` : `unknown ${what} '${bad}'`} (expected a comma-separated list of ${known.join(', ')})`);
  return [...new Set(names)];
}

function batchList(option, given, fallback) {
  const text = given ?? fallback;
  const list = text.split(',').map((b) => (/^\d+$/.test(b.trim()) ? Number(b) : NaN));
  if (!text.trim() || list.some((b) => !Number.isSafeInteger(b) || b < 1)) throw new Error(`${option}: expected positive integers, got '${given}'`);
  return list;
}

/** Runs the benchmark; returns every figure (the JSON) and prints the report as it goes to `log`. */
export async function runBench(options, { progress = () => {} } = {}) {
  if (options.zoo) return runZoo(options, { progress });
  if (options.threads) return runThreads(options, { progress });
  const { quick, only, nets, netBatches, targets = false } = options;
  const netBatchesFor = options.netBatchesFor ?? {};
  const batchesOf = (key) => netBatchesFor[key] ?? netBatches;
  const lenet = nets.includes('lenet5');
  // --targets: of LeNet-5 only the hand-written loop, which is a target; not its other sections.
  const lenetSections = lenet && !targets;
  const batches = lenetSections ? options.batches : [];
  const manualBatches = lenet ? options.manualBatches ?? [] : [];
  const others = nets.filter((n) => n !== 'lenet5');
  const convnetjs = only.includes('convnetjs') && others.includes('convnetjs-cifar');
  const relaxed = enableRelaxedSimd(options.plainSimd); // before any wasm is compiled
  const runtime = await sn.ready({ relaxedSimd: !options.plainSimd, threads: 1 });
  const profileBatch = Math.max(...options.batches);
  const r = {
    machine: machine(relaxed, runtime),
    options: { quick, only, nets, batches: options.batches, netBatches, netBatchesFor, manualBatches, targets, plainSimd: options.plainSimd },
    frameworks: {}, ratios: [], nets: {}, notes: [],
  };
  for (const key of others) r.nets[key] = { label: NETS[key].label, input: NETS[key].input, batches: batchesOf(key), profileBatch: Math.max(...batchesOf(key)) };
  if (manualBatches.length && (only.includes('simdnet') || only.includes('pytorch'))) r.manual = { batches: manualBatches };

  if (only.includes('simdnet')) {
    progress('wasm SIMD peak');
    r.peak = measurePeak({ quick });
    progress('GEMM');
    r.gemm = measureGemm({ quick });
  }

  if (lenetSections && only.includes('simdnet')) {
    const entry = { label: 'simdnet', short: 'simdnet', profiles: {}, throughput: [] };
    for (const b of batches) {
      progress(`simdnet per-layer, batch ${b}`);
      entry.profiles[b] = simdnetProfile(b, quick ? { repeats: 3, steps: 3, warmup: 2 } : { repeats: 7, steps: 5, warmup: 3 });
    }
    for (const b of batches) {
      progress(`simdnet throughput, batch ${b}`);
      entry.throughput.push(simdnetThroughput(b, { quick }));
    }
    r.frameworks.simdnet = entry;
  }

  if (r.manual && only.includes('simdnet')) {
    r.manual.simdnet = manualBatches.map((b) => {
      progress(`simdnet LeNet-5 hand-written loop, batch ${b}`);
      return simdnetManualLoop(b, { quick });
    });
  }

  if (only.includes('simdnet')) {
    for (const key of others) {
      const entry = { throughput: [] };
      const netProfileBatch = r.nets[key].profileBatch;
      for (const b of batchesOf(key)) {
        progress(`simdnet ${key} training step, batch ${b}`);
        entry.throughput.push(simdnetNetThroughput(key, b, { quick, infer: convnetjs && key === 'convnetjs-cifar' }));
      }
      progress(`simdnet ${key} per module, batch ${netProfileBatch}`);
      entry.profile = simdnetNetProfile(key, netProfileBatch, quick ? { repeats: 2, steps: 2, warmup: 1 } : { repeats: 5, steps: 3, warmup: 2 });
      r.nets[key].simdnet = entry;
    }
  }

  // The zoo's share of the targets: its 3×3 and 1×1 shapes with ≥ 32 channels, timed before the
  // second measurement of the peak as --zoo does.
  const zooRun = targets && only.includes('simdnet') ? targetZoo(r, options) : [];
  zooRun.forEach((c, i) => {
    progress(`zoo ${i + 1}/${zooRun.length}: ${c.label}, batch ${c.batch}`);
    c.simdnet = simdnetCase(r.zoo.shapes.find((s) => s.id === c.shape), c.batch, { quick });
    delete c.label;
  });

  if (only.includes('simdnet')) {
    // Again after simdnet's work, the better of the two kept: what is "% of the peak" must not be
    // measured against a peak loop that other work on the machine slowed down.
    progress('wasm SIMD peak, again');
    r.peak = mergePeaks(r.peak, measurePeak({ quick }));
    r.peakLoop = peakLoop(r.peak, runtime.relaxedSimd);
    for (const g of r.gemm) g.percentOfPeak = (100 * g.gflops.median) / r.peakLoop.gflops;
    if (r.zoo) zooPercentages(r, zooRun);
  }

  if (convnetjs) {
    progress('ConvNetJS, its CIFAR-10 demo net');
    const entry = runConvnetjs({ batches: batchesOf('convnetjs-cifar'), quick });
    r.nets['convnetjs-cifar'].convnetjs = entry;
    if (entry.error) r.notes.push(`${entry.label} skipped: ${entry.error}`);
  } else if (options.onlyGiven && only.includes('convnetjs')) {
    r.notes.push('ConvNetJS runs its CIFAR-10 demo net only, which --nets left out (--nets convnetjs-cifar).');
  }

  const tfjsParts = lenetSections ? only.filter((p) => p.startsWith('tfjs-')) : [];
  if (!lenet && only.some((p) => p.startsWith('tfjs-'))) r.notes.push('TF.js runs LeNet-5 only, which --nets left out.');
  if (tfjsParts.length) {
    progress('loading TensorFlow.js');
    const loaded = await loadTfjs();
    for (const part of tfjsParts) {
      const backend = part.slice(5);
      r.frameworks[part] = loaded.error
        ? { label: `TF.js ${backend}`, short: part, error: loaded.error }
        : await runTfjsBackend(loaded, backend, { batches, profileBatch, quick, progress, notes: r.notes });
    }
  }

  // The Python with torch, once PyTorch has run (the paired rounds below use it again).
  let torchPython = null;
  if (only.includes('pytorch') && (lenet || others.length)) {
    progress('PyTorch (a Python subprocess)');
    const { nets: pytorchNets, manual, ...entry } = await runPytorchEntry({
      python: options.python, batches, profileBatch, quick, summarizeProfile: profileSummary, nets: others, netBatches, netBatchesFor,
      manualBatches: r.manual ? manualBatches : [],
    });
    if (lenetSections) r.frameworks.pytorch = entry;
    else if (entry.error) r.notes.push(`${entry.label} skipped: ${entry.error}`);
    if (entry.note) r.notes.push(entry.note);
    if (!entry.error) torchPython = entry.python;
    for (const key of others) {
      r.nets[key].pytorchLabel = entry.label;
      r.nets[key].pytorch = entry.error ? { error: entry.error } : pytorchNets[key] ?? { error: 'bench/pytorch.py gave no figures' };
    }
    if (r.manual) {
      r.manual.pytorchLabel = entry.label;
      r.manual.pytorch = entry.error ? { error: entry.error } : manual;
    }
  }

  r.ratios = ratios(r.frameworks);
  for (const n of Object.values(r.nets)) {
    n.ratios = netRatios(n);
    if (n.convnetjs) n.convnetjsRatios = convnetjsRatios(n);
  }
  if (r.manual) r.manual.ratios = manualRatios(r.manual);
  if (targets && torchPython && only.includes('simdnet')) await pairTargets(r, { python: torchPython, progress });
  for (const f of Object.values(r.frameworks)) if (f.error) r.notes.push(`${f.label} skipped: ${f.error}`);
  r.notes.push(...methodNotes(r));
  // The zoo's notes but PyTorch's: --targets times simdnet's convolutions only.
  if (r.zoo) r.notes.push(...zooNotes(r).filter((n) => !n.startsWith('PyTorch:')));
  r.targets = targetsTable(r);
  return r;
}

/**
 * Puts the zoo's cases of the targets into `r.zoo` (the shapes of every ZOO_NETS network that
 * the 70%-of-peak target counts, at options.zooBatches) and returns the cases to time, each with
 * its shape's label for the progress line.
 */
function targetZoo(r, options) {
  const keys = Object.keys(ZOO_NETS);
  const shapes = zooShapes(keys).filter(isZooTargetShape);
  const cases = zooCases(shapes, options.zooBatches, { quick: options.quick });
  r.zoo = {
    nets: Object.fromEntries(keys.filter((k) => shapes.some((s) => s.net === k)).map((k) => [k, { label: ZOO_NETS[k].label, input: ZOO_NETS[k].input }])),
    batches: options.zooBatches, shapes, cases, targetsOnly: true,
  };
  return cases.filter((c) => !c.trimmed).map((c) => Object.assign(c, { label: shapes.find((s) => s.id === c.shape).label }));
}

/** % of the peak of each timed zoo case (and of its Winograd figures), once the peak is final. */
function zooPercentages(r, run) {
  const byId = new Map(r.zoo.shapes.map((s) => [s.id, s]));
  for (const c of run) {
    const shape = byId.get(c.shape);
    c.simdnet.percentOfPeak = percentOfPeak(c.simdnet, shape, c.batch, r.peakLoop.gflops);
    for (const w of [c.simdnet.winograd, c.simdnet.winogradF4x4, c.simdnet.direct]) if (w) w.percentOfPeak = percentOfPeak(w, shape, c.batch, r.peakLoop.gflops);
  }
}

/**
 * The shape zoo: the distinct convolutions of the networks asked for, at each batch, timed by
 * simdnet between two measurements of the peak (the better kept), then by PyTorch.
 */
/** --threads: the zoo's networks (--zoo-nets) trained at 1, 2 and all threads, and GEMM 512³ over them. */
async function runThreads(options, { progress }) {
  const { quick, zooNets } = options;
  const relaxed = enableRelaxedSimd(options.plainSimd);
  const runtime = await sn.ready({ relaxedSimd: !options.plainSimd, threads: 1 });
  const r = {
    machine: machine(relaxed, runtime), options: { quick, threads: true, zooNets, plainSimd: options.plainSimd },
    frameworks: {}, ratios: [], nets: {}, notes: [],
  };
  r.threads = await measureThreads({ quick, nets: zooNets, python: options.python, progress });
  return r;
}

async function runZoo(options, { progress }) {
  const { quick, only, zooNets, zooBatches } = options;
  const relaxed = enableRelaxedSimd(options.plainSimd);
  const runtime = await sn.ready({ relaxedSimd: !options.plainSimd, threads: 1 });
  const shapes = zooShapes(zooNets);
  const cases = zooCases(shapes, zooBatches, { quick });
  const byId = new Map(shapes.map((s) => [s.id, s]));
  const r = {
    machine: machine(relaxed, runtime), options: { quick, only, zoo: true, zooNets, zooBatches, plainSimd: options.plainSimd },
    frameworks: {}, ratios: [], nets: {}, notes: [],
    zoo: { nets: Object.fromEntries(zooNets.map((k) => [k, { label: ZOO_NETS[k].label, input: ZOO_NETS[k].input }])), batches: zooBatches, shapes, cases },
  };
  const run = cases.filter((c) => !c.trimmed);
  if (only.includes('simdnet')) {
    progress('wasm SIMD peak');
    const first = measurePeak({ quick });
    run.forEach((c, i) => {
      progress(`zoo ${i + 1}/${run.length}: ${byId.get(c.shape).label}, batch ${c.batch}`);
      c.simdnet = simdnetCase(byId.get(c.shape), c.batch, { quick });
    });
    progress('wasm SIMD peak, again');
    r.peak = mergePeaks(first, measurePeak({ quick }));
    r.peakLoop = peakLoop(r.peak, runtime.relaxedSimd);
    zooPercentages(r, run);
  }
  if (only.includes('pytorch')) {
    progress(`PyTorch, ${run.length} cases (a Python subprocess)`);
    const pt = await runPytorchZoo({ python: options.python, shapes, cases: run, quick });
    r.zoo.pytorchLabel = pt.label;
    if (pt.error) r.notes.push(`${pt.label} skipped: ${pt.error}`);
    else {
      if (pt.label.includes('reference BLAS')) r.notes.push('PyTorch runs on the reference BLAS here: its convolutions below batch 16 (im2col and GEMM) are several times slower than usual; apt-get install libopenblas0-pthread gives the usual figures.');
      const found = new Map(pt.results.map((x) => [`${x.shape}/${x.batch}`, x]));
      for (const c of run) {
        const x = found.get(`${c.shape}/${c.batch}`);
        if (!x) c.pytorch = { error: 'no result' };
        else if (x.error) c.pytorch = { error: x.error };
        else c.pytorch = { ms: x.ms, gflops: Object.fromEntries(Object.entries(x.ms).map(([k, ms]) => [k, invertMs(ms, c.flops)])) };
      }
    }
  }
  r.notes.push(...zooNotes(r));
  r.targets = targetsTable(r);
  return r;
}

const invertMs = (ms, flops) => ({ median: flops / (ms.median * 1e6), min: flops / (ms.max * 1e6), max: flops / (ms.min * 1e6) });

function zooNotes(r) {
  const notes = [
    'Shapes: every Conv2d of the networks listed, found by a shape-only pass of each network (bench/nets.js builds them; ' +
      'sn.models for LeNet-5, ResNet-20 and MobileNetV2), the same shape (input size, channels, kernel, stride, padding, groups, bias) counted once. ' +
      'GFLOP = 2·N·C_out·H_out·W_out·(C_in/groups)·kH·kW, the same for the forward, the input gradient (dX) and the weight gradient (dW) of a direct convolution, ' +
      'padding taps included, bias terms left out.',
    'simdnet: a Conv2d with the shape\'s configuration run alone on wasm tensors (forwardDevice and backwardDevice, as inside a network). Its backward ' +
      'computes dW in every call (and db), with dX when asked: dW is the backward without dX, and dX the backward with dX less the backward without it, ' +
      'the two timed in the same rounds and dX the median of the differences (\'~0\' where it came out at zero or below: noise on a cheap dX). ' +
      'Each round runs every call of a row once (the layer\'s passes and the raw kernels beside it, each repeated to fill a sample), so a change of load falls on all of them alike.',
    'PyTorch: F.conv2d for the forward; torch.ops.aten.convolution_backward, which autograd runs for a convolution, asked for dX only, then for dW (and db) only; ' +
      'one thread; the backend (oneDNN, or im2col + BLAS) is PyTorch\'s own choice per shape. PyTorch runs natively (AVX-512 where the CPU has it), so no percentage of the wasm peak is given for it.',
  ];
  if (r.zoo.cases.some((c) => c.simdnet?.winograd)) {
    notes.push('algorithm: Conv2d.algorithm(input shape), the lowering the layer takes (a pure function of the shape and the build); winograd-f2x2 and winograd-f4x4 run forward and dX by ' +
      'Winograd F(2×2,3×3) and F(4×4,3×3), and dW by Winograd with 2×2 or 4×4 tiles where the algorithm says "(dW: F(2×2))" or "(dW: F(4×4))" (the dW tile need not be the forward\'s), on the direct flat path otherwise. Their GFLOP/s are direct-equivalent (the direct convolution\'s FLOPs over its time); their % of the peak is on ' +
      'the FLOPs they execute, 2·16·C_in·C_out per 2×2 tile in 16 GEMMs and 2·36·C_in·C_out per 4×4 tile in 36 GEMMs (transforms not counted), dW likewise by its own tile; winograd-f2x2-5x5 and winograd-f4x4-5x5 run forward and dX of 5×5 convolutions by Winograd F(2×2,5×5), 2·36·C_in·C_out per 2×2 tile, and F(4×4,5×5), 2·64·C_in·C_out per 4×4 tile, and dW by F(5×5,2×2) (2×2 tiles of dy, 2·36·C_in·C_out each) where the algorithm says "(dW: F(5×5,2×2))", on the direct flat path otherwise. F(2×2) and F(4×4) fwd / dX / dW ms: each tile size\'s kernels timed on every ' +
      '3×3 stride-1 ungrouped shape whatever the layer chose, in the layer\'s rounds; layer ÷ Winograd above 1: that Winograd faster than the layer\'s path (about 1 where the layer runs it). ' +
      'direct fwd / dX / dW: on the shapes the layer runs by Winograd, the direct flat path\'s kernels (the raw exports flatForward and flatBackward, dX as the layer\'s: with it less without it) timed beside it, ms and % of the peak on the direct FLOPs.');
  }
  if (r.zoo.cases.some((c) => c.trimmed)) notes.push(`--quick: batch 64 left out for the shapes whose forward at that batch is above ${QUICK_TRIM_FLOPS / 1e9} GFLOP.`);
  return notes;
}

/** simdnet's img/s over each other framework's, batch by batch, with the widest spread. */
function ratios(frameworks) {
  const sn = frameworks.simdnet;
  if (!sn) return [];
  const out = [];
  for (const f of Object.values(frameworks)) {
    if (f === sn || f.error) continue;
    for (const t of f.throughput) {
      const mine = sn.throughput.find((x) => x.batch === t.batch);
      if (mine) out.push({ vs: f.label, batch: t.batch, train: div(mine.train.imgPerSec, t.train?.imgPerSec), infer: div(mine.infer.imgPerSec, t.infer.imgPerSec) });
    }
  }
  return out;
}

/**
 * The targets' ratios to PyTorch from paired rounds (bench/paired.js) into r.paired, by
 * 'net@batch' ('lenet5-manual@64' for the hand-written loop): each target's simdnet and PyTorch
 * steps timed one right after the other, 7 rounds, the ratio of each round's pair. The targets
 * table reads them rather than the sections' figures, which are timed minutes apart. `python`:
 * the one with torch.
 */
async function pairTargets(r, { python, progress }) {
  const cases = [];
  for (const [key, n] of Object.entries(r.nets)) {
    for (const batch of n.batches) cases.push({ key: `${key}@${batch}`, batch, stepper: () => simdnetNetStepper(key, batch), pytorch: { net: key, batch } });
  }
  for (const batch of r.manual?.batches ?? []) cases.push({ key: `lenet5-manual@${batch}`, batch, stepper: () => simdnetManualStepper(batch), pytorch: { net: 'lenet5-manual', batch } });
  const server = pytorchServer(python);
  r.paired = {};
  try {
    for (const c of cases) {
      progress(`paired rounds with PyTorch: ${c.key}`);
      const stepper = c.stepper();
      try {
        r.paired[c.key] = await pairedRounds({ batch: c.batch, step: stepper.step, pytorch: c.pytorch }, { ask: server.ask });
      } finally {
        stepper.dispose();
      }
    }
  } finally {
    server.close();
  }
  r.notes.push('Speed targets against PyTorch: paired rounds (bench/paired.js), after the figures above: simdnet\'s training step and PyTorch\'s ' +
    '(a Python process answering on request) timed one right after the other, each as often as fills 200 ms after 3 untimed steps, in 7 rounds, ' +
    'the order swapped every round; the ratio is the median of the rounds\' own ratios, [min–max] over the rounds. On a VM whose speed drifts over ' +
    'minutes, figures timed minutes apart (the sections above) can pair one framework\'s slow spell with the other\'s fast one.');
}

/** simdnet's training img/s over PyTorch's at each batch both ran, with the widest spread. */
function netRatios(n) {
  const out = [];
  for (const mine of n.simdnet?.throughput ?? []) {
    const theirs = n.pytorch?.throughput?.find((t) => t.batch === mine.batch);
    if (mine.train && theirs?.train) out.push({ vs: 'PyTorch', batch: mine.batch, train: div(mine.train.imgPerSec, theirs.train.imgPerSec) });
  }
  return out;
}

/** simdnet's training and inference img/s over ConvNetJS's on its demo net, at each batch both ran. */
function convnetjsRatios(n) {
  const out = [];
  for (const mine of n.simdnet?.throughput ?? []) {
    const theirs = n.convnetjs?.throughput?.find((t) => t.batch === mine.batch);
    if (mine.train && theirs?.train) out.push({ vs: n.convnetjs.label, batch: mine.batch, train: div(mine.train.imgPerSec, theirs.train.imgPerSec), infer: div(mine.infer?.imgPerSec, theirs.infer?.imgPerSec) });
  }
  return out;
}

/** simdnet's img/s over PyTorch's in LeNet-5's hand-written loop, at each batch both ran. */
function manualRatios(m) {
  const out = [];
  for (const mine of m.simdnet ?? []) {
    const theirs = Array.isArray(m.pytorch) ? m.pytorch.find((t) => t.batch === mine.batch) : null;
    if (theirs?.train) out.push({ vs: 'PyTorch', batch: mine.batch, train: div(mine.train.imgPerSec, theirs.train.imgPerSec) });
  }
  return out;
}

const div = (a, b) => (a && b ? { median: a.median / b.median, min: a.min / b.max, max: a.max / b.min } : null);

function methodNotes(r) {
  const notes = [];
  if (r.frameworks.simdnet || r.frameworks.pytorch) {
    notes.push(
      'LeNet-5: the same network everywhere (conv 1→6 k5 pad 2, ReLU, maxpool 2, conv 6→16 k5, ReLU, maxpool 2, flatten, 400→120→84→10 with ReLUs), ' +
        'softmax cross-entropy (mean), Adam lr 1e-3, fixed-seed random inputs and labels; TF.js in NHWC, the others NCHW.',
      'simdnet training step: forward, loss, backward (no gradient for the input images, as in fit()), Adam step, zeroGrad; ' +
        'inference: eval-mode forward and a copy of the logits out. Per-layer: model.profile() (a mean over its steps) called repeatedly.');
  }
  if (r.frameworks['tfjs-wasm'] || r.frameworks['tfjs-cpu']) {
    notes.push('TF.js: one step is optimizer.minimize (tf.variableGrads + Adam) ending in dataSync() of the loss; inference ends in dataSync() of the logits. ' +
      'Per layer: each layer\'s kernels through tf.engine().runKernel, then backward through each kernel\'s registered gradient (tf.getGradient: what tf.grads runs), ' +
      'timed with performance.now() around the calls (both backends compute synchronously inside the call in Node); conv and linear are the kernel plus a bias Add.');
  }
  if (r.frameworks.pytorch && !r.frameworks.pytorch.error) {
    notes.push('PyTorch: torch.set_num_threads(1) and OMP/MKL threads 1; step = zero_grad, cross_entropy, backward, Adam step; inference under no_grad. ' +
      'Per layer: each module\'s forward timed, then its backward by autograd from the next module\'s input gradient (each module input a fresh leaf).');
  }
  if (Object.keys(r.nets).length) {
    notes.push('Networks other than LeNet-5: fixed-seed random 3×32×32 images and labels; training step = forward, cross-entropy, backward ' +
      '(no gradient for the input images), SGD lr 0.01 momentum 0.9, zero-grad; PyTorch on one thread. ' +
      'simdnet per module: model.profile() rows (a row per layer call and functional op, by module path). PyTorch per module: hooks on every ' +
      'leaf module (forward pre-hook and hook) and on the autograd node that made its output (backward pre-hook and hook); its ' +
      'functional ops (F.relu, +, pooling), the loss and gradient accumulation are in no module row.');
  }
  if (r.nets.resnet20 || r.nets.mobilenetv2) {
    notes.push('ResNet-20 and MobileNetV2: the same architecture on both sides (sn.models.resnet20 and the CIFAR ResNet of scripts/fixtures/torchvision_zoo.py, ' +
      'copied into bench/pytorch.py; sn.models.mobilenetV2 and torchvision.models.mobilenet_v2, width 0.5, 10 classes). A training BatchNorm refuses one value per ' +
      'channel on both sides, so MobileNetV2 (1×1 maps in its last stages) does not train at batch 1; at batch 2 its gradients are ill-conditioned ' +
      '(BatchNorm over 2 values per channel) and training diverges within a few steps.');
  }
  if (['vgg-cifar', 'convnetjs-cifar', 'seed003-cifar'].some((k) => r.nets[k])) {
    notes.push('The CIFAR nets of bench/nets.js (VGG-style, ConvNetJS\'s demo net, seed 003\'s) are Sequentials built alike on both sides (bench/pytorch.py: ' +
      'nn.Sequential with the same layers, so the module paths match), each library with its own default initialisation.');
  }
  if (r.nets['convnetjs-cifar']?.convnetjs && !r.nets['convnetjs-cifar'].convnetjs.error) {
    notes.push('ConvNetJS: its CIFAR-10 demo net as the demo defines it (conv 5×5 16, pad 2, relu, pool 2/2, conv 5×5 20, relu, pool, conv 5×5 20, relu, pool, ' +
      'softmax 10, with the fully connected layer makeLayers puts before the softmax), trained by its Trainer with plain SGD, momentum 0.9, lr 0.01, no weight decay ' +
      'and batch_size equal to the batch, as simdnet and PyTorch train it here; a step is batch-many Trainer.train calls (ConvNetJS runs one image at a time and updates ' +
      'once per batch). The demo page itself trains with adadelta, batch 4, l2_decay 1e-4: the update runs once per batch, so the optimizer changes ConvNetJS\'s ' +
      'time per image little. Inference: batch-many net.forward calls; simdnet\'s: an eval-mode forward of the batch with the logits copied out. ' +
      'ConvNetJS is single-threaded JavaScript on float64 arrays.');
  }
  if (r.manual) {
    notes.push('LeNet-5 hand-written loop: the README\'s manual loop with SGD lr 0.01 momentum 0.9 instead of Adam, on both sides: input wrapped each step ' +
      '(sn.tensor, not asking for its gradient; PyTorch tensors that do not require grad), forward, cross-entropy, loss.backward(), step, zero-grad, ' +
      'cycling through 1024 fixed-seed random MNIST-shaped images. Whatever loss.backward() computes is in the time, the input\'s gradient included ' +
      'where the library computes it unasked (fit and the training steps above skip it).');
  }
  return notes;
}

export async function main(argv) {
  let options;
  try { options = parse(argv); } catch (err) { process.stderr.write(`simdnet bench: ${err.message}\n\n${HELP}`); return 2; }
  if (options.help) { process.stdout.write(HELP); return 0; }
  const started = performance.now();
  const r = await runBench(options, { progress: (what) => process.stderr.write(`… ${what}\n`) });
  r.seconds = (performance.now() - started) / 1000;
  process.stdout.write(report(r));
  if (options.json) {
    await writeFile(options.json, `${JSON.stringify(r, null, 1)}\n`);
    process.stderr.write(`wrote ${options.json}\n`);
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
