// The forward and the weight gradient of strided convolutions (column stride SW ≥ 2) as
// implicit GEMMs: no im2col matrix (nor its transpose), and for the forward no Y_all and no
// scatter.
//
// Each image's input is first copied into SW phase-split planes per channel: plane (c, φ) holds
// the zero-padded input's columns φ, φ + SW, φ + 2·SW, … (Wq of them), on Hp rows. Output pixel
// (oh, ow) of kernel tap (kh, kw) reads padded column ow·SW + q with q = kw·DW: column ow + ⌊q/SW⌋
// of plane (c, q mod SW), row oh·SH + kh·DH. So along an output row the 8 pixels of a tile read
// 8 consecutive floats of one plane row, at an offset that depends on the tap only: the GEMM
//   Y[n] (+)= W · cols(x[n])        [Og, OH·OW] = [Og, K]·[K, OH·OW]
// runs f32-gemm-4x8 (gemm4x8Table) with B's row k at the tile's base + table[k], and its 4×8
// tile of C is 4 output channels × 8 pixels of one output row: stored straight into y (onto
// the bias). The copy is im2col's (a 1 × SW kernel at stride SW over the padded image; at
// stride 2 phaseSplit2's single pass over each row, 8 floats to both phases by two shuffles:
// forward ×1.01–1.04, dW ×1.01–1.04 against im2col's pass per phase): about C·H·W floats an
// image, against K·OH·OW (2.25× that for 3×3 stride 2) written and read back by im2col, and
// Og·OH·OW more by the folded batch's scatter.
//
// The weight gradient reads the same planes through the same table (stridedWeightGrad). The
// input gradient runs by output phase where conv-strided-dx.ts's rule takes the shape, else by
// im2col's lowering (col2im of Wᵀ·dY).
//
// Applies when OW is a multiple of 8 (every tile in one output row) and the windows overlap
// (KH·KW > SH·SW). Measured against the lowerings it replaces (CPU time, the two builds
// alternating in one process, median of 9–11 under load, ranges over runs and batch 16 / 64;
// the forward's results are bit for bit those of the folded batch, whose GEMM sums k in the
// same order):
//   shape                          replaced              relaxed SIMD          plain SIMD
//                                                         forward    dW         forward    dW
//   3×3 32→64 s2 p1 on 16×16       im2col-batched-gemm   ×1.06–1.15 ×1.04–1.11 ×1.01–1.03 ×1.06–1.34
//   3×3 16→32 s2 p1 on 32×32       im2col-gemm           ×1.20–1.40 ×1.25–1.42 ×1.11–1.27 ×1.30–1.38
//   3×3 3→32 s2 p1 on 32×32        im2col-gemm           ×1.17–1.74 ×1.29–1.40 ×1.20–1.22 ×1.19–1.20
// The whole backward (dW and dx) of these: ×1.01–1.02, ×1.10–1.20 and ×1.08–1.14 (relaxed).
// The forward runs every 4 output channels of one tile before the next tile (the tile's B rows
// stay in L1; a panel of 4 channels over all of an image's tiles read its planes, 72 KB at 16→32
// on 32×32, from L2 once per panel): ×1.07–1.11 relaxed, ×1.11–1.16 plain (3×3 s2 p1, 16→32 on
// 32×32 and 32→64 on 16×16, batch 16 and 64), to 78–82% of the FMA peak relaxed.
// Where the time goes then (relaxed, 16→32 on 32×32, batch 64): the phase split ~9% of the
// forward and of dW, dYᵀ's transposes ~3% of dW; dW's GEMM runs at ~88% of the peak, dW's
// pass at 74–76%. On 32→64 on 16×16 (8×8 outputs: rows of 8 pixels) the split and the
// transposes were ~8% of dW and its f32-gemm-4x8 ran at ~78%: per pixel 6 loads and 5 pointer
// steps for 8 FMAs. Where the groups have a multiple of 16 output channels, the relaxed build's
// dW runs 2 taps × 16 channels instead (f32-gemm-2x16, 3 pointer steps a pixel, as the
// stride-1 channel-lane kernels): ×1.09–1.10 at batch 16 and 64, 71–72% → 78% of the FMA peak,
// the same bits (each sum over the pixels of a chunk in the same order); plain SIMD ×0.98, kept
// on 4×8. Tried, not kept (the forward, relaxed, same runs):
//   - f32-gemm-6x8 through the table (12 accumulators, 9 loads per 12 FMAs against 7 per 8):
//     ×0.51–0.59, V8 spills;
//   - no table for 3×3 at column stride 2 (a channel's 9 taps unrolled, their offsets a row
//     pointer, + one plane, + 4 bytes): ×0.54–0.55;
//   - each tile's B rows packed once ([K × 8], aligned) for all its channel panels: ×0.95–0.98;
//   - dW with the blocks of 8 output channels outer, the taps inner (a block of dYᵀ, 12 KB at
//     32→64 on 16×16, held in L1 over all taps): ×0.98–1.01.
//   - dW's f32-gemm-4x8 with two pixels a loop turn (OW is a multiple of 8): ×0.53–0.59 (V8
//     spills), measured under load.
//   - dW's f32-gemm-2x16 with the blocks of 16 output channels outer, the taps inner (a block
//     of dYᵀ, 24 KB at 32→64 on 16×16 in chunks of 6 images, held in L1): ×1.00 at batch 16 and 64.
// A 1×1 strided convolution does not come here: its phase planes copy all of x where the
// subsample reads a quarter of it, and with K = C the copy is not paid back (1×1 32→64 s2 on
// 16×16: ×0.59–0.63; 1×1 16→32 s2 on 32×32: ×0.62). Those at stride 2 with output rows of a
// multiple of 8 take conv-pointwise-s2.ts; others im2col's lowering. So do other kernels whose windows do not overlap
// (2×2 stride 2, 3×3 stride 3): im2col's matrix is then no larger than x.
import { gemm4x8Table, gemm1x8Table, gemm4x8Pixels, gemm2x16Pixels } from "./gemm-inplace";
import { transposeFloats } from "./conv-batched";
import { im2col, phaseSplit2 } from "./im2col";

