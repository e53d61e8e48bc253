// An eval BatchNorm2d fused into the convolution before it (ts/layers/conv2d.ts's
// DeferredConvAffine, assembly/conv.ts's conv2dForwardAffine), and the ReLU / ReLU6 after it: the
// affine and the activation applied image by image as the convolution's output is stored give
// the bits of the separate layers — the convolution's output is conv2dForward's, the affine
// channelAffineAct's (the BatchNorm's own sweep), the activation activationChecked's — on every
// fusing lowering; outputs, dx and every gradient in eval (and training, where the BatchNorm
// keeps its batch statistics); the counts of non-finite values and the layers' own Errors; a
// BatchNorm output read by another layer; the profiler's one row for the three layers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { setProfiler } from 'simdnet/internal';
import { rng, freshSeed, randn, toWasm, wasmOut, freeAll, rt, bits, bothWays } from './helpers.js';

await sn.ready();
const k = rt().kernels;

/** Input shapes and convolutions of every fusing lowering, on odd sizes (see conv-fusion.test.js). */
const SHAPES = [
  { x: [2, 33, 7, 9], O: 35, k: 3, padding: 1, bias: true, algorithm: 'winograd-f4x4' },
  { x: [3, 32, 7, 8], O: 32, k: 3, padding: 0, bias: false, algorithm: 'winograd-f2x2' },
  { x: [2, 32, 17, 19], O: 33, k: 3, padding: 1, bias: true, algorithm: 'winograd-f4x4' },
  { x: [2, 16, 9, 7], O: 20, k: 5, padding: 2, bias: true, algorithm: 'flat' },
  { x: [3, 6, 7, 5], O: 10, k: 3, padding: 1, groups: 2, bias: false, algorithm: 'flat' },
  { x: [2, 6, 9, 7], O: 16, k: 5, padding: 0, bias: true, algorithm: 'flat-channel-lanes' },
  { x: [2, 30, 19, 21], O: 7, k: 3, stride: 2, padding: 1, bias: true, algorithm: 'im2col-gemm' },
  { x: [2, 9, 9, 11], O: 13, k: 1, padding: 0, bias: false, algorithm: 'pointwise-gemm' },
  { x: [3, 6, 11, 9], O: 6, k: 3, stride: 2, padding: 1, groups: 6, bias: true, algorithm: 'dwconv-3x3' },
  { x: [2, 5, 9, 7], O: 10, k: 5, padding: 2, groups: 5, bias: false, algorithm: 'dwconv' },
  { x: [5, 9, 3, 5], O: 13, k: 1, padding: 0, bias: true, algorithm: 'pointwise-batched-gemm' },
  { x: [3, 6, 9, 7], O: 10, k: 3, stride: 2, padding: 1, groups: 2, bias: false, algorithm: 'im2col-batched-gemm' },
  { x: [2, 13, 17, 32], O: 10, k: 1, stride: 2, padding: 0, bias: true, algorithm: 'strided-pointwise-gemm' },
  { x: [2, 16, 16, 16], O: 20, k: 5, padding: 2, bias: true, algorithm: 'winograd-f4x4-5x5' },
  { x: [2, 16, 12, 12], O: 20, k: 5, padding: 2, bias: true, algorithm: 'winograd-f2x2-5x5' },
  // F(2×2,5×5) from 64 tiles in the batch and F(4×4,5×5) on 8×8 planes from 64 of its tiles: 16
  // and 4 tiles an image, so one image would run direct; the snapshot holds the kernels transformed
  // for the batch's lowering, which runs on the whole batch.
  { x: [5, 9, 8, 8], O: 8, k: 5, padding: 2, bias: false, algorithm: 'winograd-f2x2-5x5' },
  { x: [16, 9, 8, 8], O: 8, k: 5, padding: 2, bias: false, algorithm: 'winograd-f4x4-5x5' },
];

const convOf = (s) => new sn.Conv2d(s.x[1], s.O, s.k, { stride: s.stride ?? 1, padding: s.padding, bias: s.bias, groups: s.groups ?? 1 });
const outSize = (s) => [2, 3].map((d) => Math.floor((s.x[d] + 2 * s.padding - s.k) / (s.stride ?? 1)) + 1);

