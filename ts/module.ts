// Module: the base of every layer and of Sequential. A layer owns its parameters, gradients
// and the buffers it needs for backward, allocated once per input shape and reused.
import { Block, f32, reuseBlock } from './runtime/block.js';
import { rt } from './runtime/wasm.js';
import { Tensor, formatShape, shapeSize } from './tensor.js';
import { enterForward, leaveForward } from './forward-journal.js';
import { briefShape, listNames } from './io/untrusted.js';
import { boolean, checkOptions, checkTensor, describe } from './options.js';

/**
 * A learnable tensor and its gradient, both in wasm memory, as a layer's `weight` and `bias`.
 * `backward()` adds to `grad`; an optimizer's `step()` reads it and updates `data`; `zeroGrad()`
 * clears it. Gradients accumulate until then, as in PyTorch.
 *
 * @example
 * ```js
 * const conv = new sn.Conv2d(1, 6, 5);
 * conv.weight.shape;                 // [6, 1, 5, 5]
 * conv.weight.data.toArray();        // the weights, a copy
 * sn.init.xavierUniform(conv.weight);
 * ```
 */
export class Parameter {
  /** The values (float32, in wasm memory): a live view, valid until the module is disposed. */
  readonly data: Tensor;
  /** The accumulated gradient dL/d(data), of the same shape: a live view; zeroed by zeroGrad(). */
  readonly grad: Tensor;

  /**
   * Allocates a parameter and its gradient (zeroed) in wasm memory. Layers create their own; a
   * standalone one suits an optimizer over plain tensors.
   *
   * @param shape The dimensions.
   * @param init Initial values (row-major, as many as the shape holds); default zeros.
   * @param what Names the parameter in a WasmMemoryError, e.g. "Linear weight [10, 84]".
   */
  constructor(shape: readonly number[], init?: Float32Array, what = 'a parameter') {
    const bytes = shapeSize(shape) * 4;
    const data = new Block(bytes, what);
    let grad: Block;
    try {
      grad = new Block(bytes, `the gradient of ${what}`);
    } catch (err) {
      data.free();
      throw err;
    }
    this.data = new Tensor(shape, data);
    this.grad = new Tensor(shape, grad);
    if (init) this.data.view().set(init);
    this.zeroGrad();
  }

  /** The parameter's shape, e.g. [out_features, in_features] for a Linear weight. */
  get shape(): readonly number[] { return this.data.shape; }
  /** The number of values. */
  get size(): number { return this.data.size; }

  /** Sets the gradient to zero. Throws once the parameter's module has been disposed. */
  zeroGrad(): void {
    // After dispose() the range may belong to another tensor: writing zeros there would corrupt it.
    if (this.grad.block!.freed) throw new Error('simdnet: this parameter\'s memory was released (its module was disposed)');
    rt().kernels.fill(this.grad.ptr, this.grad.size, 0);
  }

  /** @internal */
  dispose(): void { this.data.block!.free(); this.grad.block!.free(); }
}

/**
 * The base of every layer and of {@link Sequential}, as torch.nn.Module. A module owns its
 * parameters and the buffers of its last call in wasm memory (allocated once per input shape and
 * reused, so a training step allocates nothing), runs with `forward(x)` and back-propagates with
 * `backward(dy)`, which accumulates its parameters' gradients.
 *
 * Modules start in training mode: `eval()` switches Dropout off and makes BatchNorm use its
 * running statistics; `train()` switches back. Parameters and buffers are named as in PyTorch's
 * `state_dict` (`weight`, `bias`, `running_mean`, `0.weight` inside a Sequential), so weights move
 * between the two with `stateDict()` / `loadStateDict()` or safetensors files.
 *
 * @example
 * ```js
 * const layer = new sn.Linear(4, 2);
 * const y = layer.forward(sn.tensor(new Float32Array(3 * 4), [3, 4]));   // [3, 2]
 * const dx = layer.backward(sn.tensor(new Float32Array(3 * 2).fill(1), [3, 2]));  // [3, 4]
 * layer.weight.grad.toArray();     // dL/dW, accumulated
 * layer.zeroGrad();
 * ```
 */
