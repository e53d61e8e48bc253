// A Linear fused with the ReLU / ReLU6 after it (ts/layers/linear.ts's DeferredLinear, the GEMM's
// stores taking the activation: assembly/gemm.ts's gemmAct): gemmAct against gemm and then
// activationChecked, bit for bit, on every path of the GEMM (packed tiles with edges and several
// k-blocks, the dot-product path, K = 0); a Sequential fused and unfused giving the same outputs,
// input gradients and parameter gradients in training and eval; which shapes fuse; errors,
// profile rows, a kept output read after the weights changed, finite differences.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rng, freshSeed, randn, toWasm, wasmOut, freeAll, assertClose, numericGrad, rt, bits, bothWays, twoStepBits } from './helpers.js';

await sn.ready();
const k = rt().kernels;

test('gemmAct = gemm then activationChecked, bit for bit, on every GEMM path; its flag says whether a value before the activation was not finite', () => {
  const rand = rng(freshSeed());
  const gs = wasmOut(k.gemmScratchFloats());
  // [transA, transB, M, N, K]: edge tiles (M, N no multiple of 4, 8), K in two and three k-blocks
  // of 256, the dot-product path (A·Bᵀ, K ≥ 256, a side < 128), K = 0.
  for (const [tA, tB, M, N, K] of [[0, 0, 5, 11, 7], [1, 0, 9, 13, 300], [0, 0, 7, 130, 600], [0, 1, 7, 130, 600], [1, 1, 4, 8, 257],
    [0, 1, 6, 5, 300], [0, 1, 3, 9, 1100], [0, 0, 3, 5, 0], [0, 0, 130, 20, 9]]) {
    for (const accumulate of [0, 1]) {
      for (const poison of [null, NaN, Infinity]) {
        const as = randn(M * K, rand), bs = randn(K * N, rand);
        if (poison !== null && K > 0) as[(M * K) >> 1] = poison;
        const a = toWasm(as), b = toWasm(bs), c0 = randn(M * N, rand);
        const lda = tA ? M : K, ldb = tB ? K : N;
        const plain = toWasm(c0);
        k.gemm(tA, tB, M, N, K, a.ptr, lda, b.ptr, ldb, plain.ptr, N, accumulate, gs.ptr);
        const count = k.countNonFinite(plain.ptr, M * N);
        assert.is(count > 0, poison !== null && K > 0, `the poison reaches C (${poison})`);
        for (const act of [0, 1, 2]) {
          const fused = toWasm(c0);
          const flag = k.gemmAct(tA, tB, M, N, K, a.ptr, lda, b.ptr, ldb, fused.ptr, N, accumulate, gs.ptr, act);
          assert.is(flag, act !== 0 && count > 0 ? 1 : 0, `flag ${[tA, tB, M, N, K]} act ${act} ${poison}`);
          if (count > 0) { freeAll(fused); continue; }
          const separate = wasmOut(M * N);
          if (act === 0) separate.view().set(plain.view());
          else assert.is(k.activationChecked(plain.ptr, separate.ptr, M * N, act), 0);
          assert.equal(bits(fused.view()), bits(separate.view()), `${[tA, tB, M, N, K]} acc ${accumulate} act ${act}`);
          freeAll(fused, separate);
        }
        freeAll(a, b, plain);
      }
    }
  }
  freeAll(gs);
});

/**
 * Input shapes and Linear sizes with more rows than inputs (the fusing ones): a few rows; leading
 * dimensions; K = 260 in two k-blocks of the packed GEMM; K = 257 on the dot-product path; no bias.
 */
const SHAPES = [
  { x: [9, 4], out: 7, bias: true },
  { x: [2, 5, 6], out: 9, bias: false },
  { x: [300, 260], out: 130, bias: true },
  { x: [270, 257], out: 5, bias: true },
  { x: [40, 33], out: 12, bias: false },
];

/** A Linear on the caller's input (not fused), then the shape's Linear and activation, then a head. */
function net(s, act) {
  const nIn = s.x.at(-1);
  return new sn.Sequential(
    new sn.Linear(nIn, nIn), new sn.Linear(nIn, s.out, { bias: s.bias }),
    act === 'relu6' ? new sn.ReLU6() : new sn.ReLU(), new sn.Linear(s.out, 3));
}

