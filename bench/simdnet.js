// simdnet's figures: per-layer times from model.profile(), training-step and inference img/s.
import * as sn from 'simdnet';
import { measure, summarize, invert } from './stats.js';
import { inputs, inputPool } from './data.js';
import { NETS, profileRowKind } from './nets.js';

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
    // Named by module path, as PyTorch's rows by index: a fused pair is '3+4 Conv2d+ReLU', the rows after it keep their indices.
    layers: p.layers.map((l) => ({ name: `${l.path} ${l.name}`, forwardMs: l.forwardMs, backwardMs: l.backwardMs })),
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
    const { forwardMs: _f, backwardMs: _b, ...about } = row; // name, and path and kind where the run gives them
    return { ...about, layer: i < runs[0].layers.length, forwardMs: cell('forwardMs'), backwardMs: cell('backwardMs') };
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
  // As fit() does it: the input images do not require a gradient, so none is computed.
  const train = measure(() => {
    const { x, labels } = pool[i++ % pool.length];
    const loss = lossFn.forward(model.forward(x), labels);
    loss.backward();
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

// ---- the other networks (bench/nets.js): a training step with SGD and momentum ----

const SGD_OPTIONS = { lr: 0.01, momentum: 0.9 };

function netBatches(net, batch, images) {
  const [C, H, W] = net.input;
  return inputPool(batch, images, C * H * W, net.classes).map(({ x, labels }) => ({ x: sn.tensor(x, [batch, C, H, W]), labels }));
}

/**
 * img/s of a training step of NETS[key] (forward, cross-entropy, backward without the input
 * images' gradient as fit() does, SGD lr 0.01 momentum 0.9, zeroGrad), cycling through 256
 * random images; with `infer`, also an eval-mode forward with the logits copied out. A batch the
 * network refuses (a training BatchNorm with one value per channel) gives { batch, error }.
 */
export function simdnetNetThroughput(key, batch, { quick = false, infer = false } = {}) {
  const timing = { warmup: quick ? 2 : 3, samples: quick ? 3 : 7, minMs: quick ? 20 : 100 };
  let stepper = null;
  try {
    stepper = simdnetNetStepper(key, batch);
    const train = measure(stepper.step, timing);
    const out = { batch, train: { ms: train, imgPerSec: invert(train, imgPerSec(batch)) } };
    if (infer) {
      const ms = measure(stepper.infer, timing);
      out.infer = { ms, imgPerSec: invert(ms, imgPerSec(batch)) };
    }
    return out;
  } catch (err) {
    return { batch, error: err.message };
  } finally {
    stepper?.dispose();
  }
}

/**
 * The training step simdnetNetThroughput times, of a model of NETS[key] built once: { step,
 * infer (an eval-mode forward with the logits copied out), dispose }. Each call of step trains on
 * the next batch of the pool.
 */
export function simdnetNetStepper(key, batch) {
  const net = NETS[key];
  sn.manualSeed(0);
  const model = net.build();
  const pool = netBatches(net, batch, 256);
  const lossFn = new sn.CrossEntropyLoss();
  const opt = new sn.SGD(model.parameters(), SGD_OPTIONS);
  let i = 0;
  model.train();
  return {
    step: () => {
      const { x, labels } = pool[i++ % pool.length];
      lossFn.forward(model.forward(x), labels).backward();
      opt.step();
      opt.zeroGrad();
    },
    // In eval mode for the call only (train() and eval() walk the modules: microseconds).
    infer: () => {
      model.eval();
      model.forward(pool[i++ % pool.length].x).toArray();
      model.train();
    },
    dispose: () => {
      opt.dispose();
      model.dispose();
    },
  };
}

/**
 * Per-module times of NETS[key]'s training step (SGD with momentum) from `repeats` calls of
 * model.profile, each the mean of `steps` steps: a row per layer call and functional op, named
 * by module path ('layer1.0.conv1 Conv2d', 'layer1.0 sn.add'), with its kind (kindOf).
 */
export function simdnetNetProfile(key, batch, { repeats = 5, steps = 3, warmup = 2 } = {}) {
  const net = NETS[key];
  sn.manualSeed(0);
  const model = net.build();
  const modules = new Map(model.namedModules());
  const [{ x, labels }] = netBatches(net, batch, batch);
  const opt = new sn.SGD(model.parameters(), SGD_OPTIONS);
  try {
    const runs = [];
    for (let r = 0; r < repeats; r++) runs.push(model.profile(x, labels, { steps, warmup: r === 0 ? warmup * 2 : warmup, optimizer: opt }));
    return profileSummary(runs.map((p) => ({
      layers: uniqueNames(p.layers.map((l) => ({
        name: l.path ? `${l.path} ${l.name}` : l.name, path: l.path, type: l.name,
        kind: profileRowKind(l.name, l.path, modules),
        forwardMs: l.forwardMs, backwardMs: l.backwardMs,
      }))),
      extra: [
        { name: 'input copy', forwardMs: p.inputMs, backwardMs: null },
        { name: 'loss (fused gradient)', forwardMs: p.loss.forwardMs, backwardMs: null },
        { name: 'optimizer step (SGD momentum)', forwardMs: null, backwardMs: p.optimizerMs },
      ],
      stepMs: p.stepMs,
    })), batch, `median of ${repeats} model.profile() calls, each the mean of ${steps} steps`);
  } catch (err) {
    return { batch, error: err.message };
  } finally {
    opt.dispose();
    model.dispose();
  }
}

/** Rows named alike (two sn.relu calls in one block) get ' #2', ' #3', … in the order they ran. */
export function uniqueNames(rows) {
  const seen = new Map();
  return rows.map((r) => {
    const n = (seen.get(r.name) ?? 0) + 1;
    seen.set(r.name, n);
    return n === 1 ? r : { ...r, name: `${r.name} #${n}` };
  });
}

// ---- LeNet-5 trained by a hand-written loop, as the README's first example ----

/**
 * img/s of LeNet-5 trained by a loop a user writes (not fit): per step the batch wrapped by
 * sn.tensor (not asking for its gradient), forward, cross-entropy, loss.backward(), SGD lr 0.01
 * momentum 0.9, zeroGrad, cycling through 1024 fixed-seed random MNIST-shaped images. Whatever
 * loss.backward() computes is in the time: what the model's input does not ask for is work the
 * library ought to skip. bench/pytorch.py times the same loop (manual_loop).
 */
export function simdnetManualLoop(batch, { quick = false } = {}) {
  const stepper = simdnetManualStepper(batch);
  try {
    const train = measure(stepper.step, { warmup: 5, samples: quick ? 3 : 9, minMs: quick ? 20 : 60 });
    return { batch, train: { ms: train, imgPerSec: invert(train, imgPerSec(batch)) } };
  } finally {
    stepper.dispose();
  }
}

/** One step of the loop simdnetManualLoop times, of a LeNet-5 built once: { step, dispose }. */
export function simdnetManualStepper(batch) {
  sn.manualSeed(0);
  const model = sn.models.lenet5();
  const pool = inputPool(batch);
  const lossFn = new sn.CrossEntropyLoss();
  const opt = new sn.SGD(model.parameters(), SGD_OPTIONS);
  model.train();
  let i = 0;
  return {
    step: () => {
      const { x, labels } = pool[i++ % pool.length];
      const y = model.forward(sn.tensor(x, [batch, 1, 28, 28]));
      const loss = lossFn.forward(y, labels);
      loss.backward();
      opt.step();
      opt.zeroGrad();
    },
    dispose: () => {
      opt.dispose();
      model.dispose();
    },
  };
}
