// The weight gradient of a 3×3, stride-1, undilated, ungrouped convolution by Winograd with 4×4
// tiles ("F(3×3,4×4)": the 6×6 input patches of F(4×4,3×3), conv-winograd-f4.ts). With
// y_t = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d_t B)] A for each 4×4 output tile t, L's gradient on the transformed
// kernel U = G g Gᵀ is Σ_t (A δ_t Aᵀ) ⊙ (Bᵀ d_t B) (δ_t the tile's 4×4 of dy, zero past the
// output's edge; d_t its 6×6 input patch, zero outside the plane), and U is linear in g, so
//   ∂L/∂g = Gᵀ [Σ_t (A δ_t Aᵀ) ⊙ (Bᵀ d_t B)] G     (Gᵀ: 3×6, G: 6×3, A = (Aᵀ)ᵀ: 6×4).
// The Σ_t runs as 36 GEMMs, one per element ξ = 6i + j of the 6×6 transformed tile, over chunks
// of tiles:  Z[ξ] += D[ξ] · V[ξ]ᵀ,  [O×C] += [O×T]·[T×C]  (the chunk's T tiles: the long K), 36·O·C
// multiply-adds per tile of 16 outputs where the direct weight gradient does 144·O·C, 4× fewer
// (F(2×2,3×3)'s, conv-winograd-dw.ts: 2.25×); then dW[o, c] += Gᵀ Z[·][o][c] G once per channel
// pair, in f64.
//
//   A = | 1  0  0  0 |    A δ Aᵀ: A down each column of δ, then along each row: for a column
//       | 1  1  1  1 |    (v0, v1, v2, v3), with s = v0 + v2, t = v1 + v3, s' = v0 + 4v2,
//       | 1 −1  1 −1 |    t' = 2v1 + 8v3:  (v0, s + t, s − t, s' + t', s' − t', v3).
//       | 1  2  4  8 |
//       | 1 −2  4 −8 |    Gᵀ Z G: G's columns (¼, −⅙, −⅙, 1/24, 1/24, 0), (0, −⅙, ⅙, 1/12, −1/12, 0),
//       | 0  0  0  1 |    (0, −⅙, −⅙, ⅙, ⅙, 1) dotted with Z's rows, then with the result's columns.
//
// Layouts. The input side is conv-winograd-f4.ts's input transform writing row-major rows of
// tiles, V[ξ][c][t]; dy's side writes D[ξ][o / 8][t][o % 8], panels of 8 output channels, computing
// four channels of one tile per vector so that each result is one vector store into its panel row
// (with four tiles per vector, as the input side, each took four lane stores: 16→16 @32² ran 1.16×
// slower at batch 16 and 1.5× at 64, 32–128 channels 1.0–1.1×, alternating, median of 9). Each GEMM then runs as Z[ξ]ᵀ [C×O] += V[ξ] [C×T] · D[ξ] [T×O] on gemm-inplace.ts's
// 4×8 micro-kernel reading both operands in place: four rows of V broadcast along k, a panel of D
// 8 contiguous floats per k (4 KiB at 128 tiles, held in L1 while V's rows stream past). Z is
// [ξ][c][o]. Against D row-major [ξ][o][t] with gemm-dot.ts's A·Bᵀ (2×4 dot products, both rows
// along k), the GEMMs alone ran 1.3–1.7× faster at 16–64 channels (batch 16, on a loaded machine:
// 50–54 against 31–38 GFLOP/s); at 128 channels both fall with V's planes out of L1: 10–13 GFLOP/s
// by dot products, 15 with D [ξ][t][o] unpaneled (O floats a row, a line per k), ~20 with panels.
//
// Scratch, in floats: Z (36 planes of C·O), then per chunk V (36·C·tbr) and D (36·roundUp(O, 8)·tbr),
// each plane ξ a cache line after the last (PLANE_SKEW; Z's: zPlaneStep), then WINOGRAD_TMP_FLOATS
// of transform temporaries.
//
// Over threads (conv.ts's conv2dWeightGradPart, then conv2dWeightGradFinish): each GEMM sums its
// chunk of tiles from zero and then adds that to Z, so a thread's chunks summed apart and added
// to Z in their order afterwards give the whole's bits; or each thread takes a range of the rows
// ξ / 6, whose transforms it computes alone (winogradAlpha6WeightGradPart). Then dw by ranges of
// output channels (winogradAlpha6AddChunks, winogradAlpha6KernelGrad). Neither transforms a tile
// twice, as ranges of output channels did (each transformed all of x).
//
// Where the time goes (4×4 tiles): the phases alone, alternately in one process with the FMA peak
// loop (57–58 GFLOP/s relaxed), median of 7, load ~2; shares of the weight gradient, and the GEMMs'
// executed FLOPs as % of the peak, whole | GEMMs alone:
//                       x's transform  dy's transform  36 GEMMs  Gᵀ Z G   whole | GEMMs
//   32 → 32 @32² b16    18%            11%             70%        1%      54% | 80%
//   32 → 64 @16² b16    10%            13%             72%        5%      61% | 88%
//   32 → 64 @16² b64    11%            14%             74%        1%      53% | 88%
//   64 → 128 @32² b16    6%             9%             84%        1%      67% | 87%
//   128 → 128 @16² b16   6%             3%             85%        6%      68% | 83%
//   128 → 256 @8² b16    5%             4%             70%       22%      34% | 54%
// (a second run under load 7–8 gave the same shares within 3 points, the plain build too). Per
// tile, from the code: x's transform 198 flops a channel (storeTimesBt, 18 flops in 12 operations,
// on 5 vectors of a strip's columns and 6 rows per four tiles), dy's 110 an output channel
// (storeTimesA, 11 flops, on 4 rows and 6 columns), against the GEMMs' 72·C·O; Gᵀ Z G 153 f64 flops
// a channel pair once per pass. On FLOPs alone the GEMMs could thus reach 88% of the whole's at
// 32 → 32, 92% at 32 → 64, 96–97% from 64 → 128. The GEMMs alone run at the ceiling of
// gemm-inplace.ts's f32-gemm-4x8 with its eight accumulators: the peak loop gives 50.7 GFLOP/s
// with 8 accumulators, 58.5 with 12 (an FMA's latency over its issue rate). At 128 → 256 @8², one
// chunk of 64 tiles, Z (4.7 MB) is written by the GEMMs and read back once by Gᵀ Z G from L3.
// Tried and not taken (old ÷ new ms, alternating, median of 7, load 4–7; the same bits each):
// - f32-gemm-5x8 and -6x8 (10 and 12 accumulators): the GEMMs alone 0.45–0.5× (22–23 against
//   48–53 GFLOP/s). V8 (Node 20) allocates 15 of x86-64's 16 vector registers and loads all of a
//   k's broadcasts before its multiply-adds: 10 accumulators, 2 vectors of D and 5 broadcasts
//   spilled two accumulators, each of their chains then through a store and a load every k.
// - f32-gemm-3x12 (9 accumulators, 3 vectors of D from two panels, 3 broadcasts: 15 registers, no
//   spill in V8's code): the whole 0.67–0.77× at 32 and 128 channels.
// - f32-gemm-4x8 with V's rows 512 bytes apart as constant offsets from one pointer: 1.00–1.14×
//   (noise); with k unrolled by two as well, 0.57–0.68× (Binaryen interleaved the two k steps).
// - Chunks of 64 tiles (V and D of a chunk 0.6 MB at 32 channels, in L2, against 1.2 MB): 1.00–
//   1.05×; of 256: 0.88–1.00×.
// - dy's transform writing both halves of a panel row of D one after the other (8 channels a
//   tile, where 4 channels run over all tiles before the next 4): 0.88–1.14× whole, 0.88–1.14×
//   alone (noise).
// - Gᵀ Z G adding two taps a vector into dw (taps 0–7 as four f64 pairs, widened, added, rounded
//   once: the same bits) where addTap takes one: alone 1.02–1.10× at 32–128 channels, 0.96–0.98×
//   at 128 → 256 @8² b16, 256 → 256 @4² b16 and @8² b1, where reading Z's 36 planes bounds it;
//   with f64 multiply-adds fused as well (other bits) 0.94–1.13× against that.
//
// 5×5 kernels, "F(5×5,2×2)" (winogradF2x2K5WeightGrad): the same structure on F(2×2,5×5)'s tiles
// (conv-winograd-f2x2-5x5.ts). There y_t = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d_t B)] A for each 2×2 output tile t
// with the same Bᵀ (6×6), G: 6×5 and Aᵀ: 2×6, so by the same argument
//   ∂L/∂g = Gᵀ [Σ_t (A δ_t Aᵀ) ⊙ (Bᵀ d_t B)] G     (Gᵀ: 5×6, G: 6×5, A: 6×2, δ_t the tile's 2×2 of dy):
// ∂L/∂U = Σ_t ∂L/∂(U ⊙ V_t) ⊙ V_t, ∂L/∂(U ⊙ V_t) = A δ_t Aᵀ (the output transform's adjoint), and
// U = G g Gᵀ gives ∂L/∂g = Gᵀ (∂L/∂U) G. The input side is the same 6×6 transform with a tile step
// of 2 (inputTransformAlpha6 with m = 2, as the 5×5 forward's), the 36 GEMMs the same, D tile-major
// ([t][ξ][o], gradTransformF2x2: nine floats written for each one of dy read, where panels cost most);
// 36·O·C multiply-adds per 2×2 outputs where the direct weight gradient does 100·O·C, 2.78× fewer.
//
//   A = | 1  0 |    A δ Aᵀ: for a column (v0, v1) of δ: (v0, v0 + v1, v0 − v1, v0 + 2v1, v0 − 2v1, v1).
//       | 1  1 |
//       | 1 −1 |    Gᵀ Z G: G's columns (¼, −⅙, −⅙, 1/24, 1/24, 0), (0, −⅙, ⅙, 1/12, −1/12, 0),
//       | 1  2 |    (0, −⅙, −⅙, ⅙, ⅙, 0), (0, −⅙, ⅙, ⅓, −⅓, 0), (0, −⅙, −⅙, ⅔, ⅔, 1) (gCol5),
//       | 1 −2 |    dotted with Z's rows, then with the result's columns, in f64.
//       | 0  1 |
// Checked against the float64 reference (tests/conv-winograd-dw.test.js) before it was timed: per
// weight within 1e-5 · Σ|dy||x|. Which shapes take it: conv-winograd-table.ts (all whose forward
// runs F(2×2,5×5); 1.3–2.6× the direct flat path's speed at batch 16 and 64 there).
import { gemmInPlace } from "./gemm-inplace";
import { WINOGRAD_TMP_FLOATS, PLANE_SKEW, roundUp } from "./conv-winograd";
import { inputTransformAlpha6, tileOrigins } from "./conv-winograd-f4";

