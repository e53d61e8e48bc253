// Winograd F(4×4, 5×5) for 5×5, stride-1, undilated, ungrouped convolutions (Lavin & Gray 2015):
// each 4×4 output tile is Aᵀ [Σ_c (G g Gᵀ) ⊙ (Bᵀ d B)] A with d the 8×8 input patch of the tile,
// the Σ_c as 64 GEMMs, one per element ξ = 8i + j of the 8×8 transformed tile: 64·O·C multiply-adds
// per 16 outputs where a direct convolution does 400·O·C, 6.25× fewer (F(2×2,5×5): 2.78×).
//
//   Bᵀ = | 1   0    −21/4   0     21/4   0    −1  0 |   G = |  1     0     0     0     0   |
//        | 0   1     1    −17/4  −17/4   1     1  0 |       | −2/9  −2/9  −2/9  −2/9  −2/9  |
//        | 0  −1     1     17/4  −17/4  −1     1  0 |       | −2/9   2/9  −2/9   2/9  −2/9  |
//        | 0   ½     ¼    −5/2   −5/4    2     1  0 |       | 1/90  1/45  2/45  4/45  8/45  |
//        | 0  −½     ¼     5/2   −5/4   −2     1  0 |       | 1/90 −1/45  2/45 −4/45  8/45  |
//        | 0   2     4    −5/2   −5      ½     1  0 |       | 32/45 16/45 8/45  4/45  2/45  |
//        | 0  −2     4     5/2   −5     −½     1  0 |       | 32/45 −16/45 8/45 −4/45 2/45  |
//        | 0  −1     0     21/4   0    −21/4   0  1 |       |  0     0     0     0     1   |
//
//   Aᵀ = | 1  1  1  1  1  1    1    0 |
//        | 0  1 −1  2 −2  ½   −½    0 |
//        | 0  1  1  4  4  ¼    ¼    0 |
//        | 0  1 −1  8 −8  ⅛   −⅛    1 |
//
// Interpolation points 0, ±1, ±2, ±½, ∞: the α = 8 of F(6×6,3×3) (NNPACK's, and its Bᵀ, which
// depends only on α and the points), here with a 5-tap kernel and 4×4 outputs. Derived exactly
// (wincnn's construction: Aᵀ the points' powers, G their powers over Π(p_j − p_l), Bᵀ solved from
// the bilinear identity) and checked in f64 against the direct 1-D correlation; row 0 of Bᵀ and G
// negated together so that G's starts with 1. In float32, simulated over random patches, its error
// against the float64 reference was 6.8× the direct path's at 16 channels (F(2×2,5×5): 4.1×) and
// 15× at 3 (6.2×): the bound in tests/conv-winograd-5x5.test.js, and the table's channel floor.
//
// Per 16 outputs and channel pair it multiplies 16 times where F(2×2,5×5) multiplies 36, and its
// transforms cost less per output: each input value enters 4 patches of 8×8 (9 of 6×6 there):
// 1.5–1.8× faster on ConvNetJS's 16→20 @16² and 20→20 @8² at batch 64, and on 3-channel inputs
// faster than the direct kernels (measurements and the shapes it takes: conv-winograd-table.ts).
//
// Everything that does not depend on α is shared: conv-winograd.ts's GEMMs (winogradGemms, on
// gemm.ts's 4×8 micro-kernel), packed layouts and scratch plan; conv-winograd-f4.ts's tile records,
// masks, checks and scatter. As there the transforms are packing helpers that run four tiles at a
// time, one per lane, and every path (four tiles of a row, four anywhere, fewer gathered lane by
// lane) applies the same operations in the same order to each value, so a tile's result does not
// depend on which tiles share its chunk (the batch splits over threads by images).
import { actV } from "./epilogue";
import { madd, nonFinite, transposeTo } from "./simd";
import { PLANE_SKEW, winogradPassFloats, winogradGemms, zeroPanelRows, roundUp, packedA, rowChecked } from "./conv-winograd";
import { tileOrigins, fourInARow, fourWhole, tileCorner, scatterTile, columnMask, stripRow, gatherPatch } from "./conv-winograd-f4";

