// Winograd F(2×2, 3×3) for 3×3, stride-1, undilated, ungrouped convolutions (Lavin & Gray 2015):
// each 2×2 output tile of each output channel is Aᵀ [Σ_c (G g Gᵀ) ⊙ (Bᵀ d B)] A, with g the 3×3
// kernel of a channel pair and d the 4×4 input patch of the tile. The Σ_c runs as 16 GEMMs, one per
// element ξ of the 4×4 transformed tile:  M[ξ] = U[ξ] · V[ξ],  [O×T] = [O×C]·[C×T]  (T tiles), on the
// shared SIMD GEMM micro-kernel (gemm.ts, 4×8): 16·O·C·T multiply-adds for what a direct convolution does in 36·O·C·T,
// 2.25× fewer.
//
//   Bᵀ = | 1  0 −1  0 |     G = | 1    0    0  |     Aᵀ = | 1  1  1  0 |
//        | 0  1  1  0 |         | ½    ½    ½  |          | 0  1 −1 −1 |
//        | 0 −1  1  0 |         | ½   −½    ½  |
//        | 0  1  0 −1 |         | 0    0    1  |
//
// The input gradient is the same algorithm: dx is a stride-1 correlation of dy, zero-padded by 2 − p
// before, with the kernel rotated 180° and the channel roles swapped.
//
// The transforms write straight into the GEMM micro-kernel's packed layouts (gemm.ts's f32-gemm-4x8:
// A in panels of 4 rows, k-major; B in panels of 8 columns, k-major), so the GEMMs pack nothing:
//   U[ξ][o / 4][c][o % 4]   (Cout rounded up to 4, zero rows)   the A panels
//   V[ξ][t / 8][c][t % 8]   (tiles of the chunk rounded up to 8) the B panels
//   M[ξ][o][t]              (rows of the rounded tile count)     C, read by the output transform
// Scratch, in floats: U, then per chunk of tiles V, M and a few vectors of transform temporaries.
// Tiles run across images (tile t: image t / tilesPerImage), so small planes still give the GEMMs
// long rows. The transforms are packing helpers apart from the micro-kernel.
//
// What does not depend on the tile size — the α² GEMMs of a chunk, the weight transform's packing,
// the scratch plan, the checked row loads — is exported here for F(4×4,3×3) (conv-winograd-f4.ts).
import { microKernel4x8 } from "./gemm";
import { nonFinite } from "./simd";
import { actS, actV } from "./epilogue";

/** Tiles per chunk of F(2×2,3×3): the N of each of the 16 GEMMs. */
export const TILE_CHUNK = 256;

/**
 * Floats of transform temporaries after M: F(4×4)'s two 6×6 blocks of four-tile vectors, then a
 * record of 4 i32 per tile of a chunk of at most 256.
 */
export const WINOGRAD_TMP_FLOATS = 2 * 36 * 4 + 4 * 256;

/**
 * Floats of scratch one pass of F(m×m,r×r) (α² = (m + r − 1)² GEMMs, `chunk` tiles at a time) from
 * Cin to Cout channels with OH×OW outputs needs, in f64: U, then one chunk's V and M, then temporaries.
 */
export function winogradPassFloats(m: i32, chunk: i32, N: i32, Cin: i32, Cout: i32, OH: i32, OW: i32, r: i32 = 3): f64 {
  const alpha2 = <f64>((m + r - 1) * (m + r - 1));
  const tiles = <f64>N * Math.ceil(<f64>OH / m) * Math.ceil(<f64>OW / m);
  const cols = Math.ceil(min(tiles, <f64>chunk) / 8) * 8, rows = Math.ceil(<f64>Cout / 4) * 4;
  return alpha2 * (rows * <f64>Cin + 16) + alpha2 * (<f64>Cin * cols + 16) + alpha2 * (rows * cols + 16) + WINOGRAD_TMP_FLOATS;
}

