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
// The products run gemm-inplace.ts (no packing): the weight gradient reads cols_allᵀ, made by
// one SIMD transpose, and on 1×1 maps the gathers and the scatter are transposes of [N × C]
// matrices. Measured against the packing GEMM (CPU time, same process, both builds alternating;
// % of the FMA peak, batch 16 / 64): 1×1 288→80, 80→480, 480→160, 160→1280 on 1×1 maps forward
// 32–54% → 80–85%, dX 42–70% → 78–88%, dW 31–51% → 50–78%; on 2×2 maps +5–18% forward, +3–19%
// dX, +10–50% dW; 3×3 32→64 s2 and 1×1 32→64 s2 on 16×16 +1–11%.
//
// Pointwise convolutions skip the gathers where the tensors can be read in place: on 1×1 maps
// the backward is a linear layer's (dW += dyᵀ·x, dx = dy·W on the [N × C] matrices); on maps of
// 4, 16, … pixels the forward and dx run gemmInPlaceNCHW on x / dy and y / dx directly, and the
// weight gradient transposes each image's block of x into cols_allᵀ. Measured as above against
// the gathering version: 1×1 on 2×2 maps forward ×1.0–1.3, dX ×1.0–1.3, dW ×1.2–1.5; on 1×1
// maps dW ×1.0–1.1. Writing y in place from a strided convolution's cols_all measured ×0.6–0.9
// (the column counters around the inlined micro-kernel): those keep Y_all and the scatter.
//
// im2col runs in chunks of images whose cols stay in L2 (chunkImages): cols_all as one matrix
// was 1.2 MB for 3×3 32→64 s2 on 16×16 at batch 16, written by im2col and read back by the GEMM
// from L3. Chunked, measured as above: that shape forward ×1.08–1.22, dX ×1.08, dW ×1.09–1.39.
//
// What still keeps some shapes under 70% of the peak (same measurements, batch 16 / 64):
// - 3×3 32→64 s2 on 16×16: forward ~63%, dX ~55–60%, dW ~58%, while the GEMMs alone run at
//   76–81%: im2col, col2im and the transpose move K·N·P floats for 64 multiply-adds each (Og =
//   64), about a fifth of the time. (Its forward and dW now run conv-strided.ts's implicit
//   GEMMs, ~70%, and its dX conv-strided-dx.ts's phases, 69–74%, none of them folded.)
// - 1×1 32→64 s2 on 16×16: ~50–60%: with K = 32 the subsampling im2col, the scatter of Y_all and
//   the transpose are a third of the GEMM's work (the GEMM alone: 87% forward). Subsampling x
//   once into [N, C, OH, OW] and running the pointwise lowering's in-place GEMMs on it
//   (gemmInPlaceNCHW: no Y_all, no scatter of y; dx by col2imPoint from Wᵀ·dy) measured forward
//   ×0.87–1.05 and dX ×0.92–1.13 against this and the per-image lowering of 1×1 16→32 s2 on
//   32×32 (batch 16 and 64): not taken. Nor dx by output phase (conv-strided-dx.ts): three of
//   the four phases are zeros, ×0.68–0.77. (Both shapes now run conv-pointwise-s2.ts: the
//   forward on one image subsampled at a time, in L1; dx written in place; dW against xsᵀ.)
// - dW of 1×1 convolutions on 1×1 maps at batch 16 (~52–73%): the reduction is 16 deep, so each
//   4×8 tile of dW costs 24 loads, adds and stores of its accumulation for 128 multiply-adds.
//
// Scratch: cols_all (K rows) then Y_all / dY_all (Og rows), both of row stride leading(N·P),
// then cols_allᵀ (N·P × K), per group in turn; a chunk's cols and cols_allᵀ use the start of
// theirs.
import { gemmInPlace, gemmInPlaceNCHW } from "./gemm-inplace";
import { biasChannels, biasGradChannels } from "./bias";
import { im2col, col2imAdd, col2imWrites, col2imPoint } from "./im2col";

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

