// Per-layer forward/backward times of real training steps, for model.profile().
import type { Module } from '../module.js';
import { Block, f32, type BlockOwner } from '../runtime/index.js';
import { Tensor, checkTensor } from '../tensor.js';
import { Loss } from '../losses/loss.js';
import { CrossEntropyLoss } from '../losses/cross-entropy.js';
import { MSELoss } from '../losses/mse.js';
import { Optimizer } from '../optim/optimizer.js';
import { Adam } from '../optim/adam.js';
import type { Target } from './targets.js';
import { layerTypeOf } from '../registry.js';
import { StepGuard } from './step-guard.js';
import { checkProfileOptions } from './fit-options.js';
import { saveTrainingFlags, useGenerator } from '../module-tree.js';
import { Generator } from '../random.js';
import { setProfiler, type Profiler } from '../autograd/state.js';

/** The owner of the block profile() copies the batch into. */
const PROFILE_INPUT: BlockOwner = { label: () => 'profile()' };

/** The options of profile() and model.profile(). */
export interface ProfileOptions {
  /** Timed steps, averaged (default 20) after `warmup` untimed ones (default 5). */
  steps?: number;
  /** Untimed steps run first (default 5), so that buffers are allocated and the engine has warmed up. */
  warmup?: number;
  /** Default: CrossEntropyLoss for labels, MSELoss for a Tensor target. */
  loss?: Loss;
  /** Default: a fresh Adam. The model's weights, and a given optimizer's state, are restored afterwards. */
  optimizer?: Optimizer;
}

/** One layer call's (or functional op's) mean times per step in a Profile. */
export interface LayerTime {
  /** The layer's type, e.g. 'Conv2d', or the op, e.g. 'sn.add'. */
  name: string;
  /** Where it runs: the module path of the layer ('0', 'layer1.0.conv1'; '' for the model itself), or of the module calling the op. */
  path: string;
  /** Milliseconds of its forward pass. */
  forwardMs: number;
  /** Milliseconds of its backward pass (input and weight gradients). */
  backwardMs: number;
}

/** What profile() returns: mean milliseconds per training step, per layer and in total. */
export interface Profile {
  /** The batch size profiled (x's first dimension). */
  batchSize: number;
  /** How many timed steps the means are over. */
  steps: number;
  /**
   * A row per layer call and functional op of a step, in the order they ran (named by module
   * path); a BatchNorm fused with the ReLU or ReLU6 after it is one row naming both: name
   * 'BatchNorm2d+ReLU', path '1+2' (in a Sequential) or 'layer1.0.bn1+relu' (sn.relu in layer1.0).
   */
  layers: LayerTime[];
  /** Copying the input into wasm memory. */
  inputMs: number;
  /** The loss: its forward, which computes the gradient too (fused), so backwardMs is 0. */
  loss: { forwardMs: number; backwardMs: number };
  /** The optimizer's step and zeroGrad. */
  optimizerMs: number;
  /** One whole training step (the sum of all of the above). */
  stepMs: number;
  /** The table formatProfile() prints: a row per layer with forward and backward ms, then the totals. */
  toString(): string;
}

/**
 * Times every layer call and functional op of real training steps: runs `warmup + steps` steps
 * (forward, loss, backward without the first layer's input gradient, optimizer step, zeroGrad)
 * on x/y, timing each layer and op (a row per call, named by its module path, so any module
 * profiles, not only a Sequential), and puts back as they were: the model's state, its
 * parameters' gradients, every module's mode, and the optimizer's state. Dropout draws from a
 * private generator, so the global one (sn.manualSeed) is not advanced. Times are means per step
 * in milliseconds; `String(profile)` is a table.
 *
 * @example
 * ```js
 * console.log(String(sn.profile(model, sn.tensor(batch, [64, 1, 28, 28]), labels, { steps: 10 })));
 * ```
 */
