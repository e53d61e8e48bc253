// What forward/backward hand out are views of a layer's buffers. These tests hold the rules
// that keep such views honest: a view overwritten by a later call (or released) is refused
// wherever it is read, a layer applied to its own output computes the right numbers (eval) or
// refuses (training), and a forward() that throws leaves the model's state as it was.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';
import { rng, freshSeed, randn, assertClose } from './helpers.js';
import { conv2d, linear, sigmoid, softmax } from './reference.js';

await sn.ready();

const LIN32 = 'Linear\\(in_features=3, out_features=2, bias=True\\)';
const input = (shape, rand, scale = 1) => sn.tensor(Float32Array.from(randn(shape.reduce((a, b) => a * b, 1), rand, scale)), shape);
/** Every state-dict tensor as raw bits (float32 as uint32, int64 as strings). */
const stateBits = (m) => Object.entries(m.stateDict()).map(([k, t]) =>
  [k, t.dtype === 'int64' ? [...t.toInt64Array()].map(String) : [...new Uint32Array(t.toArray().buffer)]]);
const gradBits = (m) => m.parameters().map((p) => [...new Uint32Array(p.grad.toArray().buffer)]);
const throwsWith = (fn, re) => assert.throws(fn, (e) => e instanceof Error && re.test(e.message), `expected an Error matching ${re}`);

/** Runs fn with the wasm heap refusing allocations of at least `minBytes`, as a full memory would. */
function withRefusedAllocations(minBytes, fn) {
  const heap = rt().heap, alloc = heap.alloc;
  heap.alloc = function (bytes) {
    if (bytes >= minBytes) throw new Error(`simdnet: wasm memory cannot grow (refused by the test for ${bytes} bytes)`);
    return alloc.call(this, bytes);
  };
  try { return fn(); } finally { heap.alloc = alloc; }
}

// ---- stale views ----

test('a forward() result read after a later forward() of its layer is refused, naming the layer', () => {
  const seed = freshSeed(), rand = rng(seed);
  const lin = new sn.Linear(3, 2);
  const y1 = lin.forward(input([4, 3], rand));
  const kept = y1.toArray();
  const y2 = lin.forward(input([4, 3], rand));
  throwsWith(() => y1.toArray(), new RegExp(`^simdnet: this tensor was overwritten by a later forward\\(\\) of ${LIN32}; copy results you want to keep with toArray\\(\\)$`));
  assert.ok(kept.some((v, i) => v !== y2.toArray()[i]), `seed ${seed}: the copy kept the first result`);
  // Through a Sequential the message names the layer whose buffer it is.
  const model = new sn.Sequential(new sn.Linear(3, 2), new sn.ReLU());
  const z1 = model.forward(input([2, 3], rand));
  model.forward(input([2, 3], rand));
  throwsWith(() => z1.toArray(), /overwritten by a later forward\(\) of ReLU\(\); copy results/);
  lin.dispose(); model.dispose();
});

