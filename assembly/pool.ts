// Pooling over NCHW planes: max (with argmax), average, adaptive average; forward and backward.
//
// `planes` is N·C; every plane is H×W in, OH×OW out, contiguous. Window geometry follows
// PyTorch: output (oh, ow) covers input rows oh·sH − pH + i·dH (i < kH), columns alike, and
// positions outside the input are skipped (max: they count as −∞).
import { hsum } from "./simd";

/**
 * y = max over each window; argmax[o] = flat index h·W + w of the max within its plane.
 * Ties keep the first position in row-major window order, as PyTorch does. Inputs are finite
 * (layers refuse others). A window holding no input position (possible only with dilation;
 * MaxPool2d refuses such shapes) gets −∞ and argmax −1, which backward skips.
 */
export function maxPool2dForward(
  x: usize, y: usize, argmax: usize, planes: i32, H: i32, W: i32, OH: i32, OW: i32,
  kH: i32, kW: i32, sH: i32, sW: i32, pH: i32, pW: i32, dH: i32, dW: i32,
): void {
  if (kH == 2 && kW == 2 && sH == 2 && sW == 2 && pH == 0 && pW == 0 && dH == 1 && dW == 1 && 2 * OH <= H && 2 * OW <= W) {
    maxPool2x2(x, y, argmax, planes, H, W, OH, OW);
    return;
  }
  // Output columns [inner0, inner1) have windows wholly inside the row: four at a time in lanes.
  const lastStart = W - 1 + pW - (kW - 1) * dW;
  const inner0 = min(OW, (pW + sW - 1) / sW);
  const inner1 = max(inner0, min(OW, lastStart < 0 ? 0 : lastStart / sW + 1));
  const lanes = i32x4.mul(i32x4(0, 1, 2, 3), i32x4.splat(sW));
  for (let p = 0; p < planes; p++) {
    const xp = x + (<usize>(p * H * W) << 2);
    const yp = y + (<usize>(p * OH * OW) << 2), ap = argmax + (<usize>(p * OH * OW) << 2);
    for (let oh = 0; oh < OH; oh++) {
      // Only taps i in [i0, i1) fall inside the input rows.
      const h0 = oh * sH - pH;
      const i0 = firstTapInside(h0, dH), i1 = min(kH, endTapInside(h0, dH, H));
      const row = oh * OW;
      let ow = 0;
      for (; ow < inner0; ow++) maxWindow(xp, yp, ap, row + ow, W, h0, i0, i1, dH, ow * sW - pW, kW, dW);
      for (; ow + 4 <= inner1; ow += 4) {
        let best = f32x4.splat(-Infinity), at = i32x4.splat(-1);
        for (let i = i0; i < i1; i++) {
          const rowStart = (h0 + i * dH) * W + ow * sW - pW;
          for (let j = 0; j < kW; j++) {
            const col = rowStart + j * dW;
            const v = load4Strided(xp + (<usize>col << 2), sW);
            const take = f32x4.gt(v, best);
            best = v128.bitselect(v, best, take);
            at = v128.bitselect(i32x4.add(i32x4.splat(col), lanes), at, take);
          }
        }
        v128.store(yp + (<usize>(row + ow) << 2), best);
        v128.store(ap + (<usize>(row + ow) << 2), at);
      }
      for (; ow < OW; ow++) maxWindow(xp, yp, ap, row + ow, W, h0, i0, i1, dH, ow * sW - pW, kW, dW);
    }
  }
}

/**
 * The common 2×2, stride-2 case: two input rows give four outputs per step, the even and odd
 * columns split by shuffles; taps compared in PyTorch's order so ties keep the first. Measured
 * 0.30 → 0.16 ms on LeNet's first pooling (64×6×28×28) against the general loop. Windows clipped by ceil mode take the general loop.
 */
