// Pixels of an image, a canvas, a video frame or plain RGBA bytes as a [1, C, H, W] tensor in
// [0, 1], optionally resized bilinearly. Only reading a DOM image needs a canvas (a page or a
// worker); RGBA bytes ({ data, width, height }, an ImageData) convert anywhere, Node included.
import { Tensor, tensor } from '../tensor.js';
import { checkOptions, checkValue, describe, described, either, integer, oneOf, type Rule } from '../options.js';

/**
 * RGBA pixels: 4 bytes per pixel (red, green, blue, alpha, each 0–255), row by row from the top
 * left. An `ImageData` is one; so is any object of this shape, such as the output of a PNG decoder
 * or of node-canvas in Node.
 */
export interface RgbaPixels {
  /** `width × height × 4` bytes: a Uint8ClampedArray (as ImageData holds) or a Uint8Array (a Node Buffer). */
  readonly data: Uint8ClampedArray | Uint8Array;
  /** Pixels per row, a positive integer. */
  readonly width: number;
  /** Rows, a positive integer. */
  readonly height: number;
}

/**
 * A DOM image that a 2D canvas can draw: an `HTMLCanvasElement`, `OffscreenCanvas`,
 * `HTMLImageElement` (loaded), `HTMLVideoElement` (with a frame), `ImageBitmap` or `VideoFrame`.
 * Declared by the size properties these carry, so that the type needs no DOM library (a Node
 * project type-checks against it too); which one it is gets checked when it is read.
 */
export interface DrawableImage {
  /** A canvas's, OffscreenCanvas's or ImageBitmap's width in pixels (read at that size). */
  readonly width?: number;
  /** A canvas's, OffscreenCanvas's or ImageBitmap's height in pixels. */
  readonly height?: number;
  /** An HTMLImageElement's own width: images are read at their natural size, not their CSS size. */
  readonly naturalWidth?: number;
  /** An HTMLImageElement's own height. */
  readonly naturalHeight?: number;
  /** An HTMLVideoElement's frame width: its current frame is read at this size. */
  readonly videoWidth?: number;
  /** An HTMLVideoElement's frame height. */
  readonly videoHeight?: number;
  /** A VideoFrame's display width: the frame is read at its display size. */
  readonly displayWidth?: number;
  /** A VideoFrame's display height. */
  readonly displayHeight?: number;
}

/** What fromPixels reads: RGBA bytes ({ data, width, height }, an ImageData) or a DOM image. */
export type PixelSource = RgbaPixels | DrawableImage;

/** Options of fromPixels: `{ channels: 3, size: the source's }` by default. */
export interface FromPixelsOptions {
  /**
   * 3 (default): red, green and blue planes. 1: luma, 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601,
   * as PIL's convert('L') and OpenCV's RGB2GRAY weigh them). Alpha is dropped in both cases.
   */
  channels?: 1 | 3;
  /**
   * The output size, `[height, width]` or one number for a square; default: the source's size.
   * Resized bilinearly with half-pixel centres (align_corners=False, no antialiasing), as
   * `torch.nn.functional.interpolate(x, size, mode='bilinear')` does by default. Each output pixel
   * mixes the 2×2 source pixels nearest its centre, so shrinking by much more than 2× skips detail
   * (thin strokes); shrink the image on a canvas first, or average areas yourself, for that.
   */
  size?: number | readonly [number, number];
}

const WHERE = 'sn.browser.fromPixels';
/** More values than this (1 GiB of float32) are refused before anything is allocated. */
const MAX_VALUES = 2 ** 28;

const dimension = integer(1);
const sizeRule: Rule = either([dimension, {
  expected: '',
  test: (v) => Array.isArray(v) && v.length === 2 && v.every((d) => dimension.test(d)),
}], 'a positive integer or [height, width], two positive integers');

