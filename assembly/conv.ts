// Conv2d forward and backward, NCHW activations and OIHW weights, lowered to GEMM per image
// and per group:
//   forward          Y[n, g]  (+)= W[g] · cols(x[n, g])        [Og, P] = [Og, K]·[K, P]
//   weight gradient  dW[g]    +=  dY[n, g] · cols(x[n, g])ᵀ    [Og, K] = [Og, P]·[P, K]
//   input gradient   dx[n, g] +=  col2im(W[g]ᵀ · dY[n, g])     [K, P]  = [K, Og]·[Og, P]
// with Cg = C/G, Og = O/G, K = Cg·KH·KW and P = OH·OW. A 1×1, stride-1, unpadded convolution
// needs no im2col: the input planes already are the cols matrix.
//
// Stride-1 convolutions take the flat path instead (conv-flat-pass.ts): no im2col, the GEMM
// reads zero-padded planes in place; groups of a multiple of 16 output channels use its
// channel-lane kernels (conv-chan.ts) for forward and the weight gradient, and conv-chan-dx.ts
// for the input gradient.
//
// Depthwise convolutions (groups = C_in > 1, C_out = k·C_in) take their own kernels instead
// (conv-depthwise.ts; conv-depthwise-c4.ts for output rows of at most two columns): N·C_in GEMMs
// of k×(KH·KW)·(KH·KW)×P are all edge tiles.
//
// On small output maps (batch ≥ 2), a pointwise or im2col convolution folds the batch into one
// GEMM per group instead (conv-batched.ts).
//
// Strided convolutions with output rows of a multiple of 8 pixels and overlapping windows run
// the forward and the weight gradient as implicit GEMMs (conv-strided.ts): the GEMM reads the
// input through a table of offsets into phase-split planes, with no im2col matrix, and the
// forward writes y in place. Those with at least 4 channels a group and input rows of a
// multiple of 8 pixels per column phase run the input gradient by output phase too
// (conv-strided-dx.ts): SH·SW implicit GEMMs over dy, no col2im, each float of dx written once.
//
// 1×1 convolutions at stride 2 without padding, with output rows of a multiple of 8 pixels and
// even input rows (ResNet's projection shortcuts), take conv-pointwise-s2.ts's kernels in every
// pass: x read through one subsampled image at a time, dx and dW with no cols matrix.
//
// 3×3 stride-1 convolutions of the shapes in conv-winograd-table.ts's table run forward and the
// input gradient by Winograd F(2×2,3×3) or F(4×4,3×3) instead, and the weight gradient by Winograd
// with the tiles the table names for it (conv-winograd-dw.ts, conv-winograd-dw-f4.ts); 5×5 ones of
// its shapes by Winograd F(2×2,5×5), the weight gradient on the flat path.
//
// Which lowering runs is a pure function of the shape and the build: conv2dAlgorithm names it.
//
// conv2dForwardAct applies a ReLU or ReLU6 as the output is stored, on the Winograd, flat and
// per-image GEMM lowerings, and right after each image's output on the depthwise kernels
// (conv2dFusesActivation), from a snapshot of the parameters
// (conv2dSnapshot): the layer after the convolution then makes no pass of its own over it.
// conv2dForwardAffine applies an eval BatchNorm2d's affine too, and the activation after it,
// image by image as the output is stored.
//
// PH/PW are the padding before the image; the padding after it is implied by OH/OW.
// A null pointer (0) for the bias, its gradient or dx means "none".
import { gemm, gemmAct } from "./gemm";
import { biasChannels, biasGradChannels, biasGradChannelRange } from "./bias";
import { im2col, col2imAdd, col2imWrites, col2imPoint } from "./im2col";
import { flatApplies, flatScratchFloats, flatForward, flatBackward, flatWeightGradTaps } from "./conv-flat-pass";
import { chanApplies } from "./conv-chan";
import { winogradWeightGradScratchFloats } from "./conv-winograd-dw";
import { winogradF4x4WeightGradScratchFloats, alpha6WeightGradSumsFloats, alpha6WeightGradRowsFloats, alpha6WeightGradChunks, winogradAlpha6WeightGradPart, winogradAlpha6AddChunks, winogradAlpha6KernelGrad } from "./conv-winograd-dw-f4";
import { batchedApplies, batchedScratchFloats, batchedForward, batchedBackward, batchedForwardRange, batchedPointwiseInputGradRange } from "./conv-batched";
import { dwconvApplies, dwconvIs3x3, dwconvLanes, dwconvScratchFloats, dwconvForward, dwconvBackward } from "./conv-depthwise";
import { winogradTile, winogradTileScratchFloats, winogradTileForward, winogradTileWeightsFloats, winogradTileForwardWeights, winogradTileForwardPass, winogradTileInputGrad, winogradTileInputGradWeightsFloats, winogradTileInputGradWeights, winogradTileInputGradPass, winogradTilesPerImage, winogradTileChunk, winogradWeightGradTile, winogradTileWeightGrad, WINOGRAD_TILE_5X5, WINOGRAD_TILE_5X5_F4 } from "./conv-winograd-table";
import { stridedApplies, stridedScratchFloats, stridedForward, stridedWeightGradScratchFloats, stridedWeightGrad } from "./conv-strided";
import { stridedDxApplies, stridedInputGradScratchFloats, stridedInputGrad } from "./conv-strided-dx";
import { pointwiseS2Applies, pointwiseS2ScratchFloats, pointwiseS2Forward, pointwiseS2InputGrad, pointwiseS2WeightGrad } from "./conv-pointwise-s2";
import { countNonFinite } from "./util";
import { activationFlag, channelAffineAct, channelAffineActFlag } from "./epilogue";

/** conv2dAlgorithm's answers. */
const ALGO_IM2COL_GEMM = 0, ALGO_POINTWISE_GEMM = 1, ALGO_FLAT = 2, ALGO_FLAT_CHANNEL_LANES = 3;
const ALGO_DWCONV_3X3 = 4, ALGO_DWCONV = 5, ALGO_DWCONV_CHANNEL_LANES = 6;
const ALGO_POINTWISE_BATCHED_GEMM = 7, ALGO_IM2COL_BATCHED_GEMM = 8, ALGO_WINOGRAD_F2X2 = 9, ALGO_WINOGRAD_F4X4 = 10;
const ALGO_WINOGRAD_F2X2_5X5 = 11, ALGO_IMPLICIT_GEMM = 12, ALGO_IMPLICIT_BATCHED_GEMM = 13, ALGO_POINTWISE_S2 = 14, ALGO_WINOGRAD_F4X4_5X5 = 15;

