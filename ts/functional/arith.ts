// sn.add and sn.mul: elementwise, with PyTorch's broadcasting (a [C, 1, 1] or [N, C, 1, 1]
// operand over [N, C, H, W], as squeeze-and-excitation blocks need) and a number for either operand.
import { rt } from '../runtime/wasm.js';
import { f32 } from '../runtime/block.js';
import { Tensor } from '../tensor.js';
import type { Parameter } from '../module.js';
import { OpCall, OpSite, beginOp, dryResult, endOp, opInput } from './site.js';
import { broadcastShapes, forEachRun, plan } from './broadcast.js';
import * as fk from './kernels.js';
import { describe } from '../options.js';

/** A tensor argument of a functional op: a Tensor, or a Parameter (its data, whose gradient accumulates in its grad). */
export type TensorLike = Tensor | Parameter;

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Elementwise sum a + b, as torch.add: shapes broadcast (aligned on the right, a dimension of 1
 * stretched), and either operand may be a number. Gradients flow to both operands (summed over
 * the dimensions an operand was broadcast along).
 *
 * @example
 * ```js
 * forward(x) { return sn.relu(sn.add(this.body.forward(x), this.shortcut.forward(x))); }   // a residual block
 * ```
 */
export function add(a: TensorLike | number, b: TensorLike | number): Tensor {
  const call = beginOp('sn.add');
  checkOperands(call, a, b);
  if (typeof a === 'number' || typeof b === 'number') {
    const { x, s, args } = scalarOperands(call, a, b);
    if (!call.site) return dryResult(call, x.shape, args);
    const { y, inputs: [xs] } = call.site.output('y', x.shape, 'forward()', [x]);
    const k = rt().kernels;
    k.fill(y.ptr, y.size, s);
    k.addInto(y.ptr, xs.ptr, y.size);
    return endOp(call, y, [x], [], y, (dy) => [dy]);
  }
  const A = opInput(call, 'a', 0, a), B = opInput(call, 'b', 1, b);
  const shape = broadcastShapes(call.op, A.shape, B.shape);
  if (!call.site) return dryResult(call, shape, [A, B]);
  const site = call.site;
  const { y, inputs: [av, bv] } = site.output('y', shape, 'forward()', [A, B]);
  const kp = kernelPlan(call, A, B, shape);
  if (kp) {
    // One sweep (a residual block's add: ResNet-20 and MobileNetV2 at batch 64; a per-channel
    // operand of any shape the kernels' plan lays out), not a copy and an add.
    fk.addForward(kp, av.ptr, bv.ptr, y.ptr);
    return endOp(call, y, [A, B], [], y, (dy, need) => {
      // The operand of the result's shape takes dy itself; a broadcast one dy summed.
      const g = smallGrads(site, kp, need, A, B);
      fk.addBackward(kp, dy.ptr, g[0]?.ptr ?? 0, g[1]?.ptr ?? 0);
      return [need[0] ? g[0] ?? dy : null, need[1] ? g[1] ?? dy : null];
    });
  }
  const yy = f32(y.ptr, y.size), aa = f32(av.ptr, av.size), bb = f32(bv.ptr, bv.size);
  forEachRun(plan(shape, A.shape, B.shape), (i, ia, ib, n, da, db) => {
    for (let k = 0; k < n; k++) yy[i + k] = aa[ia + k * da] + bb[ib + k * db];
  });
  return endOp(call, y, [A, B], [], y, (dy, need) => [
    need[0] ? sumTo(site, 'grad0', dy, A.shape, null) : null,
    need[1] ? sumTo(site, 'grad1', dy, B.shape, null) : null,
  ]);
}

/**
 * Elementwise product a · b, as torch.mul: shapes broadcast as in PyTorch, aligned on the right (a
 * [C, 1, 1] or [N, C, 1, 1] operand over [N, C, H, W] scales each channel; a [C] one would line up
 * with W), and either operand may be a number. Gradients flow to both operands (summed over the
 * dimensions an operand was broadcast along).
 *
 * @example
 * ```js
 * // squeeze-and-excitation: per-channel weights [N, C, 1, 1] scale x [N, C, H, W]
 * const w = sn.sigmoid(this.fc2.forward(sn.relu(this.fc1.forward(sn.mean(x, [2, 3])))));
 * return sn.mul(x, sn.reshape(w, [-1, C, 1, 1]));
 * ```
 */
