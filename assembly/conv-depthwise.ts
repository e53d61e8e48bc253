// Depthwise convolution: groups = C_in > 1, each input channel convolved with its own k filters
// (C_out = k·C_in; k = 1 is MobileNet's depthwise layer). Forward, input gradient and weight
// gradient, for any kernel size, stride, padding and dilation.
//
// The GEMM lowering (conv.ts) runs N·C_in products of [k, KH·KW]·[KH·KW, OH·OW] for it, each far
// below a GEMM tile; here each output plane is one pass of f32x4 across output columns, with
// the plane's KH·KW weights splatted once.
//
// Input planes are first copied into a zero-padded scratch plane split by column phase: padded
// column c goes to phase c mod SW at position ⌊c / SW⌋. Then for any stride and dilation, tap
// (i, j) of four consecutive output columns is one contiguous v128 load:
//   y[oh, ow..ow+3] = b + Σ_{i,j} w[i, j] · xph[(j·DW) mod SW][oh·SH + i·DH][ow + ⌊j·DW / SW⌋ ..]
// so the padding is zeros that the kernels never test for, and every output column is SIMD (a
// row's last partial vector is stored lane by lane). The copy costs one load and store per input
// float against KH·KW multiply-adds per output; a stride-2 copy deinterleaves with shuffles.
//
// Input gradient: dx[ih, iw] = Σ w[i, j] · dy[(ih + PH − i·DH) / SH, (iw + PW − j·DW) / SW] over
// the taps where both divide exactly. Split into SH·SW phases (ih mod SH, iw mod SW), each phase is
// a stride-1 correlation of the zero-padded dy plane with the taps that divide — no multiply by
// an inserted zero. For stride 1 it is the forward 3×3 kernel with the taps reversed; a 3×3
// stride 2 has its own kernel, which interleaves a dx row's two column phases in registers; other
// strides compute each row's column phases into a row buffer and interleave them into dx.
//
// Weight gradient: dw[o, i, j] += Σ_{oh, ow} dy[oh, ow] · xph[...] as in the forward, with one
// accumulator per tap (the 3×3 kernels hold all nine) and lanes summed once per plane.
//
// Stride 1 without dilation, the commonest case, takes two output (or dy) rows per step: they
// share two of their three input rows (measured ~1.5× the one-row kernel). Output rows of at
// most two columns take conv-depthwise-c4.ts instead (channels in the lanes).
//
// Kernel names carry the op, the taps they are specialised for and the tile (output rows ×
// columns): dwconv3x3s1Plane2x4 computes a plane of a stride-1 3×3 kernel, two rows and four
// columns at a time; dwconvTapsRow1x16 one row of any tap list, sixteen columns at a time.
import { madd, hsum } from "./simd";
import { biasGradChannelRange } from "./bias";
import { dwconvLanesApply, dwconvLanesScratchFloats, dwconvLanesForward, dwconvLanesBackward } from "./conv-depthwise-c4";

/** Whether conv2dForward/conv2dBackward take the depthwise kernels: one input channel per group. */
export function dwconvApplies(C: i32, G: i32): bool { return G == C && C > 1; }

/** Whether the 3×3 kernels (any stride and dilation) run, rather than the tap-list ones. */
export function dwconvIs3x3(KH: i32, KW: i32): bool { return KH == 3 && KW == 3; }

/** Whether the channel-lane kernels (conv-depthwise-c4.ts) run instead of these. */
export function dwconvLanes(C: i32, O: i32, OW: i32): bool { return dwconvLanesApply(O / C, OW); }

// ---- geometry (f64, so that a size past i32 is reported rather than wrapped) ----

// @ts-ignore: decorator
@inline function floorDiv(a: f64, b: f64): f64 { return Math.floor(a / b); }
// @ts-ignore: decorator
@inline function ceilDiv(a: f64, b: f64): f64 { return Math.ceil(a / b); }
// @ts-ignore: decorator
@inline function roundUp4(a: f64): f64 { return Math.ceil(a / 4) * 4; }

/** Rows of the padded input plane that some output reads. */
// @ts-ignore: decorator
@inline function phaseRows(OH: i32, KH: i32, SH: i32, DH: i32): f64 {
  return <f64>(OH - 1) * <f64>SH + <f64>(KH - 1) * <f64>DH + 1;
}

/** Columns of each column phase: whole vectors of outputs, plus the widest tap offset, plus one. */
// @ts-ignore: decorator
@inline function phaseCols(OW: i32, KW: i32, SW: i32, DW: i32): f64 {
  return roundUp4(<f64>OW) + floorDiv(<f64>(KW - 1) * <f64>DW, <f64>SW) + 1;
}

/** Floats of the tap tables: forward offsets, then dx weights, offsets, tap indices and phase starts. */
// @ts-ignore: decorator
@inline function tableFloats(k: f64, KH: i32, KW: i32, SH: i32, SW: i32): f64 {
  const taps = <f64>KH * <f64>KW;
  return taps + 3 * taps * k + <f64>SH * <f64>SW + 1;
}

// dx: dy row oh sits at row oh + T of the padded dy plane, column ow at ow + L; T and L are minus
// the lowest phase offsets, so every tap of every phase reads inside the plane.
// @ts-ignore: decorator
@inline function dyTop(KH: i32, SH: i32, PH: i32, DH: i32): f64 { return -floorDiv(<f64>PH - <f64>(KH - 1) * <f64>DH, <f64>SH); }
// @ts-ignore: decorator
@inline function dyRows(H: i32, KH: i32, SH: i32, PH: i32, DH: i32): f64 {
  return ceilDiv(<f64>H, <f64>SH) + floorDiv(<f64>(SH - 1 + PH), <f64>SH) + dyTop(KH, SH, PH, DH);
}
/** Columns of every dx phase row, in whole vectors. */
// @ts-ignore: decorator
@inline function dxPhaseCols(W: i32, SW: i32): f64 { return roundUp4(ceilDiv(<f64>W, <f64>SW)); }
// @ts-ignore: decorator
@inline function dyCols(W: i32, KW: i32, SW: i32, PW: i32, DW: i32): f64 {
  return dxPhaseCols(W, SW) + floorDiv(<f64>(SW - 1 + PW), <f64>SW) + dyTop(KW, SW, PW, DW);
}

