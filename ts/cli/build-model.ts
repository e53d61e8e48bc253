// The model named by --model: a built-in architecture, a JSON architecture, or a saved model.
import { readFile } from 'node:fs/promises';
import { Sequential } from '../sequential.js';
import type { Module } from '../module.js';
import { lenet5, mlp } from '../models.js';
import { buildFromArchitecture } from '../io/architecture.js';
import { loadModel } from '../io/model-file-node.js';
import { UsageError } from './options.js';

/** A fresh, untrained model: lenet5, mlp, or an architecture JSON file. */
export async function newModel(spec: string): Promise<Sequential> {
  if (spec === 'lenet5') return lenet5();
  if (spec === 'mlp') return mlp();
  if (spec.endsWith('.json')) {
    let json: unknown;
    try { json = JSON.parse(await readFile(spec, 'utf8')); } catch (err) { throw new Error(`${spec}: ${(err as Error).message}`); }
    return buildFromArchitecture(json);
  }
  throw new UsageError(`--model: expected lenet5, mlp or an architecture .json file, got '${spec}'`);
}

/** A trained model from a .safetensors file, or a fresh one for the other specs. */
export async function anyModel(spec: string): Promise<Module> {
  return spec.endsWith('.safetensors') ? loadModel(spec) : newModel(spec);
}

/** The file name `train` saves to by default. */
export function defaultOutput(spec: string): string {
  const base = spec.replace(/^.*[\\/]/, '').replace(/\.json$/, '');
  return `${base}.safetensors`;
}
