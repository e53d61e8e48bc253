// What fit/evaluate/predict accept, checked once up front, and the small per-batch reductions.
import type { Module } from '../module.js';
import { Softmax, LogSoftmax } from '../layers/softmax.js';
import { Sequential } from '../sequential.js';
import { Tensor, formatShape, checkTensor } from '../tensor.js';
import { describe } from '../options.js';

/**
 * Class labels (for classification losses: int32, or int64 as PyTorch keeps them, or plain
 * integers) or a Tensor target with one row per sample.
 */
export type Target = Int32Array | BigInt64Array | readonly number[] | Tensor;

export interface Data {
  n: number;
  x: Float32Array;
  rowShape: number[];
  rowSize: number;
  labels: Int32Array | null;
  targets: Float32Array | null;
  targetShape: number[];
  targetRowSize: number;
}

export function checkData(where: string, x: Tensor, y: Target | null): Data {
  checkTensor(where, 'x', x, '[N, ...]');
  if (x.dtype !== 'float32') throw new Error(`${where}: x must be a float32 Tensor, got ${x.dtype}`);
  if (x.shape.length < 1 || x.shape[0] < 1) throw new Error(`${where}: x must have at least one sample, got shape ${formatShape(x.shape)}`);
  const n = x.shape[0];
  const data: Data = {
    n, x: x.onDevice ? x.toArray() : x.view(), rowShape: x.shape.slice(1), rowSize: x.size / n,
    labels: null, targets: null, targetShape: [], targetRowSize: 0,
  };
  if (y === null) return data;
  if (y instanceof Tensor && y.dtype === 'float32') {
    if (y.shape[0] !== n) throw new Error(`${where}: y has ${y.shape[0]} rows (shape ${formatShape(y.shape)}), x has ${n}`);
    data.targets = y.onDevice ? y.toArray() : y.view();
    data.targetShape = y.shape.slice(1);
    data.targetRowSize = y.size / n;
    return data;
  }
  // An int64 Tensor holds class labels, as PyTorch's do.
  const labels = y instanceof Int32Array ? y : toLabels(where, y instanceof Tensor ? y.toInt64Array() : y);
  if (labels.length !== n) throw new Error(`${where}: y has ${labels.length} labels, x has ${n} samples`);
  data.labels = labels;
  return data;
}

/**
 * Labels given otherwise (an array, a Float32Array, a BigInt64Array) as int32, each checked
 * first: Int32Array.from would quietly turn 1.5 into 1 and NaN into 0.
 */
function toLabels(where: string, y: unknown): Int32Array {
  const list = Array.isArray(y) || (ArrayBuffer.isView(y) && !(y instanceof DataView));
  if (!list) {
    throw new Error(`${where}: y must be class labels (an Int32Array, a BigInt64Array or an array of integers) or a Tensor target, got ${describe(y)}`);
  }
  const values = y as ArrayLike<unknown>;
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // int64 labels, as PyTorch keeps them, are taken when they fit.
    const n = typeof v === 'bigint' && v >= -(2n ** 31n) && v < 2n ** 31n ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || Math.abs(n) > 2 ** 31 - 1) {
      throw new Error(`${where}: label at index ${i} is ${describe(v)}, expected an integer class index`);
    }
    out[i] = n;
  }
  return out;
}

/** Index of the largest of the c values of row i of v. */
function rowArgmax(v: Float32Array, i: number, c: number): number {
  let best = 0;
  for (let j = 1; j < c; j++) if (v[i * c + j] > v[i * c + best]) best = j;
  return best;
}

/** Writes argmax of each row of out [m, C] into dst[offset..]. */
export function argmaxRows(out: Tensor, dst: Int32Array, offset: number): void {
  const [m, c] = out.shape;
  const v = out.view();
  for (let i = 0; i < m; i++) dst[offset + i] = rowArgmax(v, i, c);
}

/** Number of rows of out [m, C] whose argmax equals the label. */
export function countCorrect(out: Tensor, labels: Int32Array): number {
  const [m, c] = out.shape;
  const v = out.view();
  let correct = 0;
  for (let i = 0; i < m; i++) if (rowArgmax(v, i, c) === labels[i]) correct++;
  return correct;
}

/**
 * The layer whose output the model returns: the last layer run, found through nested
 * Sequentials (an empty one passes its input through, so the layer before it counts), or the
 * model itself when it is not a Sequential. null when no layer runs at all.
 */
function lastLayerRun(model: Module): Module | null {
  if (!(model instanceof Sequential)) return model;
  // From the end, depth first; an explicit stack, so no nesting depth can overflow it.
  const stack: Module[] = [model];
  while (stack.length) {
    const m = stack.pop()!;
    if (!(m instanceof Sequential)) return m;
    for (const [, child] of m.children()) stack.push(child);
  }
  return null;
}

/**
 * Softmax of each row of out [m, C] into dst, unless the model's last layer already gives
 * probabilities (Softmax) or log-probabilities (LogSoftmax) over the classes (dim 1 or -1).
 */
export function probabilities(model: Module, out: Tensor, dst: Float32Array): void {
  const [m, c] = out.shape;
  const v = out.view();
  const last = lastLayerRun(model);
  const overClasses = (l: Module | null) => (l instanceof Softmax || l instanceof LogSoftmax) && (l.dim === 1 || l.dim === -1);
  if (last instanceof Softmax && overClasses(last)) { dst.set(v); return; }
  const isLog = last instanceof LogSoftmax && overClasses(last);
  for (let i = 0; i < m; i++) {
    let max = -Infinity;
    for (let j = 0; j < c; j++) max = Math.max(max, v[i * c + j]);
    let sum = 0;
    for (let j = 0; j < c; j++) { const e = isLog ? Math.exp(v[i * c + j]) : Math.exp(v[i * c + j] - max); dst[i * c + j] = e; sum += e; }
    if (!isLog) for (let j = 0; j < c; j++) dst[i * c + j] /= sum;
  }
}
