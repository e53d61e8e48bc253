// A first-fit allocator over the wasm linear memory. Layers allocate their buffers once per
// input shape and keep them, so this runs rarely; what matters is that freed space is reused
// (neighbours coalesce), that memory grows only when nothing free is big enough, and that a
// refused allocation changes nothing.

const ALIGN = 64; // cache-line aligned: every buffer also satisfies v128's 16 bytes
const PAGE = 65536;
/** wasm32 addresses 2^32 bytes at most (65,536 pages). */
export const WASM32_MAX_BYTES = 65536 * PAGE;

interface Span { start: number; size: number; }

/**
 * Thrown when wasm memory cannot hold an allocation: the request is larger than wasm32's 4 GiB,
 * or the engine refused to grow the memory. Nothing was allocated or changed.
 */
export class WasmMemoryError extends Error {
  constructor(message: string, readonly bytesRequested: number, readonly bytesInUse: number) {
    super(message);
    this.name = 'WasmMemoryError';
  }
}

export class Heap {
  private free: Span[] = []; // sorted by start, never adjacent
  private top: number;       // first byte never handed out
  private inUse = 0;
  /** The most the memory may grow to: its declared maximum, or wasm32's limit. */
  private readonly limit: number;

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
    const size = alignUp(Math.max(bytes, 1));
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

  release(ptr: number, bytes: number): void {
    const size = alignUp(Math.max(bytes, 1));
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

  private ensureCapacity(end: number, bytes: number, what: string): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    if (end > this.limit) throw this.refusal(bytes, what, `the memory would have to grow from ${mib(have)} to ${mib(end)}, past its ${mib(this.limit)} limit`);
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

export function mib(bytes: number): string {
  return bytes >= 1024 * 1048576 ? `${(bytes / 1073741824).toFixed(1)} GiB` : `${(bytes / 1048576).toFixed(1)} MiB`;
}