/**
 * Whether the forward and the weight gradient take the implicit GEMM: column stride ≥ 2, output
 * rows of a multiple of 8 pixels, and windows that overlap (KH·KW > SH·SW: the im2col matrix,
 * about C·H·W·KH·KW/(SH·SW) floats, larger than the phase planes' C·H·W).
 */
// @ts-ignore: decorator
@inline export function stridedApplies(KH: i32, KW: i32, SH: i32, SW: i32, OW: i32): bool {
  return SW >= 2 && OW % 8 == 0 && KH * KW > SH * SW;
}

/** The padded rows (Hp) an image needs: those the last output row's taps reach. */
// @ts-ignore: decorator
@inline function paddedRows(KH: i32, SH: i32, DH: i32, OH: i32): i32 {
  return (OH - 1) * SH + (KH - 1) * DH + 1;
}

/** Floats in one phase plane's row (Wq): the padded columns the last output column's taps reach, over SW phases. */
// @ts-ignore: decorator
@inline function phaseColumns(KW: i32, SW: i32, DW: i32, OW: i32): i32 {
  return ((OW - 1) * SW + (KW - 1) * DW + SW) / SW;
}

/** Floats of scratch stridedForward needs, in f64: the row table (K i32), then one image's phase planes. */
export function stridedScratchFloats(C: i32, KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32): f64 {
  const K = <f64>(C / G) * <f64>KH * <f64>KW;
  return K + 4 + <f64>C * <f64>SW * <f64>paddedRows(KH, SH, DH, OH) * <f64>phaseColumns(KW, SW, DW, OW);
}

