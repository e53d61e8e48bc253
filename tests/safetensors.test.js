// safetensors: bit-exact round trips, files written by hand from the format's spec, an
// independent parse of what the encoder writes, and hostile or truncated files refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { encodeSafetensors, decodeSafetensors, MAX_HEADER_BYTES } from '../dist/io/index.js';
import { rng, freshSeed, randn } from './helpers.js';

await sn.ready();

const bitsOf = (f32) => Array.from(new Uint32Array(Float32Array.from(f32).buffer));

/** A file from its parts, per the spec: u64 LE header length, header bytes, data bytes. */
function buildFile(header, data = new Uint8Array(0)) {
  const json = typeof header === 'string' ? new TextEncoder().encode(header) : header instanceof Uint8Array ? header : new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, json.length, true);
  dv.setUint32(4, 0, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Little-endian bytes written one value at a time with DataView. */
function leBytes(kind, values) {
  const size = { f64: 8, f32: 4, u16: 2, i32: 4, i16: 2, i8: 1, u8: 1, i64: 8 }[kind];
  const dv = new DataView(new ArrayBuffer(size * values.length));
  values.forEach((v, i) => {
    const o = i * size;
    if (kind === 'f64') dv.setFloat64(o, v, true);
    else if (kind === 'f32') dv.setFloat32(o, v, true);
    else if (kind === 'u16') dv.setUint16(o, v, true);
    else if (kind === 'i32') dv.setInt32(o, v, true);
    else if (kind === 'i16') dv.setInt16(o, v, true);
    else if (kind === 'i8') dv.setInt8(o, v);
    else if (kind === 'u8') dv.setUint8(o, v);
    else dv.setBigInt64(o, v, true);
  });
  return new Uint8Array(dv.buffer);
}

const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};

/** An independent reader written from the spec, reading values one by one with DataView. */
function parseBySpec(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
  const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  const header = JSON.parse(headerText);
  const base = 8 + n;
  const tensors = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [b, e] = info.data_offsets;
    const size = info.dtype === 'I64' ? 8 : 4;
    const values = [];
    for (let o = b; o < e; o += size) values.push(info.dtype === 'I64' ? dv.getBigInt64(base + o, true) : dv.getFloat32(base + o, true));
    tensors[name] = { ...info, values };
  }
  return { n, headerText, header, tensors, dataBytes: bytes.length - base };
}

/** float32 values with every awkward class: ±0, denormals, huge and tiny, and random bit patterns. */
function awkwardFloats(count, rand) {
  const specials = [-0, 0, 1e-45, -1e-45, 1.1754942e-38, 1.17549435e-38, 3.4028235e38, -3.4028235e38, 1e-30, -1e30, 1, -1, Math.PI];
  const bits = new Uint32Array(count);
  for (let i = 0; i < count; i++) bits[i] = Math.floor(rand() * 2 ** 32);
  const out = new Float32Array(bits.buffer);
  out.set(specials.slice(0, count));
  return out;
}

test('round trip is bit-exact: awkward float32 values, an int64 scalar above 2^31, a [] scalar, a zero-size tensor', () => {
  const seed = freshSeed(), rand = rng(seed);
  const a = awkwardFloats(60, rand);
  const b = awkwardFloats(120, rand);
  const big = new sn.Tensor([], new BigInt64Array([2n ** 31n + 12345n]));
  const neg = new sn.Tensor([2], new BigInt64Array([-(2n ** 62n) - 7n, 2n ** 63n - 1n]));
  const input = {
    'conv.weight': sn.tensor(a, [3, 4, 5]),
    'bn.num_batches_tracked': big,
    scalar: sn.tensor([-0], []),
    empty: sn.tensor(new Float32Array(0), [0, 7]),
    'x.y': sn.tensor(b, [2, 3, 4, 5]),
    i64: neg,
  };
  const out = decodeSafetensors(encodeSafetensors(input)).tensors;
  assert.equal(Object.keys(out), Object.keys(input), 'names in the given order');
  for (const [name, t] of Object.entries(input)) {
    assert.equal(out[name].shape, t.shape, `${name} shape`);
    assert.is(out[name].dtype, t.dtype, `${name} dtype`);
    if (t.dtype === 'int64') assert.equal(out[name].toInt64Array(), t.toInt64Array(), `${name} values`);
    else assert.equal(bitsOf(out[name].toArray()), bitsOf(t.toArray()), `${name} bits, seed ${seed}`);
  }
  assert.is(out['bn.num_batches_tracked'].toInt64Array()[0], 2147495993n);
  assert.ok(Object.is(out.scalar.toArray()[0], -0), '-0 stays -0');
  assert.is(out.empty.size, 0);
  assert.equal(decodeSafetensors(encodeSafetensors({})).tensors, {}, 'no tensors at all');
});

