// Winograd F(4×4, 3×3) for 3×3, stride-1, undilated, ungrouped convolutions (Lavin & Gray 2015):
// each 4×4 output tile is Aᵀ [Σ_c (G g Gᵀ) ⊙ (Bᵀ d B)] A with d the 6×6 input patch of the tile,
// the Σ_c as 36 GEMMs, one per element ξ = 6i + j of the 6×6 transformed tile: 36·O·C multiply-adds
// per 16 outputs where a direct convolution does 144·O·C, 4× fewer (F(2×2,3×3): 2.25×).
//
//   Bᵀ = | 4  0 −5  0  1  0 |   G = |  ¼     0    0  |   Aᵀ = | 1  1  1  1  1  0 |
//        | 0 −4 −4  1  1  0 |       | −⅙   −⅙   −⅙  |        | 0  1 −1  2 −2  0 |
//        | 0  4 −4 −1  1  0 |       | −⅙    ⅙   −⅙  |        | 0  1  1  4  4  0 |
//        | 0 −2 −1  2  1  0 |       | 1/24 1/12  ⅙  |        | 0  1 −1  8 −8  1 |
//        | 0  2 −1 −2  1  0 |       | 1/24 −1/12 ⅙  |
//        | 0  4  0 −5  0  1 |       |  0     0    1  |
//
// Interpolation points 0, ±1, ±2, ∞ (Lavin & Gray's, also oneDNN's and wincnn's default for this
// tile): the pairs ±1 and ±2 let every transform share its sums and differences (Bᵀ d in 12
// additions and 4 scalings per column), and with the same points as oneDNN's F(4×4,3×3) the error
// bound in tests/conv-winograd-f4.test.js compares like with like. Points ±½ in place of ±2 shrink
// Aᵀ's 8s to ⅛ but grow Bᵀ and G by the same factor, moving the error rather than removing it
// (Barabasz et al. 2020 find ±½ with ∞ only marginally better for F(4,3)); not taken.
//
// Everything else — the α² GEMMs on gemm.ts's 4×8 micro-kernel, the packed layouts of U, V and M,
// the chunking of tiles across images, the input gradient as the same pass on dy with the rotated
// kernel — is conv-winograd.ts's, shared. The transforms here are packing helpers; they run four
// tiles at a time, one per lane: tiles i..i+3 (i a multiple of 4) are one vector of a V panel row
// and one vector of an M row. The pass, input transform and output stores take the tile step m as
// a parameter: F(2×2,5×5) (conv-winograd-f2x2-5x5.ts) has the same α = 6 and Bᵀ and runs them
// with m = 2 (its own Aᵀ in timesAt2).
//
// Where a pass's time goes: the phases alone, alternately in one process with the FMA peak loop
// (bench/peak.js, 58 GFLOP/s), median of 7, batch 16 (64 alike), shares of the whole pass, and
// the 36 GEMMs' executed FLOPs as % of the peak, before this file's transforms were reworked:
//                     kernel transform  input transform  36 GEMMs     output transform  pass
//   32 → 32 @32²      2%                21%              55% (92%)    12%               51%
//   32 → 64 @16²      9%                12%              63% (91%)    13%               57%
//   64 → 64 @16²      10%               13%              67% (92%)     7%               61%
//   128 → 128 @16²    11%                7%              71% (91%)     4%               65%
// The GEMMs run near the 4×8 micro-kernel's rate even at K = 32; what keeps a pass under 70% of
// the peak is the transforms. Then: the kernel transform vectorised over two rows of a panel and
// factored (G = D G'), 2.2–2.6× faster alone; the input transform Bᵀ first down columns of vectors
// (no transpose before it), with multiply-adds, writing V panel by panel instead of channel by
// channel over all tiles (1.15–1.5× alone, about even at 32 → 32 @32² batch 64); the output
// transform's rows stored from registers; chunks of 64 tiles. Whole passes, old ÷ new ms (forward |
// input gradient, alternating, median of 15, on a machine shared with other builds and tests):
// 32 → 32 @32² 1.18 | 1.10 (batch 16), 1.10 | 1.13 (64); 32 → 64 @16² 1.08 | 1.20, 1.05 | 0.86;
// 64 → 64 @16² 1.05 | 1.02, 1.06 | 1.05; 64 → 128 @32² 1.15 | 1.33, 1.02 | 1.07; 128 → 128 @16²
// 1.06 | 1.24, 1.12 | 1.09.
// The phases measured again since, as above (peak loop 58 GFLOP/s, load ~2), forward | input
// gradient, shares of the pass and the whole pass's executed FLOPs as % of the peak:
//                     kernel transform  input transform  36 GEMMs   output transform  pass
//   32 → 32 @32² b16  1% | 1%           18% | 19%        70% | 69%  11% | 11%         55% | 58%
//   32 → 64 @16² b16  3% | 3%           11% | 21%        74% | 70%  13% | 6%          64% | 63%
//   32 → 64 @16² b64  1% | 1%           11% | 21%        75% | 72%  13% | 6%          62% | 60%
//   64 → 128 @32² b16 1% | 1%            6% | 13%        85% | 82%   8% | 4%          73% | 69%
// (the plain build alike). The GEMMs alone ran at 49–54 GFLOP/s, 84–92%: near the ceiling of the
// 4×8 micro-kernel's eight accumulators (the peak loop: 50.7 GFLOP/s with 8, 58.5 with 12; with
// more, V8's 15 vector registers spill them, conv-winograd-dw-f4.ts). Per tile, from the code:
// the input transform 198 flops a channel, the output transform 130 an output channel (timesAt,
// 13 flops, on 6 columns and 4 rows; 146 with the bias), the GEMMs 72·C·O, so on FLOPs alone the
// GEMMs could reach 87% of a pass's at 32 → 32, 90% at 32 → 64, 95% from 64 → 128.
import { actS, actV } from "./epilogue";
import { madd, nonFinite, transposeTo } from "./simd";
import {
  WINOGRAD_TMP_FLOATS, PLANE_SKEW, winogradPassFloats, winogradGemms, zeroPanelRows, roundUp, packedA, rowChecked,
} from "./conv-winograd";

/**
 * Tiles per chunk: the N of each of the 36 GEMMs. F(4×4,3×3): 64 tiles (V and M of a chunk 590 KiB
 * at 32 → 32 channels, in L2 with room), 2–7% faster than 128 with the transforms as they are now
 * (32–128 channels @16² and 32², batch 16 and 64, the three phases alternately, median of 7; 32
 * about even, 256 slower). F(2×2,5×5) keeps 128 (64 not measured there). Which tiles share a chunk
 * changes no result: every value of a tile is computed from that tile's data alone.
 */
// @ts-ignore: decorator
@inline export function tileChunk(m: i32): i32 { return m == 4 ? 64 : 128; }

/** Floats of scratch for forward and input gradient of a conv of C → O channels by F(4×4,3×3). */
export function winogradF4x4ScratchFloats(N: i32, C: i32, H: i32, W: i32, O: i32, OH: i32, OW: i32): f64 {
  return winogradAlpha6ScratchFloats(4, N, C, H, W, O, OH, OW);
}

