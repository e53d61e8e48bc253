// The weight gradient of a 5×5, stride-1, undilated, ungrouped convolution by Winograd with 4×4
// tiles of dy, "F(5×5,4×4)": the 8×8 input patches of F(4×4,5×5) (conv-winograd-f4x4-5x5.ts). With
// y_t = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d_t B)] A for each 4×4 output tile t (Aᵀ: 4×8, G: 8×5, Bᵀ: 8×8), as for
// F(5×5,2×2) in conv-winograd-dw-f4.ts
//   ∂L/∂g = Gᵀ [Σ_t (A δ_t Aᵀ) ⊙ (Bᵀ d_t B)] G     (Gᵀ: 5×8, G: 8×5, A = (Aᵀ)ᵀ: 8×4),
// δ_t the tile's 4×4 of dy (zero past the output's edge), d_t its 8×8 input patch (zero outside
// the plane). The Σ_t runs as 64 GEMMs, one per element ξ = 8i + j of the 8×8 transformed tile,
// over chunks of tiles: Z[ξ] += V[ξ] · D[ξ], [C×O] += [C×T]·[T×O], 64·O·C multiply-adds per 4×4
// tile of dy where the direct weight gradient does 400·O·C (F(5×5,2×2): 144 per 16 outputs); then
// dw[o, c] += Gᵀ Z[·][c][o] G once per channel pair, in f64.
//
//   A = | 1  0  0  0 |   A δ Aᵀ: A down each column of δ, then along each row: for a column
//       | 1  1  1  1 |   (v0, v1, v2, v3), with s = v0 + v2, t = v1 + v3, s₂ = v0 + 4v2,
//       | 1 −1  1 −1 |   t₂ = 2v1 + 8v3, s½ = v0 + ¼v2, t½ = ½v1 + ⅛v3:
//       | 1  2  4  8 |   (v0, s + t, s − t, s₂ + t₂, s₂ − t₂, s½ + t½, s½ − t½, v3).
//       | 1 −2  4 −8 |
//       | 1  ½  ¼  ⅛ |   Gᵀ Z G: G's column b is (δ_b0, −2/9, −2/9·(−1)^b, 2^b/90, (−2)^b/90,
//       | 1 −½  ¼ −⅛ |   2/45·2^(4−b), 2/45·2^(4−b)·(−1)^b, δ_b4), dotted with Z's rows, then with
//       | 0  0  0  1 |   the result's columns (gCol8).
//
// The structure is F(5×5,2×2)'s: the input side is the forward's transform writing row-major rows
// of tiles V[ξ][c][t] (inputTransformAlpha8), dy's side D tile-major [t][ξ][o] (gradTransformF4x4K5,
// four output channels of one tile a vector: each of its 64 results one vector store; 4 floats
// written for each one of dy read, 9 for F(5×5,2×2)), one GEMM a plane on gemm-inplace.ts's 4×8
// micro-kernel reading both in place, B's rows a tile apart; V and Z get a row of zeros or two where
// the channels leave 2 or 3 over a multiple of 4 (paddedRows), so that an RGB image's 3 channels run
// on the 4-row micro-kernel. It runs whole on one thread: by ranges of output channels a range's
// last channels would sum in another order (as F(5×5,2×2)'s).
import { gemmInPlace } from "./gemm-inplace";
import { madd } from "./simd";
import { PLANE_SKEW, roundUp } from "./conv-winograd";
import { tileOrigins } from "./conv-winograd-f4";
import { gatherChannels, zPlaneStep } from "./conv-winograd-dw-f4";
import { inputTransformAlpha8, ALPHA8_TMP_FLOATS } from "./conv-winograd-f4x4-5x5";

/** Tiles per chunk: the K of each of the 64 GEMMs (V and D of a chunk 0.6 MB at 16 → 20 channels). */
const TILE_CHUNK: i32 = 64;

/**
 * The rows of V and Z for C input channels: C, or C rounded up to 4 where 2 or 3 rows would be
 * left over, which the GEMMs' 4×8 micro-kernel then runs as a fourth row of zeros (gemmInPlace runs
 * rows past the last multiple of 4 one at a time, a row of 8 columns per k step: two loads for
 * two multiply-adds).
 */
// @ts-ignore: decorator
@inline function paddedRows(C: i32): i32 { return (C & 3) >= 2 ? roundUp(C, 4) : C; }

/** Floats of scratch winogradF4x4K5WeightGrad needs: Z, then a chunk's V and D, then the transforms' temporaries. In f64. */
export function winogradF4x4K5WeightGradScratchFloats(N: i32, C: i32, O: i32, OH: i32, OW: i32): f64 {
  const tiles = <f64>N * Math.ceil(<f64>OH / 4) * Math.ceil(<f64>OW / 4), Cp = <f64>paddedRows(C);
  const cols = Math.ceil(min(tiles, <f64>TILE_CHUNK) / 8) * 8, skew = <f64>(PLANE_SKEW >> 2);
  return 64 * (<f64>O * Cp + skew) + 64 * (Cp * cols + skew) + cols * 64 * Math.ceil(<f64>O / 4) * 4 + ALPHA8_TMP_FLOATS;
}

