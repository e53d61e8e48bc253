// A convolution fused with the ReLU / ReLU6 after it (ts/layers/conv2d.ts's DeferredConv,
// assembly/conv.ts's conv2dForwardAct): the activation applied as the output is stored (Winograd's
// output tiles, the flat path's rows, the per-image GEMMs' tiles) gives the bits of the separate
// layers — outputs, the input gradient, every parameter gradient, in training and eval — on
// awkward shapes of every fusing lowering; the kernel against
// conv2dForward + activationChecked with its non-finite count; the unfused lowerings keep the
// separate pass; errors, a kept output read late, finite differences, profile rows.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rng, freshSeed, randn, randf, toWasm, wasmOut, freeAll, assertClose, numericGrad, rt, bits, bothWays, twoStepBits } from './helpers.js';

await sn.ready();
const k = rt().kernels;

/**
 * Input shapes [N, C, H, W] and convolutions (stride 1 unless said) chosen so that each fused
 * lowering runs on odd sizes: Winograd's cut tiles at the right and bottom edges, the flat path's
 * rows of a width no multiple of 4 and channel-lane kernel's odd pixel count, the GEMMs' edge
 * tiles and k-blocks, groups, a bias or none.
 */
const SHAPES = [
  { x: [2, 33, 7, 9], O: 35, k: 3, padding: 1, bias: true, algorithm: 'winograd-f4x4' },
  { x: [3, 32, 7, 8], O: 32, k: 3, padding: 0, bias: false, algorithm: 'winograd-f2x2' },
  { x: [2, 32, 17, 19], O: 33, k: 3, padding: 1, bias: true, algorithm: 'winograd-f4x4' },
  { x: [1, 34, 18, 33], O: 36, k: 3, padding: 0, bias: true, algorithm: 'winograd-f4x4' },
  { x: [3, 16, 9, 11], O: 20, k: 5, padding: 2, bias: true, algorithm: 'winograd-f2x2-5x5' },
  { x: [3, 9, 13, 12], O: 8, k: 5, padding: 1, bias: false, algorithm: 'winograd-f2x2-5x5' },
  { x: [2, 16, 16, 17], O: 20, k: 5, padding: 2, bias: true, algorithm: 'winograd-f4x4-5x5' },
  { x: [1, 3, 32, 30], O: 16, k: 5, padding: 2, bias: false, algorithm: 'winograd-f4x4-5x5' },
  { x: [2, 16, 9, 7], O: 20, k: 5, padding: 2, bias: true, algorithm: 'flat' },
  { x: [3, 6, 7, 5], O: 10, k: 3, padding: 1, groups: 2, bias: false, algorithm: 'flat' },
  { x: [2, 6, 9, 7], O: 16, k: 5, padding: 0, bias: true, algorithm: 'flat-channel-lanes' },
  { x: [1, 8, 6, 5], O: 64, k: 3, padding: 1, groups: 2, bias: false, algorithm: 'flat-channel-lanes' },
  // The per-image GEMMs: edge tiles of the 4×8 micro-kernel, K = 270 and 300 in two k-blocks (the
  // activation on the last one only), groups.
  { x: [2, 30, 19, 21], O: 7, k: 3, stride: 2, padding: 1, bias: true, algorithm: 'im2col-gemm' },
  { x: [3, 6, 21, 19], O: 10, k: 3, stride: 2, padding: 0, groups: 2, bias: false, algorithm: 'im2col-gemm' },
  { x: [2, 9, 9, 11], O: 13, k: 1, padding: 0, bias: true, algorithm: 'pointwise-gemm' },
  { x: [1, 300, 9, 8], O: 6, k: 1, padding: 0, groups: 3, bias: false, algorithm: 'pointwise-gemm' },
  // The depthwise kernels on planes (the activation swept over each image's output after it): 3×3
  // at stride 2, the tap lists (5×5, two filters per channel).
  { x: [3, 6, 11, 9], O: 6, k: 3, stride: 2, padding: 1, groups: 6, bias: true, algorithm: 'dwconv-3x3' },
  { x: [2, 5, 9, 7], O: 10, k: 5, padding: 2, groups: 5, bias: false, algorithm: 'dwconv' },
  // The batch folded into one GEMM per group (the activation swept after it): pointwise, im2col.
  { x: [5, 9, 3, 5], O: 13, k: 1, padding: 0, bias: true, algorithm: 'pointwise-batched-gemm' },
  { x: [3, 6, 9, 7], O: 10, k: 3, stride: 2, padding: 1, groups: 2, bias: false, algorithm: 'im2col-batched-gemm' },
  // 1×1 stride 2 (the activation swept over each image's output after it): 4-row panels and a
  // rest of W (O = 10, Og = 3), an odd H, groups.
  { x: [2, 13, 17, 32], O: 10, k: 1, stride: 2, padding: 0, bias: true, algorithm: 'strided-pointwise-gemm' },
  { x: [3, 6, 16, 16], O: 9, k: 1, stride: 2, padding: 0, groups: 3, bias: false, algorithm: 'strided-pointwise-gemm' },
];