export function profile(model: Module, x: Tensor, y: Target, options: ProfileOptions = {}): Profile {
  checkProfileOptions(model, options);
  checkTensor('profile', 'x', x, '[N, ...]');
  const steps = options.steps ?? 20, warmup = options.warmup ?? 5;
  // In training mode, as the steps run: a shape a training BatchNorm refuses is refused here.
  const restoreCheckFlags = saveTrainingFlags(model);
  try { model.train().outputShape(x.shape); } finally { restoreCheckFlags(); }
  // As fit chooses: class labels (an array, or an int64 Tensor) get cross-entropy.
  const lossFn = options.loss ?? (y instanceof Tensor && y.dtype === 'float32' ? new MSELoss() : new CrossEntropyLoss());
  const optimizer = options.optimizer ?? new Adam(model.parameters());
  // The model's state and the optimizer's (a caller's optimizer must not come back 25 steps on),
  // the gradients accumulated so far, every module's mode, and the global generator, which a
  // private one stands in for (the masks' values do not matter to the times).
  const guard = new StepGuard(model, optimizer);
  guard.save();
  const restoreGradients = saveGradients(model);
  const restoreFlags = saveTrainingFlags(model);
  const restoreGenerators = useGenerator(model, new Generator(0));
  const rows = new Map<string, LayerTime>(), clock = { timed: false };
  setProfiler(rowRecorder(rows, clock));
  let times: StepTimes;
  try {
    times = timeSteps(model, x, y, lossFn, optimizer, warmup, steps, clock);
  } finally {
    setProfiler(null);
    guard.restore();
    restoreGradients();
    restoreFlags();
    restoreGenerators();
    if (!options.optimizer) optimizer.dispose();
  }
  return profileOf(rows, times, x.shape[0], steps);
}

/** The times a profile's steps add up outside the layers' rows, in ms over the timed steps. */
interface StepTimes { inputMs: number; lossMs: number; optimizerMs: number }

/**
 * The profiler that adds each layer call's (and functional op's) times to its row of `rows` while
 * clock.timed says the step counts; a call fused into the row `into` (the ReLU after a BatchNorm or
 * a convolution) renames that row to name both.
 */
function rowRecorder(rows: Map<string, LayerTime>, clock: { timed: boolean }): Profiler {
  return {
    forward(row, path, what, ms, into) {
      const name = typeof what === 'string' ? what : layerTypeOf(what as Module) ?? what.constructor.name;
      let r = rows.get(row);
      if (!r && into != null && rows.has(into)) {
        // Fused with the call of row `into` (a BatchNorm before this ReLU): one row names both.
        r = rows.get(into)!;
        r.name = `${r.name}+${name}`;
        r.path = fusedPath(r.path, typeof what === 'string' ? `${path ? `${path}.` : ''}${what.replace(/^sn\./, '')}` : path);
        rows.set(row, r);
      }
      if (!r) rows.set(row, r = { name, path, forwardMs: 0, backwardMs: 0 });
      if (clock.timed) r.forwardMs += ms;
    },
    backward(row, ms) {
      const r = rows.get(row);
      if (r && clock.timed) r.backwardMs += ms;
    },
    deferredMs: 0,
  };
}

/**
 * `warmup` untimed then `steps` timed training steps (forward, loss, backward, optimizer step,
 * zeroGrad) on the batch x, y; the layers' times go to the profiler, the rest is returned.
 */
function timeSteps(model: Module, x: Tensor, y: Target, lossFn: Loss, optimizer: Optimizer, warmup: number, steps: number,
  clock: { timed: boolean }): StepTimes {
  // The batch goes into a block of the profile's own, re-issued each step as a layer's result is,
  // so the first layer takes it as it takes a copied host input in training (fit's batches): a
  // convolution or Linear whose output the activation after it writes (one fused row) as there,
  // its output put off and dropped, never read stale, if the block changed first.
  const input = new Block(x.size * 4);
  const host = x.toArray();
  const times: StepTimes = { inputMs: 0, lossMs: 0, optimizerMs: 0 };
  model.train();
  try {
    for (let s = 0; s < warmup + steps; s++) {
      const timed = clock.timed = s >= warmup;
      let t = performance.now();
      input.reissue(PROFILE_INPUT, 'copy of the batch');
      f32(input.ptr, x.size).set(host);
      const h = new Tensor(x.shape, input);
      let now = performance.now();
      if (timed) times.inputMs += now - t;
      const out = model.forward(h);
      t = performance.now();
      const loss = lossFn.forward(out, y);
      now = performance.now();
      if (timed) times.lossMs += now - t;
      loss.backward();
      t = performance.now();
      optimizer.step();
      optimizer.zeroGrad();
      if (timed) times.optimizerMs += performance.now() - t;
    }
  } finally {
    input.free();
  }
  return times;
}

