// Argument checks shared by the data utilities, so every function words its errors alike.
import { describe } from '../options.js';
export { checkSource } from '../options.js';

export function checkCount(value: unknown, what: string, where: string, min = 0): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new Error(`${where}: ${what} must be an integer ≥ ${min}, got ${describe(value)}`);
  }
}


/** Checks that every index is an integer in [0, rows). */
export function checkIndices(indices: unknown, rows: number, where: string): asserts indices is ArrayLike<number> {
  if (!(indices instanceof Int32Array) && !Array.isArray(indices)) {
    throw new Error(`${where}: indices must be an Int32Array or an array of integers, got ${describe(indices)}`);
  }
  const idx = indices as ArrayLike<number>;
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    if (!Number.isInteger(r) || r < 0 || r >= rows) {
      throw new Error(`${where}: index ${i} is ${describe(r)}, outside the ${rows} rows [0, ${rows})`);
    }
  }
}