/** The shape's convolution. */
const convOf = (s) => new sn.Conv2d(s.x[1], s.O, s.k, { stride: s.stride ?? 1, padding: s.padding, bias: s.bias, groups: s.groups ?? 1 });
/** The shape's output height and width. */
const outSize = (s) => [2, 3].map((d) => Math.floor((s.x[d] + 2 * s.padding - s.k) / (s.stride ?? 1)) + 1);

test('conv2dForwardAct gives conv2dForward + activationChecked bit for bit, and its count of non-finite values', () => {
  const rand = rng(freshSeed());
  for (const s of SHAPES) {
    const [N, C, H, W] = s.x;
    const conv = convOf(s);
    assert.is(conv.algorithm(s.x), s.algorithm);
    const [OH, OW] = outSize(s), G = s.groups ?? 1;
    const S = s.stride ?? 1;
    const args = [N, C, H, W, s.O, s.k, s.k, S, S, s.padding, s.padding, 1, 1, G, OH, OW];
    assert.is(k.conv2dFusesActivation(...args), 1);
    const n = N * s.O * OH * OW;
    const xs = randn(N * C * H * W, rand, 2);
    for (const poison of [null, NaN, -Infinity]) {
      if (poison !== null) xs[xs.length >> 1] = poison;
      const x = toWasm(xs), w = toWasm(randn(s.O * (C / G) * s.k * s.k, rand, 0.2)), b = toWasm(randn(s.O, rand));
      const cols = wasmOut(k.conv2dColsFloats(...args)), gs = wasmOut(k.gemmScratchFloats());
      const snap = wasmOut(k.conv2dSnapshotFloats(...args));
      const plain = wasmOut(n), act = wasmOut(n), viaSnap = wasmOut(n);
      const bias = s.bias ? b.ptr : 0;
      k.conv2dForward(x.ptr, w.ptr, bias, plain.ptr, ...args, cols.ptr, gs.ptr);
      k.conv2dSnapshot(w.ptr, bias, snap.ptr, ...args);
      assert.is(k.conv2dForwardAct(x.ptr, snap.ptr, +s.bias, viaSnap.ptr, ...args, cols.ptr, 0, gs.ptr), 0);
      assert.equal(bits(viaSnap.view()), bits(plain.view()), `no activation = conv2dForward ${s.x}`);
      const count = k.countNonFinite(plain.ptr, n);
      assert.is(count > 0, poison !== null, `the poisoned input reaches the output (${poison})`);
      for (const code of [1, 2]) {
        const bad = k.conv2dForwardAct(x.ptr, snap.ptr, +s.bias, act.ptr, ...args, cols.ptr, code, gs.ptr);
        assert.is(bad, count, `count ${s.x} act ${code}`);
        if (bad > 0) continue;
        assert.is(k.activationChecked(plain.ptr, viaSnap.ptr, n, code), 0);
        assert.equal(bits(act.view()), bits(viaSnap.view()), `act ${code} ${s.x}`);
      }
      freeAll(x, w, b, cols, gs, snap, plain, act, viaSnap);
    }
    conv.dispose();
  }
});

/** A pointwise convolution (not fused: its input is the caller's), then the shape's fused pair, then a head. */
function net(s, act) {
  const C = s.x[1], [OH, OW] = outSize(s);
  return new sn.Sequential(
    new sn.Conv2d(C, C, 1), new sn.ReLU(),
    convOf(s), act === 'relu6' ? new sn.ReLU6() : new sn.ReLU(),
    new sn.Flatten(), new sn.Linear(s.O * OH * OW, 3));
}

