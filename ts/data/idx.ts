// The IDX format of MNIST and Fashion-MNIST: magic 0x0000, a type byte, a rank byte, one
// big-endian u32 per dimension, then the data (big-endian for multi-byte types).
import { briefShape, fileBytes, formatBytes, shapeBytes } from '../io/untrusted.js';
import { checkSource } from './check.js';

/** The values of an IDX file, in the array type its header names. */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
/** A parsed IDX file (MNIST's format): its dimensions and values. */
export interface Idx {
  /** The dimensions, e.g. [60000, 28, 28] for MNIST's training images. */
  shape: number[];
  /** The values, row-major, as many as the shape holds. */
  data: IdxData;
}

const TYPES = new Map<number, { name: string; bytes: number }>([
  [0x08, { name: 'ubyte', bytes: 1 }], [0x09, { name: 'byte', bytes: 1 }], [0x0b, { name: 'short', bytes: 2 }],
  [0x0c, { name: 'int', bytes: 4 }], [0x0d, { name: 'float', bytes: 4 }], [0x0e, { name: 'double', bytes: 8 }],
]);

/**
 * Parses IDX bytes (a Uint8Array or Node Buffer, an ArrayBuffer or another ArrayBufferView);
 * `source` names the file in errors. The shape's size is checked against the byte count before
 * anything is allocated, and the data is a copy that shares no memory with `bytes`.
 */
export function readIdx(bytes: Uint8Array | ArrayBuffer | ArrayBufferView, source = 'IDX data'): Idx {
  checkSource('readIdx', source, 'readIdx(bytes, source)');
  const fail = (msg: string): never => { throw new Error(`${source}: ${msg}`); };
  const b = fileBytes(bytes, source, 'readIdx');
  if (b.length < 4) fail(`${b.length} bytes is too short for an IDX header (4 bytes before the dimensions)`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (view.getUint16(0) !== 0) fail(`not an IDX file (magic starts 0x${view.getUint16(0).toString(16).padStart(4, '0')}, expected 0x0000)`);
  const type = TYPES.get(b[2]);
  if (!type) fail(`unknown IDX data type 0x${b[2].toString(16)} (known: 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e)`);
  const { name, bytes: itemBytes } = type!;
  const rank = b[3];
  if (rank === 0) fail('IDX header has rank 0 (no dimensions)');
  const headerBytes = 4 + 4 * rank;
  if (b.length < headerBytes) fail(`IDX header of rank ${rank} does not fit in ${b.length} bytes (it takes ${headerBytes})`);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i));
  // In float64: u32 arithmetic would wrap [65536, 65536] to 0 bytes, which an empty body matches.
  const expected = headerBytes + shapeBytes(shape, itemBytes);
  if (b.length !== expected) fail(`IDX shape ${briefShape(shape)} of ${name} needs ${formatBytes(expected)} bytes, the file has ${b.length}`);
  return { shape, data: readBody(b, view, headerBytes, (b.length - headerBytes) / itemBytes, b[2]) };
}

/** The data, copied out of the file's bytes (Node Buffers of small files share one pool). */
function readBody(b: Uint8Array, view: DataView, at: number, count: number, type: number): IdxData {
  switch (type) {
    case 0x08: return new Uint8Array(b.subarray(at, at + count));
    case 0x09: return new Int8Array(new Uint8Array(b.subarray(at, at + count)).buffer);
    case 0x0b: return Int16Array.from({ length: count }, (_, i) => view.getInt16(at + 2 * i));
    case 0x0c: return Int32Array.from({ length: count }, (_, i) => view.getInt32(at + 4 * i));
    case 0x0d: return Float32Array.from({ length: count }, (_, i) => view.getFloat32(at + 4 * i));
    default: return Float64Array.from({ length: count }, (_, i) => view.getFloat64(at + 8 * i));
  }
}
