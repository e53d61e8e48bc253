// A first-fit allocator over the wasm linear memory. Layers allocate their buffers once per
// input shape and keep them, so this runs rarely; what matters is that freed space is reused
// (neighbours coalesce), that memory grows only when nothing free is big enough, and that a
// refused allocation changes nothing.

const GUARD = 0xa5;
const ALIGN = 64; // cache-line aligned: every buffer also satisfies v128's 16 bytes
const PAGE = 65536;
/** wasm32 addresses 2^32 bytes at most (65,536 pages). */
export const WASM32_MAX_BYTES = 65536 * PAGE;

interface Span { start: number; size: number; }

/**
 * Thrown when wasm memory cannot hold an allocation: the request is larger than wasm32's 4 GiB,
 * or the engine refused to grow the memory. Nothing was allocated or changed. The message names
 * the layer and buffer; dispose() models no longer needed (a dropped model's memory comes back
 * only when the garbage collector runs).
 */
export class WasmMemoryError extends Error {
  /** @internal The heap makes these. */
  constructor(
    message: string,
    /** The size of the refused allocation, in bytes. */
    readonly bytesRequested: number,
    /** The bytes allocated (by live models, tensors and optimizers) when it was refused. */
    readonly bytesInUse: number) {
    super(message);
    this.name = 'WasmMemoryError';
  }
}

/**
 * The allocator of the wasm memory (first fit, neighbours coalesced; the memory grows only when
 * nothing free is big enough). One per runtime; layers and optimizers allocate through it.
 */
export class Heap {
  private free: Span[] = []; // sorted by start, never adjacent
  private top: number;       // first byte never handed out
  private inUse = 0;
  /** Live allocations: start → { size handed out (aligned), bytes asked for, guard after them }. */
  private readonly live = new Map<number, { size: number; bytes: number; guarded: boolean }>();
  /** Bytes of guard pattern after every later allocation (0: off); see guardAllocations(). */
  private guardBytes = 0;
  /** The first overwritten guard found when its allocation was released, for checkGuards(). */
  private smashed: Error | null = null;
  /** The most the memory may grow to: its declared maximum, or wasm32's limit. */
  private limit: number;

  /** @internal The runtime makes the heap over its memory, from `base` (the kernels' data end). */
  constructor(private readonly memory: WebAssembly.Memory, base: number, maximumBytes = WASM32_MAX_BYTES) {
    this.top = alignUp(base);
    this.limit = Math.min(maximumBytes, WASM32_MAX_BYTES);
  }

  /** Bytes currently allocated. */
  get bytesInUse(): number { return this.inUse; }
  /** Size of the wasm memory in bytes. */
  get bytesReserved(): number { return this.memory.buffer.byteLength; }

