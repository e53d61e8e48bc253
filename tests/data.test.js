import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rng, freshSeed } from './helpers.js';

const { data } = sn;
const HEADER_TRAIN = ['label', ...Array.from({ length: 784 }, (_, i) => `pixel${i}`)].join(',');
const HEADER_TEST = Array.from({ length: 784 }, (_, i) => `pixel${i}`).join(',');

/** Kaggle-format text from rows of 784 integer pixels (and labels, or null for test.csv). */
function digitCsv(pixelRows, labels, eol = '\n') {
  const lines = [labels ? HEADER_TRAIN : HEADER_TEST];
  pixelRows.forEach((px, r) => lines.push((labels ? [labels[r], ...px] : px).join(',')));
  return lines.join(eol) + eol;
}

function randomPixels(rows, rand) {
  return Array.from({ length: rows }, () => Array.from({ length: 784 }, () => Math.floor(rand() * 256)));
}

// ---------- Kaggle digit-recognizer CSV ----------

test('readDigitCsv reads train.csv rows: labels and pixels/255 exactly, shape [N,1,28,28]', () => {
  const seed = freshSeed(), rand = rng(seed);
  const px = randomPixels(4, rand);
  px[0][0] = 0; px[0][783] = 255; px[1][400] = 128;
  const labels = [3, 0, 9, 7];
  const { images, labels: got } = data.readDigitCsv(digitCsv(px, labels), 'train.csv', { normalize: false });
  assert.equal(images.shape, [4, 1, 28, 28]);
  assert.equal(got, Int32Array.from(labels));
  assert.equal(images.toArray(), Float32Array.from(px.flat(), (v) => v / 255), `seed ${seed}`);
  const a = images.toArray();
  assert.is(a[0], 0); assert.is(a[783], 1); assert.is(a[784 + 400], Math.fround(128 / 255));
});

test('readDigitCsv reads test.csv (no label column) with CRLF line ends, labels null', () => {
  const seed = freshSeed(), rand = rng(seed);
  const px = randomPixels(3, rand);
  const { images, labels } = data.readDigitCsv(digitCsv(px, null, '\r\n'), 'test.csv', { normalize: false });
  assert.is(labels, null);
  assert.equal(images.shape, [3, 1, 28, 28]);
  assert.equal(images.toArray(), Float32Array.from(px.flat(), (v) => v / 255), `seed ${seed}`);
  // Without a trailing newline, and with several, the same rows come back.
  const bare = digitCsv(px, null).trimEnd();
  assert.equal(data.readDigitCsv(bare, 'test.csv', { normalize: false }).images.toArray(), images.toArray());
  assert.equal(data.readDigitCsv(bare + '\n\n\r\n', 'test.csv', { normalize: false }).images.toArray(), images.toArray());
  // A header alone is an empty dataset.
  assert.equal(data.readDigitCsv(HEADER_TEST + '\n').images.shape, [0, 1, 28, 28]);
});

test('readDigitCsv standardises with MNIST mean and std by default, as sn.data.mnist does', () => {
  const px = [Array.from({ length: 784 }, (_, i) => i % 256)];
  const { images } = data.readDigitCsv(digitCsv(px, [5]), 'CSV');
  const expected = Float32Array.from(px[0], (v) => (v / 255 - data.MNIST_MEAN) / data.MNIST_STD);
  assert.equal(images.toArray(), expected);
  assert.equal(data.readDigitCsv(digitCsv(px, [5]), 'CSV', { normalize: true }).images.toArray(), expected);
});

