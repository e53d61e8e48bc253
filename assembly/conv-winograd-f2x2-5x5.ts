// Winograd F(2×2, 5×5) for 5×5, stride-1, undilated, ungrouped convolutions (Lavin & Gray 2015):
// each 2×2 output tile is Aᵀ [Σ_c (G g Gᵀ) ⊙ (Bᵀ d B)] A with d the 6×6 input patch of the tile,
// the Σ_c as 36 GEMMs, one per element of the 6×6 transformed tile: 36·O·C multiply-adds per 4
// outputs where a direct convolution does 100·O·C, 2.78× fewer.
//
//   Bᵀ: F(4×4,3×3)'s   G = |  ¼     0     0     0    0   |   Aᵀ = | 1  1  1  1  1  0 |
//                          | −⅙    −⅙    −⅙    −⅙   −⅙   |        | 0  1 −1  2 −2  1 |
//                          | −⅙     ⅙    −⅙     ⅙   −⅙   |
//                          | 1/24  1/12   ⅙     ⅓    ⅔   |
//                          | 1/24 −1/12   ⅙    −⅓    ⅔   |
//                          |  0     0     0     0    1   |
//
// The same α = 6 and interpolation points 0, ±1, ±2, ∞ as F(4×4,3×3) (conv-winograd-f4.ts): Bᵀ
// depends only on α and the points, so its input transform, chunking, 36 GEMMs and output stores
// with the activation serve both (winogradAlpha6Pass, with a tile step of 2 here); G's row for a
// point p is F(4×4)'s scale times (1, p, p², p³, p⁴), and Aᵀ's rows are (1, p) with the ∞ column
// (0, 1). Checked in f64 against the direct 1-D correlation on random data (error 6e-16) before
// use. The input gradient is the same pass on dy with the kernel rotated 180°, padded by 4 − p.
//
// Which shapes run it: conv-winograd-table.ts (from 8 channels each way, 8×8 outputs and 64 tiles
// in the batch; its measurements there). On ConvNetJS's CIFAR-10 net (5×5 convolutions 3→16 @32², 16→20 @16², 20→20
// @8², batch 64), whose last two take it, a training step (SGD with momentum) with the table on
// took 0.80× (relaxed SIMD) and 0.72× (plain) the time of the same build with it off: medians of
// 7 alternating rounds of 11 steps each on a 2-core machine shared with other test suites (the
// rounds' ratios spread 0.4–1.1). The weight gradient (then direct, flat path; now F(5×5,2×2),
// conv-winograd-dw-f4.ts, on the same shapes) and the 3→16 layer, whose 3 input channels make the
// 36 GEMMs too short to win, were the rest of its convolution time.
import { PLANE_SKEW, zeroPanelRows, roundUp, packedA } from "./conv-winograd";
import { winogradAlpha6Pass, winogradAlpha6ScratchFloats } from "./conv-winograd-f4";

/** Floats of scratch for forward and input gradient of a 5×5 conv of C → O channels by F(2×2,5×5). */
export function winogradF2x2K5ScratchFloats(N: i32, C: i32, H: i32, W: i32, O: i32, OH: i32, OW: i32): f64 {
  return winogradAlpha6ScratchFloats(2, N, C, H, W, O, OH, OW);
}

/**
 * y = act(conv2d(x, w) + b) (b = 0: none, w: O×C×5×5) by F(2×2,5×5); PH/PW the padding before the
 * image; act and the answer as conv-winograd.ts's winogradForward's.
 */
export function winogradF2x2K5Forward(
  x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, scratch: usize, act: i32,
): i32 {
  winogradF2x2K5ForwardWeights(w, O, C, scratch);
  return winogradF2x2K5ForwardPass(x, scratch, b, y, N, C, H, W, O, PH, PW, OH, OW, scratch + (<usize>winogradF2x2K5WeightsFloats(O, C) << 2), act);
}

/** Floats of the transformed forward kernels U of a 5×5 C → O convolution by F(2×2,5×5). */
export function winogradF2x2K5WeightsFloats(O: i32, C: i32): i32 { return 36 * (roundUp(O, 4) * C + <i32>(PLANE_SKEW >> 2)); }

/** U = the forward 5×5 kernels w transformed for F(2×2,5×5), winogradF2x2K5WeightsFloats(O, C) floats. */
export function winogradF2x2K5ForwardWeights(w: usize, O: i32, C: i32, U: usize): void { kernelTransformF2x2K5(w, O, C, false, U); }