/** Floats of scratch for forward and input gradient of a conv of C → O channels by winogradAlpha6Pass with m×m tiles. */
export function winogradAlpha6ScratchFloats(m: i32, N: i32, C: i32, H: i32, W: i32, O: i32, OH: i32, OW: i32): f64 {
  return max(winogradPassFloats(m, tileChunk(m), N, C, O, OH, OW, 7 - m), winogradPassFloats(m, tileChunk(m), N, O, C, H, W, 7 - m));
}

/**
 * y = act(conv2d(x, w) + b) (b = 0: none) by F(4×4,3×3); PH/PW the padding before the image; act
 * and the answer as conv-winograd.ts's winogradForward's.
 */
export function winogradF4x4Forward(
  x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, scratch: usize, act: i32,
): i32 {
  winogradF4x4ForwardWeights(w, O, C, scratch);
  return winogradF4x4ForwardPass(x, scratch, b, y, N, C, H, W, O, PH, PW, OH, OW, scratch + (<usize>winogradF4x4WeightsFloats(O, C) << 2), act);
}

/** Floats of the transformed forward kernels U of a C → O convolution by F(4×4,3×3). */
export function winogradF4x4WeightsFloats(O: i32, C: i32): i32 { return 36 * (roundUp(O, 4) * C + <i32>(PLANE_SKEW >> 2)); }

/** U = the forward kernels w transformed for F(4×4,3×3), winogradF4x4WeightsFloats(O, C) floats. */
export function winogradF4x4ForwardWeights(w: usize, O: i32, C: i32, U: usize): void { kernelTransformF4x4(w, O, C, false, U); }

/** winogradF4x4Forward with its kernels transformed already (U); work: the rest of its scratch. */
export function winogradF4x4ForwardPass(
  x: usize, U: usize, b: usize, y: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, work: usize, act: i32,
): i32 {
  return winogradAlpha6Pass(4, x, N, C, H, W, PH, PW, U, O, y, OH, OW, b, work, act);
}

/** dx = ∂L/∂x of y = conv2d(x, w) (overwritten) by F(4×4,3×3) on dy. */
export function winogradF4x4InputGrad(
  w: usize, dy: usize, dx: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, scratch: usize,
): void {
  winogradF4x4InputGradWeights(w, O, C, scratch);
  winogradF4x4InputGradPass(scratch, dy, dx, N, C, H, W, O, PH, PW, OH, OW, scratch + (<usize>winogradF4x4WeightsFloats(C, O) << 2));
}

/** U = the kernels of winogradF4x4InputGrad, rotated and transformed: winogradF4x4WeightsFloats(C, O) floats. */
export function winogradF4x4InputGradWeights(w: usize, O: i32, C: i32, U: usize): void { kernelTransformF4x4(w, O, C, true, U); }

/** winogradF4x4InputGrad with its kernels transformed already (U); work: the rest of its scratch. */
export function winogradF4x4InputGradPass(
  U: usize, dy: usize, dx: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, work: usize,
): void {
  winogradAlpha6Pass(4, dy, N, O, OH, OW, 2 - PH, 2 - PW, U, C, dx, H, W, 0, work, 0);
}

/**
 * conv-winograd.ts's winogradPass with 6×6 transformed tiles (α = 6: F(4×4,3×3), m = 4, and
 * F(2×2,5×5), m = 2, in conv-winograd-f2x2-5x5.ts): input transform, 36 GEMMs, output transform per
 * chunk. m×m output tiles; the input patch of output (0, 0) starts at (−PH, −PW).
 */
export function winogradAlpha6Pass(
  m: i32, x: usize, N: i32, Cin: i32, Hin: i32, Win: i32, PH: i32, PW: i32, U: usize,
  Cout: i32, out: usize, OH: i32, OW: i32, b: usize, work: usize, act: i32,
): i32 {
  let bad = 0;
  const th = (OH + m - 1) / m, tw = (OW + m - 1) / m, perImage = th * tw, T = N * perImage;
  const rows = roundUp(Cout, 4);
  const chunk = tileChunk(m);
  for (let t0 = 0; t0 < T; t0 += chunk) {
    const tb = min(chunk, T - t0), tbr = roundUp(tb, 8);
    const V = work, M = V + <usize>36 * ((<usize>Cin * tbr << 2) + PLANE_SKEW), tmp = M + <usize>36 * ((<usize>rows * tbr << 2) + PLANE_SKEW);
    inputTransformAlpha6(m, x, Cin, Hin, Win, PH, PW, tw, perImage, t0, tb, tbr, V, tmp, Cin * 8, 8, PLANE_SKEW);
    winogradGemms(36, U, V, M, Cin, rows, tbr, PLANE_SKEW);
    bad |= outputTransformAlpha6(m, M, Cout, rows, tw, perImage, t0, tb, tbr, OH, OW, out, b, tmp, act);
  }
  return bad;
}

/**
 * U[ξ][r][c] = (G g Gᵀ)[ξ] with g = w[r, c] or, when `rotate`, w[c, r] rotated 180° (see
 * conv-winograd.ts's weightTransform). In f64, rounded once, as G = D G' with G' of small integers
 * (rows (1,0,0), (1,1,1), (1,−1,1), (1,2,4), (1,−2,4), (0,0,1)) and D = diag(¼, −⅙, −⅙, 1/24,
 * 1/24, 1): U = (G' g G'ᵀ) ⊙ d dᵀ, 8 additions and doublings per row of G' g where G's rows took
 * 17 operations, then one product by d_i d_j. Rows r of a panel of U run two at a time as f64x2
 * lanes: alone, alternating, median of 9, 2.2–2.6× faster than G's rows one kernel at a time at
 * 32–128 channels (which were 10% of a forward pass at 64–128 channels @16², batch 16); U's floats
 * as before but for 80 of ~10⁶ one unit in the last place apart (f64 products rounded in another
 * order). Then all four rows of a panel at once, one 16-byte store per ξ where two 8-byte stores
 * wrote each line of U's 36 planes in two halves a panel-row apart in time: the same bits, the
 * forward at batch 1 (mostly this transform; U is 9.4 MB at 256 → 256) 1.12–1.22× faster at
 * 64 → 64 @8² and 128 → 256 @8² (old and new builds alternately, median of 15, load 4–6). At
 * small batches it is still a large share of a pass: ~30% of a 128 → 256 @8² forward at batch 16.
 * Then full panels' taps by vector loads (fullPanelTimesG), the same bits: this transform alone
 * (conv2dSnapshot) 1.5× faster at 64–128 channels, 1.2–2.6× at 128 → 256 (writing U's 4.7 MB, which
 * swings with the load), the forward and dx at batch 1 ×1.04–1.26 (both ways alternating in one
 * process, median of 9–11, load 3–6).
 * Tried and not taken: the whole transform in f32, four kernels a vector (G' and G'ᵀ as the same
 * sums, then one product by d_i d_j rounded to f32): alone 2.3–4.7× faster, the forward at batch 16
 * ×1.05–1.2, but F(4×4)'s error grew with it — Σ‖a − b‖/‖b‖ against the float64 reference over
 * conv-winograd.test.js's shapes from 4.1× the direct path's to 5.1× (forward) and from 4.0× to
 * 4.4× (dx), a quarter of the margin to that test's 8× — for a share of the pass that shrinks with
 * the batch.
 */
