// The CSV files of Kaggle's digit-recognizer competition: train.csv (header label,pixel0,…,
// pixel783, then one image a row) and test.csv (the same without the label column), and the
// ImageId,Label submission file. A hand-written scanner rather than split(','): train.csv has
// 42,000 × 785 cells and one string per cell would cost seconds and hundreds of MB.
import { Tensor, tensor } from '../tensor.js';
import { MNIST_MEAN, MNIST_STD } from './mnist.js';
import { quoteName } from '../io/untrusted.js';
import { boolean, checkOptions, describe } from '../options.js';
import { checkSource } from './check.js';

const SIDE = 28;
const PIXELS = SIDE * SIDE;

/** The options of readDigitCsv(). */
export interface DigitCsvOptions {
  /** Standardise with MNIST's mean and std, as sn.data.mnist() does (default true); false only scales to [0, 1]. */
  normalize?: boolean;
}

/** What readDigitCsv() returns. */
export interface DigitCsv {
  /** [N, 1, 28, 28] float32. */
  images: Tensor;
  /** The label column (train.csv), or null for a file without one (test.csv). */
  labels: Int32Array | null;
}

/** Parses train.csv or test.csv text; `source` names the file in errors (with the line number). */
export function readDigitCsv(text: string, source = 'CSV', options: DigitCsvOptions = {}): DigitCsv {
  checkSource('readDigitCsv', source, 'readDigitCsv(text, source, options)');
  checkOptions(`${source}: readDigitCsv`, options, { normalize: boolean });
  if (typeof text !== 'string') throw new Error(`${source}: readDigitCsv expects the file's text as a string, got ${describe(text)}`);
  const normalize = options.normalize ?? true;
  if (text.trim() === '') throw new Error(`${source}: the file is empty; expected a header line`);
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark from spreadsheet exports
  let end = lineEnd(text, pos);
  const header = text.slice(pos, end).replace(/\r$/, '').split(',').map((s) => s.trim());
  const hasLabel = header[0] === 'label';
  checkHeader(header, hasLabel, source);
  const cols = header.length;

  // Trailing newlines are fine; an empty line with data after it is not.
  let last = text.length;
  while (last > 0 && (text.charCodeAt(last - 1) === 10 || text.charCodeAt(last - 1) === 13)) last--;
  let rows = 0;
  for (let i = end; i < last; rows++) i = lineEnd(text, i + 1);

  // A valid row is cols cells of at least one character, cols - 1 commas and the newline before
  // it: a text with more lines than that allows holds a short line, which the loop below refuses
  // before it reaches row `capacity`. So a text of blank lines cannot ask for gigabytes.
  const capacity = Math.min(rows, Math.floor((last - end) / (2 * cols)));
  const pixels = new Float32Array(capacity * PIXELS);
  const labels = hasLabel ? new Int32Array(capacity) : null;
  // One row is parsed here and copied out only once all of it is valid.
  const rowPixels = new Float32Array(PIXELS);
  let rowLabel = 0;
  const first = hasLabel ? 1 : 0;
  for (let r = 0; r < rows; r++) {
    const line = r + 2;
    pos = end + 1;
    end = lineEnd(text, pos);
    const stop = end > pos && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    if (stop === pos) throw new Error(`${source}: line ${line} is empty`);
    let col = 0;
    for (let p = pos; ; p++) {
      if (col === cols) throw new Error(`${source}: line ${line} has ${countCells(text, pos, stop)} columns, expected ${cols}`);
      const cellStart = p;
      let value = 0;
      let digits = true;
      for (; p < stop; p++) {
        const c = text.charCodeAt(p);
        if (c === 44) break; // ','
        if (c < 48 || c > 57) digits = false;
        value = value * 10 + (c - 48);
      }
      const isLabel = col < first;
      const max = isLabel ? 9 : 255;
      if (!digits || p === cellStart || value > max) {
        const what = p === cellStart ? 'is empty' : `${quoteName(text.slice(cellStart, p))} is not an integer in 0..${max}`;
        throw new Error(`${source}: line ${line}, column ${col + 1} (${header[col]}): ${isLabel ? 'label' : 'pixel'} ${what}`);
      }
      // The same arithmetic as mnist(), so the CSV and IDX copies of an image are bit-identical.
      if (isLabel) rowLabel = value;
      else rowPixels[col - first] = normalize ? (value / 255 - MNIST_MEAN) / MNIST_STD : value / 255;
      col++;
      if (p >= stop) break;
    }
    if (col !== cols) throw new Error(`${source}: line ${line} has ${col} columns, expected ${cols}`);
    pixels.set(rowPixels, r * PIXELS);
    if (labels) labels[r] = rowLabel;
  }
  return { images: tensor(pixels, [rows, 1, SIDE, SIDE]), labels };
}

/** Kaggle's submission file: `ImageId,Label`, one row per prediction, ImageId counting from 1. */
export function writeSubmissionCsv(labels: Int32Array | readonly number[]): string {
  if (!(labels instanceof Int32Array) && !Array.isArray(labels)) {
    throw new Error(`writeSubmissionCsv: labels must be an Int32Array or an array of integers, got ${describe(labels)}`);
  }
  if (labels.length === 0) throw new Error('writeSubmissionCsv: no labels to write');
  const parts = ['ImageId,Label\n'];
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0) throw new Error(`writeSubmissionCsv: label ${i} is ${describe(v)}, not a non-negative integer`);
    parts.push(`${i + 1},${v}\n`);
  }
  return parts.join('');
}


function lineEnd(text: string, from: number): number {
  const i = text.indexOf('\n', from);
  return i < 0 ? text.length : i;
}

function countCells(text: string, from: number, to: number): number {
  let n = 1;
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === 44) n++;
  return n;
}

function checkHeader(header: string[], hasLabel: boolean, source: string): void {
  const expected = hasLabel ? PIXELS + 1 : PIXELS;
  const want = (i: number) => (hasLabel ? (i === 0 ? 'label' : `pixel${i - 1}`) : `pixel${i}`);
  const formats = 'label,pixel0,…,pixel783 (train.csv) or pixel0,…,pixel783 (test.csv)';
  for (let i = 0; i < Math.min(header.length, expected); i++) {
    if (header[i] !== want(i)) {
      throw new Error(`${source}: line 1: header column ${i + 1} is ${quoteName(header[i])}, expected ${JSON.stringify(want(i))}; the header must be ${formats}`);
    }
  }
  if (header.length !== expected) {
    throw new Error(`${source}: line 1: header has ${header.length} columns, expected ${expected}; the header must be ${formats}`);
  }
}
