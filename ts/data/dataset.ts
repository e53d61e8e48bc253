// Datasets that need not fit in memory: an async iterable of { x, y } elements with map, shuffle,
// batch and take, as tf.data's Dataset. Elements are samples until batch(n), batches after it;
// fit and evaluate take a dataset of batches. Each pass (each epoch of a fit) reads the source
// again from its start, so only what the pipeline holds at once (a shuffle buffer, a batch, a
// reader's chunk) is in memory.
import { Tensor, formatShape } from '../tensor.js';
import { Generator, nextU32, randomBelow } from '../random.js';
import { checkCount } from './check.js';
import { boolean, checkOptions, checkValue, described, describe, func, integer } from '../options.js';

/** One sample: an input, e.g. an image [C, H, W], and its class label or a float32 target tensor. */
export interface Sample {
  x: Tensor;
  y: number | Tensor;
}

/** A batch of n samples: inputs [n, ...] and n class labels, or a float32 target tensor [n, ...]. */
export interface Batch {
  x: Tensor;
  y: Int32Array | Tensor;
}

/** What a dataset holds: a sample ({@link Sample}) or a batch ({@link Batch}), or what map() made of one. */
export interface Example {
  x: Tensor;
  y: unknown;
}

/** The options of {@link Dataset.fromGenerator}. */
export interface FromGeneratorOptions {
  /** The number of elements a pass yields, when known (fit shows it in the progress bar). */
  size?: number;
  /** Whether the elements are batches (x [n, ...]) rather than samples. Default false. */
  batched?: boolean;
}

/** @internal Starts a pass over a dataset; shuffles draw from `rng`. */
type Open<T> = (rng: Generator) => AsyncGenerator<T, void, undefined>;

/**
 * A dataset that yields `{ x, y }` elements one at a time, asynchronously, like tf.data's Dataset
 * (or PyTorch's Dataset and DataLoader): data that does not fit in memory is read as it is
 * needed. Elements are samples ({ x: a Tensor such as [C, H, W], y: a class label or a float32
 * target Tensor }) until `batch(n)`, which stacks them into batches ({ x: [n, ...], y: an
 * Int32Array of n labels or a target [n, ...] }). `fit` and `evaluate` take a dataset of batches.
 *
 * Every pass (every epoch of a fit, every `for await`) starts again from the source: a file is
 * read again from its beginning and a shuffle draws a new order. The random numbers of
 * `shuffle` come from the fit's own generator when fit iterates (so `seed` repeats the run),
 * else from a generator seeded from the global one (`sn.manualSeed`).
 *
 * @example
 * ```js
 * const train = (await sn.data.cifar10Dataset('cifar-10-batches-bin', { split: 'train' }))
 *   .shuffle(10000).batch(128);
 * const test = (await sn.data.cifar10Dataset('cifar-10-batches-bin', { split: 'test' })).batch(512);
 * await sn.fit(model, train, { epochs: 30, validationData: test });
 * ```
 */
export class Dataset<T extends Example = Example> implements AsyncIterable<T> {
  /** @internal */
  private readonly open: Open<T>;
  /** The number of elements a pass yields, or null when unknown. */
  readonly size: number | null;
  /** Whether the elements are batches (after `batch(n)`) rather than samples. */
  readonly batched: boolean;

  private constructor(open: Open<T>, size: number | null, batched: boolean) {
    this.open = open;
    this.size = size;
    this.batched = batched;
  }

  /**
   * The samples of in-memory data: `{ x: x[i], y: y[i] }` for every row i, in order. The samples
   * of a host tensor are views of it (no copy).
   *
   * @param x The inputs [N, ...], float32.
   * @param y N class labels (an Int32Array or an array of integers), or a float32 Tensor target [N, ...].
   */
  static fromTensors(x: Tensor, y: Int32Array | readonly number[] | Tensor): Dataset<Sample> {
    const where = 'Dataset.fromTensors';
    if (!(x instanceof Tensor) || x.dtype !== 'float32' || x.shape.length < 1) {
      throw new Error(`${where}: x must be a float32 Tensor [N, ...], got ${describe(x)}`);
    }
    const n = x.shape[0], values = x.onDevice ? x.toArray() : x.view(), rowShape = x.shape.slice(1), rowSize = n === 0 ? 0 : x.size / n;
    let label: ((i: number) => number | Tensor);
    if (y instanceof Tensor) {
      if (y.dtype !== 'float32' || y.shape.length < 1 || y.shape[0] !== n) {
        throw new Error(`${where}: y must be labels or a float32 Tensor target of ${n} rows (as x [${x.shape.join(', ')}]), got ${describe(y)}`);
      }
      const t = y.onDevice ? y.toArray() : y.view(), tShape = y.shape.slice(1), tSize = n === 0 ? 0 : y.size / n;
      label = (i) => new Tensor(tShape, t.subarray(i * tSize, (i + 1) * tSize));
    } else {
      if (!(y instanceof Int32Array) && !Array.isArray(y)) throw new Error(`${where}: y must be class labels (an Int32Array or an array of integers) or a float32 Tensor target, got ${describe(y)}`);
      if (y.length !== n) throw new Error(`${where}: y has ${y.length} labels, x has ${n} samples`);
      for (let i = 0; i < n; i++) {
        if (!Number.isInteger(y[i])) throw new Error(`${where}: label at index ${i} is ${describe(y[i])}, expected an integer class index`);
      }
      const labels = Int32Array.from(y);
      label = (i) => labels[i];
    }
    return new Dataset<Sample>(async function* () {
      for (let i = 0; i < n; i++) yield { x: new Tensor(rowShape, values.subarray(i * rowSize, (i + 1) * rowSize)), y: label(i) };
    }, n, false);
  }

