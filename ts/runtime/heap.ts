// A first-fit allocator over the wasm linear memory. Layers allocate their buffers once per
// input shape and keep them, so this runs rarely; what matters is that freed space is reused
// (neighbours coalesce) and that memory grows only when nothing free is big enough.

const ALIGN = 64; // cache-line aligned: every buffer also satisfies v128's 16 bytes
const PAGE = 65536;

interface Span { start: number; size: number; }

export class Heap {
  private free: Span[] = []; // sorted by start, never adjacent
  private top: number;       // first byte never handed out
  private inUse = 0;

  constructor(private readonly memory: WebAssembly.Memory, base: number) {
    this.top = alignUp(base);
  }

  /** Bytes currently allocated. */
  get bytesInUse(): number { return this.inUse; }
  /** Size of the wasm memory in bytes. */
  get bytesReserved(): number { return this.memory.buffer.byteLength; }

  alloc(bytes: number): number {
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
    // Nothing free fits: take from the top, merging a free span that ends there.
    let ptr = this.top;
    const last = this.free[this.free.length - 1];
    if (last && last.start + last.size === this.top) { ptr = last.start; this.free.pop(); }
    this.ensureCapacity(ptr + size);
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
  }

  private ensureCapacity(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    // Grow by at least a quarter of the current size so repeated small growths stay rare.
    const want = Math.max(pages, Math.ceil(have / PAGE / 4));
    try {
      this.memory.grow(want);
    } catch {
      try {
        this.memory.grow(pages);
      } catch {
        throw new Error(`simdnet: wasm memory cannot grow from ${mib(have)} to ${mib(have + pages * PAGE)} ` +
          `(the engine refused; wasm32 allows at most 4096 MiB)`);
      }
    }
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}
