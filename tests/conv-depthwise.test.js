// The depthwise convolution kernels (assembly/conv-depthwise.ts, conv-depthwise-c4.ts): groups =
// in_channels > 1, with k = out_channels / in_channels filters per channel. Forward, dx, dW and db
// against the float64 reference on awkward shapes: batch 1 and 3; 1, 3, 5, 16 and 17 channels;
// planes of 1, 2, 7 and 13 rows and columns (and 37 columns, for the 16-column step of the
// tap-list kernels); kernels 1, 3, 5 and non-square; stride 1, 2, 3 and per axis; padding 0, 1,
// 2, per axis, 'same' with an even kernel (the extra row after), and wider than the kernel;
// dilation 2; k = 2 and 3. 3×3 kernels take the dwconv-3x3 kernels whatever the stride and
// dilation, other sizes the tap-list ones, and output rows of at most 2 columns with k = 1 the
// channel-lane ones (blocks of 4 channels: 17, 5 and 6 leave a last block of 1 or 2). Then a
// seeded sweep of random shapes, finite differences through the layer, the raw kernels on
// NaN-filled outputs and scratch, and inputs that no output reads holding ±∞ and NaN.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';
import { rng, freshSeed, toWasm, wasmOut, freeAll, assertClose, randf, assertLayerFiniteDifferences, randomConv2d, randInt } from './helpers.js';
import { conv2d, conv2dGrad, convGeometry } from './reference.js';

await sn.ready();

const pair = (v) => (typeof v === 'number' ? [v, v] : v);

/** The reference's options for a layer's: padding as the zeros before and after, 'same' included. */
function refOptions(c) {
  const o = c.opts ?? {}, [KH, KW] = pair(c.k), [DH, DW] = pair(o.dilation ?? 1);
  let pad = pair(o.padding ?? 0), padAfter = pad;
  if (o.padding === 'same') {
    const total = [DH * (KH - 1), DW * (KW - 1)];
    pad = total.map((t) => t >> 1); padAfter = total.map((t, i) => t - pad[i]);
  }
  return { stride: o.stride ?? 1, pad, padAfter, dilation: o.dilation ?? 1, groups: c.C };
}

/** A sum of `terms` products of values in [-1, 1]: f32 rounding (or FMA) grows about like √terms. */
const tol = (terms, what) => ({ rtol: 1e-4, atol: 2e-5 * Math.sqrt(terms) + 1e-5, what });

/** The case's layer with random float32 weights and bias. */
function makeLayer(c, rand) {
  const O = c.C * (c.mult ?? 1);
  return { ...randomConv2d(sn, c.C, O, c.k, { ...c.opts, groups: c.C }, rand), O };
}

/** Forward, dx, dW and db of case c against the float64 reference; returns the algorithm taken and OW. */
function checkAgainstReference(c, seed) {
  const rand = rng(seed), what = (s) => `seed ${seed}: ${JSON.stringify(c)}: ${s}`;
  const { layer, w, b, O } = makeLayer(c, rand);
  const shape = [c.N, c.C, c.H, c.W], opts = refOptions(c), g = convGeometry(shape, O, c.k, opts);
  const algorithm = layer.algorithm(shape);
  const x = randf(c.N * c.C * c.H * c.W, rand);
  const y = layer.forward(sn.tensor(Float32Array.from(x), shape));
  assert.equal([...y.shape], [c.N, O, g.OH, g.OW], what('output shape'));
  assertClose(y.toArray(), conv2d(x, shape, w, b, O, c.k, opts).y, tol(g.KH * g.KW, what('forward')));
  const dy = randf(y.size, rand);
  const dx = layer.backward(sn.tensor(Float32Array.from(dy), y.shape));
  const ref = conv2dGrad(x, shape, w, dy, O, c.k, opts);
  assertClose(dx.toArray(), ref.dx, tol((c.mult ?? 1) * g.KH * g.KW, what('dx')));
  assertClose(layer.weight.grad.toArray(), ref.dw, tol(c.N * g.OH * g.OW, what('dW')));
  if (b) assertClose(layer.bias.grad.toArray(), ref.db, tol(c.N * g.OH * g.OW, what('db')));
  layer.dispose();
  return { algorithm, OW: g.OW };
}