/**
 * dw += ∂L/∂w of y = conv2d(x, w) (w: O×C×5×5, x: N×C×H×W) from dy (N×O×OH×OW) by 4×4 tiles of
 * dy (see the file comment); PH/PW the padding before the image; scratch:
 * winogradF4x4K5WeightGradScratchFloats.
 */
export function winogradF4x4K5WeightGrad(
  x: usize, dy: usize, dw: usize, N: i32, C: i32, H: i32, W: i32, O: i32,
  PH: i32, PW: i32, OH: i32, OW: i32, scratch: usize,
): void {
  const th = (OH + 3) >> 2, tw = (OW + 3) >> 2, perImage = th * tw, T = N * perImage;
  const Or = roundUp(O, 4), Cp = paddedRows(C), zs = zPlaneStep(O, Cp), Z = scratch, work = Z + <usize>64 * zs;
  for (let t0 = 0; t0 < T; t0 += TILE_CHUNK) {
    const tb = min(TILE_CHUNK, T - t0), tbr = roundUp(tb, 8), add = t0 > 0 ? 1 : 0;
    const vStep = (<usize>Cp * tbr << 2) + PLANE_SKEW;
    const V = work, D = V + <usize>64 * vStep, tmp = D + (<usize>tbr * 64 * Or << 2);
    inputTransformAlpha8(x, C, H, W, PH, PW, tw, perImage, t0, tb, tbr, V, tmp, 8, tbr, Cp);
    // The padding rows: zeros, whose sums in Z nothing reads.
    if (Cp > C) for (let q = 0; q < 64; q++) memory.fill(V + <usize>q * vStep + (<usize>C * tbr << 2), 0, <usize>(Cp - C) * tbr << 2);
    gradTransformF4x4K5(dy, O, OH, OW, tw, perImage, t0, tb, tbr, D, <usize>Or << 2, tmp);
    for (let q = 0; q < 64; q++) {
      gemmInPlace(0, Cp, O, tb, V + <usize>q * vStep, tbr, D + (<usize>q * Or << 2), 64 * Or, Z + <usize>q * zs, O, add);
    }
  }
  kernelGradTransformF4x4K5(Z, O, C, Cp, dw, work);
}

/**
 * D[i][ξ][o] = (A δ Aᵀ)[ξ] for tiles t0 + i, i < tb, of every output channel o, δ the tile's 4×4
 * of dy (zeros past OH×OW): tile-major, planes ξ `step` bytes apart (roundUp(O, 4) floats), tiles
 * 64·step apart; four output channels (lanes) of one tile at a time, each result one vector store
 * (lanes past O zero). tmp: ALPHA8_TMP_FLOATS floats.
 */
function gradTransformF4x4K5(
  dy: usize, O: i32, OH: i32, OW: i32, tw: i32, perImage: i32, t0: i32, tb: i32, tbr: i32, D: usize, step: usize, tmp: usize,
): void {
  const planeBytes = <usize>OH * OW << 2, rs = <usize>OW << 2, tileStep = <usize>64 * step, rows = <usize>8 * step;
  const e = tmp, raw = tmp + 512, origins = tmp + 2048;
  tileOrigins(4, origins, dy, <usize>O * planeBytes, t0, tb, tbr, tw, perImage, 0, 0);
  for (let i = 0; i < tb; i++) {
    const rec = origins + (<usize>i << 4), oy = load<i32>(rec, 4), ox = load<i32>(rec, 8);
    const tile = <usize>load<u32>(rec) + ((<usize>oy * OW + ox) << 2), whole = oy + 4 <= OH && ox + 4 <= OW;
    for (let o0 = 0; o0 < O; o0 += 4) {
      const oc = min(4, O - o0), p = tile + <usize>o0 * planeBytes;
      if (oc == 4 && whole) {
        // Each row of δ is four loads (one a channel), transposed to lanes = channels, times Aᵀ: row r at e + 128r.
        for (let r = 0; r < 4; r++) {
          const q = p + <usize>r * rs;
          rowTimesAt8(e + <usize>r * 128, v128.load(q), v128.load(q + planeBytes), v128.load(q + 2 * planeBytes), v128.load(q + 3 * planeBytes));
        }
      } else {
        // Gathered lane by lane, zeros past the plane and past O; then the same operations.
        gatherChannels(4, raw, p, planeBytes, OW, min(4, OH - oy), min(4, OW - ox), oc);
        for (let r = 0; r < 4; r++) {
          const z = raw + (<usize>r << 6);
          storeTimesA8(e + <usize>r * 128, 16, v128.load(z), v128.load(z, 16), v128.load(z, 32), v128.load(z, 48));
        }
      }
      // A down each column j of δ Aᵀ → ξ = 8i + j, by a running pointer.
      const dst = D + <usize>i * tileStep + (<usize>o0 << 2);
      for (let j = 0; j < 8; j++) {
        const c = e + (<usize>j << 4);
        storeTimesA8(dst + <usize>j * step, rows, v128.load(c), v128.load(c, 128), v128.load(c, 256), v128.load(c, 384));
      }
    }
  }
}