function maxPool2x2(x: usize, y: usize, argmax: usize, planes: i32, H: i32, W: i32, OH: i32, OW: i32): void {
  for (let p = 0; p < planes; p++) {
    const xp = x + (<usize>(p * H * W) << 2);
    const yp = y + (<usize>(p * OH * OW) << 2), ap = argmax + (<usize>(p * OH * OW) << 2);
    for (let oh = 0; oh < OH; oh++) {
      const top = 2 * oh * W;
      const r0 = xp + (<usize>top << 2);
      const yo = yp + (<usize>(oh * OW) << 2), ao = ap + (<usize>(oh * OW) << 2);
      let ow = 0;
      for (; ow + 4 <= OW; ow += 4) max2x2Block(r0, W, top, ow, yo, ao);
      // A last, overlapping block recomputes a few outputs identically: on LeNet's second
      // pooling (OW = 5) that replaced a scalar window per row (0.095 → 0.06 ms at batch 64).
      if (ow < OW && OW >= 4) { max2x2Block(r0, W, top, OW - 4, yo, ao); ow = OW; }
      for (; ow < OW; ow++) maxWindow(xp, yp, ap, oh * OW + ow, W, 2 * oh, 0, 2, 1, 2 * ow, 2, 1);
    }
  }
}

/** Outputs ow..ow+3 of one row: input rows r0 (flat index `top`) and r0 + W. */
// @ts-ignore: decorator
@inline function max2x2Block(r0: usize, W: i32, top: i32, ow: i32, yo: usize, ao: usize): void {
  const c = <usize>(2 * ow) << 2, r1 = r0 + (<usize>W << 2);
  const t0 = v128.load(r0 + c), t1 = v128.load(r0 + c, 16);
  const u0 = v128.load(r1 + c), u1 = v128.load(r1 + c, 16);
  const base = i32x4.add(i32x4.splat(top + 2 * ow), i32x4(0, 2, 4, 6));
  let best = v128.shuffle<f32>(t0, t1, 0, 2, 4, 6), at = base;
  let v = v128.shuffle<f32>(t0, t1, 1, 3, 5, 7);
  let take = f32x4.gt(v, best);
  best = v128.bitselect(v, best, take); at = v128.bitselect(i32x4.add(base, i32x4.splat(1)), at, take);
  v = v128.shuffle<f32>(u0, u1, 0, 2, 4, 6);
  take = f32x4.gt(v, best);
  best = v128.bitselect(v, best, take); at = v128.bitselect(i32x4.add(base, i32x4.splat(W)), at, take);
  v = v128.shuffle<f32>(u0, u1, 1, 3, 5, 7);
  take = f32x4.gt(v, best);
  best = v128.bitselect(v, best, take); at = v128.bitselect(i32x4.add(base, i32x4.splat(W + 1)), at, take);
  v128.store(yo + (<usize>ow << 2), best);
  v128.store(ao + (<usize>ow << 2), at);
}

/**
 * Backward of the 2×2, stride-2 case (2·OH ≤ H, 2·OW ≤ W): every input belongs to at most one
 * window, so dx is written once, row pair by row pair, without the zero fill and scattered
 * adds of maxPool2dBackward (LeNet's first pooling at batch 64: 0.113 → 0.07 ms).
 */
export function maxPool2x2Backward(dy: usize, argmax: usize, dx: usize, planes: i32, H: i32, W: i32, OH: i32, OW: i32): void {
  for (let p = 0; p < planes; p++) {
    const gp = dy + (<usize>(p * OH * OW) << 2), ap = argmax + (<usize>(p * OH * OW) << 2);
    const xp = dx + (<usize>(p * H * W) << 2);
    for (let oh = 0; oh < OH; oh++) {
      const top = 2 * oh * W;
      const r0 = xp + (<usize>top << 2), r1 = r0 + (<usize>W << 2);
      const go = gp + (<usize>(oh * OW) << 2), ao = ap + (<usize>(oh * OW) << 2);
      let ow = 0;
      for (; ow + 4 <= OW; ow += 4) unpool2x2Block(r0, r1, W, top, ow, go, ao);
      if (ow < OW && OW >= 4) { unpool2x2Block(r0, r1, W, top, OW - 4, go, ao); ow = OW; }
      for (; ow < OW; ow++) {
        const g = load<f32>(go + (<usize>ow << 2)), at = load<i32>(ao + (<usize>ow << 2)) - top;
        const c = <usize>(2 * ow) << 2;
        store<f32>(r0 + c, at == 2 * ow ? g : 0); store<f32>(r0 + c + 4, at == 2 * ow + 1 ? g : 0);
        store<f32>(r1 + c, at == W + 2 * ow ? g : 0); store<f32>(r1 + c + 4, at == W + 2 * ow + 1 ? g : 0);
      }
      // An odd last column belongs to no window.
      for (let w = 2 * OW; w < W; w++) { store<f32>(r0 + (<usize>w << 2), 0); store<f32>(r1 + (<usize>w << 2), 0); }
    }
    // So does an odd last row.
    const rest = (H - 2 * OH) * W;
    if (rest > 0) memory.fill(xp + (<usize>(2 * OH * W) << 2), 0, <usize>rest << 2);
  }
}

