// Forward and backward passes of a stride-1 convolution over padded, flattened planes (see
// conv-flat.ts for the layout). Per image: pad the input (and dy), run the flat kernels per
// group, copy the valid columns out. Borders and discarded columns of the padded buffers are
// zeroed once per call and never written afterwards.
import { flatConvRows, flatConvDot, flatConvDotFinish } from "./conv-flat";
import { biasGradChannels } from "./bias";


// @ts-ignore: decorator
@inline function roundUp(v: i32, m: i32): i32 { return (v + m - 1) / m * m; }

// The layout of one call, in floats, set by layout(): plain globals, since kernels allocate
// nothing (not even a record).
let Wp = 0, planeX = 0, Q = 0, pre = 0, planeY = 0, Q4 = 0, Qdx = 0;
let xpadFloats = 0, dypadFloats = 0, accFloats = 0, wtFloats = 0, fwdFloats = 0, bwdFloats = 0;

function layout(C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32): void {
  const Hp = OH + (KH - 1) * DH;
  Wp = OW + (KW - 1) * DW;
  planeX = Hp * Wp;
  Q = roundUp(OH * Wp, 16);
  pre = (KH - 1) * DH * Wp + (KW - 1) * DW;
  planeY = 2 * pre + OH * Wp + 16;
  Q4 = roundUp(OH * Wp, 4);
  Qdx = roundUp(H * Wp, 16);
  xpadFloats = C * planeX + 16; // 16: the last plane's over-read
  fwdFloats = xpadFloats + O * Q;
  dypadFloats = O * planeY;
  accFloats = O * (C / G) * KH * KW * 4;
  wtFloats = C * (O / G) * KH * KW;
  bwdFloats = xpadFloats + dypadFloats + accFloats + wtFloats + C * Qdx;
}


/** Whether the flat passes apply: stride 1 and an input that fits inside the padded plane. */
export function flatApplies(H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32, DH: i32, DW: i32, OH: i32, OW: i32): bool {
  return SH == 1 && SW == 1 && PH + H <= OH + (KH - 1) * DH && PW + W <= OW + (KW - 1) * DW;
}

/** Floats of scratch the flat passes need (the larger of forward and backward). */
export function flatScratchFloats(C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32): i32 {
  layout(C, H, W, O, KH, KW, DH, DW, G, OH, OW);
  return max(fwdFloats, bwdFloats);
}

export function flatForward(
  x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, scratch: usize,
): void {
  layout(C, H, W, O, KH, KW, DH, DW, G, OH, OW);
  const Cg = C / G, Og = O / G, Kg = Cg * KH * KW;
  const xpad = scratch, out = scratch + (<usize>xpadFloats << 2);
  memory.fill(xpad, 0, <usize>xpadFloats << 2);
  for (let n = 0; n < N; n++) {
    padPlanes(x + (<usize>n * C * H * W << 2), C, H, W, xpad + (<usize>(PH * Wp + PW) << 2), planeX, Wp);
    for (let g = 0; g < G; g++) {
      flatConvRows(Og, Q, w + (<usize>g * Og * Kg << 2), Kg, xpad + (<usize>g * Cg * planeX << 2), Cg, planeX,
        KH, KW, DH * Wp, DW, out + (<usize>g * Og * Q << 2), Q);
    }
    unpadPlanes(out, O, Q, Wp, y + (<usize>n * O * OH * OW << 2), OH, OW, b);
  }
}

