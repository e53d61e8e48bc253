// 1×1 convolutions at stride 2 without padding (ResNet's projection shortcuts), with no cols
// matrix, no Y_all and no scatter.
//
// Output pixel (oh, ow) reads input pixel (2·oh, 2·ow) of every channel, so per image and group
//   forward          Y   = W · xs                     [Og, OH·OW] = [Og, Cg]·[Cg, OH·OW]
//   input gradient   dx[:, ::2, ::2] = Wᵀ · dY        [Cg, OH·OW] = [Cg, Og]·[Og, OH·OW], zeros elsewhere
//   weight gradient  dW += dY · xsᵀ                   [Og, Cg]    = [Og, OH·OW]·[OH·OW, Cg]
// with xs = x[:, ::2, ::2]. The forward subsamples one image's x into xs (C·OH·OW floats, in L1)
// and runs f32-gemm-4x8 on W and xs (gemm4x8InPlace), its tiles stored straight into y with the
// bias added in registers. The input gradient runs f32-gemm-4x8 on W and dy in place and
// stores each tile spread over an even row of dx, zeros between, zeroing the odd row after it
// (gemm4x8Spread): every float of dx written once, in order. The weight gradient broadcasts dy
// from its planes in place against xsᵀ, subsampled and transposed in one pass (gemm4x8Pixels over
// the pixels of a chunk of images, each image's P pixels one run: dy's plane and xsᵀ's rows are
// contiguous).
//
// Measured through the layer against the lowerings this replaces (im2col-gemm for 16→32 on
// 32×32, im2col-batched-gemm for 32→64 on 16×16; CPU time, the two alternating in one process,
// median of 9–11, two or three runs, batch 16 and 64; % of the FMA peak measured in the same run,
// relaxed ~58.5 GFLOP/s, plain ~41):
//   shape                      build     forward             dW                  dX
//   1×1 16→32 s2 on 32×32      relaxed   ×1.32–1.58 57–67%   ×1.24–1.29 57–61%   ×1.21–1.45 53–68%
//   1×1 32→64 s2 on 16×16      relaxed   ×1.23–1.29 72–76%   ×1.25–1.26 67–70%   ×1.32–1.45 72–83%
//   1×1 16→32 s2 on 32×32      plain     ×1.17–1.48 55–75%   ×1.24–1.32 65–73%   ×1.00–1.34 51–77%
//   1×1 32→64 s2 on 16×16      plain     ×1.22–1.28 80–84%   ×1.15–1.19 75–76%   ×1.20–1.43 75–93%
//
// Tried and not taken (same measurements): the forward's B rows read from x in place, four loads
// and two even-lane shuffles a k in the micro-kernel (×0.67–0.83: the shuffles, repeated for
// every panel of 4 output channels, cost more than one subsampling pass); the forward as bias
// then gemmInPlace on xs (×1.16–1.30, where adding the bias in registers gave ×1.21–1.37 in the
// same runs); xs read through a row table (gemm4x8Table, as conv-strided.ts: ×0.89–0.96 against
// its constant row stride); the weight gradient as x broadcast in place against dYᵀ (×0.86–1.03:
// its transposes are of Og rows, twice xs's Cg here), as dot products of dy's and xs's rows
// (gemmDot ×0.85–1.10; 3×4 accumulators ×0.67–0.87, spilled), and with xs subsampled then transposed
// in two passes (×1.00–1.15, the fused pass ×1.07–1.24), and with its pixel loop run row by row,
// 8 or 16 pixels at a time (32→64 ×0.94–0.95 in the same run, 16→32 ×0.99–1.03); dx with its odd
// rows zeroed in a pass before (×0.89–0.97 against zeroing each odd row right after its even one).
//
// What keeps some passes under 70%: 16→32 has Cg = 16, so its forward sums only 16 products per
// 4×8 tile before the stores, and its weight gradient's subsampling and transposes are a larger
// share (measured without them, before the pixel loop was one run: 64–66% against 53–56%); its
// dx at batch 64 writes 4 MB a call and varies most between runs.
import { gemm4x8InPlace, gemm1x8InPlace, gemm4x8Spread, gemm1x8Spread, gemm4x8Pixels } from "./gemm-inplace";