/**
 * The row stride of cols_all, Y_all and dY_all in floats: N·P, or 8 more when N·P is a multiple
 * of 32. The GEMM reads 8 columns of every row in place, and rows 128·m bytes apart fall in at
 * most 32 of L1's 64 sets: with K = 288 rows 4096 bytes apart (3×3 32→64 s2, batch 16) they
 * all fell in one set and the forward ran at 36% of the peak instead of 64%.
 */
// @ts-ignore: decorator
@inline function leading(NP: i32): i32 {
  return NP % 32 == 0 ? NP + 8 : NP;
}

/** Floats of scratch batchedForward/batchedBackward need, in f64 (see conv2dColsFloats). */
export function batchedScratchFloats(N: i32, C: i32, O: i32, KH: i32, KW: i32, G: i32, OH: i32, OW: i32): f64 {
  const K = <f64>(C / G) * <f64>KH * <f64>KW;
  // cols_all and Y_all / dY_all at the padded stride, then cols_allᵀ for the weight gradient.
  return (K + <f64>(O / G)) * <f64>leading(N * OH * OW) + K * <f64>N * <f64>OH * <f64>OW;
}

/** y = conv2d(x, w) + b, one GEMM per group over the whole batch. */
export function batchedForward(
  x: usize, w: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, pointwise: bool,
  scratch: usize,
): void {
  const Cg = C / G, Og = O / G, K = Cg * KH * KW, P = OH * OW, NP = N * P, ld = leading(NP);
  const cols = scratch;
  const out = scratch + (<usize>K * ld << 2);
  if (pointwise && P % 4 == 0) {
    // Maps of 4, 16, … pixels: W · x straight from x's planes into y's (gemmInPlaceNCHW), onto the bias.
    if (b != 0) biasChannels(y, b, N, O, P);
    for (let g = 0; g < G; g++) {
      gemmInPlaceNCHW(0, Og, N, P, Cg, w + (<usize>(g * Og) * Cg << 2), Cg, x + (<usize>(g * Cg) * P << 2), C * P,
        y + (<usize>(g * Og) * P << 2), O * P, b != 0 ? 1 : 0);
    }
    return;
  }
  const nb = chunkImages(N, K, P), image = <usize>C * H * W << 2;
  for (let g = 0; g < G; g++) {
    for (let n0 = 0; n0 < N; n0 += nb) {
      const nn = min(nb, N - n0), cld = leading(nn * P);
      gatherCols(x + <usize>n0 * image, nn, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, g * Cg, Cg, pointwise, cols, cld);
      gemmInPlace(0, Og, nn * P, K, w + (<usize>(g * Og) * K << 2), K, cols, cld, out + (<usize>(n0 * P) << 2), ld, 0);
    }
    scatterPlanes(out, ld, N, O, g * Og, Og, P, y, b != 0 ? b + (<usize>(g * Og) << 2) : 0);
  }
}

/**
 * batchedForward (G = 1) for output channels [o0, o0 + Oc) alone, into their planes of y (O
 * channels): the same bits as the whole's when o0 and Oc are multiples of 4 (or the range ends
 * at O), the GEMM's row tiles then being the whole's and each value summed over K in the same
 * order. Each range gathers the whole cols_all itself (`scratch` as batchedScratchFloats').
 */
export function batchedForwardRange(
  x: usize, w: usize, b: usize, y: usize, o0: i32, Oc: i32,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, OH: i32, OW: i32, pointwise: bool,
  scratch: usize,
): void {
  const K = C * KH * KW, P = OH * OW, ld = leading(N * P);
  const wr = w + (<usize>o0 * K << 2), br = b != 0 ? b + (<usize>o0 << 2) : 0;
  if (pointwise && P % 4 == 0) {
    if (br != 0) for (let n = 0; n < N; n++) biasChannels(y + (<usize>(n * O + o0) * P << 2), br, 1, Oc, P);
    gemmInPlaceNCHW(0, Oc, N, P, C, wr, C, x, C * P, y + (<usize>o0 * P << 2), O * P, br != 0 ? 1 : 0);
    return;
  }
  const cols = scratch, out = scratch + (<usize>K * ld << 2);
  const nb = chunkImages(N, K, P), image = <usize>C * H * W << 2;
  for (let n0 = 0; n0 < N; n0 += nb) {
    const nn = min(nb, N - n0), cld = leading(nn * P);
    gatherCols(x + <usize>n0 * image, nn, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, 0, C, pointwise, cols, cld);
    gemmInPlace(0, Oc, nn * P, K, wr, K, cols, cld, out + (<usize>(n0 * P) << 2), ld, 0);
  }
  scatterPlanes(out, ld, N, O, o0, Oc, P, y, br);
}