  /**
   * Byte offset of a new block of at least `bytes`. Throws a WasmMemoryError, with the heap
   * unchanged, when the request cannot be met. `what` names the buffer in that message.
   */
  alloc(bytes: number, what = 'a buffer'): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new RangeError(`simdnet: cannot allocate ${String(bytes)} bytes for ${what}: expected a whole number of bytes ≥ 0`);
    }
    if (bytes > this.limit) throw this.refusal(bytes, what, `more than the ${mib(this.limit)} the wasm memory can ever hold`);
    const size = alignUp(Math.max(bytes, 1) + this.guardBytes);
    const ptr = this.take(size, bytes, what);
    this.live.set(ptr, { size, bytes, guarded: this.guardBytes > 0 });
    if (this.guardBytes > 0) new Uint8Array(this.memory.buffer, ptr + bytes, size - bytes).fill(GUARD);
    return ptr;
  }

  /** First fit among the free spans, else the top (growing the memory). */
  private take(size: number, bytes: number, what: string): number {
    for (let i = 0; i < this.free.length; i++) {
      const span = this.free[i];
      if (span.size < size) continue;
      const ptr = span.start;
      if (span.size === size) this.free.splice(i, 1);
      else { span.start += size; span.size -= size; }
      this.inUse += size;
      return ptr;
    }
    // Nothing free fits: take from the top (no free span ends there: release() returns such
    // spans to the top). The top moves only once the memory has grown.
    const ptr = this.top;
    this.ensureCapacity(ptr + size, bytes, what);
    this.top = ptr + size;
    this.inUse += size;
    return ptr;
  }

  /** Returns the allocation at byte offset `ptr` (from alloc()) to the free space. */
  release(ptr: number): void {
    const block = this.live.get(ptr);
    if (!block) throw new Error(`simdnet: heap release of ${ptr}, which is not a live allocation`);
    // Kept for the next checkGuards(): release runs in finalizers too, where a throw helps nobody.
    this.smashed ??= this.guardError(ptr, block);
    this.live.delete(ptr);
    const size = block.size;
    this.inUse -= size;
    let i = 0;
    while (i < this.free.length && this.free[i].start < ptr) i++;
    const span: Span = { start: ptr, size };
    this.free.splice(i, 0, span);
    const next = this.free[i + 1];
    if (next && span.start + span.size === next.start) { span.size += next.size; this.free.splice(i + 1, 1); }
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.size === span.start) { prev.size += span.size; this.free.splice(i, 1); }
    // A free span that reaches the top goes back to the top, so later growth starts lower.
    const last = this.free[this.free.length - 1];
    if (last && last.start + last.size === this.top) { this.top = last.start; this.free.pop(); }
  }

  /**
   * @internal A test aid: lowers (or restores) the most the heap may take, so that what happens
   * when memory runs out can be tested without filling 4 GiB. Never above wasm32's limit.
   */
  limitTo(bytes: number): void { this.limit = Math.min(bytes, WASM32_MAX_BYTES); }

  /** @internal The first byte never handed out (the heap's high-water mark), for limitTo(). */
  get topOffset(): number { return this.top; }

  /**
   * @internal A test aid, like a sanitizer's red zones: every later allocation gets `bytes` of a
   * known pattern after it, which checkGuards() (and release) verify, so a kernel that writes past
   * the end of its buffer is caught at the next check instead of corrupting a neighbour unseen.
   */
  guardAllocations(bytes: number): void { this.guardBytes = bytes; }

  /**
   * @internal Throws when the guard of a live allocation, or of one released since the last
   * check, was overwritten (see guardAllocations).
   */
  checkGuards(): void {
    let err = this.smashed;
    this.smashed = null;
    for (const [ptr, block] of this.live) err ??= this.guardError(ptr, block);
    if (err) throw err;
  }

  private guardError(ptr: number, block: { size: number; bytes: number; guarded: boolean }): Error | null {
    if (!block.guarded) return null;
    const guard = new Uint8Array(this.memory.buffer, ptr + block.bytes, block.size - block.bytes);
    const i = guard.findIndex((b) => b !== GUARD);
    return i < 0 ? null : new Error(`simdnet: a write past the end of the ${block.bytes}-byte allocation at ${ptr}, ${i} bytes after it`);
  }

  private ensureCapacity(end: number, bytes: number, what: string): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    if (end > this.limit) {
      // Exact bytes when the rounded sizes would read the same ("1.0 MiB, past its 1.0 MiB limit").
      const [reach, limit] = mib(end) === mib(this.limit) ? [`${end} bytes`, `${this.limit}-byte`] : [mib(end), mib(this.limit)];
      throw this.refusal(bytes, what, `the heap would have to reach ${reach}, past its ${limit} limit`);
    }
    const pages = Math.ceil((end - have) / PAGE);
    // Grow by at least a quarter of the current size so repeated small growths stay rare.
    const want = Math.min(Math.max(pages, Math.ceil(have / PAGE / 4)), (this.limit - have) / PAGE);
    try {
      this.memory.grow(want);
    } catch {
      try {
        this.memory.grow(pages);
      } catch {
        throw this.refusal(bytes, what, `the engine refused to grow the memory from ${mib(have)} to ${mib(have + pages * PAGE)}`);
      }
    }
  }

  private refusal(bytes: number, what: string, why: string): WasmMemoryError {
    return new WasmMemoryError(
      `simdnet: wasm memory cannot grow to allocate ${mib(bytes)} for ${what}: ${why}. ` +
      `${mib(this.inUse)} are in use by live models, tensors and optimizers; dispose() the ones no longer needed ` +
      '(memory of objects dropped without dispose() is reclaimed only when the garbage collector runs)',
      bytes, this.inUse);
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

/** A byte count for a message: GiB, MiB or KiB with one decimal, or bytes below 1 KiB. */
export function mib(bytes: number): string {
  if (bytes >= 1073741824) return `${(bytes / 1073741824).toFixed(1)} GiB`;
  if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(1)} MiB`;
  return bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} bytes`;
}
