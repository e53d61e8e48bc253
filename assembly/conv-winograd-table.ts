// Which Winograd tile, if any, runs a 3×3 or 5×5 stride-1 convolution: the table conv2dAlgorithm
// reads (a pure function of the shape and the build), and the dispatch to the chosen tile's kernels
// (F(2×2,3×3) in conv-winograd.ts, F(4×4,3×3) in conv-winograd-f4.ts, F(2×2,5×5) in
// conv-winograd-f2x2-5x5.ts, F(4×4,5×5) in conv-winograd-f4x4-5x5.ts), and which tile, if any, runs the weight gradient
// (conv-winograd-dw.ts, conv-winograd-dw-f4.ts: 3×3 by 2×2 or 4×4 tiles, 5×5 by 2×2;
// conv-winograd-dw-f4x4-5x5.ts: 5×5 by 4×4).
import {
  winogradScratchFloats, winogradWeightsFloats, winogradForwardWeights, winogradForwardPass,
  winogradInputGradWeights, winogradInputGradPass, TILE_CHUNK as F2X2_CHUNK,
} from "./conv-winograd";
import {
  winogradF4x4ScratchFloats, winogradF4x4WeightsFloats, winogradF4x4ForwardWeights,
  winogradF4x4ForwardPass, winogradF4x4InputGradWeights, winogradF4x4InputGradPass, tileChunk as alpha6Chunk,
} from "./conv-winograd-f4";
import {
  winogradF2x2K5ScratchFloats, winogradF2x2K5WeightsFloats, winogradF2x2K5ForwardWeights,
  winogradF2x2K5ForwardPass, winogradF2x2K5InputGradWeights, winogradF2x2K5InputGradPass,
} from "./conv-winograd-f2x2-5x5";
import {
  winogradF4x4K5ScratchFloats, winogradF4x4K5WeightsFloats, winogradF4x4K5ForwardWeights,
  winogradF4x4K5ForwardPass, winogradF4x4K5InputGradWeights, winogradF4x4K5InputGradPass, TILE_CHUNK as F4X4_K5_CHUNK,
} from "./conv-winograd-f4x4-5x5";
import { winogradWeightGradScratchFloats, winogradWeightGrad } from "./conv-winograd-dw";
import { winogradF4x4K5WeightGradScratchFloats, winogradF4x4K5WeightGrad } from "./conv-winograd-dw-f4x4-5x5";
import { winogradF4x4WeightGradScratchFloats, winogradF4x4WeightGrad, winogradF2x2K5WeightGradScratchFloats, winogradF2x2K5WeightGrad } from "./conv-winograd-dw-f4";

/** winogradTile's answer for F(2×2,5×5) (its output tile is 2×2 as F(2×2,3×3)'s; 5 names the kernel). */
export const WINOGRAD_TILE_5X5: i32 = 5;
/** winogradTile's answer for F(4×4,5×5). */
export const WINOGRAD_TILE_5X5_F4: i32 = 9;

/** Whether Winograd F(m×m,3×3) can compute this convolution at all (not whether it is chosen; 5×5: winogradTile). */
export function winogradApplies(KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32, G: i32): bool {
  return G == 1 && KH == 3 && KW == 3 && SH == 1 && SW == 1 && DH == 1 && DW == 1;
}

/**
 * The output tile m of the Winograd F(m×m,3×3) that conv2dForward/conv2dBackward run for this
 * shape's forward and input gradient (N: the batch, which only the 5×5 part reads),
 * WINOGRAD_TILE_5X5 for F(2×2,5×5) (see winograd5x5Chosen), WINOGRAD_TILE_5X5_F4 for F(4×4,5×5)
 * (winograd5x5F4Chosen),
 * or 0 for the direct path: the 3×3 table filled from the
 * harness's shape zoo (`npm run bench -- --zoo`), which times the direct path and both tiles on
 * every 3×3 stride-1 shape in the same run (see the measurements below). A pure function of the
 * shape and the build.
 */
export function winogradTile(N: i32, C: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32): i32 {
  if (KH == 5 && KW == 5 && SH == 1 && SW == 1 && DH == 1 && DW == 1 && G == 1) {
    if (winograd5x5F4Chosen(N, C, O, OH, OW)) return WINOGRAD_TILE_5X5_F4;
    return winograd5x5Chosen(N, C, O, OH, OW) ? WINOGRAD_TILE_5X5 : 0;
  }
  if (!winogradApplies(KH, KW, SH, SW, DH, DW, G)) return 0;
  if (C < WINOGRAD_MIN_CHANNELS || O < WINOGRAD_MIN_CHANNELS) return 0;
  const minSize = C < WINOGRAD_WIDE_CHANNELS || O < WINOGRAD_WIDE_CHANNELS ? WINOGRAD_NARROW_MIN_SIZE : WINOGRAD_MIN_SIZE;
  if (OH < minSize || OW < minSize) return 0;
  return f4x4Pays(OH, OW) ? 4 : 2;
}

// The table, from `npm run bench -- --zoo --quick --only simdnet --zoo-nets
// vgg-cifar,seed003-cifar,resnet20 --zoo-batches 16` on a build with the table off (its rows time the
// direct path through Conv2d and the Winograd kernels in the same run), 2-core Xeon shared with
// other work (peak loop 53.8 GFLOP/s relaxed, 27.3 plain, against 62 / 45 quiet): direct ms ÷
// Winograd ms, forward | input gradient, padding 1, batch 16:
//                     relaxed SIMD    plain SIMD
//   3→32   @32²       0.95 | 0.52     0.73 | 1.11
//   3→64   @32²       0.71 | 0.49     1.52 | 1.78
//   16→16  @32²       1.12 | 1.15     1.43 | 0.97
//   32→32  @32²       2.08 | 1.12     1.65 | 2.79
//   32→32  @16²       2.31 | 1.88     2.46 | 1.25
//   32→64  @16²       0.99 | 2.02     1.20 | 1.02
//   64→64  @16²       1.81 | 1.47     1.34 | 2.72
//   64→64  @8²        2.61 | 2.01     3.98 | 2.12
//   64→128 @32²       2.02 | 2.49     2.17 | 2.12
//   64→128 @8²        1.59 | 2.68     1.83 | 1.62
//   128→128 @16²      2.04 | 3.17     2.70 | 2.48
//   128→256 @8²       1.98 | 1.82     2.29 | 1.82
// Few input channels leave the 16 GEMMs too short to pay for the transforms; 16 channels were about
// even for F(2×2) in this run, but F(4×4) wins on them (below). Both builds choose alike; the
// threshold is per build so that a later measurement can split them.
//
// 16 to 31 channels (ResNet-20's first stage, 16→16 at 32×32, is about 40% of its training step):
// the raw kernels timed alternately in one process (conv2dForward's direct path, whose table sends
// these shapes nowhere else, against both tiles; the direct dx as conv2dBackward's time with dx
// less its time without), median of 7, padding 1, a 2-core EPYC with another test suite running
// (peak loop 55.9 GFLOP/s relaxed in the harness run of the same hour). Direct ms ÷ Winograd ms,
// forward | dx:
//                        relaxed: F(4×4)   F(2×2)       plain: F(4×4)   F(2×2)
//   16→16 @32², batch 64   1.47 | 1.52   1.25 | 1.30      1.61 | 1.55   1.37 | 1.24
//   16→32 @32², batch 64   1.71 | 1.86   1.35 | 1.48      2.06 | 1.93   1.61 | 1.48
//   32→16 @32², batch 64   1.91 | 1.79   1.56 | 1.64      2.13 | 2.13   1.69 | 1.69
//   16→16 @16², batch 64   1.52 | 1.95   1.33 | 1.72      1.97 | 1.97   1.62 | 1.56
//   16→16 @16², batch 16   1.43 | 1.69   1.26 | 1.45      –              –
//   24→24 @16², batch 16   2.00 | 1.87   1.71 | 1.52      –              –
//   16→16 @8²,  batch 64   0.67 | 0.74   1.19 | 1.15      0.88 | 0.93   1.27 | 1.22
//   16→16 @8²,  batch 16   0.69 | 0.84   1.13 | 1.43      –              –
//   16→16 @4²,  batch 16   0.61 | 0.71   0.57 | 0.71      –              –
//   8→8   @32², batch 64   0.97 | 0.93   0.90 | 0.86      1.37 | 1.34   1.19 | 1.15
// So from 16 channels each way: F(4×4) from 16×16, F(2×2) from 8×8 (direct on 4×4 while a side
// has fewer than 32); 8 channels stay direct.
const WINOGRAD_MIN_CHANNELS: i32 = ASC_FEATURE_RELAXED_SIMD ? 16 : 16;
/** From this many channels each way F(2×2) wins from outputs of WINOGRAD_MIN_SIZE; below, from WINOGRAD_NARROW_MIN_SIZE. */
const WINOGRAD_WIDE_CHANNELS: i32 = 32;
const WINOGRAD_MIN_SIZE: i32 = 4;
const WINOGRAD_NARROW_MIN_SIZE: i32 = 8;