/**
 * Whether a convolution takes this file's kernels: a 1×1 kernel at stride 2, no padding, output
 * rows of a multiple of 8 pixels (the micro-kernels' 8 columns in one row) and W = 2·OW (the 16
 * floats a tile's row reads or writes within x's or dx's row). Dilation does nothing to a 1×1 kernel.
 */
// @ts-ignore: decorator
@inline export function pointwiseS2Applies(W: i32, KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32, OW: i32): bool {
  return KH == 1 && KW == 1 && SH == 2 && SW == 2 && PH == 0 && PW == 0 && OW % 8 == 0 && W == 2 * OW;
}

/** The floats of x (its even rows, those read) one chunk of images of the weight gradient may span: 256 KB. */
const CHUNK_FLOATS = 64 * 1024;

/**
 * Images per chunk of the weight gradient, from x's size alone: a range of output channels
 * (threads) then sums each value over the same chunks as the whole, so to the same bits.
 */
function chunkImages(N: i32, C: i32, H: i32, W: i32): i32 {
  return max(1, min(N, CHUNK_FLOATS / max(1, C * H * W / 2)));
}

/** Floats of scratch pointwiseS2Forward and pointwiseS2WeightGrad need, in f64 (the input gradient needs none). */
export function pointwiseS2ScratchFloats(N: i32, C: i32, H: i32, W: i32, O: i32, G: i32, OH: i32, OW: i32): f64 {
  const Og4 = <f64>(((O / G) + 3) & ~3), Cg8 = <f64>(((C / G) + 7) & ~7), P = <f64>OH * <f64>OW;
  const forward = <f64>C * P;
  const weightGrad = <f64>G * Og4 * Cg8 + <f64>chunkImages(N, C, H, W) * P * Cg8;
  return max(forward, weightGrad);
}

/**
 * y = conv2d(x, w) + b (b = 0: none) for a shape pointwiseS2Applies accepts, image by image:
 * f32-gemm-4x8 on W and xs in place, the bias added in registers. Scratch: one image's xs [C × OH·OW].
 */
export function pointwiseS2Forward(
  x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, H: i32, W: i32, O: i32, G: i32, OH: i32, OW: i32, scratch: usize,
): void {
  const Cg = C / G, Og = O / G, P = OH * OW;
  const rs = <usize>Cg << 2, cs = <usize>P << 2, xs = scratch;
  for (let n = 0; n < N; n++) {
    subsample(x + (<usize>n * C * H * W << 2), C, H, W, OH, OW, xs);
    for (let g = 0; g < G; g++) {
      const xg = xs + (<usize>(g * Cg) * P << 2), wg = w + (<usize>(g * Og) * Cg << 2);
      const yg = y + (<usize>(n * O + g * Og) * P << 2), bg = b != 0 ? b + (<usize>(g * Og) << 2) : 0;
      let i = 0;
      for (; i + 4 <= Og; i += 4) {
        const a = wg + <usize>i * rs, c = yg + <usize>i * cs, bias = bg != 0 ? bg + (<usize>i << 2) : 0;
        for (let p = 0; p < P; p += 8) gemm4x8InPlace(Cg, a, rs, 4, xg + (<usize>p << 2), cs, c + (<usize>p << 2), cs, 0, bias);
      }
      for (; i < Og; i++) {
        const a = wg + <usize>i * rs, c = yg + <usize>i * cs, bias = bg != 0 ? bg + (<usize>i << 2) : 0;
        for (let p = 0; p < P; p += 8) gemm1x8InPlace(Cg, a, 4, xg + (<usize>p << 2), cs, c + (<usize>p << 2), 0, bias);
      }
    }
  }
}

