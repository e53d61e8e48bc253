// The weight gradient of 3×3, stride-1, ungrouped convolutions by Winograd: 2×2 tiles
// (assembly/conv-winograd-dw.ts, 16 GEMMs) and 4×4 tiles (assembly/conv-winograd-dw-f4.ts, the 6×6
// patches of F(4×4,3×3), 36 GEMMs), and of 5×5 ones by 2×2 tiles (F(5×5,2×2), the same file and
// 6×6 patches; shapes below), the raw kernels against the float64 reference on awkward shapes
// (batch 1 and 3; 1, 3, 5, 17, 32 and 33 channels each way; planes of 1, 2, 3, 5, 7, 13 and 32 rows
// and columns, H ≠ W, smaller than a tile; padding 0, 1, 2 and asymmetric; chunks of tiles across
// images), added onto random values d0 as the layer accumulates, on both builds.
//
// Error bound, per weight: |a − b| ≤ bound · (|d0| + the largest Σ|dy||x| of the weight's channel
// pair, winograd-errors.js's pairMax), and ‖a − b‖/‖b‖ ≤ bound per case, b the float64 d0 + dW of
// the same float32 inputs. The pair's, not the weight's own: the back-transform Gᵀ Z G mixes the
// pair's sums into all nine taps, so on planes about the size of a tile, where a corner tap meets
// one pixel and the centre tap four, a corner rounds against its neighbours' terms. On the
// weight's own Σ|dy||x| a 2×2 plane with padding 1 (C = 3, O = 5) measured up to 1.3e-5 by 4×4
// tiles and 7.0e-6 by 2×2 tiles over 300 seeds; on the pair's, 2.9e-7 and 2.0e-7.
// - 2×2 tiles: bound 1e-5. Measured over these shapes (both builds, several runs of fresh seeds):
//   max |a − b| on the weight's own scale 6.3e-7..1.1e-6 (the small planes above aside),
//   ‖a − b‖/‖b‖ up to 5.3e-7 — each term passes through a 4×4 input patch and a 2×2 tile of dy.
//   On the pair's scale, over the 300 seeds of 27 shapes of 1–13 rows and columns: at most 2.0e-7.
// - 4×4 tiles: bound 1e-5 too. Measured: max 1.3e-6..2.3e-6 on the weight's own scale (the small
//   planes above aside), ‖a − b‖/‖b‖ up to 2.2e-6, ~4× the 2×2 tiles': the transforms scale by 2,
//   4, 5 and 8 and the back-transform by ⅙, 1/12 and 1/24, as in the forward F(4×4,3×3)
//   (tests/conv-winograd.test.js). On the pair's scale, over those 300 seeds: at most 1.6e-6.
// Against the direct path on the same data (Conv2d's weight gradient on the shapes it runs
// directly, from zero), Σ‖a − b‖/‖b‖ over those shapes: 2×2 tiles 1.9–2.0× the direct path's
// (1.8× while their GEMMs were gemm.ts's dot products, four partial sums a weight), 4×4 tiles
// 6.4–7.2× (the direct path's own is ~8e-8 a shape: it sums each weight's terms in f32 vectors over
// whole planes); the test asserts ≤ 3× and ≤ 10×. The forward's F(4×4) is 3.9–4.8×
// the direct path's and ~6× PyTorch's default (oneDNN direct) path; PyTorch's own Winograd paths
// (oneDNN's F(4×4,3×3) with these points, NNPACK's F(6×6,3×3)) lose one to two decimal digits
// against direct (Barabasz et al., ACM TOMS 2020), so 4×4 tiles here stay within what those give.
// - 5×5 kernels by 2×2 tiles of dy, F(5×5,2×2) (the 6×6 patches of F(2×2,5×5)): bound 1e-5, on
//   each channel pair's largest Σ|dy||x| (winograd-errors.js's pairMax) rather than the weight's
//   own: the back-transform mixes the pair's 36 sums into all 25 taps, and on planes narrower than
//   the kernel (1 column, padding 3) a tap can meet only padding, with no terms of its own, yet
//   round against its neighbours' (1.6e-4 on its own scale). Measured (both builds, eight runs of
//   fresh seeds): max 3.6e-6..5.3e-6, ‖a − b‖/‖b‖ up to 2.5e-6. Against the direct path on the
//   same data (shapes Conv2d runs directly), Σ‖a − b‖/‖b‖ 15–17× the direct path's: G's rows scale
//   by up to 16/24 and Bᵀ's by 5, as in the forward F(2×2,5×5) (5.2–5.9× its direct path's), and
//   the direct weight gradient's own error is small (f32 vector sums over whole planes); asserted
//   ≤ 25×, about 1.2 decimal digits, within the one to two that PyTorch's Winograd paths lose.
// - 5×5 kernels by 4×4 tiles of dy, F(5×5,4×4) (the 8×8 patches of F(4×4,5×5): Bᵀ's rows scale by
//   up to 21/4, G's by up to 32/45, A's by 8): bound 2e-5, on the pair's largest Σ|dy||x| as above.
//   Measured (both builds, three runs of fresh seeds): max 6.7e-6..8.5e-6, ‖a − b‖/‖b‖ up to
//   3.2e-6; against the direct path Σ‖a − b‖/‖b‖ 22.4–23.9× (F(5×5,2×2) 15.8–17.2× in the same
//   runs); asserted ≤ 40×, about 1.4 decimal digits, within what PyTorch's Winograd paths lose
//   (NNPACK's F(6×6,3×3) has this α = 8 and these points).
//
// Through the layer (Conv2d.weightGradTile names the tile the table picks): tests/conv-winograd.test.js
// checks the table's shapes against the float64 reference, and central differences below check the
// weight gradient by 4×4 tiles on a shape that takes them (f is linear in the weights, so a wide
// step leaves no truncation error and shrinks the float32 forward's rounding noise).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';
import { rng, freshSeed, toWasm, wasmOut, freeAll, randf, randn, numericGrad, assertClose } from './helpers.js';
import { conv2dGrad, convGeometry } from './reference.js';
import { pairMax } from './winograd-errors.js';