test('the decoded tensors do not share memory with the file bytes', () => {
  const bytes = encodeSafetensors({ w: sn.tensor([1, 2, 3]) });
  const t = decodeSafetensors(bytes).tensors.w;
  bytes.fill(0xff, bytes.length - 12);
  assert.equal(Array.from(t.toArray()), [1, 2, 3]);
});

test('a file written by hand from the spec decodes, with F16/BF16/F64/integer types converted to float32', () => {
  const f16 = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x8000, 0x3555, 0x7e00];
  const f16Want = [1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, Infinity, -Infinity, -0, 0.333251953125, NaN];
  const bf16 = [0x3f80, 0xc040, 0x4049, 0x0001, 0xff80];
  const bf16Want = [1, -3, 3.140625, 2 ** -133, -Infinity];
  const f64 = [0.1, -2.5, 1e-50, 123456789.123];
  const i32 = [-7, 2 ** 24 + 1, 2147483647, -2147483648];
  const parts = [
    ['mat', 'F32', [2, 3], leBytes('f32', [0, 1, 2, 3, 4, 5])],
    ['half', 'F16', [2, 5], leBytes('u16', f16)],
    ['brain', 'BF16', [5], leBytes('u16', bf16)],
    ['double', 'F64', [2, 2], leBytes('f64', f64)],
    ['int', 'I32', [4], leBytes('i32', i32)],
    ['short', 'I16', [2], leBytes('i16', [-32768, 77])],
    ['byte', 'I8', [2], leBytes('i8', [-128, 5])],
    ['ubyte', 'U8', [3], leBytes('u8', [0, 200, 255])],
    ['flag', 'BOOL', [1, 2], leBytes('u8', [1, 0])],
    ['steps', 'I64', [], leBytes('i64', [5000000000n])],
    ['nothing', 'F32', [3, 0], new Uint8Array(0)],
  ];
  // Data laid out in the listed order; the header lists the entries in reverse to show that
  // names are matched by offsets, not by position.
  const header = { __metadata__: { format: 'pt', note: 'hand-made' } };
  let offset = 0;
  const ranges = parts.map(([, , , bytes]) => { const r = [offset, offset + bytes.length]; offset += bytes.length; return r; });
  for (let i = parts.length - 1; i >= 0; i--) header[parts[i][0]] = { dtype: parts[i][1], shape: parts[i][2], data_offsets: ranges[i] };
  // Pad the header with trailing spaces, as the reference writer does.
  const file = buildFile(JSON.stringify(header) + '     ', concat(...parts.map((p) => p[3])));
  const { tensors: t, metadata } = decodeSafetensors(file, 'hand.safetensors');
  assert.equal(metadata, { format: 'pt', note: 'hand-made' });
  assert.equal(t.mat.shape, [2, 3]);
  assert.equal(Array.from(t.mat.toArray()), [0, 1, 2, 3, 4, 5], 'row-major F32');
  assert.equal(t.half.shape, [2, 5]);
  const half = Array.from(t.half.toArray());
  assert.ok(Number.isNaN(half[9]), 'F16 NaN stays NaN');
  assert.equal(half.slice(0, 9), f16Want.slice(0, 9), 'F16 values');
  assert.ok(Object.is(half[7], -0), 'F16 -0');
  assert.equal(Array.from(t.brain.toArray()), bf16Want, 'BF16 values');
  assert.equal(t.double.shape, [2, 2]);
  assert.equal(Array.from(t.double.toArray()), f64.map(Math.fround), 'F64 rounded to float32');
  assert.equal(Array.from(t.int.toArray()), i32.map(Math.fround), 'I32 to float32');
  assert.equal(Array.from(t.short.toArray()), [-32768, 77]);
  assert.equal(Array.from(t.byte.toArray()), [-128, 5]);
  assert.equal(Array.from(t.ubyte.toArray()), [0, 200, 255]);
  assert.equal(Array.from(t.flag.toArray()), [1, 0]);
  assert.equal(t.flag.shape, [1, 2]);
  assert.is(t.steps.dtype, 'int64');
  assert.equal(t.steps.shape, []);
  assert.equal(Array.from(t.steps.toInt64Array()), [5000000000n]);
  assert.equal(t.nothing.shape, [3, 0]);
  for (const name of ['half', 'brain', 'double', 'int', 'short', 'byte', 'ubyte', 'flag']) assert.is(t[name].dtype, 'float32', name);
});

