// Data augmentation on batches of images, as torchvision's transforms: the base class, compose(),
// and the uniform draws every random transform makes from a Generator.
import { Tensor, formatShape, tensor, checkTensor } from '../tensor.js';
import { Generator, checkSeed, nextU32 } from '../random.js';
import { checkOptions, described, describe, integer } from '../options.js';
import { Augmenter } from './pipeline.js';

/**
 * A random augmentation of images, applied to whole batches: `sn.transforms.randomCrop`,
 * `randomHorizontalFlip`, and `compose` of them. Give them to fit (`{ transforms }`), which
 * applies them to every training batch (not to validation data), drawing from the fit's own
 * generator into buffers made once; or call `apply(x, { seed })` on a batch yourself.
 *
 * A transform works on the last two dimensions of each sample (height and width), so a sample
 * is [C, H, W] (or [H, W], or more leading dimensions); every plane of a sample gets the same
 * crop or flip.
 */
export abstract class Transform {
  /**
   * The shape of one sample after this transform, from its shape before (e.g. [3, 32, 32] → [3, 28, 28]
   * for a 28×28 crop); throws an Error naming the transform when the sample does not fit it.
   */
  abstract outputShape(sampleShape: readonly number[]): number[];

  /**
   * @internal The primitive transforms this one runs, in order (a compose, flattened). Only the
   * library's transforms have them: a subclass of Transform made elsewhere is refused here.
   */
  steps(): readonly Step[] {
    throw new Error(`${this}: only the transforms of sn.transforms (and compose of them) can run; a Transform subclass has no kernel`);
  }

  /**
   * Applies the transform to a batch x [N, ...sample] and returns a new host tensor (x is not
   * changed). The random draws come from a generator seeded with `seed` (any safe integer, used
   * modulo 2^32) or, without one, seeded from the global generator (sn.manualSeed).
   *
   * @example
   * ```js
   * const crop = sn.transforms.randomCrop(32, { padding: 4 });
   * const augmented = crop.apply(images, { seed: 1 });   // [N, 3, 32, 32], each shifted by up to 4 pixels
   * ```
   */
  apply(x: Tensor, options: { seed?: number } = {}): Tensor {
    const where = `${this}.apply`;
    checkTensor(where, 'x', x, '[N, ...sample]');
    checkOptions(where, options, { seed: described(integer(), 'a safe integer (it is used modulo 2^32)') });
    if (x.dtype !== 'float32') throw new Error(`${where}: x must be float32, got ${x.dtype}`);
    if (x.shape.length < 1) throw new Error(`${where}: x must be a batch [N, ...sample], got shape ${formatShape(x.shape)}`);
    const n = x.shape[0];
    const augmenter = new Augmenter(this, x.shape.slice(1), where);
    const rng = new Generator(options.seed === undefined ? nextU32() : checkSeed(options.seed, where));
    const source = x.onDevice ? x.toArray() : x.view();
    const out = augmenter.run(source, n, rng, false);
    const size = n * augmenter.outputSize;
    // A copy when nothing ran (x itself came back), so the result never aliases x.
    return tensor(out === source ? source.slice(0, size) : out.subarray(0, size), [n, ...augmenter.outputShape]);
  }

  /** The transform as in torchvision, e.g. `RandomCrop(size=(32, 32), padding=4)`. */
  abstract toString(): string;
}

/** @internal A transform that is not a compose: it maps one batch buffer to another. */
export abstract class Step extends Transform {
  /** @internal Whether run may write into the buffer it reads (same size in and out). */
  abstract readonly inPlace: boolean;

  /**
   * @internal Transforms the first n samples of `src` (each of shape `shape`, as outputShape
   * accepted) into `dst`, drawing from `rng` in sample order; dst may be src when inPlace.
   */
  abstract run(src: Float32Array, dst: Float32Array, n: number, shape: readonly number[], rng: Generator): void;

  /** @internal */
  override steps(): readonly Step[] { return [this]; }
}

/** The transforms of a compose, run one after the other on each batch. */
class Compose extends Transform {
  private readonly flat: readonly Step[];

  constructor(readonly transforms: readonly Transform[]) {
    super();
    this.flat = transforms.flatMap((t) => t.steps());
  }

  outputShape(sampleShape: readonly number[]): number[] {
    return this.transforms.reduce<number[]>((shape, t) => t.outputShape(shape), [...sampleShape]);
  }

  /** @internal */
  override steps(): readonly Step[] { return this.flat; }

  toString(): string {
    return `Compose([${this.transforms.map(String).join(', ')}])`;
  }
}

/**
 * Several transforms applied one after the other, as torchvision's Compose. fit's `transforms`
 * option also takes the list itself.
 *
 * @param transforms The transforms, in the order they run (composes may nest).
 *
 * @example
 * ```js
 * const augment = sn.transforms.compose([
 *   sn.transforms.randomCrop(32, { padding: 4 }),
 *   sn.transforms.randomHorizontalFlip(),
 * ]);
 * await sn.fit(model, images, labels, { transforms: augment, epochs: 30 });
 * ```
 */
export function compose(transforms: readonly Transform[]): Transform {
  return new Compose(checkTransformList('compose', 'transforms', transforms));
}

/** Throws unless `list` is an array of Transforms, naming the first that is not. */
export function checkTransformList(where: string, name: string, list: unknown): readonly Transform[] {
  if (!Array.isArray(list)) throw new Error(`${where}: ${name} must be an array of transforms (e.g. [sn.transforms.randomHorizontalFlip()]), got ${describe(list)}`);
  list.forEach((t, i) => {
    if (!(t instanceof Transform)) {
      throw new Error(`${where}: ${name}[${i}] must be a transform (e.g. sn.transforms.randomCrop(32, { padding: 4 })), got ${describe(t)}`);
    }
    checkRunnable(`${where}: ${name}[${i}]`, t);
  });
  return [...list] as Transform[];
}

/** Throws unless the transform is one of the library's (a subclass made elsewhere has no kernel). */
function checkRunnable(where: string, t: Transform): void {
  try {
    t.steps();
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
}

/** A transform, or a list of them as one compose; null for an empty list. */
export function asTransform(where: string, value: unknown): Transform | null {
  if (value instanceof Transform) { checkRunnable(`${where}: transforms`, value); return value; }
  const list = checkTransformList(where, 'transforms', value);
  return list.length === 0 ? null : list.length === 1 ? list[0] : new Compose(list);
}

/** The height and width of a sample (its last two dimensions), or an Error naming the transform. */
export function imageSize(transform: Transform, shape: readonly number[]): [number, number] {
  if (shape.length < 2) {
    throw new Error(`${transform}: expects samples with height and width as their last two dimensions ([C, H, W] images), got samples of shape ${formatShape(shape)}`);
  }
  return [shape[shape.length - 2], shape[shape.length - 1]];
}