/** A v for four vectors v0..v3 (lanes = channels) → eight vectors at dst, dst + stride, …, by a running pointer. */
// @ts-ignore: decorator
@inline function storeTimesA8(dst: usize, stride: usize, v0: v128, v1: v128, v2: v128, v3: v128): void {
  const s = f32x4.add(v0, v2), t = f32x4.add(v1, v3);
  // Products by powers of 2 are exact, so both builds give these the same bits.
  const s2 = madd(f32x4.splat(4), v2, v0), t2 = madd(f32x4.splat(8), v3, f32x4.add(v1, v1));
  const sh = madd(f32x4.splat(0.25), v2, v0), th = madd(f32x4.splat(0.125), v3, f32x4.mul(f32x4.splat(0.5), v1));
  v128.store(dst, v0); dst += stride;
  v128.store(dst, f32x4.add(s, t)); dst += stride;
  v128.store(dst, f32x4.sub(s, t)); dst += stride;
  v128.store(dst, f32x4.add(s2, t2)); dst += stride;
  v128.store(dst, f32x4.sub(s2, t2)); dst += stride;
  v128.store(dst, f32x4.add(sh, th)); dst += stride;
  v128.store(dst, f32x4.sub(sh, th)); dst += stride;
  v128.store(dst, v3);
}

/** One row of δ for four channels (a_c: channel c's four columns) transposed to lanes = channels, times Aᵀ: eight vectors at e. */
// @ts-ignore: decorator
@inline function rowTimesAt8(e: usize, a0: v128, a1: v128, a2: v128, a3: v128): void {
  const lo01 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), hi01 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7);
  const lo23 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), hi23 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
  storeTimesA8(e, 16,
    v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5), v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7),
    v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5), v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7));
}

/**
 * dw[o, c] += Gᵀ Z[·][c][o] G (8×8 → 5×5) for every channel pair (Z's planes of Cp rows), in f64,
 * each tap rounded to f32 once; t: 40 f64 of temporaries (each pair's Z·G, so Z is read once).
 */
function kernelGradTransformF4x4K5(Z: usize, O: i32, C: i32, Cp: i32, dw: usize, t: usize): void {
  const step = zPlaneStep(O, Cp);
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < C; c++) {
      const z = Z + (<usize>(c * O + o) << 2), dst = dw + (<usize>(o * C + c) * 25 << 2);
      // Rows i of Z·G (8×5) into t[i][b].
      for (let i = 0; i < 8; i++) {
        const p = z + <usize>(8 * i) * step;
        const z0 = <f64>load<f32>(p), z1 = <f64>load<f32>(p + step), z2 = <f64>load<f32>(p + 2 * step), z3 = <f64>load<f32>(p + 3 * step);
        const z4 = <f64>load<f32>(p + 4 * step), z5 = <f64>load<f32>(p + 5 * step), z6 = <f64>load<f32>(p + 6 * step), z7 = <f64>load<f32>(p + 7 * step);
        for (let b = 0; b < 5; b++) store<f64>(t + (<usize>(5 * i + b) << 3), gCol8(b, z0, z1, z2, z3, z4, z5, z6, z7));
      }
      // Gᵀ (Z G): the same combinations down each column b.
      for (let a = 0; a < 5; a++) {
        for (let b = 0; b < 5; b++) {
          const q = t + (<usize>b << 3), at = dst + (<usize>(5 * a + b) << 2);
          const v = gCol8(a, load<f64>(q), load<f64>(q, 40), load<f64>(q, 80), load<f64>(q, 120), load<f64>(q, 160), load<f64>(q, 200), load<f64>(q, 240), load<f64>(q, 280));
          store<f32>(at, <f32>(<f64>load<f32>(at) + v));
        }
      }
    }
  }
}

/** z · column b of G (see the file comment), in f64. */
// @ts-ignore: decorator
@inline function gCol8(b: i32, z0: f64, z1: f64, z2: f64, z3: f64, z4: f64, z5: f64, z6: f64, z7: f64): f64 {
  switch (b) {
    case 0: return z0 - (2.0 / 9) * (z1 + z2) + (1.0 / 90) * (z3 + z4) + (32.0 / 45) * (z5 + z6);
    case 1: return (2.0 / 9) * (z2 - z1) + (1.0 / 45) * (z3 - z4) + (16.0 / 45) * (z5 - z6);
    case 2: return (-2.0 / 9) * (z1 + z2) + (2.0 / 45) * (z3 + z4) + (8.0 / 45) * (z5 + z6);
    case 3: return (2.0 / 9) * (z2 - z1) + (4.0 / 45) * (z3 - z4) + (4.0 / 45) * (z5 - z6);
    default: return (-2.0 / 9) * (z1 + z2) + (8.0 / 45) * (z3 + z4) + (2.0 / 45) * (z5 + z6) + z7;
  }
}