/** Tiles per chunk: the K of each of the 36 GEMMs. */
const TILE_CHUNK_DW_ALPHA6 = 128;

/** Floats of scratch winogradF4x4WeightGrad needs. */
export function winogradF4x4WeightGradScratchFloats(N: i32, C: i32, O: i32, OH: i32, OW: i32): f64 { return alpha6WeightGradScratchFloats(4, N, C, O, OH, OW); }

/** Floats of scratch winogradF2x2K5WeightGrad needs. */
export function winogradF2x2K5WeightGradScratchFloats(N: i32, C: i32, O: i32, OH: i32, OW: i32): f64 { return alpha6WeightGradScratchFloats(2, N, C, O, OH, OW); }

/** Floats of scratch of the weight gradient by m×m tiles of dy (4: 3×3 kernels, 2: 5×5): Z, then the work of all six rows. */
function alpha6WeightGradScratchFloats(m: i32, N: i32, C: i32, O: i32, OH: i32, OW: i32): f64 {
  return alpha6WeightGradSumsFloats(O, C) + alpha6WeightGradRowsFloats(m, N, C, O, OH, OW, 6);
}

/**
 * Floats of work scratch winogradAlpha6WeightGradRows needs for `rows` rows of ξ (its V and D of
 * a chunk, then WINOGRAD_TMP_FLOATS); m the tile of dy (4: 3×3 kernels, 2: 5×5).
 */
