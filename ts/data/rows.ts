// Selecting rows (the first dimension) of a dataset: takeRows copies a subset once, e.g. after a
// split; gatherRows fills a caller-owned buffer, so a training loop can assemble every batch into
// the same Float32Array and wrap it in one reused tensor, allocating nothing per step.
import { Tensor, formatShape, tensor, checkTensor } from '../tensor.js';
import { checkCount, checkIndices } from './check.js';
import { describe } from '../options.js';

/** What takeRows() returns. */
export interface Rows {
  /** The rows taken, [indices.length, ...]. */
  images: Tensor;
  /** Their labels, or null when none were given. */
  labels: Int32Array | null;
}

/** A new tensor (and labels) holding rows `indices` of `images` [N, ...], in that order. */
export function takeRows(images: Tensor, labels: Int32Array | null, indices: Int32Array | readonly number[]): Rows {
  checkTensor('takeRows', 'images', images);
  if (images.dtype !== 'float32') throw new Error(`takeRows: images must be float32, got ${images.dtype}`);
  if (images.shape.length === 0) throw new Error('takeRows: images must have a row dimension, got a scalar');
  const rows = images.shape[0];
  if (labels !== null && !(labels instanceof Int32Array)) throw new Error(`takeRows: labels must be an Int32Array or null, got ${describe(labels)}`);
  if (labels && labels.length !== rows) {
    throw new Error(`takeRows: ${labels.length} labels for images of shape ${formatShape(images.shape)} (${rows} rows)`);
  }
  checkIndices(indices, rows, 'takeRows');
  const rowSize = rows === 0 ? 0 : images.size / rows;
  const out = new Float32Array(indices.length * rowSize);
  gatherRows(images.view(), rowSize, indices, out);
  return {
    images: tensor(out, [indices.length, ...images.shape.slice(1)]),
    labels: labels ? copyLabels(labels, indices) : null,
  };
}

/**
 * Copies rows `indices` of `src` (rows of `rowSize` values) into the start of `dst`, in order,
 * and returns the number of values written (indices.length · rowSize). Works for images
 * (Float32Array) and labels (Int32Array, rowSize 1); `dst` must hold at least that many values.
 */
export function gatherRows<T extends Float32Array | Int32Array>(src: T, rowSize: number, indices: Int32Array | readonly number[], dst: T): number {
  const where = 'gatherRows';
  if (!(src instanceof Float32Array || src instanceof Int32Array)) throw new Error(`${where}: src must be a Float32Array or Int32Array, got ${describe(src)}`);
  if (!(dst instanceof Float32Array || dst instanceof Int32Array)) throw new Error(`${where}: dst must be a Float32Array or Int32Array, got ${describe(dst)}`);
  if (src.constructor !== dst.constructor) throw new Error(`${where}: src is a ${src.constructor.name} but dst a ${dst.constructor.name}`);
  checkCount(rowSize, 'rowSize', where, 1);
  if (src.length % rowSize !== 0) throw new Error(`${where}: src has ${src.length} values, not a whole number of rows of ${rowSize}`);
  checkIndices(indices, src.length / rowSize, where);
  const count = indices.length * rowSize;
  if (dst.length < count) throw new Error(`${where}: dst holds ${dst.length} values, ${indices.length} rows of ${rowSize} need ${count}`);
  if (rowSize === 1) {
    for (let i = 0; i < indices.length; i++) dst[i] = src[indices[i]];
    return count;
  }
  // A native copy per row: measured ~3× faster than an element loop for 784-value images,
  // for the price of one small view object per row.
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i] * rowSize;
    dst.set(src.subarray(from, from + rowSize), i * rowSize);
  }
  return count;
}

function copyLabels(labels: Int32Array, indices: ArrayLike<number>): Int32Array {
  const out = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = labels[indices[i]];
  return out;
}
