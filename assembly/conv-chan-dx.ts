// Input gradient of a stride-1 convolution with output channels in the lanes, for groups of a
// multiple of 16 output channels (LeNet's conv2: dx has 6 channels, dy 16).
//
//   dx[c, h, w] = Σ_{i,j} Σ_o W[o, c, i, j] · dy[o, h + PH − i·DH, w + PW − j·DW]
//
// The flat path computes this as a full correlation of dy padded by KH−1 rows and KW−1
// columns, so about half of its multiply-adds hit padding (on conv2, 376k lane products per
// image for 240k useful ones). Here the lanes hold 4 of the o's, the dot over o is reduced once
// per output pixel, and each pixel only visits the taps whose dy pixel exists: a block of
// 2×2 pixels × 2 channels (8 f32x4 accumulators) takes the union of its pixels' taps, which
// reads at most one pixel past dy's border (hence dyp's 1-pixel zero frame). On conv2 that is
// 2916 pixel-taps per channel for 2500 useful ones; at batch 64 (relaxed SIMD) dx went from
// 1.07 to 0.87 ms.
//
// The paired weights are laid out channel pair by channel pair, the blocks of 16 o's within
// each (chanPairWeights), so the weights a pixel block reads over all blocks of o are one run
// (18 KB at 256 o's), where blocks of o outermost put them a whole block's weights apart (72 KB
// at 128→256): dx ×1.06 on 3×3 128→128 on 16×16, ×1.01–1.03 on 128→256 on 8×8 and 64→64 on 8×8
// (batch 16, relaxed, the raw kernels alternately, median of 15–21 ratios), the same bits.
import { madd } from "./simd";

/**
 * dx (CH planes of H×W, NCHW) from dyp (chanFrame: one group's dy in blocks of 16 channels,
 * each pixel-major with a zero frame of one pixel) and wp (chanPairWeights). Og is a multiple
 * of 16. Every dx value is written once.
 */
export function chanConvInputGrad(
  H: i32, W: i32, CH: i32, KH: i32, KW: i32, DH: i32, DW: i32, PH: i32, PW: i32, OH: i32, OW: i32,
  dyp: usize, wp: usize, Og: i32, dx: usize,
): void {
  const taps = KH * KW, rowPix = OW + 2, rowBytes = <usize>rowPix << 6;
  const blockBytes = <usize>((OH + 2) * rowPix) << 6, wBlockBytes = <usize>taps << 7, pairBytes = <usize>(Og / 16) * wBlockBytes;
  const plane = <usize>(H * W) << 2;
  const tapRow = <usize>(DH * rowPix) << 6, tapCol = <usize>DW << 6;
  for (let c = 0; c < CH; c += 2) {
    for (let h = 0; h < H; h += 2) {
      const h1 = min(h + 1, H - 1);
      // Taps i whose dy row exists for h or h1: 0 ≤ r + PH − i·DH < OH.
      const i0 = max(0, ceilDiv(h + PH - OH + 1, DH)), i1 = min(KH, (h1 + PH) / DH + 1);
      for (let w = 0; w < W; w += 2) {
        const w1 = min(w + 1, W - 1);
        const j0 = max(0, ceilDiv(w + PW - OW + 1, DW)), j1 = min(KW, (w1 + PW) / DW + 1);
        let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a02 = f32x4.splat(0), a03 = f32x4.splat(0);
        let a10 = f32x4.splat(0), a11 = f32x4.splat(0), a12 = f32x4.splat(0), a13 = f32x4.splat(0);
        // dy pixel of tap (i0, j0) for pixel (h, w) in the framed plane; (h, w + 1) is the next
        // pixel and (h + 1, ·) the next row, read even past an odd edge (inside the frame;
        // those lanes are not stored).
        let qb = dyp + (<usize>((h + PH - i0 * DH + 1) * rowPix + w + PW - j0 * DW + 1) << 6);
        let wb = wp + (<usize>(c >> 1) * pairBytes) + (<usize>(i0 * KW + j0) << 7);
        for (let ob = 0; ob < Og; ob += 16) {
          let qrow = qb, wrow = wb;
          for (let i = i0; i < i1; i++) {
            let q = qrow, q2 = qrow + rowBytes, pw = wrow;
            for (let j = j0; j < j1; j++) {
              // Four lanes of o per step: a fully unrolled tap made V8 hoist its 24 loads and
              // spill the accumulators (29 vs 41 GFLOP/s).
              const end = pw + 64;
              let p = q, p2 = q2;
              while (pw < end) {
                const x = v128.load(pw), y = v128.load(pw, 64);
                let d = v128.load(p);
                a00 = madd(x, d, a00); a10 = madd(y, d, a10);
                d = v128.load(p, 64); a01 = madd(x, d, a01); a11 = madd(y, d, a11);
                d = v128.load(p2); a02 = madd(x, d, a02); a12 = madd(y, d, a12);
                d = v128.load(p2, 64); a03 = madd(x, d, a03); a13 = madd(y, d, a13);
                pw += 16; p += 16; p2 += 16;
              }
              q -= tapCol; q2 -= tapCol; pw += 64;
            }
            qrow -= tapRow; wrow += <usize>KW << 7;
          }
          qb += blockBytes; wb += wBlockBytes;
        }
        const d0 = dx + (<usize>c * plane) + (<usize>(h * W + w) << 2);
        storeBlock(d0, sum4(a00, a01, a02, a03), w1 > w, h1 > h, <usize>W << 2);
        if (c + 1 < CH) storeBlock(d0 + plane, sum4(a10, a11, a12, a13), w1 > w, h1 > h, <usize>W << 2);
      }
    }
  }
}

/** ⌈a / b⌉ for b > 0 (a of either sign). */
// @ts-ignore: decorator
@inline function ceilDiv(a: i32, b: i32): i32 { return a > 0 ? (a + b - 1) / b : -((-a) / b); }

/** The lane sums of a, b, c, d as one vector. */
// @ts-ignore: decorator
@inline function sum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const t0 = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const t1 = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
}

/** Lanes (h, w), (h, w+1), (h+1, w), (h+1, w+1) → dx at p, those past the plane's edge dropped. */
// @ts-ignore: decorator
@inline function storeBlock(p: usize, v: v128, twoCols: bool, twoRows: bool, rowBytes: usize): void {
  if (twoCols) {
    v128.store64_lane(p, v, 0);
    if (twoRows) v128.store64_lane(p + rowBytes, v, 1);
  } else {
    store<f32>(p, f32x4.extract_lane(v, 0));
    if (twoRows) store<f32>(p + rowBytes, f32x4.extract_lane(v, 2));
  }
}
