// Dropout and Dropout2d: mask statistics, exact scaling, mask reuse in backward, seeding, eval
// identity; Dropout2d's masks from fit's generator.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rng, freshSeed, randn } from './helpers.js';

await sn.ready();

/** Random values none of which is zero, so a zero in the output means "dropped". */
function nonZero(n, rand) { return Float32Array.from(randn(n, rand), (v) => (v >= 0 ? v + 0.5 : v - 0.5)); }

for (const p of [0.1, 0.5, 0.9, 0.333]) {
  test(`Dropout(p=${p}) drops a fraction p, scales the rest exactly by 1/(1-p), backward reuses the mask`, () => {
    const seed = freshSeed(), rand = rng(seed);
    sn.manualSeed(seed);
    const n = 100003; // odd: the scalar tail runs too
    const x = nonZero(n, rand), dy = nonZero(n, rand);
    const layer = new sn.Dropout(p);
    const y = layer.forward(sn.tensor(x, [n])).toArray();
    const dx = layer.backward(sn.tensor(dy, [n])).toArray();
    const scale = Math.fround(1 / (1 - p));
    const droppedPerLane = [0, 0, 0, 0];
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      if (y[i] === 0) {
        dropped++; droppedPerLane[i % 4]++;
        assert.is(dx[i], 0, `seed ${seed}: index ${i} dropped forward but not backward`);
      } else {
        assert.is(y[i], Math.fround(x[i] * scale), `seed ${seed}: index ${i} kept value`);
        assert.is(dx[i], Math.fround(dy[i] * scale), `seed ${seed}: index ${i} kept gradient`);
      }
    }
    const sigma = Math.sqrt(p * (1 - p) / n);
    assert.ok(Math.abs(dropped / n - p) < 5 * sigma, `seed ${seed}: dropped ${dropped / n}, expected ${p}`);
    // Each SIMD lane on its own must drop a fraction p too.
    for (let l = 0; l < 4; l++) {
      const frac = droppedPerLane[l] / (n / 4);
      assert.ok(Math.abs(frac - p) < 10 * sigma, `seed ${seed}: lane ${l} dropped ${frac}`);
    }
  });
}

test('Dropout masks: same seed → same mask, consecutive calls → different masks, independent of size', () => {
  const seed = freshSeed(), rand = rng(seed);
  const x = nonZero(1003, rand);
  const mask = (y) => Array.from(y, (v) => (v === 0 ? 0 : 1));
  sn.manualSeed(seed);
  const layer = new sn.Dropout(0.5);
  const a = mask(layer.forward(sn.tensor(x, [1003])).toArray());
  const b = mask(layer.forward(sn.tensor(x, [1003])).toArray());
  sn.manualSeed(seed);
  const again = mask(new sn.Dropout(0.5).forward(sn.tensor(x, [1003])).toArray());
  assert.equal(again, a, `seed ${seed}: manualSeed did not repeat the mask`);
  const differing = a.filter((v, i) => v !== b[i]).length;
  assert.ok(differing > 300, `seed ${seed}: consecutive masks differ in only ${differing} of 1003 places`);
  // Element i's fate depends on (seed, i) only: a shorter tensor gets the prefix of the mask,
  // whether i falls in a SIMD block or in the scalar tail.
  sn.manualSeed(seed);
  const shorter = mask(new sn.Dropout(0.5).forward(sn.tensor(x.subarray(0, 1001), [1001])).toArray());
  assert.equal(shorter, a.slice(0, 1001), `seed ${seed}: the mask depends on the tensor size`);
});

test('Dropout in eval mode, and with p = 0, is the identity forward and backward', () => {
  const seed = freshSeed(), rand = rng(seed);
  const x = nonZero(37, rand), dy = nonZero(37, rand);
  for (const layer of [new sn.Dropout(0.7).eval(), new sn.Dropout(0)]) {
    assert.equal([...layer.forward(sn.tensor(x, [37])).toArray()], [...x], `${layer} forward`);
    assert.equal([...layer.backward(sn.tensor(dy, [37])).toArray()], [...dy], `${layer} backward`);
  }
});

