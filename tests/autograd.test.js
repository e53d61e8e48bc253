// The graph that forward() records and backward() walks: modules of your own back-propagate
// through whatever they ran (checked against float64 references and finite differences), a loss
// back-propagates through every module that made its prediction, Module.backward stops at the
// module's input; a module called twice in one forward is refused there; sn.noGrad records
// nothing; the dry run checks a forward before anything runs and errors name the module path.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import v8 from 'node:v8';
import vm from 'node:vm';
import { rt, looseSiteCount } from 'simdnet/internal';
import { rng, freshSeed, randn, assertClose, numericGrad, maxAbs } from './helpers.js';
import * as ref from './reference.js';
import { BasicBlock } from './modules.js';

await sn.ready();

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const input = (shape, rand, scale = 1) => sn.tensor(Float32Array.from(randn(ref.sizeOf(shape), rand, scale)), shape);
const values = (t) => Float64Array.from(t.toArray());
const stateBits = (m) => Object.entries(m.stateDict()).map(([k, t]) => [k, t.dtype === 'int64' ? [...t.toInt64Array()].map(String) : [...t.toArray()]]);
const gradBits = (m) => m.parameters().map((p) => [...p.grad.toArray()]);
const throwsWith = (fn, re) => assert.throws(fn, (e) => e instanceof Error && re.test(e.message), `expected an Error matching ${re}`);

/** A chain written as a module of its own: nested containers, a ModuleList walked in forward. */
class Chain extends sn.Module {
  constructor() {
    super();
    this.stem = new sn.Sequential(new sn.Conv2d(2, 3, 3, { stride: 2, padding: 1 }), new sn.BatchNorm2d(3));
    this.blocks = new sn.ModuleList([new sn.Tanh(), new sn.Conv2d(3, 2, 1)]);
    this.head = new sn.Sequential(new sn.Flatten(), new sn.Linear(2 * 3 * 3, 3));
  }
  forward(x) {
    let h = this.stem.forward(x);
    for (const block of this.blocks) h = block.forward(h);
    return this.head.forward(h);
  }
}

/** The Chain in float64: p holds its parameters by state-dict name. */
function chainRef(p, x, xShape) {
  const c1 = ref.conv2d(x, xShape, p['stem.0.weight'], p['stem.0.bias'], 3, 3, { stride: 2, pad: 1 });
  const bn = ref.batchNorm(c1.y, c1.shape, p['stem.1.weight'], p['stem.1.bias']);
  const c2 = ref.conv2d(ref.tanh(bn), c1.shape, p['blocks.1.weight'], p['blocks.1.bias'], 2, 1);
  return ref.linear(c2.y, p['head.1.weight'], p['head.1.bias'], 18, 3);
}

/** Every parameter of a module as float64, by name. */
const paramsOf = (m) => Object.fromEntries(m.namedParameters().map(([n, p]) => [n, values(p.data)]));

/**
 * Checks model.backward(w) against finite differences of `f64` (the model in float64): the
 * input gradient and every parameter's gradient.
 */
function checkAgainstFiniteDifferences(what, model, f64, x, xShape, outShape, rand) {
  const w = randn(ref.sizeOf(outShape), rand);
  const p = paramsOf(model);
  const xv = ref.f32(randn(ref.sizeOf(xShape), rand));
  x.view().set(xv);
  const y = model.forward(x);
  assert.equal([...y.shape], outShape, `${what}: output shape`);
  const yRef = f64(p, xv, xShape);
  assertClose(y.toArray(), yRef, { rtol: 1e-4, atol: 1e-5 * Math.max(1, maxAbs(yRef)), what: `${what}: forward vs float64` });
  model.zeroGrad();
  const dx = model.backward(sn.tensor(Float32Array.from(w), outShape)).toArray();
  const loss = () => ref.dot(w, f64(p, xv, xShape));
  const tol = (g) => ({ rtol: 2e-3, atol: 2e-4 * Math.max(1, maxAbs(g)) });
  // A small step: with 1e-5, a ReLU input within about 1e-5 of 0 (a kink) now and then spoils a difference.
  const num = numericGrad(loss, xv, 1e-7);
  assertClose(dx, num, { ...tol(num), what: `${what}: dL/dx vs finite differences` });
  for (const [name, param] of model.namedParameters()) {
    const g = numericGrad(loss, p[name], 1e-7);
    assertClose(param.grad.toArray(), g, { ...tol(g), what: `${what}: dL/d${name} vs finite differences` });
  }
}

