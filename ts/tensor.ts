// Tensor: a shape plus storage, a handle rather than a math library. Storage is either host
// memory (a Float32Array the user gave us, not copied) or a range of wasm memory owned by a
// layer or parameter. Tensors returned by forward/backward are device views of a layer's
// buffer: valid until that layer runs again, and refused (with an Error) after that, by the
// block's generation count. toArray() always copies.
import { Block, f32 } from './runtime/block.js';
import { briefShape, formatBytes, shapeBytes } from './io/untrusted.js';
import { describe } from './describe.js';
import { InputLeafNode } from './autograd/graph.js';
import type { GradNode } from './autograd/graph.js';
import { boolean, checkOptions } from './options.js';

/** @internal What made a tensor in a forward(): the module whose call returned it. */
export interface Producer {
  label(): string;
  isLastOutput(y: Tensor): boolean;
  backward(dy: Tensor): Tensor;
  /** @internal Throws unless its last forward() can back-propagate (completed, output intact). */
  checkBackward(): void;
}

/** A tensor's element type: 'float32' for data, 'int64' for integer buffers and class labels. */
export type DType = 'float32' | 'int64';

/**
 * An n-dimensional array: a shape and storage, a handle rather than a math library (it has no
 * methods for arithmetic: layers, functional ops such as `sn.add` and `sn.mean`, losses and
 * optimizers do the work). Make one from your data with
 * {@link tensor}, which wraps it without copying. Layers take and return NCHW tensors (a batch of
 * N images of C channels, H×W), as PyTorch does.
 *
 * The tensors `forward()` and `backward()` return are views of a layer's buffer in wasm memory
 * (`onDevice`), valid until that layer runs again: reading one afterwards, or using it as an
 * input, throws an Error naming the layer that overwrote it. `toArray()` returns a copy that
 * stays valid. Parameters' `.data` and `.grad` and the `stateDict()` entries stay valid until
 * their module is disposed.
 *
 * @example
 * ```js
 * const x = sn.tensor(new Float32Array(2 * 1 * 28 * 28), [2, 1, 28, 28]);   // two 28×28 images
 * const y = model.forward(x);          // e.g. [2, 10], a view of the last layer's buffer
 * const logits = y.toArray();          // Float32Array(20), a copy
 * ```
 */
export class Tensor {
  /** The size of each dimension, e.g. [N, C, H, W]; frozen. */
  readonly shape: readonly number[];
  /** The number of elements: the product of the shape (1 for a scalar, shape []). */
  readonly size: number;
  /** The element type: 'float32', or 'int64' (num_batches_tracked, class labels). */
  readonly dtype: DType;
  /** @internal Host storage, or null for device tensors. */
  readonly host: Float32Array | BigInt64Array | null;
  /** @internal The wasm block this tensor lives in (kept alive by the reference), or null. */
  readonly block: Block | null;
  /** Byte offset in wasm memory (device tensors only), read through `ptr` and `address`. */
  readonly #ptr: number;
  /** @internal The block's generation when this tensor was made: a later result there makes it stale. */
  readonly generation: number;
  /** @internal The module whose forward produced this tensor, for loss.backward(). */
  producer: Producer | null = null;
  /** @internal The autograd node that made this tensor (null: no gradient flows back from it). */
  node: GradNode | null = null;
  /** @internal A shape-only tensor of a dry run: no storage, its values cannot be read. */
  readonly isMeta: boolean;
  /** The gradient backward() summed here (tensors made with requiresGrad only). */
  #grad: Tensor | null = null;

