// Winograd F(2×2,3×3) (assembly/conv-winograd.ts) and F(4×4,3×3) (assembly/conv-winograd-f4.ts):
// forward and input gradient of 3×3, stride-1, ungrouped convolutions against the float64
// reference on awkward shapes (batch 1 and 3; 1, 3, 5, 17, 32 and 33 channels each way; planes of
// 1, 2, 3, 5, 7, 13 and 32 rows and columns; padding 0, 1, 2 and asymmetric — more or fewer zeros
// after than before; with and without bias), on both builds. The raw kernels run Winograd on any
// such shape; conv2dAlgorithm's table (assembly/conv-winograd-table.ts) decides which shapes Conv2d
// sends to which tile, so the shapes it picks are checked through the layer too, with finite
// differences, and the table's rows of the zoo's networks are checked to take their path.
//
// Error bound, on the float32 result a against the float64 reference b of the same float32 inputs:
// per element |a − b| ≤ bound · S, S the sum over the element's m×m output tile of |bias| + Σ|w||x|
// (the transforms mix every input of the tile's (m+2)×(m+2) patch into each of its outputs, so an
// element rounds against its tile's terms, not only its own), and ‖a − b‖₂ / ‖b‖₂ ≤ bound per case.
// - F(2×2,3×3): bound 3e-6 (about 50 units of f32 rounding). Measured over these shapes (both
//   builds, several seeds): max |a − b| / S 2e-7..1e-6, ‖a − b‖/‖b‖ up to 5e-7. F(2×2,3×3) adds only
//   additions and halvings to the sum.
// - F(4×4,3×3): bound 1e-5. Measured: max |a − b| / S 2.5e-7..7.4e-7 (S sums 16 outputs' terms),
//   ‖a − b‖/‖b‖ 1.3e-6..1.6e-6 — about 3× F(2×2)'s: its transforms scale by 4, 5 and 8 and G by ⅙
//   and 1/24, so half a decimal digit goes on these data (more on inputs of widely varying size).
// Against the direct path on the same data, ‖a − b‖/‖b‖ summed over the shapes Conv2d runs
// directly: F(2×2) ~1.1–1.2× the direct path's, F(4×4) ~3.9–4.8× (forward and dx alike); the test
// asserts ≤ 2× and ≤ 8×. PyTorch 1.13 on this machine (float32 against float64 on the same inputs,
// 32–128 channels, 13×13 to 32×32, /usr/bin/python3): ‖a − b‖/‖b‖ 2.1e-7..2.2e-7 on its default
// CPU path (oneDNN's direct kernels; it never picks oneDNN's Winograd, and this build has no
// NNPACK) and 3.0e-7..6.0e-7 with oneDNN off (im2col + BLAS): F(4×4) here is ~6× PyTorch's default
// error, F(2×2) ~2×. The Winograd paths PyTorch can take elsewhere use as large or larger tiles —
// oneDNN's F(4×4,3×3) with these same points (alg = convolution_winograd), NNPACK's F(6×6,3×3) —
// whose float32 errors grow by one to two decimal digits over direct (Barabasz, Anderson,
// Soodhalter & Gregg, "Error analysis and improving the accuracy of Winograd convolution for deep
// neural networks", ACM TOMS 2020), so both bounds are within what those paths give.
//
// The weight gradient by Winograd (2×2 and 4×4 tiles) has its raw kernels checked in
// tests/conv-winograd-dw.test.js; here, through the layer on the shapes the table sends it, with
// that file's bound: per weight |a − b| ≤ 1e-5 · Σ|dy||x| over the weight's terms.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';
import { rng, freshSeed, toWasm, wasmOut, freeAll, assertClose, randf, assertLayerFiniteDifferences, randomConv2d } from './helpers.js';
import { conv2d, conv2dGrad, convGeometry } from './reference.js';
import { abs, scales, errors, checkErrors as checkErrorsAt } from './winograd-errors.js';
import { convShapesOf, outputSize } from '../bench/zoo.js';

await sn.ready();