/**
 * Floats of scratch: the tap tables, a dx row buffer of SW phases, the column-phase input plane
 * and k padded dy planes (one image, one input channel at a time).
 */
export function dwconvScratchFloats(
  C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, OH: i32, OW: i32,
): f64 {
  if (dwconvLanes(C, O, OW)) return dwconvLanesScratchFloats(KH, KW, SH, SW, DH, DW, OH, OW);
  const k = <f64>(O / C);
  return tableFloats(k, KH, KW, SH, SW) + <f64>SW * dxPhaseCols(W, SW) +
    <f64>SW * phaseRows(OH, KH, SH, DH) * phaseCols(OW, KW, SW, DW) +
    k * dyRows(H, KH, SH, PH, DH) * dyCols(W, KW, SW, PW, DW);
}

// ---- operator ----

/** y = conv2d(x, w) + b (b = 0: no bias) for groups = C. */
export function dwconvForward(
  x: usize, w: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, OH: i32, OW: i32, scratch: usize,
): void {
  if (dwconvLanes(C, O, OW)) {
    dwconvLanesForward(x, w, b, y, N, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, scratch);
    return;
  }
  const k = O / C, taps = KH * KW, P = OH * OW;
  const Hx = <i32>phaseRows(OH, KH, SH, DH), Wx = <i32>phaseCols(OW, KW, SW, DW), planeX = Hx * Wx;
  const offs = scratch;
  const xph = scratch + (<usize>(<i32>tableFloats(k, KH, KW, SH, SW) + SW * <i32>dxPhaseCols(W, SW)) << 2);
  tapOffsets(offs, KH, KW, SW, DH, DW, Wx, planeX);
  memory.fill(xph, 0, <usize>SW * planeX << 2);
  const fast = dwconvIs3x3(KH, KW), unit = SH == 1 && SW == 1 && DH == 1 && DW == 1;
  const rowStep = <usize>SH * Wx << 2;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      packColumnPhases(x + (<usize>(n * C + c) * H * W << 2), H, W, PH, PW, SW, xph, Hx, Wx, planeX);
      for (let m = 0; m < k; m++) {
        const o = c * k + m;
        const wo = w + (<usize>o * taps << 2);
        const bias: f32 = b != 0 ? load<f32>(b + (<usize>o << 2)) : 0;
        const out = y + (<usize>(n * O + o) * P << 2);
        if (fast && unit) {
          dwconv3x3s1Plane2x4(xph, Wx, wo, out, OH, OW, bias);
        } else if (fast) {
          dwconv3x3Plane1x4(xph, SH * Wx, offs, wo, out, OH, OW, bias);
        } else {
          let src = xph, row = out;
          for (let oh = 0; oh < OH; oh++) {
            dwconvTapsRow1x16(src, wo, offs, taps, row, OW, bias);
            src += rowStep; row += <usize>OW << 2;
          }
        }
      }
    }
  }
}

/**
 * dw += ∂L/∂w; db += ∂L/∂b if db ≠ 0; dx = ∂L/∂x if dx ≠ 0. On planes (not channel lanes), input
 * channels [c0, c1) alone (all by default) and their outputs: each channel's passes run as in the
 * whole, so threads taking disjoint ranges get the whole's bits.
 */
