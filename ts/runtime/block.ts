// A Block is one allocation in wasm memory. Owners free it explicitly when they replace or
// dispose it; a FinalizationRegistry frees blocks whose owners were dropped without dispose().
import { rt } from './wasm.js';

interface Held { ptr: number; }

/** The layer or loss that hands a block's contents out as its results, named in stale-tensor messages. */
export interface BlockOwner { label(): string; }

/**
 * A result handed out before its values are written (a BatchNorm's output, which the ReLU after
 * it computes in its own sweep straight from the BatchNorm's input): `run()` writes it, when a
 * tensor over the block is first read (Tensor.ptr). `sources` are the blocks it is computed from.
 */
export interface DeferredResult {
  readonly sources: readonly Block[];
  run(): void;
  /**
   * Written out, rather than dropped, when a source is about to change: a gradient put off is
   * written then as it would have been at once, where a dropped forward result goes stale.
   */
  readonly writtenBeforeSourcesChange?: boolean;
  /** Why a dropped result was never written, for the stale-tensor message (else the forward results' reason). */
  readonly expiry?: () => string;
}

const reclaim = new FinalizationRegistry<Held>((held) => rt().heap.release(held.ptr));

export class Block {
  readonly ptr: number;
  readonly bytes: number;
  private held: Held | null;
  /**
   * How many results have been handed out over this block. A Tensor records the count it was made
   * at, so a result overwritten by a later call of its owner is detectable (see Tensor.staleness).
   */
  generation = 0;
  /** The layer or loss whose results live here; null for parameters, buffers and private blocks. */
  owner: BlockOwner | null = null;
  /** The call that wrote the latest result, e.g. 'forward()', for the stale-tensor message. */
  lastWrite = '';
  /** The latest result when its values are not written yet (see defer()), else null. */
  deferred: DeferredResult | null = null;
  /**
   * Why the latest result was dropped unwritten (see expireReaders), for the stale-tensor message;
   * else null. Worked out when a message needs it: results expire every training step, where
   * the layers' descriptions cost more than the rest of it.
   */
  expiry: (() => string) | null = null;
  /** Blocks holding a deferred result computed from this block: dealt with before this block changes. */
  private readers: Block[] | null = null;
  /**
   * The result (generation) and byte range [start, end) known to hold no NaN or infinity: checked,
   * or made from checked values by max or ReLU (markFinite). Set only on blocks that hold results
   * (an owner's), which change only by a new result: a new generation.
   */
  finite: { generation: number; start: number; end: number } | null = null;

  /**
   * Allocates `bytes` (a float64 count: sizes are never computed in 32-bit arithmetic). A request
   * the memory cannot meet throws a WasmMemoryError naming `what`, with nothing allocated.
   */
  constructor(bytes: number, what?: string) {
    this.bytes = bytes;
    this.ptr = rt().heap.alloc(bytes, what);
    this.held = { ptr: this.ptr };
    reclaim.register(this, this.held, this);
  }

  get freed(): boolean { return this.held === null; }

  /** Marks a new result written here by `owner`'s `call`: tensors over the previous one become stale. */
  reissue(owner: BlockOwner, call: string): void {
    this.expireReaders();
    this.deferred = null;
    this.expiry = null;
    this.generation++;
    this.owner = owner;
    this.lastWrite = call;
  }

  /**
   * Hands the latest result out unwritten: `result.run()` writes it when a tensor over this block
   * is read. If one of its sources changes first (its owner runs again, or it is released), the
   * result is dropped rather than written (that would cost the sweep the deferral saved) and
   * tensors over it become stale, with a message saying so.
   */
  defer(result: DeferredResult): void {
    this.deferred = result;
    for (const s of result.sources) {
      const r = (s.readers ??= []);
      if (!r.includes(this)) r.push(this);
    }
  }

  /** Writes a deferred result out, once. */
  settle(): void {
    const d = this.deferred;
    if (!d) return;
    this.deferred = null;
    d.run();
  }

  /** Drops the deferred results computed from this block, which is about to change. */
  private expireReaders(): void {
    const readers = this.readers;
    if (!readers) return;
    this.readers = null;
    for (const b of readers) {
      if (!b.deferred?.sources.includes(this)) continue;
      const d = b.deferred;
      if (d.writtenBeforeSourcesChange) { b.settle(); continue; }
      b.deferred = null;
      b.generation++;
      if (d.expiry) { b.expiry = d.expiry; continue; }
      const owner = b.owner, source = this.owner;
      b.expiry = () => `was never written: ${owner?.label() ?? 'its layer'} computed it only when read (the activation after it ` +
        `took its input directly), and ${source?.label() ?? 'the block it is computed from'}, whose result it is computed from, has changed since`;
    }
  }

  free(): void {
    this.expireReaders();
    this.deferred = null;
    if (!this.held) return;
    reclaim.unregister(this);
    rt().heap.release(this.held.ptr);
    this.held = null;
  }
}

/**
 * `block` when it is live and holds at least `bytes`; otherwise frees it and allocates a new one.
 * For buffers kept between calls and grown when a larger input comes (scratch, staged inputs).
 * The old block is freed first, so a refused allocation leaves no freed block to be reused.
 */
export function reuseBlock(block: Block | null, bytes: number, what?: string): Block {
  if (block && !block.freed && block.bytes >= bytes) return block;
  block?.free();
  return new Block(bytes, what);
}

/** A fresh Float32Array over `n` floats at byte offset `ptr` (views detach when memory grows). */
export function f32(ptr: number, n: number): Float32Array {
  return new Float32Array(rt().memory.buffer, ptr, n);
}

/** A fresh Int32Array over `n` ints at byte offset `ptr`. */
export function i32(ptr: number, n: number): Int32Array {
  return new Int32Array(rt().memory.buffer, ptr, n);
}
