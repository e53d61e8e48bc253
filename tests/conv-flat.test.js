// The stride-1 flat convolution path (assembly/conv-flat*.ts) and the 2×2 max-pooling fast
// path, on shapes that hit their tiles and tails: LeNet's layers, an odd channel count (the
// 2-row tile's last row), tap counts that are not a multiple of 4 (the dot kernel's tail),
// output planes whose padded length is not a multiple of 16, groups and dilation.
// Groups of a multiple of 16 output channels take the channel-lane kernels (conv-chan.ts):
// unpadded inputs read in place, padded ones copied; odd pixel counts and odd output widths
// (a pixel pair across two rows), odd tap counts (the tap pair's tail), two 16-channel blocks,
// and groups of several 16-channel panels (the weights and dy are packed panel by panel).
// Zero borders wider than a kernel row's reach exercise the row skipping of flatConvRows.
// Their dx takes conv-chan-dx.ts (2×2-pixel × 2-channel blocks over a 1-pixel zero frame): odd
// channel counts, odd heights and widths, padding, dilation, groups, two 16-channel blocks.
// Output widths that are a multiple of 4 take the dense weight gradient (conv-flat-dense.ts):
// conv1, 4 and 8 columns, tap counts leaving 1–3 taps for its 4-row tail, odd channel counts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt, i32 } from 'simdnet/internal';
import { rng, freshSeed, randn, toWasm, wasmOut, freeAll, assertClose } from './helpers.js';

await sn.ready();

const pair = (v) => (typeof v === 'number' ? [v, v] : v);

/** float64 forward and gradients by the definition (stride 1, symmetric padding). */
function reference(c, x, w, b, dy) {
  const { N, C, O, H, W } = c, [KH, KW] = pair(c.k), [PH, PW] = pair(c.p ?? 0), [DH, DW] = pair(c.d ?? 1), G = c.g ?? 1;
  const OH = H + 2 * PH - DH * (KH - 1), OW = W + 2 * PW - DW * (KW - 1), Cg = C / G, Og = O / G;
  const y = new Float64Array(N * O * OH * OW), dx = new Float64Array(x.length), dw = new Float64Array(w.length);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const yi = ((n * O + o) * OH + oh) * OW + ow;
    let s = b[o];
    for (let ci = 0; ci < Cg; ci++) for (let i = 0; i < KH; i++) for (let j = 0; j < KW; j++) {
      const ih = oh - PH + i * DH, iw = ow - PW + j * DW;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      const xi = ((n * C + Math.floor(o / Og) * Cg + ci) * H + ih) * W + iw, wi = ((o * Cg + ci) * KH + i) * KW + j;
      s += x[xi] * w[wi];
      dx[xi] += w[wi] * dy[yi]; dw[wi] += x[xi] * dy[yi];
    }
    y[yi] = s;
  }
  return { y, dx, dw, OH, OW };
}

const cases = [
  { N: 3, C: 1, O: 6, H: 28, W: 28, k: 5, p: 2 }, // LeNet conv1
  { N: 2, C: 6, O: 16, H: 14, W: 14, k: 5 }, // LeNet conv2
  { N: 2, C: 3, O: 7, H: 9, W: 11, k: [3, 2], p: [1, 0] }, // odd O, 18 taps per output
  { N: 1, C: 2, O: 3, H: 5, W: 5, k: 1, p: 1 }, // 1×1 padded: K = 2
  { N: 2, C: 4, O: 6, H: 10, W: 9, k: 3, p: 2, d: 2, g: 2 }, // groups and dilation
  { N: 1, C: 2, O: 5, H: 33, W: 35, k: 3, p: 1 }, // many 16-column steps
  { N: 2, C: 3, O: 16, H: 7, W: 9, k: 3, p: 1 }, // channel lanes, padded: P = 63, OW odd, K = 27
  { N: 1, C: 4, O: 32, H: 6, W: 7, k: [2, 3], p: [1, 1], d: [2, 1], g: 2 }, // channel lanes: groups, dilation
  { N: 2, C: 2, O: 32, H: 5, W: 5, k: 5 }, // channel lanes in place: one pixel, two 16-channel blocks
  { N: 2, C: 6, O: 96, H: 5, W: 6, k: 3, p: 1, g: 2 }, // channel lanes: 3 panels of 16 channels a group
  { N: 2, C: 3, O: 24, H: 6, W: 6, k: 3 }, // 24 channels: not a multiple of 16, flat kernels
  { N: 1, C: 4, O: 32, H: 6, W: 6, k: 3, p: 1, g: 4 }, // 8 channels per group: flat kernels
  { N: 1, C: 2, O: 3, H: 3, W: 4, k: 3, p: 2 }, // borders wider than the image: skipped rows
  { N: 1, C: 2, O: 5, H: 4, W: 7, k: 3, p: [3, 1], d: 2 }, // dilated rows skipped
  { N: 2, C: 5, O: 32, H: 9, W: 8, k: 3, p: [0, 2], d: [2, 1] }, // channel-lane dx: 2 blocks, odd C and H
  { N: 1, C: 1, O: 16, H: 3, W: 5, k: [2, 4], p: [1, 2] }, // channel-lane dx: one channel, taps clipped both sides
  { N: 2, C: 2, O: 7, H: 6, W: 8, k: 3, p: 1 }, // dense dW: OW = 8, 18 taps (tail of 2), odd O
  { N: 1, C: 3, O: 5, H: 6, W: 4, k: [1, 3], p: [0, 1] }, // dense dW: OW = 4, 9 taps (tail of 1)
  { N: 1, C: 1, O: 9, H: 5, W: 7, k: [3, 4], p: [1, 0] }, // dense dW: OW = 4, 12 taps (no tail), 9 rows
];

