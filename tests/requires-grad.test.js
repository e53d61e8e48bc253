// Input gradients on request, as PyTorch's requires_grad: loss.backward() computes the gradient of
// exactly the tensors made with sn.tensor(data, shape, { requiresGrad: true }) (a model's inputs,
// however many; operands of functional ops; a prediction given straight to a loss) into their
// .grad, summed over backward() calls until cleared, and no input gradient otherwise: the first
// layer's dx kernel does not run (its calls are counted and its dx buffer is never allocated).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rng, freshSeed, randf, assertClose, numericGrad } from './helpers.js';

await sn.ready();

const throwsWith = (fn, re) => assert.throws(fn, (e) => e instanceof Error && re.test(e.message), `expected an Error matching ${re}`);

/** Records the needInputGrad flag of every backward the layer runs (the layer still does its work). */
function spyInputGrad(layer) {
  const flags = [];
  const own = Object.getPrototypeOf(layer).backwardDevice;
  layer.backwardDevice = function (dy, needInputGrad) { flags.push(needInputGrad); return own.call(this, dy, needInputGrad); };
  return flags;
}

/** The gradient of `loss(x)` by central differences of the float32 forward, run inside sn.noGrad. */
function lossGradient(x64, loss) {
  return numericGrad(() => sn.noGrad(() => loss(Float32Array.from(x64))), x64, 1e-2);
}

const loose = (seed, what) => ({ rtol: 1e-2, atol: 1e-3, what: `seed ${seed}: ${what}` });

test('sn.tensor checks its options; requiresGrad and grad say what gets a gradient', () => {
  throwsWith(() => sn.tensor([1, 2], [2], { requiresGrad: 'yes' }), /^sn\.tensor: requiresGrad must be a boolean \(true or false\), got the string 'yes'$/);
  throwsWith(() => sn.tensor([1, 2], [2], { requires_grad: true }), /^sn\.tensor: unknown option 'requires_grad'; did you mean 'requiresGrad'\?/);
  throwsWith(() => sn.tensor([1, 2], [2], 5), /^sn\.tensor: options must be an object \{ requiresGrad\? \}, got 5$/);
  throwsWith(() => sn.tensor([1, 2], { requiresGrad: true }), /^sn\.tensor: shape must be an array of dimensions, got .* \(options come third: sn\.tensor\(data, shape, \{ requiresGrad \}\)\)$/);
  throwsWith(() => sn.tensor(new BigInt64Array(2), [2], { requiresGrad: true }), /^sn\.tensor: requiresGrad needs float32 data .*got a BigInt64Array \(int64\)$/);

  const plain = sn.tensor([1, 2], [1, 2]), off = sn.tensor([1, 2], [1, 2], { requiresGrad: false });
  const x = sn.tensor([1, 2], [1, 2], { requiresGrad: true });
  assert.equal([plain.requiresGrad, off.requiresGrad, x.requiresGrad], [false, false, true]);
  assert.equal([plain.grad, x.grad], [null, null], 'no gradient before a backward()');
  const lin = new sn.Linear(2, 3);
  assert.ok(lin.weight.data.requiresGrad, 'a parameter\'s data');
  assert.ok(lin.forward(plain).requiresGrad, 'a result computed from parameters');
  assert.not.ok(sn.noGrad(() => lin.forward(plain)).requiresGrad, 'nothing recorded inside sn.noGrad');
  throwsWith(() => { x.grad = sn.tensor([0, 0], [1, 2]); }, /^Tensor\.grad: only null may be assigned \(it clears the gradient, as PyTorch's x\.grad = None; backward\(\) fills it\), got /);
  x.grad = null;
  assert.is(x.grad, null);
  lin.dispose();
});

test('without requiresGrad the first conv skips its input gradient (and fit too); with it, x.grad matches finite differences', async () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  const net = new sn.Sequential(new sn.Conv2d(2, 3, 3, { padding: 1 }), new sn.Tanh(), new sn.Flatten(), new sn.Linear(3 * 5 * 5, 4));
  const conv = net.at(0), flags = spyInputGrad(conv);
  const shape = [2, 2, 5, 5], x64 = randf(50 * 2, rand), labels = [1, 3];
  const ce = new sn.CrossEntropyLoss();

  const plain = sn.tensor(Float32Array.from(x64), shape);
  assert.is(ce.forward(net.forward(plain), labels).backward(), undefined, 'backward() returns nothing');
  assert.equal(flags, [false], 'conv1 was asked for no input gradient');
  assert.is(conv.opBlockPeek('dx'), null, 'conv1 never allocated a dx buffer');
  assert.is(plain.grad, null);
  assert.ok(conv.weight.grad.toArray().some((v) => v !== 0), 'the parameters got their gradients');

  await net.fit(sn.tensor(Float32Array.from(x64), shape), Int32Array.from(labels), { epochs: 1, batchSize: 2, verbose: 0 });
  assert.equal(flags, [false, false], 'fit asks for no input gradient either');
  assert.is(conv.opBlockPeek('dx'), null);

  const x = sn.tensor(Float32Array.from(x64), shape, { requiresGrad: true });
  ce.forward(net.forward(x), labels).backward();
  assert.equal(flags, [false, false, true], 'asked for the input gradient when the input requires it');
  assert.is.not(conv.opBlockPeek('dx'), null);
  assert.equal([...x.grad.shape], shape);
  assert.ok(!x.grad.onDevice, 'a host tensor: it stays valid');
  const numeric = lossGradient(x64, (v) => ce.forward(net.forward(sn.tensor(v, shape)), labels).value);
  assertClose(x.grad.toArray(), numeric, loose(seed, 'dL/dx vs finite differences'));
  net.dispose();
});

/** Two conv branches fed by two inputs, joined by sn.cat: a model with several inputs. */
class TwoBranch extends sn.Module {
  constructor() {
    super();
    this.ca = new sn.Conv2d(1, 2, 3, { padding: 1 });
    this.cb = new sn.Conv2d(2, 2, 3);
    this.fc = new sn.Linear(2 * 4 * 4 + 2 * 2 * 2, 3);
  }
  forward(a, b) {
    const fa = sn.flatten(sn.tanh(this.ca.forward(a)), 1), fb = sn.flatten(sn.tanh(this.cb.forward(b)), 1);
    return this.fc.forward(sn.cat([fa, fb], 1));
  }
}

test('a model with two inputs: each input that requires a gradient gets it, and only those', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  const m = new TwoBranch(), fa = spyInputGrad(m.ca), fb = spyInputGrad(m.cb);
  const sa = [2, 1, 4, 4], sb = [2, 2, 4, 4], a64 = randf(32, rand), b64 = randf(64, rand), labels = [2, 0];
  const ce = new sn.CrossEntropyLoss();
  const lossOf = (a, b) => ce.forward(m.forward(sn.tensor(a, sa), sn.tensor(b, sb)), labels).value;

  const a = sn.tensor(Float32Array.from(a64), sa, { requiresGrad: true }), b = sn.tensor(Float32Array.from(b64), sb, { requiresGrad: true });
  ce.forward(m.forward(a, b), labels).backward();
  assert.equal([fa, fb], [[true], [true]]);
  assertClose(a.grad.toArray(), lossGradient(a64, (v) => lossOf(v, Float32Array.from(b64))), loose(seed, 'dL/da'));
  assertClose(b.grad.toArray(), lossGradient(b64, (v) => lossOf(Float32Array.from(a64), v)), loose(seed, 'dL/db'));

  // Only b requires it: a's branch skips its input gradient, b's gradient is the same bits.
  const aPlain = sn.tensor(Float32Array.from(a64), sa), b2 = sn.tensor(Float32Array.from(b64), sb, { requiresGrad: true });
  ce.forward(m.forward(aPlain, b2), labels).backward();
  assert.equal([fa.at(-1), fb.at(-1)], [false, true]);
  assert.is(aPlain.grad, null);
  assert.equal([...b2.grad.toArray()], [...b.grad.toArray()]);

  // Neither: no conv computes an input gradient, and the parameters still learn.
  m.zeroGrad();
  ce.forward(m.forward(aPlain, sn.tensor(Float32Array.from(b64), sb)), labels).backward();
  assert.equal([fa.at(-1), fb.at(-1)], [false, false]);
  assert.ok(m.ca.weight.grad.toArray().some((v) => v !== 0) && m.cb.weight.grad.toArray().some((v) => v !== 0));
  m.dispose();
});