const cases = [
  // 3×3: MobileNet's stride 1 and 2 with padding 1, then the other strides, paddings, dilations.
  { N: 1, C: 16, H: 13, W: 13, k: 3, opts: { padding: 1 } },
  { N: 3, C: 17, H: 7, W: 13, k: 3, opts: { padding: 1, stride: 2 } },
  { N: 1, C: 16, H: 13, W: 2, k: 3, opts: { padding: 1, stride: 2 } },
  { N: 1, C: 3, H: 13, W: 13, k: 3, opts: { stride: 2 } }, // stride 2, both paddings even, odd, mixed
  { N: 1, C: 5, H: 7, W: 12, k: 3, opts: { stride: 2, padding: [2, 1] } },
  { N: 3, C: 3, H: 8, W: 9, k: 3, opts: { stride: 2, padding: [1, 2] } },
  { N: 3, C: 5, H: 13, W: 7, k: 3, opts: { stride: 3 } }, // unpadded: the last rows and columns read by nothing
  { N: 3, C: 3, H: 7, W: 7, k: 3, opts: { padding: 2, dilation: 2 } },
  { N: 1, C: 3, H: 2, W: 13, k: 3, opts: { padding: 1 } },
  { N: 3, C: 5, H: 1, W: 1, k: 3, opts: { padding: 1 } }, // one pixel: every tap but the centre in the padding
  { N: 1, C: 3, H: 7, W: 13, k: 3, opts: { padding: 'same', bias: false } },
  { N: 3, C: 5, H: 13, W: 7, k: 3, opts: { padding: [2, 0], stride: [1, 2] } },
  { N: 1, C: 3, H: 13, W: 13, k: 3, opts: { padding: 1, stride: [2, 3], dilation: [1, 2] } },
  { N: 1, C: 17, H: 5, W: 37, k: 3, opts: { padding: 1, stride: 2 } },
  { N: 1, C: 3, H: 7, W: 7, k: 3, mult: 2, opts: { padding: 1 } }, // k = 2: dx sums two filters
  { N: 3, C: 3, H: 13, W: 13, k: 3, mult: 2, opts: { padding: 1, stride: 2 } },
  // Other kernels: the tap-list kernels.
  { N: 1, C: 5, H: 13, W: 13, k: 5, opts: { padding: 2 } },
  { N: 3, C: 16, H: 7, W: 13, k: 5, opts: { padding: 2, stride: 2 } },
  { N: 1, C: 3, H: 5, W: 37, k: 5, opts: { padding: 2 } }, // 16-column steps forward and dx
  { N: 1, C: 3, H: 5, W: 37, k: 5, opts: { padding: 2, stride: 2 } }, // dx phase rows of 16-column steps
  { N: 1, C: 3, H: 13, W: 7, k: 1 }, // 1×1: a scale per channel
  { N: 3, C: 17, H: 7, W: 7, k: 1, opts: { stride: 2 } },
  { N: 1, C: 3, H: 2, W: 7, k: 1, opts: { padding: 2, stride: 3 } }, // padding wider than the kernel reaches
  { N: 1, C: 3, H: 7, W: 13, k: [2, 3], opts: { padding: 'same' } }, // even height: one padding row after
  { N: 3, C: 5, H: 13, W: 13, k: [1, 5], opts: { padding: [0, 2], dilation: 2 } },
  { N: 1, C: 3, H: 13, W: 13, k: [5, 2], opts: { stride: 3, padding: [2, 1] } },
  { N: 1, C: 16, H: 2, W: 7, k: [4, 3], opts: { padding: 'same', dilation: [2, 1] } },
  { N: 1, C: 3, H: 7, W: 7, k: 5, mult: 3, opts: { padding: 2, stride: 2, bias: false } },
  { N: 3, C: 5, H: 7, W: 13, k: 5, opts: { padding: 1, stride: 3, dilation: 2 } }, // phases with no taps
  // Output rows of at most 2 columns: channels in the lanes, 4 at a time (17 and 5: a last block of 1).
  { N: 3, C: 17, H: 9, W: 2, k: [5, 3], opts: { padding: [2, 1] } },
  { N: 1, C: 6, H: 7, W: 5, k: 3, opts: { stride: 2, dilation: 2, padding: 1 } },
  { N: 1, C: 3, H: 5, W: 2, k: 3, mult: 2, opts: { padding: 1 } }, // k = 2: the column kernels
  // Planes of one and of four pixels (MobileNetV2's last maps): four channels' values contiguous,
  // packed and unpacked by one load or a 4×4 transpose, the bias gradient four channels at a time.
  { N: 3, C: 9, H: 1, W: 1, k: 3, opts: { padding: 1 } },
  { N: 2, C: 10, H: 2, W: 2, k: 3, opts: { padding: 1 } },
  { N: 2, C: 8, H: 2, W: 2, k: 3, opts: { padding: 1, stride: 2 } },
  { N: 1, C: 5, H: 4, W: 1, k: [3, 1], opts: { padding: [1, 0] } },
  { N: 2, C: 7, H: 1, W: 4, k: [2, 2], opts: { padding: 1, stride: [1, 3] } },
  { N: 2, C: 4, H: 2, W: 2, k: 1, opts: { stride: 2 } }, // the padded plane clips the input: pixels no output reads
];

