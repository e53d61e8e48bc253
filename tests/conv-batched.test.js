// Convolutions with the batch folded into one GEMM (assembly/conv-batched.ts): pointwise (1×1,
// stride 1, unpadded) and im2col convolutions whose output map has at most 64 pixels, at batch ≥ 2;
// and the forward and weight gradient of strided convolutions by the implicit GEMM
// (assembly/conv-strided.ts: output rows of a multiple of 8 pixels, kernels larger than 1×1), at
// any batch, with the input gradient by output phase (assembly/conv-strided-dx.ts) where it applies.
// Forward, dx, dW and db against the float64 reference on 1×1 convolutions at 1×1, 2×2, 3×3 and
// 8×8 maps and strided 3×3 / 1×1 ones on 4×4 to 16×16 inputs; batch 2, 3 and 17; channel counts
// that are not multiples of 4; with and without bias; groups 2 and 3; K above the GEMM's 256-deep
// blocks and N·P above the 256 where the weight gradient reads both operands in place; every tile
// kind of the in-place GEMMs (assembly/gemm-inplace.ts) and stride-2 rows long enough for the
// shuffling im2col / col2im. Then the
// lowering each shape takes (the neighbours past the threshold and at batch 1 keep theirs),
// finite differences through the layer, and the raw kernels on NaN-filled outputs and scratch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt, gemmScratch } from 'simdnet/internal';
import { rng, freshSeed, toWasm, wasmOut, freeAll, assertClose, randf, assertLayerFiniteDifferences, bits, randomConv2d } from './helpers.js';
import { conv2d, conv2dGrad, convGeometry } from './reference.js';

await sn.ready();

/** The reference's options for a case's layer options (numeric padding only). */
const refOptions = (c) => ({ stride: c.opts?.stride ?? 1, pad: c.opts?.padding ?? 0, dilation: c.opts?.dilation ?? 1, groups: c.opts?.groups ?? 1 });

/** A sum of `terms` products of values in [-1, 1]: f32 rounding (or FMA) grows about like √terms. */
const tol = (terms, what) => ({ rtol: 1e-4, atol: 2e-5 * Math.sqrt(terms) + 1e-5, what });

/** The case's layer with random float32 weights and bias. */
const makeLayer = (c, rand) => randomConv2d(sn, c.C, c.O, c.k, c.opts ?? {}, rand);

/** Forward, dx, dW and db of case c through the layer against the float64 reference; returns the algorithm taken. */
function checkAgainstReference(c, seed) {
  const rand = rng(seed), what = (s) => `seed ${seed}: ${JSON.stringify(c)}: ${s}`;
  const { layer, w, b } = makeLayer(c, rand);
  const shape = [c.N, c.C, c.H, c.W], opts = refOptions(c), g = convGeometry(shape, c.O, c.k, opts);
  const algorithm = layer.algorithm(shape);
  const x = randf(c.N * c.C * c.H * c.W, rand);
  const y = layer.forward(sn.tensor(Float32Array.from(x), shape));
  assert.equal([...y.shape], [c.N, c.O, g.OH, g.OW], what('output shape'));
  assertClose(y.toArray(), conv2d(x, shape, w, b, c.O, c.k, opts).y, tol(g.cg * g.KH * g.KW, what('forward')));
  const dy = randf(y.size, rand);
  const dx = layer.backward(sn.tensor(Float32Array.from(dy), y.shape));
  const ref = conv2dGrad(x, shape, w, dy, c.O, c.k, opts);
  assertClose(dx.toArray(), ref.dx, tol(g.og * g.KH * g.KW, what('dx')));
  assertClose(layer.weight.grad.toArray(), ref.dw, tol(c.N * g.OH * g.OW, what('dW')));
  if (b) assertClose(layer.bias.grad.toArray(), ref.db, tol(c.N * g.OH * g.OW, what('db')));
  layer.dispose();
  return algorithm;
}

