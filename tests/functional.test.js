// Functional ops (sn.add, sn.mul, sn.cat, sn.flatten, sn.reshape, sn.mean, the activations,
// sn.argmax) against float64 references on fresh random inputs over awkward shapes, forward and
// backward, and by finite differences; their errors; where their buffers live.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';
import { rng, freshSeed, randn, assertClose, numericGrad, maxAbs } from './helpers.js';
import * as ref from './reference.js';
import { OpModule } from './modules.js';

await sn.ready();

const throwsWith = (fn, re) => assert.throws(fn, (e) => e instanceof Error && re.test(e.message), `expected an Error matching ${re}`);

/**
 * Runs op(...inputs) through the graph and checks it against `f64` (the op in float64 on the
 * float32-rounded inputs): the output, and each input's gradient for a random dy, both against
 * the reference's finite differences.
 */
function checkOp(what, shapes, op, f64, rand, { scale = 1, fdTol = 2e-3 } = {}) {
  const xs = shapes.map((s) => ref.f32(randn(ref.sizeOf(s), rand, scale)));
  const m = new OpModule(xs, shapes, op);
  const y = m.forward();
  const { y: yRef, shape } = f64(...xs);
  assert.equal([...y.shape], shape, `${what}: shape`);
  assertClose(y.toArray(), yRef, { rtol: 2e-6, atol: 2e-6 * Math.max(1, maxAbs(yRef)), what: `${what}: forward` });
  const dy = ref.f32(randn(ref.sizeOf(shape), rand));
  m.backward(sn.tensor(Float32Array.from(dy), shape));
  xs.forEach((x, i) => {
    const g = numericGrad(() => ref.dot(dy, f64(...xs).y), x, 1e-6);
    assertClose(m[`p${i}`].grad.toArray(), g, { rtol: fdTol, atol: fdTol * Math.max(1, maxAbs(g)), what: `${what}: gradient of input ${i} vs finite differences` });
  });
  m.dispose();
}

const BROADCASTS = [
  [[7], [7]], [[3, 5], [5]], [[2, 3, 4, 5], [2, 3, 1, 1]], [[2, 3, 4, 5], [3, 1, 1]], [[1, 3, 1], [2, 1, 4]],
  [[7, 1], [1, 6]], [[], [3, 2]], [[2, 1, 3], [2, 5, 3]], [[4, 3], [4, 3]], [[2, 3, 5, 5], [1, 3, 5, 1]],
  // Both operands expand, in patterns the kernels take in one call and in several.
  [[4, 1, 3, 1], [1, 5, 1, 2]], [[3], [4, 1]], [[2, 1, 1, 3, 1], [1, 2, 3, 1, 2]],
];

for (const [name, fn, op] of [['add', sn.add, (a, b) => a + b], ['mul', sn.mul, (a, b) => a * b]]) {
  test(`sn.${name} with broadcasting matches float64 and finite differences, both operands`, () => {
    const seed = freshSeed(), rand = rng(seed);
    sn.manualSeed(seed);
    for (const [a, b] of BROADCASTS) {
      checkOp(`seed ${seed} sn.${name} ${JSON.stringify(a)} ${JSON.stringify(b)}`, [a, b], fn,
        (x, y) => ref.broadcast(x, a, y, b, op), rand);
    }
  });

  test(`sn.${name} with a number: either side; the gradient goes to the tensor`, () => {
    const seed = freshSeed(), rand = rng(seed);
    sn.manualSeed(seed);
    const s = Math.fround(randn(1, rand, 3)[0]);
    checkOp(`seed ${seed} sn.${name}(x, ${s})`, [[3, 4, 5]], (x) => fn(x, s), (x) => ({ y: x.map((v) => op(v, s)), shape: [3, 4, 5] }), rand);
    checkOp(`seed ${seed} sn.${name}(${s}, x)`, [[6]], (x) => fn(s, x), (x) => ({ y: x.map((v) => op(s, v)), shape: [6] }), rand);
  });
}