export abstract class Module {
  /** Training mode (Dropout drops, BatchNorm uses batch statistics) or eval mode; set by train() and eval(). */
  training = true;
  /** @internal Parameters in registration order, with their local names ('weight', 'bias'). */
  protected readonly params: [string, Parameter][] = [];
  /** @internal Non-learnable state saved in the state dict (running_mean, num_batches_tracked). */
  protected readonly buffers: [string, Tensor][] = [];
  private readonly scratchBlocks = new Map<string, Block>();
  private lastOutShape: readonly number[] | null = null;
  /** The tensor the last forward() returned: a loss computed from an older one cannot back-propagate. */
  private lastOutput: Tensor | null = null;
  /** Set when a forward() failed after layers had run: their activations belong to no complete call. */
  private forwardFailed = false;
  private disposed = false;

  /** A module in training mode with no parameters or buffers; layers register theirs in their constructors. */
  constructor() {}

  /** PyTorch-style description, e.g. `Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))`. */
  abstract toString(): string;

  /** A one-line name for error messages; the layer's description unless that spans lines. */
  label(): string { return String(this); }

  /**
   * The output shape for an input shape, without running anything, e.g. [N, 6, 28, 28] for
   * Conv2d(1, 6, 5, { padding: 2 }) on [N, 1, 28, 28]; throws an Error naming this layer when
   * it does not take that shape.
   */
  abstract outputShape(inputShape: readonly number[]): number[];

  /** @internal Runs on a device tensor whose shape outputShape() accepted. */
  abstract forwardDevice(x: Tensor): Tensor;

  /** @internal dL/dy (device, shape of the last output) → dL/dx, or null when not needed. */
  abstract backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null;

  /**
   * Runs the module on a batch. The input is checked first (shape, finite values); the result is
   * a view of this module's buffer, valid until its next call (reading it afterwards throws;
   * toArray() keeps a copy). In training mode the module keeps what backward() needs. When an
   * Error escapes, state that the call changed (BatchNorm's running statistics) is put back.
   *
   * @param x The input, host or device, of a shape outputShape() accepts (NCHW for images).
   * @returns The output, of shape outputShape(x.shape).
   */
  forward(x: Tensor): Tensor {
    // Only the outermost forward() owns the undo journal: nested calls add to it.
    const outermost = enterForward();
    let failed = true;
    try {
      const y = this.forwardChecked(x);
      failed = false;
      return y;
    } finally {
      leaveForward(outermost, failed);
    }
  }

  private forwardChecked(x: Tensor): Tensor {
    checkTensor(this.label(), 'the input of forward()', x);
    this.checkNotDisposed();
    const outShape = this.outputShape(x.shape);
    const xd = this.stage('input', x, `${this.label()} input`);
    // A host input was just copied into this module's buffer: that copy is not an earlier output.
    const input = x.onDevice ? this.ownInput(xd) : xd;
    // Every check passed: from here on layers run, and a failure leaves their activations mixed.
    this.forwardFailed = true;
    const y = this.forwardDevice(input);
    this.forwardFailed = false;
    y.producer = this;
    this.lastOutShape = outShape;
    this.lastOutput = y;
    return y;
  }

  /** @internal forwardDevice behind the input check of ownInput(), for containers running their children. */
  runForward(x: Tensor): Tensor {
    return this.forwardDevice(this.ownInput(x));
  }

  /**
   * An input that lives in this module's own buffer (its own earlier output) would be read while
   * it is overwritten. In eval mode it is copied first; in training mode the layer would also lose
   * that call's activations for backward, so it is refused.
   */
  private ownInput(x: Tensor): Tensor {
    const owner = x.block?.owner;
    if (!owner) return x;
    if (this.training && this.encloses(owner)) {
      const whose = owner === this ? 'this same layer' : `${owner.label()}, a layer inside it`;
      throw new Error(`${this.label()}: the input is an output of ${whose}; in training mode a layer keeps the activations ` +
        'of one call for backward(), so a second call inside one graph would give wrong gradients: use a separate ' +
        'layer instance for each call, or eval() mode for inference');
    }
    return owner === this ? this.copyOut(x, 'ownOutputCopy') : x;
  }

  /** @internal Whether m is this module or one inside it. */
  encloses(m: unknown): boolean {
    return m === this || this.children().some(([, c]) => c.encloses(m));
  }

  /** x copied into the block `key`, kept for that (reused, grown only for a larger input). */
  private copyOut(x: Tensor, key: string, call = 'forward()'): Tensor {
    const copy = this.output(key, x.shape, call);
    f32(copy.ptr, x.size).set(f32(x.ptr, x.size));
    return copy;
  }

  /**
   * Whether backward() would write where dy lives: a gradient this module (or one inside it)
   * handed out, or a parameter gradient it accumulates into.
   */
  private backwardWritesInto(dy: Tensor): boolean {
    const block = dy.block;
    if (!block) return false;
    if (block.owner) return this.encloses(block.owner);
    return this.parameters().some((p) => p.grad.block === block);
  }

