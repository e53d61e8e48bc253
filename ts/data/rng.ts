// Random integers for the data utilities. With a seed they come from a private generator, so a
// seeded shuffle or split is repeatable without disturbing (or depending on) the library RNG
// that weight init and dropout draw from; without one they come from that library RNG, so
// sn.manualSeed(n) still makes an unseeded run repeatable.
import { checkSeed as checkLibrarySeed, nextU32 } from '../random.js';

/** A source of uniformly random 32-bit unsigned integers. */
export type U32Source = () => number;

/** Checks an optional seed by the library's rule: any safe integer (it is used modulo 2³²). */
export function checkSeed(seed: unknown, where: string): void {
  if (seed !== undefined) checkLibrarySeed(seed, where);
}

/** A seeded splitmix32 stream, or the library RNG when `seed` is undefined. */
export function u32Source(seed?: number): U32Source {
  if (seed === undefined) return nextU32;
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * A uniform integer in [0, n) for 1 ≤ n ≤ 2³². Rejection sampling rather than `u32 % n`, whose
 * small bias towards low values would make some permutations likelier than others.
 */
export function below(next: U32Source, n: number): number {
  const limit = 4294967296 - (4294967296 % n);
  let x = next();
  while (x >= limit) x = next();
  return x % n;
}

/** Shuffles `a` in place (Fisher–Yates). */
export function shuffleInPlace(a: Int32Array, next: U32Source): Int32Array {
  for (let i = a.length - 1; i > 0; i--) {
    const j = below(next, i + 1);
    const t = a[i]; a[i] = a[j]; a[j] = t;
  }
  return a;
}

/** A standard normal draw (Box–Muller) from a u32 source. */
export function gaussian(next: U32Source): number {
  let u = next() / 4294967296;
  while (u === 0) u = next() / 4294967296;
  const v = next() / 4294967296;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
