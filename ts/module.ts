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
  // Private (#) rather than TypeScript-private: such fields are not own enumerable properties, so
  // the property scan that registers children and parameters never sees them, and a subclass may
  // use any property name.
  /** Parameters registered by name (registerParameter, or addParameter in layers), in order. */
  readonly #registeredParams: [string, Parameter | null][] = [];
  /** Buffers (registerBuffer), in order: non-learnable state saved in the state dict. */
  readonly #buffers: [string, Tensor | null][] = [];
  /** The wasm blocks of this module's buffers, released by dispose(). */
  readonly #bufferBlocks: Block[] = [];
  private readonly scratchBlocks = new Map<string, Block>();
  private lastOutShape: readonly number[] | null = null;
  /** The tensor the last forward() returned: a loss computed from an older one cannot back-propagate. */
  private lastOutput: Tensor | null = null;
  /** Set when a forward() failed after layers had run: their activations belong to no complete call. */
  private forwardFailed = false;
  private disposed = false;

  /** A module in training mode with no parameters or buffers; layers register theirs in their constructors. */
  constructor() {}

  /**
   * PyTorch-style description, e.g. `Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))`; for a
   * module of your own, its class name and its children, one per line, as PyTorch prints it.
   */
  toString(): string {
    const name = this.constructor.name || 'Module';
    const kids = this.children();
    if (!kids.length) return `${name}()`;
    const inner = kids.map(([n, c]) => `  (${n}): ${String(c).replace(/\n/g, '\n  ')}`);
    return `${name}(\n${inner.join('\n')}\n)`;
  }

  /** A one-line name for error messages: the description, or the class name when that spans lines. */
  label(): string {
    const s = String(this);
    return s.includes('\n') ? (this.constructor.name || 'Module') : s;
  }

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
    return m === this || (m instanceof Module && this.modules().includes(m));
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
    for (const m of this.modules()) if (m !== this) m.checkSavedOwn();
  }

  /** @internal checkSaved() of this module alone: layers that keep their input override checkSaved(). */
  checkSavedOwn(): void {
    if (this.children().length === 0) this.checkSaved();
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
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  /** Sets eval mode (Dropout off, BatchNorm on its running statistics), as train(false). Returns the module. */
  eval(): this { return this.train(false); }

  /**
   * @internal The child modules with their names: the own properties holding a Module, in the
   * order they were first assigned (PyTorch's __setattr__ order). Sequential and ModuleList name
   * theirs '0', '1', .... A property holding an array of modules is refused: PyTorch does not
   * register one either, and its modules would be left out of parameters(), eval() and files.
   */
  children(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const key of Object.keys(this)) {
      const v = (this as Record<string, unknown>)[key];
      if (v instanceof Module) out.push([key, v]);
      else if (Array.isArray(v) && v.some((e) => e instanceof Module)) {
        throw new Error(`${this.constructor.name || 'Module'}: property ${JSON.stringify(key)} holds an array of modules, which is not ` +
          'registered (as in PyTorch): their parameters would not be trained or saved; use sn.ModuleList (this.' +
          `${key} = new sn.ModuleList([...])) or sn.Sequential`);
      }
    }
    return out;
  }

  /**
   * Every module reachable from this one with its state_dict path ('' for this one, then
   * 'conv1', 'layer1.0.conv1', ...), parents before their children, each module once (a module
   * held in two places keeps its first path), as PyTorch's named_modules().
   *
   * @throws Error when modules are nested more than 256 deep (a structure that refers to itself
   *   through a chain of new modules, say), naming the path.
   */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    // An explicit stack rather than recursion: no call depth, and no array copied per level.
    const stack: [string, Module, number][] = [[prefix.replace(/\.$/, ''), this, 0]];
    while (stack.length) {
      const [path, m, depth] = stack.pop()!;
      if (seen.has(m)) continue;
      if (depth > MAX_MODULE_DEPTH) {
        throw new Error(`${this.label()}: modules are nested more than ${MAX_MODULE_DEPTH} deep (at ${path}); ` +
          'a module that holds one of its ancestors through new modules at every level, perhaps');
      }
      seen.add(m);
      out.push([path, m]);
      const kids = m.children();
      for (let i = kids.length - 1; i >= 0; i--) stack.push([path ? `${path}.${kids[i][0]}` : kids[i][0], kids[i][1], depth + 1]);
    }
    return out;
  }

  /** This module and every module inside it, each once, parents first (PyTorch's modules()). */
  modules(): Module[] { return this.namedModules().map(([, m]) => m); }

  /**
   * This module's own parameters (not its children's) with their names: those registered by name
   * (registerParameter), then the own properties holding a Parameter, in assignment order.
   */
  #ownParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [n, p] of this.#registeredParams) if (p) out.push([n, p]);
    for (const key of Object.keys(this)) {
      const v = (this as Record<string, unknown>)[key];
      if (v instanceof Parameter && !this.#registeredParams.some(([, p]) => p === v)) out.push([key, v]);
    }
    return out;
  }

  /**
   * Every parameter with its PyTorch state_dict name, e.g. [['0.weight', p], ['0.bias', q], ...]
   * in a Sequential, ['conv1.weight', ...] in a module of your own; `prefix` is put before each
   * name. A parameter held under two names is listed under both, as in PyTorch's state_dict.
   */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [path, m] of this.namedModules()) {
      const at = prefix + (path ? `${path}.` : '');
      for (const [n, p] of m.#ownParameters()) out.push([at + n, p]);
    }
    return out;
  }

  /**
   * Every learnable parameter of this module and those inside it, in state_dict order, each once
   * (a shared parameter is not repeated): what an optimizer takes.
   */
  parameters(): Parameter[] { return [...new Set(this.namedParameters().map(([, p]) => p))]; }

  /**
   * The non-learnable state saved with the model (BatchNorm's running_mean, running_var,
   * num_batches_tracked, and what registerBuffer() added) with PyTorch names; `prefix` is put
   * before each name.
   */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [path, m] of this.namedModules()) {
      const at = prefix + (path ? `${path}.` : '');
      for (const [n, b] of m.#buffers) if (b) out.push([at + n, b]);
    }
    return out;
  }

  /** The buffers of this module and those inside it, in state_dict order. */
  buffers(): Tensor[] { return this.namedBuffers().map(([, b]) => b); }

  /**
   * Adds a buffer, as PyTorch's register_buffer: state that is saved in the state dict and files
   * but not learned (a running statistic, a fixed mask). The values are copied into memory this
   * module owns (float32 into wasm memory, int64 on the host) and stay there until dispose(); the
   * buffer is readable as the property `name` (unless the class already has a member of that
   * name) and returned. Registering a name again replaces the buffer; null registers none.
   *
   * @param name The state_dict name: a non-empty string without '.'.
   * @param tensor The initial values (float32 or int64), or null.
   *
   * @example
   * ```js
   * class Scale extends sn.Module {
   *   constructor(c) { super(); this.registerBuffer('scale', sn.tensor(new Float32Array(c).fill(2), [1, c, 1, 1])); }
   *   forward(x) { return sn.mul(x, this.scale); }
   * }
   * ```
   */
  registerBuffer(name: string, tensor: Tensor | null): Tensor | null {
    this.#checkMemberName('registerBuffer', name, this.#buffers);
    if (tensor !== null) checkTensor(`${this.constructor.name}.registerBuffer`, 'tensor', tensor);
    let copy: Tensor | null = null;
    if (tensor?.dtype === 'int64') copy = new Tensor(tensor.shape, tensor.toInt64Array());
    else if (tensor) {
      const values = tensor.toArray();
      const block = new Block(values.length * 4, `${this.constructor.name} buffer ${name} ${formatShape(tensor.shape)}`);
      this.#bufferBlocks.push(block);
      copy = new Tensor(tensor.shape, block);
      copy.view().set(values);
    }
    this.#register(this.#buffers, name, copy);
    return copy;
  }

  /**
   * Adds a parameter under `name`, as PyTorch's register_parameter; assigning a Parameter to a
   * property (`this.scale = new sn.Parameter([c])`) registers it too, under the property's name.
   * Readable as the property `name` unless the class already has a member of that name; null
   * registers none (as a layer without bias).
   */
  registerParameter(name: string, param: Parameter | null): void {
    this.#checkMemberName('registerParameter', name, this.#registeredParams);
    if (param !== null && !(param instanceof Parameter)) {
      throw new Error(`${this.constructor.name}.registerParameter: expected a Parameter or null, got ${describe(param)}`);
    }
    this.#register(this.#registeredParams, name, param);
  }

  /** A state_dict name: a non-empty string without '.', not another member (unless re-registered in `list`). */
  #checkMemberName(fn: string, name: unknown, list: [string, unknown][]): void {
    const where = `${this.constructor.name}.${fn}`;
    if (typeof name !== 'string' || name === '' || name.includes('.')) {
      throw new Error(`${where}: name must be a non-empty string without '.', got ${describe(name)}`);
    }
    if (!list.some(([n]) => n === name) && Object.hasOwn(this, name)) {
      throw new Error(`${where}: this module already has a property ${JSON.stringify(name)}`);
    }
  }

  /** Adds or replaces an entry; a new name gets a property that reads (and replaces) it. */
  #register<T>(list: [string, T][], name: string, value: T): void {
    const at = list.findIndex(([n]) => n === name);
    if (at >= 0) { list[at][1] = value; return; }
    list.push([name, value]);
    // Names like 'constructor' or '__proto__' stay entries only: a property would shadow the member.
    if (name in this) return;
    Object.defineProperty(this, name, {
      get: () => list.find(([n]) => n === name)![1],
      set: (v: T) => {
        if (list === (this.#buffers as unknown)) this.registerBuffer(name, v as Tensor | null);
        else this.registerParameter(name, v as Parameter | null);
      },
      enumerable: false,
      configurable: true,
    });
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
    for (const [path, m] of this.namedModules()) {
      const at = prefix + (path ? `${path}.` : '');
      for (const [name, p] of m.#ownParameters()) setEntry(into, at + name, p.data);
      for (const [name, b] of m.#buffers) if (b) setEntry(into, at + name, b);
    }
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
    for (const m of this.modules()) m.#release();
  }

  /** Releases this module's own memory (not its children's). */
  #release(): void {
    this.disposed = true;
    for (const [, p] of this.#ownParameters()) p.dispose();
    for (const b of this.#bufferBlocks) b.free();
    for (const b of this.scratchBlocks.values()) b.free();
    this.scratchBlocks.clear();
  }

  /**
   * Throws when this module, or one inside it, was disposed: its kernels would read (and write)
   * memory that may belong to another model by now.
   */
  private checkNotDisposed(): void {
    for (const m of this.modules()) {
      if (m.disposed) throw new Error(`${m.label()}: this module was disposed (dispose() released its memory), so it cannot run`);
    }
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
    this.#register(this.#registeredParams, name, p);
    return p;
  }

  /** @internal Registers a float32 buffer (device) under its PyTorch name, filled with `fill`. */
  protected addBuffer(name: string, shape: readonly number[], fill: number): Tensor {
    const block = this.allocating(() => new Block(shapeSize(shape) * 4, this.memberName(name, shape)));
    this.#bufferBlocks.push(block);
    const t = new Tensor(shape, block);
    rt().kernels.fill(t.ptr, t.size, fill);
    this.#register(this.#buffers, name, t);
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
    this.#register(this.#buffers, name, t);
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

/**
 * The deepest nesting of modules that traversals follow (256 levels, far beyond any real network:
 * ResNet-152 has 4); deeper is a structure gone wrong, refused with an Error naming the path.
 */
export const MAX_MODULE_DEPTH = 256;

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