/** The two tile sizes: the raw kernels' names and each one's error bound (see the header). */
const TILES = {
  f2x2: { m: 2, bound: 3e-6, forward: 'winogradForward', inputGrad: 'winogradInputGrad', scratch: 'winogradScratchFloats', algorithm: 'winograd-f2x2' },
  f4x4: { m: 4, bound: 1e-5, forward: 'winogradF4x4Forward', inputGrad: 'winogradF4x4InputGrad', scratch: 'winogradF4x4ScratchFloats', algorithm: 'winograd-f4x4' },
};
const BOUND = TILES.f2x2.bound;
const checkErrors = (e, what, bound = BOUND) => checkErrorsAt(e, what, bound);
/** The weight gradient by Winograd: per weight |a − b| ≤ DW_BOUND · Σ|dy||x|, as the header says. */
const DW_BOUND = 1e-5;
/** The raw Winograd kernels on case c (padding before pad, after padAfter): errors of forward and dx. */
function runKernels(c, seed, tile = TILES.f2x2) {
  const rand = rng(seed), what = (s) => `seed ${seed}: ${JSON.stringify(c)}: ${s}`;
  const { N, C, O, H, W } = c, pad = c.pad, padAfter = c.padAfter ?? c.pad;
  const shape = [N, C, H, W], opts = { pad, padAfter };
  const g = convGeometry(shape, O, 3, opts);
  const x = randf(N * C * H * W, rand), w = randf(O * C * 9, rand), b = c.bias ? randf(O, rand) : null;
  const dy = randf(N * O * g.OH * g.OW, rand);
  const ref = conv2d(x, shape, w, b, O, 3, opts).y;
  const refDx = conv2dGrad(x, shape, w, dy, O, 3, opts).dx;
  const { scale, scaleDx } = scales(c, opts, g, x, w, b, dy, tile.m);
  const k = rt().kernels;
  const floats = k[tile.scratch](N, C, H, W, O, g.OH, g.OW);
  const xs = toWasm(x), ws = toWasm(w), bs = b ? toWasm(b) : null, dys = toWasm(dy);
  const ys = wasmOut(ref.length), dxs = wasmOut(x.length), scratch = wasmOut(floats);
  try {
    k[tile.forward](xs.ptr, ws.ptr, bs ? bs.ptr : 0, ys.ptr, N, C, H, W, O, pad, pad, g.OH, g.OW, scratch.ptr);
    scratch.view().fill(NaN); // nothing may depend on what the scratch held
    k[tile.inputGrad](ws.ptr, dys.ptr, dxs.ptr, N, C, H, W, O, pad, pad, g.OH, g.OW, scratch.ptr);
    const y = Float64Array.from(ys.view()), dx = Float64Array.from(dxs.view());
    const fwd = errors(y, ref, scale), back = errors(dx, refDx, scaleDx);
    checkErrors(fwd, what(`${tile.algorithm} forward`), tile.bound);
    checkErrors(back, what(`${tile.algorithm} dx`), tile.bound);
    return { fwd, back, x, w, b, dy, g };
  } finally {
    freeAll(xs, ws, dys, ys, dxs, scratch, ...(bs ? [bs] : []));
  }
}

const channels = [1, 3, 5, 17, 32, 33];
const sizes = [1, 2, 3, 5, 7, 13, 32];
const cases = [];
// Channels each way, with sizes and paddings rotating through the lists.
let i = 0;
for (const C of channels) {
  for (const O of channels) {
    const H = sizes[i % sizes.length], W = sizes[(i * 3 + 2) % sizes.length];
    const pad = [1, 0, 2][i % 3];
    if (H + 2 * pad >= 3 && W + 2 * pad >= 3 && C * O * H * W <= 40000) cases.push({ N: 1 + 2 * (i % 2), C, O, H, W, pad, bias: i % 4 !== 1 });
    i++;
  }
}
// Every size both ways at a fixed channel pair, then asymmetric padding: fewer zeros after than
// before (output rows and columns of odd count) and more after, as 'same' with an even total does.
for (const H of sizes) for (const W of [1, 2, 7, 13]) cases.push({ N: 1, C: 3, O: 5, H, W, pad: 1, bias: true });
cases.push(
  { N: 3, C: 5, O: 3, H: 7, W: 13, pad: 1, padAfter: 0, bias: true },
  { N: 1, C: 17, O: 5, H: 13, W: 5, pad: 2, padAfter: 1, bias: false },
  { N: 3, C: 3, O: 17, H: 5, W: 7, pad: 0, padAfter: 1, bias: true },
  { N: 1, C: 5, O: 5, H: 2, W: 13, pad: 1, padAfter: 2, bias: true },
  { N: 1, C: 32, O: 33, H: 32, W: 32, pad: 1, bias: true },
  { N: 3, C: 33, O: 32, H: 13, W: 13, pad: 1, bias: false },
);