/** Tiles per chunk: the N of each of the 64 GEMMs (V and M of a chunk 512 KiB at 16 → 20 channels). */
export const TILE_CHUNK: i32 = 64;

/** Floats of scratch for forward and input gradient of a 5×5 conv of C → O channels by F(4×4,5×5). */
export function winogradF4x4K5ScratchFloats(N: i32, C: i32, H: i32, W: i32, O: i32, OH: i32, OW: i32): f64 {
  return max(winogradPassFloats(4, TILE_CHUNK, N, C, O, OH, OW, 5), winogradPassFloats(4, TILE_CHUNK, N, O, C, H, W, 5));
}

/**
 * y = act(conv2d(x, w) + b) (b = 0: none, w: O×C×5×5) by F(4×4,5×5); PH/PW the padding before the
 * image; act and the answer as conv-winograd.ts's winogradForward's.
 */
export function winogradF4x4K5Forward(
  x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, scratch: usize, act: i32,
): i32 {
  winogradF4x4K5ForwardWeights(w, O, C, scratch);
  return winogradF4x4K5ForwardPass(x, scratch, b, y, N, C, H, W, O, PH, PW, OH, OW, scratch + (<usize>winogradF4x4K5WeightsFloats(O, C) << 2), act);
}

/** Floats of the transformed forward kernels U of a 5×5 C → O convolution by F(4×4,5×5). */
export function winogradF4x4K5WeightsFloats(O: i32, C: i32): i32 { return 64 * (roundUp(O, 4) * C + <i32>(PLANE_SKEW >> 2)); }

/** U = the forward 5×5 kernels w transformed for F(4×4,5×5), winogradF4x4K5WeightsFloats(O, C) floats. */
export function winogradF4x4K5ForwardWeights(w: usize, O: i32, C: i32, U: usize): void { kernelTransformF4x4K5(w, O, C, false, U); }

/** winogradF4x4K5Forward with its kernels transformed already (U); work: the rest of its scratch. */
export function winogradF4x4K5ForwardPass(
  x: usize, U: usize, b: usize, y: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, work: usize, act: i32,
): i32 {
  return winogradAlpha8Pass(x, N, C, H, W, PH, PW, U, O, y, OH, OW, b, work, act);
}

/** dx = ∂L/∂x of y = conv2d(x, w) (5×5 kernels; overwritten) by F(4×4,5×5) on dy. */
export function winogradF4x4K5InputGrad(
  w: usize, dy: usize, dx: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, scratch: usize,
): void {
  winogradF4x4K5InputGradWeights(w, O, C, scratch);
  winogradF4x4K5InputGradPass(scratch, dy, dx, N, C, H, W, O, PH, PW, OH, OW, scratch + (<usize>winogradF4x4K5WeightsFloats(C, O) << 2));
}

/** U = the kernels of winogradF4x4K5InputGrad, rotated and transformed: winogradF4x4K5WeightsFloats(C, O) floats. */
export function winogradF4x4K5InputGradWeights(w: usize, O: i32, C: i32, U: usize): void { kernelTransformF4x4K5(w, O, C, true, U); }

/** winogradF4x4K5InputGrad with its kernels transformed already (U); work: the rest of its scratch. */
export function winogradF4x4K5InputGradPass(
  U: usize, dy: usize, dx: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, work: usize,
): void {
  winogradAlpha8Pass(dy, N, O, OH, OW, 4 - PH, 4 - PW, U, C, dx, H, W, 0, work, 0);
}

/**
 * out[n, co] = act(Σ_ci x[n, ci] ⋆ g[co, ci] (+ b[co])) over OH×OW outputs by 4×4 tiles, x read as
 * zero outside its Hin×Win planes, the patch of output (0, 0) starting at (−PH, −PW); U holds the
 * transformed kernels [64][Cout][Cin]. Per chunk of tiles: input transform, 64 GEMMs, output
 * transform. Returns 1 when, with an activation, a value before it was NaN or infinite.
 */
