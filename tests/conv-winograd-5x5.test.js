// Winograd F(2×2,5×5) (assembly/conv-winograd-f2x2-5x5.ts) and F(4×4,5×5)
// (assembly/conv-winograd-f4x4-5x5.ts): forward (with and without a fused ReLU) and input gradient
// of 5×5, stride-1, ungrouped convolutions against the float64 reference on awkward shapes (batch 1
// and 3; 1, 3, 5, 8, 17 and 20 channels each way; planes of 1 to 33 rows and columns, smaller than
// a patch and H ≠ W; padding 0 to 6 and asymmetric; with and without bias), on both builds.
// conv2dAlgorithm's table (assembly/conv-winograd-table.ts) decides which shapes Conv2d sends to
// which (F(4×4,5×5) on 8 channels each way from 16 tiles of 4×4 an image, or 8×8 outputs and 64
// tiles of 4×4 in the batch, and on 3-channel inputs to 16 channels from 64 tiles an image;
// F(2×2,5×5) on the rest of 8 channels each way, 8×8 outputs and 64 tiles of 2×2), so those are
// checked through the layer too, with finite differences, and the 5×5 convolutions of ConvNetJS's
// CIFAR-10 net and LeNet-5 are checked to take their path. Their weight gradients run by
// F(5×5,2×2) or F(5×5,4×4) (raw kernels: tests/conv-winograd-dw.test.js; F(5×5,4×4) from 128
// tiles of 4×4 in the batch, 3-channel inputs included; below it F(5×5,2×2) from 8 channels, else
// direct), so the layer checks here (dW against the reference with its bound, measured on each
// channel pair's largest Σ|dy||x| as there, and the finite differences) cover them through the layer.
//
// Error bound, on the float32 result a against the float64 reference b of the same float32 inputs,
// as conv-winograd.test.js's (tests/winograd-errors.js): per element |a − b| ≤ BOUND · S, S the sum
// over the element's m×m output tile of |bias| + Σ|w||x|, and ‖a − b‖₂ / ‖b‖₂ ≤ BOUND per case.
// BOUND = 1e-5, F(4×4,3×3)'s, for both tiles.
// - F(2×2,5×5): the same Bᵀ as F(4×4,3×3) (scalings by 4 and 5), G with ⅙ and 1/24 times powers of
//   2 up to 16, Aᵀ with 2s. Measured over these shapes (both builds, two seeds each): max |a − b| / S
//   4.1e-7..8.6e-7, ‖a − b‖/‖b‖ 1e-7..1.9e-6 (F(4×4,3×3): 2.5e-7..7.4e-7 and 1.3e-6..1.6e-6).
// - F(4×4,5×5): NNPACK's F(6×6,3×3) points and Bᵀ (scalings by 21/4, 17/4 and 5), G with 2/9, 1/90
//   and 2/45 times powers of 2 up to 16, Aᵀ with 8s and ⅛s. Measured: see F4_MEASURED below.
// Against the direct path on the same data, ‖a − b‖/‖b‖ summed over the shapes Conv2d runs
// directly: F(2×2,5×5) 5.2–5.9× the direct path's, forward and dx alike (F(4×4,3×3): 3.9–4.8×) —
// each output sums 25 products per channel pair through the same transforms, whose G grows to
// 16/24; asserted ≤ 10×. F(4×4,5×5): see F4_MEASURED; asserted ≤ 20×. Both are within what the
// Winograd paths PyTorch can take give (conv-winograd.test.js: one to two decimal digits over
// direct; NNPACK's F(6×6,3×3) has this α = 8 and these points).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';
import { rng, freshSeed, toWasm, wasmOut, freeAll, assertClose, randf, assertLayerFiniteDifferences, randomConv2d } from './helpers.js';
import { conv2d, conv2dGrad, convGeometry } from './reference.js';
import { abs, scales, errors, checkErrors, pairMax } from './winograd-errors.js';