export function alpha6WeightGradRowsFloats(m: i32, N: i32, C: i32, O: i32, OH: i32, OW: i32, rows: i32): f64 {
  const tiles = <f64>N * Math.ceil(<f64>OH / m) * Math.ceil(<f64>OW / m);
  const cols = Math.ceil(min(tiles, <f64>TILE_CHUNK_DW_ALPHA6) / 8) * 8, skew = <f64>(PLANE_SKEW >> 2), planes = 6 * <f64>rows;
  return planes * (<f64>C * cols + skew) + planes * (Math.ceil(<f64>O / 8) * 8 * cols + skew) + WINOGRAD_TMP_FLOATS;
}

/**
 * dw += ∂L/∂w of y = conv2d(x, w) (w: O×C×3×3, x: N×C×H×W) from dy (N×O×OH×OW) by 4×4 tiles (see
 * the file comment); PH/PW the padding before the image; scratch: winogradF4x4WeightGradScratchFloats.
 */
export function winogradF4x4WeightGrad(
  x: usize, dy: usize, dw: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, scratch: usize,
): void {
  winogradAlpha6WeightGrad(4, x, dy, dw, N, C, H, W, O, PH, PW, OH, OW, scratch);
}

/**
 * dw += ∂L/∂w of y = conv2d(x, w) (w: O×C×5×5) from dy by 2×2 tiles of dy, F(5×5,2×2) (see the file
 * comment); arguments as winogradF4x4WeightGrad's; scratch: winogradF2x2K5WeightGradScratchFloats.
 */
export function winogradF2x2K5WeightGrad(
  x: usize, dy: usize, dw: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, scratch: usize,
): void {
  winogradAlpha6WeightGrad(2, x, dy, dw, N, C, H, W, O, PH, PW, OH, OW, scratch);
}

/**
 * Bytes from one plane ξ of Z (the weight gradients' [ξ][c][o], C·O floats a plane) to the next:
 * a cache line more than the plane (PLANE_SKEW). The back-transform reads each channel pair's
 * floats from all of Z's planes at once; a plane of 2^k bytes (C·O = 4096 floats at 64 → 64,
 * 32768 at 128 → 256) put those 16 or 36 lines in one cache set, more than its ways hold, so every
 * line left L1 (and L2) before the next pairs used it. Skewed, the same operations on the same
 * values (the same bits): the back-transform alone 2.2–2.6× faster at 32–128 channels (1.14× at
 * 128 → 256 @8², batch 16, where Z is 4.7 MB), the whole weight gradient by 4×4 tiles ×1.2–1.3 at
 * 64 → 64, 64 → 128 and 128 → 256 @8², batch 16, ×1.5–1.7 at batch 2–4, ×1.04–1.06 at
 * 128 → 128 @16² and 128 → 256 @8² batch 64, ×1.4 at 256 → 256 @4², batch 16; by 2×2 tiles ×1.05–1.2
 * (alternating in one process, median of 9–11, load 5–6 from other work). Tried beside it: Z as
 * [c][ξ][o] (rows a line apart), so that the back-transform reads it front to back: even with
 * the skewed planes at 64–128 channels and ×1.02–1.07 at 128 → 256 and 256 → 256, within the noise
 * of the day; not taken. And the GEMMs over blocks of 16 KiB of V's rows, so that V stays in L1
 * while every panel of D passes (V leaves L1 from 128 channels × 128 tiles): 0.94–1.05× at 128
 * channels, 0.68–1.33× at 64 (noise); not taken.
 */
// @ts-ignore: decorator
@inline export function zPlaneStep(O: i32, C: i32): usize { return (<usize>O * C << 2) + PLANE_SKEW; }

/** Floats of the sums Z (36 planes of C·O floats, zPlaneStep apart), and of each chunk's sums kept apart. In f64. */
export function alpha6WeightGradSumsFloats(O: i32, C: i32): f64 { return 36 * (<f64>O * <f64>C + <f64>(PLANE_SKEW >> 2)); }

/** The weight gradient by m×m tiles of dy and 6×6 input patches: m = 4 for 3×3 kernels, 2 for 5×5. */
function winogradAlpha6WeightGrad(
  m: i32, x: usize, dy: usize, dw: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, scratch: usize,
): void {
  const Z = scratch, work = Z + <usize>36 * zPlaneStep(O, C);
  winogradAlpha6WeightGradPart(m, x, dy, Z, 0, 6, 0, alpha6WeightGradChunks(m, N, OH, OW), 0, N, C, H, W, O, PH, PW, OH, OW, work);
  winogradAlpha6KernelGrad(m, Z, O, C, dw, 0, O, work);
}

/** How many chunks of tiles (TILE_CHUNK_DW_ALPHA6 each, the last the rest) the weight gradient by m×m tiles runs: the GEMMs' K. */
export function alpha6WeightGradChunks(m: i32, N: i32, OH: i32, OW: i32): i32 {
  const T = N * ((OH + m - 1) / m) * ((OW + m - 1) / m);
  return (T + TILE_CHUNK_DW_ALPHA6 - 1) / TILE_CHUNK_DW_ALPHA6;
}

/**
 * A part of the weight gradient's sums over tiles, Z[ξ] = Σ_chunks V[ξ]·D[ξ] ([c][o], ξ·O·C floats
 * in), for the rows ξ / 6 ∈ [r0, r1) of the transformed tile and the chunks of tiles [k0, k1)
 * alone: those rows of those chunks' transforms (each row of Bᵀ d B and of A δ Aᵀ is its row of
 * the first product times the second factor: the same bits alone as among the others), and the
 * same GEMMs as the whole's. With `apart` = 0 the chunks add into Z (chunk 0 overwrites it), as
 * the whole does; else chunk k's sums go to their own alpha6WeightGradSumsFloats (laid out as Z) from apart on, in order.
 * Each GEMM sums its chunk from zero and then adds it to Z, so chunks summed apart and added to Z
 * in order afterwards (winogradAlpha6AddChunks) give the whole's bits. Threads taking disjoint
 * ranges of rows, or of chunks, thus split the weight gradient with no transform done twice;
 * winogradAlpha6KernelGrad then takes Z to dw. m: 4 for 3×3 kernels, 2 for 5×5; work:
 * alpha6WeightGradRowsFloats(…, r1 − r0).
 */