function winogradAlpha8Pass(
  x: usize, N: i32, Cin: i32, Hin: i32, Win: i32, PH: i32, PW: i32, U: usize,
  Cout: i32, out: usize, OH: i32, OW: i32, b: usize, work: usize, act: i32,
): i32 {
  let bad = 0;
  const th = (OH + 3) >> 2, tw = (OW + 3) >> 2, perImage = th * tw, T = N * perImage;
  const rows = roundUp(Cout, 4);
  for (let t0 = 0; t0 < T; t0 += TILE_CHUNK) {
    const tb = min(TILE_CHUNK, T - t0), tbr = roundUp(tb, 8);
    const V = work, M = V + <usize>64 * ((<usize>Cin * tbr << 2) + PLANE_SKEW), tmp = M + <usize>64 * ((<usize>rows * tbr << 2) + PLANE_SKEW);
    inputTransformAlpha8(x, Cin, Hin, Win, PH, PW, tw, perImage, t0, tb, tbr, V, tmp, Cin * 8, 8);
    winogradGemms(64, U, V, M, Cin, rows, tbr, PLANE_SKEW);
    bad |= outputTransformAlpha8(M, Cout, rows, tw, perImage, t0, tb, tbr, OH, OW, out, b, tmp, act);
  }
  return bad;
}

// ---- the kernel transform ----

/**
 * U[ξ][r][c] = (G g Gᵀ)[ξ] with g = w[r, c] (5×5) or, when `rotate`, w[c, r] rotated 180° (rows:
 * input channels), in the micro-kernel's A panels. In f64, rounded once.
 */
function kernelTransformF4x4K5(w: usize, O: i32, C: i32, rotate: bool, U: usize): void {
  const rows = rotate ? C : O, cols = rotate ? O : C, plane = <usize>roundUp(rows, 4) * cols;
  const step = (plane << 2) + PLANE_SKEW;
  zeroPanelRows(U, rows, cols, 64, PLANE_SKEW);
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < C; c++) {
      const src = w + (<usize>(o * C + c) * 25 << 2);
      let base = U + ((rotate ? packedA(c, o, cols) : packedA(o, c, cols)) << 2);
      for (let i = 0; i < 8; i++) {
        // Row i of G g (five columns), then that row times Gᵀ.
        const r0 = gRow8(i, tap5(src, rotate, 0), tap5(src, rotate, 5), tap5(src, rotate, 10), tap5(src, rotate, 15), tap5(src, rotate, 20));
        const r1 = gRow8(i, tap5(src, rotate, 1), tap5(src, rotate, 6), tap5(src, rotate, 11), tap5(src, rotate, 16), tap5(src, rotate, 21));
        const r2 = gRow8(i, tap5(src, rotate, 2), tap5(src, rotate, 7), tap5(src, rotate, 12), tap5(src, rotate, 17), tap5(src, rotate, 22));
        const r3 = gRow8(i, tap5(src, rotate, 3), tap5(src, rotate, 8), tap5(src, rotate, 13), tap5(src, rotate, 18), tap5(src, rotate, 23));
        const r4 = gRow8(i, tap5(src, rotate, 4), tap5(src, rotate, 9), tap5(src, rotate, 14), tap5(src, rotate, 19), tap5(src, rotate, 24));
        for (let j = 0; j < 8; j++) {
          store<f32>(base, <f32>gRow8(j, r0, r1, r2, r3, r4));
          base += step;
        }
      }
    }
  }
}

/** Tap i (row-major) of the 5×5 kernel at src, or of its 180° rotation, in f64. */
// @ts-ignore: decorator
@inline function tap5(src: usize, rotate: bool, i: i32): f64 { return <f64>load<f32>(src + (<usize>(rotate ? 24 - i : i) << 2)); }