test('a module of your own back-propagates through its graph: gradients match finite differences of a float64 reference', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  const model = new Chain();
  checkAgainstFiniteDifferences(`seed ${seed} Chain`, model, chainRef, input([2, 2, 5, 5], rand), [2, 2, 5, 5], [2, 3], rand);
  model.dispose();
});

/** BasicBlock in float64 (training-mode BatchNorm); `at` prefixes the parameter names. */
function blockRef(p, at, x, shape, outC, stride, projection) {
  const c1 = ref.conv2d(x, shape, p[`${at}conv1.weight`], null, outC, 3, { stride, pad: 1 });
  const h = ref.relu(ref.batchNorm(c1.y, c1.shape, p[`${at}bn1.weight`], p[`${at}bn1.bias`]));
  const c2 = ref.conv2d(h, c1.shape, p[`${at}conv2.weight`], null, outC, 3, { pad: 1 });
  const y = ref.batchNorm(c2.y, c2.shape, p[`${at}bn2.weight`], p[`${at}bn2.bias`]);
  let shortcut = x;
  if (projection) {
    const s = ref.conv2d(x, shape, p[`${at}shortcut.0.weight`], null, outC, 1, { stride });
    shortcut = ref.batchNorm(s.y, s.shape, p[`${at}shortcut.1.weight`], p[`${at}shortcut.1.bias`]);
  }
  return { y: ref.relu(y.map((v, i) => v + shortcut[i])), shape: c2.shape };
}

/** A small ResNet: a stem, two blocks (the second with a 1×1 projection shortcut), global average pooling, a classifier. */
class TinyResNet extends sn.Module {
  constructor() {
    super();
    this.conv1 = new sn.Conv2d(3, 4, 3, { padding: 1, bias: false });
    this.bn1 = new sn.BatchNorm2d(4);
    this.layer1 = new sn.Sequential(new BasicBlock(4, 4), new BasicBlock(4, 6, 2));
    this.fc = new sn.Linear(6, 3);
  }
  forward(x) {
    const h = this.layer1.forward(sn.relu(this.bn1.forward(this.conv1.forward(x))));
    return this.fc.forward(sn.flatten(sn.mean(h, [2, 3], true), 1));
  }
}

function tinyResNetRef(p, x, shape) {
  const c = ref.conv2d(x, shape, p['conv1.weight'], null, 4, 3, { pad: 1 });
  const h = ref.relu(ref.batchNorm(c.y, c.shape, p['bn1.weight'], p['bn1.bias']));
  const b1 = blockRef(p, 'layer1.0.', h, c.shape, 4, 1, false);
  const b2 = blockRef(p, 'layer1.1.', b1.y, b1.shape, 6, 2, true);
  return ref.linear(ref.mean(b2.y, b2.shape, [2, 3]).y, p['fc.weight'], p['fc.bias'], 6, 3);
}

test('the BasicBlock (projection and identity shortcuts: x used twice) matches float64 and finite differences', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  for (const [inC, outC, stride, projection] of [[3, 4, 2, true], [3, 3, 1, false]]) {
    const block = new BasicBlock(inC, outC, stride);
    const xShape = [2, inC, 5, 5];
    const outShape = block.outputShape(xShape);
    checkAgainstFiniteDifferences(`seed ${seed} BasicBlock(${inC}, ${outC}, ${stride})`, block,
      (p, x, s) => blockRef(p, '', x, s, outC, stride, projection).y, input(xShape, rand), xShape, outShape, rand);
    block.dispose();
  }
});