test('a Sequential gives the same bits fused as unfused on the three Winograd tiles, both flat kernels, the GEMMs and the depthwise kernels: outputs, dx, every gradient (train and eval)', () => {
  for (const s of SHAPES) {
    for (const act of ['relu', 'relu6']) {
      for (const mode of ['train', 'eval']) {
        const seed = freshSeed();
        const [off, on] = bothWays(() => twoStepBits(sn, () => net(s, act), s.x, mode, seed));
        assert.equal(on, off, `seed ${seed}, ${s.x}, ${act}, ${mode}`);
      }
    }
  }
});

test('which lowerings fuse: all but the depthwise channel-lane kernel and the implicit GEMMs, which keep the activation\'s own sweep', () => {
  const fusing = new Set(['winograd-f2x2', 'winograd-f4x4', 'winograd-f2x2-5x5', 'winograd-f4x4-5x5', 'flat', 'flat-channel-lanes', 'im2col-gemm', 'pointwise-gemm', 'dwconv-3x3',
    'im2col-batched-gemm', 'pointwise-batched-gemm', 'strided-pointwise-gemm']);
  const seen = new Set();
  for (const [C, O, kernel, options, shape] of [
    [33, 35, 3, { padding: 1 }, [2, 33, 7, 9]], [16, 20, 5, { padding: 2 }, [2, 16, 9, 7]], [8, 16, 3, { padding: 1 }, [2, 8, 9, 9]],
    [8, 8, 3, { stride: 2 }, [2, 8, 9, 9]], [8, 8, 1, {}, [2, 8, 9, 9]], [8, 8, 3, { groups: 8, padding: 1 }, [2, 8, 9, 9]],
    [32, 32, 3, { padding: 1 }, [2, 32, 16, 16]], [8, 12, 1, {}, [64, 8, 2, 2]], [12, 12, 3, { stride: 2, padding: 1, groups: 12 }, [3, 12, 4, 4]],
    [16, 20, 5, { padding: 2 }, [2, 16, 16, 16]], [8, 8, 3, { stride: 2, padding: 1 }, [2, 8, 32, 16]], [32, 32, 3, { padding: 1 }, [2, 32, 5, 6]],
    [8, 16, 1, { stride: 2 }, [2, 8, 16, 16]],
  ]) {
    const conv = new sn.Conv2d(C, O, kernel, options);
    const algorithm = conv.algorithm(shape);
    const g = conv.groups, [, , H, W] = shape, [OH, OW] = conv.outputShape(shape).slice(2);
    const args = [shape[0], C, H, W, O, ...conv.kernelSize, ...conv.stride, ...conv.padding, ...conv.dilation, g, OH, OW];
    assert.is(k.conv2dFusesActivation(...args), fusing.has(algorithm) ? 1 : 0, algorithm);
    seen.add(algorithm);
    conv.dispose();
  }
  assert.is(seen.size, 12, [...seen].join(', '));
});

test('the fused pair is one profile row naming both; an unfused lowering keeps the ReLU\'s own row', () => {
  const rand = rng(freshSeed());
  const s = SHAPES[0];
  const model = net(s, 'relu');
  const x = sn.tensor(Float32Array.from(randn(s.x.reduce((a, b) => a * b, 1), rand)), s.x);
  assert.not.match(model.at(0).algorithm(s.x), /winograd/);
  const p = model.profile(x, [0, 1], { steps: 1, warmup: 1 });
  // The first layer fuses too: it takes the profile's copy of the batch as it takes fit's.
  assert.equal(p.layers.map((l) => `${l.path} ${l.name}`), ['0+1 Conv2d+ReLU', '2+3 Conv2d+ReLU', '4 Flatten', '5 Linear']);
  const [off] = bothWays(() => model.profile(x, [0, 1], { steps: 1, warmup: 1 }).layers.map((l) => l.name));
  assert.equal(off, ['Conv2d', 'ReLU', 'Conv2d', 'ReLU', 'Flatten', 'Linear']);
  model.dispose();
});