await sn.ready();

const BOUND = 1e-5;
/**
 * F4_MEASURED — F(4×4,5×5) over these shapes (both builds, three seeds each): max |a − b| / S
 * 3.5e-7..5.5e-7 (S sums 16 outputs' terms), ‖a − b‖/‖b‖ 3e-6..7e-6, but 1e-5..1.7e-5 now and then
 * on a 1×1 plane of 3 → 5 channels, whose dx sums five products (cancellation makes ‖b‖ small):
 * ‖a − b‖/‖b‖ ≤ 3e-5 per case, the per-element bound unchanged. Against the direct path, summed
 * over the shapes Conv2d runs directly: 11.1–12.1×, forward and dx alike (F(2×2,5×5) 5.3–5.8× in
 * the same runs); a simulation in numpy, random 8×8 patches of 3 and 16 channels, gave 15× and
 * 6.8× (F(2×2,5×5): 6.2× and 4.1×).
 */
const F4_REL_BOUND = 3e-5;
/** The weight gradient by F(5×5,4×4): tests/conv-winograd-dw.test.js's bound for it. */
const DW_F4_BOUND = 2e-5;
/**
 * The two tiles: the raw kernels' prefix, the algorithm name, the output tile m, and how many
 * times the direct path's ‖a − b‖/‖b‖ (summed over shapes) each may reach (see the header).
 */
const TILES = {
  f2: { label: 'F(2×2,5×5)', prefix: 'winogradF2x2K5', algorithm: 'winograd-f2x2-5x5', m: 2, directTimes: 10, relBound: BOUND },
  f4: { label: 'F(4×4,5×5)', prefix: 'winogradF4x4K5', algorithm: 'winograd-f4x4-5x5', m: 4, directTimes: 20, relBound: F4_REL_BOUND },
};

/** The raw kernels of `tile` on case c (padding before pad, after padAfter): errors of forward, forward + ReLU, and dx. */
function runKernels(c, seed, tile) {
  const rand = rng(seed), what = (s) => `seed ${seed}: ${JSON.stringify(c)}: ${s}`;
  const { N, C, O, H, W } = c, pad = c.pad, padAfter = c.padAfter ?? c.pad;
  const shape = [N, C, H, W], opts = { pad, padAfter };
  const g = convGeometry(shape, O, 5, opts);
  const x = randf(N * C * H * W, rand), w = randf(O * C * 25, rand), b = c.bias ? randf(O, rand) : null;
  const dy = randf(N * O * g.OH * g.OW, rand);
  const ref = conv2d(x, shape, w, b, O, 5, opts).y;
  const refDx = conv2dGrad(x, shape, w, dy, O, 5, opts).dx;
  const { scale, scaleDx } = scales(c, opts, g, x, w, b, dy, tile.m, 5);
  const k = rt().kernels;
  const xs = toWasm(x), ws = toWasm(w), bs = b ? toWasm(b) : null, dys = toWasm(dy);
  const ys = wasmOut(ref.length), relus = wasmOut(ref.length), dxs = wasmOut(x.length);
  const scratch = wasmOut(k[`${tile.prefix}ScratchFloats`](N, C, H, W, O, g.OH, g.OW));
  try {
    assert.is(k[`${tile.prefix}Forward`](xs.ptr, ws.ptr, bs ? bs.ptr : 0, ys.ptr, N, C, H, W, O, pad, pad, g.OH, g.OW, scratch.ptr, 0), 0);
    scratch.view().fill(NaN); // nothing may depend on what the scratch held
    assert.is(k[`${tile.prefix}Forward`](xs.ptr, ws.ptr, bs ? bs.ptr : 0, relus.ptr, N, C, H, W, O, pad, pad, g.OH, g.OW, scratch.ptr, 1), 0);
    scratch.view().fill(NaN);
    k[`${tile.prefix}InputGrad`](ws.ptr, dys.ptr, dxs.ptr, N, C, H, W, O, pad, pad, g.OH, g.OW, scratch.ptr);
    const y = Float64Array.from(ys.view()), dx = Float64Array.from(dxs.view());
    const fwd = errors(y, ref, scale), back = errors(dx, refDx, scaleDx);
    checkErrors(fwd, what('forward'), BOUND, tile.relBound);
    // Per element only: after the ReLU few outputs may be left, and ‖a − b‖ / ‖b‖ over them is ill-conditioned
    // (1.4e-5 on a 2×1 plane of 3 → 5 channels); the line below ties the fused ReLU to the forward's bits anyway.
    const relu = errors(Float64Array.from(relus.view()), ref.map((v) => Math.max(v, 0)), scale);
    assert.ok(relu.maxScaled <= BOUND, `${what('forward + ReLU')}: max |a − b| / (|b| + Σ|w||x|) = ${relu.maxScaled} > ${BOUND}`);
    assert.equal([...relus.view()], [...ys.view()].map((v) => Math.max(v, 0)), what('ReLU fused = ReLU after'));
    checkErrors(back, what('dx'), BOUND, tile.relBound);
    return { fwd, back, x, w, b, dy, g };
  } finally {
    freeAll(xs, ws, dys, ys, relus, dxs, scratch, ...(bs ? [bs] : []));
  }
}