test('a Sequential gives the same bits fused as unfused: outputs, dx, every gradient (train and eval, ReLU and ReLU6)', () => {
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

test('the fused pair is one profile row naming both where rows > in_features; elsewhere the ReLU keeps its own row', () => {
  const s = { x: [9, 4], out: 7, bias: true };
  const fused = (shape) => {
    const model = net(s, 'relu');
    const x = sn.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5), shape);
    const y = new Float32Array(shape[0] * 3);
    const p = model.profile(x, sn.tensor(y, [shape[0], 3]), { steps: 1, warmup: 1 });
    model.dispose();
    return p.layers.map((l) => `${l.path} ${l.name}`);
  };
  assert.equal(fused([9, 4]), ['0 Linear', '1+2 Linear+ReLU', '3 Linear']);
  assert.equal(fused([4, 4]), ['0 Linear', '1 Linear', '2 ReLU', '3 Linear']);
  const [off] = bothWays(() => fused([9, 4]));
  assert.equal(off, ['0 Linear', '1 Linear', '2 ReLU', '3 Linear']);
});

test('a NaN or infinity in the Linear\'s output: the ReLU\'s unfused error, same count', () => {
  const messages = bothWays(() => {
    const got = [];
    sn.manualSeed(5);
    const model = net({ x: [9, 4], out: 7, bias: true }, 'relu');
    const x = sn.tensor(new Float32Array(36).fill(1), [9, 4]);
    model.at(0).weight.data.view().fill(1);
    const w = model.at(1).weight.data.view();
    // −∞ (overflow of finite values), then NaN: both must be refused, the −∞ not hidden by max(v, 0).
    for (const poison of [-3e38, NaN]) {
      w.fill(0);
      w[5] = poison;
      w[6] = poison;
      try { model.forward(x); got.push('no error'); } catch (err) { got.push(err.message); }
    }
    model.dispose();
    return got;
  });
  assert.equal(messages[1], messages[0]);
  assert.match(messages[0][0], /^layer 2 \(ReLU\(\)\) input: 9 of 63 values are NaN or infinite$/);
  assert.match(messages[0][1], /^layer 2 \(ReLU\(\)\) input: 9 of 63 values are NaN or infinite$/);
});

/** relu(fc(pre(x))) keeping the Linear's output, so a test can read it afterwards. */
class Keeps extends sn.Module {
  constructor() { super(); this.pre = new sn.Linear(3, 3); this.fc = new sn.Linear(3, 5); }
  forward(x) { this.kept = this.fc.forward(this.pre.forward(x)); return sn.relu(this.kept); }
}

test('a Linear output that went into a fused ReLU is written when read, from the parameters of its call; stale when its input changes', () => {
  const rand = rng(freshSeed());
  const x = () => sn.tensor(Float32Array.from(randn(8 * 3, rand)), [8, 3]);
  const input = x();
  const [off, on] = bothWays(() => {
    sn.manualSeed(3);
    const m = new Keeps();
    const y = m.forward(input).toArray();
    // A parameter change between the forward and the read changes nothing: the read uses a snapshot.
    m.fc.weight.data.view().fill(5);
    m.fc.bias.data.view().fill(-1);
    return [y, m.kept.toArray()].map(bits);
  });
  assert.equal(on, off);
  const m = new Keeps();
  m.forward(input);
  const kept = m.kept;
  m.pre.forward(x());
  assert.throws(() => kept.toArray(), /was never written: Linear\(in_features=3, out_features=5.* computed it only when read .*Linear\(in_features=3, out_features=3.*has changed since/);
  m.dispose();
});

test('finite differences through a fused Linear + ReLU agree with backward', () => {
  const seed = 13, rand = rng(seed);
  sn.manualSeed(seed);
  const model = new sn.Sequential(new sn.Linear(3, 3), new sn.Linear(3, 4), new sn.ReLU(), new sn.Linear(4, 2));
  const shape = [6, 3];
  const x = randn(18, rand, 2);
  const r = randn(12, rand);
  const f = () => { const y = model.forward(sn.tensor(Float32Array.from(x), shape)).toArray(); return y.reduce((s, v, i) => s + r[i] * v, 0); };
  const y = model.forward(sn.tensor(Float32Array.from(x), shape));
  const dx = model.backward(sn.tensor(Float32Array.from(r), y.shape)).toArray();
  const fc = model.at(1);
  const db = fc.bias.grad.toArray(), dw = fc.weight.grad.toArray();
  const loose = (what) => ({ rtol: 1e-2, atol: 3e-3, what: `seed ${seed}: ${what}` });
  assertClose(dx, numericGrad(f, x, 1e-3), loose('dx'));
  const b = Float64Array.from(fc.bias.data.toArray());
  assertClose(db, numericGrad(() => { fc.bias.data.view().set(b); return f(); }, b, 1e-4), loose('fc db'));
  const w = Float64Array.from(fc.weight.data.toArray());
  assertClose(dw, numericGrad(() => { fc.weight.data.view().set(w); return f(); }, w, 1e-4), loose('fc dW'));
  model.dispose();
});

test.run();
