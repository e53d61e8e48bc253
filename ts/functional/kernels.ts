// The shape rules and kernel calls of the functional ops add, mul, cat and mean, over raw wasm
// byte offsets (the ops that own the buffers and record gradients build on these). Each op has
// a plan, computed from shapes alone (so a shape-only dry run uses the same rules and errors),
// and forward/backward functions that run the kernels of assembly/elementwise.ts, reduce.ts
// and cat.ts on a plan.
//
// Broadcasting and reducing share one layout. The full shape is cut into runs of adjacent dims
// over which the small operand (a broadcast operand, or a reduction's output) either varies (V)
// or stays constant (C); dims of size 1 drop out. A kernel takes [outer, mid, inner] with the
// small tensor varying over mid (C V C) or over outer and inner (V C V); longer patterns loop
// over their first run here.
import { rt } from '../runtime/wasm.js';
import { addFlat, sweep } from '../runtime/split.js';
import { describe } from '../describe.js';

/** A run of adjacent dims: its total extent, and whether the small operand varies over it. */
export interface Run { readonly extent: number; readonly varies: boolean }

/** How a small tensor (broadcast operand or reduction output) lies over a full one. */
export interface Layout {
  /** The runs over the full shape, dims of size 1 left out. */
  readonly runs: readonly Run[];
  /** Elements of the full shape. */
  readonly size: number;
  /** Elements of the small tensor. */
  readonly smallSize: number;
}

/**
 * The plan of a binary elementwise op with PyTorch's broadcasting: shapes aligned at the right,
 * each dim equal or 1 in one of them. One operand must have the result's shape (simdnet
 * broadcasts one operand, not both).
 */
export interface BroadcastPlan extends Layout {
  /** The result's shape. */
  readonly shape: readonly number[];
  /** Which operand is broadcast ('a' or 'b'), or null when the shapes are equal. */
  readonly small: 'a' | 'b' | null;
}

/** The plan of cat(tensors, dim): each input is [outer, rowsⱼ] around dim, the result [outer, Σ rowsⱼ]. */
export interface CatPlan {
  /** The result's shape. */
  readonly shape: readonly number[];
  /** The dim, made non-negative. */
  readonly dim: number;
  /** The product of the dims before dim. */
  readonly outer: number;
  /** Per input: its size along dim times the product of the dims after it. */
  readonly rows: readonly number[];
  /** Σ rows: the length of a result row. */
  readonly total: number;
}

/** The plan of mean(x, dims, keepdim). */
export interface MeanPlan extends Layout {
  /** The result's shape (reduced dims kept as 1 with keepdim, else removed). */
  readonly shape: readonly number[];
  /** The reduced dims, non-negative and ascending. */
  readonly dims: readonly number[];
  /** How many elements each mean is over. */
  readonly count: number;
}

const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;
const product = (dims: readonly number[]): number => dims.reduce((n, d) => n * d, 1);

/** The runs of a full shape given, per dim, whether the small tensor varies over it. */
function layout(full: readonly number[], varies: (d: number) => boolean): Layout {
  const runs: Run[] = [];
  let smallSize = 1;
  for (let d = 0; d < full.length; d++) {
    if (full[d] === 1) continue;
    const v = varies(d);
    if (v) smallSize *= full[d];
    const last = runs.at(-1);
    if (last && last.varies === v) runs[runs.length - 1] = { extent: last.extent * full[d], varies: v };
    else runs.push({ extent: full[d], varies: v });
  }
  return { runs, size: product(full), smallSize };
}

// ---- broadcasting: add, mul ----

/**
 * The result shape and layout of `op(a, b)` for shapes a and b, as PyTorch broadcasts them.
 * Throws an Error naming `op` when they do not broadcast, or when both would have to expand.
 */
