// sn.flatten, sn.reshape (views: no copy, the same memory with another shape) and sn.cat.
import * as fk from './kernels.js';
import { Tensor, formatShape } from '../tensor.js';
import { OpSite, beginOp, dryResult, endOp, opInput, viewOf } from './site.js';
import type { TensorLike } from './arith.js';
import { describe } from '../options.js';

/**
 * Merges dimensions startDim..endDim (both included; negative counts from the end) into one, as
 * torch.flatten: `sn.flatten(x)` gives a 1-D tensor, `sn.flatten(x, 1)` gives [N, C·H·W]. A
 * view: no copy, the result shares x's memory (and goes stale with it).
 *
 * @example
 * ```js
 * forward(x) { return this.fc.forward(sn.flatten(this.pool.forward(x), 1)); }
 * ```
 */
export function flatten(x: TensorLike, startDim = 0, endDim = -1): Tensor {
  const call = beginOp('sn.flatten');
  const t = opInput(call, 'x', 0, x);
  if (!Number.isSafeInteger(startDim) || !Number.isSafeInteger(endDim)) {
    throw new Error(`sn.flatten: startDim and endDim must be integers, got ${describe(startDim)} and ${describe(endDim)}`);
  }
  const s = t.shape, rank = Math.max(s.length, 1);
  const start = startDim < 0 ? startDim + rank : startDim, end = endDim < 0 ? endDim + rank : endDim;
  if (start < 0 || start >= rank || end < 0 || end >= rank || start > end) {
    throw new Error(`sn.flatten: cannot flatten dimensions ${startDim}..${endDim} of a tensor of shape ${formatShape(s)}`);
  }
  const shape = s.length === 0 ? [1] : [...s.slice(0, start), s.slice(start, end + 1).reduce((a, b) => a * b, 1), ...s.slice(end + 1)];
  return view(call, t, shape);
}

/**
 * The same values with another shape, as torch.reshape: one dimension may be -1 (worked out
 * from the others); the sizes must multiply to x's. A view: no copy, the result shares x's
 * memory (and goes stale with it).
 *
 * @example
 * ```js
 * sn.reshape(weights, [-1, C, 1, 1]);   // [N, C] → [N, C, 1, 1]
 * ```
 */
export function reshape(x: TensorLike, shape: readonly number[]): Tensor {
  const call = beginOp('sn.reshape');
  const t = opInput(call, 'x', 0, x);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= -1)) {
    throw new Error(`sn.reshape: shape must be an array of non-negative integers (one may be -1), got ${describe(shape)}`);
  }
  const free = shape.filter((d) => d === -1).length;
  if (free > 1) throw new Error(`sn.reshape: only one dimension may be -1, got ${formatShape(shape)}`);
  const known = shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
  const out = shape.map((d) => (d === -1 ? (known === 0 ? 0 : t.size / known) : d));
  if (out.reduce((a, b) => a * b, 1) !== t.size || !out.every(Number.isInteger)) {
    throw new Error(`sn.reshape: a tensor of shape ${formatShape(t.shape)} (${t.size} values) cannot be viewed as ${formatShape(shape)}`);
  }
  return view(call, t, out);
}

/** A view of t with another shape; its backward views dy with t's shape. */
function view(call: ReturnType<typeof beginOp>, t: Tensor, shape: readonly number[]): Tensor {
  if (!call.site) return dryResult(call, shape, [t]);
  const y = viewOf(t, shape);
  return endOp(call, y, [t], [], null, (dy) => [viewOf(dy, t.shape)]);
}

/**
 * Joins tensors along dimension `dim`, as torch.cat: all have the same rank and the same size
 * in every other dimension. Gradients are split back into the parts.
 *
 * @example
 * ```js
 * sn.cat([this.branch1.forward(x), this.branch2.forward(x)], 1);   // channels side by side
 * ```
 */
export function cat(tensors: readonly TensorLike[], dim = 0): Tensor {
  const call = beginOp('sn.cat');
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error(`sn.cat: expected a non-empty array of tensors, got ${describe(tensors)}`);
  const parts = tensors.map((t, i) => opInput(call, `tensors[${i}]`, i, t));
  const s0 = parts[0].shape, rank = s0.length;
  if (rank === 0) throw new Error('sn.cat: zero-dimensional tensors cannot be concatenated');
  if (!Number.isSafeInteger(dim) || dim < -rank || dim >= rank) {
    throw new Error(`sn.cat: dim ${describe(dim)} is out of range for tensors of ${rank} dimensions (expected an integer in [${-rank}, ${rank - 1}])`);
  }
  const d = dim < 0 ? dim + rank : dim;
  parts.forEach((p, i) => {
    if (p.shape.length !== rank || p.shape.some((n, k) => k !== d && n !== s0[k])) {
      throw new Error(`sn.cat: tensors[${i}] has shape ${formatShape(p.shape)}, tensors[0] ${formatShape(s0)}; they must match in every dimension but ${d}`);
    }
  });
  const shape = [...s0];
  shape[d] = parts.reduce((n, p) => n + p.shape[d], 0);
  if (!call.site) return dryResult(call, shape, parts, { dim: d });
  const site = call.site;
  // The kernels' rows (checked above, so the plan throws nothing): each part is [outer, rowsⱼ].
  const plan = fk.catPlan(call.op, parts.map((p) => p.shape), d);
  const { y, inputs } = site.output('y', shape, 'forward()', parts);
  fk.catForward(plan, inputs.map((p) => p.ptr), y.ptr);
  return endOp(call, y, parts, [], y, (dy, need) => split(site, dy, parts, plan, need));
}

/** The gradients of cat's parts: views of dy when the parts are contiguous slices of it (dim 0), else copies. */
function split(site: OpSite, dy: Tensor, parts: readonly Tensor[], plan: fk.CatPlan, need: readonly boolean[]): (Tensor | null)[] {
  if (plan.outer === 1) {
    let at = 0;
    return parts.map((p, i) => {
      const view = need[i] ? new Tensor(p.shape, dy.block!, dy.ptr + at * 4) : null;
      at += plan.rows[i];
      return view;
    });
  }
  const grads = parts.map((p, i) => (need[i] ? site.output(`grad${i}`, p.shape, 'backward()').y : null));
  fk.catBackward(plan, dy.ptr, grads.map((g) => g?.ptr ?? 0));
  return grads;
}