/** Row i of G (see the header) times the column (a, b, c, d, e), in f64. */
// @ts-ignore: decorator
@inline function gRow8(i: i32, a: f64, b: f64, c: f64, d: f64, e: f64): f64 {
  switch (i) {
    case 0: return a;
    case 1: return (a + b + c + d + e) * (-2.0 / 9);
    case 2: return (a - b + c - d + e) * (-2.0 / 9);
    case 3: return (a + 2 * b + 4 * c + 8 * d + 16 * e) * (1.0 / 90);
    case 4: return (a - 2 * b + 4 * c - 8 * d + 16 * e) * (1.0 / 90);
    case 5: return (16 * a + 8 * b + 4 * c + 2 * d + e) * (2.0 / 45);
    case 6: return (16 * a - 8 * b + 4 * c - 2 * d + e) * (2.0 / 45);
    default: return e;
  }
}

// ---- the input transform ----

/**
 * Bᵀ z for eight vectors z0..z7 (lanes = tiles or columns) → dst + i·stride, i < 8: 26 operations,
 * the pairs ±1, ±½ and ±2 sharing their even and odd parts.
 */
// @ts-ignore: decorator
@inline function storeTimesBt8(dst: usize, stride: usize, z0: v128, z1: v128, z2: v128, z3: v128, z4: v128, z5: v128, z6: v128, z7: v128): void {
  v128.store(dst, madd(f32x4.splat(5.25), f32x4.sub(z4, z2), f32x4.sub(z0, z6)));
  const a1 = madd(f32x4.splat(-4.25), z4, f32x4.add(z2, z6)), b1 = madd(f32x4.splat(-4.25), z3, f32x4.add(z1, z5));
  v128.store(dst + stride, f32x4.add(a1, b1));
  v128.store(dst + 2 * stride, f32x4.sub(a1, b1));
  const a3 = madd(f32x4.splat(-1.25), z4, madd(f32x4.splat(0.25), z2, z6)), b3 = madd(f32x4.splat(2), z5, madd(f32x4.splat(-2.5), z3, f32x4.mul(f32x4.splat(0.5), z1)));
  v128.store(dst + 3 * stride, f32x4.add(a3, b3));
  v128.store(dst + 4 * stride, f32x4.sub(a3, b3));
  const a5 = madd(f32x4.splat(-5), z4, madd(f32x4.splat(4), z2, z6)), b5 = madd(f32x4.splat(0.5), z5, madd(f32x4.splat(-2.5), z3, f32x4.mul(f32x4.splat(2), z1)));
  v128.store(dst + 5 * stride, f32x4.add(a5, b5));
  v128.store(dst + 6 * stride, f32x4.sub(a5, b5));
  v128.store(dst + 7 * stride, madd(f32x4.splat(5.25), f32x4.sub(z3, z5), f32x4.sub(z7, z1)));
}

/** [lane j of a0, a1, a2, a3] for j = 0..3: the 4×4 transpose, into t + 16j. */
// @ts-ignore: decorator
@inline function transpose4(a0: v128, a1: v128, a2: v128, a3: v128, t: usize): void {
  const lo01 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), hi01 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7);
  const lo23 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), hi23 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
  v128.store(t, v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5));
  v128.store(t, v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7), 16);
  v128.store(t, v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5), 32);
  v128.store(t, v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7), 48);
}

/**
 * Bᵀ d down columns c0..c0 + 4·nv − 1 of the eight rows from r0 of a plane (nv vectors, zeros
 * outside the plane): row i of the result, vector v, at e + i·rowBytes + 16v. Whole-vector loads
 * when every row inside the plane lies in memory over those columns, the columns outside a row
 * zeroed by a mask; else checked loads (conv-winograd-f4.ts's stripTimesBt, eight rows). Called,
 * not inlined: inlined at its two call sites it made the module 11.6 KB larger (which every
 * bundle embeds, and webpack warns of an asset past 244 KiB) for no speed measured (the forward
 * ×0.99–1.01, alternating, median of 15).
 */
