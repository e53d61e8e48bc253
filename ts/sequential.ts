// Sequential: runs its children in order; names them '0', '1', ... as torch.nn.Sequential does.
import { Module, withDryRunHook } from './module.js';
import { Tensor, formatShape } from './tensor.js';
import { fit, evaluate, predict, predictClasses } from './train/fit.js';
import type { EvaluateOptions, FitHistory, FitOptions, PredictOptions } from './train/fit.js';
import type { Target } from './train/targets.js';
import { loadSafetensorsInto, modelFromSafetensors, modelToSafetensors } from './io/model-file.js';
import { checkCanWrite, downloadModel, saveModel } from './io/model-file-node.js';
import { layerTypeOf, registerLayer } from './registry.js';
import { profile } from './train/profile.js';
import { modulesOf } from './module-tree.js';
import type { Profile, ProfileOptions } from './train/profile.js';
import { checkTensor, describe } from './options.js';
import { checkFitOptionsObject } from './train/fit-options.js';

/**
 * The most Sequentials nested in one another, the outermost included: the model file format's
 * limit too, so every model that can be built can be saved and loaded. Recursive code (forward,
 * stateDict, toString) would overflow Node 20's default stack only past about 1,600 levels; the
 * margin leaves room for the caller's own stack and for engines with smaller stacks.
 */
export const MAX_NESTING = 32;

/**
 * The options of `model.fit()`: those of {@link FitOptions}, where `checkpoint` may also be a file
 * path (Node), to which the model is saved after every epoch.
 */
export interface SequentialFitOptions extends Omit<FitOptions, 'checkpoint'> {
  /**
   * Called after each epoch with its number, or (Node) a file path: the model is saved there
   * after every epoch, as model.save(path) does (a temporary file, then a rename).
   */
  checkpoint?: FitOptions['checkpoint'] | string;
}

/**
 * The Sequentials each module was added to, held weakly: a model the user drops can still be
 * collected although a layer of it lives on in another.
 */
const holders = new WeakMap<Module, WeakRef<Sequential>[]>();

function holdersOf(m: Module): Sequential[] {
  return (holders.get(m) ?? []).map((r) => r.deref()).filter((s): s is Sequential => s !== undefined);
}

/** The Sequentials above m, level by level: its holders, theirs, ... (as many levels as the longest way up). */
function levelsAbove(m: Module): Set<Sequential>[] {
  const levels: Set<Sequential>[] = [];
  let frontier = new Set<Module>([m]);
  // Bounded: add() keeps every model within MAX_NESTING levels and free of cycles.
  while (levels.length <= MAX_NESTING) {
    const next = new Set<Sequential>();
    for (const x of frontier) for (const h of holdersOf(x)) next.add(h);
    if (next.size === 0) break;
    levels.push(next);
    frontier = next;
  }
  return levels;
}

/** How many Sequentials deep m goes, itself included (0 for a layer that is not one). */
function nestingOf(m: Module): number {
  let deepest = 0;
  const stack: [Module, number][] = [[m, 0]];
  while (stack.length) {
    const [x, above] = stack.pop()!;
    if (!(x instanceof Sequential)) continue;
    deepest = Math.max(deepest, above + 1);
    for (const [, c] of x.children()) stack.push([c, above + 1]);
  }
  return deepest;
}

/**
 * Runs its layers in order, each on the previous one's output, as torch.nn.Sequential; names
 * them '0', '1', ... in the state dict (`0.weight`, `3.running_mean`). It is also the model:
 * Keras-style `fit`, `evaluate`, `predict` and `profile`, `summary()`, and saving and loading
 * (safetensors bytes, or files in Node). Sequentials nest, up to {@link MAX_NESTING} deep.
 *
 * Shape: input as the first layer takes it, e.g. [N, C, H, W]; output as the last layer gives it.
 * Shapes are checked through every layer before any runs.
 *
 * @example
 * ```js
 * const model = new sn.Sequential(
 *   new sn.Conv2d(1, 8, 3, { padding: 1 }), new sn.ReLU(), new sn.MaxPool2d(2),   // [N, 8, 14, 14]
 *   new sn.Flatten(), new sn.Linear(8 * 14 * 14, 10));                              // [N, 10]
 * console.log(model.summary([1, 28, 28]));
 * const history = await model.fit(images, labels, { epochs: 5, batchSize: 64, validationSplit: 0.1 });
 * const classes = model.predictClasses(testImages);     // Int32Array
 * ```
 */