const PW = 'pointwise-batched-gemm', IM = 'im2col-batched-gemm', IMP = 'implicit-gemm', IMPB = 'implicit-batched-gemm';
const cases = [
  // 1×1 on 1×1, 2×2 and 3×3 maps: MobileNetV2's last layers.
  { N: 3, C: 5, O: 7, H: 1, W: 1, k: 1, expect: PW },
  { N: 17, C: 6, O: 9, H: 2, W: 2, k: 1, opts: { bias: false }, expect: PW },
  { N: 3, C: 13, O: 10, H: 3, W: 3, k: 1, expect: PW },
  { N: 2, C: 7, O: 3, H: 3, W: 1, k: 1, expect: PW },
  { N: 17, C: 3, O: 21, H: 1, W: 1, k: 1, expect: PW },
  { N: 3, C: 300, O: 6, H: 2, W: 2, k: 1, expect: PW }, // K = 300: two 256-deep blocks
  { N: 2, C: 5, O: 6, H: 8, W: 8, k: 1, expect: PW }, // 64 pixels: the largest map folded
  { N: 17, C: 5, O: 6, H: 4, W: 4, k: 1, expect: PW }, // N·P = 272: the weight gradient's dot-product GEMM
  // Groups: per group, the batch folded.
  { N: 3, C: 6, O: 10, H: 2, W: 2, k: 1, opts: { groups: 2 }, expect: PW },
  { N: 17, C: 9, O: 6, H: 1, W: 1, k: 1, opts: { groups: 3, bias: false }, expect: PW },
  // Strided: im2col per image into its column slice, col2im back from it.
  { N: 3, C: 5, O: 6, H: 4, W: 4, k: 3, opts: { stride: 2, padding: 1 }, expect: IM },
  { N: 17, C: 3, O: 9, H: 5, W: 5, k: 3, opts: { stride: 2, padding: 1 }, expect: IM },
  { N: 3, C: 7, O: 5, H: 5, W: 5, k: 3, opts: { stride: 2 }, expect: IM },
  { N: 3, C: 6, O: 10, H: 5, W: 5, k: 3, opts: { stride: 2, padding: 1, groups: 2, bias: false }, expect: IM },
  { N: 3, C: 5, O: 6, H: 4, W: 5, k: 3, opts: { stride: [2, 1], padding: [1, 0] }, expect: IM },
  { N: 3, C: 5, O: 6, H: 7, W: 7, k: 1, opts: { stride: 2 }, expect: IM }, // ResNet's projection shortcut
  { N: 2, C: 3, O: 5, H: 9, W: 9, k: 3, opts: { stride: 2, padding: 1, dilation: 2 }, expect: IM },
  { N: 17, C: 5, O: 6, H: 8, W: 8, k: 3, opts: { stride: 2, padding: 1 }, expect: IM }, // N·P = 272
  { N: 2, C: 3, O: 5, H: 16, W: 16, k: 3, opts: { stride: 2, padding: 1 }, expect: IMPB }, // 8×8 out: the implicit GEMM's forward
  { N: 2, C: 3, O: 5, H: 14, W: 14, k: 3, opts: { stride: 2, padding: 1 }, expect: IM }, // 7×7 out
  { N: 2, C: 29, O: 5, H: 4, W: 4, k: 3, opts: { stride: 2, padding: 1 }, expect: IM }, // K = 261
  // Every tile of the in-place GEMM: 4-row panels and a 1-row rest (O = 37, K = 33), 8-column
  // tiles, a 4-column one and single columns (N·P = 15 = 8 + 4 + 3); the in-scope sizes with
  // N·P a multiple of 32 (row stride padded) and K = 288.
  { N: 15, C: 33, O: 37, H: 1, W: 1, k: 1, expect: PW },
  { N: 5, C: 37, O: 33, H: 2, W: 2, k: 1, opts: { bias: false }, expect: PW },
  { N: 16, C: 32, O: 33, H: 17, W: 17, k: 3, opts: { stride: 2 }, expect: IMPB },
  { N: 16, C: 32, O: 33, H: 12, W: 12, k: 3, opts: { stride: 2, padding: 1 }, expect: IM },
  { N: 16, C: 32, O: 64, H: 16, W: 15, k: 1, opts: { stride: 2 }, expect: IM },
  // cols in chunks of images (K·P·images ≤ 64 Ki floats): 3 one-image chunks of a pointwise
  // convolution on 7×7 maps, 2 chunks per group of a strided one.
  { N: 3, C: 700, O: 6, H: 7, W: 7, k: 1, expect: PW },
  { N: 5, C: 64, O: 10, H: 17, W: 17, k: 3, opts: { stride: 2, groups: 2 }, expect: IMPB },
  { N: 5, C: 64, O: 10, H: 13, W: 13, k: 3, opts: { stride: 2, padding: 1, groups: 2 }, expect: IM },
  // Stride 2 on rows long enough for im2col's and col2im's 4-wide shuffles and a scalar rest.
  { N: 2, C: 3, O: 5, H: 11, W: 19, k: 3, opts: { stride: 2, padding: 1 }, expect: IM },
  // Batch 1 and maps past 64 pixels keep the per-image GEMM.
  { N: 1, C: 5, O: 7, H: 1, W: 1, k: 1, expect: 'pointwise-gemm' },
  { N: 1, C: 6, O: 9, H: 2, W: 2, k: 1, opts: { groups: 3 }, expect: 'pointwise-gemm' },
  { N: 2, C: 5, O: 6, H: 9, W: 8, k: 1, expect: 'pointwise-gemm' },
  { N: 1, C: 5, O: 6, H: 5, W: 5, k: 3, opts: { stride: 2, padding: 1 }, expect: 'im2col-gemm' },
  { N: 2, C: 3, O: 5, H: 17, W: 17, k: 3, opts: { stride: 2, padding: 1 }, expect: 'im2col-gemm' }, // 9×9 out
  // The implicit GEMM (output rows of 8 or 16 pixels, overlapping windows): batch 1, 2 and 3;
  // stride 3 and [1, 2]; padding 0 to 2, asymmetric in H and W; dilation; 2×3 and 5×5 kernels; groups (4-row
  // panels and single rows of W: Og = 7, 5, 9); channels not a multiple of 4; H ≠ W; maps past
  // 64 pixels (the per-image backward) and within (the folded one).
  { N: 1, C: 5, O: 7, H: 17, W: 16, k: 3, opts: { stride: 2, padding: 1 }, expect: IMP },
  { N: 2, C: 17, O: 8, H: 32, W: 31, k: 3, opts: { stride: 2, padding: 1 }, expect: IMP }, // 16×16 out
  { N: 2, C: 3, O: 6, H: 10, W: 22, k: 5, opts: { stride: 3, padding: 2 }, expect: IMPB },
  { N: 2, C: 3, O: 6, H: 10, W: 22, k: 3, opts: { stride: 3, padding: 2 }, expect: IM }, // windows that do not overlap
  { N: 2, C: 3, O: 6, H: 8, W: 16, k: 2, opts: { stride: 2 }, expect: IM },
  { N: 3, C: 4, O: 9, H: 7, W: 18, k: [2, 3], opts: { stride: [1, 2], padding: [0, 1], dilation: [1, 2] }, expect: IMPB },
  { N: 1, C: 6, O: 10, H: 9, W: 33, k: 3, opts: { stride: 2, groups: 2, bias: false }, expect: IMP },
  { N: 2, C: 3, O: 4, H: 6, W: 17, k: 3, opts: { stride: 2, padding: [2, 0] }, expect: IMPB },
  { N: 2, C: 2, O: 5, H: 12, W: 16, k: 5, opts: { stride: 2, padding: 2 }, expect: IMPB },
  { N: 2, C: 3, O: 32, H: 32, W: 32, k: 3, opts: { stride: 2, padding: 1 }, expect: IMP }, // MobileNetV2's stem
  { N: 2, C: 3, O: 4, H: 9, W: 19, k: 4, opts: { stride: 2 }, expect: IMPB }, // x's last column past the phase planes
  // Groups of a multiple of 16 output channels: the weight gradient's 2-tap × 16-channel tiles
  // (an odd tap count: the pair's tail), two groups of 32, three blocks of 16 with dilation.
  { N: 3, C: 10, O: 64, H: 9, W: 17, k: 3, opts: { stride: 2, groups: 2, padding: [1, 0] }, expect: IMPB },
  { N: 2, C: 3, O: 48, H: 12, W: 20, k: 5, opts: { stride: 2, padding: 2, dilation: [1, 2] }, expect: IMPB },
  // Its input gradient by output phase (assembly/conv-strided-dx.ts: Cg ≥ 4, phase rows of a
  // multiple of 8 pixels, every phase tapped), the batch never folded: ResNet-20's 3×3 s2 at
  // batch 16 with Og = 33 (4-row panels and a rest of K = 33·taps); groups of 32 channels;
  // channels in 4-row panels and a rest (Cg = 5, 6); padding [0, 1] (a dy row before the image:
  // negative shifts); dilation 3 along W; stride 3 with a 5×5 kernel; H odd, H ≠ W; outputs of
  // one row, whose odd input rows of phase 1 are absent (H = 1) or one (H = 2).
  { N: 16, C: 32, O: 33, H: 16, W: 16, k: 3, opts: { stride: 2, padding: 1 }, expect: IMP },
  { N: 5, C: 64, O: 10, H: 15, W: 15, k: 3, opts: { stride: 2, padding: 1, groups: 2 }, expect: IMP },
  { N: 2, C: 6, O: 5, H: 9, W: 16, k: 3, opts: { stride: 2, padding: [1, 3], dilation: [1, 3] }, expect: IMP },
  { N: 2, C: 4, O: 6, H: 11, W: 16, k: 3, opts: { stride: 2, padding: [0, 1], bias: false }, expect: IMP },
  { N: 1, C: 4, O: 6, H: 10, W: 24, k: 5, opts: { stride: 3, padding: 2 }, expect: IMP },
  { N: 2, C: 5, O: 3, H: 1, W: 16, k: 3, opts: { stride: 2, padding: 1 }, expect: IMP },
  { N: 3, C: 7, O: 4, H: 2, W: 31, k: 3, opts: { stride: 2, padding: 1 }, expect: IMP },
  { N: 2, C: 4, O: 9, H: 13, W: 32, k: 4, opts: { stride: 2, padding: 1 }, expect: IMP },
  // A phase's taps two apart on both axes (stride 3, dilation 2: each phase gets 1 or 2 of 5).
  { N: 2, C: 5, O: 7, H: 14, W: 24, k: 5, opts: { stride: 3, padding: 3, dilation: 2 }, expect: IMP },
  // 1×1 strided without padding: col2im writes dx once (col2imPoint), 4 entries a shuffle at
  // stride 2 with a scalar rest on odd widths; stride 3 and [2, 1]; per image and folded.
  { N: 2, C: 3, O: 4, H: 20, W: 19, k: 1, opts: { stride: 2 }, expect: 'im2col-gemm' },
  { N: 2, C: 3, O: 4, H: 10, W: 11, k: 1, opts: { stride: 3 }, expect: IM },
  { N: 3, C: 6, O: 4, H: 9, W: 5, k: 1, opts: { stride: [2, 1], groups: 2 }, expect: IM },
  { N: 2, C: 3, O: 4, H: 9, W: 9, k: 1, opts: { stride: 2, padding: 1 }, expect: IM }, // padded: col2imAdd
];