test('operands of functional ops outside modules, a tensor used twice, a prediction given straight to a loss; grads add up until cleared', () => {
  const seed = freshSeed(), rand = rng(seed);
  const a64 = randf(6, rand), b64 = randf(6, rand), t64 = randf(6, rand);
  const a = sn.tensor(Float32Array.from(a64), [2, 3], { requiresGrad: true }), b = sn.tensor(Float32Array.from(b64), [2, 3]);
  const mse = new sn.MSELoss();
  const y = sn.mul(a, b);
  assert.ok(y.requiresGrad);
  mse.forward(y, sn.tensor(Float32Array.from(t64), [2, 3])).backward();
  const first = a.grad.toArray();
  const prod = a64.map((v, i) => Math.fround(v * b64[i]));
  assertClose(first, prod.map((p, i) => (2 * (p - t64[i]) / 6) * b64[i]), { rtol: 1e-5, atol: 1e-7, what: `seed ${seed}: dL/da of sn.mul` });
  assert.is(b.grad, null, 'b does not require a gradient');

  // A second backward adds to the gradient (as PyTorch's), until it is cleared.
  mse.forward(sn.mul(a, b), sn.tensor(Float32Array.from(t64), [2, 3])).backward();
  assert.equal([...a.grad.toArray()], [...first].map((v) => v * 2));
  a.grad = null;
  mse.forward(sn.mul(a, b), sn.tensor(Float32Array.from(t64), [2, 3])).backward();
  assert.equal([...a.grad.toArray()], [...first]);

  // Used twice: the sum of both gradients.
  const x = sn.tensor(Float32Array.from(a64), [2, 3], { requiresGrad: true });
  mse.forward(sn.add(x, x), sn.tensor(Float32Array.from(t64), [2, 3])).backward();
  assertClose(x.grad.toArray(), a64.map((v, i) => 2 * (2 * (Math.fround(2 * v) - t64[i]) / 6)), { rtol: 1e-5, atol: 1e-7, what: `seed ${seed}: dL/dx of sn.add(x, x)` });

  // The logits themselves: dL/dz = (softmax(z) − onehot) / N.
  const z = sn.tensor(Float32Array.from(a64), [2, 3], { requiresGrad: true });
  new sn.CrossEntropyLoss().forward(z, [2, 0]).backward();
  const expected = [0, 1].flatMap((n) => {
    const row = [...a64.slice(n * 3, n * 3 + 3)], e = row.map(Math.exp), s = e.reduce((p, q) => p + q);
    return e.map((v, c) => (v / s - (c === [2, 0][n] ? 1 : 0)) / 2);
  });
  assertClose(z.grad.toArray(), expected, { rtol: 1e-5, atol: 1e-7, what: `seed ${seed}: dL/dlogits` });
});

test.run();
