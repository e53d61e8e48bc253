// Size arithmetic at the i32 and 4 GiB boundaries: every scratch, output and parameter size is
// computed in float64 and refused with an Error naming the layer before a kernel runs, instead
// of wrapping into a small block that a kernel then writes past.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt, Block, Heap } from 'simdnet/internal';
import { rng, freshSeed, randn, randInt } from './helpers.js';

await sn.ready();
const k = rt().kernels;
const I32 = 2 ** 31, U32 = 2 ** 32;
const OOM = /wasm memory cannot grow to allocate/;

/** The depthwise kernels' scratch (assembly/conv-depthwise*.ts: groups = C > 1), in float64. */
function dwconvFloatsRef(C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW) {
  const k = O / C, taps = KH * KW, fl = Math.floor, up4 = (v) => Math.ceil(v / 4) * 4;
  const rows = (OH - 1) * SH + (KH - 1) * DH + 1;
  // Channel lanes: weights, sums, offsets; x, dx and dy planes of 4 floats a pixel.
  if (k === 1 && OW <= 2) return 9 * taps + 8 * rows * ((OW - 1) * SW + (KW - 1) * DW + 1) + 4 * OH * OW;
  const cols = up4(OW) + fl((KW - 1) * DW / SW) + 1;
  const top = -fl((PH - (KH - 1) * DH) / SH), left = -fl((PW - (KW - 1) * DW) / SW);
  const dyRows = Math.ceil(H / SH) + fl((SH - 1 + PH) / SH) + top;
  const dxCols = up4(Math.ceil(W / SW)), dyCols = dxCols + fl((SW - 1 + PW) / SW) + left;
  return taps + 3 * taps * k + SH * SW + 1 + SW * dxCols + SW * rows * cols + k * dyRows * dyCols;
}

/** The im2col, flat-pass and depthwise scratch sizes of assembly/conv.ts, in float64 (the reference). */
function colsFloatsRef(C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW) {
  if (G === C && C > 1) return dwconvFloatsRef(C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW);
  if (KH === 1 && KW === 1 && SH === 1 && SW === 1 && PH === 0 && PW === 0 && OH === H && OW === W) return 0;
  const flat = SH === 1 && SW === 1 && PH + H <= OH + (KH - 1) * DH && PW + W <= OW + (KW - 1) * DW;
  if (!flat) return (C / G) * KH * KW * OH * OW;
  const up = (v, m) => Math.ceil(v / m) * m, taps = KH * KW;
  const wp = OW + (KW - 1) * DW, plane = (OH + (KH - 1) * DH) * wp;
  const before = (KH - 1) * DH * wp + (KW - 1) * DW;
  const xpad = C * plane + 16, dypad = O * (2 * before + OH * wp + 16);
  const acc = O * (C / G) * taps * 4, wt = (C + G) * (O / G) * taps;
  const frame = (OH + 2) * (OW + 2) * (O / G);
  // 2·K: flatConvRows's interleaved pair of weight rows (K = (C/G)·taps forward, (O/G)·taps for dx);
  // the channel-lane forward's weights, then its table of K tap offsets; 16: the layout record's
  // cache line, first.
  return 16 + Math.max(xpad + Math.max(O * up(OH * wp, 16) + 2 * (C / G) * taps, wt + (C / G) * taps),
    xpad + dypad + acc + wt + C * up(H * wp, 16) + O * OH * OW + G * frame + 2 * (O / G) * taps);
}

/** conv2dColsFloats for a convolution given as PyTorch arguments (symmetric padding). */
function colsFloats(C, H, W, O, KH, KW, S, P, D, G) {
  const OH = Math.floor((H + 2 * P - D * (KH - 1) - 1) / S) + 1, OW = Math.floor((W + 2 * P - D * (KW - 1) - 1) / S) + 1;
  const args = [C, H, W, O, KH, KW, S, S, P, P, D, D, G, OH, OW];
  return { got: k.conv2dColsFloats(1, ...args), want: colsFloatsRef(...args) };
}

test('conv2dColsFloats is exact in float64 across the i32 and 4 GiB boundaries (im2col path)', () => {
  // Stride 2: (C/G)·KH·KW·OH·OW floats.
  for (const [C, K, H, want] of [
    [1, 256, 618, 256 * 256 * 182 * 182],            // the reported case: 2.17e9, past 2^31
    [3, 64, 902, 3 * 64 * 64 * 420 * 420],            // 2.17e9: wrapped negative in i32
    [1, 256, 766, 256 * 256 * 256 * 256],             // exactly 2^32: wrapped to 0
    [4, 256, 766, 4 * 2 ** 32],                       // past 2^32
    [1, 2, 2 ** 16, 4 * 32768 * 32768],               // 2^32 from a large image and a small kernel
    [1, 128, 510, 128 * 128 * 192 * 192],             // just under 2^30 floats: fits i32
  ]) {
    const { got, want: ref } = colsFloats(C, H, H, 1, K, K, 2, 0, 1, 1);
    assert.is(ref, want, `reference for C=${C} K=${K} H=${H}`);
    assert.is(got, want, `C=${C} K=${K} H=${H}`);
  }
  assert.ok(colsFloats(1, 618, 618, 1, 256, 256, 2, 0, 1, 1).got > I32);
  assert.ok(colsFloats(4, 766, 766, 1, 256, 256, 2, 0, 1, 1).got > U32);
});

