// Mini-batches as index arrays. A training loop gathers each batch's rows with gatherRows into
// buffers it allocated once:
//
//   const x = new Float32Array(batchSize * rowSize), y = new Int32Array(batchSize);
//   for (const idx of batches(n, batchSize, { shuffle: true })) {
//     gatherRows(images, rowSize, idx, x);
//     gatherRows(labels, 1, idx, y);
//     … forward on the first idx.length rows …
//   }
//
// All batches of a call are views into one permutation: one allocation per epoch, none per step.
import { checkCount } from './check.js';
import { checkSeed, shuffleInPlace, u32Source } from './rng.js';
import { anything, boolean, checkOptions } from '../options.js';

/** The options of batches(). */
export interface BatchOptions {
  /** Visit rows in random order (default false, as PyTorch's DataLoader). */
  shuffle?: boolean;
  /**
   * Repeatable order from a private generator; without it, the library RNG (sn.manualSeed).
   * A given seed always gives the same order, so vary it per epoch (seed + epoch).
   */
  seed?: number;
  /** Leave out a last batch smaller than batchSize (default false). */
  dropLast?: boolean;
}

/**
 * Row indices 0..n−1 (shuffled, with `shuffle`) cut into consecutive batches of batchSize (the
 * last may be smaller), for a hand-written training loop; gatherRows copies each batch's rows.
 *
 * @example
 * ```js
 * const x = new Float32Array(64 * 784), y = new Int32Array(64);
 * for (const idx of sn.data.batches(labels.length, 64, { shuffle: true, seed: epoch })) {
 *   sn.data.gatherRows(pixels, 784, idx, x);
 *   sn.data.gatherRows(labels, 1, idx, y);
 *   const out = model.forward(sn.tensor(x.subarray(0, idx.length * 784), [idx.length, 1, 28, 28]));
 *   // ... loss on y.subarray(0, idx.length), backward, step
 * }
 * ```
 */
export function batches(n: number, batchSize: number, options: BatchOptions = {}): Int32Array[] {
  checkCount(n, 'n', 'batches');
  if (n > 0x7fffffff) throw new Error(`batches: n = ${n} does not fit Int32Array indices`);
  checkCount(batchSize, 'batchSize', 'batches', 1);
  // The seed is checked below.
  checkOptions('batches', options, { shuffle: boolean, seed: anything, dropLast: boolean });
  const { shuffle = false, seed, dropLast = false } = options;
  checkSeed(seed, 'batches');
  if (seed !== undefined && !shuffle) throw new Error('batches: a seed was given without shuffle: true; the order would not be random');
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (shuffle) shuffleInPlace(order, u32Source(seed));
  const count = dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  const out: Int32Array[] = [];
  for (let b = 0; b < count; b++) out.push(order.subarray(b * batchSize, Math.min(n, (b + 1) * batchSize)));
  return out;
}