test('a small ResNet (stem, two blocks, a projection shortcut, mean pooling, a classifier) matches finite differences', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  const net = new TinyResNet();
  checkAgainstFiniteDifferences(`seed ${seed} TinyResNet`, net, tinyResNetRef, input([2, 3, 5, 5], rand), [2, 3, 5, 5], [2, 3], rand);
  assert.equal(Object.keys(net.stateDict()).filter((k) => k.includes('shortcut')),
    ['layer1.1.shortcut.0.weight', ...['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((n) => `layer1.1.shortcut.1.${n}`)]);
  net.dispose();
});

test('the same layers as a Sequential and as a module of your own give bit-identical outputs and gradients', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  sn.manualSeed(seed);
  const custom = new Chain();
  const seq = new sn.Sequential(...custom.stem.children().map(([, m]) => m), ...[...custom.blocks], ...custom.head.children().map(([, m]) => m));
  const x = input([3, 2, 6, 5], rand), dy = input([3, 3], rand);
  const a = custom.forward(x).toArray();
  const dxa = custom.backward(dy).toArray();
  const ga = gradBits(custom);
  custom.zeroGrad();
  const b = seq.forward(x).toArray();
  const dxb = seq.backward(dy).toArray();
  assert.equal(a, b);
  assert.equal(dxa, dxb);
  assert.equal(gradBits(seq), ga);
  custom.dispose();
});

test('loss.backward() goes through every module that made the prediction; Module.backward stops at its input', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  const features = new sn.Sequential(new sn.Linear(4, 5), new sn.Tanh());
  const head = new sn.Linear(5, 3);
  const whole = new sn.Sequential(new sn.Linear(4, 5), new sn.Tanh(), new sn.Linear(5, 3));
  whole.loadStateDict({ '0.weight': features.at(0).weight.data, '0.bias': features.at(0).bias.data, '2.weight': head.weight.data, '2.bias': head.bias.data });
  const x = sn.tensor(Float32Array.from(randn(24, rand)), [6, 4], { requiresGrad: true }), labels = [0, 1, 2, 2, 1, 0];
  const ce = new sn.CrossEntropyLoss();
  ce.forward(head.forward(features.forward(x)), labels).backward();
  assert.equal([...x.grad.shape], [6, 4], 'the gradient of the input the first module was given');
  const dxSplit = [...x.grad.toArray()];
  x.grad = null;
  ce.forward(whole.forward(x), labels).backward();
  assert.equal([...gradBits(features), ...gradBits(head)], gradBits(whole), `seed ${seed}: both modules got their gradients`);
  assert.equal([...x.grad.toArray()], dxSplit, `seed ${seed}: the same input gradient through two modules as through one`);
  // Module.backward of the head alone: the features get nothing more.
  const featureGrads = gradBits(features);
  head.forward(features.forward(x));
  head.backward(input([6, 3], rand));
  assert.equal(gradBits(features), featureGrads);
  for (const m of [features, head, whole]) m.dispose();
});

test('Module.backward of a module of your own returns dL/dx of its input and stops there', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  class Head extends sn.Module {
    constructor() { super(); this.fc = new sn.Linear(4, 3); this.act = new sn.Tanh(); }
    forward(x) { return this.act.forward(this.fc.forward(x)); }
  }
  const before = new sn.Linear(3, 4), head = new Head();
  const x = before.forward(input([5, 3], rand)), dy = input([5, 3], rand);
  head.forward(x);
  const dx = head.backward(dy);
  assert.equal([...dx.shape], [5, 4]);
  assert.ok(before.weight.grad.toArray().every((v) => v === 0), 'nothing reached the layer before');
  // The same as the layers back-propagated one by one.
  const xv = values(x), W = values(head.fc.weight.data), b = values(head.fc.bias.data);
  const t = ref.tanh(ref.linear(xv, W, b, 4, 3));
  const dz = values(dy).map((g, i) => g * (1 - Math.fround(t[i]) ** 2));
  const expected = new Float64Array(20);
  for (let r = 0; r < 5; r++) for (let i = 0; i < 4; i++) for (let o = 0; o < 3; o++) expected[r * 4 + i] += dz[r * 3 + o] * W[o * 4 + i];
  assertClose(dx.toArray(), expected, { rtol: 1e-4, atol: 1e-5, what: `seed ${seed} dx` });
  before.dispose(); head.dispose();
});

