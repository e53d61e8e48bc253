// Turns a drawing into an MNIST-like 28×28 image the way MNIST itself was made: the digit's
// bounding box is scaled (keeping its aspect ratio) to fit 20×20, with grey levels from the
// averaging, then placed in a 28×28 field so that its centre of mass sits at the centre.
// A network trained on MNIST has only ever seen digits prepared like this; a raw downscale of the
// whole pad (a small digit in a corner, say) looks nothing like them and is misclassified.
// Pure functions, no DOM, so they run (and are tested) in Node too.

export const SIZE = 28;
export const BOX = 20;
/** Pixels darker than this (0..255) are background when finding the bounding box. */
const INK = 16;

/**
 * `gray` holds width×height intensities (0 background .. 255 ink), row-major. Returns 28×28
 * intensities in 0..255 as a Float32Array, or null when nothing is drawn.
 */
export function mnistify(gray, width, height) {
  const box = boundingBox(gray, width, height);
  if (!box) return null;
  const scale = BOX / Math.max(box.w, box.h);
  const dw = Math.max(1, Math.round(box.w * scale)), dh = Math.max(1, Math.round(box.h * scale));
  const crop = new Float32Array(box.w * box.h);
  for (let y = 0; y < box.h; y++) {
    for (let x = 0; x < box.w; x++) crop[y * box.w + x] = gray[(box.y + y) * width + box.x + x];
  }
  const small = resizeArea(crop, box.w, box.h, dw, dh);
  const { cx, cy } = centreOfMass(small, dw, dh);
  // Whole-pixel shift as MNIST used; kept inside the field so a lopsided digit is not cut off.
  const ox = clamp(Math.round(SIZE / 2 - cx), 0, SIZE - dw), oy = clamp(Math.round(SIZE / 2 - cy), 0, SIZE - dh);
  const out = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) out[(oy + y) * SIZE + ox + x] = small[y * dw + x];
  }
  return out;
}

/** The smallest rectangle holding every ink pixel, or null for an empty drawing. */
export function boundingBox(gray, width, height) {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (gray[y * width + x] > INK) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/** Centre of mass in pixel coordinates (a pixel's centre is at +0.5). */
export function centreOfMass(values, width, height) {
  let sum = 0, sx = 0, sy = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = values[y * width + x];
      sum += v; sx += v * (x + 0.5); sy += v * (y + 0.5);
    }
  }
  return sum > 0 ? { cx: sx / sum, cy: sy / sum } : { cx: width / 2, cy: height / 2 };
}

/**
 * Area-average resampling: each output pixel is the mean of the source area it covers,
 * fractional edges weighted. Unlike bilinear sampling it does not skip thin strokes when
 * shrinking a 280-pixel drawing to 20.
 */
export function resizeArea(src, w, h, dw, dh) {
  const rows = new Float32Array(dw * h);
  for (let y = 0; y < h; y++) resample(src, y * w, 1, w, rows, y * dw, 1, dw);
  const out = new Float32Array(dw * dh);
  for (let x = 0; x < dw; x++) resample(rows, x, dw, h, out, x, dw, dh);
  return out;
}

/** One line of n values (from `at`, every `step`) averaged down or up into m values. */
function resample(src, at, step, n, dst, to, dstep, m) {
  const ratio = n / m;
  for (let i = 0; i < m; i++) {
    const a = i * ratio, b = (i + 1) * ratio;
    let sum = 0;
    // min(n, ·): (i + 1) * ratio can round to just above n.
    for (let k = Math.floor(a), end = Math.min(n, Math.ceil(b)); k < end; k++) sum += src[at + k * step] * (Math.min(b, k + 1) - Math.max(a, k));
    dst[to + i * dstep] = sum / ratio;
  }
}

function clamp(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }
