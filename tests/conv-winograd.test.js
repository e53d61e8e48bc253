// Winograd F(2×2,3×3) (assembly/conv-winograd.ts): forward and input gradient of 3×3, stride-1,
// ungrouped convolutions against the float64 reference on awkward shapes (batch 1 and 3; 1, 3, 5,
// 17, 32 and 33 channels each way; planes of 1, 2, 3, 5, 7, 13 and 32 rows and columns; padding 0,
// 1, 2 and asymmetric — more or fewer zeros after than before; with and without bias), on both
// builds. The raw kernels run Winograd on any such shape; conv2dAlgorithm's table decides which
// shapes Conv2d sends there, so the shapes it picks are checked through the layer too, with finite
// differences, and the table's rows of the zoo's networks are checked to take the path.
//
// Error bound, on the float32 result a against the float64 reference b of the same float32 inputs:
// per element |a − b| ≤ 3e-6 · S (about 50 units of f32 rounding), S the sum over the element's 2×2
// output tile of |bias| + Σ|w||x| (the transforms mix every input of the tile's 4×4 patch into each
// of its outputs, so an element rounds against its tile's terms, not only its own), and
// ‖a − b‖₂ / ‖b‖₂ ≤ 3e-6 per case. Measured over these shapes (both builds, several seeds): max
// |a − b| / S 2e-7..1e-6, ‖a − b‖/‖b‖ up to 5e-7. The direct path on the same data: Winograd's
// ‖a − b‖/‖b‖ summed over the shapes Conv2d runs directly is ~1.2× the direct path's (forward and
// dx alike); the test asserts ≤ 2×. F(2×2,3×3) adds only additions and halvings to the sum. The
// Winograd paths PyTorch can take on CPU use larger tiles — NNPACK's F(6×6,3×3), oneDNN's
// F(4×4,3×3) (alg = convolution_winograd) — whose float32 errors grow by one to two decimal digits
// over direct (Barabasz, Anderson, Soodhalter & Gregg, "Error analysis and improving the accuracy of
// Winograd convolution for deep neural networks", ACM TOMS 2020; not measured here: no PyTorch on
// this machine); F(2×2,3×3)'s are the smallest of the family, so this bound is tighter than what
// those paths could meet.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';
import { rng, freshSeed, toWasm, wasmOut, freeAll, assertClose, randf, assertLayerFiniteDifferences } from './helpers.js';
import { conv2d, conv2dGrad, convGeometry } from './reference.js';
import { convShapesOf } from '../bench/zoo.js';

await sn.ready();

const BOUND = 3e-6;
const abs = (a) => a.map(Math.abs);

/**
 * The magnitude an output of F(2×2,3×3) rounds against: the sum over its 2×2 output tile (tiles
 * start at row and column 0 of each plane) of |bias| + Σ|w||x| — the transforms mix every input of
 * the tile's 4×4 patch into each of its outputs. `terms` holds |bias| + Σ|w||x| per output.
 */
function tileScale(terms, OH, OW) {
  const out = new Float64Array(terms.length), planes = terms.length / (OH * OW);
  for (let p = 0; p < planes; p++) {
    for (let ty = 0; ty < OH; ty += 2) for (let tx = 0; tx < OW; tx += 2) {
      let s = 0;
      for (let i = ty; i < Math.min(ty + 2, OH); i++) for (let j = tx; j < Math.min(tx + 2, OW); j++) s += terms[(p * OH + i) * OW + j];
      for (let i = ty; i < Math.min(ty + 2, OH); i++) for (let j = tx; j < Math.min(tx + 2, OW); j++) out[(p * OH + i) * OW + j] = s;
    }
  }
  return out;
}

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

function checkErrors(e, what) {
  assert.ok(e.maxScaled <= BOUND, `${what}: max |a − b| / (|b| + Σ|w||x|) = ${e.maxScaled} > ${BOUND}`);
  assert.ok(e.rel <= BOUND, `${what}: ‖a − b‖ / ‖b‖ = ${e.rel} > ${BOUND}`);
}

