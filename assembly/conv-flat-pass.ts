// Forward and backward passes of a stride-1 convolution over padded, flattened planes (see
// conv-flat.ts for the layout). Per image: pad the input (and dy), run the flat kernels per
// group, copy the valid columns out. Borders and discarded columns of the padded buffers are
// zeroed once per call and never written afterwards. Groups of a multiple of 16 output
// channels run forward and the weight gradient on the channel-lane kernels (conv-chan.ts),
// which compute no discarded columns; dx stays a flat full correlation.
import { flatConvRows, flatConvDot, flatConvDotFinish } from "./conv-flat";
import { biasGradChannelRange } from "./bias";
import { flipWeights, padPlanes, unpadPlanes } from "./conv-flat-pack";
import { chanApplies, chanConvForward, chanConvWeightGrad } from "./conv-chan";
import { denseConvDot } from "./conv-flat-dense";
import { chanConvInputGrad } from "./conv-chan-dx";
import { chanPanels, chanWeightGradFinish, chanFrame, chanFrameFloats, chanPairWeights } from "./conv-chan-pack";


// @ts-ignore: decorator
@inline function roundUp(v: f64, m: f64): f64 { return Math.ceil(v / m) * m; }

/**
 * The layout of one call, in floats: the padded planes' row stride Wp, the input's plane (planeX),
 * the flat output's length Q (Q4 rounded up to whole vectors, Qdx dx's), dy's padded plane (planeY)
 * and its lead-in (pre), and the sizes of the scratch's regions. Kernels allocate nothing, so the
 * record lives in the first FLAT_LAYOUT_FLOATS floats of the caller's scratch — each thread's own —
 * and flatLayout hands it to the passes, which pass it on.
 */
@unmanaged class FlatLayout {
  Wp: i32; planeX: i32; Q: i32; pre: i32; planeY: i32; Q4: i32; Qdx: i32;
  xpadFloats: i32; dypadFloats: i32; accFloats: i32; wtFloats: i32;
}

/** Floats of scratch the FlatLayout record takes (a cache line, so the regions after it stay aligned). */
const FLAT_LAYOUT_FLOATS = 16;

/**
 * Floats of scratch the flat passes take for this geometry (the larger of forward and backward,
 * the record included), computed in f64 so that it is the true size of any geometry; with at ≠ 0
 * the layout is written there as i32 (the caller refuses sizes past the memory, and once a size
 * is accepted every offset below it fits the kernels' i32/usize arithmetic).
 */
function flatSizes(C: i32, H: i32, O: i32, KH: i32, KW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, at: usize): f64 {
  const c = <f64>C, o = <f64>O, g = <f64>G, oh = <f64>OH, ow = <f64>OW, taps = <f64>KH * <f64>KW;
  const hp = oh + <f64>(KH - 1) * <f64>DH;
  const wp = ow + <f64>(KW - 1) * <f64>DW;
  const plane = hp * wp;
  const q = roundUp(oh * wp, 16);
  const before = <f64>(KH - 1) * <f64>DH * wp + <f64>(KW - 1) * <f64>DW;
  const planeDy = 2 * before + oh * wp + 16;
  const qdx = roundUp(<f64>H * wp, 16);
  const xpad = c * plane + 16; // 16: the last plane's over-read
  const dypad = o * planeDy;
  const acc = o * (c / g) * taps * 4;
  const wt = (c + g) * (o / g) * taps; // chanPairWeights pads an odd channel count per group
  // The channel-lane kernels put transposed weights where the flat output goes, and the
  // pixel-major dy (plain, then framed for dx) after dx's output. flatConvRows's interleaved
  // pair of weight rows (2·K floats) follows the flat output, and for dx everything else; the
  // channel-lane forward's tap table (Cg·taps u32) follows its weights.
  const fwdFloats = xpad + max(o * q + 2 * (c / g) * taps, wt + (c / g) * taps);
  const bwdFloats = xpad + dypad + acc + wt + c * qdx + o * oh * ow + g * chanFrameFloats(oh, ow, o / g) + 2 * (o / g) * taps;
  if (at != 0) {
    const L = changetype<FlatLayout>(at);
    L.Wp = <i32>wp; L.planeX = <i32>plane; L.Q = <i32>q; L.pre = <i32>before; L.planeY = <i32>planeDy;
    L.Q4 = <i32>roundUp(oh * wp, 4); L.Qdx = <i32>qdx;
    L.xpadFloats = <i32>xpad; L.dypadFloats = <i32>dypad; L.accFloats = <i32>acc; L.wtFloats = <i32>wt;
  }
  return FLAT_LAYOUT_FLOATS + max(fwdFloats, bwdFloats);
}

