// Depthwise convolution with four channels in the lanes (an NC4HW4 block inside the call), for
// output rows too short to fill f32x4 columns: MobileNetV2 on 32×32 images ends on 4×4, 2×2
// and 1×1 planes, where conv-depthwise.ts's column kernels use one or two lanes of four and
// pay their per-plane setup for a handful of outputs.
//
// Four channels of one image are packed pixel by pixel into a zero-padded plane of v128s
// (xq[r][c] = the four channels' padded input at row r, column c), so every tap of an output
// pixel is one v128 load and one multiply-add with the four channels' weights. Outputs and
// input gradients go back to NCHW lane by lane. One filter per channel (k = 1) only.
//
// Weight gradient: dw[t] += Σ_p dy[p] · xq[p + offs[t]] in one accumulator per tap.
// Input gradient: scattered, dxq[p + offs[t]] += w[t] · dy[p] over a zeroed padded plane, then
// unpacked; input pixels that no output reads get zero.
//
// Kernels compute one output pixel of four channels per step: dwconvLanesPlane1x1 for any tap
// list, dwconv3x3LanesPlane1x1 with the nine weight vectors in registers (and the 3×3 weight and
// input gradients likewise).
//
// On planes of one and of four pixels (MobileNetV2's 1×1 and 2×2 maps) four channels' values are
// contiguous: packed by one load or a 4×4 transpose rather than four gathered loads a pixel, and
// unpacked likewise; their bias gradient runs four channels at a time (bias.ts). The same bits.
// Depthwise 3×3 forward and backward through the layer at batch 64, the build before beside this
// one alternately in one process, median of 31: 480 channels on 1×1 ×1.26–1.33, 192 and 288 on
// 2×2 ×1.16–1.40, 288 on 4×4 at stride 2 ×1.10–1.20; 96 on 4×4 and 8×8 (not changed) ×0.99–1.01.
import { madd, transposeTo } from "./simd";
import { biasGradChannels } from "./bias";

/**
 * Whether the channel-lane kernels run: output rows of at most this many columns, k = 1. Measured
 * against the column kernels (MobileNetV2 shapes, batch 16): 2–4× faster at 1 and 2 columns,
 * level at 4, half as fast at 8.
 */
const LANES_MAX_OW: i32 = 2;
export function dwconvLanesApply(k: i32, OW: i32): bool { return k == 1 && OW <= LANES_MAX_OW; }

// @ts-ignore: decorator
@inline function paddedRows(OH: i32, KH: i32, SH: i32, DH: i32): f64 { return <f64>(OH - 1) * <f64>SH + <f64>(KH - 1) * <f64>DH + 1; }
// @ts-ignore: decorator
@inline function paddedCols(OW: i32, KW: i32, SW: i32, DW: i32): f64 { return <f64>(OW - 1) * <f64>SW + <f64>(KW - 1) * <f64>DW + 1; }

/** Floats of scratch: 4-lane weights, weight-gradient sums and tap offsets; xq, dxq and dyq. */
export function dwconvLanesScratchFloats(KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32, OH: i32, OW: i32): f64 {
  const taps = <f64>KH * <f64>KW, plane = paddedRows(OH, KH, SH, DH) * paddedCols(OW, KW, SW, DW);
  return 9 * taps + 8 * plane + 4 * <f64>OH * <f64>OW;
}

/** The scratch regions, in bytes from the start. */
// @ts-ignore: decorator
@inline function wqAt(scratch: usize): usize { return scratch; }
// @ts-ignore: decorator
@inline function sumAt(scratch: usize, taps: i32): usize { return scratch + (<usize>taps << 4); }
// @ts-ignore: decorator
@inline function offsAt(scratch: usize, taps: i32): usize { return scratch + (<usize>taps << 5); }
// @ts-ignore: decorator
@inline function xqAt(scratch: usize, taps: i32): usize { return scratch + (<usize>taps * 9 << 2); }