/** dx for outputs ow..ow+3 of one row: each input gets dy where it is the window's argmax, else 0. */
// @ts-ignore: decorator
@inline function unpool2x2Block(r0: usize, r1: usize, W: i32, top: i32, ow: i32, go: usize, ao: usize): void {
  const g = v128.load(go + (<usize>ow << 2)), at = v128.load(ao + (<usize>ow << 2));
  const base = i32x4.add(i32x4.splat(top + 2 * ow), i32x4(0, 2, 4, 6));
  const e0 = v128.and(g, i32x4.eq(at, base));
  const o0 = v128.and(g, i32x4.eq(at, i32x4.add(base, i32x4.splat(1))));
  const e1 = v128.and(g, i32x4.eq(at, i32x4.add(base, i32x4.splat(W))));
  const o1 = v128.and(g, i32x4.eq(at, i32x4.add(base, i32x4.splat(W + 1))));
  const c = <usize>(2 * ow) << 2;
  v128.store(r0 + c, v128.shuffle<f32>(e0, o0, 0, 4, 1, 5)); v128.store(r0 + c, v128.shuffle<f32>(e0, o0, 2, 6, 3, 7), 16);
  v128.store(r1 + c, v128.shuffle<f32>(e1, o1, 0, 4, 1, 5)); v128.store(r1 + c, v128.shuffle<f32>(e1, o1, 2, 6, 3, 7), 16);
}

/** One output o of max pooling, its window clipped to the plane (taps in rows [i0, i1)). */
// @ts-ignore: decorator
@inline function maxWindow(
  xp: usize, yp: usize, ap: usize, o: i32, W: i32, h0: i32, i0: i32, i1: i32, dH: i32, w0: i32, kW: i32, dW: i32,
): void {
  const j0 = firstTapInside(w0, dW), j1 = min(kW, endTapInside(w0, dW, W));
  let best = -Infinity as f32;
  let bestAt = -1;
  for (let i = i0; i < i1; i++) {
    const rowStart = (h0 + i * dH) * W + w0;
    for (let j = j0; j < j1; j++) {
      const at = rowStart + j * dW;
      const v = load<f32>(xp + (<usize>at << 2));
      if (v > best) { best = v; bestAt = at; }
    }
  }
  store<f32>(yp + (<usize>o << 2), best);
  store<i32>(ap + (<usize>o << 2), bestAt);
}

/** x[0], x[s], x[2s], x[3s] as lanes; never reads past x[3s]. */
// @ts-ignore: decorator
@inline function load4Strided(src: usize, s: i32): v128 {
  if (s == 1) return v128.load(src);
  if (s == 2) return v128.shuffle<f32>(v128.load(src), v128.load(src, 12), 0, 2, 5, 7);
  const step = <usize>s << 2;
  let v = f32x4.splat(load<f32>(src));
  v = f32x4.replace_lane(v, 1, load<f32>(src + step));
  v = f32x4.replace_lane(v, 2, load<f32>(src + 2 * step));
  return f32x4.replace_lane(v, 3, load<f32>(src + 3 * step));
}

