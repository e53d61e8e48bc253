// A BatchNorm fused with the ReLU / ReLU6 after it (ts/layers/epilogue.ts, assembly/epilogue.ts):
// the same bits as the separate layers — outputs, every parameter gradient, the input gradient,
// running statistics — in training and eval, in a Sequential and in a module of one's own; the
// kernels against the separate ones and a float64 reference; BatchNorm's one-sweep statistics;
// finite differences through a fused pair; errors and profile rows.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rng, freshSeed, randn, randf, toWasm, wasmOut, freeAll, assertClose, numericGrad, rt, bits, bothWays } from './helpers.js';
import { BasicBlock } from './modules.js';
import { actGradFusions } from 'simdnet/internal';

await sn.ready();
const k = rt().kernels;

/** Bits, with every NaN as one pattern (the fast activations keep a NaN a NaN, not its payload). */
const bitsNaN = (a) => bits(Float32Array.from(a, (v) => (Number.isNaN(v) ? NaN : v)));

test('channelAffineAct and activationChecked give the separate kernels\' values and count non-finite values, on awkward shapes', () => {
  const rand = rng(freshSeed());
  for (const [N, C, L] of [[1, 1, 1], [2, 3, 5], [3, 2, 4], [1, 5, 9], [2, 1, 17], [0, 2, 3]]) {
    const n = N * C * L;
    const xs = randn(n, rand, 4);
    if (n > 3) { xs[1] = NaN; xs[n - 1] = Infinity; }
    const x = toWasm(xs), mean = toWasm(randn(C, rand)), variance = toWasm(randn(C, rand).map(Math.abs));
    const w = toWasm(randn(C, rand, 2)), b = toWasm(randn(C, rand)), coef = wasmOut(3 * C);
    k.batchNormCoefficients(mean.ptr, variance.ptr, w.ptr, b.ptr, coef.ptr, C, 1e-5, 1);
    const plain = wasmOut(n), act = wasmOut(n), fused = wasmOut(n);
    assert.is(k.channelAffineAct(x.ptr, plain.ptr, coef.ptr, N, C, L, 0), 0, 'no check without an activation');
    const badPlain = k.countNonFinite(plain.ptr, n);
    // Float64 reference of the affine, rounded as float32 does it step by step.
    const ref = new Float64Array(n), c4 = coef.view();
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / L) % C;
      ref[i] = Math.fround(Math.fround(xs[i] - c4[c]) * c4[C + c]) + c4[2 * C + c];
    }
    assertClose(plain.view().map((v, i) => (Number.isFinite(ref[i]) ? v : 0)), ref.map((v) => (Number.isFinite(v) ? v : 0)), { rtol: 1e-6, atol: 1e-6, what: 'affine' });
    assert.is(badPlain, ref.filter((v) => !Number.isFinite(v)).length, 'non-finite count of the affine');
    for (const [code, separate] of [[1, 'reluForward'], [2, 'relu6Forward']]) {
      // Fused = the affine alone, then the activation alone: bit for bit, NaN payloads included.
      const separateAct = wasmOut(n);
      assert.is(k.activationChecked(plain.ptr, separateAct.ptr, n, code), badPlain);
      const bad = k.channelAffineAct(x.ptr, fused.ptr, coef.ptr, N, C, L, code);
      assert.equal(bits(fused.view()), bits(separateAct.view()), `fused act ${code} [${N}, ${C}, ${L}]`);
      assert.is(bad, badPlain);
      // activationChecked = the older kernel, but for NaN payloads; ±0, ±infinity and 6 exactly.
      const edges = toWasm([-0, 0, 6, -6, Infinity, -Infinity, NaN, 5.9999995, 6.0000005, ...xs]);
      const checked = wasmOut(edges.n), older = wasmOut(edges.n);
      assert.is(k.activationChecked(edges.ptr, checked.ptr, edges.n, code), k.countNonFinite(edges.ptr, edges.n));
      k[separate](edges.ptr, older.ptr, edges.n);
      assert.equal(bitsNaN(checked.view()), bitsNaN(older.view()), `activationChecked vs ${separate} n=${edges.n}`);
      freeAll(checked, edges, older, separateAct);
    }
    freeAll(x, mean, variance, w, b, coef, plain, act, fused);
  }
});

