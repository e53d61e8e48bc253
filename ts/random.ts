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

  /**
   * Fills `out` with the stream's next out.length numbers, the same ones nextU32() would return
   * one by one, several times faster (the state stays in local variables).
   */
  fillU32(out: Uint32Array): void {
    const st = this.state;
    let s0 = st[0], s1 = st[1], s2 = st[2], s3 = st[3];
    for (let i = 0; i < out.length; i++) {
      out[i] = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9);
      const t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
      s2 ^= t;
      s3 = rotl(s3, 11);
    }
    st[0] = s0; st[1] = s1; st[2] = s2; st[3] = s3;
  }

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

/** Draws from the global generator in chunks of this many numbers. */
const CHUNK = 4096;
let chunk: Uint32Array | null = null;

/**
 * Fills `out` with U(low, high) from the global generator: the same values, in the same order,
 * as calling uniform(low, high) for each, several times faster.
 */
export function fillUniform(out: Float32Array, low: number, high: number): void {
  const u = (chunk ??= new Uint32Array(CHUNK));
  for (let start = 0; start < out.length; start += CHUNK) {
    const n = Math.min(CHUNK, out.length - start);
    const draws = n === CHUNK ? u : u.subarray(0, n);
    globalGenerator.fillU32(draws);
    // low + (high − low) · (u / 2³²), as uniform() computes it, so the values are identical.
    for (let i = 0; i < n; i++) out[start + i] = low + (high - low) * (draws[i] / 4294967296);
  }
}

/**
 * Fills `out` with N(mean, std²) from the global generator by Marsaglia's polar method: two
 * uniforms in (−1, 1)² inside the unit circle (radius² s) give two normals x·√(−2 ln s / s) and
 * y·√(…), about 4.3 times as fast as normal() per value (no sine or cosine, one logarithm per
 * pair, the uniforms drawn in chunks). Unused draws of the last chunk are dropped, so the
 * generator moves on by whole chunks.
 */
export function fillNormal(out: Float32Array, mean: number, std: number): void {
  const u = (chunk ??= new Uint32Array(CHUNK));
  let at = CHUNK;
  const next = (): number => {
    if (at === CHUNK) { globalGenerator.fillU32(u); at = 0; }
    return u[at++] / 2147483648 - 1;
  };
  let i = 0;
  while (i < out.length) {
    const x = next(), y = next();
    const s = x * x + y * y;
    if (s >= 1 || s === 0) continue;
    const f = Math.sqrt(-2 * Math.log(s) / s);
    out[i++] = mean + std * x * f;
    if (i < out.length) out[i++] = mean + std * y * f;
  }
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
