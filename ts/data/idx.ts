// The IDX format of MNIST and Fashion-MNIST: magic 0x0000, a type byte, a rank byte, one
// big-endian u32 per dimension, then the data (big-endian for multi-byte types).
import { describe } from '../options.js';
import { checkSource } from './check.js';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
export interface Idx { shape: number[]; data: IdxData; }

const TYPES: Record<number, { name: string; bytes: number }> = {
  0x08: { name: 'ubyte', bytes: 1 }, 0x09: { name: 'byte', bytes: 1 }, 0x0b: { name: 'short', bytes: 2 },
  0x0c: { name: 'int', bytes: 4 }, 0x0d: { name: 'float', bytes: 4 }, 0x0e: { name: 'double', bytes: 8 },
};

/** Parses IDX bytes; `source` names the file in errors. Sizes are checked against the byte count. */
export function readIdx(bytes: Uint8Array, source = 'IDX data'): Idx {
  checkSource('readIdx', source, 'readIdx(bytes, source)');
  if (!(bytes instanceof Uint8Array)) {
    throw new Error(`${source}: readIdx expects a Uint8Array (a Node Buffer is one; wrap an ArrayBuffer with new Uint8Array(buffer)), got ${describe(bytes)}`);
  }
  if (bytes.length < 4) throw new Error(`${source}: ${bytes.length} bytes is too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0) !== 0) throw new Error(`${source}: not an IDX file (magic starts 0x${view.getUint16(0).toString(16)}, expected 0x0000)`);
  const type = TYPES[bytes[2]];
  if (!type) throw new Error(`${source}: unknown IDX data type 0x${bytes[2].toString(16)}`);
  const rank = bytes[3];
  const headerBytes = 4 + 4 * rank;
  if (rank === 0 || bytes.length < headerBytes) throw new Error(`${source}: IDX header of rank ${rank} does not fit in ${bytes.length} bytes`);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * type.bytes;
  if (bytes.length !== expected) {
    throw new Error(`${source}: IDX shape [${shape.join(', ')}] of ${type.name} needs ${expected} bytes, the file has ${bytes.length}`);
  }
  const body = bytes.subarray(headerBytes);
  let data: IdxData;
  switch (bytes[2]) {
    case 0x08: data = body.slice(); break;
    case 0x09: data = new Int8Array(body.slice().buffer); break;
    case 0x0b: data = Int16Array.from({ length: count }, (_, i) => view.getInt16(headerBytes + 2 * i)); break;
    case 0x0c: data = Int32Array.from({ length: count }, (_, i) => view.getInt32(headerBytes + 4 * i)); break;
    case 0x0d: data = Float32Array.from({ length: count }, (_, i) => view.getFloat32(headerBytes + 4 * i)); break;
    default: data = Float64Array.from({ length: count }, (_, i) => view.getFloat64(headerBytes + 8 * i)); break;
  }
  return { shape, data };
}
