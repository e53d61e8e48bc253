// sn.transforms: random crop with zero padding and horizontal flip, against a plain reference that
// draws the same numbers; composing; repeatability; no allocation per batch; fit applying them to
// training batches only; bad input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import v8 from 'node:v8';
import vm from 'node:vm';
import { PerformanceObserver } from 'node:perf_hooks';
import * as sn from 'simdnet';
import { Generator, randomBelow, Augmenter } from 'simdnet/internal';
import { rng as testRng, freshSeed } from './helpers.js';

await sn.ready();

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const silent = { verbose: 0 };

/** A batch [n, c, h, w] of distinct values (so any misplaced pixel shows). */
function batch(n, c, h, w, seed = 1) {
  const rand = testRng(seed);
  return sn.tensor(Float32Array.from({ length: n * c * h * w }, () => Math.round(rand() * 1e6) / 1e3 + 1), [n, c, h, w]);
}

/**
 * The plain reference of randomCrop: pad each plane with zeros into a new array, then copy the
 * window at (i, j) drawn as documented (per sample: the row, then the column).
 */
function refCrop(values, [n, c, h, w], [th, tw], [left, top, right, bottom], rng) {
  const ph = h + top + bottom, pw = w + left + right;
  const out = [];
  for (let s = 0; s < n; s++) {
    const i = randomBelow(rng, ph - th + 1), j = randomBelow(rng, pw - tw + 1);
    for (let p = 0; p < c; p++) {
      const padded = Array.from({ length: ph }, () => new Array(pw).fill(0));
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) padded[y + top][x + left] = values[((s * c + p) * h + y) * w + x];
      for (let y = 0; y < th; y++) for (let x = 0; x < tw; x++) out.push(padded[i + y][j + x]);
    }
  }
  return { values: out, shape: [n, c, th, tw] };
}

/** The plain reference of randomHorizontalFlip: one draw per sample, u < p flips every row. */
function refFlip(values, [n, c, h, w], p, rng) {
  const out = [];
  for (let s = 0; s < n; s++) {
    const flip = rng.nextU32() / 4294967296 < p;
    for (let r = 0; r < c * h; r++) {
      const row = Array.from(values.slice((s * c * h + r) * w, (s * c * h + r + 1) * w));
      out.push(...(flip ? row.reverse() : row));
    }
  }
  return { values: out, shape: [n, c, h, w] };
}

test('randomCrop matches the pad-then-crop reference for square and rectangular crops and every padding form', () => {
  const seed = freshSeed();
  const cases = [
    [[5, 3, 8, 8], 8, 2, [2, 2, 2, 2]],
    [[4, 2, 7, 9], [5, 6], [1, 3], [1, 3, 1, 3]],
    [[3, 1, 6, 5], [6, 5], [0, 2, 3, 1], [0, 2, 3, 1]],
    [[6, 3, 5, 5], 3, 0, [0, 0, 0, 0]],
    [[2, 2, 4, 4], [1, 1], 1, [1, 1, 1, 1]],
    [[3, 1, 2, 3], [5, 7], [2, 1, 2, 2], [2, 1, 2, 2]],
  ];
  for (const [shape, size, padding, sides] of cases) {
    const x = batch(...shape, seed);
    const crop = sn.transforms.randomCrop(size, { padding });
    const got = crop.apply(x, { seed });
    const sz = typeof size === 'number' ? [size, size] : size;
    const want = refCrop(x.toArray(), shape, sz, sides, new Generator(seed));
    assert.equal(got.shape, want.shape, `${crop} (seed ${seed})`);
    assert.equal([...got.toArray()], want.values, `${crop} on ${shape} (seed ${seed})`);
  }
});

test('randomCrop: every position comes up, the crop never leaves the padded image, x is unchanged', () => {
  // 1×1 crops of a 3×3 image padded by 1: 25 positions, 16 of them zeros of the padding.
  const x = sn.tensor(Float32Array.from({ length: 2000 * 9 }, (_, i) => (i % 9) + 1), [2000, 1, 3, 3]);
  const before = x.toArray();
  const out = sn.transforms.randomCrop(1, { padding: 1 }).apply(x, { seed: 3 }).toArray();
  const counts = new Array(10).fill(0);
  for (const v of out) counts[v]++;
  assert.ok(counts.slice(1).every((k) => k > 40), `every pixel is cropped sometimes: ${counts}`);
  // 16 of 25 positions are padding: about 1280 zeros of 2000.
  assert.ok(counts[0] > 1100 && counts[0] < 1450, `zeros ${counts[0]}`);
  assert.equal(x.toArray(), before, 'apply does not change its input');
  // No padding and the image's size: nothing moves.
  assert.equal([...sn.transforms.randomCrop([3, 3]).apply(x, { seed: 1 }).toArray()], [...before]);
});

