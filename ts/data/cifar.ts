// The CIFAR-10 binary format (data_batch_1.bin … data_batch_5.bin, test_batch.bin): records of
// one label byte then 3072 pixel bytes — the red, green and blue 32×32 planes, each row-major.
// That is already CHW order, so a record's pixels copy straight into an NCHW tensor.
import { tensor } from '../tensor.js';
import type { LabelledImages } from './mnist.js';
import { fileBytes } from '../io/untrusted.js';
import { checkSource } from './check.js';

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