export function flatBackward(
  x: usize, w: usize, dy: usize, dw: usize, db: usize, dx: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, scratch: usize,
): void {
  layout(C, H, W, O, KH, KW, DH, DW, G, OH, OW);
  const Cg = C / G, Og = O / G, taps = KH * KW, Kg = Cg * taps, Kt = Og * taps;
  const xpad = scratch;
  const dypad = xpad + (<usize>xpadFloats << 2);
  const acc = dypad + (<usize>dypadFloats << 2);
  const wt = acc + (<usize>accFloats << 2);
  const dxout = wt + (<usize>wtFloats << 2);
  if (db != 0) biasGradChannels(db, dy, N, O, OH * OW);
  memory.fill(xpad, 0, <usize>(xpadFloats + dypadFloats + accFloats) << 2);
  if (dx != 0) flipWeights(w, wt, C, O, G, KH, KW);
  for (let n = 0; n < N; n++) {
    padPlanes(x + (<usize>n * C * H * W << 2), C, H, W, xpad + (<usize>(PH * Wp + PW) << 2), planeX, Wp);
    padPlanes(dy + (<usize>n * O * OH * OW << 2), O, OH, OW, dypad + (<usize>pre << 2), planeY, Wp);
    for (let g = 0; g < G; g++) {
      flatConvDot(Og, Kg, Q4, dypad + (<usize>(g * Og * planeY + pre) << 2), planeY,
        xpad + (<usize>g * Cg * planeX << 2), planeX, KH, KW, DH * Wp, DW, acc + (<usize>g * Og * Kg << 4));
    }
    if (dx == 0) continue;
    for (let g = 0; g < G; g++) {
      flatConvRows(Cg, Qdx, wt + (<usize>g * Cg * Kt << 2), Kt, dypad + (<usize>(g * Og * planeY + PH * Wp) << 2), Og, planeY,
        KH, KW, DH * Wp, DW, dxout + (<usize>g * Cg * Qdx << 2), Qdx);
    }
    unpadPlanes(dxout + (<usize>PW << 2), C, Qdx, Wp, dx + (<usize>n * C * H * W << 2), H, W, 0);
  }
  flatConvDotFinish(acc, dw, O * Kg);
}

/** wt[c, (o, KH−1−i, KW−1−j)] = w[o, c, i, j] within each group: dx is a convolution of dy with it. */
function flipWeights(w: usize, wt: usize, C: i32, O: i32, G: i32, KH: i32, KW: i32): void {
  const Cg = C / G, Og = O / G, taps = KH * KW;
  for (let o = 0; o < O; o++) {
    const g = o / Og, ol = o - g * Og;
    for (let cl = 0; cl < Cg; cl++) {
      const src = w + (<usize>(o * Cg + cl) * taps << 2);
      const dst = wt + (<usize>((g * Cg + cl) * Og + ol) * taps << 2);
      for (let t = 0; t < taps; t++) store<f32>(dst + (<usize>(taps - 1 - t) << 2), load<f32>(src + (<usize>t << 2)));
    }
  }
}

/** planes of rows×cols at src → the same rows at dst with row stride `stride`, plane stride `plane`. */
function padPlanes(src: usize, planes: i32, rows: i32, cols: i32, dst: usize, plane: i32, stride: i32): void {
  for (let c = 0; c < planes; c++) {
    let d = dst + (<usize>c * plane << 2);
    for (let r = 0; r < rows; r++) {
      copyRow(d, src, cols, 0);
      src += <usize>cols << 2; d += <usize>stride << 2;
    }
  }
}

/** The first cols of each row (stride `stride`, plane stride `plane`) → dense planes, + bias[c] if b ≠ 0. */
function unpadPlanes(src: usize, planes: i32, plane: i32, stride: i32, dst: usize, rows: i32, cols: i32, b: usize): void {
  for (let c = 0; c < planes; c++) {
    let s = src + (<usize>c * plane << 2);
    const bias: f32 = b != 0 ? load<f32>(b + (<usize>c << 2)) : 0;
    for (let r = 0; r < rows; r++) {
      copyRow(dst, s, cols, bias);
      dst += <usize>cols << 2; s += <usize>stride << 2;
    }
  }
}

/** dst[i] = src[i] + add for n floats. */
// @ts-ignore: decorator
@inline function copyRow(dst: usize, src: usize, n: i32, add: f32): void {
  const a = f32x4.splat(add);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), f32x4.add(v128.load(src + (<usize>i << 2)), a));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)) + add);
}