/**
 * Reads the pixels of an image into a tensor of shape `[1, C, H, W]` (a batch of one, channels
 * first, as `Conv2d` takes it) with values in [0, 1] (byte / 255), ready for a model.
 *
 * `source` is one of:
 * - RGBA bytes: an `ImageData` or any `{ data, width, height }` with `width × height × 4` bytes
 *   (see RgbaPixels). This works everywhere, Node included.
 * - A DOM image: an `HTMLCanvasElement`, `OffscreenCanvas`, `HTMLImageElement` (loaded: await
 *   `img.decode()`), `HTMLVideoElement` (with a current frame), `ImageBitmap` or `VideoFrame`. Its
 *   pixels are read through a scratch canvas at the image's own size, so this needs a page or a
 *   worker; the image's own canvas, if any, is left alone. A cross-origin image without CORS
 *   cannot be read (the browser taints the canvas) and gives an Error.
 *
 * Alpha is dropped, not composited: a transparent pixel counts as its colour (usually black), so
 * draw on an opaque background. The values are not normalised beyond / 255; for a model trained
 * on standardised MNIST, apply `(x − MNIST_MEAN) / MNIST_STD` yourself.
 *
 * @param source The image or RGBA bytes.
 * @param options `channels` (3 by default, or 1 for luma) and `size` ([H, W] or a number; the
 *   source's size by default; bilinear, align_corners=False as PyTorch's interpolate).
 * @returns A float32 tensor `[1, C, H, W]` on the JS side (no wasm memory; `sn.ready()` is not needed).
 *
 * @example
 * // In a page: a 32×32 canvas as a CIFAR-style colour image, and a webcam frame halved for a model.
 * const x = sn.browser.fromPixels(canvas);                                    // [1, 3, 32, 32]
 * const probabilities = model.predict(x);
 * const frame = sn.browser.fromPixels(video, { channels: 1, size: [240, 320] });   // [1, 1, 240, 320]
 * @example
 * // In Node, from RGBA bytes (an ImageData-shaped object):
 * const x = sn.browser.fromPixels({ data: rgba, width: 32, height: 32 });   // [1, 3, 32, 32]
 */
export function fromPixels(source: PixelSource, options: FromPixelsOptions = {}): Tensor {
  checkOptions(WHERE, options, { channels: oneOf(1, 3), size: sizeRule });
  const channels = options.channels ?? 3;
  const pixels = isRgbaShaped(source) ? checkRgba(source) : readDrawable(source);
  const [outH, outW] = options.size === undefined ? [pixels.height, pixels.width]
    : typeof options.size === 'number' ? [options.size, options.size] : options.size;
  if (channels * outH * outW > MAX_VALUES) {
    throw new Error(`${WHERE}: an output of ${channels}×${outH}×${outW} values is more than ${MAX_VALUES} (1 GiB of float32); choose a smaller size`);
  }
  const planes = toPlanes(pixels, channels);
  const out = new Float32Array(channels * outH * outW);
  const { width: w, height: h } = pixels;
  for (let c = 0; c < channels; c++) resizeBilinear(planes, c * h * w, w, h, out, c * outH * outW, outW, outH);
  return tensor(out, [1, channels, outH, outW]);
}

/** An object with a `data` property: meant as RGBA bytes (checked by checkRgba). */
function isRgbaShaped(source: unknown): source is { data: unknown; width: unknown; height: unknown } {
  return typeof source === 'object' && source !== null && 'data' in source;
}

function checkRgba(source: { data: unknown; width: unknown; height: unknown }): RgbaPixels {
  const { data, width, height } = source;
  checkValue(WHERE, 'width', width, described(dimension, 'a positive integer (pixels per row)'));
  checkValue(WHERE, 'height', height, described(dimension, 'a positive integer (rows)'));
  if (!(data instanceof Uint8ClampedArray || data instanceof Uint8Array)) {
    throw new Error(`${WHERE}: data must be a Uint8ClampedArray or Uint8Array of RGBA bytes, got ${describe(data)}`);
  }
  const w = width as number, h = height as number;
  if (data.length !== w * h * 4) {
    throw new Error(`${WHERE}: data must hold width × height × 4 = ${w} × ${h} × 4 = ${w * h * 4} RGBA bytes, got ${data.length}`);
  }
  return { data, width: w, height: h };
}

// ---- DOM images ----

/** The DOM classes a 2D canvas can draw, where this environment has them, with each one's size. */
function drawableKinds(): [name: string, ctor: unknown, size: (s: DrawableImage) => [number, number], ready?: (s: DrawableImage) => string | null][] {
  const g = globalThis as Record<string, unknown>;
  return [
    ['HTMLCanvasElement', g.HTMLCanvasElement, (s) => [s.width!, s.height!]],
    ['OffscreenCanvas', g.OffscreenCanvas, (s) => [s.width!, s.height!]],
    ['ImageBitmap', g.ImageBitmap, (s) => [s.width!, s.height!]],
    ['HTMLImageElement', g.HTMLImageElement, (s) => [s.naturalWidth!, s.naturalHeight!],
      (s) => ((s as unknown as { complete: boolean }).complete ? null : 'has not loaded yet (await img.decode() first)')],
    ['HTMLVideoElement', g.HTMLVideoElement, (s) => [s.videoWidth!, s.videoHeight!],
      // HAVE_CURRENT_DATA: a frame to draw.
      (s) => ((s as unknown as { readyState: number }).readyState >= 2 ? null : "has no frame yet (wait for its 'loadeddata' event)")],
    ['VideoFrame', g.VideoFrame, (s) => [s.displayWidth!, s.displayHeight!],
      // A closed frame has no pixels left and reports a size of 0.
      (s) => (s.displayWidth ? null : 'is closed (frame.close() was called)')],
  ];
}

