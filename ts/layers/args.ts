// Constructor-argument checks shared by the layers: sizes given as a number or [h, w], counts.
import { describe } from '../options.js';
import { formatShape } from '../tensor.js';

/** A size given as one number for both axes or as [h, w], as PyTorch's pooling layers take it. */
export type Size2 = number | readonly [number, number];

/** The largest value a kernel's i32 size or index argument holds. */
export const INT32_MAX = 2 ** 31 - 1;

/** [h, w] from a Size2, each checked to be an integer in [`least`, 2^31 − 1] (the kernels' i32). */
export function toPair(layer: string, name: string, v: Size2, least: number): [number, number] {
  const pair: number[] = typeof v === 'number' ? [v, v] : Array.isArray(v) ? [...v] : [];
  if (pair.length !== 2 || !pair.every((d) => Number.isSafeInteger(d) && d >= least)) {
    const what = least > 0 ? 'positive integer' : 'non-negative integer';
    throw new Error(`${layer}: ${name} must be a ${what} or a pair [h, w] of them, got ${describe(v)}`);
  }
  if (pair.some((d) => d > INT32_MAX)) throw new Error(`${layer}: ${name} must be at most ${INT32_MAX}, got ${describe(v)}`);
  return pair as [number, number];
}

/**
 * A layer as its Errors name it: its description, or the layer itself, described (String(layer))
 * only when an Error is thrown: shapes are checked at every call, where building the description
 * cost more than the checks.
 */
export type Named = string | { toString(): string };

/**
 * Throws unless every size derived from an input shape (a padded height, a dilated kernel's span)
 * fits the kernels' i32 arithmetic; past 2^31 − 1 it would wrap and index the wrong memory.
 * `names` says what each of the four sizes is; nothing is built unless one is too large (layers
 * check at every call).
 */
export function checkKernelRange(layer: Named, input: readonly number[], names: readonly [string, string, string, string],
  a: number, b: number, c: number, d: number): void {
  if (a <= INT32_MAX && b <= INT32_MAX && c <= INT32_MAX && d <= INT32_MAX) return;
  const sizes = [a, b, c, d], i = sizes.findIndex((v) => v > INT32_MAX);
  throw new Error(`${layer}: input of shape [${input.join(', ')}] gives a ${names[i]} of ${sizes[i]}, more than the ${INT32_MAX} the kernels' 32-bit indices hold`);
}

/** A Size2 as given (a number stays a number, so the layer prints as it did), detached from the caller. */
export function copySize2(v: Size2): number | [number, number] {
  return typeof v === 'number' ? v : [v[0], v[1]];
}

/** As PyTorch prints the argument: 2 or (2, 3). */
export function formatSize2(v: Size2): string {
  return typeof v === 'number' ? String(v) : `(${v[0]}, ${v[1]})`;
}

/** As PyTorch prints a pair: (2, 3). */
export function formatPair(p: readonly number[]): string { return `(${p[0]}, ${p[1]})`; }

/** A positive integer, or an Error naming the layer and the argument. */
export function checkPositiveInt(layer: string, name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`${layer}: ${name} must be a positive integer, got ${describe(v)}`);
  if (v > INT32_MAX) throw new Error(`${layer}: ${name} must be at most ${INT32_MAX}, got ${v}`);
}

/**
 * Throws for an input with no samples (N = 0), saying so: "expected [N, C, H, W], got
 * [0, 1, 8, 8]" would leave the reader looking for the mismatch.
 */
export function checkNotEmptyBatch(layer: Named, s: readonly number[]): void {
  if (s.length > 0 && s[0] === 0) {
    throw new Error(`${layer}: the batch is empty (input of shape ${formatShape(s)}); expected at least one sample`);
  }
}
