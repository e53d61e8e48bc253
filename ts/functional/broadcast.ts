// Broadcasting, as NumPy and PyTorch do it: shapes aligned on the right, a dimension of 1 (or a
// missing one) stretched to the other's. Elementwise loops run over the shapes collapsed to as
// few dimensions as the broadcast pattern allows ([N, C, H, W] × [N, C, 1, 1] is [N·C, H·W] ×
// [N·C, 1]), so the innermost loop is long and its strides are 0 or 1.
import { formatShape } from '../tensor.js';

/** The broadcast shape of a and b, or an Error naming the op and the first dimension that differs. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1, db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: the shapes ${formatShape(a)} (a) and ${formatShape(b)} (b) do not broadcast: ` +
        `dimension ${i - rank} is ${da} in a and ${db} in b (each dimension must be equal, or 1 in one of them; ` +
        `shapes are aligned on the right, as in PyTorch)${hint(a, b)}`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * When the smaller shape matches leading dimensions of the other ([C] or [N, C] against
 * [N, C, H, W]), how to line it up: a per-channel operand needs trailing 1s, as in PyTorch.
 */
function hint(a: readonly number[], b: readonly number[]): string {
  const [small, big, name] = a.length < b.length ? [a, b, 'a'] : [b, a, 'b'];
  for (let k = 0; k + small.length < big.length; k++) {
    if (small.length > 0 && small.every((d, i) => d === big[k + i])) {
      return `; to apply ${name} along dimensions ${k}..${k + small.length - 1} of ${formatShape(big)}, give it the shape ` +
        `${formatShape([...small, ...Array(big.length - k - small.length).fill(1)])} (sn.reshape)`;
    }
  }
  return '';
}

/** How to walk an output shape and two operands broadcast over it. */
export interface Plan {
  /** The collapsed output dimensions. */
  dims: number[];
  /** Per collapsed dimension, each operand's stride (0 where it is broadcast). */
  sa: number[];
  sb: number[];
}

/** The collapsed walk of `out` with operands of shapes a and b (each broadcastable to out). */
export function plan(out: readonly number[], a: readonly number[], b: readonly number[]): Plan {
  const rank = out.length;
  const pa = (d: number) => a[a.length - rank + d] ?? 1, pb = (d: number) => b[b.length - rank + d] ?? 1;
  const dims: number[] = [], fa: boolean[] = [], fb: boolean[] = [];
  for (let d = 0; d < rank; d++) {
    if (out[d] === 1) continue;
    const ia = pa(d) !== 1, ib = pb(d) !== 1;
    const last = dims.length - 1;
    if (last >= 0 && fa[last] === ia && fb[last] === ib) dims[last] *= out[d];
    else { dims.push(out[d]); fa.push(ia); fb.push(ib); }
  }
  if (dims.length === 0) { dims.push(1); fa.push(true); fb.push(true); }
  const strides = (f: boolean[]) => {
    const s = new Array<number>(dims.length);
    let k = 1;
    for (let d = dims.length - 1; d >= 0; d--) { s[d] = f[d] ? k : 0; if (f[d]) k *= dims[d]; }
    return s;
  };
  return { dims, sa: strides(fa), sb: strides(fb) };
}

/**
 * Calls run(i, ia, ib, n, da, db) for every innermost run of the walk: n output elements from
 * offset i, the operands from ia and ib with strides da and db (0 or 1).
 */
export function forEachRun(p: Plan, run: (i: number, ia: number, ib: number, n: number, da: number, db: number) => void): void {
  const r = p.dims.length, n = p.dims[r - 1], da = p.sa[r - 1], db = p.sb[r - 1];
  const idx = new Array<number>(r - 1).fill(0);
  let runs = 1;
  for (let d = 0; d < r - 1; d++) runs *= p.dims[d];
  for (let k = 0, i = 0; k < runs; k++, i += n) {
    let ia = 0, ib = 0;
    for (let d = 0; d < r - 1; d++) { ia += idx[d] * p.sa[d]; ib += idx[d] * p.sb[d]; }
    run(i, ia, ib, n, da, db);
    for (let d = r - 2; d >= 0; d--) { if (++idx[d] < p.dims[d]) break; idx[d] = 0; }
  }
}

/** The dimensions `dims` (numbers, negative from the end) of a rank-`rank` shape, checked and normalised. */
export function normalizeDims(op: string, name: string, dims: readonly unknown[], rank: number): number[] {
  const out: number[] = [];
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || (d as number) < -Math.max(rank, 1) || (d as number) >= Math.max(rank, 1)) {
      throw new Error(`${op}: ${name} ${String(d)} is out of range for a tensor of ${rank} dimensions (expected an integer in [${-Math.max(rank, 1)}, ${Math.max(rank, 1) - 1}])`);
    }
    const n = (d as number) < 0 ? (d as number) + rank : d as number;
    if (out.includes(n)) throw new Error(`${op}: dimension ${n} appears twice in ${name}`);
    out.push(n);
  }
  return out;
}