await sn.ready();

/** The two tile sizes of the weight gradient: the raw kernels' names and each one's bound (see the header). */
const TILES = {
  f2x2: { m: 2, bound: 1e-5, pairScale: true, run: 'winogradWeightGrad', scratch: 'winogradWeightGradScratchFloats' },
  f4x4: { m: 4, bound: 1e-5, pairScale: true, run: 'winogradF4x4WeightGrad', scratch: 'winogradF4x4WeightGradScratchFloats' },
};
/** The 5×5 kernels' weight gradient by 2×2 and 4×4 tiles of dy, F(5×5,2×2) and F(5×5,4×4) (see the header). */
const TILES_5X5 = {
  'F(5×5,2×2)': { m: 2, k: 5, bound: 1e-5, pairScale: true, directTimes: 25, run: 'winogradF2x2K5WeightGrad', scratch: 'winogradF2x2K5WeightGradScratchFloats' },
  'F(5×5,4×4)': { m: 4, k: 5, bound: 2e-5, pairScale: true, directTimes: 40, run: 'winogradF4x4K5WeightGrad', scratch: 'winogradF4x4K5WeightGradScratchFloats' },
};
const abs = (a) => a.map(Math.abs);

/** max_i |a − b| / scale_i and ‖a − b‖ / ‖b‖. */
function errors(a, b, scale) {
  let worst = 0, num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    worst = Math.max(worst, scale[i] > 0 ? d / scale[i] : d > 0 ? Infinity : 0);
    num += d * d; den += b[i] * b[i];
  }
  return { maxScaled: worst, rel: den > 0 ? Math.sqrt(num / den) : Math.sqrt(num) };
}