  /**
   * A dataset over what `make` returns, called once per pass: an iterable or async iterable of
   * `{ x, y }` elements (an async generator function reading a source, for instance).
   *
   * @param make Returns a new iterable (or async iterable) of elements each time it is called.
   * @param options `size`: the elements per pass, when known; `batched`: the elements are batches.
   *
   * @example
   * ```js
   * const data = sn.data.Dataset.fromGenerator(async function* () {
   *   for (const file of files) yield await readSample(file);   // { x: Tensor [3, 32, 32], y: label }
   * }, { size: files.length });
   * ```
   */
  static fromGenerator<T extends Example>(make: () => Iterable<T> | AsyncIterable<T>, options: FromGeneratorOptions = {}): Dataset<T> {
    const where = 'Dataset.fromGenerator';
    checkValue(where, 'make', make, described(func, 'a function returning an iterable or async iterable of { x, y }'));
    checkOptions(where, options, { size: described(integer(0), 'a non-negative integer'), batched: boolean });
    return new Dataset<T>(async function* () {
      const source = make();
      const iterable = typeof source === 'object' && source !== null &&
        (typeof (source as AsyncIterable<T>)[Symbol.asyncIterator] === 'function' || typeof (source as Iterable<T>)[Symbol.iterator] === 'function');
      if (!iterable) throw new Error(`${where}: make() must return an iterable or async iterable of { x, y }, got ${describe(source)}`);
      yield* source;
    }, options.size ?? null, options.batched ?? false);
  }

  /**
   * A dataset of `fn(element)` for each element, in order; `fn` may be async. It keeps this
   * dataset's size and whether its elements are batches, so `fn` should keep them as they are
   * (standardising a batch: `ds.batch(64).map(({ x, y }) => ({ x: sn.data.normalize(x, mean, std), y }))`).
   */
  map<U extends Example>(fn: (element: T) => U | Promise<U>): Dataset<U> {
    checkValue('Dataset.map', 'fn', fn, described(func, 'a function (element) => element'));
    const open = this.open;
    return new Dataset<U>(async function* (rng) {
      for await (const e of open(rng)) yield await fn(e);
    }, this.size, this.batched);
  }

  /**
   * The elements in random order, as tf.data's shuffle: a buffer of `bufferSize` elements is
   * filled, then each element yielded is drawn uniformly from the buffer and its place taken by
   * the next element of the source; at the end the buffer is emptied in random order. A buffer as
   * large as the dataset gives a uniform permutation; a smaller one, less memory and a more local
   * shuffle. Each pass draws a new order.
   *
   * @param bufferSize The elements held at once, ≥ 1.
   */
  shuffle(bufferSize: number): Dataset<T> {
    checkCount(bufferSize, 'bufferSize', 'Dataset.shuffle', 1);
    const open = this.open;
    return new Dataset<T>(async function* (rng) {
      const buffer: T[] = [];
      for await (const e of open(rng)) {
        if (buffer.length < bufferSize) { buffer.push(e); continue; }
        const j = randomBelow(rng, bufferSize);
        const out = buffer[j];
        buffer[j] = e;
        yield out;
      }
      while (buffer.length > 0) {
        const j = randomBelow(rng, buffer.length);
        const out = buffer[j];
        buffer[j] = buffer[buffer.length - 1];
        buffer.pop();
        yield out;
      }
    }, this.size, this.batched);
  }