test('a stale or released tensor passed to forward() or a loss is refused before anything runs', () => {
  const seed = freshSeed(), rand = rng(seed);
  const lin = new sn.Linear(3, 2);
  const stale = lin.forward(input([4, 3], rand));
  lin.forward(input([4, 3], rand));
  const next = new sn.Sequential(new sn.BatchNorm1d(2), new sn.Linear(2, 2));
  const before = stateBits(next);
  throwsWith(() => next.forward(stale), new RegExp(`^Sequential \\(2 layers\\) input: this tensor was overwritten by a later forward\\(\\) of ${LIN32}`));
  throwsWith(() => next.at(0).forward(stale), new RegExp(`^BatchNorm1d\\(2, .*\\) input: this tensor was overwritten by a later forward\\(\\) of ${LIN32}`));
  assert.equal(stateBits(next), before, 'running statistics untouched');
  throwsWith(() => new sn.MSELoss().forward(stale, sn.tensor(new Float32Array(8), [4, 2])),
    new RegExp(`^MSELoss prediction: this tensor was overwritten by a later forward\\(\\) of ${LIN32}`));
  throwsWith(() => new sn.MSELoss().forward(sn.tensor(new Float32Array(8), [4, 2]), stale),
    new RegExp(`^MSELoss target: this tensor was overwritten by a later forward\\(\\) of ${LIN32}`));
  throwsWith(() => new sn.CrossEntropyLoss().forward(stale, [0, 1, 0, 1]), /^CrossEntropyLoss prediction: this tensor was overwritten/);
  throwsWith(() => new sn.NLLLoss().forward(stale, [0, 1, 0, 1]), /^NLLLoss prediction: this tensor was overwritten/);
  throwsWith(() => new sn.BCEWithLogitsLoss().forward(stale, sn.tensor(new Float32Array(8), [4, 2])), /^BCEWithLogitsLoss prediction: this tensor was overwritten/);

  // Released: the output of a disposed model, and of a layer that ran on a larger batch since
  // (its buffer was freed and replaced). Both used to run on freed memory.
  const gone = new sn.Linear(3, 2);
  const fromDisposed = gone.forward(input([4, 3], rand));
  gone.dispose();
  const grown = lin.forward(input([4, 3], rand));
  lin.forward(input([64, 3], rand));
  for (const t of [fromDisposed, grown]) {
    throwsWith(() => next.forward(t), new RegExp(`^Sequential \\(2 layers\\) input: this tensor's memory was released \\(${LIN32} was disposed, or ran on a larger input and replaced this buffer\\)`));
    throwsWith(() => new sn.CrossEntropyLoss().forward(t, [0, 1, 0, 1]), /^CrossEntropyLoss prediction: this tensor's memory was released/);
    throwsWith(() => new sn.MSELoss().forward(sn.tensor(new Float32Array(8), [4, 2]), t), /^MSELoss target: this tensor's memory was released/);
    throwsWith(() => t.toArray(), /memory was released/);
  }
  assert.equal(stateBits(next), before, 'running statistics untouched');
  lin.dispose(); next.dispose();
});

test('gradients are views too: a stale dy or dx is refused', () => {
  const seed = freshSeed(), rand = rng(seed);
  const lin = new sn.Linear(3, 2), mse = new sn.MSELoss();
  const target = sn.tensor(new Float32Array(8), [4, 2]);
  const loss = mse.forward(lin.forward(input([4, 3], rand)), target);
  const dy = loss.gradient;
  mse.forward(lin.forward(input([4, 3], rand)), target);
  const grads = gradBits(lin);
  throwsWith(() => lin.backward(dy), /^Linear\(in_features=3, out_features=2, bias=True\) output gradient: this tensor was overwritten by a later forward\(\) of MSELoss; copy results/);
  assert.equal(gradBits(lin), grads, 'no gradient accumulated');
  const dx1 = lin.backward(input([4, 2], rand));
  lin.backward(input([4, 2], rand));
  throwsWith(() => dx1.toArray(), new RegExp(`overwritten by a later backward\\(\\) of ${LIN32}`));
  lin.dispose(); mse.dispose();
});

test('backward() refuses activations that were overwritten since forward(), before any gradient accumulates', () => {
  const seed = freshSeed(), rand = rng(seed);
  // The head kept the features' output as its input; the features then ran on another batch.
  const features = new sn.Linear(3, 4), head = new sn.Sequential(new sn.ReLU(), new sn.Linear(4, 2));
  const mse = new sn.MSELoss(), target = sn.tensor(new Float32Array(4), [2, 2]);
  const loss = mse.forward(head.forward(features.forward(input([2, 3], rand))), target);
  features.forward(input([2, 3], rand));
  const grads = gradBits(head);
  throwsWith(() => loss.backward(), /^layer 0 \(ReLU\(\)\): backward\(\) needs the input of its last forward\(\), but that input was overwritten by a later forward\(\) of Linear\(in_features=3, out_features=4, bias=True\); call backward\(\) before running the layer that produced that input again$/);
  throwsWith(() => head.backward(sn.tensor(new Float32Array(4), [2, 2])), /^layer 0 \(ReLU\(\)\): backward\(\) needs the input of its last forward\(\)/);
  assert.equal(gradBits(head), grads, 'no gradient accumulated');

  // A layer inside a model ran on its own after the model's forward: the model's output is gone.
  const model = new sn.Sequential(new sn.Linear(3, 4), new sn.Tanh());
  const l2 = mse.forward(model.forward(input([2, 3], rand)), sn.tensor(new Float32Array(8), [2, 4]));
  model.at(1).forward(input([2, 4], rand));
  const modelGrads = gradBits(model);
  throwsWith(() => l2.backward(), /^Sequential \(2 layers\): backward\(\) needs the activations of its last forward\(\), but the output of its last forward\(\) was overwritten by a later forward\(\) of Tanh\(\); run forward\(\) again first$/);
  assert.equal(gradBits(model), modelGrads, 'no gradient accumulated');
  for (const m of [features, head, model, mse]) m.dispose();
});

test('parameters, buffers and stateDict() tensors are live views and never go stale', () => {
  const seed = freshSeed(), rand = rng(seed);
  const model = new sn.Sequential(new sn.Linear(3, 4), new sn.BatchNorm1d(4));
  const dict = model.stateDict(), weight = model.at(0).weight.data, grad = model.at(0).weight.grad;
  for (let i = 0; i < 3; i++) model.backward(sn.tensor(new Float32Array(8 * 4).fill(0.5), model.forward(input([8, 3], rand)).shape));
  for (const [k, t] of Object.entries(dict)) assert.ok(t.toArray().length === t.size, `${k} is readable`);
  assert.equal(weight.toArray(), model.at(0).weight.data.toArray());
  assert.ok(grad.toArray().some((v) => v !== 0), 'grad reflects the accumulated gradient');
  assert.is(dict['1.num_batches_tracked'].toInt64Array()[0], 3n, 'the buffer view shows the live count');
  model.dispose();
});

test('a buffer whose larger replacement could not be allocated is never used again', () => {
  const seed = freshSeed(), rand = rng(seed);
  const lin = new sn.Linear(3, 2), feed = new sn.Linear(3, 3), mse = new sn.MSELoss();
  const small = input([2, 3], rand), target = input([2, 2], rand);
  const big = feed.forward(input([40000, 3], rand));
  lin.forward(small);
  mse.forward(lin.forward(small), target);
  // The old output and gradient buffers are released to make room for larger ones, which are refused.
  throwsWith(() => withRefusedAllocations(100000, () => lin.forward(big)), /cannot grow/);
  throwsWith(() => withRefusedAllocations(100000, () => mse.forward(big, big)), /cannot grow/);
  // Were the released buffers kept, these results would live in freed memory (and be refused).
  const y = lin.forward(small);
  const loss = mse.forward(y, target);
  const W = values(lin.weight.data), b = values(lin.bias.data), x = Float64Array.from(small.toArray());
  assertClose(y.toArray(), linear(x, W, b, 3, 2), { what: `seed ${seed} y after the refused allocation` });
  assertClose(loss.gradient.toArray(), y.toArray().map((v, i) => (v - target.toArray()[i]) / 2), { what: `seed ${seed} dL/dy` });
  loss.backward();
  for (const m of [lin, feed, mse]) m.dispose();
});

// ---- a layer applied to its own output ----

const fr = (a) => Float64Array.from(a, Math.fround);

/** Max or mean over K×K windows (stride, zero/−∞ padding; the mean divides by K², as countIncludePad). */
function refPool(x, [N, C, H, W], K, stride, pad, kind) {
  const OH = Math.floor((H + 2 * pad - K) / stride) + 1, OW = Math.floor((W + 2 * pad - K) / stride) + 1;
  const y = new Float64Array(N * C * OH * OW);
  for (let p = 0; p < N * C; p++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
    let acc = kind === 'max' ? -Infinity : 0;
    for (let ky = 0; ky < K; ky++) for (let kx = 0; kx < K; kx++) {
      const iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      const v = x[(p * H + iy) * W + ix];
      acc = kind === 'max' ? Math.max(acc, v) : acc + v;
    }
    y[(p * OH + oy) * OW + ox] = kind === 'max' ? acc : acc / (K * K);
  }
  return { y, shape: [N, C, OH, OW] };
}

function refBatchNormEval(x, C, L, { mean, variance, weight, bias, eps }) {
  return x.map((v, i) => {
    const c = Math.floor(i / L) % C;
    return (v - mean[c]) / Math.sqrt(variance[c] + eps) * weight[c] + bias[c];
  });
}

const values = (t) => Float64Array.from(t.toArray());

// name → { make, shape of x, reference: (x float64, shape, layer) → { y, shape } }
const ownOutputCases = {
  'Linear(4, 4)': { make: () => new sn.Linear(4, 4), shape: [3, 4],
    ref: (x, s, l) => ({ y: linear(x, values(l.weight.data), values(l.bias.data), 4, 4), shape: s }) },
  'Conv2d(2, 2, 3, stride 2, padding 1, bias)': { make: () => new sn.Conv2d(2, 2, 3, { stride: 2, padding: 1 }), shape: [2, 2, 9, 9],
    ref: (x, s, l) => conv2d(x, s, values(l.weight.data), values(l.bias.data), 2, 3, { stride: 2, pad: 1 }) },
  'Conv2d(3, 3, 3, padding 1) (stride 1)': { make: () => new sn.Conv2d(3, 3, 3, { padding: 1 }), shape: [1, 3, 6, 7],
    ref: (x, s, l) => conv2d(x, s, values(l.weight.data), values(l.bias.data), 3, 3, { stride: 1, pad: 1 }) },
  'MaxPool2d(3, stride 1, padding 1)': { make: () => new sn.MaxPool2d(3, { stride: 1, padding: 1 }), shape: [2, 3, 7, 6],
    ref: (x, s) => refPool(x, s, 3, 1, 1, 'max') },
  'MaxPool2d(2, stride 1)': { make: () => new sn.MaxPool2d(2, { stride: 1 }), shape: [1, 2, 6, 6],
    ref: (x, s) => refPool(x, s, 2, 1, 0, 'max') },
  'AvgPool2d(3, stride 1, padding 1)': { make: () => new sn.AvgPool2d(3, { stride: 1, padding: 1 }), shape: [2, 2, 5, 8],
    ref: (x, s) => refPool(x, s, 3, 1, 1, 'avg') },
  'ReLU': { make: () => new sn.ReLU(), shape: [4, 5], ref: (x, s) => ({ y: x.map((v) => Math.max(v, 0)), shape: s }) },
  'LeakyReLU(0.2)': { make: () => new sn.LeakyReLU(0.2), shape: [4, 5], ref: (x, s) => ({ y: x.map((v) => (v > 0 ? v : v * Math.fround(0.2))), shape: s }) },
  'Sigmoid': { make: () => new sn.Sigmoid(), shape: [4, 5], ref: (x, s) => ({ y: sigmoid(x), shape: s }) },
  'Tanh': { make: () => new sn.Tanh(), shape: [4, 5], ref: (x, s) => ({ y: x.map(Math.tanh), shape: s }) },
  'Softmax(dim=1)': { make: () => new sn.Softmax(1), shape: [3, 9], ref: (x, s) => ({ y: softmax(x, [3, 9], 1), shape: s }) },
  'LogSoftmax(dim=1)': { make: () => new sn.LogSoftmax(1), shape: [3, 9], ref: (x, s) => ({ y: softmax(x, [3, 9], 1, true), shape: s }) },
  'BatchNorm2d(3) in eval': { make: () => trainedBatchNorm(), shape: [2, 3, 4, 5],
    ref: (x, s, l) => ({ y: refBatchNormEval(x, 3, 20, { mean: values(l.runningMean), variance: values(l.runningVar),
      weight: values(l.weight.data), bias: values(l.bias.data), eps: l.eps }), shape: s }) },
  'Sequential(Linear(4, 4), ReLU, Linear(4, 4))': { make: () => new sn.Sequential(new sn.Linear(4, 4), new sn.ReLU(), new sn.Linear(4, 4)), shape: [5, 4],
    ref: (x, s, m) => {
      const h = fr(linear(x, values(m.at(0).weight.data), values(m.at(0).bias.data), 4, 4)).map((v) => Math.max(v, 0));
      return { y: linear(h, values(m.at(2).weight.data), values(m.at(2).bias.data), 4, 4), shape: s };
    } },
  'Sequential(Linear(4, 4))': { make: () => new sn.Sequential(new sn.Linear(4, 4)), shape: [2, 4],
    ref: (x, s, m) => ({ y: linear(x, values(m.at(0).weight.data), values(m.at(0).bias.data), 4, 4), shape: s }) },
};

/** A BatchNorm2d(3) with running statistics and affine parameters away from their defaults. */
function trainedBatchNorm() {
  const bn = new sn.BatchNorm2d(3), rand = rng(7);
  for (let i = 0; i < 3; i++) bn.forward(sn.tensor(Float32Array.from(randn(2 * 3 * 4 * 5, rand, 3)).map((v) => v + 1), [2, 3, 4, 5]));
  bn.weight.data.view().set([1.5, -0.5, 2]);
  bn.bias.data.view().set([0.25, -1, 0.5]);
  return bn;
}

for (const [name, c] of Object.entries(ownOutputCases)) {
  test(`${name} applied to its own output: right numbers in eval, a clear Error in training`, () => {
    const seed = freshSeed(), rand = rng(seed);
    const layer = c.make().eval();
    const x = input(c.shape, rand, 2);
    // Three applications: the copy block kept for this is reused, and right, every time.
    let expected = { y: Float64Array.from(x.toArray()), shape: c.shape };
    let y = x;
    for (let k = 1; k <= 3; k++) {
      expected = c.ref(fr(expected.y), expected.shape, layer);
      y = layer.forward(y);
      assert.equal([...y.shape], expected.shape);
      assertClose(y.toArray(), expected.y, { rtol: 1e-4, atol: 1e-5, what: `seed ${seed}, application ${k}` });
    }
    const inUse = rt().heap.bytesInUse;
    layer.forward(layer.forward(x));
    assert.is(rt().heap.bytesInUse, inUse, 'no memory grows per call');

    layer.train();
    const first = layer.forward(x), firstValues = first.toArray(), state = stateBits(layer);
    const who = name.startsWith('Sequential') ? 'Linear\\(in_features=4, out_features=4, bias=True\\), a layer inside it' : 'this same layer';
    throwsWith(() => layer.forward(first), new RegExp(`: the input is an output of ${who}; in training mode a layer keeps the activations of one call ` +
      'for backward\\(\\), so a second call inside one graph would give wrong gradients: use a separate layer instance for each call, or eval\\(\\) mode for inference$'));
    assert.equal(stateBits(layer), state, 'state unchanged');
    assert.equal(first.toArray(), firstValues, 'the first call\'s output is intact');
    // The refused call changed nothing: the first call still back-propagates.
    layer.backward(sn.tensor(new Float32Array(first.size).fill(1), first.shape));
    layer.dispose();
  });
}

/** float64 dx = dy·W for W [out, in]. */
function refLinearDx(dy, W, nIn, nOut) {
  const rows = dy.length / nOut, dx = new Float64Array(rows * nIn);
  for (let r = 0; r < rows; r++) for (let i = 0; i < nIn; i++) for (let o = 0; o < nOut; o++) dx[r * nIn + i] += dy[r * nOut + o] * W[o * nIn + i];
  return dx;
}

/** float64 dW = dyᵀ·x. */
function refLinearDw(dy, x, nIn, nOut) {
  const rows = dy.length / nOut, dW = new Float64Array(nOut * nIn);
  for (let r = 0; r < rows; r++) for (let o = 0; o < nOut; o++) for (let i = 0; i < nIn; i++) dW[o * nIn + i] += dy[r * nOut + o] * x[r * nIn + i];
  return dW;
}

test('backward() given a gradient it writes itself (its own dx, a parameter gradient) copies it first', () => {
  const seed = freshSeed(), rand = rng(seed);
  for (const wrap of [(l) => l, (l) => new sn.Sequential(l)]) {
    // Its own dx as dy: [8, 300] takes the GEMM path that writes dx while still reading dy.
    let lin = new sn.Linear(300, 300), model = wrap(lin);
    let x = input([8, 300], rand), W = values(lin.weight.data), xv = Float64Array.from(x.toArray());
    model.forward(x);
    const dx1 = model.backward(input([8, 300], rand));
    const g = Float64Array.from(dx1.toArray());
    model.zeroGrad();
    const dx2 = model.backward(dx1);
    assertClose(dx2.toArray(), refLinearDx(g, W, 300, 300), { atol: 1e-4, what: `seed ${seed} ${model.label()} dx of its own dx` });
    assertClose(lin.weight.grad.toArray(), refLinearDw(g, xv, 300, 300), { what: `seed ${seed} ${model.label()} dW from its own dx` });
    model.dispose();
    // The weight gradient itself as dy: it is accumulated into while being read.
    lin = new sn.Linear(4, 4); model = wrap(lin);
    x = input([4, 4], rand); W = values(lin.weight.data); xv = Float64Array.from(x.toArray());
    model.forward(x);
    model.backward(input([4, 4], rand));
    const G = values(lin.weight.grad);
    const dx3 = model.backward(lin.weight.grad);
    assertClose(dx3.toArray(), refLinearDx(G, W, 4, 4), { what: `seed ${seed} ${model.label()} dx of dW` });
    assertClose(lin.weight.grad.toArray(), refLinearDw(G, xv, 4, 4).map((v, i) => v + G[i]), { what: `seed ${seed} ${model.label()} dW accumulated from dW` });
    model.dispose();
  }
});

test('a loss given its own last gradient as prediction copies it first', () => {
  const seed = freshSeed(), rand = rng(seed);
  const ce = new sn.CrossEntropyLoss(), labels = [0, 2, 1, 2];
  const g = ce.forward(input([4, 3], rand), labels).gradient, gv = Float64Array.from(g.toArray());
  const lossOfGradient = ce.forward(g, labels);
  const refLoss = labels.reduce((s, c, r) => s - softmax(gv.subarray(r * 3, r * 3 + 3), [1, 3], 1, true)[c], 0) / 4;
  assertClose([lossOfGradient.value], [refLoss], { what: `seed ${seed} loss` });
  const p = softmax(gv, [4, 3], 1);
  assertClose(lossOfGradient.gradient.toArray(), p.map((v, i) => (v - (labels[Math.floor(i / 3)] === i % 3 ? 1 : 0)) / 4), { what: `seed ${seed} gradient` });
  ce.dispose();
});

test('a layer inside a Sequential that is fed its own output (through an identity layer) copies it first', () => {
  const seed = freshSeed(), rand = rng(seed);
  const lin = new sn.Linear(4, 4);
  const model = new sn.Sequential(new sn.Dropout(0.5), lin).eval();
  const x = input([3, 4], rand);
  const W = values(lin.weight.data), b = values(lin.bias.data);
  const once = lin.forward(x);
  const twice = model.forward(once);
  assertClose(twice.toArray(), linear(fr(linear(Float64Array.from(x.toArray()), W, b, 4, 4)), W, b, 4, 4), { what: `seed ${seed}` });
  model.train();
  throwsWith(() => model.forward(lin.forward(x)), /^Sequential \(2 layers\): the input is an output of Linear\(in_features=4, out_features=4, bias=True\), a layer inside it; in training mode/);
  model.dispose();
});

test('the modules a model call checks its inputs against are those it holds at that call, not at an earlier one', () => {
  const seed = freshSeed(), rand = rng(seed);
  class Net extends sn.Module {
    constructor() { super(); this.a = new sn.Linear(3, 3); this.act = new sn.ReLU(); }
    forward(x) { return this.act.forward(this.a.forward(x)); }
  }
  const net = new Net(), x = input([2, 3], rand);
  net.forward(x);
  // A layer registered between two calls is inside the model at the next: its output is refused as the input.
  const extra = new sn.Linear(3, 3), y = extra.forward(x);
  net.extra = extra;
  throwsWith(() => net.forward(y), new RegExp(`^Net: the input is an output of Linear\\(in_features=3, out_features=3, bias=True\\), a layer inside it; in training mode`));
  // Moved out again, its output is an ordinary input.
  delete net.extra;
  assertClose(net.forward(y).toArray(), net.forward(extra.forward(x)).toArray(), { what: `seed ${seed}` });
  // A disposed layer swapped in between calls stops the next call.
  const a = net.a, spare = new sn.Linear(3, 3);
  spare.dispose();
  net.a = spare;
  throwsWith(() => net.forward(x), /^Linear\(in_features=3, out_features=3, bias=True\): this module was disposed/);
  net.a = a;
  net.forward(x);
  net.dispose(); extra.dispose();
});

test('a layer a module makes during its own forward call gets its gradients', () => {
  const seed = freshSeed(), rand = rng(seed);
  class Lazy extends sn.Module {
    constructor() { super(); this.body = new sn.Linear(3, 4); }
    forward(x) { this.head ??= new sn.Linear(4, 2); return this.head.forward(this.body.forward(x)); }
  }
  const m = new Lazy(), x = input([5, 3], rand);
  new sn.MSELoss().forward(m.forward(x), sn.tensor(new Float32Array(10), [5, 2])).backward();
  for (const [name, p] of m.namedParameters()) {
    assert.ok(p.grad.toArray().some((v) => v !== 0), `seed ${seed}: ${name} got a gradient`);
  }
  assert.equal(m.namedParameters().map(([n]) => n), ['body.weight', 'body.bias', 'head.weight', 'head.bias']);
  m.dispose();
});

test('Dropout in training refuses its own output (its mask belongs to one call)', () => {
  const drop = new sn.Dropout(0.5);
  const y = drop.forward(sn.tensor(new Float32Array(16).fill(1), [4, 4]));
  throwsWith(() => drop.forward(y), /^Dropout\(p=0\.5, inplace=False\): the input is an output of this same layer; in training mode/);
  drop.dispose();
});

// ---- rollback of a failed forward ----

/**
 * A layer that can be made to fail after the layers before it have run: by throwing, or by
 * asking for an output larger than the (test-limited) heap gives.
 */
class Failing extends sn.Module {
  constructor(how) { super(); this.how = how; this.armed = false; }
  toString() { return `Failing(${this.how})`; }
  outputShape(s) { return [...s]; }
  forwardDevice(x) {
    if (this.armed && this.how === 'throw') throw new Error('Failing(throw): failed on purpose');
    if (!this.armed) return new sn.Tensor(x.shape, x.block, x.ptr);
    return this.output('y', [256, 1024, 1024]);
  }
  backwardDevice(dy) { return dy; }
}

test('an Error after BatchNorm ran leaves every state-dict tensor bit-identical', () => {
  const seed = freshSeed(), rand = rng(seed);
  const x = input([2, 1, 6, 6], rand);
  const convBn = () => [new sn.Conv2d(1, 3, 3), new sn.BatchNorm2d(3)];
  const cases = [
    [new Failing('throw'), (last) => new sn.Sequential(...convBn(), new sn.ReLU(), last), /^layer 3 \(Failing\(throw\)\): failed on purpose$/, (f) => f()],
    [new Failing('memory'), (last) => new sn.Sequential(...convBn(), new sn.ReLU(), last), /cannot grow/, (f) => withRefusedAllocations(512 * 1048576, f)],
    // Nested: the BatchNorm runs inside an inner model, the failure comes from the outer one.
    [new Failing('throw'), (last) => new sn.Sequential(new sn.Sequential(...convBn()), new sn.Flatten(), last), /^layer 2 \(Failing\(throw\)\)/, (f) => f()],
  ];
  for (const [failing, build, re, run] of cases) {
    const model = build(failing);
    model.forward(x);                       // running statistics away from their initial values
    const before = stateBits(model);
    failing.armed = true;
    throwsWith(() => run(() => model.forward(x)), re);
    assert.equal(stateBits(model), before, `seed ${seed}: ${failing} left the state unchanged`);
    // The next forward that succeeds updates from the restored statistics, as if the failure never happened.
    failing.armed = false;
    model.forward(x);
    assert.is(stateBits(model).find(([k]) => k.endsWith('num_batches_tracked'))[1][0], '2');
    model.dispose();
  }
  // A successful forward keeps its update.
  const ok = new sn.Sequential(...convBn());
  ok.forward(x);
  const afterOne = stateBits(ok);
  ok.forward(x);
  assert.is(ok.at(1).numBatchesTracked.toInt64Array()[0], 2n);
  assert.not.equal(stateBits(ok), afterOne);
  ok.dispose();
});

test('after a forward() that failed part way, an earlier loss no longer back-propagates: the layers hold mixed activations', () => {
  const seed = freshSeed(), rand = rng(seed);
  const failing = new Failing('throw');
  // MaxPool2d keeps no input, only the argmax of its last call: nothing else would notice the mix.
  const model = new sn.Sequential(new sn.Conv2d(1, 2, 3), new sn.MaxPool2d(2, { stride: 1 }), failing);
  const mse = new sn.MSELoss(), x = input([2, 1, 6, 6], rand), target = input([2, 2, 3, 3], rand);
  const loss = mse.forward(model.forward(x), target);
  failing.armed = true;
  throwsWith(() => model.forward(input([2, 1, 6, 6], rand)), /^layer 2 \(Failing\(throw\)\): failed on purpose$/);
  const grads = gradBits(model);
  throwsWith(() => loss.backward(), /^loss\.backward\(\): Sequential \(3 layers\) has run forward\(\) again since it produced this loss's prediction/);
  throwsWith(() => model.backward(target), /^Sequential \(3 layers\): backward\(\): its last forward\(\) failed part way, so its layers hold the activations of no complete call; run forward\(\) again first$/);
  assert.equal(gradBits(model), grads, 'no gradient accumulated');
  // A check that fails before any layer runs leaves the earlier graph intact.
  failing.armed = false;
  const again = mse.forward(model.forward(x), target);
  throwsWith(() => model.forward(input([2, 1, 3, 3], rand)), /^layer 1 \(MaxPool2d\(kernel_size=2, .*\)\): expected an input at least as large as the dilated kernel/);
  again.backward();
  assert.not.equal(gradBits(model), grads, `seed ${seed}: the intact graph back-propagated`);
  model.dispose(); mse.dispose();
});

test('a module whose own forward calls child forward()s is rolled back as a whole, to before its first update', () => {
  const seed = freshSeed(), rand = rng(seed);
  // A free-form forward: the BatchNorm runs twice (two updates), then the module fails.
  class TwoPass extends sn.Module {
    constructor() { super(); this.bn = new sn.BatchNorm1d(4); this.fail = false; }
    children() { return [['bn', this.bn]]; }
    toString() { return 'TwoPass()'; }
    outputShape(s) { return [...s]; }
    forwardDevice(x) {
      const h = this.bn.forward(x);
      const y = this.bn.forward(sn.tensor(h.toArray(), h.shape));
      if (this.fail) throw new Error('TwoPass(): failed on purpose');
      return y;
    }
    backwardDevice() { return null; }
  }
  const model = new TwoPass();
  const x = input([5, 4], rand, 3);
  model.forward(x);
  assert.is(model.bn.numBatchesTracked.toInt64Array()[0], 2n, 'both inner calls updated the statistics');
  const before = stateBits(model);
  model.fail = true;
  throwsWith(() => model.forward(x), /^TwoPass\(\): failed on purpose$/);
  assert.equal(stateBits(model), before, `seed ${seed}: both updates rolled back`);
  model.dispose();
});

test.run();