// F(4×4,3×3) against F(2×2,3×3) and the direct path, from `npm run bench -- --zoo --quick --only
// simdnet --zoo-nets vgg-cifar,seed003-cifar,resnet20 --zoo-batches 16` (and --plain-simd) on a
// build with the table off, then the raw kernels of both tiles timed alternately, best of 7, on a
// 2-core Xeon heavily shared (peak loop 20.2 GFLOP/s relaxed, 16.5 plain, against 62 / 45 quiet,
// so single ratios are noisy). Padding 1, batch 16 unless said:
//                    direct ÷ F(4×4), fwd | dX (zoo)    F(2×2) ms ÷ F(4×4) ms, fwd | dX (alternating)
//                    relaxed       plain                relaxed (two runs)        plain
//   16→16  @32²      1.02 | 1.76   2.18 | 1.44          –                         –
//   32→32  @32²      1.77 | 1.24   1.27 | 1.77          3.13 | 1.14, 2.19 | 3.09   3.04 | 1.13
//     batch 64       –             –                    1.12 | 1.16               –
//   32→64  @16²      7.10 | 8.11   1.19 | 2.41          1.15 | 1.16, 1.10 | 1.11   1.27 | 2.81
//   32→32  @16²      6.70 | 2.39   5.82 | –             1.14 | 1.18, 1.13 | 1.20   1.24 | 1.19
//   64→64  @16²      2.31 | 1.02   1.72 | 6.00          2.56 | 3.08, 1.15 | 0.47   1.18 | 0.79
//   64→128 @32²      2.37 | 2.87   2.80 | 2.02          1.43 | 1.35, –            1.84 | 1.64
//   128→128 @16²     1.66 | 2.06   2.50 | 3.12          1.62 | 1.61, 1.33 | 1.11   1.25 | 1.27
//   128→128 @12²     –             –                    1.11 | 0.98               –
//   64→64  @8²       1.22 | 1.46   3.90 | 3.34          0.70 | 0.72, 0.70 | 0.70   0.79 | 0.75
//   64→128 @8²       1.53 | 1.75   1.15 | 1.68          0.73 | 0.32, 0.78 | 0.71   0.34 | 0.72
//   128→256 @8²      2.79 | 0.42   1.88 | 1.45          0.67 | 1.07               0.89 | 0.77
//   256→256 @4²      –             –                    0.51 | 0.48               0.49 | 0.51
//   ("–": not measured, or the dX difference came out at zero or below)
// The zoo's ratios swing with the load (3→32 @32²: 0.24 and 3.17 in the two builds); the
// alternating ones are steadier: there F(4×4) won 32 of 34 comparisons on outputs of 16×16 and
// more, and lost 19 of 20 on 8×8 and less — where its transforms then gathered every tile lane by
// lane (a tile row of fewer than four tiles).
//
// Since they take four tiles a vector wherever the tiles lie, small planes follow the multiplies.
// F(4×4) executes 36·⌈OH/4⌉·⌈OW/4⌉ products per channel pair, F(2×2) 16·⌈OH/2⌉·⌈OW/2⌉; their ratio
// is 0.56 on 4×4, 7×7, 8×8, 11×11 and 12×12 outputs, 0.73 on 13×13 and 14×14, 0.81 on 9×9 and
// 10×10, 1.0 on 5×5 and 6×6. The raw kernels alternately, median of 7–9, padding 1, a 2-core EPYC
// with two test suites running (load 3–4); F(2×2) ms ÷ F(4×4) ms, forward | dx, batch 16 / 64:
//                    relaxed                                 plain
//   64→64   @8²      1.41 | 6.8*, 1.29 | 1.48                1.05 | 1.34, 1.45 | 1.46
//   64→128  @8²      1.42 | 1.43, 1.39 | 1.48                –
//   128→256 @8²      1.24 | 1.54, 1.52 | 1.72                1.40 | 1.49, 1.63 | 1.52
//   16→16   @8²      1.25 | 1.25, 1.33 | 1.32                1.29 | 1.48, 1.33 | 1.43
//   128→128 @4²      1.16 | 1.20, 2.02 | 1.82                1.28 | 1.27, 1.55 | 1.58
//   256→256 @4²      0.96 | 1.05, 1.48 | 1.48                –
//   64→64   @7²      1.35 | 1.35, 1.49 | 1.45                –
//   64→64   @12²     2.11 | 1.96, 1.56 | 1.23                2.74 | 1.70, 1.75 | 2.29
//   64→64   @13²     1.21 | 1.21, 1.29 | 1.32                1.20 | 1.28, 1.51 | 1.30
//   64→64   @9²      1.05 | 1.08, 1.06 | 1.12                –
//   64→64   @10²     1.02 | 1.03, 1.06 | 1.09                1.04 | 1.11, 1.05 | 1.12
//   32→32   @10²     0.93 | 0.96, 0.97 | 0.95                –
//   64→64   @6²      0.89 | 0.89, 1.17 | 0.96                0.90 | 0.90, 0.92 | 0.94
//   128→128 @6²      0.88 | 0.88, 0.94 | 0.94                –
//   64→64   @5²      0.72 | 0.91, 0.96 | 0.96                –
//   (* F(2×2)'s dx disturbed in that sample)
// So F(4×4) where it executes at most ¾ of F(2×2)'s products: on 9×9 and 10×10 the two are even
// (F(2×2) keeps them, the better accuracy), on 5×5 and 6×6 F(2×2) wins.
/** Whether F(4×4,3×3) runs an OH×OW output rather than F(2×2,3×3): 36·t4 ≤ ¾ · 16·t2, t the tiles. */
function f4x4Pays(OH: i32, OW: i32): bool {
  const t4 = <i64>((OH + 3) >> 2) * <i64>((OW + 3) >> 2), t2 = <i64>((OH + 1) >> 1) * <i64>((OW + 1) >> 1);
  return 3 * t4 <= t2;
}