for (const c of cases) {
  test(`Conv2d ${JSON.stringify(c)}: forward, dx, dW, db against float64`, () => {
    assert.is(checkAgainstReference(c, freshSeed()), c.expect);
  });
}

test('the batch is folded exactly for pointwise and im2col shapes with batch ≥ 2 and at most 64 output pixels; strided ones with output rows of a multiple of 8 pixels take the implicit GEMM forward', () => {
  const at = (C, O, k, opts, shape) => new sn.Conv2d(C, O, k, opts).algorithm(shape);
  // MobileNetV2 ×0.5's last 1×1 convolutions and ResNet-20's strided ones at batch 16 and 64.
  assert.is(at(160, 1280, 1, {}, [64, 160, 1, 1]), PW);
  assert.is(at(288, 48, 1, {}, [16, 288, 2, 2]), PW);
  // ResNet-20's 3×3 16→32 and 32→64 s2 on 16×16: dx by phase, per image.
  assert.is(at(16, 32, 3, { stride: 2, padding: 1 }, [64, 16, 16, 16]), IMP);
  assert.is(at(32, 64, 3, { stride: 2, padding: 1 }, [16, 32, 16, 16]), IMP);
  assert.is(at(16, 32, 3, { stride: 2 }, [64, 16, 17, 17]), IMPB); // phase rows of 9 pixels
  assert.is(at(3, 32, 3, { stride: 2, padding: 1 }, [64, 3, 16, 16]), IMPB); // Cg = 3
  assert.is(at(64, 128, 3, { stride: 2, padding: 1 }, [16, 64, 8, 8]), IM); // 4×4 out: rows under 8 pixels
  assert.is(at(32, 64, 1, { stride: 2 }, [16, 32, 16, 16]), 'strided-pointwise-gemm'); // its own kernels (conv-pointwise-s2.test.js)
  assert.is(at(32, 64, 1, { stride: 2 }, [16, 32, 16, 15]), IM); // W odd: not read in place
  // Past the threshold, at batch 1, stride 1 with padding and depthwise: the other lowerings.
  assert.is(at(16, 32, 3, { stride: 2, padding: 1 }, [64, 16, 32, 32]), IMP);
  assert.is(at(16, 32, 3, { stride: 2, padding: 1 }, [64, 16, 30, 30]), 'im2col-gemm'); // 15×15 out
  assert.is(at(16, 32, 1, { stride: 2 }, [64, 16, 32, 32]), 'strided-pointwise-gemm');
  assert.is(at(16, 32, 1, { stride: 2 }, [64, 16, 30, 30]), 'im2col-gemm'); // 15×15 out
  assert.is(at(16, 8, 1, {}, [64, 16, 16, 16]), 'pointwise-gemm');
  assert.is(at(160, 1280, 1, {}, [1, 160, 1, 1]), 'pointwise-gemm');
  assert.is(at(64, 64, 3, { padding: 1 }, [64, 64, 4, 4]), 'winograd-f4x4');
  assert.is(at(64, 64, 3, { padding: 1 }, [64, 64, 5, 5]), 'winograd-f2x2');
  assert.is(at(16, 16, 3, { padding: 1 }, [64, 16, 4, 4]), 'flat-channel-lanes');
  assert.is(at(8, 8, 3, { padding: 1, groups: 4 }, [16, 8, 2, 2]), 'flat');
  assert.is(at(96, 96, 3, { padding: 1, stride: 2, groups: 96 }, [64, 96, 4, 4]), 'dwconv-channel-lanes');
});

