// Packing for the channel-lane kernels (conv-chan.ts, conv-chan-dx.ts): the weights and dy in
// panels of 16 output channels (one tap's or pixel's 16 floats a cache line), dy framed pixel-major
// for the input gradient, the weights paired by input channel, and the weight gradient's panels
// back to OIHW. conv-flat-pass.ts calls these around the kernels; none is in a kernel's inner loop.

/**
 * An Og×K matrix (Og a multiple of 16) → panels of 16 rows, each transposed: dst[ob·K + k·16 + r] =
 * src[(ob + r)·K + k] for r < 16 (the channel-lane kernels' layout of the weights and of dy).
 */
export function chanPanels(src: usize, Og: i32, K: i32, dst: usize): void {
  for (let o = 0; o < Og; o += 16) chanTranspose(src + (<usize>o * K << 2), 16, K, dst + (<usize>o * K << 2));
}

/** dst[c·rows + r] = src[r·cols + c] for a rows×cols matrix (4×4 blocks in registers). */
function chanTranspose(src: usize, rows: i32, cols: i32, dst: usize): void {
  const rb = <usize>cols << 2, db = <usize>rows << 2;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const s = src + ((<usize>r * cols + c) << 2);
      const v0 = v128.load(s), v1 = v128.load(s + rb), v2 = v128.load(s + 2 * rb), v3 = v128.load(s + 3 * rb);
      const t0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7);
      const t2 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
      const d = dst + ((<usize>c * rows + r) << 2);
      v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
      v128.store(d + db, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
      v128.store(d + 2 * db, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
      v128.store(d + 3 * db, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
    }
    for (; c < cols; c++) for (let i = r; i < r + 4; i++) copyAt(src, i * cols + c, dst, c * rows + i);
  }
  for (; r < rows; r++) for (let c = 0; c < cols; c++) copyAt(src, r * cols + c, dst, c * rows + r);
}

/** dw[o·K + k] += acc[ob][k][o − ob] for the taps k in [k0, k1) (16-channel panels, ob = o rounded down to 16): the weight gradient of one group back to OIHW. */
export function chanWeightGradFinish(acc: usize, K: i32, Og: i32, dw: usize, k0: i32, k1: i32): void {
  for (let o = 0; o < Og; o++) {
    for (let k = k0; k < k1; k++) {
      const p = dw + ((<usize>o * K + k) << 2);
      store<f32>(p, load<f32>(p) + load<f32>(acc + ((<usize>(o & ~15) * K + (<usize>k << 4) + (o & 15)) << 2)));
    }
  }
}

/**
 * One group's dy (Og planes of OH×OW) → dyp: per block of 16 channels, a pixel-major
 * (OH + 2)×(OW + 2) plane of 16-float pixels whose 1-pixel frame stays as zeroed by the caller.
 */
export function chanFrame(dy: usize, OH: i32, OW: i32, Og: i32, dyp: usize): void {
  const P = OH * OW, rowPix = OW + 2, pb = <usize>P << 2;
  for (let ob = 0; ob < Og; ob += 16) {
    const blk = dyp + (<usize>(ob / 16) * (OH + 2) * rowPix << 6);
    for (let r = 0; r < 16; r += 4) {
      let s = dy + (<usize>(ob + r) * P << 2);
      for (let oh = 0; oh < OH; oh++) {
        let d = blk + (<usize>((oh + 1) * rowPix + 1) << 6) + (<usize>r << 2);
        let ow = 0;
        // Four channels × four pixels, transposed in registers.
        for (; ow + 4 <= OW; ow += 4) {
          const v0 = v128.load(s), v1 = v128.load(s + pb), v2 = v128.load(s + 2 * pb), v3 = v128.load(s + 3 * pb);
          const t0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7);
          const t2 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5), t3 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7);
          v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5)); v128.store(d, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 64);
          v128.store(d, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 128); v128.store(d, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 192);
          s += 16; d += 256;
        }
        for (; ow < OW; ow++) {
          store<f32>(d, load<f32>(s)); store<f32>(d, load<f32>(s + pb), 4);
          store<f32>(d, load<f32>(s + 2 * pb), 8); store<f32>(d, load<f32>(s + 3 * pb), 12);
          s += 4; d += 64;
        }
      }
    }
  }
}

/** Floats of one group's framed dy (chanFrame). */
export function chanFrameFloats(OH: f64, OW: f64, Og: f64): f64 { return (OH + 2) * (OW + 2) * Og; }

/**
 * One group's weights w[o, c, i, j] (Og × CH × taps) → wp: per channel pair, per block of 16 o's,
 * per tap, 16 o's of the pair's first channel then 16 of its second (zeros past an odd CH).
 */
export function chanPairWeights(w: usize, Og: i32, CH: i32, taps: i32, wp: usize): void {
  const pairs = (CH + 1) >> 1;
  for (let ob = 0; ob < Og; ob += 16) {
    for (let cp = 0; cp < pairs; cp++) {
      for (let t = 0; t < taps; t++) {
        const d = wp + (<usize>((cp * (Og / 16) + ob / 16) * taps + t) << 7);
        for (let u = 0; u < 2; u++) {
          const c = 2 * cp + u;
          for (let o = 0; o < 16; o++) {
            const v: f32 = c < CH ? load<f32>(w + (<usize>(((ob + o) * CH + c) * taps + t) << 2)) : 0;
            store<f32>(d + (<usize>(u * 16 + o) << 2), v);
          }
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline function copyAt(src: usize, i: i32, dst: usize, j: i32): void {
  store<f32>(dst + (<usize>j << 2), load<f32>(src + (<usize>i << 2)));
}
