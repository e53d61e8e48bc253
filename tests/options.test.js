// The option checker's value descriptions and typo suggestions, and what the checks let through:
// absent (undefined) options take their defaults, a batch size beyond the data is one batch,
// int64 labels train as int32 ones, and an optimizer over part of a model freezes the rest.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { describe, closest } from 'simdnet/internal';

await sn.ready();

const silent = { verbose: 0 };
const spiral = () => sn.data.spiral({ pointsPerClass: 20, classes: 3, noise: 0.1, seed: 5 });
const mlp = () => new sn.Sequential(new sn.Linear(2, 8), new sn.ReLU(), new sn.Linear(8, 3));
const weights = (model) => Object.values(model.stateDict()).map((t) => [...t.toArray()]);

test('describe names scalars by value and everything else by type and size', () => {
  const cases = [
    [undefined, 'undefined'], [null, 'null'], [true, 'true'], [1.5, '1.5'], [NaN, 'NaN'], [-Infinity, '-Infinity'], [-0, '-0'],
    ['true', "the string 'true'"], ['', 'an empty string'], ["it's\n", "the string 'it\\'s\\n'"],
    ['x'.repeat(100), `the string '${'x'.repeat(40)}…' (100 characters)`],
    [12n, 'the bigint 12n'], [Symbol('s'), 'a symbol'],
    [[], 'an empty Array'], [[1], 'an Array of 1 number'], [new Array(60000).fill(0), 'an Array of 60000 numbers'],
    [['a', 'b'], 'an Array of 2 strings'], [[1, 'a'], 'an Array of 2 values'],
    [new Float32Array(784), 'a Float32Array of 784 values'], [new Uint8Array(3), 'a Uint8Array of 3 values'],
    [new BigInt64Array(2), 'a BigInt64Array of 2 values'], [new Int32Array(1), 'an Int32Array of 1 value'],
    [new ArrayBuffer(16), 'an ArrayBuffer of 16 bytes'], [new Map([[1, 2]]), 'a Map of 1 entry'],
    [{}, 'an empty object'], [{ a: 1, b: 2 }, 'an object with keys a, b'], [{ a: 1, b: 2, c: 3, d: 4, e: 5 }, 'an object with keys a, b, c, d, … (5 keys)'],
    [sn.tensor([1, 2, 3, 4], [2, 2]), 'a float32 Tensor of shape [2, 2]'],
    [new sn.ReLU(), 'the module ReLU()'], [new Date(0), 'a Date'], [Promise.resolve(1), 'a Promise (a missing await?)'],
    [function named() {}, 'the function named'], [sn.Linear, 'the class Linear (a constructor, not an instance: a missing new?)'],
  ];
  for (const [value, expected] of cases) assert.is(describe(value), expected);
  // A hostile value cannot break (or run code into) a message.
  const hostile = new Proxy({}, { getPrototypeOf() { throw new Error('boom'); } });
  assert.is(describe(hostile), 'a value that cannot be described');
});

test('closest suggests a key only for a likely typo', () => {
  const keys = ['epochs', 'batchSize', 'weightDecay', 'bias'];
  assert.is(closest('epoch', keys), 'epochs');
  assert.is(closest('batch_size', keys), 'batchSize');
  assert.is(closest('weight_decay', keys), 'weightDecay');
  assert.is(closest('bais', keys), 'bias');
  assert.is(closest('x', keys), null);
  assert.is(closest('momentum', keys), null);
});