/**
 * Which lowering conv2dForward and conv2dBackward take for a shape: 0 im2col + GEMM, 1 GEMM on
 * the input planes (pointwise), 2 flat stride-1 passes, 3 flat passes with channel-lane kernels,
 * 4 depthwise 3×3 kernels, 5 depthwise tap-list kernels, 6 depthwise kernels with channels in
 * the lanes (short output rows), 7 pointwise and 8 im2col with the batch folded into one GEMM
 * (small output maps), 9 Winograd F(2×2,3×3), 10 Winograd F(4×4,3×3) and 11 Winograd F(2×2,5×5)
 * for forward and input gradient (the weight gradient as 2 or 3), 12 and 13 the implicit GEMMs of
 * conv-strided.ts for the forward and weight gradient of strided convolutions (the input gradient
 * of 12 by output phase where conv-strided-dx.ts's stridedDxApplies says, else as 0; of 13 as 8:
 * a small map whose dx does not run by phase), 14 the 1×1 stride-2 kernels of conv-pointwise-s2.ts
 * (every pass), 15 Winograd F(4×4,5×5) for forward and input gradient (the weight gradient by
 * F(5×5,4×4), F(5×5,2×2) or as 2 or 3, winogradWeightGradTile). A pure function of the shape and
 * the build.
 */
export function conv2dAlgorithm(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): i32 {
  if (dwconvApplies(C, G)) {
    if (dwconvLanes(C, O, OW)) return ALGO_DWCONV_CHANNEL_LANES;
    return dwconvIs3x3(KH, KW) ? ALGO_DWCONV_3X3 : ALGO_DWCONV;
  }
  if (isPointwise(H, W, KH, KW, SH, SW, PH, PW, OH, OW)) {
    return batchedApplies(N, OH, OW) ? ALGO_POINTWISE_BATCHED_GEMM : ALGO_POINTWISE_GEMM;
  }
  if (pointwiseS2Applies(W, KH, KW, SH, SW, PH, PW, OW)) return ALGO_POINTWISE_S2;
  const tile = winogradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW);
  if (tile != 0) {
    if (tile == WINOGRAD_TILE_5X5) return ALGO_WINOGRAD_F2X2_5X5;
    if (tile == WINOGRAD_TILE_5X5_F4) return ALGO_WINOGRAD_F4X4_5X5;
    return tile == 4 ? ALGO_WINOGRAD_F4X4 : ALGO_WINOGRAD_F2X2;
  }
  if (flatApplies(H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW)) return chanApplies(O / G) ? ALGO_FLAT_CHANNEL_LANES : ALGO_FLAT;
  if (stridedApplies(KH, KW, SH, SW, OW)) {
    const folded = batchedApplies(N, OH, OW) && !stridedDxApplies(C, W, KH, KW, SH, SW, PH, PW, DH, DW, G, OW);
    return folded ? ALGO_IMPLICIT_BATCHED_GEMM : ALGO_IMPLICIT_GEMM;
  }
  return batchedApplies(N, OH, OW) ? ALGO_IM2COL_BATCHED_GEMM : ALGO_IM2COL_GEMM;
}

/**
 * Floats of cols scratch that conv2dForward/conv2dBackward need (0 when im2col is skipped), in
 * f64: a large legal convolution needs more than 2^31 floats, which i32 arithmetic would wrap
 * into a small or negative size. The caller refuses what the memory cannot hold.
 */
export function conv2dColsFloats(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): f64 {
  if (dwconvApplies(C, G)) return dwconvScratchFloats(C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW);
  if (pointwiseS2Applies(W, KH, KW, SH, SW, PH, PW, OW)) return pointwiseS2ScratchFloats(N, C, H, W, O, G, OH, OW);
  const pointwise = isPointwise(H, W, KH, KW, SH, SW, PH, PW, OH, OW);
  // The implicit GEMMs (conv-strided.ts): the forward and weight gradient in the same scratch as
  // dx's lowering, by phase (conv-strided-dx.ts) or im2col's.
  if (!pointwise && stridedApplies(KH, KW, SH, SW, OW)) {
    const implicit = max(stridedScratchFloats(C, KH, KW, SH, SW, DH, DW, G, OH, OW), stridedWeightGradScratchFloats(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW));
    const dx = stridedDxApplies(C, W, KH, KW, SH, SW, PH, PW, DH, DW, G, OW)
      ? stridedInputGradScratchFloats(C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW)
      : colsFloatsBackward(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, pointwise);
    return max(dx, implicit);
  }
  return colsFloatsBackward(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, pointwise);
}

/** conv2dColsFloats of every lowering but the implicit GEMM's forward. */
function colsFloatsBackward(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, pointwise: bool,
): f64 {
  if ((pointwise || !flatApplies(H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW)) && batchedApplies(N, OH, OW)) {
    return batchedScratchFloats(N, C, O, KH, KW, G, OH, OW);
  }
  if (pointwise) return 0;
  if (flatApplies(H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW)) {
    const flat = flatScratchFloats(C, H, W, O, KH, KW, PH, PW, DH, DW, G, OH, OW);
    // Winograd's dx runs after the weight gradient, in the same scratch.
    const tile = winogradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW);
    if (tile != 0) return max(flat, winogradTileScratchFloats(tile, N, C, H, W, O, OH, OW));
    return flat;
  }
  return <f64>(C / G) * <f64>KH * <f64>KW * <f64>OH * <f64>OW;
}

/**
 * Whether conv2dForwardAct applies its activation as the output is stored (1), for the lowerings
 * whose output stores take one: Winograd F(2×2,3×3), F(4×4,3×3) and F(2×2,5×5) (as the tiles are
 * transformed out), the flat path (as the padded rows are copied out with the bias, or, with channel
 * lanes, as the accumulators are stored), the per-image GEMM lowerings, im2col and pointwise
 * (gemmAct, as each tile's last k-block is stored), the depthwise kernels on planes (a sweep
 * over each image's output right after it, while it is in cache; not the channel-lane kernel of
 * maps of one or two columns, whose images are too small: one call per image made MobileNetV2's
 * 2×2 and 1×1 maps 1.2–1.7× slower), the 1×1 stride-2 kernels (a sweep over each image's
 * output right after it, as the depthwise ones), and the batch-folded GEMMs (a sweep after them: no pass
 * saved for an activation alone, one — the BatchNorm's input check — with an eval BatchNorm2d's
 * affine, conv2dForwardAffine). Else 0 (the implicit GEMMs of strided convolutions among them):
 * the activation after such a convolution stays a sweep of its own. A pure
 * function of the shape and the build.
 */
export function conv2dFusesActivation(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): i32 {
  const algo = conv2dAlgorithm(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW);
  return algo == ALGO_WINOGRAD_F2X2 || algo == ALGO_WINOGRAD_F4X4 || algo == ALGO_WINOGRAD_F2X2_5X5 || algo == ALGO_WINOGRAD_F4X4_5X5 || algo == ALGO_FLAT || algo == ALGO_FLAT_CHANNEL_LANES ||
    algo == ALGO_IM2COL_GEMM || algo == ALGO_POINTWISE_GEMM ||
    algo == ALGO_DWCONV_3X3 || algo == ALGO_DWCONV || algo == ALGO_POINTWISE_BATCHED_GEMM || algo == ALGO_IM2COL_BATCHED_GEMM ||
    algo == ALGO_POINTWISE_S2 ? 1 : 0;
}