/**
 * Bytes between consecutive planes ξ of U, V and M beyond their floats: one cache line. Unskewed,
 * a plane of V for 16 channels × 128 tiles is 8 KiB (U's for 128 × 128 channels 64 KiB), a multiple
 * of 4 KiB, so the 16 or 36 vectors of one tile group that a transform writes or reads land in one
 * L1 set of 8 ways and evict each other. Both tiles skew U, V and M (not the weight gradient's V).
 */
export const PLANE_SKEW: usize = 64;

// @ts-ignore: decorator
@inline export function roundUp(v: i32, m: i32): i32 { return (v + m - 1) / m * m; }

/** Floats of scratch for forward and input gradient of a conv of C → O channels. */
export function winogradScratchFloats(N: i32, C: i32, H: i32, W: i32, O: i32, OH: i32, OW: i32): f64 {
  return max(winogradPassFloats(2, TILE_CHUNK, N, C, O, OH, OW), winogradPassFloats(2, TILE_CHUNK, N, O, C, H, W));
}

/**
 * y = act(conv2d(x, w) + b) (b = 0: none) by F(2×2,3×3); PH/PW the padding before the image; act
 * as epilogue.ts's (0 none, 1 ReLU, 2 ReLU6), applied as each tile is stored. With an activation,
 * returns 1 when a value before it is NaN or infinite (else 0); without, 0.
 */
export function winogradForward(
  x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, scratch: usize, act: i32,
): i32 {
  winogradForwardWeights(w, O, C, scratch);
  return winogradForwardPass(x, scratch, b, y, N, C, H, W, O, PH, PW, OH, OW, scratch + (<usize>winogradWeightsFloats(O, C) << 2), act);
}

/** Floats of the transformed forward kernels U of a C → O convolution by F(2×2,3×3). */
export function winogradWeightsFloats(O: i32, C: i32): i32 { return 16 * (roundUp(O, 4) * C + <i32>(PLANE_SKEW >> 2)); }

/** U = the forward kernels w transformed for F(2×2,3×3), winogradWeightsFloats(O, C) floats. */
export function winogradForwardWeights(w: usize, O: i32, C: i32, U: usize): void { weightTransform(w, O, C, false, U); }

/** winogradForward with its kernels transformed already (U, as winogradForwardWeights writes them); work: the rest of its scratch. */
export function winogradForwardPass(
  x: usize, U: usize, b: usize, y: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, work: usize, act: i32,
): i32 {
  return winogradPass(x, N, C, H, W, PH, PW, U, O, y, OH, OW, b, work, act);
}

/** dx = ∂L/∂x of y = conv2d(x, w) (overwritten) by F(2×2,3×3) on dy. */
export function winogradInputGrad(
  w: usize, dy: usize, dx: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, scratch: usize,
): void {
  winogradInputGradWeights(w, O, C, scratch);
  winogradInputGradPass(scratch, dy, dx, N, C, H, W, O, PH, PW, OH, OW, scratch + (<usize>winogradWeightsFloats(C, O) << 2));
}

/** U = the kernels of winogradInputGrad, rotated and transformed: winogradWeightsFloats(C, O) floats. */
export function winogradInputGradWeights(w: usize, O: i32, C: i32, U: usize): void { weightTransform(w, O, C, true, U); }

/** winogradInputGrad with its kernels transformed already (U); work: the rest of its scratch. */
export function winogradInputGradPass(
  U: usize, dy: usize, dx: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, work: usize,
): void {
  winogradPass(dy, N, O, OH, OW, 2 - PH, 2 - PW, U, C, dx, H, W, 0, work, 0);
}

/**
 * out[n, co] = Σ_ci x[n, ci] ⋆ g[co, ci] (+ b[co]) over OH×OW outputs, x read as zero outside its
 * Hin×Win planes, the window of output (0, 0) starting at (−PH, −PW); U holds the transformed
 * kernels [16][Cout][Cin]; act and the answer as winogradForward's.
 */