test('sn.cat along any dimension matches float64; gradients split back', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  for (const [shapes, dim] of [[[[2, 3], [2, 5]], 1], [[[1, 2, 3], [4, 2, 3]], 0], [[[2, 3, 4], [2, 1, 4], [2, 2, 4]], -2], [[[5], [1], [2]], 0], [[[2, 2, 3, 1], [2, 2, 3, 2]], 3]]) {
    checkOp(`seed ${seed} sn.cat ${JSON.stringify(shapes)} dim ${dim}`, shapes, (...ts) => sn.cat(ts, dim), (...xs) => ref.cat(xs, shapes, dim), rand);
  }
});

test('sn.mean over any dimensions, keepdim or not, matches float64; the gradient spreads evenly', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  for (const [shape, dims, keepdim] of [[[2, 3, 4, 5], [2, 3], false], [[2, 3, 4, 5], [0, 2], true], [[3, 4], undefined, false], [[2, 3, 4], -1, true],
    [[5], 0, false], [[2, 1, 3], [1], false], [[3, 1, 4, 2], [1, 3], true], [[2, 3, 7, 7], [-1, -2], false]]) {
    const list = dims === undefined ? shape.map((_, i) => i) : typeof dims === 'number' ? [dims] : dims;
    checkOp(`seed ${seed} sn.mean ${JSON.stringify(shape)} ${JSON.stringify(dims)} ${keepdim}`, [shape], (x) => sn.mean(x, dims, keepdim),
      (x) => ref.mean(x, shape, list, keepdim), rand);
  }
});

test('sn.flatten and sn.reshape are views: same memory, gradients pass through', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  checkOp(`seed ${seed} sn.flatten(x, 1)`, [[2, 3, 4]], (x) => sn.flatten(x, 1), (x) => ({ y: x, shape: [2, 12] }), rand);
  checkOp(`seed ${seed} sn.flatten(x)`, [[2, 3, 4]], (x) => sn.flatten(x), (x) => ({ y: x, shape: [24] }), rand);
  checkOp(`seed ${seed} sn.flatten(x, 1, 2)`, [[2, 3, 4, 5]], (x) => sn.flatten(x, 1, 2), (x) => ({ y: x, shape: [2, 12, 5] }), rand);
  checkOp(`seed ${seed} sn.reshape`, [[2, 6]], (x) => sn.reshape(x, [3, -1, 2]), (x) => ({ y: x, shape: [3, 2, 2] }), rand);
  // A view of a layer's output shares its memory, and goes stale with it.
  const lin = new sn.Linear(3, 4);
  const h = lin.forward(sn.tensor(new Float32Array(6).fill(1), [2, 3]));
  const v = sn.flatten(h);
  assert.is(v.ptr, h.ptr);
  assert.equal([...v.shape], [8]);
  lin.forward(sn.tensor(new Float32Array(6), [2, 3]));
  throwsWith(() => v.toArray(), /overwritten by a later forward\(\) of Linear/);
  assert.equal([...sn.reshape(sn.tensor([1, 2, 3, 4, 5, 6]), [2, 3]).shape], [2, 3]);
  lin.dispose();
});

const ACTIVATIONS = [
  ['relu', (x) => sn.relu(x), (v) => Math.max(v, 0)],
  ['leakyRelu', (x) => sn.leakyRelu(x), (v) => (v > 0 ? v : v * Math.fround(0.01))],
  ['leakyRelu(0.2)', (x) => sn.leakyRelu(x, 0.2), (v) => (v > 0 ? v : v * Math.fround(0.2))],
  ['sigmoid', (x) => sn.sigmoid(x), (v) => 1 / (1 + Math.exp(-v))],
  ['tanh', (x) => sn.tanh(x), Math.tanh],
  ['relu6', (x) => sn.relu6(x), (v) => Math.min(Math.max(v, 0), 6)],
  ['hardswish', (x) => sn.hardswish(x), ref.hardswish],
  ['silu', (x) => sn.silu(x), (v) => v * ref.logistic(v)],
  ['gelu', (x) => sn.gelu(x), (v) => v * ref.normalCdf(v)],
  ["gelu({ approximate: 'tanh' })", (x) => sn.gelu(x, { approximate: 'tanh' }), ref.geluTanh],
  ['elu', (x) => sn.elu(x), ref.elu(1)],
  ['elu(0.3)', (x) => sn.elu(x, 0.3), ref.elu(Math.fround(0.3))],
];

