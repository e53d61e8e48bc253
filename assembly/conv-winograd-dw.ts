// The weight gradient of a 3×3, stride-1, undilated, ungrouped convolution by Winograd F(2×2,3×3):
// with y_t = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d_t B)] A for each 2×2 output tile t (conv-winograd.ts),
//   ∂L/∂g = Gᵀ [Σ_t (A δ_t Aᵀ) ⊙ (Bᵀ d_t B)] G,
// δ_t the tile's 2×2 of dy (zero past the output's edge) and d_t its 4×4 input patch. The Σ_t runs
// as 16 GEMMs, one per element ξ of the 4×4 transformed tile, over chunks of tiles:
//   Z[ξ]ᵀ += V[ξ] · D[ξ]ᵀ,  [C×O] += [C×T]·[T×O]   (T tiles of the chunk: the GEMMs' long K)
// 16·O·C·T multiply-adds for what the direct weight gradient does in 36·O·C·T, 2.25× fewer; then
// dW[o, c] += Gᵀ Z[·][c][o] G once per channel pair. The input side is conv-winograd.ts's input
// transform writing row-major rows of tiles V[ξ][c][t] instead of micro-kernel panels; dy's side
// writes D[ξ][o / 8][t][o % 8], panels of 8 output channels, so that the GEMMs read both operands
// in place on gemm-inplace.ts's 4×8 micro-kernel, as the 4×4 tiles' do (conv-winograd-dw-f4.ts).
// They ran on gemm.ts before: its dot products where K = 256 and a side had < 128 channels, else
// packed panels whose packing of the transposed operand is scalar.
//
//   A δ Aᵀ, A = | 1  0 |   (the transpose of the forward's Aᵀ)
//               | 1  1 |
//               | 1 −1 |
//               | 0 −1 |
//
// Scratch, in floats: Z (16 planes of C·O), then per chunk V (16·C·tbr) and D (16·roundUp(O, 8)·tbr),
// each plane ξ a cache line after the last (PLANE_SKEW: unskewed, 128 channels × 256 tiles are
// 128 KiB; Z's: conv-winograd-dw-f4.ts's zPlaneStep).
import { gemmInPlace } from "./gemm-inplace";
import { inputTransform, roundUp, PLANE_SKEW } from "./conv-winograd";
import { zPlaneStep } from "./conv-winograd-dw-f4";

/** Tiles per chunk: the K of each of the 16 GEMMs. */
const TILE_CHUNK_DW = 256;

/** Floats of scratch winogradWeightGrad needs. */
export function winogradWeightGradScratchFloats(N: i32, C: i32, O: i32, OH: i32, OW: i32): f64 {
  const tiles = <f64>N * Math.ceil(<f64>OH / 2) * Math.ceil(<f64>OW / 2);
  const cols = Math.ceil(min(tiles, <f64>TILE_CHUNK_DW) / 8) * 8, skew = <f64>(PLANE_SKEW >> 2);
  return 16 * (<f64>O * <f64>C + skew) + 16 * (<f64>C * cols + skew) + 16 * (Math.ceil(<f64>O / 8) * 8 * cols + skew);
}

/**
 * dw += ∂L/∂w of y = conv2d(x, w) (w: O×C×3×3) from dy (N×O×OH×OW) by F(2×2,3×3); PH/PW the padding
 * before the image; scratch: winogradWeightGradScratchFloats.
 */
export function winogradWeightGrad(
  x: usize, dy: usize, dw: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, scratch: usize,
): void {
  const th = (OH + 1) >> 1, tw = (OW + 1) >> 1, perImage = th * tw, T = N * perImage;
  const zStep = zPlaneStep(O, C), Z = scratch, work = Z + <usize>16 * zStep;
  for (let t0 = 0; t0 < T; t0 += TILE_CHUNK_DW) {
    const tb = min(TILE_CHUNK_DW, T - t0), tbr = roundUp(tb, 8);
    const vStep = (<usize>C * tbr << 2) + PLANE_SKEW, dStep = (<usize>roundUp(O, 8) * tbr << 2) + PLANE_SKEW;
    const V = work, D = V + <usize>16 * vStep;
    inputTransform(x, C, H, W, PH, PW, tw, perImage, t0, tb, tbr, V, 8, tbr, PLANE_SKEW);
    gradTransform(dy, O, OH, OW, tw, perImage, t0, tb, tbr, D, dStep);
    for (let xi = 0; xi < 16; xi++) {
      const v = V + <usize>xi * vStep, d = D + <usize>xi * dStep, z = Z + <usize>xi * zStep;
      for (let o0 = 0; o0 < O; o0 += 8) {
        gemmInPlace(0, C, min(8, O - o0), tb, v, tbr, d + (<usize>o0 * tbr << 2), 8, z + (<usize>o0 << 2), O, t0 > 0 ? 1 : 0);
      }
    }
  }
  kernelGradTransform(Z, O, C, dw);
}

