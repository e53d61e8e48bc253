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
// Measured cost of the phases per pass, batch 64 (ms; 16→16 @32² | 32→32 @16² | 128→128 @16²):
// kernel transform 0.02 | 0.06 | 0.9, input transform 1.3 | 0.7 | 3.8, 36 GEMMs 1.5 | 1.4 | 22.7,
// output transform 0.82 | 0.45 | 1.9: the transforms are half the pass at 16–32 channels, the
// GEMMs (near the 4×8 micro-kernel's rate even at K = 16) three quarters at 128. Of the input
// transform the row phase is three quarters, and as much without its transposes: its loads of
// x, mostly from beyond L2 at batch 64.
import { actS, actV, nonFinite } from "./epilogue";
import {
  WINOGRAD_TMP_FLOATS, PLANE_SKEW, winogradPassFloats, winogradGemms, zeroPanelRows, roundUp, packedA, tap, rowChecked,
} from "./conv-winograd";

/** Tiles per chunk: the N of each of the 36 GEMMs (64 output pixels each: 256 tiles measured no faster). */
const TILE_CHUNK_F4 = 128;

/** Floats of scratch for forward and input gradient of a conv of C → O channels by F(4×4,3×3). */
export function winogradF4x4ScratchFloats(N: i32, C: i32, H: i32, W: i32, O: i32, OH: i32, OW: i32): f64 {
  return winogradAlpha6ScratchFloats(4, N, C, H, W, O, OH, OW);
}

/** Floats of scratch for forward and input gradient of a conv of C → O channels by winogradAlpha6Pass with m×m tiles. */
export function winogradAlpha6ScratchFloats(m: i32, N: i32, C: i32, H: i32, W: i32, O: i32, OH: i32, OW: i32): f64 {
  return max(winogradPassFloats(m, TILE_CHUNK_F4, N, C, O, OH, OW, 7 - m), winogradPassFloats(m, TILE_CHUNK_F4, N, O, C, H, W, 7 - m));
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
  kernelTransformF4x4(w, O, C, true, scratch);
  winogradAlpha6Pass(4, dy, N, O, OH, OW, 2 - PH, 2 - PW, scratch, C, dx, H, W, 0, scratch + <usize>36 * ((<usize>roundUp(C, 4) * O << 2) + PLANE_SKEW), 0);
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
  for (let t0 = 0; t0 < T; t0 += TILE_CHUNK_F4) {
    const tb = min(TILE_CHUNK_F4, T - t0), tbr = roundUp(tb, 8);
    const V = work, M = V + <usize>36 * ((<usize>Cin * tbr << 2) + PLANE_SKEW), tmp = M + <usize>36 * ((<usize>rows * tbr << 2) + PLANE_SKEW);
    inputTransformAlpha6(m, x, Cin, Hin, Win, PH, PW, tw, perImage, t0, tb, tbr, V, tmp, Cin * 8, 8, PLANE_SKEW);
    winogradGemms(36, U, V, M, Cin, rows, tbr, PLANE_SKEW);
    bad |= outputTransformAlpha6(m, M, Cout, rows, tw, perImage, t0, tb, tbr, OH, OW, out, b, tmp, act);
  }
  return bad;
}

/**
 * U[ξ][r][c] = (G g Gᵀ)[ξ] with g = w[r, c] or, when `rotate`, w[c, r] rotated 180° (see
 * conv-winograd.ts's weightTransform). In f64, rounded once.
 */
export function kernelTransformF4x4(w: usize, O: i32, C: i32, rotate: bool, U: usize): void {
  const rows = rotate ? C : O, cols = rotate ? O : C, plane = <usize>roundUp(rows, 4) * cols;
  zeroPanelRows(U, rows, cols, 36, PLANE_SKEW);
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < C; c++) {
      const src = w + (<usize>(o * C + c) * 9 << 2);
      const dst = rotate ? packedA(c, o, cols) : packedA(o, c, cols);
      // G g, column by column (6×3), then each of its rows times Gᵀ.
      const g00 = tap(src, rotate, 0), g01 = tap(src, rotate, 1), g02 = tap(src, rotate, 2);
      const g10 = tap(src, rotate, 3), g11 = tap(src, rotate, 4), g12 = tap(src, rotate, 5);
      const g20 = tap(src, rotate, 6), g21 = tap(src, rotate, 7), g22 = tap(src, rotate, 8);
      const step = (plane << 2) + PLANE_SKEW;
      let base = U + (dst << 2);
      for (let i = 0; i < 6; i++) {
        const r0 = gRow(i, g00, g10, g20), r1 = gRow(i, g01, g11, g21), r2 = gRow(i, g02, g12, g22);
        for (let j = 0; j < 6; j++) {
          store<f32>(base, <f32>gRow(j, r0, r1, r2));
          base += step;
        }
      }
    }
  }
}