test('a module called twice in one forward is refused at the second call in training; eval() and sn.noGrad allow it', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  class Twice extends sn.Module {
    constructor() { super(); this.bn = new sn.BatchNorm1d(4); this.fc = new sn.Linear(4, 4); }
    forward(x) { return this.fc.forward(this.fc.forward(this.bn.forward(x))); }
  }
  const model = new Twice();
  const x = input([5, 4], rand);
  const before = stateBits(model);
  throwsWith(() => model.forward(x), /^fc \(Linear\(in_features=4, out_features=4, bias=True\)\): called a second time in one forward pass; in training mode a module keeps the activations of one call for backward\(\), .*use a separate instance for each call/);
  assert.equal(stateBits(model), before, 'refused in the dry run: the running statistics are untouched');
  model.eval();
  const evalOut = model.forward(x).toArray();
  model.train();
  const noGradOut = sn.noGrad(() => model.forward(x)).toArray();
  assert.equal(evalOut.length, 20);
  assert.equal(noGradOut.length, 20);
  // Sequentials hold a layer once: add() refuses it already.
  model.dispose();
});

test('sn.noGrad records nothing, returns the function\'s value, nests, and restores on an Error', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  const model = new Chain();
  const x = input([2, 2, 5, 5], rand);
  const y = sn.noGrad(() => model.forward(x));
  assert.is(y.node, null, 'no graph node');
  throwsWith(() => new sn.MSELoss().forward(y, sn.tensor(new Float32Array(6), [2, 3])).backward(), /^Chain: backward\(\): its last forward\(\) recorded nothing to back-propagate through \(it ran inside sn\.noGrad\(\)\)/);
  throwsWith(() => new sn.MSELoss().forward(sn.tensor(new Float32Array(6), [2, 3]), y).backward(), /^loss\.backward\(\): the prediction was not produced by a module's forward\(\) or a functional op with gradients \(or it was, inside sn\.noGrad\(\)\)/);
  throwsWith(() => model.backward(sn.tensor(new Float32Array(6), [2, 3])), /^Chain: backward\(\): its last forward\(\) recorded nothing to back-propagate through \(it ran inside sn\.noGrad\(\)\)/);
  // A layer run inside noGrad keeps its activations and back-propagates by itself, as before.
  const lin = new sn.Linear(2, 2);
  const ly = sn.noGrad(() => lin.forward(sn.tensor([1, 2], [1, 2])));
  new sn.MSELoss().forward(ly, sn.tensor([0, 0], [1, 2])).backward();
  assert.ok(lin.weight.grad.toArray().some((v) => v !== 0));
  assert.is(sn.noGrad(() => sn.noGrad(() => 7)), 7);
  throwsWith(() => sn.noGrad(() => { throw new Error('inner'); }), /^inner$/);
  assert.ok(model.forward(x).node, 'recording again after the Error');
  throwsWith(() => sn.noGrad(5), /^sn\.noGrad: expected a function to run, got number$/);
  model.dispose(); lin.dispose();
});

test('every forward is checked on shapes first: errors name the module path and nothing changes', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  class Block extends sn.Module {
    constructor(c) { super(); this.conv1 = new sn.Conv2d(c, c, 3, { padding: 1 }); this.bn1 = new sn.BatchNorm2d(c); this.conv2 = new sn.Conv2d(c, c, 3, { padding: 1 }); }
    forward(x) { return this.conv2.forward(this.bn1.forward(this.conv1.forward(x))); }
  }
  class Net extends sn.Module {
    constructor() {
      super();
      this.layer1 = new sn.Sequential(new Block(2), new Block(2));
      // conv2 of the second block takes 3 channels where 2 arrive: found before anything runs.
      this.layer2 = new sn.Sequential(new Block(2), new Block(2));
      this.layer2.at(1).conv2 = new sn.Conv2d(3, 2, 3, { padding: 1 });
    }
    forward(x) { return this.layer2.forward(this.layer1.forward(x)); }
  }
  const net = new Net();
  const before = stateBits(net);
  throwsWith(() => net.forward(input([2, 2, 4, 4], rand)), /^layer2\.1\.conv2 \(Conv2d\(3, 2, kernel_size=\(3, 3\), stride=\(1, 1\), padding=\(1, 1\)\)\): expected input of shape \[N, 3, H, W\], got \[2, 2, 4, 4\]$/);
  throwsWith(() => net.outputShape([2, 2, 4, 4]), /^layer2\.1\.conv2 \(Conv2d\(3, 2, .*\)\): expected input of shape \[N, 3, H, W\]/);
  assert.equal(stateBits(net), before, 'no BatchNorm updated its statistics');
  net.layer2.at(1).conv2 = new sn.Conv2d(2, 2, 3, { padding: 1 });
  const fixed = stateBits(net);
  assert.equal(net.outputShape([2, 2, 4, 4]), [2, 2, 4, 4]);
  assert.equal(stateBits(net), fixed, 'a dry run changes nothing');
  assert.equal([...net.forward(input([2, 2, 4, 4], rand)).shape], [2, 2, 4, 4]);
  net.dispose();
});

