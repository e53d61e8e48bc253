// simdnet's figures: per-layer times from model.profile(), training-step and inference img/s.
import * as sn from 'simdnet';
import { measure, summarize, invert } from './stats.js';
import { inputs, inputPool } from './data.js';

const imgPerSec = (batch) => (ms) => (batch * 1000) / ms;

/**
 * Per-layer forward/backward ms: `repeats` calls of model.profile (each the mean of `steps` real
 * training steps after `warmup`), summarised per row as median and min–max over the calls.
 */
export function simdnetProfile(batch, { repeats = 7, steps = 5, warmup = 3 } = {}) {
  sn.manualSeed(0);
  const model = sn.models.lenet5();
  const { x, labels } = inputs(batch);
  const xt = sn.tensor(x, [batch, 1, 28, 28]);
  const runs = [];
  for (let r = 0; r < repeats; r++) runs.push(model.profile(xt, labels, { steps, warmup: r === 0 ? warmup * 2 : warmup }));
  model.dispose();
  return profileSummary(runs.map((p) => ({
    layers: p.layers.map((l, i) => ({ name: `${i} ${l.name}`, forwardMs: l.forwardMs, backwardMs: l.backwardMs })),
    extra: [
      { name: 'input copy', forwardMs: p.inputMs, backwardMs: null },
      { name: 'loss (fused gradient)', forwardMs: p.loss.forwardMs, backwardMs: null },
      { name: 'optimizer step (Adam)', forwardMs: null, backwardMs: p.optimizerMs },
    ],
    stepMs: p.stepMs,
  })), batch, `median of ${repeats} model.profile() calls, each the mean of ${steps} steps`);
}

/**
 * Summarises repeated per-layer runs ({layers, extra, stepMs}) row by row; shared by every framework
 * so the tables line up. A null cell (no such phase) stays null.
 */
export function profileSummary(runs, batch, method) {
  const rows = [...runs[0].layers, ...runs[0].extra].map((row, i) => {
    const cells = runs.map((r) => [...r.layers, ...r.extra][i]);
    const cell = (key) => (row[key] === null ? null : summarize(cells.map((c) => c[key])));
    return { name: row.name, layer: i < runs[0].layers.length, forwardMs: cell('forwardMs'), backwardMs: cell('backwardMs') };
  });
  const sum = (key) => summarize(runs.map((r) => [...r.layers, ...r.extra].reduce((s, c) => s + (c[key] ?? 0), 0)));
  return { batch, method, rows, forwardMs: sum('forwardMs'), backwardMs: sum('backwardMs'), stepMs: summarize(runs.map((r) => r.stepMs)) };
}

/** Training step (forward, loss, backward, Adam 1e-3, zeroGrad) and inference, in ms and img/s. */
export function simdnetThroughput(batch, { quick = false } = {}) {
  sn.manualSeed(0);
  const model = sn.models.lenet5();
  const pool = inputPool(batch).map(({ x, labels }) => ({ x: sn.tensor(x, [batch, 1, 28, 28]), labels }));
  let i = 0;
  const lossFn = new sn.CrossEntropyLoss();
  const opt = new sn.Adam(model.parameters(), { lr: 1e-3 });
  const timing = { warmup: 5, samples: quick ? 3 : 9, minMs: quick ? 20 : 60 };
  model.train();
  // As fit() does it: no gradient for the input images, which nothing uses.
  const train = measure(() => {
    const { x, labels } = pool[i++ % pool.length];
    const loss = lossFn.forward(model.forward(x), labels);
    loss.backwardThrough(false);
    opt.step();
    opt.zeroGrad();
  }, timing);
  model.eval();
  const infer = measure(() => model.forward(pool[i++ % pool.length].x).toArray(), timing);
  opt.dispose();
  model.dispose();
  return {
    batch,
    train: { ms: train, imgPerSec: invert(train, imgPerSec(batch)) },
    infer: { ms: infer, imgPerSec: invert(infer, imgPerSec(batch)) },
  };
}