test('conv2dColsFloats is exact in float64 for the stride-1 flat passes, small and huge', () => {
  const seed = freshSeed(), rand = rng(seed), int = (lo, hi) => randInt(rand, lo, hi);
  for (let i = 0; i < 200; i++) {
    const G = int(1, 3), C = G * int(1, 5), O = G * int(1, 20), KH = int(1, 5), KW = int(1, 5), P = int(0, 2), D = int(1, 2);
    const H = int(KH * D, 30), W = int(KW * D, 30);
    const { got, want } = colsFloats(C, H, W, O, KH, KW, 1, P, D, G);
    assert.is(got, want, `seed ${seed}: C=${C} O=${O} G=${G} ${H}×${W} k=${KH}×${KW} p=${P} d=${D}`);
  }
  // Each term alone past 2^31 / 2^32: channels, planes, output channels.
  for (const [C, H, O, K] of [[2 ** 16, 256, 16, 3], [1, 65536, 1, 3], [64, 8192, 64, 3], [3, 32, 2 ** 20, 3], [2 ** 12, 64, 2 ** 12, 5]]) {
    const { got, want } = colsFloats(C, H, H, O, K, K, 1, 1, 1, 1);
    assert.is(got, want, `C=${C} H=${H} O=${O} K=${K}`);
    assert.ok(got > I32, `C=${C} H=${H} O=${O} K=${K}: ${got} floats`);
  }
});

test('conv2dColsFloats is exact in float64 for the depthwise kernels, small and huge', () => {
  const seed = freshSeed(), rand = rng(seed), int = (lo, hi) => randInt(rand, lo, hi);
  for (let i = 0; i < 200; i++) {
    const C = int(2, 6), O = C * int(1, 3), KH = int(1, 5), KW = int(1, 5), S = int(1, 3), P = int(0, 2), D = int(1, 2);
    const H = int(KH * D, 30), W = int(KW * D, 30);
    const { got, want } = colsFloats(C, H, W, O, KH, KW, S, P, D, C);
    assert.is(got, want, `seed ${seed}: C=${C} O=${O} ${H}×${W} k=${KH}×${KW} s=${S} p=${P} d=${D}`);
  }
  // One padded plane past 2^31 floats from a large image: the column kernels and the channel lanes.
  for (const [C, H, O, K, S] of [[2, 65536, 2, 3, 1], [3, 49152, 6, 5, 2], [4, 70000, 4, 3, 3]]) {
    const { got, want } = colsFloats(C, H, H, O, K, K, S, 1, 1, C);
    assert.is(got, want, `C=${C} H=${H} O=${O} K=${K} S=${S}`);
    assert.ok(got > I32, `C=${C} H=${H}: ${got} floats`);
  }
  const { got, want } = colsFloats(4, 2 ** 31 - 1, 1, 4, 3, 1, 1, 1, 1, 4);
  assert.is(got, want, 'a plane of 2^31 − 1 rows and one column');
  assert.ok(got > U32, `${got} floats`);
});

test('the GEMM scratch is a fixed panel size, whatever the shapes', () => {
  const floats = k.gemmScratchFloats();
  assert.ok(Number.isInteger(floats) && floats > 0 && floats < 2 ** 22, `${floats}`);
});