/** The kernels a case should take: channel lanes for rows of ≤ 2 columns and k = 1, else by kernel size. */
function expectedAlgorithm(c, OW) {
  if ((c.mult ?? 1) === 1 && OW <= 2) return 'dwconv-channel-lanes';
  const [KH, KW] = pair(c.k);
  return KH === 3 && KW === 3 ? 'dwconv-3x3' : 'dwconv';
}

for (const c of cases) {
  test(`depthwise Conv2d ${JSON.stringify(c)}: forward, dx, dW, db against float64`, () => {
    const { algorithm, OW } = checkAgainstReference(c, freshSeed());
    assert.is(algorithm, expectedAlgorithm(c, OW));
  });
}

test('one input channel (groups = 1) is not depthwise: it keeps the GEMM lowerings', () => {
  for (const c of [
    { N: 1, C: 1, H: 13, W: 13, k: 3, opts: { padding: 1 } },
    { N: 3, C: 1, H: 7, W: 2, k: 3, mult: 2, opts: { padding: 1, stride: 2 } },
    { N: 1, C: 1, H: 7, W: 7, k: [1, 5], opts: { padding: 'same' } },
  ]) {
    const { algorithm } = checkAgainstReference(c, freshSeed());
    assert.ok(!algorithm.startsWith('dwconv'), `${JSON.stringify(c)}: ${algorithm}`);
  }
});

test('the algorithm is a function of the shape alone: depthwise exactly when groups = in_channels > 1', () => {
  const at = (C, O, k, opts, shape) => new sn.Conv2d(C, O, k, opts).algorithm(shape);
  assert.is(at(32, 32, 3, { padding: 1, groups: 32 }, [16, 32, 56, 56]), 'dwconv-3x3');
  assert.is(at(32, 32, 3, { padding: 1, groups: 32 }, [1, 32, 56, 56]), 'dwconv-3x3');
  assert.is(at(96, 96, 3, { padding: 1, stride: 2, groups: 96 }, [1, 96, 112, 112]), 'dwconv-3x3');
  assert.is(at(8, 16, 5, { padding: 2, groups: 8 }, [2, 8, 9, 9]), 'dwconv');
  assert.is(at(960, 960, 3, { padding: 1, groups: 960 }, [16, 960, 1, 1]), 'dwconv-channel-lanes');
  assert.is(at(576, 576, 3, { padding: 1, stride: 2, groups: 576 }, [16, 576, 4, 4]), 'dwconv-channel-lanes');
  assert.is(at(8, 16, 3, { padding: 1, groups: 8 }, [16, 8, 2, 2]), 'dwconv-3x3');
  assert.is(at(8, 8, 3, { padding: 1, groups: 4 }, [2, 8, 9, 9]), 'flat');
  assert.is(at(8, 16, 3, { padding: 1 }, [2, 8, 9, 9]), 'flat-channel-lanes');
  assert.is(at(8, 16, 3, { stride: 2 }, [2, 8, 19, 19]), 'im2col-gemm');
  assert.is(at(8, 16, 1, {}, [2, 8, 9, 9]), 'pointwise-gemm');
  assert.throws(() => at(8, 8, 3, { groups: 8 }, [1, 4, 9, 9]), /expected input of shape \[N, 8, H, W\], got \[1, 4, 9, 9\]/);
});

