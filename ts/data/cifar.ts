// The CIFAR-10 binary format (data_batch_1.bin … data_batch_5.bin, test_batch.bin): records of
// one label byte then 3072 pixel bytes — the red, green and blue 32×32 planes, each row-major.
// That is already CHW order, so a record's pixels copy straight into an NCHW tensor.
import { platform } from '#platform';
import { Tensor, tensor } from '../tensor.js';
import type { LabelledImages } from './mnist.js';
import { fileBytes } from '../io/untrusted.js';
import { checkSource } from './check.js';
import { Dataset, type Sample } from './dataset.js';
import { checkUnchanged, chunkRecords, openRecords, readExactly } from './file-records.js';
import { checkOptions, describe, oneOf } from '../options.js';

const SIDE = 32;
const PIXELS = 3 * SIDE * SIDE;
const RECORD = 1 + PIXELS;

/** The class names, indexed by label. */
export const CIFAR10_CLASSES = Object.freeze([
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
] as const);

/**
 * Parses CIFAR-10 binary records (a Uint8Array or Node Buffer, an ArrayBuffer or another
 * ArrayBufferView) into images [N, 3, 32, 32] in [0, 1] and labels 0..9.
 */
export function readCifar10(input: Uint8Array | ArrayBuffer | ArrayBufferView, source = 'CIFAR-10 data'): LabelledImages {
  checkSource('readCifar10', source, 'readCifar10(bytes, source)');
  const bytes = fileBytes(input, source, 'readCifar10');
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new Error(`${source}: ${bytes.length} bytes is not a whole number of CIFAR-10 records (${RECORD} bytes each: 1 label + 3×32×32 pixels)`);
  }
  const n = bytes.length / RECORD;
  const pixels = new Float32Array(n * PIXELS);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const at = i * RECORD;
    const label = bytes[at];
    if (label > 9) throw new Error(`${source}: record ${i} (byte ${at}) has label ${label}, outside 0..9`);
    labels[i] = label;
    const out = i * PIXELS;
    for (let j = 0; j < PIXELS; j++) pixels[out + j] = bytes[at + 1 + j] / 255;
  }
  return { images: tensor(pixels, [n, 3, SIDE, SIDE]), labels };
}

/** The options of {@link cifar10Dataset}. */
export interface Cifar10DatasetOptions {
  /** 'train' (data_batch_1.bin … data_batch_5.bin, 50,000 images) or 'test' (test_batch.bin, 10,000). Default 'train'. */
  split?: 'train' | 'test';
}

/**
 * A dataset of CIFAR-10's binary batches in `dir` (the `cifar-10-batches-bin` directory of the
 * binary version), read from disk as it is iterated, about 1 MiB of records at a time, never a
 * whole file (Node only). The files are opened now: each must exist and hold a whole number of
 * records; every pass checks their sizes again, and each label as it is read.
 *
 * Samples: x an image [3, 32, 32] in [0, 1] (the red, green and blue planes), y its label 0..9
 * (names in CIFAR10_CLASSES), in file order.
 *
 * @param dir The directory holding data_batch_1.bin … data_batch_5.bin and test_batch.bin.
 * @param options `split`: 'train' (default) or 'test'.
 *
 * @example
 * ```js
 * const train = (await sn.data.cifar10Dataset('cifar-10-batches-bin')).shuffle(10000).batch(128);
 * ```
 */
export async function cifar10Dataset(dir: string, options: Cifar10DatasetOptions = {}): Promise<Dataset<Sample>> {
  const where = 'cifar10Dataset';
  if (typeof dir !== 'string' || dir === '') throw new Error(`${where}: dir must be a directory path (a non-empty string), got ${describe(dir)}`);
  checkOptions(where, options, { split: oneOf('train', 'test') });
  if (!platform.node) throw new Error(`${where}: streams files from disk, which needs Node; in a page fetch the files and parse them with sn.data.readCifar10`);
  const names = (options.split ?? 'train') === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const files: { path: string; size: number }[] = [];
  for (const name of names) {
    const path = platform.joinPath(dir, name);
    const file = await openRecords(where, path).catch((err: Error) => {
      throw new Error(`${where}: cannot open ${path} (${err.message}); dir must hold CIFAR-10's binary batches (${names.join(', ')})`, { cause: err });
    });
    const size = file.size;
    await file.close();
    if (size === 0 || size % RECORD !== 0) {
      throw new Error(`${path}: ${size} bytes is not a whole number of CIFAR-10 records (${RECORD} bytes each: 1 label + 3×32×32 pixels)`);
    }
    files.push({ path, size });
  }
  const count = files.reduce((n, f) => n + f.size / RECORD, 0);
  return Dataset.fromGenerator(() => cifarSamples(files), { size: count });
}

/** One pass over the records of `files`, in order. */
async function* cifarSamples(files: { path: string; size: number }[]): AsyncGenerator<Sample> {
  const perChunk = chunkRecords(RECORD);
  const chunk = new Uint8Array(perChunk * RECORD);
  const shape = [3, SIDE, SIDE];
  for (const { path, size } of files) {
    const file = await openRecords('cifar10Dataset', path);
    try {
      checkUnchanged(file, size, path);
      const n = size / RECORD;
      for (let start = 0; start < n; start += perChunk) {
        const count = Math.min(perChunk, n - start);
        await readExactly(file, chunk, count * RECORD, start * RECORD, path);
        for (let r = 0; r < count; r++) {
          const at = r * RECORD, label = chunk[at];
          if (label > 9) throw new Error(`${path}: record ${start + r} (byte ${(start + r) * RECORD}) has label ${label}, outside 0..9`);
          const x = new Float32Array(PIXELS);
          for (let j = 0; j < PIXELS; j++) x[j] = chunk[at + 1 + j] / 255;
          yield { x: new Tensor(shape, x), y: label };
        }
      }
    } finally {
      await file.close();
    }
  }
}