  /**
   * Wraps host storage as it is, without the checks of {@link tensor} (which is the way to make a
   * tensor from your data): `storage` must hold the shape's number of values. A BigInt64Array
   * makes an int64 tensor.
   */
  constructor(shape: readonly number[], storage: Float32Array | BigInt64Array);
  /** @internal Layers make device tensors over their blocks, from byte offset `ptr` (default the block's start). */
  constructor(shape: readonly number[], storage: Float32Array | BigInt64Array | Block, ptr?: number);
  constructor(shape: readonly number[], storage: Float32Array | BigInt64Array | Block | DType, ptr = -1) {
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    this.isMeta = typeof storage === 'string';
    if (typeof storage === 'string') {
      this.dtype = storage;
      this.host = null;
      this.block = null;
      this.#ptr = -1;
      this.generation = 0;
    } else if (storage instanceof Block) {
      this.dtype = 'float32';
      this.block = storage;
      this.#ptr = ptr < 0 ? storage.ptr : ptr;
      this.generation = storage.generation;
      this.host = null;
    } else {
      this.dtype = storage instanceof BigInt64Array ? 'int64' : 'float32';
      this.host = storage;
      this.block = null;
      this.#ptr = -1;
      this.generation = 0;
    }
  }

  /**
   * @internal A shape-only tensor, as a dry run of forward() passes around: layers and
   * functional ops compute its shape and nothing else; reading its values throws.
   */
  static meta(shape: readonly number[], dtype: DType = 'float32'): Tensor {
    return new Tensor(shape, dtype as unknown as Float32Array);
  }

  /**
   * @internal Byte offset in wasm memory (device tensors only), for a kernel that reads or writes
   * the values: a result whose values were put off (Block.defer) is written out first.
   */
  get ptr(): number {
    const b = this.block;
    if (b !== null && b.deferred !== null && b.generation === this.generation) b.settle();
    return this.#ptr;
  }