// ---- through the layer: finite differences ----

for (const c of [
  { N: 3, C: 6, O: 4, H: 2, W: 2, k: 1, opts: { groups: 2 } },
  { N: 3, C: 3, O: 5, H: 5, W: 5, k: 3, opts: { stride: 2, padding: 1 } },
  { N: 2, C: 3, O: 4, H: 8, W: 16, k: 3, opts: { stride: 2, padding: 1 } },
  { N: 1, C: 3, O: 5, H: 5, W: 17, k: 3, opts: { stride: 2, padding: [1, 0] } },
  { N: 2, C: 5, O: 3, H: 7, W: 16, k: 3, opts: { stride: 2, padding: 1 } }, // dx by phase
]) {
  test(`Conv2d ${JSON.stringify(c)}: gradients match central differences of the float32 forward`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const { layer } = makeLayer(c, rand);
    const shape = [c.N, c.C, c.H, c.W];
    assert.ok(layer.algorithm(shape).endsWith('batched-gemm') || layer.algorithm(shape) === IMP, layer.algorithm(shape));
    assertLayerFiniteDifferences(sn, layer, shape, rand, seed);
    layer.dispose();
  });
}

// ---- the raw kernels ----

for (const c of [cases[1], cases[8], cases[10], cases[13]]) {
  test(`batched kernels write every output float, add to dW and db, and need nothing of the scratch: ${JSON.stringify(c)}`, () => {
    // y, dx and the scratch start as NaN; dW and db start at 1 and must be added to.
    const seed = freshSeed(), rand = rng(seed), k = rt().kernels, what = (s) => `seed ${seed}: ${s}`;
    const shape = [c.N, c.C, c.H, c.W], opts = refOptions(c), g = convGeometry(shape, c.O, c.k, opts);
    const G = opts.groups;
    const args = [c.N, c.C, c.H, c.W, c.O, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW, G, g.OH, g.OW];
    const x = randf(c.N * c.C * c.H * c.W, rand), w = randf(c.O * g.cg * g.KH * g.KW, rand), b = randf(c.O, rand);
    const dy = randf(c.N * c.O * g.OH * g.OW, rand);
    const xb = toWasm(x), wb = toWasm(w), bb = toWasm(b), dyb = toWasm(dy);
    const y = wasmOut(dy.length), dx = wasmOut(x.length), dw = wasmOut(w.length, 1), db = wasmOut(c.O, 1);
    const floats = k.conv2dColsFloats(...args);
    // cols_all and Y_all at a row stride of N·P (8 more when N·P is a multiple of 32), then cols_allᵀ.
    const NP = c.N * g.OH * g.OW, K = g.cg * g.KH * g.KW;
    assert.is(floats, (K + g.og) * (NP % 32 === 0 ? NP + 8 : NP) + K * NP, what('scratch floats'));
    const scratch = wasmOut(floats);
    k.conv2dForward(xb.ptr, wb.ptr, bb.ptr, y.ptr, ...args, scratch.ptr, gemmScratch());
    assertClose(y.view(), conv2d(x, shape, w, b, c.O, c.k, opts).y, tol(g.cg * g.KH * g.KW, what('forward')));
    scratch.view().fill(NaN);
    k.conv2dBackward(xb.ptr, wb.ptr, dyb.ptr, dw.ptr, db.ptr, dx.ptr, ...args, scratch.ptr, gemmScratch());
    const ref = conv2dGrad(x, shape, w, dy, c.O, c.k, opts);
    assertClose(dx.view(), ref.dx, tol(g.og * g.KH * g.KW, what('dx')));
    const P = c.N * g.OH * g.OW;
    assertClose(dw.view(), ref.dw.map((v) => v + 1), tol(P, what('dW')));
    assertClose(db.view(), ref.db.map((v) => v + 1), tol(P, what('db')));
    // Without dx and db: dW added to again.
    scratch.view().fill(NaN);
    k.conv2dBackward(xb.ptr, wb.ptr, dyb.ptr, dw.ptr, 0, 0, ...args, scratch.ptr, gemmScratch());
    assertClose(dw.view(), ref.dw.map((v) => 2 * v + 1), tol(P, what('dW, twice')));
    freeAll(xb, wb, bb, dyb, y, dx, dw, db, scratch);
  });
}