export function winogradAlpha6WeightGradPart(
  m: i32, x: usize, dy: usize, Z: usize, r0: i32, r1: i32, k0: i32, k1: i32, apart: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, PH: i32, PW: i32, OH: i32, OW: i32, work: usize,
): void {
  const th = (OH + m - 1) / m, tw = (OW + m - 1) / m, perImage = th * tw, T = N * perImage, planes = 6 * (r1 - r0);
  const zStep = zPlaneStep(O, C);
  for (let k = k0; k < k1; k++) {
    const t0 = k * TILE_CHUNK_DW_ALPHA6, tb = min(TILE_CHUNK_DW_ALPHA6, T - t0), tbr = roundUp(tb, 8);
    const vStep = (<usize>C * tbr << 2) + PLANE_SKEW, dStep = (<usize>roundUp(O, 8) * tbr << 2) + PLANE_SKEW;
    const V = work, D = V + <usize>planes * vStep, tmp = D + <usize>planes * dStep;
    const sums = apart != 0 ? apart + <usize>(k - k0) * 36 * zStep : Z, add = apart == 0 && k > 0 ? 1 : 0;
    inputTransformAlpha6(m, x, C, H, W, PH, PW, tw, perImage, t0, tb, tbr, V, tmp, 8, tbr, PLANE_SKEW, r0, r1);
    if (m == 2) {
      // D tile-major, [t][ξ][o] (gradTransformF2x2): one GEMM over all O, B's rows a tile apart.
      const Or = roundUp(O, 4);
      gradTransformF2x2(dy, O, OH, OW, tw, perImage, t0, tb, tbr, D, <usize>Or << 2, <usize>planes * Or << 2, tmp, r0, r1);
      for (let q = 0; q < planes; q++) {
        const v = V + <usize>q * vStep, z = sums + <usize>(6 * r0 + q) * zStep;
        gemmInPlace(0, C, O, tb, v, tbr, D + (<usize>q * Or << 2), planes * Or, z, O, add);
      }
      continue;
    }
    gradTransformF4x4(dy, O, OH, OW, tw, perImage, t0, tb, tbr, D, dStep, tmp, r0, r1);
    for (let q = 0; q < planes; q++) {
      const v = V + <usize>q * vStep, d = D + <usize>q * dStep, z = sums + <usize>(6 * r0 + q) * zStep;
      for (let o0 = 0; o0 < O; o0 += 8) {
        gemmInPlace(0, C, min(8, O - o0), tb, v, tbr, d + (<usize>o0 * tbr << 2), 8, z + (<usize>o0 << 2), O, add);
      }
    }
  }
}

/**
 * Z[ξ][c][o] += each of `count` chunks' sums kept apart (winogradAlpha6WeightGradPart's `apart`,
 * alpha6WeightGradSumsFloats each, laid out as Z, from `apart` on), in their order, for output
 * channels [o0, o1) alone: the same f32 additions, in the same order, as the whole's GEMMs adding
 * each chunk into Z.
 */
export function winogradAlpha6AddChunks(Z: usize, apart: usize, count: i32, O: i32, C: i32, o0: i32, o1: i32): void {
  const zStep = zPlaneStep(O, C), chunkBytes = <usize>36 * zStep, n = o1 - o0, n4 = n & ~3;
  for (let xi = 0; xi < 36; xi++) {
    for (let c = 0; c < C; c++) {
      const at = <usize>xi * zStep + ((<usize>c * O + o0) << 2), z = Z + at;
      for (let k = 0; k < count; k++) {
        const p = apart + <usize>k * chunkBytes + at;
        let i = 0;
        for (; i < n4; i += 4) v128.store(z + (<usize>i << 2), f32x4.add(v128.load(z + (<usize>i << 2)), v128.load(p + (<usize>i << 2))));
        for (; i < n; i++) store<f32>(z + (<usize>i << 2), load<f32>(z + (<usize>i << 2)) + load<f32>(p + (<usize>i << 2)));
      }
    }
  }
}

/**
 * The weight gradient's second part for output channels [o0, o1) alone: dw[o, c] += Gᵀ Z[·][c][o] G
 * (6×6 → 3×3 for m = 4, → 5×5 for m = 2), each pair's f64 operations the same whatever the range,
 * so threads that take disjoint ranges give the whole's bits. t: 30 f64 of temporaries (m = 2).
 */
export function winogradAlpha6KernelGrad(m: i32, Z: usize, O: i32, C: i32, dw: usize, o0: i32, o1: i32, t: usize): void {
  if (m == 4) kernelGradTransformF4x4(Z, O, C, dw, o0, o1);
  else kernelGradTransformK5(Z, O, C, dw, t, o0, o1);
}

/**
 * D[ξ][o / 8][i][o % 8] = (A δ Aᵀ)[ξ] for tiles t0 + i, i < tb, of every output channel o: δ the
 * tile's 4×4 of dy, zeros past OH×OW; plane ξ at D + ξ·step. Four output channels (lanes) of one
 * tile at a time, so that each of the 36 results is one vector store into its panel row (o % 8 =
 * 0..3 or 4..7; lanes past O hold zeros the GEMMs never read); tmp: WINOGRAD_TMP_FLOATS floats.
 * When every row of ξ is asked, the stores go by a running pointer (storeTimesAColumn) rather than
 * through storeTimesARows's tests: the same bits, the whole weight gradient ×1.19–1.26 at 16–64
 * channels (32² and 16², batch 64) and ×1.05 at 128 → 128 @8² (as gradTransformF2x2's).
 */