export function broadcastPlan(op: string, a: readonly number[], b: readonly number[]): BroadcastPlan {
  const rank = Math.max(a.length, b.length);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1, db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: the shapes ${fmt(a)} and ${fmt(b)} do not broadcast: dim ${i - rank} is ${da} in one and ${db} in ` +
        'the other (sizes must be equal, or 1 in one of them)');
    }
    shape.push(da === 1 ? db : da);
  }
  const same = (s: readonly number[]) => s.length === rank && s.every((d, i) => d === shape[i]);
  const small = same(a) && same(b) ? null : same(a) ? 'b' : same(b) ? 'a' : undefined;
  if (small === undefined) {
    throw new Error(`${op}: the shapes ${fmt(a)} and ${fmt(b)} broadcast to ${fmt(shape)} only by expanding both; ` +
      'one operand must already have the shape of the result');
  }
  const { runs, size, smallSize } = overLayout(shape, small === 'a' ? a : b);
  return { runs, size, smallSize, shape, small };
}

/** A kernel over [outer, mid, inner]: p and q walk the full shape, s the small tensor. */
type Kernel3 = (p: number, q: number, s: number, outer: number, mid: number, inner: number) => void;

/**
 * Runs `cvc` (small tensor varying over mid) or `vcv` (over outer and inner) on as few calls as
 * the runs allow; a pattern neither fits loops over its first run. Nothing runs for size 0.
 */
function walk(runs: readonly Run[], from: number, p: number, q: number, s: number, cvc: Kernel3, vcv: Kernel3 | null): void {
  const rest = runs.length - from;
  const e = (i: number) => runs[from + i].extent, v = (i: number) => runs[from + i].varies;
  if (rest === 0) { cvc(p, q, s, 1, 1, 1); return; }
  if (rest === 1) { if (v(0)) cvc(p, q, s, 1, e(0), 1); else cvc(p, q, s, 1, 1, e(0)); return; }
  if (rest === 2) { if (v(0)) cvc(p, q, s, 1, e(0), e(1)); else cvc(p, q, s, e(0), e(1), 1); return; }
  if (rest === 3 && !v(0)) { cvc(p, q, s, e(0), e(1), e(2)); return; }
  if (rest === 3 && vcv) { vcv(p, q, s, e(0), e(1), e(2)); return; }
  // The first run in a loop: the full pointers step by a block, the small one only where it varies.
  let block = 1, smallBlock = 1;
  for (let i = from + 1; i < runs.length; i++) {
    block *= runs[i].extent;
    if (runs[i].varies) smallBlock *= runs[i].extent;
  }
  const step = block * 4, smallStep = v(0) ? smallBlock * 4 : 0;
  for (let i = 0; i < e(0); i++) walk(runs, from + 1, p + i * step, q + i * step, s + i * smallStep, cvc, vcv);
}

/** The full and small operand of a broadcast op, by pointer. */
function operands(plan: BroadcastPlan, a: number, b: number): [full: number, small: number] {
  return plan.small === 'a' ? [b, a] : [a, b];
}

/** y = a + b over a plan from broadcastPlan (y has the plan's shape). */
export function addForward(plan: BroadcastPlan, a: number, b: number, y: number): void {
  const k = rt().kernels;
  if (plan.small === null) { addFlat(a, b, y, plan.size); return; }
  if (plan.size === 0) return;
  const [full, small] = operands(plan, a, b);
  walk(plan.runs, 0, full, y, small, (p, q, s, o, m, i) => k.addBroadcastMid(p, s, q, o, m, i), null);
}

/**
 * The gradients of add: da and db (either may be 0 for "not needed") from dy. An operand of the
 * result's shape gets dy as it is (copied); a broadcast one gets dy summed over the dims it was
 * broadcast along.
 */
export function addBackward(plan: BroadcastPlan, dy: number, da: number, db: number): void {
  const k = rt().kernels;
  for (const [grad, isSmall] of [[da, plan.small === 'a'], [db, plan.small === 'b']] as const) {
    if (!grad) continue;
    if (!isSmall) { k.copyRows(dy, plan.size, grad, plan.size, 1, plan.size); continue; }
    k.fill(grad, plan.smallSize, 0);
    if (plan.size) walk(plan.runs, 0, dy, 0, grad, (p, _q, s, o, m, i) => k.sumToMid(p, s, o, m, i), null);
  }
}

/** y = a ⊙ b over a plan from broadcastPlan. */
export function mulForward(plan: BroadcastPlan, a: number, b: number, y: number): void {
  const k = rt().kernels;
  if (plan.small === null) { mulFlat(a, b, y, plan.size); return; }
  if (plan.size === 0) return;
  const [full, small] = operands(plan, a, b);
  walk(plan.runs, 0, full, y, small, (p, q, s, o, m, i) => k.mulBroadcastMid(p, s, q, o, m, i), null);
}

/**
 * The gradients of mul: da = dy ⊙ b and db = dy ⊙ a (either target may be 0 for "not
 * needed"), the broadcast operand's summed over the dims it was broadcast along.
 */
export function mulBackward(plan: BroadcastPlan, a: number, b: number, dy: number, da: number, db: number): void {
  const k = rt().kernels;
  if (plan.small === null) {
    if (da) mulFlat(dy, b, da, plan.size);
    if (db) mulFlat(dy, a, db, plan.size);
    return;
  }
  const [full, small] = operands(plan, a, b);
  const [fullGrad, smallGrad] = plan.small === 'a' ? [db, da] : [da, db];
  if (fullGrad && plan.size) walk(plan.runs, 0, dy, fullGrad, small, (p, q, s, o, m, i) => k.mulBroadcastMid(p, s, q, o, m, i), null);
  if (smallGrad) {
    k.fill(smallGrad, plan.smallSize, 0);
    if (plan.size) walk(plan.runs, 0, full, dy, smallGrad, (p, q, s, o, m, i) => k.mulBroadcastMidGrad(p, q, s, o, m, i), null);
  }
}

/** Throws unless s is a finite number: the scalar of mul(x, s). */
export function checkScalar(op: string, s: unknown): asserts s is number {
  if (typeof s !== 'number' || !Number.isFinite(s)) throw new Error(`${op}: the scalar must be a finite number, got ${describe(s)}`);
}

/** y = s·x over n floats; also the gradient of mul(x, s): dx = s·dy. */
export function mulScalar(x: number, s: number, y: number, n: number): void {
  sweep(n, 8, (o, c) => ({ kernel: 'mulScalar', args: [x + o, y + o, c, s] }));
}

/** y = a ⊙ b over n floats, by sweep (over threads when large). */
function mulFlat(a: number, b: number, y: number, n: number): void {
  sweep(n, 12, (o, c) => ({ kernel: 'mulForward', args: [a + o, b + o, y + o, c] }));
}

// ---- cat ----

/** A dim in [−rank, rank) made non-negative, or an Error naming `op` (PyTorch's wrap-around rule). */
export function normalizeDim(op: string, dim: unknown, rank: number): number {
  if (!Number.isSafeInteger(dim)) throw new Error(`${op}: dim must be an integer, got ${describe(dim)}`);
  const d = dim as number;
  // A rank-0 tensor takes dim 0 and −1, as in PyTorch.
  const r = Math.max(rank, 1);
  if (d < -r || d >= r) throw new Error(`${op}: dim ${d} is out of range for a tensor of ${rank} dims (expected one in [${-r}, ${r - 1}])`);
  return d < 0 ? d + r : d;
}

/**
 * The result shape and row layout of cat(tensors, dim) for the inputs' shapes: same rank, equal
 * in every dim but `dim` (which may differ, and may be 0). Throws an Error naming `op` otherwise.
 */
export function catPlan(op: string, shapes: readonly (readonly number[])[], dim: unknown = 0): CatPlan {
  if (shapes.length === 0) throw new Error(`${op}: expected a non-empty list of tensors`);
  const rank = shapes[0].length;
  if (rank === 0) throw new Error(`${op}: zero-dimensional tensors cannot be concatenated (tensor 0 has shape [])`);
  const d = normalizeDim(op, dim, rank);
  shapes.forEach((s, j) => {
    if (s.length !== rank) throw new Error(`${op}: the tensors must have the same number of dims: tensor 0 has shape ${fmt(shapes[0])}, tensor ${j} ${fmt(s)}`);
    const k = s.findIndex((v, i) => i !== d && v !== shapes[0][i]);
    if (k >= 0) {
      throw new Error(`${op}: the tensors must have the same size in every dim but dim ${d}: tensor 0 has shape ${fmt(shapes[0])}, ` +
        `tensor ${j} ${fmt(s)} (dim ${k} differs)`);
    }
  });
  const inner = product(shapes[0].slice(d + 1));
  const rows = shapes.map((s) => s[d] * inner);
  const shape = [...shapes[0]];
  shape[d] = shapes.reduce((n, s) => n + s[d], 0);
  return { shape, dim: d, outer: product(shapes[0].slice(0, d)), rows, total: rows.reduce((n, r) => n + r, 0) };
}

/** y = cat(inputs) for a plan from catPlan; `inputs` are the inputs' offsets, in order. */
export function catForward(plan: CatPlan, inputs: readonly number[], y: number): void {
  const k = rt().kernels;
  let at = 0;
  plan.rows.forEach((rows, j) => {
    if (rows && plan.outer) k.copyRows(inputs[j], rows, y + at * 4, plan.total, plan.outer, rows);
    at += rows;
  });
}

/** The gradients of cat: dy split back into each input's shape; 0 in `grads` skips an input. */
export function catBackward(plan: CatPlan, dy: number, grads: readonly number[]): void {
  const k = rt().kernels;
  let at = 0;
  plan.rows.forEach((rows, j) => {
    if (grads[j] && rows && plan.outer) k.copyRows(dy + at * 4, plan.total, grads[j], rows, plan.outer, rows);
    at += rows;
  });
}

// ---- mean ----

/**
 * The result shape and layout of mean(x, dims, keepdim) for x's shape. `dims` is a dim, an array
 * of distinct dims, or undefined/null for every dim (as x.mean() in PyTorch). Throws an Error
 * naming `op` on a bad dim, a repeated one, an empty list, or a mean over no elements (a NaN).
 */
export function meanPlan(op: string, shape: readonly number[], dims?: unknown, keepdim: unknown = false): MeanPlan {
  if (typeof keepdim !== 'boolean') throw new Error(`${op}: keepdim must be a boolean (true or false), got ${describe(keepdim)}`);
  const rank = shape.length;
  let list: number[];
  if (dims === undefined || dims === null) list = shape.map((_, i) => i);
  else if (Array.isArray(dims)) {
    if (dims.length === 0) throw new Error(`${op}: dims is an empty list; give the dims to reduce, or leave dims out to reduce every dim`);
    list = dims.map((d) => normalizeDim(op, d, rank));
  } else list = [normalizeDim(op, dims, rank)];
  const dup = list.find((d, i) => list.indexOf(d) !== i);
  if (dup !== undefined) throw new Error(`${op}: dim ${dup} appears more than once in dims (negative dims counted from the end)`);
  // Rank 0: dim 0 (or −1) names the tensor itself.
  const reduced = rank === 0 ? [] : [...list].sort((x, y) => x - y);
  const count = product(reduced.map((d) => shape[d]));
  if (count === 0) throw new Error(`${op}: the mean over dims [${reduced.join(', ')}] of a tensor of shape ${fmt(shape)} is over no elements`);
  const out = keepdim ? shape.map((n, d) => (reduced.includes(d) ? 1 : n)) : shape.filter((_, d) => !reduced.includes(d));
  const { runs, size, smallSize } = layout(shape, (d) => !reduced.includes(d));
  return { runs, size, smallSize, shape: out, dims: reduced, count };
}

/** y = mean of x over the plan's dims (y has the plan's shape). */
export function meanForward(plan: MeanPlan, x: number, y: number): void {
  sumOver(plan, x, y);
  if (plan.size) rt().kernels.mulScalar(y, y, plan.smallSize, 1 / plan.count);
}

/** dx = dy / count, broadcast back over the reduced dims. */
export function meanBackward(plan: MeanPlan, dy: number, dx: number): void {
  expand(plan, dy, dx, 1 / plan.count);
}

// ---- sums and stretches over a broadcast: add and mul where both operands expand ----

/**
 * How a tensor of shape `small` lies over the shape `full` it broadcasts to (aligned at the right,
 * PyTorch's rule; the caller has checked that it does): broadcastPlan's, sumOver's and expand's.
 */
export function overLayout(full: readonly number[], small: readonly number[]): Layout {
  const padded = [...Array(full.length - small.length).fill(1), ...small];
  return layout(full, (d) => padded[d] !== 1);
}

/** y = x summed over the dims where the small tensor of `l` is broadcast (y has the small shape). */
export function sumOver(l: Layout, x: number, y: number): void {
  const k = rt().kernels;
  k.fill(y, l.smallSize, 0);
  if (l.size === 0) return;
  walk(l.runs, 0, x, 0, y, (p, _q, s, o, m, i) => k.sumToMid(p, s, o, m, i), (p, _q, s, o, m, i) => k.sumOverMid(p, s, o, m, i));
}

/** y = scale · b stretched over the full shape of `l` (b has the small shape). */
export function expand(l: Layout, b: number, y: number, scale = 1): void {
  const k = rt().kernels;
  if (l.size === 0) return;
  walk(l.runs, 0, y, 0, b, (p, _q, s, o, m, i) => k.broadcastMid(s, p, o, m, i, scale),
    (p, _q, s, o, m, i) => k.broadcastOverMid(s, p, o, m, i, scale));
}