/**
 * The output tile m (2 or 4) of the Winograd by which conv2dBackward computes the weight gradient
 * (conv-winograd-dw.ts for 2×2 tiles, conv-winograd-dw-f4.ts for 4×4) of a shape whose forward
 * runs F(tile×tile,3×3) (tile ≠ 0), WINOGRAD_TILE_5X5 for F(5×5,2×2) (conv-winograd-dw-f4.ts's
 * winogradF2x2K5WeightGrad) and WINOGRAD_TILE_5X5_F4 for F(5×5,4×4) (winogradF4x4K5WeightGrad)
 * where it runs F(2×2,5×5) or F(4×4,5×5), or 0 for the direct flat path. Not necessarily the
 * forward's tile. A pure function of the shape and the build.
 */
export function winogradWeightGradTile(tile: i32, N: i32, C: i32, OH: i32, OW: i32): i32 {
  // 5×5: F(5×5,2×2) wherever the forward runs F(2×2,5×5) (measurements below winograd5x5Chosen);
  // where it runs F(4×4,5×5), F(5×5,4×4) from 128 tiles of 4×4 in the batch, else F(5×5,2×2), or
  // direct on 3-channel inputs (measurements below winograd5x5F4Chosen).
  if (tile == WINOGRAD_TILE_5X5) return WINOGRAD_TILE_5X5;
  if (tile == WINOGRAD_TILE_5X5_F4) {
    const tiles4 = <f64>N * <f64>((OH + 3) >> 2) * <f64>((OW + 3) >> 2);
    if (tiles4 >= WINOGRAD_5X5_DW_F4_MIN_TILES) return WINOGRAD_TILE_5X5_F4;
    return C >= WINOGRAD_5X5_MIN_CHANNELS ? WINOGRAD_TILE_5X5 : 0;
  }
  if (tile != 2 && tile != 4) return 0;
  const tiles4 = <f64>N * <f64>((OH + 3) >> 2) * <f64>((OW + 3) >> 2), outputs = <f64>N * <f64>OH * <f64>OW;
  // Outputs over the positions the 4×4 tiles compute: below 60% (6×6 and 9×9 planes: 56%; 5×5: 39%) they waste too much.
  const covered = 5 * outputs >= 3 * 16 * tiles4;
  if (covered && outputs >= WINOGRAD_DW_F4_MIN_OUTPUTS) return 4;
  return outputs >= WINOGRAD_DW_F2_MIN_OUTPUTS ? 2 : 0;
}