function winogradPass(
  x: usize, N: i32, Cin: i32, Hin: i32, Win: i32, PH: i32, PW: i32, U: usize,
  Cout: i32, out: usize, OH: i32, OW: i32, b: usize, work: usize, act: i32,
): i32 {
  let bad = 0;
  const th = (OH + 1) >> 1, tw = (OW + 1) >> 1, perImage = th * tw, T = N * perImage;
  const rows = roundUp(Cout, 4);
  for (let t0 = 0; t0 < T; t0 += TILE_CHUNK) {
    const tb = min(TILE_CHUNK, T - t0), tbr = roundUp(tb, 8);
    const V = work, M = work + <usize>16 * ((<usize>Cin * tbr << 2) + PLANE_SKEW);
    inputTransform(x, Cin, Hin, Win, PH, PW, tw, perImage, t0, tb, tbr, V, Cin * 8, 8, PLANE_SKEW);
    winogradGemms(16, U, V, M, Cin, rows, tbr, PLANE_SKEW);
    bad |= outputTransform(M, Cout, rows, tw, perImage, t0, tb, tbr, OH, OW, out, b, act);
  }
  return bad;
}

/**
 * M[ξ] = U[ξ] · V[ξ] for ξ < alpha2: [rows × tbr] = [rows × Cin]·[Cin × tbr], U and V in the
 * micro-kernel's packed panels (see the layout above), M row-major with rows of tbr floats.
 */
export function winogradGemms(alpha2: i32, U: usize, V: usize, M: usize, Cin: i32, rows: i32, tbr: i32, skew: usize = 0): void {
  const uStep = (<usize>rows * Cin << 2) + skew, panelA = <usize>Cin << 4, panelB = <usize>Cin << 5;
  const vStep = (<usize>Cin * tbr << 2) + skew, mStep = (<usize>rows * tbr << 2) + skew, cs = <usize>tbr << 2;
  for (let xi = 0; xi < alpha2; xi++) {
    const u = U + <usize>xi * uStep, v = V + <usize>xi * vStep, m = M + <usize>xi * mStep;
    for (let j = 0; j < tbr; j += 8) {
      const pb = v + <usize>(j >> 3) * panelB;
      for (let o = 0; o < rows; o += 4) {
        microKernel4x8(Cin, u + <usize>(o >> 2) * panelA, pb, m + ((<usize>o * tbr + j) << 2), cs, 0);
      }
    }
  }
}

/**
 * Zeros for the rows of U's alpha2 planes that round `rows` up to 4 (cols columns each): the
 * micro-kernel reads whole panels.
 */
export function zeroPanelRows(U: usize, rows: i32, cols: i32, alpha2: i32, skew: usize = 0): void {
  const plane = <usize>roundUp(rows, 4) * cols + (skew >> 2);
  for (let r = rows; r < roundUp(rows, 4); r++) {
    for (let xi = 0; xi < alpha2; xi++) {
      for (let k = 0; k < cols; k++) store<f32>(U + ((<usize>xi * plane + packedA(r, k, cols)) << 2), 0);
    }
  }
}

/**
 * U[ξ][r][c] = (G g Gᵀ)[ξ] with g = w[r, c] (forward: r = out channel, c = in channel) or, when
 * `rotate`, g = w[c, r] rotated 180° (input gradient: r = in channel, c = out channel). In f64, rounded once.
 * Tried and not taken: four kernels of a panel at once as two f64x2 pairs with one 16-byte store
 * per ξ, as conv-winograd-f4.ts's kernelTransformF4x4 (the same bits): even at 64 → 64 @6², batch
 * 16 (the transform alone 0.97×, the forward 1.00×, alternating, median of 9; it is ~6% of that
 * forward, and the shapes with larger kernel shares run F(4×4)).
 */