function checkErrors(e, what, bound) {
  assert.ok(e.maxScaled <= bound, `${what}: max |a − b| / (|d0| + Σ|dy||x|) = ${e.maxScaled} > ${bound}`);
  assert.ok(e.rel <= bound, `${what}: ‖a − b‖ / ‖b‖ = ${e.rel} > ${bound}`);
}

/**
 * The raw weight-gradient kernel of `tile` on case c (padding before pad, after padAfter), added onto
 * float32 values d0 (zeros `fromZero`; the scratch NaN before the call): its
 * errors against d0 + the float64 dW, and the data.
 */
function runWeightGrad(c, seed, tile, fromZero = false) {
  const rand = rng(seed);
  const { N, C, O, H, W } = c, pad = c.pad, padAfter = c.padAfter ?? c.pad;
  const shape = [N, C, H, W], opts = { pad, padAfter };
  const k = tile.k ?? 3, taps = k * k;
  const g = convGeometry(shape, O, k, opts);
  const x = randf(N * C * H * W, rand), dy = randf(N * O * g.OH * g.OW, rand);
  const d0 = fromZero ? new Float64Array(O * C * taps) : randf(O * C * taps, rand);
  const w = new Float64Array(O * C * taps); // dW does not depend on w
  const ref = conv2dGrad(x, shape, w, dy, O, k, opts).dw.map((v, i) => v + d0[i]);
  const terms = conv2dGrad(abs(x), shape, w, abs(dy), O, k, opts).dw;
  const scale = (tile.pairScale ? pairMax(terms, taps) : terms).map((v, i) => v + Math.abs(d0[i]));
  const kernels = rt().kernels;
  const xs = toWasm(x), dys = toWasm(dy), dws = toWasm(d0);
  const scratch = wasmOut(kernels[tile.scratch](N, C, O, g.OH, g.OW));
  try {
    kernels[tile.run](xs.ptr, dys.ptr, dws.ptr, N, C, H, W, O, pad, pad, g.OH, g.OW, scratch.ptr);
    return { e: errors(Float64Array.from(dws.view()), ref, scale), x, dy, d0 };
  } finally {
    freeAll(xs, dys, dws, scratch);
  }
}

/** The raw kernel of `tile` over `list`: every case's dW within the tile's bound, and some error at all (rounding errors, not zero). */
function checkWithinBound(name, tile, list) {
  let worst = 0;
  for (const c of list) {
    const seed = freshSeed(), { e } = runWeightGrad(c, seed, tile);
    checkErrors(e, `seed ${seed}: ${JSON.stringify(c)}: dW by ${name}`, tile.bound);
    worst = Math.max(worst, e.rel);
  }
  assert.ok(worst > 0, `${name}: some error at all`);
}

/**
 * Over the cases of `list` whose Conv2d (k×k kernels) computes its weight gradient directly
 * (symmetric padding, weightGradTile 0): the sum of ‖a − b‖/‖b‖ of each Winograd run `runs(c,
 * seed)` gives (runWeightGrad's results, from zero), that of the direct path on the first run's
 * data, and how many cases.
 */
function againstDirect(list, k, runs) {
  const sums = [];
  let direct = 0, n = 0;
  for (const c of list) {
    if (c.padAfter !== undefined) continue; // Conv2d pads symmetrically
    const layer = new sn.Conv2d(c.C, c.O, k, { padding: c.pad, bias: false });
    const shape = [c.N, c.C, c.H, c.W];
    if (layer.weightGradTile(shape) !== 0) { layer.dispose(); continue; }
    const results = runs(c, freshSeed());
    results.forEach((r, j) => { sums[j] = (sums[j] ?? 0) + r.e.rel; });
    const { x, dy } = results[0], opts = { pad: c.pad }, g = convGeometry(shape, c.O, k, opts);
    layer.forward(sn.tensor(Float32Array.from(x), shape));
    layer.backward(sn.tensor(Float32Array.from(dy), [c.N, c.O, g.OH, g.OW]));
    const ref = conv2dGrad(x, shape, new Float64Array(c.O * c.C * k * k), dy, c.O, k, opts).dw;
    direct += errors(layer.weight.grad.toArray(), ref, new Float64Array(ref.length).fill(1)).rel;
    layer.dispose();
    n++;
  }
  return { sums, direct, n };
}