test('the activations match float64 and finite differences on awkward shapes', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  for (const [name, fn, f] of ACTIVATIONS) {
    for (const shape of [[7], [3, 5], [2, 3, 4, 5], [1]]) {
      checkOp(`seed ${seed} sn.${name} ${JSON.stringify(shape)}`, [shape], fn, (x) => ({ y: x.map(f), shape }), rand, { scale: 3 });
    }
  }
});

test('sn.softmax and sn.logSoftmax along any dimension match float64 and finite differences', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  for (const log of [false, true]) {
    for (const [shape, dim] of [[[4, 7], 1], [[4, 7], -1], [[3, 5, 4], 1], [[2, 3, 4, 5], 0], [[6], 0]]) {
      checkOp(`seed ${seed} ${log ? 'logSoftmax' : 'softmax'} ${JSON.stringify(shape)} dim ${dim}`, [shape],
        (x) => (log ? sn.logSoftmax(x, dim) : sn.softmax(x, dim)), (x) => ({ y: ref.softmax(x, shape, dim, log), shape }), rand, { scale: 2 });
    }
  }
});

test('sn.argmax: along a dimension or over everything, the first of equals, NaN counts as largest', () => {
  const x = sn.tensor([1, 5, 5, 2, 9, 0, 3, 3, 1, -1, NaN, 4], [2, 2, 3]);
  assert.equal([...sn.argmax(x, 2)], [1, 1, 0, 1]);
  assert.equal([...sn.argmax(x, 0)], [1, 0, 0, 0, 1, 1]);
  assert.equal([...sn.argmax(x, -2)], [1, 1, 0, 0, 1, 1]);
  assert.equal([...sn.argmax(x)], [10]);
  assert.ok(sn.argmax(x, 1) instanceof Int32Array);
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  const v = Float32Array.from(randn(5 * 7, rand));
  const rows = sn.argmax(sn.tensor(v, [5, 7]), 1);
  for (let r = 0; r < 5; r++) {
    const row = [...v.subarray(r * 7, r * 7 + 7)];
    assert.is(rows[r], row.indexOf(Math.max(...row)), `seed ${seed} row ${r}`);
  }
  throwsWith(() => sn.argmax(x, 3), /^sn\.argmax: dim 3 is out of range for a tensor of 3 dimensions \(expected an integer in \[-3, 2\]\)$/);
});

test('a tensor used twice gets the sum of its gradients; a parameter given to an op gets its gradient', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  // x · x + x: dL/dx = dy · (2x + 1).
  checkOp(`seed ${seed} x·x + x`, [[3, 4]], (x) => sn.add(sn.mul(x, x), x), (x) => ({ y: x.map((v) => v * v + v), shape: [3, 4] }), rand);
  // A branch that rejoins: relu(x) + tanh(x) · x.
  checkOp(`seed ${seed} relu(x) + tanh(x)·x`, [[2, 5]], (x) => sn.add(sn.relu(x), sn.mul(sn.tanh(x), x)),
    (x) => ({ y: x.map((v) => Math.max(v, 0) + Math.tanh(v) * v), shape: [2, 5] }), rand);
  // A learnable per-channel gain, as a module of your own holds one.
  class Gain extends sn.Module {
    constructor(c) { super(); this.fc = new sn.Linear(3, c); this.gain = new sn.Parameter([c], Float32Array.from({ length: c }, (_, i) => i + 1)); }
    forward(x) { return sn.mul(this.fc.forward(x), this.gain); }
  }
  const g = new Gain(4);
  const x = sn.tensor(Float32Array.from(randn(6, rand)), [2, 3]);
  const h = g.fc.forward(x).toArray();
  g.forward(x);
  const dy = Float32Array.from(randn(8, rand));
  g.backward(sn.tensor(dy, [2, 4]));
  const expected = [0, 1, 2, 3].map((c) => dy[c] * h[c] + dy[4 + c] * h[4 + c]);
  assertClose(g.gain.grad.toArray(), expected, { what: `seed ${seed} gain gradient` });
  g.dispose();
});