/** y = conv2d(x, w) + b for a shape stridedApplies accepts, image by image (see the file comment). */
export function stridedForward(
  x: usize, w: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, scratch: usize,
): void {
  const Cg = C / G, Og = O / G, K = Cg * KH * KW, P = OH * OW;
  const Hp = paddedRows(KH, SH, DH, OH), Wq = phaseColumns(KW, SW, DW, OW), plane = Hp * Wq;
  const table = scratch;
  // The phase planes start 16-byte aligned after the table.
  const planes = scratch + ((<usize>K << 2) + 15 & ~15);
  fillTable(table, Cg, KH, KW, SW, DH, DW, Hp, Wq);
  const rs = <usize>K << 2, cs = <usize>P << 2;
  for (let n = 0; n < N; n++) {
    splitPhases(x + (<usize>n * C * H * W << 2), C, H, W, SW, PH, PW, Hp, Wq, planes);
    for (let g = 0; g < G; g++) {
      const xg = planes + (<usize>(g * Cg * SW) * plane << 2);
      const wg = w + (<usize>(g * Og) * K << 2);
      const yg = y + (<usize>(n * O + g * Og) * P << 2);
      const bg = b != 0 ? b + (<usize>(g * Og) << 2) : 0;
      // Every 4 output channels of a tile before the next tile: its B rows (Cg·SW planes × KH
      // rows of 8 floats) stay in L1, where a panel of 4 channels over all tiles streamed the
      // image's planes (72 KB at 16→32 on 32×32) from L2 once per panel (see the file comment).
      const O4 = Og & ~3;
      for (let oh = 0; oh < OH; oh++) {
        const row = xg + (<usize>(oh * SH * Wq) << 2), out = yg + (<usize>(oh * OW) << 2);
        for (let ow = 0; ow < OW; ow += 8) {
          const r = row + (<usize>ow << 2), o = out + (<usize>ow << 2);
          for (let i = 0; i < O4; i += 4) {
            gemm4x8Table(K, wg + <usize>i * rs, rs, table, r, o + <usize>i * cs, cs, bg != 0 ? bg + (<usize>i << 2) : 0);
          }
          for (let i = O4; i < Og; i++) {
            gemm1x8Table(K, wg + <usize>i * rs, table, r, o + <usize>i * cs, bg != 0 ? bg + (<usize>i << 2) : 0);
          }
        }
      }
    }
  }
}

/** One image's phase planes: im2col of a 1 × SW kernel at stride SW (phaseSplit2's one pass at SW = 2). */
function splitPhases(x: usize, C: i32, H: i32, W: i32, SW: i32, PH: i32, PW: i32, Hp: i32, Wq: i32, planes: usize): void {
  if (SW == 2) phaseSplit2(x, C, H, W, PH, PW, Hp, Wq, planes);
  else im2col(x, C, H, W, 1, SW, 1, SW, PH, PW, 1, 1, Hp, Wq, planes);
}

/**
 * table[k] = the byte offset of tap k = (c, kh, kw) in an image's phase planes, relative to the
 * output pixel's own offset (see the file comment).
 */
function fillTable(table: usize, Cg: i32, KH: i32, KW: i32, SW: i32, DH: i32, DW: i32, Hp: i32, Wq: i32): void {
  const plane = Hp * Wq;
  let t = table;
  for (let c = 0; c < Cg; c++) {
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const q = kw * DW;
        // Bytes within one image's planes, under 4 GiB: exact in u32.
        store<u32>(t, <u32>(((c * SW + q % SW) * plane + kh * DH * Wq + q / SW) << 2));
        t += 4;
      }
    }
  }
}

/** The floats of phase planes and dYᵀ one chunk of images of the weight gradient may hold: 256 KB. */
const WEIGHT_GRAD_CHUNK_FLOATS = 64 * 1024;

/**
 * Images per chunk of stridedWeightGrad: as many as WEIGHT_GRAD_CHUNK_FLOATS of phase planes hold
 * (planeFloats an image). Not counting dYᵀ, whose size follows the output channels: a range of
 * them (the split over threads) must sum its pixels in the whole's chunks to get the whole's bits.
 */
function weightGradImages(N: i32, planeFloats: f64): i32 {
  return <i32>max(1, min(<f64>N, Math.floor(<f64>WEIGHT_GRAD_CHUNK_FLOATS / planeFloats)));
}

