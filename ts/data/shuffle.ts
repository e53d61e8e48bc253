// A random permutation of row indices, the building block of shuffled batches and splits.
import { checkCount } from './check.js';
import { checkSeed, shuffleInPlace, u32Source } from './rng.js';

/** A permutation of 0..n-1 (Fisher–Yates); the same seed gives the same permutation. */
export function shuffle(n: number, seed?: number): Int32Array {
  checkCount(n, 'n', 'shuffle');
  if (n > 0x7fffffff) throw new Error(`shuffle: n = ${n} does not fit Int32Array indices`);
  checkSeed(seed, 'shuffle');
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return shuffleInPlace(order, u32Source(seed));
}
