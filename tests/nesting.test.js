// Sequentials nested in code: at most 32 levels (as in model files), refused in add() with a clear
// Error rather than a stack overflow later; a layer already anywhere in the model is refused too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';

await sn.ready();

const bits = (model) => Object.entries(model.stateDict()).map(([k, t]) => [k, t.dtype === 'int64' ? [...t.toInt64Array()] : [...t.toArray()]]);
const input = sn.tensor(new Float32Array([0.5, -1]), [1, 2]);

/** The Error a call throws (fails the test when it does not throw). */
function thrown(f) {
  try { f(); } catch (e) { return e; }
  assert.unreachable('expected an Error');
}

test('32 nested Sequentials work through forward, backward, String, save and load; a 33rd level is refused', () => {
  let model = new sn.Sequential(new sn.Linear(2, 2));
  for (let i = 1; i < 32; i++) model = new sn.Sequential(model);
  model.eval();
  const out = [...model.forward(input).toArray()];
  assert.is(String(model).split('\n').length, 2 * 32 + 1);
  assert.is(Object.keys(model.stateDict())[0], `${'0.'.repeat(32)}weight`);
  const loaded = sn.Sequential.fromSafetensors(model.toSafetensors());
  assert.equal(bits(loaded), bits(model));
  assert.equal([...loaded.eval().forward(input).toArray()], out);
  model.train();
  const y = model.forward(input);
  assert.is(model.backward(sn.tensor(new Float32Array([1, 1]), [1, 2])).shape.length, 2, String(y.shape));

  model.eval();
  const before = String(model), state = bits(model);
  const error = thrown(() => new sn.Sequential(model));
  assert.instance(error, Error);
  assert.not.instance(error, RangeError);
  assert.match(error.message, /^Sequential\.add: adding Sequential \(1 layers\) would nest Sequentials 33 deep \(1 down to this one, 32 in the layer\); at most 32 are allowed, as in model files$/);
  assert.is(String(model), before);
  assert.equal(bits(model), state);
  assert.is(model.training, false, 'the refused layer kept its mode');
});

test('5,000 Sequentials nested in a loop stop at the limit with an Error, bottom-up and top-down', () => {
  let model = new sn.Sequential(new sn.ReLU());
  let depth = 1;
  const bottomUp = thrown(() => { for (; depth < 5000; depth++) model = new sn.Sequential(model); });
  assert.is(depth, 32);
  assert.match(bottomUp.message, /would nest Sequentials 33 deep .*at most 32 are allowed/);

  // Top-down, each new level added to the innermost one: its own depth is small, the model's is not.
  const root = new sn.Sequential();
  let innermost = root, levels = 1;
  const topDown = thrown(() => {
    for (; levels < 5000; levels++) { const next = new sn.Sequential(); innermost.add(next); innermost = next; }
  });
  assert.is(levels, 32);
  assert.match(topDown.message, /^Sequential\.add: adding Sequential \(0 layers\) would nest Sequentials 33 deep \(32 down to this one, 1 in the layer\)/);
  assert.is(innermost.length, 0, 'the refused level was not added');
  assert.not.throws(() => innermost.add(new sn.ReLU()), 'a layer that is not a Sequential adds no level');
  assert.match(thrown(() => innermost.add(new sn.Sequential(new sn.ReLU()))).message, /would nest Sequentials 33 deep/);
  assert.is(String(root).split('\n').length, 2 * 32 + 1);
  // A Sequential that another model holds counts that model's levels too.
  const shared = new sn.Sequential();
  new sn.Sequential(new sn.Sequential(shared));
  const chainOf = (n) => { let c = new sn.Sequential(); for (let i = 1; i < n; i++) c = new sn.Sequential(c); return c; };
  assert.match(thrown(() => shared.add(chainOf(30))).message, /would nest Sequentials 33 deep \(3 down to this one, 30 in the layer\)/);
  assert.not.throws(() => shared.add(chainOf(29)));
});

test('a layer already in the model is refused also when added to a nested Sequential', () => {
  const linear = new sn.Linear(2, 2);
  const inner = new sn.Sequential(new sn.ReLU());
  const model = new sn.Sequential(linear, new sn.Sequential(inner));
  const state = bits(model), text = String(model);
  for (const again of [linear, new sn.Sequential(new sn.Tanh(), linear), inner.at(0)]) {
    assert.match(thrown(() => inner.add(again)).message, /^Sequential\.add: (Linear\(in_features=2, out_features=2, bias=True\)|ReLU\(\)) is already in this model; a layer instance can run only once per forward/);
  }
  assert.match(thrown(() => inner.add(model)).message, /^Sequential\.add: a Sequential cannot contain itself$/);
  assert.is(inner.length, 1);
  assert.equal([String(model), bits(model)], [text, state]);
  // Another model may still hold the same layer.
  assert.not.throws(() => new sn.Sequential(new sn.Sequential(linear)));
});

test('add names what it got instead of a layer, by its type', () => {
  const model = new sn.Sequential(new sn.ReLU());
  for (const [bad, what] of [[sn.ReLU, 'the class ReLU \\(a constructor, not an instance: a missing new\\?\\)'], [null, 'null'], [undefined, 'undefined'],
    [new Array(100000).fill(1), 'an Array of 100000 numbers'], [{ forward() {} }, 'an object with key forward'], [sn.tensor(new Float32Array(4), [4]), 'a float32 Tensor of shape \\[4\\]'], [3, '3']]) {
    assert.match(thrown(() => model.add(bad)).message, new RegExp(`^Sequential\\.add: expected a layer \\(Module\\), got ${what}$`));
  }
  assert.is(model.length, 1);
});

test.run();
