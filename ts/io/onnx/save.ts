// model.saveOnnx(path, options) in Node: the ONNX bytes written through a temporary file and a rename.
import { platform } from '#platform';
import type { Module } from '../../module.js';
import { describe } from '../../options.js';
import { modelToOnnx, type OnnxExportOptions } from './export.js';

/**
 * Writes `model` as an ONNX file at `path` (Node only), as saveModel writes safetensors: encoded
 * first (a model that cannot be exported fails before the disk is touched), then written to a
 * temporary file in the same directory and renamed over `path`.
 */
export async function saveOnnx(model: Module, path: string, options: OnnxExportOptions): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new Error(`saveOnnx: expected a file path (a non-empty string), got ${describe(path)}`);
  if (!platform.node) throw new Error('saveOnnx: writing a file needs Node; in a page use model.toOnnx({ inputShape }) for the bytes');
  const bytes = modelToOnnx(model, options);
  try {
    await platform.writeFileAtomic(path, bytes);
  } catch (err) {
    throw new Error(`saveOnnx: cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}