const channels = [1, 3, 5, 8, 17, 20];
const sizes = [1, 2, 3, 5, 6, 7, 9, 13, 16, 33];
const cases = [];
// Channels each way, with sizes and paddings rotating through the lists (outputs of at least 1×1).
let i = 0;
for (const C of channels) {
  for (const O of channels) {
    const H = sizes[i % sizes.length], W = sizes[(i * 3 + 2) % sizes.length];
    const pad = [2, 0, 1, 3][i % 4];
    if (H + 2 * pad >= 5 && W + 2 * pad >= 5 && C * O * H * W <= 40000) cases.push({ N: 1 + 2 * (i % 2), C, O, H, W, pad, bias: i % 4 !== 1 });
    i++;
  }
}
// Every size both ways at a fixed channel pair, then asymmetric padding (more or fewer zeros after).
for (const H of sizes) for (const W of [1, 2, 7, 13]) cases.push({ N: 1, C: 3, O: 5, H, W, pad: 2, bias: true });
cases.push(
  { N: 3, C: 5, O: 3, H: 7, W: 13, pad: 2, padAfter: 1, bias: true },
  { N: 1, C: 17, O: 5, H: 13, W: 5, pad: 3, padAfter: 2, bias: false },
  { N: 3, C: 3, O: 17, H: 5, W: 7, pad: 0, padAfter: 2, bias: true },
  { N: 1, C: 5, O: 5, H: 2, W: 13, pad: 2, padAfter: 3, bias: true },
  { N: 2, C: 16, O: 20, H: 16, W: 16, pad: 2, bias: true },
  { N: 3, C: 20, O: 20, H: 8, W: 8, pad: 2, bias: false },
  // padding beyond the kernel's reach (k − 1 = 4): the input gradient's patches start inside dy
  { N: 2, C: 9, O: 8, H: 6, W: 5, pad: 4, bias: true },
  { N: 1, C: 3, O: 5, H: 7, W: 9, pad: 5, bias: false },
  { N: 1, C: 5, O: 3, H: 3, W: 2, pad: 6, padAfter: 5, bias: true },
);

