// Keras-style training on top of the PyTorch-style pieces: fit (evaluate and predict are in evaluate.ts).
import { Module, sameShape } from '../module.js';
import { Tensor, formatShape, tensor } from '../tensor.js';
import { Loss } from '../losses/loss.js';
import { CrossEntropyLoss } from '../losses/cross-entropy.js';
import { MSELoss } from '../losses/mse.js';
import { NLLLoss } from '../losses/nll.js';
import { checkLabels } from '../losses/labels.js';
import { Optimizer } from '../optim/optimizer.js';
import { Adam } from '../optim/adam.js';
import type { LRScheduler } from '../optim/lr-scheduler.js';
import { Generator, checkSeed, nextU32 } from '../random.js';
import { namedModulesOf, saveTrainingFlags, useGenerator } from '../module-tree.js';
import { shuffle as permutation } from '../data/shuffle.js';
import { trainValidationSplit } from '../data/split.js';
import { gatherRows } from '../data/rows.js';
import type { BatchLogs, Callback, EpochLogs, FitContext, History } from './callbacks.js';
import { ProgressPrinter, ProgressStream } from './progress.js';
import { Data, Target, checkData, countCorrect } from './targets.js';
import { evaluate } from './evaluate.js';
import { StepGuard } from './step-guard.js';
import { WasmMemoryError } from '../runtime/heap.js';
import { checkFitOptions } from './fit-options.js';
export { evaluate, predict, predictClasses } from './evaluate.js';
export type { EvaluateOptions, PredictOptions } from './evaluate.js';

/** The options of fit() (and, with a file path allowed for `checkpoint`, of model.fit()). */
export interface FitOptions {
  /** Passes over the training rows. Default 1. */
  epochs?: number;
  /** Rows per training step. Default 32; larger than the data means one batch of all rows; the last batch may be smaller. */
  batchSize?: number;
  /** Default: Adam(model.parameters(), { lr: 1e-3 }). */
  optimizer?: Optimizer;
  /** Default: CrossEntropyLoss for class labels, MSELoss for a Tensor target. */
  loss?: Loss;
  /** Stepped once at the end of every epoch; it must schedule `optimizer`. */
  scheduler?: LRScheduler;
  /**
   * Fraction of the rows held out for validation, in (0, 1): drawn at random (from the fit's
   * generator), stratified by class for labels, and the same for every epoch. Default 0 (none).
   */
  validationSplit?: number;
  /** Validation rows given apart: [x, y] as fit's own (not with validationSplit). */
  validationData?: [Tensor, Target];
  /** Shuffle the training rows every epoch; default true. */
  shuffle?: boolean;
  /**
   * Seeds this fit's own generator, which draws the validation split, the shuffles and the
   * Dropout masks, so the fit repeats. Any safe integer; only its value modulo 2^32 is used.
   * Without it the seed is drawn from the global generator (sn.manualSeed). The global
   * generator is not reseeded: weight init after fit does not depend on this seed.
   */
  seed?: number;
  /** Hooks called during training (onEpochEnd, ...), e.g. sn.earlyStopping(); awaited when they return a Promise. */
  callbacks?: Callback | Callback[];
  /** Stops cleanly after the current batch. */
  signal?: AbortSignal;
  /**
   * Progress output: 'auto' (default) and 1 print to `progressStream`, else to process.stdout in
   * Node (a live bar in a terminal, one line per epoch otherwise; nothing in a browser); 0 is silent.
   */
  verbose?: 'auto' | 0 | 1;
  /** Where progress goes when printed; default process.stdout. */
  progressStream?: ProgressStream;
  /** Called (and awaited) after each epoch with its number, from 1, e.g. to save a checkpoint. */
  checkpoint?: (epoch: number) => void | Promise<void>;
}

const DIVERGED = ' (training diverged: a lower learning rate, or checking the data for extreme values, may help)';

/** What fit() resolves to: the per-epoch history, and why training ended. */
export interface FitHistory extends History {
  /** Why training ended before `epochs`: 'abort', 'callback', or null when it ran to the end. */
  stopReason: 'abort' | 'callback' | null;
}

