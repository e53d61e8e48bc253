// Feature maps: what each filter of a convolution responds to in one image (seed 003's pictures).
// featureMaps runs the model's layers up to a Conv2d (or the activation after it) and returns one
// map per output channel; featureMapsSvg and featureMapsPng lay out the input and every map in a
// grid, each map stretched min–max to gray so weak and strong filters are equally visible.
import { Conv2d } from '../layers/conv2d.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { Elementwise } from '../layers/elementwise.js';
import type { Module } from '../module.js';
import type { Sequential } from '../sequential.js';
import { Tensor, formatShape, checkTensor } from '../tensor.js';
import { pngDataUrl } from './base64.js';
import { encodePng } from './png.js';
import { RgbCanvas, normalizeToGray, normalizeToRgb, textWidth } from './raster.js';
import { el, escapeXml, estimateTextWidth, image as svgImage, svgDocument, text } from './svg.js';
import { Spec, checkOptions, checkValue, described, integer, instanceOf, oneOf, string } from '../options.js';
import { Module as ModuleClass } from '../module.js';
import { saveTrainingFlags } from '../module-tree.js';

const featureMapsSpec: Spec = {
  layer: described(integer(0), 'a layer index (an integer ≥ 0)'),
  after: oneOf('conv', 'activation'),
};

const pictureSpec: Spec = {
  ...featureMapsSpec,
  columns: described(integer(1), 'a positive integer'),
  cell: described(integer(1, 4096), 'a positive integer ≤ 4096 (pixels)'),
  title: string,
};

/** The options of featureMaps(). */
export interface FeatureMapsOptions {
  /** The index in the model (as model.at(i) counts) of the Conv2d to look at; the first Conv2d by default. */
  layer?: number;
  /** The convolution's output ('conv', default) or the activation that follows it ('activation'). */
  after?: 'conv' | 'activation';
}

/** What featureMaps() returns: a convolution's output channels for one image. */
export interface FeatureMaps {
  /** One height×width map per output channel, row-major. */
  maps: Float32Array[];
  /** The maps' height. */
  height: number;
  /** The maps' width. */
  width: number;
  /** The number of maps (the convolution's output channels). */
  channels: number;
  /** The Conv2d's index in the model. */
  layer: number;
  /** The index of the last layer run: the Conv2d's, or the activation's for after: 'activation'. */
  through: number;
}

/** The options of featureMapsSvg() and featureMapsPng(). */
export interface FeatureMapsPictureOptions extends FeatureMapsOptions {
  /** Tiles per row; by default up to 8. */
  columns?: number;
  /** Target tile size in pixels; small maps are scaled up by a whole factor to about this size. */
  cell?: number;
  /** Heading; by default the layer's description. */
  title?: string;
}

/**
 * Runs `model`'s layers on one image [1, C, H, W] up to the chosen convolution and returns its
 * output channels. The layers run in eval mode (BatchNorm uses running statistics, Dropout is off)
 * and get their previous mode back. Like any forward call it overwrites the layers' saved
 * activations, so do not call it between a training step's forward and backward.
 */
export function featureMaps(model: Sequential, image: Tensor, options: FeatureMapsOptions = {}): FeatureMaps {
  checkOptions('featureMaps', options, featureMapsSpec);
  return computeFeatureMaps(model, image, options);
}

/** featureMaps once its options are checked (the picture functions check more of them). */
function computeFeatureMaps(model: Sequential, image: Tensor, options: FeatureMapsOptions): FeatureMaps {
  checkValue('featureMaps', 'model', model, instanceOf(ModuleClass, 'a model (a Sequential)'));
  checkTensor('featureMaps', 'image', image, '[1, C, H, W]');
  if (image.shape.length !== 4 || image.shape[0] !== 1) {
    throw new Error(`featureMaps: image must have shape [1, C, H, W] (one image), got ${formatShape(image.shape)}`);
  }
  const layers = model.children().map(([, m]) => m);
  const index = options.layer ?? layers.findIndex((l) => l instanceof Conv2d);
  if (index < 0) throw new Error('featureMaps: the model has no Conv2d layer');
  const conv = layers[index];
  if (!Number.isInteger(index) || !(conv instanceof Conv2d)) {
    throw new Error(`featureMaps: layer ${index} is ${conv ? conv.label() : `not in the model (it has ${layers.length} layers)`}, not a Conv2d`);
  }
  const after = options.after ?? 'conv';
  const through = after === 'conv' ? index : activationAfter(layers, index);

  const run = layers.slice(0, through + 1);
  // Each module's own flag, nested ones too: l.train(mode) would give a nested Sequential's
  // layers the Sequential's flag.
  const restores = run.map((l) => saveTrainingFlags(l));
  let y: Tensor = image;
  try {
    for (const l of run) l.eval();
    run.forEach((l, i) => {
      try {
        y = l.forward(y);
      } catch (err) {
        throw new Error(`featureMaps: layer ${i} ${(err as Error).message}`);
      }
    });
  } finally {
    for (const restore of restores) restore();
  }
  const [, channels, height, width] = y.shape;
  const all = y.toArray(), plane = height * width;
  const maps = Array.from({ length: channels }, (_, c) => all.slice(c * plane, (c + 1) * plane));
  return { maps, height, width, channels, layer: index, through };
}