test('batchNormStats: one sweep, float64-close means and variances, also far from 0, and its count of non-finite values', () => {
  const seed = freshSeed(), rand = rng(seed);
  for (const [N, C, L, offset, spread] of [[3, 2, 5, 0, 1], [4, 3, 1, 0, 2], [2, 2, 49, 1000, 0.01], [5, 1, 7, -300, 0.5], [1, 2, 2, 3, 1]]) {
    const xs = Float64Array.from(randf(N * C * L, rand), (v) => Math.fround(offset + spread * v));
    const x = toWasm(xs), mean = wasmOut(C), variance = wasmOut(C);
    assert.is(k.batchNormStats(x.ptr, mean.ptr, variance.ptr, N, C, L), 0);
    for (let c = 0; c < C; c++) {
      const vals = [];
      for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) vals.push(xs[(n * C + c) * L + l]);
      const m = vals.reduce((s, v) => s + v, 0) / vals.length;
      const v = vals.reduce((s, u) => s + (u - m) ** 2, 0) / vals.length;
      assertClose([mean.view()[c]], [m], { rtol: 1e-6, atol: 1e-7 * spread, what: `seed ${seed}: mean [${N}, ${C}, ${L}] c=${c}` });
      // The shifted sums keep the variance's relative error near float32's even when |mean| ≫ σ.
      assertClose([variance.view()[c]], [v], { rtol: 1e-4, atol: 1e-7 * spread * spread, what: `seed ${seed}: variance [${N}, ${C}, ${L}] c=${c}` });
    }
    const bad = xs.slice();
    bad[0] = NaN; bad[bad.length - 1] = -Infinity;
    const xb = toWasm(bad);
    assert.is(k.batchNormStats(xb.ptr, mean.ptr, variance.ptr, N, C, L), 2);
    freeAll(x, xb, mean, variance);
  }
});

/** Conv → BN → ReLU, Conv → BN → ReLU6, Linear → BN1d → ReLU, on odd sizes (planes of 25 and 4 floats). */
function chain() {
  return new sn.Sequential(
    new sn.Conv2d(3, 5, 3, { padding: 1 }), new sn.BatchNorm2d(5), new sn.ReLU(),
    new sn.Conv2d(5, 6, 3, { stride: 2, bias: false }), new sn.BatchNorm2d(6), new sn.ReLU6(),
    new sn.Flatten(), new sn.Linear(6 * 2 * 2, 7), new sn.BatchNorm1d(7), new sn.ReLU(), new sn.Linear(7, 3));
}

/**
 * bothWays(fn) with the number of BatchNorm backward passes that took the activation's put-off
 * gradient (masking its dy in their own sweeps) in each run: [off, on, fusions off, fusions on].
 */
function bothWaysCounted(fn) {
  const counts = [];
  const [off, on] = bothWays(() => {
    const before = actGradFusions.count;
    const out = fn();
    counts.push(actGradFusions.count - before);
    return out;
  });
  return [off, on, ...counts];
}

/** Output, input gradient, every parameter gradient and the state dict after two steps of `mode`. */
function run(build, shape, mode, seed) {
  sn.manualSeed(seed);
  const model = build();
  const rand = rng(seed);
  // Trained BatchNorm parameters and statistics, not the initial ones (γ = 1, β = 0, var = 1).
  for (const [name, t] of Object.entries(model.stateDict())) {
    if (/bn|^\d+\.(weight|bias|running_mean)$/.test(name) && t.dtype === 'float32' && t.shape.length === 1) t.view().set(randn(t.size, rand, 0.8));
    if (/running_var$/.test(name)) t.view().set(randn(t.size, rand).map((v) => 0.5 + Math.abs(v)));
  }
  model.train(mode === 'train');
  const out = [];
  for (let step = 0; step < 2; step++) {
    const x = sn.tensor(Float32Array.from(randn(shape.reduce((a, b) => a * b, 1), rand, 2)), shape);
    const y = model.forward(x);
    out.push(y.toArray());
    const dx = model.backward(sn.tensor(Float32Array.from(randn(y.size, rand)), y.shape));
    out.push(dx.toArray());
  }
  for (const p of model.parameters()) out.push(p.grad.toArray());
  for (const t of Object.values(model.stateDict())) out.push(t.dtype === 'int64' ? t.toArray() : t.toArray());
  model.dispose();
  return out.map(bits);
}

