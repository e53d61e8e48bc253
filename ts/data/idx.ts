// The IDX format of MNIST and Fashion-MNIST: magic 0x0000, a type byte, a rank byte, one
// big-endian u32 per dimension, then the data (big-endian for multi-byte types).
import { briefShape, fileBytes, formatBytes, shapeBytes } from '../io/untrusted.js';
import { checkSource } from './check.js';
import { Tensor } from '../tensor.js';
import { Dataset, type Sample } from './dataset.js';
import { checkUnchanged, chunkRecords, openRecords, readExactly } from './file-records.js';
import { describe } from '../options.js';

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
  const b = fileBytes(bytes, source, 'readIdx');
  const { type, itemBytes, shape, headerBytes } = idxHeader(b, b.length, source);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { shape, data: readBody(b, view, headerBytes, (b.length - headerBytes) / itemBytes, type) };
}

/** What an IDX header says: the type byte, its name and size, the dimensions, the header's length. */
export interface IdxHeader {
  type: number;
  typeName: string;
  itemBytes: number;
  shape: number[];
  headerBytes: number;
}

/**
 * The header of an IDX file of `fileLength` bytes, from its first bytes `b` (all of them when the
 * file is shorter than 1028, the longest header), checked against that length.
 */
export function idxHeader(b: Uint8Array, fileLength: number, source: string): IdxHeader {
  const fail = (msg: string): never => { throw new Error(`${source}: ${msg}`); };
  if (fileLength < 4) fail(`${fileLength} bytes is too short for an IDX header (4 bytes before the dimensions)`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (view.getUint16(0) !== 0) fail(`not an IDX file (magic starts 0x${view.getUint16(0).toString(16).padStart(4, '0')}, expected 0x0000)`);
  const known = TYPES.get(b[2]);
  if (!known) fail(`unknown IDX data type 0x${b[2].toString(16)} (known: 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e)`);
  const { name, bytes: itemBytes } = known!;
  const rank = b[3];
  if (rank === 0) fail('IDX header has rank 0 (no dimensions)');
  const headerBytes = 4 + 4 * rank;
  if (fileLength < headerBytes) fail(`IDX header of rank ${rank} does not fit in ${fileLength} bytes (it takes ${headerBytes})`);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i));
  // In float64: u32 arithmetic would wrap [65536, 65536] to 0 bytes, which an empty body matches.
  const expected = headerBytes + shapeBytes(shape, itemBytes);
  if (fileLength !== expected) fail(`IDX shape ${briefShape(shape)} of ${name} needs ${formatBytes(expected)} bytes, the file has ${fileLength}`);
  return { type: b[2], typeName: name, itemBytes, shape, headerBytes };
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

/**
 * A dataset of the samples of an IDX images file and its labels file (MNIST's format), read
 * from disk as it is iterated, a chunk of about 1 MiB at a time, never the whole file (Node
 * only). The headers are checked now: the magic, the types, that each file's size is what its
 * shape needs, and that there is one label per image; every pass checks the sizes again.
 *
 * Samples: x from each image, as float32 — ubyte pixels scaled to [0, 1] (as torchvision's
 * ToTensor and readCifar10), other types as they are — of shape [1, H, W] for a file [N, H, W]
 * (a channel added, as mnist() does), else the file's dimensions after N; y the label, an
 * integer (the labels file must be rank 1 of an integer type).
 *
 * @param imagesPath The images file, e.g. 'train-images-idx3-ubyte'.
 * @param labelsPath The labels file, e.g. 'train-labels-idx1-ubyte'.
 *
 * @example
 * ```js
 * const train = (await sn.data.idxDataset('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'))
 *   .shuffle(10000).batch(64);
 * await sn.fit(model, train, { epochs: 5 });
 * ```
 */
