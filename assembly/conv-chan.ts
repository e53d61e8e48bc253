// Stride-1 convolution kernels with output channels in the lanes, for groups of a multiple of
// 16 output channels (LeNet's conv2: 6 → 16).
//
// Pixel p = (oh, ow) of an OH×OW output reads the (padded) input at src + oh·Wp + ow, and tap
// k = (c, i, j) adds c·plane + i·rowStep + j·colStep, as in conv-flat.ts. There the lanes run
// along a padded output row, so the (KW−1)·DW columns past OW are computed and thrown away
// (140 of 144 columns for 100 useful on conv2); here the lanes hold 16 output channels and
// every pixel computed is a real one. A 2-pixel × 16-channel tile is 8 f32x4 accumulators,
// 4 weight vectors and 2 splatted input values per tap. On conv2 at batch 64 (relaxed SIMD)
// forward went from 0.96 to 0.6 ms and the weight gradient from 1.47 to 0.65 ms (~50 GFLOP/s
// of useful work, near the FMA peak).
//
// The weights (forward) and dy (weight gradient) are read in panels of 16 output channels,
// [Og/16] × [K or P] × 16 (chanPanels): one tap's (or pixel's) 16 floats are one cache line,
// the next line right after it. Rows of all Og channels ([K, Og]) put consecutive taps Og·4 bytes
// apart, 1 KB at Og = 256: a panel's lines fell into a few L1 sets and were fetched again from L2
// for every pair of pixels. Forward, relaxed SIMD, the raw kernels alternately in one process,
// median of 7 ratios, batch 16 unless said (same bits): 3×3 64→64 p1 on 8×8 ×1.09–1.13 (batch 64
// ×1.08–1.12), 128→128 on 16×16 ×1.08–1.15, 128→256 on 8×8 ×1.22–1.25, to 75–77% of the FMA peak
// from 61–71%; the weight gradient ×0.99–1.03.
// The forward then walks its taps in one loop through a table of their offsets (built per call,
// K u32) rather than three nested loops of KH, KW and the channels, whose inner loop ran 3 taps
// on a 3×3 kernel: same bits, ×1.06–1.15 on those three shapes and ×1.5 on LeNet's conv2 (5×5
// 6→16 on 14×14, batch 64), ~1.0 on 32→32 on 32×32, measured under load (others' runs: the
// peak loop itself read 26–58 GFLOP/s); plain SIMD ×1.01–1.19.
// Tried, not kept (forward, relaxed, same measurements):
//   - the three taps of a kernel row unrolled (KW = 3, stride 1): ×0.60, V8 11.3 hoists the
//     taps' loads and spills;
//   - 4 pixels × 8 channels (the pixels splatted from one pointer at constant offsets, 2 weight
//     vectors a tap, stored by 4×4 transposes) on rows of a multiple of 4: ×0.99–1.03;
//   - the input channels in chunks of 16 over all pixels (a panel's weights for the chunk, 9 KB,
//     held in L1; the partial sums of a pixel pair stored and reloaded, the same bits): ×0.95–1.06.
import { madd, nonFinite } from "./simd";
import { gemm2x16Pixels } from "./gemm-inplace";
import { actV } from "./epilogue";

/** Whether the channel-lane kernels apply: whole blocks of 16 output channels per group. */
export function chanApplies(Og: i32): bool { return Og % 16 == 0; }

/**
 * y[o·P + p] = act(b[o] + Σ_k src(k, p) · wt[k·Og + o]) for o < Og and the P = OH·OW pixels, y
 * NCHW (plane stride P). wt is one group's weights in panels (chanPanels: [Og/16] × [K] × 16). b = 0: no bias. act
 * as epilogue.ts's (0 none, 1 ReLU, 2 ReLU6), applied as the accumulators are stored; with one,
 * returns 1 when a value was NaN or infinite before it, else 0. table: scratch for the K taps'
 * byte offsets (u32), written here.
 */