/**
 * Floats of the snapshot conv2dSnapshot takes for conv2dForwardAct: the kernels (Winograd:
 * transformed), then the bias (O floats). 0 where conv2dFusesActivation says no.
 */
export function conv2dSnapshotFloats(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): i32 {
  if (conv2dFusesActivation(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW) == 0) return 0;
  return snapshotKernelFloats(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW) + O;
}

/** Floats of the kernels in conv2dSnapshot's snapshot: Winograd's transformed ones, or the weights. */
function snapshotKernelFloats(N: i32, C: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32): i32 {
  const tile = winogradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW);
  return tile != 0 ? winogradTileWeightsFloats(tile, O, C) : O * (C / G) * KH * KW;
}

/**
 * snap = what conv2dForwardAct reads of the parameters, as they are now: the kernels (Winograd:
 * transformed, the forward's first step anyway; flat: copied) and the bias (b = 0: none, zeros).
 * A later optimizer step leaves a forward computed from it unchanged.
 */
export function conv2dSnapshot(
  w: usize, b: usize, snap: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): void {
  const tile = winogradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW);
  const kernelFloats = snapshotKernelFloats(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW);
  if (tile != 0) winogradTileForwardWeights(tile, w, O, C, snap);
  else memory.copy(snap, w, <usize>kernelFloats << 2);
  const bias = snap + (<usize>kernelFloats << 2);
  if (b != 0) memory.copy(bias, b, <usize>O << 2);
  else memory.fill(bias, 0, <usize>O << 2);
}

/**
 * y = act(conv2d(x, w) + b) from conv2dSnapshot's snapshot of w and b, for a shape
 * conv2dFusesActivation accepts; act as epilogue.ts's (0 none, 1 ReLU, 2 ReLU6), applied as the
 * output is stored: the same float operations in the same order as conv2dForward and then
 * activationChecked (with act 0, conv2dForward's bits). Returns how many values before the
 * activation are NaN or infinite (activationChecked's count; 0 without an activation); when some
 * are, y holds the output without it instead.
 */
export function conv2dForwardAct(
  x: usize, snap: usize, hasBias: i32, y: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
  cols: usize, act: i32, gemmScratch: usize,
): i32 {
  const b = hasBias ? snap + (<usize>snapshotKernelFloats(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW) << 2) : 0;
  if (snapshotForward(x, snap, b, y, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, cols, gemmScratch, act) == 0 || act == 0) return 0;
  // A NaN or infinity before the activation (the error path): the count from the output without it.
  snapshotForward(x, snap, b, y, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, cols, gemmScratch, 0);
  return countNonFinite(y, N * O * OH * OW);
}

/**
 * y = act(affine(conv2d(x, w) + b)) from conv2dSnapshot's snapshot, for a shape
 * conv2dFusesActivation accepts: an eval BatchNorm2d's per-channel affine (coef as
 * batchNormCoefficients writes it, over the O channels) and then act (0 none, 1 ReLU, 2 ReLU6)
 * applied to each image's output as soon as it is stored, while it is in cache: one call of the
 * lowering per image, or, for the lowerings that fold the batch into one GEMM (small maps) and
 * for one that a single image would not take, one call and then the sweep over the whole output.
 * The convolution's output is conv2dForward's, bit for bit; the affine and act are
 * channelAffineAct's, the BatchNorm's own sweep. Returns −(the count of NaN or infinite convolution outputs) when
 * there are some (the BatchNorm's input check), else how many values after the affine and before
 * the activation are (activationChecked's count; 0 without an activation). On the error path y
 * holds the convolution's output, or the affine's without the activation.
 */
export function conv2dForwardAffine(
  x: usize, snap: usize, hasBias: i32, coef: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
  cols: usize, act: i32, gemmScratch: usize,
): i32 {
  const b = hasBias ? snap + (<usize>snapshotKernelFloats(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW) << 2) : 0;
  const L = OH * OW;
  // The lowerings that fold the batch into one GEMM, and one a single image would not take (the
  // snapshot holds the kernels transformed for the batch's: F(2×2,5×5) is chosen from 64 tiles in
  // the batch), run once, then the sweep over the whole batch.
  const algo = conv2dAlgorithm(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW);
  const whole = algo == ALGO_POINTWISE_BATCHED_GEMM || algo == ALGO_IM2COL_BATCHED_GEMM ||
    conv2dAlgorithm(1, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW) != algo;
  const n1 = whole ? N : 1;
  const xStep = <usize>n1 * C * H * W << 2, yStep = <usize>n1 * O * L << 2;
  let bad = false;
  for (let i = 0; i < N / n1; i++) {
    const xi = x + <usize>i * xStep, yi = y + <usize>i * yStep;
    snapshotForward(xi, snap, b, yi, n1, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, cols, gemmScratch, 0);
    // Without an activation the sweep counts nothing: the convolution's output is checked first.
    // With one, a non-finite input to the affine gives a non-finite output, which it counts.
    if (act == 0 && countNonFinite(yi, n1 * O * L) > 0) { bad = true; break; }
    if (channelAffineActFlag(yi, yi, coef, n1, O, L, act)) { bad = true; break; }
  }
  if (!bad) return 0;
  // A NaN or infinity before the affine or the activation (the error path): the counts from the
  // whole output, computed again.
  snapshotForward(x, snap, b, y, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, cols, gemmScratch, 0);
  const before = countNonFinite(y, N * O * L);
  if (before > 0) return -before;
  if (act == 0) return 0;
  channelAffineAct(y, y, coef, N, O, L, 0);
  return countNonFinite(y, N * O * L);
}

/**
 * conv2dForwardAct's pass: Winograd's from the transformed kernels, or the flat path's (either
 * kernel) or the per-image GEMM's (im2col or pointwise) from the copied weights.
 */
function snapshotForward(
  x: usize, snap: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
  cols: usize, gemmScratch: usize, act: i32,
): i32 {
  if (dwconvApplies(C, G)) return dwconvForwardAct(x, snap, b, y, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, cols, act);
  const algo = conv2dAlgorithm(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW);
  if (algo == ALGO_POINTWISE_BATCHED_GEMM || algo == ALGO_IM2COL_BATCHED_GEMM) {
    // The whole batch in one GEMM per group, then the activation over it (no sweep saved: the
    // output is written then swept in place, as before; an eval BatchNorm's affine saves one).
    batchedForward(x, snap, b, y, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, algo == ALGO_POINTWISE_BATCHED_GEMM, cols);
    return act != 0 && activationFlag(y, y, N * O * OH * OW, act) ? 1 : 0;
  }
  if (algo == ALGO_POINTWISE_S2) return pointwiseS2ForwardAct(x, snap, b, y, N, C, H, W, O, G, OH, OW, cols, act);
  if (algo == ALGO_IM2COL_GEMM || algo == ALGO_POINTWISE_GEMM) {
    return gemmForward(x, snap, b, y, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, algo == ALGO_POINTWISE_GEMM, cols, gemmScratch, act);
  }
  const tile = winogradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW);
  if (tile != 0) return winogradTileForwardPass(tile, x, snap, b, y, N, C, H, W, O, PH, PW, OH, OW, cols, act);
  return flatForward(x, snap, b, y, N, C, H, W, O, KH, KW, PH, PW, DH, DW, G, OH, OW, cols, act);
}