test('randomHorizontalFlip matches the reference; p = 0 and p = 1 are exact', () => {
  const seed = freshSeed();
  const x = batch(9, 3, 4, 5, seed);
  for (const p of [0.5, 0.2, 0.9]) {
    const got = sn.transforms.randomHorizontalFlip(p).apply(x, { seed });
    assert.equal([...got.toArray()], refFlip(x.toArray(), x.shape, p, new Generator(seed)).values, `p ${p} (seed ${seed})`);
  }
  assert.equal([...sn.transforms.randomHorizontalFlip(0).apply(x).toArray()], [...x.toArray()]);
  const flipped = sn.transforms.randomHorizontalFlip(1).apply(sn.tensor([1, 2, 3, 4, 5, 6], [1, 1, 2, 3])).toArray();
  assert.equal([...flipped], [3, 2, 1, 6, 5, 4]);
  // About half of 2000 samples flip at the default p.
  const many = sn.tensor(Float32Array.from({ length: 2000 * 2 }, (_, i) => i % 2), [2000, 1, 1, 2]);
  const out = sn.transforms.randomHorizontalFlip().apply(many, { seed: 5 }).toArray();
  let flips = 0;
  for (let s = 0; s < 2000; s++) flips += out[2 * s] === 1 ? 1 : 0;
  assert.ok(flips > 900 && flips < 1100, `flips ${flips} of 2000`);
});

test('compose runs its transforms in order, each over the whole batch; nested composes flatten', () => {
  const seed = freshSeed();
  const x = batch(6, 3, 8, 8, seed);
  const t = sn.transforms.compose([sn.transforms.randomCrop(6, { padding: 1 }), sn.transforms.compose([sn.transforms.randomHorizontalFlip(0.5)])]);
  assert.is(String(t), 'Compose([RandomCrop(size=(6, 6), padding=1), Compose([RandomHorizontalFlip(p=0.5)])])');
  assert.equal(t.outputShape([3, 8, 8]), [3, 6, 6]);
  const rng = new Generator(seed);
  const cropped = refCrop(x.toArray(), x.shape, [6, 6], [1, 1, 1, 1], rng);
  const want = refFlip(cropped.values, cropped.shape, 0.5, rng);
  assert.equal([...t.apply(x, { seed }).toArray()], want.values, `seed ${seed}`);
  // A flip before a crop, and a flip in place on the crop's buffer: the same as the reference.
  const t2 = sn.transforms.compose([sn.transforms.randomHorizontalFlip(0.7), sn.transforms.randomCrop([5, 7], { padding: [1, 0, 2, 1] })]);
  const rng2 = new Generator(seed);
  const flipped = refFlip(x.toArray(), x.shape, 0.7, rng2);
  assert.equal([...t2.apply(x, { seed }).toArray()], refCrop(flipped.values, flipped.shape, [5, 7], [1, 0, 2, 1], rng2).values);
  // An empty compose is the identity, and gives a copy: a later write to x's data does not show.
  const data = x.toArray(), own = sn.tensor(data, x.shape);
  const same = sn.transforms.compose([]).apply(own);
  assert.equal([...same.toArray()], [...data]);
  data[0] = -1;
  assert.is.not(same.toArray()[0], -1);
});

test('the same seed repeats the same augmentation; another seed differs', () => {
  const x = batch(16, 3, 12, 12);
  const t = sn.transforms.compose([sn.transforms.randomCrop(12, { padding: 3 }), sn.transforms.randomHorizontalFlip()]);
  const a = t.apply(x, { seed: 11 }).toArray(), b = t.apply(x, { seed: 11 }).toArray(), c = t.apply(x, { seed: 12 }).toArray();
  assert.equal([...a], [...b]);
  assert.not.equal([...a], [...c]);
  // Without a seed: from the global generator, so sn.manualSeed repeats it.
  sn.manualSeed(4); const d = t.apply(x).toArray();
  sn.manualSeed(4); const e = t.apply(x).toArray();
  assert.equal([...d], [...e]);
});