for (const c of [
  { N: 2, C: 5, O: 9, H: 9, W: 16, k: 3, opts: { stride: 2, padding: 1 } },
  { N: 1, C: 6, O: 10, H: 9, W: 33, k: 3, opts: { stride: 2, groups: 2 } },
  { N: 3, C: 10, O: 6, H: 8, W: 16, k: 3, opts: { stride: 2, padding: 1, groups: 2 } }, // dx by phase, Cg = 5
]) {
  test(`the implicit GEMM writes every output float, with and without bias, adds to dW and db, and needs nothing of the scratch: ${JSON.stringify(c)}`, () => {
    const seed = freshSeed(), rand = rng(seed), k = rt().kernels, what = (s) => `seed ${seed}: ${s}`;
    const shape = [c.N, c.C, c.H, c.W], opts = refOptions(c), g = convGeometry(shape, c.O, c.k, opts);
    const args = [c.N, c.C, c.H, c.W, c.O, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW, opts.groups, g.OH, g.OW];
    assert.is(new sn.Conv2d(c.C, c.O, c.k, c.opts).algorithm(shape).startsWith('implicit'), true, what('lowering'));
    const x = randf(c.N * c.C * c.H * c.W, rand), w = randf(c.O * g.cg * g.KH * g.KW, rand), b = randf(c.O, rand);
    const xb = toWasm(x), wb = toWasm(w), bb = toWasm(b), y = wasmOut(c.N * c.O * g.OH * g.OW);
    const scratch = wasmOut(k.conv2dColsFloats(...args));
    for (const bias of [b, null]) {
      y.view().fill(NaN);
      scratch.view().fill(NaN);
      k.conv2dForward(xb.ptr, wb.ptr, bias ? bb.ptr : 0, y.ptr, ...args, scratch.ptr, gemmScratch());
      assertClose(y.view(), conv2d(x, shape, w, bias, c.O, c.k, opts).y, tol(g.cg * g.KH * g.KW, what(bias ? 'forward' : 'forward without bias')));
    }
    // dW and db start at 1 and must be added to; dx starts as NaN and must be written; then
    // without dx (the weight gradient and db alone) they are added to again.
    const dy = randf(y.n, rand), dyb = toWasm(dy), dx = wasmOut(x.length), dw = wasmOut(w.length, 1), db = wasmOut(c.O, 1);
    const ref = conv2dGrad(x, shape, w, dy, c.O, c.k, opts), P = c.N * g.OH * g.OW;
    scratch.view().fill(NaN);
    k.conv2dBackward(xb.ptr, wb.ptr, dyb.ptr, dw.ptr, db.ptr, dx.ptr, ...args, scratch.ptr, gemmScratch());
    assertClose(dx.view(), ref.dx, tol(g.og * g.KH * g.KW, what('dx')));
    assertClose(dw.view(), ref.dw.map((v) => v + 1), tol(P, what('dW')));
    assertClose(db.view(), ref.db.map((v) => v + 1), tol(P, what('db')));
    // dx alone (a thread's range of the batch) into NaN: the same bits.
    const dx2 = wasmOut(x.length);
    dx2.view().fill(NaN);
    scratch.view().fill(NaN);
    k.conv2dInputGrad(wb.ptr, dyb.ptr, dx2.ptr, ...args, scratch.ptr, gemmScratch());
    const whole = bits(dx.view()), differ = bits(dx2.view()).filter((v, i) => v !== whole[i]).length;
    assert.is(differ, 0, what('dx alone: floats that differ from the backward\'s'));
    freeAll(dx2);
    scratch.view().fill(NaN);
    k.conv2dBackward(xb.ptr, wb.ptr, dyb.ptr, dw.ptr, db.ptr, 0, ...args, scratch.ptr, gemmScratch());
    assertClose(dw.view(), ref.dw.map((v) => 2 * v + 1), tol(P, what('dW, twice')));
    assertClose(db.view(), ref.db.map((v) => 2 * v + 1), tol(P, what('db, twice')));
    freeAll(xb, wb, bb, y, scratch, dyb, dx, dw, db);
  });
}

test.run();
