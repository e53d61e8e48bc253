// Keras-style training on top of the PyTorch-style pieces: fit (evaluate and predict are in evaluate.ts).
import { Module } from '../module.js';
import { Tensor } from '../tensor.js';
import { Loss } from '../losses/loss.js';
import { CrossEntropyLoss } from '../losses/cross-entropy.js';
import { MSELoss } from '../losses/mse.js';
import { Optimizer } from '../optim/optimizer.js';
import { Adam } from '../optim/adam.js';
import type { LRScheduler } from '../optim/lr-scheduler.js';
import { Generator, checkSeed, nextU32, saveGlobalGenerator } from '../random.js';
import { namedModulesOf, saveTrainingFlags, useGenerator } from '../module-tree.js';
import { Dataset } from '../data/dataset.js';
import { Transform, asTransform } from '../transforms/transform.js';
import type { BatchLogs, Callback, EpochLogs, FitContext, History } from './callbacks.js';
import { ProgressPrinter, ProgressStream } from './progress.js';
import { Target, checkData, countCorrect } from './targets.js';
import { StepGuard } from './step-guard.js';
import { WasmMemoryError } from '../runtime/heap.js';
import { checkFitOptions, optionsAfterDataset } from './fit-options.js';
import {
  DatasetSet, DatasetValidation, RowSet, TensorValidation, TrainingSet, ValidationSet,
  augmenterFor, batchSizes, checkSet, splitRows,
} from './fit-data.js';
export { evaluate, predict, predictClasses } from './evaluate.js';
export type { EvaluateOptions, PredictOptions } from './evaluate.js';