function stripTimesBt8(nv: i32, plane: usize, r0: i32, c0: i32, Hin: i32, Win: i32, e: usize, rowBytes: usize): void {
  const rFirst = max(r0, 0), rLast = min(r0 + 7, Hin - 1);
  const first = <i64>plane + (<i64>rFirst * Win + c0) * 4, last = <i64>plane + (<i64>rLast * Win + c0 + 4 * nv) * 4;
  if (first >= 0 && last <= (<i64>memory.size() << 16)) {
    const rs = <usize>Win << 2, inside = r0 >= 0 && r0 + 8 <= Hin;
    for (let v = 0; v < nv; v++) {
      const c = c0 + 4 * v;
      const p = plane + <usize>((r0 * Win + c) << 2); // wraps for rows above the plane, which are not loaded
      let z0: v128, z1: v128, z2: v128, z3: v128, z4: v128, z5: v128, z6: v128, z7: v128;
      if (inside) {
        z0 = v128.load(p); z1 = v128.load(p + rs); z2 = v128.load(p + 2 * rs); z3 = v128.load(p + 3 * rs);
        z4 = v128.load(p + 4 * rs); z5 = v128.load(p + 5 * rs); z6 = v128.load(p + 6 * rs); z7 = v128.load(p + 7 * rs);
      } else {
        z0 = stripRow(p, rs, 0, r0, Hin); z1 = stripRow(p, rs, 1, r0, Hin); z2 = stripRow(p, rs, 2, r0, Hin); z3 = stripRow(p, rs, 3, r0, Hin);
        z4 = stripRow(p, rs, 4, r0, Hin); z5 = stripRow(p, rs, 5, r0, Hin); z6 = stripRow(p, rs, 6, r0, Hin); z7 = stripRow(p, rs, 7, r0, Hin);
      }
      if (c < 0 || c + 4 > Win) {
        const mask = columnMask(c, Win);
        z0 = v128.and(z0, mask); z1 = v128.and(z1, mask); z2 = v128.and(z2, mask); z3 = v128.and(z3, mask);
        z4 = v128.and(z4, mask); z5 = v128.and(z5, mask); z6 = v128.and(z6, mask); z7 = v128.and(z7, mask);
      }
      storeTimesBt8(e + (<usize>v << 4), rowBytes, z0, z1, z2, z3, z4, z5, z6, z7);
    }
  } else {
    for (let v = 0; v < nv; v++) {
      const c = c0 + 4 * v;
      storeTimesBt8(e + (<usize>v << 4), rowBytes, rowChecked(plane, r0, c, Hin, Win), rowChecked(plane, r0 + 1, c, Hin, Win),
        rowChecked(plane, r0 + 2, c, Hin, Win), rowChecked(plane, r0 + 3, c, Hin, Win), rowChecked(plane, r0 + 4, c, Hin, Win),
        rowChecked(plane, r0 + 5, c, Hin, Win), rowChecked(plane, r0 + 6, c, Hin, Win), rowChecked(plane, r0 + 7, c, Hin, Win));
    }
  }
}

/**
 * Eight vectors at t (t + 16j: column j of a row, lanes = tiles) times B: V[8i + j] at
 * dst + j·stride for the row's i (dst already at plane 8i).
 */
// @ts-ignore: decorator
@inline function rowTimesB(t: usize, dst: usize, stride: usize): void {
  storeTimesBt8(dst, stride, v128.load(t), v128.load(t, 16), v128.load(t, 32), v128.load(t, 48),
    v128.load(t, 64), v128.load(t, 80), v128.load(t, 96), v128.load(t, 112));
}

/** Floats of temporaries inputTransformAlpha8 and outputTransformAlpha8 take (e, the transposed rows, the tile records). */
export const ALPHA8_TMP_FLOATS = 768;

