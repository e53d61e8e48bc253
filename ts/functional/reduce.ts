// sn.mean (with gradients) and sn.argmax (indices, no gradient).
import { Tensor, formatShape, checkTensor } from '../tensor.js';
import { beginOp, endOp, opInput, dryResult } from './site.js';
import { normalizeDims } from './broadcast.js';
import type { TensorLike } from './arith.js';
import { describe } from '../options.js';
import { meanPlan, meanForward, meanBackward } from './kernels.js';

/**
 * The mean over dimensions `dims` (a number or an array; all of them when left out), as
 * torch.mean: those dimensions are removed, or kept with size 1 when `keepdim` is true. Sums are
 * taken in float32 lanes over up to 1024 values at a time, added up in float64. The gradient
 * spreads dL/dmean evenly over the values averaged.
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
  const count = s.reduce((n, d, i) => (list.includes(i) ? n * d : n), 1);
  if (count === 0) throw new Error(`sn.mean: the mean over no values (dimension of size 0 in ${formatShape(s)}) is undefined`);
  // The result's shape and the kernels' layout (functionalKernels: lane sums of up to 1024 values
  // added in float64; in JS loops over the runs they took 1 ms for MobileNetV2's global average
  // pool, [64, 1280, 1, 1], at batch 64).
  const plan = meanPlan('sn.mean', s, dims === undefined ? undefined : list, keepdim);
  if (!call.site) return dryResult(call, plan.shape, [t], { dims: list, keepdim });
  const site = call.site;
  const { y, inputs: [xs] } = site.output('y', plan.shape, 'forward()', [t]);
  meanForward(plan, xs.ptr, y.ptr);
  return endOp(call, y, [t], [], y, (dy) => {
    const g = site.output('grad0', s, 'backward()').y;
    meanBackward(plan, dy.ptr, g.ptr);
    return [g];
  });
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