test('an Error after a BatchNorm ran inside a module of your own puts the running statistics back; its last graph is refused', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  /** Fails in its kernels (after the checks and the dry run), when armed. */
  class Failing extends sn.Module {
    constructor() { super(); this.armed = false; }
    toString() { return 'Failing()'; }
    outputShape(s) { return [...s]; }
    forwardDevice(x) { if (this.armed) throw new Error('Failing(): failed on purpose'); return new sn.Tensor(x.shape, x.block, x.ptr); }
    backwardDevice(dy) { return dy; }
  }
  class Net extends sn.Module {
    constructor() { super(); this.fc = new sn.Linear(3, 4); this.bn = new sn.BatchNorm1d(4); this.inner = new sn.Sequential(new Failing()); }
    forward(x) { return this.inner.forward(sn.relu(this.bn.forward(this.fc.forward(x)))); }
  }
  const net = new Net(), mse = new sn.MSELoss();
  const x = input([5, 3], rand), target = input([5, 4], rand);
  const loss = mse.forward(net.forward(x), target);
  const before = stateBits(net), grads = gradBits(net);
  net.inner.at(0).armed = true;
  throwsWith(() => net.forward(x), /^inner\.0 \(Failing\(\)\): failed on purpose$/);
  assert.equal(stateBits(net), before, `seed ${seed}: the running statistics were put back`);
  throwsWith(() => loss.backward(), /^loss\.backward\(\): Net has run forward\(\) again since it produced this loss's prediction/);
  throwsWith(() => net.backward(target), /^Net: backward\(\): its last forward\(\) failed part way/);
  assert.equal(gradBits(net), grads, 'no gradient accumulated');
  net.inner.at(0).armed = false;
  mse.forward(net.forward(x), target).backward();
  assert.not.equal(gradBits(net), grads);
  net.dispose(); mse.dispose();
});

test('the dry run runs forward() on shapes only: reading a value there is a clear Error; user errors pass through', () => {
  class Peeks extends sn.Module {
    constructor() { super(); this.fc = new sn.Linear(2, 2); }
    forward(x) { const y = this.fc.forward(x); if (y.toArray()[0] > 0) return y; return y; }
  }
  const m = new Peeks();
  throwsWith(() => m.forward(sn.tensor([1, 2], [1, 2])), /^Peeks: simdnet: this tensor has a shape but no values: it belongs to a shape-only dry run of forward\(\)/);
  class Buggy extends sn.Module { forward(x) { return x.nothing.here; } }
  assert.throws(() => new Buggy().forward(sn.tensor([1], [1])), (e) => e instanceof TypeError);
  class NotATensor extends sn.Module { forward() { return 3; } }
  throwsWith(() => new NotATensor().outputShape([1]), /^NotATensor\(\): forward\(\) returned 3, not a Tensor$/);
  m.dispose();
});