test('augmenting a batch allocates nothing once the buffers exist, and writes into the same buffers', async () => {
  const n = 64, shape = [3, 32, 32];
  const src = batch(n, ...shape).toArray();
  const t = sn.transforms.compose([sn.transforms.randomCrop(32, { padding: 4 }), sn.transforms.randomHorizontalFlip()]);
  const augmenter = new Augmenter(t, shape, 'test');
  augmenter.reserve(n);
  const rng = new Generator(1);
  const first = augmenter.run(src, n, rng, false);
  for (let i = 0; i < 300; i++) assert.ok(augmenter.run(src, n, rng, false) === first, 'the result is always in the same buffer');
  const own = src.slice();
  augmenter.run(own, n, rng, true);
  // Measured twice: compiling the loop may add code to the heap once; an allocation per batch
  // would show in both rounds.
  const grown = [];
  let collections = 0;
  for (let round = 0; round < 2; round++) {
    gc();
    const observer = new PerformanceObserver((list) => { collections += list.getEntries().length; });
    observer.observe({ entryTypes: ['gc'] });
    const before = v8.getHeapStatistics().used_heap_size;
    for (let i = 0; i < 1000; i++) { augmenter.run(src, n, rng, false); augmenter.run(own, n, rng, true); }
    grown.push(v8.getHeapStatistics().used_heap_size - before);
    await new Promise((resolve) => setTimeout(resolve, 20));
    observer.disconnect();
  }
  // 2000 batches of 196,608 values a round: a buffer per batch would be 1.5 GB and a view per row
  // 12,288,000 objects in each round, forcing collections; what the engine keeps for itself while
  // the code runs (compiled code, feedback: measured 16 KB to 270 KB on a busy machine) stays far below.
  assert.is(collections, 0, 'no garbage collection ran while augmenting');
  assert.ok(Math.min(...grown) < 1024 * 1024, `the heap grew by ${grown.join(' and ')} bytes over two rounds of 2000 batches`);
});

test('fit applies the transforms to each training batch, from its own generator, and not to validation data', async () => {
  // Flatten + Linear(F, N) from zero weights, MSE against the identity, SGD with lr N²/2: one step
  // sets row k of the weight to sample k of the batch the model saw.
  const n = 4, shape = [2, 5, 6], f = 60, seed = freshSeed();
  const x = batch(n, ...shape, seed);
  const target = sn.tensor(Float32Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0)), [n, n]);
  const transforms = [sn.transforms.randomCrop([5, 6], { padding: 2 }), sn.transforms.randomHorizontalFlip()];
  const seen = async (data, dataset) => {
    const model = new sn.Sequential(new sn.Flatten(), new sn.Linear(f, n, { bias: false }));
    sn.init.constant_(model.parameters()[0].data, 0);
    const optimizer = new sn.SGD(model.parameters(), { lr: (n * n) / 2 });
    if (dataset) await sn.fit(model, data, { transforms, optimizer, seed, ...silent });
    else await sn.fit(model, x, target, { transforms, optimizer, seed, batchSize: n, shuffle: false, ...silent });
    return model.parameters()[0].data.toArray();
  };
  const rng = new Generator(seed);
  const cropped = refCrop(x.toArray(), x.shape, [5, 6], [2, 2, 2, 2], rng);
  const want = refFlip(cropped.values, cropped.shape, 0.5, rng).values;
  const got = await seen();
  want.forEach((v, i) => assert.ok(Math.abs(got[i] - v) <= 1e-5 * Math.abs(v), `value ${i}: ${got[i]} vs ${v} (seed ${seed})`));
  // A dataset's pass draws its own generator's seed first, then the transforms draw.
  const rng2 = new Generator(seed);
  rng2.nextU32();
  const cropped2 = refCrop(x.toArray(), x.shape, [5, 6], [2, 2, 2, 2], rng2);
  const want2 = refFlip(cropped2.values, cropped2.shape, 0.5, rng2).values;
  const got2 = await seen(sn.data.Dataset.fromTensors(x, target).batch(n), true);
  want2.forEach((v, i) => assert.ok(Math.abs(got2[i] - v) <= 1e-5 * Math.abs(v), `dataset: value ${i}: ${got2[i]} vs ${v} (seed ${seed})`));

  // Validation sees the data as it is: its loss is evaluate's on the same model.
  const images = batch(60, 1, 4, 4), sy = Int32Array.from({ length: 60 }, (_, i) => i % 3);
  const model = new sn.Sequential(new sn.Flatten(), new sn.Linear(16, 3));
  const h = await model.fit(images, sy, { epochs: 2, transforms: transforms.slice(1), validationData: [images, sy], seed: 3, ...silent });
  assert.is(h.valLoss.at(-1), model.evaluate(images, sy).loss);
});