/**
 * Images per chunk of cols_all: as many as keep K × chunk·P floats within CHUNK_FLOATS, so
 * that im2col writes and the GEMM then reads cols in L2. Unchunked, 3×3 32→64 s2 on 16×16 at
 * batch 16 wrote 1.2 MB of cols per call and im2col took a third of the forward.
 */
function chunkImages(N: i32, K: i32, P: i32): i32 {
  return max(1, min(N, CHUNK_FLOATS / max(1, K * P)));
}

/** The floats of cols one chunk may hold: 256 KB, half of L2. */
const CHUNK_FLOATS = 64 * 1024;

/**
 * dw += ∂L/∂w, db += ∂L/∂b (if db ≠ 0), dx = ∂L/∂x (if dx ≠ 0), one GEMM per group and product.
 * dw = 0 skips the weight gradient of an im2col convolution (conv-strided.ts has made it).
 */
export function batchedBackward(
  x: usize, w: usize, dy: usize, dw: usize, db: usize, dx: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, pointwise: bool,
  scratch: usize,
): void {
  const Cg = C / G, Og = O / G, K = Cg * KH * KW, P = OH * OW, NP = N * P, ld = leading(NP);
  const cols = scratch;
  const dyAll = scratch + (<usize>K * ld << 2);
  const colsT = dyAll + (<usize>Og * ld << 2);
  if (db != 0) biasGradChannels(db, dy, N, O, P);
  if (pointwise && P == 1) {
    pointwiseBackward1x1(x, w, dy, dw, dx, N, C, O, G);
    return;
  }
  // col2im adds into dx (windows overlap), so it starts from zero; the pointwise scatter and
  // col2imPoint overwrite.
  const writes = col2imWrites(KH, KW, PH, PW);
  if (dx != 0 && !pointwise && !writes) memory.fill(dx, 0, <usize>N * C * H * W << 2);
  for (let g = 0; g < G; g++) {
    const wg = w + (<usize>(g * Og) * K << 2);
    gatherPlanes(dy, N, O, g * Og, Og, P, dyAll, ld);
    // dW += dY_all · cols_allᵀ with cols_allᵀ [N·P × K] made by transposes, so that both
    // operands are read in place along their rows (the packing GEMM gathered cols_allᵀ float by
    // float). A pointwise convolution's cols_allᵀ is each image's [Cg × P] block of x transposed.
    const dwg = dw + (<usize>(g * Og) * K << 2);
    if (pointwise) {
      for (let n = 0; n < N; n++) {
        transposeFloats(x + (<usize>(n * C + g * Cg) * P << 2), P, Cg, P, colsT + (<usize>(n * P) * K << 2), K);
      }
      gemmInPlace(0, Og, K, NP, dyAll, ld, colsT, K, dwg, K, 1);
      if (dx == 0) continue;
      if (P % 4 == 0) {
        // Wᵀ · dy straight from dy's planes into dx's.
        gemmInPlaceNCHW(1, Cg, N, P, Og, wg, Cg, dy + (<usize>(g * Og) * P << 2), O * P, dx + (<usize>(g * Cg) * P << 2), C * P, 0);
        continue;
      }
    }
    // Chunks of images whose cols stay in L2 (chunkImages): im2col, dW, then dcols in the same
    // cols and col2im (or the scatter of a pointwise convolution's dx).
    const nb = chunkImages(N, K, P), image = <usize>C * H * W << 2;
    for (let n0 = 0; n0 < N; n0 += nb) {
      const nn = min(nb, N - n0), cnp = nn * P, cld = leading(cnp), dyc = dyAll + (<usize>(n0 * P) << 2);
      if (!pointwise && dw != 0) {
        gatherCols(x + <usize>n0 * image, nn, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, g * Cg, Cg, pointwise, cols, cld);
        transposeFloats(cols, cld, K, cnp, colsT, K);
        gemmInPlace(0, Og, K, cnp, dyc, ld, colsT, K, dwg, K, 1);
      }
      if (dx == 0) continue;
      gemmInPlace(1, K, cnp, Og, wg, K, dyc, ld, cols, cld, 0);
      const dxc = dx + <usize>n0 * image;
      if (pointwise) {
        scatterPlanes(cols, cld, nn, C, g * Cg, Cg, P, dxc, 0);
      } else {
        for (let n = 0; n < nn; n++) {
          const dxg = dxc + (<usize>(n * C + g * Cg) * H * W << 2);
          if (writes) col2imPoint(cols + (<usize>(n * P) << 2), Cg, H, W, SH, SW, OH, OW, dxg, cld);
          else col2imAdd(cols + (<usize>(n * P) << 2), Cg, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, dxg, cld);
        }
      }
    }
  }
}