export function kernelTransformF4x4(w: usize, O: i32, C: i32, rotate: bool, U: usize): void {
  const rows = rotate ? C : O, cols = rotate ? O : C, plane = <usize>roundUp(rows, 4) * cols;
  const step = (plane << 2) + PLANE_SKEW, next: usize = rotate ? 36 : <usize>C * 36;
  for (let r0 = 0; r0 < rows; r0 += 4) {
    const nA = min(2, rows - r0), nB = max(0, min(2, rows - r0 - 2));
    for (let k = 0; k < cols; k++) {
      // The 3×3 kernels of rows r0..r0 + 3 and column k: w[r, k] or, rotated, w[k, r], `next` bytes apart.
      const a = rotate ? w + (<usize>(k * C + r0) * 9 << 2) : w + (<usize>(r0 * C + k) * 9 << 2);
      const base = U + (packedA(r0, k, cols) << 2);
      if (nB == 2) {
        fullPanelTimesG(a, next, rotate, base, step);
        continue;
      }
      // The last panel, rows past the last read as zeros.
      const b = a + 2 * next;
      panelTimesG(tapPair(a, next, nA, rotate, 0), tapPair(a, next, nA, rotate, 1), tapPair(a, next, nA, rotate, 2),
        tapPair(a, next, nA, rotate, 3), tapPair(a, next, nA, rotate, 4), tapPair(a, next, nA, rotate, 5),
        tapPair(a, next, nA, rotate, 6), tapPair(a, next, nA, rotate, 7), tapPair(a, next, nA, rotate, 8),
        tapPair(b, next, nB, rotate, 0), tapPair(b, next, nB, rotate, 1), tapPair(b, next, nB, rotate, 2),
        tapPair(b, next, nB, rotate, 3), tapPair(b, next, nB, rotate, 4), tapPair(b, next, nB, rotate, 5),
        tapPair(b, next, nB, rotate, 6), tapPair(b, next, nB, rotate, 7), tapPair(b, next, nB, rotate, 8), base, step);
    }
  }
  zeroPanelRows(U, rows, cols, 36, PLANE_SKEW); // +0, not the −0 that 0·(−⅙) leaves in rows past the last
}

/**
 * panelTimesG for four kernels (the first at a, the others `next` bytes apart; rotated 180° when
 * `rotate`): each one's taps 0–3 and 4–7 in two vector loads, transposed to lanes = kernels,
 * widened to f64 pairs (kernels 0, 1 and 2, 3), where tapPair took two scalar loads, two
 * conversions and a lane insertion per pair: the same values, so the same bits.
 */
// @ts-ignore: decorator
@inline function fullPanelTimesG(a: usize, next: usize, rotate: bool, base: usize, step: usize): void {
  const p1 = a + next, p2 = a + 2 * next, p3 = a + 3 * next;
  const q0 = v128.load(a), q1 = v128.load(p1), q2 = v128.load(p2), q3 = v128.load(p3);
  const h0 = v128.load(a, 16), h1 = v128.load(p1, 16), h2 = v128.load(p2, 16), h3 = v128.load(p3, 16);
  // (kernel 0 tap t, kernel 1 tap t, kernel 0 tap t + 1, kernel 1 tap t + 1), and kernels 2, 3 alike.
  const t01 = v128.shuffle<f32>(q0, q1, 0, 4, 1, 5), t23 = v128.shuffle<f32>(q0, q1, 2, 6, 3, 7);
  const u01 = v128.shuffle<f32>(q2, q3, 0, 4, 1, 5), u23 = v128.shuffle<f32>(q2, q3, 2, 6, 3, 7);
  const t45 = v128.shuffle<f32>(h0, h1, 0, 4, 1, 5), t67 = v128.shuffle<f32>(h0, h1, 2, 6, 3, 7);
  const u45 = v128.shuffle<f32>(h2, h3, 0, 4, 1, 5), u67 = v128.shuffle<f32>(h2, h3, 2, 6, 3, 7);
  const a0 = lowPair(t01), a1 = highPair(t01), a2 = lowPair(t23), a3 = highPair(t23);
  const a4 = lowPair(t45), a5 = highPair(t45), a6 = lowPair(t67), a7 = highPair(t67);
  const b0 = lowPair(u01), b1 = highPair(u01), b2 = lowPair(u23), b3 = highPair(u23);
  const b4 = lowPair(u45), b5 = highPair(u45), b6 = lowPair(u67), b7 = highPair(u67);
  const a8 = f64x2.replace_lane(f64x2.splat(<f64>load<f32>(a, 32)), 1, <f64>load<f32>(p1, 32));
  const b8 = f64x2.replace_lane(f64x2.splat(<f64>load<f32>(p2, 32)), 1, <f64>load<f32>(p3, 32));
  if (rotate) panelTimesG(a8, a7, a6, a5, a4, a3, a2, a1, a0, b8, b7, b6, b5, b4, b3, b2, b1, b0, base, step);
  else panelTimesG(a0, a1, a2, a3, a4, a5, a6, a7, a8, b0, b1, b2, b3, b4, b5, b6, b7, b8, base, step);
}

/** Lanes 0, 1 of f32x4 v widened to an f64x2. */
// @ts-ignore: decorator
@inline function lowPair(v: v128): v128 { return f64x2.promote_low_f32x4(v); }

/** Lanes 2, 3 of f32x4 v widened to an f64x2. */
// @ts-ignore: decorator
@inline function highPair(v: v128): v128 { return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)); }

/**
 * (G' g G'ᵀ) ⊙ d dᵀ of a panel's four kernels, taps a_i (rows r0, r0 + 1 as f64 lanes) and b_i
 * (r0 + 2, r0 + 3), rounded to f32: 36 vectors at base + ξ·step.
 */
// @ts-ignore: decorator
@inline function panelTimesG(
  a0: v128, a1: v128, a2: v128, a3: v128, a4: v128, a5: v128, a6: v128, a7: v128, a8: v128,
  b0: v128, b1: v128, b2: v128, b3: v128, b4: v128, b5: v128, b6: v128, b7: v128, b8: v128, base: usize, step: usize,
): void {
  for (let i = 0; i < 6; i++) {
    // Row i of G' g (G'_i dotted with g's three columns), times G'ᵀ, scaled, rounded, stored.
    storeRowTimesGt(gPrimeRow(i, a0, a3, a6), gPrimeRow(i, a1, a4, a7), gPrimeRow(i, a2, a5, a8),
      gPrimeRow(i, b0, b3, b6), gPrimeRow(i, b1, b4, b7), gPrimeRow(i, b2, b5, b8), i, base + <usize>(6 * i) * step, step);
  }
}

