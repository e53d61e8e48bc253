// sn.add and sn.mul: elementwise, with PyTorch's broadcasting (a [C, 1, 1] or [N, C, 1, 1]
// operand over [N, C, H, W], as squeeze-and-excitation blocks need) and a number for either operand.
import { rt } from '../runtime/wasm.js';
import { Tensor } from '../tensor.js';
import type { Parameter } from '../module.js';
import { OpCall, OpSite, beginOp, dryResult, endOp, opInput } from './site.js';
import { broadcastShapes } from './broadcast.js';
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
  // Both operands expand ([7, 1] with [1, 6]): a stretched over the result, then b added into it.
  fk.expand(fk.overLayout(shape, A.shape), av.ptr, y.ptr);
  fk.addForward(fk.broadcastPlan(call.op, shape, B.shape), y.ptr, bv.ptr, y.ptr);
  return endOp(call, y, [A, B], [], y, (dy, need) => bothExpandedGrads(site, need, dy, [A, B], null));
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
  fk.expand(fk.overLayout(shape, A.shape), av.ptr, y.ptr);
  fk.mulForward(fk.broadcastPlan(call.op, shape, B.shape), y.ptr, bv.ptr, y.ptr);
  // A product's gradients sum dy times the other operand, stretched (written into `into` first).
  return endOp(call, y, [A, B], saved, y, (dy, need) => bothExpandedGrads(site, need, dy, [A, B], (into, other) =>
    fk.mulForward(fk.broadcastPlan(call.op, dy.shape, other.shape), dy.ptr, other.ptr, into.ptr)));
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
 * shape (the other broadcast, or none); null when both expand ([7, 1] with [1, 6]): then the
 * first is stretched over the result and the op runs on that in place.
 */
function kernelPlan(call: OpCall, A: Tensor, B: Tensor, shape: readonly number[]): fk.BroadcastPlan | null {
  return same(A.shape, shape) || same(B.shape, shape) ? fk.broadcastPlan(call.op, A.shape, B.shape) : null;
}

/** The gradient buffers of add's broadcast operand (the other operand takes dy itself), where needed. */
function smallGrads(site: OpSite, kp: fk.BroadcastPlan, need: readonly boolean[], A: Tensor, B: Tensor): (Tensor | null)[] {
  return (['a', 'b'] as const).map((name, i) => (need[i] && kp.small === name ? site.output(`grad${i}`, [A, B][i].shape, 'backward()').y : null));
}

/**
 * The gradients of an add (`times` null) or a product whose operands both expanded: each needed
 * operand's is dy (for a product, dy times the other operand, stretched, which `times(into,
 * other)` writes into a buffer of dy's shape) summed over the dims the operand was broadcast along.
 */
function bothExpandedGrads(site: OpSite, need: readonly boolean[], dy: Tensor, ops: readonly [Tensor, Tensor],
  times: ((into: Tensor, other: Tensor) => void) | null): (Tensor | null)[] {
  const tmp = times ? site.output('gradProduct', dy.shape, 'backward()').y : dy;
  return ops.map((op, i) => {
    if (!need[i]) return null;
    if (times) times(tmp, ops[1 - i]);
    const g = site.output(`grad${i}`, op.shape, 'backward()').y;
    fk.sumOver(fk.overLayout(dy.shape, op.shape), tmp.ptr, g.ptr);
    return g;
  });
}