export function dwconvBackward(
  x: usize, w: usize, dy: usize, dw: usize, db: usize, dx: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, SH: i32, SW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, OH: i32, OW: i32, scratch: usize, c0: i32 = 0, c1: i32 = -1,
): void {
  if (c1 < 0) c1 = C;
  if (dwconvLanes(C, O, OW)) {
    dwconvLanesBackward(x, w, dy, dw, db, dx, N, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, scratch);
    return;
  }
  const k = O / C, taps = KH * KW, P = OH * OW;
  const Hx = <i32>phaseRows(OH, KH, SH, DH), Wx = <i32>phaseCols(OW, KW, SW, DW), planeX = Hx * Wx;
  const T = <i32>dyTop(KH, SH, PH, DH), L = <i32>dyTop(KW, SW, PW, DW);
  const Hq = <i32>dyRows(H, KH, SH, PH, DH), Wq = <i32>dyCols(W, KW, SW, PW, DW), planeQ = Hq * Wq;
  const Qv = <i32>dxPhaseCols(W, SW);
  // Scratch: forward offsets | dx weights, offsets, tap indices, phase starts | row buffer | xph | dypad.
  const offs = scratch;
  const dxW = offs + (<usize>taps << 2);
  const dxOffs = dxW + (<usize>taps * k << 2);
  const dxIdx = dxOffs + (<usize>taps * k << 2);
  const starts = dxIdx + (<usize>taps * k << 2);
  const rowbuf = scratch + (<usize><i32>tableFloats(k, KH, KW, SH, SW) << 2);
  const xph = rowbuf + (<usize>SW * Qv << 2);
  const dypad = xph + (<usize>SW * planeX << 2);
  if (db != 0) biasGradChannelRange(db, dy, N, O, c0 * k, c1 * k, P);
  tapOffsets(offs, KH, KW, SW, DH, DW, Wx, planeX);
  memory.fill(xph, 0, <usize>SW * planeX << 2);
  if (dx != 0) memory.fill(dypad, 0, <usize>k * planeQ << 2);
  const fast = dwconvIs3x3(KH, KW), unit = SH == 1 && SW == 1 && DH == 1 && DW == 1;
  // dx of a stride-1 3×3 with k = 1 is the forward 3×3 row kernel over dy with the taps reversed.
  const fastDx = fast && SH == 1 && SW == 1 && k == 1;
  // Stride 2 without dilation has its own 3×3 kernel: the phases interleaved in registers.
  const fastDx2 = fast && SH == 2 && SW == 2 && DH == 1 && DW == 1 && k == 1;
  if (fastDx) {
    for (let t = 0; t < 9; t++) store<i32>(dxOffs + (<usize>t << 2), (t / 3) * DH * Wq + (t % 3) * DW);
  } else if (dx != 0 && !fastDx2) {
    dxPhaseTaps(k, KH, KW, SH, SW, PH, PW, DH, DW, T, L, Wq, planeQ, dxOffs, dxIdx, starts);
  }
  for (let n = 0; n < N; n++) {
    for (let c = c0; c < c1; c++) {
      packColumnPhases(x + (<usize>(n * C + c) * H * W << 2), H, W, PH, PW, SW, xph, Hx, Wx, planeX);
      for (let m = 0; m < k; m++) {
        const o = c * k + m;
        const dyo = dy + (<usize>(n * O + o) * P << 2), dwo = dw + (<usize>o * taps << 2);
        if (fast && unit) dwconv3x3s1WeightGrad2x4(xph, Wx, dyo, OH, OW, dwo);
        else if (fast) dwconv3x3WeightGrad1x4(xph, SH * Wx, offs, dyo, OH, OW, dwo);
        else dwconvTapsWeightGrad1x8(xph, SH * Wx, offs, taps, dyo, OH, OW, dwo);
      }
      if (dx == 0) continue;
      for (let m = 0; m < k; m++) {
        padPlane(dy + (<usize>(n * O + c * k + m) * P << 2), OH, OW, dypad + (<usize>m * planeQ << 2), Hq, Wq, T, L);
      }
      const dxc = dx + (<usize>(n * C + c) * H * W << 2);
      if (fastDx) {
        reverseTaps(w + (<usize>c * 9 << 2), dxW, 9);
        if (unit) dwconv3x3s1Plane2x4(dypad, Wq, dxW, dxc, H, W, 0);
        else dwconv3x3Plane1x4(dypad, Wq, dxOffs, dxW, dxc, H, W, 0);
      } else if (fastDx2) {
        dwconv3x3s2InputGrad2x4(dypad, Wq, T, L, w + (<usize>c * 9 << 2), PH, PW, dxc, H, W, rowbuf);
      } else {
        const wc = w + (<usize>c * k * taps << 2), nt = taps * k;
        for (let t = 0; t < nt; t++) {
          store<f32>(dxW + (<usize>t << 2), load<f32>(wc + (<usize>load<i32>(dxIdx + (<usize>t << 2)) << 2)));
        }
        dxPlane(dypad, Wq, dxW, dxOffs, starts, SH, SW, H, W, Qv, rowbuf, dxc);
      }
    }
  }
}

// ---- packing ----

/** offs[i·KW + j] = the float offset of tap (i, j) in the column-phase plane, from its output. */
function tapOffsets(offs: usize, KH: i32, KW: i32, SW: i32, DH: i32, DW: i32, Wx: i32, planeX: i32): void {
  for (let i = 0; i < KH; i++) {
    for (let j = 0; j < KW; j++) {
      const col = j * DW;
      store<i32>(offs + (<usize>(i * KW + j) << 2), (col % SW) * planeX + i * DH * Wx + col / SW);
    }
  }
}

/**
 * The H×W plane src → padded rows at PH + r, columns at PW + c, split into SW column phases of
 * Hx rows × Wx (plane stride planeX). Rows and columns past the phase planes are read by no output
 * and skipped; the rest of dst is zero from the caller and never written.
 */
function packColumnPhases(src: usize, H: i32, W: i32, PH: i32, PW: i32, SW: i32, dst: usize, Hx: i32, Wx: i32, planeX: i32): void {
  // The input columns that land inside: padded column iw + PW < SW·Wx.
  const rows = min(H, Hx - PH), cols = min(W, SW * Wx - PW);
  for (let r = 0; r < rows; r++) {
    const s = src + (<usize>r * W << 2), d = dst + (<usize>(r + PH) * Wx << 2);
    if (SW == 1) {
      copyFloats(d + (<usize>PW << 2), s, cols);
    } else if (SW == 2) {
      // Even input columns go to phase PW mod 2 from ⌊PW / 2⌋, odd ones to the other from ⌈PW / 2⌉.
      const de = d + (<usize>((PW & 1) * planeX + (PW >> 1)) << 2), dO = d + (<usize>(((PW + 1) & 1) * planeX + ((PW + 1) >> 1)) << 2);
      let t = 0;
      for (; 2 * t + 8 <= cols; t += 4) {
        const v0 = v128.load(s + (<usize>(2 * t) << 2)), v1 = v128.load(s + (<usize>(2 * t) << 2), 16);
        v128.store(de + (<usize>t << 2), v128.shuffle<f32>(v0, v1, 0, 2, 4, 6));
        v128.store(dO + (<usize>t << 2), v128.shuffle<f32>(v0, v1, 1, 3, 5, 7));
      }
      if (2 * t + 4 <= cols) {
        const v = v128.load(s + (<usize>(2 * t) << 2));
        v128.store64_lane(de + (<usize>t << 2), v128.shuffle<f32>(v, v, 0, 2, 0, 2), 0);
        v128.store64_lane(dO + (<usize>t << 2), v128.shuffle<f32>(v, v, 1, 3, 1, 3), 0);
        t += 2;
      }
      for (let iw = 2 * t; iw < cols; iw++) {
        const pc = iw + PW;
        store<f32>(d + (<usize>((pc & 1) * planeX + (pc >> 1)) << 2), load<f32>(s + (<usize>iw << 2)));
      }
    } else {
      for (let iw = 0; iw < cols; iw++) {
        const pc = iw + PW;
        store<f32>(d + (<usize>((pc % SW) * planeX + pc / SW) << 2), load<f32>(s + (<usize>iw << 2)));
      }
    }
  }
}

