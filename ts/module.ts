// Module: the base of every layer, of Sequential and of modules of your own. A layer owns its
// parameters, gradients and the buffers it needs for backward, allocated once per input shape and
// reused. A module registers the children and parameters assigned to its properties; its forward
// (a subclass's method) runs wrapped: checked by a shape-only dry run, recorded in the autograd
// graph (autograd/graph.ts), its errors named by module path (autograd/state.ts).
import { Block, f32, reuseBlock } from './runtime/block.js';
import { rt } from './runtime/wasm.js';
import { countNonFinite } from './runtime/split.js';
import { Tensor, formatShape, shapeSize, checkTensor } from './tensor.js';
import { enterForward, leaveForward } from './forward-journal.js';
import { FusableResult } from './layers/epilogue.js';
import { OpSite } from './functional/site.js';
import type { EvaluateOptions, FitHistory, FitOptions, PredictOptions, fit as fitFunction } from './train/fit.js';
import type { evaluate as evaluateFunction } from './train/evaluate.js';
import type { Loss } from './losses/loss.js';
import { Dataset } from './data/dataset.js';
import type { Profile, ProfileOptions } from './train/profile.js';
import type { Target } from './train/targets.js';
import type { OnnxExportOptions } from './io/onnx/export.js';
import { BoundaryNode, GradNode, ParamNode, backwardFrom, nextNodeId } from './autograd/graph.js';
import {
  Frame, annotateError, currentFrame, dryRun, isDryRun, isGradEnabled, isRecording, pathOf, popFrame, profileClock, profiler, pushFrame,
} from './autograd/state.js';
import { briefShape, listNames } from './io/untrusted.js';
import { boolean, checkOptions, describe } from './options.js';

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
    // Functional ops given this parameter record it: its gradient accumulates into grad.
    this.data.node = new ParamNode(this.grad, what);
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

/** Model calls so far (outermost forward calls): the structure Module#inside walked holds for one. */
let forwardCalls = 0;
/** Whether a model call is in progress (its structure assumed to stay as it was when it began). */
let inModelCall = false;
/** dispose() calls so far: a module checked since the last one needs no new walk for them. */
let disposals = 0;

/** The modules inside one (itself included) during one model call, and whether one holds a parameter (worked out when asked). */
interface Inside { call: number; modules: Set<Module>; params: boolean | null }