test(`Winograd F(2×2,3×3) kernels: forward and dx within the stated bound of the float64 reference over ${cases.length} shapes`, () => {
  for (const c of cases) runKernels(c, freshSeed());
});

test(`Winograd F(4×4,3×3) kernels: forward and dx within the stated bound of the float64 reference over ${cases.length} shapes`, () => {
  for (const c of cases) runKernels(c, freshSeed(), TILES.f4x4);
});

test('Winograd F(2×2,3×3) and F(4×4,3×3): their errors stay within 2× and 8× the direct path\'s on the same data (summed over shapes)', () => {
  const sum = { f2x2: 0, f4x4: 0, direct: 0 }, sumDx = { f2x2: 0, f4x4: 0, direct: 0 };
  let n = 0;
  for (const c of cases) {
    if (c.padAfter !== undefined) continue; // Conv2d pads symmetrically
    const layer = new sn.Conv2d(c.C, c.O, 3, { padding: c.pad, bias: c.bias });
    const shape = [c.N, c.C, c.H, c.W];
    if (layer.algorithm(shape).startsWith('winograd')) { layer.dispose(); continue; }
    const seed = freshSeed();
    const r = runKernels(c, seed), r4 = runKernels(c, seed, TILES.f4x4); // the same data
    layer.weight.data.view().set(r.w);
    if (r.b) layer.bias.data.view().set(r.b);
    const y = layer.forward(sn.tensor(Float32Array.from(r.x), shape));
    const dx = layer.backward(sn.tensor(Float32Array.from(r.dy), y.shape)).toArray();
    const opts = { pad: c.pad };
    const ref = conv2d(r.x, shape, r.w, r.b, c.O, 3, opts).y, refDx = conv2dGrad(r.x, shape, r.w, r.dy, c.O, 3, opts).dx;
    sum.f2x2 += r.fwd.rel; sumDx.f2x2 += r.back.rel;
    sum.f4x4 += r4.fwd.rel; sumDx.f4x4 += r4.back.rel;
    sum.direct += errors(y.toArray(), ref, new Float64Array(ref.length).fill(1)).rel;
    sumDx.direct += errors(dx, refDx, new Float64Array(refDx.length).fill(1)).rel;
    layer.dispose();
    n++;
  }
  assert.ok(n >= 20, `${n} shapes compared`);
  for (const [tile, times] of [['f2x2', 2], ['f4x4', 8]]) {
    assert.ok(sum[tile] <= times * sum.direct, `${tile} forward: Winograd Σ‖a − b‖/‖b‖ = ${sum[tile]}, direct ${sum.direct}`);
    assert.ok(sumDx[tile] <= times * sumDx.direct, `${tile} dx: Winograd Σ‖a − b‖/‖b‖ = ${sumDx[tile]}, direct ${sumDx.direct}`);
  }
});

test('Winograd kernels overwrite their outputs whatever they held, and read nothing past the input planes', () => {
  // NaN in y, dx and the scratch before the call: checked by runKernels (wasmOut fills with NaN).
  // An input followed by NaN: a read past its last plane would poison the edge tiles. 5×5 and
  // 7×9 planes: F(4×4)'s tiles reach past both edges, and its four-tile rows past the right one.
  for (const tile of Object.values(TILES)) {
    for (const [H, W] of [[5, 5], [7, 9]]) {
      const seed = freshSeed(), rand = rng(seed);
      const N = 1, C = 3, O = 2, OH = H, OW = W;
      const x = randf(N * C * H * W, rand), w = randf(O * C * 9, rand);
      const xs = toWasm([...x, ...Array(24).fill(NaN)]), ws = toWasm(w), ys = wasmOut(N * O * OH * OW);
      const scratch = wasmOut(rt().kernels[tile.scratch](N, C, H, W, O, OH, OW));
      rt().kernels[tile.forward](xs.ptr, ws.ptr, 0, ys.ptr, N, C, H, W, O, 1, 1, OH, OW, scratch.ptr);
      const ref = conv2d(x, [N, C, H, W], w, null, O, 3, { pad: 1 }).y;
      // Against the tile's Σ|w||x| as everywhere here (a fixed tolerance fails now and then); a NaN read fails it too.
      const { scale } = scales({ N, C, O, H, W }, { pad: 1 }, { OH, OW }, x, w, null, new Float64Array(N * O * OH * OW), tile.m);
      checkErrors(errors(Float64Array.from(ys.view()), ref, scale), `seed ${seed}: ${tile.algorithm} forward of ${H}×${W} next to NaN`, tile.bound);
      freeAll(xs, ws, ys, scratch);
    }
  }
});