for (const tile of Object.values(TILES)) {
  test(`Winograd ${tile.label} kernels: forward, forward + ReLU and dx within the stated bound of the float64 reference over ${cases.length} shapes`, () => {
    for (const c of cases) runKernels(c, freshSeed(), tile);
  });

  test(`Winograd ${tile.label}: its errors stay within ${tile.directTimes}× the direct path's on the same data (summed over shapes)`, () => {
    let wino = 0, winoDx = 0, direct = 0, directDx = 0, n = 0;
    for (const c of cases) {
      if (c.padAfter !== undefined) continue; // Conv2d pads symmetrically
      const layer = new sn.Conv2d(c.C, c.O, 5, { padding: c.pad, bias: c.bias });
      const shape = [c.N, c.C, c.H, c.W];
      if (layer.algorithm(shape).startsWith('winograd')) { layer.dispose(); continue; }
      const r = runKernels(c, freshSeed(), tile);
      layer.weight.data.view().set(r.w);
      if (r.b) layer.bias.data.view().set(r.b);
      const y = layer.forward(sn.tensor(Float32Array.from(r.x), shape));
      const dx = layer.backward(sn.tensor(Float32Array.from(r.dy), y.shape)).toArray();
      const opts = { pad: c.pad };
      const ref = conv2d(r.x, shape, r.w, r.b, c.O, 5, opts).y, refDx = conv2dGrad(r.x, shape, r.w, r.dy, c.O, 5, opts).dx;
      wino += r.fwd.rel; winoDx += r.back.rel;
      direct += errors(y.toArray(), ref, new Float64Array(ref.length).fill(1)).rel;
      directDx += errors(dx, refDx, new Float64Array(refDx.length).fill(1)).rel;
      layer.dispose();
      n++;
    }
    assert.ok(n >= 20, `${n} shapes compared`);
    assert.ok(wino <= tile.directTimes * direct, `forward: Winograd Σ‖a − b‖/‖b‖ = ${wino}, direct ${direct}`);
    assert.ok(winoDx <= tile.directTimes * directDx, `dx: Winograd Σ‖a − b‖/‖b‖ = ${winoDx}, direct ${directDx}`);
  });

  test(`Winograd ${tile.label} overwrites its outputs whatever they held, and reads nothing past the input planes`, () => {
    // NaN in y, dx and the scratch before the call: checked by runKernels (wasmOut fills with NaN).
    // An input followed by NaN: a read past its last plane would poison the edge tiles (7×9 and 9×10
    // planes: tiles reach past both edges, four-tile rows past the right one).
    for (const [H, W] of [[7, 9], [9, 10]]) {
      const seed = freshSeed(), rand = rng(seed);
      const N = 1, C = 3, O = 2, OH = H, OW = W;
      const x = randf(N * C * H * W, rand), w = randf(O * C * 25, rand);
      const xs = toWasm([...x, ...Array(24).fill(NaN)]), ws = toWasm(w), ys = wasmOut(N * O * OH * OW);
      const scratch = wasmOut(rt().kernels[`${tile.prefix}ScratchFloats`](N, C, H, W, O, OH, OW));
      rt().kernels[`${tile.prefix}Forward`](xs.ptr, ws.ptr, 0, ys.ptr, N, C, H, W, O, 2, 2, OH, OW, scratch.ptr, 0);
      const ref = conv2d(x, [N, C, H, W], w, null, O, 5, { pad: 2 }).y;
      // Against the tile's Σ|w||x| as everywhere here (a fixed tolerance fails now and then: 1.9e-5 on
      // an output of 0.39 whose tile sums to ~50); a NaN read fails it too.
      const { scale } = scales({ N, C, O, H, W }, { pad: 2 }, { OH, OW }, x, w, null, new Float64Array(N * O * OH * OW), tile.m, 5);
      checkErrors(errors(Float64Array.from(ys.view()), ref, scale), `seed ${seed}: forward of ${H}×${W} next to NaN`, BOUND, tile.relBound);
      freeAll(xs, ws, ys, scratch);
    }
  });
}

// ---- through the layer: the table's shapes ----