test('a hand-made file with no __metadata__ and an 8-byte-aligned header decodes to empty metadata', () => {
  const file = buildFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, leBytes('f32', [2.5]));
  const out = decodeSafetensors(file);
  assert.equal(out.metadata, {});
  assert.equal(Array.from(out.tensors.w.toArray()), [2.5]);
});

test('the encoder writes what the spec says: LE length, space-padded 8-aligned header, contiguous LE data in order', () => {
  const seed = freshSeed(), rand = rng(seed);
  const w = Float32Array.from(randn(12, rand));
  const input = { 'z.weight': sn.tensor(w, [3, 4]), 'a.bias': sn.tensor([7, -0.5, 1e-40]), steps: new sn.Tensor([], new BigInt64Array([3n])), e: sn.tensor([], [0]) };
  for (let extra = 0; extra < 9; extra++) {
    // Vary the header length through every residue mod 8.
    const meta = { format: 'pt', pad: 'x'.repeat(extra) };
    const bytes = encodeSafetensors(input, meta);
    const p = parseBySpec(bytes);
    assert.is(p.n % 8, 0, 'header length is a multiple of 8');
    assert.ok(/^\{.*\} *$/.test(p.headerText), `header is one JSON object then spaces: ${JSON.stringify(p.headerText)}`);
    assert.equal(p.header.__metadata__, meta);
    assert.equal(Object.keys(p.header), ['__metadata__', 'z.weight', 'a.bias', 'steps', 'e']);
    assert.equal(p.header['z.weight'], { dtype: 'F32', shape: [3, 4], data_offsets: [0, 48] });
    assert.equal(p.header['a.bias'], { dtype: 'F32', shape: [3], data_offsets: [48, 60] });
    assert.equal(p.header.steps, { dtype: 'I64', shape: [], data_offsets: [60, 68] });
    assert.equal(p.header.e, { dtype: 'F32', shape: [0], data_offsets: [68, 68] });
    assert.is(p.dataBytes, 68, 'data buffer is exactly the tensors');
    assert.equal(p.tensors['z.weight'].values, Array.from(w), `values seed ${seed}`);
    assert.equal(p.tensors['a.bias'].values, Array.from(Float32Array.from([7, -0.5, 1e-40])));
    assert.equal(p.tensors.steps.values, [3n]);
  }
  const plain = parseBySpec(encodeSafetensors(input));
  assert.not.ok('__metadata__' in plain.header, 'no metadata given, none written');
});

test('the encoder keeps the given order of names in the data (offsets ascend in key order)', () => {
  const input = { b: sn.tensor([1]), 10: sn.tensor([2, 3]), a: sn.tensor([4]) };
  const p = parseBySpec(encodeSafetensors(input));
  let at = 0;
  for (const name of Object.keys(input)) {
    assert.is(p.header[name].data_offsets[0], at, name);
    at = p.header[name].data_offsets[1];
  }
  assert.equal(Object.keys(decodeSafetensors(encodeSafetensors(input)).tensors).sort(), ['10', 'a', 'b']);
});

test('metadata round trips, Unicode and empty strings included', () => {
  const meta = { format: 'pt', architecture: JSON.stringify([{ type: 'Linear', in: 3, out: 4 }]), note: 'ünïcödé ✓ 𝛑', empty: '' };
  const out = decodeSafetensors(encodeSafetensors({ w: sn.tensor([1]) }, meta));
  assert.equal(out.metadata, meta);
  assert.equal(decodeSafetensors(encodeSafetensors({}, {})).metadata, {});
  assert.equal(decodeSafetensors(encodeSafetensors({ w: sn.tensor([1]) })).metadata, {});
});