/** The Profile of `steps` timed steps: each row's and each part's mean per step, and their sum. */
function profileOf(rows: Map<string, LayerTime>, times: StepTimes, batchSize: number, steps: number): Profile {
  const result: Profile = {
    batchSize, steps,
    layers: [...new Set(rows.values())].map((r) => ({ ...r, forwardMs: r.forwardMs / steps, backwardMs: r.backwardMs / steps })),
    inputMs: times.inputMs / steps,
    loss: { forwardMs: times.lossMs / steps, backwardMs: 0 },
    optimizerMs: times.optimizerMs / steps,
    stepMs: 0,
    toString() { return formatProfile(this); },
  };
  result.stepMs = result.inputMs + result.loss.forwardMs + result.optimizerMs +
    result.layers.reduce((s, l) => s + l.forwardMs + l.backwardMs, 0);
  return result;
}

/**
 * The path of a fused row: `a` then what of `b` differs from it, e.g. '1+2' in a Sequential,
 * 'layer1.0.bn1+relu' for layer1.0's sn.relu after its bn1.
 */
function fusedPath(a: string, b: string): string {
  const as = a.split('.'), bs = b.split('.');
  let common = 0;
  while (common < as.length - 1 && common < bs.length - 1 && as[common] === bs[common]) common++;
  return `${a}+${bs.slice(common).join('.')}`;
}

/**
 * Copies the gradients of the model's parameters (the optimizer holds no others: profile's checks
 * refuse one that does); the returned function writes them back, so profiling does not zero
 * gradients the caller had accumulated.
 */
function saveGradients(model: Module): () => void {
  const params = model.parameters();
  const grads = params.map((p) => p.grad.toArray());
  return () => params.forEach((p, i) => p.grad.view().set(grads[i]));
}

/**
 * A Profile as a text table: layer | forward ms | backward ms, then the input copy, the loss, the
 * optimizer step and the totals, under a line with the step time and images per second.
 */
export function formatProfile(p: Profile): string {
  const ms = (v: number) => v.toFixed(3);
  // Paths that are indexes (a Sequential's layers; '1+2' for a fused pair) right-aligned on their
  // first index, so that the names line up past layer 9.
  const width = Math.max(0, ...p.layers.map((l) => l.path.length));
  const indexes = p.layers.every((l) => /^\d+(\+\d+)*$/.test(l.path));
  const first = Math.max(0, ...p.layers.map((l) => /^\d*/.exec(l.path)![0].length));
  const where = (l: LayerTime) => (indexes ? l.path.replace(/^\d+/, (i) => i.padStart(first)) : l.path.padEnd(width));
  const rows: string[][] = p.layers.map((l) => [width ? `${where(l)} ${l.name}` : l.name, ms(l.forwardMs), ms(l.backwardMs)]);
  rows.push(['input copy', ms(p.inputMs), '']);
  rows.push(['loss (fused gradient)', ms(p.loss.forwardMs), '']);
  rows.push(['optimizer step', '', ms(p.optimizerMs)]);
  const fwd = p.inputMs + p.loss.forwardMs + p.layers.reduce((s, l) => s + l.forwardMs, 0);
  const bwd = p.optimizerMs + p.layers.reduce((s, l) => s + l.backwardMs, 0);
  const head = ['layer', 'forward ms', 'backward ms'];
  const total = ['total', ms(fwd), ms(bwd)];
  const w = [head, ...rows, total].reduce((m, r) => r.map((c, i) => Math.max(m[i], c.length)), [0, 0, 0]);
  const line = (r: string[]) => `${r[0].padEnd(w[0])} | ${r[1].padStart(w[1])} | ${r[2].padStart(w[2])}`;
  const rule = `${'-'.repeat(w[0])}-+-${'-'.repeat(w[1])}-+-${'-'.repeat(w[2])}`;
  return [
    `batch ${p.batchSize}, mean of ${p.steps} steps: ${ms(p.stepMs)} ms/step = ${Math.round(p.batchSize / p.stepMs * 1000).toLocaleString('en-US')} img/s`,
    line(head), rule, ...rows.map(line), rule, line(total),
  ].join('\n');
}