test('random depthwise shapes against float64 (seeded sweep)', () => {
  const seed = freshSeed(), rand = rng(seed), int = (lo, hi) => randInt(rand, lo, hi);
  for (let done = 0; done < 40;) {
    const KH = int(1, 5), KW = int(1, 5), D = [int(1, 2), int(1, 2)], S = [int(1, 3), int(1, 3)];
    const c = { N: int(1, 2), C: int(2, 5), mult: int(1, 2), H: int(1, 15), W: int(1, 19), k: [KH, KW], opts: { stride: S, dilation: D, padding: [int(0, 2), int(0, 2)] } };
    if (c.H + 2 * c.opts.padding[0] < D[0] * (KH - 1) + 1 || c.W + 2 * c.opts.padding[1] < D[1] * (KW - 1) + 1) continue;
    const { algorithm, OW } = checkAgainstReference(c, seed + done);
    assert.is(algorithm, expectedAlgorithm(c, OW), `seed ${seed + done}`);
    done++;
  }
});

// ---- through the layer: finite differences, accumulation, no input gradient ----

for (const c of [
  { N: 2, C: 3, H: 7, W: 6, k: 3, opts: { padding: 1 } },
  { N: 2, C: 3, H: 7, W: 6, k: 3, opts: { padding: 1, stride: 2 } },
  { N: 1, C: 2, H: 6, W: 7, k: [2, 3], mult: 2, opts: { padding: [1, 2], stride: [2, 1], dilation: [1, 2] } },
  { N: 2, C: 5, H: 3, W: 4, k: 3, opts: { padding: 1, stride: 2 } }, // channel lanes
]) {
  test(`depthwise Conv2d ${JSON.stringify(c)}: gradients match central differences of the float32 forward`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const { layer } = makeLayer(c, rand);
    const shape = [c.N, c.C, c.H, c.W];
    assert.ok(layer.algorithm(shape).startsWith('dwconv'), layer.algorithm(shape));
    assertLayerFiniteDifferences(sn, layer, shape, rand, seed);
    layer.dispose();
  });
}

test('depthwise backward accumulates dW and db over calls, and skips dx when not asked', () => {
  const seed = freshSeed(), rand = rng(seed);
  const c = { N: 3, C: 5, H: 9, W: 11, k: 3, opts: { padding: 1, stride: 2 } };
  const { layer, w, O } = makeLayer(c, rand);
  const shape = [c.N, c.C, c.H, c.W], x = randf(c.N * c.C * c.H * c.W, rand);
  const y = layer.forward(sn.tensor(Float32Array.from(x), shape));
  const dy = randf(y.size, rand), g = toWasm(dy);
  assert.is(layer.backwardDevice(new sn.Tensor(y.shape, g.block), false), null);
  assert.is(layer.backwardDevice(new sn.Tensor(y.shape, g.block), false), null);
  const ref = conv2dGrad(x, shape, w, dy, O, c.k, refOptions(c)), P = c.N * y.shape[2] * y.shape[3];
  assertClose(layer.weight.grad.toArray(), ref.dw.map((v) => 2 * v), tol(2 * P, `seed ${seed}: dW`));
  assertClose(layer.bias.grad.toArray(), ref.db.map((v) => 2 * v), tol(2 * P, `seed ${seed}: db`));
  freeAll(g);
  layer.dispose();
});

// ---- the raw kernels ----

/** The kernels' size arguments for case c, and its geometry. */
function kernelArgs(c) {
  const O = c.C * (c.mult ?? 1), shape = [c.N, c.C, c.H, c.W], opts = refOptions(c), g = convGeometry(shape, O, c.k, opts);
  return { g, O, opts, args: [c.N, c.C, c.H, c.W, O, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW, c.C, g.OH, g.OW] };
}