/**
 * dx = ∂L/∂x of a pointwise convolution (G = 1) for input channels [c0, c0 + Cc) alone, the same
 * bits as batchedBackward's when c0 and Cc are multiples of 8 (or the range ends at C): its rows
 * of Wᵀ·dY (its columns of dy·W on 1×1 maps) run in the whole's micro-kernel tiles, each value
 * summed over the O channels in the same order, so threads taking disjoint ranges get the whole's dx.
 */
export function batchedPointwiseInputGradRange(
  w: usize, dy: usize, dx: usize, c0: i32, Cc: i32, N: i32, C: i32, O: i32, P: i32, scratch: usize,
): void {
  if (P == 1) {
    gemmInPlace(0, N, Cc, O, dy, O, w + (<usize>c0 << 2), C, dx + (<usize>c0 << 2), C, 0);
    return;
  }
  const wr = w + (<usize>c0 << 2);
  if (P % 4 == 0) {
    gemmInPlaceNCHW(1, Cc, N, P, O, wr, C, dy, O * P, dx + (<usize>c0 * P << 2), C * P, 0);
    return;
  }
  // As batchedBackward: dY_all gathered, then by chunks of images (the whole's chunks: K = C).
  const ld = leading(N * P), cols = scratch, dyAll = scratch + (<usize>C * ld << 2);
  gatherPlanes(dy, N, O, 0, O, P, dyAll, ld);
  const nb = chunkImages(N, C, P);
  for (let n0 = 0; n0 < N; n0 += nb) {
    const nn = min(nb, N - n0), cld = leading(nn * P);
    gemmInPlace(1, Cc, nn * P, O, wr, C, dyAll + (<usize>(n0 * P) << 2), ld, cols, cld, 0);
    scatterPlanes(cols, cld, nn, C, c0, Cc, P, dx + (<usize>n0 * C * P << 2), 0);
  }
}

/**
 * dw += ∂L/∂w, dx = ∂L/∂x (if dx ≠ 0) of a 1×1 convolution on 1×1 maps: x, dy and dx are the
 * [N × C], [N × O] and [N × C] matrices of a linear layer, so per group
 *   dW[Og × Cg] += dyᵀ · x      dx[N × Cg] = dy · W
 * read and write them in place (dyᵀ as the GEMM's transposed A), with no gather or scatter.
 */
function pointwiseBackward1x1(x: usize, w: usize, dy: usize, dw: usize, dx: usize, N: i32, C: i32, O: i32, G: i32): void {
  const Cg = C / G, Og = O / G;
  for (let g = 0; g < G; g++) {
    const dyg = dy + (<usize>(g * Og) << 2), xg = x + (<usize>(g * Cg) << 2);
    const wg = w + (<usize>(g * Og) * Cg << 2);
    gemmInPlace(1, Og, Cg, N, dyg, O, xg, C, dw + (<usize>(g * Og) * Cg << 2), Cg, 1);
    if (dx != 0) gemmInPlace(0, N, Cg, Og, dyg, O, wg, Cg, dx + (<usize>(g * Cg) << 2), C, 0);
  }
}