/** winogradF2x2K5Forward with its kernels transformed already (U); work: the rest of its scratch. */
export function winogradF2x2K5ForwardPass(
  x: usize, U: usize, b: usize, y: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, work: usize, act: i32,
): i32 {
  return winogradAlpha6Pass(2, x, N, C, H, W, PH, PW, U, O, y, OH, OW, b, work, act);
}

/** dx = ∂L/∂x of y = conv2d(x, w) (5×5 kernels; overwritten) by F(2×2,5×5) on dy. */
export function winogradF2x2K5InputGrad(
  w: usize, dy: usize, dx: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, scratch: usize,
): void {
  winogradF2x2K5InputGradWeights(w, O, C, scratch);
  winogradF2x2K5InputGradPass(scratch, dy, dx, N, C, H, W, O, PH, PW, OH, OW, scratch + (<usize>winogradF2x2K5WeightsFloats(C, O) << 2));
}

/** U = the kernels of winogradF2x2K5InputGrad, rotated and transformed: winogradF2x2K5WeightsFloats(C, O) floats. */
export function winogradF2x2K5InputGradWeights(w: usize, O: i32, C: i32, U: usize): void { kernelTransformF2x2K5(w, O, C, true, U); }

/** winogradF2x2K5InputGrad with its kernels transformed already (U); work: the rest of its scratch. */
export function winogradF2x2K5InputGradPass(
  U: usize, dy: usize, dx: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, work: usize,
): void {
  winogradAlpha6Pass(2, dy, N, O, OH, OW, 4 - PH, 4 - PW, U, C, dx, H, W, 0, work, 0);
}

/**
 * U[ξ][r][c] = (G g Gᵀ)[ξ] with g = w[r, c] (5×5) or, when `rotate`, w[c, r] rotated 180° (rows:
 * input channels, as conv-winograd.ts's weightTransform). In f64, rounded once.
 */
function kernelTransformF2x2K5(w: usize, O: i32, C: i32, rotate: bool, U: usize): void {
  const rows = rotate ? C : O, cols = rotate ? O : C, plane = <usize>roundUp(rows, 4) * cols;
  const step = (plane << 2) + PLANE_SKEW;
  zeroPanelRows(U, rows, cols, 36, PLANE_SKEW);
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < C; c++) {
      const src = w + (<usize>(o * C + c) * 25 << 2);
      let base = U + ((rotate ? packedA(c, o, cols) : packedA(o, c, cols)) << 2);
      for (let i = 0; i < 6; i++) {
        // Row i of G g (five columns), then that row times Gᵀ.
        const r0 = gRow5(i, tap5(src, rotate, 0), tap5(src, rotate, 5), tap5(src, rotate, 10), tap5(src, rotate, 15), tap5(src, rotate, 20));
        const r1 = gRow5(i, tap5(src, rotate, 1), tap5(src, rotate, 6), tap5(src, rotate, 11), tap5(src, rotate, 16), tap5(src, rotate, 21));
        const r2 = gRow5(i, tap5(src, rotate, 2), tap5(src, rotate, 7), tap5(src, rotate, 12), tap5(src, rotate, 17), tap5(src, rotate, 22));
        const r3 = gRow5(i, tap5(src, rotate, 3), tap5(src, rotate, 8), tap5(src, rotate, 13), tap5(src, rotate, 18), tap5(src, rotate, 23));
        const r4 = gRow5(i, tap5(src, rotate, 4), tap5(src, rotate, 9), tap5(src, rotate, 14), tap5(src, rotate, 19), tap5(src, rotate, 24));
        for (let j = 0; j < 6; j++) {
          store<f32>(base, <f32>gRow5(j, r0, r1, r2, r3, r4));
          base += step;
        }
      }
    }
  }
}

/** Tap i (row-major) of the 5×5 kernel at src, or of its 180° rotation, in f64. */
// @ts-ignore: decorator
@inline function tap5(src: usize, rotate: bool, i: i32): f64 { return <f64>load<f32>(src + (<usize>(rotate ? 24 - i : i) << 2)); }

/** Row i of G (see the header) times the column (a, b, c, d, e), by f64 reciprocals as F(4×4)'s gRow. */
// @ts-ignore: decorator
@inline function gRow5(i: i32, a: f64, b: f64, c: f64, d: f64, e: f64): f64 {
  switch (i) {
    case 0: return a * 0.25;
    case 1: return (a + b + c + d + e) * (-1.0 / 6);
    case 2: return (a - b + c - d + e) * (-1.0 / 6);
    case 3: return (a + 2 * b + 4 * c + 8 * d + 16 * e) * (1.0 / 24);
    case 4: return (a - 2 * b + 4 * c - 8 * d + 16 * e) * (1.0 / 24);
    default: return e;
  }
}
