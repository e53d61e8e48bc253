// Broadcasting, as NumPy and PyTorch do it: shapes aligned on the right, a dimension of 1 (or a
// missing one) stretched to the other's. The shape rule and its Errors (with a hint for a
// per-channel operand given as [C]) live here; the kernels' layouts are kernels.ts's. Also the
// dims-argument check the reductions share.
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
