// Dropout with a counter-based mask: element i is kept when hash(seed, i) ≥ threshold, so the
// mask needs no storage: backward recomputes it from the same seed. threshold = p·2³² drops
// a fraction p. The same kernel serves forward (x → y) and backward (dy → dx).

/** y[i] = keep(seed, i) ? x[i]·scale : 0. */
export function dropoutApply(x: usize, y: usize, n: i32, seed: u32, threshold: u32, scale: f32): void {
  const key = mix(seed ^ 0x9e3779b9);
  const keyV = i32x4.splat(key), seedV = i32x4.splat(seed), thresholdV = i32x4.splat(threshold);
  const scaleV = f32x4.splat(scale);
  let index = i32x4(0, 1, 2, 3);
  const step = i32x4.splat(4);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const h = mixV(i32x4.add(mixV(v128.xor(index, keyV)), seedV));
    const keep = i32x4.ge_u(h, thresholdV);
    const o = <usize>i << 2;
    v128.store(y + o, v128.and(f32x4.mul(v128.load(x + o), scaleV), keep));
    index = i32x4.add(index, step);
  }
  for (; i < n; i++) {
    const h = mix(mix(<u32>i ^ key) + seed);
    const o = <usize>i << 2;
    store<f32>(y + o, h >= threshold ? load<f32>(x + o) * scale : 0);
  }
}

/**
 * Dropout2d: plane p (one channel of one sample, planeSize floats) is kept when
 * hash(seed, p) ≥ threshold, the hash dropoutApply uses for element p, and then scaled.
 */
export function dropout2dApply(x: usize, y: usize, planes: i32, planeSize: i32, seed: u32, threshold: u32, scale: f32): void {
  const key = mix(seed ^ 0x9e3779b9);
  const planeBytes = <usize>planeSize << 2;
  for (let p = 0; p < planes; p++) {
    const h = mix(mix(<u32>p ^ key) + seed);
    const xp = x + <usize>p * planeBytes, yp = y + <usize>p * planeBytes;
    if (h < threshold) {
      memory.fill(yp, 0, planeBytes);
      continue;
    }
    const scaleV = f32x4.splat(scale);
    let i = 0;
    for (; i + 4 <= planeSize; i += 4) {
      const o = <usize>i << 2;
      v128.store(yp + o, f32x4.mul(v128.load(xp + o), scaleV));
    }
    for (; i < planeSize; i++) {
      const o = <usize>i << 2;
      store<f32>(yp + o, load<f32>(xp + o) * scale);
    }
  }
}

/** The "lowbias32" integer finaliser: every input bit affects every output bit. */
// @ts-ignore: decorator
@inline function mix(z: u32): u32 {
  z ^= z >> 16; z *= 0x7feb352d;
  z ^= z >> 15; z *= 0x846ca68b;
  z ^= z >> 16;
  return z;
}

/** mix() on four lanes. */
// @ts-ignore: decorator
@inline function mixV(z: v128): v128 {
  z = i32x4.mul(v128.xor(z, i32x4.shr_u(z, 16)), i32x4.splat(0x7feb352d));
  z = i32x4.mul(v128.xor(z, i32x4.shr_u(z, 15)), i32x4.splat(<i32>0x846ca68b));
  return v128.xor(z, i32x4.shr_u(z, 16));
}
