// Datasets named on the command line: mnist | idx:DIR | csv:FILE.
import { readFile } from 'node:fs/promises';
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

export async function loadDataset(spec: string, limit?: number): Promise<Dataset> {
  if (spec === 'mnist' || spec.startsWith('idx:')) {
    const dir = spec === 'mnist' ? undefined : spec.slice(4);
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
