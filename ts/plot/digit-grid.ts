// A grid of classified images (seed 001's picture): each image captioned with the predicted and
// true label, wrong predictions framed and captioned in red so they stand out at a glance.
import { Tensor } from '../tensor.js';
import { pngDataUrl } from './base64.js';
import { encodePng } from './png.js';
import { RgbCanvas, normalizeToGray, textWidth } from './raster.js';
import { el, estimateTextWidth, image as svgImage, svgDocument, text } from './svg.js';
import { checkOptions, described, describe, integer, string } from '../options.js';

const positive = described(integer(1), 'a positive integer');

/** The options of digitGridSvg() and digitGridPng(). */
export interface DigitGridOptions {
  /** Images per row (default 5). */
  columns?: number;
  /** Height of one image in pixels (default 28, MNIST's); taken from the tensor when images is one. */
  height?: number;
  /** Width of one image in pixels (default 28); taken from the tensor when images is one. */
  width?: number;
  /** Screen pixels per image pixel (default 3). */
  scale?: number;
  /** A heading above the grid (SVG only). */
  title?: string;
}

/** The red of a wrong prediction; right ones are captioned in near-black. */
export const WRONG_COLOUR = '#d62728';
const WRONG_RGB = [214, 39, 40] as const;
const RIGHT_RGB = [34, 34, 34] as const;

interface Grid { n: number; h: number; w: number; s: number; columns: number; gray: Uint8Array[]; }

/** Checks the arguments and normalises each image to gray on its own (any input scale). */
function prepare(images: Float32Array | Tensor, labels: Int32Array, predicted: Int32Array, options: DigitGridOptions, what: string): Grid {
  checkOptions(what, options, { columns: positive, height: positive, width: positive, scale: positive, title: string });
  for (const [name, v] of [['labels', labels], ['predicted', predicted]] as const) {
    if (!(v instanceof Int32Array) && !Array.isArray(v)) throw new Error(`${what}: ${name} must be an Int32Array or an array of integers, got ${describe(v)}`);
  }
  let h = options.height ?? 28, w = options.width ?? 28;
  let data: Float32Array;
  if (images instanceof Tensor) {
    data = images.toArray();
    if (images.shape.length >= 2 && options.height === undefined && options.width === undefined) [h, w] = images.shape.slice(-2);
  } else if (images instanceof Float32Array) {
    data = images;
  } else {
    throw new Error(`${what}: images must be a Float32Array (N·H·W values) or a Tensor, got ${describe(images)}`);
  }
  const n = labels.length;
  if (predicted.length !== n) throw new Error(`${what}: ${n} labels but ${predicted.length} predictions`);
  for (const [k, v] of [['height', h], ['width', w], ['columns', options.columns ?? 5], ['scale', options.scale ?? 3]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${what}: ${k} must be a positive integer, got ${describe(v)}`);
  }
  if (data.length !== n * h * w) {
    throw new Error(`${what}: ${n} labels at ${h}×${w} need ${n * h * w} image values, got ${data.length}`);
  }
  if (n === 0) throw new Error(`${what}: no images to draw`);
  const gray = Array.from({ length: n }, (_, i) => normalizeToGray(data.subarray(i * h * w, (i + 1) * h * w), `${what} image ${i}`));
  return { n, h, w, s: options.scale ?? 3, columns: Math.min(options.columns ?? 5, n), gray };
}

/** Cell geometry: the image, then two caption lines below it. */
function cellSize(g: Grid, captionH: number) {
  const imgW = g.w * g.s, imgH = g.h * g.s;
  const cellW = Math.max(imgW, 64) + 12, cellH = imgH + captionH + 12;
  return { imgW, imgH, cellW, cellH, rows: Math.ceil(g.n / g.columns) };
}

/**
 * An SVG of the images in a grid, each captioned "pred 7 / true 7"; a wrong prediction gets a
 * red frame and a red caption. Each cell is a <g class="right"> or <g class="wrong"> with
 * data-index, so pages can style or script them.
 */
export function digitGridSvg(images: Float32Array | Tensor, labels: Int32Array, predicted: Int32Array, options: DigitGridOptions = {}): string {
  const g = prepare(images, labels, predicted, options, 'digitGridSvg');
  const c = cellSize(g, 18);
  const titleH = options.title ? 30 : 0;
  const children: string[] = [];
  if (options.title) children.push(text(8, 20, options.title, { 'font-size': 15, 'font-weight': 'bold' }));
  const wrong = countWrong(labels, predicted);
  for (let i = 0; i < g.n; i++) {
    const ok = labels[i] === predicted[i];
    const x = (i % g.columns) * c.cellW + 6, y = titleH + Math.floor(i / g.columns) * c.cellH + 6;
    const ix = x + Math.floor((c.cellW - 12 - c.imgW) / 2);
    children.push(el('g', { class: ok ? 'right' : 'wrong', 'data-index': i }, [
      svgImage(ix, y, c.imgW, c.imgH, pngDataUrl(encodePng(g.w, g.h, g.gray[i], 1))),
      ok ? '' : el('rect', { x: ix - 1.5, y: y - 1.5, width: c.imgW + 3, height: c.imgH + 3, fill: 'none', stroke: WRONG_COLOUR, 'stroke-width': 3 }),
      text(x + (c.cellW - 12) / 2, y + c.imgH + 15, `pred ${predicted[i]} / true ${labels[i]}`, {
        'text-anchor': 'middle', 'font-size': 11, fill: ok ? '#222' : WRONG_COLOUR, 'font-weight': ok ? undefined : 'bold',
      }),
    ].filter(Boolean)));
  }
  const height = titleH + c.rows * c.cellH + 20;
  children.push(text(8, height - 6, `${g.n - wrong} of ${g.n} right`, { 'font-size': 12, fill: '#444' }));
  return svgDocument(Math.max(g.columns * c.cellW, options.title ? estimateTextWidth(options.title, 15, true) + 16 : 0), height, children);
}

/** The same grid as PNG bytes (RGB), with the captions on two lines in a bitmap font. */
export function digitGridPng(images: Float32Array | Tensor, labels: Int32Array, predicted: Int32Array, options: DigitGridOptions = {}): Uint8Array {
  const g = prepare(images, labels, predicted, options, 'digitGridPng');
  const c = cellSize(g, 28);
  const canvas = new RgbCanvas(g.columns * c.cellW, c.rows * c.cellH);
  for (let i = 0; i < g.n; i++) {
    const ok = labels[i] === predicted[i], colour = ok ? RIGHT_RGB : WRONG_RGB;
    const x = (i % g.columns) * c.cellW + 6, y = Math.floor(i / g.columns) * c.cellH + 6;
    const ix = x + Math.floor((c.cellW - 12 - c.imgW) / 2);
    if (!ok) canvas.frame(ix - 3, y - 3, c.imgW + 6, c.imgH + 6, 3, WRONG_RGB);
    canvas.paste(ix, y, g.gray[i], g.w, g.h, 1, g.s);
    const lines = [`pred ${predicted[i]}`, `true ${labels[i]}`];
    lines.forEach((s, k) => canvas.print(x + Math.floor((c.cellW - 12 - textWidth(s, 2)) / 2), y + c.imgH + 5 + k * 12, s, colour, 2));
  }
  return encodePng(canvas.width, canvas.height, canvas.pixels, 3);
}

function countWrong(labels: Int32Array, predicted: Int32Array): number {
  let n = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] !== predicted[i]) n++;
  return n;
}