test('fit with transforms repeats with its seed, and the model sees the transformed shape', async () => {
  const x = batch(24, 1, 6, 6), y = Int32Array.from({ length: 24 }, (_, i) => i % 3);
  const run = async (seed) => {
    sn.manualSeed(1);
    const model = new sn.Sequential(new sn.Flatten(), new sn.Linear(16, 3));
    const h = await model.fit(x, y, { epochs: 2, batchSize: 8, seed, transforms: [sn.transforms.randomCrop(4, { padding: 1 }), sn.transforms.randomHorizontalFlip()], ...silent });
    return h.batchLoss;
  };
  const a = await run(7), b = await run(7), c = await run(8);
  assert.equal(a, b);
  assert.not.equal(a, c);
  // A crop the model cannot take is refused before anything trains.
  const model = new sn.Sequential(new sn.Flatten(), new sn.Linear(36, 3));
  const before = model.parameters()[0].data.toArray();
  const err = await model.fit(x, y, { transforms: sn.transforms.randomCrop(4), ...silent }).then(() => null, (e) => e);
  assert.match(err.message, /^fit: a batch of 24: layer 1 \(Linear\(in_features=36.*\[24, 16\]/);
  assert.equal(model.parameters()[0].data.toArray(), before);
});

test('bad transforms and bad input are clear Errors that change nothing', async () => {
  const x = batch(2, 3, 4, 4);
  const throws = (f, re) => assert.throws(f, (e) => e instanceof Error && re.test(e.message), String(re));
  throws(() => sn.transforms.randomCrop(0), /^randomCrop: size must be a positive integer or \[height, width\], got 0$/);
  throws(() => sn.transforms.randomCrop([3, 3, 3]), /^randomCrop: size must be a positive integer or \[height, width\], got an Array of 3 numbers$/);
  throws(() => sn.transforms.randomCrop(3, { padding: -1 }), /^randomCrop: padding must be a non-negative integer, or an array of 2 or 4 of them, got -1$/);
  throws(() => sn.transforms.randomCrop(3, { padding: [1, 2, 3] }), /^randomCrop: padding must be .*, got an Array of 3 numbers$/);
  throws(() => sn.transforms.randomCrop(3, { pading: 1 }), /^randomCrop: unknown option 'pading'; did you mean 'padding'\?/);
  throws(() => sn.transforms.randomHorizontalFlip(1.5), /^randomHorizontalFlip: p must be a finite number in \[0, 1\], got 1\.5$/);
  throws(() => sn.transforms.randomHorizontalFlip('0.5'), /^randomHorizontalFlip: p must be a finite number in \[0, 1\], got the string '0\.5'$/);
  throws(() => sn.transforms.compose(sn.transforms.randomHorizontalFlip()), /^compose: transforms must be an array of transforms .*, got /);
  throws(() => sn.transforms.compose([sn.transforms.randomHorizontalFlip(), (v) => v]), /^compose: transforms\[1\] must be a transform .*, got a function/);
  class Custom extends sn.transforms.Transform { outputShape(s) { return s; } toString() { return 'Custom()'; } }
  throws(() => sn.transforms.compose([new Custom()]), /^compose: transforms\[0\]: Custom\(\): only the transforms of sn\.transforms \(and compose of them\) can run; a Transform subclass has no kernel$/);
  throws(() => new Custom().apply(x), /^Custom\(\)\.apply: Custom\(\): only the transforms of sn\.transforms/);
  throws(() => sn.transforms.randomCrop(7, { padding: 1 }).apply(x), /^RandomCrop\(size=\(7, 7\), padding=1\)\.apply: RandomCrop\(size=\(7, 7\), padding=1\): the crop 7×7 is larger than the padded image 6×6 \(samples of shape \[3, 4, 4\]\)$/);
  throws(() => sn.transforms.randomHorizontalFlip().apply(sn.tensor(new Float32Array(6), [2, 3])), /expects samples with height and width as their last two dimensions \(\[C, H, W\] images\), got samples of shape \[3\]$/);
  throws(() => sn.transforms.randomHorizontalFlip().apply(x.toArray()), /^RandomHorizontalFlip\(p=0\.5\)\.apply: x must be a Tensor of shape \[N, \.\.\.sample\], got a Float32Array/);
  throws(() => sn.transforms.randomHorizontalFlip().apply(x, { seed: 1.5 }), /^RandomHorizontalFlip\(p=0\.5\)\.apply: seed must be a safe integer/);

  const model = new sn.Sequential(new sn.Flatten(), new sn.Linear(48, 2));
  const y = new Int32Array(2);
  const before = model.parameters()[0].data.toArray();
  const fails = async (options, re) => {
    const err = await model.fit(x, y, { ...options, ...silent }).then(() => null, (e) => e);
    assert.ok(err instanceof Error && re.test(err.message), `${err?.message} !~ ${re}`);
  };
  await fails({ transforms: 'flip' }, /^fit: transforms must be a transform or an array of them .*, got the string 'flip'$/);
  await fails({ transforms: [sn.transforms.randomHorizontalFlip(), {}] }, /^fit: transforms\[1\] must be a transform .*, got an empty object$/);
  await fails({ transforms: new Custom() }, /^fit: transforms: Custom\(\): only the transforms of sn\.transforms \(and compose of them\) can run/);
  await fails({ transforms: [sn.transforms.randomCrop(5, { padding: 0 })] }, /^fit: transforms: RandomCrop\(size=\(5, 5\), padding=0\): the crop 5×5 is larger than the padded image 4×4/);
  assert.equal(model.parameters()[0].data.toArray(), before);
});

test.run();