/** y = conv2d(x, w) + b (b = 0: no bias) for groups = C = O; arguments as conv2dForward's. */
export function dwconvLanesForward(
  x: usize, w: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, OH: i32, OW: i32, scratch: usize,
): void {
  const taps = KH * KW, Hp = <i32>paddedRows(OH, KH, SH, DH), Wp = <i32>paddedCols(OW, KW, SW, DW), P = OH * OW;
  const wq = wqAt(scratch), offs = offsAt(scratch, taps), xq = xqAt(scratch, taps);
  lanesTapOffsets(offs, KH, KW, DH, DW, Wp);
  memory.fill(xq, 0, <usize>Hp * Wp << 4);
  for (let c0 = 0; c0 < C; c0 += 4) {
    const cb = min(4, C - c0);
    transposeWeights(w + (<usize>c0 * taps << 2), taps, cb, wq);
    const bv = b != 0 ? gatherLanes(b + (<usize>c0 << 2), 4, cb) : f32x4.splat(0);
    for (let n = 0; n < N; n++) {
      packLanes(x + (<usize>(n * C + c0) * H * W << 2), H, W, cb, xq, Hp, Wp, PH, PW);
      const out = y + (<usize>(n * C + c0) * P << 2);
      if (KH == 3 && KW == 3) dwconv3x3LanesPlane1x1(xq, Wp, SH, SW, DH, DW, wq, bv, out, P, OH, OW, cb);
      else dwconvLanesPlane1x1(xq, Wp, SH, SW, wq, offs, taps, bv, out, P, OH, OW, cb);
    }
  }
}

/** dw += ∂L/∂w; db += ∂L/∂b if db ≠ 0; dx = ∂L/∂x if dx ≠ 0; for groups = C = O. */
export function dwconvLanesBackward(
  x: usize, w: usize, dy: usize, dw: usize, db: usize, dx: usize,
  N: i32, C: i32, H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, OH: i32, OW: i32, scratch: usize,
): void {
  const taps = KH * KW, Hp = <i32>paddedRows(OH, KH, SH, DH), Wp = <i32>paddedCols(OW, KW, SW, DW), P = OH * OW;
  const wq = wqAt(scratch), sums = sumAt(scratch, taps), offs = offsAt(scratch, taps), xq = xqAt(scratch, taps);
  const dxq = xq + (<usize>Hp * Wp << 4), dyq = dxq + (<usize>Hp * Wp << 4);
  if (db != 0) biasGradChannels(db, dy, N, C, P);
  lanesTapOffsets(offs, KH, KW, DH, DW, Wp);
  memory.fill(xq, 0, <usize>Hp * Wp << 4);
  for (let c0 = 0; c0 < C; c0 += 4) {
    const cb = min(4, C - c0);
    if (dx != 0) transposeWeights(w + (<usize>c0 * taps << 2), taps, cb, wq);
    memory.fill(sums, 0, <usize>taps << 4);
    for (let n = 0; n < N; n++) {
      packLanes(x + (<usize>(n * C + c0) * H * W << 2), H, W, cb, xq, Hp, Wp, PH, PW);
      packLanes(dy + (<usize>(n * C + c0) * P << 2), OH, OW, cb, dyq, OH, OW, 0, 0);
      if (KH == 3 && KW == 3) dwconv3x3LanesWeightGrad1x1(xq, Wp, SH, SW, DH, DW, dyq, OH, OW, sums);
      else dwconvLanesWeightGrad1x1(xq, Wp, SH, SW, offs, taps, dyq, OH, OW, sums);
      if (dx == 0) continue;
      zeroVectors(dxq, Hp * Wp);
      if (KH == 3 && KW == 3) dwconv3x3LanesInputGrad1x1(dxq, Wp, SH, SW, DH, DW, wq, dyq, OH, OW);
      else dwconvLanesInputGrad1x1(dxq, Wp, SH, SW, offs, taps, wq, dyq, OH, OW);
      unpackLanes(dxq, Hp, Wp, PH, PW, dx + (<usize>(n * C + c0) * H * W << 2), H, W, cb);
    }
    // dw[c0 + l, t] += lane l of sums[t].
    for (let t = 0; t < taps; t++) {
      const s = v128.load(sums + (<usize>t << 4));
      for (let l = 0; l < cb; l++) {
        const p = dw + (<usize>((c0 + l) * taps + t) << 2);
        store<f32>(p, load<f32>(p) + laneOf(s, l));
      }
    }
  }
}