  /** @internal Whether y is the result of this module's last forward(), whose activations backward uses. */
  isLastOutput(y: Tensor): boolean { return y === this.lastOutput && !this.forwardFailed; }

  /**
   * Back-propagates through the last forward(): adds dL/dW to every parameter's `grad` and
   * returns dL/dx. Usually called for you by `loss.backward()`.
   *
   * @param dy dL/dy, of the shape of the last forward()'s output.
   * @returns dL/dx, of the shape of the last forward()'s input (a view of this module's buffer).
   * @throws Error when forward() has not run, the shape differs, or an activation it needs was
   *   overwritten since.
   */
  backward(dy: Tensor): Tensor {
    checkTensor(this.label(), 'the gradient given to backward()', dy);
    this.checkNotDisposed();
    if (this.forwardFailed) {
      throw new Error(`${this.label()}: backward(): its last forward() failed part way, so its layers hold the activations ` +
        'of no complete call; run forward() again first');
    }
    if (!this.lastOutShape) throw new Error(`${this.label()}: backward() called before forward()`);
    if (!sameShape(dy.shape, this.lastOutShape)) {
      throw new Error(`${this.label()}: backward() expected a gradient of shape ${formatShape(this.lastOutShape)}, got ${formatShape(dy.shape)}`);
    }
    // A layer inside this one may have run on its own since: its activations are not this output's any more.
    const stale = this.lastOutput!.staleness('the output of its last forward()');
    if (stale) throw new Error(`${this.label()}: backward() needs the activations of its last forward(), but ${stale}; run forward() again first`);
    this.checkSaved();
    let g = this.stage('gradOutput', dy, `${this.label()} output gradient`, 'backward()');
    // Its own earlier dx (lin.backward(lin.backward(dy))) would be read while being overwritten.
    if (dy.onDevice && this.backwardWritesInto(dy)) g = this.copyOut(dy, 'gradOutputCopy', 'backward()');
    return this.backwardDevice(g, true)!;
  }

  /**
   * @internal Throws when an input that the last forward() kept for backward() has been overwritten
   * or released since (the layer that produced it ran again): gradients from it would be wrong.
   * Layers that keep their input override this; containers ask their children.
   */
  checkSaved(): void {
    for (const [, c] of this.children()) c.checkSaved();
  }

  /** @internal For checkSaved(): throws when the kept input x is no longer intact. */
  protected checkSavedInput(x: Tensor | null): void {
    const stale = x?.staleness('that input');
    if (stale) {
      throw new Error(`${this.label()}: backward() needs the input of its last forward(), but ${stale}; ` +
        'call backward() before running the layer that produced that input again');
    }
  }

  /**
   * Sets training mode (the default) or, with false, eval mode, for this module and every one
   * inside it. Returns the module, for chaining.
   */
  train(mode = true): this {
    // A string such as 'false' would be truthy: the model would train where eval was meant.
    if (typeof mode !== 'boolean') throw new Error(`${this.label()}: train(mode) takes true or false, got ${describe(mode)}`);
    this.training = mode;
    for (const [, c] of this.children()) c.train(mode);
    return this;
  }
  /** Sets eval mode (Dropout off, BatchNorm on its running statistics), as train(false). Returns the module. */
  eval(): this { return this.train(false); }

  /** @internal Child modules with their names ('0', '1', ... in Sequential). */
  children(): [string, Module][] { return []; }

  /**
   * Every parameter with its PyTorch state_dict name, e.g. [['0.weight', p], ['0.bias', q], ...]
   * in a Sequential; `prefix` is put before each name.
   */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = this.params.map(([n, p]) => [prefix + n, p]);
    for (const [name, child] of this.children()) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  /** Every learnable parameter of this module and those inside it, in state_dict order: what an optimizer takes. */
  parameters(): Parameter[] { return this.namedParameters().map(([, p]) => p); }