for (const c of [1, 3, 6, 15, 19, 26, 27, 28, 29].map((i) => cases[i])) {
  test(`depthwise kernels write every output float and need nothing of the scratch: ${JSON.stringify(c)}`, () => {
    // y, dx and the scratch start as NaN; dW and db start at 1 and must be added to.
    const seed = freshSeed(), rand = rng(seed), k = rt().kernels;
    const { g, O, opts, args } = kernelArgs(c);
    const shape = [c.N, c.C, c.H, c.W];
    const x = randf(c.N * c.C * c.H * c.W, rand), w = randf(O * g.KH * g.KW, rand), b = randf(O, rand);
    const dy = randf(c.N * O * g.OH * g.OW, rand);
    const xb = toWasm(x), wb = toWasm(w), bb = toWasm(b), dyb = toWasm(dy);
    const y = wasmOut(dy.length), dx = wasmOut(x.length), dw = wasmOut(w.length, 1), db = wasmOut(O, 1);
    const scratch = wasmOut(k.conv2dColsFloats(...args));
    k.conv2dForward(xb.ptr, wb.ptr, bb.ptr, y.ptr, ...args, scratch.ptr, 0);
    assertClose(y.view(), conv2d(x, shape, w, b, O, c.k, opts).y, tol(g.KH * g.KW, `seed ${seed}: forward`));
    scratch.view().fill(NaN);
    k.conv2dBackward(xb.ptr, wb.ptr, dyb.ptr, dw.ptr, db.ptr, dx.ptr, ...args, scratch.ptr, 0);
    const ref = conv2dGrad(x, shape, w, dy, O, c.k, opts);
    assertClose(dx.view(), ref.dx, tol((c.mult ?? 1) * g.KH * g.KW, `seed ${seed}: dx`));
    const P = c.N * g.OH * g.OW;
    assertClose(dw.view(), ref.dw.map((v) => v + 1), tol(P, `seed ${seed}: dW`));
    assertClose(db.view(), ref.db.map((v) => v + 1), tol(P, `seed ${seed}: db`));
    freeAll(xb, wb, bb, dyb, y, dx, dw, db, scratch);
  });
}

test('input values that no output reads (±∞, NaN) change nothing: forward, dx and dW as without them', () => {
  // Strides 3 and 2 without padding on these planes leave the last row and
  // column unread; they hold ±∞ and NaN, which would leak into the results if a kernel multiplied
  // them. (Layers refuse non-finite inputs, so this calls the kernels.)
  const k = rt().kernels;
  for (const c of [
    { N: 2, C: 3, H: 13, W: 14, k: 3, opts: { stride: 3 } },
    { N: 2, C: 3, H: 13, W: 13, k: 2, opts: { stride: 3 } },
    { N: 1, C: 4, H: 10, W: 10, k: 3, opts: { stride: 2 } },
    { N: 2, C: 5, H: 8, W: 7, k: 3, opts: { stride: 3 } }, // channel lanes
  ]) {
    const seed = freshSeed(), rand = rng(seed), what = (s) => `seed ${seed}: ${JSON.stringify(c)}: ${s}`;
    const { g, O, opts, args } = kernelArgs(c);
    const shape = [c.N, c.C, c.H, c.W];
    const readRows = (g.OH - 1) * g.SH + g.KH, readCols = (g.OW - 1) * g.SW + g.KW;
    assert.ok(readRows < c.H && readCols < c.W, 'the case leaves a row and a column unread');
    const x = randf(c.N * c.C * c.H * c.W, rand), w = randf(O * g.KH * g.KW, rand), b = randf(O, rand);
    const poisoned = Float32Array.from(x);
    for (let p = 0; p < c.N * c.C; p++) {
      for (let r = 0; r < c.H; r++) for (let q = 0; q < c.W; q++) {
        if (r >= readRows || q >= readCols) poisoned[(p * c.H + r) * c.W + q] = [Infinity, -Infinity, NaN][(r + q) % 3];
      }
    }
    const dy = randf(c.N * O * g.OH * g.OW, rand);
    const xb = toWasm(poisoned), wb = toWasm(w), bb = toWasm(b), dyb = toWasm(dy);
    const y = wasmOut(dy.length), dx = wasmOut(x.length), dw = wasmOut(w.length, 0), db = wasmOut(O, 0);
    const scratch = wasmOut(k.conv2dColsFloats(...args));
    k.conv2dForward(xb.ptr, wb.ptr, bb.ptr, y.ptr, ...args, scratch.ptr, 0);
    k.conv2dBackward(xb.ptr, wb.ptr, dyb.ptr, dw.ptr, db.ptr, dx.ptr, ...args, scratch.ptr, 0);
    assertClose(y.view(), conv2d(x, shape, w, b, O, c.k, opts).y, tol(g.KH * g.KW, what('forward')));
    const ref = conv2dGrad(x, shape, w, dy, O, c.k, opts);
    assertClose(dx.view(), ref.dx, tol(g.KH * g.KW, what('dx')));
    assertClose(dw.view(), ref.dw, tol(c.N * g.OH * g.OW, what('dW')));
    freeAll(xb, wb, bb, dyb, y, dx, dw, db, scratch);
  }
});

test.run();