test('Winograd F(4×4,3×3): an image\'s forward and dx are the same bits alone as among others (four tiles a vector whichever way they lie)', () => {
  // The transforms take four tiles a vector: four of one tile row from strips, four anywhere (planes
  // of fewer than four tiles a row, tile rows and images ending among them) tile by tile, the
  // chunk's last few lane by lane. Which way a tile goes depends on its neighbours in the batch;
  // its values must not. Planes of 2, 3 and 5 tiles a row, batches whose images start mid-vector.
  const k = rt().kernels, tile = TILES.f4x4;
  for (const [N, C, O, H, W, pad] of [[3, 5, 6, 12, 12, 1], [5, 4, 3, 8, 8, 1], [3, 3, 5, 7, 18, 0], [2, 6, 4, 9, 5, 2]]) {
    const seed = freshSeed(), rand = rng(seed);
    const g = convGeometry([N, C, H, W], O, 3, { pad });
    const x = randf(N * C * H * W, rand), w = randf(O * C * 9, rand), b = randf(O, rand), dy = randf(N * O * g.OH * g.OW, rand);
    const run = (n, x, dy) => {
      const xs = toWasm(x), ws = toWasm(w), bs = toWasm(b), dys = toWasm(dy), ys = wasmOut(n * O * g.OH * g.OW), dxs = wasmOut(n * C * H * W);
      const scratch = wasmOut(k[tile.scratch](n, C, H, W, O, g.OH, g.OW));
      k[tile.forward](xs.ptr, ws.ptr, bs.ptr, ys.ptr, n, C, H, W, O, pad, pad, g.OH, g.OW, scratch.ptr);
      k[tile.inputGrad](ws.ptr, dys.ptr, dxs.ptr, n, C, H, W, O, pad, pad, g.OH, g.OW, scratch.ptr);
      const out = { y: new Uint32Array(Float32Array.from(ys.view()).buffer), dx: new Uint32Array(Float32Array.from(dxs.view()).buffer) };
      freeAll(xs, ws, bs, dys, ys, dxs, scratch);
      return out;
    };
    const all = run(N, x, dy), xi = C * H * W, yi = O * g.OH * g.OW; // bits, as u32
    for (let n = 0; n < N; n++) {
      const one = run(1, x.subarray(n * xi, (n + 1) * xi), dy.subarray(n * yi, (n + 1) * yi));
      const what = `seed ${seed}: ${N}×${C}×${H}×${W} → ${O}, pad ${pad}, image ${n}`;
      assert.equal(one.y, all.y.subarray(n * yi, (n + 1) * yi), `${what}: forward`);
      assert.equal(one.dx, all.dx.subarray(n * xi, (n + 1) * xi), `${what}: dx`);
    }
  }
});

// ---- through the layer: the table's shapes ----