// The weight gradient: the direct flat path's ms ÷ Winograd's, 2×2 tiles (winogradWeightGrad as it
// was, its GEMMs on gemm.ts) | 4×4 tiles (winogradF4x4WeightGrad), the raw kernels and
// conv2dBackward's flat path (dx and db off, on a build whose table sent no dW to Winograd) timed
// alternately in one process, median of 7, padding 1; a 2-core EPYC with other
// builds and tests running (load average 6–10), so single ratios swing by ±20% and more at under a
// millisecond:
//                              relaxed SIMD                  plain SIMD
//                         batch 16      batch 64        batch 16      batch 64
//   16→16  @32²          0.67 | 1.60   0.69 | 1.42     1.19 | 0.83   0.72 | 1.17
//     again              0.88 | 5.15   0.56 | 1.01     0.30 | 1.73   0.84 | 1.20
//   32→32  @16²          0.89 | 1.62   0.94 | 2.68     1.32 | 2.02   0.94 | 2.44
//   64→64  @8²           1.03 | 1.15   1.15 | 1.23     1.08 | 1.32   1.04 | 1.55
//   32→32  @32²          0.81 | 2.32   1.18 | 2.51     1.56 | 2.99   1.53 | 2.08
//   32→64  @16²          1.21 | 2.44   0.64 | 2.22     0.68 | 1.04   1.59 | 2.68
//   64→64  @16²          1.27 | 2.45   1.08 | 2.38     1.09 | 2.26   1.45 | 3.06
//   64→128 @8²           1.32 | 1.67   1.45 | 2.52     1.50 | 2.28   1.35 | 1.92
//   64→128 @32²          1.35 | 2.63   1.38 | 3.45     1.43 | 2.55   1.20 | 2.93
//   128→128 @16²         1.37 | 1.95   1.23 | 2.53     1.56 | 2.12   1.52 | 2.84
//   128→256 @8²          1.57 | 1.41   1.87 | 1.89     1.57 | 1.40   1.70 | 2.08
//   16→16  @8²           0.72 | 0.83   0.68 | 0.86     0.85 | 0.98   0.89 | 1.02
//   32→32  @7²           0.41 | 0.78   0.25 | 1.17     0.49 | 0.98   0.14 | 1.05
//   64→64  @5²           0.67 | 0.18   1.04 | 1.21     0.16 | 0.60   0.58 | 1.31
//   32→32  @4²           0.53 | 0.78   0.54 | 1.23     0.62 | 0.92   0.62 | 1.52
//   128→128 @4²          1.91 | 0.52   1.04 | 1.61     2.86 | 0.87   1.14 | 1.50
//   256→256 @4²          1.18 | 0.61   1.88 | 1.72     1.45 | 0.83   1.55 | 1.56
// Then the 2×2 tiles' GEMMs moved to the 4×4 tiles' in-place panels (conv-winograd-dw.ts), 1.1–1.5×
// faster on most shapes, 2.8–3.1× at 128→128 @4², batch 16, where gemm.ts packed a short K; the 2×2
// tiles' ms ÷ the 4×4 tiles' with ≥ 128 channels each way, same conditions, relaxed | plain:
//   batch 16: 128→128 @16² 1.35 | 1.27, @8² 0.94 | 1.08, @4² 0.16 | 0.17; 256→256 @4² 0.35 | 0.58;
//             128→256 @8² 0.76 | 0.90
//   batch 64: 128→128 @16² 1.45 | 1.48, @8² 1.05 | 1.04, @4² 0.51 | 0.82; 256→256 @4² 0.92 | 0.90;
//             128→256 @8² 1.20 | 1.20
// 4×4 tiles won wherever there were enough of them for the channels, 1.0–3.5× over direct: from 64
// tiles of 4×4 (batch 16 of 8×8 planes) with 64 to 127 channels each way, from 256 with more (where
// 2×2 tiles, 4× as many, won below), and from 256 × 32 / channels narrower (16 channels: 512 tiles,
// batch 8 of 32×32). Narrower shapes with fewer tiles stayed direct (16→16 @8², 32→32 @7² and 4² at
// batch 16, 32→32 @4² at batch 64), and so did 5×5 planes (4×4 tiles compute 64 positions for 25
// outputs) below 128 channels. Both builds alike.
//
// Checked again on 8×8 planes after the F(4×4,3×3) transforms were reworked (conv-winograd-f4.ts;
// the weight gradient shares its input transform) and the 4×4 tiles' back-transform of Z read Z
// along its rows (conv-winograd-dw-f4.ts): the raw kernels alternately, median of 15, on a 2-core
// machine loaded by three other test suites (load average 6), relaxed; direct ms ÷ 4×4 ms | 2×2 ms
// ÷ 4×4 ms, and the GEMM FLOPs each executes as % of the FMA peak loop of the same run, 4×4 | 2×2:
//   64→128 @8²    batch 16  1.48 | 0.96  31% | 57%     batch 64  2.01 | 1.19  35% | 68%
//   64→64  @8²    batch 16  1.37 | 0.95  29% | 51%     batch 64  1.61 | 1.04  36% | 60%
//   128→256 @8²   batch 16  1.53 | 1.06  36% | 60%     batch 64  2.21 | 1.39  49% | 64%
// (the run before, without the back-transform's change: 1.43 | 1.21, 1.72 | 1.02, 1.01 | 1.07,
// 1.28 | 1.08, 1.32 | 0.97, 1.98 | 1.24).
//
// Those small planes' measurements were taken while the input transform still gathered their tiles
// lane by lane (planes of fewer than four tiles a row; conv-winograd-f4.ts now takes four tiles a
// vector wherever they lie). Measured again after, the raw kernels alternately, median of 11,
// padding 1, relaxed, on the 2-core EPYC with nothing else of ours running (load 0.2): direct ms ÷
// 4×4 ms | 2×2 ms ÷ 4×4 ms, by the number of 4×4 tiles in the batch:
//   4 tiles      64→64 @8² b1 0.25 | 0.53, 128→128 @8² b1 0.27 | 0.56
//   16 tiles     32→32 @4² b16 1.11 | 1.04, 64→64 @4² b16 1.08 | 0.94, 128→128 @4² b16 0.81 | 0.72,
//                256→256 @4² b16 0.90 | 0.82, 16→16 @16² b1 1.00 | 1.00, 32→32 @16² b1 0.68 | 0.74,
//                64→64 @16² b1 0.71 | 0.70, 128→128 @16² b1 0.70 | 0.73, 64→64 @8² b4 0.71 | 0.70,
//                128→128 @8² b4 0.74 | 0.72
//   32 tiles     16→16 @16² b2 1.46 | 1.33, 32→32 @16² b2 1.08 | 0.97
//   64 tiles     16→16 @8² b16 1.44 | 1.32, 32→32 @8² b16 1.48 | 1.22, 64→64 @8² b16 1.80 | 1.32,
//                128→128 @8² b16 1.63 | 1.18, 128→256 @8² b16 1.72 | 1.18, 32→32 @4² b64 1.96 | 1.42,
//                64→64 @4² b64 1.98 | 1.36, 128→128 @4² b64 1.88 | 1.28, 256→256 @4² b64 2.03 | 1.24,
//                16→16 @32² b1 1.74 | 1.55, 32→32 @32² b1 1.53 | 1.20, 16→16 @16² b4 1.76 | 1.57,
//                32→32 @16² b4 1.56 | 1.27, 64→64 @16² b4 1.64 | 1.16, 128→128 @16² b4 1.64 | 1.17
//   128–256 t.   16→16 @32² b2, b4 1.92, 2.05 | 1.68, 1.76; 32→32 @32² b2, b4 1.89, 2.17 | 1.40, 1.57;
//                16→16 @8² b64 1.81 | 1.55, 32→32 @8² b64 1.99 | 1.47, 64→64 @8² b64 2.18 | 1.43,
//                128→128 @8² b64 2.38 | 1.38, 128→256 @8² b64 2.42 | 1.43
// Plain SIMD alike: 16→16 @8² b16 1.80 | 1.40, 32→32 @8² b16 1.72 | 1.22, 128→128 @8² b16 1.98 | 1.20,
// 16→16 @32² b1, b2, b4 1.85, 2.03, 2.14 | 1.55, 1.70, 1.74, 32→32 @16² b4 1.75 | 1.27 (64 tiles and
// more); 128→128 @4² b16 0.96 | 0.78, 32→32 @16² b1 0.79 | 0.78 (16 tiles), b2 1.25 | 1.01 (32).
// So 4×4 tiles from 64 of them at every width (their GEMMs' K, the tiles of a chunk, is then long
// enough for all 36 planes of Z), whatever the channels; with fewer, 2×2 tiles from 128 channels
// each way (1.1× direct at 128 and 256 on 4×4 planes, about even elsewhere), else direct.
//
// Then the back-transform of Z (a fixed cost per channel pair, most of a small batch's weight
// gradient) ran two output channels a lane pair in f64x2 (conv-winograd-dw.ts, -dw-f4.ts): 1.4–1.9×
// faster at batch 1–4. Measured again as above (median of 11, load 0.2), direct ms ÷ 4×4 ms | 2×2 ms
// ÷ 4×4 ms, relaxed; plain alike:
//   4 tiles      32→32 @8² b1 0.44 | 0.57, 64→64 0.44 | 0.55, 128→128 0.46 | 0.53 (direct wins;
//                2×2 tiles, 16 of them, 0.75–0.84× direct)
//   8 tiles      @8² b2: 16→16 0.92 | 0.85, 32→32 0.65 | 0.67, 64→64 0.66 | 0.63, 128→128 0.68 |
//                0.59 (2×2 tiles, 32, 0.97–1.16× direct; plain 1.08–1.27×); 256→256 @4² b8 (32
//                2×2 tiles) 0.87 | 0.62: 2×2 1.40× direct
//   16 tiles     @8² b4: 16→16 1.23 | 1.09, 32→32 0.99 | 0.85, 64→64 1.04 | 0.80, 128→128 1.09 | 0.75
//                (2×2 tiles, 64, 1.17–1.44× direct); @16² b1: 16→16 1.30 | 1.17, 32→32 1.02 | 0.87;
//                256→256 @4² b4 (16 2×2 tiles) 0.57 | 0.51: 2×2 1.14× direct, 1.20× plain
//   32 tiles     @8² b8: 16→16 1.50 | 1.30, 32→32 1.42 | 1.08, 64→64 1.52 | 1.05, 128→128 1.63 | 1.02;
//                @16² b2: 16→16 1.63 | 1.44, 32→32 1.46 | 1.12
//   64–512 t.    1.90–2.40 | 1.44–1.85
// Planes whose tiles hang over their edge waste part of each tile, so the rule counts outputs, not
// tiles: direct ms ÷ 4×4 ms | 2×2 ms ÷ 4×4 ms, relaxed, same run, by outputs N·OH·OW:
//   7×7    b2 (98) 0.54 | 0.62 (direct 1.14× 2×2), b4 (196) 0.83 | 0.79 (2×2 1.05× direct),
//          b8 (392) 1.19 | 1.04; 256→256 @7² b4 0.94 | 0.79, b8 1.34 | 1.06
//   5×5    64→64 b4 (100) 0.50 | 0.61 (direct 1.21× 2×2), b8 (200) 0.70 | 0.72 (direct 1.03×)
//   6×6    128→128 b2 (72) 0.45 | 0.50 (direct 1.12× 2×2), b4 (144) 0.66 | 0.57 (2×2 1.16×),
//          b8 (288) 0.95 | 0.67 (2×2 1.41×, 4×4 0.95×)
//   13×13  64→64 b1 (169) 0.74 | 0.72, b2 (338) 1.08 | 0.92, b4 (676) 1.42 | 1.13; 14×14 alike
// So 4×4 tiles from 512 outputs (32 tiles of a plane that 4×4 tiles fit; 4×4 tiles also need half
// their positions to be outputs), else 2×2 tiles from 128 outputs (32 tiles of a plane that 2×2
// tiles fit), whatever the channels; else direct. 256→256 @4² b4 (64 outputs) stays direct though
// 2×2 tiles measured 1.14× there (1.20× plain): 8×8 planes at 64 outputs lost 0.8×.
//
// Measured again after Z's planes were set a cache line apart (zPlaneStep, conv-winograd-dw-f4.ts):
// the raw kernels (flatBackward with dx and db off, winogradWeightGrad, winogradF4x4WeightGrad)
// alternately in one process, median of 7–9, padding 1, the 2-core EPYC shared with other test
// suites (load 2–7). Direct ms ÷ 4×4 ms | 2×2 ms ÷ 4×4 ms | direct ms ÷ 2×2 ms, relaxed; plain:
//   256 outputs  8×8 b4: 16→16 1.36 | 1.25 | 1.09, 32→32 1.58 | 1.21 | 1.30, 64→64 1.72 | 1.16 | 1.48,
//                128→128 1.85 | 1.11 | 1.66; 16×16 b1: 16→16 1.25 | 1.24, 32→32 1.68 | 1.28,
//                64→64 1.80 | 1.20; 4×4 b16: 128→128 2.11 | 1.17, 256→256 1.71 | 1.04
//                plain: 2×2 ÷ 4×4 0.97–1.23 (8×8 b4), 1.20–1.37 (16×16 b1), 1.09–1.19 (4×4 b16)
//   144–216      8×8 b3 (192) 1.00–1.09 | 1.08–1.16 plain; 14×14 b1 (196) 0.96–1.02 | 0.97–1.03;
//                7×7 b4 (196) 1.13 | 1.26; 12×12 b1 (144) 0.91–0.94 | 0.95–0.97; 10×10 b2 (200)
//                0.87 | 0.94; 6×6 b4, b6 (144, 216) 0.79–0.88 | 0.86–0.89 (2×2 ÷ 4×4)
//   128 outputs  8×8 b2 0.91–1.08 | 0.93–1.06; 4×4 b8 0.83–0.95 | 0.87–0.96 (2×2 ÷ 4×4)
//   6×6 planes   b8 (288) 0.88–0.92 | 0.82–0.94, b16 (576) 0.96 | 0.86: 4×4 tiles, 56% of their
//                positions outputs, lose to 2×2 at every batch; 10×10 (69%) b4, b8 1.08, 1.17 |
//                1.06, 1.18 and 7×7 (77%) b8 1.27 | 1.35 win (2×2 ÷ 4×4)
//   64 outputs   direct ÷ 2×2: 8×8 b1 16→16 0.88 | 0.97, 32→32 0.97 | 1.07, 64→64 1.05 | 1.14,
//                128→128 1.14 | 1.28; 4×4 b4 16→16 0.94 | 1.06, 32→32 1.03 | 1.16, 64→64 1.16 |
//                1.27, 128→128 1.25 | 1.34, 256→256 1.24 | 1.33; 6×6 b2 (72) 1.13 | 1.33;
//                7×7 b2 (98) 1.05 | 1.12; 5×5 b4 (100) 0.97 | 0.96
//   fewer        direct ÷ 2×2: 4×4 b2 (32) 0.92–1.08 | 1.01–1.17, 4×4 b3 (48) 1.13 | 1.21,
//                6×6 b1 (36) 0.84 | 0.93, 7×7 b1 (49) 0.96 | 1.03, 5×5 b2 (50) 0.84 | 0.92
// So 4×4 tiles from 256 outputs (16 tiles of a plane they fit) where at least 60% of their
// positions are outputs (not 6×6 or 9×9 planes: 56%), 2×2 tiles from 64 outputs (16 of their
// tiles), else direct. At 64 outputs 16 channels lose up to 12% (about 10 µs) and 5×5 planes at
// 100 outputs 3–4%; 32 channels and more win 1.03–1.34×.
const WINOGRAD_DW_F4_MIN_OUTPUTS: f64 = 256;
const WINOGRAD_DW_F2_MIN_OUTPUTS: f64 = 64;

