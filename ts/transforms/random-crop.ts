// RandomCrop(size, padding) as torchvision's: zero padding around each image, then a crop of
// `size` at a uniformly random position in the padded image.
import { type Generator, randomBelow } from '../random.js';
import { formatShape } from '../tensor.js';
import { checkOptions, describe } from '../options.js';
import { Step, Transform, imageSize } from './transform.js';

/** The options of {@link randomCrop}. */
export interface RandomCropOptions {
  /**
   * Zeros added around each image before cropping, as torchvision's `padding`: one number for
   * every side, [leftRight, topBottom], or [left, top, right, bottom]. Default 0.
   */
  padding?: number | readonly number[];
}

/** See {@link randomCrop}. */
class RandomCrop extends Step {
  readonly inPlace = false;

  constructor(
    /** The crop's height and width. */
    readonly size: readonly [number, number],
    /** Zeros added on the left, top, right and bottom. */
    readonly padding: readonly [number, number, number, number],
  ) { super(); }

  outputShape(sampleShape: readonly number[]): number[] {
    const [h, w] = imageSize(this, sampleShape);
    const [left, top, right, bottom] = this.padding, [th, tw] = this.size;
    if (h + top + bottom < th || w + left + right < tw) {
      throw new Error(`${this}: the crop ${th}×${tw} is larger than the padded image ` +
        `${h + top + bottom}×${w + left + right} (samples of shape ${formatShape(sampleShape)})`);
    }
    return [...sampleShape.slice(0, -2), th, tw];
  }

  /** @internal For each sample: the crop's top row i, then its left column j, in the padded image. */
  run(src: Float32Array, dst: Float32Array, n: number, shape: readonly number[], rng: Generator): void {
    // Indexing rather than destructuring or reduce(): a batch allocates nothing.
    const rank = shape.length, h = shape[rank - 2], w = shape[rank - 1];
    const left = this.padding[0], top = this.padding[1], right = this.padding[2], bottom = this.padding[3];
    const th = this.size[0], tw = this.size[1];
    let planes = 1;
    for (let k = 0; k < rank - 2; k++) planes *= shape[k];
    const inPlane = h * w, outPlane = th * tw;
    for (let s = 0; s < n; s++) {
      const i = randomBelow(rng, h + top + bottom - th + 1);
      const j = randomBelow(rng, w + left + right - tw + 1);
      // Output (y, x) reads input (y + dy, x + dx); columns [x0, x1) of a row fall inside the image.
      const dy = i - top, dx = j - left;
      const x0 = Math.min(tw, Math.max(0, -dx)), x1 = Math.max(x0, Math.min(tw, w - dx));
      for (let p = 0; p < planes; p++) {
        const from = (s * planes + p) * inPlane, to = (s * planes + p) * outPlane;
        for (let y = 0; y < th; y++) {
          // Plain loops: a fill() call per short row costs more than the row itself.
          const row = to + y * tw, sy = y + dy;
          if (sy < 0 || sy >= h) { for (let x = 0; x < tw; x++) dst[row + x] = 0; continue; }
          const at = from + sy * w + dx;
          for (let x = 0; x < x0; x++) dst[row + x] = 0;
          for (let x = x0; x < x1; x++) dst[row + x] = src[at + x];
          for (let x = x1; x < tw; x++) dst[row + x] = 0;
        }
      }
    }
  }

  toString(): string {
    const [l, t, r, b] = this.padding;
    const padding = l === t && t === r && r === b ? `${l}` : l === r && t === b ? `(${l}, ${t})` : `(${l}, ${t}, ${r}, ${b})`;
    return `RandomCrop(size=(${this.size.join(', ')}), padding=${padding})`;
  }
}

/**
 * Crops each image to `size` at a random position, after padding it with zeros, as torchvision's
 * `RandomCrop(size, padding)` (with `fill=0`, `padding_mode='constant'`): the top row and the left
 * column of the crop in the padded image are uniform over every position where it fits. The
 * usual CIFAR augmentation is `randomCrop(32, { padding: 4 })`: shifts of up to 4 pixels.
 *
 * Shape: samples [..., H, W] (e.g. [C, H, W]) become [..., size[0], size[1]], all planes of a
 * sample cropped alike. Random draws: per sample, the row then the column.
 *
 * @param size The crop's height and width: one number for a square, or [height, width].
 * @param options `padding`: one number for every side (default 0), [leftRight, topBottom], or
 *   [left, top, right, bottom], as torchvision orders them.
 *
 * @example
 * ```js
 * const crop = sn.transforms.randomCrop(32, { padding: 4 });
 * await sn.fit(model, images, labels, { transforms: [crop, sn.transforms.randomHorizontalFlip()] });
 * ```
 */
export function randomCrop(size: number | readonly number[], options: RandomCropOptions = {}): Transform {
  const where = 'randomCrop';
  checkOptions(where, options, {
    padding: { expected: 'a non-negative integer, or an array of 2 or 4 of them', test: (v) => isSizes(v, [1, 2, 4], 0) },
  });
  if (!isSizes(size, [1, 2], 1)) throw new Error(`${where}: size must be a positive integer or [height, width], got ${describe(size)}`);
  const s = typeof size === 'number' ? [size, size] : size.length === 1 ? [size[0], size[0]] : size;
  const p = options.padding ?? 0;
  const pad = typeof p === 'number' ? [p, p, p, p] : p.length === 1 ? [p[0], p[0], p[0], p[0]] : p.length === 2 ? [p[0], p[1], p[0], p[1]] : p;
  return new RandomCrop([s[0], s[1]], [pad[0], pad[1], pad[2], pad[3]]);
}

/** A safe integer ≥ min, or an array of `lengths` of them. */
function isSizes(v: unknown, lengths: number[], min: number): boolean {
  const ok = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= min;
  return ok(v) || (Array.isArray(v) && lengths.includes(v.length) && v.every(ok));
}
