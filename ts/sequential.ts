// Sequential: runs its children in order; names them '0', '1', ... as torch.nn.Sequential does.
import { Module, modelMethods, withDryRunHook } from './module.js';
import { Tensor, checkTensor } from './tensor.js';
import { registerLayer } from './registry.js';
import { modulesOf } from './module-tree.js';
import { describe } from './options.js';
import type { ModelFitOptions } from './module.js';

/**
 * The most Sequentials nested in one another, the outermost included: the model file format's
 * limit too, so every model that can be built can be saved and loaded. Recursive code (forward,
 * stateDict, toString) would overflow Node 20's default stack only past about 1,600 levels; the
 * margin leaves room for the caller's own stack and for engines with smaller stacks.
 */
export const MAX_NESTING = 32;

/** The options of `model.fit()` (an alias of {@link ModelFitOptions}, kept for existing code). */
export type SequentialFitOptions = ModelFitOptions;

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
    checkTensor(() => this.label(), 'the input of forward()', x);
    if (x.dtype !== 'float32') throw new Error(`${this.label()} input: expected a float32 tensor, got ${x.dtype}`);
    let h = x;
    for (const layer of this.layers) h = layer.forward(h);
    return h;
  }

  /**
   * A model rebuilt from safetensors bytes written by toSafetensors() or save(): the architecture
   * from the file's metadata, then the weights; checked whole, so a bad file builds nothing.
   * `source` names the bytes in error messages (a file name, say).
   */
  static fromSafetensors(bytes: Uint8Array | ArrayBuffer | ArrayBufferView, source?: string): Sequential {
    return modelMethods().fromSafetensors(bytes, source) as Sequential;
  }

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
