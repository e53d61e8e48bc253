// TensorFlow.js's figures on one backend: per-layer times, training-step and inference img/s.
// Both the cpu and the wasm backend run each kernel synchronously inside the op call in Node, so
// timing the calls measures the work; the training step and inference end with dataSync() on
// their result, as a user reading the loss or the predictions would.
import { measure, invert } from './stats.js';
import { inputs, inputPool } from './data.js';
import { tfjsLenet, runLayer, forward, lossOf, backwardLayer } from './tfjs-lenet.js';
import { profileSummary } from './simdnet.js';

const imgPerSec = (batch) => (ms) => (batch * 1000) / ms;

function batchTensors(tf, batch, { x, labels } = inputs(batch)) {
  return { x: tf.tensor4d(x, [batch, 28, 28, 1]), oneHot: tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), 'float32')) };
}

/** A model, its Adam and one batch on the current backend; `dispose()` frees them all. */
function setup(tf, batch) {
  const model = tfjsLenet(tf);
  const optimizer = tf.train.adam(1e-3);
  const data = batchTensors(tf, batch);
  const dispose = () => { optimizer.dispose(); tf.dispose([data.x, data.oneHot, ...model.variables]); };
  return { model, optimizer, ...data, dispose };
}

/** One training step as a tfjs user writes it: optimizer.minimize (tf.variableGrads + Adam). */
export function trainStep(tf, s) {
  const cost = s.optimizer.minimize(() => lossOf(tf, forward(tf, s.model, s.x), s.oneHot), true, s.model.variables);
  cost.dataSync();
  cost.dispose();
}

/**
 * One step timed layer by layer: each layer's kernels forward, the loss with its gradient,
 * each layer's registered gradients backward (no gradient for the input images), then Adam.
 */
function profiledStep(tf, s) {
  const now = () => performance.now();
  const layers = s.model.layers.map((l) => ({ name: l.name, forwardMs: 0, backwardMs: 0 }));
  const r = { layers, extra: [], stepMs: 0 };
  tf.tidy(() => {
    const tapes = [];
    let h = s.x, t = now();
    s.model.layers.forEach((layer, i) => {
      const tape = [];
      h = runLayer(tf, layer, h, tape);
      tapes.push(tape);
      const t2 = now(); layers[i].forwardMs = t2 - t; t = t2;
    });
    let g = tf.grad((logits) => lossOf(tf, logits, s.oneHot))(h);
    const lossMs = now() - t;
    const grads = [];
    t = now();
    for (let i = s.model.layers.length - 1; i >= 0; i--) {
      const { dx, paramGrads } = backwardLayer(tf, tapes[i], g, i > 0);
      grads.push(...paramGrads);
      g = dx;
      const t2 = now(); layers[i].backwardMs = t2 - t; t = t2;
    }
    s.optimizer.applyGradients(grads.map(([variable, tensor]) => ({ name: variable.name, tensor })));
    const optMs = now() - t;
    r.extra.push({ name: 'loss (forward + gradient)', forwardMs: lossMs, backwardMs: null },
      { name: 'optimizer step (Adam)', forwardMs: null, backwardMs: optMs });
  });
  r.stepMs = [...r.layers, ...r.extra].reduce((a, c) => a + (c.forwardMs ?? 0) + (c.backwardMs ?? 0), 0);
  return r;
}

/** Per-layer table in the shape of simdnet's: median and min–max over `repeats` profiled steps. */
export function tfjsProfile(tf, batch, { repeats = 7, warmup = 2 } = {}) {
  const s = setup(tf, batch);
  try {
    for (let i = 0; i < warmup; i++) profiledStep(tf, s);
    const runs = Array.from({ length: repeats }, () => profiledStep(tf, s));
    return profileSummary(runs, batch, `median of ${repeats} steps timed layer by layer`);
  } finally { s.dispose(); }
}

/**
 * Training step and inference in ms and img/s, cycling through distinct batches (see inputPool);
 * `trainSamples` 0 skips the training step.
 */
export function tfjsThroughput(tf, batch, { samples = 7, trainSamples = samples, warmup = 2, minMs = 60 } = {}) {
  const s = setup(tf, batch);
  const pool = inputPool(batch).map((b) => batchTensors(tf, batch, b));
  let i = 0;
  const next = () => Object.assign(s, pool[i++ % pool.length]);
  try {
    const out = { batch, train: null, infer: null };
    if (trainSamples > 0) {
      const ms = measure(() => trainStep(tf, next()), { warmup, samples: trainSamples, minMs });
      out.train = { ms, imgPerSec: invert(ms, imgPerSec(batch)) };
    }
    const ms = measure(() => { const y = tf.tidy(() => forward(tf, s.model, next().x)); y.dataSync(); y.dispose(); },
      { warmup, samples, minMs });
    out.infer = { ms, imgPerSec: invert(ms, imgPerSec(batch)) };
    return out;
  } finally {
    tf.dispose(pool.flatMap((b) => [b.x, b.oneHot]));
    s.dispose();
  }
}

/** Tries one training step; returns null when it works, else the error message (e.g. a missing kernel). */
export function trainingFails(tf) {
  const s = setup(tf, 2);
  try { trainStep(tf, s); return null; } catch (err) { return err.message; } finally { s.dispose(); }
}
