// 1×1 convolutions at stride 2 read and written in place (assembly/conv-pointwise-s2.ts): the
// forward through a subsampled copy of each image and the table micro-kernel, dx stored spread
// over dx's even columns with its odd rows zeroed, dW by dy broadcast against xsᵀ. Forward, dx, dW
// and db against the float64 reference on awkward shapes: batch 1, H odd (no odd row after the
// last even one), channel counts not a multiple of 4 or 8 (4-row panels and a rest in every
// pass), groups, no bias, output rows of 8, 16 and 24 pixels, several chunks of images in the
// weight gradient; the shapes the rule refuses keep their lowering; every float of y and dx
// written over NaN, dW added to what it held, nothing read from the scratch; finite differences
// through the layer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt, gemmScratch } from 'simdnet/internal';
import { rng, freshSeed, toWasm, wasmOut, freeAll, assertClose, randf, assertLayerFiniteDifferences, randomConv2d } from './helpers.js';
import { conv2d, conv2dGrad, convGeometry } from './reference.js';

await sn.ready();
const k = rt().kernels;
const SP = 'strided-pointwise-gemm';

/** A sum of `terms` products of values in [-1, 1]: f32 rounding (or FMA) grows about like √terms. */
const tol = (terms, what) => ({ rtol: 1e-4, atol: 2e-5 * Math.sqrt(terms) + 1e-5, what });

const CASES = [
  { N: 1, C: 5, O: 7, H: 16, W: 16 },
  { N: 2, C: 3, O: 1, H: 17, W: 16 }, // H odd; one output channel (W's rest alone)
  { N: 3, C: 6, O: 9, H: 15, W: 32, opts: { groups: 3, bias: false } }, // Cg = 2, Og = 3
  { N: 2, C: 13, O: 10, H: 8, W: 48 }, // three 8-pixel tiles a row
  { N: 2, C: 33, O: 37, H: 5, W: 16 }, // 4-row panels and a rest in every pass; xsᵀ's zero columns
  { N: 2, C: 8, O: 12, H: 16, W: 16, opts: { groups: 2, dilation: 3 } }, // dilation is nothing to a 1×1 kernel
  { N: 17, C: 16, O: 32, H: 32, W: 32 }, // ResNet-20's 16→32: the weight gradient in chunks of 8, 8 and 1 images
  { N: 16, C: 32, O: 64, H: 16, W: 16 }, // ResNet-20's 32→64
];

/** The case's layer options with stride 2. */
const optsOf = (c) => ({ stride: 2, ...(c.opts ?? {}) });
/** The reference's options. */
const refOf = (c) => ({ stride: 2, groups: c.opts?.groups ?? 1, dilation: c.opts?.dilation ?? 1 });

for (const c of CASES) {
  test(`1×1 stride 2 ${JSON.stringify(c)}: forward, dx, dW, db against float64`, () => {
    const seed = freshSeed(), rand = rng(seed), what = (s) => `seed ${seed}: ${JSON.stringify(c)}: ${s}`;
    const { layer, w, b } = randomConv2d(sn, c.C, c.O, 1, optsOf(c), rand);
    const shape = [c.N, c.C, c.H, c.W], g = convGeometry(shape, c.O, 1, refOf(c));
    assert.is(layer.algorithm(shape), SP);
    const x = randf(c.N * c.C * c.H * c.W, rand);
    const y = layer.forward(sn.tensor(Float32Array.from(x), shape));
    assert.equal([...y.shape], [c.N, c.O, g.OH, g.OW], what('output shape'));
    assertClose(y.toArray(), conv2d(x, shape, w, b, c.O, 1, refOf(c)).y, tol(g.cg, what('forward')));
    const dy = randf(y.size, rand);
    const dx = layer.backward(sn.tensor(Float32Array.from(dy), y.shape));
    const ref = conv2dGrad(x, shape, w, dy, c.O, 1, refOf(c));
    assertClose(dx.toArray(), ref.dx, tol(g.og, what('dx')));
    assertClose(layer.weight.grad.toArray(), ref.dw, tol(c.N * g.OH * g.OW, what('dW')));
    if (b) assertClose(layer.bias.grad.toArray(), ref.db, tol(c.N * g.OH * g.OW, what('db')));
    layer.dispose();
  });
}