export function mul(a: TensorLike | number, b: TensorLike | number): Tensor {
  const call = beginOp('sn.mul');
  checkOperands(call, a, b);
  if (typeof a === 'number' || typeof b === 'number') {
    const { x, s, args } = scalarOperands(call, a, b);
    if (!call.site) return dryResult(call, x.shape, args);
    const site = call.site;
    const { y, inputs: [xs] } = site.output('y', x.shape, 'forward()', [x]);
    scale(y, xs, s);
    return endOp(call, y, [x], [], y, (dy) => {
      const g = site.output('grad0', dy.shape, 'backward()').y;
      scale(g, dy, s);
      return [g];
    });
  }
  const A = opInput(call, 'a', 0, a), B = opInput(call, 'b', 1, b);
  const shape = broadcastShapes(call.op, A.shape, B.shape);
  if (!call.site) return dryResult(call, shape, [A, B]);
  const site = call.site;
  const { y, inputs: [av, bv] } = site.output('y', shape, 'forward()', [A, B]);
  const saved: [string, Tensor][] = [['its input a', A], ['its input b', B]];
  const kp = kernelPlan(call, A, B, shape);
  if (kp) {
    fk.mulForward(kp, av.ptr, bv.ptr, y.ptr);
    return endOp(call, y, [A, B], saved, y, (dy, need) => {
      const g = [0, 1].map((i) => (need[i] ? site.output(`grad${i}`, [A, B][i].shape, 'backward()').y : null));
      fk.mulBackward(kp, A.ptr, B.ptr, dy.ptr, g[0]?.ptr ?? 0, g[1]?.ptr ?? 0);
      return g;
    });
  }
  const yy = f32(y.ptr, y.size), aa = f32(av.ptr, av.size), bb = f32(bv.ptr, bv.size);
  forEachRun(plan(shape, A.shape, B.shape), (i, ia, ib, n, da, db) => {
    for (let k = 0; k < n; k++) yy[i + k] = aa[ia + k * da] * bb[ib + k * db];
  });
  return endOp(call, y, [A, B], saved, y, (dy, need) => [
    need[0] ? sumTo(site, 'grad0', dy, A.shape, B) : null,
    need[1] ? sumTo(site, 'grad1', dy, B.shape, A) : null,
  ]);
}

/**
 * The operands of a tensor-and-number call, checked: the tensor (as the op's input, at its
 * argument position), the number, and both in the caller's order (for a dry run's record).
 */
function scalarOperands(call: OpCall, a: TensorLike | number, b: TensorLike | number): { x: Tensor; s: number; args: [Tensor, number] | [number, Tensor] } {
  if (typeof a === 'number') {
    checkScalar(call, 'a', a);
    const x = opInput(call, 'b', 1, b as TensorLike);
    return { x, s: a, args: [a, x] };
  }
  checkScalar(call, 'b', b);
  const x = opInput(call, 'a', 0, a);
  return { x, s: b as number, args: [x, b as number] };
}

/** Each operand a tensor (or parameter) or a finite number, not both numbers. */
function checkOperands(call: OpCall, a: unknown, b: unknown): void {
  if (typeof a === 'number' && typeof b === 'number') throw new Error(`${call.op}: a and b are both numbers (${a}, ${b}); one must be a Tensor`);
  for (const [name, v] of [['a', a], ['b', b]] as const) {
    const tensorLike = v instanceof Tensor || (typeof v === 'object' && v !== null && (v as { data?: unknown }).data instanceof Tensor);
    if (!tensorLike && typeof v !== 'number') {
      const numbers = Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
      throw new Error(`${call.op}: ${name} must be a Tensor or a finite number, got ${describe(v)}${numbers ? '; wrap it with sn.tensor(data, shape)' : ''}`);
    }
  }
}

function checkScalar(call: OpCall, name: string, s: unknown): void {
  if (typeof s !== 'number' || !Number.isFinite(s)) throw new Error(`${call.op}: ${name} must be a Tensor or a finite number, got ${describe(s)}`);
}

/** out = x · s, in float32 (s rounded to float32 first, as PyTorch does for a float32 tensor). */
function scale(out: Tensor, x: Tensor, s: number): void {
  fk.mulScalar(x.ptr, s, out.ptr, out.size);
}

/**
 * The kernels' plan of op(A, B) whose result has `shape`, when one operand already has that
 * shape (the other broadcast, or none); null when both expand ([7, 1] with [1, 6]), which the
 * loops below take.
 */
function kernelPlan(call: OpCall, A: Tensor, B: Tensor, shape: readonly number[]): fk.BroadcastPlan | null {
  return same(A.shape, shape) || same(B.shape, shape) ? fk.broadcastPlan(call.op, A.shape, B.shape) : null;
}

/** The gradient buffers of add's broadcast operand (the other operand takes dy itself), where needed. */
function smallGrads(site: OpSite, kp: fk.BroadcastPlan, need: readonly boolean[], A: Tensor, B: Tensor): (Tensor | null)[] {
  return (['a', 'b'] as const).map((name, i) => (need[i] && kp.small === name ? site.output(`grad${i}`, [A, B][i].shape, 'backward()').y : null));
}

/**
 * The gradient of an operand of shape `shape` when both operands were expanded: dy (times
 * `other`, the other operand of a product, broadcast), summed over the dimensions the operand was
 * broadcast along. Sums are taken in float64.
 */
function sumTo(site: OpSite, key: string, dy: Tensor, shape: readonly number[], other: Tensor | null): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const g = site.output(key, shape, 'backward()').y;
  const d = f32(dy.ptr, dy.size), o = other ? f32(other.ptr, other.size) : null;
  const acc = new Float64Array(size);
  forEachRun(plan(dy.shape, shape, other ? other.shape : dy.shape), (i, it, io, n, dt, dO) => {
    if (dt === 0) {
      let s = 0;
      if (o) for (let k = 0; k < n; k++) s += d[i + k] * o[io + k * dO];
      else for (let k = 0; k < n; k++) s += d[i + k];
      acc[it] += s;
    } else if (o) {
      for (let k = 0; k < n; k++) acc[it + k] += d[i + k] * o[io + k * dO];
    } else {
      for (let k = 0; k < n; k++) acc[it + k] += d[i + k];
    }
  });
  f32(g.ptr, g.size).set(acc);
  return g;
}