/**
 * The depthwise kernels' forward with an activation: image by image, the activation swept over
 * each image's output right after the kernel wrote it (in cache). With one, returns 1 when a value
 * before it was NaN or infinite.
 */
function dwconvForwardAct(
  x: usize, w: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, OH: i32, OW: i32, cols: usize, act: i32,
): i32 {
  if (act == 0) {
    dwconvForward(x, w, b, y, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, cols);
    return 0;
  }
  const size = O * OH * OW;
  let bad = 0;
  for (let n = 0; n < N; n++) {
    const yn = y + (<usize>n * size << 2);
    dwconvForward(x + (<usize>n * C * H * W << 2), w, b, yn, 1, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, cols);
    if (activationFlag(yn, yn, size, act)) bad = 1;
  }
  return bad;
}

/**
 * The 1×1 stride-2 kernels' forward with an activation: image by image, the activation swept
 * over each image's output right after it is written (in cache). With one, returns 1 when a
 * value before it was NaN or infinite.
 */
function pointwiseS2ForwardAct(
  x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, H: i32, W: i32, O: i32, G: i32, OH: i32, OW: i32,
  cols: usize, act: i32,
): i32 {
  if (act == 0) {
    pointwiseS2Forward(x, w, b, y, N, C, H, W, O, G, OH, OW, cols);
    return 0;
  }
  const size = O * OH * OW;
  let bad = 0;
  for (let n = 0; n < N; n++) {
    const yn = y + (<usize>n * size << 2);
    pointwiseS2Forward(x + (<usize>n * C * H * W << 2), w, b, yn, 1, C, H, W, O, G, OH, OW, cols);
    if (activationFlag(yn, yn, size, act)) bad = 1;
  }
  return bad;
}

/** y = conv2d(x, w) + b. */
export function conv2dForward(
  x: usize, w: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
  cols: usize, gemmScratch: usize,
): void {
  if (dwconvApplies(C, G)) {
    dwconvForward(x, w, b, y, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, cols);
    return;
  }
  if (pointwiseS2Applies(W, KH, KW, SH, SW, PH, PW, OW)) {
    pointwiseS2Forward(x, w, b, y, N, C, H, W, O, G, OH, OW, cols);
    return;
  }
  const pointwise = isPointwise(H, W, KH, KW, SH, SW, PH, PW, OH, OW);
  const tile = pointwise ? 0 : winogradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW);
  if (tile != 0) {
    winogradTileForward(tile, x, w, b, y, N, C, H, W, O, PH, PW, OH, OW, cols, 0);
    return;
  }
  if (!pointwise && flatApplies(H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW)) {
    flatForward(x, w, b, y, N, C, H, W, O, KH, KW, PH, PW, DH, DW, G, OH, OW, cols, 0);
    return;
  }
  if (!pointwise && stridedApplies(KH, KW, SH, SW, OW)) {
    stridedForward(x, w, b, y, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, cols);
    return;
  }
  if (batchedApplies(N, OH, OW)) {
    batchedForward(x, w, b, y, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, pointwise, cols);
    return;
  }
  gemmForward(x, w, b, y, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, pointwise, cols, gemmScratch, 0);
}

/**
 * The per-image GEMM lowerings' forward (im2col + GEMM, or GEMM on the input planes when
 * pointwise): y = act(conv2d(x, w) + b), act applied by gemmAct as each tile's last k-block is
 * stored. With an activation, returns 1 when a value before it was NaN or infinite.
 */
function gemmForward(
  x: usize, w: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
  pointwise: bool, cols: usize, gemmScratch: usize, act: i32,
): i32 {
  const Cg = C / G, Og = O / G, K = Cg * KH * KW, P = OH * OW;
  // The bias is written first and the GEMM accumulates onto it.
  const accumulate = b != 0 ? 1 : 0;
  if (accumulate) biasChannels(y, b, N, O, P);
  let bad = 0;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const xg = x + (<usize>(n * C + g * Cg) * H * W << 2);
      const yg = y + (<usize>(n * O + g * Og) * P << 2);
      const wg = w + (<usize>(g * Og) * K << 2);
      let colsG = xg;
      if (!pointwise) {
        im2col(xg, Cg, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, cols);
        colsG = cols;
      }
      bad |= gemmAct(0, 0, Og, P, K, wg, K, colsG, P, yg, P, accumulate, gemmScratch, act);
    }
  }
  return bad;
}

/**
 * dw += ∂L/∂w, db += ∂L/∂b (if db ≠ 0), dx = ∂L/∂x (if dx ≠ 0). dw is always a buffer: not every
 * lowering tests it (the Winograd weight gradients write through it), and the input gradient
 * alone is conv2dInputGrad's.
 */
export function conv2dBackward(
  x: usize, w: usize, dy: usize, dw: usize, db: usize, dx: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
  cols: usize, gemmScratch: usize,
): void {
  if (dwconvApplies(C, G)) {
    dwconvBackward(x, w, dy, dw, db, dx, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, cols);
    return;
  }
  const P = OH * OW;
  if (pointwiseS2Applies(W, KH, KW, SH, SW, PH, PW, OW)) {
    if (db != 0) biasGradChannels(db, dy, N, O, P);
    if (dw != 0) pointwiseS2WeightGrad(x, dy, dw, N, C, H, W, O, G, OH, OW, cols);
    if (dx != 0) pointwiseS2InputGrad(w, dy, dx, N, C, H, W, O, G, OH, OW);
    return;
  }
  const pointwise = isPointwise(H, W, KH, KW, SH, SW, PH, PW, OH, OW);
  const tile = pointwise ? 0 : winogradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW);
  if (tile != 0) {
    const dwTile = winogradWeightGradTile(tile, N, C, OH, OW);
    if (dwTile != 0) {
      if (db != 0) biasGradChannels(db, dy, N, O, P);
      winogradTileWeightGrad(dwTile, x, dy, dw, N, C, H, W, O, PH, PW, OH, OW, cols);
    } else {
      flatBackward(x, w, dy, dw, db, 0, N, C, H, W, O, KH, KW, PH, PW, DH, DW, G, OH, OW, cols);
    }
    if (dx != 0) winogradTileInputGrad(tile, w, dy, dx, N, C, H, W, O, PH, PW, OH, OW, cols);
    return;
  }
  if (!pointwise && flatApplies(H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW)) {
    flatBackward(x, w, dy, dw, db, dx, N, C, H, W, O, KH, KW, PH, PW, DH, DW, G, OH, OW, cols);
    return;
  }
  // dx by phase (conv-strided-dx.ts) after the weight and bias gradients of the lowering below.
  if (dx != 0 && stridedDxApplies(C, W, KH, KW, SH, SW, PH, PW, DH, DW, G, OW)) {
    conv2dBackward(x, w, dy, dw, db, 0, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, cols, gemmScratch);
    stridedInputGrad(w, dy, dx, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, cols);
    return;
  }
  // The implicit GEMM's weight gradient, then dx (and db) by im2col's lowering without one (dw = 0).
  let dwIm2col = dw;
  if (!pointwise && stridedApplies(KH, KW, SH, SW, OW)) {
    stridedWeightGrad(x, dy, dw, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, cols);
    if (dx == 0) {
      if (db != 0) biasGradChannels(db, dy, N, O, P);
      return;
    }
    dwIm2col = 0;
  }
  if (batchedApplies(N, OH, OW)) {
    batchedBackward(x, w, dy, dwIm2col, db, dx, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, pointwise, cols);
    return;
  }
  gemmBackward(x, w, dy, dwIm2col, db, dx, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, pointwise, cols, gemmScratch);
}

