// Optimizers and losses as data ({ type: 'SGD', lr: 0.1 }), which can cross to a training worker
// where the objects cannot (they hold wasm buffers): checked on the page, built in the worker.
import type { Module } from '../module.js';
import { Optimizer } from '../optim/optimizer.js';
import { SGD, type SGDOptions } from '../optim/sgd.js';
import { Adam, AdamW, type AdamOptions } from '../optim/adam.js';
import { Loss } from '../losses/loss.js';
import { CrossEntropyLoss } from '../losses/cross-entropy.js';
import { MSELoss } from '../losses/mse.js';
import { NLLLoss } from '../losses/nll.js';
import { BCEWithLogitsLoss } from '../losses/bce-with-logits.js';
import { describe, isPlainObject } from '../describe.js';
import type { LossSpec, OptimizerSpec } from './protocol.js';

const OPTIMIZERS = ['SGD', 'Adam', 'AdamW'] as const;
const LOSSES = ['CrossEntropyLoss', 'MSELoss', 'NLLLoss', 'BCEWithLogitsLoss'] as const;

/** The optimizer a spec names, over the model's parameters; its constructor checks the options. */
export function optimizerOf({ type, ...options }: OptimizerSpec, model: Module): Optimizer {
  const params = model.parameters();
  if (type === 'SGD') return new SGD(params, options as unknown as SGDOptions);
  if (type === 'AdamW') return new AdamW(params, options as AdamOptions);
  return new Adam(params, options as AdamOptions);
}

/** The loss a spec names; its constructor checks the options. */
export function lossOf({ type, ...options }: LossSpec): Loss {
  if (type === 'MSELoss') return new MSELoss(options);
  if (type === 'NLLLoss') return new NLLLoss(options);
  if (type === 'BCEWithLogitsLoss') return new BCEWithLogitsLoss(options as ConstructorParameters<typeof BCEWithLogitsLoss>[0]);
  return new CrossEntropyLoss(options);
}

/**
 * Throws unless `spec` is an optimizer spec whose options the optimizer takes: checked by
 * building it over the model's parameters and freeing it at once (it changes no weight).
 */
export function checkOptimizerSpec(where: string, spec: unknown, model: Module): asserts spec is OptimizerSpec {
  if (spec instanceof Optimizer) {
    throw new Error(`${where}: options.optimizer is an Optimizer object, which cannot cross to a worker (it holds wasm memory); ` +
      `give it as data, e.g. { type: '${spec.constructor.name}', lr: ${spec.lr} }, and the worker builds it over its copy of the model`);
  }
  checkSpecShape(where, 'optimizer', spec, OPTIMIZERS, "{ type: 'SGD', lr: 0.1, momentum: 0.9 }");
  try {
    optimizerOf(spec as OptimizerSpec, model).dispose();
  } catch (err) {
    throw new Error(`${where}: options.optimizer: ${(err as Error).message}`, { cause: err });
  }
}

/** Throws unless `spec` is a loss spec whose options the loss takes (checked by building it). */
export function checkLossSpec(where: string, spec: unknown): asserts spec is LossSpec {
  if (spec instanceof Loss) {
    throw new Error(`${where}: options.loss is a Loss object, which cannot cross to a worker; ` +
      `give it as data, e.g. { type: '${spec.constructor.name}' } with its options beside the type`);
  }
  checkSpecShape(where, 'loss', spec, LOSSES, "{ type: 'CrossEntropyLoss', labelSmoothing: 0.1 }");
  try {
    lossOf(spec as LossSpec);
  } catch (err) {
    throw new Error(`${where}: options.loss: ${(err as Error).message}`, { cause: err });
  }
}

function checkSpecShape(where: string, name: string, spec: unknown, types: readonly string[], example: string): void {
  if (!isPlainObject(spec)) throw new Error(`${where}: options.${name} must be a plain object such as ${example}, got ${describe(spec)}`);
  const type = (spec as { type?: unknown }).type;
  if (typeof type !== 'string' || !types.includes(type)) {
    throw new Error(`${where}: options.${name}.type must be one of ${types.map((t) => `'${t}'`).join(', ')}, got ${describe(type)}`);
  }
}