test('a convolution whose scratch is past 2^31 floats is refused naming the layer, and corrupts nothing', () => {
  const seed = freshSeed(), rand = rng(seed);
  const keep = new sn.Linear(8, 8);
  const other = new sn.Linear(64, 64);
  other.forward(sn.tensor(Float32Array.from(randn(64, rand)), [1, 64]));
  other.dispose(); // its freed blocks are what a wrapped size used to land in
  const weights = keep.weight.data.toArray(), bias = keep.bias.data.toArray();
  const inUse = rt().heap.bytesInUse, reserved = rt().heap.bytesReserved;
  const cases = [
    [new sn.Conv2d(1, 1, 256, { stride: 2 }), [1, 1, 618, 618], /Conv2d\(1, 1, kernel_size=\(256, 256\), stride=\(2, 2\)\) cols buffer: more than the 4\.0 GiB the wasm memory can ever hold/],
    [new sn.Conv2d(3, 4, 64, { stride: 2 }), [1, 3, 902, 902], /Conv2d\(3, 4, kernel_size=\(64, 64\), stride=\(2, 2\)\) cols buffer/],
  ];
  for (const [conv, shape, message] of cases) {
    const size = shape.reduce((a, b) => a * b, 1);
    const x = sn.tensor(Float32Array.from(randn(size, rand)), shape);
    assert.throws(() => conv.forward(x), (err) => err instanceof sn.WasmMemoryError && message.test(err.message) && /dispose\(\)/.test(err.message),
      `seed ${seed}: ${conv}`);
    conv.dispose();
  }
  assert.equal(keep.weight.data.toArray(), weights);
  assert.equal(keep.bias.data.toArray(), bias);
  assert.is(rt().heap.bytesInUse, inUse, 'the refused layers hold nothing once disposed');
  // The inputs (12 MB) were staged; the refused gigabytes of scratch took nothing.
  assert.ok(rt().heap.bytesReserved <= reserved + 256 * 1048576, `memory grew from ${reserved} to ${rt().heap.bytesReserved}`);
  keep.dispose();
});

test('layer outputs and parameters past 4 GiB are refused with the layer, buffer and size named', () => {
  const inUse = rt().heap.bytesInUse;
  // Outputs: 2^31 and 2^32 floats from small inputs.
  const wide = new sn.Linear(1, 2 ** 16);
  assert.throws(() => wide.forward(sn.tensor(new Float32Array(2 ** 15), [2 ** 15, 1])),
    /for Linear\(in_features=1, out_features=65536, bias=True\) y buffer: more than the 4\.0 GiB the wasm memory can ever hold/);
  wide.dispose();
  const adaptive = new sn.AdaptiveAvgPool2d(2 ** 16);
  assert.throws(() => adaptive.forward(sn.tensor([1], [1, 1, 1, 1])), /allocate 16\.0 GiB for AdaptiveAvgPool2d\(output_size=65536\) y buffer/);
  adaptive.dispose();
  // Parameters: exactly 4 GiB (2^30 floats), 2^31 and 2^32 floats, and far past.
  assert.throws(() => new sn.Linear(2 ** 15, 2 ** 15), /allocate 4\.0 GiB for Linear weight \[32768, 32768\]/);
  assert.throws(() => new sn.Linear(2 ** 16, 2 ** 15), /allocate 8\.0 GiB for Linear weight \[32768, 65536\]: more than the 4\.0 GiB the wasm memory can ever hold/);
  assert.throws(() => new sn.Conv2d(2 ** 16, 2 ** 16, 1), /allocate 16\.0 GiB for Conv2d weight \[65536, 65536, 1, 1\]/);
  assert.throws(() => new sn.Linear(1e6, 1e6), /allocate 3725\.3 GiB for Linear weight \[1000000, 1000000\]/);
  assert.throws(() => new sn.BatchNorm1d(2 ** 30), /allocate 4\.0 GiB for BatchNorm1d weight \[1073741824\]/);
  assert.throws(() => new sn.BatchNorm1d(2 ** 40), /BatchNorm1d: num_features must be at most 2147483647, got 1099511627776/);
  // A weight that fits (2.3 GB) but whose gradient then does not: the weight is given back.
  assert.throws(() => new sn.Linear(24000, 24000), /allocate 2\.1 GiB for the gradient of Linear weight \[24000, 24000\]/);
  assert.is(rt().heap.bytesInUse, inUse);
});

test('sn.tensor sizes: a product past 2^53 is refused even when a later dimension is 0; data is checked', () => {
  assert.throws(() => sn.tensor(new Float32Array(0), [2 ** 40, 2 ** 40, 0]), /shape \[1099511627776, 1099511627776, 0\] needs more than 2\^53 values, got 0/);
  assert.throws(() => sn.tensor(new Float32Array(0), [2 ** 1000, 0]), /has a dimension that is not a non-negative integer/);
  assert.throws(() => sn.tensor(new Float32Array(0), [2 ** 53, 0]), /has a dimension that is not a non-negative integer/);
  assert.is(sn.tensor(new Float32Array(0), [2 ** 31, 2 ** 21, 0]).size, 0);
  assert.throws(() => sn.tensor(new Float32Array(4), [2 ** 32, 2 ** 32]), /needs more than 2\^53 values, got 4/);
  assert.throws(() => sn.tensor('1234'), /data must be a Float32Array, another typed array or an array of numbers, got the string '1234'/);
  assert.throws(() => sn.tensor([1, '2']), /data\[1\] is the string '2', expected a number/);
  assert.throws(() => sn.tensor(new BigUint64Array(2)), /got a BigUint64Array of 2 values/);
  assert.is(sn.tensor(new BigInt64Array([1n, 2n])).dtype, 'int64');
  assert.throws(() => sn.tensor([1, 2], '2'), /shape must be an array of dimensions, got the string '2'/);
  assert.equal([...sn.tensor(new Int32Array([1, 2, 3])).toArray()], [1, 2, 3]);
});

