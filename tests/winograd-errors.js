// The error measure of the Winograd kernel tests (conv-winograd.test.js, conv-winograd-5x5.test.js):
// per element |a − b| against the sum of |bias| + Σ|w||x| over the element's output tile, and
// ‖a − b‖ / ‖b‖, from the float64 reference of tests/reference.js.
import * as assert from 'uvu/assert';
import { conv2d, conv2dGrad } from './reference.js';

/** |v| elementwise, as a new array of a's type. */
export const abs = (a) => a.map(Math.abs);

/**
 * The magnitude an output of an m×m-tile Winograd rounds against: the sum over its m×m output tile
 * (tiles start at row and column 0 of each plane) of |bias| + Σ|w||x| — the transforms mix every
 * input of the tile's (m+r−1)×(m+r−1) patch into each of its outputs. A tile at the plane's edge
 * also computes outputs beyond it, which the kernel discards but whose terms round with the rest (a
 * 7×1 plane's dx: the column the tile computes beside the real one brings terms that cancel only
 * after rounding), so `terms` holds |bias| + Σ|w||x| per output over the plane extended to whole
 * tiles, [planes, ceil(OH/m)·m, ceil(OW/m)·m]; the result is cropped to OH×OW.
 */
export function tileScale(terms, OH, OW, m = 2) {
  const EH = Math.ceil(OH / m) * m, EW = Math.ceil(OW / m) * m;
  const out = new Float64Array(terms.length / (EH * EW) * OH * OW), planes = terms.length / (EH * EW);
  for (let p = 0; p < planes; p++) {
    for (let ty = 0; ty < OH; ty += m) for (let tx = 0; tx < OW; tx += m) {
      let s = 0;
      for (let i = ty; i < ty + m; i++) for (let j = tx; j < tx + m; j++) s += terms[(p * EH + i) * EW + j];
      for (let i = ty; i < Math.min(ty + m, OH); i++) for (let j = tx; j < Math.min(tx + m, OW); j++) out[(p * OH + i) * OW + j] = s;
    }
  }
  return out;
}

/**
 * The magnitude a weight's gradient by Winograd rounds against: the largest Σ|dy||x| (`terms`, per
 * weight, [O, C, taps]) of its channel pair's `taps` weights — the back-transform Gᵀ Z G mixes all
 * of the pair's transformed sums into each weight, so one whose own terms are few (a 5×5 tap that
 * meets only padding on a 1-wide plane) still rounds against its neighbours'.
 */
export function pairMax(terms, taps) {
  const out = new Float64Array(terms.length);
  for (let p = 0; p < terms.length; p += taps) out.fill(Math.max(...terms.subarray(p, p + taps)), p, p + taps);
  return out;
}

/** Planes of H×W zero-extended after their last row and column to H2×W2. */
export function extendPlanes(a, planes, H, W, H2, W2) {
  const out = new Float64Array(planes * H2 * W2);
  for (let p = 0; p < planes; p++) for (let i = 0; i < H; i++) out.set(a.subarray((p * H + i) * W, (p * H + i + 1) * W), (p * H2 + i) * W2);
  return out;
}

/**
 * Per-element scales of forward and dx of case (x, w, b, dy) for tile size m and kernel size k
 * (3 unless given): the terms of the plane extended to whole tiles come from the reference run on
 * x (for dx: x and dy) zero-extended by the rows and columns the last tiles overhang, which is
 * what the kernels read there.
 */
export function scales({ N, C, O, H, W }, opts, g, x, w, b, dy, m, k = 3) {
  const up = (n) => Math.ceil(n / m) * m;
  const eH = up(g.OH) - g.OH, eW = up(g.OW) - g.OW;
  const xf = extendPlanes(abs(x), N * C, H, W, H + eH, W + eW);
  const fwd = conv2d(xf, [N, C, H + eH, W + eW], abs(w), b && abs(b), O, k, opts).y;
  const dH = up(H) - H, dW = up(W) - W;
  const xd = extendPlanes(abs(x), N * C, H, W, H + dH, W + dW);
  const dyd = extendPlanes(abs(dy), N * O, g.OH, g.OW, g.OH + dH, g.OW + dW);
  const back = conv2dGrad(xd, [N, C, H + dH, W + dW], abs(w), dyd, O, k, opts).dx;
  return { scale: tileScale(fwd, g.OH, g.OW, m), scaleDx: tileScale(back, H, W, m) };
}

/** max_i |a − b| / scale_i and ‖a − b‖ / ‖b‖. */
export function errors(a, b, scale) {
  let worst = 0, num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    worst = Math.max(worst, scale[i] > 0 ? d / scale[i] : d > 0 ? Infinity : 0);
    num += d * d; den += b[i] * b[i];
  }
  return { maxScaled: worst, rel: den > 0 ? Math.sqrt(num / den) : Math.sqrt(num) };
}

/** Asserts both of errors()'s measures within `bound`. */
export function checkErrors(e, what, bound, relBound = bound) {
  assert.ok(e.maxScaled <= bound, `${what}: max |a − b| / (|b| + Σ|w||x|) = ${e.maxScaled} > ${bound}`);
  assert.ok(e.rel <= relBound, `${what}: ‖a − b‖ / ‖b‖ = ${e.rel} > ${relBound}`);
}