test('op errors name the op, the argument and the shapes, and the module path inside a module', () => {
  const t = (s) => sn.tensor(new Float32Array(ref.sizeOf(s)), s);
  throwsWith(() => sn.add(t([2, 3]), t([4])), /^sn\.add: the shapes \[2, 3\] \(a\) and \[4\] \(b\) do not broadcast: dimension -1 is 3 in a and 4 in b \(each dimension must be equal, or 1 in one of them; shapes are aligned on the right, as in PyTorch\)$/);
  // A per-channel operand lines up with trailing 1s, as in PyTorch; the message says how.
  throwsWith(() => sn.mul(t([2, 4, 5, 5]), t([4])), /do not broadcast: .*; to apply b along dimensions 1\.\.1 of \[2, 4, 5, 5\], give it the shape \[4, 1, 1\] \(sn\.reshape\)$/);
  throwsWith(() => sn.mul(t([2, 4]), t([2, 4, 5, 5])), /; to apply a along dimensions 0\.\.1 of \[2, 4, 5, 5\], give it the shape \[2, 4, 1, 1\] \(sn\.reshape\)$/);
  throwsWith(() => sn.mul(t([2]), 'x'), /^sn\.mul: b must be a Tensor or a finite number, got the string 'x'$/);
  throwsWith(() => sn.add(2, 3), /^sn\.add: a and b are both numbers \(2, 3\); one must be a Tensor$/);
  throwsWith(() => sn.add([1, 2], t([2])), /^sn\.add: a must be a Tensor or a finite number, got an Array of 2 numbers; wrap it with sn\.tensor\(data, shape\)$/);
  throwsWith(() => sn.relu(sn.tensor(BigInt64Array.of(1n), [1])), /^sn\.relu: x must be a float32 tensor, got int64$/);
  throwsWith(() => sn.relu(sn.tensor([1, NaN], [2])), /^sn\.relu: x: 1 of 2 values are NaN or infinite$/);
  throwsWith(() => sn.cat([]), /^sn\.cat: expected a non-empty array of tensors, got an empty Array$/);
  throwsWith(() => sn.cat([t([2, 3]), t([3, 3])], 1), /^sn\.cat: tensors\[1\] has shape \[3, 3\], tensors\[0\] \[2, 3\]; they must match in every dimension but 1$/);
  throwsWith(() => sn.cat([t([2, 3])], 2), /^sn\.cat: dim 2 is out of range for tensors of 2 dimensions/);
  throwsWith(() => sn.flatten(t([2, 3]), 2), /^sn\.flatten: cannot flatten dimensions 2\.\.-1 of a tensor of shape \[2, 3\]$/);
  throwsWith(() => sn.reshape(t([2, 3]), [4, -1]), /^sn\.reshape: a tensor of shape \[2, 3\] \(6 values\) cannot be viewed as \[4, -1\]$/);
  throwsWith(() => sn.reshape(t([2, 3]), [-1, -1]), /^sn\.reshape: only one dimension may be -1, got \[-1, -1\]$/);
  throwsWith(() => sn.mean(t([2, 3]), [1, -1]), /^sn\.mean: dimension 1 appears twice in dims$/);
  throwsWith(() => sn.mean(t([2, 3]), 2), /^sn\.mean: dims 2 is out of range for a tensor of 2 dimensions/);
  throwsWith(() => sn.softmax(t([2, 3])), /^sn\.softmax: dim undefined is out of range for a tensor of shape \[2, 3\] .*dim has no default, as in PyTorch/);
  throwsWith(() => sn.leakyRelu(t([2]), NaN), /^sn\.leakyRelu: negativeSlope must be a finite number, got NaN$/);
  throwsWith(() => sn.elu(t([2]), Infinity), /^sn\.elu: alpha must be a finite number, got Infinity$/);
  throwsWith(() => sn.gelu(t([2]), { approximate: 'fast' }), /^sn\.gelu: approximate must be 'none' or 'tanh', got the string 'fast'$/);
  class SE extends sn.Module {
    constructor() { super(); this.squeeze = new sn.Linear(4, 3); }
    forward(x) { return sn.mul(x, sn.reshape(this.squeeze.forward(sn.mean(x, [2, 3])), [-1, 3, 1, 1])); }
  }
  class Net extends sn.Module { constructor() { super(); this.blocks = new sn.ModuleList([new SE()]); } forward(x) { return this.blocks.at(0).forward(x); } }
  const net = new Net();
  throwsWith(() => net.forward(t([2, 4, 5, 5])), /^blocks\.0 \(SE\): sn\.mul: the shapes \[2, 4, 5, 5\] \(a\) and \[2, 3, 1, 1\] \(b\) do not broadcast/);
  throwsWith(() => net.outputShape([2, 4, 5, 5]), /^blocks\.0 \(SE\): sn\.mul: the shapes/);
  net.dispose();
});

