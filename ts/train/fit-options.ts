// The up-front checks of fit's, evaluate's, predict's and profile's arguments and options: every
// key known and of the right type, and an optimizer (and scheduler) that belong to the model,
// all before anything runs, so a mistake costs no training and changes nothing.
import { Module } from '../module.js';
import { formatShape } from '../tensor.js';
import { Loss } from '../losses/loss.js';
import { Optimizer } from '../optim/optimizer.js';
import { LRScheduler } from '../optim/lr-scheduler.js';
import { Dataset } from '../data/dataset.js';
import { Transform } from '../transforms/transform.js';
import { isPlainObject } from '../describe.js';
import {
  Spec, boolean, checkOptions, checkOptionsObject, checkValue, closest, described, either, finite, func, instanceOf, integer, oneOf,
} from '../options.js';

/** Batch sizes index Int32Arrays and size the batch buffers, so they stay below 2³¹. */
const MAX_BATCH = 2 ** 31 - 1;

export const batchSizeRule = described(integer(1, MAX_BATCH), `a positive integer ≤ ${MAX_BATCH}`);
export const lossRule = instanceOf(Loss, 'a Loss (e.g. new sn.CrossEntropyLoss())');
const optimizerRule = instanceOf(Optimizer, 'an Optimizer (e.g. new sn.Adam(model.parameters()))');

const CALLBACK_HOOKS = ['onTrainBegin', 'onEpochBegin', 'onBatchEnd', 'onEpochEnd', 'onTrainEnd'];

const fitSpec: Spec = {
  epochs: described(integer(1), 'a positive integer'),
  batchSize: batchSizeRule,
  optimizer: optimizerRule,
  loss: lossRule,
  scheduler: instanceOf(LRScheduler, 'an LRScheduler (e.g. new sn.StepLR(optimizer, { stepSize: 10 }))'),
  // 0 means none, as when absent.
  validationSplit: either([oneOf(0), finite({ min: 0, max: 1, minOpen: true, maxOpen: true })], 'in (0, 1)'),
  validationData: {
    expected: 'a pair [x, y] (a Tensor and its labels or targets) or a Dataset of batches',
    test: (v) => (Array.isArray(v) && v.length === 2) || v instanceof Dataset,
  },
  shuffle: boolean,
  seed: described(integer(), 'a safe integer (it is used modulo 2^32)'),
  // Checked by checkCallbacks, which names the callback and the hook.
  callbacks: { expected: 'a callback object or an array of them', test: (v) => typeof v === 'object' && v !== null },
  signal: { expected: 'an AbortSignal', test: (v) => typeof v === 'object' && v !== null && typeof (v as { aborted?: unknown }).aborted === 'boolean' },
  verbose: oneOf('auto', 0, 1),
  progressStream: { expected: 'a stream with a write(text) method', test: (v) => typeof v === 'object' && v !== null && typeof (v as { write?: unknown }).write === 'function' },
  checkpoint: described(func, 'a function (epoch) => void (or, with model.fit, a file path)'),
  // Checked by asTransform, which names the entry that is not a transform.
  transforms: { expected: 'a transform or an array of them (e.g. [sn.transforms.randomHorizontalFlip()])', test: (v) => v instanceof Transform || Array.isArray(v) },
};

/**
 * Throws unless fit's model and options are what fit takes: known keys of the right types, an
 * optimizer over this model's parameters (a subset is fine: frozen layers), a scheduler that
 * steps that optimizer, and callbacks whose hooks are functions.
 */
export function checkFitOptions(model: unknown, options: unknown): void {
  checkModel('fit', model);
  checkOptions('fit', options, fitSpec);
  const o = (options ?? {}) as { optimizer?: Optimizer; scheduler?: LRScheduler; callbacks?: unknown };
  if (o.optimizer !== undefined) checkOptimizerOf('fit', model, o.optimizer);
  if (o.scheduler !== undefined && o.scheduler.optimizer !== o.optimizer) {
    throw new Error(o.optimizer === undefined
      ? 'fit: a scheduler was given without its optimizer; pass that optimizer as options.optimizer too, so the learning rate it sets is the one training uses'
      : 'fit: options.scheduler sets the learning rate of another optimizer than options.optimizer; build the scheduler on the optimizer fit trains with');
  }
  if (o.callbacks !== undefined) checkCallbacks('fit', o.callbacks);
}