/** d_i d_j for ξ = 6i + j, d = (¼, −⅙, −⅙, 1/24, 1/24, 1): G = diag(d) G'. */
const KT_SCALE: StaticArray<f64> = [
  1.0 / 16, -1.0 / 24, -1.0 / 24, 1.0 / 96, 1.0 / 96, 0.25,
  -1.0 / 24, 1.0 / 36, 1.0 / 36, -1.0 / 144, -1.0 / 144, -1.0 / 6,
  -1.0 / 24, 1.0 / 36, 1.0 / 36, -1.0 / 144, -1.0 / 144, -1.0 / 6,
  1.0 / 96, -1.0 / 144, -1.0 / 144, 1.0 / 576, 1.0 / 576, 1.0 / 24,
  1.0 / 96, -1.0 / 144, -1.0 / 144, 1.0 / 576, 1.0 / 576, 1.0 / 24,
  0.25, -1.0 / 6, -1.0 / 6, 1.0 / 24, 1.0 / 24, 1,
];

/** Row i of G' times the column (a, b, c) of two f64 lanes: a, a + b + c, a − b + c, a + 2b + 4c, a − 2b + 4c, c. */
// @ts-ignore: decorator
@inline function gPrimeRow(i: i32, a: v128, b: v128, c: v128): v128 {
  switch (i) {
    case 0: return a;
    case 1: return f64x2.add(f64x2.add(a, c), b);
    case 2: return f64x2.sub(f64x2.add(a, c), b);
    case 3: return f64x2.add(f64x2.add(a, f64x2.mul(f64x2.splat(4), c)), f64x2.add(b, b));
    case 4: return f64x2.sub(f64x2.add(a, f64x2.mul(f64x2.splat(4), c)), f64x2.add(b, b));
    default: return c;
  }
}

/**
 * (a, b, c) (row i of G' g for panel rows r0, r0 + 1 as two f64 lanes) and (d, e, f) (rows r0 + 2,
 * r0 + 3) times G'ᵀ, each product j scaled by d_i d_j, rounded to f32: four floats (the panel's
 * four rows) at dst + j·stride.
 */
// @ts-ignore: decorator
@inline function storeRowTimesGt(a: v128, b: v128, c: v128, d: v128, e: v128, f: v128, i: i32, dst: usize, stride: usize): void {
  const t = f64x2.add(a, c), u = f64x2.add(a, f64x2.mul(f64x2.splat(4), c)), v = f64x2.add(b, b), s = <usize>(6 * i) << 3;
  const t2 = f64x2.add(d, f), u2 = f64x2.add(d, f64x2.mul(f64x2.splat(4), f)), v2 = f64x2.add(e, e);
  storeScaled(a, d, s, dst);
  storeScaled(f64x2.add(t, b), f64x2.add(t2, e), s + 8, dst + stride);
  storeScaled(f64x2.sub(t, b), f64x2.sub(t2, e), s + 16, dst + 2 * stride);
  storeScaled(f64x2.add(u, v), f64x2.add(u2, v2), s + 24, dst + 3 * stride);
  storeScaled(f64x2.sub(u, v), f64x2.sub(u2, v2), s + 32, dst + 4 * stride);
  storeScaled(c, f, s + 40, dst + 5 * stride);
}

/** lo and hi (two f64 lanes each) times KT_SCALE's entry at byte `at`, rounded to four f32 at dst. */
// @ts-ignore: decorator
@inline function storeScaled(lo: v128, hi: v128, at: usize, dst: usize): void {
  const scale = v128.load64_splat(changetype<usize>(KT_SCALE) + at);
  const l = f32x4.demote_f64x2_zero(f64x2.mul(lo, scale)), h = f32x4.demote_f64x2_zero(f64x2.mul(hi, scale));
  v128.store(dst, v128.shuffle<f32>(l, h, 0, 1, 4, 5));
}

/**
 * Tap i of the 3×3 kernels of two panel rows (kernel l at first + l·next bytes; its 180° rotation
 * when `rotate`) as an f64x2: the first `n` lanes (0, 1 or 2) loaded, the others zero.
 */
// @ts-ignore: decorator
@inline function tapPair(first: usize, next: usize, n: i32, rotate: bool, i: i32): v128 {
  const at = <usize>(rotate ? 8 - i : i) << 2;
  const a = n > 0 ? <f64>load<f32>(first + at) : 0, b = n > 1 ? <f64>load<f32>(first + next + at) : 0;
  return f64x2.replace_lane(f64x2.splat(a), 1, b);
}

/**
 * Bᵀ z for six vectors z0..z5 (lanes = tiles) → dst, dst + stride, …, dst + 5·stride: 12 operations,
 * five of them multiply-adds (fused in the relaxed build; in the plain one the same values as
 * 4·(z0 − z2) + (z4 − z2), …, term by term).
 */
// @ts-ignore: decorator
@inline function storeTimesBt(dst: usize, stride: usize, z0: v128, z1: v128, z2: v128, z3: v128, z4: v128, z5: v128): void {
  const minus4 = f32x4.splat(-4);
  const p = madd(minus4, z2, z4), q = madd(minus4, z1, z3), r = f32x4.sub(z4, z2), s = f32x4.sub(z3, z1);
  v128.store(dst, madd(f32x4.splat(4), f32x4.sub(z0, z2), r));
  v128.store(dst + stride, f32x4.add(p, q));
  v128.store(dst + 2 * stride, f32x4.sub(p, q));
  v128.store(dst + 3 * stride, madd(f32x4.splat(2), s, r));
  v128.store(dst + 4 * stride, madd(f32x4.splat(-2), s, r));
  v128.store(dst + 5 * stride, madd(minus4, s, f32x4.sub(z5, z3)));
}

/**
 * Columns 4k + j of a0..a4 (row i of Bᵀ d for four tiles side by side, lane k = tile k) times B:
 * V[6i + j] for j < 6 at dst + j·stride.
 */
// @ts-ignore: decorator
@inline function transposeTimesB(a0: v128, a1: v128, a2: v128, a3: v128, a4: v128, dst: usize, stride: usize): void {
  // Transpose a0..a3: dj lane k = column 4k + j; columns 4 and 5 take a4's first two.
  const lo01 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), hi01 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7);
  const lo23 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), hi23 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
  const d0 = v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5), d1 = v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7);
  const d2 = v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5), d3 = v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7);
  const d4 = v128.shuffle<f32>(d0, a4, 1, 2, 3, 4), d5 = v128.shuffle<f32>(d1, a4, 1, 2, 3, 5);
  storeTimesBt(dst, stride, d0, d1, d2, d3, d4, d5);
}

/**
 * Columns 2k + j of a0..a2 (row i of Bᵀ d for four tiles 2 apart, F(2×2,5×5)'s, lane k = tile k)
 * times B: V[6i + j] for j < 6 at dst + j·stride.
 */
