// The one seedable source of randomness: weight init, dropout masks and shuffling all draw
// from it, so sn.manualSeed(n) makes a run repeatable.

/** xoshiro128** state; seeded through splitmix32 so that small seeds give well-mixed states. */
const state = new Uint32Array(4);

export function manualSeed(seed: number): void {
  let s = seed >>> 0;
  for (let i = 0; i < 4; i++) {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    state[i] = (z ^ (z >>> 16)) >>> 0;
  }
  if ((state[0] | state[1] | state[2] | state[3]) === 0) state[0] = 1;
}

manualSeed(Date.now() ^ (Math.random() * 0x100000000));

/** A uniformly random 32-bit unsigned integer. */
export function nextU32(): number {
  const result = Math.imul(rotl(Math.imul(state[1], 5) >>> 0, 7), 9) >>> 0;
  const t = (state[1] << 9) >>> 0;
  state[2] ^= state[0]; state[3] ^= state[1]; state[1] ^= state[2]; state[0] ^= state[3];
  state[2] ^= t;
  state[3] = rotl(state[3], 11);
  return result;
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

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