/**
 * The tile m (2 or 4) of dy by whose Winograd conv2dBackward computes this convolution's weight
 * gradient (2 for a 5×5's F(5×5,2×2), 4 for its F(5×5,4×4)), else 0 (the lowering
 * conv2dAlgorithm names runs it). A pure function of the shape and the build.
 */
export function conv2dWinogradWeightGrad(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): i32 {
  const dwTile = winogradWeightGradTile(winogradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW), N, C, OH, OW);
  return dwTile == WINOGRAD_TILE_5X5 ? 2 : dwTile == WINOGRAD_TILE_5X5_F4 ? 4 : dwTile;
}

/** Floats of scratch the chosen tile's forward, input gradient and (if chosen) weight gradient need. */
export function winogradTileScratchFloats(tile: i32, N: i32, C: i32, H: i32, W: i32, O: i32, OH: i32, OW: i32): f64 {
  const passes = tile == WINOGRAD_TILE_5X5 ? winogradF2x2K5ScratchFloats(N, C, H, W, O, OH, OW)
    : tile == WINOGRAD_TILE_5X5_F4 ? winogradF4x4K5ScratchFloats(N, C, H, W, O, OH, OW)
    : tile == 4 ? winogradF4x4ScratchFloats(N, C, H, W, O, OH, OW) : winogradScratchFloats(N, C, H, W, O, OH, OW);
  const dwTile = winogradWeightGradTile(tile, N, C, OH, OW);
  if (dwTile == WINOGRAD_TILE_5X5) return max(passes, winogradF2x2K5WeightGradScratchFloats(N, C, O, OH, OW));
  if (dwTile == WINOGRAD_TILE_5X5_F4) return max(passes, winogradF4x4K5WeightGradScratchFloats(N, C, O, OH, OW));
  if (dwTile == 4) return max(passes, winogradF4x4WeightGradScratchFloats(N, C, O, OH, OW));
  return dwTile == 2 ? max(passes, winogradWeightGradScratchFloats(N, C, O, OH, OW)) : passes;
}

/** dw += ∂L/∂w by the Winograd of dwTile×dwTile tiles (winogradWeightGradTile's answer, ≠ 0); scratch: winogradTileScratchFloats's. */
export function winogradTileWeightGrad(
  dwTile: i32, x: usize, dy: usize, dw: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, scratch: usize,
): void {
  if (dwTile == WINOGRAD_TILE_5X5) winogradF2x2K5WeightGrad(x, dy, dw, N, C, H, W, O, PH, PW, OH, OW, scratch);
  else if (dwTile == WINOGRAD_TILE_5X5_F4) winogradF4x4K5WeightGrad(x, dy, dw, N, C, H, W, O, PH, PW, OH, OW, scratch);
  else if (dwTile == 4) winogradF4x4WeightGrad(x, dy, dw, N, C, H, W, O, PH, PW, OH, OW, scratch);
  else winogradWeightGrad(x, dy, dw, N, C, H, W, O, PH, PW, OH, OW, scratch);
}

/**
 * y = act(conv2d(x, w) + b) by the chosen tile F(tile×tile,3×3); act and the answer as
 * conv-winograd.ts's winogradForward's (act 0: none, and the answer 0).
 */