export class Sequential extends Module {
  private readonly layers: Module[] = [];

  /**
   * A model (torch.nn.Sequential) running `layers` in the order given, each on the previous one's
   * output: input as the first layer takes it → output as the last one gives it. With no layers,
   * an empty model to fill with add(). A layer is refused with an Error as add() refuses it.
   */
  constructor(...layers: Module[]) {
    super();
    for (const l of layers) this.add(l);
  }

  /**
   * Appends a layer; returns this for chaining. Refused with an Error, leaving both unchanged: a
   * layer already in the model this Sequential is part of (also through an enclosing Sequential),
   * this Sequential itself or one containing it, and nesting deeper than MAX_NESTING Sequentials.
   */
  add(layer: Module): this {
    if (!(layer instanceof Module)) throw new Error(`Sequential.add: expected a layer (Module), got ${describe(layer)}`);
    const added = modulesOf(layer);
    if (added.includes(this)) throw new Error('Sequential.add: a Sequential cannot contain itself');
    const above = levelsAbove(this);
    const depth = above.length + 1 + nestingOf(layer);
    if (depth > MAX_NESTING) {
      throw new Error(`Sequential.add: adding ${layer.label()} would nest Sequentials ${depth} deep ` +
        `(${above.length + 1} down to this one, ${nestingOf(layer)} in the layer); at most ${MAX_NESTING} are allowed, as in model files`);
    }
    // A layer keeps the input and output of its last call for backward (in its own buffers), so a
    // second place in the same model would overwrite what the first needs: gradients would be wrong.
    // The model is every Sequential this one is nested in, not only this one.
    const model = new Set<Module>([this, ...above.flatMap((level) => [...level])]);
    const again = added.find((m) => levelsAbove(m).some((level) => [...level].some((s) => model.has(s))));
    if (again) {
      throw new Error(`Sequential.add: ${again.label()} is already in this model; a layer instance can run only once per ` +
        'forward (it keeps its last activations for backward), so add a new layer instead');
    }
    this.layers.push(layer);
    holders.set(layer, [...(holders.get(layer) ?? []), new WeakRef(this)]);
    layer.train(this.training);
    return this;
  }

  /** @internal Whether m is this model or a module inside it (without building children() lists). */
  override encloses(m: unknown): boolean {
    return m === this || this.layers.some((l) => l.encloses(m));
  }

  /** The number of layers (a nested Sequential counts as one). */
  get length(): number { return this.layers.length; }
  /** The layer at index i (negative counts from the end), or undefined. */
  at(i: number): Module | undefined { return this.layers.at(i); }
  /** @internal Child modules with their names ('0', '1', ...). */
  override children(): [string, Module][] { return this.layers.map((l, i) => [String(i), l]); }

  /** The input shape followed by every layer's output shape; an Error names the layer that refuses its input. */
  shapesThrough(inputShape: readonly number[]): number[][] {
    const shapes = [[...inputShape]];
    withDryRunHook((frame, m, shape) => {
      if (frame.parent?.parent === null && frame.parent.module === this) shapes[this.layers.indexOf(m) + 1] = [...shape];
    }, () => this.outputShape(inputShape));
    return shapes;
  }

  /**
   * Runs the layers in order, each on the previous one's output (through the checks and
   * bookkeeping every forward() has: see Module.forward).
   */
  override forward(x: Tensor): Tensor {
    checkTensor(this.label(), 'the input of forward()', x);
    if (x.dtype !== 'float32') throw new Error(`${this.label()} input: expected a float32 tensor, got ${x.dtype}`);
    let h = x;
    for (const layer of this.layers) h = layer.forward(h);
    return h;
  }