/** xs[c, oh, ow] = x[c, 2·oh, 2·ow] for one image's C channels (OW a multiple of 4): two loads and a shuffle per 4 floats. */
function subsample(x: usize, C: i32, H: i32, W: i32, OH: i32, OW: i32, xs: usize): void {
  let d = xs;
  for (let c = 0; c < C; c++) {
    for (let oh = 0; oh < OH; oh++) {
      let s = x + (<usize>(c * H + 2 * oh) * W << 2);
      const end = d + (<usize>OW << 2);
      for (; d < end; d += 16) {
        v128.store(d, v128.shuffle<f32>(v128.load(s), v128.load(s, 16), 0, 2, 4, 6));
        s += 32;
      }
    }
  }
}

/** dx = ∂L/∂x for a shape pointwiseS2Applies accepts, image by image: each float of dx written once. */
export function pointwiseS2InputGrad(
  w: usize, dy: usize, dx: usize, N: i32, C: i32, H: i32, W: i32, O: i32, G: i32, OH: i32, OW: i32,
): void {
  const Cg = C / G, Og = O / G, P = OH * OW;
  const plane = <usize>(H * W) << 2, ks = <usize>Cg << 2, bs = <usize>P << 2, rowStep = <usize>(2 * W) << 2;
  const z = f32x4.splat(0);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      // A = Wᵀ: A[c, o] = W[o, c], its 4 values of an o adjacent.
      const wg = w + (<usize>(g * Og) * Cg << 2), dyg = dy + (<usize>(n * O + g * Og) * P << 2);
      const dxg = dx + (<usize>(n * C + g * Cg) * H * W << 2);
      let i = 0;
      for (; i + 4 <= Cg; i += 4) {
        const a = wg + (<usize>i << 2), c = dxg + <usize>i * plane;
        for (let oh = 0; oh < OH; oh++) {
          const src = dyg + (<usize>(oh * OW) << 2), out = c + <usize>oh * rowStep;
          // The odd row after this even one, if the map has it.
          const odd: usize = 2 * oh + 1 < H ? <usize>W << 2 : 0;
          for (let ow = 0; ow < OW; ow += 8) gemm4x8Spread(Og, a, ks, src + (<usize>ow << 2), bs, out + (<usize>ow << 3), plane, odd);
        }
      }
      // The channels past the last 4: one at a time, their odd rows zeroed first.
      for (; i < Cg; i++) {
        const a = wg + (<usize>i << 2), c = dxg + <usize>i * plane;
        for (let r = 1; r < H; r += 2) {
          const row = c + (<usize>(r * W) << 2);
          for (let q = 0; q < W; q += 4) v128.store(row + (<usize>q << 2), z);
        }
        for (let oh = 0; oh < OH; oh++) {
          const src = dyg + (<usize>(oh * OW) << 2), out = c + <usize>oh * rowStep;
          for (let ow = 0; ow < OW; ow += 8) gemm1x8Spread(Og, a, ks, src + (<usize>ow << 2), bs, out + (<usize>ow << 3));
        }
      }
    }
  }
}

/**
 * dw += ∂L/∂w for a shape pointwiseS2Applies accepts, as
 *   dW[Og × Cg] += Σ_n dY[n] · xs[n]ᵀ     [Og, OH·OW]·[OH·OW, Cg]
 * f32-gemm-4x8 over the pixels of a chunk of images (gemm4x8Pixels, an image's P pixels one
 * run): A is dy broadcast from 4 of its planes in place, B is xsᵀ ([pixel × Cg8], Cg rounded up to 8 with zero columns), made
 * by subsampleTransposed. The sums go to dW8 [Og4 × Cg8] (the rows past Og reading plane 0 and
 * ignored), added to dw at the end. Scratch: dW8 of every group, then a chunk's xsᵀ.
 */