  /** @internal The byte offset without writing out a put-off result (to compare places, or fuse with it). */
  get address(): number { return this.#ptr; }

  /** True when the data lives in wasm memory (a layer's result, a parameter), false for host data from sn.tensor(). */
  get onDevice(): boolean { return this.block !== null; }

  /**
   * Whether a gradient flows back to this tensor, as PyTorch's `requires_grad`: true for a tensor
   * made with `sn.tensor(data, shape, { requiresGrad: true })`, a parameter's `data`, and what a
   * forward() or functional op computed from them with gradients enabled; false for plain data,
   * whose gradient no backward() computes.
   */
  get requiresGrad(): boolean { return this.node !== null; }

  /**
   * The gradient of the loss with respect to this tensor, for a tensor made with
   * `{ requiresGrad: true }`: null until a `loss.backward()` reaches it, then a host tensor of
   * the same shape (it stays valid). Later backward() calls add to it, as in PyTorch, until you
   * clear it with `x.grad = null`. Null for every other tensor (a parameter keeps its gradient in
   * its own `.grad`; results of forward() and ops keep none; a loss's target gets none).
   *
   * @example
   * ```js
   * const x = sn.tensor(pixels, [1, 1, 28, 28], { requiresGrad: true });
   * lossFn.forward(model.forward(x), [3]).backward();
   * const saliency = x.grad.toArray();     // dL/dx, [1, 1, 28, 28]
   * x.grad = null;                         // else the next backward() adds to it
   * ```
   */
  get grad(): Tensor | null { return this.#grad; }
  set grad(value: Tensor | null) {
    if (value !== null) {
      throw new Error(`Tensor.grad: only null may be assigned (it clears the gradient, as PyTorch's x.grad = None; backward() fills it), got ${describe(value)}`);
    }
    this.#grad = null;
  }

  /** @internal Adds g (a gradient of this tensor, host or device) into grad, allocated on first use. */
  addGrad(g: Tensor): void {
    if (g.size !== this.size) throw new Error(`simdnet: a gradient of shape ${formatShape(g.shape)} arrived for a tensor of shape ${formatShape(this.shape)}`);
    const src = g.view();
    if (this.#grad === null) { this.#grad = new Tensor(this.shape, src.slice()); return; }
    const sum = this.#grad.host as Float32Array;
    for (let i = 0; i < sum.length; i++) sum[i] += src[i];
  }

  /** A copy of the data as float32. */
  toArray(): Float32Array {
    this.assertValues();
    if (this.host instanceof BigInt64Array) return Float32Array.from(this.host, Number);
    if (this.host) return this.host.slice(0, this.size);
    this.assertLive();
    return f32(this.ptr, this.size).slice();
  }

  /** A copy of the data as int64 (for integer buffers such as num_batches_tracked). */
  toInt64Array(): BigInt64Array {
    this.assertValues();
    if (this.host instanceof BigInt64Array) return this.host.slice(0, this.size);
    return BigInt64Array.from(this.toArray(), (v) => BigInt(Math.trunc(v)));
  }

  /** @internal A live Float32Array over the data (host array or a fresh view of wasm memory). */
  view(): Float32Array {
    this.assertValues();
    if (this.host instanceof Float32Array) return this.host.subarray(0, this.size);
    if (this.host) throw new Error('simdnet: an int64 tensor has no float32 view');
    this.assertLive();
    return f32(this.ptr, this.size);
  }

  /**
   * @internal Null while the data is still this tensor's; otherwise why not, as a clause about
   * `subject`: its memory was released, or its owner has written a newer result over it.
   * Parameters and buffers are never re-issued, so they go stale only when released.
   */
  staleness(subject = 'this tensor'): string | null {
    const b = this.block;
    if (!b || (!b.freed && b.generation === this.generation)) return null;
    const owner = b.owner?.label();
    // Released first: a put-off result whose input was released with it was dropped on the way.
    if (b.freed) {
      return `${subject}'s memory was released (${owner ? `${owner} was disposed, or ran on a larger input and replaced this buffer` : 'its module was disposed or re-shaped'})`;
    }
    if (b.expiry !== null && b.generation === this.generation + 1) return `${subject} ${b.expiry()}`;
    return `${subject} was overwritten by a later ${b.lastWrite} of ${owner}`;
  }

  /** Throws for a shape-only tensor, which has no values to read. */
  private assertValues(): void {
    if (this.isMeta) {
      throw new Error('simdnet: this tensor has a shape but no values: it belongs to a shape-only dry run of forward() ' +
        '(outputShape(), summary() and the checks before a forward, fit or profile run one), so a forward() must not read values');
    }
  }

  /** @internal Throws unless the data is still this tensor's; `where` prefixes the message (who refuses it). */
  assertLive(where: string | (() => string) = 'simdnet'): void {
    this.assertValues();
    const stale = this.staleness();
    if (stale) throw new Error(`${typeof where === 'function' ? where() : where}: ${stale}; copy results you want to keep with toArray()`);
  }

  /**
   * @internal Records that this result's values hold no NaN or infinity (they were just checked,
   * or made from checked values by max or ReLU), so that an input check of them (Module.stage)
   * can be skipped. Only on a layer's or op's result, whose block changes only by a new result;
   * never on parameters and buffers, which optimizers and loads write in place.
   */
  markFinite(): void {
    const b = this.block;
    if (!b || b.owner === null || b.deferred !== null || this.generation !== b.generation) return;
    b.finite = { generation: b.generation, start: this.address, end: this.address + 4 * this.size };
  }

  /** @internal Whether markFinite covers these values of this result. */
  get knownFinite(): boolean {
    const b = this.block, f = b?.finite;
    return !!f && f.generation === this.generation && b!.generation === this.generation &&
      this.address >= f.start && this.address + 4 * this.size <= f.end;
  }

  /** A short description: `Tensor(float32, [2, 10], wasm)` (the values are not printed). */
  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(', ')}]${this.onDevice ? ', wasm' : this.isMeta ? ', shape only' : ''})`;
  }
}

/** @internal The number of elements of a shape (the product of its dimensions). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** @internal A shape as text for messages: [2, 1, 28, 28]. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Wraps data as a tensor without copying it: the data stays on the JS side until a layer copies
 * it into its own input buffer, so calling this every step costs no wasm memory. A Float32Array
 * is used as it is (later writes to it show through), other numbers are converted to float32,
 * and a BigInt64Array makes an int64 tensor (class labels, as PyTorch's int64 targets).
 *
 * @param data The values, in row-major (C) order: a Float32Array, a BigInt64Array, another typed
 *   array or an array of numbers.
 * @param shape The dimensions; their product must equal `data.length`. Default `[data.length]`.
 * @param options `requiresGrad` (default false): whether `loss.backward()` computes the gradient
 *   of the loss with respect to this tensor into its {@link Tensor.grad}, as PyTorch's
 *   `requires_grad=True` (float32 only). Without it no gradient reaches a model's input: its
 *   first layer skips that work.
 * @returns A host tensor (`onDevice` false) of that shape.
 * @throws Error when the data is not numbers, the shape does not fit it, or an option is wrong.
 *
 * @example
 * ```js
 * const x = sn.tensor(pixels.subarray(0, 64 * 784), [64, 1, 28, 28]);   // a batch of MNIST images
 * const v = sn.tensor([1, 2, 3]);                                        // shape [3]
 * const probe = sn.tensor(image, [1, 1, 28, 28], { requiresGrad: true }); // probe.grad after backward()
 * ```
 */
export function tensor(data: Float32Array | BigInt64Array | ArrayLike<number>, shape?: readonly number[], options?: TensorOptions): Tensor {
  checkOptions('sn.tensor', options, { requiresGrad: boolean });
  // A BigInt64Array makes an int64 tensor, as torch.tensor does: class labels, for instance.
  const arr = data instanceof Float32Array || data instanceof BigInt64Array ? data : toFloat32(data);
  if (shape !== undefined && !Array.isArray(shape)) {
    const hint = shape !== null && typeof shape === 'object' && !ArrayBuffer.isView(shape) ? ' (options come third: sn.tensor(data, shape, { requiresGrad }))' : '';
    throw new Error(`sn.tensor: shape must be an array of dimensions, got ${describe(shape)}${hint}`);
  }
  const dims = shape ?? [arr.length];
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`sn.tensor: shape ${briefShape(dims)} has a dimension that is not a non-negative integer`);
  }
  // The running product, so that [2^40, 2^40, 0] is refused rather than given a NaN size.
  const n = shapeBytes(dims, 1);
  if (n !== arr.length) throw new Error(`sn.tensor: shape ${briefShape(dims)} needs ${formatBytes(n)} values, got ${arr.length}`);
  if (options?.requiresGrad && arr instanceof BigInt64Array) {
    throw new Error('sn.tensor: requiresGrad needs float32 data (only floating-point tensors have gradients, as in PyTorch), got a BigInt64Array (int64)');
  }
  const t = new Tensor(dims, arr);
  if (options?.requiresGrad) t.node = new InputLeafNode((g) => t.addGrad(g));
  return t;
}

/** The options of {@link tensor}. */
export interface TensorOptions {
  /** Whether backward() computes this tensor's gradient into its `grad` (default false). */
  requiresGrad?: boolean;
}

/** Numbers from an array or typed array as float32; anything else is an Error naming its type. */
function toFloat32(data: unknown): Float32Array {
  const arrayLike = Array.isArray(data) || (ArrayBuffer.isView(data) && !(data instanceof DataView));
  if (!arrayLike || data instanceof BigUint64Array) {
    throw new Error(`sn.tensor: data must be a Float32Array, another typed array or an array of numbers, got ${describe(data)}`);
  }
  const values = data as ArrayLike<unknown>;
  if (Array.isArray(values)) {
    // Float32Array.from would turn '1' into 1 and 'a' into NaN without a word.
    const i = values.findIndex((v) => typeof v !== 'number');
    if (i >= 0) throw new Error(`sn.tensor: data[${i}] is ${describe(values[i])}, expected a number`);
  }
  return Float32Array.from(values as ArrayLike<number>);
}

/**
 * Throws unless v is a Tensor, naming what it is instead; plain numbers get a hint, since
 * sn.tensor(data, shape) is the usual missing step.
 */
export function checkTensor(where: string | (() => string), name: string, v: unknown, expectedShape = ''): asserts v is Tensor {
  if (v instanceof Tensor) return;
  if (typeof where === 'function') where = where();
  const numbers = Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
  const hint = numbers ? '; wrap it with sn.tensor(data, shape)' : '';
  throw new Error(`${where}: ${name} must be a Tensor${expectedShape ? ` of shape ${expectedShape}` : ''}, got ${describe(v)}${hint}`);
}
