// Saving and loading model files on disk (Node only). node:fs is imported when a function runs,
// not at module load, so browser bundles that never call these still load this module.
import { Module } from '../module.js';
import { Sequential } from '../sequential.js';
import { loadSafetensorsInto, modelFromSafetensors, modelToSafetensors } from './model-file.js';
import { describe } from '../options.js';

/**
 * Writes `model` (weights and architecture) to a safetensors file at `path`. The bytes go to a
 * temporary file in the same directory, are flushed to disk, and the file is then renamed over
 * `path`: a crash leaves either the old file or the new one, never half a file. On an Error
 * the temporary file is removed and `path` is untouched.
 */
export async function saveModel(model: Sequential, path: string): Promise<void> {
  checkPath('saveModel', path);
  // Encoded first: a model that cannot be saved fails before the disk is touched.
  const bytes = modelToSafetensors(model);
  const fs = await import('node:fs/promises');
  const { basename, dirname, join } = await import('node:path');
  // Hidden, unique per process and call; 'wx' refuses to reuse (or follow a link at) an existing name.
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  let handle: Awaited<ReturnType<typeof fs.open>> | null = null;
  try {
    handle = await fs.open(tmp, 'wx');
    await handle.writeFile(bytes);
    // Without the flush, a power cut after the rename could leave an empty file under the new name.
    await handle.sync();
    await handle.close();
    handle = null;
    await fs.rename(tmp, path);
  } catch (err) {
    await handle?.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw new Error(`saveModel: cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** A new Sequential from a file written by saveModel (or modelToSafetensors). */
export async function loadModel(path: string): Promise<Sequential> {
  return modelFromSafetensors(await readModelFile('loadModel', path), path);
}

/**
 * Loads the weights of a safetensors file, ours or PyTorch's, into an existing model; on an
 * Error (naming `path`) the model is unchanged.
 */
export async function loadModelInto(model: Module, path: string): Promise<void> {
  loadSafetensorsInto(model, await readModelFile('loadModelInto', path), path);
}

async function readModelFile(fn: string, path: string): Promise<Uint8Array> {
  checkPath(fn, path);
  const fs = await import('node:fs/promises');
  try {
    return await fs.readFile(path);
  } catch (err) {
    throw new Error(`${fn}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function checkPath(fn: string, path: unknown): void {
  if (typeof path !== 'string' || path === '') throw new Error(`${fn}: expected a file path (a non-empty string), got ${describe(path)}`);
}
