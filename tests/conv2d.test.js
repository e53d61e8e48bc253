import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt, Block, f32 } from 'simdnet/internal';
import { rng, freshSeed, randn, assertClose, numericGrad } from './helpers.js';

await sn.ready();

// ---- float64 reference: direct convolution, PyTorch's definitions ----

const asPair = (v) => (typeof v === 'number' ? [v, v] : v);

/** Sizes of one case, derived independently of the layer (PyTorch's output-size formula). */
function geometry({ N, C, O, H, W, k, opts = {} }) {
  const [KH, KW] = asPair(k), [SH, SW] = asPair(opts.stride ?? 1), [DH, DW] = asPair(opts.dilation ?? 1);
  const G = opts.groups ?? 1, p = opts.padding ?? 0;
  let before, total;
  if (p === 'same') { total = [DH * (KH - 1), DW * (KW - 1)]; before = total.map((t) => Math.floor(t / 2)); }
  else if (p === 'valid') { total = [0, 0]; before = [0, 0]; }
  else { before = asPair(p); total = before.map((q) => 2 * q); }
  const OH = Math.floor((H + total[0] - DH * (KH - 1) - 1) / SH) + 1;
  const OW = Math.floor((W + total[1] - DW * (KW - 1) - 1) / SW) + 1;
  return { N, C, O, H, W, KH, KW, SH, SW, DH, DW, G, PH: before[0], PW: before[1], OH, OW, Cg: C / G, Og: O / G };
}

/** Calls visit(xIndex, wIndex, yIndex) for every product x·w that contributes to y. */
function forEachTap(g, visit) {
  const { N, C, O, H, W, KH, KW, SH, SW, DH, DW, PH, PW, OH, OW, Cg, Og } = g;
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) {
    const c0 = Math.floor(o / Og) * Cg;
    for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      const yi = ((n * O + o) * OH + oh) * OW + ow;
      for (let ci = 0; ci < Cg; ci++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
        const ih = oh * SH - PH + kh * DH, iw = ow * SW - PW + kw * DW;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
        visit(((n * C + c0 + ci) * H + ih) * W + iw, ((o * Cg + ci) * KH + kh) * KW + kw, yi);
      }
    }
  }
}

function refForward(g, x, w, b) {
  const y = new Float64Array(g.N * g.O * g.OH * g.OW);
  if (b) for (let i = 0; i < y.length; i++) y[i] = b[Math.floor(i / (g.OH * g.OW)) % g.O];
  forEachTap(g, (xi, wi, yi) => { y[yi] += x[xi] * w[wi]; });
  return y;
}

function refBackward(g, x, w, dy) {
  const dx = new Float64Array(x.length), dw = new Float64Array(w.length), db = new Float64Array(g.O);
  forEachTap(g, (xi, wi, yi) => { dx[xi] += w[wi] * dy[yi]; dw[wi] += x[xi] * dy[yi]; });
  for (let i = 0; i < dy.length; i++) db[Math.floor(i / (g.OH * g.OW)) % g.O] += dy[i];
  return { dx, dw, db };
}

// ---- helpers ----

/** Random values already rounded to float32, so the reference sees exactly what the layer sees. */
const randf = (n, rand) => randn(n, rand).map(Math.fround);

/** A sum of `terms` products of values in [-1, 1]: f32 rounding (or FMA) grows about like √terms. */
const tol = (terms, what) => ({ rtol: 1e-4, atol: 2e-5 * Math.sqrt(terms) + 1e-5, what });

function makeLayer(c, rand) {
  const layer = new sn.Conv2d(c.C, c.O, c.k, c.opts);
  const w = randf(layer.weight.size, rand);
  layer.weight.data.view().set(w);
  const b = layer.bias ? randf(layer.bias.size, rand) : null;
  if (b) layer.bias.data.view().set(b);
  return { layer, w, b };
}

const t = (values, shape) => sn.tensor(Float32Array.from(values), shape);

// ---- forward and every gradient against the reference ----

