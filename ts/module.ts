// Module: the base of every layer and of Sequential. A layer owns its parameters, gradients
// and the buffers it needs for backward, allocated once per input shape and reused.
import { Block, f32 } from './runtime/block.js';
import { rt } from './runtime/wasm.js';
import { Tensor, formatShape, shapeSize } from './tensor.js';
import { describe } from './options.js';

/** A learnable tensor and its gradient, both in wasm memory. Gradients accumulate until zeroGrad. */
export class Parameter {
  readonly data: Tensor;
  readonly grad: Tensor;

  constructor(shape: readonly number[], init?: Float32Array) {
    const bytes = shapeSize(shape) * 4;
    this.data = new Tensor(shape, new Block(bytes));
    this.grad = new Tensor(shape, new Block(bytes));
    if (init) this.data.view().set(init);
    this.zeroGrad();
  }

  get shape(): readonly number[] { return this.data.shape; }
  get size(): number { return this.data.size; }

  zeroGrad(): void {
    // After dispose() the range may belong to another tensor: writing zeros there would corrupt it.
    if (this.grad.block!.freed) throw new Error('simdnet: this parameter\'s memory was released (its module was disposed)');
    rt().kernels.fill(this.grad.ptr, this.grad.size, 0);
  }

  /** @internal */
  dispose(): void { this.data.block!.free(); this.grad.block!.free(); }
}

export abstract class Module {
  /** Training mode (Dropout drops, BatchNorm uses batch statistics) or eval mode. */
  training = true;
  /** @internal Parameters in registration order, with their local names ('weight', 'bias'). */
  protected readonly params: [string, Parameter][] = [];
  /** @internal Non-learnable state saved in the state dict (running_mean, num_batches_tracked). */
  protected readonly buffers: [string, Tensor][] = [];
  private readonly scratchBlocks = new Map<string, Block>();
  private lastOutShape: readonly number[] | null = null;
  /** The tensor the last forward() returned: a loss computed from an older one cannot back-propagate. */
  private lastOutput: Tensor | null = null;
  private disposed = false;

  /** PyTorch-style description, e.g. `Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))`. */
  abstract toString(): string;

  /** A one-line name for error messages; the layer's description unless that spans lines. */
  label(): string { return String(this); }

  /** The output shape for an input shape; throws an Error naming this layer on a mismatch. */
  abstract outputShape(inputShape: readonly number[]): number[];

  /** @internal Runs on a device tensor whose shape outputShape() accepted. */
  abstract forwardDevice(x: Tensor): Tensor;

  /** @internal dL/dy (device, shape of the last output) → dL/dx, or null when not needed. */
  abstract backwardDevice(dy: Tensor, needInputGrad: boolean): Tensor | null;

  /** Runs the layer. The result is a view of this layer's buffer, valid until its next call. */
  forward(x: Tensor): Tensor {
    this.checkNotDisposed();
    const outShape = this.outputShape(x.shape);
    const xd = this.stage('input', x, `${this.label()} input`);
    const y = this.forwardDevice(xd);
    y.producer = this;
    this.lastOutShape = outShape;
    this.lastOutput = y;
    return y;
  }

  /** @internal Whether y is the result of this module's last forward(), whose activations backward uses. */
  isLastOutput(y: Tensor): boolean { return y === this.lastOutput; }

  /** Back-propagates dL/dy through the last forward; accumulates parameter gradients; returns dL/dx. */
  backward(dy: Tensor): Tensor {
    this.checkNotDisposed();
    if (!this.lastOutShape) throw new Error(`${this.label()}: backward() called before forward()`);
    if (!sameShape(dy.shape, this.lastOutShape)) {
      throw new Error(`${this.label()}: backward() expected a gradient of shape ${formatShape(this.lastOutShape)}, got ${formatShape(dy.shape)}`);
    }
    return this.backwardDevice(this.stage('gradOutput', dy, `${this.label()} output gradient`), true)!;
  }

  /** Training mode (the default) or, with false, eval mode; for this module and every one inside it. */
  train(mode = true): this {
    // A string such as 'false' would be truthy: the model would train where eval was meant.
    if (typeof mode !== 'boolean') throw new Error(`${this.label()}: train(mode) takes true or false, got ${describe(mode)}`);
    this.training = mode;
    for (const [, c] of this.children()) c.train(mode);
    return this;
  }
  eval(): this { return this.train(false); }