test('Dropout(p=1) zeroes everything, forward and backward', () => {
  const seed = freshSeed(), rand = rng(seed);
  const layer = new sn.Dropout(1);
  assert.ok(layer.forward(sn.tensor(nonZero(9, rand), [3, 3])).toArray().every((v) => v === 0));
  assert.ok(layer.backward(sn.tensor(nonZero(9, rand), [3, 3])).toArray().every((v) => v === 0));
});

test('Dropout in Sequential: eval passes the previous output through; train backward matches the mask', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  const lin = new sn.Linear(6, 5), drop = new sn.Dropout(0.4);
  const model = new sn.Sequential(lin, drop);
  const x = sn.tensor(nonZero(18, rand), [3, 6]);
  model.eval();
  const yEval = model.forward(x).toArray();
  const yLin = lin.forward(x).toArray();
  assert.equal([...yEval], [...yLin], `seed ${seed}`);
  model.train();
  const y = model.forward(x).toArray();
  const dy = nonZero(15, rand);
  model.backward(sn.tensor(dy, [3, 5]));
  // dL/db = Σ_rows dy ⊙ mask / (1 − p): the bias gradient sees only the kept entries.
  const scale = Math.fround(1 / 0.6), db = new Float64Array(5);
  for (let i = 0; i < 15; i++) if (y[i] !== 0) db[i % 5] += Math.fround(dy[i] * scale);
  const got = lin.bias.grad.toArray();
  for (let o = 0; o < 5; o++) assert.ok(Math.abs(got[o] - db[o]) < 1e-5, `seed ${seed}: db[${o}] ${got[o]} vs ${db[o]}`);
});

test('Dropout refuses p outside [0, 1] and names itself as PyTorch', () => {
  for (const p of [-0.1, 1.5, NaN, '0.5']) {
    assert.throws(() => new sn.Dropout(p), /Dropout: p must be a probability between 0 and 1, got/);
  }
  assert.is(String(new sn.Dropout()), 'Dropout(p=0.5, inplace=False)');
  assert.is(String(new sn.Dropout(0.25)), 'Dropout(p=0.25, inplace=False)');
  assert.equal(new sn.Dropout().outputShape([2, 3, 4]), [2, 3, 4]);
});

// ---- Dropout2d ----

for (const [p, shape] of [[0.2, [64, 33, 3, 5]], [0.5, [1, 2001, 1, 3]], [0.7, [37, 7, 4, 4]]]) {
  test(`Dropout2d(p=${p}) on [${shape}] drops whole channels, a fraction p of them, scales the rest exactly, backward reuses the mask`, () => {
    const seed = freshSeed(), rand = rng(seed);
    sn.manualSeed(seed);
    const [N, C, H, W] = shape, plane = H * W, planes = N * C, n = planes * plane;
    const x = nonZero(n, rand), dy = nonZero(n, rand);
    const layer = new sn.Dropout2d(p);
    const y = layer.forward(sn.tensor(x, shape)).toArray();
    const dx = layer.backward(sn.tensor(dy, shape)).toArray();
    const scale = Math.fround(1 / (1 - p));
    let dropped = 0;
    for (let q = 0; q < planes; q++) {
      const gone = y[q * plane] === 0;
      if (gone) dropped++;
      for (let i = q * plane; i < (q + 1) * plane; i++) {
        if (gone) {
          assert.is(y[i], 0, `seed ${seed}: channel ${q} partly dropped`);
          assert.is(dx[i], 0, `seed ${seed}: channel ${q} dropped forward but not backward`);
        } else {
          assert.is(y[i], Math.fround(x[i] * scale), `seed ${seed}: index ${i} kept value`);
          assert.is(dx[i], Math.fround(dy[i] * scale), `seed ${seed}: index ${i} kept gradient`);
        }
      }
    }
    const sigma = Math.sqrt(p * (1 - p) / planes);
    assert.ok(Math.abs(dropped / planes - p) < 5 * sigma, `seed ${seed}: dropped ${dropped / planes} of the channels, expected ${p}`);
  });
}

