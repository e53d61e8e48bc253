// Walks over a module and the modules nested in it; saves and restores their training flags and
// the generators their Dropout layers draw from.
import type { Module } from './module.js';
import type { Generator } from './random.js';
import { Dropout } from './layers/dropout.js';

/** A module and every module nested in it, each parent before its children, in child order. */
export function modulesOf(root: Module): Module[] {
  return namedModulesOf(root).map(([, m]) => m);
}

/** As modulesOf, with state-dict style paths ('' for the root, then '0', '0.1', ...). */
export function namedModulesOf(root: Module): [string, Module][] {
  return root.namedModules();
}

/**
 * Records the training flag of the module and of every module nested in it; the returned
 * function puts each one back. `model.train(wasTraining)` would not do: it gives every submodule
 * the root's flag, so a submodule the user had put in eval mode (a frozen BatchNorm) would come
 * back in training mode.
 */
export function saveTrainingFlags(root: Module): () => void {
  const modules = modulesOf(root);
  const flags = modules.map((m) => m.training);
  return () => modules.forEach((m, i) => { m.training = flags[i]; });
}

/**
 * Points the model's Dropout layers at `rng` (so their masks come from it, not from the global
 * generator); the returned function puts their previous generators back.
 */
export function useGenerator(root: Module, rng: Generator): () => void {
  const dropouts = modulesOf(root).filter((m): m is Dropout => m instanceof Dropout);
  const previous = dropouts.map((d) => d.generator);
  for (const d of dropouts) d.generator = rng;
  return () => dropouts.forEach((d, i) => { d.generator = previous[i]; });
}