const channels = [1, 3, 5, 17, 32, 33];
const sizes = [1, 2, 3, 5, 7, 13, 32];
const cases = [];
// Channels each way, with sizes and paddings rotating through the lists (H ≠ W mostly).
let i = 0;
for (const C of channels) {
  for (const O of channels) {
    const H = sizes[i % sizes.length], W = sizes[(i * 3 + 2) % sizes.length];
    const pad = [1, 0, 2][i % 3];
    if (H + 2 * pad >= 3 && W + 2 * pad >= 3 && C * O * H * W <= 40000) cases.push({ N: 1 + 2 * (i % 2), C, O, H, W, pad });
    i++;
  }
}
// Every size both ways at a fixed channel pair; asymmetric padding (output rows and columns of odd
// count, tiles cut by the edge); more tiles than one chunk holds (128 tiles of 4×4, 256 of 2×2),
// across images.
for (const H of sizes) for (const W of [1, 2, 7, 13]) cases.push({ N: 1, C: 3, O: 5, H, W, pad: 1 });
cases.push(
  { N: 3, C: 5, O: 3, H: 7, W: 13, pad: 1, padAfter: 0 },
  { N: 1, C: 17, O: 5, H: 13, W: 5, pad: 2, padAfter: 1 },
  { N: 3, C: 3, O: 17, H: 5, W: 7, pad: 0, padAfter: 1 },
  { N: 1, C: 5, O: 5, H: 2, W: 13, pad: 1, padAfter: 2 },
  { N: 3, C: 6, O: 10, H: 32, W: 30, pad: 1 },
  { N: 5, C: 9, O: 7, H: 21, W: 19, pad: 0 },
  { N: 1, C: 32, O: 33, H: 32, W: 32, pad: 1 },
  { N: 3, C: 33, O: 32, H: 13, W: 13, pad: 1 },
);

for (const [name, tile] of Object.entries(TILES)) {
  test(`Winograd weight gradient, ${tile.m}×${tile.m} tiles (${name}): adds dW within the stated bound of the float64 reference over ${cases.length} shapes`, () => {
    checkWithinBound(name, tile, cases);
  });
}

test('Winograd weight gradients: their errors stay within 3× (2×2 tiles) and 10× (4×4 tiles) the direct path\'s on the same data (summed over shapes)', () => {
  // The same data for both tiles.
  const { sums: [f2x2, f4x4], direct, n } = againstDirect(cases, 3, (c, seed) => [runWeightGrad(c, seed, TILES.f2x2, true), runWeightGrad(c, seed, TILES.f4x4, true)]);
  assert.ok(n >= 20, `${n} shapes compared`);
  assert.ok(f2x2 <= 3 * direct, `2×2 tiles: Σ‖a − b‖/‖b‖ = ${f2x2}, direct ${direct}`);
  assert.ok(f4x4 <= 10 * direct, `4×4 tiles: Σ‖a − b‖/‖b‖ = ${f4x4}, direct ${direct}`);
});