for (const c of cases) {
  test(`flat Conv2d ${JSON.stringify(c)}: forward, dx, dW against float64`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const layer = new sn.Conv2d(c.C, c.O, c.k, { padding: c.p ?? 0, dilation: c.d ?? 1, groups: c.g ?? 1 });
    const w = randn(layer.weight.size, rand).map(Math.fround), b = randn(c.O, rand).map(Math.fround);
    layer.weight.data.view().set(w); layer.bias.data.view().set(b);
    const x = randn(c.N * c.C * c.H * c.W, rand).map(Math.fround);
    const y = layer.forward(sn.tensor(Float32Array.from(x), [c.N, c.C, c.H, c.W]));
    const dy = randn(y.size, rand).map(Math.fround);
    const ref = reference(c, x, w, b, dy);
    assert.equal([...y.shape], [c.N, c.O, ref.OH, ref.OW]);
    const [KH, KW] = pair(c.k), Cg = c.C / (c.g ?? 1), Og = c.O / (c.g ?? 1);
    const tol = (terms, what) => ({ rtol: 1e-4, atol: 2e-5 * Math.sqrt(terms) + 1e-5, what: `seed ${seed}: ${what}` });
    assertClose(y.toArray(), ref.y, tol(Cg * KH * KW, 'forward'));
    const dx = layer.backward(sn.tensor(Float32Array.from(dy), y.shape));
    assertClose(dx.toArray(), ref.dx, tol(Og * KH * KW, 'dx'));
    assertClose(layer.weight.grad.toArray(), ref.dw, tol(c.N * ref.OH * ref.OW, 'dW'));
    layer.dispose();
  });
}

test('channel-lane Conv2d backward accumulates dW over calls and skips dx', () => {
  const seed = freshSeed(), rand = rng(seed);
  const c = { N: 3, C: 6, O: 16, H: 14, W: 14, k: 5 };
  const layer = new sn.Conv2d(c.C, c.O, c.k);
  const w = randn(layer.weight.size, rand).map(Math.fround), b = randn(c.O, rand).map(Math.fround);
  layer.weight.data.view().set(w); layer.bias.data.view().set(b);
  const x = randn(c.N * c.C * c.H * c.W, rand).map(Math.fround);
  const y = layer.forward(sn.tensor(Float32Array.from(x), [c.N, c.C, c.H, c.W]));
  const dy = randn(y.size, rand).map(Math.fround);
  const g = toWasm(dy);
  assert.is(layer.backwardDevice(new sn.Tensor(y.shape, g.block), false), null);
  assert.is(layer.backwardDevice(new sn.Tensor(y.shape, g.block), false), null);
  const ref = reference(c, x, w, b, dy);
  assertClose(layer.weight.grad.toArray(), ref.dw.map((v) => 2 * v), { rtol: 1e-4, atol: 4e-5 * Math.sqrt(c.N * 100) + 1e-5, what: `seed ${seed}: dW` });
  freeAll(g);
  layer.dispose();
});