/**
 * The per-image GEMM lowerings' backward (gemmForward's): db, then for each image dw += dy·colsᵀ
 * (if dw ≠ 0) and dx by Wᵀ·dy, through col2im unless pointwise (if dx ≠ 0).
 */
function gemmBackward(
  x: usize, w: usize, dy: usize, dw: usize, db: usize, dx: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
  pointwise: bool, cols: usize, gemmScratch: usize,
): void {
  const Cg = C / G, Og = O / G, K = Cg * KH * KW, P = OH * OW;
  if (db != 0) biasGradChannels(db, dy, N, O, P);
  // col2im adds into dx (windows overlap), so it starts from zero; the pointwise GEMM and
  // col2imPoint overwrite.
  const writes = col2imWrites(KH, KW, PH, PW);
  if (dx != 0 && !pointwise && !writes) memory.fill(dx, 0, <usize>N * C * H * W << 2);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const xg = x + (<usize>(n * C + g * Cg) * H * W << 2);
      const dyg = dy + (<usize>(n * O + g * Og) * P << 2);
      const wg = w + (<usize>(g * Og) * K << 2);
      if (dw != 0) {
        let colsG = xg;
        if (!pointwise) {
          im2col(xg, Cg, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, cols);
          colsG = cols;
        }
        gemm(0, 1, Og, K, P, dyg, P, colsG, P, dw + (<usize>(g * Og) * K << 2), K, 1, gemmScratch);
      }
      if (dx == 0) continue;
      const dxg = dx + (<usize>(n * C + g * Cg) * H * W << 2);
      if (pointwise) {
        gemm(1, 0, K, P, Og, wg, K, dyg, P, dxg, P, 0, gemmScratch);
      } else {
        // cols has been consumed by the weight gradient: reuse it for dcols.
        gemm(1, 0, K, P, Og, wg, K, dyg, P, cols, P, 0, gemmScratch);
        if (writes) col2imPoint(cols, Cg, H, W, SH, SW, OH, OW, dxg);
        else col2imAdd(cols, Cg, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, dxg);
      }
    }
  }
}

// @ts-ignore: decorator
@inline function isPointwise(
  H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32, OH: i32, OW: i32,
): bool {
  return KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0 && OH == H && OW == W;
}

/**
 * Which passes of this shape give every image the same bits on any range of at least `fewest`
 * images of the batch as on the whole of it, so that threads may each take a range: 0 none (the
 * batch-folded GEMMs, whose GEMM follows the batch size, and a lowering that a range of `fewest`
 * images would not take), 1 the forward (the depthwise kernels, whose backward computes the weight
 * gradient image by image with dx), 3 the forward and the input gradient alone
 * (conv2dInputGrad). Measured bit for bit on every lowering (tests/threads.test.js). A pure
 * function of the shape, `fewest` and the build.
 */
export function conv2dBatchSplits(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, fewest: i32,
): i32 {
  const algo = conv2dAlgorithm(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW);
  if (algo == ALGO_POINTWISE_BATCHED_GEMM || algo == ALGO_IM2COL_BATCHED_GEMM || algo == ALGO_IMPLICIT_BATCHED_GEMM) return 0;
  // A lowering chosen by the batch size (the 5×5 Winograd tiles, from so many tiles in the batch)
  // must be the one the smallest range takes too, so that every range runs it: the thresholds
  // only grow with the batch (direct, then F(2×2,5×5), then F(4×4,5×5)), so every range between
  // `fewest` images and the batch then takes the batch's.
  if (conv2dAlgorithm(max(1, min(fewest, N)), C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW) != algo) return 0;
  if (algo == ALGO_DWCONV_3X3 || algo == ALGO_DWCONV || algo == ALGO_DWCONV_CHANNEL_LANES) return 1;
  return 3;
}

/**
 * Floats of the kernels conv2dInputGradWeights writes for conv2dInputGradPass: on the Winograd
 * lowerings, the kernels rotated and transformed, the first step of their input gradient; 0 on
 * the others, whose input gradient transforms no kernels (conv2dInputGrad runs it whole). A pure
 * function of the shape and the build.
 */
export function conv2dInputGradWeightsFloats(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): i32 {
  const tile = inputGradTile(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW);
  return tile != 0 ? winogradTileInputGradWeightsFloats(tile, O, C) : 0;
}

/**
 * The fewest images a range of the batch takes for the forward and the input gradient to run as
 * they do on the whole batch: on the Winograd lowerings, enough for a chunk of tiles (the N of
 * their GEMMs; 16 images at 8×8 by F(4×4,3×3)), else 1. Where a thread's range of the batch is
 * cut into smaller units (conv-threads.ts's overBatchUnits), none is cut below it. A pure function
 * of the shape and the build.
 */
export function conv2dBatchGranule(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): i32 {
  const tile = inputGradTile(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW);
  if (tile == 0) return 1;
  const perImage = winogradTilesPerImage(tile, OH, OW);
  return (winogradTileChunk(tile) + perImage - 1) / perImage;
}

/** The Winograd tile conv2dInputGrad (and conv2dForward) runs this shape by, or 0. */
function inputGradTile(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): i32 {
  if (pointwiseS2Applies(W, KH, KW, SH, SW, PH, PW, OW) || isPointwise(H, W, KH, KW, SH, SW, PH, PW, OH, OW)) return 0;
  return winogradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW);
}

/**
 * U = what conv2dInputGradPass reads of the kernels w, conv2dInputGradWeightsFloats floats, for a
 * shape where that is not 0: written once, it serves every range of the batch.
 */
export function conv2dInputGradWeights(
  w: usize, U: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): void {
  winogradTileInputGradWeights(inputGradTile(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW), w, O, C, U);
}

/**
 * conv2dInputGrad from conv2dInputGradWeights' U (written for the whole batch; these sizes may be
 * a range of it that conv2dBatchSplits allows): the same bits. `cols`: conv2dColsFloats floats.
 */
