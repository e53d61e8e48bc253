// The kernels' shared-memory variant, made from their bytes at load time. `asc --sharedMemory
// --enable threads` writes exactly the same module as the plain build but for one byte: the
// limits flag of the imported memory (0x01, "has a maximum" → 0x03, "shared, has a maximum").
// The kernels use no atomics, and asc keeps their one data segment (a read-only table of
// constants below heapBase) active in its shared build too, so setting that bit here gives that
// build without shipping two more files: every instance (one per thread) then runs on one
// SharedArrayBuffer-backed memory, each writing the same constants when it starts.

/**
 * A copy of a kernel module's bytes whose imported memory is declared shared, or null when the
 * bytes hold no memory import with a maximum (a shared memory must have one) or are not wasm.
 */
export function withSharedMemory(bytes: Uint8Array): Uint8Array | null {
  const at = memoryLimitsFlag(bytes);
  if (at < 0) return null;
  const out = bytes.slice();
  out[at] |= 0x02;
  return out;
}

/** The offset of the imported memory's limits flag byte, or −1 (no such import, a flag without a maximum, or malformed bytes). */
function memoryLimitsFlag(b: Uint8Array): number {
  if (b.length < 8 || b[0] !== 0x00 || b[1] !== 0x61 || b[2] !== 0x73 || b[3] !== 0x6d) return -1;
  const r = { p: 8 };
  const u32 = (): number => {
    let v = 0, shift = 0, byte: number;
    do {
      if (r.p >= b.length || shift > 28) throw new RangeError('malformed LEB128');
      byte = b[r.p++];
      v += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return v;
  };
  const skipName = (): void => { const n = u32(); r.p += n; };
  const skipLimits = (): void => { const flag = b[r.p++]; u32(); if (flag & 1) u32(); };
  try {
    while (r.p < b.length) {
      const id = b[r.p++], size = u32(), end = r.p + size;
      if (id !== 2) { r.p = end; continue; }
      for (let n = u32(); n > 0; n--) {
        skipName();
        skipName();
        const kind = b[r.p++];
        if (kind === 0x02) {
          const flag = b[r.p];
          return flag === 0x01 || flag === 0x03 ? r.p : -1;
        }
        if (kind === 0x00) u32(); // a function: its type index
        else if (kind === 0x01) { r.p++; skipLimits(); } // a table: element type, limits
        else if (kind === 0x03) r.p += 2; // a global: value type, mutability
        else return -1;
      }
      return -1;
    }
  } catch {
    return -1;
  }
  return -1;
}