function weightTransform(w: usize, O: i32, C: i32, rotate: bool, U: usize): void {
  const rows = rotate ? C : O, cols = rotate ? O : C, plane = <usize>roundUp(rows, 4) * cols;
  zeroPanelRows(U, rows, cols, 16, PLANE_SKEW);
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < C; c++) {
      const src = w + (<usize>(o * C + c) * 9 << 2);
      const dst = rotate ? packedA(c, o, cols) : packedA(o, c, cols);
      // g rows → G g (4×3), then (G g) Gᵀ (4×4).
      const g00 = tap(src, rotate, 0), g01 = tap(src, rotate, 1), g02 = tap(src, rotate, 2);
      const g10 = tap(src, rotate, 3), g11 = tap(src, rotate, 4), g12 = tap(src, rotate, 5);
      const g20 = tap(src, rotate, 6), g21 = tap(src, rotate, 7), g22 = tap(src, rotate, 8);
      // rows of G g
      const a0 = g00, a1 = g01, a2 = g02;
      const b0 = 0.5 * (g00 + g10 + g20), b1 = 0.5 * (g01 + g11 + g21), b2 = 0.5 * (g02 + g12 + g22);
      const c0 = 0.5 * (g00 - g10 + g20), c1 = 0.5 * (g01 - g11 + g21), c2 = 0.5 * (g02 - g12 + g22);
      const d0 = g20, d1 = g21, d2 = g22;
      putRow(U, plane, dst, 0, a0, a1, a2);
      putRow(U, plane, dst, 1, b0, b1, b2);
      putRow(U, plane, dst, 2, c0, c1, c2);
      putRow(U, plane, dst, 3, d0, d1, d2);
    }
  }
}

/** Where element (r, k) of a rows×cols A matrix sits in 4-row k-major panels. */
// @ts-ignore: decorator
@inline export function packedA(r: i32, k: i32, cols: i32): usize {
  return (<usize>(r >> 2) * cols + k) * 4 + (r & 3);
}

/** Tap i (row-major) of the 3×3 kernel at src, or of its 180° rotation, in f64. */
// @ts-ignore: decorator
@inline export function tap(src: usize, rotate: bool, i: i32): f64 { return <f64>load<f32>(src + (<usize>(rotate ? 8 - i : i) << 2)); }

/** Row k of (G g) Gᵀ from row k of G g: [r0, ½(r0+r1+r2), ½(r0−r1+r2), r2] at ξ = 4k..4k+3. */
// @ts-ignore: decorator
@inline function putRow(U: usize, plane: usize, dst: usize, k: i32, r0: f64, r1: f64, r2: f64): void {
  const step = (plane << 2) + PLANE_SKEW, base = U + <usize>(4 * k) * step + (dst << 2);
  store<f32>(base, <f32>r0);
  store<f32>(base + step, <f32>(0.5 * (r0 + r1 + r2)));
  store<f32>(base + 2 * step, <f32>(0.5 * (r0 - r1 + r2)));
  store<f32>(base + 3 * step, <f32>r2);
}

/** One row of 4 inputs from column c0 of row `row`, zeros outside the Hin×Win plane. */
// @ts-ignore: decorator
@inline export function rowChecked(plane: usize, row: i32, c0: i32, Hin: i32, Win: i32): v128 {
  if (row < 0 || row >= Hin) return f32x4.splat(0);
  const p = plane + (<usize>row * Win << 2);
  if (c0 >= 0 && c0 + 4 <= Win) return v128.load(p + (<usize>c0 << 2));
  let v = f32x4.splat(0);
  if (c0 >= 0 && c0 < Win) v = f32x4.replace_lane(v, 0, load<f32>(p + (<usize>c0 << 2)));
  if (c0 + 1 >= 0 && c0 + 1 < Win) v = f32x4.replace_lane(v, 1, load<f32>(p + (<usize>(c0 + 1) << 2)));
  if (c0 + 2 >= 0 && c0 + 2 < Win) v = f32x4.replace_lane(v, 2, load<f32>(p + (<usize>(c0 + 2) << 2)));
  if (c0 + 3 >= 0 && c0 + 3 < Win) v = f32x4.replace_lane(v, 3, load<f32>(p + (<usize>(c0 + 3) << 2)));
  return v;
}

/** [a, b, c, d] → [a − c, b + c, c − b, b − d]: a row times B. */
// @ts-ignore: decorator
@inline function timesB(t: v128): v128 {
  const p = v128.shuffle<f32>(t, t, 0, 1, 2, 1);
  const q = v128.shuffle<f32>(t, t, 2, 2, 1, 3);
  return f32x4.add(p, f32x4.mul(q, f32x4(-1, 1, -1, -1)));
}