const cases = [
  { N: 1, C: 1, O: 1, H: 7, W: 9, k: 3 },
  { N: 3, C: 3, O: 4, H: 7, W: 9, k: 3, opts: { padding: 1 } },
  { N: 1, C: 5, O: 7, H: 7, W: 9, k: 5, opts: { padding: 2 } },
  { N: 3, C: 6, O: 4, H: 8, W: 7, k: 1 }, // pointwise: no im2col
  { N: 1, C: 6, O: 4, H: 7, W: 9, k: 1, opts: { groups: 2 } }, // grouped pointwise
  { N: 1, C: 3, O: 7, H: 9, W: 7, k: 1, opts: { stride: 2 } }, // 1×1 but strided: im2col
  { N: 1, C: 3, O: 4, H: 5, W: 6, k: 1, opts: { padding: 1 } }, // 1×1 but padded: im2col
  { N: 3, C: 5, O: 4, H: 7, W: 9, k: [2, 3], opts: { stride: [1, 2] } },
  { N: 1, C: 3, O: 4, H: 9, W: 9, k: 3, opts: { stride: 2, padding: 1 } },
  { N: 3, C: 5, O: 7, H: 7, W: 9, k: 3, opts: { padding: 'same' } },
  { N: 1, C: 3, O: 4, H: 8, W: 9, k: [2, 3], opts: { padding: 'same' } }, // odd total padding on H
  { N: 3, C: 3, O: 4, H: 7, W: 8, k: [2, 3], opts: { padding: 'same', dilation: [1, 2] } },
  { N: 1, C: 3, O: 4, H: 7, W: 9, k: 3, opts: { padding: 'valid' } },
  { N: 3, C: 5, O: 7, H: 9, W: 9, k: 3, opts: { dilation: 2, padding: 1 } },
  { N: 3, C: 6, O: 4, H: 7, W: 9, k: 3, opts: { groups: 2, padding: 1 } },
  { N: 3, C: 5, O: 5, H: 7, W: 9, k: 3, opts: { groups: 5, padding: 1, stride: 2 } }, // depthwise
  { N: 1, C: 3, O: 6, H: 7, W: 9, k: 3, opts: { groups: 3, padding: 'same', dilation: 2 } }, // depthwise ×2
  { N: 1, C: 3, O: 7, H: 7, W: 9, k: 3, opts: { bias: false } },
  { N: 3, C: 6, O: 4, H: 7, W: 9, k: [3, 2], opts: { groups: 2, bias: false, stride: [2, 1] } },
  { N: 3, C: 5, O: 1, H: 5, W: 5, k: 5 }, // output 1×1
  { N: 1, C: 3, O: 4, H: 3, W: 3, k: 5, opts: { padding: 1 } }, // output 1×1 from padding
  { N: 1, C: 1, O: 4, H: 10, W: 11, k: 2, opts: { stride: 3 } }, // stride > kernel: skipped pixels
  { N: 1, C: 3, O: 4, H: 5, W: 4, k: 2, opts: { padding: 3 } }, // rows entirely in the padding
  { N: 2, C: 16, O: 20, H: 14, W: 13, k: 5, opts: { padding: 2 } }, // K = 400: several GEMM k-blocks
  { N: 1, C: 2, O: 3, H: 47, W: 49, k: 3, opts: { padding: 1 } }, // P = 2303: several GEMM n-blocks
];

for (const c of cases) {
  const name = `Conv2d N=${c.N} C=${c.C} O=${c.O} ${c.H}×${c.W} k=${JSON.stringify(c.k)} ${JSON.stringify(c.opts ?? {})}`;
  test(`${name}: forward, dx, dW, db`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const g = geometry(c);
    const { layer, w, b } = makeLayer(c, rand);
    const x = randf(c.N * c.C * c.H * c.W, rand);
    const y = layer.forward(t(x, [c.N, c.C, c.H, c.W]));
    assert.equal([...y.shape], [c.N, c.O, g.OH, g.OW], `seed ${seed}: output shape`);
    const K = g.Cg * g.KH * g.KW;
    assertClose(y.toArray(), refForward(g, x, w, b), tol(K, `seed ${seed}: forward`));

    const dy = randf(y.size, rand);
    const dx = layer.backward(t(dy, y.shape));
    const ref = refBackward(g, x, w, dy);
    assert.equal([...dx.shape], [c.N, c.C, c.H, c.W], `seed ${seed}: dx shape`);
    assertClose(dx.toArray(), ref.dx, tol(g.Og * g.KH * g.KW, `seed ${seed}: dx`));
    assertClose(layer.weight.grad.toArray(), ref.dw, tol(c.N * g.OH * g.OW, `seed ${seed}: dW`));
    if (layer.bias) assertClose(layer.bias.grad.toArray(), ref.db, tol(c.N * g.OH * g.OW, `seed ${seed}: db`));
  });
}

// ---- through the public API: finite differences, accumulation, no input gradient ----

const awkward = { N: 2, C: 4, O: 6, H: 6, W: 7, k: [3, 2], opts: { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 } };