/**
 * D[ξ][o / 8][i][o % 8] = (A δ Aᵀ)[ξ] for tiles t0 + i, i < tb, of every output channel o (plane ξ
 * at D + ξ·step): δ the tile's 2×2 of dy, zeros past OH×OW. Four tiles of one tile row at a time
 * (one per lane) where they are whole.
 */
function gradTransform(dy: usize, O: i32, OH: i32, OW: i32, tw: i32, perImage: i32, t0: i32, tb: i32, tbr: i32, D: usize, step: usize): void {
  const planeBytes = <usize>OH * OW << 2, rs = <usize>OW << 2;
  for (let i = 0; i < tb; i++) {
    const t = t0 + i, n = t / perImage, r = t - n * perImage, ty = r / tw, tx = r - ty * tw;
    const oy = 2 * ty, ox = 2 * tx;
    let src = dy + <usize>n * O * planeBytes + ((<usize>oy * OW + ox) << 2);
    if ((i & 3) == 0 && i + 4 <= tb && tx + 4 <= tw && oy + 2 <= OH && ox + 8 <= OW) {
      for (let o = 0; o < O; o++) {
        const a0 = v128.load(src), a1 = v128.load(src, 16), b0 = v128.load(src + rs), b1 = v128.load(src + rs, 16);
        storeAdAt(D + panelAt(o, i, tbr), step,
          v128.shuffle<f32>(a0, a1, 0, 2, 4, 6), v128.shuffle<f32>(a0, a1, 1, 3, 5, 7),
          v128.shuffle<f32>(b0, b1, 0, 2, 4, 6), v128.shuffle<f32>(b0, b1, 1, 3, 5, 7));
        src += planeBytes;
      }
      i += 3;
      continue;
    }
    const right = ox + 1 < OW, below = oy + 1 < OH;
    for (let o = 0; o < O; o++) {
      const d00 = load<f32>(src), d01: f32 = right ? load<f32>(src, 4) : 0;
      const d10: f32 = below ? load<f32>(src + rs) : 0, d11: f32 = below && right ? load<f32>(src + rs, 4) : 0;
      storeAdAtLane0(D + panelAt(o, i, tbr), step, d00, d01, d10, d11);
      src += planeBytes;
    }
  }
}

/** Byte offset of (o, i) in a plane of D: panels of 8 output channels, tbr tiles each. */
// @ts-ignore: decorator
@inline function panelAt(o: i32, i: i32, tbr: i32): usize { return ((<usize>(o >> 3) * tbr + i) * 8 + (o & 7)) << 2; }

/** A δ Aᵀ of four tiles (lanes, 32 bytes apart: a panel's rows), δ = [[d00, d01], [d10, d11]] → ξ = 0..15 at dst + ξ·step. */
// @ts-ignore: decorator
@inline function storeAdAt(dst: usize, step: usize, d00: v128, d01: v128, d10: v128, d11: v128): void {
  // Rows of A δ: δ0, δ0 + δ1, δ0 − δ1, −δ1 (δk = row k); each row (a, b) times Aᵀ: a, a + b, a − b, −b.
  storeRowAt(dst, step, d00, d01);
  storeRowAt(dst + 4 * step, step, f32x4.add(d00, d10), f32x4.add(d01, d11));
  storeRowAt(dst + 8 * step, step, f32x4.sub(d00, d10), f32x4.sub(d01, d11));
  storeRowAt(dst + 12 * step, step, f32x4.neg(d10), f32x4.neg(d11));
}

// @ts-ignore: decorator
@inline function storeRowAt(dst: usize, step: usize, a: v128, b: v128): void {
  scatter4(dst, a);
  scatter4(dst + step, f32x4.add(a, b));
  scatter4(dst + 2 * step, f32x4.sub(a, b));
  scatter4(dst + 3 * step, f32x4.neg(b));
}

/** Lane k of v at p + 32k: one tile each, along a panel of D. */
// @ts-ignore: decorator
@inline function scatter4(p: usize, v: v128): void {
  v128.store32_lane(p, v, 0);
  v128.store32_lane(p, v, 1, 32);
  v128.store32_lane(p, v, 2, 64);
  v128.store32_lane(p, v, 3, 96);
}

