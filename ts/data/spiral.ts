// The spiral toy dataset of Stanford's CS231n notes: `classes` arms winding out from the
// origin, one class per arm, not separable by a line — the smallest problem where a hidden layer
// visibly matters. Points come class by class (all of class 0, then class 1, …), as in the notes.
import { Tensor, tensor } from '../tensor.js';
import { checkCount } from './check.js';
import { checkSeed, gaussian, u32Source } from './rng.js';
import { anything, checkOptions, describe } from '../options.js';

/** The options of spiral(). */
export interface SpiralOptions {
  /** Points on each arm. Default 100. */
  pointsPerClass?: number;
  /** Arms, one class each. Default 3. */
  classes?: number;
  /** Standard deviation of the Gaussian noise added to each point's angle (radians). Default 0.2. */
  noise?: number;
  /** Repeatable points from a private generator; without it, the library RNG (sn.manualSeed). */
  seed?: number;
}

/** The spiral points and their classes. */
export interface Spiral {
  /** The points, [classes·pointsPerClass, 2], class by class. */
  x: Tensor;
  /** The class of each point, 0..classes−1. */
  y: Int32Array;
}

/**
 * The spiral toy dataset of CS231n: `classes` arms winding out from the origin, one class per
 * arm, not separable by a line: x [classes·pointsPerClass, 2] and class labels y.
 *
 * @example
 * ```js
 * const { x, y } = sn.data.spiral({ seed: 0 });      // 300 points in 3 classes
 * const model = new sn.Sequential(new sn.Linear(2, 64), new sn.ReLU(), new sn.Linear(64, 3));
 * await model.fit(x, y, { epochs: 200, batchSize: 300, verbose: 0 });
 * ```
 */
export function spiral(options: SpiralOptions = {}): Spiral {
  // Each value is checked below, with its range.
  checkOptions('spiral', options, { pointsPerClass: anything, classes: anything, noise: anything, seed: anything });
  const { pointsPerClass = 100, classes = 3, noise = 0.2, seed } = options;
  checkCount(pointsPerClass, 'pointsPerClass', 'spiral', 1);
  checkCount(classes, 'classes', 'spiral', 1);
  if (typeof noise !== 'number' || !Number.isFinite(noise) || noise < 0) throw new Error(`spiral: noise must be a finite number ≥ 0, got ${describe(noise)}`);
  checkSeed(seed, 'spiral');
  const next = u32Source(seed);
  const n = pointsPerClass * classes;
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  // np.linspace(0, 1, m) gives [0] for m = 1; the step guard keeps that case finite.
  const step = pointsPerClass > 1 ? 1 / (pointsPerClass - 1) : 0;
  for (let c = 0; c < classes; c++) {
    for (let i = 0; i < pointsPerClass; i++) {
      const k = c * pointsPerClass + i;
      const r = i * step;
      const t = 4 * c + 4 * i * step + noise * gaussian(next);
      x[2 * k] = r * Math.sin(t);
      x[2 * k + 1] = r * Math.cos(t);
      y[k] = c;
    }
  }
  return { x: tensor(x, [n, 2]), y };
}