test('Conv2d gradients match central differences of the float32 forward', () => {
  const seed = freshSeed(), rand = rng(seed);
  const c = awkward, shape = [c.N, c.C, c.H, c.W];
  const { layer, w, b } = makeLayer(c, rand);
  const x = randf(c.N * c.C * c.H * c.W, rand);
  const y0 = layer.forward(t(x, shape));
  const weights = randn(y0.size, rand);
  const outShape = y0.shape;
  // f = Σ weights ⊙ y, evaluated in float64 from the layer's float32 output.
  const f = () => { const y = layer.forward(t(x, shape)).toArray(); let s = 0; for (let i = 0; i < y.length; i++) s += weights[i] * y[i]; return s; };

  layer.forward(t(x, shape));
  const dx = layer.backward(t(weights, outShape)).toArray();
  const dw = layer.weight.grad.toArray(), db = layer.bias.grad.toArray();

  const eps = 1e-2, loose = (what) => ({ rtol: 1e-2, atol: 3e-3, what: `seed ${seed}: ${what}` });
  assertClose(dx, numericGrad(f, x, eps), loose('dx vs finite differences'));
  const wd = Float64Array.from(w), bd = Float64Array.from(b);
  const fw = () => { layer.weight.data.view().set(wd); return f(); };
  assertClose(dw, numericGrad(fw, wd, eps), loose('dW vs finite differences'));
  layer.weight.data.view().set(wd);
  const fb = () => { layer.bias.data.view().set(bd); return f(); };
  assertClose(db, numericGrad(fb, bd, eps), loose('db vs finite differences'));
});

test('Conv2d parameter gradients accumulate over two backward calls; zeroGrad clears them', () => {
  const seed = freshSeed(), rand = rng(seed);
  const c = awkward, g = geometry(c);
  const { layer, w } = makeLayer(c, rand);
  const x = randf(c.N * c.C * c.H * c.W, rand);
  const y = layer.forward(t(x, [c.N, c.C, c.H, c.W]));
  const dy1 = randf(y.size, rand), dy2 = randf(y.size, rand);
  layer.backward(t(dy1, y.shape));
  const dx2 = layer.backward(t(dy2, y.shape)).toArray();
  const r1 = refBackward(g, x, w, dy1), r2 = refBackward(g, x, w, dy2);
  const terms = c.N * g.OH * g.OW;
  assertClose(dx2, r2.dx, tol(g.Og * g.KH * g.KW, `seed ${seed}: dx of the second call alone`));
  assertClose(layer.weight.grad.toArray(), r1.dw.map((v, i) => v + r2.dw[i]), tol(2 * terms, `seed ${seed}: dW summed`));
  assertClose(layer.bias.grad.toArray(), r1.db.map((v, i) => v + r2.db[i]), tol(2 * terms, `seed ${seed}: db summed`));
  layer.zeroGrad();
  assert.ok(layer.weight.grad.toArray().every((v) => v === 0) && layer.bias.grad.toArray().every((v) => v === 0));
});

for (const c of [awkward, { N: 2, C: 6, O: 4, H: 5, W: 7, k: 1 }]) {
  test(`Conv2d backward without the input gradient still gives dW and db (k=${JSON.stringify(c.k)})`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const g = geometry(c);
    const { layer, w } = makeLayer(c, rand);
    const x = randf(c.N * c.C * c.H * c.W, rand);
    const y = layer.forward(t(x, [c.N, c.C, c.H, c.W]));
    const dy = randf(y.size, rand);
    const block = new Block(dy.length * 4);
    f32(block.ptr, dy.length).set(dy);
    assert.is(layer.backwardDevice(new sn.Tensor(y.shape, block), false), null);
    const ref = refBackward(g, x, w, dy);
    assertClose(layer.weight.grad.toArray(), ref.dw, tol(c.N * g.OH * g.OW, `seed ${seed}: dW`));
    assertClose(layer.bias.grad.toArray(), ref.db, tol(c.N * g.OH * g.OW, `seed ${seed}: db`));
    block.free();
  });
}

test('Conv2d allocates nothing more once the shapes are stable', () => {
  const rand = rng(freshSeed());
  const c = cases[2], { layer } = makeLayer(c, rand);
  const x = t(randf(c.N * c.C * c.H * c.W, rand), [c.N, c.C, c.H, c.W]);
  const step = () => { const y = layer.forward(x); layer.backward(t(randf(y.size, rand), y.shape)); };
  step();
  const used = rt().heap.bytesInUse;
  for (let i = 0; i < 3; i++) step();
  assert.is(rt().heap.bytesInUse, used);
});

// ---- construction: names, shapes, init, repr ----

test('Conv2d parameters have PyTorch names, shapes and default init bounds', () => {
  const layer = new sn.Conv2d(6, 4, [2, 3], { groups: 2 });
  const dict = layer.stateDict();
  assert.equal(Object.keys(dict), ['weight', 'bias']);
  assert.equal([...dict.weight.shape], [4, 3, 2, 3]);
  assert.equal([...dict.bias.shape], [4]);
  const bound = 1 / Math.sqrt(3 * 2 * 3); // 1/√fan_in, fan_in = in/groups · kH · kW
  for (const v of [...dict.weight.toArray(), ...dict.bias.toArray()]) assert.ok(Math.abs(v) <= bound, `${v} outside ±${bound}`);
  assert.ok(new Set(dict.weight.toArray()).size > 60, 'weights are not random');
  assert.equal(Object.keys(new sn.Conv2d(1, 2, 3, { bias: false }).stateDict()), ['weight']);
});