test('a Sequential gives the same bits fused as unfused: outputs, dx, every gradient, running statistics (train and eval)', () => {
  for (const mode of ['train', 'eval']) {
    for (const N of [2, 3]) {
      const seed = freshSeed();
      const [off, on, fusedOff, fusedOn] = bothWaysCounted(() => run(chain, [N, 3, 5, 5], mode, seed));
      assert.equal(on, off, `seed ${seed}, ${mode}, N = ${N}`);
      // Each step's backward masked the activation's dy in the BatchNorm's sweeps: all three
      // pairs in training; in eval the BatchNorm2d after a convolution goes into its stores, so BatchNorm1d's.
      assert.equal([fusedOff, fusedOn], [0, mode === 'train' ? 6 : 2], `${mode}: BatchNorm backward passes fused with the activation's`);
    }
  }
});

test('a module of one\'s own (relu(bn1(conv1(x))) through sn.relu) gives the same bits fused as unfused', () => {
  const build = () => new sn.Sequential(new BasicBlock(3, 4, 2), new BasicBlock(4, 4));
  for (const mode of ['train', 'eval']) {
    const seed = freshSeed();
    const [off, on, fusedOff, fusedOn] = bothWaysCounted(() => run(build, [2, 3, 7, 7], mode, seed));
    assert.equal(on, off, `seed ${seed}, ${mode}`);
    // relu(bn1(·)) of each block, two steps (sn.relu after the add takes no BatchNorm's output).
    assert.equal([fusedOff, fusedOn], [0, mode === 'train' ? 4 : 0], `${mode}: BatchNorm backward passes fused with sn.relu's`);
  }
});

test('finite differences through a fused BatchNorm2d + ReLU6 (training statistics) agree with backward', () => {
  const seed = 7, rand = rng(seed);
  sn.manualSeed(seed);
  const model = new sn.Sequential(new sn.Conv2d(2, 3, 3, { padding: 1 }), new sn.BatchNorm2d(3), new sn.ReLU6(), new sn.Flatten(), new sn.Linear(3 * 16, 2));
  const shape = [3, 2, 4, 4];
  const x = randf(3 * 2 * 16, rand).map((v) => v * 2);
  const r = randn(6, rand);
  const f = () => { const y = model.forward(sn.tensor(Float32Array.from(x), shape)).toArray(); return y.reduce((s, v, i) => s + r[i] * v, 0); };
  const y = model.forward(sn.tensor(Float32Array.from(x), shape));
  const dx = model.backward(sn.tensor(Float32Array.from(r), y.shape)).toArray();
  const bn = model.at(1);
  const dg = bn.weight.grad.toArray(), db = bn.bias.grad.toArray();
  // A step of 1e-3: perturbing a whole channel's γ or β by 1e-2 moves some of its 48 values across
  // ReLU6's kinks (0 and 6), where no difference quotient matches a derivative.
  const loose = (what) => ({ rtol: 1e-2, atol: 3e-3, what: `seed ${seed}: ${what}` });
  assertClose(dx, numericGrad(f, x, 1e-3), loose('dx'));
  const g = Float64Array.from(bn.weight.data.toArray()), b = Float64Array.from(bn.bias.data.toArray());
  assertClose(dg, numericGrad(() => { bn.weight.data.view().set(g); return f(); }, g, 1e-3), loose('bn dγ'));
  assertClose(db, numericGrad(() => { bn.bias.data.view().set(b); return f(); }, b, 1e-3), loose('bn dβ'));
  model.dispose();
});