  /**
   * Samples stacked into batches of `batchSize` (the last may be smaller, unless `dropLast`):
   * x [batchSize, ...] from the samples' x, which must all have one shape; y an Int32Array of
   * their labels (integers), or a target Tensor [batchSize, ...] from float32 target tensors of
   * one shape. Each batch is new memory, so batches may be kept.
   *
   * @param batchSize Samples per batch, ≥ 1.
   * @param options `dropLast`: leave out a last batch smaller than batchSize (default false).
   */
  batch(batchSize: number, options: { dropLast?: boolean } = {}): Dataset<Batch> {
    const where = 'Dataset.batch';
    checkCount(batchSize, 'batchSize', where, 1);
    if (batchSize > 0x7fffffff) throw new Error(`${where}: batchSize ${batchSize} does not fit Int32Array indices`);
    checkOptions(where, options, { dropLast: boolean });
    if (this.batched) throw new Error(`${where}: the elements are batches already; batch a dataset of samples`);
    const dropLast = options.dropLast ?? false, open = this.open;
    const size = this.size === null ? null : dropLast ? Math.floor(this.size / batchSize) : Math.ceil(this.size / batchSize);
    return new Dataset<Batch>(async function* (rng) {
      let pending: Example[] = [], index = 0;
      for await (const e of open(rng)) {
        pending.push(e);
        if (pending.length === batchSize) { yield stack(pending, index); index += batchSize; pending = []; }
      }
      if (pending.length > 0 && !dropLast) yield stack(pending, index);
    }, size, true);
  }

  /** The first `count` elements (all of them when there are fewer). */
  take(count: number): Dataset<T> {
    checkCount(count, 'count', 'Dataset.take');
    const open = this.open;
    return new Dataset<T>(async function* (rng) {
      if (count === 0) return;
      let taken = 0;
      for await (const e of open(rng)) {
        yield e;
        if (++taken >= count) return;
      }
    }, this.size === null ? null : Math.min(this.size, count), this.batched);
  }

  /** @internal A pass whose shuffles draw from `rng` (fit's generator, or one seeded from it). */
  iterate(rng: Generator): AsyncGenerator<T, void, undefined> {
    return this.open(rng);
  }

  /** A pass over the elements; shuffles draw from a generator seeded from the global one (sn.manualSeed). */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.open(new Generator(nextU32()));
  }

  /** `Dataset(size=…, batched)`. */
  toString(): string {
    return `Dataset(${this.size === null ? 'size unknown' : `size=${this.size}`}${this.batched ? ', batches' : ''})`;
  }
}

/** The batch of `samples`, the first of which is element `first` of the pass (for messages). */
function stack(samples: Example[], first: number): Batch {
  const where = 'Dataset.batch';
  const at = (i: number) => `element ${first + i}`;
  samples.forEach((s, i) => {
    if (typeof s !== 'object' || s === null || !(s.x instanceof Tensor)) {
      throw new Error(`${where}: ${at(i)} must be a sample { x: Tensor, y: label or Tensor }, got ${describe(s)}${typeof s === 'object' && s !== null ? ` with x ${describe(s.x)}` : ''}`);
    }
  });
  const x0 = samples[0].x;
  const xs = stackTensors(samples.map((s) => s.x), 'x', at);
  const y0 = samples[0].y;
  if (typeof y0 === 'number') {
    const labels = new Int32Array(samples.length);
    samples.forEach((s, i) => {
      const v = s.y;
      if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) > 0x7fffffff) {
        throw new Error(`${where}: ${at(i)} has y ${describe(v)}; the first of its batch has a label, so every y must be an integer class index`);
      }
      labels[i] = v;
    });
    return { x: new Tensor([samples.length, ...x0.shape], xs), y: labels };
  }
  if (y0 instanceof Tensor) {
    const ys = samples.map((s, i) => {
      if (!(s.y instanceof Tensor)) throw new Error(`${where}: ${at(i)} has y ${describe(s.y)}; the first of its batch has a Tensor target, so every y must be one`);
      return s.y;
    });
    return { x: new Tensor([samples.length, ...x0.shape], xs), y: new Tensor([samples.length, ...y0.shape], stackTensors(ys, 'y', at)) };
  }
  throw new Error(`${where}: ${at(0)} has y ${describe(y0)}; y must be a class label (an integer) or a float32 Tensor target`);
}

/** The values of same-shaped float32 tensors, one after the other. */
function stackTensors(tensors: Tensor[], name: string, at: (i: number) => string): Float32Array {
  const shape = tensors[0].shape, size = tensors[0].size;
  const out = new Float32Array(tensors.length * size);
  tensors.forEach((t, i) => {
    if (t.dtype !== 'float32') throw new Error(`Dataset.batch: ${at(i)} has ${name} of dtype ${t.dtype}, expected float32`);
    if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
      throw new Error(`Dataset.batch: ${at(i)} has ${name} of shape ${formatShape(t.shape)}, the first of its batch ${formatShape(shape)}; the samples of a batch must have one shape`);
    }
    out.set(t.onDevice ? t.toArray() : t.view(), i * size);
  });
  return out;
}