test('Conv2d toString matches PyTorch repr', () => {
  assert.is(String(new sn.Conv2d(1, 6, 5)), 'Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))');
  assert.is(String(new sn.Conv2d(3, 8, 3, { stride: 2, padding: 1, bias: false })),
    'Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)');
  assert.is(String(new sn.Conv2d(6, 4, [2, 3], { padding: 'same', dilation: 2, groups: 2 })),
    'Conv2d(6, 4, kernel_size=(2, 3), stride=(1, 1), padding=same, dilation=(2, 2), groups=2)');
  assert.is(String(new sn.Conv2d(2, 2, [1, 3], { stride: [1, 2], padding: [0, 1] })),
    'Conv2d(2, 2, kernel_size=(1, 3), stride=(1, 2), padding=(0, 1))');
});

// ---- errors ----

const throwsWith = (fn, re) => assert.throws(fn, (e) => e instanceof Error && re.test(e.message), `expected an Error matching ${re}`);

test('Conv2d rejects bad constructor arguments', () => {
  throwsWith(() => new sn.Conv2d(5, 4, 3, { groups: 2 }), /Conv2d: in_channels \(5\) must be divisible by groups \(2\)/);
  throwsWith(() => new sn.Conv2d(4, 5, 3, { groups: 2 }), /Conv2d: out_channels \(5\) must be divisible by groups \(2\)/);
  throwsWith(() => new sn.Conv2d(0, 4, 3), /Conv2d: in_channels/);
  throwsWith(() => new sn.Conv2d(3, 4, 0), /Conv2d: kernel_size/);
  throwsWith(() => new sn.Conv2d(3, 4, [3, 3, 3]), /Conv2d: kernel_size/);
  throwsWith(() => new sn.Conv2d(3, 4, 3, { stride: 1.5 }), /Conv2d: stride/);
  throwsWith(() => new sn.Conv2d(3, 4, 3, { padding: -1 }), /Conv2d: padding/);
  throwsWith(() => new sn.Conv2d(3, 4, 3, { padding: 'full' }), /Conv2d: padding/);
  throwsWith(() => new sn.Conv2d(3, 4, 3, { dilation: [1, 0] }), /Conv2d: dilation/);
  throwsWith(() => new sn.Conv2d(3, 4, 3, { groups: 0 }), /Conv2d: groups/);
  throwsWith(() => new sn.Conv2d(3, 4, 3, { padding: 'same', stride: 2 }), /Conv2d: padding='same'.*strided/);
});

test('Conv2d rejects bad input shapes, naming the layer and the shapes, and stays usable', () => {
  const seed = freshSeed(), rand = rng(seed);
  const c = { N: 2, C: 3, O: 4, H: 6, W: 6, k: 3, opts: { padding: 1 } }, g = geometry(c);
  const { layer, w } = makeLayer(c, rand);
  const x = randf(c.N * c.C * c.H * c.W, rand);
  const y = layer.forward(t(x, [2, 3, 6, 6]));
  const dy = randf(y.size, rand);

  const bad = (shape) => () => layer.forward(t(randf(shape.reduce((a, b) => a * b, 1), rand), shape));
  throwsWith(bad([2, 5, 6, 6]), /Conv2d\(3, 4, kernel_size=\(3, 3\).*expected input of shape \[N, 3, H, W\], got \[2, 5, 6, 6\]/);
  throwsWith(bad([3, 6, 6]), /Conv2d\(3, 4.*expected input of shape \[N, 3, H, W\], got \[3, 6, 6\]/);
  throwsWith(() => new sn.Conv2d(1, 1, 5, { padding: 1 }).forward(t(randf(12, rand), [1, 1, 2, 6])),
    /Conv2d\(1, 1, kernel_size=\(5, 5\).*padding=\(1, 1\).*\[1, 1, 2, 6\] is too small/);
  throwsWith(() => new sn.Conv2d(1, 1, 3, { dilation: 3 }).outputShape([1, 1, 6, 9]),
    /dilation=\(3, 3\).*\[1, 1, 6, 9\] is too small.*dilation \(3, 3\)/);
  throwsWith(() => layer.backward(t(dy.slice(1), [dy.length - 1])), /Conv2d\(3, 4.*backward/);

  // The failed calls left the layer as it was: backward still refers to the last good forward.
  layer.backward(t(dy, y.shape));
  assertClose(layer.weight.grad.toArray(), refBackward(g, x, w, dy).dw, tol(c.N * g.OH * g.OW, `seed ${seed}: dW`));
});

test.run();