test('the encoder refuses what it cannot write', () => {
  assert.throws(() => encodeSafetensors({ __metadata__: sn.tensor([1]) }), /reserves/);
  assert.throws(() => encodeSafetensors({ w: new Float32Array(2) }), /"w" is not a Tensor/);
  assert.throws(() => encodeSafetensors({}, { n: 5 }), /metadata "n" must be a string/);
});

test('a whole model round trips: Sequential(Linear(3,4), Linear(4,2)) gives identical outputs', () => {
  const seed = freshSeed(), rand = rng(seed);
  const a = new sn.Sequential(new sn.Linear(3, 4), new sn.Linear(4, 2));
  const bytes = encodeSafetensors(a.stateDict(), { format: 'pt' });
  const { tensors, metadata } = decodeSafetensors(bytes, 'model.safetensors');
  assert.equal(metadata, { format: 'pt' });
  assert.equal(Object.keys(tensors), ['0.weight', '0.bias', '1.weight', '1.bias']);
  const b = new sn.Sequential(new sn.Linear(3, 4), new sn.Linear(4, 2));
  b.loadStateDict(tensors);
  const x = sn.tensor(Float32Array.from(randn(15, rand)), [5, 3]);
  const ya = a.forward(x).toArray(), yb = b.forward(x).toArray();
  assert.equal(bitsOf(yb), bitsOf(ya), `seed ${seed}`);
  for (const [name, t] of Object.entries(a.stateDict())) assert.equal(bitsOf(b.stateDict()[name].toArray()), bitsOf(t.toArray()), name);
});

test('a model with BatchNorm round trips its running statistics and int64 num_batches_tracked', () => {
  const seed = freshSeed(), rand = rng(seed);
  const a = new sn.Sequential(new sn.Linear(3, 4), new sn.BatchNorm1d(4));
  for (let i = 0; i < 3; i++) a.forward(sn.tensor(Float32Array.from(randn(18, rand)), [6, 3]));
  const tensors = decodeSafetensors(encodeSafetensors(a.stateDict())).tensors;
  assert.is(tensors['1.num_batches_tracked'].dtype, 'int64');
  assert.equal(tensors['1.num_batches_tracked'].shape, []);
  assert.equal(Array.from(tensors['1.num_batches_tracked'].toInt64Array()), [3n]);
  const b = new sn.Sequential(new sn.Linear(3, 4), new sn.BatchNorm1d(4));
  b.loadStateDict(tensors);
  a.eval(); b.eval();
  const x = sn.tensor(Float32Array.from(randn(12, rand)), [4, 3]);
  assert.equal(bitsOf(b.forward(x).toArray()), bitsOf(a.forward(x).toArray()), `seed ${seed}`);
});

// ---- hostile files: each rejected with an Error naming the source and what is wrong ----

const SRC = 'evil.safetensors';
const F32_1 = { dtype: 'F32', shape: [1], data_offsets: [0, 4] };
const four = new Uint8Array(4);

/** Asserts decoding throws an Error whose message starts with the source and matches `re`. */
function rejects(bytes, re, what) {
  try {
    decodeSafetensors(bytes, SRC);
  } catch (err) {
    assert.instance(err, Error, what);
    assert.ok(err.message.startsWith(`${SRC}: `), `${what}: message should name the source: ${err.message}`);
    assert.match(err.message, re, `${what}: ${err.message}`);
    return;
  }
  assert.unreachable(`${what}: decoded without an error`);
}

test('rejects files shorter than the 8-byte length field', () => {
  rejects(new Uint8Array(0), /0 bytes is too short/, 'empty file');
  rejects(new Uint8Array(7), /7 bytes is too short/, '7 bytes');
});

test('rejects a header length past the end of the file', () => {
  const f = buildFile({ w: F32_1 }, four);
  new DataView(f.buffer).setUint32(0, f.length, true);
  rejects(f, new RegExp(`header length ${f.length} runs past the end of the file \\(${f.length - 8} bytes`), 'length past the end');
});

test('rejects an absurd header length before allocating anything', () => {
  const f = new Uint8Array(16);
  new DataView(f.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
  rejects(f, /header length 18446744073709551615 is over the 100000000-byte limit/, 'u64 max');
  new DataView(f.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES) + 1n, true);
  rejects(f, /over the 100000000-byte limit/, 'just over the limit');
});