/**
 * Trains `model` on x and y with mini-batches, Keras-style: each epoch shuffles the training rows,
 * and each batch runs forward, the loss, backward and an optimizer step; then the held-out rows
 * are evaluated, the scheduler steps and the callbacks run. Progress is printed in a terminal.
 * Every input, label, option and batch size is checked before the first step. Resolves to the
 * history: per-epoch `loss`, `accuracy`, `valLoss`, `valAccuracy`, `lr`, every `batchLoss`.
 *
 * Randomness: the fit draws its validation split, its shuffles and its Dropout masks from a
 * generator of its own, seeded with `options.seed` or, without one, with a seed drawn from the
 * global generator (so `sn.manualSeed(n)` before fit repeats it too). Two fits running at once
 * on different models therefore give the same results as run one after the other; a second fit
 * of a model (or of a layer) that a running fit is training is refused.
 *
 * Modes: a model in eval mode is put in training mode as a whole; a model already in training
 * mode keeps the modes of its submodules (a BatchNorm put in eval stays frozen), and each epoch
 * starts from them again after its validation. A fit that completes (or that a callback stops)
 * leaves the model in eval mode, ready for inference; a fit that throws or is aborted puts every
 * module's training flag back as it found it. A failed step is undone (see the Error); a step
 * refused for memory is tried once more after yielding to the event loop.
 *
 * @param model The model (any Module; a Sequential also has model.fit()).
 * @param x The inputs, N samples: [N, ...] as the model takes them (e.g. [N, 1, 28, 28]).
 * @param y N class labels (Int32Array, BigInt64Array, an array of integers, an int64 Tensor) for
 *   CrossEntropyLoss, or a float32 Tensor target [N, ...] matching the output (MSELoss).
 * @param options See {@link FitOptions}: default 1 epoch, batch size 32, Adam with lr 1e-3,
 *   CrossEntropyLoss for labels and MSELoss for a Tensor target, no validation.
 *
 * @example
 * ```js
 * const optimizer = new sn.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * const history = await sn.fit(model, x, labels, {
 *   epochs: 20, batchSize: 64, optimizer, validationSplit: 0.1, seed: 0,
 *   scheduler: new sn.StepLR(optimizer, { stepSize: 5, gamma: 0.5 }),
 *   callbacks: [sn.earlyStopping({ monitor: 'valLoss', patience: 3 })],
 * });
 * console.log(history.valAccuracy.at(-1), history.stopReason);
 * ```
 */
export async function fit(model: Module, x: Tensor, y: Target, options: FitOptions = {}): Promise<FitHistory> {
  checkFitOptions(model, options);
  const data = checkData('fit', x, y);
  const epochs = options.epochs ?? 1;
  const batchSize = options.batchSize ?? 32;
  if (options.validationSplit !== undefined && options.validationData) throw new Error('fit: give validationSplit or validationData, not both');
  const seed = options.seed === undefined ? undefined : checkSeed(options.seed, 'fit');

  // The split's sizes are known before its rows are drawn: every check below runs before
  // anything (the global generator included) has changed.
  const split = options.validationSplit ?? 0;
  if (split !== 0 && !(split > 0 && split < 1)) throw new Error(`fit: validationSplit must be in (0, 1), got ${split}`);
  const valCount = Math.round(split * data.n);
  if (split !== 0 && (valCount === 0 || valCount === data.n)) {
    throw new Error(`fit: validationSplit ${split} of ${data.n} rows leaves an empty training or validation set`);
  }

  // Refused before the checks below, which switch the model's mode for a moment.
  const release = claimForTraining(model);
  try {
    const lossFn = options.loss ?? (data.labels ? new CrossEntropyLoss() : new MSELoss());
    // What a later batch, or the validation at the end of an epoch, would refuse is refused now,
    // before the first step has changed the model.
    checkSet('fit', model, data, lossFn, batchSizes(data.n - valCount, batchSize), true);
    if (options.validationData) {
      const [vx, vy] = options.validationData;
      const v = checkData('fit: validationData', vx, vy);
      if (!v.labels !== !data.labels) {
        throw new Error(`fit: validationData has ${v.labels ? 'class labels' : 'a Tensor target'}, but y ${data.labels ? 'has class labels' : 'is a Tensor target'}`);
      }
      checkSet('fit: validationData', model, v, lossFn, batchSizes(v.n, Math.max(batchSize, 256)), false);
    }
    const restoreFlags = saveTrainingFlags(model);
    const rng = new Generator(seed ?? nextU32());
    const restoreGenerators = useGenerator(model, rng);
    // Aborted, the caller cancelled: the modes are left as they were found.
    const endModes = (aborted: boolean) => { if (aborted) restoreFlags(); else model.eval(); };
    try {
      return await train(model, data, lossFn, options, { epochs, batchSize, split, rng, endModes });
    } catch (err) {
      restoreFlags();
      throw err;
    } finally {
      restoreGenerators();
    }
  } finally {
    release();
  }
}