/** The options of fit() (and, with a file path allowed for `checkpoint`, of model.fit()). */
export interface FitOptions {
  /** Passes over the training rows. Default 1. */
  epochs?: number;
  /**
   * Rows per training step. Default 32; larger than the data means one batch of all rows; the last
   * batch may be smaller. Not with a dataset, whose batch(n) sets it.
   */
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
   * Not with a dataset.
   */
  validationSplit?: number;
  /**
   * Validation data given apart (not with validationSplit): [x, y] as fit's own, or a Dataset of
   * batches, read again after every epoch. Never augmented by `transforms`.
   */
  validationData?: [Tensor, Target] | Dataset;
  /** Shuffle the training rows every epoch; default true. Not with a dataset (use its shuffle()). */
  shuffle?: boolean;
  /**
   * Augmentation of the training batches (not of validation data), e.g.
   * `[sn.transforms.randomCrop(32, { padding: 4 }), sn.transforms.randomHorizontalFlip()]`: a
   * transform or a list of them, applied in order to every batch before its step, drawing from
   * this fit's generator into buffers made once. The model sees the transformed shape.
   */
  transforms?: Transform | readonly Transform[];
  /**
   * Seeds this fit's own generator, which draws the validation split, the shuffles (a dataset's
   * too), the transforms and the Dropout masks, so the fit repeats. Any safe integer; only its
   * value modulo 2^32 is used. Without it the seed is drawn from the global generator
   * (sn.manualSeed). The global generator is not reseeded: weight init after fit does not depend
   * on this seed.
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
export async function fit(model: Module, x: Tensor, y: Target, options?: FitOptions): Promise<FitHistory>;
/**
 * Trains `model` on the batches of a dataset ({@link Dataset}: e.g. a file streamed from disk,
 * shuffled and batched), as fit(model, x, y) does on tensors: the same callbacks, progress, abort,
 * step guard, transforms and generator (which also draws the dataset's shuffles). Each epoch is a
 * pass over the dataset. The first batch is read and checked through the model and the loss
 * before any step (and the first batch of a validation dataset too); each later batch is checked
 * as it arrives, before its step, and a bad one stops training with an Error naming its epoch and
 * batch. The loss defaults by the first batch's y (labels: CrossEntropyLoss; a Tensor: MSELoss).
 *
 * @param model The model (any Module).
 * @param data A dataset of batches ({@link Dataset.batch}).
 * @param options As for tensors, without batchSize (the dataset's), validationSplit and shuffle
 *   (use the dataset's shuffle()); validationData may be another dataset.
 *
 * @example
 * ```js
 * const train = (await sn.data.cifar10Dataset('cifar-10-batches-bin')).shuffle(10000).batch(128);
 * const test = (await sn.data.cifar10Dataset('cifar-10-batches-bin', { split: 'test' })).batch(500);
 * const history = await sn.fit(model, train, { epochs: 30, validationData: test, seed: 0,
 *   transforms: [sn.transforms.randomCrop(32, { padding: 4 }), sn.transforms.randomHorizontalFlip()] });
 * ```
 */
export async function fit(model: Module, data: Dataset, options?: FitOptions): Promise<FitHistory>;
export async function fit(model: Module, x: Tensor | Dataset, y?: Target | FitOptions, options?: FitOptions): Promise<FitHistory> {
  if (x instanceof Dataset) return fitDataset(model, x, optionsAfterDataset('fit', y, options) as FitOptions | undefined);
  if (options === undefined) options = {};
  checkFitOptions(model, options);
  const data = checkData('fit', x, y as Target);
  const epochs = options.epochs ?? 1;
  const batchSize = options.batchSize ?? 32;
  if (options.validationSplit !== undefined && options.validationData) throw new Error('fit: give validationSplit or validationData, not both');
  const seed = options.seed === undefined ? undefined : checkSeed(options.seed, 'fit');
  const transform = options.transforms === undefined ? null : asTransform('fit', options.transforms);

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
  let validation: ValidationSet | null = null;
  try {
    const lossFn = options.loss ?? (data.labels ? new CrossEntropyLoss() : new MSELoss());
    const trainCount = data.n - valCount, rows = Math.min(batchSize, trainCount);
    const augmenter = augmenterFor('fit', transform, data.rowShape, rows);
    // What a later batch, or the validation at the end of an epoch, would refuse is refused now,
    // before the first step has changed the model.
    checkSet('fit', model, data, lossFn, batchSizes(trainCount, batchSize), true, augmenter?.outputShape ?? data.rowShape);
    const valBatch = Math.max(batchSize, 256);
    const vd = options.validationData;
    if (Array.isArray(vd)) validation = checkTensorValidation(model, vd, lossFn, data.labels !== null, valBatch);
    const restoreGlobal = saveGlobalGenerator();
    const rng = new Generator(seed ?? nextU32());
    if (vd instanceof Dataset) {
      try {
        validation = await DatasetValidation.open(model, vd, lossFn, data.labels !== null, rng);
      } catch (err) {
        restoreGlobal();
        throw err;
      }
    }
    return await runFit(model, options, lossFn, epochs, rng, () => {
      // Drawn from the fit's generator once training starts, as before transforms and datasets came.
      let trainRows: Int32Array = Int32Array.from({ length: data.n }, (_, i) => i);
      if (split !== 0) {
        const parts = splitRows(data, split, rng);
        trainRows = parts.train;
        validation = TensorValidation.fromRows(data, parts.validation, valBatch);
      }
      return { set: new RowSet(data, trainRows, batchSize, options.shuffle !== false, augmenter, rng), validation };
    });
  } finally {
    await validation?.close();
    release();
  }
}

/** fit(model, dataset, options): the options checked, the first batches read and checked, then the epochs. */
async function fitDataset(model: Module, dataset: Dataset, options: FitOptions = {}): Promise<FitHistory> {
  checkFitOptions(model, options);
  for (const [key, instead] of [['batchSize', 'the dataset\'s batch(n) sets it'], ['validationSplit', 'give validationData, another dataset'],
    ['shuffle', 'use the dataset\'s shuffle(bufferSize)']] as const) {
    if (options[key] !== undefined) throw new Error(`fit: ${key} is not an option with a dataset (${instead})`);
  }
  if (!dataset.batched) throw new Error('fit: the dataset yields samples, not batches; batch it first (e.g. dataset.batch(32))');
  const epochs = options.epochs ?? 1;
  const seed = options.seed === undefined ? undefined : checkSeed(options.seed, 'fit');
  const transform = options.transforms === undefined ? null : asTransform('fit', options.transforms);

  const release = claimForTraining(model);
  let set: TrainingSet | null = null, validation: ValidationSet | null = null;
  try {
    // Reading the first batches draws the fit's seed (and the datasets' shuffles) first: on an
    // Error before training, the global generator is put back as it was.
    const restoreGlobal = saveGlobalGenerator();
    const rng = new Generator(seed ?? nextU32());
    let lossFn: Loss;
    try {
      const opened = await DatasetSet.open(model, dataset, options.loss ?? null, transform, rng);
      set = opened.set;
      lossFn = opened.lossFn;
      const vd = options.validationData;
      if (vd instanceof Dataset) validation = await DatasetValidation.open(model, vd, lossFn, set.labels, rng);
      else if (vd) validation = checkTensorValidation(model, vd, lossFn, set.labels, 256);
    } catch (err) {
      restoreGlobal();
      throw err;
    }
    return await runFit(model, options, lossFn, epochs, rng, () => ({ set: set!, validation }));
  } finally {
    await set?.close();
    await validation?.close();
    release();
  }
}

/** Checks validation tensors [x, y] against the training data's kind, in eval mode. */
function checkTensorValidation(model: Module, [vx, vy]: [Tensor, Target], lossFn: Loss, labels: boolean, batchSize: number): ValidationSet {
  const v = checkData('fit: validationData', vx, vy);
  if (!v.labels !== !labels) {
    throw new Error(`fit: validationData has ${v.labels ? 'class labels' : 'a Tensor target'}, but y ${labels ? 'has class labels' : 'is a Tensor target'}`);
  }
  checkSet('fit: validationData', model, v, lossFn, batchSizes(v.n, batchSize), false, v.rowShape);
  return new TensorValidation(vx, vy, batchSize);
}

/**
 * Trains with the fit's generator put into the model's random layers, its modes saved: what fit
 * and fitDataset share once every check has passed. `sets` makes the training and validation
 * sets (drawing from the generator, for a split) once the generator is in place.
 */
async function runFit(model: Module, options: FitOptions, lossFn: Loss, epochs: number, rng: Generator,
  sets: () => { set: TrainingSet; validation: ValidationSet | null }): Promise<FitHistory> {
  const restoreFlags = saveTrainingFlags(model);
  const restoreGenerators = useGenerator(model, rng);
  // Aborted, the caller cancelled: the modes are left as they were found.
  const endModes = (aborted: boolean) => { if (aborted) restoreFlags(); else model.eval(); };
  try {
    const { set, validation } = sets();
    return await train(model, set, validation, lossFn, options, { epochs, rng, endModes });
  } catch (err) {
    restoreFlags();
    throw err;
  } finally {
    restoreGenerators();
  }
}

/** What fit has settled before training: checked sizes, the fit's generator, and how the modes end. */
interface Run {
  epochs: number;
  rng: Generator;
  /** Sets the modes training ends with (before onTrainEnd, so callbacks see them). */
  endModes(aborted: boolean): void;
}

/** The epochs themselves, for fit, which has checked every argument. */
async function train(model: Module, set: TrainingSet, validation: ValidationSet | null, lossFn: Loss, options: FitOptions, run: Run): Promise<FitHistory> {
  const { epochs, rng } = run;
  const optimizer = options.optimizer ?? new Adam(model.parameters(), { lr: 1e-3 });
  const history: FitHistory = { epoch: [], loss: [], accuracy: [], valLoss: [], valAccuracy: [], lr: [], batchLoss: [], stopReason: null };
  let stopRequested = false;
  const ctx: FitContext = {
    model, optimizer, history,
    stop() { stopRequested = true; },
    get stopped() { return stopRequested; },
  };
  const loop: Loop = {
    ctx, history, options, set,
    callbacks: options.callbacks === undefined ? [] : Array.isArray(options.callbacks) ? options.callbacks : [options.callbacks],
    printer: progressPrinter(options, epochs),
    step: { model, lossFn, optimizer, guard: new StepGuard(model, optimizer), rng, labels: set.labels, position: new Uint32Array(4) },
    lastYield: performance.now(),
  };

  // A model in eval mode trains as a whole; one in training mode keeps its submodules' modes (a
  // BatchNorm put in eval stays frozen), and every epoch starts from them again after validation.
  if (!model.training) model.train();
  const trainingModes = saveTrainingFlags(model);
  for (const cb of loop.callbacks) await cb.onTrainBegin?.(ctx);
  for (let epoch = 1; epoch <= epochs && !ctx.stopped; epoch++) {
    for (const cb of loop.callbacks) await cb.onEpochBegin?.(epoch, ctx);
    trainingModes();
    const result = await trainEpoch(loop, epoch);
    if (result === null) break;
    const { logs, batches } = result;
    if (validation && history.stopReason !== 'abort') {
      const v = await validation.evaluate(model, lossFn, epoch);
      logs.valLoss = v.loss;
      if (v.accuracy !== undefined) logs.valAccuracy = v.accuracy;
    }
    recordEpoch(history, logs);
    loop.printer?.epochEnd(logs, batches);
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
  set: TrainingSet;
  callbacks: Callback[];
  printer: ProgressPrinter | null;
  step: StepParts;
  /** When fit last let the event loop run (it yields every 50 ms, so a page stays responsive). */
  lastYield: number;
}

/**
 * One epoch over the training set (its rows shuffled unless options.shuffle is false, or a pass
 * over its dataset): every batch a guarded step, with the batch callbacks and progress. Its logs
 * without validation and the batches run, or null when no batch ran (an abort before the first).
 */
async function trainEpoch(loop: Loop, epoch: number): Promise<{ logs: EpochLogs; batches: number } | null> {
  const { ctx, history, options, set } = loop;
  loop.printer?.epochBegin();
  const batches = set.epoch(epoch);
  const start = performance.now();
  const lr = ctx.optimizer.lr;
  let lossSum = 0, correct = 0, seen = 0, b = 0;
  try {
    for (; ; b++) {
      // Checked before each batch, so an already-aborted signal runs none, and an abort
      // during a batch (or a callback) ends training once that batch is done.
      if (options.signal?.aborted) { history.stopReason = 'abort'; ctx.stop(); break; }
      const batch = await batches.next();
      if (batch === null) break;
      const { input, target, size: m } = batch;
      const { loss, batchCorrect } = await guardedStep(loop.step, input, target, `epoch ${epoch}, batch ${b + 1}`);
      lossSum += loss * m; seen += m;
      if (batchCorrect !== null) correct += batchCorrect;
      history.batchLoss.push(loss);
      const logs: BatchLogs = { epoch, batch: b, batches: set.batches, size: m, loss };
      if (batchCorrect !== null) logs.accuracy = batchCorrect / m;
      loop.printer?.batch(logs, batchCorrect);
      for (const cb of loop.callbacks) await cb.onBatchEnd?.(logs, ctx);
      if (ctx.stopped) { b++; break; }
      if (performance.now() - loop.lastYield > 50) { await yieldToEventLoop(); loop.lastYield = performance.now(); }
    }
  } finally {
    await batches.close();
  }
  if (seen === 0) return null;
  const seconds = (performance.now() - start) / 1000;
  const logs: EpochLogs = { epoch, loss: lossSum / seen, lr, seconds, imagesPerSecond: seen / seconds };
  if (set.labels) logs.accuracy = correct / seen;
  return { logs, batches: Number.isFinite(set.batches) ? set.batches : b };
}

/** Appends an epoch's logs to the history. */
function recordEpoch(history: FitHistory, logs: EpochLogs): void {
  history.epoch.push(logs.epoch); history.loss.push(logs.loss); history.lr.push(logs.lr);
  if (logs.accuracy !== undefined) history.accuracy.push(logs.accuracy);
  if (logs.valLoss !== undefined) history.valLoss.push(logs.valLoss);
  if (logs.valAccuracy !== undefined) history.valAccuracy.push(logs.valAccuracy);
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
      // Through the model's graph; the batch does not require a gradient, so the first layer computes none.
      loss.backward();
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

/** Modules that a running fit() is training, each mapped to the model that fit was given. */
const inTraining = new WeakMap<Module, Module>();

/**
 * Marks the model and every module in it as being trained, or throws when a running fit already
 * trains one of them: two fits stepping the same weights would interleave their steps (and share
 * the layers' activation buffers) in an order that depends on timing; a worker's fit would
 * overwrite the weights when it ends (sn.worker.fit claims its model too). Returns the release.
 */
export function claimForTraining(model: Module, where = 'fit'): () => void {
  const named = namedModulesOf(model);
  for (const [path, m] of named) {
    const owner = inTraining.get(m);
    if (owner === undefined) continue;
    const what = path === '' ? (owner === model ? 'this model is' : 'this model is part of a model that is')
      : `layer ${path} (${m.label()}) is`;
    throw new Error(`${where}: ${what} already being trained by another fit() that has not finished; ` +
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
