// Float64 references of layers and ops on flat arrays (row-major, NCHW), for tests of whole
// graphs: a network written with these is evaluated in float64 and differentiated by finite
// differences, and compared with what simdnet computes in float32.

/** The number of elements of a shape. */
export const sizeOf = (shape) => shape.reduce((a, b) => a * b, 1);

const pairOf = (v) => (typeof v === 'number' ? [v, v] : v);

/**
 * The sizes of a convolution: K, stride, dilation a number or [h, w]; pad the zeros before the
 * image, a number or [h, w], and padAfter those after it (default: pad), so 'same' with an even
 * kernel is { pad: ⌊total / 2⌋, padAfter: ⌈total / 2⌉ }.
 */
export function convGeometry([N, C, H, W], O, K, { stride = 1, pad = 0, padAfter = pad, dilation = 1, groups = 1 } = {}) {
  const [KH, KW] = pairOf(K), [SH, SW] = pairOf(stride), [PH, PW] = pairOf(pad), [AH, AW] = pairOf(padAfter), [DH, DW] = pairOf(dilation);
  const OH = Math.floor((H + PH + AH - DH * (KH - 1) - 1) / SH) + 1, OW = Math.floor((W + PW + AW - DW * (KW - 1) - 1) / SW) + 1;
  return { N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, cg: C / groups, og: O / groups };
}

/** Calls visit(xIndex, wIndex, yIndex) for every product x·w that contributes to y (padding skipped). */
function forEachConvTap(g, visit) {
  const { N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, cg, og } = g;
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
    const c0 = Math.floor(o / og) * cg, yi = ((n * O + o) * OH + oy) * OW + ox;
    for (let c = 0; c < cg; c++) for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
      const iy = oy * SH - PH + ky * DH, ix = ox * SW - PW + kx * DW;
      if (iy >= 0 && iy < H && ix >= 0 && ix < W) visit(((n * C + c0 + c) * H + iy) * W + ix, ((o * cg + c) * KH + ky) * KW + kx, yi);
    }
  }
}

/**
 * Cross-correlation of x [N, C, H, W] with w [O, C/groups, KH, KW] (+ bias), zero padding;
 * K, options and padding as convGeometry.
 */
export function conv2d(x, shape, w, b, O, K, opts = {}) {
  const g = convGeometry(shape, O, K, opts);
  const y = new Float64Array(g.N * O * g.OH * g.OW);
  if (b) for (let i = 0; i < y.length; i++) y[i] = b[Math.floor(i / (g.OH * g.OW)) % O];
  forEachConvTap(g, (xi, wi, yi) => { y[yi] += x[xi] * w[wi]; });
  return { y, shape: [g.N, O, g.OH, g.OW] };
}

/** The gradients of Σ dy·conv2d(x, w, b) with respect to x, w and b (arguments as conv2d). */
export function conv2dGrad(x, shape, w, dy, O, K, opts = {}) {
  const g = convGeometry(shape, O, K, opts);
  const dx = new Float64Array(x.length), dw = new Float64Array(w.length), db = new Float64Array(O);
  forEachConvTap(g, (xi, wi, yi) => { dx[xi] += w[wi] * dy[yi]; dw[wi] += x[xi] * dy[yi]; });
  for (let i = 0; i < dy.length; i++) db[Math.floor(i / (g.OH * g.OW)) % O] += dy[i];
  return { dx, dw, db };
}

/** Training-mode batch normalisation over every dimension but 1 (biased batch variance). */
export function batchNorm(x, shape, gamma, beta, eps = 1e-5) {
  const C = shape[1], L = sizeOf(shape.slice(2)), N = shape[0];
  const y = new Float64Array(x.length);
  for (let c = 0; c < C; c++) {
    let mean = 0, sq = 0;
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) mean += x[(n * C + c) * L + l];
    mean /= N * L;
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) sq += (x[(n * C + c) * L + l] - mean) ** 2;
    const inv = 1 / Math.sqrt(sq / (N * L) + eps);
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) {
      const i = (n * C + c) * L + l;
      y[i] = (x[i] - mean) * inv * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
    }
  }
  return y;
}

/** y = x·Wᵀ + b over rows of nIn. */
export function linear(x, W, b, nIn, nOut) {
  const rows = x.length / nIn, y = new Float64Array(rows * nOut);
  for (let r = 0; r < rows; r++) for (let o = 0; o < nOut; o++) {
    let s = b ? b[o] : 0;
    for (let i = 0; i < nIn; i++) s += x[r * nIn + i] * W[o * nIn + i];
    y[r * nOut + o] = s;
  }
  return y;
}

export const relu = (x) => x.map((v) => Math.max(v, 0));
export const tanh = (x) => x.map(Math.tanh);
export const sigmoid = (x) => x.map((v) => 1 / (1 + Math.exp(-v)));

/** numpy-style broadcasting of a binary op over two shapes. */
export function broadcast(a, aShape, b, bShape, op) {
  const rank = Math.max(aShape.length, bShape.length);
  const pa = [...Array(rank - aShape.length).fill(1), ...aShape], pb = [...Array(rank - bShape.length).fill(1), ...bShape];
  const shape = pa.map((d, i) => Math.max(d, pb[i]));
  const strides = (s) => { const st = new Array(rank); let k = 1; for (let i = rank - 1; i >= 0; i--) { st[i] = s[i] === 1 ? 0 : k; k *= s[i]; } return st; };
  const sa = strides(pa), sb = strides(pb);
  const y = new Float64Array(sizeOf(shape));
  const idx = new Array(rank).fill(0);
  for (let i = 0; i < y.length; i++) {
    let ia = 0, ib = 0;
    for (let d = 0; d < rank; d++) { ia += idx[d] * sa[d]; ib += idx[d] * sb[d]; }
    y[i] = op(a[ia], b[ib]);
    for (let d = rank - 1; d >= 0; d--) { if (++idx[d] < shape[d]) break; idx[d] = 0; }
  }
  return { y, shape };
}