export function pointwiseS2WeightGrad(
  x: usize, dy: usize, dw: usize, N: i32, C: i32, H: i32, W: i32, O: i32, G: i32, OH: i32, OW: i32, scratch: usize,
): void {
  const Cg = C / G, Og = O / G, Og4 = (Og + 3) & ~3, Cg8 = (Cg + 7) & ~7, P = OH * OW;
  const nb = chunkImages(N, C, H, W);
  const dw8 = scratch, xsT = dw8 + (<usize>G * Og4 * Cg8 << 2);
  memory.fill(dw8, 0, <usize>G * Og4 * Cg8 << 2);
  // The columns of xsᵀ past Cg stay zero: the passes write the first Cg of each row.
  memory.fill(xsT, 0, <usize>nb * P * Cg8 << 2);
  const dyImage = <usize>(O * P) << 2, rs = <usize>P << 2, bs = <usize>Cg8 << 2;
  for (let n0 = 0; n0 < N; n0 += nb) {
    const nn = min(nb, N - n0);
    for (let g = 0; g < G; g++) {
      for (let n = 0; n < nn; n++) {
        subsampleTransposed(x + (<usize>((n0 + n) * C + g * Cg) * H * W << 2), Cg, H, W, OH, OW, xsT + (<usize>(n * P) * Cg8 << 2), Cg8);
      }
      const d = dy + <usize>n0 * dyImage + (<usize>(g * Og) * P << 2), dwg = dw8 + (<usize>(g * Og4) * Cg8 << 2);
      for (let o = 0; o < Og4; o += 4) {
        const a0 = d + <usize>o * rs;
        const a1 = o + 1 < Og ? a0 + rs : d, a2 = o + 2 < Og ? a0 + 2 * rs : d, a3 = o + 3 < Og ? a0 + 3 * rs : d;
        for (let c = 0; c < Cg8; c += 8) {
          gemm4x8Pixels(nn, 1, P, dyImage, 0, 4, a0, a1, a2, a3, xsT + (<usize>c << 2), bs, dwg + ((<usize>o * Cg8 + c) << 2), bs);
        }
      }
    }
  }
  for (let g = 0; g < G; g++) {
    const dwg = dw8 + (<usize>(g * Og4) * Cg8 << 2);
    for (let o = 0; o < Og; o++) {
      const row = dw + (<usize>(g * Og + o) * Cg << 2), src = dwg + (<usize>o * Cg8 << 2);
      for (let c = 0; c < Cg; c++) {
        const p = row + (<usize>c << 2);
        store<f32>(p, load<f32>(p) + load<f32>(src + (<usize>c << 2)));
      }
    }
  }
}

/**
 * xsT[p, c] (row stride ld floats) = x[c, 2·oh, 2·ow] for p = oh·OW + ow and c < C: one image's
 * channels subsampled and transposed in one pass, 4 channels × 4 pixels at a time (two loads and
 * an even-lane shuffle per channel, then a 4×4 transpose), the channels past the last 4 one float at a time.
 */
function subsampleTransposed(x: usize, C: i32, H: i32, W: i32, OH: i32, OW: i32, xsT: usize, ld: i32): void {
  const plane = <usize>(H * W) << 2, rowStep = <usize>(2 * W) << 2, ls = <usize>ld << 2;
  let c = 0;
  for (; c + 4 <= C; c += 4) {
    const r0 = x + <usize>c * plane, dc = xsT + (<usize>c << 2);
    for (let oh = 0; oh < OH; oh++) {
      let s = r0 + <usize>oh * rowStep, d = dc + <usize>(oh * OW) * ls;
      for (let ow = 0; ow < OW; ow += 4) {
        const x0 = v128.shuffle<f32>(v128.load(s), v128.load(s, 16), 0, 2, 4, 6);
        const x1 = v128.shuffle<f32>(v128.load(s + plane), v128.load(s + plane, 16), 0, 2, 4, 6);
        const x2 = v128.shuffle<f32>(v128.load(s + 2 * plane), v128.load(s + 2 * plane, 16), 0, 2, 4, 6);
        const x3 = v128.shuffle<f32>(v128.load(s + 3 * plane), v128.load(s + 3 * plane, 16), 0, 2, 4, 6);
        const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
        const t2 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
        v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
        v128.store(d + ls, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
        v128.store(d + 2 * ls, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
        v128.store(d + 3 * ls, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
        s += 32; d += 4 * ls;
      }
    }
  }
  for (; c < C; c++) {
    const r = x + <usize>c * plane;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        store<f32>(xsT + <usize>(oh * OW + ow) * ls + (<usize>c << 2), load<f32>(r + <usize>oh * rowStep + (<usize>ow << 3)));
      }
    }
  }
}