/** Row k of a 4×4 tile (four lanes) → V[4k + j][c][i], rows of tb floats. */
// @ts-ignore: decorator
@inline function scatterRow(dst: usize, step: usize, r: v128): void {
  store<f32>(dst, f32x4.extract_lane(r, 0));
  store<f32>(dst + step, f32x4.extract_lane(r, 1));
  store<f32>(dst + 2 * step, f32x4.extract_lane(r, 2));
  store<f32>(dst + 3 * step, f32x4.extract_lane(r, 3));
}

/**
 * (Bᵀ d B)[ξ] for tiles t0 + i, i < tb (columns tb..tbr zero), of every channel c, at float
 * ξ·Cin·tbr + (i / 8)·panel + i % 8 + c·row of V: panel = Cin·8, row = 8 gives the micro-kernel's
 * B panels V[ξ][i / 8][c][i % 8]; panel = 8, row = tbr the row-major V[ξ][c][i] (the weight gradient's).
 * Each plane ξ ends `skew` bytes later than its floats (PLANE_SKEW for the GEMMs' panels).
 */
export function inputTransform(
  x: usize, Cin: i32, Hin: i32, Win: i32, PH: i32, PW: i32, tw: i32, perImage: i32, t0: i32, tb: i32, tbr: i32, V: usize,
  panel: i32, row: i32, skew: usize = 0,
): void {
  const planeBytes = <usize>Hin * Win << 2, step = (<usize>Cin * tbr << 2) + skew, rowStep = step << 2;
  for (let i = 0; i < tb; i++) {
    const t = t0 + i, n = t / perImage, r = t - n * perImage, ty = r / tw, tx = r - ty * tw;
    const r0 = 2 * ty - PH, c0 = 2 * tx - PW;
    if ((i & 3) == 0 && i + 4 <= tb && tx + 4 <= tw) {
      // Four tiles of one tile row, one per lane, into one f32x4 of their panel.
      inputTransform4(x + <usize>n * Cin * planeBytes, planeBytes, Cin, Hin, Win, r0, c0,
        V + ((<usize>(i >> 3) * panel + (i & 7)) << 2), step, <usize>row << 2);
      i += 3;
      continue;
    }
    const inside = r0 >= 0 && r0 + 4 <= Hin && c0 >= 0 && c0 + 4 <= Win;
    let plane = x + <usize>n * Cin * planeBytes;
    let dst = V + ((<usize>(i >> 3) * panel + (i & 7)) << 2);
    for (let c = 0; c < Cin; c++) {
      let d0: v128, d1: v128, d2: v128, d3: v128;
      if (inside) {
        const p = plane + ((<usize>r0 * Win + c0) << 2), rs = <usize>Win << 2;
        d0 = v128.load(p); d1 = v128.load(p + rs); d2 = v128.load(p + 2 * rs); d3 = v128.load(p + 3 * rs);
      } else {
        d0 = rowChecked(plane, r0, c0, Hin, Win); d1 = rowChecked(plane, r0 + 1, c0, Hin, Win);
        d2 = rowChecked(plane, r0 + 2, c0, Hin, Win); d3 = rowChecked(plane, r0 + 3, c0, Hin, Win);
      }
      // Bᵀ d, then each row times B.
      const e0 = f32x4.sub(d0, d2), e1 = f32x4.add(d1, d2), e2 = f32x4.sub(d2, d1), e3 = f32x4.sub(d1, d3);
      scatterRow(dst, step, timesB(e0));
      scatterRow(dst + rowStep, step, timesB(e1));
      scatterRow(dst + 2 * rowStep, step, timesB(e2));
      scatterRow(dst + 3 * rowStep, step, timesB(e3));
      plane += planeBytes;
      dst += <usize>row << 2;
    }
  }
  // The columns that round the last panel up to 8 tiles: zeros, not whatever the scratch held.
  for (let i = tb; i < tbr; i++) {
    const col = V + ((<usize>(i >> 3) * panel + (i & 7)) << 2);
    for (let xi = 0; xi < 16; xi++) {
      for (let c = 0; c < Cin; c++) store<f32>(col + <usize>xi * step + (<usize>c * row << 2), 0);
    }
  }
}