// ---- packing ----

/** offs[t] = the byte offset of tap (i, j) from its output pixel's top-left input, 16 bytes a pixel. */
function lanesTapOffsets(offs: usize, KH: i32, KW: i32, DH: i32, DW: i32, Wp: i32): void {
  for (let i = 0; i < KH; i++) {
    for (let j = 0; j < KW; j++) store<i32>(offs + (<usize>(i * KW + j) << 2), (i * DH * Wp + j * DW) << 4);
  }
}

/** wq[t] = (w[0, t], w[1, t], w[2, t], w[3, t]) for cb channels of taps weights each, zeros past cb. */
function transposeWeights(w: usize, taps: i32, cb: i32, wq: usize): void {
  for (let t = 0; t < taps; t++) v128.store(wq + (<usize>t << 4), gatherLanes(w + (<usize>t << 2), taps << 2, cb));
}

/**
 * cb planes of rows×cols at src (plane after plane) → dst pixel by pixel at row r + top, column
 * c + left of a rowsD×colsD plane of v128s, clipped to it; lanes past cb are zero.
 */
function packLanes(src: usize, rows: i32, cols: i32, cb: i32, dst: usize, rowsD: i32, colsD: i32, top: i32, left: i32): void {
  const plane = rows * cols << 2;
  const r1 = min(rows, rowsD - top), c1 = min(cols, colsD - left);
  // Planes of four pixels, four channels, none clipped: the channels' 16 floats are contiguous, a
  // 4×4 transpose (the gathers below cost four loads a pixel; on planes of one pixel gatherLanes
  // makes them one load).
  if (cb == 4 && r1 == rows && c1 == cols && plane == 16) {
    const d = dst + (<usize>(top * colsD + left) << 4);
    transposeTo(v128.load(src), v128.load(src, 16), v128.load(src, 32), v128.load(src, 48),
      pixelAt(d, 0, cols, colsD), pixelAt(d, 1, cols, colsD), pixelAt(d, 2, cols, colsD), pixelAt(d, 3, cols, colsD));
    return;
  }
  for (let r = 0; r < r1; r++) {
    let s = src + (<usize>r * cols << 2), d = dst + (<usize>((r + top) * colsD + left) << 4);
    for (let c = 0; c < c1; c++) {
      v128.store(d, gatherLanes(s, plane, cb));
      s += 4; d += 16;
    }
  }
}

/** Where pixel k (row-major in a plane of `cols` columns) goes in a plane of colsD v128s from d. */
// @ts-ignore: decorator
@inline function pixelAt(d: usize, k: i32, cols: i32, colsD: i32): usize {
  return d + (<usize>((k / cols) * colsD + k % cols) << 4);
}

/** Input pixel k (row-major, W columns) of four channels from the padded plane dxq; 0 outside it. */
// @ts-ignore: decorator
@inline function paddedPixel(dxq: usize, Hp: i32, Wp: i32, PH: i32, PW: i32, k: i32, W: i32): v128 {
  const r = k / W + PH, c = k % W + PW;
  return r < Hp && c < Wp ? v128.load(dxq + (<usize>(r * Wp + c) << 4)) : f32x4.splat(0);
}