// @ts-ignore: decorator
@inline function transposeTimesB2(a0: v128, a1: v128, a2: v128, dst: usize, stride: usize): void {
  const d0 = v128.shuffle<f32>(a0, a1, 0, 2, 4, 6), d1 = v128.shuffle<f32>(a0, a1, 1, 3, 5, 7);
  const d2 = v128.shuffle<f32>(d0, a2, 1, 2, 3, 4), d3 = v128.shuffle<f32>(d1, a2, 1, 2, 3, 5);
  const d4 = v128.shuffle<f32>(d2, a2, 1, 2, 3, 6), d5 = v128.shuffle<f32>(d3, a2, 1, 2, 3, 7);
  storeTimesBt(dst, stride, d0, d1, d2, d3, d4, d5);
}

/**
 * Row i of Bᵀ d of four tiles anywhere (tile k: columns 0..3 in a_k, 4..5 in the first two lanes
 * of b_k) transposed to lanes = tiles, times B: V[6i + j] for j < 6 at dst + j·stride.
 */
// @ts-ignore: decorator
@inline function fourTilesTimesB(a0: v128, a1: v128, a2: v128, a3: v128, b0: v128, b1: v128, b2: v128, b3: v128, dst: usize, stride: usize): void {
  const lo01 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), hi01 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7);
  const lo23 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), hi23 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
  const e01 = v128.shuffle<f32>(b0, b1, 0, 4, 1, 5), e23 = v128.shuffle<f32>(b2, b3, 0, 4, 1, 5);
  storeTimesBt(dst, stride,
    v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5), v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7),
    v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5), v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7),
    v128.shuffle<f32>(e01, e23, 0, 1, 4, 5), v128.shuffle<f32>(e01, e23, 2, 3, 6, 7));
}

/** Lanes of the columns c..c+3 inside 0..Win−1: all ones, else zero. */
// @ts-ignore: decorator
@inline export function columnMask(c: i32, Win: i32): v128 {
  const cols = i32x4.add(i32x4.splat(c), i32x4(0, 1, 2, 3));
  return v128.and(i32x4.ge_s(cols, i32x4.splat(0)), i32x4.lt_s(cols, i32x4.splat(Win)));
}

/** Row r0 + k of a plane at p (the address of row r0's first wanted column, rows rs bytes apart): zeros outside rows 0..Hin−1. */
// @ts-ignore: decorator
@inline export function stripRow(p: usize, rs: usize, k: i32, r0: i32, Hin: i32): v128 {
  const row = r0 + k;
  return row >= 0 && row < Hin ? v128.load(p + <usize>k * rs) : f32x4.splat(0);
}

/**
 * Bᵀ d for four tiles side by side, m apart: the six rows from r0 over columns c0..c0 + 4m + 3 (m + 1
 * vectors, zeros outside the plane), Bᵀ down each column: row i of the result, vector v (columns
 * c0 + 4v..), at e + i·rowBytes + 16v. With m = 1, one tile's eight columns (two vectors). Whole-vector loads when every row inside the plane lies in memory
 * over those columns, the columns outside a row zeroed by a mask on the vectors that have some, the
 * row checks only on the tile rows that have rows outside; else checked loads.
 */
// @ts-ignore: decorator
@inline function stripTimesBt(m: i32, plane: usize, r0: i32, c0: i32, Hin: i32, Win: i32, e: usize, rowBytes: usize): void {
  const rFirst = max(r0, 0), rLast = min(r0 + 5, Hin - 1);
  const first = <i64>plane + (<i64>rFirst * Win + c0) * 4, last = <i64>plane + (<i64>rLast * Win + c0 + 4 * m + 4) * 4;
  if (first >= 0 && last <= (<i64>memory.size() << 16)) {
    const rs = <usize>Win << 2, inside = r0 >= 0 && r0 + 6 <= Hin;
    for (let v = 0; v <= m; v++) {
      const c = c0 + 4 * v;
      const p = plane + <usize>((r0 * Win + c) << 2); // wraps for rows above the plane, which are not loaded
      let z0: v128, z1: v128, z2: v128, z3: v128, z4: v128, z5: v128;
      if (inside) {
        z0 = v128.load(p); z1 = v128.load(p + rs); z2 = v128.load(p + 2 * rs);
        z3 = v128.load(p + 3 * rs); z4 = v128.load(p + 4 * rs); z5 = v128.load(p + 5 * rs);
      } else {
        z0 = stripRow(p, rs, 0, r0, Hin); z1 = stripRow(p, rs, 1, r0, Hin); z2 = stripRow(p, rs, 2, r0, Hin);
        z3 = stripRow(p, rs, 3, r0, Hin); z4 = stripRow(p, rs, 4, r0, Hin); z5 = stripRow(p, rs, 5, r0, Hin);
      }
      if (c < 0 || c + 4 > Win) {
        const mask = columnMask(c, Win);
        z0 = v128.and(z0, mask); z1 = v128.and(z1, mask); z2 = v128.and(z2, mask);
        z3 = v128.and(z3, mask); z4 = v128.and(z4, mask); z5 = v128.and(z5, mask);
      }
      storeTimesBt(e + (<usize>v << 4), rowBytes, z0, z1, z2, z3, z4, z5);
    }
  } else {
    for (let v = 0; v <= m; v++) {
      const c = c0 + 4 * v;
      storeTimesBt(e + (<usize>v << 4), rowBytes, rowChecked(plane, r0, c, Hin, Win), rowChecked(plane, r0 + 1, c, Hin, Win), rowChecked(plane, r0 + 2, c, Hin, Win),
        rowChecked(plane, r0 + 3, c, Hin, Win), rowChecked(plane, r0 + 4, c, Hin, Win), rowChecked(plane, r0 + 5, c, Hin, Win));
    }
  }
}

/**
 * Each row i ∈ [rowFrom, rowTo) of Bᵀ d (m + 1 vectors at e + 96i, lanes = columns) transposed to lanes =
 * tiles, times B → V[6i + j] at dst + (6(i − rowFrom) + j)·step.
 */
// @ts-ignore: decorator
@inline function stripRowsTimesB(m: i32, e: usize, dst: usize, step: usize, rowFrom: i32, rowTo: i32): void {
  for (let i = rowFrom; i < rowTo; i++) {
    const r = e + <usize>i * 96, out = dst + <usize>(6 * (i - rowFrom)) * step;
    if (m == 2) transposeTimesB2(v128.load(r), v128.load(r, 16), v128.load(r, 32), out, step);
    else transposeTimesB(v128.load(r), v128.load(r, 16), v128.load(r, 32), v128.load(r, 48), v128.load(r, 64), out, step);
  }
}