test('ops inside a module use its buffers: freed by dispose(), the same every step', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  class Res extends sn.Module {
    constructor() { super(); this.fc = new sn.Linear(6, 6); }
    forward(x) { return sn.mean(sn.relu(sn.add(this.fc.forward(x), x)), 1); }
  }
  const before = rt().heap.bytesInUse;
  const m = new Res();
  const x = sn.tensor(Float32Array.from(randn(30, rand)), [5, 6]);
  const step = () => { m.forward(x); m.backward(sn.tensor(new Float32Array(5).fill(1), [5])); };
  step();
  const inUse = rt().heap.bytesInUse;
  for (let i = 0; i < 20; i++) step();
  assert.is(rt().heap.bytesInUse, inUse, 'no allocation after the first step');
  m.dispose();
  assert.is(rt().heap.bytesInUse, before, 'dispose() freed the ops\' buffers with the module');
});

test('ops outside any module: a pool reused after each loss.backward(), and a clear Error past 10,000 unreleased ops', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  const model = new sn.Linear(4, 3);
  const ce = new sn.CrossEntropyLoss();
  const x = sn.tensor(Float32Array.from(randn(8, rand)), [2, 4]);
  const step = () => ce.forward(sn.mul(sn.relu(model.forward(x)), 2), [0, 2]).backward();
  step(); step();
  const inUse = rt().heap.bytesInUse;
  for (let i = 0; i < 30; i++) step();
  assert.is(rt().heap.bytesInUse, inUse, 'the loose ops reuse their buffers after each backward');
  // A gradient through loose ops is the same as through the module alone, scaled.
  model.zeroGrad();
  ce.forward(sn.mul(model.forward(x), 2), [0, 2]).backward();
  const twice = model.weight.grad.toArray();
  model.zeroGrad();
  const y = model.forward(x);
  const manual = ce.forward(sn.tensor(y.toArray().map((v) => 2 * v), [2, 3]), [0, 2]).gradient.toArray().map((v) => 2 * v);
  model.backward(sn.tensor(Float32Array.from(manual), [2, 3]));
  assertClose(twice, model.weight.grad.toArray(), { what: `seed ${seed} weight gradient through sn.mul` });
  // Inference loops belong in sn.noGrad (each block restarts the pool) or in a module.
  model.eval();
  for (let i = 0; i < 3; i++) sn.noGrad(() => { for (let k = 0; k < 4000; k++) sn.relu(x); });
  throwsWith(() => { for (let k = 0; k < 10001; k++) sn.relu(x); }, /^sn\.relu: 10000 functional ops have run outside any module since the last loss\.backward\(\);.*run inference inside sn\.noGrad/);
  sn.noGrad(() => sn.relu(x));
  model.dispose(); ce.dispose();
});

test('an op given its own earlier result computes from a copy', () => {
  const a = sn.relu(sn.tensor([1, -2, 3], [3]));
  const lin = new sn.Linear(3, 3);
  const ce = new sn.CrossEntropyLoss();
  ce.forward(lin.forward(sn.tensor([1, 2, 3], [1, 3])), [0]).backward();   // the loose pool restarts: the next op is op 0 again
  const b = sn.add(a, a);
  assert.equal([...b.toArray()], [2, 0, 6]);
  lin.dispose(); ce.dispose();
});

test.run();