/** The padded plane dxq → cb NCHW planes of H×W; an input pixel outside the padded plane gets 0. */
function unpackLanes(dxq: usize, Hp: i32, Wp: i32, PH: i32, PW: i32, dx: usize, H: i32, W: i32, cb: i32): void {
  const plane = <usize>(H * W) << 2;
  // Planes of four pixels, four channels: a 4×4 transpose to the channels' 16 contiguous floats.
  if (cb == 4 && plane == 16) {
    transposeTo(paddedPixel(dxq, Hp, Wp, PH, PW, 0, W), paddedPixel(dxq, Hp, Wp, PH, PW, 1, W),
      paddedPixel(dxq, Hp, Wp, PH, PW, 2, W), paddedPixel(dxq, Hp, Wp, PH, PW, 3, W), dx, dx + 16, dx + 32, dx + 48);
    return;
  }
  for (let r = 0; r < H; r++) {
    const inRows = r + PH < Hp;
    for (let c = 0; c < W; c++) {
      const v = inRows && c + PW < Wp ? v128.load(dxq + (<usize>((r + PH) * Wp + c + PW) << 4)) : f32x4.splat(0);
      storeLanes(dx + (<usize>(r * W + c) << 2), plane, v, cb);
    }
  }
}

// ---- micro-kernels: one output pixel of four channels per step ----

/** out[l][oh, ow] = bias + Σ_t wq[t] · xq[(oh·SH)·Wp + ow·SW + offs[t]] for the cb lanes. */
function dwconvLanesPlane1x1(
  xq: usize, Wp: i32, SH: i32, SW: i32, wq: usize, offs: usize, taps: i32, bv: v128,
  out: usize, P: i32, OH: i32, OW: i32, cb: i32,
): void {
  const plane = <usize>P << 2, rowStep = <usize>(SH * Wp) << 4, colStep = <usize>SW << 4;
  let row = xq, o = out;
  for (let oh = 0; oh < OH; oh++) {
    let px = row;
    for (let ow = 0; ow < OW; ow++) {
      let acc = bv;
      for (let t = 0; t < taps; t++) {
        acc = madd(v128.load(wq + (<usize>t << 4)), v128.load(px + <usize>load<i32>(offs + (<usize>t << 2))), acc);
      }
      storeLanes(o, plane, acc, cb);
      px += colStep; o += 4;
    }
    row += rowStep;
  }
}

/** acc + wa·p[0] + wb·p[c] + wc·p[2c]: one kernel row of a 3×3 tap for four channels. */
// @ts-ignore: decorator
@inline function lanesRow3(p: usize, c: usize, wa: v128, wb: v128, wc: v128, acc: v128): v128 {
  return madd(wc, v128.load(p + 2 * c), madd(wb, v128.load(p + c), madd(wa, v128.load(p), acc)));
}

/** dwconvLanesPlane1x1 for a 3×3 kernel (any stride and dilation): the nine weights in registers. */
function dwconv3x3LanesPlane1x1(
  xq: usize, Wp: i32, SH: i32, SW: i32, DH: i32, DW: i32, wq: usize, bv: v128,
  out: usize, P: i32, OH: i32, OW: i32, cb: i32,
): void {
  const w0 = v128.load(wq), w1 = v128.load(wq, 16), w2 = v128.load(wq, 32), w3 = v128.load(wq, 48), w4 = v128.load(wq, 64);
  const w5 = v128.load(wq, 80), w6 = v128.load(wq, 96), w7 = v128.load(wq, 112), w8 = v128.load(wq, 128);
  const plane = <usize>P << 2, rowStep = <usize>(SH * Wp) << 4, colStep = <usize>SW << 4;
  const down = <usize>(DH * Wp) << 4, right = <usize>DW << 4;
  let row = xq, o = out;
  for (let oh = 0; oh < OH; oh++) {
    let px = row;
    for (let ow = 0; ow < OW; ow++) {
      const p1 = px + down, p2 = p1 + down;
      storeLanes(o, plane, lanesRow3(p2, right, w6, w7, w8, lanesRow3(p1, right, w3, w4, w5, lanesRow3(px, right, w0, w1, w2, bv))), cb);
      px += colStep; o += 4;
    }
    row += rowStep;
  }
}