/** The mean over `dims` (keepdim or not). */
export function mean(x, shape, dims, keepdim = false) {
  const rank = shape.length;
  const ds = dims.map((d) => (d < 0 ? d + rank : d));
  const outShape = shape.map((d, i) => (ds.includes(i) ? 1 : d));
  const count = ds.reduce((n, d) => n * shape[d], 1);
  const y = new Float64Array(sizeOf(outShape));
  const idx = new Array(rank).fill(0);
  for (let i = 0; i < x.length; i++) {
    let o = 0;
    for (let d = 0; d < rank; d++) o = o * outShape[d] + (ds.includes(d) ? 0 : idx[d]);
    y[o] += x[i] / count;
    for (let d = rank - 1; d >= 0; d--) { if (++idx[d] < shape[d]) break; idx[d] = 0; }
  }
  return { y, shape: keepdim ? outShape : shape.filter((_, i) => !ds.includes(i)) };
}

/** Concatenation along `dim`. */
export function cat(parts, shapes, dim) {
  const rank = shapes[0].length, d = dim < 0 ? dim + rank : dim;
  const outer = sizeOf(shapes[0].slice(0, d)), inner = sizeOf(shapes[0].slice(d + 1));
  const total = shapes.reduce((s, sh) => s + sh[d], 0);
  const y = new Float64Array(outer * total * inner);
  let offset = 0;
  parts.forEach((p, k) => {
    const len = shapes[k][d] * inner;
    for (let o = 0; o < outer; o++) for (let j = 0; j < len; j++) y[o * total * inner + offset + j] = p[o * len + j];
    offset += len;
  });
  const shape = [...shapes[0]];
  shape[d] = total;
  return { y, shape };
}

/** Softmax (or log-softmax) along `dim`. */
export function softmax(x, shape, dim, log = false) {
  const d = dim < 0 ? dim + shape.length : dim;
  const outer = sizeOf(shape.slice(0, d)), C = shape[d], inner = sizeOf(shape.slice(d + 1));
  const y = new Float64Array(x.length);
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, x[(o * C + c) * inner + i]);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(x[(o * C + c) * inner + i] - max);
    for (let c = 0; c < C; c++) {
      const k = (o * C + c) * inner + i;
      y[k] = log ? x[k] - max - Math.log(sum) : Math.exp(x[k] - max) / sum;
    }
  }
  return y;
}

/** Σ w·y: the scalar whose gradient a backward with dy = w computes. */
export const dot = (w, y) => y.reduce((s, v, i) => s + w[i] * v, 0);

/** Values as float64 after rounding to float32 (what simdnet holds). */
export const f32 = (a) => Float64Array.from(Float32Array.from(a));

// ---- elementwise activations in float64 ----

/** The logistic function of one value, computed on the side where exp cannot overflow. */
export const logistic = (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));

/** erfc(z) for z ≥ 0 in float64: 1 − erf by its Taylor series below 2, a continued fraction above (relative error ~1e-14). */
export function erfc(z) {
  if (z < 2) {
    let term = z, sum = z;
    for (let n = 1; n < 60; n++) { term *= -z * z / n; sum += term / (2 * n + 1); }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(z) = e^(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + ...)))), evaluated from the tail.
  let f = z;
  for (let k = 60; k >= 1; k--) f = z + (k / 2) / f;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
}
/** The standard normal CDF Φ and density φ, in float64. */
export const normalCdf = (v) => (v >= 0 ? 1 - erfc(v / Math.SQRT2) / 2 : erfc(-v / Math.SQRT2) / 2);
export const normalPdf = (v) => Math.exp(-v * v / 2) / Math.sqrt(2 * Math.PI);
/** The constants of PyTorch's tanh GELU: √(2/π) and 0.044715. */
export const GELU_BETA = Math.sqrt(2 / Math.PI), GELU_KAPPA = 0.044715;
/** PyTorch's tanh GELU in float64, written with sigmoid(2u) = (1 + tanh u)/2 (no cancellation for x ≪ 0). */
export const geluTanh = (v) => v * logistic(2 * GELU_BETA * (v + GELU_KAPPA * v ** 3));
export const geluTanhGrad = (v) => {
  const s = logistic(2 * GELU_BETA * (v + GELU_KAPPA * v ** 3));
  return s + 2 * v * s * (1 - s) * GELU_BETA * (1 + 3 * GELU_KAPPA * v * v);
};
export const hardswish = (v) => (v <= -3 ? 0 : v >= 3 ? v : v * (v + 3) / 6);
export const hardswishGrad = (v) => (v < -3 ? 0 : v <= 3 ? v / 3 + 0.5 : 1);
export const elu = (alpha) => (v) => (v > 0 ? v : alpha * Math.expm1(v));
export const eluGrad = (alpha) => (v) => (v > 0 ? 1 : alpha * Math.exp(v));