function gradTransformF4x4(
  dy: usize, O: i32, OH: i32, OW: i32, tw: i32, perImage: i32, t0: i32, tb: i32, tbr: i32, D: usize, step: usize, tmp: usize, r0: i32, r1: i32,
): void {
  const planeBytes = <usize>OH * OW << 2, rs = <usize>OW << 2;
  const e = tmp, raw = tmp + 576, origins = tmp + 1152;
  tileOrigins(4, origins, dy, <usize>O * planeBytes, t0, tb, tbr, tw, perImage, 0, 0);
  for (let o0 = 0; o0 < O; o0 += 4) {
    const oc = min(4, O - o0), offset = <usize>o0 * planeBytes;
    for (let i = 0; i < tb; i++) {
      const rec = origins + (<usize>i << 4), oy = load<i32>(rec, 4), ox = load<i32>(rec, 8);
      const p = <usize>load<u32>(rec) + offset + ((<usize>oy * OW + ox) << 2);
      if (oc == 4 && oy + 4 <= OH && ox + 4 <= OW) {
        // A whole tile of four channels: each row of δ is four loads, transposed to lanes = channels.
        for (let r = 0; r < 4; r++) {
          const q = p + <usize>r * rs;
          rowTimesAt4(e + <usize>r * 96, v128.load(q), v128.load(q + planeBytes), v128.load(q + 2 * planeBytes), v128.load(q + 3 * planeBytes));
        }
      } else {
        gatherChannels(4, raw, p, planeBytes, OW, min(4, OH - oy), min(4, OW - ox), oc);
        for (let r = 0; r < 4; r++) {
          const z = raw + (<usize>r << 6);
          storeTimesA(e + <usize>r * 96, 16, v128.load(z), v128.load(z, 16), v128.load(z, 32), v128.load(z, 48));
        }
      }
      // A down the columns of δ Aᵀ (4 rows × 6 vectors at e) → ξ = 6i + j, i ∈ [r0, r1), one vector store each.
      const dst = D + (((<usize>(o0 >> 3) * tbr + i) * 8 + (o0 & 7)) << 2);
      if (r0 == 0 && r1 == 6) {
        for (let j = 0; j < 6; j++) {
          const c = e + (<usize>j << 4);
          storeTimesAColumn(dst + <usize>j * step, <usize>6 * step, v128.load(c), v128.load(c, 96), v128.load(c, 192), v128.load(c, 288));
        }
        continue;
      }
      for (let j = 0; j < 6; j++) {
        const c = e + (<usize>j << 4);
        storeTimesARows(dst + <usize>j * step, <usize>6 * step, r0, r1, v128.load(c), v128.load(c, 96), v128.load(c, 192), v128.load(c, 288));
      }
    }
  }
}

/**
 * δ[r][j] (n×n) of `oc` channels (lane c: the plane at p + c·planeBytes, row stride OW floats) into
 * raw[r][j] (n² vectors), rows from `rows` on, columns from `cols` on and lanes from oc on zero.
 */
export function gatherChannels(n: i32, raw: usize, p: usize, planeBytes: usize, OW: i32, rows: i32, cols: i32, oc: i32): void {
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < n; j++) {
      const dst = raw + (<usize>(n * r + j) << 4);
      v128.store(dst, f32x4.splat(0));
      if (r >= rows || j >= cols) continue;
      const src = p + ((<usize>r * OW + j) << 2);
      for (let c = 0; c < oc; c++) store<f32>(dst + (<usize>c << 2), load<f32>(src + <usize>c * planeBytes));
    }
  }
}

/** A v for four vectors v0..v3 (lanes = tiles) → six vectors at dst, dst + stride, … */
// @ts-ignore: decorator
@inline function storeTimesA(dst: usize, stride: usize, v0: v128, v1: v128, v2: v128, v3: v128): void {
  const s = f32x4.add(v0, v2), t = f32x4.add(v1, v3);
  const s4 = f32x4.add(v0, f32x4.mul(f32x4.splat(4), v2)), t4 = f32x4.add(f32x4.add(v1, v1), f32x4.mul(f32x4.splat(8), v3));
  v128.store(dst, v0);
  v128.store(dst + stride, f32x4.add(s, t));
  v128.store(dst + 2 * stride, f32x4.sub(s, t));
  v128.store(dst + 3 * stride, f32x4.add(s4, t4));
  v128.store(dst + 4 * stride, f32x4.sub(s4, t4));
  v128.store(dst + 5 * stride, v3);
}

/** storeTimesA by a running pointer: row i at dst + i·stride. */
// @ts-ignore: decorator
@inline function storeTimesAColumn(dst: usize, stride: usize, v0: v128, v1: v128, v2: v128, v3: v128): void {
  const s = f32x4.add(v0, v2), t = f32x4.add(v1, v3);
  const s4 = f32x4.add(v0, f32x4.mul(f32x4.splat(4), v2)), t4 = f32x4.add(f32x4.add(v1, v1), f32x4.mul(f32x4.splat(8), v3));
  v128.store(dst, v0); dst += stride;
  v128.store(dst, f32x4.add(s, t)); dst += stride;
  v128.store(dst, f32x4.sub(s, t)); dst += stride;
  v128.store(dst, f32x4.add(s4, t4)); dst += stride;
  v128.store(dst, f32x4.sub(s4, t4)); dst += stride;
  v128.store(dst, v3);
}

/** storeTimesA's rows i ∈ [r0, r1) alone, row i at dst + (i − r0)·stride: the same operations for each. */
// @ts-ignore: decorator
@inline function storeTimesARows(dst: usize, stride: usize, r0: i32, r1: i32, v0: v128, v1: v128, v2: v128, v3: v128): void {
  const s = f32x4.add(v0, v2), t = f32x4.add(v1, v3);
  const s4 = f32x4.add(v0, f32x4.mul(f32x4.splat(4), v2)), t4 = f32x4.add(f32x4.add(v1, v1), f32x4.mul(f32x4.splat(8), v3));
  if (r0 == 0) v128.store(dst, v0);
  if (r0 <= 1 && r1 > 1) v128.store(dst + <usize>(1 - r0) * stride, f32x4.add(s, t));
  if (r0 <= 2 && r1 > 2) v128.store(dst + <usize>(2 - r0) * stride, f32x4.sub(s, t));
  if (r0 <= 3 && r1 > 3) v128.store(dst + <usize>(3 - r0) * stride, f32x4.add(s4, t4));
  if (r0 <= 4 && r1 > 4) v128.store(dst + <usize>(4 - r0) * stride, f32x4.sub(s4, t4));
  if (r1 == 6) v128.store(dst + <usize>(5 - r0) * stride, v3);
}