/** The layout of this geometry, written at the start of `scratch` (flatSizes); the passes' regions follow it. */
function flatLayout(scratch: usize, C: i32, H: i32, O: i32, KH: i32, KW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32): FlatLayout {
  flatSizes(C, H, O, KH, KW, DH, DW, G, OH, OW, scratch);
  return changetype<FlatLayout>(scratch);
}

/** Whether the flat passes apply: stride 1 and an input that fits inside the padded plane. */
export function flatApplies(H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32, DH: i32, DW: i32, OH: i32, OW: i32): bool {
  return SH == 1 && SW == 1 && PH + H <= OH + (KH - 1) * DH && PW + W <= OW + (KW - 1) * DW;
}

/** Floats of scratch the flat passes need (the larger of forward and backward). */
export function flatScratchFloats(C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32, PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32): f64 {
  return flatSizes(C, H, O, KH, KW, DH, DW, G, OH, OW, 0);
}

/**
 * y = act(conv2d(x, w) + b) (b = 0: none), act as epilogue.ts's (0 none, 1 ReLU, 2 ReLU6), applied
 * as the output is stored: as the padded rows are copied out with the bias, or (channel lanes)
 * as the accumulators are. With an activation, returns 1 when a value stored was NaN or infinite
 * before it; else 0.
 */
export function flatForward(
  x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, scratch: usize, act: i32,
): i32 {
  const L = flatLayout(scratch, C, H, O, KH, KW, DH, DW, G, OH, OW);
  const Wp = L.Wp, planeX = L.planeX, Q = L.Q;
  const Cg = C / G, Og = O / G, Kg = Cg * KH * KW;
  const xpad = scratch + (<usize>FLAT_LAYOUT_FLOATS << 2), out = xpad + (<usize>L.xpadFloats << 2), pack = out + (<usize>(O * Q) << 2);
  if (chanApplies(Og)) return chanForward(L, x, w, b, y, N, C, H, W, O, KH, KW, PH, PW, DH, DW, G, OH, OW, xpad, out, act);
  let bad = 0;
  memory.fill(xpad, 0, <usize>L.xpadFloats << 2);
  for (let n = 0; n < N; n++) {
    padPlanes(x + (<usize>n * C * H * W << 2), C, H, W, xpad + (<usize>(PH * Wp + PW) << 2), planeX, Wp);
    for (let g = 0; g < G; g++) {
      flatConvRows(Og, Q, w + (<usize>g * Og * Kg << 2), Kg, xpad + (<usize>g * Cg * planeX << 2), Cg, planeX,
        KH, KW, DH * Wp, DW, out + (<usize>g * Og * Q << 2), Q, PH * Wp + PW, (PH + H - 1) * Wp + PW + W, pack);
    }
    bad |= unpadPlanes(out, O, Q, Wp, y + (<usize>n * O * OH * OW << 2), OH, OW, b, act);
  }
  return bad;
}

/** Forward with the channel-lane kernel (conv-chan.ts); wt holds the weights in 16-channel panels; act and the answer as flatForward's. */
function chanForward(
  L: FlatLayout, x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, xpad: usize, wt: usize, act: i32,
): i32 {
  const Wp = L.Wp, planeX = L.planeX;
  let bad = 0;
  const Cg = C / G, Og = O / G, Kg = Cg * KH * KW, P = OH * OW;
  // Each group's panels where its [Kg, Og] transpose went: O·Kg floats in all.
  chanPanels(w, O, Kg, wt);
  const direct = readsInPlace(H, W, PH, PW, OH, OW, KH, KW, DH, DW);
  if (!direct) memory.fill(xpad, 0, <usize>L.xpadFloats << 2);
  for (let n = 0; n < N; n++) {
    const src = inputPlanes(L, x, n, C, H, W, PH, PW, xpad, direct);
    for (let g = 0; g < G; g++) {
      bad |= chanConvForward(OH, OW, Wp, src + (<usize>g * Cg * planeX << 2), Cg, planeX, KH, KW, DH * Wp, DW,
        wt + (<usize>g * Kg * Og << 2), Og, b != 0 ? b + (<usize>g * Og << 2) : 0, y + (<usize>(n * O + g * Og) * P << 2), act, wt + (<usize>L.wtFloats << 2));
    }
  }
  return bad;
}