/**
 * Row i of G times the column (a, b, c), by f64 reciprocals: its divisions (~100 per weight pair)
 * made the kernel transform 1.5 of 9 ms of a pass at 128 → 128 channels @16², batch 16 (now 0.9).
 * The products round in f64 a few units of 1e-16 otherwise, below U's one f32 rounding.
 */
// @ts-ignore: decorator
@inline function gRow(i: i32, a: f64, b: f64, c: f64): f64 {
  switch (i) {
    case 0: return a * 0.25;
    case 1: return (a + b + c) * (-1.0 / 6);
    case 2: return (a - b + c) * (-1.0 / 6);
    case 3: return (a + 2 * b + 4 * c) * (1.0 / 24);
    case 4: return (a - 2 * b + 4 * c) * (1.0 / 24);
    default: return c;
  }
}

/** Bᵀ z for six vectors z0..z5 (lanes = tiles) → dst, dst + stride, …, dst + 5·stride. */
// @ts-ignore: decorator
@inline function storeTimesBt(dst: usize, stride: usize, z0: v128, z1: v128, z2: v128, z3: v128, z4: v128, z5: v128): void {
  const four = f32x4.splat(4), two = f32x4.splat(2);
  const p = f32x4.sub(z4, f32x4.mul(four, z2)), q = f32x4.sub(z3, f32x4.mul(four, z1));
  const r = f32x4.sub(z4, z2), s = f32x4.mul(two, f32x4.sub(z3, z1));
  v128.store(dst, f32x4.add(f32x4.mul(four, f32x4.sub(z0, z2)), r));
  v128.store(dst + stride, f32x4.add(p, q));
  v128.store(dst + 2 * stride, f32x4.sub(p, q));
  v128.store(dst + 3 * stride, f32x4.add(r, s));
  v128.store(dst + 4 * stride, f32x4.sub(r, s));
  v128.store(dst + 5 * stride, f32x4.add(f32x4.mul(four, f32x4.sub(z1, z3)), f32x4.sub(z5, z3)));
}

/**
 * Row `row` of four horizontally adjacent tiles m apart, columns c0 + m·lane + j (j < 6), zeros
 * outside the plane, times B: six vectors at e (16 bytes apart).
 */
// @ts-ignore: decorator
@inline function rowTimesB4(m: i32, plane: usize, row: i32, c0: i32, Hin: i32, Win: i32, e: usize): void {
  if (row < 0 || row >= Hin) {
    // A padding row: its product is zero, no loads or transpose (2 of 24 rows of a 16×16 plane).
    const zero = f32x4.splat(0);
    for (let j = 0; j < 6; j++) v128.store(e + (<usize>j << 4), zero);
    return;
  }
  const a0 = rowChecked(plane, row, c0, Hin, Win), a1 = rowChecked(plane, row, c0 + 4, Hin, Win);
  const a2 = rowChecked(plane, row, c0 + 8, Hin, Win);
  if (m == 2) { transposeTimesB2(a0, a1, a2, e); return; }
  const a3 = rowChecked(plane, row, c0 + 12, Hin, Win), a4 = rowChecked(plane, row, c0 + 16, Hin, Win);
  transposeTimesB(a0, a1, a2, a3, a4, e);
}

/**
 * rowTimesB4 for a row inside the plane whose 4(m + 1) floats from column c0 may all be loaded (the
 * caller checked they lie in memory): whole-vector loads, the columns outside the row zeroed by
 * masks m0..m4 (all ones inside). The checked loads cost four branches and scalar loads per vector
 * at the plane's edges, which on a 16-wide plane are two of the five vectors of every row.
 */
// @ts-ignore: decorator
@inline function rowTimesB4Masked(m: i32, p: usize, m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, e: usize): void {
  const a0 = v128.and(v128.load(p), m0), a1 = v128.and(v128.load(p, 16), m1), a2 = v128.and(v128.load(p, 32), m2);
  if (m == 2) { transposeTimesB2(a0, a1, a2, e); return; }
  const a3 = v128.and(v128.load(p, 48), m3), a4 = v128.and(v128.load(p, 64), m4);
  transposeTimesB(a0, a1, a2, a3, a4, e);
}