/** One row of δ for four channels (a_c: channel c's four columns) transposed to lanes = channels, times Aᵀ: six vectors at e. */
// @ts-ignore: decorator
@inline function rowTimesAt4(e: usize, a0: v128, a1: v128, a2: v128, a3: v128): void {
  const lo01 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), hi01 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7);
  const lo23 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), hi23 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
  storeTimesA(e, 16,
    v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5), v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7),
    v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5), v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7));
}

/**
 * dw[o, c] += Gᵀ Z[·][o][c] G (6×6 → 3×3) for every channel pair of o ∈ [o0, o1), in f64. Output channel innermost:
 * Z is [ξ][c][o], so the 36 floats of consecutive pairs lie side by side in their planes and each
 * cache line of Z serves 16 pairs (c innermost read 36 lines, a plane apart, per pair): the whole
 * weight gradient 1.1–1.5× faster at 64–256 channels on 8×8 planes, batch 16 (alternating, median
 * of 11–15; about even at 32 channels, where Z fits in L2). kernelGradTransformK5 keeps c
 * innermost: o innermost measured 0.87–0.88× at 20–32 channels, where Z is small and dw's writes
 * lost their order. Two output channels at once, one per f64x2 lane (kernelGradPairsF4x4: the
 * same f64 operations in the same order, so the same bits): the whole weight gradient of 128→256
 * on 8×8 ×1.25 at batch 16 and ×1.07 at 64 (one process each, alternating, three rounds).
 */
function kernelGradTransformF4x4(Z: usize, O: i32, C: i32, dw: usize, o0: i32, o1: i32): void {
  const step = zPlaneStep(O, C);
  for (let c = 0; c < C; c++) {
    for (let o = o0; o < o1; o += 2) {
      kernelGradPairsF4x4(Z + (<usize>(c * O + o) << 2), step, dw + (<usize>(o * C + c) * 9 << 2), <usize>C * 9, o + 1 < o1);
    }
  }
}

/**
 * Gᵀ Z G for channel pairs (o, c) and, when `both`, (o + 1, c), one per f64x2 lane: the same f64
 * operations in the same order for each, so the same bits as one pair at a time. z: Z[0][c][o];
 * dst: dw[o][c], dw[o + 1][c] `next` floats on.
 */
function kernelGradPairsF4x4(z: usize, step: usize, dst: usize, next: usize, both: bool): void {
  // Rows i of Z·G (6×3): w[i][b].
  let w00 = f64x2.splat(0), w01 = w00, w02 = w00, w10 = w00, w11 = w00, w12 = w00, w20 = w00, w21 = w00, w22 = w00;
  let w30 = w00, w31 = w00, w32 = w00, w40 = w00, w41 = w00, w42 = w00, w50 = w00, w51 = w00, w52 = w00;
  for (let i = 0; i < 6; i++) {
    const p = z + <usize>(6 * i) * step;
    const z0 = pairAt(p, both), z1 = pairAt(p + step, both), z2 = pairAt(p + 2 * step, both);
    const z3 = pairAt(p + 3 * step, both), z4 = pairAt(p + 4 * step, both), z5 = pairAt(p + 5 * step, both);
    const g0 = gCol0x2(z0, z1, z2, z3, z4), g1 = gCol1x2(z1, z2, z3, z4), g2 = gCol2x2(z1, z2, z3, z4, z5);
    if (i == 0) { w00 = g0; w01 = g1; w02 = g2; }
    else if (i == 1) { w10 = g0; w11 = g1; w12 = g2; }
    else if (i == 2) { w20 = g0; w21 = g1; w22 = g2; }
    else if (i == 3) { w30 = g0; w31 = g1; w32 = g2; }
    else if (i == 4) { w40 = g0; w41 = g1; w42 = g2; }
    else { w50 = g0; w51 = g1; w52 = g2; }
  }
  // Gᵀ (Z G): the same combinations down each column b.
  const dst1 = both ? dst + (next << 2) : 0;
  addTaps(dst, dst1, 0, gCol0x2(w00, w10, w20, w30, w40)); addTaps(dst, dst1, 1, gCol0x2(w01, w11, w21, w31, w41)); addTaps(dst, dst1, 2, gCol0x2(w02, w12, w22, w32, w42));
  addTaps(dst, dst1, 3, gCol1x2(w10, w20, w30, w40)); addTaps(dst, dst1, 4, gCol1x2(w11, w21, w31, w41)); addTaps(dst, dst1, 5, gCol1x2(w12, w22, w32, w42));
  addTaps(dst, dst1, 6, gCol2x2(w10, w20, w30, w40, w50)); addTaps(dst, dst1, 7, gCol2x2(w11, w21, w31, w41, w51)); addTaps(dst, dst1, 8, gCol2x2(w12, w22, w32, w42, w52));
}

/** The float at p and, when `both`, the one after it (else 0), widened to f64x2. */
// @ts-ignore: decorator
@inline function pairAt(p: usize, both: bool): v128 { return f64x2.promote_low_f32x4(both ? v128.load64_zero(p) : v128.load32_zero(p)); }

/** z · G's column 0, lane by lane: ¼ z0 − ⅙ (z1 + z2) + (z3 + z4) / 24. */
// @ts-ignore: decorator
@inline function gCol0x2(z0: v128, z1: v128, z2: v128, z3: v128, z4: v128): v128 {
  return f64x2.add(f64x2.sub(f64x2.mul(f64x2.splat(0.25), z0), f64x2.mul(f64x2.splat(1.0 / 6), f64x2.add(z1, z2))), f64x2.mul(f64x2.splat(1.0 / 24), f64x2.add(z3, z4)));
}
/** z · G's column 1, lane by lane: ⅙ (z2 − z1) + (z3 − z4) / 12. */
// @ts-ignore: decorator
@inline function gCol1x2(z1: v128, z2: v128, z3: v128, z4: v128): v128 {
  return f64x2.add(f64x2.mul(f64x2.splat(1.0 / 6), f64x2.sub(z2, z1)), f64x2.mul(f64x2.splat(1.0 / 12), f64x2.sub(z3, z4)));
}
/** z · G's column 2, lane by lane: ⅙ (z3 + z4 − z1 − z2) + z5. */
// @ts-ignore: decorator
@inline function gCol2x2(z1: v128, z2: v128, z3: v128, z4: v128, z5: v128): v128 {
  return f64x2.add(f64x2.mul(f64x2.splat(1.0 / 6), f64x2.sub(f64x2.sub(f64x2.add(z3, z4), z1), z2)), z5);
}