/** dwconvLanesWeightGrad1x1 for a 3×3 kernel: nine accumulators in one pass over the pixels. */
function dwconv3x3LanesWeightGrad1x1(xq: usize, Wp: i32, SH: i32, SW: i32, DH: i32, DW: i32, dyq: usize, OH: i32, OW: i32, sums: usize): void {
  let a0 = v128.load(sums), a1 = v128.load(sums, 16), a2 = v128.load(sums, 32), a3 = v128.load(sums, 48), a4 = v128.load(sums, 64);
  let a5 = v128.load(sums, 80), a6 = v128.load(sums, 96), a7 = v128.load(sums, 112), a8 = v128.load(sums, 128);
  const rowStep = <usize>(SH * Wp) << 4, colStep = <usize>SW << 4;
  const down = <usize>(DH * Wp) << 4, right = <usize>DW << 4, right2 = right << 1;
  let row = xq, g = dyq;
  for (let oh = 0; oh < OH; oh++) {
    let px = row;
    for (let ow = 0; ow < OW; ow++) {
      const d = v128.load(g), p1 = px + down, p2 = p1 + down;
      a0 = madd(d, v128.load(px), a0); a1 = madd(d, v128.load(px + right), a1); a2 = madd(d, v128.load(px + right2), a2);
      a3 = madd(d, v128.load(p1), a3); a4 = madd(d, v128.load(p1 + right), a4); a5 = madd(d, v128.load(p1 + right2), a5);
      a6 = madd(d, v128.load(p2), a6); a7 = madd(d, v128.load(p2 + right), a7); a8 = madd(d, v128.load(p2 + right2), a8);
      px += colStep; g += 16;
    }
    row += rowStep;
  }
  v128.store(sums, a0); v128.store(sums, a1, 16); v128.store(sums, a2, 32); v128.store(sums, a3, 48); v128.store(sums, a4, 64);
  v128.store(sums, a5, 80); v128.store(sums, a6, 96); v128.store(sums, a7, 112); v128.store(sums, a8, 128);
}

/** sums[t] += Σ_p dyq[p] · xq[pixel p's input + offs[t]]. */
function dwconvLanesWeightGrad1x1(xq: usize, Wp: i32, SH: i32, SW: i32, offs: usize, taps: i32, dyq: usize, OH: i32, OW: i32, sums: usize): void {
  const rowStep = <usize>(SH * Wp) << 4, colStep = <usize>SW << 4;
  for (let t = 0; t < taps; t++) {
    let acc = v128.load(sums + (<usize>t << 4));
    let row = xq + <usize>load<i32>(offs + (<usize>t << 2)), g = dyq;
    for (let oh = 0; oh < OH; oh++) {
      let px = row;
      for (let ow = 0; ow < OW; ow++) {
        acc = madd(v128.load(g), v128.load(px), acc);
        px += colStep; g += 16;
      }
      row += rowStep;
    }
    v128.store(sums + (<usize>t << 4), acc);
  }
}

/**
 * dwconvLanesInputGrad1x1 for a 3×3 kernel: the nine weights in registers, each pixel's taps
 * added in the same order (the same bits).
 */
function dwconv3x3LanesInputGrad1x1(dxq: usize, Wp: i32, SH: i32, SW: i32, DH: i32, DW: i32, wq: usize, dyq: usize, OH: i32, OW: i32): void {
  const w0 = v128.load(wq), w1 = v128.load(wq, 16), w2 = v128.load(wq, 32), w3 = v128.load(wq, 48), w4 = v128.load(wq, 64);
  const w5 = v128.load(wq, 80), w6 = v128.load(wq, 96), w7 = v128.load(wq, 112), w8 = v128.load(wq, 128);
  const rowStep = <usize>(SH * Wp) << 4, colStep = <usize>SW << 4;
  const down = <usize>(DH * Wp) << 4, right = <usize>DW << 4;
  let row = dxq, g = dyq;
  for (let oh = 0; oh < OH; oh++) {
    let px = row;
    for (let ow = 0; ow < OW; ow++) {
      const d = v128.load(g), p1 = px + down, p2 = p1 + down;
      scatterRow3(px, right, w0, w1, w2, d);
      scatterRow3(p1, right, w3, w4, w5, d);
      scatterRow3(p2, right, w6, w7, w8, d);
      px += colStep; g += 16;
    }
    row += rowStep;
  }
}

