// Seedable randomness. The global generator drives weight init and anything random outside fit,
// so sn.manualSeed(n) makes a run repeatable; each fit() draws its shuffles, validation split
// and dropout masks from a Generator of its own, so two fits running at once (awaited together)
// cannot take numbers from each other's stream.
import { describe } from './describe.js';

/**
 * A seeded xoshiro128** stream. The seed goes through splitmix32 first, so small seeds give
 * well-mixed states.
 */
export class Generator {
  private readonly state = new Uint32Array(4);

  /** `seed`: see checkSeed (any safe integer; used modulo 2³²). */
  constructor(seed: number) { this.seed(seed); }

  /** Restarts the stream from `seed`, which must already have passed checkSeed. */
  seed(seed: number): void {
    let s = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.state[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.state[0] | this.state[1] | this.state[2] | this.state[3]) === 0) this.state[0] = 1;
  }

  /** @internal A copy of the stream's position, for restoreState(). */
  saveState(into: Uint32Array = new Uint32Array(4)): Uint32Array { into.set(this.state); return into; }

  /** @internal Goes back to a position saved by saveState(): the same numbers come again. */
  restoreState(saved: Uint32Array): void { this.state.set(saved); }

  /** A uniformly random 32-bit unsigned integer. */
  nextU32(): number {
    const st = this.state;
    const result = Math.imul(rotl(Math.imul(st[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (st[1] << 9) >>> 0;
    st[2] ^= st[0]; st[3] ^= st[1]; st[1] ^= st[2]; st[0] ^= st[3];
    st[2] ^= t;
    st[3] = rotl(st[3], 11);
    return result;
  }
}

/**
 * Throws unless `seed` is a safe integer (Number.isSafeInteger: |seed| ≤ 2⁵³ − 1). Only its value
 * modulo 2³² is used (-1 ≡ 4294967295), as the generator's state is seeded from 32 bits; a string,
 * a fraction or NaN would otherwise all quietly become some 32-bit number.
 */
export function checkSeed(seed: unknown, where: string): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new Error(`${where}: seed must be a safe integer (it is used modulo 2^32), got ${describe(seed)}`);
  }
  return seed;
}


/** The global generator: weight init, and dropout or shuffling outside fit. */
const globalGenerator = new Generator(Date.now() ^ (Math.random() * 0x100000000));

/**
 * Seeds the global generator, so weight init (and every fit given no seed of its own, which
 * draws its seed from here) repeats. `seed`: any safe integer; only its value modulo 2³² is used.
 */
export function manualSeed(seed: number): void {
  globalGenerator.seed(checkSeed(seed, 'manualSeed'));
}

/**
 * Saves where the global generator stands; the function returned puts it back there (for an
 * entry point that draws from it and then refuses its arguments: an Error changes nothing).
 */
export function saveGlobalGenerator(): () => void {
  const saved = globalGenerator.saveState();
  return () => globalGenerator.restoreState(saved);
}

/** A uniformly random 32-bit unsigned integer from the global generator. */
export function nextU32(): number {
  return globalGenerator.nextU32();
}

/** Uniform in [0, 1). */
export function random(): number {
  return nextU32() / 4294967296;
}

/** Uniform in [low, high). */
export function uniform(low: number, high: number): number {
  return low + (high - low) * random();
}

/** Standard normal (Box–Muller). */
export function normal(mean = 0, std = 1): number {
  let u = random();
  while (u === 0) u = random();
  return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/**
 * A uniform integer in [0, n) from `rng`, for 1 ≤ n ≤ 2³²: rejection rather than `u32 % n`, whose
 * small bias towards low values would favour some crops or orders over others.
 */
export function randomBelow(rng: Generator, n: number): number {
  const limit = 4294967296 - (4294967296 % n);
  let x = rng.nextU32();
  while (x >= limit) x = rng.nextU32();
  return x % n;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