/** The first tap i with start + i·step ≥ 0. */
// @ts-ignore: decorator
@inline function firstTapInside(start: i32, step: i32): i32 { return start < 0 ? (step - 1 - start) / step : 0; }
/** One past the last tap i with start + i·step < size. */
// @ts-ignore: decorator
@inline function endTapInside(start: i32, step: i32, size: i32): i32 { return start < size ? (size - start + step - 1) / step : 0; }

/** dx = 0, then dx[argmax[o]] += dy[o]: overlapping windows that share a max add up. */
export function maxPool2dBackward(dy: usize, argmax: usize, dx: usize, planes: i32, inPlane: i32, outPlane: i32): void {
  memory.fill(dx, 0, <usize>(planes * inPlane) << 2);
  for (let p = 0; p < planes; p++) {
    const gp = dy + (<usize>(p * outPlane) << 2), ap = argmax + (<usize>(p * outPlane) << 2);
    const xp = dx + (<usize>(p * inPlane) << 2);
    for (let o = 0; o < outPlane; o++) {
      const i = load<i32>(ap + (<usize>o << 2));
      if (i < 0) continue;
      const at = xp + (<usize>i << 2);
      store<f32>(at, load<f32>(at) + load<f32>(gp + (<usize>o << 2)));
    }
  }
}

/**
 * y = window sum / divisor. The divisor is divisorOverride when it is non-zero; otherwise the
 * window's size clipped to the padded input (countIncludePad) or to the input itself.
 */
export function avgPool2dForward(
  x: usize, y: usize, planes: i32, H: i32, W: i32, OH: i32, OW: i32,
  kH: i32, kW: i32, sH: i32, sW: i32, pH: i32, pW: i32, countIncludePad: i32, divisorOverride: i32,
): void {
  for (let p = 0; p < planes; p++) {
    const xp = x + (<usize>(p * H * W) << 2), yp = y + (<usize>(p * OH * OW) << 2);
    for (let oh = 0; oh < OH; oh++) {
      const hs = oh * sH - pH, he = min(hs + kH, H + pH);
      const h0 = max(hs, 0), h1 = min(he, H);
      for (let ow = 0; ow < OW; ow++) {
        const ws = ow * sW - pW, we = min(ws + kW, W + pW);
        const w0 = max(ws, 0), w1 = min(we, W);
        let sum: f32 = 0;
        for (let h = h0; h < h1; h++) sum += sumSpan(xp + (<usize>(h * W + w0) << 2), w1 - w0);
        const divisor = windowDivisor(hs, he, ws, we, h0, h1, w0, w1, countIncludePad, divisorOverride);
        store<f32>(yp + (<usize>(oh * OW + ow) << 2), sum / divisor);
      }
    }
  }
}

/**
 * The divisor of a window: divisorOverride, else its area clipped to the padded input or to the
 * input. The area is a float product: two sides of 65,536 would wrap to 0 in i32.
 */
// @ts-ignore: decorator
@inline function windowDivisor(
  hs: i32, he: i32, ws: i32, we: i32, h0: i32, h1: i32, w0: i32, w1: i32, countIncludePad: i32, divisorOverride: i32,
): f32 {
  if (divisorOverride != 0) return <f32>divisorOverride;
  return countIncludePad ? <f32>(he - hs) * <f32>(we - ws) : <f32>(h1 - h0) * <f32>(w1 - w0);
}

/** dx = 0, then every window adds dy / divisor to each input it covers (same divisor as forward). */
export function avgPool2dBackward(
  dy: usize, dx: usize, planes: i32, H: i32, W: i32, OH: i32, OW: i32,
  kH: i32, kW: i32, sH: i32, sW: i32, pH: i32, pW: i32, countIncludePad: i32, divisorOverride: i32,
): void {
  memory.fill(dx, 0, <usize>(planes * H * W) << 2);
  for (let p = 0; p < planes; p++) {
    const xp = dx + (<usize>(p * H * W) << 2), gp = dy + (<usize>(p * OH * OW) << 2);
    for (let oh = 0; oh < OH; oh++) {
      const hs = oh * sH - pH, he = min(hs + kH, H + pH);
      const h0 = max(hs, 0), h1 = min(he, H);
      for (let ow = 0; ow < OW; ow++) {
        const ws = ow * sW - pW, we = min(ws + kW, W + pW);
        const w0 = max(ws, 0), w1 = min(we, W);
        const divisor = windowDivisor(hs, he, ws, we, h0, h1, w0, w1, countIncludePad, divisorOverride);
        const g = load<f32>(gp + (<usize>(oh * OW + ow) << 2)) / divisor;
        for (let h = h0; h < h1; h++) addToSpan(xp + (<usize>(h * W + w0) << 2), w1 - w0, g);
      }
    }
  }
}