/** storeAdAt for one tile (its column of D): scalar stores. */
// @ts-ignore: decorator
@inline function storeAdAtLane0(dst: usize, step: usize, d00: f32, d01: f32, d10: f32, d11: f32): void {
  storeRowAt1(dst, step, d00, d01);
  storeRowAt1(dst + 4 * step, step, d00 + d10, d01 + d11);
  storeRowAt1(dst + 8 * step, step, d00 - d10, d01 - d11);
  storeRowAt1(dst + 12 * step, step, -d10, -d11);
}

// @ts-ignore: decorator
@inline function storeRowAt1(dst: usize, step: usize, a: f32, b: f32): void {
  store<f32>(dst, a);
  store<f32>(dst + step, a + b);
  store<f32>(dst + 2 * step, a - b);
  store<f32>(dst + 3 * step, -b);
}

/**
 * dw[o, c] += Gᵀ Z[·][c][o] G (4×4 → 3×3): Gᵀ rows (1, ½, ½, 0), (0, ½, −½, 0), (0, ½, ½, 1).
 * Two output channels at once, one per f64x2 lane (Z is [ξ][c][o]: a pair's floats side by side),
 * the same f64 operations in the same order as the scalar loop they replaced, so the same
 * bits: the whole weight gradient of 128→256 on 8×8 at batch 1 and 4 ran ×1.85 and ×1.42 faster
 * (one process each, alternating, three rounds), where this transform is most of it.
 */
function kernelGradTransform(Z: usize, O: i32, C: i32, dw: usize): void {
  const step = zPlaneStep(O, C);
  for (let c = 0; c < C; c++) {
    for (let o = 0; o < O; o += 2) kernelGradPairs(Z + (<usize>(c * O + o) << 2), step, dw + (<usize>(o * C + c) * 9 << 2), <usize>C * 36, o + 1 < O);
  }
}

/**
 * Gᵀ Z G for channel pairs (o, c) and, when `both`, (o + 1, c) (lanes 0 and 1): dst their
 * dw[o][c], the second `nextBytes` on. Z's rows k times G: (z0 + ½(z1 + z2), ½(z1 − z2),
 * ½(z1 + z2) + z3), then the same down the columns, in f64, each tap rounded to f32 once.
 */
function kernelGradPairs(z: usize, step: usize, dst: usize, nextBytes: usize, both: bool): void {
  for (let j = 0; j < 3; j++) {
    const r0 = gColumnX2(z, step, 0, j, both), r1 = gColumnX2(z, step, 1, j, both), r2 = gColumnX2(z, step, 2, j, both), r3 = gColumnX2(z, step, 3, j, both);
    const half = f64x2.splat(0.5), s = f64x2.mul(half, f64x2.add(r1, r2)), d = f64x2.mul(half, f64x2.sub(r1, r2));
    const top = f64x2.add(r0, s), bottom = f64x2.add(s, r3);
    const p = dst + (<usize>j << 2), q = p + nextBytes;
    store<f32>(p, load<f32>(p) + <f32>f64x2.extract_lane(top, 0));
    store<f32>(p, load<f32>(p, 12) + <f32>f64x2.extract_lane(d, 0), 12);
    store<f32>(p, load<f32>(p, 24) + <f32>f64x2.extract_lane(bottom, 0), 24);
    if (!both) continue;
    store<f32>(q, load<f32>(q) + <f32>f64x2.extract_lane(top, 1));
    store<f32>(q, load<f32>(q, 12) + <f32>f64x2.extract_lane(d, 1), 12);
    store<f32>(q, load<f32>(q, 24) + <f32>f64x2.extract_lane(bottom, 1), 24);
  }
}

/** Column j of row k of Z·G for the pairs at z (and z + 4 bytes when `both`, else 0): Z[4k..4k+3] at z + ξ·step times G's column j, in f64. */
// @ts-ignore: decorator
@inline function gColumnX2(z: usize, step: usize, k: i32, j: i32, both: bool): v128 {
  const base = z + <usize>(4 * k) * step;
  const z0 = pairAt(base, both), z1 = pairAt(base + step, both), z2 = pairAt(base + 2 * step, both), z3 = pairAt(base + 3 * step, both);
  const half = f64x2.splat(0.5);
  return j == 0 ? f64x2.add(z0, f64x2.mul(half, f64x2.add(z1, z2))) : j == 1 ? f64x2.mul(half, f64x2.sub(z1, z2)) : f64x2.add(f64x2.mul(half, f64x2.add(z1, z2)), z3);
}

/** The float at p and, when `both`, the one after it (else 0), widened to f64x2. */
// @ts-ignore: decorator
@inline function pairAt(p: usize, both: bool): v128 { return f64x2.promote_low_f32x4(both ? v128.load64_zero(p) : v128.load32_zero(p)); }