/** The tile each case takes (TILES' key) and the weight gradient's tile (2: F(5×5,2×2); 4: F(5×5,4×4); 0: direct). */
for (const c of [
  { N: 2, C: 16, O: 20, H: 16, W: 16, opts: { padding: 2 }, tile: 'f4', dw: 2 },
  { N: 1, C: 8, O: 12, H: 17, W: 16, opts: { padding: 2, bias: false }, tile: 'f4', dw: 2 },
  { N: 16, C: 9, O: 8, H: 8, W: 9, opts: { padding: 2 }, tile: 'f4', dw: 2 },
  { N: 1, C: 3, O: 16, H: 32, W: 32, opts: { padding: 2 }, tile: 'f4', dw: 0 },
  { N: 2, C: 5, O: 17, H: 29, W: 31, opts: { padding: 'same' }, tile: 'f4', dw: 4 },
  { N: 8, C: 9, O: 10, H: 16, W: 17, opts: { padding: 2 }, tile: 'f4', dw: 4 },
  { N: 3, C: 12, O: 8, H: 30, W: 29, opts: { padding: 1, bias: false }, tile: 'f4', dw: 4 },
  { N: 2, C: 9, O: 13, H: 11, W: 17, opts: { padding: 'same' }, tile: 'f2', dw: 2 },
  { N: 4, C: 8, O: 8, H: 12, W: 13, opts: { padding: 0, bias: false }, tile: 'f2', dw: 2 },
  { N: 3, C: 20, O: 8, H: 9, W: 8, opts: { padding: 3 }, tile: 'f2', dw: 2 },
  { N: 3, C: 9, O: 8, H: 6, W: 5, opts: { padding: 4 }, tile: 'f2', dw: 2 },
]) {
  const tile = TILES[c.tile];
  const { tile: _t, dw: _d, ...shown } = c;
  test(`Conv2d ${JSON.stringify(shown)} takes ${tile.algorithm}; forward, dx, dW and db match the float64 reference`, () => {
    const seed = freshSeed(), rand = rng(seed), what = (s) => `seed ${seed}: ${s}`;
    const { layer, w, b } = randomConv2d(sn, c.C, c.O, 5, c.opts, rand);
    const shape = [c.N, c.C, c.H, c.W], pad = c.opts.padding === 'same' ? 2 : c.opts.padding, opts = { pad };
    assert.is(layer.algorithm(shape), tile.algorithm);
    assert.is(layer.weightGradTile(shape), c.dw);
    const x = randf(c.N * c.C * c.H * c.W, rand);
    const y = layer.forward(sn.tensor(Float32Array.from(x), shape));
    const ref = conv2d(x, shape, w, b, c.O, 5, opts);
    assert.equal([...y.shape], ref.shape);
    const [OH, OW] = ref.shape.slice(2);
    const dy = randf(y.size, rand);
    const { scale, scaleDx } = scales(c, opts, { OH, OW }, x, w, b, dy, tile.m, 5);
    checkErrors(errors(y.toArray(), ref.y, scale), what('forward'), BOUND, tile.relBound);
    const dx = layer.backward(sn.tensor(Float32Array.from(dy), y.shape)).toArray();
    const g = conv2dGrad(x, shape, w, dy, c.O, 5, opts), s = conv2dGrad(abs(x), shape, abs(w), abs(dy), c.O, 5, opts);
    checkErrors(errors(dx, g.dx, scaleDx), what('dx'), BOUND, tile.relBound);
    checkErrors(errors(layer.weight.grad.toArray(), g.dw, pairMax(s.dw, 25)), what('dW'), c.dw === 4 ? DW_F4_BOUND : BOUND);
    if (b) assertClose(layer.bias.grad.toArray(), g.db, { rtol: 1e-5, atol: 1e-4, what: what('db') });
    layer.dispose();
  });
}