/** Output bin i of n over a size-`size` axis covers [floor(i·size/n), ceil((i+1)·size/n)). */
// @ts-ignore: decorator
@inline function binStart(i: i32, n: i32, size: i32): i32 { return <i32>((<i64>i * size) / n); }
// @ts-ignore: decorator
@inline function binEnd(i: i32, n: i32, size: i32): i32 { return <i32>(((<i64>(i + 1) * size) + n - 1) / n); }

/** y = mean of each adaptive bin (PyTorch's bins; they overlap when OH does not divide H). */
export function adaptiveAvgPool2dForward(x: usize, y: usize, planes: i32, H: i32, W: i32, OH: i32, OW: i32): void {
  for (let p = 0; p < planes; p++) {
    const xp = x + (<usize>(p * H * W) << 2), yp = y + (<usize>(p * OH * OW) << 2);
    for (let oh = 0; oh < OH; oh++) {
      const h0 = binStart(oh, OH, H), h1 = binEnd(oh, OH, H);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = binStart(ow, OW, W), w1 = binEnd(ow, OW, W);
        let sum: f32 = 0;
        for (let h = h0; h < h1; h++) sum += sumSpan(xp + (<usize>(h * W + w0) << 2), w1 - w0);
        store<f32>(yp + (<usize>(oh * OW + ow) << 2), sum / (<f32>(h1 - h0) * <f32>(w1 - w0)));
      }
    }
  }
}

/** dx = 0, then each bin adds dy / (bin size) to every input in it. */
export function adaptiveAvgPool2dBackward(dy: usize, dx: usize, planes: i32, H: i32, W: i32, OH: i32, OW: i32): void {
  memory.fill(dx, 0, <usize>(planes * H * W) << 2);
  for (let p = 0; p < planes; p++) {
    const xp = dx + (<usize>(p * H * W) << 2), gp = dy + (<usize>(p * OH * OW) << 2);
    for (let oh = 0; oh < OH; oh++) {
      const h0 = binStart(oh, OH, H), h1 = binEnd(oh, OH, H);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = binStart(ow, OW, W), w1 = binEnd(ow, OW, W);
        const g = load<f32>(gp + (<usize>(oh * OW + ow) << 2)) / (<f32>(h1 - h0) * <f32>(w1 - w0));
        for (let h = h0; h < h1; h++) addToSpan(xp + (<usize>(h * W + w0) << 2), w1 - w0, g);
      }
    }
  }
}

/** Σ of n contiguous floats; f32x4 lanes for long spans (global pooling), scalar for short. */
function sumSpan(p: usize, n: i32): f32 {
  let i = 0;
  let s: f32 = 0;
  if (n >= 8) {
    let acc = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) acc = f32x4.add(acc, v128.load(p + (<usize>i << 2)));
    s = hsum(acc);
  }
  for (; i < n; i++) s += load<f32>(p + (<usize>i << 2));
  return s;
}

/** p[i] += v for n contiguous floats. */
function addToSpan(p: usize, n: i32, v: f32): void {
  let i = 0;
  if (n >= 8) {
    const vv = f32x4.splat(v);
    for (; i + 4 <= n; i += 4) {
      const q = p + (<usize>i << 2);
      v128.store(q, f32x4.add(v128.load(q), vv));
    }
  }
  for (; i < n; i++) {
    const q = p + (<usize>i << 2);
    store<f32>(q, load<f32>(q) + v);
  }
}