/** The rows×cols plane src → dst (Hq × Wq) at row r + T, column c + L, clipped to dst. */
function padPlane(src: usize, rows: i32, cols: i32, dst: usize, Hq: i32, Wq: i32, T: i32, L: i32): void {
  const r0 = max(0, -T), r1 = min(rows, Hq - T), c0 = max(0, -L), c1 = min(cols, Wq - L);
  if (c1 <= c0) return;
  for (let r = r0; r < r1; r++) {
    copyFloats(dst + (<usize>((r + T) * Wq + c0 + L) << 2), src + (<usize>(r * cols + c0) << 2), c1 - c0);
  }
}

/** dst[t] = src[n − 1 − t]: a 3×3 kernel rotated by 180°. */
function reverseTaps(src: usize, dst: usize, n: i32): void {
  for (let t = 0; t < n; t++) store<f32>(dst + (<usize>t << 2), load<f32>(src + (<usize>(n - 1 - t) << 2)));
}

/**
 * The taps of each dx phase (py, px): their offsets in the padded dy planes (m·planeQ for an
 * input channel's m-th filter) and their index m·KH·KW + i·KW + j among the channel's weights;
 * phase p's taps at [starts[p], starts[p + 1]). Tap (i, j) belongs to the phase where
 * py + PH − i·DH and px + PW − j·DW divide by the stride.
 */
function dxPhaseTaps(
  k: i32, KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32, DH: i32, DW: i32,
  T: i32, L: i32, Wq: i32, planeQ: i32, dxOffs: usize, dxIdx: usize, starts: usize,
): void {
  let n = 0;
  for (let py = 0; py < SH; py++) {
    for (let px = 0; px < SW; px++) {
      store<i32>(starts + (<usize>(py * SW + px) << 2), n);
      for (let m = 0; m < k; m++) {
        for (let i = 0; i < KH; i++) {
          const ri = py + PH - i * DH, ei = <i32>floorDiv(<f64>ri, <f64>SH);
          if (ei * SH != ri) continue;
          for (let j = 0; j < KW; j++) {
            const rj = px + PW - j * DW, ej = <i32>floorDiv(<f64>rj, <f64>SW);
            if (ej * SW != rj) continue;
            store<i32>(dxIdx + (<usize>n << 2), (m * KH + i) * KW + j);
            store<i32>(dxOffs + (<usize>n << 2), m * planeQ + (ei + T) * Wq + ej + L);
            n++;
          }
        }
      }
    }
  }
  store<i32>(starts + (<usize>(SH * SW) << 2), n);
}

/**
 * One input channel's dx (H×W) from its padded dy planes: phase (py, px) row a is dx row
 * py + a·SH, columns px + q·SW, and reads dypad from row a. Stride 1 across columns writes dx rows
 * directly; otherwise the SW phases of a row are computed into rowbuf and interleaved.
 */
function dxPlane(
  dypad: usize, Wq: i32, dxW: usize, dxOffs: usize, starts: usize,
  SH: i32, SW: i32, H: i32, W: i32, Qv: i32, rowbuf: usize, dxc: usize,
): void {
  for (let py = 0; py < SH; py++) {
    for (let a = 0; py + a * SH < H; a++) {
      const ih = py + a * SH;
      const src = dypad + (<usize>a * Wq << 2), out = dxc + (<usize>ih * W << 2);
      for (let px = 0; px < SW; px++) {
        const p = py * SW + px;
        const t0 = load<i32>(starts + (<usize>p << 2)), nt = load<i32>(starts + (<usize>(p + 1) << 2)) - t0;
        const wt = dxW + (<usize>t0 << 2), ot = dxOffs + (<usize>t0 << 2);
        if (SW == 1) dwconvTapsRow1x16(src, wt, ot, nt, out, W, 0);
        else dwconvTapsRow1x16(src, wt, ot, nt, rowbuf + (<usize>px * Qv << 2), Qv, 0);
      }
      if (SW > 1) interleaveColumns(rowbuf, Qv, SW, out, W);
    }
  }
}

/** dst[iw] = rowbuf[iw mod SW][⌊iw / SW⌋] for iw < W (phase rows Qv apart). */
function interleaveColumns(rowbuf: usize, Qv: i32, SW: i32, dst: usize, W: i32): void {
  let iw = 0;
  if (SW == 2) {
    const p1 = rowbuf + (<usize>Qv << 2);
    for (; iw + 8 <= W; iw += 8) {
      const q = <usize>(iw >> 1) << 2;
      const a = v128.load(rowbuf + q), b = v128.load(p1 + q);
      v128.store(dst + (<usize>iw << 2), v128.shuffle<f32>(a, b, 0, 4, 1, 5));
      v128.store(dst + (<usize>iw << 2), v128.shuffle<f32>(a, b, 2, 6, 3, 7), 16);
    }
  }
  for (; iw < W; iw++) {
    store<f32>(dst + (<usize>iw << 2), load<f32>(rowbuf + (<usize>((iw % SW) * Qv + iw / SW) << 2)));
  }
}

// ---- micro-kernels ----