for (const c of [
  // F(2×2): outputs where F(4×4) would execute more than ¾ of its products (5×5, 6×6, 9×9, 10×10)
  { N: 1, C: 65, O: 64, H: 6, W: 10, opts: { padding: 'same' }, algorithm: 'winograd-f2x2' },
  { N: 3, C: 64, O: 96, H: 11, W: 7, opts: { padding: 0, bias: false }, algorithm: 'winograd-f2x2', dwTile: 2 },
  { N: 1, C: 64, O: 72, H: 3, W: 4, opts: { padding: 2 }, algorithm: 'winograd-f2x2' },
  // F(4×4): small planes (tile rows of two and three tiles, images ending mid-vector), planes of 16
  // and more, tile rows of four tiles and fewer, tiles across images
  { N: 2, C: 64, O: 64, H: 8, W: 8, opts: { padding: 1 }, algorithm: 'winograd-f4x4', dwTile: 2 },
  { N: 3, C: 65, O: 64, H: 7, W: 13, opts: { padding: 'same' }, algorithm: 'winograd-f4x4', dwTile: 4 },
  { N: 2, C: 32, O: 33, H: 13, W: 11, opts: { padding: 1 }, algorithm: 'winograd-f4x4', dwTile: 4 },
  { N: 5, C: 32, O: 32, H: 4, W: 4, opts: { padding: 1 }, algorithm: 'winograd-f4x4', dwTile: 2 },
  { N: 2, C: 32, O: 33, H: 17, W: 19, opts: { padding: 1 }, algorithm: 'winograd-f4x4', dwTile: 4 },
  { N: 1, C: 33, O: 40, H: 18, W: 16, opts: { padding: 2 }, algorithm: 'winograd-f4x4', dwTile: 4 },
  { N: 3, C: 36, O: 32, H: 16, W: 16, opts: { padding: 'same', bias: false }, algorithm: 'winograd-f4x4', dwTile: 4 },
  { N: 1, C: 32, O: 32, H: 18, W: 34, opts: { padding: 0 }, algorithm: 'winograd-f4x4', dwTile: 4 },
  // the weight gradient's tile (any above too): 4×4 tiles from 256 outputs where 60% of their
  // positions are outputs (whatever the forward's tile), else 2×2 tiles from 64 outputs, else direct
  { N: 4, C: 64, O: 64, H: 16, W: 16, opts: { padding: 1 }, algorithm: 'winograd-f4x4', dwTile: 4 },
  { N: 16, C: 64, O: 72, H: 8, W: 7, opts: { padding: 1, bias: false }, algorithm: 'winograd-f4x4', dwTile: 4 },
  { N: 2, C: 16, O: 17, H: 64, W: 63, opts: { padding: 1 }, algorithm: 'winograd-f4x4', dwTile: 4 },
  { N: 2, C: 128, O: 128, H: 5, W: 6, opts: { padding: 'same' }, algorithm: 'winograd-f2x2' },
  { N: 5, C: 128, O: 128, H: 5, W: 6, opts: { padding: 'same' }, algorithm: 'winograd-f2x2', dwTile: 2 },
  { N: 1, C: 128, O: 64, H: 17, W: 16, opts: { padding: 1, bias: false }, algorithm: 'winograd-f4x4', dwTile: 4 },
  { N: 1, C: 64, O: 64, H: 15, W: 12, opts: { padding: 1, bias: false }, algorithm: 'winograd-f4x4', dwTile: 2 },
  { N: 8, C: 32, O: 48, H: 6, W: 6, opts: { padding: 1 }, algorithm: 'winograd-f2x2', dwTile: 2 },
  { N: 2, C: 32, O: 32, H: 5, W: 6, opts: { padding: 1 }, algorithm: 'winograd-f2x2' },
]) {
  test(`Conv2d ${JSON.stringify(c)} takes ${c.algorithm}; forward, dx, dW and db match the float64 reference`, () => {
    const seed = freshSeed(), rand = rng(seed), what = (s) => `seed ${seed}: ${s}`;
    const tile = Object.values(TILES).find((t) => t.algorithm === c.algorithm);
    const { layer, w, b } = randomConv2d(sn, c.C, c.O, 3, c.opts, rand);
    const shape = [c.N, c.C, c.H, c.W], pad = c.opts.padding === 'same' ? 1 : c.opts.padding, opts = { pad };
    assert.is(layer.algorithm(shape), c.algorithm);
    assert.is(layer.weightGradTile(shape), c.dwTile ?? 0);
    assert.is(layer.weightGradByWinograd(shape), c.dwTile !== undefined);
    const x = randf(c.N * c.C * c.H * c.W, rand);
    const y = layer.forward(sn.tensor(Float32Array.from(x), shape));
    const ref = conv2d(x, shape, w, b, c.O, 3, opts);
    assert.equal([...y.shape], ref.shape);
    const [OH, OW] = ref.shape.slice(2);
    const dy = randf(y.size, rand);
    const { scale, scaleDx } = scales(c, opts, { OH, OW }, x, w, b, dy, tile.m);
    checkErrors(errors(y.toArray(), ref.y, scale), what('forward'), tile.bound);
    const dx = layer.backward(sn.tensor(Float32Array.from(dy), y.shape)).toArray();
    const g = conv2dGrad(x, shape, w, dy, c.O, 3, opts), s = conv2dGrad(abs(x), shape, abs(w), abs(dy), c.O, 3, opts);
    checkErrors(errors(dx, g.dx, scaleDx), what('dx'), tile.bound);
    checkErrors(errors(layer.weight.grad.toArray(), g.dw, s.dw), what('dW'), c.dwTile ? DW_BOUND : BOUND);
    if (b) assertClose(layer.bias.grad.toArray(), g.db, { rtol: 1e-5, atol: 1e-4, what: what('db') });
    layer.dispose();
  });
}