/**
 * (Bᵀ d B)[ξ] for tiles t0 + i, i < tbr (zero from tb on), of every channel c, 4×4 output tiles
 * (d: the 8×8 patch from row 4·ty − PH, column 4·tx − PW), at float (i / 8)·panel + i % 8 + c·row
 * of V, each plane ξ PLANE_SKEW bytes after the last: panel = Cin·8, row = 8 gives the
 * micro-kernel's B panels V[ξ][i / 8][c][i % 8] (the forward's); panel = 8, row = tbr the
 * row-major V[ξ][c][i] (the weight gradient's), written channel by channel over all tiles; planes
 * of `planeRows` ≥ Cin rows (rows from Cin on untouched). tmp: ALPHA8_TMP_FLOATS floats.
 */
export function inputTransformAlpha8(
  x: usize, Cin: i32, Hin: i32, Win: i32, PH: i32, PW: i32, tw: i32, perImage: i32, t0: i32, tb: i32, tbr: i32, V: usize, tmp: usize,
  panel: i32, row: i32, planeRows: i32 = Cin,
): void {
  const planeBytes = <usize>Hin * Win << 2, step = (<usize>planeRows * tbr << 2) + PLANE_SKEW;
  const e = tmp, t = tmp + 1024, origins = tmp + 2048;
  tileOrigins(4, origins, x, <usize>Cin * planeBytes, t0, tb, tbr, tw, perImage, PH, PW);
  if (row == 8) {
    for (let i8 = 0; i8 < tbr; i8 += 8) {
      for (let c = 0; c < Cin; c++) {
        for (let i = i8; i < i8 + 8; i += 4) {
          transformFourTiles8(i, c, Hin, Win, tb, planeBytes, origins, V + ((<usize>(i >> 3) * panel + (i & 7) + <usize>c * row) << 2), step, e, t);
        }
      }
    }
  } else {
    for (let c = 0; c < Cin; c++) {
      for (let i = 0; i < tbr; i += 4) {
        transformFourTiles8(i, c, Hin, Win, tb, planeBytes, origins, V + ((<usize>(i >> 3) * panel + (i & 7) + <usize>c * row) << 2), step, e, t);
      }
    }
  }
}

/** inputTransformAlpha8's tiles i..i+3 of channel c (tile records at origins) → V[ξ] at dst + ξ·step; e: 64 vectors, t: 8. */
// @ts-ignore: decorator
@inline function transformFourTiles8(
  i: i32, c: i32, Hin: i32, Win: i32, tb: i32, planeBytes: usize, origins: usize, dst: usize, step: usize, e: usize, t: usize,
): void {
  const offset = <usize>c * planeBytes, o = origins + (<usize>i << 4);
  if (i >= tb) {
    // The columns that round the last panel up to 8 tiles: zeros, not whatever the scratch held.
    for (let xi = 0; xi < 64; xi++) v128.store(dst + <usize>xi * step, f32x4.splat(0));
  } else if (fourInARow(o, 4)) {
    // Four tiles of one tile row: columns c0..c0 + 19 (five vectors), Bᵀ down them; then each row
    // of the result, tile k's columns in vectors k and k + 1, transposed to lanes = tiles, times B.
    stripTimesBt8(5, <usize>load<u32>(o) + offset, load<i32>(o, 4), load<i32>(o, 8), Hin, Win, e, 80);
    for (let r = 0; r < 8; r++) {
      const z = e + <usize>r * 80;
      const a0 = v128.load(z), a1 = v128.load(z, 16), a2 = v128.load(z, 32), a3 = v128.load(z, 48), a4 = v128.load(z, 64);
      transpose4(a0, a1, a2, a3, t);
      transpose4(a1, a2, a3, a4, t + 64);
      rowTimesB(t, dst + <usize>(8 * r) * step, step);
    }
  } else if (i + 4 <= tb) {
    // Four tiles anywhere: each tile's eight columns (two vectors) Bᵀ down them, tile k's row r at
    // e + 128r + 32k; then each row transposed to lanes = tiles and times B.
    for (let k = 0; k < 4; k++) {
      const rec = o + (<usize>k << 4);
      stripTimesBt8(2, <usize>load<u32>(rec) + offset, load<i32>(rec, 4), load<i32>(rec, 8), Hin, Win, e + (<usize>k << 5), 128);
    }
    for (let r = 0; r < 8; r++) {
      const z = e + <usize>r * 128;
      transpose4(v128.load(z), v128.load(z, 32), v128.load(z, 64), v128.load(z, 96), t);
      transpose4(v128.load(z, 16), v128.load(z, 48), v128.load(z, 80), v128.load(z, 112), t + 64);
      rowTimesB(t, dst + <usize>(8 * r) * step, step);
    }
  } else {
    // Fewer than four tiles (the chunk's last): gathered lane by lane (raw[r][j] at e + 128r + 16j),
    // then the same operations in the same order per value.
    for (let k = 0; k < 4; k++) gatherPatch(8, e + (<usize>k << 2), o + (<usize>k << 4), offset, Hin, Win);
    for (let j = 0; j < 8; j++) {
      const z = e + (<usize>j << 4);
      storeTimesBt8(t + (<usize>j << 4), 128, v128.load(z), v128.load(z, 128), v128.load(z, 256), v128.load(z, 384),
        v128.load(z, 512), v128.load(z, 640), v128.load(z, 768), v128.load(z, 896));
    }
    // t now holds row r of Bᵀ d at t + 128r (column j at + 16j): each row times B.
    for (let r = 0; r < 8; r++) rowTimesB(t + <usize>r * 128, dst + <usize>(8 * r) * step, step);
  }
}