/**
 * The base of every layer, of {@link Sequential} and of modules of your own, as torch.nn.Module.
 * A module owns its parameters and the buffers of its last call in wasm memory (allocated once
 * per input shape and reused, so a training step allocates nothing), runs with `forward(x)` and
 * back-propagates with `backward(dy)` (usually through `loss.backward()`), which accumulates its
 * parameters' gradients.
 *
 * A module of your own extends it with a `forward` method, as in PyTorch: modules and
 * {@link Parameter}s assigned to its properties are registered in assignment order (use
 * {@link ModuleList} for a list of modules, `registerBuffer` for saved state), functional ops
 * (`sn.add`, `sn.relu`, ...) record their gradients, and everything a model has (fit, evaluate,
 * predict, profile, summary, files) works on it.
 *
 * Modules start in training mode: `eval()` switches Dropout off and makes BatchNorm use its
 * running statistics; `train()` switches back. Parameters and buffers are named as in PyTorch's
 * `state_dict` (`weight`, `running_mean`, `0.weight` inside a Sequential, `layer1.0.conv1.weight`
 * in a module of your own), so weights move between the two with `stateDict()` /
 * `loadStateDict()` or safetensors files.
 *
 * @example
 * ```js
 * const layer = new sn.Linear(4, 2);
 * const y = layer.forward(sn.tensor(new Float32Array(3 * 4), [3, 4]));   // [3, 2]
 * const dx = layer.backward(sn.tensor(new Float32Array(3 * 2).fill(1), [3, 2]));  // [3, 4]
 * layer.weight.grad.toArray();     // dL/dW, accumulated
 * layer.zeroGrad();
 *
 * class Residual extends sn.Module {
 *   constructor(c) { super(); this.conv = new sn.Conv2d(c, c, 3, { padding: 1 }); this.bn = new sn.BatchNorm2d(c); }
 *   forward(x) { return sn.relu(sn.add(this.bn.forward(this.conv.forward(x)), x)); }
 * }
 * Object.keys(new Residual(8).stateDict());   // ['conv.weight', 'conv.bias', 'bn.weight', ...]
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
  /** Calls of forwardDevice so far: a layer's node is stale once another call has replaced its activations. */
  #calls = 0;
  /** The pass of the last call: a second call in the same pass is refused in training. */
  #lastPass = 0;
  /** The same for dry runs (one may run inside a real pass, from outputShape() in a forward). */
  #lastDryPass = 0;
  /** The input boundaries of the last call (where its backward stops and its input gradients gather). */
  #boundaries: BoundaryNode[] = [];
  /** The ids of the graph nodes the last call of a module of your own made. */
  #range: [number, number] | null = null;
  #lastInputShape: readonly number[] | null = null;
  /** The places of the functional ops of a call, by sequence number: their buffers are this module's. */
  readonly #opSites: OpSite[] = [];
  /** What #inside worked out during the forward call numbered `call`: the modules inside this one, and whether one holds a parameter. */
  #insideMemo: Inside | null = null;
  /** The count of dispose() calls when this module's last forward found nothing inside it disposed. */
  #checkedAtDisposals = -1;

  /**
   * A module in training mode with no parameters or buffers; layers register theirs in their
   * constructors, and modules of your own by assigning them to properties after super().
   */
  constructor() {
    // A subclass's forward (the user's method, or Sequential's) runs inside the library's
    // bookkeeping: this instance gets an own forward that wraps it. It is found on the prototype
    // chain here, before the subclass constructor runs.
    const own = this.forward;
    if (own !== Module.prototype.forward) {
      Object.defineProperty(this, 'forward', {
        value: (...args: unknown[]) => this.#call(own as (...a: unknown[]) => unknown, args),
        writable: true, configurable: true, enumerable: false,
      });
    }
  }

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
    // The default description of a module with children spans lines: its class name, without building it.
    if (this.toString === Module.prototype.toString && this.children().length) return this.constructor.name || 'Module';
    const s = String(this);
    return s.includes('\n') ? (this.constructor.name || 'Module') : s;
  }

  /**
   * The output shape for the given input shapes, without running anything, e.g. [N, 6, 28, 28]
   * for Conv2d(1, 6, 5, { padding: 2 }) on [N, 1, 28, 28]; throws an Error naming the module
   * (its path inside this one, such as `layer2.1.conv1`) that does not take its input. Layers
   * compute it; any other module runs its forward() as a shape-only dry run: the same code on
   * tensors that have a shape but no values, where layers and ops only work out shapes.
   *
   * @param inputShapes One shape per tensor argument of forward(), e.g. [N, C, H, W].
   */
  outputShape(...inputShapes: (readonly number[])[]): number[] {
    if (this.forward === Module.prototype.forward) {
      throw new Error(`${this.label()}: a layer that implements forwardDevice() must implement outputShape() too`);
    }
    inputShapes.forEach((s, i) => {
      if (!Array.isArray(s) || !s.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new Error(`${this.label()}: outputShape: input shape ${i} must be an array of non-negative integers, got ${describe(s)}`);
      }
    });
    const y = dryRun(() => this.forward(...(inputShapes.map((s) => Tensor.meta(s)) as [Tensor])));
    if (!(y instanceof Tensor)) throw new Error(`${this.label()}: forward() returned ${describe(y)}, not a Tensor`);
    return [...y.shape];
  }

  /** @internal Runs on a device tensor whose shape outputShape() accepted (layers implement it). */
  forwardDevice(_x: Tensor): Tensor {
    throw new Error(`${this.label()}: a module needs a forward(x) method (or, for a layer on wasm memory, forwardDevice)`);
  }

  /** @internal dL/dy (device, shape of the last output) → dL/dx, or null when not needed (layers implement it). */
  backwardDevice(_dy: Tensor, _needInputGrad: boolean): Tensor | null {
    throw new Error(`${this.label()}: backwardDevice() is implemented by layers; a module with a forward() method back-propagates through its graph`);
  }

  /**
   * Runs the module on a batch, as PyTorch's `module(x)`. A module of your own overrides this
   * with its computation (calling its children's forward and functional ops such as `sn.add`);
   * the library wraps it, so that every call is checked first (a dry run of the whole forward on
   * shapes, then the inputs' values), records what backward() needs, names the module path in
   * errors (`layer2.1.conv1 (Conv2d(…))`), and, when an Error escapes, puts back state that the
   * call changed (BatchNorm's running statistics).
   *
   * The result is a view of a buffer of the module that made it, valid until that module runs
   * again (reading it afterwards throws; toArray() keeps a copy). A BatchNorm's result is written
   * only when something reads it: a ReLU or ReLU6 given it computes its own output straight from
   * the BatchNorm's input, in one sweep; if nothing has read it by the time that input changes (the
   * layer before runs again), reading it throws as a stale result does. In training mode, with
   * gradients enabled (not inside sn.noGrad), each module keeps the activations of one call for
   * backward, so calling the same module twice in one forward is refused at the second call.
   *
   * @param x The input, host or device, of a shape the module takes (NCHW for images); a module
   *   of your own may take several arguments.
   * @returns The output, of shape outputShape(x.shape).
   */
  forward(x: Tensor, ..._more: unknown[]): Tensor {
    return this.#call(null, [x, ..._more]) as Tensor;
  }

  /** A call of this module: the leaf path (forwardDevice) when `user` is null, else the wrapped forward. */
  #call(user: ((...args: unknown[]) => unknown) | null, args: unknown[]): unknown {
    const running = currentFrame();
    // super.forward(x) from a subclass's own forward: the layer's work, inside the call already made.
    if (user === null && running?.module === this) {
      if (!isDryRun()) return this.#leafBody(args[0] as Tensor, running, true);
      const x = args[0];
      checkTensor(() => this.label(), 'the input of forward()', x);
      const y = Tensor.meta(this.outputShape(x.shape));
      layerTracer?.(running, this, x, y);
      return y;
    }
    if (isDryRun()) return this.#dryCall(user, args);
    if (running !== null) return this.#enter(user, args, false);
    // A model call: the structure its checks walk (#inside) holds until it returns.
    forwardCalls++;
    inModelCall = true;
    try {
      return this.#enter(user, args, true);
    } finally {
      inModelCall = false;
    }
  }

  /** A call's checks and body, `outermost` for a model call (no module call in progress). */
  #enter(user: ((...args: unknown[]) => unknown) | null, args: unknown[], outermost: boolean): unknown {
    if (outermost) this.checkNotDisposed(true);
    else if (this.disposed) throw new Error(`${this.label()}: this module was disposed (dispose() released its memory), so it cannot run`);
    // Checks before anything runs: the whole forward on shapes first (layers check their own).
    if (outermost && user !== null) dryRun(() => this.forward(...(args.map((a) => (a instanceof Tensor ? Tensor.meta(a.shape, a.dtype) : a)) as [Tensor])));
    // Only the outermost forward() owns the undo journal: nested calls add to it.
    const journal = enterForward();
    const frame = pushFrame(this);
    let failed = true;
    try {
      this.#checkOnce(frame);
      const y = user === null ? this.#leafBody(args[0] as Tensor, frame) : this.#compositeBody(user, args);
      failed = false;
      return y;
    } catch (err) {
      throw annotateError(err, frame, user === null);
    } finally {
      popFrame(frame);
      leaveForward(journal, failed);
    }
  }

  /** The same call as a shape-only dry run: shapes checked and computed, nothing runs or changes. */
  #dryCall(user: ((...args: unknown[]) => unknown) | null, args: unknown[]): unknown {
    const frame = pushFrame(this);
    try {
      this.#checkOnce(frame);
      if (user !== null) {
        const out = user.apply(this, args);
        if (out instanceof Tensor) dryRunHook?.(frame, this, out.shape);
        return out;
      }
      const x = args[0];
      checkTensor(() => this.label(), 'the input of forward()', x);
      if (x.dtype !== 'float32') throw new Error(`${this.label()} input: expected a float32 tensor, got ${x.dtype}`);
      const y = Tensor.meta(this.outputShape(x.shape));
      layerTracer?.(frame, this, x, y);
      dryRunHook?.(frame, this, y.shape);
      return y;
    } catch (err) {
      throw annotateError(err, frame, user === null);
    } finally {
      popFrame(frame);
    }
  }

  /**
   * In training mode with gradients on, a module keeps one call's activations for backward: a
   * second call in the same pass would overwrite what the first needs, so it is refused there.
   */
  #checkOnce(frame: Frame): void {
    const dry = isDryRun();
    const again = (dry ? this.#lastDryPass : this.#lastPass) === frame.pass;
    if (dry) this.#lastDryPass = frame.pass; else this.#lastPass = frame.pass;
    if (again && this.training && isGradEnabled() && !frame.quiet) {
      throw new Error(`${this.label()}: called a second time in one forward pass; in training mode a module keeps the ` +
        'activations of one call for backward(), so a second call in the same graph would overwrite what the first ' +
        'needs: use a separate instance for each call (shared weights are not supported yet), or run inference in ' +
        'eval() mode or inside sn.noGrad()');
    }
  }

  /** A layer's call: input checked and staged, forwardDevice, and the node that back-propagates it. */
  #leafBody(x: Tensor, frame: Frame, reentered = false): Tensor {
    checkTensor(() => this.label(), 'the input of forward()', x);
    const outShape = this.outputShape(x.shape);
    const xd = this.stage('input', x, () => `${this.label()} input`, 'forward()', !this.checksOwnInput(x));
    // A host input was just copied into this module's buffer: that copy is not an earlier output
    // (nor is this call's own copy of its input, when a subclass's forward calls super.forward).
    const input = x.onDevice && !reentered ? this.ownInput(xd) : xd;
    // Every check passed: from here on layers run, and a failure leaves their activations mixed.
    this.forwardFailed = true;
    const call = ++this.#calls;
    frame.leafRunning = true;
    const start = profiler ? profileClock() : 0;
    let y: Tensor;
    try {
      y = this.forwardDevice(input);
    } finally {
      frame.leafRunning = false;
    }
    let row: string | null = null;
    if (profiler) {
      row = pathOf(frame);
      const ms = profileClock() - start;
      // A layer fused with the activation after it: one row names both (fusedWith).
      const into = this.fusedWith();
      profiler.forward(row, row, this, ms, into);
      if (into !== null) row = into;
      const d = y.block?.deferred;
      if (d instanceof FusableResult) d.row = row;
    }
    this.forwardFailed = false;
    // A new handle when the layer passed its input through: the caller's tensor keeps its own producer and node.
    if (y === input || y === x) y = new Tensor(y.shape, y.block!, y.ptr);
    if (isRecording()) {
      const boundary = new BoundaryNode(x.node, (shape) => this.output('input0.gradSum', shape, 'backward()'));
      y.node = new LeafNode(this, call, frame, boundary);
      y.node.row = row;
      this.#boundaries = [boundary];
    } else {
      this.#boundaries = [];
    }
    y.producer = this;
    this.lastOutShape = outShape;
    this.lastOutput = y;
    return y;
  }

  /** A call of a module's own forward: inputs checked and staged, the forward run, its output kept. */
  #compositeBody(user: (...args: unknown[]) => unknown, args: unknown[]): unknown {
    const recording = isRecording();
    const boundaries: BoundaryNode[] = [];
    const first = nextNodeId();
    const inputs = args.map((a, i) => {
      if (!(a instanceof Tensor)) return a;
      let t = a;
      if (a.dtype === 'float32') {
        if (!a.onDevice) t = this.stage(`input${i}`, a, () => `${this.label()} input`);
        else {
          if (a.staleness()) a.assertLive(`${this.label()} input`);
          t = this.ownInput(a);
        }
      }
      if (!recording || !t.onDevice) return t;
      const boundary = new BoundaryNode(a.node, (shape) => this.output(`input${i}.gradSum`, shape, 'backward()'));
      boundaries.push(boundary);
      const alias = new Tensor(t.shape, t.block!, t.address);
      alias.node = boundary;
      return alias;
    });
    this.#lastInputShape = (args.find((a) => a instanceof Tensor) as Tensor | undefined)?.shape ?? null;
    this.forwardFailed = true;
    let y = user.apply(this, inputs);
    this.forwardFailed = false;
    this.#range = [first, nextNodeId() - 1];
    this.#boundaries = boundaries;
    if (y instanceof Tensor) {
      // A new handle when forward returned its input: the caller's tensor keeps its own producer.
      if (args.includes(y) && !y.isMeta) {
        const out: Tensor = y.onDevice ? new Tensor(y.shape, y.block!, y.address) : new Tensor(y.shape, y.host!);
        out.node = y.node;
        y = out;
      }
      const out = y as Tensor;
      out.producer = this;
      this.lastOutShape = out.shape;
      this.lastOutput = out;
    } else {
      this.lastOutShape = null;
      this.lastOutput = null;
    }
    return y;
  }

  /**
   * An input that lives in this module's own buffer (its own earlier output) would be read while
   * it is overwritten. In eval mode it is copied first; in training mode the layer would also lose
   * that call's activations for backward, so it is refused.
   */
  private ownInput(x: Tensor): Tensor {
    const owner = x.block?.owner;
    if (!owner) return x;
    // Inside sn.noGrad nothing back-propagates through the graph: the input is copied, as in eval mode.
    if (this.training && isGradEnabled() && this.encloses(owner)) {
      const whose = owner === this ? 'this same layer' : `${owner.label()}, a layer inside it`;
      throw new Error(`${this.label()}: the input is an output of ${whose}; in training mode a layer keeps the activations ` +
        'of one call for backward(), so a second call inside one graph would give wrong gradients: use a separate ' +
        'layer instance for each call, or eval() mode for inference');
    }
    return owner === this ? this.copyOut(x, 'ownOutputCopy') : x;
  }

  /** @internal Whether m (a module, or the op site whose buffer a tensor is) is this module or one inside it. */
  encloses(m: unknown): boolean {
    const owner = m instanceof Module ? m : (m as { host?: unknown } | null)?.host;
    if (owner === this) return true;
    if (!(owner instanceof Module)) return false;
    const inside = this.#inside();
    return inside ? inside.modules.has(owner) : this.#some((x) => x === owner);
  }

  /**
   * During a model's forward call, the modules inside this one (itself included), walked once per
   * call and module: every call checks its inputs against them (encloses) and every layer call
   * asks whether it holds parameters, which as walks of children() per call took 3–5 ms of a
   * MobileNetV2 training step. Null outside a model call, or where the walk meets a module again
   * on one path (a module that holds its ancestor) or nests past MAX_MODULE_DEPTH: #some's walk
   * answers then.
   */
  #inside(path: Module[] = []): Inside | null {
    if (!inModelCall) return null;
    const memo = this.#insideMemo;
    if (memo !== null && memo.call === forwardCalls) return memo;
    if (path.includes(this) || path.length > MAX_MODULE_DEPTH) return null;
    path.push(this);
    const modules = new Set<Module>([this]);
    for (const [, kid] of this.children()) {
      const inner = kid.#inside(path);
      if (inner === null) { path.pop(); return null; }
      for (const m of inner.modules) modules.add(m);
    }
    path.pop();
    return (this.#insideMemo = { call: forwardCalls, modules, params: null });
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
   * @internal Throws unless the last forward() can back-propagate: it ran, completed, and its
   * output was not overwritten since (a layer inside ran on its own).
   */
  checkBackward(): void {
    this.checkNotDisposed();
    if (this.forwardFailed) {
      throw new Error(`${this.label()}: backward(): its last forward() failed part way, so its layers hold the activations ` +
        'of no complete call; run forward() again first');
    }
    if (!this.lastOutShape) throw new Error(`${this.label()}: backward() called before forward()${this.lastOutput === null && this.#range ? ' (or its last forward() returned no Tensor)' : ''}`);
    // A layer inside this one may have run on its own since: its activations are not this output's any more.
    const stale = this.lastOutput!.staleness('the output of its last forward()');
    if (stale) throw new Error(`${this.label()}: backward() needs the activations of its last forward(), but ${stale}; run forward() again first`);
  }


  /**
   * @internal For a layer's graph node: throws unless the layer still holds the activations of
   * its call number `call` (not disposed, not run again since, its kept input intact).
   */
  checkCall(call: number): void {
    if (this.disposed) throw new Error(`${this.label()}: this module was disposed (dispose() released its memory), so it cannot back-propagate`);
    if (call !== this.#calls || this.forwardFailed) {
      throw new Error(`${this.label()}: backward() needs the activations of the forward() that made this graph, but the layer ` +
        'has run forward() again since (its activations belong to the later call); call backward() before running it again');
    }
    this.checkSaved();
  }

  /**
   * Back-propagates through the last forward(): adds dL/dW to the `grad` of every parameter it
   * used and returns dL/dx. Usually called for you by `loss.backward()`. A module of your own
   * back-propagates through the graph its last forward recorded (layers, functional ops, a
   * tensor used twice getting the sum of its gradients), stopping at its inputs.
   *
   * @param dy dL/dy, of the shape of the last forward()'s output.
   * @returns dL/dx, of the shape of the last forward()'s (first) input (a view of a buffer).
   * @throws Error when forward() has not run, the shape differs, or an activation it needs was
   *   overwritten since.
   */
  backward(dy: Tensor): Tensor {
    checkTensor(() => this.label(), 'the gradient given to backward()', dy);
    this.checkBackward();
    if (!sameShape(dy.shape, this.lastOutShape!)) {
      throw new Error(`${this.label()}: backward() expected a gradient of shape ${formatShape(this.lastOutShape!)}, got ${formatShape(dy.shape)}`);
    }
    const leaf = this.forward === Module.prototype.forward;
    if (leaf) this.checkSaved();
    const node = this.lastOutput!.node;
    if (!leaf && !node) {
      throw new Error(`${this.label()}: backward(): its last forward() recorded nothing to back-propagate through ` +
        '(it ran inside sn.noGrad()); run forward() again with gradients enabled');
    }
    let g = this.stage('gradOutput', dy, () => `${this.label()} output gradient`, 'backward()');
    // Its own earlier dx (lin.backward(lin.backward(dy))) would be read while being overwritten.
    if (dy.onDevice && this.backwardWritesInto(dy)) g = this.copyOut(dy, 'gradOutputCopy', 'backward()');
    if (leaf) return this.backwardDevice(g, true)!;
    const results = backwardFrom(node!, g, { targets: this.#boundaries, within: this.#range! });
    const dx = this.#boundaries.length ? results.get(this.#boundaries[0]) : undefined;
    if (dx) return dx;
    // No tensor input: an empty gradient. An input that was not used: a zero one.
    if (!this.#lastInputShape) return new Tensor([0], new Float32Array(0));
    const zeros = this.output('dxZero', this.#lastInputShape, 'backward()');
    zero(zeros);
    return zeros;
  }

  /**
   * @internal Whether forwardDevice checks its input `x` for NaN and infinity itself, in a sweep it
   * makes anyway (ReLU, a training BatchNorm's statistics, an eval BatchNorm2d fused into the
   * convolution before it), so forward() need not sweep it first.
   */
  checksOwnInput(_x: Tensor): boolean { return false; }

  /** @internal The profile row of the layer call this one's last call was fused with, or null. */
  fusedWith(): string | null { return null; }

  /**
   * @internal Throws when an input that the last forward() kept for backward() has been overwritten
   * or released since (the layer that produced it ran again): gradients from it would be wrong.
   * Layers that keep their input override this.
   */
  checkSaved(): void {}

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
   * Whether `test` holds for this module or one inside it: namedModules()'s walk (each module once,
   * the same depth bound) without the paths, stopping at the first. The checks every call makes
   * use it: building the paths was a few percent of a small network's training step.
   */
  #some(test: (m: Module) => boolean): boolean {
    const seen = new Set<Module>();
    const stack: [Module, number][] = [[this, 0]];
    while (stack.length) {
      const [m, depth] = stack.pop()!;
      if (seen.has(m)) continue;
      if (depth > MAX_MODULE_DEPTH) this.namedModules(); // throws, naming the path
      seen.add(m);
      if (test(m)) return true;
      const kids = m.children();
      for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i][1], depth + 1]);
    }
    return false;
  }

  /** @internal Whether this module or one inside it holds a parameter (parameters().length > 0, without the names). */
  hasParameters(): boolean {
    const inside = this.#inside();
    if (inside === null) return this.#some((m) => m.#holdsParameter());
    if (inside.params === null) {
      inside.params = false;
      for (const m of inside.modules) if (m.#holdsParameter()) { inside.params = true; break; }
    }
    return inside.params;
  }

  /** Whether #ownParameters() would list any, without listing them (every layer call asks, through hasParameters). */
  #holdsParameter(): boolean {
    if (this.#registeredParams.some(([, p]) => p !== null)) return true;
    for (const key of Object.keys(this)) if ((this as Record<string, unknown>)[key] instanceof Parameter) return true;
    return false;
  }

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
    disposals++;
    for (const [, p] of this.#ownParameters()) p.dispose();
    for (const b of this.#bufferBlocks) b.free();
    for (const b of this.scratchBlocks.values()) b.free();
    this.scratchBlocks.clear();
  }

  /**
   * Throws when this module, or one inside it, was disposed: its kernels would read (and write)
   * memory that may belong to another model by now.
   */
  private checkNotDisposed(atForward = false): void {
    const refuse = (m: Module) => new Error(`${m.label()}: this module was disposed (dispose() released its memory), so it cannot run`);
    // backward() after a forward that found nothing disposed, with no dispose() since: nothing to walk.
    if (!atForward && this.#checkedAtDisposals === disposals) return;
    const inside = this.#inside();
    if (inside === null) {
      this.#some((m) => { if (m.disposed) throw refuse(m); return false; });
    } else {
      for (const m of inside.modules) if (m.disposed) throw refuse(m);
    }
    if (atForward) this.#checkedAtDisposals = disposals;
  }

  /** The number of learnable values (the sizes of every parameter, added up). */
  parameterCount(): number { return this.parameters().reduce((n, p) => n + p.size, 0); }

  // ---- the model: training, evaluation, files (any module; see model-ops.ts) ----

  /**
   * Trains the module with mini-batches, Keras-style: the function {@link fit} on this module (a
   * Sequential or a module of your own). `checkpoint` may also be a file path (Node): the model
   * is saved there after every epoch.
   *
   * @param x The inputs, N samples: [N, ...] as the model takes them.
   * @param y N class labels (Int32Array, BigInt64Array, an array of integers, an int64 Tensor),
   *   or a float32 Tensor target [N, ...] (for MSELoss and the like).
   * @param options See {@link ModelFitOptions}; default 1 epoch, batch size 32, Adam 1e-3.
   * @returns The per-epoch history (loss, accuracy, valLoss, valAccuracy, lr) and why it stopped.
   *
   * @example
   * ```js
   * const history = await model.fit(train.images, train.labels, {
   *   epochs: 10, batchSize: 64, validationSplit: 0.1, seed: 0, checkpoint: 'model.safetensors' });
   * ```
   */
  fit(x: Tensor, y: Target, options?: ModelFitOptions): Promise<FitHistory>;
  /**
   * Trains the module on the batches of a dataset ({@link Dataset}, e.g. CIFAR-10 streamed from
   * disk); the options as for tensors, less validationSplit (give validationData, a Dataset or
   * [x, y]). See the function {@link fit}.
   *
   * @example
   * ```js
   * const train = (await sn.data.cifar10Dataset('cifar-10-batches-bin')).shuffle(10000).batch(128);
   * await model.fit(train, { epochs: 30, optimizer: new sn.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }) });
   * ```
   */
  fit(data: Dataset, options?: ModelFitOptions): Promise<FitHistory>;
  fit(x: Tensor | Dataset, y?: Target | ModelFitOptions, options?: ModelFitOptions): Promise<FitHistory> {
    const ops = modelMethods();
    try {
      // With a dataset the options come second.
      const onData = x instanceof Dataset;
      if (onData && options !== undefined) throw new Error(DATASET_ARGUMENTS('fit'));
      const raw = onData ? y : options;
      // Checked before the spread below, which would turn a string or an array into keys; null is
      // refused as fit(model, x, y, null) refuses it.
      ops.checkFitOptionsObject(raw === undefined ? {} : raw);
      const given = (raw ?? {}) as ModelFitOptions;
      const { checkpoint } = given;
      if (checkpoint === '') throw new Error('fit: checkpoint must be a file path or a function (epoch) => void, got an empty string');
      // In a page, before any training: a path would fail only after the first epoch.
      if (typeof checkpoint === 'string') ops.checkCanWrite('fit: checkpoint (a file path)');
      const resolved: FitOptions = { ...given, checkpoint: typeof checkpoint === 'string' ? () => ops.save(this, checkpoint) : checkpoint };
      return onData ? ops.fit(this, x, resolved) : ops.fit(this, x, y as Target, resolved);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * The mean loss over x and y, and the accuracy for class labels, in eval mode without recording
   * gradients, in batches of `options.batchSize` (default 256); every module's mode is put back
   * afterwards. See {@link evaluate}.
   */
  evaluate(x: Tensor, y: Target, options?: EvaluateOptions): { loss: number; accuracy?: number };
  /** The mean loss (and accuracy) over the batches of a dataset, as above: a Promise, since a dataset may read from disk. */
  evaluate(data: Dataset, options?: { loss?: Loss }): Promise<{ loss: number; accuracy?: number }>;
  evaluate(x: Tensor | Dataset, y?: Target | { loss?: Loss }, options?: EvaluateOptions): { loss: number; accuracy?: number } | Promise<{ loss: number; accuracy?: number }> {
    if (!(x instanceof Dataset)) return modelMethods().evaluate(this, x, y as Target, options ?? {});
    if (options !== undefined) return Promise.reject(new Error(DATASET_ARGUMENTS('evaluate')));
    return modelMethods().evaluate(this, x, y as { loss?: Loss });
  }

  /**
   * Class probabilities [N, C] for x [N, ...], in eval mode: the softmax of the outputs, unless the
   * model already ends in Softmax (LogSoftmax outputs are exponentiated). A host tensor, not a view.
   */
  predict(x: Tensor, options: PredictOptions = {}): Tensor { return modelMethods().predict(this, x, options); }

  /** The most likely class of each sample of x [N, ...]: N class indices, in eval mode. */
  predictClasses(x: Tensor, options: PredictOptions = {}): Int32Array { return modelMethods().predictClasses(this, x, options); }

  /**
   * Forward/backward milliseconds of every layer call and functional op of real training steps
   * on x/y (averaged after a warm-up), a row per call named by its module path; the model's
   * weights are put back afterwards. `String(result)` is a table. See {@link profile}.
   */
  profile(x: Tensor, y: Target, options: ProfileOptions = {}): Profile { return modelMethods().profile(this, x, y, options); }

  /**
   * A table of the layers a forward runs for one sample of `inputShape` (without the batch
   * dimension), as torchsummary prints it: a row per layer call with its module path, output
   * shape and parameter count, then the total parameter count and memory. The forward runs as
   * a shape-only dry run: nothing is computed or changed. A module taking several inputs takes a
   * shape for each.
   *
   * @example
   * ```js
   * console.log(sn.models.lenet5().summary([1, 28, 28]));   // ... Total params: 61,706 ...
   * ```
   */
  summary(inputShape: readonly number[], ...moreInputShapes: (readonly number[])[]): string {
    return modelMethods().summary(this, [inputShape, ...moreInputShapes]);
  }

  /**
   * The model as safetensors bytes: the state dict under PyTorch's names (F32; num_batches_tracked
   * as I64). A Sequential of built-in layers also records its architecture in the metadata, so
   * Sequential.fromSafetensors and sn.load rebuild it; any other module's file holds its weights,
   * which load into an instance built in code (`sn.load(file, { into: model })`).
   */
  toSafetensors(): Uint8Array { return modelMethods().toSafetensors(this); }

  /**
   * Loads weights from safetensors bytes (ours, or PyTorch's state_dict saved with
   * safetensors) into this module; checked whole first, so a bad file leaves it unchanged.
   */
  loadSafetensors(bytes: Uint8Array | ArrayBuffer | ArrayBufferView, source?: string): void { modelMethods().loadSafetensors(this, bytes, source); }

  /**
   * Node: writes the model as safetensors (toSafetensors()) to `path`, through a temporary file
   * and a rename, so the file is never half written; `sn.load(path)` reads it back (a module of
   * your own: `sn.load(path, { into: model })`). In a page this is refused with an Error: use
   * `download(name)` or `toSafetensors()` there.
   */
  save(path: string): Promise<void> {
    const ops = modelMethods();
    try {
      ops.checkCanWrite('save');
    } catch (err) {
      return Promise.reject(err);
    }
    return ops.save(this, path);
  }

  /**
   * The model as ONNX bytes (a ModelProto), for ONNX Runtime (Node, browsers, phones), TensorRT,
   * OpenVINO and other deployment runtimes. The graph is the model's eval-mode forward:
   * BatchNormalization with the running statistics, Dropout left out. Its input is named
   * 'input', shaped [N, ...inputShape] with a symbolic batch dimension 'N'; its output 'output'.
   * The weights are initializers named after the state dict (`0.weight`, `1.running_mean`).
   * A Sequential of built-in layers (nested Sequentials too) is written layer by layer; any
   * other module (one of your own, the models of sn.models) is traced: its forward runs as a
   * shape-only dry run in eval mode, and each layer call and functional op (sn.add, sn.mul,
   * sn.cat, sn.mean, sn.flatten, sn.reshape, the activations) becomes ONNX nodes. A reshape's
   * first dimension is taken to be the batch; a tensor made inside forward() is written as a
   * constant. A layer ONNX cannot express is refused with an Error naming its path.
   *
   * Options: `inputShape`, the shape of one sample without the batch dimension, as `summary`
   * takes it (required); `opset`, the ai.onnx operator set, 13 to 21 (default 17).
   *
   * @example
   * ```js
   * const bytes = sn.models.lenet5().toOnnx({ inputShape: [1, 28, 28] });
   * // ONNX Runtime: await ort.InferenceSession.create(bytes), input 'input' of shape [N, 1, 28, 28]
   * ```
   */
  toOnnx(options: OnnxExportOptions): Uint8Array { return modelMethods().toOnnx(this, options); }

  /**
   * Node: writes the model as an ONNX file (see {@link toOnnx}) to `path`, through a temporary
   * file and a rename, so the file is never half written. In a page, use `toOnnx()` for the bytes.
   *
   * @example
   * ```js
   * await model.saveOnnx('lenet5.onnx', { inputShape: [1, 28, 28] });
   * ```
   */
  saveOnnx(path: string, options: OnnxExportOptions): Promise<void> { return modelMethods().saveOnnx(this, path, options); }

  /**
   * In a page: saves the model as a safetensors file through the browser's download, as a "Save"
   * button would (an `<a download>` link to a Blob URL). `name` is the suggested file name,
   * default 'model.safetensors'. Throws in Node (use `save(path)`) and in workers (no document).
   *
   * @example
   * saveButton.onclick = () => model.download('lenet5.safetensors');
   * // later, from an <input type="file">: const model = await sn.load(input.files[0]);
   */
  download(name = 'model.safetensors'): void { modelMethods().download(this, name); }

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

  /** @internal A device tensor for a gradient sum (a result of backward()), in the scratch block `key`. */
  gradScratch(key: string, shape: readonly number[]): Tensor { return this.output(key, shape, 'backward()'); }

  /** @internal A block of at least `bytes` kept under `key`; reused while big enough. */
  protected scratch(key: string, bytes: number): Block {
    return this.opBlock(key, bytes, () => `${this.label()} ${key} buffer`);
  }

  /** @internal scratch(), naming the block (for a WasmMemoryError) only when one is allocated. */
  opBlock(key: string, bytes: number, what: () => string): Block {
    const have = this.scratchBlocks.get(key) ?? null;
    if (have && !have.freed && have.bytes >= bytes) return have;
    const block = reuseBlock(have, bytes, what());
    this.scratchBlocks.set(key, block);
    return block;
  }

  /** @internal How many buffers this module keeps between calls (scratch blocks and op sites): flat after the first step. */
  retainedCount(): number { return this.scratchBlocks.size + this.#opSites.length; }

  /** @internal The scratch block under `key` as it is, or null. */
  opBlockPeek(key: string): Block | null { return this.scratchBlocks.get(key) ?? null; }

  /** @internal The place of this module's `seq`-th functional op of a call (its buffers are this module's). */
  opSite(seq: number): OpSite {
    let site = this.#opSites[seq];
    if (!site) site = this.#opSites[seq] = new OpSite(this, seq);
    return site;
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
   * non-finite values are refused with an Error naming `what` (unless `check` is false: the
   * layer counts them in its own sweep and refuses them with the same message).
   */
  protected stage(key: string, x: Tensor, named: string | (() => string), call = 'forward()', check = true): Tensor {
    // The name is only worded for an Error: a label costs more than a small layer's checks.
    const what = typeof named === 'function' ? named : () => named;
    if (x.dtype !== 'float32') throw new Error(`${what()}: expected a float32 tensor, got ${x.dtype}`);
    let d = x;
    if (x.onDevice) {
      x.assertLive(what);
    } else {
      d = this.output(key, x.shape, call);
      d.view().set(x.view());
    }
    // Values checked already (Tensor.markFinite: a checked input, a ReLU's or a max-pool's output) are not counted again.
    if (!check || d.knownFinite) return d;
    const bad = countNonFinite(d.ptr, d.size);
    if (bad > 0) throw new Error(`${what()}: ${bad} of ${d.size} values are NaN or infinite`);
    d.markFinite();
    return d;
  }
}

/** A layer's call in the graph: its backward is the layer's backwardDevice, on the activations it kept. */
class LeafNode extends GradNode {
  readonly #ownParams: boolean;
  constructor(private readonly layer: Module, private readonly call: number, private readonly frame: Frame, boundary: BoundaryNode) {
    super([boundary]);
    this.#ownParams = layer.hasParameters();
  }
  get ownParams(): boolean { return this.#ownParams; }
  check(): void {
    try {
      this.layer.checkCall(this.call);
    } catch (err) {
      throw annotateError(err, this.frame, true);
    }
  }
  backward(dy: Tensor, need: readonly boolean[]): (Tensor | null)[] { return [this.layer.backwardDevice(dy, need[0])]; }
  sumBuffer(shape: readonly number[]): Tensor { return this.layer.gradScratch('gradSum', shape); }
}

/** @internal Told of every layer call (forwardDevice's, not a forward() of a module's own) of a dry run: toOnnx traces with it. */
let layerTracer: ((frame: Frame, layer: Module, x: Tensor, y: Tensor) => void) | null = null;

/** @internal Runs fn with `tracer` told of the layer calls of dry runs. */
export function withLayerTracer<T>(tracer: (frame: Frame, layer: Module, x: Tensor, y: Tensor) => void, fn: () => T): T {
  const saved = layerTracer;
  layerTracer = tracer;
  try { return fn(); } finally { layerTracer = saved; }
}

/** @internal Called after every module call of a dry run (summary's rows): its frame, module and output shape. */
let dryRunHook: ((frame: Frame, m: Module, shape: readonly number[]) => void) | null = null;

/** @internal Runs `fn` with a hook that sees every module call of its dry runs (inner calls first). */
export function withDryRunHook<T>(hook: (frame: Frame, m: Module, shape: readonly number[]) => void, fn: () => T): T {
  const saved = dryRunHook;
  dryRunHook = hook;
  try { return fn(); } finally { dryRunHook = saved; }
}

/**
 * The options of `model.fit()`: those of {@link FitOptions}, where `checkpoint` may also be a file
 * path (Node), to which the model is saved after every epoch.
 */
export interface ModelFitOptions extends Omit<FitOptions, 'checkpoint'> {
  /**
   * Called after each epoch with its number, or (Node) a file path: the model is saved there
   * after every epoch, as model.save(path) does (a temporary file, then a rename).
   */
  checkpoint?: FitOptions['checkpoint'] | string;
}

/** What model.fit and model.evaluate say of a third argument after a dataset. */
const DATASET_ARGUMENTS = (method: string): string =>
  `${method}: with a dataset the options come second, model.${method}(dataset, options): the dataset holds x and y`;

/** @internal What model-ops.ts binds: training and files, which module.ts cannot import (they import the modules). */
export interface ModelMethods {
  fit: typeof fitFunction;
  evaluate: typeof evaluateFunction;
  predict(model: Module, x: Tensor, options: PredictOptions): Tensor;
  predictClasses(model: Module, x: Tensor, options: PredictOptions): Int32Array;
  profile(model: Module, x: Tensor, y: Target, options: ProfileOptions): Profile;
  summary(model: Module, inputShapes: readonly (readonly number[])[]): string;
  toSafetensors(model: Module): Uint8Array;
  toOnnx(model: Module, options: OnnxExportOptions): Uint8Array;
  saveOnnx(model: Module, path: string, options: OnnxExportOptions): Promise<void>;
  fromSafetensors(bytes: Uint8Array | ArrayBuffer | ArrayBufferView, source?: string): Module;
  loadSafetensors(model: Module, bytes: Uint8Array | ArrayBuffer | ArrayBufferView, source?: string): void;
  save(model: Module, path: string): Promise<void>;
  download(model: Module, name: string): void;
  checkCanWrite(where: string): void;
  checkFitOptionsObject(options: unknown): void;
}

let boundMethods: ModelMethods | null = null;

/** @internal Called once by model-ops.ts. */
export function provideModelMethods(m: ModelMethods): void { boundMethods = m; }

/** @internal The bound model methods. */
export function modelMethods(): ModelMethods {
  if (!boundMethods) throw new Error('simdnet: training and files are not loaded; import the package (\'simdnet\'), not one of its files');
  return boundMethods;
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