  /** @internal Child modules with their names ('0', '1', ... in Sequential). */
  children(): [string, Module][] { return []; }

  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = this.params.map(([n, p]) => [prefix + n, p]);
    for (const [name, child] of this.children()) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  parameters(): Parameter[] { return this.namedParameters().map(([, p]) => p); }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = this.buffers.map(([n, t]) => [prefix + n, t]);
    for (const [name, child] of this.children()) out.push(...child.namedBuffers(`${prefix}${name}.`));
    return out;
  }

  zeroGrad(): void { for (const p of this.parameters()) p.zeroGrad(); }

  /** Parameters and buffers by PyTorch state_dict name. The tensors are live views, not copies. */
  stateDict(prefix = '', into: Record<string, Tensor> = {}): Record<string, Tensor> {
    // PyTorch's order: a module's own parameters, then its buffers, then each child's entries.
    for (const [name, p] of this.params) into[prefix + name] = p.data;
    for (const [name, b] of this.buffers) into[prefix + name] = b;
    for (const [name, child] of this.children()) child.stateDict(`${prefix}${name}.`, into);
    return into;
  }

  /**
   * Copies a state dict into this module. Everything is checked before anything is written:
   * a missing, unexpected (strict) or misshaped entry, or a non-finite value, throws and leaves
   * the module unchanged.
   */
  loadStateDict(dict: Record<string, Tensor>, options: { strict?: boolean } = {}): void {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in dict));
    const unexpected = Object.keys(dict).filter((k) => !(k in own));
    if (strict && (missing.length || unexpected.length)) {
      const parts = [];
      if (missing.length) parts.push(`missing ${missing.join(', ')}`);
      if (unexpected.length) parts.push(`unexpected ${unexpected.join(', ')}`);
      throw new Error(`loadStateDict: the state dict does not match the model: ${parts.join('; ')}`);
    }
    // Every value is converted and checked here, so that the copies below cannot fail halfway.
    const pairs: [Float32Array | BigInt64Array, Tensor][] = [];
    for (const [name, target] of Object.entries(own)) {
      const src = dict[name];
      if (!src) continue;
      if (!(src instanceof Tensor)) throw new Error(`loadStateDict: ${name} must be a Tensor, got ${Object.prototype.toString.call(src)}`);
      if (!sameShape(src.shape, target.shape)) {
        throw new Error(`loadStateDict: ${name} has shape ${formatShape(src.shape)}, the model expects ${formatShape(target.shape)}`);
      }
      pairs.push([target.dtype === 'int64' ? countValues(name, src) : finiteValues(name, src), target]);
    }
    for (const [values, target] of pairs) {
      if (values instanceof BigInt64Array) (target.host as BigInt64Array).set(values);
      else target.view().set(values);
    }
  }

  /** Releases this module's wasm memory. The module cannot run afterwards. */
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

  /** Number of learnable values. */
  parameterCount(): number { return this.parameters().reduce((n, p) => n + p.size, 0); }

  // ---- helpers for layer implementations ----

  /** @internal Registers a parameter under its PyTorch name. */
  protected addParameter(name: string, shape: readonly number[], init?: Float32Array): Parameter {
    const p = new Parameter(shape, init);
    this.params.push([name, p]);
    return p;
  }

  /** @internal Registers a float32 buffer (device) under its PyTorch name. */
  protected addBuffer(name: string, shape: readonly number[], init: Float32Array): Tensor {
    const t = new Tensor(shape, new Block(init.length * 4));
    t.view().set(init);
    this.buffers.push([name, t]);
    return t;
  }

  /** @internal Registers an int64 host buffer (num_batches_tracked). */
  protected addInt64Buffer(name: string, shape: readonly number[]): Tensor {
    const t = new Tensor(shape, new BigInt64Array(shapeSize(shape)));
    this.buffers.push([name, t]);
    return t;
  }

  /** @internal A block of at least `bytes` kept under `key`; reused while big enough. */
  protected scratch(key: string, bytes: number): Block {
    const have = this.scratchBlocks.get(key);
    if (have && have.bytes >= bytes) return have;
    have?.free();
    const block = new Block(bytes);
    this.scratchBlocks.set(key, block);
    return block;
  }

  /** @internal A device tensor of `shape` in the scratch block `key`. */
  protected output(key: string, shape: readonly number[]): Tensor {
    return new Tensor(shape, this.scratch(key, shapeSize(shape) * 4));
  }

  /**
   * @internal Host tensors are copied into a scratch block; device tensors are used in place.
   * Either way non-finite values are refused with an Error naming `what`.
   */
  protected stage(key: string, x: Tensor, what: string): Tensor {
    if (x.dtype !== 'float32') throw new Error(`${what}: expected a float32 tensor, got ${x.dtype}`);
    let d = x;
    if (!x.onDevice) {
      d = this.output(key, x.shape);
      d.view().set(x.view());
    }
    const bad = rt().kernels.countNonFinite(d.ptr, d.size);
    if (bad > 0) throw new Error(`${what}: ${bad} of ${d.size} values are NaN or infinite`);
    return d;
  }
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

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A zero-filled float32 view helper for layer code. */
export function zero(t: Tensor): void { rt().kernels.fill(t.ptr, t.size, 0); }

export { f32 };