test('a NaN or infinity in the convolution\'s output: the ReLU\'s unfused error, same count', () => {
  const s = SHAPES[2];
  const messages = bothWays(() => {
    const got = [];
    sn.manualSeed(5);
    const model = net(s, 'relu');
    const x = sn.tensor(new Float32Array(s.x.reduce((a, b) => a * b, 1)).fill(1), s.x);
    // −∞ (overflow of finite values), then NaN: both must be refused, the −∞ not hidden by max(v, 0).
    const w = model.at(2).weight.data.view();
    w.fill(0);
    w[4] = -3e38;
    model.at(0).weight.data.view().fill(1);
    for (const poison of [-3e38, NaN]) {
      w[4] = poison;
      try { model.forward(x); got.push('no error'); } catch (err) { got.push(err.message); }
    }
    model.dispose();
    return got;
  });
  assert.equal(messages[1], messages[0]);
  assert.match(messages[0][0], /^layer 3 \(ReLU\(\)\) input: \d+ of \d+ values are NaN or infinite$/);
  assert.match(messages[0][1], /^layer 3 \(ReLU\(\)\) input: \d+ of \d+ values are NaN or infinite$/);
});

/** relu(conv(x)) keeping the convolution's output, so a test can read it afterwards. */
class Keeps extends sn.Module {
  constructor() { super(); this.pre = new sn.Conv2d(32, 32, 1); this.conv = new sn.Conv2d(32, 32, 3, { padding: 1 }); }
  forward(x) { this.kept = this.conv.forward(this.pre.forward(x)); return sn.relu(this.kept); }
}

test('a convolution output that went into a fused ReLU is written when read, from the parameters of its call; stale when its input changes', () => {
  const rand = rng(freshSeed());
  const x = () => sn.tensor(Float32Array.from(randn(2 * 32 * 36, rand)), [2, 32, 6, 6]);
  const input = x();
  const [off, on] = bothWays(() => {
    sn.manualSeed(3);
    const m = new Keeps();
    const y = m.forward(input).toArray();
    // A parameter change between the forward and the read changes nothing: the read uses a snapshot.
    m.conv.weight.data.view().fill(5);
    m.conv.bias.data.view().fill(-1);
    return [y, m.kept.toArray()].map(bits);
  });
  assert.equal(on, off);
  const m = new Keeps();
  m.forward(input);
  const kept = m.kept;
  m.pre.forward(x());
  assert.throws(() => kept.toArray(), /was never written: Conv2d\(32, 32, kernel_size=\(3, 3\).* computed it only when read .*Conv2d\(32, 32, kernel_size=\(1, 1\).*has changed since/);
  m.dispose();
});

test('finite differences through a fused Conv2d + ReLU (Winograd F(2×2)) agree with backward', () => {
  const seed = 11, rand = rng(seed);
  sn.manualSeed(seed);
  const model = new sn.Sequential(new sn.Conv2d(2, 32, 1), new sn.Conv2d(32, 32, 3, { padding: 1 }), new sn.ReLU(), new sn.Flatten(), new sn.Linear(32 * 25, 2));
  const shape = [1, 2, 5, 5];
  assert.is(model.at(1).algorithm([1, 32, 5, 5]), 'winograd-f2x2');
  const x = randf(2 * 25, rand).map((v) => v * 2);
  const r = randn(2, rand);
  const f = () => { const y = model.forward(sn.tensor(Float32Array.from(x), shape)).toArray(); return y.reduce((s, v, i) => s + r[i] * v, 0); };
  const y = model.forward(sn.tensor(Float32Array.from(x), shape));
  const dx = model.backward(sn.tensor(Float32Array.from(r), y.shape)).toArray();
  const conv = model.at(1);
  const db = conv.bias.grad.toArray(), dw = conv.weight.grad.toArray().slice(0, 40);
  const loose = (what) => ({ rtol: 1e-2, atol: 3e-3, what: `seed ${seed}: ${what}` });
  assertClose(dx, numericGrad(f, x, 1e-3), loose('dx'));
  const b = Float64Array.from(conv.bias.data.toArray());
  // A step of 1e-4 for the parameters: moving a whole channel's bias by 1e-3 takes some of its 16
  // values across the ReLU's kink (the unfused pair misses by 0.015 there as well).
  assertClose(db, numericGrad(() => { conv.bias.data.view().set(b); return f(); }, b, 1e-4), loose('conv db'));
  const full = Float64Array.from(conv.weight.data.toArray()), w = full.slice(0, 40);
  assertClose(dw, numericGrad(() => { full.set(w); conv.weight.data.view().set(full); return f(); }, w, 1e-4), loose('conv dW'));
  model.dispose();
});

test.run();
