#!/usr/bin/env node
// The benchmark harness: `npm run bench`, `node bench/main.js`, or `simdnet bench`.
import { parseArgs } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import * as sn from 'simdnet';
import { enableRelaxedSimd, machine } from './env.js';
import { measurePeak } from './peak.js';
import { measureGemm } from './gemm.js';
import { simdnetProfile, simdnetThroughput, profileSummary } from './simdnet.js';
import { loadTfjs } from './tfjs-load.js';
import { runTfjsBackend } from './tfjs-run.js';
import { runPytorchEntry } from './pytorch.js';
import { report } from './report.js';

export const HELP = `simdnet bench — LeNet-5 per-layer times, training and inference img/s, GEMM GFLOP/s
against the wasm SIMD peak measured in the same run, next to TensorFlow.js and PyTorch.

Options:
  --quick            few repetitions; the slow TF.js cpu backend trains at the largest batch only
  --json FILE        also write every figure as JSON
  --only LIST        comma-separated: simdnet (with peak and GEMM), tfjs-wasm, tfjs-cpu, tfjs, pytorch
  --batches LIST     batch sizes (1,10,32,64); comparisons per layer at the largest
  --plain-simd       keep relaxed SIMD off where the engine needs a flag for it
  --python EXE       the Python with torch (default: python3 on PATH, then /usr/bin/python3)
  --help, -h         this text
`;

const PARTS = ['simdnet', 'tfjs-wasm', 'tfjs-cpu', 'pytorch'];

function parse(argv) {
  const { values } = parseArgs({ args: argv, strict: true, options: {
    quick: { type: 'boolean' }, json: { type: 'string' }, only: { type: 'string' }, batches: { type: 'string' },
    'plain-simd': { type: 'boolean' }, python: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  } });
  const only = (values.only ?? PARTS.join(',')).split(',').filter(Boolean).flatMap((p) => (p === 'tfjs' ? ['tfjs-wasm', 'tfjs-cpu'] : [p]));
  const bad = only.find((p) => !PARTS.includes(p));
  if (bad) throw new Error(`--only: unknown part '${bad}' (expected ${PARTS.join(', ')}, tfjs)`);
  const batches = (values.batches ?? '1,10,32,64').split(',').map(Number);
  if (!batches.length || batches.some((b) => !Number.isInteger(b) || b < 1)) throw new Error(`--batches: expected positive integers, got '${values.batches}'`);
  return { help: !!values.help, quick: !!values.quick, json: values.json, only, batches, plainSimd: !!values['plain-simd'], python: values.python };
}

/** Runs the benchmark; returns every figure (the JSON) and prints the report as it goes to `log`. */
export async function runBench(options, { progress = () => {} } = {}) {
  const { quick, only, batches } = options;
  const relaxed = enableRelaxedSimd(options.plainSimd); // before any wasm is compiled
  const runtime = await sn.ready({ relaxedSimd: !options.plainSimd });
  const profileBatch = Math.max(...batches);
  const r = { machine: machine(relaxed, runtime), options: { quick, only, batches, plainSimd: options.plainSimd }, frameworks: {}, ratios: [], notes: [] };

  if (only.includes('simdnet')) {
    progress('wasm SIMD peak');
    r.peak = measurePeak({ quick });
    const peak = (runtime.relaxedSimd && r.peak.relaxedMadd ? r.peak.relaxedMadd : r.peak.mulAdd).best.median;
    progress('GEMM');
    r.gemm = measureGemm({ quick, peak });
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

  const tfjsParts = only.filter((p) => p.startsWith('tfjs-'));
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

  if (only.includes('pytorch')) {
    progress('PyTorch (a Python subprocess)');
    r.frameworks.pytorch = await runPytorchEntry({ python: options.python, batches, profileBatch, quick, summarizeProfile: profileSummary });
    if (r.frameworks.pytorch.note) r.notes.push(r.frameworks.pytorch.note);
  }

  r.ratios = ratios(r.frameworks);
  for (const f of Object.values(r.frameworks)) if (f.error) r.notes.push(`${f.label} skipped: ${f.error}`);
  r.notes.push(...methodNotes(r));
  return r;
}

/** simdnet's img/s over each other framework's, batch by batch, with the widest spread. */
function ratios(frameworks) {
  const sn = frameworks.simdnet;
  if (!sn) return [];
  const div = (a, b) => (a && b ? { median: a.median / b.median, min: a.min / b.max, max: a.max / b.min } : null);
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

function methodNotes(r) {
  const notes = [
    'Same LeNet-5 everywhere (conv 1→6 k5 pad 2, ReLU, maxpool 2, conv 6→16 k5, ReLU, maxpool 2, flatten, 400→120→84→10 with ReLUs), ' +
      'softmax cross-entropy (mean), Adam lr 1e-3, fixed-seed random inputs and labels; TF.js in NHWC, the others NCHW.',
    'simdnet training step: forward, loss, backward (no gradient for the input images, as in fit()), Adam step, zeroGrad; ' +
      'inference: eval-mode forward and a copy of the logits out. Per-layer: model.profile() (a mean over its steps) called repeatedly.',
  ];
  if (r.frameworks['tfjs-wasm'] || r.frameworks['tfjs-cpu']) {
    notes.push('TF.js: one step is optimizer.minimize (tf.variableGrads + Adam) ending in dataSync() of the loss; inference ends in dataSync() of the logits. ' +
      'Per layer: each layer\'s kernels through tf.engine().runKernel, then backward through each kernel\'s registered gradient (tf.getGradient: what tf.grads runs), ' +
      'timed with performance.now() around the calls (both backends compute synchronously inside the call in Node); conv and linear are the kernel plus a bias Add.');
  }
  if (r.frameworks.pytorch && !r.frameworks.pytorch.error) {
    notes.push('PyTorch: torch.set_num_threads(1) and OMP/MKL threads 1; step = zero_grad, cross_entropy, backward, Adam step; inference under no_grad. ' +
      'Per layer: each module\'s forward timed, then its backward by autograd from the next module\'s input gradient (each module input a fresh leaf).');
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