/** The raw Winograd kernels on case c (padding before pad, after padAfter): errors of forward and dx. */
function runKernels(c, seed) {
  const rand = rng(seed), what = (s) => `seed ${seed}: ${JSON.stringify(c)}: ${s}`;
  const { N, C, O, H, W } = c, pad = c.pad, padAfter = c.padAfter ?? c.pad;
  const shape = [N, C, H, W], opts = { pad, padAfter };
  const g = convGeometry(shape, O, 3, opts);
  const x = randf(N * C * H * W, rand), w = randf(O * C * 9, rand), b = c.bias ? randf(O, rand) : null;
  const dy = randf(N * O * g.OH * g.OW, rand);
  const ref = conv2d(x, shape, w, b, O, 3, opts).y;
  const scale = tileScale(conv2d(abs(x), shape, abs(w), b && abs(b), O, 3, opts).y, g.OH, g.OW);
  const refDx = conv2dGrad(x, shape, w, dy, O, 3, opts).dx;
  const scaleDx = tileScale(conv2dGrad(abs(x), shape, abs(w), abs(dy), O, 3, opts).dx, H, W);
  const k = rt().kernels;
  const floats = k.winogradScratchFloats(N, C, H, W, O, g.OH, g.OW);
  const xs = toWasm(x), ws = toWasm(w), bs = b ? toWasm(b) : null, dys = toWasm(dy);
  const ys = wasmOut(ref.length), dxs = wasmOut(x.length), scratch = wasmOut(floats);
  try {
    k.winogradForward(xs.ptr, ws.ptr, bs ? bs.ptr : 0, ys.ptr, N, C, H, W, O, pad, pad, g.OH, g.OW, scratch.ptr);
    scratch.view().fill(NaN); // nothing may depend on what the scratch held
    k.winogradInputGrad(ws.ptr, dys.ptr, dxs.ptr, N, C, H, W, O, pad, pad, g.OH, g.OW, scratch.ptr);
    const y = Float64Array.from(ys.view()), dx = Float64Array.from(dxs.view());
    const fwd = errors(y, ref, scale), back = errors(dx, refDx, scaleDx);
    checkErrors(fwd, what('forward'));
    checkErrors(back, what('dx'));
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

test('Winograd F(2×2,3×3): its error stays within 2× the direct path\'s on the same data (summed over shapes)', () => {
  let wino = 0, direct = 0, winoDx = 0, directDx = 0, n = 0;
  for (const c of cases) {
    if (c.padAfter !== undefined) continue; // Conv2d pads symmetrically
    const layer = new sn.Conv2d(c.C, c.O, 3, { padding: c.pad, bias: c.bias });
    const shape = [c.N, c.C, c.H, c.W];
    if (layer.algorithm(shape) === 'winograd-f2x2') { layer.dispose(); continue; }
    const r = runKernels(c, freshSeed());
    layer.weight.data.view().set(r.w);
    if (r.b) layer.bias.data.view().set(r.b);
    const y = layer.forward(sn.tensor(Float32Array.from(r.x), shape));
    const dx = layer.backward(sn.tensor(Float32Array.from(r.dy), y.shape)).toArray();
    const opts = { pad: c.pad };
    const ref = conv2d(r.x, shape, r.w, r.b, c.O, 3, opts).y, refDx = conv2dGrad(r.x, shape, r.w, r.dy, c.O, 3, opts).dx;
    const scale = new Float64Array(ref.length).fill(1);
    wino += r.fwd.rel; winoDx += r.back.rel;
    direct += errors(y.toArray(), ref, scale).rel; directDx += errors(dx, refDx, new Float64Array(refDx.length).fill(1)).rel;
    layer.dispose();
    n++;
  }
  assert.ok(n >= 20, `${n} shapes compared`);
  assert.ok(wino <= 2 * direct, `forward: Winograd Σ‖a − b‖/‖b‖ = ${wino}, direct ${direct}`);
  assert.ok(winoDx <= 2 * directDx, `dx: Winograd Σ‖a − b‖/‖b‖ = ${winoDx}, direct ${directDx}`);
});

test('Winograd kernels overwrite their outputs whatever they held, and read nothing past the input planes', () => {
  // NaN in y, dx and the scratch before the call: checked by runKernels (wasmOut fills with NaN).
  // An input followed by NaN: a read past its last plane would poison the edge tiles.
  const seed = freshSeed(), rand = rng(seed);
  const N = 1, C = 3, O = 2, H = 5, W = 5, OH = 5, OW = 5;
  const x = randf(N * C * H * W, rand), w = randf(O * C * 9, rand);
  const xs = toWasm([...x, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN]), ws = toWasm(w), ys = wasmOut(N * O * OH * OW);
  const scratch = wasmOut(rt().kernels.winogradScratchFloats(N, C, H, W, O, OH, OW));
  rt().kernels.winogradForward(xs.ptr, ws.ptr, 0, ys.ptr, N, C, H, W, O, 1, 1, OH, OW, scratch.ptr);
  const ref = conv2d(x, [N, C, H, W], w, null, O, 3, { pad: 1 }).y;
  assertClose(ys.view(), ref, { rtol: 1e-5, atol: 1e-5, what: `seed ${seed}: forward next to NaN` });
  freeAll(xs, ws, ys, scratch);
});

// ---- through the layer: the table's shapes ----

/** A Conv2d with random float32 weights and bias. */
function makeLayer(C, O, opts, rand) {
  const layer = new sn.Conv2d(C, O, 3, opts);
  const w = randf(layer.weight.size, rand);
  layer.weight.data.view().set(w);
  const b = layer.bias ? randf(O, rand) : null;
  if (b) layer.bias.data.view().set(b);
  return { layer, w, b };
}

for (const c of [
  { N: 2, C: 64, O: 64, H: 8, W: 8, opts: { padding: 1 } },
  { N: 1, C: 65, O: 64, H: 7, W: 13, opts: { padding: 'same' } },
  { N: 3, C: 64, O: 96, H: 9, W: 6, opts: { padding: 0, bias: false } },
  { N: 1, C: 64, O: 72, H: 5, W: 5, opts: { padding: 2 } },
  { N: 2, C: 32, O: 33, H: 13, W: 11, opts: { padding: 1 } },
]) {
  test(`Conv2d ${JSON.stringify(c)} takes Winograd; forward, dx, dW and db match the float64 reference`, () => {
    const seed = freshSeed(), rand = rng(seed), what = (s) => `seed ${seed}: ${s}`;
    const { layer, w, b } = makeLayer(c.C, c.O, c.opts, rand);
    const shape = [c.N, c.C, c.H, c.W], pad = c.opts.padding === 'same' ? 1 : c.opts.padding, opts = { pad };
    assert.is(layer.algorithm(shape), 'winograd-f2x2');
    const x = randf(c.N * c.C * c.H * c.W, rand);
    const y = layer.forward(sn.tensor(Float32Array.from(x), shape));
    const ref = conv2d(x, shape, w, b, c.O, 3, opts);
    assert.equal([...y.shape], ref.shape);
    const [OH, OW] = ref.shape.slice(2);
    checkErrors(errors(y.toArray(), ref.y, tileScale(conv2d(abs(x), shape, abs(w), b && abs(b), c.O, 3, opts).y, OH, OW)), what('forward'));
    const dy = randf(y.size, rand);
    const dx = layer.backward(sn.tensor(Float32Array.from(dy), y.shape)).toArray();
    const g = conv2dGrad(x, shape, w, dy, c.O, 3, opts), s = conv2dGrad(abs(x), shape, abs(w), abs(dy), c.O, 3, opts);
    checkErrors(errors(dx, g.dx, tileScale(s.dx, c.H, c.W)), what('dx'));
    checkErrors(errors(layer.weight.grad.toArray(), g.dw, s.dw), what('dW'));
    if (b) assertClose(layer.bias.grad.toArray(), g.db, { rtol: 1e-5, atol: 1e-4, what: what('db') });
    layer.dispose();
  });
}

test('Conv2d on a Winograd shape: gradients match central differences of the float32 forward', () => {
  const seed = freshSeed(), rand = rng(seed);
  const N = 1, C = 64, O = 64, H = 4, W = 5;
  const { layer } = makeLayer(C, O, { padding: 1 }, rand);
  const shape = [N, C, H, W];
  assert.is(layer.algorithm(shape), 'winograd-f2x2');
  assertLayerFiniteDifferences(sn, layer, shape, rand, seed, { atol: 1e-2, weightCount: 9 * C * 2 });
  layer.dispose();
});

test('the table: the zoo\'s 3×3 stride-1 convolutions with ≥ 32 channels each way take Winograd, narrower ones the direct path', () => {
  let wino = 0;
  for (const key of ['vgg-cifar', 'seed003-cifar', 'resnet20']) {
    for (const s of convShapesOf(key)) {
      const c = s.config;
      const layer = new sn.Conv2d(s.C, c.outChannels, c.kernelSize, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, bias: c.bias });
      const algo = layer.algorithm([16, s.C, s.H, s.W]);
      const eligible = c.kernelSize.join() === '3,3' && c.stride.join() === '1,1' && c.groups === 1 && c.dilation.join() === '1,1';
      const wide = s.C >= 32 && c.outChannels >= 32 && s.H >= 4 && s.W >= 4;
      assert.is(algo === 'winograd-f2x2', eligible && wide, `${key} ${s.path}: ${s.C}→${c.outChannels} @${s.H}×${s.W}: ${algo}`);
      if (algo === 'winograd-f2x2') wino++;
      layer.dispose();
    }
  }
  assert.ok(wino >= 5, `${wino} zoo convolutions take Winograd`);
});

test.run();