export async function idxDataset(imagesPath: string, labelsPath: string): Promise<Dataset<Sample>> {
  const where = 'idxDataset';
  for (const [name, v] of [['imagesPath', imagesPath], ['labelsPath', labelsPath]] as const) {
    if (typeof v !== 'string' || v === '') throw new Error(`${where}: ${name} must be a file path (a non-empty string), got ${describe(v)}`);
  }
  const images = await readHeader(where, imagesPath);
  const labels = await readHeader(where, labelsPath);
  const n = images.header.shape[0];
  if (images.header.shape.length < 2) {
    throw new Error(`${imagesPath}: IDX images must have a sample dimension and at least one more, got shape ${briefShape(images.header.shape)}`);
  }
  if (labels.header.shape.length !== 1 || ![0x08, 0x09, 0x0b, 0x0c].includes(labels.header.type)) {
    throw new Error(`${labelsPath}: IDX labels must be one integer per sample (rank 1 of ubyte, byte, short or int), got shape ${briefShape(labels.header.shape)} of ${labels.header.typeName}`);
  }
  if (labels.header.shape[0] !== n) throw new Error(`${where}: ${labelsPath} has ${labels.header.shape[0]} labels, ${imagesPath} has ${n} images`);
  const dims = images.header.shape.slice(1);
  const sampleShape = dims.length === 2 ? [1, ...dims] : dims;
  return Dataset.fromGenerator(() => idxSamples(images, labels, sampleShape), { size: n });
}

/** A file's name, size and checked IDX header. */
interface IdxFile {
  path: string;
  size: number;
  header: IdxHeader;
}

async function readHeader(where: string, path: string): Promise<IdxFile> {
  const file = await openRecords(where, path);
  try {
    const first = new Uint8Array(Math.min(file.size, 1028));
    await readExactly(file, first, first.length, 0, path);
    return { path, size: file.size, header: idxHeader(first, file.size, path) };
  } finally {
    await file.close();
  }
}

/** One pass over the samples: images and labels read in lockstep, a chunk of records at a time. */
async function* idxSamples(images: IdxFile, labels: IdxFile, sampleShape: number[]): AsyncGenerator<Sample> {
  const n = images.header.shape[0];
  const values = images.header.shape.slice(1).reduce((a, b) => a * b, 1);
  const imageBytes = values * images.header.itemBytes, labelBytes = labels.header.itemBytes;
  const perChunk = chunkRecords(imageBytes);
  const imageFile = await openRecords('idxDataset', images.path);
  try {
    const labelFile = await openRecords('idxDataset', labels.path);
    try {
      checkUnchanged(imageFile, images.size, images.path);
      checkUnchanged(labelFile, labels.size, labels.path);
      const imageChunk = new Uint8Array(perChunk * imageBytes), labelChunk = new Uint8Array(perChunk * labelBytes);
      const imageView = new DataView(imageChunk.buffer), labelView = new DataView(labelChunk.buffer);
      for (let start = 0; start < n; start += perChunk) {
        const count = Math.min(perChunk, n - start);
        await readExactly(imageFile, imageChunk, count * imageBytes, images.header.headerBytes + start * imageBytes, images.path);
        await readExactly(labelFile, labelChunk, count * labelBytes, labels.header.headerBytes + start * labelBytes, labels.path);
        for (let r = 0; r < count; r++) {
          const x = new Float32Array(values);
          decode(images.header.type, imageChunk, imageView, r * imageBytes, x);
          yield { x: new Tensor(sampleShape, x), y: label(labels.header.type, labelChunk, labelView, r * labelBytes) };
        }
      }
    } finally {
      await labelFile.close();
    }
  } finally {
    await imageFile.close();
  }
}

/** One record's values as float32 (ubyte scaled to [0, 1]). */
function decode(type: number, b: Uint8Array, view: DataView, at: number, out: Float32Array): void {
  const n = out.length;
  switch (type) {
    case 0x08: for (let i = 0; i < n; i++) out[i] = b[at + i] / 255; return;
    case 0x09: for (let i = 0; i < n; i++) out[i] = view.getInt8(at + i); return;
    case 0x0b: for (let i = 0; i < n; i++) out[i] = view.getInt16(at + 2 * i); return;
    case 0x0c: for (let i = 0; i < n; i++) out[i] = view.getInt32(at + 4 * i); return;
    case 0x0d: for (let i = 0; i < n; i++) out[i] = view.getFloat32(at + 4 * i); return;
    default: for (let i = 0; i < n; i++) out[i] = view.getFloat64(at + 8 * i);
  }
}

function label(type: number, b: Uint8Array, view: DataView, at: number): number {
  switch (type) {
    case 0x08: return b[at];
    case 0x09: return view.getInt8(at);
    case 0x0b: return view.getInt16(at);
    default: return view.getInt32(at);
  }
}