/** Columns 4k + j of a0..a4 (the row of four tiles, lane k = tile k) times B: six vectors at e. */
// @ts-ignore: decorator
@inline function transposeTimesB(a0: v128, a1: v128, a2: v128, a3: v128, a4: v128, e: usize): void {
  // Transpose a0..a3: dj lane k = column 4k + j; columns 4 and 5 take a4's first two.
  const lo01 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), hi01 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7);
  const lo23 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), hi23 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
  const d0 = v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5), d1 = v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7);
  const d2 = v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5), d3 = v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7);
  const d4 = v128.shuffle<f32>(d0, a4, 1, 2, 3, 4), d5 = v128.shuffle<f32>(d1, a4, 1, 2, 3, 5);
  storeTimesBt(e, 16, d0, d1, d2, d3, d4, d5);
}

/**
 * Columns 2k + j of a0..a2 (a row of four tiles 2 apart, F(2×2,5×5)'s, lane k = tile k) times B:
 * six vectors at e.
 */
// @ts-ignore: decorator
@inline function transposeTimesB2(a0: v128, a1: v128, a2: v128, e: usize): void {
  const d0 = v128.shuffle<f32>(a0, a1, 0, 2, 4, 6), d1 = v128.shuffle<f32>(a0, a1, 1, 3, 5, 7);
  const d2 = v128.shuffle<f32>(d0, a2, 1, 2, 3, 4), d3 = v128.shuffle<f32>(d1, a2, 1, 2, 3, 5);
  const d4 = v128.shuffle<f32>(d2, a2, 1, 2, 3, 6), d5 = v128.shuffle<f32>(d3, a2, 1, 2, 3, 7);
  storeTimesBt(e, 16, d0, d1, d2, d3, d4, d5);
}

/** Lanes of the columns c..c+3 inside 0..Win−1: all ones, else zero. */
// @ts-ignore: decorator
@inline function columnMask(c: i32, Win: i32): v128 {
  const cols = i32x4.add(i32x4.splat(c), i32x4(0, 1, 2, 3));
  return v128.and(i32x4.ge_s(cols, i32x4.splat(0)), i32x4.lt_s(cols, i32x4.splat(Win)));
}

/**
 * The six rows r0.. of four tiles side by side, m apart (columns c0..c0 + 4m + 3) times B into e:
 * masked whole loads when every row inside the plane lies in memory over those columns, else checked.
 */
// @ts-ignore: decorator
@inline function rowsTimesB4(m: i32, plane: usize, r0: i32, c0: i32, Hin: i32, Win: i32, e: usize): void {
  const rFirst = max(r0, 0), rLast = min(r0 + 5, Hin - 1);
  const first = <i64>plane + (<i64>rFirst * Win + c0) * 4, last = <i64>plane + (<i64>rLast * Win + c0 + 4 * m + 4) * 4;
  if (first >= 0 && last <= (<i64>memory.size() << 16)) {
    const m0 = columnMask(c0, Win), m1 = columnMask(c0 + 4, Win), m2 = columnMask(c0 + 8, Win);
    const m3 = columnMask(c0 + 12, Win), m4 = columnMask(c0 + 16, Win);
    for (let k = 0; k < 6; k++) {
      const row = r0 + k, ek = e + <usize>k * 96;
      if (row < 0 || row >= Hin) rowTimesB4(m, plane, row, c0, Hin, Win, ek); // zeros
      else rowTimesB4Masked(m, <usize>(<i64>plane + (<i64>row * Win + c0) * 4), m0, m1, m2, m3, m4, ek);
    }
  } else {
    for (let k = 0; k < 6; k++) rowTimesB4(m, plane, r0 + k, c0, Hin, Win, e + <usize>k * 96);
  }
}

/** Bᵀ applied down the columns of e (6×6 vectors, row-major) → V[6i + j] at dst + (6i + j)·step. */
// @ts-ignore: decorator
@inline function columnsTimesBt(e: usize, dst: usize, step: usize): void {
  for (let j = 0; j < 6; j++) {
    const c = e + (<usize>j << 4);
    storeTimesBt(dst + <usize>j * step, <usize>6 * step,
      v128.load(c), v128.load(c, 96), v128.load(c, 192), v128.load(c, 288), v128.load(c, 384), v128.load(c, 480));
  }
}