/**
 * Bᵀ d B of four horizontally adjacent tiles (lanes) of every channel: d's rows from row r0,
 * columns c0 + 2·lane + j; V[ξ][c] at dst + ξ·step + c·rowBytes.
 */
function inputTransform4(plane: usize, planeBytes: usize, Cin: i32, Hin: i32, Win: i32, r0: i32, c0: i32, dst: usize, step: usize, rowBytes: usize): void {
  for (let c = 0; c < Cin; c++) {
    let a0 = rowChecked(plane, r0, c0, Hin, Win), a1 = rowChecked(plane, r0, c0 + 4, Hin, Win), a2 = rowChecked(plane, r0, c0 + 8, Hin, Win);
    const d00 = col0(a0, a1), d01 = col1(a0, a1), d02 = col2(d00, a2), d03 = col3(d01, a2);
    a0 = rowChecked(plane, r0 + 1, c0, Hin, Win); a1 = rowChecked(plane, r0 + 1, c0 + 4, Hin, Win); a2 = rowChecked(plane, r0 + 1, c0 + 8, Hin, Win);
    const d10 = col0(a0, a1), d11 = col1(a0, a1), d12 = col2(d10, a2), d13 = col3(d11, a2);
    a0 = rowChecked(plane, r0 + 2, c0, Hin, Win); a1 = rowChecked(plane, r0 + 2, c0 + 4, Hin, Win); a2 = rowChecked(plane, r0 + 2, c0 + 8, Hin, Win);
    const d20 = col0(a0, a1), d21 = col1(a0, a1), d22 = col2(d20, a2), d23 = col3(d21, a2);
    a0 = rowChecked(plane, r0 + 3, c0, Hin, Win); a1 = rowChecked(plane, r0 + 3, c0 + 4, Hin, Win); a2 = rowChecked(plane, r0 + 3, c0 + 8, Hin, Win);
    const d30 = col0(a0, a1), d31 = col1(a0, a1), d32 = col2(d30, a2), d33 = col3(d31, a2);
    // Bᵀ d (rows), then each row times B.
    storeTimesB(dst, step, f32x4.sub(d00, d20), f32x4.sub(d01, d21), f32x4.sub(d02, d22), f32x4.sub(d03, d23));
    storeTimesB(dst + 4 * step, step, f32x4.add(d10, d20), f32x4.add(d11, d21), f32x4.add(d12, d22), f32x4.add(d13, d23));
    storeTimesB(dst + 8 * step, step, f32x4.sub(d20, d10), f32x4.sub(d21, d11), f32x4.sub(d22, d12), f32x4.sub(d23, d13));
    storeTimesB(dst + 12 * step, step, f32x4.sub(d10, d30), f32x4.sub(d11, d31), f32x4.sub(d12, d32), f32x4.sub(d13, d33));
    plane += planeBytes;
    dst += rowBytes;
  }
}

/** Lane k: columns c0 + 2k + j of a row held as a0 = [c0..c0+3], a1 = [c0+4..], a2 = [c0+8..]. */
// @ts-ignore: decorator
@inline function col0(a0: v128, a1: v128): v128 { return v128.shuffle<f32>(a0, a1, 0, 2, 4, 6); }
// @ts-ignore: decorator
@inline function col1(a0: v128, a1: v128): v128 { return v128.shuffle<f32>(a0, a1, 1, 3, 5, 7); }
// @ts-ignore: decorator
@inline function col2(c0: v128, a2: v128): v128 { return v128.shuffle<f32>(c0, a2, 1, 2, 3, 4); }
// @ts-ignore: decorator
@inline function col3(c1: v128, a2: v128): v128 { return v128.shuffle<f32>(c1, a2, 1, 2, 3, 5); }