export function conv2dInputGradPass(
  U: usize, dy: usize, dx: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
  cols: usize,
): void {
  const tile = inputGradTile(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW);
  winogradTileInputGradPass(tile, U, dy, dx, N, C, H, W, O, PH, PW, OH, OW, cols);
}

/**
 * dx = ∂L/∂x alone, the same bits as conv2dBackward's, for a shape conv2dBatchSplits gives 3:
 * a thread computes the input gradient of its range of the batch while another computes the
 * weight gradient of the whole batch (conv2dBackward with dx = 0).
 */
export function conv2dInputGrad(
  w: usize, dy: usize, dx: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
  cols: usize, gemmScratch: usize,
): void {
  const Cg = C / G, Og = O / G, K = Cg * KH * KW, P = OH * OW;
  if (pointwiseS2Applies(W, KH, KW, SH, SW, PH, PW, OW)) {
    pointwiseS2InputGrad(w, dy, dx, N, C, H, W, O, G, OH, OW);
    return;
  }
  const pointwise = isPointwise(H, W, KH, KW, SH, SW, PH, PW, OH, OW);
  const tile = pointwise ? 0 : winogradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW);
  if (tile != 0) {
    winogradTileInputGrad(tile, w, dy, dx, N, C, H, W, O, PH, PW, OH, OW, cols);
    return;
  }
  if (!pointwise && flatApplies(H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW)) {
    flatBackward(0, w, dy, 0, 0, dx, N, C, H, W, O, KH, KW, PH, PW, DH, DW, G, OH, OW, cols);
    return;
  }
  if (stridedDxApplies(C, W, KH, KW, SH, SW, PH, PW, DH, DW, G, OW)) {
    stridedInputGrad(w, dy, dx, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, cols);
    return;
  }
  // As conv2dBackward's im2col lowering (the implicit GEMMs' too) computes dx.
  const writes = col2imWrites(KH, KW, PH, PW);
  if (!pointwise && !writes) memory.fill(dx, 0, <usize>N * C * H * W << 2);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const dyg = dy + (<usize>(n * O + g * Og) * P << 2);
      const wg = w + (<usize>(g * Og) * K << 2);
      const dxg = dx + (<usize>(n * C + g * Cg) * H * W << 2);
      gemm(1, 0, K, P, Og, wg, K, dyg, P, pointwise ? dxg : cols, P, 0, gemmScratch);
      if (pointwise) continue;
      if (writes) col2imPoint(cols, Cg, H, W, SH, SW, OH, OW, dxg);
      else col2imAdd(cols, Cg, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, dxg);
    }
  }
}

/**
 * Which weight-gradient kernels conv2dBackward runs for a shape of O output channels, on a range
 * of Oc of them (conv2dWeightGradRange): 100 + the tile of the Winograd weight gradient, 1 or 2
 * the flat pass (2 with channel lanes, which follow Oc), 3 the implicit GEMM, 4 the batch-folded
 * GEMM, 5 im2col, 6 the 1×1 stride-2 kernels (chunks of images from x's size alone, whatever Oc); -1 for the depthwise and grouped convolutions and F(5×5,2×2), not split by
 * output channels.
 * The Winograd tiles are those chosen for all O channels.
 */
function weightGradPath(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, Oc: i32,
): i32 {
  if (G != 1 || dwconvApplies(C, G)) return -1;
  if (pointwiseS2Applies(W, KH, KW, SH, SW, PH, PW, OW)) return 6;
  const pointwise = isPointwise(H, W, KH, KW, SH, SW, PH, PW, OH, OW);
  const tile = pointwise ? 0 : winogradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW);
  if (tile != 0) {
    const dwTile = winogradWeightGradTile(tile, N, C, OH, OW);
    // F(5×5,2×2)'s weight gradient sums some channels of a range of 4 in another order than the
    // whole's (12 channels as 3 × 4: 195 of 2700 values differ), and F(5×5,4×4)'s alike: not split.
    if (dwTile == WINOGRAD_TILE_5X5 || dwTile == WINOGRAD_TILE_5X5_F4) return -1;
    if (dwTile != 0) return 100 + dwTile;
  }
  if (tile != 0 || (!pointwise && flatApplies(H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW))) return chanApplies(Oc) ? 2 : 1;
  // conv2dBackward on Oc channels must not take a Winograd the whole O does not.
  if (!pointwise && winogradTile(N, C, Oc, KH, KW, SH, SW, DH, DW, G, OH, OW) != 0) return -2;
  if (!pointwise && stridedApplies(KH, KW, SH, SW, OW)) return 3;
  return batchedApplies(N, OH, OW) ? 4 : 5;
}

/**
 * Whether the weight gradient of output channels [o0, o0 + Oc) alone (conv2dWeightGradRange) runs
 * the same kernels as the whole convolution's, for threads that each take a range of the output
 * channels: 1 if so, else 0. The bits are then the same: each output channel's sums run over the whole
 * batch in one order whatever the channels beside it (tests/threads.test.js checks every path on
 * ranges of 4 and 16 channels). A pure function of the shape and the build.
 */
export function conv2dWeightGradSplits(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, o0: i32, Oc: i32,
): i32 {
  const whole = weightGradPath(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, O);
  // Whole blocks of 4 channels: the GEMMs take another path on one row, and F(5×5,2×2)'s weight
  // gradient, four channels a vector, sums a range's last channels in another order.
  if (Oc % 4 != 0) return 0;
  // The Winograd weight gradients' GEMMs run panels of 8 output channels, and an edge panel of
  // fewer sums in another order: a range of whole panels, ending in the whole's edge panel if any
  // (channels 0–11 of 20 gave 69 of 3060 values other bits).
  if ((whole == 102 || whole == 104) && (o0 % 8 != 0 || (Oc % 8 != 0 && o0 + Oc != O))) return 0;
  return whole >= 0 && weightGradPath(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, Oc) == whole ? 1 : 0;
}

/**
 * Floats of cols scratch conv2dWeightGradRange needs for a range of Oc output channels (dySlice
 * apart): the scratch of the kernels it runs, which may be a Winograd a convolution of Oc
 * channels alone would not take. In f64, as conv2dColsFloats.
 */
export function conv2dWeightGradRangeFloats(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, Oc: i32,
): f64 {
  const path = weightGradPath(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, Oc);
  const cols = conv2dColsFloats(N, C, H, W, Oc, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW);
  if (path == 104) return max(cols, winogradF4x4WeightGradScratchFloats(N, C, Oc, OH, OW));
  if (path == 102) return max(cols, winogradWeightGradScratchFloats(N, C, Oc, OH, OW));
  return path == 1 || path == 2 ? max(cols, flatScratchFloats(C, H, W, Oc, KH, KW, PH, PW, DH, DW, G, OH, OW)) : cols;
}