  /**
   * A table of layers, output shapes and parameter counts for one sample of `inputShape`
   * (without the batch dimension), as torchsummary prints it, with the total parameter count
   * and memory.
   *
   * @example
   * ```js
   * console.log(sn.models.lenet5().summary([1, 28, 28]));   // ... Total params: 61,706 ...
   * ```
   */
  summary(inputShape: readonly number[]): string {
    if (!Array.isArray(inputShape) || !inputShape.every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new Error(`summary: inputShape must be one sample's shape without the batch dimension, an array of positive integers such as [1, 28, 28], got ${describe(inputShape)}`);
    }
    // A batch of 2: training-mode BatchNorm refuses a single value per channel.
    const shapes = this.shapesThrough([2, ...inputShape]);
    const rows: string[][] = [['Layer (type)', 'Output Shape', 'Param #']];
    // Indexes right-aligned, so that the types line up past layer 9.
    const indexWidth = String(this.layers.length - 1).length;
    this.layers.forEach((layer, i) => {
      const type = layerTypeOf(layer) ?? layer.constructor.name;
      rows.push([`${String(i).padStart(indexWidth)} ${type}`, formatShape([-1, ...shapes[i + 1].slice(1)]), layer.parameterCount().toLocaleString('en-US')]);
    });
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    const line = (r: string[]) => `${r[0].padEnd(widths[0])}  ${r[1].padStart(widths[1])}  ${r[2].padStart(widths[2])}`;
    const rule = '-'.repeat(widths[0] + widths[1] + widths[2] + 4);
    const total = this.parameterCount();
    const trainable = total;
    return [
      rule, line(rows[0]), rule.replace(/-/g, '='),
      ...rows.slice(1).map(line),
      rule.replace(/-/g, '='),
      `Input shape: ${formatShape([-1, ...inputShape])}`,
      `Total params: ${total.toLocaleString('en-US')}`,
      `Trainable params: ${trainable.toLocaleString('en-US')}`,
      `Parameter memory: ${(total * 4 / 1048576).toFixed(2)} MiB`,
      rule,
    ].join('\n');
  }

  /**
   * Trains the model with mini-batches, Keras-style: the function {@link fit} on this model.
   * `checkpoint` may also be a file path (Node): the model is saved there after every epoch.
   *
   * @param x The inputs, N samples: [N, ...] as the model takes them.
   * @param y N class labels (Int32Array, BigInt64Array, an array of integers, an int64 Tensor),
   *   or a float32 Tensor target [N, ...] (for MSELoss and the like).
   * @param options See {@link SequentialFitOptions}; default 1 epoch, batch size 32, Adam 1e-3.
   * @returns The per-epoch history (loss, accuracy, valLoss, valAccuracy, lr) and why it stopped.
   *
   * @example
   * ```js
   * const history = await model.fit(train.images, train.labels, {
   *   epochs: 10, batchSize: 64, validationSplit: 0.1, seed: 0, checkpoint: 'model.safetensors' });
   * ```
   */
  fit(x: Tensor, y: Target, options: SequentialFitOptions = {}): Promise<FitHistory> {
    // Checked before the spread below, which would turn a string or an array into keys.
    if (options !== undefined) checkFitOptionsObject(options);
    const { checkpoint } = options;
    if (checkpoint === '') throw new Error('fit: checkpoint must be a file path or a function (epoch) => void, got an empty string');
    // In a page, before any training: a path would fail only after the first epoch.
    if (typeof checkpoint === 'string') checkCanWrite('fit: checkpoint (a file path)');
    return fit(this, x, y, { ...options, checkpoint: typeof checkpoint === 'string' ? () => saveModel(this, checkpoint) : checkpoint });
  }

