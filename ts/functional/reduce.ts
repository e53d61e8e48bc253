// sn.mean (with gradients) and sn.argmax (indices, no gradient).
import { f32 } from '../runtime/block.js';
import { Tensor, formatShape, checkTensor } from '../tensor.js';
import { beginOp, endOp, opInput, dryResult } from './site.js';
import { normalizeDims } from './broadcast.js';
import type { TensorLike } from './arith.js';
import { describe } from '../options.js';

/**
 * The mean over dimensions `dims` (a number or an array; all of them when left out), as
 * torch.mean: those dimensions are removed, or kept with size 1 when `keepdim` is true. Sums are
 * taken in float64. The gradient spreads dL/dmean evenly over the values averaged.
 *
 * @example
 * ```js
 * sn.mean(x, [2, 3]);          // global average pooling: [N, C, H, W] → [N, C]
 * sn.mean(x, [2, 3], true);    // → [N, C, 1, 1]
 * ```
 */
export function mean(x: TensorLike, dims?: number | readonly number[], keepdim = false): Tensor {
  const call = beginOp('sn.mean');
  const t = opInput(call, 'x', 0, x);
  if (typeof keepdim !== 'boolean') throw new Error(`sn.mean: keepdim must be true or false, got ${describe(keepdim)}`);
  if (dims !== undefined && typeof dims !== 'number' && !Array.isArray(dims)) {
    throw new Error(`sn.mean: dims must be a dimension or an array of dimensions, got ${describe(dims)}`);
  }
  const s = t.shape, rank = s.length;
  const list = dims === undefined ? s.map((_, i) => i) : normalizeDims('sn.mean', 'dims', typeof dims === 'number' ? [dims] : dims, rank);
  const reduced = s.map((_, i) => list.includes(i));
  const kept = s.map((d, i) => (reduced[i] ? 1 : d));
  const shape = keepdim ? kept : s.filter((_, i) => !reduced[i]);
  const count = s.reduce((n, d, i) => (reduced[i] ? n * d : n), 1);
  if (count === 0) throw new Error(`sn.mean: the mean over no values (dimension of size 0 in ${formatShape(s)}) is undefined`);
  if (!call.site) return dryResult(call, shape, [t], { dims: list, keepdim });
  const site = call.site;
  const { y, inputs: [xs] } = site.output('y', shape, 'forward()', [t]);
  const walk = planOf(s, reduced);
  const src = f32(xs.ptr, xs.size), acc = new Float64Array(y.size);
  walk((i, o, n, step) => {
    if (step === 0) { let sum = 0; for (let k = 0; k < n; k++) sum += src[i + k]; acc[o] += sum; }
    else for (let k = 0; k < n; k++) acc[o + k] += src[i + k];
  });
  const out = f32(y.ptr, y.size);
  for (let i = 0; i < out.length; i++) out[i] = acc[i] / count;
  return endOp(call, y, [t], [], y, (dy) => {
    const g = site.output('grad0', s, 'backward()').y;
    const gg = f32(g.ptr, g.size), d = f32(dy.ptr, dy.size), k = 1 / count;
    walk((i, o, n, step) => {
      if (step === 0) gg.fill(d[o] * k, i, i + n);
      else for (let j = 0; j < n; j++) gg[i + j] = d[o + j] * k;
    });
    return [g];
  });
}

/**
 * A walk over x (of shape s) in contiguous runs: run(i, o, n, step) for n input values from
 * offset i, which go to output offset o (step 0: all to o; step 1: to o, o + 1, ...).
 */
function planOf(s: readonly number[], reduced: readonly boolean[]): (run: (i: number, o: number, n: number, step: number) => void) => void {
  // Collapse neighbouring dimensions that are both reduced or both kept; size-1 dimensions go.
  const dims: number[] = [], red: boolean[] = [];
  s.forEach((d, i) => {
    if (d === 1) return;
    if (dims.length && red[red.length - 1] === reduced[i]) dims[dims.length - 1] *= d;
    else { dims.push(d); red.push(reduced[i]); }
  });
  if (!dims.length) { dims.push(1); red.push(true); }
  const r = dims.length;
  const ostride = new Array<number>(r);
  for (let d = r - 1, k = 1; d >= 0; d--) { ostride[d] = red[d] ? 0 : k; if (!red[d]) k *= dims[d]; }
  const n = dims[r - 1], step = red[r - 1] ? 0 : 1;
  let runs = 1;
  for (let d = 0; d < r - 1; d++) runs *= dims[d];
  return (run) => {
    const idx = new Array<number>(r - 1).fill(0);
    for (let k = 0, i = 0; k < runs; k++, i += n) {
      let o = 0;
      for (let d = 0; d < r - 1; d++) o += idx[d] * ostride[d];
      run(i, o, n, step);
      for (let d = r - 2; d >= 0; d--) { if (++idx[d] < dims[d]) break; idx[d] = 0; }
    }
  };
}

/**
 * The index of the largest value along dimension `dim`, as torch.argmax (the first one when
 * several are equal; NaN counts as largest), or of the whole tensor flattened when `dim` is left
 * out. No gradient: the result is an Int32Array of x's shape without `dim`, in row-major order.
 *
 * @example
 * ```js
 * const classes = sn.argmax(model.forward(x), 1);   // Int32Array(N)
 * ```
 */
export function argmax(x: TensorLike, dim?: number): Int32Array {
  const t = (x !== null && typeof x === 'object' && 'data' in x && (x as { data: unknown }).data instanceof Tensor) ? (x as { data: Tensor }).data : x;
  checkTensor('sn.argmax', 'x', t);
  const s = t.shape;
  const v = t.toArray();
  if (t.size === 0) throw new Error(`sn.argmax: x (of shape ${formatShape(s)}) has no values`);
  if (dim === undefined) return Int32Array.of(argmaxRun(v, 0, v.length, 1));
  const [d] = normalizeDims('sn.argmax', 'dim', [dim], s.length);
  const outer = s.slice(0, d).reduce((a, b) => a * b, 1), C = s[d] ?? 1, inner = s.slice(d + 1).reduce((a, b) => a * b, 1);
  if (C === 0) throw new Error(`sn.argmax: dimension ${d} of ${formatShape(s)} is empty`);
  const out = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) out[o * inner + i] = argmaxRun(v, o * C * inner + i, C, inner);
  return out;
}

/** The index (0..n-1) of the largest of n values from `start` with stride `stride`; NaN wins, the first of equals. */
function argmaxRun(v: Float32Array, start: number, n: number, stride: number): number {
  let best = 0, bestValue = v[start];
  for (let k = 1; k < n; k++) {
    const value = v[start + k * stride];
    if (Number.isNaN(bestValue)) break;
    if (value > bestValue || Number.isNaN(value)) { best = k; bestValue = value; }
  }
  return best;
}