/**
 * dW = ∂L/∂w and db of output channels [o0, o0 + Oc) alone, the same bits as conv2dBackward's
 * (when conv2dWeightGradSplits allows Oc): those channels' planes of dy are gathered into
 * `dySlice` (N·Oc·OH·OW floats), then the whole convolution's weight-gradient kernels run on Oc
 * channels, into dw's (and db's) rows o0…: each output channel's sums run over the whole batch
 * in the same order, so threads taking disjoint ranges need no partial sums. `cols` is scratch
 * for a convolution of Oc channels.
 */
export function conv2dWeightGradRange(
  x: usize, w: usize, dy: usize, dw: usize, db: usize, o0: i32, Oc: i32, dySlice: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
  cols: usize, gemmScratch: usize,
): void {
  const P = OH * OW, K = <usize>C * KH * KW;
  for (let n = 0; n < N; n++) {
    memory.copy(dySlice + (<usize>(n * Oc) * P << 2), dy + (<usize>(n * O + o0) * P << 2), <usize>(Oc * P) << 2);
  }
  const wr = w + (<usize>o0 * K << 2), dwr = dw + (<usize>o0 * K << 2), dbr = db != 0 ? db + (<usize>o0 << 2) : 0;
  const path = weightGradPath(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, Oc);
  if (path > 100) {
    if (dbr != 0) biasGradChannels(dbr, dySlice, N, Oc, P);
    winogradTileWeightGrad(path - 100, x, dySlice, dwr, N, C, H, W, Oc, PH, PW, OH, OW, cols);
  } else if (path == 1 || path == 2) {
    flatBackward(x, wr, dySlice, dwr, dbr, 0, N, C, H, W, Oc, KH, KW, PH, PW, DH, DW, G, OH, OW, cols);
  } else {
    conv2dBackward(x, wr, dySlice, dwr, dbr, 0, N, C, H, W, Oc, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, cols, gemmScratch);
  }
}

/**
 * The block of taps (of each group's Cg·KH·KW) in whole multiples of which threads split the
 * weight gradient of this shape by ranges of taps (conv2dWeightGradTaps), or 0 where it does not
 * run by the flat pass: 2 on the channel lanes (taps in pairs), else 4 (the flat and dense
 * kernels' groups of 4 taps). Any range gives the whole's bits; the blocks keep a range off the
 * kernels' tails. Groups and dilation too; not the depthwise kernels. A pure function of the shape.
 */
export function conv2dWeightGradTapUnit(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): i32 {
  if (dwconvApplies(C, G) || pointwiseS2Applies(W, KH, KW, SH, SW, PH, PW, OW) || isPointwise(H, W, KH, KW, SH, SW, PH, PW, OH, OW)) return 0;
  // As conv2dBackward: a Winograd whose weight gradient is not by tiles runs it by the flat pass.
  const tile = winogradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW);
  const flat = tile != 0 ? winogradWeightGradTile(tile, N, C, OH, OW) == 0 : flatApplies(H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW);
  return !flat ? 0 : chanApplies(O / G) ? 2 : 4;
}

/** Floats of scratch each range of conv2dWeightGradTaps takes (the flat pass's). In f64, as conv2dColsFloats. */
export function conv2dWeightGradTapsFloats(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): f64 {
  return flatScratchFloats(C, H, W, O, KH, KW, PH, PW, DH, DW, G, OH, OW);
}

/**
 * dw += ∂L/∂w for the taps [k0, k1) of each group's Cg·KH·KW, every output channel, and db (≠ 0)
 * of the output channels [⌊O·k0/Kg⌋, ⌊O·k1/Kg⌋): the same bits as conv2dBackward's, for a shape
 * conv2dWeightGradTapUnit gives nonzero. Threads taking disjoint ranges (each in its own
 * conv2dWeightGradTapsFloats of `scratch`) need no partial sums.
 */
export function conv2dWeightGradTaps(
  x: usize, dy: usize, dw: usize, db: usize, k0: i32, k1: i32,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, scratch: usize,
): void {
  flatWeightGradTaps(x, dy, dw, db, k0, k1, N, C, H, W, O, KH, KW, PH, PW, DH, DW, G, OH, OW, scratch);
}

/**
 * One thread's share of a backward split in one hand-off: dw of the taps [k0, k1) and its share of
 * db (conv2dWeightGradTaps), then dx of the images [n0, n0 + count) (conv2dInputGrad, when dx ≠ 0
 * and count > 0), one after the other in `scratch` (the larger of the two's). The same bits as
 * conv2dBackward's, for a shape conv2dWeightGradTapUnit gives nonzero and conv2dBatchSplits lets
 * split dx.
 */
export function conv2dBackwardTaps(
  x: usize, w: usize, dy: usize, dw: usize, db: usize, dx: usize, k0: i32, k1: i32, n0: i32, count: i32,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, scratch: usize, gemmScratch: usize,
): void {
  flatWeightGradTaps(x, dy, dw, db, k0, k1, N, C, H, W, O, KH, KW, PH, PW, DH, DW, G, OH, OW, scratch);
  if (dx == 0 || count <= 0) return;
  conv2dInputGrad(w, dy + (<usize>n0 * O * OH * OW << 2), dx + (<usize>n0 * C * H * W << 2),
    count, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW, scratch, gemmScratch);
}

/**
 * The m of the m×m tiles of dy by which conv2dBackward's weight gradient runs on 6×6 input patches
 * (conv-winograd-dw-f4.ts: 4 for 3×3 kernels, 2 for 5×5's F(5×5,2×2)), else 0.
 */
function alpha6WeightGradTile(
  N: i32, C: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): i32 {
  if (G != 1 || dwconvApplies(C, G)) return 0;
  const dwTile = winogradWeightGradTile(winogradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW), N, C, OH, OW);
  return dwTile == 4 ? 4 : dwTile == WINOGRAD_TILE_5X5 ? 2 : 0;
}

/**
 * The rows of the transformed tile by which the weight gradient of this shape splits over threads
 * without a transform done twice (conv2dWeightGradPart, then conv2dWeightGradFinish): 6 where it
 * runs by Winograd on 6×6 input patches (3×3 kernels by 4×4 tiles, 5×5 by F(5×5,2×2)), else 0.
 * Every range of rows, of chunks of tiles and of output channels gives the whole's bits
 * (tests/threads.test.js). A pure function of the shape and the build.
 */
export function conv2dWeightGradRowSplits(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): i32 {
  return alpha6WeightGradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW) != 0 ? 6 : 0;
}

/** The chunks of tiles the weight gradient of a shape conv2dWeightGradRowSplits gives ≠ 0 sums, in order (conv2dWeightGradPart's k0, k1). */
export function conv2dWeightGradChunks(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): i32 {
  return alpha6WeightGradChunks(alpha6WeightGradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW), N, OH, OW);
}

/** Floats of the sums Z (conv2dWeightGradPart), and of each chunk's kept apart: 36 planes of O·C, a cache line apart. In f64. */
export function conv2dWeightGradSumsFloats(O: i32, C: i32): f64 { return alpha6WeightGradSumsFloats(O, C); }

