// No kernel writes past its buffers: every allocation made here carries a guard pattern after it
// (the heap's test aid, like a sanitizer's red zones), and random layer geometries run forward,
// backward and optimizer steps with the guards checked after each. Values are checked against
// float64 references elsewhere; this file is about where the kernels write.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt, Block, f32 } from 'simdnet/internal';
import { rng, freshSeed, randn, randInt, randomConvGeometry } from './helpers.js';

await sn.ready();
const heap = rt().heap;
// Only while this file's tests run: uvu runs every test file in one process.
test.before(() => heap.guardAllocations(64));
test.after(() => heap.guardAllocations(0));

test('the guard catches a write one float past a buffer', () => {
  const b = new Block(40);
  heap.checkGuards();
  f32(b.ptr, 11)[10] = 1; // the 41st to 44th bytes
  assert.throws(() => heap.checkGuards(), /a write past the end of the 40-byte allocation at \d+, 0 bytes after it/);
  b.free(); // a release checks too: the error is reported once, at the next check
  assert.throws(() => heap.checkGuards(), /40-byte allocation/);
  heap.checkGuards();
});

const layers = {
  conv(int, rand) {
    const { C, O, kernel, options } = randomConvGeometry(rand);
    return [new sn.Conv2d(C, O, kernel, options), C];
  },
  maxPool(int, rand) {
    const k = [int(1, 5), int(1, 5)];
    return [new sn.MaxPool2d(k, { stride: [int(1, 3), int(1, 3)], padding: [int(0, k[0] >> 1), int(0, k[1] >> 1)], dilation: [int(1, 2), int(1, 2)], ceilMode: rand() < 0.5 }), int(1, 4)];
  },
  avgPool(int, rand) {
    const k = [int(1, 5), int(1, 5)];
    return [new sn.AvgPool2d(k, { stride: [int(1, 3), int(1, 3)], padding: [int(0, k[0] >> 1), int(0, k[1] >> 1)], ceilMode: rand() < 0.5, countIncludePad: rand() < 0.5 }), int(1, 4)];
  },
  adaptive: (int) => [new sn.AdaptiveAvgPool2d([int(1, 7), int(1, 7)]), int(1, 4)],
  batchNorm: (int) => { const C = int(1, 6); return [new sn.BatchNorm2d(C), C]; },
  activations: (int) => [new sn.Sequential(new sn.ReLU(), new sn.LeakyReLU(0.1), new sn.Sigmoid(), new sn.Tanh(), new sn.Dropout(0.3)), int(1, 5)],
  softmax: (int) => [new sn.Sequential(new sn.Softmax(1), new sn.LogSoftmax(1)), int(1, 5)],
};

for (const [name, make] of Object.entries(layers)) {
  test(`${name}: random geometries write only inside their buffers`, () => {
    const seed = freshSeed(), rand = rng(seed), int = (lo, hi) => randInt(rand, lo, hi);
    let ran = 0;
    for (let i = 0; i < 60; i++) {
      const [layer, C] = make(int, rand);
      const shape = [int(1, 3), C, int(1, 13), int(1, 13)];
      const x = sn.tensor(Float32Array.from(randn(shape.reduce((a, b) => a * b, 1), rand)), shape);
      let y;
      try {
        y = layer.forward(x);
      } catch (err) {
        assert.ok(/expected|too small|covers only padding|more than 1 value/.test(err.message), `seed ${seed}: ${layer} on [${shape}]: ${err.message}`);
        layer.dispose();
        continue;
      }
      const what = `seed ${seed}: ${layer} on [${shape}]`;
      heap.checkGuards();
      layer.backward(sn.tensor(Float32Array.from(randn(y.size, rand)), y.shape));
      heap.checkGuards();
      const params = layer.parameters();
      if (params.length) {
        const opt = new sn.Adam(params);
        opt.step();
        opt.dispose();
        heap.checkGuards();
      }
      assert.ok(y.toArray().every(Number.isFinite), what);
      layer.dispose();
      ran++;
    }
    assert.ok(ran >= 20, `seed ${seed}: only ${ran} of 60 geometries ran`);
  });
}

test('linear layers, losses and SGD with momentum write only inside their buffers', () => {
  const seed = freshSeed(), rand = rng(seed), int = (lo, hi) => randInt(rand, lo, hi);
  for (let i = 0; i < 60; i++) {
    const N = int(1, 9), inF = int(1, 37), C = int(1, 11);
    const model = new sn.Sequential(new sn.Linear(inF, int(1, 19)), new sn.ReLU());
    model.add(new sn.Linear(model.outputShape([N, inF])[1], C));
    const opt = new sn.SGD(model.parameters(), { lr: 0.01, momentum: 0.9, nesterov: rand() < 0.5 });
    const x = sn.tensor(Float32Array.from(randn(N * inF, rand)), [N, inF]);
    const labels = Int32Array.from({ length: N }, () => int(0, C - 1));
    const targets = sn.tensor(Float32Array.from({ length: N * C }, () => rand()), [N, C]);
    for (const [loss, target] of [[new sn.CrossEntropyLoss({ labelSmoothing: 0.1 }), labels], [new sn.MSELoss(), targets],
      [new sn.BCEWithLogitsLoss(), targets]]) {
      const value = loss.forward(model.forward(x), target);
      value.backward();
      opt.step();
      opt.zeroGrad();
      heap.checkGuards();
      assert.ok(Number.isFinite(value.value), `seed ${seed}: ${loss}`);
      loss.dispose();
    }
    opt.dispose();
    model.dispose();
  }
});

test.run();