export function winogradTileForward(
  tile: i32, x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, scratch: usize, act: i32,
): i32 {
  // As each tile's own winograd…Forward: the kernels transformed at the start of scratch, the pass after them.
  winogradTileForwardWeights(tile, w, O, C, scratch);
  return winogradTileForwardPass(tile, x, scratch, b, y, N, C, H, W, O, PH, PW, OH, OW, scratch + (<usize>winogradTileWeightsFloats(tile, O, C) << 2), act);
}

/** Floats of the chosen tile's transformed forward kernels of a C → O convolution. */
export function winogradTileWeightsFloats(tile: i32, O: i32, C: i32): i32 {
  if (tile == WINOGRAD_TILE_5X5) return winogradF2x2K5WeightsFloats(O, C);
  if (tile == WINOGRAD_TILE_5X5_F4) return winogradF4x4K5WeightsFloats(O, C);
  return tile == 4 ? winogradF4x4WeightsFloats(O, C) : winogradWeightsFloats(O, C);
}

/** U = the forward kernels w transformed for the chosen tile, winogradTileWeightsFloats floats. */
export function winogradTileForwardWeights(tile: i32, w: usize, O: i32, C: i32, U: usize): void {
  if (tile == WINOGRAD_TILE_5X5) winogradF2x2K5ForwardWeights(w, O, C, U);
  else if (tile == WINOGRAD_TILE_5X5_F4) winogradF4x4K5ForwardWeights(w, O, C, U);
  else if (tile == 4) winogradF4x4ForwardWeights(w, O, C, U);
  else winogradForwardWeights(w, O, C, U);
}

/** winogradTileForward with the kernels transformed already (U); work: the rest of its scratch (after U there). */
export function winogradTileForwardPass(
  tile: i32, x: usize, U: usize, b: usize, y: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, work: usize, act: i32,
): i32 {
  if (tile == WINOGRAD_TILE_5X5) return winogradF2x2K5ForwardPass(x, U, b, y, N, C, H, W, O, PH, PW, OH, OW, work, act);
  if (tile == WINOGRAD_TILE_5X5_F4) return winogradF4x4K5ForwardPass(x, U, b, y, N, C, H, W, O, PH, PW, OH, OW, work, act);
  if (tile == 4) return winogradF4x4ForwardPass(x, U, b, y, N, C, H, W, O, PH, PW, OH, OW, work, act);
  return winogradForwardPass(x, U, b, y, N, C, H, W, O, PH, PW, OH, OW, work, act);
}

/**
 * Output tiles per image of the chosen tile's forward and input gradient, and how many of them
 * their passes take at once (a chunk: the N of their GEMMs): a range of the batch with fewer
 * runs its GEMMs short.
 */
export function winogradTilesPerImage(tile: i32, OH: i32, OW: i32): i32 {
  const m = tile == WINOGRAD_TILE_5X5 ? 2 : tile == WINOGRAD_TILE_5X5_F4 ? 4 : tile;
  return ((OH + m - 1) / m) * ((OW + m - 1) / m);
}

/** winogradTilesPerImage's chunk: the tiles the chosen tile's passes take at once. */
export function winogradTileChunk(tile: i32): i32 {
  if (tile == WINOGRAD_TILE_5X5) return alpha6Chunk(2);
  if (tile == WINOGRAD_TILE_5X5_F4) return F4X4_K5_CHUNK;
  return tile == 4 ? alpha6Chunk(4) : F2X2_CHUNK;
}

/** Floats of the input gradient's kernels for the chosen tile (rotated and transformed: winogradTileInputGradWeights). */
export function winogradTileInputGradWeightsFloats(tile: i32, O: i32, C: i32): i32 { return winogradTileWeightsFloats(tile, C, O); }

/** U = the kernels w rotated and transformed for the chosen tile's input gradient, winogradTileInputGradWeightsFloats floats. */
export function winogradTileInputGradWeights(tile: i32, w: usize, O: i32, C: i32, U: usize): void {
  if (tile == WINOGRAD_TILE_5X5) winogradF2x2K5InputGradWeights(w, O, C, U);
  else if (tile == WINOGRAD_TILE_5X5_F4) winogradF4x4K5InputGradWeights(w, O, C, U);
  else if (tile == 4) winogradF4x4InputGradWeights(w, O, C, U);
  else winogradInputGradWeights(w, O, C, U);
}

/** winogradTileInputGrad with the kernels transformed already (U); work: the rest of its scratch (after U there). */
export function winogradTileInputGradPass(
  tile: i32, U: usize, dy: usize, dx: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, work: usize,
): void {
  if (tile == WINOGRAD_TILE_5X5) winogradF2x2K5InputGradPass(U, dy, dx, N, C, H, W, O, PH, PW, OH, OW, work);
  else if (tile == WINOGRAD_TILE_5X5_F4) winogradF4x4K5InputGradPass(U, dy, dx, N, C, H, W, O, PH, PW, OH, OW, work);
  else if (tile == 4) winogradF4x4InputGradPass(U, dy, dx, N, C, H, W, O, PH, PW, OH, OW, work);
  else winogradInputGradPass(U, dy, dx, N, C, H, W, O, PH, PW, OH, OW, work);
}

/** dx = ∂L/∂x by the chosen tile F(tile×tile,3×3). */
export function winogradTileInputGrad(
  tile: i32, w: usize, dy: usize, dx: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, scratch: usize,
): void {
  // As each tile's own winograd…InputGrad: the rotated kernels transformed at the start of scratch, the pass after them.
  winogradTileInputGradWeights(tile, w, O, C, scratch);
  winogradTileInputGradPass(tile, scratch, dy, dx, N, C, H, W, O, PH, PW, OH, OW, scratch + (<usize>winogradTileInputGradWeightsFloats(tile, O, C) << 2));
}

/**
 * Whether a 5×5 stride-1 convolution of a batch of N, C → O channels with OH×OW outputs runs
 * forward and input gradient by F(2×2,5×5), and its weight gradient by F(5×5,2×2). See the
 * measurements below.
 */
export function winograd5x5Chosen(N: i32, C: i32, O: i32, OH: i32, OW: i32): bool {
  if (C < WINOGRAD_5X5_MIN_CHANNELS || O < WINOGRAD_5X5_MIN_CHANNELS || OH < WINOGRAD_5X5_MIN_SIZE || OW < WINOGRAD_5X5_MIN_SIZE) return false;
  return <i64>N * ((OH + 1) >> 1) * ((OW + 1) >> 1) >= WINOGRAD_5X5_MIN_TILES;
}