test('conv2dForwardAffine = conv2dForward then channelAffineAct, bit for bit, with the BatchNorm\'s and the activation\'s counts', () => {
  const rand = rng(freshSeed());
  for (const s of SHAPES) {
    const [N, C, H, W] = s.x, [OH, OW] = outSize(s), G = s.groups ?? 1, S = s.stride ?? 1, L = OH * OW;
    const conv = convOf(s);
    assert.is(conv.algorithm(s.x), s.algorithm);
    conv.dispose();
    const args = [N, C, H, W, s.O, s.k, s.k, S, S, s.padding, s.padding, 1, 1, G, OH, OW];
    const n = N * s.O * L;
    // Clean, a NaN input (the convolution's output not finite: the BatchNorm refuses), a huge
    // scale (finite convolution outputs, an affine that overflows: the activation refuses).
    for (const poison of [null, 'nan', 'overflow']) {
      const xs = randn(N * C * H * W, rand, 2);
      if (poison === 'nan') xs[xs.length >> 1] = NaN;
      const x = toWasm(xs), w = toWasm(randn(s.O * (C / G) * s.k * s.k, rand, 0.2)), b = toWasm(randn(s.O, rand));
      // The overflow: channel 1's scale γ/√(var + eps) = 3e38·301 is +∞ in float32.
      const mean = toWasm(randn(s.O, rand)), variance = toWasm(randn(s.O, rand).map((v, i) => (poison === 'overflow' && i === 1 ? 1e-6 : Math.abs(v) + 0.1)));
      const gamma = toWasm(randn(s.O, rand, 2).map((v, i) => (poison === 'overflow' && i === 1 ? 3e38 : v)));
      const beta = toWasm(randn(s.O, rand)), coef = wasmOut(3 * s.O);
      k.batchNormCoefficients(mean.ptr, variance.ptr, gamma.ptr, beta.ptr, coef.ptr, s.O, 1e-5, 1);
      const cols = wasmOut(k.conv2dColsFloats(...args)), gs = wasmOut(k.gemmScratchFloats());
      const snap = wasmOut(k.conv2dSnapshotFloats(...args));
      const bias = s.bias ? b.ptr : 0;
      k.conv2dSnapshot(w.ptr, bias, snap.ptr, ...args);
      const plain = wasmOut(n), affine = wasmOut(n);
      k.conv2dForward(x.ptr, w.ptr, bias, plain.ptr, ...args, cols.ptr, gs.ptr);
      const before = k.countNonFinite(plain.ptr, n);
      assert.is(before > 0, poison === 'nan', `${s.x} ${poison}: non-finite convolution outputs`);
      k.channelAffineAct(plain.ptr, affine.ptr, coef.ptr, N, s.O, L, 0);
      for (const act of [0, 1, 2]) {
        const fused = wasmOut(n), separate = wasmOut(n);
        const r = k.conv2dForwardAffine(x.ptr, snap.ptr, +s.bias, coef.ptr, fused.ptr, ...args, cols.ptr, act, gs.ptr);
        if (before > 0) {
          assert.is(r, -before, `${s.x} act ${act}: the BatchNorm's count`);
          freeAll(fused, separate);
          continue;
        }
        const after = act === 0 ? 0 : k.activationChecked(affine.ptr, separate.ptr, n, act);
        if (act === 0) separate.view().set(affine.view());
        assert.is(r, after, `${s.x} act ${act}: the activation's count`);
        assert.is(after > 0, poison === 'overflow' && act !== 0, `${s.x} ${poison} act ${act}: the overflow is counted`);
        if (after === 0) assert.equal(bits(fused.view()), bits(separate.view()), `${s.x} act ${act}`);
        freeAll(fused, separate);
      }
      freeAll(x, w, b, mean, variance, gamma, beta, coef, cols, gs, snap, plain, affine);
    }
  }
});

/** A pointwise convolution (its input is the caller's), then the shape's Conv2d → BatchNorm2d → activation, then a head. */
function net(s, act) {
  const C = s.x[1], [OH, OW] = outSize(s);
  const tail = act === 'relu6' ? [new sn.ReLU6()] : act === 'relu' ? [new sn.ReLU()] : [];
  return new sn.Sequential(
    new sn.Conv2d(C, C, 1), new sn.ReLU(),
    convOf(s), new sn.BatchNorm2d(s.O, { affine: s.bias }), ...tail,
    new sn.Flatten(), new sn.Linear(s.O * OH * OW, 3));
}

/**
 * Two steps of `mode` (SGD between; one training step first so the running statistics are not
 * 0 and 1): outputs and input gradients, then every parameter, gradient and buffer.
 */
function run(build, shape, mode, seed) {
  sn.manualSeed(seed);
  const model = build();
  const rand = rng(seed);
  const opt = new sn.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const out = [];
  const size = shape.reduce((a, b) => a * b, 1);
  for (let step = 0; step < 3; step++) {
    model.train(step === 0 || mode === 'train');
    opt.zeroGrad();
    const y = model.forward(sn.tensor(Float32Array.from(randn(size, rand, 2)), shape));
    out.push(y.toArray());
    const dx = model.backward(sn.tensor(Float32Array.from(randn(y.size, rand)), y.shape));
    out.push(dx.toArray());
    opt.step();
  }
  model.eval();
  out.push(sn.noGrad(() => model.forward(sn.tensor(Float32Array.from(randn(size, rand, 2)), shape)).toArray()));
  for (const p of model.parameters()) out.push(p.grad.toArray(), p.data.toArray());
  for (const [, t] of model.namedBuffers()) out.push(t.toArray());
  model.dispose();
  return out.map(bits);
}

test('a Sequential gives the same bits fused as unfused on every fusing lowering: outputs, dx, every gradient and buffer (eval, and training)', () => {
  for (const s of SHAPES) {
    for (const act of ['relu', 'relu6', 'none']) {
      for (const mode of ['eval', 'train']) {
        const seed = freshSeed();
        const [off, on] = bothWays(() => run(() => net(s, act), s.x, mode, seed));
        assert.equal(on, off, `seed ${seed}, ${s.x}, ${act}, ${mode}`);
      }
    }
  }
});