test('rejects a header that is not UTF-8, not JSON, or not an object', () => {
  rejects(buildFile(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), /not valid UTF-8/, 'invalid UTF-8');
  rejects(buildFile(new Uint8Array([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d])), /not valid UTF-8/, 'UTF-8 encoded surrogate');
  rejects(buildFile('{"w": '), /not valid JSON/, 'truncated JSON');
  rejects(buildFile(''), /not valid JSON/, 'empty header');
  rejects(buildFile('[]'), /must be a JSON object, got an array/, 'array header');
  rejects(buildFile('null'), /must be a JSON object, got null/, 'null header');
  rejects(buildFile('42'), /must be a JSON object, got number/, 'number header');
  rejects(buildFile('"hi"'), /must be a JSON object, got string/, 'string header');
});

test('rejects entries missing dtype, shape or data_offsets, or not objects', () => {
  rejects(buildFile({ w: { shape: [1], data_offsets: [0, 4] } }, four), /tensor "w": missing "dtype"/, 'no dtype');
  rejects(buildFile({ w: { dtype: 'F32', data_offsets: [0, 4] } }, four), /tensor "w": missing "shape"/, 'no shape');
  rejects(buildFile({ w: { dtype: 'F32', shape: [1] } }, four), /tensor "w": missing "data_offsets"/, 'no data_offsets');
  rejects(buildFile({ w: 5 }, four), /tensor "w": expected an object with dtype, shape and data_offsets, got 5/, 'entry is a number');
  rejects(buildFile({ w: [F32_1] }, four), /tensor "w": expected an object/, 'entry is an array');
});

test('rejects fields of the wrong type', () => {
  rejects(buildFile({ w: { ...F32_1, dtype: 5 } }, four), /tensor "w": "dtype" must be a string, got 5/, 'numeric dtype');
  rejects(buildFile({ w: { ...F32_1, shape: '1' } }, four), /tensor "w": "shape" must be an array, got "1"/, 'string shape');
  rejects(buildFile({ w: { ...F32_1, data_offsets: '0,4' } }, four), /tensor "w": "data_offsets" must be an array \[begin, end\], got "0,4"/, 'string offsets');
  rejects(buildFile({ w: { ...F32_1, data_offsets: [0, 4, 8] } }, four), /tensor "w": "data_offsets" must be an array \[begin, end\]/, 'three offsets');
  rejects(buildFile({ w: { ...F32_1, data_offsets: [0] } }, four), /tensor "w": "data_offsets" must be an array \[begin, end\]/, 'one offset');
  rejects(buildFile({ w: { ...F32_1, data_offsets: [-4, 0] } }, four), /tensor "w": data_offsets \[-4,0\] must be non-negative integers/, 'negative offset');
  rejects(buildFile({ w: { ...F32_1, data_offsets: [0, 4.5] } }, four), /tensor "w": data_offsets \[0,4.5\] must be non-negative integers/, 'fractional offset');
  rejects(buildFile({ w: { ...F32_1, data_offsets: [0, '4'] } }, four), /must be non-negative integers/, 'string offset');
  rejects(buildFile({ w: { ...F32_1, data_offsets: [0, 2 ** 60] } }, four), /must be non-negative integers/, 'offset beyond 2^53');
});

test('rejects unknown dtypes', () => {
  rejects(buildFile({ w: { ...F32_1, dtype: 'F8_E4M3' } }, four), /tensor "w": unsupported dtype "F8_E4M3" \(supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL\)/, 'F8');
  rejects(buildFile({ w: { ...F32_1, dtype: 'float32' } }, four), /tensor "w": unsupported dtype "float32"/, 'torch spelling');
  rejects(buildFile({ w: { ...F32_1, dtype: 'toString' } }, four), /tensor "w": unsupported dtype "toString"/, 'prototype name');
});

test('rejects negative or non-integer shape dimensions', () => {
  rejects(buildFile({ w: { ...F32_1, shape: [-1] } }, four), /tensor "w": shape \[-1\] has a dimension that is not a non-negative integer/, 'negative dim');
  rejects(buildFile({ w: { ...F32_1, shape: [0.5, 2] } }, four), /tensor "w": shape \[0.5,2\] has a dimension/, 'fractional dim');
  rejects(buildFile({ w: { ...F32_1, shape: ['1'] } }, four), /tensor "w": shape \["1"\] has a dimension/, 'string dim');
  rejects(buildFile({ w: { ...F32_1, shape: [null] } }, four), /tensor "w": shape \[null\] has a dimension/, 'null dim');
});