/** acc + wa·r[0] + wb·r[c1] + wc·r[c2]: one kernel row of a 3×3 tap for four columns. */
// @ts-ignore: decorator
@inline function row3(r: usize, c1: usize, c2: usize, wa: v128, wb: v128, wc: v128, acc: v128): v128 {
  return madd(wc, v128.load(r + c2), madd(wb, v128.load(r + c1), madd(wa, v128.load(r), acc)));
}

/**
 * A plane of a 3×3 kernel, one output row and four columns at a time, for any stride and
 * dilation: out[r, q] = bias + Σ_t w[t] · src[r·rowStep + q + offs[t]] (out rows OW apart), where
 * tap (i, j) sits at i·offs[3] + offs[j] (offs[0] = 0). The nine weights stay in registers for
 * the whole plane; src must be readable to the vector past OW.
 */
function dwconv3x3Plane1x4(src: usize, rowStep: i32, offs: usize, w: usize, out: usize, OH: i32, OW: i32, bias: f32): void {
  const w0 = v128.load32_splat(w), w1 = v128.load32_splat(w, 4), w2 = v128.load32_splat(w, 8);
  const w3 = v128.load32_splat(w, 12), w4 = v128.load32_splat(w, 16), w5 = v128.load32_splat(w, 20);
  const w6 = v128.load32_splat(w, 24), w7 = v128.load32_splat(w, 28), w8 = v128.load32_splat(w, 32);
  const c1 = <usize>load<i32>(offs, 4) << 2, c2 = <usize>load<i32>(offs, 8) << 2, down = <usize>load<i32>(offs, 12) << 2;
  const bv = f32x4.splat(bias), full = OW & ~3;
  const step = <usize>rowStep << 2, outStep = <usize>OW << 2;
  let r0 = src, orow = out;
  for (let r = 0; r < OH; r++) {
    const r1 = r0 + down, r2 = r1 + down;
    let q = 0;
    for (; q < full; q += 4) {
      const o = <usize>q << 2;
      v128.store(orow + o, row3(r2 + o, c1, c2, w6, w7, w8, row3(r1 + o, c1, c2, w3, w4, w5, row3(r0 + o, c1, c2, w0, w1, w2, bv))));
    }
    if (q < OW) {
      const o = <usize>q << 2;
      storePartial(orow + o, row3(r2 + o, c1, c2, w6, w7, w8, row3(r1 + o, c1, c2, w3, w4, w5, row3(r0 + o, c1, c2, w0, w1, w2, bv))), OW - q);
    }
    r0 += step; orow += outStep;
  }
}

/**
 * dwconv3x3Plane1x4 for unit stride and dilation (taps at i·Wx + j), two output rows at a time:
 * they share two of their three input rows, so 12 loads feed 18 multiply-adds.
 */
function dwconv3x3s1Plane2x4(src: usize, Wx: i32, w: usize, out: usize, OH: i32, OW: i32, bias: f32): void {
  const w0 = v128.load32_splat(w), w1 = v128.load32_splat(w, 4), w2 = v128.load32_splat(w, 8);
  const w3 = v128.load32_splat(w, 12), w4 = v128.load32_splat(w, 16), w5 = v128.load32_splat(w, 20);
  const w6 = v128.load32_splat(w, 24), w7 = v128.load32_splat(w, 28), w8 = v128.load32_splat(w, 32);
  const bv = f32x4.splat(bias), full = OW & ~3;
  const rb = <usize>Wx << 2, ob = <usize>OW << 2;
  let r0 = src, orow = out, r = 0;
  for (; r + 2 <= OH; r += 2) {
    const r1 = r0 + rb, r2 = r1 + rb, r3 = r2 + rb, orow1 = orow + ob;
    let q = 0;
    for (; q <= OW - 4; q += 4) {
      const o = <usize>q << 2;
      let x0 = v128.load(r0 + o), x1 = v128.load(r0 + o, 4), x2 = v128.load(r0 + o, 8);
      let a = madd(w2, x2, madd(w1, x1, madd(w0, x0, bv)));
      x0 = v128.load(r1 + o); x1 = v128.load(r1 + o, 4); x2 = v128.load(r1 + o, 8);
      a = madd(w5, x2, madd(w4, x1, madd(w3, x0, a)));
      let b = madd(w2, x2, madd(w1, x1, madd(w0, x0, bv)));
      x0 = v128.load(r2 + o); x1 = v128.load(r2 + o, 4); x2 = v128.load(r2 + o, 8);
      a = madd(w8, x2, madd(w7, x1, madd(w6, x0, a)));
      b = madd(w5, x2, madd(w4, x1, madd(w3, x0, b)));
      x0 = v128.load(r3 + o); x1 = v128.load(r3 + o, 4); x2 = v128.load(r3 + o, 8);
      b = madd(w8, x2, madd(w7, x1, madd(w6, x0, b)));
      v128.store(orow + o, a);
      v128.store(orow1 + o, b);
    }
    if (q < OW) {
      const o = <usize>q << 2;
      storePartial(orow + o, row3(r2 + o, 4, 8, w6, w7, w8, row3(r1 + o, 4, 8, w3, w4, w5, row3(r0 + o, 4, 8, w0, w1, w2, bv))), OW - q);
      storePartial(orow1 + o, row3(r3 + o, 4, 8, w6, w7, w8, row3(r2 + o, 4, 8, w3, w4, w5, row3(r1 + o, 4, 8, w0, w1, w2, bv))), OW - q);
    }
    r0 = r2; orow = orow1 + ob;
  }
  if (r < OH) {
    const r1 = r0 + rb, r2 = r1 + rb;
    let q = 0;
    for (; q < full; q += 4) {
      const o = <usize>q << 2;
      v128.store(orow + o, row3(r2 + o, 4, 8, w6, w7, w8, row3(r1 + o, 4, 8, w3, w4, w5, row3(r0 + o, 4, 8, w0, w1, w2, bv))));
    }
    if (q < OW) {
      const o = <usize>q << 2;
      storePartial(orow + o, row3(r2 + o, 4, 8, w6, w7, w8, row3(r1 + o, 4, 8, w3, w4, w5, row3(r0 + o, 4, 8, w0, w1, w2, bv))), OW - q);
    }
  }
}