// The fewest tiles each tile size takes: F(4×4,5×5) at batch 1 (16 tiles of 4×4 an image, or 64 on
// 3-channel inputs), its weight gradient by F(5×5,4×4) at 128 in the batch; F(2×2,5×5), which no
// single image takes any more, at 64 tiles of 2×2 in the batch.
for (const [N, C, O, H, W, padding, key, dw] of [
  [1, 8, 8, 16, 16, 2, 'f4', 2], [1, 3, 16, 32, 32, 2, 'f4', 0], [1, 9, 8, 19, 17, 1, 'f4', 2], [8, 9, 8, 16, 16, 2, 'f4', 4],
  [2, 3, 16, 32, 32, 2, 'f4', 4],
  [2, 16, 20, 11, 11, 2, 'f2', 2], [3, 9, 8, 9, 10, 2, 'f2', 2],
]) {
  const tile = TILES[key];
  test(`Conv2d on a ${tile.algorithm} shape (${C}→${O} @${H}×${W}, padding ${padding}, batch ${N}): gradients match central differences of the float32 forward`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const { layer } = randomConv2d(sn, C, O, 5, { padding }, rand);
    const shape = [N, C, H, W];
    assert.is(layer.algorithm(shape), tile.algorithm);
    assert.is(layer.weightGradTile(shape), dw);
    assertLayerFiniteDifferences(sn, layer, shape, rand, seed, { atol: 3e-2, weightCount: 25 * C * 2 });
    layer.dispose();
  });
}

test('the table: ConvNetJS\'s CIFAR-10 net runs its convolutions and their weight gradients by F(4×4,5×5) and F(5×5,4×4) at batch 64; LeNet-5\'s two run directly', () => {
  // [C, O, outputs each way, padding, at batch 1, 2, 4, 16 and 64: the algorithm (f4, f2, or - for
  // direct) / the weight gradient's tile (4: F(5×5,4×4), 2: F(5×5,2×2), 0: direct)]
  for (const [C, O, H, padding, row] of [
    [3, 16, 32, 2, 'f4/0 f4/4 f4/4 f4/4 f4/4'], [16, 20, 16, 2, 'f4/2 f4/2 f4/2 f4/4 f4/4'], [20, 20, 8, 2, '- - f2/2 f4/2 f4/4'],
    [1, 6, 28, 2, '- - - - -'], [6, 16, 10, 0, '- - - - -'],
    [8, 8, 32, 2, 'f4/2 f4/4 f4/4 f4/4 f4/4'], [32, 32, 16, 2, 'f4/2 f4/2 f4/2 f4/4 f4/4'], [64, 64, 8, 2, '- - f2/2 f4/2 f4/4'],
    [64, 64, 4, 2, '- - - - -'], [7, 64, 16, 2, '- - - - -'], [3, 32, 32, 2, 'f4/0 f4/4 f4/4 f4/4 f4/4'], [3, 8, 32, 2, '- - - - -'],
    [1, 32, 28, 2, '- - - - -'], [9, 9, 12, 2, '- f2/2 f2/2 f4/4 f4/4'],
  ]) {
    const expected = row.split(' ');
    [1, 2, 4, 16, 64].forEach((N, i) => {
      const layer = new sn.Conv2d(C, O, 5, { padding });
      const algo = layer.algorithm([N, C, H, H]);
      const [key, dw] = expected[i].split('/');
      const want = key === '-' ? null : TILES[key].algorithm;
      assert.is(algo.startsWith('winograd') ? algo : null, want, `${C}→${O} @${H}², batch ${N}: ${algo}`);
      assert.is(layer.weightGradTile([N, C, H, H]), Number(dw ?? 0), `${C}→${O} @${H}², batch ${N}: dW tile`);
      layer.dispose();
    });
  }
  const lenet = sn.models.lenet5();
  const convs = lenet.modules().filter((m) => m instanceof sn.Conv2d);
  assert.is(convs.length, 2);
  assert.ok(!convs[0].algorithm([64, 1, 28, 28]).startsWith('winograd') && !convs[1].algorithm([64, 6, 10, 10]).startsWith('winograd'));
  lenet.dispose();
});

test.run();