test('Dropout2d keeps channel n·C + c exactly when Dropout with the same seed keeps element n·C + c', () => {
  const seed = freshSeed(), rand = rng(seed);
  const x = nonZero(6 * 11, rand);
  sn.manualSeed(seed);
  const elements = new sn.Dropout(0.4).forward(sn.tensor(x, [66])).toArray();
  sn.manualSeed(seed);
  const channels = new sn.Dropout2d(0.4).forward(sn.tensor(x, [6, 11, 1, 1])).toArray();
  assert.equal([...channels], [...elements], `seed ${seed}`);
  const kept = channels.filter((v) => v !== 0).length;
  assert.ok(kept > 10 && kept < 60, `seed ${seed}: ${kept} of 66 kept`);
});

test('Dropout2d in eval mode, and with p = 0, is the identity; with p = 1 it zeroes everything', () => {
  const seed = freshSeed(), rand = rng(seed);
  const x = nonZero(2 * 3 * 5, rand), dy = nonZero(30, rand), shape = [2, 3, 1, 5];
  for (const layer of [new sn.Dropout2d(0.7).eval(), new sn.Dropout2d(0)]) {
    assert.equal([...layer.forward(sn.tensor(x, shape)).toArray()], [...x], `${layer} forward`);
    assert.equal([...layer.backward(sn.tensor(dy, shape)).toArray()], [...dy], `${layer} backward`);
  }
  const all = new sn.Dropout2d(1);
  assert.ok(all.forward(sn.tensor(x, shape)).toArray().every((v) => v === 0));
  assert.ok(all.backward(sn.tensor(dy, shape)).toArray().every((v) => v === 0));
});

test('Dropout2d takes [N, C, H, W] only, refuses p outside [0, 1], and names itself as PyTorch', () => {
  assert.is(String(new sn.Dropout2d()), 'Dropout2d(p=0.5, inplace=False)');
  assert.is(String(new sn.Dropout2d(0.1)), 'Dropout2d(p=0.1, inplace=False)');
  assert.equal(new sn.Dropout2d().outputShape([2, 3, 4, 5]), [2, 3, 4, 5]);
  assert.throws(() => new sn.Dropout2d().outputShape([3, 4, 5]), /^Dropout2d\(p=0\.5, inplace=False\): expected input of shape \[N, C, H, W\], got \[3, 4, 5\]$/);
  assert.throws(() => new sn.Dropout2d(0.3).forward(sn.tensor(new Float32Array(6), [2, 3])), /^Dropout2d\(p=0\.3, inplace=False\): expected input of shape \[N, C, H, W\]/);
  for (const p of [-0.1, 1.5, NaN, '0.5']) assert.throws(() => new sn.Dropout2d(p), /^Dropout2d: p must be a probability between 0 and 1, got/);
});

test('Dropout2d in fit draws its masks from the fit\'s generator: a seeded fit repeats, and leaves the global generator alone', async () => {
  const rand = rng(5);
  const x = sn.tensor(Float32Array.from(randn(48 * 16, rand)), [48, 1, 4, 4]);
  const y = Int32Array.from({ length: 48 }, (_, i) => i % 3);
  const make = () => {
    sn.manualSeed(3);
    return new sn.Sequential(new sn.Conv2d(1, 6, 3, { padding: 1 }), new sn.ReLU(), new sn.Dropout2d(0.5), new sn.Flatten(), new sn.Linear(96, 3));
  };
  const fitOnce = async (seed) => {
    const model = make();
    sn.manualSeed(100);
    const history = await model.fit(x, y, { epochs: 2, batchSize: 16, seed, verbose: 0 });
    const probe = [...new sn.Linear(3, 3).weight.data.toArray()];
    return { history, weights: [...model.at(4).weight.data.toArray()], probe };
  };
  const a = await fitOnce(11), b = await fitOnce(11), c = await fitOnce(12);
  assert.equal(b, a);
  assert.not.equal(c.history.batchLoss, a.history.batchLoss);
  sn.manualSeed(100);
  assert.equal(a.probe, [...new sn.Linear(3, 3).weight.data.toArray()], 'the global generator is where manualSeed(100) left it');
});

test.run();