// ---- the output transform ----

/** Aᵀ z for eight vectors (lanes = tiles): y0..y3, plus `bias`, at dst + k·stride. */
// @ts-ignore: decorator
@inline function timesAt8(z0: v128, z1: v128, z2: v128, z3: v128, z4: v128, z5: v128, z6: v128, z7: v128, bias: v128, dst: usize, stride: usize): void {
  const a = f32x4.add(z1, z2), b = f32x4.sub(z1, z2), c = f32x4.add(z3, z4), d = f32x4.sub(z3, z4), e = f32x4.add(z5, z6), f = f32x4.sub(z5, z6);
  v128.store(dst, f32x4.add(f32x4.add(f32x4.add(f32x4.add(z0, a), c), e), bias));
  v128.store(dst + stride, f32x4.add(madd(f32x4.splat(0.5), f, madd(f32x4.splat(2), d, b)), bias));
  v128.store(dst + 2 * stride, f32x4.add(madd(f32x4.splat(0.25), e, madd(f32x4.splat(4), c, a)), bias));
  v128.store(dst + 3 * stride, f32x4.add(f32x4.add(madd(f32x4.splat(0.125), f, madd(f32x4.splat(8), d, b)), z7), bias));
}

/** Aᵀ M of four tiles (lanes) of one output channel, M[ξ] at src + ξ·step: 32 vectors, row k at q + 128k. */
// @ts-ignore: decorator
@inline function columnsTimesAt8(src: usize, step: usize, q: usize): void {
  const zero = f32x4.splat(0), s8 = <usize>8 * step;
  for (let j = 0; j < 8; j++) {
    const c = src + <usize>j * step;
    timesAt8(v128.load(c), v128.load(c + s8), v128.load(c + 2 * s8), v128.load(c + 3 * s8),
      v128.load(c + 4 * s8), v128.load(c + 5 * s8), v128.load(c + 6 * s8), v128.load(c + 7 * s8), zero, q + (<usize>j << 4), 128);
  }
}

/**
 * Row k of Aᵀ M (eight vectors at qk, lane = tile) times A (+ bias), act → row k of tile l, four
 * floats at d_l; returns the lanes NaN or infinite before the activation (with one; else none).
 * Through `y` (4 vectors), whose values are the same operations' as tileOutput8's.
 */
