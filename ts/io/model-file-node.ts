// Model files outside the process: saving to a path (Node) or as a download (a page), loading
// from a path (Node), a URL, a Response, a Blob or File, or bytes. The file system is reached only
// through '#platform', which a browser build resolves to an implementation without node:fs.
import { platform } from '#platform';
import { Module } from '../module.js';
import { loadSafetensorsInto, modelFromSafetensors, modelToSafetensors } from './model-file.js';
import { checkOptions, describe, instanceOf } from '../options.js';
import { fetchBytes, isByteSource, type ByteSource } from './source.js';

/**
 * Where a model file comes from: a path (Node; a string in a page is a URL relative to it), a
 * `URL` (http:, https:, blob:, data:, or file: in Node), a `Response` from `fetch()`, a `Blob`
 * or `File` (from `<input type="file">`), or the file's bytes.
 */
export type ModelSource = string | URL | Response | Blob | Uint8Array | ArrayBuffer | ArrayBufferView;

/**
 * Writes `model` (weights and architecture) to a safetensors file at `path` (Node only). The
 * bytes go to a temporary file in the same directory, are flushed to disk, and the file is then
 * renamed over `path`: a crash leaves either the old file or the new one, never half a file. On
 * an Error the temporary file is removed and `path` is untouched. In a page, use
 * `model.download(name)` or `model.toSafetensors()`.
 */
export async function saveModel(model: Module, path: string): Promise<void> {
  checkPath('saveModel', path);
  checkCanWrite('saveModel');
  // Encoded first: a model that cannot be saved fails before the disk is touched.
  const bytes = modelToSafetensors(model);
  try {
    await platform.writeFileAtomic(path, bytes);
  } catch (err) {
    throw new Error(`saveModel: cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Throws, in a page, the Error that says how a page saves a model instead. */
export function checkCanWrite(fn: string): void {
  if (!platform.node) {
    throw new Error(`${fn}: writing a file needs Node; in a page use model.download('model.safetensors') ` +
      'to save it through the browser, or model.toSafetensors() for the bytes');
  }
}

/** The options of {@link loadModel} (sn.load). */
export interface LoadOptions<M extends Module = Module> {
  /**
   * A model built in code to load the file's weights into (a module of your own, or any model
   * whose file has no architecture, such as PyTorch's state_dict saved with safetensors): every
   * tensor is checked against it first, so a file that does not fit leaves it unchanged.
   */
  into?: M;
}

/**
 * A new model from a model file written by `save()`/`saveModel` (or `toSafetensors()`), read
 * from a path (Node), a URL, a Response, a Blob/File or bytes (see {@link ModelSource}): a
 * Sequential of built-in layers, or a model of sn.models (rebuilt by its builder with the
 * options it was made with). With `{ into: model }`, the file's weights are loaded into that
 * model instead (a module of your own, whose class the file cannot rebuild), which is returned.
 * Exported as `sn.load`.
 *
 * @example
 * const model = await sn.load('lenet5.safetensors');                  // Node: a path
 * const model = await sn.load('/models/lenet5.safetensors');          // a page: a URL
 * const model = await sn.load(input.files[0]);                        // a page: a File
 * const resnet = await sn.load('resnet20.safetensors');               // saved from sn.models.resnet20()
 * await sn.load('resnet.safetensors', { into: new ResNet() });        // a module of your own
 */
export async function loadModel(src: ModelSource): Promise<Module>;
export async function loadModel<M extends Module>(src: ModelSource, options: LoadOptions<M> & { into: M }): Promise<M>;
export async function loadModel(src: ModelSource, options?: LoadOptions): Promise<Module>;
export async function loadModel(src: ModelSource, options: LoadOptions = {}): Promise<Module> {
  checkOptions('loadModel', options, { into: instanceOf(Module, 'a model (Module) to load the weights into') });
  const { bytes, from } = await readModelSource('loadModel', src);
  if (options.into) {
    loadSafetensorsInto(options.into, bytes, from);
    return options.into;
  }
  return modelFromSafetensors(bytes, from);
}

/**
 * Loads the weights of a safetensors file, ours or PyTorch's, into an existing model, from any
 * {@link ModelSource}; on an Error (naming the file) the model is unchanged.
 */
export async function loadModelInto(model: Module, src: ModelSource): Promise<void> {
  const { bytes, from } = await readModelSource('loadModelInto', src);
  loadSafetensorsInto(model, bytes, from);
}

async function readModelSource(fn: string, src: unknown): Promise<{ bytes: Uint8Array | ArrayBuffer | ArrayBufferView; from: string | undefined }> {
  if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) return { bytes: src, from: undefined };
  checkModelSource(fn, src);
  const { bytes, from } = await fetchBytes(src as ByteSource, fn, 'a model');
  return { bytes, from };
}

/**
 * Saves `model` as a safetensors file through the browser's download (an `<a download>` link to
 * a Blob URL), as a page's "Save" button would. Needs a page (a `document`): in Node use
 * `model.save(path)`.
 */
export function downloadModel(model: Module, name = 'model.safetensors'): void {
  if (typeof name !== 'string' || name === '' || /[/\\]/.test(name)) {
    throw new Error(`download: expected a file name (a non-empty string without / or \\), got ${describe(name)}`);
  }
  const doc = (globalThis as { document?: Document }).document;
  if (!doc?.createElement || typeof URL.createObjectURL !== 'function') {
    throw new Error(`download: saving through a download needs a page (a document)${platform.node ? '; in Node use model.save(path)' : '; in a worker send model.toSafetensors() to the page'}`);
  }
  const bytes = modelToSafetensors(model);
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const link = doc.createElement('a');
  link.href = url;
  link.download = name;
  link.rel = 'noopener';
  link.style.display = 'none';
  doc.body.append(link);
  link.click();
  link.remove();
  // The download has started by the next task; the URL is not needed after that.
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

function checkPath(fn: string, path: unknown): void {
  if (typeof path !== 'string' || path === '') throw new Error(`${fn}: expected a file path (a non-empty string), got ${describe(path)}`);
}

function checkModelSource(fn: string, src: unknown): void {
  if (typeof src === 'string' ? src === '' : !isByteSource(src)) {
    throw new Error(`${fn}: expected a file path (a non-empty string), a URL, a Response, a Blob or the file's bytes, got ${describe(src)}`);
  }
}