/** Output rows of whole f32x4s: the weight gradient reads dy in place (conv-flat-dense.ts). */
// @ts-ignore: decorator
@inline function denseApplies(OH: i32, OW: i32): bool { return OW % 4 == 0; }

/** An unpadded input already is its padded plane (conv2 of LeNet): no copy. */
// @ts-ignore: decorator
@inline function readsInPlace(H: i32, W: i32, PH: i32, PW: i32, OH: i32, OW: i32, KH: i32, KW: i32, DH: i32, DW: i32): bool {
  return PH == 0 && PW == 0 && H == OH + (KH - 1) * DH && W == OW + (KW - 1) * DW;
}

/** Image n's padded planes: x itself when it reads in place, else a copy into xpad. */
function inputPlanes(L: FlatLayout, x: usize, n: i32, C: i32, H: i32, W: i32, PH: i32, PW: i32, xpad: usize, direct: bool): usize {
  const xn = x + (<usize>n * C * H * W << 2);
  if (direct) return xn;
  padPlanes(xn, C, H, W, xpad + (<usize>(PH * L.Wp + PW) << 2), L.planeX, L.Wp);
  return xpad;
}

/** dw += ∂L/∂w, db += ∂L/∂b (db ≠ 0), dx = ∂L/∂x (dx ≠ 0); with dw = 0 the input gradient alone (db and x unread). */
export function flatBackward(
  x: usize, w: usize, dy: usize, dw: usize, db: usize, dx: usize,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, scratch: usize,
): void {
  flatBackwardTaps(x, w, dy, dw, db, dx, 0, C / G * KH * KW, N, C, H, W, O, KH, KW, PH, PW, DH, DW, G, OH, OW, scratch);
}

/**
 * The weight gradient of the taps k in [k0, k1) of each group's Cg·KH·KW (every output channel),
 * and db of the output channels [⌊O·k0/Kg⌋, ⌊O·k1/Kg⌋) (db ≠ 0): the same bits as flatBackward's,
 * whose every (output channel, tap) sums over the batch and pixels in an order of its own. Threads
 * taking disjoint ranges of taps, each in its own scratch (flatScratchFloats), write disjoint
 * parts of dw and db and pad the input each for itself. Stride 1 (flatApplies).
 */
export function flatWeightGradTaps(
  x: usize, dy: usize, dw: usize, db: usize, k0: i32, k1: i32,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, scratch: usize,
): void {
  flatBackwardTaps(x, 0, dy, dw, db, 0, k0, k1, N, C, H, W, O, KH, KW, PH, PW, DH, DW, G, OH, OW, scratch);
}

