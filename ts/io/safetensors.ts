// The safetensors format of PyTorch and Hugging Face: an 8-byte little-endian u64 header length
// N, N bytes of UTF-8 JSON ({ "__metadata__": {string: string}, name: { dtype, shape,
// data_offsets: [begin, end] } } with offsets relative to the data that follows the header),
// then the tensors, contiguous, row-major, little-endian. Pure format code: bytes ⇄ tensors.
import { Tensor } from '../tensor.js';
import { briefShape, fileBytes, formatBytes, preview, quoteName, shapeBytes } from './untrusted.js';

/** The reference implementation refuses headers above this size; so do we, before allocating. */
export const MAX_HEADER_BYTES = 100_000_000;

const ITEM_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

// File bytes are little-endian; typed arrays use the host's order. Swapping bytes (rather than
// reading values through a DataView) keeps float32 round trips bit-exact, NaN payloads included.
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function toHostOrder(bytes: Uint8Array, itemBytes: number): Uint8Array {
  if (HOST_LITTLE_ENDIAN || itemBytes === 1) return bytes;
  for (let i = 0; i < bytes.length; i += itemBytes) bytes.subarray(i, i + itemBytes).reverse();
  return bytes;
}

// A plain assignment with the name "__proto__" would replace the prototype instead.
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Encodes tensors (float32 as F32, int64 as I64) in the given order, with optional string
 * metadata. The header is padded with spaces to a multiple of 8 bytes, as the reference
 * implementation does, so every tensor's data starts aligned.
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const entries = Object.entries(tensors);
  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`encodeSafetensors: metadata "${k}" must be a string, got ${typeof v}`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const [name, t] of entries) {
    if (!(t instanceof Tensor)) throw new Error(`encodeSafetensors: "${name}" is not a Tensor`);
    if (name === '__metadata__') throw new Error('encodeSafetensors: a tensor cannot be named "__metadata__" (the format reserves it)');
    const itemBytes = t.dtype === 'int64' ? 8 : 4;
    const end = offset + t.size * itemBytes;
    // JSON text is built by hand so the header keeps the given order (an object would move
    // integer-like names such as "10" to the front).
    parts.push(`${JSON.stringify(name)}:{"dtype":"${t.dtype === 'int64' ? 'I64' : 'F32'}","shape":${JSON.stringify(t.shape)},"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerBytes = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerBytes + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes);
  let at = 8 + headerBytes;
  for (const [, t] of entries) {
    // view() reads wasm memory in place for device tensors; int64 buffers are small host arrays.
    const data = t.dtype === 'int64' ? t.toInt64Array() : t.view();
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    out.set(raw, at);
    toHostOrder(out.subarray(at, at + raw.length), data.BYTES_PER_ELEMENT);
    at += raw.length;
  }
  return out;
}

/** A decoded safetensors file. */
export interface Safetensors {
  /** The tensors by name, in the file's order (host tensors: float32, or int64 for I64). */
  tensors: Record<string, Tensor>;
  /** The `__metadata__` strings ({} when the file has none). */
  metadata: Record<string, string>;
}

/** @internal A decoded file with each tensor's dtype as the file has it (decoding widens F16, I32, ... to float32). */
export interface SafetensorsFile extends Safetensors {
  dtypes: Map<string, string>;
}

interface Entry { name: string; dtype: string; shape: number[]; begin: number; end: number; }

/**
 * Decodes safetensors bytes (a Uint8Array or Node Buffer, an ArrayBuffer or another
 * ArrayBufferView) into host tensors: F32 and I64 as they are; F64, F16, BF16, I32, I16, I8, U8
 * and BOOL converted to float32. Nothing in the file is trusted: every size, dtype, shape and
 * offset is checked before anything is allocated, and a bad file throws an Error naming
 * `source` and the field.
 */
export function decodeSafetensors(bytes: Uint8Array | ArrayBuffer | ArrayBufferView, source = 'safetensors data'): Safetensors {
  const { tensors, metadata } = decodeSafetensorsFile(bytes, source);
  return { tensors, metadata };
}

/** @internal decodeSafetensors, also giving each tensor's dtype in the file; `reader` names the caller in errors. */
export function decodeSafetensorsFile(input: unknown, source = 'safetensors data', reader = 'decodeSafetensors'): SafetensorsFile {
  const fail = (msg: string): never => { throw new Error(`${source}: ${msg}`); };
  const bytes = fileBytes(input, source, reader);
  if (bytes.length < 8) fail(`${bytes.length} bytes is too short for a safetensors file (the header length alone takes 8)`);
  const claimed = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (claimed > BigInt(MAX_HEADER_BYTES)) fail(`header length ${claimed} is over the ${MAX_HEADER_BYTES}-byte limit; not a safetensors file?`);
  const headerBytes = Number(claimed);
  if (headerBytes > bytes.length - 8) fail(`header length ${headerBytes} runs past the end of the file (${bytes.length - 8} bytes after the length field)`);

  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerBytes));
  } catch {
    fail('the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    fail(`the header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail(`the header must be a JSON object, got ${header === null ? 'null' : Array.isArray(header) ? 'an array' : typeof header}`);
  }
  // JSON.parse keeps the last of two equal keys; a file that names a tensor twice is ambiguous.
  const dup = findDuplicateKey(text);
  if (dup) fail(`the header names ${dup.path === '' ? '' : `in ${quoteName(dup.path)} `}${quoteName(dup.key)} more than once`);

  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null) continue;
      if (typeof info !== 'object' || Array.isArray(info)) fail('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ ${quoteName(k)} must be a string, got ${preview(v)}`);
        setOwn(metadata, k, v as string);
      }
      continue;
    }
    entries.push(checkEntry(name, info, fail));
  }

  // The ranges must tile the data buffer exactly: no overlap, no gap, nothing after the last.
  const dataStart = 8 + headerBytes;
  const dataBytes = bytes.length - dataStart;
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of sorted) {
    if (e.end > dataBytes) fail(`tensor ${quoteName(e.name)}: data_offsets [${e.begin}, ${e.end}] run past the ${dataBytes} bytes of data`);
    if (e.begin < expected) fail(`tensor ${quoteName(e.name)}: data_offsets [${e.begin}, ${e.end}] overlap another tensor's bytes (which end at ${expected})`);
    if (e.begin > expected) fail(`tensor ${quoteName(e.name)}: data_offsets [${e.begin}, ${e.end}] leave bytes ${expected}..${e.begin} of the data unused`);
    expected = e.end;
  }
  if (expected !== dataBytes) fail(`${dataBytes - expected} bytes after the last tensor (data ends at ${expected}, the file at ${dataBytes}) are not described by the header`);

  const tensors: Record<string, Tensor> = {};
  const dtypes = new Map<string, string>();
  for (const e of entries) {
    // A copy into a fresh buffer: the result must not alias the caller's bytes, and the copy is
    // aligned. (Not bytes.slice(): on a Node Buffer that returns a view into the shared pool.)
    const raw = new Uint8Array(e.end - e.begin);
    raw.set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    toHostOrder(raw, ITEM_BYTES[e.dtype]);
    setOwn(tensors, e.name, toTensor(e, raw.buffer, fail));
    dtypes.set(e.name, e.dtype);
  }
  return { tensors, metadata, dtypes };
}