/**
 * Floats of work scratch conv2dWeightGradPart needs for a range of `rows` rows (at least
 * conv2dWeightGradFinish's 30 f64), for a shape conv2dWeightGradRowSplits gives ≠ 0. In f64.
 */
export function conv2dWeightGradRowsFloats(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, rows: i32,
): f64 {
  const m = alpha6WeightGradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW);
  return max(60, alpha6WeightGradRowsFloats(m, N, C, O, OH, OW, rows));
}

/**
 * The weight gradient's first part, for a shape conv2dWeightGradRowSplits gives ≠ 0: the sums
 * over the chunks of tiles [k0, k1) of rows [r0, r1) of the transformed tile, into the sums Z
 * (conv2dWeightGradSumsFloats, shared by all parts) when `apart` is 0, chunk 0 overwriting
 * them, else each chunk's into its own conv2dWeightGradSumsFloats from `apart` on, for conv2dWeightGradFinish
 * to add to Z in order (winogradAlpha6WeightGradPart). Each value the whole's bits; the
 * transforms of x and dy done for those rows and chunks alone. `work`:
 * conv2dWeightGradRowsFloats(…, r1 − r0).
 */
export function conv2dWeightGradPart(
  x: usize, dy: usize, Z: usize, r0: i32, r1: i32, k0: i32, k1: i32, apart: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, work: usize,
): void {
  const m = alpha6WeightGradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW);
  winogradAlpha6WeightGradPart(m, x, dy, Z, r0, r1, k0, k1, apart, N, C, H, W, O, PH, PW, OH, OW, work);
}

/**
 * The weight gradient's second part, once conv2dWeightGradPart has run on every row and chunk:
 * for output channels [o0, o1) alone, the `count` chunks kept apart (from `apart` on) added to Z
 * in order, then dw (and db, if ≠ 0), the same bits as conv2dBackward's whatever the range.
 * `work`: 30 f64 of temporaries.
 */
export function conv2dWeightGradFinish(
  Z: usize, apart: usize, count: i32, dy: usize, dw: usize, db: usize, o0: i32, o1: i32,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, work: usize,
): void {
  if (count > 0) winogradAlpha6AddChunks(Z, apart, count, O, C, o0, o1);
  if (db != 0) biasGradChannelRange(db, dy, N, O, o0, o1, OH * OW);
  winogradAlpha6KernelGrad(alpha6WeightGradTile(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW), Z, O, C, dw, o0, o1, work);
}

/**
 * Whether the backward of this shape splits by ranges of input channels (conv2dDepthwiseBackwardRange):
 * 1 for the depthwise kernels on planes, whose passes (dw, db, dx) run channel by channel, else
 * 0 (the channel-lane kernels among them). A pure function of the shape and the build.
 */
export function conv2dDepthwiseSplits(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): i32 {
  return dwconvApplies(C, G) && !dwconvLanes(C, O, OW) ? 1 : 0;
}

/**
 * conv2dBackward of a depthwise convolution (conv2dDepthwiseSplits gives 1) for input channels
 * [c0, c0 + Cc) and their output channels alone, over the whole batch: dw, db (if ≠ 0) and dx
 * (if ≠ 0) of those channels, the same bits as the whole's. `cols` is one thread's scratch
 * (conv2dColsFloats).
 */
export function conv2dDepthwiseBackwardRange(
  x: usize, w: usize, dy: usize, dw: usize, db: usize, dx: usize, c0: i32, Cc: i32,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, cols: usize,
): void {
  dwconvBackward(x, w, dy, dw, db, dx, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, cols, c0, c0 + Cc);
}

/**
 * Whether dx of this shape splits by ranges of input channels (conv2dInputGradChannels), for the
 * lowering whose dx does not split by the batch: 1 for the batch-folded pointwise GEMM without
 * groups, else 0. A pure function of the shape and the build.
 */
export function conv2dInputGradChannelSplits(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): i32 {
  return G == 1 && conv2dAlgorithm(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW) == ALGO_POINTWISE_BATCHED_GEMM ? 1 : 0;
}

/**
 * dx = ∂L/∂x of input channels [c0, c0 + Cc) alone over the whole batch, the same bits as
 * conv2dBackward's, for a shape conv2dInputGradChannelSplits gives 1 and c0, Cc multiples of 8
 * (or a range ending at C). `cols` is one thread's scratch (conv2dColsFloats).
 */
export function conv2dInputGradChannels(
  w: usize, dy: usize, dx: usize, c0: i32, Cc: i32,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, cols: usize,
): void {
  batchedPointwiseInputGradRange(w, dy, dx, c0, Cc, N, C, O, OH * OW, cols);
}

/**
 * Whether conv2dForwardActChannels applies to this shape, for the lowerings whose forward does not
 * split by the batch: 1 for the batch-folded GEMMs (pointwise and im2col) without groups, else 0.
 * A pure function of the shape and the build.
 */
export function conv2dForwardChannelSplits(
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
): i32 {
  const algo = conv2dAlgorithm(N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW);
  return G == 1 && (algo == ALGO_POINTWISE_BATCHED_GEMM || algo == ALGO_IM2COL_BATCHED_GEMM) ? 1 : 0;
}

/**
 * conv2dForwardAct for output channels [o0, o0 + Oc) alone over the whole batch (o0, Oc multiples
 * of 4, or a range ending at O), for a shape conv2dForwardChannelSplits gives 1: those channels'
 * planes of y are act(conv2d(x, w) + b), the same bits as the whole's. Returns how many of them
 * are NaN or infinite before the activation (0 without one); when some are, those planes hold
 * the output without it. `cols` is one thread's scratch (conv2dColsFloats).
 */
export function conv2dForwardActChannels(
  x: usize, snap: usize, hasBias: i32, y: usize, o0: i32, Oc: i32,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32,
  cols: usize, act: i32,
): i32 {
  const b = hasBias ? snap + (<usize>snapshotKernelFloats(N, C, O, KH, KW, SH, SW, DH, DW, G, OH, OW) << 2) : 0;
  const pointwise = isPointwise(H, W, KH, KW, SH, SW, PH, PW, OH, OW), P = OH * OW;
  batchedForwardRange(x, snap, b, y, o0, Oc, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, pointwise, cols);
  if (act == 0) return 0;
  let bad = false;
  for (let n = 0; n < N; n++) {
    const yn = y + (<usize>(n * O + o0) * P << 2);
    if (activationFlag(yn, yn, Oc * P, act)) bad = true;
  }
  if (!bad) return 0;
  // A NaN or infinity before the activation (the error path): the count from the output without it.
  batchedForwardRange(x, snap, b, y, o0, Oc, N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, pointwise, cols);
  let count = 0;
  for (let n = 0; n < N; n++) count += countNonFinite(y + (<usize>(n * O + o0) * P << 2), Oc * P);
  return count;
}