/** relu(bn(x)) keeping bn's output, so a test can read it afterwards. */
class Keeps extends sn.Module {
  constructor() { super(); this.conv = new sn.Conv2d(2, 3, 1); this.bn = new sn.BatchNorm2d(3); }
  forward(x) { this.kept = this.bn.forward(this.conv.forward(x)); return sn.relu(this.kept); }
}

test('a BatchNorm output that went into a fused ReLU is written when read, and goes stale when its input changes', () => {
  const rand = rng(freshSeed());
  const x = () => sn.tensor(Float32Array.from(randn(2 * 2 * 9, rand)), [2, 2, 3, 3]);
  const input = x();
  const [off, on] = bothWays(() => {
    sn.manualSeed(3);
    const m = new Keeps().eval();
    const y = m.forward(input).toArray();
    // An optimizer step between the forward and the read changes nothing: the coefficients were a snapshot.
    m.bn.weight.data.view().fill(5);
    return [y, m.kept.toArray()].map(bits);
  });
  assert.equal(on, off);
  const m = new Keeps();
  m.forward(input);
  const kept = m.kept;
  m.conv.forward(x());
  assert.throws(() => kept.toArray(), /was never written: BatchNorm2d\(3, .*\) computed it only when read .*Conv2d\(2, 3, .*has changed since/);
  m.dispose();
});

test('a ReLU\'s put-off input gradient is written when something else reads it: a BatchNorm output used twice, a source rewritten', () => {
  // y = bn(conv(x)) goes into relu and, scaled, into the sum: its two gradients add up, so the
  // ReLU's is read (written then) before the BatchNorm's backward.
  class Twice extends sn.Module {
    constructor() { super(); this.conv = new sn.Conv2d(2, 3, 3, { padding: 1 }); this.bn = new sn.BatchNorm2d(3); this.act = new sn.ReLU(); }
    forward(x) { const y = this.bn.forward(this.conv.forward(x)); return sn.add(this.act.forward(y), sn.mul(y, 0.5)); }
  }
  const seed = freshSeed(), rand = rng(seed);
  const x = Float32Array.from(randn(2 * 2 * 25, rand)), r = Float32Array.from(randn(2 * 3 * 25, rand));
  const [off, on, fusedOff, fusedOn] = bothWaysCounted(() => {
    sn.manualSeed(seed);
    const m = new Twice();
    const y = m.forward(sn.tensor(x, [2, 2, 5, 5]));
    const dx = m.backward(sn.tensor(r, y.shape)).toArray();
    const out = [dx, ...m.parameters().map((p) => p.grad.toArray())].map(bits);
    m.dispose();
    return out;
  });
  assert.equal(on, off, `seed ${seed}`);
  assert.equal([fusedOff, fusedOn], [0, 0]);
  // Put off and not read before its mask's source (the ReLU's output) is rewritten: written before that.
  const m = new sn.Sequential(new sn.Conv2d(2, 3, 3, { padding: 1 }), new sn.BatchNorm2d(3), new sn.ReLU());
  const relu = m.at(2);
  const y1 = m.forward(sn.tensor(x, [2, 2, 5, 5])).toArray();
  const reluDx = relu.backward(sn.tensor(r, [2, 3, 5, 5]));
  assert.ok(reluDx.block.deferred !== null, 'the ReLU\'s dx is put off');
  m.forward(sn.tensor(x.map((v) => -v), [2, 2, 5, 5]));
  assert.equal(bits(reluDx.toArray()), bits(r.map((v, i) => (y1[i] > 0 ? v : 0))), `seed ${seed}: the ReLU's dx as of the first forward`);
  m.dispose();
});

test('a fused BatchNorm + ReLU / ReLU6 backward makes no sweep of the activation\'s, then or at the next forward', () => {
  const r = rt(), kernels = r.kernels, calls = new Map();
  // Every kernel call counted by name (the exports object itself is frozen: a proxy over an empty one).
  r.kernels = new Proxy({}, { get: (_, name) => (typeof kernels[name] !== 'function' ? kernels[name] : (...args) => { calls.set(name, (calls.get(name) ?? 0) + 1); return kernels[name](...args); }) });
  try {
    for (const Act of [sn.ReLU, sn.ReLU6]) {
      calls.clear();
      const model = new sn.Sequential(new sn.Conv2d(2, 3, 3, { padding: 1 }), new sn.BatchNorm2d(3), new Act(), new sn.Flatten(), new sn.Linear(48, 2));
      const x = sn.tensor(Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)), [2, 2, 4, 4]);
      for (let step = 0; step < 3; step++) {
        model.forward(x);
        model.backward(sn.tensor([1, -1, 0.5, 2], [2, 2]));
      }
      assert.is(calls.get('reluBackward') ?? 0, 0, `${Act.name}: reluBackward`);
      assert.is(calls.get('relu6Backward') ?? 0, 0, `${Act.name}: relu6Backward`);
      assert.is(calls.get('batchNormBackward'), 3, `${Act.name}: batchNormBackward`);
      model.dispose();
    }
  } finally {
    r.kernels = kernels;
  }
});