// F(2×2,5×5) against the direct (flat) path: the raw kernels timed alternately in one process on a
// build with this table off (conv2dForward's direct path; its dx as conv2dBackward's time with dx
// less its time without, so single dx ratios are noisier), median of 7, a 2-core machine shared
// with three other test suites. Direct ms ÷ Winograd ms, forward | dx, padding 2 unless said
// (ConvNetJS's CIFAR-10 net: the first three rows; LeNet-5: the next two):
//                           relaxed, batch 16 (two runs)    batch 64 (two runs)         plain, batch 16   batch 64
//   3→16  @32²              0.78 | 1.07, 0.88 | 0.74        0.61 | 0.71, 0.89 | 1.08    0.23 | 0.86       1.38 | 1.27
//   16→20 @16²              1.73 | 1.79, 1.67 | 1.64        1.65 | 1.84, 1.88 | 1.59    1.94 | 1.89       1.27 | 1.71
//   20→20 @8²               1.78 | 1.91, 1.93 | 13.0        4.48 | 4.27, 5.81 | 2.48    2.18 | 13.1       1.30 | 1.35
//   1→6   @28²              0.34 | 0.31, 0.34 | 0.30        0.33 | 0.33, 0.14 | 0.13    0.39 | 0.37       0.34 | 0.16
//   6→16  @10², padding 0   0.45 | 0.24, 0.46 | 0.24        0.50 | 0.24, 0.49 | 0.22    0.57 | 0.28       0.64 | 0.08
//   8→8   @32²              1.08 | 1.01, 1.05 | 3.93        1.00 | 1.41, 1.20 | 1.34    1.19 | 4.02       1.03 | 1.26
//   8→8   @16²              1.12 | 1.13, 1.13 | 1.14        3.07 | 4.71, 1.15 | 0.86    1.30 | 1.29       1.31 | 4.33
//   8→8   @8²               1.32 | 1.17                     1.39 | 1.46                 1.47 | 1.46       1.56 | 1.59
//   4→8   @16²              0.90 | 0.77                     0.96 | 0.73                 1.07 | 0.94       1.12 | 0.92
//   3→32  @32²              0.91 | 0.84                     0.84 | 0.88                 2.61 | 1.44       0.91 | 0.87
//   16→16 @8²               1.31 | 1.13, 1.32 | 1.19        1.61 | 3.94, 1.49 | 1.33    1.58 | 1.34       0.79 | 4.87
//   32→32 @16²              3.76 | 2.20, 1.69 | 1.92        1.87 | 1.81, 1.99 | 1.72    2.03 | 1.43       2.13 | 1.97
//   64→64 @8²               1.93 | 1.40, 1.43 | 1.22        2.58 | 1.74, 2.35 | 1.72    2.11 | 1.74       2.90 | 1.99
//   16→16 @4²               0.60 | 0.45                     0.64 | 0.51                 0.77 | 0.47       0.77 | 0.50
//   32→32 @4²               0.77 | 0.68                     1.01 | 0.58                 0.95 | 0.75       1.16 | 2.91
//   64→64 @4²               0.77 | 3.73                     1.23 | 1.12                 4.43 | 5.87       1.24 | 0.81
//   16→16 @2² (6², pad 0)   0.35 | 0.23                     0.58 | 0.07                 0.42 | 0.26       0.63 | 0.05
// (Ratios far above 3 are the direct path's time caught by the load, not Winograd's gain.) Fewer
// than 8 channels on a side leave the 36 GEMMs too short to pay for the transforms (LeNet-5's
// convolutions stay direct, and so does ConvNetJS's first, 3→16); from 8 each way Winograd wins on
// outputs of 8×8 and more, where a tile row holds four tiles of 2×2; on 4×4 a tile row has two,
// every tile is gathered lane by lane, and it loses. Both builds alike.
//
// Small batches, same method (direct ÷ Winograd, forward | dx; relaxed, plain):
//   16→20 @16², batch 1 (64 tiles)   1.26 | 1.19, 1.41 | 1.38     20→20 @8², batch 1 (16)   0.59 | 0.71, 0.75 | 0.87
//   32→32 @16², batch 1 (64)         1.13 | 1.25, 1.37 | 1.21     20→20 @8², batch 2 (32)   0.59 | 0.59, 1.18 | 1.62
//   8→8   @16², batch 1 (64)         0.84 | 0.86, 0.96 | 1.02     20→20 @8², batch 4 (64)   1.36 | 1.45, 1.56 | 1.77
//   8→8   @16², batch 2 (128)        0.97 | 0.98, 1.15 | 1.15     64→64 @8², batch 1 (16)   0.59 | 0.84, 0.71 | 0.83
//   8→8   @8²,  batch 4 (64)         1.01 | 1.02, 1.19 | 1.19     64→64 @8², batch 4 (64)   1.36 | 4.58, 3.67 | 1.92
// Below 64 tiles in the batch the kernel transform and the short GEMMs lose to the direct path;
// from 64 Winograd wins on 16 channels and more and is about even on 8 (0.84–1.19). Output widths of no multiple of 8 (10, 12, 14) were about even
// (0.66–1.2 relaxed, 0.87–1.84 plain, batch 16 and 64): their groups of four tiles cross tile rows
// and are gathered lane by lane; they keep Winograd with the rest.
//
// The weight gradient, F(5×5,2×2) (winogradF2x2K5WeightGrad) against the direct flat path
// (flatBackward with dx and db off), the raw kernels alternately in one process, median of 7 ratios,
// padding 2, a 2-core machine shared with other work (load average ~3); direct ms ÷
// Winograd ms, relaxed | plain:
//                    batch 1       batch 4       batch 16      batch 64
//   16→20 @16²       1.38 | 1.50   1.75 | 1.89   1.81 | 1.79   1.88 | 1.83
//   20→20 @8²        (16 tiles)    2.03 | 2.14   2.55 | 2.65   2.42 | 2.19
//   8→8   @16²       1.10 | 1.26   1.33 | 1.51   1.38 | 1.59   1.34 | 1.30
//   8→8   @8²        (16 tiles)    1.48 | 1.66   –             –
//   32→32 @16²       1.13 | 1.26   1.54 | 1.69   1.77 | 1.83   1.81 | 1.88
//   64→64 @16²       –             1.28 | 1.79   1.93 | 2.51   –
//   64→64 @8²        (16 tiles)    1.02 | 1.17   –             –
//   128→128 @8²      (16 tiles)    0.96 | 1.10   1.56 | 1.78   –
//   128→128 @16²     –             1.52 | 1.74   1.96 | 2.22   –
// ("(16 tiles)": below the 64 tiles from which the forward takes F(2×2,5×5), so not asked; 64→64 and
// 128→128 @8² at batch 1 measured 0.49 | 0.59.) Wherever the forward runs F(2×2,5×5) the weight
// gradient wins or is even (the one loss, 0.96 at 128→128 @8² batch 4 relaxed, within the noise),
// 1.8–2.6× on ConvNetJS's 16→20 and 20→20 at batch 16 and 64: winogradWeightGradTile sends all of
// those shapes to it, both builds alike.
const WINOGRAD_5X5_MIN_CHANNELS: i32 = ASC_FEATURE_RELAXED_SIMD ? 8 : 8;
const WINOGRAD_5X5_MIN_SIZE: i32 = ASC_FEATURE_RELAXED_SIMD ? 8 : 8;
const WINOGRAD_5X5_MIN_TILES: i64 = ASC_FEATURE_RELAXED_SIMD ? 64 : 64;

/**
 * Whether a 5×5 stride-1 convolution of a batch of N, C → O channels with OH×OW outputs runs
 * forward and input gradient by F(4×4,5×5) (before F(2×2,5×5), winograd5x5Chosen): on 8 channels
 * each way and outputs of 8×8 and more (as F(2×2,5×5)), wherever each image has 16 tiles of 4×4
 * (whatever the batch, so that a single image takes it too and the batch splits over threads),
 * and on smaller planes from 64 tiles of 4×4 in the batch; and with 3 to 7 input channels (an RGB
 * image's first layer) and 16 outputs or more, from 64 tiles of 4×4 in each image. See the
 * measurements below.
 */