/**
 * dx (H×W) of a 3×3, stride-2, undilated kernel for one input channel, from its padded dy plane
 * (dy[oh, ow] at row oh + T, column ow + L, Wq apart). dx row ih reads the kernel rows i of its
 * parity — i = 1 alone at dy row (ih + PH − 1) / 2, or i = 0 and 2 at (ih + PH) / 2 and one above;
 * dx column 2q + p reads taps j = 0 and 2 (dy columns q + e and q + e − 1) in phase p = PW mod 2,
 * tap j = 1 in the other. Four q per step: two phase vectors interleaved into eight dx columns.
 * The last partial step goes through tail (8 floats).
 */
function dwconv3x3s2InputGrad2x4(dypad: usize, Wq: i32, T: i32, L: i32, w: usize, PH: i32, PW: i32, dx: usize, H: i32, W: i32, tail: usize): void {
  const w0 = v128.load32_splat(w), w1 = v128.load32_splat(w, 4), w2 = v128.load32_splat(w, 8);
  const w3 = v128.load32_splat(w, 12), w4 = v128.load32_splat(w, 16), w5 = v128.load32_splat(w, 20);
  const w6 = v128.load32_splat(w, 24), w7 = v128.load32_splat(w, 28), w8 = v128.load32_splat(w, 32);
  const pA = PW & 1, eA = (pA + PW) >> 1, eB = (PW - pA) >> 1;
  const cA0 = <usize>(eA + L) << 2, cA2 = <usize>(eA - 1 + L) << 2, cB = <usize>(eB + L) << 2;
  const rowBytes = <usize>Wq << 2;
  for (let ih = 0; ih < H; ih++) {
    const drow = dx + (<usize>ih * W << 2);
    const single = ((ih + PH) & 1) != 0;
    // The dy row of kernel row 1 (single), or of row 0 with row 2's just above it.
    const ra = dypad + <usize>((ih + PH - (single ? 1 : 0)) / 2 + T) * rowBytes, rb = ra - rowBytes;
    for (let q = 0; 2 * q < W; q += 4) {
      const o = <usize>q << 2;
      let A: v128, B: v128;
      if (single) {
        A = madd(w5, v128.load(ra + o + cA2), f32x4.mul(w3, v128.load(ra + o + cA0)));
        B = f32x4.mul(w4, v128.load(ra + o + cB));
      } else {
        A = madd(w2, v128.load(ra + o + cA2), f32x4.mul(w0, v128.load(ra + o + cA0)));
        A = madd(w8, v128.load(rb + o + cA2), madd(w6, v128.load(rb + o + cA0), A));
        B = madd(w7, v128.load(rb + o + cB), f32x4.mul(w1, v128.load(ra + o + cB)));
      }
      const even = pA == 0 ? A : B, odd = pA == 0 ? B : A;
      const lo = v128.shuffle<f32>(even, odd, 0, 4, 1, 5), hi = v128.shuffle<f32>(even, odd, 2, 6, 3, 7);
      const d = drow + (<usize>(2 * q) << 2);
      if (2 * q + 8 <= W) {
        v128.store(d, lo); v128.store(d, hi, 16);
      } else {
        v128.store(tail, lo); v128.store(tail, hi, 16);
        copyFloats(d, tail, W - 2 * q);
      }
    }
  }
}

/**
 * One output row of any tap list, sixteen columns (four vectors) at a time:
 * out[q] = bias + Σ_{t < nt} w[t] · src[q + offs[t]] for q < cols.
 */
function dwconvTapsRow1x16(src: usize, w: usize, offs: usize, nt: i32, out: usize, cols: i32, bias: f32): void {
  const bv = f32x4.splat(bias);
  let q = 0;
  for (; q + 16 <= cols; q += 16) {
    const s = src + (<usize>q << 2);
    let a0 = bv, a1 = bv, a2 = bv, a3 = bv;
    for (let t = 0; t < nt; t++) {
      const wv = v128.load32_splat(w + (<usize>t << 2));
      const p = s + (<usize>load<i32>(offs + (<usize>t << 2)) << 2);
      a0 = madd(wv, v128.load(p), a0); a1 = madd(wv, v128.load(p, 16), a1);
      a2 = madd(wv, v128.load(p, 32), a2); a3 = madd(wv, v128.load(p, 48), a3);
    }
    const o = out + (<usize>q << 2);
    v128.store(o, a0); v128.store(o, a1, 16); v128.store(o, a2, 32); v128.store(o, a3, 48);
  }
  for (; q < cols; q += 4) {
    const s = src + (<usize>q << 2);
    let acc = bv;
    for (let t = 0; t < nt; t++) {
      acc = madd(v128.load32_splat(w + (<usize>t << 2)), v128.load(s + (<usize>load<i32>(offs + (<usize>t << 2)) << 2)), acc);
    }
    if (q + 4 <= cols) v128.store(out + (<usize>q << 2), acc);
    else storePartial(out + (<usize>q << 2), acc, cols - q);
  }
}

/**
 * dw[t] += Σ_{oh, ow} dy[oh, ow] · src[oh·rowStep + ow + offs[t]] for the nine taps of a 3×3
 * kernel, in nine f32x4 accumulators over the whole plane. A row's last partial vector masks both
 * factors, so a value past the row in src (even ±∞) adds exactly zero.
 */
function dwconv3x3WeightGrad1x4(src: usize, rowStep: i32, offs: usize, dy: usize, OH: i32, OW: i32, dw: usize): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0;
  const o0 = <usize>load<i32>(offs) << 2, o1 = <usize>load<i32>(offs, 4) << 2, o2 = <usize>load<i32>(offs, 8) << 2;
  const o3 = <usize>load<i32>(offs, 12) << 2, o4 = <usize>load<i32>(offs, 16) << 2, o5 = <usize>load<i32>(offs, 20) << 2;
  const o6 = <usize>load<i32>(offs, 24) << 2, o7 = <usize>load<i32>(offs, 28) << 2, o8 = <usize>load<i32>(offs, 32) << 2;
  const full = OW & ~3, rest = OW - full;
  const mask = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(rest));
  let row = src, d = dy;
  for (let oh = 0; oh < OH; oh++) {
    let q = 0;
    for (; q < full; q += 4) {
      const o = <usize>q << 2, s = row + o;
      const g = v128.load(d + o);
      a0 = madd(g, v128.load(s + o0), a0); a1 = madd(g, v128.load(s + o1), a1); a2 = madd(g, v128.load(s + o2), a2);
      a3 = madd(g, v128.load(s + o3), a3); a4 = madd(g, v128.load(s + o4), a4); a5 = madd(g, v128.load(s + o5), a5);
      a6 = madd(g, v128.load(s + o6), a6); a7 = madd(g, v128.load(s + o7), a7); a8 = madd(g, v128.load(s + o8), a8);
    }
    if (rest != 0) {
      const o = <usize>q << 2, s = row + o;
      const g = loadPartial(d + o, rest);
      a0 = madd(g, v128.and(v128.load(s + o0), mask), a0); a1 = madd(g, v128.and(v128.load(s + o1), mask), a1);
      a2 = madd(g, v128.and(v128.load(s + o2), mask), a2); a3 = madd(g, v128.and(v128.load(s + o3), mask), a3);
      a4 = madd(g, v128.and(v128.load(s + o4), mask), a4); a5 = madd(g, v128.and(v128.load(s + o5), mask), a5);
      a6 = madd(g, v128.and(v128.load(s + o6), mask), a6); a7 = madd(g, v128.and(v128.load(s + o7), mask), a7);
      a8 = madd(g, v128.and(v128.load(s + o8), mask), a8);
    }
    row += <usize>rowStep << 2; d += <usize>OW << 2;
  }
  addTo(dw, 0, a0); addTo(dw, 1, a1); addTo(dw, 2, a2); addTo(dw, 3, a3); addTo(dw, 4, a4);
  addTo(dw, 5, a5); addTo(dw, 6, a6); addTo(dw, 7, a7); addTo(dw, 8, a8);
}

/**
 * dwconv3x3WeightGrad1x4 for unit stride and dilation, two dy rows at a time: they share two of
 * their three input rows, so 14 loads feed 18 multiply-adds. Taps at i·Wx + j.
 */
function dwconv3x3s1WeightGrad2x4(src: usize, Wx: i32, dy: usize, OH: i32, OW: i32, dw: usize): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0;
  const full = OW & ~3, rest = OW - full, rb = <usize>Wx << 2, db = <usize>OW << 2;
  const mask = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(rest));
  let r0 = src, d = dy, oh = 0;
  for (; oh + 2 <= OH; oh += 2) {
    const r1 = r0 + rb, r2 = r1 + rb, r3 = r2 + rb, d1 = d + db;
    let q = 0;
    for (; q < full; q += 4) {
      const o = <usize>q << 2;
      const g = v128.load(d + o), h = v128.load(d1 + o);
      let x0 = v128.load(r0 + o), x1 = v128.load(r0 + o, 4), x2 = v128.load(r0 + o, 8);
      a0 = madd(g, x0, a0); a1 = madd(g, x1, a1); a2 = madd(g, x2, a2);
      x0 = v128.load(r1 + o); x1 = v128.load(r1 + o, 4); x2 = v128.load(r1 + o, 8);
      a3 = madd(g, x0, a3); a4 = madd(g, x1, a4); a5 = madd(g, x2, a5);
      a0 = madd(h, x0, a0); a1 = madd(h, x1, a1); a2 = madd(h, x2, a2);
      x0 = v128.load(r2 + o); x1 = v128.load(r2 + o, 4); x2 = v128.load(r2 + o, 8);
      a6 = madd(g, x0, a6); a7 = madd(g, x1, a7); a8 = madd(g, x2, a8);
      a3 = madd(h, x0, a3); a4 = madd(h, x1, a4); a5 = madd(h, x2, a5);
      x0 = v128.load(r3 + o); x1 = v128.load(r3 + o, 4); x2 = v128.load(r3 + o, 8);
      a6 = madd(h, x0, a6); a7 = madd(h, x1, a7); a8 = madd(h, x2, a8);
    }
    if (rest != 0) {
      const o = <usize>q << 2;
      const g = loadPartial(d + o, rest), h = loadPartial(d1 + o, rest);
      let x0 = v128.and(v128.load(r0 + o), mask), x1 = v128.and(v128.load(r0 + o, 4), mask), x2 = v128.and(v128.load(r0 + o, 8), mask);
      a0 = madd(g, x0, a0); a1 = madd(g, x1, a1); a2 = madd(g, x2, a2);
      x0 = v128.and(v128.load(r1 + o), mask); x1 = v128.and(v128.load(r1 + o, 4), mask); x2 = v128.and(v128.load(r1 + o, 8), mask);
      a3 = madd(g, x0, a3); a4 = madd(g, x1, a4); a5 = madd(g, x2, a5);
      a0 = madd(h, x0, a0); a1 = madd(h, x1, a1); a2 = madd(h, x2, a2);
      x0 = v128.and(v128.load(r2 + o), mask); x1 = v128.and(v128.load(r2 + o, 4), mask); x2 = v128.and(v128.load(r2 + o, 8), mask);
      a6 = madd(g, x0, a6); a7 = madd(g, x1, a7); a8 = madd(g, x2, a8);
      a3 = madd(h, x0, a3); a4 = madd(h, x1, a4); a5 = madd(h, x2, a5);
      x0 = v128.and(v128.load(r3 + o), mask); x1 = v128.and(v128.load(r3 + o, 4), mask); x2 = v128.and(v128.load(r3 + o, 8), mask);
      a6 = madd(h, x0, a6); a7 = madd(h, x1, a7); a8 = madd(h, x2, a8);
    }
    r0 = r2; d = d1 + db;
  }
  if (oh < OH) {
    // The last row of an odd count: one dy row, taps as in dwconv3x3WeightGrad1x4.
    const r1 = r0 + rb, r2 = r1 + rb;
    let q = 0;
    for (; q < full; q += 4) {
      const o = <usize>q << 2;
      const g = v128.load(d + o);
      a0 = madd(g, v128.load(r0 + o), a0); a1 = madd(g, v128.load(r0 + o, 4), a1); a2 = madd(g, v128.load(r0 + o, 8), a2);
      a3 = madd(g, v128.load(r1 + o), a3); a4 = madd(g, v128.load(r1 + o, 4), a4); a5 = madd(g, v128.load(r1 + o, 8), a5);
      a6 = madd(g, v128.load(r2 + o), a6); a7 = madd(g, v128.load(r2 + o, 4), a7); a8 = madd(g, v128.load(r2 + o, 8), a8);
    }
    if (rest != 0) {
      const o = <usize>q << 2;
      const g = loadPartial(d + o, rest);
      a0 = madd(g, v128.and(v128.load(r0 + o), mask), a0); a1 = madd(g, v128.and(v128.load(r0 + o, 4), mask), a1);
      a2 = madd(g, v128.and(v128.load(r0 + o, 8), mask), a2); a3 = madd(g, v128.and(v128.load(r1 + o), mask), a3);
      a4 = madd(g, v128.and(v128.load(r1 + o, 4), mask), a4); a5 = madd(g, v128.and(v128.load(r1 + o, 8), mask), a5);
      a6 = madd(g, v128.and(v128.load(r2 + o), mask), a6); a7 = madd(g, v128.and(v128.load(r2 + o, 4), mask), a7);
      a8 = madd(g, v128.and(v128.load(r2 + o, 8), mask), a8);
    }
  }
  addTo(dw, 0, a0); addTo(dw, 1, a1); addTo(dw, 2, a2); addTo(dw, 3, a3); addTo(dw, 4, a4);
  addTo(dw, 5, a5); addTo(dw, 6, a6); addTo(dw, 7, a7); addTo(dw, 8, a8);
}

