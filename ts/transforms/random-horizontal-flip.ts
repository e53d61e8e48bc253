// RandomHorizontalFlip(p) as torchvision's: each image mirrored left to right with probability p.
import type { Generator } from '../random.js';
import { checkValue, finite } from '../options.js';
import { Step, Transform, imageSize } from './transform.js';

/** See {@link randomHorizontalFlip}. */
class RandomHorizontalFlip extends Step {
  readonly inPlace = true;

  constructor(
    /** The probability that an image is flipped. */
    readonly p: number,
  ) { super(); }

  outputShape(sampleShape: readonly number[]): number[] {
    imageSize(this, sampleShape);
    return [...sampleShape];
  }

  /** @internal For each sample one draw u in [0, 1): flipped when u < p. */
  run(src: Float32Array, dst: Float32Array, n: number, shape: readonly number[], rng: Generator): void {
    // Indexing rather than destructuring or reduce(): a batch allocates nothing.
    const w = shape[shape.length - 1];
    let rowsPerSample = 1;
    for (let k = 0; k < shape.length - 1; k++) rowsPerSample *= shape[k];
    for (let s = 0; s < n; s++) {
      const flip = rng.nextU32() / 4294967296 < this.p;
      const first = s * rowsPerSample * w, end = first + rowsPerSample * w;
      if (!flip) {
        if (dst !== src) for (let k = first; k < end; k++) dst[k] = src[k];
        continue;
      }
      for (let row = first; row < end; row += w) {
        if (dst === src) {
          for (let a = row, b = row + w - 1; a < b; a++, b--) { const t = dst[a]; dst[a] = dst[b]; dst[b] = t; }
        } else {
          for (let x = 0; x < w; x++) dst[row + x] = src[row + w - 1 - x];
        }
      }
    }
  }

  toString(): string {
    return `RandomHorizontalFlip(p=${this.p})`;
  }
}

/**
 * Mirrors each image left to right with probability `p`, as torchvision's
 * `RandomHorizontalFlip(p)`. Shape: samples [..., H, W] keep their shape, all planes of a sample
 * flipped alike. Random draws: one per sample, u uniform in [0, 1), flipped when u < p.
 *
 * @param p The probability of a flip, in [0, 1]. Default 0.5.
 *
 * @example
 * ```js
 * await sn.fit(model, images, labels, { transforms: [sn.transforms.randomHorizontalFlip()] });
 * ```
 */
export function randomHorizontalFlip(p = 0.5): Transform {
  checkValue('randomHorizontalFlip', 'p', p, finite({ min: 0, max: 1 }));
  return new RandomHorizontalFlip(p);
}