/** p[0] += wa·d, p[c] += wb·d, p[2c] += wc·d: one kernel row of a 3×3 tap's input gradient. */
// @ts-ignore: decorator
@inline function scatterRow3(p: usize, c: usize, wa: v128, wb: v128, wc: v128, d: v128): void {
  v128.store(p, madd(wa, d, v128.load(p)));
  v128.store(p + c, madd(wb, d, v128.load(p + c)));
  v128.store(p + 2 * c, madd(wc, d, v128.load(p + 2 * c)));
}

/** dxq[pixel p's input + offs[t]] += wq[t] · dyq[p] for every output pixel p and tap t. */
function dwconvLanesInputGrad1x1(dxq: usize, Wp: i32, SH: i32, SW: i32, offs: usize, taps: i32, wq: usize, dyq: usize, OH: i32, OW: i32): void {
  const rowStep = <usize>(SH * Wp) << 4, colStep = <usize>SW << 4;
  let row = dxq, g = dyq;
  for (let oh = 0; oh < OH; oh++) {
    let px = row;
    for (let ow = 0; ow < OW; ow++) {
      const d = v128.load(g);
      for (let t = 0; t < taps; t++) {
        const p = px + <usize>load<i32>(offs + (<usize>t << 2));
        v128.store(p, madd(v128.load(wq + (<usize>t << 4)), d, v128.load(p)));
      }
      px += colStep; g += 16;
    }
    row += rowStep;
  }
}

// ---- lanes ----

/**
 * Zeroes count v128s at p: the padded planes here hold 9–36, where memory.fill's call cost more
 * than the stores.
 */
// @ts-ignore: decorator
@inline function zeroVectors(p: usize, count: i32): void {
  const z = f32x4.splat(0);
  for (let i = 0; i < count; i++) v128.store(p + (<usize>i << 4), z);
}

/** (p[0], p[stride], p[2·stride], p[3·stride]) as f32 lanes (byte stride), zeros past cb. */
// @ts-ignore: decorator
@inline function gatherLanes(p: usize, stride: i32, cb: i32): v128 {
  if (cb == 4 && stride == 4) return v128.load(p);
  const s = <usize>stride;
  let v = v128.load32_zero(p);
  if (cb == 4) {
    v = v128.load32_lane(p + s, v, 1);
    v = v128.load32_lane(p + 2 * s, v, 2);
    return v128.load32_lane(p + 3 * s, v, 3);
  }
  if (cb > 1) v = v128.load32_lane(p + s, v, 1);
  if (cb > 2) v = v128.load32_lane(p + 2 * s, v, 2);
  return v;
}

/** Lane l of v at p + l·stride (byte stride) for the first cb lanes. */
// @ts-ignore: decorator
@inline function storeLanes(p: usize, stride: usize, v: v128, cb: i32): void {
  // Planes of one value: the four lanes are contiguous.
  if (cb == 4 && stride == 4) { v128.store(p, v); return; }
  v128.store32_lane(p, v, 0);
  if (cb > 1) v128.store32_lane(p + stride, v, 1);
  if (cb > 2) v128.store32_lane(p + 2 * stride, v, 2);
  if (cb > 3) v128.store32_lane(p + 3 * stride, v, 3);
}

/** Lane l (0–3) of v. */
// @ts-ignore: decorator
@inline function laneOf(v: v128, l: i32): f32 {
  if (l == 0) return f32x4.extract_lane(v, 0);
  if (l == 1) return f32x4.extract_lane(v, 1);
  if (l == 2) return f32x4.extract_lane(v, 2);
  return f32x4.extract_lane(v, 3);
}