for (const c of [cases[1], cases[6], cases[13], cases[14]]) {
  test(`channel-lane Conv2d dx kernel writes every float: ${JSON.stringify(c)}`, () => {
    // The raw kernel on a NaN-filled dx: no zero fill precedes it, so every value must be stored.
    const seed = freshSeed(), rand = rng(seed);
    const [KH, KW] = pair(c.k), [PH, PW] = pair(c.p ?? 0), [DH, DW] = pair(c.d ?? 1), G = c.g ?? 1;
    const OH = c.H + 2 * PH - DH * (KH - 1), OW = c.W + 2 * PW - DW * (KW - 1);
    const w = randn(c.O * (c.C / G) * KH * KW, rand).map(Math.fround), b = new Float64Array(c.O);
    const x = randn(c.N * c.C * c.H * c.W, rand).map(Math.fround), dy = randn(c.N * c.O * OH * OW, rand).map(Math.fround);
    const ref = reference(c, x, w, b, dy);
    const args = [c.N, c.C, c.H, c.W, c.O, KH, KW, 1, 1, PH, PW, DH, DW, G, OH, OW];
    const k = rt().kernels;
    const xb = toWasm(x), wb = toWasm(w), dyb = toWasm(dy), dw = wasmOut(w.length, 0), dx = wasmOut(x.length);
    const cols = wasmOut(k.conv2dColsFloats(...args)), gs = wasmOut(k.gemmScratchFloats());
    k.conv2dBackward(xb.ptr, wb.ptr, dyb.ptr, dw.ptr, 0, dx.ptr, ...args, cols.ptr, gs.ptr);
    assertClose(dx.view(), ref.dx, { rtol: 1e-4, atol: 2e-5 * Math.sqrt(c.O * KH * KW) + 1e-5, what: `seed ${seed}: dx` });
    assertClose(dw.view(), ref.dw, { rtol: 1e-4, atol: 2e-5 * Math.sqrt(c.N * OH * OW) + 1e-5, what: `seed ${seed}: dW` });
    freeAll(xb, wb, dyb, dw, dx, cols, gs);
  });
}

for (const c of [cases[0], cases[9], cases[15], cases[17], cases[2]]) {
  test(`flat Conv2d dW without dx (dy read in place when OW % 4 = 0): ${JSON.stringify(c)}`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const layer = new sn.Conv2d(c.C, c.O, c.k, { padding: c.p ?? 0, dilation: c.d ?? 1, groups: c.g ?? 1 });
    const w = randn(layer.weight.size, rand).map(Math.fround), b = randn(c.O, rand).map(Math.fround);
    layer.weight.data.view().set(w); layer.bias.data.view().set(b);
    const x = randn(c.N * c.C * c.H * c.W, rand).map(Math.fround);
    const y = layer.forward(sn.tensor(Float32Array.from(x), [c.N, c.C, c.H, c.W]));
    const dy = randn(y.size, rand).map(Math.fround);
    const g = toWasm(dy);
    assert.is(layer.backwardDevice(new sn.Tensor(y.shape, g.block), false), null);
    const ref = reference(c, x, w, b, dy);
    assertClose(layer.weight.grad.toArray(), ref.dw, { rtol: 1e-4, atol: 2e-5 * Math.sqrt(c.N * ref.OH * ref.OW) + 1e-5, what: `seed ${seed}: dW` });
    freeAll(g);
    layer.dispose();
  });
}

for (const [H, W] of [[28, 28], [10, 10], [6, 13], [5, 18], [2, 2], [11, 9], [7, 3]]) {
  test(`maxPool2d 2×2 stride 2 on ${H}×${W}: values, argmax (ties keep the first), dx`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const planes = 3, OH = Math.floor(H / 2), OW = Math.floor(W / 2);
    // Values on a coarse grid so windows hold ties.
    const x = randn(planes * H * W, rand).map((v) => Math.round(v * 2) / 2);
    const xb = toWasm(x), y = wasmOut(planes * OH * OW), arg = wasmOut(planes * OH * OW);
    rt().kernels.maxPool2dForward(xb.ptr, y.ptr, arg.ptr, planes, H, W, OH, OW, 2, 2, 2, 2, 0, 0, 1, 1);
    const gotArg = i32(arg.ptr, planes * OH * OW);
    for (let p = 0; p < planes; p++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      let best = -Infinity, at = -1;
      for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
        const v = x[p * H * W + (2 * oh + i) * W + 2 * ow + j];
        if (v > best) { best = v; at = (2 * oh + i) * W + 2 * ow + j; }
      }
      const o = (p * OH + oh) * OW + ow;
      assert.is(y.view()[o], best, `seed ${seed}: value at ${o}`);
      assert.is(gotArg[o], at, `seed ${seed}: argmax at ${o}`);
    }
    // Backward: each input gets dy where it is its window's argmax, 0 elsewhere (odd last
    // rows and columns included: dx starts as NaN so every float must be written).
    const dy = randn(planes * OH * OW, rand).map(Math.fround), dyb = toWasm(dy), dx = wasmOut(planes * H * W);
    dx.view().fill(NaN);
    rt().kernels.maxPool2x2Backward(dyb.ptr, arg.ptr, dx.ptr, planes, H, W, OH, OW);
    const want = new Float64Array(planes * H * W);
    for (let p = 0; p < planes; p++) for (let o = 0; o < OH * OW; o++) want[p * H * W + gotArg[p * OH * OW + o]] += dy[p * OH * OW + o];
    assert.equal([...dx.view()], [...want], `seed ${seed}: dx`);
    freeAll(xb, y, arg, dyb, dx);
  });
}

test.run();
