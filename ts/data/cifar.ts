// The CIFAR-10 binary format (data_batch_1.bin … data_batch_5.bin, test_batch.bin): records of
// one label byte then 3072 pixel bytes — the red, green and blue 32×32 planes, each row-major.
// That is already CHW order, so a record's pixels copy straight into an NCHW tensor.
import { tensor } from '../tensor.js';
import type { LabelledImages } from './mnist.js';
import { describe } from '../options.js';
import { checkSource } from './check.js';

const SIDE = 32;
const PIXELS = 3 * SIDE * SIDE;
const RECORD = 1 + PIXELS;

/** The class names, indexed by label. */
export const CIFAR10_CLASSES = Object.freeze([
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
] as const);

/** Parses CIFAR-10 binary records into images [N, 3, 32, 32] in [0, 1] and labels 0..9. */
export function readCifar10(bytes: Uint8Array, source = 'CIFAR-10 data'): LabelledImages {
  checkSource('readCifar10', source, 'readCifar10(bytes, source)');
  if (!(bytes instanceof Uint8Array)) throw new Error(`${source}: readCifar10 expects a Uint8Array (a Node Buffer is one), got ${describe(bytes)}`);
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