/** A scratch 2D context of the given size: an OffscreenCanvas, else a document's canvas; null without either. */
function scratchContext(w: number, h: number): CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null {
  if (typeof OffscreenCanvas !== 'undefined') return new OffscreenCanvas(w, h).getContext('2d', { willReadFrequently: true });
  if (typeof document !== 'undefined') {
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    return canvas.getContext('2d', { willReadFrequently: true });
  }
  return null;
}

function readDrawable(source: unknown): RgbaPixels {
  const kind = drawableKinds().find(([, ctor]) => typeof ctor === 'function' && source instanceof (ctor as new () => unknown));
  if (!kind) {
    const canvasless = typeof OffscreenCanvas === 'undefined' && typeof document === 'undefined';
    throw new Error(`${WHERE}: source must be RGBA bytes ({ data, width, height } or an ImageData) or an image a canvas can draw ` +
      `(HTMLCanvasElement, OffscreenCanvas, HTMLImageElement, HTMLVideoElement, ImageBitmap, VideoFrame), got ${describe(source)}` +
      (canvasless ? '; this environment has no canvas (Node), so only RGBA bytes can be read here' : ''));
  }
  const [name, , size, ready] = kind;
  const image = source as DrawableImage;
  const notReady = ready?.(image);
  if (notReady) throw new Error(`${WHERE}: the ${name} ${notReady}`);
  const [w, h] = size(image);
  if (!(w > 0 && h > 0)) throw new Error(`${WHERE}: the ${name} is ${w}×${h} pixels: nothing to read`);
  const ctx = scratchContext(w, h);
  if (!ctx) throw new Error(`${WHERE}: cannot make a 2D canvas to read the ${name}'s pixels`);
  try {
    ctx.drawImage(source as CanvasImageSource, 0, 0, w, h);
  } catch (err) {
    throw new Error(`${WHERE}: cannot draw the ${name} (${(err as Error).message})`);
  }
  let data: Uint8ClampedArray;
  try {
    data = ctx.getImageData(0, 0, w, h).data;
  } catch (err) {
    throw new Error(`${WHERE}: cannot read the ${name}'s pixels (${(err as Error).message}); an image from another origin must be ` +
      "served with CORS and loaded with crossOrigin = 'anonymous'");
  }
  return { data, width: w, height: h };
}

// ---- arithmetic ----

/** Channel planes (float64) of the RGBA bytes: R, G, B, or luma (299 R + 587 G + 114 B) / 1000. */
function toPlanes({ data, width, height }: RgbaPixels, channels: 1 | 3): Float64Array {
  const n = width * height;
  const planes = new Float64Array(channels * n);
  if (channels === 1) {
    // Integer sums, one division: white is exactly 1 and grey v exactly v / 255.
    for (let i = 0; i < n; i++) planes[i] = (299 * data[4 * i] + 587 * data[4 * i + 1] + 114 * data[4 * i + 2]) / 255000;
  } else {
    for (let i = 0; i < n; i++) {
      planes[i] = data[4 * i] / 255;
      planes[n + i] = data[4 * i + 1] / 255;
      planes[2 * n + i] = data[4 * i + 2] / 255;
    }
  }
  return planes;
}

/**
 * For each output index along an axis of `inSize` → `outSize`: the two input indexes and the
 * weight of the second, as PyTorch's bilinear interpolation with align_corners=False: the source
 * coordinate (i + 0.5) · in/out − 0.5, clamped at 0, between its floor and the next index (the
 * last one repeats at the far edge).
 */
function axisWeights(inSize: number, outSize: number): { lo: Int32Array; hi: Int32Array; t: Float64Array } {
  const lo = new Int32Array(outSize), hi = new Int32Array(outSize), t = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const src = Math.max((i + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    lo[i] = i0;
    hi[i] = Math.min(i0 + 1, inSize - 1);
    t[i] = src - i0;
  }
  return { lo, hi, t };
}

/** One plane of w×h at `from` resized to ow×oh into `out` at `to`; the same size copies. */
function resizeBilinear(src: Float64Array, from: number, w: number, h: number, out: Float32Array, to: number, ow: number, oh: number): void {
  if (w === ow && h === oh) {
    for (let i = 0; i < w * h; i++) out[to + i] = src[from + i];
    return;
  }
  const x = axisWeights(w, ow), y = axisWeights(h, oh);
  for (let i = 0; i < oh; i++) {
    const r0 = from + y.lo[i] * w, r1 = from + y.hi[i] * w, ty = y.t[i];
    for (let j = 0; j < ow; j++) {
      const c0 = x.lo[j], c1 = x.hi[j], tx = x.t[j];
      const top = src[r0 + c0] + (src[r0 + c1] - src[r0 + c0]) * tx;
      const bottom = src[r1 + c0] + (src[r1 + c1] - src[r1 + c0]) * tx;
      out[to + i * ow + j] = top + (bottom - top) * ty;
    }
  }
}