/**
 * dw[t] += Σ_{oh, ow} dy[oh, ow] · src[oh·rowStep + ow + offs[t]] for any tap list: one tap at a
 * time over the plane, eight columns (two accumulators) per step, partial vectors masked.
 */
function dwconvTapsWeightGrad1x8(src: usize, rowStep: i32, offs: usize, nt: i32, dy: usize, OH: i32, OW: i32, dw: usize): void {
  const full = OW & ~3, rest = OW - full;
  const mask = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(rest));
  for (let t = 0; t < nt; t++) {
    let a0 = f32x4.splat(0), a1 = a0;
    let row = src + (<usize>load<i32>(offs + (<usize>t << 2)) << 2), d = dy;
    for (let oh = 0; oh < OH; oh++) {
      let q = 0;
      for (; q + 8 <= full; q += 8) {
        const o = <usize>q << 2;
        a0 = madd(v128.load(d + o), v128.load(row + o), a0);
        a1 = madd(v128.load(d + o, 16), v128.load(row + o, 16), a1);
      }
      if (q < full) {
        const o = <usize>q << 2;
        a0 = madd(v128.load(d + o), v128.load(row + o), a0);
        q += 4;
      }
      if (rest != 0) {
        const o = <usize>q << 2;
        a1 = madd(loadPartial(d + o, rest), v128.and(v128.load(row + o), mask), a1);
      }
      row += <usize>rowStep << 2; d += <usize>OW << 2;
    }
    addTo(dw, t, f32x4.add(a0, a1));
  }
}

// ---- small helpers ----

/** dw[t] += the sum of acc's lanes. */
// @ts-ignore: decorator
@inline function addTo(dw: usize, t: i32, acc: v128): void {
  const p = dw + (<usize>t << 2);
  store<f32>(p, load<f32>(p) + hsum(acc));
}

/** The first n (1–3) lanes of v at p. */
// @ts-ignore: decorator
@inline function storePartial(p: usize, v: v128, n: i32): void {
  if (n >= 2) v128.store64_lane(p, v, 0);
  else v128.store32_lane(p, v, 0);
  if (n == 3) v128.store32_lane(p, v, 2, 8);
}

/** n (1–3) floats at p in the low lanes, zeros above; reads nothing past them. */
// @ts-ignore: decorator
@inline function loadPartial(p: usize, n: i32): v128 {
  let v = n >= 2 ? v128.load64_zero(p) : v128.load32_zero(p);
  if (n == 3) v = v128.load32_lane(p, v, 2, 8);
  return v;
}

/**
 * dst[i] = src[i] for n floats (n ≤ 0: nothing); from 4 floats on, the last vector overlaps the
 * one before it instead of a scalar tail (dst and src do not overlap).
 */
// @ts-ignore: decorator
@inline function copyFloats(dst: usize, src: usize, n: i32): void {
  if (n < 4) {
    for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  if (i < n) v128.store(dst + (<usize>(n - 4) << 2), v128.load(src + (<usize>(n - 4) << 2)));
}