/** What fit has settled before training: checked sizes, the fit's generator, and how the modes end. */
interface Run {
  epochs: number;
  batchSize: number;
  /** The validation fraction; 0 for none. */
  split: number;
  rng: Generator;
  /** Sets the modes training ends with (before onTrainEnd, so callbacks see them). */
  endModes(aborted: boolean): void;
}

/** The epochs themselves, for fit, which has checked every argument. */
async function train(model: Module, data: Data, lossFn: Loss, options: FitOptions, run: Run): Promise<FitHistory> {
  const { epochs, batchSize, rng } = run;
  let trainRows: Int32Array = Int32Array.from({ length: data.n }, (_, i) => i), valRows: Int32Array | null = null;
  if (run.split !== 0) ({ train: trainRows, validation: valRows } = splitRows(data, run.split, rng));

  const optimizer = options.optimizer ?? new Adam(model.parameters(), { lr: 1e-3 });
  const history: FitHistory = { epoch: [], loss: [], accuracy: [], valLoss: [], valAccuracy: [], lr: [], batchLoss: [], stopReason: null };
  let stopRequested = false;
  const ctx: FitContext = {
    model, optimizer, history,
    stop() { stopRequested = true; },
    get stopped() { return stopRequested; },
  };
  const loop: Loop = {
    ctx, history, options, data, batchSize, rng,
    callbacks: options.callbacks === undefined ? [] : Array.isArray(options.callbacks) ? options.callbacks : [options.callbacks],
    printer: progressPrinter(options, epochs),
    batches: new BatchBuffers(data, Math.min(batchSize, trainRows.length)),
    step: { model, lossFn, optimizer, guard: new StepGuard(model, optimizer), rng, labels: data.labels !== null, position: new Uint32Array(4) },
    lastYield: performance.now(),
  };
  // Gathered once: the held-out rows are the same every epoch.
  const validation = valRows ? { x: rowsTensor(data, valRows), y: rowsTarget(data, valRows) }
    : options.validationData ? { x: options.validationData[0], y: options.validationData[1] } : null;

  // A model in eval mode trains as a whole; one in training mode keeps its submodules' modes (a
  // BatchNorm put in eval stays frozen), and every epoch starts from them again after validation.
  if (!model.training) model.train();
  const trainingModes = saveTrainingFlags(model);
  for (const cb of loop.callbacks) await cb.onTrainBegin?.(ctx);
  for (let epoch = 1; epoch <= epochs && !ctx.stopped; epoch++) {
    for (const cb of loop.callbacks) await cb.onEpochBegin?.(epoch, ctx);
    trainingModes();
    const logs = await trainEpoch(loop, epoch, trainRows);
    if (logs === null) break;
    if (validation && history.stopReason !== 'abort') {
      const v = evaluate(model, validation.x, validation.y, { batchSize: Math.max(batchSize, 256), loss: lossFn });
      logs.valLoss = v.loss;
      if (v.accuracy !== undefined) logs.valAccuracy = v.accuracy;
    }
    recordEpoch(history, logs);
    loop.printer?.epochEnd(logs, Math.ceil(trainRows.length / batchSize));
    options.scheduler?.step();
    for (const cb of loop.callbacks) await cb.onEpochEnd?.(logs, ctx);
    await options.checkpoint?.(epoch);
    if (ctx.stopped && history.stopReason === null) history.stopReason = 'callback';
  }
  run.endModes(history.stopReason === 'abort');
  for (const cb of loop.callbacks) await cb.onTrainEnd?.(history, ctx);
  return history;
}