/** flatBackward with the weight gradient (and db) of the taps [k0, k1) alone (flatWeightGradTaps); dx (≠ 0) takes every tap. */
function flatBackwardTaps(
  x: usize, w: usize, dy: usize, dw: usize, db: usize, dx: usize, k0: i32, k1: i32,
  N: i32, C: i32, H: i32, W: i32, O: i32, KH: i32, KW: i32,
  PH: i32, PW: i32, DH: i32, DW: i32, G: i32, OH: i32, OW: i32, scratch: usize,
): void {
  const L = flatLayout(scratch, C, H, O, KH, KW, DH, DW, G, OH, OW);
  const Wp = L.Wp, planeX = L.planeX, pre = L.pre, planeY = L.planeY, Q4 = L.Q4, Qdx = L.Qdx;
  const Cg = C / G, Og = O / G, taps = KH * KW, Kg = Cg * taps, Kt = Og * taps;
  const xpad = scratch + (<usize>FLAT_LAYOUT_FLOATS << 2);
  const dypad = xpad + (<usize>L.xpadFloats << 2);
  const acc = dypad + (<usize>L.dypadFloats << 2);
  const wt = acc + (<usize>L.accFloats << 2);
  const dxout = wt + (<usize>L.wtFloats << 2);
  const chan = chanApplies(Og), P = OH * OW;
  const dyT = dxout + (<usize>C * Qdx << 2);
  const dyp = dyT + (<usize>O * P << 2), frame = <i32>chanFrameFloats(OH, OW, Og);
  const pack = dyp + (<usize>(G * frame) << 2);
  const direct = chan && readsInPlace(H, W, PH, PW, OH, OW, KH, KW, DH, DW);
  if (db != 0 && dw != 0) {
    biasGradChannelRange(db, dy, N, O, <i32>(<i64>O * k0 / Kg), <i32>(<i64>O * k1 / Kg), P);
  }
  if (!direct && dw != 0) memory.fill(xpad, 0, <usize>L.xpadFloats << 2);
  // The dense weight gradient reads dy as it is; only the flat dx needs it padded.
  const dense = !chan && denseApplies(OH, OW), padDy = !chan && (!dense || dx != 0);
  if (padDy) memory.fill(dypad, 0, <usize>L.dypadFloats << 2);
  memory.fill(acc, 0, <usize>L.accFloats << 2);
  if (dx != 0 && chan) {
    memory.fill(dyp, 0, <usize>(G * frame) << 2);
    for (let g = 0; g < G; g++) chanPairWeights(w + (<usize>g * Og * Kg << 2), Og, Cg, taps, wt + (<usize>g * (Cg + 1) * Kt << 2));
  } else if (dx != 0) {
    flipWeights(w, wt, C, O, G, KH, KW);
  }
  for (let n = 0; n < N; n++) {
    const src = dw != 0 ? inputPlanes(L, x, n, C, H, W, PH, PW, xpad, direct) : 0;
    const dyn = dy + (<usize>n * O * P << 2);
    if (padDy) padPlanes(dyn, O, OH, OW, dypad + (<usize>pre << 2), planeY, Wp);
    for (let g = 0; g < G; g++) {
      if (chan) {
        // The channel-lane kernels read dy pixel-major, in panels of 16 channels.
        const dyTg = dyT + (<usize>g * P * Og << 2);
        if (dw != 0) {
          chanPanels(dyn + (<usize>g * Og * P << 2), Og, P, dyTg);
          chanConvWeightGrad(OH, OW, Wp, src + (<usize>g * Cg * planeX << 2), Kg, planeX, KH, KW, DH * Wp, DW,
            dyTg, Og, acc + (<usize>g * Og * Kg << 2), k0, k1);
        }
        if (dx == 0) continue;
        const dypg = dyp + (<usize>g * frame << 2);
        chanFrame(dyn + (<usize>g * Og * P << 2), OH, OW, Og, dypg);
        chanConvInputGrad(H, W, Cg, KH, KW, DH, DW, PH, PW, OH, OW, dypg, wt + (<usize>g * (Cg + 1) * Kt << 2), Og,
          dx + (<usize>(n * C + g * Cg) * H * W << 2));
      } else if (dw == 0) {
        continue;
      } else if (dense) {
        denseConvDot(Og, Kg, k0, k1, OH, OW, Wp, dyn + (<usize>g * Og * P << 2), P,
          src + (<usize>g * Cg * planeX << 2), planeX, KH, KW, DH * Wp, DW, acc + (<usize>g * Og * Kg << 4));
      } else {
        flatConvDot(Og, Kg, k0, k1, Q4, dypad + (<usize>(g * Og * planeY + pre) << 2), planeY,
          src + (<usize>g * Cg * planeX << 2), planeX, KH, KW, DH * Wp, DW, acc + (<usize>g * Og * Kg << 4));
      }
    }
    if (dx == 0 || chan) continue;
    for (let g = 0; g < G; g++) {
      flatConvRows(Cg, Qdx, wt + (<usize>g * Cg * Kt << 2), Kt, dypad + (<usize>(g * Og * planeY + PH * Wp) << 2), Og, planeY,
        KH, KW, DH * Wp, DW, dxout + (<usize>g * Cg * Qdx << 2), Qdx, pre - PH * Wp, pre - PH * Wp + (OH - 1) * Wp + OW, pack);
    }
    unpadPlanes(dxout + (<usize>PW << 2), C, Qdx, Wp, dx + (<usize>n * C * H * W << 2), H, W, 0, 0);
  }
  if (dw == 0) return;
  if (chan) {
    for (let g = 0; g < G; g++) chanWeightGradFinish(acc + (<usize>g * Og * Kg << 2), Kg, Og, dw + (<usize>g * Og * Kg << 2), k0, k1);
  } else {
    for (let o = 0; o < O; o++) flatConvDotFinish(acc + ((<usize>o * Kg + k0) << 4), dw + ((<usize>o * Kg + k0) << 2), k1 - k0);
  }
}