  /**
   * The mean loss over x and y, and the accuracy for class labels, in eval mode and batches of
   * `options.batchSize` (default 256); every module's mode is put back afterwards. See {@link evaluate}.
   */
  evaluate(x: Tensor, y: Target, options: EvaluateOptions = {}): { loss: number; accuracy?: number } { return evaluate(this, x, y, options); }

  /**
   * Class probabilities [N, C] for x [N, ...], in eval mode: the softmax of the outputs, unless the
   * model already ends in Softmax (LogSoftmax outputs are exponentiated). A host tensor, not a view.
   */
  predict(x: Tensor, options: PredictOptions = {}): Tensor { return predict(this, x, options); }

  /**
   * Per-layer forward/backward milliseconds of real training steps on x/y (averaged after a
   * warm-up); the model's weights are put back afterwards. `String(result)` is a table.
   */
  profile(x: Tensor, y: Target, options: ProfileOptions = {}): Profile { return profile(this, x, y, options); }

  /** The most likely class of each sample of x [N, ...]: N class indices, in eval mode. */
  predictClasses(x: Tensor, options: PredictOptions = {}): Int32Array { return predictClasses(this, x, options); }

  /**
   * The model as safetensors bytes: the state dict under PyTorch's names (F32; num_batches_tracked
   * as I64), with the architecture in the metadata so fromSafetensors can rebuild it.
   */
  toSafetensors(): Uint8Array { return modelToSafetensors(this); }

  /**
   * A model rebuilt from safetensors bytes written by toSafetensors() or save(): the architecture
   * from the file's metadata, then the weights; checked whole, so a bad file builds nothing.
   * `source` names the bytes in error messages (a file name, say).
   */
  static fromSafetensors(bytes: Uint8Array | ArrayBuffer | ArrayBufferView, source?: string): Sequential { return modelFromSafetensors(bytes, source); }

  /**
   * Loads weights from safetensors bytes (ours, or PyTorch's state_dict saved with
   * safetensors) into this model; checked whole first, so a bad file leaves the model unchanged.
   */
  loadSafetensors(bytes: Uint8Array | ArrayBuffer | ArrayBufferView, source?: string): void { loadSafetensorsInto(this, bytes, source); }

  /**
   * Node: writes the model as safetensors (toSafetensors()) to `path`, through a temporary file
   * and a rename, so the file is never half written; `sn.load(path)` reads it back. In a page this
   * is refused with an Error: use `download(name)` or `toSafetensors()` there.
   */
  save(path: string): Promise<void> {
    try {
      checkCanWrite('save');
    } catch (err) {
      return Promise.reject(err);
    }
    return saveModel(this, path);
  }

  /**
   * In a page: saves the model as a safetensors file through the browser's download, as a "Save"
   * button would (an `<a download>` link to a Blob URL). `name` is the suggested file name,
   * default 'model.safetensors'. Throws in Node (use `save(path)`) and in workers (no document).
   *
   * @example
   * saveButton.onclick = () => model.download('lenet5.safetensors');
   * // later, from an <input type="file">: const model = await sn.load(input.files[0]);
   */
  download(name = 'model.safetensors'): void { downloadModel(this, name); }

  /** A one-line name for error messages: `Sequential (12 layers)`. */
  override label(): string { return `Sequential (${this.layers.length} layers)`; }

  /** PyTorch's multi-line description: `Sequential(\n  (0): Conv2d(...)\n  ...\n)`. */
  override toString(): string {
    if (!this.layers.length) return 'Sequential()';
    const inner = this.layers.map((l, i) => `  (${i}): ${String(l).replace(/\n/g, '\n  ')}`);
    return `Sequential(\n${inner.join('\n')}\n)`;
  }
}

registerLayer({
  typeName: 'Sequential', ctor: Sequential, fields: { layers: 'layers' },
  config: (s) => ({ layers: s.children().map(([, layer]) => layer) }),
  build: (c) => new Sequential(...c.layers),
});