// @ts-ignore: decorator
@inline function storeRowOf4Tiles8(qk: usize, bias: v128, y: usize, d0: usize, d1: usize, d2: usize, d3: usize, act: i32): v128 {
  timesAt8(v128.load(qk), v128.load(qk, 16), v128.load(qk, 32), v128.load(qk, 48), v128.load(qk, 64), v128.load(qk, 80),
    v128.load(qk, 96), v128.load(qk, 112), bias, y, 16);
  let y0 = v128.load(y), y1 = v128.load(y, 16), y2 = v128.load(y, 32), y3 = v128.load(y, 48);
  let flag = f32x4.splat(0);
  if (act != 0) {
    flag = v128.or(v128.or(nonFinite(y0), nonFinite(y1)), v128.or(nonFinite(y2), nonFinite(y3)));
    y0 = actV(y0, act); y1 = actV(y1, act); y2 = actV(y2, act); y3 = actV(y3, act);
  }
  transposeTo(y0, y1, y2, y3, d0, d1, d2, d3);
  return flag;
}

/**
 * out[n, o, 4·ty.., 4·tx..] = act((Aᵀ M A) (+ b[o])) for tiles t0 + i, i < tb, cut at OH×OW; tmp:
 * ALPHA8_TMP_FLOATS floats. Channel by channel, each row of M read from start to end. With an activation,
 * returns 1 when a value stored was NaN or infinite before it.
 */
function outputTransformAlpha8(
  M: usize, Cout: i32, rows: i32, tw: i32, perImage: i32, t0: i32, tb: i32, tbr: i32, OH: i32, OW: i32, out: usize, b: usize, tmp: usize, act: i32,
): i32 {
  let flag = f32x4.splat(0);
  let bad = 0;
  const step = (<usize>rows * tbr << 2) + PLANE_SKEW, planeBytes = <usize>OH * OW << 2, rs = <usize>OW << 2;
  const q = tmp, y = tmp + 512, origins = tmp + 2048;
  tileOrigins(4, origins, out, <usize>Cout * planeBytes, t0, tb, tbr, tw, perImage, 0, 0);
  for (let o = 0; o < Cout; o++) {
    const bias = f32x4.splat(b != 0 ? load<f32>(b + (<usize>o << 2)) : 0), offset = <usize>o * planeBytes;
    for (let i = 0; i < tb; i += 4) {
      const rec = origins + (<usize>i << 4), src = M + ((<usize>o * tbr + i) << 2);
      columnsTimesAt8(src, step, q);
      if (fourWhole(rec, OH, OW)) {
        // Four whole tiles (side by side or anywhere): each tile's row k to its own place.
        const d0 = tileCorner(rec, offset, OW), d1 = tileCorner(rec + 16, offset, OW), d2 = tileCorner(rec + 32, offset, OW), d3 = tileCorner(rec + 48, offset, OW);
        for (let k = 0; k < 4; k++) {
          const r = <usize>k * rs;
          flag = v128.or(flag, storeRowOf4Tiles8(q + <usize>k * 128, bias, y, d0 + r, d1 + r, d2 + r, d3 + r, act));
        }
        continue;
      }
      // Tiles cut by the plane's edge, or fewer than four: y[k][l] for every row, then each lane's tile scattered.
      for (let k = 0; k < 4; k++) {
        const r = q + <usize>k * 128;
        timesAt8(v128.load(r), v128.load(r, 16), v128.load(r, 32), v128.load(r, 48), v128.load(r, 64), v128.load(r, 80),
          v128.load(r, 96), v128.load(r, 112), bias, y + (<usize>k << 6), 16);
      }
      for (let k = 0; k < 4; k++) bad |= scatterTile(4, y + (<usize>k << 2), rec + (<usize>k << 4), offset, OH, OW, act);
    }
  }
  return bad | <i32>v128.any_true(flag);
}