/** Throws unless fit's options are an object (before Sequential.fit spreads them), showing its keys. */
export function checkFitOptionsObject(options: unknown): void {
  checkOptionsObject('fit', options, Object.keys(fitSpec));
}

/** Throws unless model is a Module (a layer or a Sequential). */
export function checkModel(where: string, model: unknown): asserts model is Module {
  checkValue(where, 'model', model, instanceOf(Module, 'a Module (a layer or a Sequential)'));
}

/** evaluate's options. */
export function checkEvaluateOptions(where: string, model: unknown, options: unknown): void {
  checkModel(where, model);
  checkOptions(where, options, { batchSize: batchSizeRule, loss: lossRule });
}

/** predict's and predictClasses' options. */
export function checkPredictOptions(where: string, model: unknown, options: unknown): void {
  checkModel(where, model);
  checkOptions(where, options, { batchSize: batchSizeRule });
}

/** profile's options. */
export function checkProfileOptions(model: unknown, options: unknown): void {
  checkModel('profile', model);
  checkOptions('profile', options, {
    steps: described(integer(1), 'a positive integer'),
    warmup: described(integer(0), 'a non-negative integer'),
    loss: lossRule,
    optimizer: optimizerRule,
  });
  const optimizer = (options as { optimizer?: Optimizer } | undefined)?.optimizer;
  if (optimizer !== undefined) checkOptimizerOf('profile', model as Module, optimizer);
}

/**
 * Throws when the optimizer updates a parameter that is not the model's: its steps would change
 * another model, which no undo of this model's state would put back. Fewer parameters than the
 * model's are fine (layers left out are frozen).
 */
export function checkOptimizerOf(where: string, model: Module, optimizer: Optimizer): void {
  const own = new Set(model.parameters());
  const foreign = optimizer.params.flatMap((p, i) => (own.has(p) ? [] : [i]));
  if (foreign.length === 0) return;
  const first = foreign[0];
  throw new Error(`${where}: ${foreign.length} of the optimizer's ${optimizer.params.length} parameters are not this model's ` +
    `(the first is params[${first}], of shape ${formatShape(optimizer.params[first].shape)}), so its steps would change another model; ` +
    'build it from this model\'s parameters, e.g. new sn.Adam(model.parameters()) (a subset of them freezes the rest)');
}

/** Each callback an object whose hooks are functions; a hook-like name that is not a hook is a typo. */
function checkCallbacks(where: string, callbacks: unknown): void {
  const list = Array.isArray(callbacks) ? callbacks : [callbacks];
  list.forEach((cb, i) => {
    const name = Array.isArray(callbacks) ? `callbacks[${i}]` : 'callbacks';
    checkValue(where, name, cb, { expected: 'a callback object (e.g. { onEpochEnd(logs) { ... } })', test: (v) => typeof v === 'object' && v !== null && !Array.isArray(v) });
    for (const hook of CALLBACK_HOOKS) {
      const f = (cb as Record<string, unknown>)[hook];
      if (f !== undefined) checkValue(where, `${name}.${hook}`, f, func);
    }
    for (const key of hookLikeKeys(cb as object)) {
      if (CALLBACK_HOOKS.includes(key)) continue;
      const guess = closest(key, CALLBACK_HOOKS);
      throw new Error(`${where}: ${name} has ${key}, which is not a callback hook${guess ? `; did you mean '${guess}'?` : ''} (the hooks are ${CALLBACK_HOOKS.join(', ')})`);
    }
  });
}

/** Names like onSomething on the object and its classes, where a misspelt hook would sit unnoticed. */
function hookLikeKeys(obj: object): string[] {
  const keys = new Set<string>();
  for (let o: object | null = obj; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) if (/^on[A-Z]/.test(k)) keys.add(k);
  }
  return [...keys];
}

/**
 * The options of fit(model, dataset, options) or evaluate(model, dataset, options): the third
 * argument. A fourth is refused unless it is empty (model.fit(dataset, options) passes one with
 * nothing defined in it).
 */
export function optionsAfterDataset(where: string, third: unknown, fourth: unknown): unknown {
  const empty = fourth === undefined || (isPlainObject(fourth) && Object.values(fourth as object).every((v) => v === undefined));
  if (!empty) {
    throw new Error(`${where}: with a dataset the options come third, ${where}(model, dataset, options): the dataset holds x and y`);
  }
  return third;
}