/** conv → bn → relu in a module of one's own, keeping the BatchNorm's output for a read after. */
class Keeps extends sn.Module {
  constructor() {
    super();
    this.pre = new sn.Conv2d(32, 32, 1);
    this.conv = new sn.Conv2d(32, 32, 3, { padding: 1 });
    this.bn = new sn.BatchNorm2d(32);
  }

  forward(x) { this.kept = this.bn.forward(this.conv.forward(this.pre.forward(x))); return sn.relu(this.kept); }
}

test('a fused BatchNorm output read afterwards, and the convolution\'s, are written from the parameters of their call', () => {
  const rand = rng(freshSeed());
  const input = sn.tensor(Float32Array.from(randn(2 * 32 * 36, rand)), [2, 32, 6, 6]);
  const mean = randn(32, rand).map((v) => v * 0.1);
  const [off, on] = bothWays(() => {
    sn.manualSeed(3);
    const m = new Keeps();
    m.bn.runningMean.view().set(mean);
    m.eval();
    const y = m.forward(input).toArray();
    m.conv.weight.data.view().fill(5);
    m.bn.weight.data.view().fill(-1);
    const got = [y, m.kept.toArray(), m.conv.forward(m.pre.forward(input)).toArray()].map(bits);
    m.dispose();
    return got;
  });
  assert.equal(on, off);
});

test('non-finite values: the BatchNorm\'s Error for the convolution\'s output, the ReLU\'s for the affine\'s, as unfused', () => {
  const s = SHAPES[0];
  const messages = bothWays(() => {
    const got = [];
    sn.manualSeed(5);
    const model = net(s, 'relu').eval();
    const x = sn.tensor(new Float32Array(s.x.reduce((a, b) => a * b, 1)).fill(1), s.x);
    model.at(0).weight.data.view().fill(1);
    const w = model.at(2).weight.data.view(), gamma = model.at(3).weight.data.view();
    // Channel 2's scale γ/√(var + eps) = 3e38·301 is +∞ in float32 (the overflow case).
    model.at(3).runningVar.view()[2] = 1e-6;
    for (const [wv, gv] of [[NaN, 1], [-3e38, 1], [1e-3, 3e38]]) {
      w.fill(0);
      w[4] = wv;
      gamma[2] = gv;
      try { model.forward(x); got.push('no error'); } catch (err) { got.push(err.message); }
    }
    // Read by a layer other than an activation: the BatchNorm's Error still.
    const noAct = net(s, 'none').eval();
    noAct.at(2).weight.data.view().fill(NaN);
    try { noAct.forward(x); got.push('no error'); } catch (err) { got.push(err.message); }
    model.dispose();
    noAct.dispose();
    return got;
  });
  assert.equal(messages[1], messages[0]);
  const [nan, inf, overflow, noAct] = messages[0];
  assert.match(nan, /^layer 3 \(BatchNorm2d\(35, .*\)\) input: \d+ of \d+ values are NaN or infinite$/);
  assert.match(inf, /^layer 3 \(BatchNorm2d\(35, .*\)\) input: \d+ of \d+ values are NaN or infinite$/);
  assert.match(overflow, /^layer 4 \(ReLU\(\)\) input: \d+ of \d+ values are NaN or infinite$/);
  assert.match(noAct, /^layer 3 \(BatchNorm2d\(35, .*\)\) input: \d+ of \d+ values are NaN or infinite$/);
});

test('the profiler sees one row for Conv2d → BatchNorm2d → ReLU in eval: the BatchNorm and the ReLU fused into the convolution\'s row', () => {
  const s = SHAPES[0];
  const calls = (model) => {
    const seen = [];
    setProfiler({ forward(row, path, what, ms, into) { seen.push(`${row}<${into ?? ''}`); }, backward() {}, deferredMs: 0 });
    try {
      sn.noGrad(() => model.forward(sn.tensor(new Float32Array(s.x.reduce((a, b) => a * b, 1)).fill(0.5), s.x)));
    } finally {
      setProfiler(null);
    }
    return seen;
  };
  const model = net(s, 'relu').eval();
  assert.is(model.at(0).algorithm(s.x), 'pointwise-batched-gemm');
  // (The first pair fuses too: its input, copied into the convolution's own buffer, is a layer's.)
  assert.equal(calls(model), ['0<', '1<0', '2<', '3<2', '4<2', '5<', '6<']);
  const [off] = bothWays(() => calls(model));
  assert.equal(off, ['0<', '1<', '2<', '3<', '4<', '5<', '6<']);
  model.train();
  // In training the BatchNorm takes its batch statistics from the convolution's output: only it and the ReLU fuse.
  // (The convolution's output is written for the BatchNorm's statistics: time of row 2 again.)
  assert.equal(calls(model), ['0<', '1<0', '2<', '2<', '3<', '4<3', '5<', '6<']);
  model.dispose();
});

test.run();