test('sizes and indices past the kernels\' 32-bit range are refused, not wrapped', () => {
  const one = sn.tensor([1], [1, 1, 1, 1]);
  assert.throws(() => new sn.Conv2d(1, 1, 1, { stride: 2 ** 32 }), /Conv2d: stride must be at most 2147483647, got 4294967296/);
  assert.throws(() => new sn.MaxPool2d(2 ** 31), /MaxPool2d: kernel_size must be at most 2147483647/);
  assert.throws(() => new sn.Linear(2 ** 31, 1), /Linear: in_features must be at most 2147483647, got 2147483648/);
  const padded = new sn.Conv2d(1, 1, 1, { padding: 2 ** 30, stride: 2 ** 30 });
  assert.throws(() => padded.forward(one), /gives a padded height of 2147483649, more than the 2147483647/);
  padded.dispose();
  const dilated = new sn.Conv2d(1, 1, 3, { dilation: 2 ** 30, padding: 2 ** 30 });
  assert.throws(() => dilated.forward(one), /gives a padded height of 2147483649/);
  dilated.dispose();
  const pool = new sn.MaxPool2d([3, 2 ** 30 + 1], { dilation: [1, 2], padding: [1, 2 ** 29] });
  assert.throws(() => pool.forward(sn.tensor(new Float32Array(9), [1, 1, 3, 3])), /gives a dilated window width of 2147483649/);
});

test('an average-pooling window of 2^32 values divides by 2^32, not by a wrapped 0', () => {
  for (const countIncludePad of [true, false]) {
    const pool = new sn.AvgPool2d(2 ** 16, { padding: 2 ** 15, countIncludePad });
    const x = sn.tensor([3], [1, 1, 1, 1]);
    const y = pool.forward(x).toArray();
    const want = countIncludePad ? 3 / 2 ** 32 : 3;
    assert.is(y.length, 1);
    assert.ok(Math.abs(y[0] - want) <= 1e-6 * want, `countIncludePad ${countIncludePad}: ${y[0]} vs ${want}`);
    const dx = pool.backward(sn.tensor([1], [1, 1, 1, 1])).toArray();
    assert.ok(Math.abs(dx[0] - want / 3) <= 1e-6 * want / 3, `gradient ${dx[0]} vs ${want / 3}`);
    pool.dispose();
  }
});

test('refused allocations in a loop give every byte back: the heap\'s free space returns', () => {
  const memory = new WebAssembly.Memory({ initial: 4, maximum: 16 });
  const heap = new Heap(memory, 0, 16 * 65536);
  const a = heap.alloc(100000), b = heap.alloc(50000);
  heap.release(b, 50000); // a free span at the top, which a refused request used to swallow
  const reserved = memory.buffer.byteLength;
  for (let i = 0; i < 12; i++) {
    assert.throws(() => heap.alloc(15 * 65536, 'a test buffer'), /cannot grow to allocate 960\.0 KiB for a test buffer: the heap would have to reach 1083072 bytes, past its 1048576-byte limit/);
    assert.throws(() => heap.alloc(2 ** 33), /allocate 8\.0 GiB for a buffer: more than the 1\.0 MiB the wasm memory can ever hold/);
  }
  assert.is(memory.buffer.byteLength, reserved, 'no growth from refused requests');
  assert.is(heap.bytesInUse, 100032, 'only a is in use');
  assert.is(heap.alloc(50000), b, 'the top span is still free and reused');
  for (const bad of [-1, 1.5, NaN, Infinity]) assert.throws(() => heap.alloc(bad), /expected a whole number of bytes/);
  heap.release(a, 100000);
});

test('refused models in a loop leave the library heap as it was', () => {
  const inUse = rt().heap.bytesInUse, reserved = rt().heap.bytesReserved;
  for (let i = 0; i < 12; i++) {
    assert.throws(() => new sn.Linear(1e6, 1e6), OOM);
    assert.throws(() => new sn.Linear(33000, 33000), /allocate 4\.1 GiB for Linear weight \[33000, 33000\]: more than the 4\.0 GiB the wasm memory can ever hold/);
    assert.throws(() => new Block(U32), /cannot grow to allocate 4\.0 GiB for a buffer/);
  }
  assert.is(rt().heap.bytesInUse, inUse);
  assert.is(rt().heap.bytesReserved, reserved);
  // The heap still serves ordinary requests where it did before.
  const m = new sn.Linear(10, 10);
  m.forward(sn.tensor(new Float32Array(10), [1, 10]));
  m.dispose();
  assert.is(rt().heap.bytesInUse, inUse);
});

test.run();