function checkEntry(name: string, info: unknown, fail: (msg: string) => never): Entry {
  const where = `tensor ${quoteName(name)}`;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) fail(`${where}: expected an object with dtype, shape and data_offsets, got ${preview(info)}`);
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (dtype === undefined) fail(`${where}: missing "dtype"`);
  if (shape === undefined) fail(`${where}: missing "shape"`);
  if (offsets === undefined) fail(`${where}: missing "data_offsets"`);
  if (typeof dtype !== 'string') fail(`${where}: "dtype" must be a string, got ${preview(dtype)}`);
  if (!Object.hasOwn(ITEM_BYTES, dtype as string)) fail(`${where}: unsupported dtype ${preview(dtype)} (supported: ${Object.keys(ITEM_BYTES).join(', ')})`);
  if (!Array.isArray(shape)) fail(`${where}: "shape" must be an array, got ${preview(shape)}`);
  const dims = shape as unknown[];
  const bad = dims.findIndex((d) => !Number.isSafeInteger(d) || (d as number) < 0);
  if (bad >= 0) fail(`${where}: shape ${preview(dims)} has a dimension that is not a non-negative integer below 2^53 (dimension ${bad} is ${preview(dims[bad])})`);
  if (!Array.isArray(offsets) || offsets.length !== 2) fail(`${where}: "data_offsets" must be an array [begin, end], got ${preview(offsets)}`);
  const [begin, end] = offsets as unknown[];
  for (const v of [begin, end]) {
    if (!Number.isSafeInteger(v) || (v as number) < 0) fail(`${where}: data_offsets ${preview(offsets)} must be non-negative integers below 2^53`);
  }
  const b = begin as number, e = end as number;
  if (e < b) fail(`${where}: data_offsets [${b}, ${e}] end before they begin`);
  // In float64: i32 or u32 arithmetic would wrap a product of 2^32 bytes to 0, which an empty
  // range would match. Past 2^53 the product rounds, but it then exceeds every safe e - b.
  const needed = shapeBytes(dims as number[], ITEM_BYTES[dtype as string]);
  if (needed !== e - b) fail(`${where}: data_offsets [${b}, ${e}] hold ${e - b} bytes, but ${dtype} shape ${briefShape(dims)} needs ${formatBytes(needed)}`);
  return { name, dtype: dtype as string, shape: dims as number[], begin: b, end: e };
}