test('readDigitCsv rejects a malformed file with an Error naming the source, the line and the problem', () => {
  const px = randomPixels(3, rng(7));
  const labels = [1, 2, 3];
  const good = digitCsv(px, labels).split('\n');
  const withLine = (k, text) => good.map((l, i) => (i === k - 1 ? text : l)).join('\n');
  const row = (r) => [labels[r], ...px[r]];

  assert.throws(() => data.readDigitCsv(withLine(1, HEADER_TRAIN.replace('pixel5,', 'pixelX,')), 'train.csv'),
    /train\.csv: line 1: header column 7 is "pixelX", expected "pixel5"/);
  assert.throws(() => data.readDigitCsv(withLine(1, 'label,pixel0,pixel1'), 'train.csv'), /train\.csv: line 1: header has 3 columns, expected 785/);
  assert.throws(() => data.readDigitCsv('id,value\n1,2\n', 'x.csv'), /x\.csv: line 1: header column 1 is "id", expected "pixel0"/);
  assert.throws(() => data.readDigitCsv(withLine(3, row(1).slice(0, 700).join(',')), 'train.csv'), /train\.csv: line 3 has 700 columns, expected 785/);
  assert.throws(() => data.readDigitCsv(withLine(4, [...row(2), 0].join(',')), 'train.csv'), /train\.csv: line 4 has 786 columns, expected 785/);
  assert.throws(() => data.readDigitCsv(withLine(2, row(0).join(',') + ','), 'train.csv'), /line 2 has 786 columns, expected 785/);
  const bad = (r, col, v) => { const c = row(r); c[col] = v; return c.join(','); };
  assert.throws(() => data.readDigitCsv(withLine(3, bad(1, 11, 256)), 'train.csv'), /train\.csv: line 3, column 12 \(pixel10\): pixel "256" is not an integer in 0\.\.255/);
  assert.throws(() => data.readDigitCsv(withLine(2, bad(0, 0, 10)), 'train.csv'), /train\.csv: line 2, column 1 \(label\): label "10" is not an integer in 0\.\.9/);
  assert.throws(() => data.readDigitCsv(withLine(4, bad(2, 5, 'abc')), 'train.csv'), /line 4, column 6 \(pixel4\): pixel "abc" is not an integer in 0\.\.255/);
  assert.throws(() => data.readDigitCsv(withLine(4, bad(2, 5, '-1')), 'train.csv'), /line 4, column 6 \(pixel4\): pixel "-1" is not/);
  assert.throws(() => data.readDigitCsv(withLine(4, bad(2, 5, '1.5')), 'train.csv'), /line 4, column 6 \(pixel4\): pixel "1\.5" is not/);
  assert.throws(() => data.readDigitCsv(withLine(3, bad(1, 2, '')), 'train.csv'), /line 3, column 3 \(pixel1\): pixel is empty/);
  assert.throws(() => data.readDigitCsv(withLine(3, ''), 'train.csv'), /train\.csv: line 3 is empty/);
  assert.throws(() => data.readDigitCsv('\n', 'train.csv'), /train\.csv: the file is empty/);
  assert.throws(() => data.readDigitCsv(new Uint8Array(3), 'train.csv'), /train\.csv: readDigitCsv expects the file's text as a string/);
});

test('writeSubmissionCsv writes ImageId,Label with ImageId from 1', () => {
  assert.is(data.writeSubmissionCsv(Int32Array.of(3, 7, 0)), 'ImageId,Label\n1,3\n2,7\n3,0\n');
  assert.is(data.writeSubmissionCsv([9]), 'ImageId,Label\n1,9\n');
  assert.throws(() => data.writeSubmissionCsv([1, 2.5]), /writeSubmissionCsv: label 1 is 2\.5, not a non-negative integer/);
  assert.throws(() => data.writeSubmissionCsv([]), /writeSubmissionCsv: no labels/);
  assert.throws(() => data.writeSubmissionCsv('1,2'), /labels must be an Int32Array or an array/);
});

test('real MNIST images written as Kaggle CSV read back identical to the IDX path', async () => {
  const { images, labels } = await data.mnist({ limit: 10, normalize: false });
  const all = images.toArray();
  const rows = Array.from({ length: 5 }, (_, r) => Array.from(all.subarray(r * 784, (r + 1) * 784), (v) => Math.round(v * 255)));
  // Pixels are k/255 for integer k: the round trip through 0..255 is exact.
  assert.ok(rows.flat().every((k, i) => Math.fround(k / 255) === all[i]));
  const back = data.readDigitCsv(digitCsv(rows, Array.from(labels.subarray(0, 5))), 'mnist-as-csv', { normalize: false });
  assert.equal(back.labels, labels.slice(0, 5));
  assert.equal(back.images.toArray(), all.slice(0, 5 * 784));
  const std = await data.mnist({ limit: 5 });
  assert.equal(data.readDigitCsv(digitCsv(rows, null), 'mnist-as-csv', { normalize: true }).images.toArray(), std.images.toArray());
});

// ---------- CIFAR-10 binary ----------

test('readDigitCsv: millions of blank lines are refused at the first one, without allocating for them', () => {
  const px = randomPixels(2, rng(3));
  const [header, first, second] = digitCsv(px, [4, 5]).split('\n');
  // 3 million lines would be 9.4 GB of pixels if allocated from the line count.
  const text = `${header}\n${first}\n${'\n'.repeat(3_000_000)}${second}\n`;
  assert.throws(() => data.readDigitCsv(text, 'blank.csv'), /^blank\.csv: line 3 is empty$/);
  const crlf = `${header}\r\n${first}\r\n${'\r\n'.repeat(1_000_000)}${second}\r\n`;
  assert.throws(() => data.readDigitCsv(crlf, 'blank.csv'), /^blank\.csv: line 3 is empty$/);
  const short = `${header}\n${first}\n${'0\n'.repeat(1_000_000)}`;
  assert.throws(() => data.readDigitCsv(short, 'short.csv'), /^short\.csv: line 3 has 1 columns, expected 785$/);
  // Trailing blank lines are still fine.
  assert.is(data.readDigitCsv(`${header}\n${first}\n${'\n'.repeat(100_000)}`, 'ok.csv').images.shape[0], 1);
});

test('readDigitCsv checks its options and says what it got, never the text itself', () => {
  const text = digitCsv(randomPixels(1, rng(5)), [2]);
  assert.throws(() => data.readDigitCsv(text, 'o.csv', { normalize: 'false' }), /^o\.csv: readDigitCsv: normalize must be a boolean \(true or false\), got the string 'false'$/);
  assert.throws(() => data.readDigitCsv(text, 'o.csv', { normalise: false }), /^o\.csv: readDigitCsv: unknown option 'normalise'; did you mean 'normalize'\? \(the options are normalize\)$/);
  assert.throws(() => data.readDigitCsv(text, 'o.csv', null), /^o\.csv: readDigitCsv: options must be an object \{ normalize\? \}, got null$/);
  assert.throws(() => data.readDigitCsv(Buffer.from(text), 'o.csv'), /^o\.csv: readDigitCsv expects the file's text as a string, got a Buffer of \d+ values$/);
  const long = text.replace(/\n(\d)/, `\n${'7'.repeat(10_000)}x$1`);
  assert.throws(() => data.readDigitCsv(long, 'o.csv'), (e) => /^o\.csv: line 2, column 1 \(label\): label "7{60}"\.\.\. \(10002 characters\) is not an integer in 0\.\.9$/.test(e.message));
});

test('readCifar10 reads records written in the binary format: labels and R,G,B planes', () => {
  const seed = freshSeed(), rand = rng(seed);
  const n = 3;
  const bytes = new Uint8Array(n * 3073);
  const labels = [6, 9, 0];
  for (let i = 0; i < n; i++) {
    bytes[i * 3073] = labels[i];
    for (let j = 1; j < 3073; j++) bytes[i * 3073 + j] = Math.floor(rand() * 256);
  }
  // Marked pixels: record 1, green plane (channel 1), row 5, column 7; record 2, blue, last pixel.
  bytes[1 * 3073 + 1 + 1024 + 5 * 32 + 7] = 255;
  bytes[2 * 3073 + 1 + 2048 + 1023] = 51;
  const { images, labels: got } = data.readCifar10(bytes, 'data_batch_1.bin');
  assert.equal(images.shape, [3, 3, 32, 32]);
  assert.equal(got, Int32Array.from(labels));
  const a = images.toArray();
  const at = (i, c, y, x) => a[((i * 3 + c) * 32 + y) * 32 + x];
  assert.is(at(1, 1, 5, 7), 1);
  assert.is(at(2, 2, 31, 31), Math.fround(51 / 255));
  assert.is(at(0, 0, 0, 0), Math.fround(bytes[1] / 255));
  assert.is(at(1, 0, 31, 0), Math.fround(bytes[3073 + 1 + 31 * 32] / 255));
  for (let i = 0; i < n; i++) for (let k = 0; k < 3072; k++) {
    if (a[i * 3072 + k] !== Math.fround(bytes[i * 3073 + 1 + k] / 255)) assert.unreachable(`record ${i} value ${k} seed ${seed}`);
  }
  assert.is(data.CIFAR10_CLASSES[got[0]], 'frog');
});

test('readCifar10 rejects a size that is not whole records and a label above 9', () => {
  assert.throws(() => data.readCifar10(new Uint8Array(3073 * 2 - 1), 'test_batch.bin'), /test_batch\.bin: 6145 bytes is not a whole number of CIFAR-10 records \(3073 bytes each/);
  assert.throws(() => data.readCifar10(new Uint8Array(0), 'empty.bin'), /empty\.bin: 0 bytes is not a whole number/);
  const bytes = new Uint8Array(3073 * 2);
  bytes[3073] = 10;
  assert.throws(() => data.readCifar10(bytes, 'b.bin'), /b\.bin: record 1 \(byte 3073\) has label 10, outside 0\.\.9/);
  assert.throws(() => data.readCifar10([1, 2, 3]), /expects a Uint8Array/);
});

test('readCifar10 takes an ArrayBuffer or any ArrayBufferView, and refuses other input naming the types', () => {
  const bytes = new Uint8Array(3073);
  bytes[0] = 3; bytes[1] = 255;
  const padded = new Uint8Array(3073 + 2);
  padded.set(bytes, 2);
  for (const [what, input] of [['ArrayBuffer', bytes.slice().buffer], ['DataView at an offset', new DataView(padded.buffer, 2)], ['Buffer', Buffer.from(bytes)]]) {
    const { images, labels } = data.readCifar10(input, what);
    assert.equal([labels[0], images.toArray()[0], images.shape], [3, 1, [1, 3, 32, 32]], what);
  }
  for (const [input, type] of [['abc', "the string 'abc'"], [null, 'null'], [{}, 'an empty object'], [[3, 0], 'an Array of 2 numbers']]) {
    assert.throws(() => data.readCifar10(input, 'c.bin'),
      new RegExp(`^c\\.bin: readCifar10 expects a Uint8Array \\(a Node Buffer is one\\), an ArrayBuffer or another ArrayBufferView holding the file's bytes, got ${type}$`), type);
  }
});

// ---------- spiral ----------

test('spiral: shape, balanced classes, radius 0..1, deterministic per seed', () => {
  const s = data.spiral({ pointsPerClass: 50, classes: 4, seed: 11 });
  assert.equal(s.x.shape, [200, 2]);
  assert.is(s.y.length, 200);
  for (let c = 0; c < 4; c++) assert.is(s.y.filter((v) => v === c).length, 50);
  const x = s.x.toArray();
  // Points along an arm lie at radius i/(m-1), whatever the angle noise.
  for (let k = 0; k < 200; k++) {
    assert.ok(Math.abs(Math.hypot(x[2 * k], x[2 * k + 1]) - (k % 50) / 49) < 1e-6, `radius of point ${k}`);
  }
  assert.equal(data.spiral({ pointsPerClass: 50, classes: 4, seed: 11 }).x.toArray(), x);
  assert.not.equal(data.spiral({ pointsPerClass: 50, classes: 4, seed: 12 }).x.toArray(), x);
  // Without noise the arms are the exact curves of the CS231n notes.
  const clean = data.spiral({ pointsPerClass: 5, classes: 3, noise: 0 }).x.toArray();
  const t = 4 * 2 + 4 * (3 / 4), r = 3 / 4;
  assert.is(clean[2 * 13], Math.fround(r * Math.sin(t)));
  assert.is(clean[2 * 13 + 1], Math.fround(r * Math.cos(t)));
  // Defaults: 3 classes of 100; unseeded draws follow sn.manualSeed.
  sn.manualSeed(5);
  const a = data.spiral();
  sn.manualSeed(5);
  assert.equal(a.x.shape, [300, 2]);
  assert.equal(data.spiral().x.toArray(), a.x.toArray());
});

test('spiral rejects bad options', () => {
  assert.throws(() => data.spiral({ pointsPerClass: 0 }), /spiral: pointsPerClass must be an integer ≥ 1, got 0/);
  assert.throws(() => data.spiral({ classes: 2.5 }), /spiral: classes must be an integer ≥ 1, got 2\.5/);
  assert.throws(() => data.spiral({ noise: -1 }), /spiral: noise must be a finite number ≥ 0, got -1/);
  assert.throws(() => data.spiral({ seed: 'a' }), /spiral: seed must be a safe integer \(it is used modulo 2\^32\), got the string 'a'/);
});

// ---------- shuffle, split ----------

test('shuffle is a permutation, deterministic per seed, different across seeds', () => {
  const p = data.shuffle(1000, 3);
  assert.equal(Int32Array.from(p).sort(), Int32Array.from({ length: 1000 }, (_, i) => i));
  assert.equal(data.shuffle(1000, 3), p);
  assert.not.equal(data.shuffle(1000, 4), p);
  assert.ok(p.some((v, i) => v !== i));
  assert.equal(data.shuffle(0, 1), new Int32Array(0));
  assert.equal(data.shuffle(1), Int32Array.of(0));
  sn.manualSeed(9); const u = data.shuffle(50);
  sn.manualSeed(9); assert.equal(data.shuffle(50), u);
  assert.throws(() => data.shuffle(-1), /shuffle: n must be an integer ≥ 0, got -1/);
  assert.throws(() => data.shuffle(5, 1.5), /shuffle: seed must be a safe integer \(it is used modulo 2\^32\), got 1\.5/);
});

test('shuffle draws every position evenly (first element over many seeds)', () => {
  const counts = new Array(5).fill(0);
  for (let s = 0; s < 5000; s++) counts[data.shuffle(5, s)[0]]++;
  for (const c of counts) assert.ok(Math.abs(c - 1000) < 150, `counts ${counts}`);
});

test('trainValidationSplit: sizes, disjoint, union is all rows, stratified, shuffled', () => {
  // Labels sorted by class, with uneven classes: the case where taking the last rows goes wrong.
  const counts = [50, 30, 17, 3, 0, 100];
  const labels = Int32Array.from(counts.flatMap((c, k) => new Array(c).fill(k)));
  const n = labels.length;
  const { train, validation } = data.trainValidationSplit(labels, 0.2, { seed: 1 });
  const expectedVal = Math.round(0.2 * n);
  assert.is(validation.length, expectedVal);
  assert.is(train.length, n - expectedVal);
  const seen = new Uint8Array(n);
  for (const i of [...train, ...validation]) seen[i]++;
  assert.ok(seen.every((v) => v === 1), 'every row exactly once');
  counts.forEach((c, k) => {
    const v = validation.filter((i) => labels[i] === k).length;
    assert.ok(Math.abs(v - 0.2 * c) < 1, `class ${k}: ${v} of ${c} in validation`);
    assert.ok(Math.abs(v / validation.length - c / n) <= 1 / validation.length + 1e-12, `class ${k} share`);
  });
  // Not the last rows, and not in file order.
  assert.ok(validation.some((i) => i < n - validation.length));
  assert.ok(train.some((v, i) => i > 0 && v < train[i - 1]));
  assert.ok(validation.some((v, i) => i > 0 && v < validation[i - 1]));
  assert.equal(data.trainValidationSplit(labels, 0.2, { seed: 1 }), { train, validation });
  assert.not.equal(data.trainValidationSplit(labels, 0.2, { seed: 2 }).validation, validation);
  // Ten classes of four rows: 10% still validates on four rows, one each from four classes.
  const small = data.trainValidationSplit(Int32Array.from({ length: 40 }, (_, i) => i % 10), 0.1, { seed: 3 });
  assert.is(small.validation.length, 4);
  assert.is(new Set([...small.validation].map((i) => i % 10)).size, 4);
});

test('trainValidationSplit without stratification and edge fractions; bad arguments', () => {
  const labels = Int32Array.from({ length: 101 }, (_, i) => i % 3);
  const { train, validation } = data.trainValidationSplit(labels, 0.3, { seed: 4, stratify: false });
  assert.is(validation.length, 30);
  assert.is(train.length, 71);
  assert.equal(Int32Array.from([...train, ...validation]).sort(), Int32Array.from({ length: 101 }, (_, i) => i));
  const none = data.trainValidationSplit(labels, 0, { seed: 4 });
  assert.is(none.validation.length, 0);
  assert.is(none.train.length, 101);
  assert.throws(() => data.trainValidationSplit(labels, 1), /trainValidationSplit: fraction must be a number in \[0, 1\), got 1/);
  assert.throws(() => data.trainValidationSplit(labels, NaN), /fraction must be a number in \[0, 1\), got NaN/);
  assert.throws(() => data.trainValidationSplit([0, 1], 0.5), /trainValidationSplit: labels must be an Int32Array/);
});

// ---------- rows, normalize, batches ----------

test('takeRows copies the chosen rows and labels, in order', () => {
  const x = sn.tensor(Float32Array.from({ length: 5 * 2 * 3 }, (_, i) => i), [5, 2, 3]);
  const y = Int32Array.of(10, 11, 12, 13, 14);
  const { images, labels } = data.takeRows(x, y, Int32Array.of(4, 0, 4));
  assert.equal(images.shape, [3, 2, 3]);
  assert.equal(images.toArray(), Float32Array.of(24, 25, 26, 27, 28, 29, 0, 1, 2, 3, 4, 5, 24, 25, 26, 27, 28, 29));
  assert.equal(labels, Int32Array.of(14, 10, 14));
  images.view()[0] = -1;
  assert.is(x.toArray()[24], 24, 'a copy, not a view');
  assert.is(data.takeRows(x, null, [1]).labels, null);
  assert.throws(() => data.takeRows(x, y, [5]), /takeRows: index 0 is 5, outside the 5 rows \[0, 5\)/);
  assert.throws(() => data.takeRows(x, y.subarray(1), [0]), /takeRows: 4 labels for images of shape \[5, 2, 3\] \(5 rows\)/);
});

test('gatherRows fills the start of a reused buffer exactly and returns the count', () => {
  const src = Float32Array.from({ length: 4 * 3 }, (_, i) => i + 0.5);
  const dst = new Float32Array(9).fill(-7);
  assert.is(data.gatherRows(src, 3, Int32Array.of(2, 2, 0), dst), 9);
  assert.equal(dst, Float32Array.of(6.5, 7.5, 8.5, 6.5, 7.5, 8.5, 0.5, 1.5, 2.5));
  dst.fill(-7);
  assert.is(data.gatherRows(src, 3, [3], dst), 3);
  assert.equal(dst, Float32Array.of(9.5, 10.5, 11.5, -7, -7, -7, -7, -7, -7));
  const labels = Int32Array.of(5, 6, 7, 8), out = new Int32Array(2);
  assert.is(data.gatherRows(labels, 1, [3, 1], out), 2);
  assert.equal(out, Int32Array.of(8, 6));
  assert.throws(() => data.gatherRows(src, 3, [0, 1, 2, 3], dst), /gatherRows: dst holds 9 values, 4 rows of 3 need 12/);
  assert.throws(() => data.gatherRows(src, 5, [0], dst), /gatherRows: src has 12 values, not a whole number of rows of 5/);
  assert.throws(() => data.gatherRows(src, 3, [-1], dst), /gatherRows: index 0 is -1, outside the 4 rows/);
  assert.throws(() => data.gatherRows(src, 0, [0], dst), /gatherRows: rowSize must be an integer ≥ 1, got 0/);
  assert.throws(() => data.gatherRows(src, 3, [0], out), /gatherRows: src is a Float32Array but dst a Int32Array/);
});

test('normalize subtracts and divides per channel (dimension 1)', () => {
  const x = sn.tensor(Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), [2, 3, 2]);
  const y = data.normalize(x, [1, 2, 3], [1, 2, 4]);
  assert.equal(y.shape, [2, 3, 2]);
  assert.equal(y.toArray(), Float32Array.of(0, 1, 0.5, 1, 0.5, 0.75, 6, 7, 3.5, 4, 2, 2.25));
  assert.equal(x.toArray()[0], 1, 'input untouched');
  assert.equal(data.normalize(x, [1], [2]).toArray(), Float32Array.from(x.toArray(), (v) => (v - 1) / 2));
  assert.throws(() => data.normalize(x, [0, 0], [1, 1]), /normalize: mean has 2 values; images of shape \[2, 3, 2\] have 3 channels/);
  assert.throws(() => data.normalize(x, [0], [0]), /normalize: std\[0\] is 0; it must be > 0/);
  assert.throws(() => data.normalize(x, [NaN], [1]), /normalize: mean\[0\] is NaN, not a finite number/);
  assert.throws(() => data.normalize(sn.tensor([1, 2]), [0], [1]), /normalize: images of shape \[2\] have no channel dimension/);
});

test('batches covers every row once; shuffle with a seed is repeatable; dropLast', () => {
  const plain = data.batches(10, 4);
  assert.equal(plain.map((b) => [...b]), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  assert.equal(data.batches(10, 4, { dropLast: true }).map((b) => b.length), [4, 4]);
  assert.equal(data.batches(0, 4), []);
  const s = data.batches(103, 10, { shuffle: true, seed: 8 });
  assert.is(s.length, 11);
  assert.equal(Int32Array.from(s.flatMap((b) => [...b])).sort(), Int32Array.from({ length: 103 }, (_, i) => i));
  assert.equal(data.batches(103, 10, { shuffle: true, seed: 8 }), s);
  assert.not.equal(data.batches(103, 10, { shuffle: true, seed: 9 }), s);
  assert.throws(() => data.batches(10, 0), /batches: batchSize must be an integer ≥ 1, got 0/);
  assert.throws(() => data.batches(1.5, 2), /batches: n must be an integer ≥ 0, got 1\.5/);
  assert.throws(() => data.batches(10, 2, { seed: 1 }), /batches: a seed was given without shuffle: true/);
});

test('a batch loop over batches + gatherRows reproduces takeRows for each batch', () => {
  const seed = freshSeed(), rand = rng(seed);
  const x = sn.tensor(Float32Array.from({ length: 23 * 6 }, () => rand()), [23, 1, 2, 3]);
  const y = Int32Array.from({ length: 23 }, (_, i) => i % 4);
  const xb = new Float32Array(5 * 6), yb = new Int32Array(5);
  for (const idx of data.batches(23, 5, { shuffle: true, seed })) {
    const count = data.gatherRows(x.view(), 6, idx, xb);
    data.gatherRows(y, 1, idx, yb);
    const ref = data.takeRows(x, y, idx);
    assert.equal(xb.subarray(0, count), ref.images.toArray());
    assert.equal(yb.subarray(0, idx.length), ref.labels);
  }
});

test.run();