/**
 * (Bᵀ d B)[ξ] for tiles t0 + i, i < tbr (zero from tb on), of every channel c, m×m output tiles
 * (d: the 6×6 patch from row m·ty − PH, column m·tx − PW), at float ξ·Cin·tbr + (i / 8)·panel +
 * i % 8 + c·row of V, each plane ξ `skew` bytes after the last: panel = Cin·8, row = 8 gives the
 * micro-kernel's B panels V[ξ][i / 8][c][i % 8]; panel = 8, row = tbr the row-major V[ξ][c][i]
 * (the weight gradient's, conv-winograd-dw-f4.ts). tmp: WINOGRAD_TMP_FLOATS floats. Only the
 * rows ξ / 6 ∈ [rowFrom, rowTo) of each tile's Bᵀ d B when asked (the weight gradient split by rows of ξ
 * over threads), plane ξ then at V + (ξ − 6·rowFrom)·step: each row i is row i of Bᵀ d times B, so a
 * row gets the same bits alone as with the others.
 *
 * Into the B panels, panel by panel and within one channel by channel: each plane ξ of V is then
 * written from start to end, a cache line every two channels. Channel by channel over all tiles
 * (the order of the row-major layout, whose rows it writes from start to end) wrote each line of
 * the panels in two halves a channel apart, 36 planes × 8 KiB apart at 32 channels and 128 tiles:
 * L1 lost the lines in between.
 */
export function inputTransformAlpha6(
  m: i32, x: usize, Cin: i32, Hin: i32, Win: i32, PH: i32, PW: i32, tw: i32, perImage: i32, t0: i32, tb: i32, tbr: i32, V: usize, tmp: usize,
  panel: i32, row: i32, skew: usize, rowFrom: i32 = 0, rowTo: i32 = 6,
): void {
  const planeBytes = <usize>Hin * Win << 2, step = (<usize>Cin * tbr << 2) + skew;
  const e = tmp, raw = tmp + 576, origins = raw + 576;
  tileOrigins(m, origins, x, <usize>Cin * planeBytes, t0, tb, tbr, tw, perImage, PH, PW);
  if (row == 8) {
    for (let i8 = 0; i8 < tbr; i8 += 8) {
      for (let c = 0; c < Cin; c++) {
        for (let i = i8; i < i8 + 8; i += 4) transformFourTiles(m, i, c, Hin, Win, tb, planeBytes, origins, V + ((<usize>(i >> 3) * panel + (i & 7) + <usize>c * row) << 2), step, e, raw, rowFrom, rowTo);
      }
    }
  } else {
    for (let c = 0; c < Cin; c++) {
      for (let i = 0; i < tbr; i += 4) transformFourTiles(m, i, c, Hin, Win, tb, planeBytes, origins, V + ((<usize>(i >> 3) * panel + (i & 7) + <usize>c * row) << 2), step, e, raw, rowFrom, rowTo);
    }
  }
}

/**
 * inputTransformAlpha6's tiles i..i+3 of channel c (tile records at origins) → V[ξ] at dst + (ξ − 6·rowFrom)·step
 * for ξ / 6 ∈ [rowFrom, rowTo); e, raw: 36 vectors each.
 */
// @ts-ignore: decorator
@inline function transformFourTiles(
  m: i32, i: i32, c: i32, Hin: i32, Win: i32, tb: i32, planeBytes: usize, origins: usize, dst: usize, step: usize, e: usize, raw: usize,
  rowFrom: i32, rowTo: i32,
): void {
  const offset = <usize>c * planeBytes, o = origins + (<usize>i << 4);
  if (i >= tb) {
    // The columns that round the last panel up to 8 tiles: zeros, not whatever the scratch held.
    for (let xi = 0; xi < 6 * (rowTo - rowFrom); xi++) v128.store(dst + <usize>xi * step, f32x4.splat(0));
  } else if (fourInARow(o, m)) {
    // Four tiles of one tile row: Bᵀ down m + 1 columns of vectors, then each row of the result
    // transposed and times B, straight into V.
    const plane = <usize>load<u32>(o) + offset, r0 = load<i32>(o, 4), c0 = load<i32>(o, 8);
    stripTimesBt(m, plane, r0, c0, Hin, Win, e, 96);
    stripRowsTimesB(m, e, dst, step, rowFrom, rowTo);
  } else if (i + 4 <= tb) {
    // Four tiles anywhere (planes of fewer than four tiles a row, or a tile row or image ending
    // among them): each tile's Bᵀ down its eight columns as two vectors (tile k's row i of Bᵀ d at
    // e + 128i + 32k), then each row transposed to lanes = tiles and times B. The same operations
    // in the same order per value as the lane-by-lane gather below (zeros outside the plane are
    // +0 either way), so a tile's V does not depend on which path took it. e spans e and raw here.
    for (let k = 0; k < 4; k++) {
      const rec = o + (<usize>k << 4);
      stripTimesBt(1, <usize>load<u32>(rec) + offset, load<i32>(rec, 4), load<i32>(rec, 8), Hin, Win, e + (<usize>k << 5), 128);
    }
    for (let r = rowFrom; r < rowTo; r++) {
      const z = e + <usize>r * 128;
      fourTilesTimesB(v128.load(z), v128.load(z, 32), v128.load(z, 64), v128.load(z, 96),
        v128.load(z, 16), v128.load(z, 48), v128.load(z, 80), v128.load(z, 112), dst + <usize>(6 * (r - rowFrom)) * step, step);
    }
  } else {
    // Fewer than four tiles (the chunk's last): gathered lane by lane, then the
    // same operations in the same order per value (Bᵀ down each column, then each row times B).
    for (let k = 0; k < 4; k++) gatherPatch(6, raw + (<usize>k << 2), o + (<usize>k << 4), offset, Hin, Win);
    for (let j = 0; j < 6; j++) {
      const z = raw + (<usize>j << 4);
      storeTimesBt(e + (<usize>j << 4), 96, v128.load(z), v128.load(z, 96), v128.load(z, 192), v128.load(z, 288), v128.load(z, 384), v128.load(z, 480));
    }
    for (let r = rowFrom; r < rowTo; r++) {
      const z = e + <usize>r * 96;
      storeTimesBt(dst + <usize>(6 * (r - rowFrom)) * step, step, v128.load(z), v128.load(z, 16), v128.load(z, 32), v128.load(z, 48), v128.load(z, 64), v128.load(z, 80));
    }
  }
}

/**
 * For tiles t0 + i, i < tbr: [image's plane 0 in x, row, column of the tile's corner, live (i < tb)]
 * as 4 i32 at origins + 16i; `imageBytes` the bytes of one image of x. Corners are m·tile − pad:
 * the same records serve the input (pads PH, PW) and the output (0, 0).
 */
export function tileOrigins(m: i32, origins: usize, x: usize, imageBytes: usize, t0: i32, tb: i32, tbr: i32, tw: i32, perImage: i32, PH: i32, PW: i32): void {
  for (let i = 0; i < tbr; i++) {
    const p = origins + (<usize>i << 4), t = t0 + i, n = t / perImage, r = t - n * perImage, ty = r / tw;
    store<u32>(p, <u32>(x + <usize>n * imageBytes));
    store<i32>(p, m * ty - PH, 4);
    store<i32>(p, m * (r - ty * tw) - PW, 8);
    store<i32>(p, i < tb ? 1 : 0, 12);
  }
}