function toTensor(e: Entry, buf: ArrayBuffer, fail: (msg: string) => never): Tensor {
  switch (e.dtype) {
    case 'F32': return new Tensor(e.shape, new Float32Array(buf));
    case 'I64': return new Tensor(e.shape, new BigInt64Array(buf));
    case 'F64': return new Tensor(e.shape, Float32Array.from(new Float64Array(buf)));
    case 'I32': return new Tensor(e.shape, Float32Array.from(new Int32Array(buf)));
    case 'I16': return new Tensor(e.shape, Float32Array.from(new Int16Array(buf)));
    case 'I8': return new Tensor(e.shape, Float32Array.from(new Int8Array(buf)));
    case 'U8': return new Tensor(e.shape, Float32Array.from(new Uint8Array(buf)));
    case 'BOOL': {
      const v = new Uint8Array(buf);
      const bad = v.findIndex((x) => x > 1);
      if (bad >= 0) fail(`tensor ${quoteName(e.name)}: BOOL value ${v[bad]} at index ${bad} is neither 0 nor 1`);
      return new Tensor(e.shape, Float32Array.from(v));
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: shifting the bits up is exact.
      const h = new Uint16Array(buf);
      const out = new Float32Array(h.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < h.length; i++) bits[i] = h[i] << 16;
      return new Tensor(e.shape, out);
    }
    default: { // F16: every half value is exactly representable in float32.
      const h = new Uint16Array(buf);
      return new Tensor(e.shape, Float32Array.from(h, halfToFloat));
    }
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * The first key that appears twice in one object of valid JSON `text`, with the key of the
 * object holding it ('' at top level), or null. Assumes JSON.parse has accepted the text.
 */
function findDuplicateKey(text: string): { key: string; path: string } | null {
  // One entry per open container: the keys seen so far (objects) or null (arrays).
  const stack: (Set<string> | null)[] = [];
  const names: string[] = [];
  let lastKey = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') { stack.push(new Set()); names.push(lastKey); }
    else if (c === '[') { stack.push(null); names.push(lastKey); }
    else if (c === '}' || c === ']') { stack.pop(); names.pop(); }
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const str = text.slice(i, j + 1);
      i = j;
      let k = j + 1;
      while (k < text.length && ' \t\r\n'.includes(text[k])) k++;
      if (text[k] !== ':') continue; // a value, not a key
      const key = JSON.parse(str) as string; // decodes escapes, so "a" and "\u0061" compare equal
      const seen = stack[stack.length - 1]!;
      if (seen.has(key)) return { key, path: stack.length > 1 ? names[names.length - 1] : '' };
      seen.add(key);
      lastKey = key;
    }
  }
  return null;
}