export function winograd5x5F4Chosen(N: i32, C: i32, O: i32, OH: i32, OW: i32): bool {
  const perImage = <i64>((OH + 3) >> 2) * <i64>((OW + 3) >> 2);
  if (C >= WINOGRAD_5X5_MIN_CHANNELS && O >= WINOGRAD_5X5_MIN_CHANNELS && OH >= WINOGRAD_5X5_MIN_SIZE && OW >= WINOGRAD_5X5_MIN_SIZE) {
    return perImage >= WINOGRAD_5X5_F4_IMAGE_TILES || <i64>N * perImage >= WINOGRAD_5X5_F4_MIN_TILES;
  }
  return C >= WINOGRAD_5X5_F4_RGB_MIN_CHANNELS && O >= WINOGRAD_5X5_F4_RGB_MIN_OUTPUTS && perImage >= WINOGRAD_5X5_F4_MIN_TILES;
}

// F(4×4,5×5) against F(2×2,5×5) and the path each shape took before (conv2dForward and
// conv2dInputGrad, the raw exports), alternately in one process, median of 15 rounds of ≥ 30 ms
// each, padding 2 unless said, relaxed SIMD, the 2-core EPYC (peak loop 48–50 GFLOP/s, in a slow
// spell: absolute times ~1.4× the day's best). F(2×2,5×5) ms ÷ F(4×4,5×5) ms, forward | dx, and
// the path before ÷ F(4×4,5×5) where that was not F(2×2,5×5):
//   16→20 @16² (ConvNetJS's second)   b64 1.81 | 1.84, b16 1.70 | 1.69, b4 1.38 | 1.42, b2 1.35 | 1.28,
//                                     b1 1.01 | 0.95 (16 tiles)
//   20→20 @8²  (ConvNetJS's third)    b64 1.59 | 1.51, b16 1.21 | 1.29 (64 tiles), b8 1.05 | 1.07 (32),
//                                     b2 0.80 | 0.80 (8)
//   8→8   @16², b16 1.70 | 1.72;  @8², b64 1.44 | 1.50, b4 1.02 | 1.04 (16 tiles)
//   32→32 @16², b16 1.74 | 1.81;  64→64 @8², b4 0.92 | 0.93 (16 tiles)
//   3→16  @32² (ConvNetJS's first; before: the channel lanes, direct)
//                                     direct ÷ F(4×4): b64 1.20 | 1.42, b16 1.34 | 1.47, b4 1.39 | 1.40,
//                                     b1 1.09 | 1.28
//   3→32  @32², b64: direct ÷ F(4×4) 1.28 | 1.50;  3→64 @32², b64 1.43 | 1.68
//   3→6   @28² (padding 0), b64: direct (flat) ÷ F(4×4) 1.06 | 1.23 (6 outputs: not taken)
//   1→6   @28² (LeNet-5's first), b64: 0.57 | 0.78;  1→32 @28², b64: 0.60 | 0.76 (direct wins)
//   6→16  @10², padding 0 (LeNet-5's second), b64: 0.74 | 0.71;  16→16 @6², padding 0, b64:
//                                     0.94 | 0.67 (direct wins; F(2×2,5×5) does not take 6×6 either)
// Plain SIMD (no fused multiply-add), the same method: F(2×2,5×5) ÷ F(4×4,5×5) 1.77 | 1.82 on
// 16→20 @16² b64, 1.05 | 1.10 at b1, 1.44 | 1.44 on 20→20 @8² b64, 1.26 | 1.28 at b16; the direct
// flat path ÷ F(4×4,5×5) on the 3→16 forward 1.61 at b64, 1.54 at b16, 1.34 at b1 (relaxed in the
// same run: 1.26, 1.37, 1.15), 3→32 1.53. Both builds take the same table.
// So F(4×4,5×5) where F(2×2,5×5) ran, from 16 of its tiles an image (about even at 16, at batch 1)
// or 64 in the batch (a loss below 32); and on 3-channel inputs, where the 36 GEMMs of
// F(2×2,5×5) were too short to pay (×0.6–0.9 of direct), from 16 outputs and 64 tiles an image.
// One input channel stays direct (×0.6). Its error against the float64 reference grows with it
// (tests/conv-winograd-5x5.test.js: about 2× F(2×2,5×5)'s). ConvNetJS's CIFAR-10 net, whose three
// convolutions all take it, trains a step (SGD with momentum) in 1/1.21 the time at batch 64 and
// 1/1.14 at batch 16: the builds before and after, in processes one after the other, median of 9
// and 5 pairs (1.05–1.70 and 1.10–1.26); with its weight gradients by F(5×5,4×4) too (below),
// 1/1.32 and 1/1.36 the time of the build before both (1.02–1.44 and 1.31–1.53).
const WINOGRAD_5X5_F4_MIN_TILES: i64 = 64;
const WINOGRAD_5X5_F4_IMAGE_TILES: i64 = 16;

// The weight gradient where the forward runs F(4×4,5×5): F(5×5,4×4) (winogradF4x4K5WeightGrad, 64
// GEMMs per 4×4 tile of dy) against F(5×5,2×2) and, on 3-channel inputs, the direct path (conv2dBackward
// without dx), the raw kernels alternately in one process, median of 15, padding 2, relaxed, the
// same VM and spell as above. Before ÷ F(5×5,4×4), by 4×4 tiles in the batch:
//   ≥ 256 tiles  16→20 @16² b64 1.72, b16 1.69; 20→20 @8² b64 1.51; 8→8 @16² b16 1.70;
//                32→32 @16² b16 1.44; 64→64 @16² b16 1.38; 9→9 @12² b16 (144) 1.61
//   64 tiles     16→20 @16² b4 1.26; 20→20 @8² b16 1.15; 32→32 @16² b4 0.99; 64→64 @16² b4 0.90;
//                64→64 @8² b16 0.98; 128→128 @8² b16 0.95
//   16–32 tiles  16→20 @16² b1 0.74, b2 0.95; 20→20 @8² b8 0.88
//   3 channels   3→16 @32² b64 0.70, b16 0.77, b1 0.72 (against the direct channel-lane kernels),
//                while the GEMMs ran C = 3 rows one at a time; with V and Z padded to 4 rows (a row
//                of zeros, conv-winograd-dw-f4x4-5x5.ts's paddedRows): b64 1.12, b16 1.28, b4 1.11,
//                b2 1.09 (128 tiles), b1 0.96; 3→32 @32² b64 1.12; plain SIMD 1.58, 1.35, 1.35 (b64,
//                b16, b2)
// Plain SIMD, F(5×5,2×2) ÷ F(5×5,4×4): 16→20 @16² b64 1.59, 20→20 @8² b64 1.29, 8→8 @16² b16
// 1.56, 32→32 @16² b16 1.34, 64→64 @16² b16 1.37, 9→9 @12² b16 1.42.
// So F(5×5,4×4) from 128 tiles of 4×4 in the batch (its 64 planes of Z and GEMMs with K = the
// tiles of a chunk pay from there at every width, 3-channel inputs included), below it F(5×5,2×2),
// or direct on 3-channel inputs; both builds alike.
const WINOGRAD_5X5_DW_F4_MIN_TILES: f64 = 128;
const WINOGRAD_5X5_F4_RGB_MIN_CHANNELS: i32 = 3;
const WINOGRAD_5X5_F4_RGB_MIN_OUTPUTS: i32 = 16;