/** Whether the four tile records at o (m×m tiles) are live, of one image and one tile row, side by side. */
// @ts-ignore: decorator
@inline export function fourInARow(o: usize, m: i32): bool {
  return load<i32>(o, 60) != 0 && load<u32>(o, 48) == load<u32>(o) && load<i32>(o, 52) == load<i32>(o, 4) && load<i32>(o, 56) == load<i32>(o, 8) + 3 * m;
}

/**
 * The α×α patch of one lane (origin record at o) into raw[r][j][lane] (lane's float at dst +
 * 16·(α·r + j)), zeros outside: α = 6 here, 8 for F(4×4,5×5) (conv-winograd-f4x4-5x5.ts).
 */
export function gatherPatch(alpha: i32, dst: usize, o: usize, offset: usize, Hin: i32, Win: i32): void {
  const live = load<i32>(o, 12) != 0, plane = <usize>load<u32>(o) + offset, r0 = load<i32>(o, 4), c0 = load<i32>(o, 8);
  for (let r = 0; r < alpha; r++) {
    const row = r0 + r, inRow = live && row >= 0 && row < Hin;
    for (let j = 0; j < alpha; j++) {
      const col = c0 + j;
      store<f32>(dst, inRow && col >= 0 && col < Win ? load<f32>(plane + ((<usize>row * Win + col) << 2)) : 0);
      dst += 16;
    }
  }
}

/** Aᵀ z for six vectors: y0..y3 (lanes = tiles), plus `bias` when `biased` (multiply-adds as storeTimesBt's). */
// @ts-ignore: decorator
@inline function timesAt(z0: v128, z1: v128, z2: v128, z3: v128, z4: v128, z5: v128, biased: bool, bias: v128, dst: usize, stride: usize): void {
  const a = f32x4.add(z1, z2), b = f32x4.sub(z1, z2), c = f32x4.add(z3, z4), d = f32x4.sub(z3, z4);
  let y0 = f32x4.add(f32x4.add(z0, a), c), y1 = madd(f32x4.splat(2), d, b);
  let y2 = madd(f32x4.splat(4), c, a), y3 = f32x4.add(madd(f32x4.splat(8), d, b), z5);
  if (biased) { y0 = f32x4.add(y0, bias); y1 = f32x4.add(y1, bias); y2 = f32x4.add(y2, bias); y3 = f32x4.add(y3, bias); }
  v128.store(dst, y0);
  v128.store(dst + stride, y1);
  v128.store(dst + 2 * stride, y2);
  v128.store(dst + 3 * stride, y3);
}

/** Aᵀ M of four tiles (lanes) of one output channel, M[ξ] at src + ξ·step: 24 vectors, row k at q + 96k. */
// @ts-ignore: decorator
@inline function columnsTimesAt(src: usize, step: usize, q: usize): void {
  for (let j = 0; j < 6; j++) {
    const c = src + <usize>j * step, s6 = <usize>6 * step;
    timesAt(v128.load(c), v128.load(c + s6), v128.load(c + 2 * s6), v128.load(c + 3 * s6), v128.load(c + 4 * s6), v128.load(c + 5 * s6),
      false, f32x4.splat(0), q + (<usize>j << 4), 96);
  }
}

/**
 * Aᵀ M A (+ bias) of four tiles (lanes) of one output channel, M[ξ] at src + ξ·step: 16 vectors
 * y[k][l] (output row k, column l) at y + 16·(4k + l); q holds 24 vectors of Aᵀ M. The same
 * operations in the same order as columnsTimesAt then storeRowOf4Tiles.
 */
// @ts-ignore: decorator
@inline function tileOutput4(src: usize, step: usize, bias: v128, q: usize, y: usize): void {
  columnsTimesAt(src, step, q);
  for (let k = 0; k < 4; k++) {
    const r = q + <usize>k * 96;
    timesAt(v128.load(r), v128.load(r, 16), v128.load(r, 32), v128.load(r, 48), v128.load(r, 64), v128.load(r, 80), true, bias, y + (<usize>k << 6), 16);
  }
}

/**
 * Aᵀ z for six vectors with F(2×2,5×5)'s Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 1]: y0, y1 (lanes = tiles),
 * plus `bias`.
 */
// @ts-ignore: decorator
@inline function timesAt2(z0: v128, z1: v128, z2: v128, z3: v128, z4: v128, z5: v128, bias: v128, dst: usize, stride: usize): void {
  const a = f32x4.add(z1, z2), b = f32x4.sub(z1, z2), c = f32x4.add(z3, z4), d = f32x4.sub(z3, z4);
  v128.store(dst, f32x4.add(f32x4.add(f32x4.add(z0, a), c), bias));
  v128.store(dst + stride, f32x4.add(f32x4.add(f32x4.add(b, f32x4.mul(f32x4.splat(2), d)), z5), bias));
}

/**
 * Aᵀ M A (+ bias) of four 2×2 tiles (lanes) of one output channel, M[ξ] at src + ξ·step: 4 vectors
 * y[k][l] at y + 16·(2k + l); q holds 12 vectors of Aᵀ M.
 */
// @ts-ignore: decorator
@inline function tileOutput2(src: usize, step: usize, bias: v128, q: usize, y: usize): void {
  const zero = f32x4.splat(0);
  for (let j = 0; j < 6; j++) {
    const c = src + <usize>j * step, s6 = <usize>6 * step;
    timesAt2(v128.load(c), v128.load(c + s6), v128.load(c + 2 * s6), v128.load(c + 3 * s6), v128.load(c + 4 * s6), v128.load(c + 5 * s6),
      zero, q + (<usize>j << 4), 96);
  }
  for (let k = 0; k < 2; k++) {
    const r = q + <usize>k * 96;
    timesAt2(v128.load(r), v128.load(r, 16), v128.load(r, 32), v128.load(r, 48), v128.load(r, 64), v128.load(r, 80), bias, y + (<usize>k << 5), 16);
  }
}

/**
 * out[n, o, m·ty.., m·tx..] = act((Aᵀ M A) (+ b[o])) for tiles t0 + i, i < tb, of m×m outputs (Aᵀ:
 * F(4×4,3×3)'s for m = 4, F(2×2,5×5)'s for m = 2), cut at OH×OW; tmp: WINOGRAD_TMP_FLOATS floats.
 * Channel by channel, each row of M read from start to end. The activation is applied as the
 * values are stored into the planes; with one, returns 1 when a value stored was NaN or infinite
 * before it.
 */