/** A row [e0, e1, e2, e3] (each four tiles) times B → ξ = 4k..4k+3 at dst, dst + step, … */
// @ts-ignore: decorator
@inline function storeTimesB(dst: usize, step: usize, e0: v128, e1: v128, e2: v128, e3: v128): void {
  v128.store(dst, f32x4.sub(e0, e2));
  v128.store(dst + step, f32x4.add(e1, e2));
  v128.store(dst + 2 * step, f32x4.sub(e2, e1));
  v128.store(dst + 3 * step, f32x4.sub(e1, e3));
}

/**
 * out[n, o, 2ty.., 2tx..] = act((Aᵀ M A) (+ b[o])) for tiles t0 + i, i < tb, cut at OH×OW; with
 * an activation, 1 when a value stored is NaN or infinite before it.
 */
function outputTransform(
  M: usize, Cout: i32, rows: i32, tw: i32, perImage: i32, t0: i32, tb: i32, tbr: i32, OH: i32, OW: i32, out: usize, b: usize, act: i32,
): i32 {
  const step = (<usize>rows * tbr << 2) + PLANE_SKEW, planeBytes = <usize>OH * OW << 2;
  let bad = 0;
  for (let i = 0; i < tb; i++) {
    const t = t0 + i, n = t / perImage, r = t - n * perImage, ty = r / tw, tx = r - ty * tw;
    const oy = 2 * ty, ox = 2 * tx;
    if ((i & 3) == 0 && i + 4 <= tb && tx + 4 <= tw && oy + 2 <= OH && ox + 8 <= OW) {
      bad |= outputTransform4(M + (<usize>i << 2), step, tbr, Cout, out + <usize>n * Cout * planeBytes + ((<usize>oy * OW + ox) << 2), planeBytes, OW, b, act);
      i += 3;
      continue;
    }
    const full = oy + 2 <= OH && ox + 2 <= OW;
    let src = M + (<usize>i << 2);
    let dst = out + <usize>n * Cout * planeBytes + ((<usize>oy * OW + ox) << 2);
    for (let o = 0; o < Cout; o++) {
      const m0 = gatherRow(src, step), m1 = gatherRow(src + 4 * step, step);
      const m2 = gatherRow(src + 8 * step, step), m3 = gatherRow(src + 12 * step, step);
      // Aᵀ M: two rows; then each times A.
      const s0 = f32x4.add(f32x4.add(m0, m1), m2), s1 = f32x4.sub(f32x4.sub(m1, m2), m3);
      const bias: f32 = b != 0 ? load<f32>(b + (<usize>o << 2)) : 0;
      const a0 = f32x4.extract_lane(s0, 0), a1 = f32x4.extract_lane(s0, 1), a2 = f32x4.extract_lane(s0, 2), a3 = f32x4.extract_lane(s0, 3);
      const b0 = f32x4.extract_lane(s1, 0), b1 = f32x4.extract_lane(s1, 1), b2 = f32x4.extract_lane(s1, 2), b3 = f32x4.extract_lane(s1, 3);
      let y00 = a0 + a1 + a2 + bias, y01 = a1 - a2 - a3 + bias;
      let y10 = b0 + b1 + b2 + bias, y11 = b1 - b2 - b3 + bias;
      const rs = <usize>OW << 2;
      if (act != 0) {
        // Only the values stored count for the check: a cut tile's others lie outside the plane.
        const right = full || ox + 1 < OW, below = full || oy + 1 < OH;
        bad |= <i32>!isFinite<f32>(y00) | <i32>(right && !isFinite<f32>(y01));
        bad |= <i32>(below && !isFinite<f32>(y10)) | <i32>(right && below && !isFinite<f32>(y11));
        y00 = actS(y00, act); y01 = actS(y01, act); y10 = actS(y10, act); y11 = actS(y11, act);
      }
      if (full) {
        store<f32>(dst, y00); store<f32>(dst, y01, 4);
        store<f32>(dst + rs, y10); store<f32>(dst + rs, y11, 4);
      } else {
        store<f32>(dst, y00);
        if (ox + 1 < OW) store<f32>(dst, y01, 4);
        if (oy + 1 < OH) {
          store<f32>(dst + rs, y10);
          if (ox + 1 < OW) store<f32>(dst + rs, y11, 4);
        }
      }
      src += <usize>tbr << 2;
      dst += planeBytes;
    }
  }
  return bad;
}