export function chanConvForward(
  OH: i32, OW: i32, Wp: i32, src: usize, CH: i32, plane: i32, KH: i32, KW: i32, rowStep: i32, colStep: i32,
  wt: usize, Og: i32, b: usize, y: usize, act: i32, table: usize,
): i32 {
  const P = OH * OW;
  let flag = f32x4.splat(0);
  const planeBytes = <usize>plane << 2, rowBytes = <usize>rowStep << 2, colBytes = <usize>colStep << 2;
  const yPlane = <usize>P << 2, K = CH * KH * KW;
  // Tap k = (c, i, j) at byte offset (c·plane + i·rowStep + j·colStep)·4 from its pixel.
  const tend = table + (<usize>K << 2);
  let tq = table;
  for (let c = 0; c < CH; c++) for (let i = 0; i < KH; i++) for (let j = 0; j < KW; j++) {
    store<u32>(tq, <u32>((c * plane + i * rowStep + j * colStep) << 2)); tq += 4;
  }
  for (let p = 0; p < P; p += 2) {
    const two = p + 1 < P;
    const a0 = src + (<usize>pixelOffset(p, OW, Wp) << 2);
    // The second pixel may sit on the next row (odd OW): its own distance to the first.
    const d = two ? (<usize>pixelOffset(p + 1, OW, Wp) << 2) - (a0 - src) : 0;
    for (let ob = 0; ob < Og; ob += 16) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
      let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
      let pw = wt + (<usize>ob * K << 2);
      const a1 = a0 + d;
      for (let tp = table; tp < tend; tp += 4) {
        const off = <usize>load<u32>(tp);
        const w0 = v128.load(pw), w1 = v128.load(pw, 16), w2 = v128.load(pw, 32), w3 = v128.load(pw, 48);
        const x0 = v128.load32_splat(a0 + off);
        c00 = madd(x0, w0, c00); c01 = madd(x0, w1, c01); c02 = madd(x0, w2, c02); c03 = madd(x0, w3, c03);
        const x1 = v128.load32_splat(a1 + off);
        c10 = madd(x1, w0, c10); c11 = madd(x1, w1, c11); c12 = madd(x1, w2, c12); c13 = madd(x1, w3, c13);
        pw += 64;
      }
      if (b != 0) {
        const bb = b + (<usize>ob << 2);
        const b0 = v128.load(bb), b1 = v128.load(bb, 16), b2 = v128.load(bb, 32), b3 = v128.load(bb, 48);
        c00 = f32x4.add(c00, b0); c01 = f32x4.add(c01, b1); c02 = f32x4.add(c02, b2); c03 = f32x4.add(c03, b3);
        c10 = f32x4.add(c10, b0); c11 = f32x4.add(c11, b1); c12 = f32x4.add(c12, b2); c13 = f32x4.add(c13, b3);
      }
      if (act != 0) {
        // With one pixel left, c1· repeat c0· (the same pixel): the flag is the same either way.
        flag = v128.or(flag, v128.or(v128.or(nonFinite(c00), nonFinite(c01)), v128.or(nonFinite(c02), nonFinite(c03))));
        flag = v128.or(flag, v128.or(v128.or(nonFinite(c10), nonFinite(c11)), v128.or(nonFinite(c12), nonFinite(c13))));
        c00 = actV(c00, act); c01 = actV(c01, act); c02 = actV(c02, act); c03 = actV(c03, act);
        c10 = actV(c10, act); c11 = actV(c11, act); c12 = actV(c12, act); c13 = actV(c13, act);
      }
      const yo = y + (<usize>ob * P + p << 2);
      if (two) {
        storePair(yo, yPlane, c00, c10); storePair(yo + 4 * yPlane, yPlane, c01, c11);
        storePair(yo + 8 * yPlane, yPlane, c02, c12); storePair(yo + 12 * yPlane, yPlane, c03, c13);
      } else {
        storeOne(yo, yPlane, c00); storeOne(yo + 4 * yPlane, yPlane, c01);
        storeOne(yo + 8 * yPlane, yPlane, c02); storeOne(yo + 12 * yPlane, yPlane, c03);
      }
    }
  }
  return <i32>v128.any_true(flag);
}

/**
 * acc[ob][k][o − ob] += Σ_p src(k, p) · dyT[ob][p][o − ob] for the taps k in [k0, k1) of the
 * K = CH·KH·KW and o < Og, ob = o rounded down to 16: acc and dyT in panels of 16 channels
 * (chanPanels), dyT pixel-major within each. 2 taps × 16 channels (f32-gemm-2x16, gemm2x16Pixels
 * over one image's pixels); an odd last tap is computed twice and stored once. Pixels advance one column at a time (stride 1). Each accumulator's sum
 * is the same whatever the taps beside it: a range of taps gets the whole's bits.
 */
export function chanConvWeightGrad(
  OH: i32, OW: i32, Wp: i32, src: usize, K: i32, plane: i32, KH: i32, KW: i32, rowStep: i32, colStep: i32,
  dyT: usize, Og: i32, acc: usize, k0: i32, k1: i32,
): void {
  const taps = KH * KW, P = OH * OW;
  for (let k = k0; k < k1; k += 2) {
    const two = k + 1 < k1;
    const s0 = src + (<usize>tapOffset(k, taps, KW, plane, rowStep, colStep) << 2);
    const s1 = two ? src + (<usize>tapOffset(k + 1, taps, KW, plane, rowStep, colStep) << 2) : s0;
    for (let ob = 0; ob < Og; ob += 16) {
      gemm2x16Pixels(1, OH, OW, 0, <usize>Wp << 2, 4, s0, s1, dyT + (<usize>ob * P << 2), acc + ((<usize>ob * K + (<usize>k << 4)) << 2), 64, two);
    }
  }
}

// @ts-ignore: decorator
@inline function pixelOffset(p: i32, OW: i32, Wp: i32): i32 { const oh = p / OW; return oh * Wp + (p - oh * OW); }

// @ts-ignore: decorator
@inline function tapOffset(k: i32, taps: i32, KW: i32, plane: i32, rowStep: i32, colStep: i32): i32 {
  const c = k / taps, r = k - c * taps, i = r / KW, j = r - i * KW;
  return c * plane + i * rowStep + j * colStep;
}

/** Four channels (lanes) of pixels p, p+1 → their planes (stride `plane` bytes), two floats each. */
// @ts-ignore: decorator
@inline function storePair(y: usize, plane: usize, a: v128, b: v128): void {
  const lo = v128.shuffle<f32>(a, b, 0, 4, 1, 5), hi = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
  v128.store64_lane(y, lo, 0); v128.store64_lane(y + plane, lo, 1);
  v128.store64_lane(y + 2 * plane, hi, 0); v128.store64_lane(y + 3 * plane, hi, 1);
}

/** Four channels (lanes) of one pixel → their planes. */
// @ts-ignore: decorator
@inline function storeOne(y: usize, plane: usize, a: v128): void {
  store<f32>(y, f32x4.extract_lane(a, 0)); store<f32>(y + plane, f32x4.extract_lane(a, 1));
  store<f32>(y + 2 * plane, f32x4.extract_lane(a, 2)); store<f32>(y + 3 * plane, f32x4.extract_lane(a, 3));
}