test('the shapes the rule refuses keep their lowering: padding, stride 3 or [2, 1], odd W, output rows not a multiple of 8', () => {
  const algorithm = (C, O, opts, shape) => new sn.Conv2d(C, O, 1, opts).algorithm(shape);
  assert.is(algorithm(8, 16, { stride: 2 }, [2, 8, 16, 16]), SP);
  assert.is(algorithm(8, 16, { stride: 2 }, [1, 8, 9, 16]), SP);
  assert.is(algorithm(8, 16, { stride: 2, padding: 1 }, [2, 8, 14, 14]), 'im2col-batched-gemm'); // 8×8 out, padded
  assert.is(algorithm(8, 16, { stride: 3 }, [2, 8, 24, 24]), 'im2col-batched-gemm');
  assert.is(algorithm(8, 16, { stride: [2, 1] }, [2, 8, 16, 8]), 'im2col-batched-gemm');
  assert.is(algorithm(8, 16, { stride: 2 }, [2, 8, 16, 15]), 'im2col-batched-gemm'); // OW = 8 from an odd W
  assert.is(algorithm(8, 16, { stride: 2 }, [2, 8, 40, 20]), 'im2col-gemm'); // OW = 10
  assert.is(algorithm(8, 16, { stride: 2 }, [2, 8, 16, 8]), 'im2col-batched-gemm'); // OW = 4
});

test('the raw kernels write every float of y and dx over NaN, add to dW and db, and read nothing of the scratch', () => {
  for (const [N, C, H, W, O, G] of [[3, 7, 13, 16, 9, 1], [2, 12, 10, 32, 8, 4]]) {
    const rand = rng(freshSeed());
    const OH = Math.floor((H - 1) / 2) + 1, OW = W / 2;
    const args = [N, C, H, W, O, 1, 1, 2, 2, 0, 0, 1, 1, G, OH, OW];
    const xs = randf(N * C * H * W, rand), ws = randf(O * (C / G), rand), bs = randf(O, rand), dys = randf(N * O * OH * OW, rand);
    const dw0 = randf(ws.length, rand), db0 = randf(O, rand);
    const x = toWasm(xs), w = toWasm(ws), b = toWasm(bs), dyw = toWasm(dys), dw = toWasm(dw0), db = toWasm(db0);
    const y = wasmOut(N * O * OH * OW), dx = wasmOut(N * C * H * W), cols = wasmOut(k.conv2dColsFloats(...args));
    const opts = { stride: 2, groups: G };
    try {
      k.conv2dForward(x.ptr, w.ptr, b.ptr, y.ptr, ...args, cols.ptr, gemmScratch());
      assertClose(y.view(), conv2d(xs, [N, C, H, W], ws, bs, O, 1, opts).y, tol(C / G, 'y'));
      cols.view().fill(NaN);
      k.conv2dBackward(x.ptr, w.ptr, dyw.ptr, dw.ptr, db.ptr, dx.ptr, ...args, cols.ptr, gemmScratch());
      const ref = conv2dGrad(xs, [N, C, H, W], ws, dys, O, 1, opts);
      assertClose(dx.view(), ref.dx, tol(O / G, 'dx'));
      assertClose(dw.view(), ref.dw.map((v, i) => v + dw0[i]), tol(N * OH * OW, 'dW added'));
      assertClose(db.view(), ref.db.map((v, i) => v + db0[i]), tol(N * OH * OW, 'db added'));
      // dx alone (the threads' input gradient) over NaN: the same bits.
      const dx2 = wasmOut(N * C * H * W);
      k.conv2dInputGrad(w.ptr, dyw.ptr, dx2.ptr, ...args, cols.ptr, gemmScratch());
      assert.equal(Array.from(dx2.view()), Array.from(dx.view()), 'conv2dInputGrad = conv2dBackward\'s dx');
      freeAll(dx2);
    } finally {
      freeAll(x, w, b, dyw, dw, db, y, dx, cols);
    }
  }
});

test('finite differences through the layer: dx, dW, db', () => {
  for (const [C, O, opts, shape] of [[3, 5, { stride: 2 }, [2, 3, 7, 16]], [4, 6, { stride: 2, groups: 2 }, [1, 4, 6, 32]]]) {
    const seed = freshSeed(), rand = rng(seed);
    const { layer } = randomConv2d(sn, C, O, 1, opts, rand);
    assert.is(layer.algorithm(shape), SP);
    assertLayerFiniteDifferences(sn, layer, shape, rand, seed);
    layer.dispose();
  }
});

test.run();