test('rejects offsets that end before they begin, run out of the data, or disagree with the shape', () => {
  rejects(buildFile({ w: { ...F32_1, data_offsets: [4, 0] } }, four), /tensor "w": data_offsets \[4, 0\] end before they begin/, 'end < begin');
  rejects(buildFile({ w: { ...F32_1, shape: [2], data_offsets: [0, 8] } }, four), /tensor "w": data_offsets \[0, 8\] run past the 4 bytes of data/, 'past the data');
  rejects(buildFile({ w: { ...F32_1, shape: [2, 3] } }, four), /tensor "w": data_offsets \[0, 4\] hold 4 bytes, but F32 shape \[2, 3\] needs 24/, 'count mismatch');
  rejects(buildFile({ w: { ...F32_1, dtype: 'F64' } }, four), /tensor "w": data_offsets \[0, 4\] hold 4 bytes, but F64 shape \[1\] needs 8/, 'itemsize mismatch');
  rejects(buildFile({ w: { ...F32_1, shape: [2 ** 52, 2 ** 52] } }, four), /tensor "w": data_offsets \[0, 4\] hold 4 bytes, but F32 shape \[4503599627370496, 4503599627370496\] needs/, 'huge shape');
  rejects(buildFile({ w: { ...F32_1, shape: [] , data_offsets: [0, 0] } }, four), /tensor "w": data_offsets \[0, 0\] hold 0 bytes, but F32 shape \[\] needs 4/, 'scalar with no bytes');
});

test('rejects overlapping ranges, gaps, and bytes no tensor covers', () => {
  const data12 = new Uint8Array(12);
  rejects(buildFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, data12),
    /tensor "b": data_offsets \[4, 12\] overlap another tensor's bytes \(which end at 8\)/, 'overlap');
  rejects(buildFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)),
    /tensor "[ab]": data_offsets \[0, 8\] overlap/, 'two names, one range');
  rejects(buildFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, z: { dtype: 'F32', shape: [0], data_offsets: [4, 4] } }, new Uint8Array(8)),
    /tensor "z": data_offsets \[4, 4\] overlap/, 'empty tensor inside another');
  rejects(buildFile({ a: F32_1, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, data12),
    /tensor "b": data_offsets \[8, 12\] leave bytes 4..8 of the data unused/, 'gap');
  rejects(buildFile({ b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)),
    /tensor "b": data_offsets \[4, 8\] leave bytes 0..4 of the data unused/, 'gap at the start');
  rejects(buildFile({ a: F32_1 }, new Uint8Array(8)), /4 bytes after the last tensor \(data ends at 4, the file at 8\) are not described/, 'trailing bytes');
  rejects(buildFile({}, four), /4 bytes after the last tensor/, 'data with no tensors');
});

test('rejects duplicate names, at the top level and inside an entry', () => {
  const e = JSON.stringify(F32_1);
  rejects(buildFile(`{"w":${e},"w":${e}}`, four), /the header names "w" more than once/, 'duplicate tensor');
  rejects(buildFile(`{"w":${e},"\\u0077":${e}}`, four), /the header names "w" more than once/, 'duplicate through an escape');
  rejects(buildFile(`{"__metadata__":{},"__metadata__":{"a":"b"},"w":${e}}`, four), /names "__metadata__" more than once/, 'duplicate metadata');
  rejects(buildFile(`{"w":{"dtype":"F32","dtype":"I64","shape":[1],"data_offsets":[0,4]}}`, four), /names in "w" "dtype" more than once/, 'duplicate field');
  rejects(buildFile(`{"__metadata__":{"k":"1","k":"2"}}`), /names in "__metadata__" "k" more than once/, 'duplicate metadata key');
  // Keys that look alike inside string values, or equal keys in different objects, are fine.
  const ok = buildFile(`{"__metadata__":{"note":"\\"w\\": x","w":"1"},"w":${e}}`, four);
  assert.equal(decodeSafetensors(ok).metadata, { note: '"w": x', w: '1' });
});