/** What the epochs of one fit share. */
interface Loop {
  ctx: FitContext;
  history: FitHistory;
  options: FitOptions;
  data: Data;
  batchSize: number;
  rng: Generator;
  callbacks: Callback[];
  printer: ProgressPrinter | null;
  batches: BatchBuffers;
  step: StepParts;
  /** When fit last let the event loop run (it yields every 50 ms, so a page stays responsive). */
  lastYield: number;
}

/**
 * One epoch over `rows` (shuffled unless options.shuffle is false): every batch a guarded step,
 * with the batch callbacks and progress. Its logs without validation, or null when no batch ran
 * (an abort before the first).
 */
async function trainEpoch(loop: Loop, epoch: number, rows: Int32Array): Promise<EpochLogs | null> {
  const { ctx, history, options, batchSize } = loop;
  loop.printer?.epochBegin();
  const order = options.shuffle === false ? rows : shuffled(rows, loop.rng);
  const batches = Math.ceil(rows.length / batchSize);
  const start = performance.now();
  const lr = ctx.optimizer.lr;
  let lossSum = 0, correct = 0, seen = 0;
  for (let b = 0; b < batches; b++) {
    // Checked before each batch, so an already-aborted signal runs none, and an abort
    // during a batch (or a callback) ends training once that batch is done.
    if (options.signal?.aborted) { history.stopReason = 'abort'; ctx.stop(); break; }
    const { input, target, size: m } = loop.batches.gather(order.subarray(b * batchSize, Math.min((b + 1) * batchSize, order.length)));
    const { loss, batchCorrect } = await guardedStep(loop.step, input, target, `epoch ${epoch}, batch ${b + 1}`);
    lossSum += loss * m; seen += m;
    if (batchCorrect !== null) correct += batchCorrect;
    history.batchLoss.push(loss);
    const logs: BatchLogs = { epoch, batch: b, batches, size: m, loss };
    if (batchCorrect !== null) logs.accuracy = batchCorrect / m;
    loop.printer?.batch(logs, batchCorrect);
    for (const cb of loop.callbacks) await cb.onBatchEnd?.(logs, ctx);
    if (ctx.stopped) break;
    if (performance.now() - loop.lastYield > 50) { await yieldToEventLoop(); loop.lastYield = performance.now(); }
  }
  if (seen === 0) return null;
  const seconds = (performance.now() - start) / 1000;
  const logs: EpochLogs = { epoch, loss: lossSum / seen, lr, seconds, imagesPerSecond: seen / seconds };
  if (loop.data.labels) logs.accuracy = correct / seen;
  return logs;
}

/** Appends an epoch's logs to the history. */
function recordEpoch(history: FitHistory, logs: EpochLogs): void {
  history.epoch.push(logs.epoch); history.loss.push(logs.loss); history.lr.push(logs.lr);
  if (logs.accuracy !== undefined) history.accuracy.push(logs.accuracy);
  if (logs.valLoss !== undefined) history.valLoss.push(logs.valLoss);
  if (logs.valAccuracy !== undefined) history.valAccuracy.push(logs.valAccuracy);
}

/**
 * The batch buffers, made once for the largest batch: a step gathers rows into them and allocates
 * nothing else of size. A batch size beyond the data means one batch of all rows, as in Keras
 * and PyTorch, so they are sized by the smaller of the two.
 */
class BatchBuffers {
  private readonly x: Float32Array;
  private readonly labels: Int32Array | null;
  private readonly targets: Float32Array | null;