/**
 * (Bᵀ d B)[ξ] for tiles t0 + i, i < tbr (zero from tb on), of every channel c, m×m output tiles
 * (d: the 6×6 patch from row m·ty − PH, column m·tx − PW), at float ξ·Cin·tbr + (i / 8)·panel +
 * i % 8 + c·row of V, each plane ξ `skew` bytes after the last: panel = Cin·8, row = 8 gives the
 * micro-kernel's B panels V[ξ][i / 8][c][i % 8]; panel = 8, row = tbr the row-major V[ξ][c][i]
 * (the weight gradient's, conv-winograd-dw-f4.ts). tmp: WINOGRAD_TMP_FLOATS floats. Channel by
 * channel, each plane read from top to bottom.
 */
export function inputTransformAlpha6(
  m: i32, x: usize, Cin: i32, Hin: i32, Win: i32, PH: i32, PW: i32, tw: i32, perImage: i32, t0: i32, tb: i32, tbr: i32, V: usize, tmp: usize,
  panel: i32, row: i32, skew: usize,
): void {
  const planeBytes = <usize>Hin * Win << 2, step = (<usize>Cin * tbr << 2) + skew;
  const e = tmp, raw = tmp + 576, origins = raw + 576;
  tileOrigins(m, origins, x, <usize>Cin * planeBytes, t0, tb, tbr, tw, perImage, PH, PW);
  for (let c = 0; c < Cin; c++) {
    const offset = <usize>c * planeBytes;
    for (let i = 0; i < tbr; i += 4) {
      const dst = V + ((<usize>(i >> 3) * panel + (i & 7) + <usize>c * row) << 2), o = origins + (<usize>i << 4);
      if (i >= tb) {
        // The columns that round the last panel up to 8 tiles: zeros, not whatever the scratch held.
        for (let xi = 0; xi < 36; xi++) v128.store(dst + <usize>xi * step, f32x4.splat(0));
        continue;
      }
      if (fourInARow(o, m)) {
        // Four tiles of one tile row: each input row is m + 1 vector loads and a transpose.
        const plane = <usize>load<u32>(o) + offset, r0 = load<i32>(o, 4), c0 = load<i32>(o, 8);
        rowsTimesB4(m, plane, r0, c0, Hin, Win, e);
      } else {
        // Tiles across a row or image boundary, or fewer than four: gathered lane by lane.
        for (let k = 0; k < 4; k++) gatherPatch(raw + (<usize>k << 2), o + (<usize>k << 4), offset, Hin, Win);
        for (let k = 0; k < 6; k++) {
          const z = raw + <usize>k * 96;
          storeTimesBt(e + <usize>k * 96, 16, v128.load(z), v128.load(z, 16), v128.load(z, 32), v128.load(z, 48), v128.load(z, 64), v128.load(z, 80));
        }
      }
      columnsTimesBt(e, dst, step);
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
@inline function fourInARow(o: usize, m: i32): bool {
  return load<i32>(o, 60) != 0 && load<u32>(o, 48) == load<u32>(o) && load<i32>(o, 52) == load<i32>(o, 4) && load<i32>(o, 56) == load<i32>(o, 8) + 3 * m;
}

/** The 6×6 patch of one lane (origin record at o) into raw[r][j][lane] (lane's float at dst), zeros outside. */
function gatherPatch(dst: usize, o: usize, offset: usize, Hin: i32, Win: i32): void {
  const live = load<i32>(o, 12) != 0, plane = <usize>load<u32>(o) + offset, r0 = load<i32>(o, 4), c0 = load<i32>(o, 8);
  for (let r = 0; r < 6; r++) {
    const row = r0 + r, inRow = live && row >= 0 && row < Hin;
    for (let j = 0; j < 6; j++) {
      const col = c0 + j;
      store<f32>(dst, inRow && col >= 0 && col < Win ? load<f32>(plane + ((<usize>row * Win + col) << 2)) : 0);
      dst += 16;
    }
  }
}

/** Aᵀ z for six vectors: y0..y3 (lanes = tiles), plus `bias`. */
// @ts-ignore: decorator
@inline function timesAt(z0: v128, z1: v128, z2: v128, z3: v128, z4: v128, z5: v128, bias: v128, dst: usize, stride: usize): void {
  const a = f32x4.add(z1, z2), b = f32x4.sub(z1, z2), c = f32x4.add(z3, z4), d = f32x4.sub(z3, z4);
  v128.store(dst, f32x4.add(f32x4.add(f32x4.add(z0, a), c), bias));
  v128.store(dst + stride, f32x4.add(f32x4.add(b, f32x4.mul(f32x4.splat(2), d)), bias));
  v128.store(dst + 2 * stride, f32x4.add(f32x4.add(a, f32x4.mul(f32x4.splat(4), c)), bias));
  v128.store(dst + 3 * stride, f32x4.add(f32x4.add(f32x4.add(b, f32x4.mul(f32x4.splat(8), d)), z5), bias));
}

/**
 * Aᵀ M A (+ bias) of four tiles (lanes) of one output channel, M[ξ] at src + ξ·step: 16 vectors
 * y[k][l] (output row k, column l) at y + 16·(4k + l); q holds 24 vectors of Aᵀ M.
 */
// @ts-ignore: decorator
@inline function tileOutput4(src: usize, step: usize, bias: v128, q: usize, y: usize): void {
  const zero = f32x4.splat(0);
  for (let j = 0; j < 6; j++) {
    const c = src + <usize>j * step, s6 = <usize>6 * step;
    timesAt(v128.load(c), v128.load(c + s6), v128.load(c + 2 * s6), v128.load(c + 3 * s6), v128.load(c + 4 * s6), v128.load(c + 5 * s6),
      zero, q + (<usize>j << 4), 96);
  }
  for (let k = 0; k < 4; k++) {
    const r = q + <usize>k * 96;
    timesAt(v128.load(r), v128.load(r, 16), v128.load(r, 32), v128.load(r, 48), v128.load(r, 64), v128.load(r, 80), bias, y + (<usize>k << 6), 16);
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
      const rec = origins + (<usize>i << 4);
      if (m == 2) tileOutput2(M + ((<usize>o * tbr + i) << 2), step, bias, q, y);
      else tileOutput4(M + ((<usize>o * tbr + i) << 2), step, bias, q, y);
      const oy = load<i32>(rec, 4), ox = load<i32>(rec, 8);
      if (fourInARow(rec, m) && oy + m <= OH && ox + 4 * m <= OW) {
        // Four whole tiles side by side: each output row is 4m contiguous floats.
        const dst = <usize>load<u32>(rec) + offset + ((<usize>oy * OW + ox) << 2);
        if (m == 2) {
          for (let k = 0; k < 2; k++) flag = v128.or(flag, storeRowOf4Tiles2(y + (<usize>k << 5), dst + <usize>k * rs, act));
        } else {
          for (let k = 0; k < 4; k++) flag = v128.or(flag, storeRowOf4Tiles(y + (<usize>k << 6), dst + <usize>k * rs, act));
        }
      } else {
        for (let k = 0; k < 4; k++) bad |= scatterTile(m, y + (<usize>k << 2), rec + (<usize>k << 4), offset, OH, OW, act);
      }
    }
  }
  return bad | <i32>v128.any_true(flag);
}

/**
 * act(y[k][0..3]) (four vectors, lane = tile) → four tiles' row k, 16 contiguous floats at dst;
 * returns the lanes NaN or infinite before the activation (with one; else none).
 */
// @ts-ignore: decorator
@inline function storeRowOf4Tiles(yk: usize, dst: usize, act: i32): v128 {
  let y0 = v128.load(yk), y1 = v128.load(yk, 16), y2 = v128.load(yk, 32), y3 = v128.load(yk, 48);
  let flag = f32x4.splat(0);
  if (act != 0) {
    flag = v128.or(v128.or(nonFinite(y0), nonFinite(y1)), v128.or(nonFinite(y2), nonFinite(y3)));
    y0 = actV(y0, act); y1 = actV(y1, act); y2 = actV(y2, act); y3 = actV(y3, act);
  }
  const lo01 = v128.shuffle<f32>(y0, y1, 0, 4, 1, 5), hi01 = v128.shuffle<f32>(y0, y1, 2, 6, 3, 7);
  const lo23 = v128.shuffle<f32>(y2, y3, 0, 4, 1, 5), hi23 = v128.shuffle<f32>(y2, y3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5));
  v128.store(dst, v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7), 16);
  v128.store(dst, v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5), 32);
  v128.store(dst, v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7), 48);
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
function scatterTile(m: i32, src: usize, o: usize, offset: usize, OH: i32, OW: i32, act: i32): i32 {
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