test('the input checks of a fused BatchNorm and ReLU refuse NaN and infinity with the unfused messages', () => {
  const messages = bothWays(() => {
    const got = [];
    const model = new sn.Sequential(new sn.Linear(3, 4), new sn.BatchNorm1d(4), new sn.ReLU());
    const x = sn.tensor(new Float32Array(6).fill(1), [2, 3]);
    model.at(0).weight.data.view()[0] = Infinity;
    for (const mode of [true, false]) {
      model.train(mode);
      try { model.forward(x); } catch (err) { got.push(err.message); }
    }
    // Finite inputs whose normalised values overflow: the ReLU's input check.
    model.at(0).weight.data.view()[0] = 0;
    model.at(1).weight.data.view().fill(3e38);
    model.at(1).runningVar.view().fill(1e-30);
    model.at(1).runningMean.view().fill(-1);
    try { model.forward(x); } catch (err) { got.push(err.message); }
    model.dispose();
    return got;
  });
  assert.equal(messages[1], messages[0]);
  assert.is(messages[0].length, 3);
  assert.match(messages[0][0], /^layer 1 \(BatchNorm1d\(4, .*\)\) input: 2 of 8 values are NaN or infinite$/);
  assert.match(messages[0][2], /^layer 2 \(ReLU\(\)\) input: \d+ of 8 values are NaN or infinite$/);
});

test('profile rows: a fused pair is one row naming both, in a Sequential and in a module of one\'s own', () => {
  const rand = rng(freshSeed());
  const model = new sn.Sequential(new sn.Conv2d(1, 2, 3), new sn.BatchNorm2d(2), new sn.ReLU6(), new sn.Flatten(), new sn.Linear(2 * 4 * 4, 3));
  const x = sn.tensor(Float32Array.from(randn(2 * 36, rand)), [2, 1, 6, 6]);
  const p = model.profile(x, [0, 1], { steps: 1, warmup: 1 });
  assert.equal(p.layers.map((l) => `${l.path} ${l.name}`), ['0 Conv2d', '1+2 BatchNorm2d+ReLU6', '3 Flatten', '4 Linear']);
  const block = new BasicBlock(1, 2);
  const q = block.profile(x, sn.tensor(new Float32Array(2 * 2 * 36), [2, 2, 6, 6]), { steps: 1, warmup: 1 });
  assert.equal(q.layers.map((l) => `${l.path} ${l.name}`),
    ['conv1 Conv2d', 'bn1+relu BatchNorm2d+sn.relu', 'conv2 Conv2d', 'bn2 BatchNorm2d', 'shortcut.0 Conv2d', 'shortcut.1 BatchNorm2d', ' sn.add', ' sn.relu']);
  const [off] = bothWays(() => block.profile(x, sn.tensor(new Float32Array(2 * 2 * 36), [2, 2, 6, 6]), { steps: 1, warmup: 1 }).layers.map((l) => l.name));
  assert.equal(off, ['Conv2d', 'BatchNorm2d', 'sn.relu', 'Conv2d', 'BatchNorm2d', 'Conv2d', 'BatchNorm2d', 'sn.add', 'sn.relu']);
  model.dispose(); block.dispose();
});

test.run();
