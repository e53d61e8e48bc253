// Train/validation split by row index. Rows are drawn at random and, by default, class by class:
// taking the last rows (as tf.js's validationSplit does) gives a skewed validation set whenever
// a file is sorted or grouped by label.
import { checkSeed, shuffleInPlace, u32Source } from './rng.js';
import { anything, boolean, checkOptions, describe } from '../options.js';

/** The options of trainValidationSplit(). */
export interface SplitOptions {
  /** Repeatable split from a private generator; without it, the library RNG (sn.manualSeed). */
  seed?: number;
  /** Keep each class's share in both parts (default true). */
  stratify?: boolean;
}

/** Row indices of the two parts of a split. */
export interface Split {
  /** The rows to train on. */
  train: Int32Array;
  /** The rows held out. */
  validation: Int32Array;
}

/**
 * Splits row indices 0..n-1 (n = labels.length) so that round(fraction · n) of them validate.
 * Stratified, each class gives ⌊fraction · its count⌋ rows to validation, and the rows still
 * missing go to the classes with the largest remainders, so every class is within one row of
 * its exact share and small sets still get a validation part. Both index arrays come back shuffled.
 */
export function trainValidationSplit(labels: Int32Array, fraction: number, options: SplitOptions = {}): Split {
  const where = 'trainValidationSplit';
  if (!(labels instanceof Int32Array)) throw new Error(`${where}: labels must be an Int32Array, got ${describe(labels)}`);
  if (typeof fraction !== 'number' || !(fraction >= 0 && fraction < 1)) {
    throw new Error(`${where}: fraction must be a number in [0, 1), got ${describe(fraction)}`);
  }
  // The seed is checked below.
  checkOptions(where, options, { seed: anything, stratify: boolean });
  const { seed, stratify = true } = options;
  checkSeed(seed, where);
  const next = u32Source(seed);
  const n = labels.length;

  const groups: Int32Array[] = [];
  if (stratify) {
    const byClass = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const rows = byClass.get(labels[i]);
      if (rows) rows.push(i); else byClass.set(labels[i], [i]);
    }
    // Classes in label order, so the draw does not depend on which class the file starts with.
    for (const c of [...byClass.keys()].sort((a, b) => a - b)) groups.push(Int32Array.from(byClass.get(c)!));
  } else {
    groups.push(Int32Array.from({ length: n }, (_, i) => i));
  }

  const take = largestRemainder(groups.map((g) => fraction * g.length), Math.round(fraction * n));
  const validationCount = Math.round(fraction * n);
  const train = new Int32Array(n - validationCount);
  const validation = new Int32Array(validationCount);
  let v = 0, t = 0;
  groups.forEach((g, k) => {
    shuffleInPlace(g, next);
    validation.set(g.subarray(0, take[k]), v); v += take[k];
    train.set(g.subarray(take[k]), t); t += g.length - take[k];
  });
  // Mix the classes, which were laid down one after another.
  shuffleInPlace(train, next);
  shuffleInPlace(validation, next);
  return { train, validation };
}

/** Whole numbers near `exact` that add up to `total`: floors, plus one for the largest remainders. */
function largestRemainder(exact: number[], total: number): number[] {
  const whole = exact.map(Math.floor);
  let missing = total - whole.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((e, i) => i).sort((a, b) => (exact[b] - whole[b]) - (exact[a] - whole[a]) || a - b);
  for (const i of byRemainder) { if (missing <= 0) break; whole[i]++; missing--; }
  return whole;
}