test('a module may take several inputs; a layer subclass may wrap its own forward around super.forward', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  class Two extends sn.Module {
    constructor() { super(); this.fa = new sn.Linear(3, 4); this.fb = new sn.Linear(2, 4); }
    forward(a, b) { return sn.mul(this.fa.forward(a), this.fb.forward(b)); }
  }
  const m = new Two();
  assert.equal(m.outputShape([5, 3], [5, 2]), [5, 4]);
  throwsWith(() => m.outputShape([5, 3], [5, 3]), /^fb \(Linear\(in_features=2, out_features=4, bias=True\)\): expected input of shape \[\*, 2\], got \[5, 3\]$/);
  const a = input([5, 3], rand), b = input([5, 2], rand), dy = input([5, 4], rand);
  const y = m.forward(a, b);
  const ha = values(m.fa.forward(a)), hb = values(m.fb.forward(b));
  assertClose(y.toArray(), ha.map((v, i) => v * hb[i]), { what: `seed ${seed} forward` });
  m.forward(a, b);
  const da = m.backward(dy);
  assert.equal([...da.shape], [5, 3], 'dL/d(first input)');
  const Wa = values(m.fa.weight.data), g = values(dy).map((v, i) => v * Math.fround(hb[i]));
  const expected = new Float64Array(15);
  for (let r = 0; r < 5; r++) for (let i = 0; i < 3; i++) for (let o = 0; o < 4; o++) expected[r * 3 + i] += g[r * 4 + o] * Wa[o * 3 + i];
  assertClose(da.toArray(), expected, { what: `seed ${seed} dL/da` });
  assert.ok(m.fb.weight.grad.toArray().some((v) => v !== 0), 'the second input\'s branch got gradients');

  class ReluLinear extends sn.Linear {
    forward(x) { return sn.relu(super.forward(x)); }
  }
  const rl = new ReluLinear(3, 2);
  const plain = new sn.Linear(3, 2);
  plain.loadStateDict(rl.stateDict());
  assert.equal(rl.outputShape([4, 3]), [4, 2]);
  const x = input([4, 3], rand);
  assert.equal([...rl.forward(x).toArray()], [...plain.forward(x).toArray()].map((v) => Math.max(v, 0)));
  const d = input([4, 2], rand);
  rl.backward(d);
  const mask = Float32Array.from(plain.forward(x).toArray(), (v) => (v > 0 ? 1 : 0));
  plain.backward(sn.tensor(d.toArray().map((v, i) => v * mask[i]), [4, 2]));
  assert.equal([...rl.weight.grad.toArray()], [...plain.weight.grad.toArray()]);
  for (const mod of [m, rl, plain]) mod.dispose();
});

test('a module returning its input gives a new handle; an unused input gets a zero gradient', () => {
  class Pass extends sn.Module { constructor() { super(); this.fc = new sn.Linear(2, 2); } forward(x) { return x; } }
  const lin = new sn.Linear(2, 2);
  const h = lin.forward(sn.tensor([1, 2], [1, 2]));
  const p = new Pass();
  const out = p.forward(h);
  assert.is.not(out, h);
  assert.is(h.producer, lin, 'the caller\'s tensor keeps its producer');
  assert.equal([...p.backward(sn.tensor([3, 4], [1, 2])).toArray()], [3, 4]);
  lin.dispose(); p.dispose();
});

test('a training step of a module of your own grows neither the wasm heap nor anything kept between steps', async () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  const model = new TinyResNet();
  const opt = new sn.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const ce = new sn.CrossEntropyLoss();
  const x = input([4, 3, 6, 6], rand), labels = [0, 1, 2, 1];
  const step = () => {
    const out = model.forward(x);
    ce.forward(sn.softmax(out, 1), labels).backward();   // an op outside the model too
    opt.step();
    opt.zeroGrad();
    return out;
  };
  step(); step();
  const inUse = rt().heap.bytesInUse, reserved = rt().heap.bytesReserved;
  const retained = () => model.modules().map((m) => m.retainedCount());
  const kept = retained(), loose = looseSiteCount();
  const graph = new WeakRef(step().node);
  for (let i = 0; i < 40; i++) step();
  assert.is(rt().heap.bytesInUse, inUse);
  assert.is(rt().heap.bytesReserved, reserved);
  assert.equal(retained(), kept, 'every module keeps the same buffers and op sites');
  assert.is(looseSiteCount(), loose, 'the pool of ops outside modules did not grow');
  // An old step's graph is garbage: nothing global holds it.
  await new Promise((resolve) => setTimeout(resolve, 0));
  gc();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.is(graph.deref(), undefined, 'the graph of an earlier step was collected');
  model.dispose(); ce.dispose(); opt.dispose();
});

test.run();