test('rejects __metadata__ that is not an object of strings', () => {
  rejects(buildFile({ __metadata__: { format: 1 }, w: F32_1 }, four), /__metadata__ "format" must be a string, got 1/, 'numeric value');
  rejects(buildFile({ __metadata__: { nested: { a: 'b' } } }), /__metadata__ "nested" must be a string, got \{"a":"b"\}/, 'object value');
  rejects(buildFile({ __metadata__: { n: null } }), /__metadata__ "n" must be a string, got null/, 'null value');
  rejects(buildFile({ __metadata__: ['pt'] }), /__metadata__ must be an object of strings/, 'array');
  rejects(buildFile({ __metadata__: 'pt' }), /__metadata__ must be an object of strings/, 'string');
});

test('rejects BOOL bytes other than 0 and 1', () => {
  rejects(buildFile({ f: { dtype: 'BOOL', shape: [3], data_offsets: [0, 3] } }, new Uint8Array([1, 0, 2])), /tensor "f": BOOL value 2 at index 2 is neither 0 nor 1/, 'bool 2');
});

test('a tensor named __proto__ is an ordinary entry, not a prototype', () => {
  const file = buildFile('{"__proto__":' + JSON.stringify(F32_1) + '}', leBytes('f32', [9]));
  const { tensors } = decodeSafetensors(file);
  assert.ok(Object.hasOwn(tensors, '__proto__'));
  assert.is(Object.getPrototypeOf(tensors), Object.prototype);
  assert.equal(Array.from(tensors['__proto__'].toArray()), [9]);
});

test('every truncation of a valid file is rejected with a clear Error, and so is an appended byte', () => {
  const model = new sn.Sequential(new sn.Linear(3, 4), new sn.BatchNorm1d(4));
  const full = encodeSafetensors(model.stateDict(), { format: 'pt' });
  for (let n = 0; n < full.length; n++) {
    rejects(full.subarray(0, n), /too short|runs past the end|run past the|after the last tensor|not valid/, `truncated to ${n} of ${full.length} bytes`);
  }
  rejects(concat(full, new Uint8Array(1)), /1 bytes after the last tensor/, 'one extra byte');
  assert.equal(Object.keys(decodeSafetensors(full).tensors), Object.keys(model.stateDict()));
});

test('takes the file as a Uint8Array, an ArrayBuffer or any ArrayBufferView; refuses anything else naming the accepted types', () => {
  const file = encodeSafetensors({ w: sn.tensor([1.5, -2]) });
  const padded = concat(new Uint8Array(3), file);
  for (const [what, input] of [['ArrayBuffer', file.slice().buffer], ['DataView at an offset', new DataView(padded.buffer, 3)],
    ['Int8Array', new Int8Array(file.slice().buffer)], ['Node Buffer', Buffer.from(file)]]) {
    assert.equal(Array.from(decodeSafetensors(input, SRC).tensors.w.toArray()), [1.5, -2], what);
  }
  const expected = 'expects a Uint8Array \\(a Node Buffer is one\\), an ArrayBuffer or another ArrayBufferView';
  for (const [input, type] of [[Array.from(file), 'an Array of \\d+ numbers'], ['bytes', "the string 'bytes'"], [null, 'null'], [undefined, 'undefined'], [{ length: 8 }, 'an object with key length'], [42, '42']]) {
    assert.throws(() => decodeSafetensors(input, SRC), new RegExp(`^evil\\.safetensors: decodeSafetensors ${expected} holding the file's bytes, got ${type}$`), type);
  }
});