/** Floats of one image's phase planes, in f64. */
function weightGradPlaneFloats(C: i32, KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32, OH: i32, OW: i32): f64 {
  return <f64>C * <f64>SW * <f64>paddedRows(KH, SH, DH, OH) * <f64>phaseColumns(KW, SW, DW, OW);
}

/** Floats of one image's phase planes and dYᵀ (stridedWeightGrad's chunk), in f64. */
function weightGradImageFloats(C: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32): f64 {
  const Og8 = ((O / G) + 7) & ~7;
  return weightGradPlaneFloats(C, KH, KW, SH, SW, DH, DW, OH, OW) + <f64>OH * <f64>OW * <f64>Og8;
}

/** Floats of scratch stridedWeightGrad needs, in f64 (see there). */
export function stridedWeightGradScratchFloats(N: i32, C: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32): f64 {
  const K4 = <f64>(((C / G) * KH * KW + 3) & ~3), Og8 = <f64>(((O / G) + 7) & ~7);
  const image = weightGradImageFloats(C, O, KH, KW, SH, SW, DH, DW, G, OH, OW);
  return K4 + 4 + <f64>G * K4 * Og8 + <f64>weightGradImages(N, weightGradPlaneFloats(C, KH, KW, SH, SW, DH, DW, OH, OW)) * image;
}

/**
 * dw += ∂L/∂w for a shape stridedApplies accepts, as the implicit GEMM
 *   dWᵀ[K × Og] += Σ_n cols(x[n]) · dY[n]ᵀ     [K, Og] = [K, OH·OW]·[OH·OW, Og]
 * whose A is read through the tap table from the phase planes (4 taps broadcast a pixel) and
 * whose B is dY's planes transposed, in blocks of 8 output channels ([Og8 / 8] × [pixel × 8],
 * Og rounded up to 8 with zero columns; a block's rows contiguous, where rows of Og8 floats put
 * each pixel's 8 on a cache line of its own: ×1.00–1.02 relaxed, ×1.01–1.03 plain):
 * f32-gemm-4x8 over the pixels of a chunk of images (gemm4x8Pixels; f32-gemm-2x16 on blocks of
 * 16 channels where weightGradWide applies), so neither the im2col matrix nor its transpose is made. dWᵀ (K rounded up to 4, the extra taps reading the planes'
 * first floats and ignored) is added to dw at the end.
 * Scratch: the table (K4 i32), dWᵀ of every group, then a chunk's phase planes and dYᵀ.
 */