test('undefined options count as absent and take their defaults', async () => {
  assert.ok(new sn.Linear(3, 2, { bias: undefined }).bias !== null);
  assert.is(new sn.BatchNorm1d(2, { momentum: undefined }).momentum, 0.1);
  const model = mlp();
  assert.is(new sn.Adam(model.parameters(), { lr: undefined, amsgrad: undefined }).amsgrad, false);
  assert.is(new sn.Adam(model.parameters(), { lr: undefined }).lr, 1e-3);
  assert.is(new sn.CrossEntropyLoss({ reduction: undefined }).reduction, 'mean');
  const { x, y } = spiral();
  const h = await model.fit(x, y, { epochs: undefined, batchSize: undefined, seed: 1, ...silent });
  assert.is(h.epoch.length, 1);
  // The boolean options still switch their feature off when given as booleans.
  assert.is(new sn.Linear(3, 2, { bias: false }).bias, null);
  assert.is(new sn.BatchNorm2d(2, { affine: false }).weight, null);
  assert.is(new sn.BatchNorm2d(2, { trackRunningStats: false }).runningMean, null);
  assert.is(new sn.Adam(model.parameters(), { amsgrad: true }).stateViews().length, 3 * model.parameters().length);
});

test('a batch size beyond the data is one batch of every row, as batchSize = N', async () => {
  const { x, y } = spiral();
  const run = async (batchSize) => {
    sn.manualSeed(11);
    const model = mlp();
    const h = await model.fit(x, y, { epochs: 3, batchSize, seed: 2, ...silent });
    return { batchLoss: h.batchLoss, weights: weights(model) };
  };
  const huge = await run(1e9), exact = await run(60);
  assert.is(huge.batchLoss.length, 3);
  assert.equal(huge, exact);
  // evaluate, predict and predictClasses take one too.
  const model = mlp();
  assert.equal(model.predictClasses(x, { batchSize: 2 ** 31 - 1 }), model.predictClasses(x));
  assert.equal(model.evaluate(x, y, { batchSize: 1e9 }), model.evaluate(x, y));
});

test('int64 labels (a BigInt64Array or an int64 Tensor) train exactly as int32 ones', async () => {
  const { x, y } = spiral();
  const run = async (labels) => {
    sn.manualSeed(4);
    const model = mlp();
    const h = await model.fit(x, labels, { epochs: 2, batchSize: 16, seed: 3, ...silent });
    return { loss: h.loss, accuracy: h.accuracy, weights: weights(model), eval: model.evaluate(x, labels) };
  };
  const int32 = await run(y);
  assert.equal(await run(BigInt64Array.from(y, BigInt)), int32);
  assert.equal(await run(new sn.Tensor([y.length], BigInt64Array.from(y, BigInt))), int32);
  const logits = sn.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.is(new sn.CrossEntropyLoss().forward(logits, BigInt64Array.of(2n, 0n)).value, new sn.CrossEntropyLoss().forward(logits, [2, 0]).value);
});

test('an optimizer over part of the model trains that part and leaves the rest as it was', async () => {
  const { x, y } = spiral();
  const model = mlp();
  const frozen = () => model.at(0).parameters().map((p) => [...p.data.toArray()]);
  const first = frozen();
  const last = model.at(2).weight.data.toArray();
  await model.fit(x, y, { epochs: 2, optimizer: new sn.SGD(model.at(2).parameters(), { lr: 0.5 }), ...silent });
  assert.equal(frozen(), first, 'the frozen layer is unchanged');
  assert.not.equal([...model.at(2).weight.data.toArray()], [...last], 'the trained layer changed');
});

test('a scheduler step that throws changes nothing, and the schedule then goes on as before', () => {
  const model = mlp();
  const opt = new sn.SGD(model.parameters(), { lr: 1 });
  const s = new sn.StepLR(opt, { stepSize: 1, gamma: 1e200 });
  s.step();
  assert.is(opt.lr, 1e200);
  assert.throws(() => s.step(), /SGD: lr must be a finite number ≥ 0, got Infinity/);
  assert.is(s.lastEpoch, 1);
  assert.is(opt.lr, 1e200);
  opt.lr = 0.5;
  const c = new sn.CosineAnnealingLR(opt, { tMax: 2 });
  c.step();
  assert.is(c.lastEpoch, 1);
  assert.ok(Math.abs(opt.lr - 0.25) < 1e-15);
});

test.run();