// 5×5 kernels by 2×2 tiles of dy: channels each way (not multiples of 4 or 8, and 1), sizes and
// paddings 0–4 rotating (H ≠ W, planes smaller than a tile, outputs of odd count), batch 1 and 3,
// more tiles than one chunk (128) across images, asymmetric padding.
const cases5 = [];
i = 0;
for (const C of [1, 3, 8, 17, 20]) {
  for (const O of [1, 5, 9, 20, 33]) {
    const H = [1, 2, 5, 7, 13, 16][i % 6], W = [3, 16, 9, 1, 6, 13, 5][i % 7], pad = i % 5;
    if (H + 2 * pad >= 5 && W + 2 * pad >= 5) cases5.push({ N: 1 + 2 * (i % 2), C, O, H, W, pad });
    i++;
  }
}
cases5.push(
  { N: 3, C: 16, O: 20, H: 16, W: 16, pad: 2 },
  { N: 5, C: 6, O: 7, H: 11, W: 9, pad: 1 },
  { N: 2, C: 9, O: 8, H: 12, W: 13, pad: 0 },
  { N: 3, C: 5, O: 3, H: 7, W: 10, pad: 2, padAfter: 0 },
  { N: 1, C: 4, O: 6, H: 6, W: 5, pad: 4, padAfter: 1 },
  { N: 5, C: 6, O: 7, H: 20, W: 19, pad: 2 }, // 125 tiles of 4×4: two chunks of F(5×5,4×4), across images
);

for (const [name, tile] of Object.entries(TILES_5X5)) {
  test(`Winograd weight gradient of 5×5 kernels, ${name}: adds dW within the stated bound of the float64 reference over ${cases5.length} shapes`, () => {
    checkWithinBound(name, tile, cases5);
  });

  test(`Winograd weight gradient of 5×5 kernels, ${name}: its errors stay within ${tile.directTimes}× the direct path's on the same data (summed over shapes)`, () => {
    const { sums: [winograd], direct, n } = againstDirect(cases5, 5, (c, seed) => [runWeightGrad(c, seed, tile, true)]);
    assert.ok(n >= 15, `${n} shapes compared`);
    assert.ok(winograd <= tile.directTimes * direct, `${name}: Σ‖a − b‖/‖b‖ = ${winograd}, direct ${direct}`);
  });
}

test('Conv2d whose weight gradient takes 4×4 tiles (16→17 @64×63, batch 2): dW and db match central differences of the float32 forward', () => {
  const seed = freshSeed(), rand = rng(seed), what = (s) => `seed ${seed}: ${s}`;
  const shape = [2, 16, 64, 63];
  const layer = new sn.Conv2d(16, 17, 3, { padding: 1 });
  layer.weight.data.view().set(randf(layer.weight.size, rand));
  layer.bias.data.view().set(randf(17, rand));
  assert.is(layer.algorithm(shape), 'winograd-f4x4');
  assert.is(layer.weightGradTile(shape), 4);
  const x = sn.tensor(Float32Array.from(randf(shape.reduce((a, b) => a * b, 1), rand)), shape);
  const y0 = layer.forward(x), r = randn(y0.size, rand), outShape = y0.shape;
  // f = Σ r ⊙ y in float64 from the layer's float32 output.
  const f = () => { const y = layer.forward(x).toArray(); let s = 0; for (let i = 0; i < y.length; i++) s += r[i] * y[i]; return s; };
  layer.forward(x);
  layer.backward(sn.tensor(Float32Array.from(r), outShape));
  const dw = layer.weight.grad.toArray(), db = layer.bias.grad.toArray();
  const full = Float64Array.from(layer.weight.data.toArray());
  // The first 27 weights (three input channels of output 0) and the last 27 (of output 16).
  for (const start of [0, full.length - 27]) {
    const wd = full.slice(start, start + 27);
    const num = numericGrad(() => { full.set(wd, start); layer.weight.data.view().set(full); return f(); }, wd, 0.5);
    assertClose(dw.slice(start, start + 27), num, { rtol: 1e-3, atol: 2e-2, what: what(`dW[${start}..] vs finite differences`) });
  }
  const bd = Float64Array.from(layer.bias.data.toArray());
  assertClose(db, numericGrad(() => { layer.bias.data.view().set(bd); return f(); }, bd, 0.5), { rtol: 1e-3, atol: 2e-2, what: what('db vs finite differences') });
  layer.dispose();
});

test.run();