export function stridedWeightGrad(
  x: usize, dy: usize, dw: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, scratch: usize,
): void {
  const Cg = C / G, Og = O / G, K = Cg * KH * KW, K4 = (K + 3) & ~3, Og8 = (Og + 7) & ~7, P = OH * OW;
  const Hp = paddedRows(KH, SH, DH, OH), Wq = phaseColumns(KW, SW, DW, OW), plane = Hp * Wq;
  const planeFloats = C * SW * plane, nb = weightGradImages(N, <f64>planeFloats);
  const table = scratch;
  const dwT = scratch + ((<usize>K4 << 2) + 15 & ~15);
  const planes = dwT + (<usize>G * K4 * Og8 << 2);
  const dyT = planes + (<usize>nb * planeFloats << 2);
  memory.fill(table, 0, <usize>K4 << 2);
  fillTable(table, Cg, KH, KW, SW, DH, DW, Hp, Wq);
  memory.fill(dwT, 0, <usize>G * K4 * Og8 << 2);
  // The columns of dYᵀ past Og stay zero: the transposes write the first Og of each row.
  memory.fill(dyT, 0, <usize>nb * P * Og8 << 2);
  const image = <usize>planeFloats << 2, rowStep = <usize>(SH * Wq) << 2, bs = <usize>Og8 << 2;
  // Plain SIMD keeps the 4×8 tiles: ×0.98 there (mul and add, 3 ops a tile row per pixel).
  const wide = ASC_FEATURE_RELAXED_SIMD && Og % 16 == 0;
  for (let n0 = 0; n0 < N; n0 += nb) {
    const nn = min(nb, N - n0);
    for (let n = 0; n < nn; n++) {
      splitPhases(x + (<usize>(n0 + n) * C * H * W << 2), C, H, W, SW, PH, PW, Hp, Wq, planes + <usize>n * image);
    }
    for (let g = 0; g < G; g++) {
      if (wide) {
        weightGradWide(dy, dyT, dwT, planes, table, n0, nn, g, O, Og, Cg, K, Og8, P, OH, OW, SW, plane, image, rowStep);
        continue;
      }
      // dYᵀ in blocks of 8 output channels, each [nn·P × 8]: a GEMM's B rows one after the other.
      for (let n = 0; n < nn; n++) {
        for (let o = 0; o < Og; o += 8) {
          transposeFloats(dy + (<usize>((n0 + n) * O + g * Og + o) * P << 2), P, min(8, Og - o), P, dyT + (<usize>(o * nn + n * 8) * P << 2), 8);
        }
      }
      const xg = planes + (<usize>(g * Cg * SW) * plane << 2), dwg = dwT + (<usize>(g * K4) * Og8 << 2);
      for (let k = 0; k < K4; k += 4) {
        const t = table + (<usize>k << 2);
        const a0 = xg + <usize>load<u32>(t), a1 = xg + <usize>load<u32>(t, 4);
        const a2 = xg + <usize>load<u32>(t, 8), a3 = xg + <usize>load<u32>(t, 12);
        for (let o = 0; o < Og8; o += 8) {
          gemm4x8Pixels(nn, OH, OW, image, rowStep, 4, a0, a1, a2, a3, dyT + (<usize>(o * nn * P) << 2), 32, dwg + ((<usize>k * Og8 + o) << 2), bs);
        }
      }
    }
  }
  for (let g = 0; g < G; g++) {
    const dwg = dwT + (<usize>(g * K4) * Og8 << 2);
    for (let o = 0; o < Og; o++) {
      const row = dw + (<usize>(g * Og + o) * K << 2);
      for (let k = 0; k < K; k++) {
        const p = row + (<usize>k << 2);
        store<f32>(p, load<f32>(p) + load<f32>(dwg + ((<usize>k * Og8 + o) << 2)));
      }
    }
  }
}

/**
 * One chunk's weight gradient of group g in 2-tap × 16-channel tiles (f32-gemm-2x16 over the
 * pixels, gemm2x16Pixels), Og a multiple of 16: dYᵀ in blocks of 16 output channels, each
 * [nn·P × 16]. dWᵀ [K4 × Og8] as stridedWeightGrad's (Og8 = Og); K rounded up to 2, the extra
 * tap read through the table's zero entry and not added to dw.
 */
function weightGradWide(
  dy: usize, dyT: usize, dwT: usize, planes: usize, table: usize, n0: i32, nn: i32, g: i32,
  O: i32, Og: i32, Cg: i32, K: i32, Og8: i32, P: i32, OH: i32, OW: i32, SW: i32, plane: i32, image: usize, rowStep: usize,
): void {
  for (let n = 0; n < nn; n++) {
    for (let o = 0; o < Og; o += 16) {
      transposeFloats(dy + (<usize>((n0 + n) * O + g * Og + o) * P << 2), P, 16, P, dyT + (<usize>(o * nn + n * 16) * P << 2), 16);
    }
  }
  const xg = planes + (<usize>(g * Cg * SW) * plane << 2), dwg = dwT + (<usize>(g * ((K + 3) & ~3)) * Og8 << 2);
  const cs = <usize>Og8 << 2;
  for (let k = 0; k < K; k += 2) {
    const t = table + (<usize>k << 2);
    const a0 = xg + <usize>load<u32>(t), a1 = xg + <usize>load<u32>(t, 4);
    for (let o = 0; o < Og; o += 16) {
      gemm2x16Pixels(nn, OH, OW, image, rowStep, 4, a0, a1, dyT + (<usize>(o * nn * P) << 2), dwg + ((<usize>k * Og8 + o) << 2), cs);
    }
  }
}