export function outputTransformAlpha6(
  m: i32, M: usize, Cout: i32, rows: i32, tw: i32, perImage: i32, t0: i32, tb: i32, tbr: i32, OH: i32, OW: i32, out: usize, b: usize, tmp: usize, act: i32,
): i32 {
  let flag = f32x4.splat(0);
  let bad = 0;
  const step = (<usize>rows * tbr << 2) + PLANE_SKEW, planeBytes = <usize>OH * OW << 2, rs = <usize>OW << 2;
  const q = tmp, y = tmp + 384, origins = tmp + 1152;
  tileOrigins(m, origins, out, <usize>Cout * planeBytes, t0, tb, tbr, tw, perImage, 0, 0);
  for (let o = 0; o < Cout; o++) {
    const bias = f32x4.splat(b != 0 ? load<f32>(b + (<usize>o << 2)) : 0), offset = <usize>o * planeBytes;
    for (let i = 0; i < tb; i += 4) {
      const rec = origins + (<usize>i << 4), src = M + ((<usize>o * tbr + i) << 2);
      const oy = load<i32>(rec, 4), ox = load<i32>(rec, 8);
      const whole = fourInARow(rec, m) && oy + m <= OH && ox + 4 * m <= OW;
      // Four whole tiles side by side: each output row is 4m contiguous floats.
      const dst = <usize>load<u32>(rec) + offset + ((<usize>oy * OW + ox) << 2);
      if (m == 4 && whole) {
        // Aᵀ M down the columns into q, then each row of the result times A, transposed and stored
        // from registers (through y and back cost 32 of ~260 operations per four tiles).
        columnsTimesAt(src, step, q);
        for (let k = 0; k < 4; k++) {
          const d = dst + <usize>k * rs;
          flag = v128.or(flag, storeRowOf4Tiles(q + <usize>k * 96, bias, d, d + 16, d + 32, d + 48, act));
        }
        continue;
      }
      if (m == 4 && fourWhole(rec, OH, OW)) {
        // Four whole tiles anywhere (planes of fewer than four tiles a row, or a tile row or image
        // ending among them): the same, each tile's row to its own place.
        columnsTimesAt(src, step, q);
        const d0 = tileCorner(rec, offset, OW), d1 = tileCorner(rec + 16, offset, OW), d2 = tileCorner(rec + 32, offset, OW), d3 = tileCorner(rec + 48, offset, OW);
        for (let k = 0; k < 4; k++) {
          const r = <usize>k * rs;
          flag = v128.or(flag, storeRowOf4Tiles(q + <usize>k * 96, bias, d0 + r, d1 + r, d2 + r, d3 + r, act));
        }
        continue;
      }
      if (m == 2) tileOutput2(src, step, bias, q, y);
      else tileOutput4(src, step, bias, q, y);
      if (whole) {
        for (let k = 0; k < 2; k++) flag = v128.or(flag, storeRowOf4Tiles2(y + (<usize>k << 5), dst + <usize>k * rs, act));
      } else {
        for (let k = 0; k < 4; k++) bad |= scatterTile(m, y + (<usize>k << 2), rec + (<usize>k << 4), offset, OH, OW, act);
      }
    }
  }
  return bad | <i32>v128.any_true(flag);
}

/** Whether the four tile records at rec are live and their 4×4 tiles lie inside OH×OW. */
// @ts-ignore: decorator
@inline export function fourWhole(rec: usize, OH: i32, OW: i32): bool {
  let whole = true;
  for (let k = 0; k < 4; k++) {
    const r = rec + (<usize>k << 4);
    whole = whole && load<i32>(r, 12) != 0 && load<i32>(r, 4) + 4 <= OH && load<i32>(r, 8) + 4 <= OW;
  }
  return whole;
}

/** The address of the output corner of the tile record at rec, plane `offset` bytes into its image. */
// @ts-ignore: decorator
@inline export function tileCorner(rec: usize, offset: usize, OW: i32): usize {
  return <usize>load<u32>(rec) + offset + ((<usize>load<i32>(rec, 4) * OW + load<i32>(rec, 8)) << 2);
}

/**
 * Row k of Aᵀ M (six vectors at qk, lane = tile) times A (+ bias), act → row k of tile l, four
 * floats at d_l; returns the lanes NaN or infinite before the activation (with one; else none).
 */
// @ts-ignore: decorator
@inline function storeRowOf4Tiles(qk: usize, bias: v128, d0: usize, d1: usize, d2: usize, d3: usize, act: i32): v128 {
  const z0 = v128.load(qk), z1 = v128.load(qk, 16), z2 = v128.load(qk, 32), z3 = v128.load(qk, 48), z4 = v128.load(qk, 64), z5 = v128.load(qk, 80);
  // timesAt's operations, biased.
  const a = f32x4.add(z1, z2), b = f32x4.sub(z1, z2), c = f32x4.add(z3, z4), d = f32x4.sub(z3, z4);
  let y0 = f32x4.add(f32x4.add(f32x4.add(z0, a), c), bias), y1 = f32x4.add(madd(f32x4.splat(2), d, b), bias);
  let y2 = f32x4.add(madd(f32x4.splat(4), c, a), bias), y3 = f32x4.add(f32x4.add(madd(f32x4.splat(8), d, b), z5), bias);
  let flag = f32x4.splat(0);
  if (act != 0) {
    flag = v128.or(v128.or(nonFinite(y0), nonFinite(y1)), v128.or(nonFinite(y2), nonFinite(y3)));
    y0 = actV(y0, act); y1 = actV(y1, act); y2 = actV(y2, act); y3 = actV(y3, act);
  }
  transposeTo(y0, y1, y2, y3, d0, d1, d2, d3);
  return flag;
}

/** storeRowOf4Tiles for 2×2 tiles: act(y[k][0..1]) → four tiles' row k, 8 contiguous floats at dst. */
// @ts-ignore: decorator
@inline function storeRowOf4Tiles2(yk: usize, dst: usize, act: i32): v128 {
  let y0 = v128.load(yk), y1 = v128.load(yk, 16);
  let flag = f32x4.splat(0);
  if (act != 0) {
    flag = v128.or(nonFinite(y0), nonFinite(y1));
    y0 = actV(y0, act); y1 = actV(y1, act);
  }
  v128.store(dst, v128.shuffle<f32>(y0, y1, 0, 4, 1, 5));
  v128.store(dst, v128.shuffle<f32>(y0, y1, 2, 6, 3, 7), 16);
  return flag;
}

/**
 * One lane's m×m tile (its float of y[k][l] at src + 16·(mk + l)) into its output plane, cut at
 * OH×OW, through act; returns 1 when a value stored was NaN or infinite before it (with an act).
 */
export function scatterTile(m: i32, src: usize, o: usize, offset: usize, OH: i32, OW: i32, act: i32): i32 {
  if (load<i32>(o, 12) == 0) return 0;
  let bad = 0;
  const plane = <usize>load<u32>(o) + offset, oy = load<i32>(o, 4), ox = load<i32>(o, 8);
  for (let k = 0; k < m && oy + k < OH; k++) {
    for (let l = 0; l < m && ox + l < OW; l++) {
      const v = load<f32>(src + (<usize>(m * k + l) << 4));
      if (act != 0) bad |= <i32>!isFinite<f32>(v);
      store<f32>(plane + ((<usize>(oy + k) * OW + ox + l) << 2), actS(v, act));
    }
  }
  return bad;
}