// Central differences (eps 1e-2) of the float32 forward divide its rounding by 2·eps: F(4×4)'s,
// ~3× F(2×2)'s per unit of a 4× larger tile sum, over 16×16 planes, put their noise near 1e-2 (one
// run of many: 0.0124 off at 0.135), so atol 3e-2 there; the float64 tests above pin the same
// gradients to 1e-5.
for (const [algorithm, C, O, H, W, dwTile, atol] of [
  ['winograd-f2x2', 64, 64, 5, 6, 0, 1e-2], ['winograd-f4x4', 32, 32, 16, 17, 4, 3e-2], ['winograd-f4x4', 32, 32, 12, 13, 2, 3e-2], ['winograd-f4x4', 32, 32, 7, 8, 0, 3e-2],
  ['winograd-f2x2', 128, 128, 5, 6, 0, 1e-2], ['winograd-f4x4', 16, 16, 24, 24, 4, 3e-2],
]) {
  test(`Conv2d on a ${algorithm} shape (${C}→${O}${dwTile ? `, dW by ${dwTile}×${dwTile} tiles` : ''}): gradients match central differences of the float32 forward`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const N = 1;
    const { layer } = randomConv2d(sn, C, O, 3, { padding: 1 }, rand);
    const shape = [N, C, H, W];
    assert.is(layer.algorithm(shape), algorithm);
    assert.is(layer.weightGradTile(shape), dwTile);
    assertLayerFiniteDifferences(sn, layer, shape, rand, seed, { atol, weightCount: 9 * C * 2 });
    layer.dispose();
  });
}

test('the table: the zoo\'s 3×3 stride-1 convolutions with ≥ 16 channels each way take Winograd — F(4×4) where it executes at most ¾ of F(2×2)\'s products, else F(2×2) (from 4×4 with ≥ 32 channels each way, else from 8×8), the weight gradient by 4×4 tiles from 256 outputs where they cover 60% of their positions, else by 2×2 tiles from 64 outputs — narrower ones the direct path', () => {
  const wino = { 'winograd-f2x2': 0, 'winograd-f4x4': 0, dW4: 0, dW2: 0 };
  for (const key of ['vgg-cifar', 'seed003-cifar', 'resnet20']) {
    for (const s of convShapesOf(key)) {
      const c = s.config;
      const layer = new sn.Conv2d(s.C, c.outChannels, c.kernelSize, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, bias: c.bias });
      const algo = layer.algorithm([16, s.C, s.H, s.W]);
      const eligible = c.kernelSize.join() === '3,3' && c.stride.join() === '1,1' && c.groups === 1 && c.dilation.join() === '1,1';
      const [OH, OW] = outputSize(s);
      const minSize = s.C >= 32 && c.outChannels >= 32 ? 4 : 8;
      const chosen = eligible && s.C >= 16 && c.outChannels >= 16 && OH >= minSize && OW >= minSize;
      const products4 = 36 * Math.ceil(OH / 4) * Math.ceil(OW / 4), products2 = 16 * Math.ceil(OH / 2) * Math.ceil(OW / 2);
      const expected = !chosen ? null : products4 <= 0.75 * products2 ? 'winograd-f4x4' : 'winograd-f2x2';
      assert.is(algo.startsWith('winograd') ? algo : null, expected, `${key} ${s.path}: ${s.C}→${c.outChannels} @${s.H}×${s.W}: ${algo}`);
      // 4×4 tiles of the batch of 16: from 256 outputs, ≥ 60% of their positions outputs; 2×2 from 64.
      const tiles4 = 16 * Math.ceil(OH / 4) * Math.ceil(OW / 4), outputs = 16 * OH * OW;
      const f4 = 5 * outputs >= 3 * 16 * tiles4 && outputs >= 256;
      const dwTile = expected === null ? 0 : f4 ? 4 : outputs >= 64 ? 2 : 0;
      assert.is(layer.weightGradTile([16, s.C, s.H, s.W]), dwTile, `${key} ${s.path}: dW tile`);
      if (expected) wino[expected]++;
      if (dwTile) wino[`dW${dwTile}`]++;
      layer.dispose();
    }
  }
  // The zoo's outputs are 32², 16², 8² (and 4²): F(4×4) on all of them. F(2×2)'s shapes (5×5, 6×6,
  // 9×9, 10×10 outputs) are the layer cases above.
  assert.ok(wino['winograd-f4x4'] >= 3 && wino.dW4 >= 3, `zoo convolutions taking F(4×4) and Winograd's dW: ${JSON.stringify(wino)}`);
});

test.run();