/** addTap for both lanes: lane 0 into dst0's tap k, lane 1 into dst1's (none where dst1 is 0). */
// @ts-ignore: decorator
@inline function addTaps(dst0: usize, dst1: usize, k: i32, v: v128): void {
  addTap(dst0, k, f64x2.extract_lane(v, 0));
  if (dst1 != 0) addTap(dst1, k, f64x2.extract_lane(v, 1));
}

/** dw tap k += v (rounded to f32 once). */
// @ts-ignore: decorator
@inline function addTap(dst: usize, k: i32, v: f64): void {
  const p = dst + (<usize>k << 2);
  store<f32>(p, <f32>(<f64>load<f32>(p) + v));
}

/**
 * D[i][ξ − 6·r0][o] = (A δ Aᵀ)[ξ] for tiles t0 + i, i < tb, of every output channel o, δ the
 * tile's 2×2 of dy (zeros past OH×OW) and A F(2×2,5×5)'s 6×2 (see the file comment): tile-major,
 * rows ξ `step` bytes apart (roundUp(O, 4) floats), tiles `tileStep` apart; four output channels
 * (lanes) of one tile at a time, in registers, each result one vector store.
 *
 * A 2×2 tile of dy becomes 36 floats a channel (4×4 tiles: 2.25 times as many), so this transform
 * writes 9 floats for each one of dy it reads and was a third of the whole weight gradient
 * (16→20 @16², batch 64, a CPU profile). Into the panels of gradTransformF4x4 (D[ξ][o / 8][i][o % 8],
 * planes 12 KiB apart), through storeTimesA2Rows's six tests of [r0, r1) per column, via a
 * temporary of 12 vectors: the same bits, and the whole weight gradient (relaxed SIMD, the raw
 * kernel alternately in one process, median of 14) ×1.06 from the temporary gone, then ×1.13–1.17
 * tile-major (one GEMM call for all of O, its last 4 columns on the 4×4 kernel), then ×1.30–1.36
 * with the stores below by a running pointer when every row is asked (V8 recomputed each store's
 * address from the tests' operands); 20→20 @8² ×1.32.
 */
function gradTransformF2x2(
  dy: usize, O: i32, OH: i32, OW: i32, tw: i32, perImage: i32, t0: i32, tb: i32, tbr: i32, D: usize, step: usize, tileStep: usize, tmp: usize, r0: i32, r1: i32,
): void {
  const planeBytes = <usize>OH * OW << 2, rs = <usize>OW << 2, rows = <usize>6 * step;
  const raw = tmp + 192, origins = tmp + 1152;
  tileOrigins(2, origins, dy, <usize>O * planeBytes, t0, tb, tbr, tw, perImage, 0, 0);
  for (let i = 0; i < tb; i++) {
    const rec = origins + (<usize>i << 4), oy = load<i32>(rec, 4), ox = load<i32>(rec, 8);
    const tile = <usize>load<u32>(rec) + ((<usize>oy * OW + ox) << 2), whole = oy + 2 <= OH && ox + 2 <= OW;
    for (let o0 = 0; o0 < O; o0 += 4) {
      const oc = min(4, O - o0), p = tile + <usize>o0 * planeBytes;
      let a0: v128, a1: v128, b0: v128, b1: v128;
      if (oc == 4 && whole) {
        // Each row of δ is four 2-float loads, transposed to lanes = channels.
        const u01 = v128.shuffle<f32>(v128.load64_zero(p), v128.load64_zero(p + planeBytes), 0, 4, 1, 5);
        const u23 = v128.shuffle<f32>(v128.load64_zero(p + 2 * planeBytes), v128.load64_zero(p + 3 * planeBytes), 0, 4, 1, 5);
        const q = p + rs;
        const w01 = v128.shuffle<f32>(v128.load64_zero(q), v128.load64_zero(q + planeBytes), 0, 4, 1, 5);
        const w23 = v128.shuffle<f32>(v128.load64_zero(q + 2 * planeBytes), v128.load64_zero(q + 3 * planeBytes), 0, 4, 1, 5);
        a0 = v128.shuffle<f32>(u01, u23, 0, 1, 4, 5); a1 = v128.shuffle<f32>(u01, u23, 2, 3, 6, 7);
        b0 = v128.shuffle<f32>(w01, w23, 0, 1, 4, 5); b1 = v128.shuffle<f32>(w01, w23, 2, 3, 6, 7);
      } else {
        gatherChannels(2, raw, p, planeBytes, OW, min(2, OH - oy), min(2, OW - ox), oc);
        a0 = v128.load(raw); a1 = v128.load(raw, 16); b0 = v128.load(raw, 32); b1 = v128.load(raw, 48);
      }
      // δ Aᵀ along the rows (column j of each), then A down the columns → ξ = 6i + j, i ∈ [r0, r1).
      const dst = D + <usize>i * tileStep + (<usize>o0 << 2);
      if (r0 == 0 && r1 == 6) {
        storeTimesA2Column(dst, rows, timesA2(0, a0, a1), timesA2(0, b0, b1));
        storeTimesA2Column(dst + step, rows, timesA2(1, a0, a1), timesA2(1, b0, b1));
        storeTimesA2Column(dst + 2 * step, rows, timesA2(2, a0, a1), timesA2(2, b0, b1));
        storeTimesA2Column(dst + 3 * step, rows, timesA2(3, a0, a1), timesA2(3, b0, b1));
        storeTimesA2Column(dst + 4 * step, rows, timesA2(4, a0, a1), timesA2(4, b0, b1));
        storeTimesA2Column(dst + 5 * step, rows, timesA2(5, a0, a1), timesA2(5, b0, b1));
        continue;
      }
      storeTimesA2Rows(dst, rows, r0, r1, timesA2(0, a0, a1), timesA2(0, b0, b1));
      storeTimesA2Rows(dst + step, rows, r0, r1, timesA2(1, a0, a1), timesA2(1, b0, b1));
      storeTimesA2Rows(dst + 2 * step, rows, r0, r1, timesA2(2, a0, a1), timesA2(2, b0, b1));
      storeTimesA2Rows(dst + 3 * step, rows, r0, r1, timesA2(3, a0, a1), timesA2(3, b0, b1));
      storeTimesA2Rows(dst + 4 * step, rows, r0, r1, timesA2(4, a0, a1), timesA2(4, b0, b1));
      storeTimesA2Rows(dst + 5 * step, rows, r0, r1, timesA2(5, a0, a1), timesA2(5, b0, b1));
    }
  }
}