/** The index of the activation after layer `index`, looking past a BatchNorm2d in between. */
function activationAfter(layers: Module[], index: number): number {
  let j = index + 1;
  while (layers[j] instanceof BatchNorm2d) j++;
  if (!(layers[j] instanceof Elementwise)) {
    throw new Error(`featureMaps: layer ${index} (${layers[index].label()}) is not followed by an activation (ReLU, LeakyReLU, Sigmoid, Tanh); use after: 'conv'`);
  }
  return j;
}

/** One picture in the grid: 8-bit pixels, their size and a caption. */
interface Tile { pixels: Uint8Array; channels: 1 | 3; width: number; height: number; label: string; note: string; }

function tiles(where: string, model: Sequential, image: Tensor, options: FeatureMapsPictureOptions): { tiles: Tile[]; title: string } {
  checkOptions(where, options, pictureSpec);
  const fm = computeFeatureMaps(model, image, options);
  const [, C, H, W] = image.shape;
  const input = image.toArray(), plane = H * W;
  const out: Tile[] = [];
  if (C === 3) {
    out.push({ pixels: normalizeToRgb(input, H, W, 'featureMaps input'), channels: 3, width: W, height: H, label: 'input', note: range(input) });
  } else {
    for (let c = 0; c < C; c++) {
      const values = input.subarray(c * plane, (c + 1) * plane);
      out.push({ pixels: normalizeToGray(values, 'featureMaps input'), channels: 1, width: W, height: H, label: C === 1 ? 'input' : `input ${c}`, note: range(values) });
    }
  }
  fm.maps.forEach((m, c) => out.push({ pixels: normalizeToGray(m, `featureMaps channel ${c}`), channels: 1, width: fm.width, height: fm.height, label: `ch ${c}`, note: range(m) }));
  const layers = model.children();
  const what = fm.through === fm.layer ? 'output' : `after ${layers[fm.through][1].constructor.name}`;
  return { tiles: out, title: options.title ?? `layer ${fm.layer} ${layers[fm.layer][1]} ${what}` };
}

function range(values: Float32Array): string {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return `min ${lo.toPrecision(3)}, max ${hi.toPrecision(3)}`;
}

/** Grid geometry shared by the SVG and PNG versions. */
function layout(ts: Tile[], options: FeatureMapsPictureOptions, labelH: number, titleH: number) {
  const target = options.cell ?? 84;
  const columns = options.columns ?? Math.min(ts.length, 8);
  const scales = ts.map((t) => Math.max(1, Math.floor(target / Math.max(t.width, t.height))));
  const cell = Math.max(target, ...ts.map((t, i) => Math.max(t.width, t.height) * scales[i]));
  const gap = 12, rows = Math.ceil(ts.length / columns);
  const place = ts.map((t, i) => {
    const cx = gap + (i % columns) * (cell + gap), cy = titleH + gap + Math.floor(i / columns) * (cell + labelH + gap);
    const w = t.width * scales[i], h = t.height * scales[i];
    return { x: cx + Math.floor((cell - w) / 2), y: cy + Math.floor((cell - h) / 2), w, h, scale: scales[i], cx, cy };
  });
  return { cell, place, width: gap + columns * (cell + gap), height: titleH + gap + rows * (cell + labelH + gap) };
}

/**
 * featureMaps() as a picture: an SVG grid of the input image, then every channel's map, each
 * labelled and scaled to its own range.
 *
 * @example
 * ```js
 * writeFileSync('features.svg', sn.plot.featureMapsSvg(model, sn.tensor(image, [1, 1, 28, 28])));
 * ```
 */
export function featureMapsSvg(model: Sequential, image: Tensor, options: FeatureMapsPictureOptions = {}): string {
  const { tiles: ts, title } = tiles('featureMapsSvg', model, image, options);
  const g = layout(ts, options, 18, 30);
  const children = [text(12, 20, title, { 'font-size': 14, 'font-weight': 'bold' })];
  ts.forEach((t, i) => {
    const p = g.place[i];
    children.push(el('g', { class: 'tile', 'data-label': t.label }, [
      el('title', {}, [escapeXml(`${t.label}: ${t.note}`)]),
      svgImage(p.x, p.y, p.w, p.h, pngDataUrl(encodePng(t.width, t.height, t.pixels, t.channels))),
      el('rect', { x: p.x - 0.5, y: p.y - 0.5, width: p.w + 1, height: p.h + 1, fill: 'none', stroke: '#888' }),
      text(p.cx + g.cell / 2, p.cy + g.cell + 14, t.label, { 'text-anchor': 'middle', 'font-size': 12 }),
    ]));
  });
  return svgDocument(Math.max(g.width, estimateTextWidth(title, 14, true) + 24), g.height, children);
}

/** The same grid as PNG bytes (RGB), labelled in a small bitmap font. */
export function featureMapsPng(model: Sequential, image: Tensor, options: FeatureMapsPictureOptions = {}): Uint8Array {
  const { tiles: ts } = tiles('featureMapsPng', model, image, options);
  const g = layout(ts, options, 14, 0);
  const canvas = new RgbCanvas(g.width, g.height);
  ts.forEach((t, i) => {
    const p = g.place[i];
    canvas.frame(p.x - 1, p.y - 1, p.w + 2, p.h + 2, 1, [136, 136, 136]);
    canvas.paste(p.x, p.y, t.pixels, t.width, t.height, t.channels, p.scale);
    canvas.print(p.cx + Math.floor((g.cell - textWidth(t.label, 2)) / 2), p.cy + g.cell + 3, t.label, [0, 0, 0], 2);
  });
  return encodePng(g.width, g.height, canvas.pixels, 3);
}
