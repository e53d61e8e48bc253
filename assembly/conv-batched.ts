// Convolutions on small maps with the batch folded into one GEMM per group.
//
// Per image, the GEMM of conv.ts is [Og×K]·[K×P] with P = OH·OW: on 2×2 or 1×1 maps P is
// smaller than the micro-kernel's 8 columns, so every tile is an edge tile and the weights are
// packed again for every image. Here the cols of all N images (im2col per image into its own
// column slice, or the input planes themselves for a pointwise convolution) make one matrix
// cols_all [K × N·P], and each group runs
//   forward          Y_all   = W · cols_all            [Og, N·P] = [Og, K]·[K, N·P]
//   weight gradient  dW     += dY_all · cols_allᵀ      [Og, K]   = [Og, N·P]·[N·P, K]
//   input gradient   dcols   = Wᵀ · dY_all             [K, N·P]  = [K, Og]·[Og, N·P]
// with Y_all / dY_all [Og × N·P] gathered from or scattered to NCHW (the bias added on the
// way out), and dcols scattered (pointwise) or col2im'd per image back to dx.
//
// Scratch: cols_all (K·N·P floats) then Y_all / dY_all (Og·N·P floats), per group in turn.
import { gemm } from "./gemm";
import { biasGradChannels } from "./bias";
import { im2col, col2imAdd } from "./im2col";

/**
 * The largest output map (OH·OW) folded, from the harness's zoo (1×1 and stride-2 3×3 shapes
 * of ResNet-20 and MobileNetV2 at batch 16 and 64): on maps up to 8×8 one wide GEMM beats N
 * narrow ones; on larger maps the per-image GEMMs already run full tiles and folding only adds
 * the copies.
 */
const BATCHED_MAX_P = 64;

/** Whether a convolution that would run one GEMM per image folds its batch instead. */
// @ts-ignore: decorator
@inline export function batchedApplies(N: i32, OH: i32, OW: i32): bool {
  return N >= 2 && OH * OW <= BATCHED_MAX_P;
}

/** Floats of scratch batchedForward/batchedBackward need, in f64 (see conv2dColsFloats). */
export function batchedScratchFloats(N: i32, C: i32, O: i32, KH: i32, KW: i32, G: i32, OH: i32, OW: i32): f64 {
  const K = <f64>(C / G) * <f64>KH * <f64>KW;
  return (K + <f64>(O / G)) * <f64>N * <f64>OH * <f64>OW;
}

/** y = conv2d(x, w) + b, one GEMM per group over the whole batch. */
export function batchedForward(
  x: usize, w: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, pointwise: bool,
  scratch: usize, gemmScratch: usize,
): void {
  const Cg = C / G, Og = O / G, K = Cg * KH * KW, P = OH * OW, NP = N * P;
  const cols = scratch;
  const out = scratch + (<usize>K * NP << 2);
  for (let g = 0; g < G; g++) {
    gatherCols(x, N, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, g * Cg, Cg, pointwise, cols);
    gemm(0, 0, Og, NP, K, w + (<usize>(g * Og) * K << 2), K, cols, NP, out, NP, 0, gemmScratch);
    scatterPlanes(out, N, O, g * Og, Og, P, y, b != 0 ? b + (<usize>(g * Og) << 2) : 0);
  }
}

/** dw += ∂L/∂w, db += ∂L/∂b (if db ≠ 0), dx = ∂L/∂x (if dx ≠ 0), one GEMM per group and product. */
export function batchedBackward(
  x: usize, w: usize, dy: usize, dw: usize, db: usize, dx: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, pointwise: bool,
  scratch: usize, gemmScratch: usize,
): void {
  const Cg = C / G, Og = O / G, K = Cg * KH * KW, P = OH * OW, NP = N * P;
  const cols = scratch;
  const dyAll = scratch + (<usize>K * NP << 2);
  if (db != 0) biasGradChannels(db, dy, N, O, P);
  // col2im adds into dx (windows overlap), so it starts from zero; the pointwise scatter overwrites.
  if (dx != 0 && !pointwise) memory.fill(dx, 0, <usize>N * C * H * W << 2);
  for (let g = 0; g < G; g++) {
    const wg = w + (<usize>(g * Og) * K << 2);
    gatherPlanes(dy, N, O, g * Og, Og, P, dyAll);
    gatherCols(x, N, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, g * Cg, Cg, pointwise, cols);
    gemm(0, 1, Og, K, NP, dyAll, NP, cols, NP, dw + (<usize>(g * Og) * K << 2), K, 1, gemmScratch);
    if (dx == 0) continue;
    // cols has been consumed by the weight gradient: reuse it for dcols.
    gemm(1, 0, K, NP, Og, wg, K, dyAll, NP, cols, NP, 0, gemmScratch);
    if (pointwise) {
      scatterPlanes(cols, N, C, g * Cg, Cg, P, dx, 0);
    } else {
      for (let n = 0; n < N; n++) {
        col2imAdd(cols + (<usize>(n * P) << 2), Cg, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW,
          dx + (<usize>(n * C + g * Cg) * H * W << 2), NP);
      }
    }
  }
}

/** cols_all [Cg·KH·KW × N·P] for channels c0..c0+Cg of every image. */
function gatherCols(
  x: usize, N: i32, C: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, OH: i32, OW: i32, c0: i32, Cg: i32, pointwise: bool, cols: usize,
): void {
  const P = OH * OW, NP = N * P;
  if (pointwise) {
    gatherPlanes(x, N, C, c0, Cg, P, cols);
    return;
  }
  for (let n = 0; n < N; n++) {
    im2col(x + (<usize>(n * C + c0) * H * W << 2), Cg, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW,
      cols + (<usize>(n * P) << 2), NP);
  }
}

/** dst[c, n·P + p] = src[n, c0 + c, p] for c < count: NCHW planes → one [count × N·P] matrix. */
function gatherPlanes(src: usize, N: i32, channels: i32, c0: i32, count: i32, P: i32, dst: usize): void {
  const ld = <usize>N * P;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < count; c++) {
      copyFloats(dst + ((<usize>c * ld + <usize>n * P) << 2), src + (<usize>(n * channels + c0 + c) * P << 2), P);
    }
  }
}

/**
 * dst[n, c0 + c, p] = src[c, n·P + p] (+ bias[c] when bias ≠ 0) for c < count: the inverse of
 * gatherPlanes, writing (not adding).
 */
function scatterPlanes(src: usize, N: i32, channels: i32, c0: i32, count: i32, P: i32, dst: usize, bias: usize): void {
  const ld = <usize>N * P;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < count; c++) {
      const s = src + ((<usize>c * ld + <usize>n * P) << 2);
      const d = dst + (<usize>(n * channels + c0 + c) * P << 2);
      if (bias != 0) addBiasFloats(d, s, load<f32>(bias + (<usize>c << 2)), P);
      else copyFloats(d, s, P);
    }
  }
}

// @ts-ignore: decorator
@inline function copyFloats(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}

// @ts-ignore: decorator
@inline function addBiasFloats(dst: usize, src: usize, v: f32, n: i32): void {
  const vv = f32x4.splat(v);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), f32x4.add(v128.load(src + (<usize>i << 2)), vv));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)) + v);
}