  constructor(private readonly data: Data, rows: number) {
    this.x = new Float32Array(rows * data.rowSize);
    this.labels = data.labels ? new Int32Array(rows) : null;
    this.targets = data.targets ? new Float32Array(rows * data.targetRowSize) : null;
  }

  /** The batch of these rows: input [m, ...rowShape] and its labels or target tensor. */
  gather(rows: Int32Array): { input: Tensor; target: Int32Array | Tensor; size: number } {
    const { data } = this, m = rows.length;
    gatherRows(data.x, data.rowSize, rows, this.x);
    const input = tensor(this.x.subarray(0, m * data.rowSize), [m, ...data.rowShape]);
    if (this.labels) {
      gatherRows(data.labels!, 1, rows, this.labels);
      return { input, target: this.labels.subarray(0, m), size: m };
    }
    gatherRows(data.targets!, data.targetRowSize, rows, this.targets!);
    return { input, target: tensor(this.targets!.subarray(0, m * data.targetRowSize), [m, ...data.targetShape]), size: m };
  }
}

/** What a training step works with, settled once per fit. */
interface StepParts {
  model: Module;
  lossFn: Loss;
  optimizer: Optimizer;
  guard: StepGuard;
  rng: Generator;
  /** Whether the targets are class labels (then the step counts correct predictions). */
  labels: boolean;
  /** Where the generator stood before the step (reused: a step allocates nothing of size). */
  position: Uint32Array;
}

/**
 * One training step (forward, loss, backward, optimizer step) that either completes or leaves
 * the model, the optimizer and the fit's generator as they were, throwing an Error that names
 * `where`. A step refused for memory (WasmMemoryError) is tried once more after yielding to the
 * event loop: memory of models dropped without dispose() comes back only through finalizers,
 * which run between tasks, after a garbage collection. The retry draws the same random numbers.
 */
async function guardedStep(parts: StepParts, input: Tensor, target: Int32Array | Tensor, where: string):
  Promise<{ loss: number; batchCorrect: number | null }> {
  const { model, lossFn, optimizer, guard, rng } = parts;
  const position = rng.saveState(parts.position);
  for (let attempt = 1; ; attempt++) {
    guard.save();
    try {
      const out = model.forward(input);
      const loss = lossFn.forward(out, target);
      if (!Number.isFinite(loss.value)) throw new Error(`the loss is ${loss.value}${DIVERGED}`);
      const batchCorrect = parts.labels ? countCorrect(out, target as Int32Array) : null;
      // Through the model's graph, without the first layer's input gradient that nothing here uses.
      loss.backwardThrough(false);
      optimizer.step();
      if (!guard.finite()) throw new Error(`the step made some weights NaN or infinite${DIVERGED}`);
      optimizer.zeroGrad();
      return { loss: loss.value, batchCorrect };
    } catch (err) {
      guard.restore();
      optimizer.zeroGrad();
      rng.restoreState(position);
      if (err instanceof WasmMemoryError && attempt === 1) { await yieldToEventLoop(); continue; }
      const message = `fit: ${where}: ${(err as Error).message}; training stopped and the weights are those from before this step`;
      throw err instanceof WasmMemoryError ? new WasmMemoryError(message, err.bytesRequested, err.bytesInUse) : new Error(message, { cause: err });
    }
  }
}

// ---- helpers ----

/** The distinct sizes of the batches that cut n rows: the full one and a smaller last one. */
function batchSizes(n: number, batchSize: number): number[] {
  const full = Math.min(batchSize, n), last = n % batchSize;
  return last > 0 && last !== full ? [full, last] : [full];
}

/**
 * Throws unless every batch of `data` can go through the model and the loss: finite inputs and
 * targets, an input shape the model takes for every batch size (in the mode it will run in:
 * training-mode BatchNorm refuses a batch of one), targets of the output's shape, and class
 * labels in range for the output's class count.
 */