test('shapes whose byte count lands at or just past 2^31, 2^32 and 2^53 are refused by the header check, before any data is read', () => {
  // The files hold a few bytes: a reader that allocated from the shape would ask for gigabytes,
  // and one that multiplied in i32 or u32 would see 0 bytes where [0, 0] says 0 (a mis-parse).
  const cases = [
    [{ dtype: 'U8', shape: [32768, 65536], data_offsets: [0, 0] }, /hold 0 bytes, but U8 shape \[32768, 65536\] needs 2147483648$/, '2^31 bytes (i32 wraps to -2^31)'],
    [{ dtype: 'F32', shape: [2 ** 29 + 1], data_offsets: [0, 4] }, /hold 4 bytes, but F32 shape \[536870913\] needs 2147483652$/, 'just past 2^31 (i32 wraps to 4 bytes past -2^31)'],
    [{ dtype: 'U8', shape: [65536, 65536], data_offsets: [0, 0] }, /hold 0 bytes, but U8 shape \[65536, 65536\] needs 4294967296$/, '2^32 bytes (u32 wraps to 0)'],
    [{ dtype: 'F32', shape: [2 ** 30], data_offsets: [0, 0] }, /hold 0 bytes, but F32 shape \[1073741824\] needs 4294967296$/, '2^32 bytes of F32'],
    [{ dtype: 'I64', shape: [2 ** 29 + 1], data_offsets: [0, 8] }, /hold 8 bytes, but I64 shape \[536870913\] needs 4294967304$/, 'just past 2^32 (u32 wraps to 8)'],
    [{ dtype: 'F32', shape: [2 ** 29], data_offsets: [0, 2 ** 31] }, /tensor "w": data_offsets \[0, 2147483648\] run past the 4 bytes of data$/, 'offsets that agree with a 2^31-byte shape'],
    [{ dtype: 'I64', shape: [2 ** 50], data_offsets: [0, 8] }, /hold 8 bytes, but I64 shape \[1125899906842624\] needs 9\.007e\+15 \(more than 2\^53\)$/, '2^53 bytes'],
    [{ dtype: 'U8', shape: [2 ** 26, 2 ** 27], data_offsets: [0, 0] }, /hold 0 bytes, but U8 shape \[67108864, 134217728\] needs more than 2\^53$/, '2^53 elements'],
    [{ dtype: 'U8', shape: [2 ** 53 - 1], data_offsets: [0, 2 ** 53 - 1] }, /data_offsets \[0, 9007199254740991\] run past the 4 bytes of data$/, '2^53 - 1 bytes, offsets agreeing'],
    [{ dtype: 'F32', shape: [2 ** 53 - 1, 2], data_offsets: [0, 0] }, /needs more than 2\^53$/, 'past 2^53 elements'],
    // The reference reader refuses a product that overflows even if a 0 follows; a Tensor's size would be NaN.
    [{ dtype: 'F32', shape: [2 ** 40, 2 ** 40, 0], data_offsets: [0, 0] }, /F32 shape \[1099511627776, 1099511627776, 0\] needs more than 2\^53$/, 'overflow, then 0'],
  ];
  for (const [entry, re, what] of cases) {
    const data = new Uint8Array(entry.data_offsets[1] > 8 ? 4 : entry.data_offsets[1]);
    rejects(buildFile({ w: entry }, data), re, what);
  }
  // A 0 first keeps the product at 0 all the way: an empty tensor of a strange but valid shape.
  const empty = decodeSafetensors(buildFile({ w: { dtype: 'F32', shape: [0, 2 ** 40, 2 ** 40], data_offsets: [0, 0] } }), SRC).tensors.w;
  assert.equal([...empty.shape, empty.size, empty.toArray().length], [0, 2 ** 40, 2 ** 40, 0, 0]);
});

test('a file inside a larger buffer at an odd offset decodes, Node Buffer pools included', () => {
  const file = encodeSafetensors({ w: sn.tensor([1.5, -2]), s: new sn.Tensor([], new BigInt64Array([-3n])), f: sn.tensor([0.25]) });
  const host = new Uint8Array(file.length + 3);
  host.set(file, 3);
  // Small Buffers share one pooled ArrayBuffer (readFileSync of a small file gives one), and
  // Buffer#slice is a view rather than a copy: the decoder must honour byteOffset throughout.
  const pooled = Buffer.from(host).subarray(3);
  assert.ok(pooled.byteOffset > 0 || pooled.buffer.byteLength > pooled.length, 'the Buffer lives inside a larger ArrayBuffer');
  for (const [what, bytes] of [['Uint8Array', host.subarray(3)], ['Buffer', pooled]]) {
    const out = decodeSafetensors(bytes).tensors;
    assert.equal(Array.from(out.w.toArray()), [1.5, -2], what);
    assert.equal(Array.from(out.s.toInt64Array()), [-3n], what);
    assert.equal(Array.from(out.f.toArray()), [0.25], what);
    bytes.fill(0);
    assert.equal(Array.from(out.w.toArray()), [1.5, -2], `${what}: no aliasing`);
  }
});

test.run();