/**
 * dst[c·ds + r] = src[r·ss + c] for r < rows, c < cols (strides in floats): 4×4 blocks by
 * shuffles, the edges one float at a time.
 */
export function transposeFloats(src: usize, ss: i32, rows: i32, cols: i32, dst: usize, ds: i32): void {
  const sb = <usize>ss << 2, db = <usize>ds << 2;
  const r4 = rows & ~3, c4 = cols & ~3;
  for (let r = 0; r < r4; r += 4) {
    let s = src + <usize>r * sb, d = dst + (<usize>r << 2);
    for (let c = 0; c < c4; c += 4) {
      const x0 = v128.load(s), x1 = v128.load(s + sb), x2 = v128.load(s + 2 * sb), x3 = v128.load(s + 3 * sb);
      const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
      const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
      v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
      v128.store(d + db, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
      v128.store(d + 2 * db, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
      v128.store(d + 3 * db, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
      s += 16; d += 4 * db;
    }
    for (let c = c4; c < cols; c++) {
      for (let i = 0; i < 4; i++) store<f32>(dst + <usize>c * db + (<usize>(r + i) << 2), load<f32>(src + <usize>(r + i) * sb + (<usize>c << 2)));
    }
  }
  for (let r = r4; r < rows; r++) {
    for (let c = 0; c < cols; c++) store<f32>(dst + <usize>c * db + (<usize>r << 2), load<f32>(src + <usize>r * sb + (<usize>c << 2)));
  }
}

/** cols_all [Cg·KH·KW × N·P] (row stride ld) for channels c0..c0+Cg of every image. */
function gatherCols(
  x: usize, N: i32, C: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, OH: i32, OW: i32, c0: i32, Cg: i32, pointwise: bool, cols: usize, ld: i32,
): void {
  const P = OH * OW;
  if (pointwise) {
    gatherPlanes(x, N, C, c0, Cg, P, cols, ld);
    return;
  }
  for (let n = 0; n < N; n++) {
    im2col(x + (<usize>(n * C + c0) * H * W << 2), Cg, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW,
      cols + (<usize>(n * P) << 2), ld);
  }
}

/**
 * dst[c, n·P + p] = src[n, c0 + c, p] for c < count: NCHW planes → one [count × N·P] matrix of
 * row stride ld. On 1×1 maps that is a transpose of the [N × channels] matrix src.
 */
function gatherPlanes(src: usize, N: i32, channels: i32, c0: i32, count: i32, P: i32, dst: usize, ld: i32): void {
  if (P == 1) {
    transposeFloats(src + (<usize>c0 << 2), channels, N, count, dst, ld);
    return;
  }
  if (P == 4) {
    // 2×2 maps: one f32x4 a row, in a loop of nothing else (copyFloats' tails cost as much).
    const step = <usize>ld << 2;
    for (let n = 0; n < N; n++) {
      let s = src + (<usize>(n * channels + c0) << 4), d = dst + (<usize>n << 4);
      for (let c = 0; c < count; c++) { v128.store(d, v128.load(s)); s += 16; d += step; }
    }
    return;
  }
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < count; c++) {
      copyFloats(dst + ((<usize>c * ld + <usize>n * P) << 2), src + (<usize>(n * channels + c0 + c) * P << 2), P);
    }
  }
}

/**
 * dst[n, c0 + c, p] = src[c, n·P + p] (+ bias[c] when bias ≠ 0) for c < count, src of row
 * stride ld: the inverse of gatherPlanes, writing (not adding).
 */
function scatterPlanes(src: usize, ld: i32, N: i32, channels: i32, c0: i32, count: i32, P: i32, dst: usize, bias: usize): void {
  if (P == 1) {
    const d = dst + (<usize>c0 << 2);
    transposeFloats(src, ld, count, N, d, channels);
    if (bias != 0) for (let n = 0; n < N; n++) addFloatsInPlace(d + (<usize>n * channels << 2), bias, count);
    return;
  }
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
@inline function addFloatsInPlace(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), f32x4.add(v128.load(dst + (<usize>i << 2)), v128.load(src + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(dst + (<usize>i << 2)) + load<f32>(src + (<usize>i << 2)));
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