/** act(Aᵀ M A (+ bias)) of four horizontally adjacent whole tiles (lanes) of every output channel; the check as outputTransform's. */
function outputTransform4(src: usize, step: usize, tbr: i32, Cout: i32, dst: usize, planeBytes: usize, OW: i32, b: usize, act: i32): i32 {
  const rs = <usize>OW << 2;
  let flag = f32x4.splat(0);
  for (let o = 0; o < Cout; o++) {
    const bias = f32x4.splat(b != 0 ? load<f32>(b + (<usize>o << 2)) : 0);
    const m0 = v128.load(src), m1 = v128.load(src + step), m2 = v128.load(src + 2 * step), m3 = v128.load(src + 3 * step);
    const m4 = v128.load(src + 4 * step), m5 = v128.load(src + 5 * step), m6 = v128.load(src + 6 * step), m7 = v128.load(src + 7 * step);
    const m8 = v128.load(src + 8 * step), m9 = v128.load(src + 9 * step), m10 = v128.load(src + 10 * step), m11 = v128.load(src + 11 * step);
    const m12 = v128.load(src + 12 * step), m13 = v128.load(src + 13 * step), m14 = v128.load(src + 14 * step), m15 = v128.load(src + 15 * step);
    // Aᵀ M: rows s0 = m_0 + m_1 + m_2, s1 = m_1 − m_2 − m_3 (m_k = row k), four columns each.
    const s00 = f32x4.add(f32x4.add(m0, m4), m8), s01 = f32x4.add(f32x4.add(m1, m5), m9);
    const s02 = f32x4.add(f32x4.add(m2, m6), m10), s03 = f32x4.add(f32x4.add(m3, m7), m11);
    const s10 = f32x4.sub(f32x4.sub(m4, m8), m12), s11 = f32x4.sub(f32x4.sub(m5, m9), m13);
    const s12 = f32x4.sub(f32x4.sub(m6, m10), m14), s13 = f32x4.sub(f32x4.sub(m7, m11), m15);
    let y00 = f32x4.add(f32x4.add(f32x4.add(s00, s01), s02), bias), y01 = f32x4.add(f32x4.sub(f32x4.sub(s01, s02), s03), bias);
    let y10 = f32x4.add(f32x4.add(f32x4.add(s10, s11), s12), bias), y11 = f32x4.add(f32x4.sub(f32x4.sub(s11, s12), s13), bias);
    if (act != 0) {
      flag = v128.or(flag, v128.or(v128.or(nonFinite(y00), nonFinite(y01)), v128.or(nonFinite(y10), nonFinite(y11))));
      y00 = actV(y00, act); y01 = actV(y01, act); y10 = actV(y10, act); y11 = actV(y11, act);
    }
    // Interleave each tile's two columns: 8 outputs per row.
    v128.store(dst, v128.shuffle<f32>(y00, y01, 0, 4, 1, 5));
    v128.store(dst, v128.shuffle<f32>(y00, y01, 2, 6, 3, 7), 16);
    v128.store(dst + rs, v128.shuffle<f32>(y10, y11, 0, 4, 1, 5));
    v128.store(dst + rs, v128.shuffle<f32>(y10, y11, 2, 6, 3, 7), 16);
    src += <usize>tbr << 2;
    dst += planeBytes;
  }
  return <i32>v128.any_true(flag);
}

/** Four floats `step` bytes apart as one vector. */
// @ts-ignore: decorator
@inline function gatherRow(p: usize, step: usize): v128 {
  let v = f32x4.splat(load<f32>(p));
  v = f32x4.replace_lane(v, 1, load<f32>(p + step));
  v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * step));
  return f32x4.replace_lane(v, 3, load<f32>(p + 3 * step));
}