/** Element j of F(2×2,5×5)'s A (6×2) times (v0, v1) (lanes = channels): v0, v0 + v1, v0 − v1, v0 + 2v1, v0 − 2v1, v1. */
// @ts-ignore: decorator
@inline function timesA2(j: i32, v0: v128, v1: v128): v128 {
  switch (j) {
    case 0: return v0;
    case 1: return f32x4.add(v0, v1);
    case 2: return f32x4.sub(v0, v1);
    case 3: return f32x4.add(v0, f32x4.add(v1, v1));
    case 4: return f32x4.sub(v0, f32x4.add(v1, v1));
    default: return v1;
  }
}

/** timesA2(i, v0, v1) for i = 0..5 at dst, dst + stride, …, by a running pointer. */
// @ts-ignore: decorator
@inline function storeTimesA2Column(dst: usize, stride: usize, v0: v128, v1: v128): void {
  const v2 = f32x4.add(v1, v1);
  v128.store(dst, v0); dst += stride;
  v128.store(dst, f32x4.add(v0, v1)); dst += stride;
  v128.store(dst, f32x4.sub(v0, v1)); dst += stride;
  v128.store(dst, f32x4.add(v0, v2)); dst += stride;
  v128.store(dst, f32x4.sub(v0, v2)); dst += stride;
  v128.store(dst, v1);
}

/** storeTimesA2Column's rows i ∈ [r0, r1) alone, row i at dst + (i − r0)·stride: the same operations for each. */
// @ts-ignore: decorator
@inline function storeTimesA2Rows(dst: usize, stride: usize, r0: i32, r1: i32, v0: v128, v1: v128): void {
  const v2 = f32x4.add(v1, v1);
  if (r0 == 0) v128.store(dst, v0);
  if (r0 <= 1 && r1 > 1) v128.store(dst + <usize>(1 - r0) * stride, f32x4.add(v0, v1));
  if (r0 <= 2 && r1 > 2) v128.store(dst + <usize>(2 - r0) * stride, f32x4.sub(v0, v1));
  if (r0 <= 3 && r1 > 3) v128.store(dst + <usize>(3 - r0) * stride, f32x4.add(v0, v2));
  if (r0 <= 4 && r1 > 4) v128.store(dst + <usize>(4 - r0) * stride, f32x4.sub(v0, v2));
  if (r1 == 6) v128.store(dst + <usize>(5 - r0) * stride, v1);
}

/** dw[o, c] += Gᵀ Z[·][o][c] G (6×6 → 5×5, G F(2×2,5×5)'s 6×5) for every channel pair of o ∈ [o0, o1), in f64; t: 30 f64 of temporaries. */
function kernelGradTransformK5(Z: usize, O: i32, C: i32, dw: usize, t: usize, o0: i32, o1: i32): void {
  const step = zPlaneStep(O, C);
  for (let o = o0; o < o1; o++) {
    for (let c = 0; c < C; c++) {
      const z = Z + (<usize>(c * O + o) << 2), dst = dw + (<usize>(o * C + c) * 25 << 2);
      // Rows i of Z·G (6×5) into t[i][b].
      for (let i = 0; i < 6; i++) {
        const p = z + <usize>(6 * i) * step;
        const z0 = <f64>load<f32>(p), z1 = <f64>load<f32>(p + step), z2 = <f64>load<f32>(p + 2 * step);
        const z3 = <f64>load<f32>(p + 3 * step), z4 = <f64>load<f32>(p + 4 * step), z5 = <f64>load<f32>(p + 5 * step);
        for (let b = 0; b < 5; b++) store<f64>(t + (<usize>(5 * i + b) << 3), gCol5(b, z0, z1, z2, z3, z4, z5));
      }
      // Gᵀ (Z G): the same combinations down each column b.
      for (let a = 0; a < 5; a++) {
        for (let b = 0; b < 5; b++) {
          const q = t + (<usize>b << 3);
          const v = gCol5(a, load<f64>(q), load<f64>(q, 40), load<f64>(q, 80), load<f64>(q, 120), load<f64>(q, 160), load<f64>(q, 200));
          addTap(dst, 5 * a + b, v);
        }
      }
    }
  }
}

/** z · column b of F(2×2,5×5)'s G (see the file comment). */
// @ts-ignore: decorator
@inline function gCol5(b: i32, z0: f64, z1: f64, z2: f64, z3: f64, z4: f64, z5: f64): f64 {
  switch (b) {
    case 0: return 0.25 * z0 - (1.0 / 6) * (z1 + z2) + (1.0 / 24) * (z3 + z4);
    case 1: return (1.0 / 6) * (z2 - z1) + (1.0 / 12) * (z3 - z4);
    case 2: return (1.0 / 6) * (z3 + z4 - z1 - z2);
    case 3: return (1.0 / 6) * (z2 - z1) + (1.0 / 3) * (z3 - z4);
    default: return (2.0 / 3) * (z3 + z4) - (1.0 / 6) * (z1 + z2) + z5;
  }
}