function checkSet(where: string, model: Module, data: Data, lossFn: Loss, sizes: number[], training: boolean): void {
  checkFinite(where, 'x', data.x, data.rowSize);
  if (data.targets) checkFinite(where, 'y', data.targets, data.targetRowSize);
  const restoreFlags = saveTrainingFlags(model);
  model.train(training);
  let out: number[] = [];
  try {
    for (const m of sizes) {
      try {
        out = model.outputShape([m, ...data.rowShape]);
      } catch (err) {
        throw new Error(`${where}: a batch of ${m}: ${(err as Error).message}`);
      }
      if (data.targets && !sameShape(out, [m, ...data.targetShape])) {
        throw new Error(`${where}: the model outputs ${formatShape(out)} for a batch of ${m}, the targets of that batch have shape ${formatShape([m, ...data.targetShape])}`);
      }
    }
  } finally {
    restoreFlags();
  }
  if (data.labels && (lossFn instanceof CrossEntropyLoss || lossFn instanceof NLLLoss)) {
    checkLabels(`${where}: ${lossFn}`, [data.n, ...out.slice(1)], data.labels, lossFn.ignoreIndex);
  }
}

function checkFinite(where: string, name: string, values: Float32Array, rowSize: number): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new Error(`${where}: ${name} holds ${values[i]} in sample ${Math.floor(i / rowSize)}; every value must be finite`);
  }
}


function rowsTensor(data: Data, rows: Int32Array): Tensor {
  const out = new Float32Array(rows.length * data.rowSize);
  gatherRows(data.x, data.rowSize, rows, out);
  return tensor(out, [rows.length, ...data.rowShape]);
}

function rowsTarget(data: Data, rows: Int32Array): Target {
  if (data.labels) { const out = new Int32Array(rows.length); gatherRows(data.labels, 1, rows, out); return out; }
  const out = new Float32Array(rows.length * data.targetRowSize);
  gatherRows(data.targets!, data.targetRowSize, rows, out);
  return tensor(out, [rows.length, ...data.targetShape]);
}

/** Held-out rows drawn from the fit's generator: stratified by class for labels. */
function splitRows(data: Data, split: number, rng: Generator): { train: Int32Array; validation: Int32Array } {
  if (data.labels) return trainValidationSplit(data.labels, split, { seed: rng.nextU32() });
  const order = permutation(data.n, rng.nextU32());
  const k = Math.round(split * data.n);
  return { validation: order.slice(0, k), train: order.slice(k) };
}

function shuffled(rows: Int32Array, rng: Generator): Int32Array {
  const order = permutation(rows.length, rng.nextU32());
  const out = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = rows[order[i]];
  return out;
}

/** Modules that a running fit() is training, each mapped to the model that fit was given. */
const inTraining = new WeakMap<Module, Module>();

/**
 * Marks the model and every module in it as being trained, or throws when a running fit already
 * trains one of them: two fits stepping the same weights would interleave their steps (and share
 * the layers' activation buffers) in an order that depends on timing. Returns the release.
 */
function claimForTraining(model: Module): () => void {
  const named = namedModulesOf(model);
  for (const [path, m] of named) {
    const owner = inTraining.get(m);
    if (owner === undefined) continue;
    const what = path === '' ? (owner === model ? 'this model is' : 'this model is part of a model that is')
      : `layer ${path} (${m.label()}) is`;
    throw new Error(`fit: ${what} already being trained by another fit() that has not finished; ` +
      'await that one before starting another (two fits would interleave their steps on the same weights)');
  }
  for (const [, m] of named) inTraining.set(m, model);
  return () => { for (const [, m] of named) inTraining.delete(m); };
}

function progressPrinter(options: FitOptions, epochs: number): ProgressPrinter | null {
  const verbose = options.verbose ?? 'auto';
  if (verbose === 0) return null;
  const stream = options.progressStream ?? (globalThis as { process?: { stdout?: ProgressStream } }).process?.stdout;
  return stream ? new ProgressPrinter(stream, epochs) : null;
}

function yieldToEventLoop(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => void }).setImmediate;
  return new Promise((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));
}