  /**
   * The non-learnable state saved with the model (BatchNorm's running_mean, running_var,
   * num_batches_tracked) with PyTorch names; `prefix` is put before each name.
   */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = this.buffers.map(([n, t]) => [prefix + n, t]);
    for (const [name, child] of this.children()) out.push(...child.namedBuffers(`${prefix}${name}.`));
    return out;
  }

  /** Sets the gradient of every parameter to zero (optimizer.zeroGrad() does the same for its parameters). */
  zeroGrad(): void { for (const p of this.parameters()) p.zeroGrad(); }

  /**
   * Parameters and buffers by PyTorch state_dict name (`weight`, `0.bias`, `1.running_mean`, ...),
   * in PyTorch's order. The tensors are live views, not copies. `prefix` is put before each name;
   * entries are added to `into` when given.
   */
  stateDict(prefix = '', into: Record<string, Tensor> = {}): Record<string, Tensor> {
    // PyTorch's order: a module's own parameters, then its buffers, then each child's entries.
    for (const [name, p] of this.params) setEntry(into, prefix + name, p.data);
    for (const [name, b] of this.buffers) setEntry(into, prefix + name, b);
    for (const [name, child] of this.children()) child.stateDict(`${prefix}${name}.`, into);
    return into;
  }

  /**
   * Copies a state dict into this module. Everything is checked before anything is written:
   * a missing, unexpected (strict) or misshaped entry, or a non-finite value, throws and leaves
   * the module unchanged. Only the dict's own keys count: a key named "constructor" or
   * "toString" is an entry like any other, never something inherited from Object.prototype.
   *
   * @param dict Tensors by state_dict name, e.g. from stateDict() or a safetensors file.
   * @param options `strict` (default true): the keys must match exactly; with false, missing and
   *   unexpected keys are skipped.
   */
  loadStateDict(dict: Record<string, Tensor>, options: { strict?: boolean } = {}): void {
    if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) {
      throw new Error(`loadStateDict: expected a state dict (an object of Tensors by name), got ${describe(dict)}`);
    }
    checkOptions('loadStateDict', options, { strict: boolean });
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !Object.hasOwn(dict, k));
    const unexpected = Object.keys(dict).filter((k) => !Object.hasOwn(own, k));
    if (strict && (missing.length || unexpected.length)) {
      const parts = [];
      if (missing.length) parts.push(`missing ${listNames(missing)}`);
      if (unexpected.length) parts.push(`unexpected ${listNames(unexpected)}`);
      throw new Error(`loadStateDict: the state dict does not match the model: ${parts.join('; ')}`);
    }
    // Every value is converted and checked here, so that the copies below cannot fail halfway.
    const pairs: [Float32Array | BigInt64Array, Tensor][] = [];
    for (const [name, target] of Object.entries(own)) {
      if (!Object.hasOwn(dict, name)) continue;
      const src = dict[name];
      if (!(src instanceof Tensor)) throw new Error(`loadStateDict: ${name} must be a Tensor, got ${describe(src)}`);
      if (!sameShape(src.shape, target.shape)) {
        throw new Error(`loadStateDict: ${name} has shape ${briefShape(src.shape)}, the model expects ${formatShape(target.shape)}`);
      }
      pairs.push([target.dtype === 'int64' ? countValues(name, src) : finiteValues(name, src), target]);
    }
    for (const [values, target] of pairs) {
      if (values instanceof BigInt64Array) (target.host as BigInt64Array).set(values);
      else target.view().set(values);
    }
  }

  /**
   * Releases this module's wasm memory (and that of the modules inside it) at once, rather than
   * when the garbage collector finds it dropped. The module cannot run afterwards.
   */
  dispose(): void {
    this.disposed = true;
    for (const [, p] of this.params) p.dispose();
    for (const [, b] of this.buffers) b.block?.free();
    for (const b of this.scratchBlocks.values()) b.free();
    this.scratchBlocks.clear();
    for (const [, c] of this.children()) c.dispose();
  }

  /**
   * Throws when this module, or one inside it, was disposed: its kernels would read (and write)
   * memory that may belong to another model by now.
   */
  private checkNotDisposed(): void {
    if (this.disposed) throw new Error(`${this.label()}: this module was disposed (dispose() released its memory), so it cannot run`);
    for (const [, c] of this.children()) c.checkNotDisposed();
  }

  /** The number of learnable values (the sizes of every parameter, added up). */
  parameterCount(): number { return this.parameters().reduce((n, p) => n + p.size, 0); }

  // ---- helpers for layer implementations ----

  /**
   * @internal Registers a parameter under its PyTorch name, filled with `fill` (default 0). When
   * the memory cannot hold it, what this module allocated so far is released before the Error
   * leaves the constructor, so a refused layer holds no memory.
   */
  protected addParameter(name: string, shape: readonly number[], fill = 0): Parameter {
    const p = this.allocating(() => new Parameter(shape, undefined, this.memberName(name, shape)));
    rt().kernels.fill(p.data.ptr, p.size, fill);
    this.params.push([name, p]);
    return p;
  }

  /** @internal Registers a float32 buffer (device) under its PyTorch name, filled with `fill`. */
  protected addBuffer(name: string, shape: readonly number[], fill: number): Tensor {
    const block = this.allocating(() => new Block(shapeSize(shape) * 4, this.memberName(name, shape)));
    const t = new Tensor(shape, block);
    rt().kernels.fill(t.ptr, t.size, fill);
    this.buffers.push([name, t]);
    return t;
  }

  /**
   * "Linear weight [1000000, 1000000]": names a parameter or buffer while the constructor runs,
   * when label() may read fields not yet set.
   */
  private memberName(name: string, shape: readonly number[]): string {
    return `${this.constructor.name} ${name} ${formatShape(shape)}`;
  }

  /** Runs a constructor-time allocation; on failure releases this module's memory and rethrows. */
  private allocating<T>(allocate: () => T): T {
    try {
      return allocate();
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  /** @internal Registers an int64 host buffer (num_batches_tracked). */
  protected addInt64Buffer(name: string, shape: readonly number[]): Tensor {
    const t = new Tensor(shape, new BigInt64Array(shapeSize(shape)));
    this.buffers.push([name, t]);
    return t;
  }

  /** @internal A block of at least `bytes` kept under `key`; reused while big enough. */
  protected scratch(key: string, bytes: number): Block {
    const have = this.scratchBlocks.get(key) ?? null;
    const block = reuseBlock(have, bytes, `${this.label()} ${key} buffer`);
    if (block !== have) this.scratchBlocks.set(key, block);
    return block;
  }

  /**
   * @internal A device tensor of `shape` in the scratch block `key`, for a new result of `call`
   * ('forward()' or 'backward()'): tensors handed out over that block before become stale.
   */
  protected output(key: string, shape: readonly number[], call = 'forward()'): Tensor {
    const block = this.scratch(key, shapeSize(shape) * 4);
    block.reissue(this, call);
    return new Tensor(shape, block);
  }

  /**
   * @internal Host tensors are copied into a scratch block; device tensors are used in place,
   * once checked to be intact (not released, not overwritten by a later result). Either way
   * non-finite values are refused with an Error naming `what`.
   */
  protected stage(key: string, x: Tensor, what: string, call = 'forward()'): Tensor {
    if (x.dtype !== 'float32') throw new Error(`${what}: expected a float32 tensor, got ${x.dtype}`);
    let d = x;
    if (x.onDevice) {
      x.assertLive(what);
    } else {
      d = this.output(key, x.shape, call);
      d.view().set(x.view());
    }
    const bad = rt().kernels.countNonFinite(d.ptr, d.size);
    if (bad > 0) throw new Error(`${what}: ${bad} of ${d.size} values are NaN or infinite`);
    return d;
  }
}

/** An own entry, whatever its name: `into['__proto__'] = t` would replace the prototype instead. */
function setEntry(into: Record<string, Tensor>, name: string, t: Tensor): void {
  Object.defineProperty(into, name, { value: t, enumerable: true, writable: true, configurable: true });
}

/** A float32 state-dict entry's values, or an Error at the first NaN or infinity. */
function finiteValues(name: string, src: Tensor): Float32Array {
  const values = src.toArray();
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new Error(`loadStateDict: ${name} holds a non-finite value at index ${i}`);
  }
  return values;
}

/** An int64 entry (num_batches_tracked, a count): from int64 as it is, from float32 only when whole and ≥ 0. */
function countValues(name: string, src: Tensor): BigInt64Array {
  if (src.dtype === 'int64') {
    const counts = src.toInt64Array();
    const i = counts.findIndex((v) => v < 0n);
    if (i >= 0) throw new Error(`loadStateDict: ${name} holds ${counts[i]} at index ${i}, expected a count (an integer ≥ 0)`);
    return counts;
  }
  const values = src.toArray();
  const i = values.findIndex((v) => !Number.isSafeInteger(v) || v < 0);
  if (i >= 0) throw new Error(`loadStateDict: ${name} holds ${values[i]} at index ${i}, expected a count (an integer ≥ 0)`);
  return BigInt64Array.from(values, (v) => BigInt(v));
}

/** @internal Whether two shapes are equal. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** @internal Fills a device tensor with zeros (for layer code). */
export function zero(t: Tensor): void { rt().kernels.fill(t.ptr, t.size, 0); }

export { f32 };
